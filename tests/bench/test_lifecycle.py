"""A killed ``bench run --workers 2`` leaves no process behind (SIGKILL and SIGTERM), and one run
per output folder: a second concurrent run is refused with one line; a killed run's lock is stale."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from facebench.bench import build_tasks
from facebench.bench.lifecycle import LOCK_NAME, RunLock, RunLocked
from facebench.bench.manifest import write_manifest

SLOW_TOOL = "import shutil, sys, time\ntime.sleep(float(sys.argv[3]))\nshutil.copy(sys.argv[1], sys.argv[2])\n"
SRC = str(Path(__file__).resolve().parents[2] / "src")


def _children() -> dict[int, list[int]]:
    """ppid -> pids of every live (non-zombie) process, from /proc."""
    out: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] == "Z":
            continue
        out.setdefault(int(fields[1]), []).append(int(d))
    return out


def _descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for c in tree.get(todo.pop(), []):
            if c not in found:
                found.add(c)
                todo.append(c)
    return found


def _alive(pids: set[int]) -> set[int]:
    live = set()
    for p in pids:
        try:
            state = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            live.add(p)
    return live


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as con:
            return con.execute("SELECT COUNT(*) FROM records WHERE kind='edit'").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.fixture
def slow_run(tmp_path, faces_dir, fake_openai):
    """``cmd`` of a ``bench run --workers 2`` whose command editor takes 2 s per edit."""
    tool = tmp_path / "slow_tool.py"
    tool.write_text(SLOW_TOOL)
    tasks = build_tasks([faces_dir / "astronaut.png", faces_dir / "feat_happy.png"], ["happy", "surprised"])
    write_manifest(tasks, tmp_path / "suite.jsonl")
    fake_openai.reset("good")
    return [sys.executable, "-m", "facebench.bench.cli", "run", str(tmp_path / "suite.jsonl"),
            "--alphas", "0,0.25,0.5,0.75,1", "--workers", "2",
            "--editor", "command", "--editor-opt", f"template={sys.executable} {tool} {{input}} {{output}} 2",
            "--judge", "vlm", "--judge-opt", f"base_url={fake_openai.base_url}", "--judge-opt", "model=fake-vl",
            "--no-identity", "--no-progress", "--no-html", "--out", str(tmp_path / "run")]


def _start_and_wait_for_workers(cmd: list[str], out: Path) -> tuple[subprocess.Popen, set[int]]:
    # TMPDIR inside the test's folder: the killed run's command editor cannot clean its temp folders
    env = {**os.environ, "PYTHONPATH": SRC, "TMPDIR": str(out.parent)}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = time.time() + 240
    kids: set[int] = set()
    while time.time() < deadline and proc.poll() is None:
        kids = _descendants(proc.pid)
        if _count(out / "cache.sqlite") >= 1 and len(kids) >= 3:  # 2 workers + resource tracker (+ tools)
            break
        time.sleep(0.1)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    assert len(kids) >= 3, f"workers did not start: {kids}"
    return proc, kids


def _assert_all_gone(kids: set[int], grace: float = 8.0) -> None:
    end = time.time() + grace
    while _alive(kids) and time.time() < end:
        time.sleep(0.1)
    assert not _alive(kids), f"processes left behind: {_alive(kids)}"


def test_sigkill_leaves_no_worker_behind(slow_run, tmp_path):
    proc, kids = _start_and_wait_for_workers(slow_run, tmp_path / "run")
    proc.kill()
    proc.wait(timeout=30)
    _assert_all_gone(kids)
    # the lock of the killed run is stale: the next run takes it over and says so
    with RunLock(tmp_path / "run") as lock:
        assert lock.stale and f"pid {proc.pid}" in lock.stale


def test_sigterm_stops_cleanly_and_a_second_run_is_refused(slow_run, tmp_path):
    proc, kids = _start_and_wait_for_workers(slow_run, tmp_path / "run")
    env = {**os.environ, "PYTHONPATH": SRC, "TMPDIR": str(tmp_path)}
    second = subprocess.run(slow_run, capture_output=True, text=True, timeout=180, env=env)
    assert proc.poll() is None, "the first run ended before the second was tried"
    assert second.returncode == 2
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and "another bench run is using this folder" in lines[0], second.stderr
    assert f"pid {proc.pid}" in lines[0]
    proc.terminate()
    assert proc.wait(timeout=60) == 143
    err = proc.stderr.read().decode()
    assert "Traceback" not in err, err
    _assert_all_gone(kids)
    assert (tmp_path / "run" / LOCK_NAME).read_text() == ""  # released and cleared: nothing stale
    with RunLock(tmp_path / "run") as lock:
        assert lock.stale is None


def test_run_lock_in_process(tmp_path):
    with RunLock(tmp_path / "out") as first:
        assert first.stale is None
        with pytest.raises(RunLocked, match=rf"pid {os.getpid()} on "):
            RunLock(tmp_path / "out").__enter__()
    with RunLock(tmp_path / "out"):  # released
        pass
