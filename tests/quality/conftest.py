"""Shared fixtures for the quality tests: the astronaut (public domain, shipped in scikit-image),
its degraded copies, and the reference packages the implementations are checked against."""

from __future__ import annotations

import sys
import types

import cv2
import numpy as np
import pytest

from facebench.base.imageio import load_image
from facebench.samples import astronaut_path

#: Gaussian-blur sigmas of the severity ladder used by the ordering test (0 = the original).
BLUR_LADDER = (0.0, 1.0, 2.0, 3.0)


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    return load_image(astronaut_path())


@pytest.fixture(scope="session")
def blur_sigmas() -> tuple[float, ...]:
    return BLUR_LADDER


@pytest.fixture(scope="session")
def blur_ladder(astronaut: np.ndarray) -> list[np.ndarray]:
    return [astronaut if s == 0 else cv2.GaussianBlur(astronaut, (0, 0), s) for s in BLUR_LADDER]


@pytest.fixture(scope="session")
def piq_reference():
    """The piq package (Apache-2.0) as a reference implementation.

    piq imports torchvision at import time only for its VGG/Inception feature extractors, which the
    checked metrics do not use; torchvision from PyPI does not import beside this torch build, so
    when it is missing a minimal stand-in module offering those names (raising if called) is put in
    ``sys.modules`` for the duration of the import.
    """
    try:
        import torchvision  # noqa: F401

        import piq

        return piq
    except ImportError:
        pass
    import torch

    def unavailable(*args, **kwargs):
        raise RuntimeError("torchvision stand-in: pretrained backbones are not available")

    tv = types.ModuleType("torchvision")
    models = types.ModuleType("torchvision.models")
    inception = types.ModuleType("torchvision.models.inception")
    utils = types.ModuleType("torchvision.models.utils")
    for name in ("InceptionA", "InceptionC", "InceptionE"):
        setattr(inception, name, type(name, (torch.nn.Module,), {}))
    models.vgg16 = models.vgg19 = models.inception_v3 = unavailable
    models.inception, models.utils = inception, utils
    utils.load_state_dict_from_url = unavailable
    tv.models = models
    stand_in = {"torchvision": tv, "torchvision.models": models, "torchvision.models.inception": inception,
                "torchvision.models.utils": utils}
    saved = {k: sys.modules.get(k) for k in stand_in}
    sys.modules.update(stand_in)
    try:
        import piq
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    return piq
