"""Seams: does an edit leave a visible edge where it stops?

A seam is a jump in intensity along a curve. Along a ring of pixels (the border of a mask, a few
pixels wide) the *gradient energy* is

    E(I, ring) = mean_{p in ring} ( (d_x L)(p)^2 + (d_y L)(p)^2 )

with ``L`` the luma (ITU-R BT.601: 0.299 R + 0.587 G + 0.114 B) and ``d_x, d_y`` 3x3 Sobel
derivatives divided by 8 (so a unit step has derivative 1/2 on both of its pixels). An edit is
seamless along the ring when ``E(edit) / E(source)`` stays near 1: a hard edge adds energy, and
a smeared one (texture blurred across the border) removes it.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..base.pixels import luma


def border_ring(mask: np.ndarray, width: int = 2) -> np.ndarray:
    """Boolean ring of the pixels within ``width`` pixels of the border of ``mask`` (both sides),
    excluding the image's own edge."""
    m = np.asarray(mask, np.uint8)
    if m.ndim != 2 or not m.any() or m.all():
        raise ValueError(f"need a 2-D mask with pixels in and out, got shape {m.shape} with {int(m.sum())} set")
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    ring = cv2.dilate(m, k) != cv2.erode(m, k)
    ring[:width, :] = ring[-width:, :] = False
    ring[:, :width] = ring[:, -width:] = False
    return ring


def gradient_energy(image: np.ndarray, ring: np.ndarray) -> float:
    """Mean squared Sobel gradient magnitude of the image's luma over ``ring`` (module docstring)."""
    img = np.asarray(image, np.float32)
    y = luma(img, np.float32)
    gx = cv2.Sobel(y, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(y, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    return float((gx[ring] ** 2 + gy[ring] ** 2).mean())


def seam_ratio(source: np.ndarray, edited: np.ndarray, mask: np.ndarray, width: int = 2) -> float:
    """``E(edited, ring) / E(source, ring)`` along the border ring of ``mask`` (1 = no seam)."""
    ring = border_ring(mask, width)
    return gradient_energy(edited, ring) / max(gradient_energy(source, ring), 1e-9)
