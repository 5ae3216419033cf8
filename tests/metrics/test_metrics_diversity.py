"""Diversity features on hand-made arrays and on a real photograph; R and U by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facebench.base.imageio import load_image
from facebench.metrics import (
    brightness,
    colorfulness,
    contrast,
    coverage_uniformity,
    features,
    relative_range,
    sharpness,
)
from facebench.samples import astronaut_path


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return load_image(astronaut_path())[::2, ::2]  # 256x256 keeps the test fast


def _flat(rgb: tuple[int, int, int], size: int = 8) -> np.ndarray:
    return np.tile(np.array(rgb, dtype=np.uint8), (size, size, 1))


def test_features_by_hand() -> None:
    assert brightness(_flat((100, 200, 50))) == pytest.approx(0.299 * 100 + 0.587 * 200 + 0.114 * 50)
    grey = _flat((90, 90, 90))
    assert features(grey) == pytest.approx({"brightness": 90.0, "contrast": 0.0, "colorfulness": 0.0, "sharpness": 0.0})
    # pure red: rg = 255, yb = 127.5 everywhere -> no spread, M = 0.3 * hypot(255, 127.5)
    assert colorfulness(_flat((255, 0, 0))) == pytest.approx(0.3 * np.hypot(255, 127.5))
    half = np.zeros((6, 6, 3), dtype=np.uint8)
    half[:, 3:] = 255
    assert brightness(half) == pytest.approx(127.5)
    assert contrast(half) == pytest.approx(127.5)
    # interior Laplacian (4x4): 255 in column 2, -255 in column 3, 0 elsewhere -> variance 255^2 / 2
    assert sharpness(half) == pytest.approx(255.0**2 / 2)


def test_features_on_a_real_photo(photo: np.ndarray) -> None:
    f = features(photo)
    assert 15 < f["colorfulness"] < 109  # Hasler-Suesstrunk's "slightly" to "extremely" colourful
    grey = np.repeat((photo @ np.array([0.299, 0.587, 0.114])).round().astype(np.uint8)[..., None], 3, axis=2)
    assert colorfulness(grey) == 0.0
    assert brightness(grey) == pytest.approx(f["brightness"], abs=0.5)
    # a 5x5 box blur removes fine detail: sharpness and contrast drop
    pad = np.pad(photo.astype(np.float64), ((2, 2), (2, 2), (0, 0)), mode="edge")
    blurred = sum(pad[i : i + photo.shape[0], j : j + photo.shape[1]] for i in range(5) for j in range(5)) / 25
    blurred = blurred.round().astype(np.uint8)
    assert sharpness(blurred) < 0.2 * f["sharpness"]
    assert contrast(blurred) < f["contrast"]
    darker = (photo // 2).astype(np.uint8)
    assert brightness(darker) < 0.55 * f["brightness"]


def test_bad_images() -> None:
    with pytest.raises(ValueError, match="image must be uint8 RGB, got dtype float64"):
        brightness(np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match=r"image must have shape \(H, W, 3\), got \(4, 4\)"):
        contrast(np.zeros((4, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match="at least 3x3"):
        sharpness(np.zeros((2, 9, 3), dtype=np.uint8))


def test_relative_range_by_hand() -> None:
    r = relative_range({"gen": [1.0, 3.0], "res": [2.0, 10.0]})
    assert r == pytest.approx({"gen": 0.2, "res": 0.8})
    with pytest.raises(ValueError, match="negative values"):
        relative_range({"a": [-1.0, 2.0]})
    with pytest.raises(ValueError, match="is empty"):
        relative_range({})
    with pytest.raises(ValueError, match=r"values_per_dataset\['a'\] contains 1 NaN/inf"):
        relative_range({"a": [1.0, np.nan]})
    with pytest.warns(RuntimeWarning, match="relative range undefined"):
        assert np.isnan(relative_range({"a": [0.0, 0.0]})["a"])


def test_coverage_uniformity_by_hand() -> None:
    assert coverage_uniformity(np.arange(10) + 0.5, bins=10, range=(0, 10)) == pytest.approx(1.0)
    assert coverage_uniformity([0.1, 0.2, 0.3], bins=10, range=(0, 10)) == 0.0  # one bin
    # two of four bins, half each: -2 * 0.5 * log_4(0.5) = 0.5
    assert coverage_uniformity([0.5, 0.5, 3.5, 3.5], bins=4, range=(0, 4)) == pytest.approx(0.5)
    assert coverage_uniformity([2.0, 2.0]) == 0.0
    with pytest.raises(ValueError, match="2 value\\(s\\) lie outside range"):
        coverage_uniformity([1.0, 5.0, 11.0, -1.0], bins=10, range=(0, 10))
    with pytest.raises(ValueError, match="bins must be >= 2"):
        coverage_uniformity([1.0, 2.0], bins=1)
    with pytest.raises(ValueError, match="values is empty"):
        coverage_uniformity([])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 255, allow_nan=False), min_size=1, max_size=80), st.integers(2, 20),
       st.randoms(use_true_random=False))
def test_uniformity_properties(values, bins, rnd) -> None:
    u = coverage_uniformity(values, bins=bins, range=(0, 255))
    assert 0.0 <= u <= 1.0 + 1e-12
    assert coverage_uniformity(rnd.sample(values, len(values)), bins=bins, range=(0, 255)) == pytest.approx(u)
