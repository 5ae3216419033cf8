"""Validation of the (image, boxes) pair that the per-face models take (one place, one message)."""

from __future__ import annotations

import numpy as np


def check_image_and_boxes(image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Raise ``ValueError`` unless ``image`` is RGB uint8 ``HxWx3`` and ``boxes`` is ``(N, 4)``.

    Returns the boxes as float64 ``(N, 4)`` (``(0, 4)`` when empty).
    """
    if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3
            and image.shape[2] == 3):
        got = f"{getattr(image, 'dtype', type(image).__name__)} {getattr(image, 'shape', '')}"
        raise ValueError(f"image must be an RGB uint8 HxWx3 array, got {got}")
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.size == 0:
        return boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must have shape (N, 4) (x0, y0, x1, y1), got {boxes.shape}")
    return boxes
