"""Lossless encoding of edited images for the benchmark cache: WebP, optionally as a residual.

An edit ``E`` of a source ``S`` (same shape, uint8) is stored as the residual

    R = (E - S) mod 256,      decoded as  E = (S + R) mod 256,

cut to the bounding box of its non-zero pixels (an editor that changes only the face leaves zeros
elsewhere) and encoded with lossless WebP (libwebp through Pillow, fastest method 0), after a
12-byte header: magic ``FBR1``, then the box's top, left and the image's height, width (uint16,
big-endian). Every step is exact, so decoding gives back ``E`` bit for bit; an all-zero residual
(the editor returned the source) is the header alone. Without a base the image itself is encoded
(method 4: a base is stored once per source). Measured on 512x512 offline edits
(``benchmarks/bench_cache.py`` on the demo: 360 edits): one PNG per edit 320 KB; residuals
~25-125 KB, encoded in ~1-16 ms.
"""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image

_MAGIC = b"FBR1"
_HEADER = struct.Struct(">4sHHHH")


def _webp(pixels: np.ndarray, method: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buf, format="WEBP", lossless=True, quality=0 if method < 2
                                                       else 50, method=method, exact=True)
    return buf.getvalue()


def _rgb(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def encode(image: np.ndarray, base: np.ndarray | None = None) -> bytes:
    """Lossless bytes of RGB uint8 ``image``: WebP of the image, or (``base`` given, same shape)
    the header + WebP of its residual's non-zero bounding box (see the module docstring)."""
    img = np.asarray(image)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 image, got shape {list(img.shape)} and dtype {img.dtype}")
    if base is None:
        return _webp(img, 4)
    if base.shape != img.shape or base.dtype != np.uint8:
        raise ValueError(f"base of shape {list(base.shape)} does not match the image's {list(img.shape)}")
    h, w = img.shape[:2]
    if max(h, w) > 0xFFFF:
        raise ValueError(f"image of {w}x{h} pixels is too large for a residual (max 65535 a side)")
    res = img - base  # uint8 arithmetic wraps: (E - S) mod 256
    changed = res.any(axis=2)
    rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
    if rows.size == 0:
        return _HEADER.pack(_MAGIC, 0, 0, h, w)
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    return _HEADER.pack(_MAGIC, int(y0), int(x0), h, w) + _webp(res[y0:y1, x0:x1], 0)


def decode(data: bytes, base: np.ndarray | None = None) -> np.ndarray:
    """The RGB uint8 pixels of :func:`encode`'s ``data`` (``base``: the image it is a residual to)."""
    if base is None:
        return _rgb(data)
    magic, y0, x0, h, w = _HEADER.unpack_from(data)
    if magic != _MAGIC or base.shape != (h, w, 3):
        raise ValueError(f"not a residual of a {base.shape[1]}x{base.shape[0]} image")
    out = base.copy()
    if len(data) > _HEADER.size:
        crop = _rgb(data[_HEADER.size:])
        out[y0:y0 + crop.shape[0], x0:x0 + crop.shape[1]] += crop  # (S + R) mod 256
    return out
