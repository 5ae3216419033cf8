"""Every metric orders the astronaut's degraded copies by severity, in the direction of its flag."""

from __future__ import annotations

import numpy as np
import pytest

from facebench.quality import QUALITY_METRICS, compute
from facebench.quality.degrade import apply_ops, severity_ops


def _ordered(values: list[float], lower_better: bool) -> bool:
    d = np.diff(values)
    return bool(np.all(d > 0) if lower_better else np.all(d < 0))


@pytest.mark.parametrize("name", QUALITY_METRICS.names())
def test_blur_ladder_is_ordered(name, blur_ladder, blur_sigmas, astronaut):
    values = [float(v) for v in (compute(name, [im], [astronaut])[0] for im in blur_ladder)]
    lower = not QUALITY_METRICS.meta(name)["higher_is_better"]
    assert _ordered(values, lower), f"{name} (higher_is_better={not lower}) on blur sigmas {blur_sigmas}: {values}"


def test_mixed_severity_ladder_full_reference(astronaut):
    """Blur + noise + JPEG growing together: all full-reference metrics (and identity) follow."""
    copies = [apply_ops(astronaut, severity_ops(level, seed=level)) for level in range(5)]
    for name in ("psnr", "ssim", "ms_ssim", "fsim", "gmsd", "vif", "haarpsi", "identity_similarity"):
        values = list(compute(name, copies, [astronaut] * len(copies)))
        assert _ordered(values, not QUALITY_METRICS.meta(name)["higher_is_better"]), f"{name}: {values}"
