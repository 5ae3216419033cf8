"""Shared fixtures for the face-analysis tests: the bundled sample photos, decoded once."""

from __future__ import annotations

import numpy as np
import pytest

from facebench.base.imageio import load_image
from facebench.samples import sample_paths


@pytest.fixture(scope="session")
def sample_files():
    """Name -> path of every sample photo that ships inside installed packages."""
    return sample_paths()


@pytest.fixture(scope="session")
def sample_images(sample_files) -> dict[str, np.ndarray]:
    """Name -> decoded RGB uint8 image of every sample photo."""
    return {k: load_image(p) for k, p in sample_files.items()}
