"""Typed per-face results of :func:`facebench.face.analyze` (the contract other parts code against).

Coordinates are in pixels of the analysed image, ``x`` right, ``y`` down; boxes are
``(x0, y0, x1, y1)``. "Right" and "left" are the *subject's* sides: in a frontal photo the
subject's right eye is on the image's left.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Names of the 5 keypoints, in order (the usual 5-point layout of face alignment).
KEYPOINT_NAMES: tuple[str, ...] = (
    "right_eye", "left_eye", "nose_tip", "right_mouth_corner", "left_mouth_corner",
)


@dataclass
class Detection:
    """A detected face: box, detector score and 5 keypoints in :data:`KEYPOINT_NAMES` order.

    For the MediaPipe detectors the eyes and nose tip are the detector's own keypoints and the
    two mouth corners are estimated from its mouth-centre keypoint (see
    :func:`facebench.face.detect.mouth_corners_from_centre`); ``raw_keypoints`` keeps the
    detector's 6 points as it gave them (right eye, left eye, nose tip, mouth centre, right ear
    tragion, left ear tragion). :meth:`Face.keypoints` gives mesh-based points when a mesh exists.
    """

    box: np.ndarray  # (4,) float: x0, y0, x1, y1
    score: float
    keypoints: np.ndarray  # (5, 2) float pixels
    detector: str = ""
    raw_keypoints: np.ndarray | None = None  # (K, 2) float pixels, as the detector gave them

    @property
    def area(self) -> float:
        """Box area in pixels."""
        x0, y0, x1, y1 = (float(v) for v in self.box)
        return max(0.0, x1 - x0) * max(0.0, y1 - y0)


@dataclass
class Face:
    """Everything facebench knows about one face in one image."""

    index: int
    detection: Detection
    mesh: np.ndarray | None = None  # (478, 3): x, y in pixels, z in pixels (relative depth)
    crop: np.ndarray | None = None  # aligned canonical crop, RGB uint8
    crop_transform: np.ndarray | None = None  # (2, 3) affine image -> crop
    mask: np.ndarray | None = None  # (H, W) bool face region from the mesh hull
    identity: np.ndarray | None = None  # (128,) descriptor from ``identity_recogniser``
    identity_recogniser: str = ""  # which recogniser produced ``identity`` (e.g. "dlib")
    expression: dict[str, np.ndarray] = field(default_factory=dict)  # model -> (7,) over BASIC7; "ensemble" too
    geometry: dict[str, float] = field(default_factory=dict)  # named measurements (see geometry.py)

    @property
    def box(self) -> np.ndarray:
        """The detection box ``(x0, y0, x1, y1)``."""
        return self.detection.box

    def keypoints(self) -> np.ndarray:
        """The 5 keypoints (:data:`KEYPOINT_NAMES`): from the mesh when there is one (iris
        centres, nose tip, mouth corners: landmarks 468, 473, 1, 61, 291), else the detector's."""
        if self.mesh is not None:
            from .mesh import keypoints_from_mesh

            return keypoints_from_mesh(self.mesh)
        return self.detection.keypoints


class NoFaceError(ValueError):
    """A face was required but there is none: no face was found in ``source``, or the requested
    one does not exist or lacks a part. ``str(err)`` is ``"<source>: <problem>"`` (one line)."""

    def __init__(self, source: str, problem: str = "no face found") -> None:
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")
