"""Low-level content diversity of an image set (F-Bench, seed 002, appendix A.3).

F-Bench names the four features (brightness, contrast, colorfulness, sharpness) but not their
formulas; facebench uses the usual ones from image-database analyses (Winkler 2012, "Analysis
of public image and video databases for quality assessment"), all on 8-bit values:

- brightness: mean luma Y = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601), in [0, 255];
- contrast: RMS contrast, the standard deviation of Y;
- colorfulness: Hasler & Suesstrunk (2003), M = sigma_rgyb + 0.3 mu_rgyb with rg = R - G,
  yb = (R + G)/2 - B, sigma_rgyb = sqrt(sd(rg)^2 + sd(yb)^2), mu_rgyb = sqrt(mean(rg)^2 + mean(yb)^2);
- sharpness: variance of the 4-neighbour Laplacian of Y over interior pixels (Pech-Pacheco et
  al. 2000, "Diatom autofocusing in brightfield microscopy").

Set statistics (F-Bench eqs. 6-7): relative range R_k = (max C_k - min C_k) / max over all
datasets, and coverage uniformity U_k = -sum_b p_b log_B p_b over a B-bin histogram (1 = the
feature fills all bins evenly, 0 = one bin).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from facebench.base.pixels import luma
from facebench.metrics._checks import as_1d_float, undefined

FEATURES: tuple[str, ...] = ("brightness", "contrast", "colorfulness", "sharpness")


def _rgb(image: Any) -> np.ndarray:
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise ValueError(f"image must be uint8 RGB, got dtype {arr.dtype}")
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"image must have shape (H, W, 3), got {arr.shape}")
    if arr.shape[0] < 3 or arr.shape[1] < 3:
        raise ValueError(f"image must be at least 3x3 pixels, got {arr.shape[:2]}")
    return arr.astype(np.float64)


def brightness(image: Any) -> float:
    """Mean BT.601 luma of an RGB uint8 image, in [0, 255]."""
    return float(luma(_rgb(image)).mean())


def contrast(image: Any) -> float:
    """RMS contrast: standard deviation of the BT.601 luma."""
    return float(luma(_rgb(image)).std())


def colorfulness(image: Any) -> float:
    """Hasler & Suesstrunk (2003) colourfulness M = sigma_rgyb + 0.3 mu_rgyb."""
    rgb = _rgb(image)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg = r - g
    yb = 0.5 * (r + g) - b
    sigma = np.hypot(rg.std(), yb.std())
    mu = np.hypot(rg.mean(), yb.mean())
    return float(sigma + 0.3 * mu)


def sharpness(image: Any) -> float:
    """Variance of the 4-neighbour Laplacian of the luma over interior pixels."""
    y = luma(_rgb(image))
    lap = y[:-2, 1:-1] + y[2:, 1:-1] + y[1:-1, :-2] + y[1:-1, 2:] - 4.0 * y[1:-1, 1:-1]
    return float(lap.var())


def features(image: Any) -> dict[str, float]:
    """The four diversity features of one RGB uint8 image."""
    return {
        "brightness": brightness(image),
        "contrast": contrast(image),
        "colorfulness": colorfulness(image),
        "sharpness": sharpness(image),
    }


def relative_range(values_per_dataset: Mapping[str, Any]) -> dict[str, float]:
    """R_k = (max C_k - min C_k) / max_k max C_k per dataset k (F-Bench eq. 6).

    The feature must be non-negative (all four are); ``nan`` with a warning when the largest
    value over all datasets is 0.
    """
    if not values_per_dataset:
        raise ValueError("values_per_dataset is empty")
    arrays = {k: as_1d_float(v, f"values_per_dataset[{k!r}]") for k, v in values_per_dataset.items()}
    for k, a in arrays.items():
        if a.min() < 0:
            raise ValueError(f"values_per_dataset[{k!r}] has negative values; R needs a non-negative feature")
    top = max(float(a.max()) for a in arrays.values())
    if top == 0:
        nan = undefined("the feature is 0 everywhere: relative range undefined")
        return {k: nan for k in arrays}
    return {k: float(a.max() - a.min()) / top for k, a in arrays.items()}


def coverage_uniformity(
    values: Any, bins: int = 10, range: tuple[float, float] | None = None  # noqa: A002
) -> float:
    """U = -sum_b p_b log_B p_b over a ``bins``-bin histogram (F-Bench eq. 7), in [0, 1].

    F-Bench does not state B; facebench defaults to 10. Give the same ``range`` for every
    dataset being compared (default: the values' own min and max); values outside it are a
    ValueError rather than silently dropped.
    """
    v = as_1d_float(values, "values")
    b = int(bins)
    if b < 2:
        raise ValueError(f"bins must be >= 2, got {bins!r}")
    lo, hi = (float(v.min()), float(v.max())) if range is None else map(float, range)
    if not lo <= hi:
        raise ValueError(f"range must be (low, high) with low <= high, got {range!r}")
    outside = (v < lo) | (v > hi)
    if outside.any():
        raise ValueError(f"{int(outside.sum())} value(s) lie outside range ({lo}, {hi})")
    if lo == hi:
        return 0.0  # everything in one bin
    counts, _ = np.histogram(v, bins=b, range=(lo, hi))
    p = counts[counts > 0] / v.size
    return float(-(p * np.log(p)).sum() / np.log(b))
