"""Fixtures for the studio tests: a real studio server process on a loopback port (bundled
samples, or a folder with a face photo, a photo without a face and a link out of the folder)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from facebench.samples import sample_paths
from studio_helpers import start_studio


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    """A studio on the bundled samples with its request log: ``(url, log_path)``."""
    log = tmp_path_factory.mktemp("studio-log") / "requests.jsonl"
    server = start_studio(["--log", str(log)])
    yield server.url, log
    server.stop()


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """``photos/`` with a portrait, a photo without a face (scikit-image's coffee cup) in a
    sub-folder, a text file named like an image, and ``secret.png`` beside the folder (reachable
    only through ``..`` or the symlink ``photos/out.png``)."""
    root = tmp_path_factory.mktemp("studio-folder")
    d = root / "photos"
    (d / "more").mkdir(parents=True)
    Image.open(sample_paths()["feat_happy"]).save(d / "happy.jpg")
    coffee = Path(sample_paths()["astronaut"]).parent / "coffee.png"
    Image.open(coffee).save(d / "more" / "coffee.png")
    (d / "notes.jpg").write_text("not an image\n")
    Image.open(sample_paths()["astronaut"]).save(root / "secret.png")
    (d / "out.png").symlink_to(root / "secret.png")
    return d


@pytest.fixture(scope="module")
def folder_studio(folder, tmp_path_factory):
    server = start_studio([str(folder), "--no-log", "--max-pixels", "20000000", "--max-upload-mb", "4"])
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def tiny_pixelsmile(tmp_path_factory) -> list[str]:
    """Command-line options for ``--editor pixelsmile`` on a tiny random Qwen-Image-Edit-Plus
    pipeline saved to disk (real diffusers classes, 64 px, 2 steps; see facebench.pixelsmile.tiny)."""
    from facebench.pixelsmile.tiny import TINY_OPTIONS, build_tiny_pipeline, save_tiny_pipeline

    model = save_tiny_pipeline(build_tiny_pipeline(seed=0), tmp_path_factory.mktemp("pixelsmile") / "model")
    opts = {"model": str(model), "device": "cpu", "dtype": "fp32", **TINY_OPTIONS}
    return ["--editor", "pixelsmile", *[x for k, v in opts.items() for x in ("--editor-opt", f"{k}={v}")]]
