"""Lossless encoding of edited images for the benchmark cache: WebP, optionally as a residual.

An edit of a source ``S`` (same shape, uint8) is stored as the residual

    R = (E - S) mod 256,      decoded as  E = (S + R) mod 256,

encoded with lossless WebP (libwebp through Pillow). ``R`` is zero wherever the editor kept the
source pixels, which lossless WebP packs to almost nothing; both steps are exact, so decoding gives
back ``E`` bit for bit. Without a base the image itself is encoded. Measured on a 512x512 offline
edit (``benchmarks/bench_cache.py``): PNG (level 3) 446 KB; WebP of the edit 331 KB; WebP of the
residual 15 KB.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def encode(image: np.ndarray, base: np.ndarray | None = None) -> bytes:
    """Lossless WebP bytes of RGB uint8 ``image``, or of its residual against ``base`` (same shape)."""
    img = np.ascontiguousarray(image)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 image, got shape {list(img.shape)} and dtype {img.dtype}")
    if base is not None:
        if base.shape != img.shape or base.dtype != np.uint8:
            raise ValueError(f"base of shape {list(base.shape)} does not match the image's {list(img.shape)}")
        img = img - base  # uint8 arithmetic wraps: (E - S) mod 256
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="WEBP", lossless=True, quality=50, method=4, exact=True)
    return buf.getvalue()


def decode(data: bytes, base: np.ndarray | None = None) -> np.ndarray:
    """The RGB uint8 pixels of :func:`encode`'s ``data`` (``base``: the image it is a residual to)."""
    with Image.open(io.BytesIO(data)) as im:
        out = np.asarray(im.convert("RGB"))
    if base is not None:
        out = out + base  # (S + R) mod 256
    return out
