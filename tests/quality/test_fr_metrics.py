"""Full-reference metrics against piq 0.8.0 on the astronaut, plus basic properties."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from facebench.quality import compute
from facebench.quality._torch import to_tensor


@pytest.fixture(scope="module")
def pairs(astronaut):
    astronaut = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)  # small: fast tests
    rng = np.random.default_rng(0)
    noisy = np.clip(astronaut + rng.normal(0, 15, astronaut.shape), 0, 255).astype(np.uint8)
    crop = np.ascontiguousarray(astronaut[:201, :183])  # odd sizes exercise the padding rules
    return {
        "blur": (cv2.GaussianBlur(astronaut, (0, 0), 2), astronaut),
        "noise": (noisy, astronaut),
        "odd_crop": (cv2.GaussianBlur(crop, (0, 0), 1.5), crop),
    }


def _y(t: torch.Tensor) -> torch.Tensor:
    return 0.299 * t[:, :1] + 0.587 * t[:, 1:2] + 0.114 * t[:, 2:3]


@pytest.mark.parametrize("case", ["blur", "noise", "odd_crop"])
def test_equal_to_piq(case, pairs, piq_reference):
    piq = piq_reference
    d, r = pairs[case]
    x, y = to_tensor([d]), to_tensor([r])
    ref = {
        "psnr": piq.psnr(x, y, data_range=1.0),
        "ssim": piq.ssim(_y(x), _y(y), data_range=1.0),  # facebench's SSIM works on luma
        "gmsd": piq.gmsd(x, y, data_range=1.0),
        "vif": piq.vif_p(x, y, data_range=1.0),
        "haarpsi": piq.haarpsi(x, y, data_range=1.0),
        "fsim": piq.fsim(x, y, data_range=1.0),
    }
    if case != "odd_crop":  # piq pads odd sizes before halving, facebench drops the remainder
        ref["ms_ssim"] = piq.multi_scale_ssim(_y(x), _y(y), data_range=1.0)
    for name, expected in ref.items():
        got = compute(name, [d], [r])[0]
        assert got == pytest.approx(float(expected), rel=2e-4, abs=2e-5), name


def test_identical_images_are_perfect(pairs):
    astronaut = pairs["blur"][1]
    for name, best in [("ssim", 1.0), ("ms_ssim", 1.0), ("fsim", 1.0), ("gmsd", 0.0), ("vif", 1.0),
                       ("haarpsi", 1.0), ("psnr", 100.0)]:
        assert compute(name, [astronaut], [astronaut])[0] == pytest.approx(best, abs=1e-5), name


def test_batched_equals_one_by_one(pairs):
    d1, r1 = pairs["blur"]
    d2, r2 = pairs["noise"]
    for name in ("ssim", "fsim", "vif", "haarpsi", "gmsd"):
        batch = compute(name, [d1, d2], [r1, r2])
        single = [compute(name, [d], [r])[0] for d, r in ((d1, r1), (d2, r2))]
        np.testing.assert_allclose(batch, single, rtol=1e-5, err_msg=name)  # float32 summation order
