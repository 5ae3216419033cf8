"""Small pixel helpers every layer shares: BT.601 luma, PNG bytes, Lanczos resizing.

- :func:`luma`: ``Y = 0.299 R + 0.587 G + 0.114 B`` (ITU-R BT.601), on the scale of the input;
  :func:`gray_u8` the same rounded to uint8 as OpenCV does (what the expression models and PIQE read);
- :func:`encode_png`: lossless PNG bytes of an image (Pillow's zlib level as given);
- :func:`resize_to` / :func:`fit_within`: Lanczos resampling (Pillow) to a given size, or down to a
  longest side.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Union

import numpy as np

if TYPE_CHECKING:  # Pillow is imported where it is used: importing luma stays numpy-only
    from PIL import Image

#: ITU-R BT.601 luma weights of R, G, B.
BT601 = (0.299, 0.587, 0.114)

PixelsLike = Union[np.ndarray, "Image.Image"]


def luma(image: np.ndarray, dtype: type = np.float64) -> np.ndarray:
    """BT.601 luma ``0.299 R + 0.587 G + 0.114 B`` of an ``(..., 3+)`` RGB array, as ``dtype``
    (extra channels such as alpha are ignored); a 2-D array is taken to be luma already."""
    arr = np.asarray(image, dtype)
    if arr.ndim == 2:
        return arr
    return arr[..., :3] @ np.array(BT601, dtype)


def gray_u8(image: np.ndarray) -> np.ndarray:
    """RGB uint8 -> gray uint8 with BT.601 luma ``0.299 R + 0.587 G + 0.114 B`` (OpenCV's
    ``COLOR_RGB2GRAY``, fixed-point rounding)."""
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)


def encode_png(image: PixelsLike, compress_level: int = 6) -> bytes:
    """Lossless PNG bytes of an image (array or PIL image); ``compress_level`` 0-9 trades size for
    time (Pillow's default is 6)."""
    from PIL import Image

    img = image if isinstance(image, Image.Image) else Image.fromarray(np.ascontiguousarray(image))
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


#: Resampling methods of :func:`resize_to`: Pillow's Lanczos, OpenCV's pixel-area average (for
#: shrinking) and bicubic.
RESIZE_METHODS: tuple[str, ...] = ("lanczos", "area", "cubic")


def resize_to(image: np.ndarray, size: tuple[int, int], method: str = "lanczos") -> np.ndarray:
    """``image`` resampled to ``size = (height, width)`` with ``method`` (:data:`RESIZE_METHODS`);
    the array itself when it already has that size."""
    h, w = int(size[0]), int(size[1])
    if image.shape[:2] == (h, w):
        return image
    if method == "lanczos":
        from PIL import Image

        return np.asarray(Image.fromarray(image).resize((w, h), Image.Resampling.LANCZOS))
    if method not in RESIZE_METHODS:
        raise ValueError(f"resize method {method!r} is not one of {', '.join(RESIZE_METHODS)}")
    import cv2

    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if method == "area" else cv2.INTER_CUBIC)


def fit_within(image: np.ndarray, max_side: int, method: str = "lanczos") -> np.ndarray:
    """``image`` shrunk so that its longest side is at most ``max_side``, aspect kept (each side
    ``round(side * max_side / longest)``, at least 1; :func:`resize_to`'s ``method``); unchanged
    when it fits."""
    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image
    s = max_side / max(h, w)
    return resize_to(image, (max(1, round(h * s)), max(1, round(w * s))), method)
