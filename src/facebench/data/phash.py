"""Perceptual image hash for near-duplicate detection (collect stage).

pHash (Zauner 2010, "Implementation and benchmarking of perceptual image hash functions"): the
image is converted to luma, resized to 32x32 (area interpolation), transformed with a 2-D DCT-II,
and the 8x8 lowest frequencies (the DC term included) are compared with their median: one bit per
coefficient, 64 bits. Near-duplicates (re-encoded, resized, slightly recoloured copies) differ in a
few bits; the Hamming distance counts them.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.fft import dctn

from ..base.pixels import luma


def phash(image: np.ndarray, *, size: int = 32, keep: int = 8) -> str:
    """64-bit pHash of an RGB uint8 image as 16 hex digits."""
    y = luma(image)
    small = cv2.resize(y, (size, size), interpolation=cv2.INTER_AREA)
    low = dctn(small, type=2, norm="ortho")[:keep, :keep].ravel()
    bits = low > np.median(low)
    return f"{int(''.join('1' if b else '0' for b in bits), 2):0{keep * keep // 4}x}"


def hamming(a: str, b: str) -> int:
    """Number of differing bits between two hex hashes of equal length."""
    if len(a) != len(b):
        raise ValueError(f"hashes of different lengths: {a!r} and {b!r}")
    return bin(int(a, 16) ^ int(b, 16)).count("1")
