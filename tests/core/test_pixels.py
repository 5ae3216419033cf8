"""The shared pixel helpers: BT.601 luma, PNG bytes, resizing."""

from __future__ import annotations

import numpy as np
import pytest

from facebench.base.imageio import load_image
from facebench.base.pixels import encode_png, fit_within, gray_u8, luma, resize_to
from facebench.samples import astronaut_path


def test_luma_is_bt601() -> None:
    px = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]]], np.uint8)
    assert np.allclose(luma(px)[0], [0.299 * 255, 0.587 * 255, 0.114 * 255, 0.299 * 10 + 0.587 * 20 + 0.114 * 30])
    assert luma(px, np.float32).dtype == np.float32
    assert np.abs(gray_u8(px).astype(float) - luma(px)).max() <= 0.5 + 1e-9  # OpenCV rounds the same luma


def test_png_round_trip_is_lossless() -> None:
    img = load_image(astronaut_path())
    data = encode_png(img, compress_level=1)
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and np.array_equal(load_image(data), img)


@pytest.mark.parametrize("method", ["lanczos", "area", "cubic"])
def test_resize_to_and_fit_within(method: str) -> None:
    img = load_image(astronaut_path())  # 512 x 512
    assert resize_to(img, (512, 512), method) is img
    assert resize_to(img, (100, 60), method).shape == (100, 60, 3)
    wide = img[:200]
    assert fit_within(wide, 128, method).shape == (50, 128, 3)  # round(200 * 128 / 512) = 50
    assert fit_within(wide, 1000, method) is wide


def test_unknown_resize_method() -> None:
    with pytest.raises(ValueError, match="resize method 'nearest' is not one of lanczos, area, cubic"):
        resize_to(np.zeros((4, 4, 3), np.uint8), (2, 2), "nearest")
