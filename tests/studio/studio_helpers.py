"""Helpers shared by the studio tests (a server process, opening a sample, decoding, the CLI)."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import requests
from PIL import Image

from facebench.study.server import ServerProcess


def start_studio(args: list[str]) -> ServerProcess:
    """``python -m facebench.studio ARGS --port 0`` started; ``.url`` is its address."""
    server = ServerProcess(command=["-m", "facebench.studio", "--port", "0", *args])
    server.start(timeout=120)
    return server


def open_sample(url: str, name: str) -> dict:
    """Open a bundled sample on the server; its photo JSON."""
    r = requests.post(url + "/api/open", data={"ref": f"sample:{name}"}, timeout=120)
    assert r.status_code == 200, r.text
    return r.json()


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def run_cli(args: list[str]):
    """``python -m facebench.studio ARGS`` to completion: ``CompletedProcess`` (text)."""
    return subprocess.run([sys.executable, "-m", "facebench.studio", *args], capture_output=True,
                          text=True, timeout=300)


def identity_calibration():
    """``facebench.face.calibration.load_calibration("dlib")`` where that module exists (the
    studio then shows the calibrated score), else None (it shows the raw cosine)."""
    try:
        from facebench.face.calibration import load_calibration
    except ModuleNotFoundError:
        return None
    return load_calibration(recogniser="dlib")


def identity_label() -> str:
    """The label the studio gives its identity read-out here."""
    return "raw cosine (uncalibrated)" if identity_calibration() is None else "identity (calibrated, dlib)"
