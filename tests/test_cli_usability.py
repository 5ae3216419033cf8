"""Regression tests for the usability bugs of issue 16 (each found by trying the commands as a
new user would)."""

from __future__ import annotations

import csv
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import facebench
from facebench.cli import main
from facebench.samples import sample_paths


@pytest.fixture(scope="module")
def photo():
    return sample_paths()["feat_happy"]  # a JPEG


def test_degraded_jpegs_find_their_references(tmp_path, photo, capsys):
    """`degrade` writes PNG; `quality score LQ --reference-dir HQ` pairs lq/a.png with hq/a.jpg."""
    hq, lq = tmp_path / "hq", tmp_path / "lq"
    hq.mkdir()
    shutil.copy(photo, hq / "a.jpg")
    assert main(["degrade", str(hq), "-o", str(lq), "--pipeline", "first", "--no-progress"]) == 0
    assert sorted(p.name for p in lq.iterdir()) == ["a.png", "a.png.json"]
    out = tmp_path / "scores.csv"
    assert main(["quality", "score", str(lq), "--reference-dir", str(hq), "--metrics", "psnr,ssim",
                 "-o", str(out), "--no-progress"]) == 0
    t = pd.read_csv(out, keep_default_na=False)
    assert set(t["metric"]) == {"psnr", "ssim"} and (t["error"] == "").all()
    assert set(t["reference"]) == {str(hq / "a.jpg")}
    assert 5 < float(t.loc[t.metric == "psnr", "value"].iloc[0]) < 60


def test_default_metrics_without_a_reference_run_the_no_reference_ones(tmp_path, photo, capsys):
    out = tmp_path / "s.csv"
    assert main(["quality", "score", str(photo), "-o", str(out), "--no-progress"]) == 0
    t = pd.read_csv(out, keep_default_na=False)
    assert set(t["metric"]) == {"niqe", "brisque", "piqe"} and (t["error"] == "").all()
    err = capsys.readouterr().err
    assert "without a reference" in err and "psnr" in err and "failure" not in err
    # named full-reference metrics without a reference are still failures (exit 1)
    assert main(["quality", "score", str(photo), "-o", str(out), "--metrics", "psnr", "--no-progress"]) == 1
    # --quiet: no note
    assert main(["quality", "score", str(photo), "-o", str(out), "-q"]) == 0
    assert "without a reference" not in capsys.readouterr().err


def test_edit_writes_normal_modes_and_keeps_earlier_rows(tmp_path, photo, capsys):
    old = os.umask(0o022)
    try:
        out = tmp_path / "e"
        assert main(["edit", str(photo), "-e", "sad", "-o", str(out)]) == 0
        assert main(["edit", str(photo), "-e", "surprised", "-a", "0.5", "-o", str(out)]) == 0
    finally:
        os.umask(old)
    for f in out.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o644, f
    rows = list(csv.DictReader(open(out / "edits.csv")))
    assert [r["weights"] for r in rows] == ["sad=1", "surprised=0.5"]
    assert all((out / r["file"]).is_file() for r in rows)
    assert "1 row(s) of earlier runs kept" in capsys.readouterr().out
    # the same edit again replaces its row instead of adding a twin
    assert main(["edit", str(photo), "-e", "sad", "-o", str(out)]) == 0
    rows = list(csv.DictReader(open(out / "edits.csv")))
    assert sorted(r["weights"] for r in rows) == ["sad=1", "surprised=0.5"]


def test_edit_takes_a_comma_list_of_expressions(tmp_path, photo):
    out = tmp_path / "two"
    assert main(["edit", str(photo), "-e", "sad,angry", "--alphas", "0.5,1", "-o", str(out), "--cell", "64"]) == 0
    rows = list(csv.DictReader(open(out / "edits.csv")))
    assert [r["weights"] for r in rows] == ["sad=0.5", "sad=1", "angry=0.5", "angry=1"]
    # one bad name in the list: refused before anything is written
    assert main(["edit", str(photo), "-e", "sad,joyful", "-o", str(tmp_path / "none")]) == 2
    assert not (tmp_path / "none").exists()


def _facebench(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("facebench")
    env = {**os.environ, "PYTHONPATH": str(Path(facebench.__file__).resolve().parents[1])}
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=600, env=env)


def test_no_tensorflow_lite_info_line_on_stderr(photo):
    """The expression models' TFLite runtime logs 'INFO: Created TensorFlow Lite XNNPACK delegate'
    to fd 2 when it allocates; a clean run prints nothing on stderr."""
    proc = _facebench("judge", "score", str(photo))
    assert proc.returncode == 0 and proc.stderr == ""
    assert "top happy" in proc.stdout


@pytest.mark.parametrize("alphas", [["--alphas=-1,1"], ["--alphas", "-1,1"]])
def test_bench_run_negative_alphas_is_one_line(tmp_path, photo, alphas):
    m = tmp_path / "m.jsonl"
    m.write_text(f'{{"task_id": "t", "image": "{photo}", "expression": "happy"}}\n')
    proc = _facebench("bench", "run", str(m), *alphas, "--no-identity", "-o", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["facebench bench run: error: alphas must be >= 0, got -1.0"]
