"""Hostile inputs get one line and a non-zero exit, never a hang or a memory blow-up: a FIFO named
like an image, ``/dev/zero``, a symlink loop, an oversized file, a folder with clashing stems.
Every test is bounded (an alarm in-process, ``timeout=`` on subprocesses)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from facebench.bench.manifest import build_tasks, load_manifest
from facebench.base.imageio import ImageError, check_input_file, load_image, read_image_file
from facebench.samples import portrait_paths

CLI = [sys.executable, "-m", "facebench.cli"]


@pytest.fixture
def alarm():
    """Fail (instead of hanging the suite) if the test body blocks for more than 20 s."""
    def boom(*_):
        raise TimeoutError("blocked: the input was read instead of refused")
    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.fixture
def fifo(tmp_path) -> Path:
    p = tmp_path / "pipe.png"
    os.mkfifo(p)
    return p


def _run(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    return subprocess.run(CLI + args, capture_output=True, text=True, timeout=timeout, env=env)


def test_fifo_is_refused_without_opening_it(fifo, alarm):
    with pytest.raises(ImageError, match=r"pipe\.png: is a FIFO \(named pipe\), not a regular file"):
        load_image(fifo)


def test_dev_zero_is_refused(alarm):
    with pytest.raises(ImageError, match="/dev/zero: is a character device, not a regular file"):
        load_image("/dev/zero")


def test_symlink_loop_is_refused(tmp_path, alarm):
    loop = tmp_path / "loop.png"
    loop.symlink_to(loop.name)
    with pytest.raises(ImageError, match="loop.png: symlink loop"):
        load_image(loop)


def test_size_limit_is_checked_before_reading(tmp_path, alarm):
    big = tmp_path / "big.png"
    with open(big, "wb") as fh:  # sparse: 2 GiB claimed, nothing written
        fh.truncate(2 << 30)
    with pytest.raises(ImageError, match=r"big.png: 2147483648 bytes is over the file size limit"):
        load_image(big)
    face = portrait_paths()["astronaut"]
    n = os.path.getsize(face)
    assert len(read_image_file(face, max_bytes=n)) == n
    with pytest.raises(ImageError, match="over the file size limit"):
        check_input_file(face, max_bytes=n - 1)


def test_symlink_to_a_real_image_still_loads(tmp_path):
    link = tmp_path / "face.png"
    link.symlink_to(portrait_paths()["astronaut"])
    assert load_image(link).ndim == 3


def test_manifest_makes_stems_unique_and_its_own_validate_accepts_them(tmp_path):
    src = portrait_paths()["astronaut"]
    for name in ("a.jpg", "a.png", "a_2.png"):
        shutil.copy(src, tmp_path / name)
    tasks = build_tasks([tmp_path], ["happy"])
    assert sorted(t.task_id for t in tasks) == ["a-happy", "a_2-happy", "a_2_2-happy"]
    out = tmp_path / "suite.jsonl"
    r = _run(["bench", "manifest", str(tmp_path), "--expressions", "happy", "-o", str(out)])
    assert r.returncode == 0, r.stderr
    assert len({json.loads(line)["task_id"] for line in out.read_text().splitlines()}) == 3
    assert not load_manifest(out).errors
    v = _run(["bench", "validate", str(out)])
    assert v.returncode == 0, v.stdout + v.stderr


def test_manifest_on_a_folder_with_a_symlink_loop_is_one_line(tmp_path):
    shutil.copy(portrait_paths()["astronaut"], tmp_path / "ok.png")
    (tmp_path / "loop.png").symlink_to("loop.png")
    r = _run(["bench", "manifest", str(tmp_path), "-o", str(tmp_path / "m.jsonl")], timeout=60)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "loop.png: symlink loop" in lines[0] and "Traceback" not in r.stderr
    (tmp_path / "loop.png").unlink()
    os.mkfifo(tmp_path / "pipe.png")
    r = _run(["bench", "manifest", str(tmp_path), "-o", str(tmp_path / "m.jsonl")], timeout=60)
    assert r.returncode == 2 and "pipe.png: is a FIFO" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("kind", ["fifo", "dev_zero", "loop"])
def test_analyze_gives_one_line_and_a_nonzero_exit(tmp_path, kind):
    if kind == "fifo":
        target = tmp_path / "pipe.png"
        os.mkfifo(target)
    elif kind == "loop":
        target = tmp_path / "loop.png"
        target.symlink_to(target.name)
    else:
        target = Path("/dev/zero")
    r = _run(["analyze", str(target)], timeout=120)  # a hang or a read of /dev/zero would time out
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert str(target) in r.stderr and ("not a regular file" in r.stderr or "symlink loop" in r.stderr)
