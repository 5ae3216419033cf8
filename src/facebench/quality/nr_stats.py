"""Natural-scene statistics shared by BRISQUE and NIQE.

MSCN coefficients (mean-subtracted, contrast-normalised luminance) and the asymmetric generalised
Gaussian (AGGD) moment-matching fit of Lasmar, Stanciu, Rodriguez (2009) as used in
Mittal, Moorthy, Bovik, "No-reference image quality assessment in the spatial domain" (BRISQUE,
IEEE TIP 21(12), 2012) and Mittal, Soundararajan, Bovik, "Making a completely blind image quality
analyzer" (NIQE, IEEE SPL 20(3), 2013).

The shipped parameters of each metric were fitted with one particular implementation, so this
module exposes both variants that facebench needs: the shape parameter solved exactly
(``brisque`` package) and looked up on a 0.001 grid (``scikit-video``'s NIQE).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from scipy import optimize, signal, special

#: alpha grid of the tabulated fit (0.2 ... 9.999 step 0.001) and rho(alpha) = G(2/a)^2 / (G(1/a) G(3/a))
ALPHA_GRID = np.arange(0.2, 10, 0.001)
_RHO_GRID = special.gamma(2.0 / ALPHA_GRID) ** 2 / (special.gamma(1.0 / ALPHA_GRID) * special.gamma(3.0 / ALPHA_GRID))


def package_file(package: str, *parts: str) -> Path:
    """Path of a data file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package!r} is not installed (run `make venv`); it ships {'/'.join(parts)}")
    path = Path(list(spec.submodule_search_locations)[0]).joinpath(*parts)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: expected data file of package {package!r} is missing")
    return path


def _rho(alpha: float) -> float:
    return special.gamma(2 / alpha) ** 2 / (special.gamma(1 / alpha) * special.gamma(3 / alpha))


def _left_right(x: np.ndarray) -> tuple[float, float]:
    """RMS of the negative and of the non-negative values (0 when a side is empty)."""
    neg, pos = x[x < 0], x[x >= 0]
    left = float(np.sqrt(np.mean(neg * neg))) if neg.size else 0.0
    right = float(np.sqrt(np.mean(pos * pos))) if pos.size else 0.0
    return left, right


def aggd_fit(x: np.ndarray) -> tuple[float, float, float, float]:
    """AGGD fit with the shape solved exactly: ``(alpha, mean, sigma_l, sigma_r)``.

    gamma = sigma_l / sigma_r, r = E|x|^2 / E x^2, R = r (gamma^3 + 1)(gamma + 1) / (gamma^2 + 1)^2,
    alpha solves rho(alpha) = R, mean = (sigma_r - sigma_l) sqrt(G(1/a)/G(3/a)) G(2/a)/G(1/a).
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    left, right = _left_right(x)
    if right == 0 or left == 0 or not np.any(x):
        raise ValueError("flat image region: the AGGD fit is undefined")
    g = left / right
    r_hat = np.mean(np.abs(x)) ** 2 / np.mean(x * x)
    big_r = r_hat * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    sol = optimize.root(lambda a: _rho(a[0]) - big_r, [0.2])
    alpha = float(sol.x[0])
    const = np.sqrt(special.gamma(1 / alpha) / special.gamma(3 / alpha))
    mean = (right - left) * const * special.gamma(2 / alpha) / special.gamma(1 / alpha)
    return alpha, float(mean), left, right


def aggd_fit_tabulated(x: np.ndarray) -> tuple[float, float, float, float]:
    """AGGD fit with alpha looked up on :data:`ALPHA_GRID`, in float32 like scikit-video:
    ``(alpha, mean, beta_l, beta_r)`` with beta = sigma sqrt(G(1/a)/G(3/a))."""
    x = np.asarray(x, dtype=np.float32).ravel()
    x2 = x * x
    neg, pos = x2[x < 0], x2[x >= 0]
    left = np.sqrt(np.average(neg)) if neg.size else 0.0
    right = np.sqrt(np.average(pos)) if pos.size else 0.0
    g = left / right if right != 0 else np.inf
    mean2 = np.mean(x2)
    r_hat = np.average(np.abs(x)) ** 2 / np.average(x2) if mean2 != 0 else np.inf
    g = float(g)
    # kept in single precision like scikit-video (float32 times a Python float stays float32)
    r_norm = np.float32(r_hat) * (((g**3 + 1) * (g + 1)) / (g**2 + 1) ** 2)
    alpha = ALPHA_GRID[np.argmin((_RHO_GRID - r_norm) ** 2)]
    g1, g2, g3 = special.gamma(1 / alpha), special.gamma(2 / alpha), special.gamma(3 / alpha)
    ratio = np.sqrt(g1) / np.sqrt(g3)
    bl, br = ratio * left, ratio * right
    return float(alpha), float((br - bl) * (g2 / g1)), float(bl), float(br)


def gaussian_kernel(size: int = 7, sigma: float = 7 / 6) -> np.ndarray:
    """Normalised 2-D Gaussian ``(size, size)`` centred on ``size // 2``."""
    y, x = np.indices((size, size)) - size // 2
    # the 1 / (2 pi sigma^2) factor cancels, but it changes the last bits that BRISQUE is sensitive to
    k = 1 / (2 * np.pi * sigma**2) * np.exp(-(x**2 + y**2) / (2 * sigma**2))
    return k / np.sum(k)


def mscn(gray: np.ndarray, c: float, kernel: np.ndarray | None = None) -> np.ndarray:
    """MSCN coefficients (I - mu) / (sigma + c) with a 2-D Gaussian window and zero padding.

    Computed with a direct 2-D convolution on purpose: in flat regions sigma is ~1e-9 and the sign
    of (I - mu) is decided by rounding, which changes the left/right split of the AGGD fit; the
    shipped BRISQUE parameters were fitted on values computed this way.
    """
    k = gaussian_kernel() if kernel is None else kernel
    img = np.asarray(gray, dtype=np.float64)
    mu = signal.convolve2d(img, k, "same")
    sigma = np.sqrt(np.abs(mu * mu - signal.convolve2d(img * img, k, "same")))
    return (img - mu) / (sigma + c)
