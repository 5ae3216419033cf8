"""Kill a run half-way, start it again: the same results table, and nothing computed twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pandas as pd
import pytest

from bench_helpers import CountingEditor, CountingJudge, Interrupt
from facebench.bench import Component, Manifest, build_tasks, run_benchmark
from facebench.bench.cli import main as bench_main
from facebench.bench.manifest import write_manifest
from facebench.bench.report import load_run

ALPHAS = (0.0, 0.5, 1.0)


@pytest.fixture(scope="module")
def tasks(faces_dir):
    return build_tasks([faces_dir / "astronaut.png", faces_dir / "feat_surprise.png"], ["happy", "surprised"])


def _run(tasks, store):
    return run_benchmark(Manifest(tasks), editors=[Component.make("editor", "test-counting")],
                         judges=[Component.make("judge", "test-counting")], recognisers=[], store=store,
                         alphas=ALPHAS, progress=False)


def _reset(edit_fail=None, judge_fail=None):
    CountingEditor.calls.clear()
    CountingJudge.calls.clear()
    CountingEditor.fail_at, CountingJudge.fail_at = edit_fail, judge_fail


def test_interrupted_twice_then_resumed_equals_uninterrupted(tasks, tmp_path):
    _reset()
    ref = _run(tasks, tmp_path / "ref.sqlite")
    n_edits, n_judgements = len(CountingEditor.calls), len(CountingJudge.calls)
    assert n_edits == 12 and n_judgements == 2 + 8  # alpha-0 edits are the sources: judged once

    # killed in the edit stage after 5 edits
    _reset(edit_fail=6)
    with pytest.raises(Interrupt):
        _run(tasks, tmp_path / "resumed.sqlite")
    edits_done = list(CountingEditor.calls)
    assert len(edits_done) == 5 and not CountingJudge.calls
    # killed again in the judgement stage after 3 judgements
    CountingEditor.calls.clear()
    CountingEditor.fail_at, CountingJudge.fail_at = None, 4
    with pytest.raises(Interrupt):
        _run(tasks, tmp_path / "resumed.sqlite")
    edits_done += CountingEditor.calls
    judged_done = list(CountingJudge.calls)
    assert len(CountingEditor.calls) == n_edits - 5 and len(judged_done) == 3
    # finished
    CountingEditor.calls.clear()
    CountingJudge.calls.clear()
    CountingJudge.fail_at = None
    final = _run(tasks, tmp_path / "resumed.sqlite")
    assert not CountingEditor.calls
    judged_done += CountingJudge.calls
    assert len(edits_done) == n_edits and len(set(edits_done)) == n_edits  # each edit computed once
    assert len(judged_done) == n_judgements and len(set(judged_done)) == n_judgements
    assert final.stats["edits"].cached == n_edits and final.stats["judgements"].computed == n_judgements - 3
    pd.testing.assert_frame_equal(final.results, ref.results)


def _count(db, kind):
    try:
        with sqlite3.connect(db, timeout=5) as con:
            return con.execute("SELECT COUNT(*) FROM records WHERE kind=?", (kind,)).fetchone()[0]
    except sqlite3.Error:
        return 0


def test_sigkill_half_way_then_rerun_gives_the_same_table(tasks, tmp_path, command_template, fake_openai):
    """A ``facebench bench run`` process (external-command editor, VLM judge on a local server)
    killed with SIGKILL half-way through its edits, then started again."""
    fake_openai.reset("good")
    write_manifest(tasks, tmp_path / "suite.jsonl")
    cmd = [sys.executable, "-m", "facebench.bench.cli", "run", str(tmp_path / "suite.jsonl"), "--alphas", "0,0.5,1",
           "--editor", "command", "--editor-opt", f"template={command_template}",
           "--judge", "vlm", "--judge-opt", f"base_url={fake_openai.base_url}", "--judge-opt", "model=fake-vl",
           "--no-identity", "--no-progress", "--no-html", "--out", str(tmp_path / "run")]
    db = tmp_path / "run" / "cache.sqlite"
    # TMPDIR inside tmp_path: the killed process cannot clean its command editor's temp folder
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "TMPDIR": str(tmp_path)})
    deadline = time.time() + 240
    while _count(db, "edit") < 3 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    before = _count(db, "edit")
    assert 3 <= before < 12, "the run was not interrupted half-way"
    assert _count(db, "judgement") == 0 and not (tmp_path / "run" / "results.parquet").exists()

    assert bench_main(cmd[3:]) == 0  # started again
    res, _, config, stats = load_run(tmp_path / "run")
    edits = stats.set_index("stage").loc["edits"]
    assert edits["computed"] == 12 - before and edits["cached"] == before  # nothing edited twice

    want = run_benchmark(Manifest(tasks), editors=[Component.make("editor", "command", {"template": command_template})],
                         judges=[Component.make("judge", "vlm", {"base_url": fake_openai.base_url, "model": "fake-vl"})],
                         recognisers=[], store=tmp_path / "ref.sqlite", alphas=ALPHAS, progress=False)
    assert want.stats["edits"].computed == 12 and (res["status"] == "ok").all()
    pd.testing.assert_frame_equal(res, want.results)
