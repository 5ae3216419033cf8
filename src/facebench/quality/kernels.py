"""Blur kernels for the degradation pipelines (numpy, normalised to sum 1).

Anisotropic Gaussian family as in Real-ESRGAN (Wang, Xie, Dong, Shan, ICCVW 2021, sec. 3.1):
with the covariance S = R(theta) diag(sx^2, sy^2) R(theta)^T and q = [x y] S^-1 [x y]^T,
gaussian = exp(-q / 2), generalised = exp(-q^beta / 2), plateau = 1 / (1 + q^beta); the 2-D sinc (ideal circular low-pass) kernel
k(r) = omega_c J1(omega_c r) / (2 pi r) that simulates ringing and overshoot; and the classic
average and motion kernels of the first-order pipeline.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    if size % 2 == 0 or size < 1:
        raise ValueError(f"kernel size must be a positive odd number, got {size}")
    ax = np.arange(size, dtype=np.float64) - size // 2
    return np.meshgrid(ax, ax)


def _normalise(k: np.ndarray) -> np.ndarray:
    return k / k.sum()


def anisotropic(size: int, sigma_x: float, sigma_y: float, theta: float, family: str = "gaussian",
                beta: float = 1.0) -> np.ndarray:
    """Rotated kernel of the Gaussian family: ``gaussian`` exp(-q / 2), ``generalized``
    exp(-q^beta / 2), ``plateau`` 1 / (1 + q^beta)."""
    xx, yy = _grid(size)
    c, s = math.cos(theta), math.sin(theta)
    rot = np.array([[c, -s], [s, c]])
    cov = rot @ np.diag([sigma_x**2, sigma_y**2]) @ rot.T
    inv = np.linalg.inv(cov)
    q = inv[0, 0] * xx * xx + (inv[0, 1] + inv[1, 0]) * xx * yy + inv[1, 1] * yy * yy
    if family == "gaussian":
        k = np.exp(-0.5 * q)
    elif family == "generalized":
        k = np.exp(-0.5 * q**beta)
    elif family == "plateau":
        k = 1.0 / (1.0 + q**beta)
    else:
        raise ValueError(f"unknown kernel family {family!r} (gaussian, generalized, plateau)")
    return _normalise(k)


def sinc(size: int, omega_c: float) -> np.ndarray:
    """2-D circular sinc (ideal low-pass with cut-off ``omega_c`` in radians per pixel)."""
    xx, yy = _grid(size)
    r = np.hypot(xx, yy)
    with np.errstate(invalid="ignore", divide="ignore"):
        k = omega_c * special.j1(omega_c * r) / (2 * np.pi * r)
    k[r == 0] = omega_c**2 / (4 * np.pi)
    return _normalise(k)


def average(size: int) -> np.ndarray:
    """Box kernel ``size x size``."""
    _grid(size)
    return np.full((size, size), 1.0 / (size * size))


def motion(length: float, angle_deg: float) -> np.ndarray:
    """Linear motion blur of ``length`` pixels at ``angle_deg`` (counter-clockwise from +x),
    drawn with bilinear splatting on an odd square canvas."""
    size = int(math.ceil(length)) | 1
    k = np.zeros((size, size))
    c = size // 2
    a = math.radians(angle_deg)
    for t in np.linspace(-(length - 1) / 2, (length - 1) / 2, max(2, int(4 * length))):
        x, y = c + t * math.cos(a), c - t * math.sin(a)
        x0, y0 = int(math.floor(x)), int(math.floor(y))
        fx, fy = x - x0, y - y0
        for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
            if 0 <= x0 + dx < size and 0 <= y0 + dy < size:
                k[y0 + dy, x0 + dx] += w
    return _normalise(k)
