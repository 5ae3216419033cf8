"""Typed per-face results of :func:`facebench.face.analyze` (the contract other parts code against).

Coordinates are in pixels of the analysed image, ``x`` right, ``y`` down; boxes are
``(x0, y0, x1, y1)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Detection:
    """A detected face: box, detector score and 5 keypoints (right eye, left eye, nose tip,
    mouth centre, ... as the detector defines them; see ``facebench.face.detect``)."""

    box: np.ndarray  # (4,) float: x0, y0, x1, y1
    score: float
    keypoints: np.ndarray  # (5, 2) float pixels
    detector: str = ""


@dataclass
class Face:
    """Everything facebench knows about one face in one image."""

    index: int
    detection: Detection
    mesh: np.ndarray | None = None  # (478, 3): x, y in pixels, z in pixels (relative depth)
    crop: np.ndarray | None = None  # aligned canonical crop, RGB uint8
    crop_transform: np.ndarray | None = None  # (2, 3) affine image -> crop
    mask: np.ndarray | None = None  # (H, W) bool face region from the mesh hull
    identity: np.ndarray | None = None  # (128,) dlib descriptor
    expression: dict[str, np.ndarray] = field(default_factory=dict)  # model -> (7,) over BASIC7; "ensemble" too
    geometry: dict[str, float] = field(default_factory=dict)  # named measurements (see geometry.py)
