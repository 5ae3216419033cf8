"""The 478-point 3-D MediaPipe face mesh of each detected face, in image pixels.

MediaPipe's FaceMesh finds faces with its own short-range detector, which misses faces in group
photos. So we run it on an enlarged square crop around each detection (the crop is resampled to
``crop_size`` pixels, padding with black outside the image), keep the mesh whose points fall
inside the detection box, and map it back: ``x = x0 + u * side``, ``y = y0 + v * side`` and
``z = w * side``, where ``(u, v, w)`` are MediaPipe's normalised coordinates and ``side`` is the
crop's side in image pixels (MediaPipe scales ``z`` like ``x``; smaller ``z`` = nearer the camera,
0 near the face centre).

With ``refine_landmarks=True`` the mesh has 468 face points plus 10 iris points (468-472 the
subject's right iris, centre 468; 473-477 the left iris, centre 473).

Model and licence: ``face_landmark_with_attention.tflite`` (+ BlazeFace short range inside the
graph) from mediapipe 0.10.21, Apache-2.0 (model card "MediaPipe Face Mesh V2 / Attention Mesh").
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

from ..base.registry import Registry
from ..base.native import quiet_native_stderr
from ..base.lazy import ProcessDefault

#: Number of points in a refined mesh.
N_POINTS = 478

# Landmark indices of the MediaPipe canonical face mesh used across facebench ("right" = the
# subject's right, on the image's left in a frontal photo).
FACE_OVAL: tuple[int, ...] = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)
RIGHT_IRIS_CENTRE, LEFT_IRIS_CENTRE = 468, 473
NOSE_TIP = 1
RIGHT_MOUTH_CORNER, LEFT_MOUTH_CORNER = 61, 291

#: Registered mesh models (one so far); metadata carries the licence.
MESH_MODELS: Registry[type] = Registry("face mesh")


def keypoints_from_mesh(mesh: np.ndarray) -> np.ndarray:
    """The 5 keypoints (right eye, left eye, nose tip, right and left mouth corner) as ``(5, 2)``
    pixels, from landmarks 468, 473 (iris centres), 1, 61 and 291."""
    idx = [RIGHT_IRIS_CENTRE, LEFT_IRIS_CENTRE, NOSE_TIP, RIGHT_MOUTH_CORNER, LEFT_MOUTH_CORNER]
    return np.asarray(mesh, dtype=np.float64)[idx, :2].copy()


def square_crop_transform(box: np.ndarray, scale: float, size: int) -> tuple[np.ndarray, float, np.ndarray]:
    """Affine (2, 3) that maps a square of side ``scale * max(w, h)`` centred on ``box`` to a
    ``size x size`` image; also returns the square's side and top-left corner in image pixels."""
    x0, y0, x1, y1 = (float(v) for v in box)
    side = scale * max(x1 - x0, y1 - y0, 1.0)
    corner = np.array([(x0 + x1 - side) / 2, (y0 + y1 - side) / 2])
    k = size / side
    m = np.array([[k, 0.0, -corner[0] * k], [0.0, k, -corner[1] * k]])
    return m, side, corner


@MESH_MODELS.register(
    "mediapipe_face_mesh", licence="Apache-2.0 (mediapipe 0.10.21 face_landmark_with_attention)",
    points=N_POINTS,
)
class MeshEstimator:
    """MediaPipe FaceMesh (static images, refined: 478 points) run on a crop around each box.

    ``crop_scales`` are tried in order until a mesh is found whose points mostly (> ``min_inside``)
    fall inside the (slightly enlarged) detection box; at most two faces are searched per crop so a
    neighbour's face in a group photo is not taken for this one.
    """

    def __init__(
        self,
        *,
        crop_size: int = 256,
        crop_scales: tuple[float, ...] = (2.0, 1.5, 3.0),
        min_confidence: float = 0.3,
        min_inside: float = 0.6,
    ) -> None:
        self.crop_size = int(crop_size)
        self.crop_scales = tuple(crop_scales)
        self.min_confidence = float(min_confidence)
        self.min_inside = float(min_inside)
        self._graph = None
        self._lock = threading.Lock()

    def _get_graph(self):
        if self._graph is None:
            from mediapipe.python.solutions import face_mesh

            self._graph = face_mesh.FaceMesh(
                static_image_mode=True, max_num_faces=2, refine_landmarks=True,
                min_detection_confidence=self.min_confidence,
            )
        return self._graph

    def _run(self, crop: np.ndarray) -> list[np.ndarray]:
        with self._lock, quiet_native_stderr():
            result = self._get_graph().process(crop)
        return [
            np.array([(p.x, p.y, p.z) for p in f.landmark], dtype=np.float64)
            for f in (result.multi_face_landmarks or [])
        ]

    def estimate(self, image: np.ndarray, box: np.ndarray) -> np.ndarray | None:
        """The ``(478, 3)`` mesh in image pixels of the face in ``box``, or None if not found."""
        x0, y0, x1, y1 = (float(v) for v in box)
        pad_x, pad_y = 0.15 * (x1 - x0), 0.15 * (y1 - y0)
        for scale in self.crop_scales:
            m, side, corner = square_crop_transform(box, scale, self.crop_size)
            crop = cv2.warpAffine(
                image, m, (self.crop_size, self.crop_size), flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0),
            )
            best, best_inside = None, self.min_inside
            for uvw in self._run(crop):
                mesh = np.empty_like(uvw)
                mesh[:, :2] = corner + uvw[:, :2] * side
                mesh[:, 2] = uvw[:, 2] * side
                inside = np.mean(
                    (mesh[:, 0] >= x0 - pad_x) & (mesh[:, 0] <= x1 + pad_x)
                    & (mesh[:, 1] >= y0 - pad_y) & (mesh[:, 1] <= y1 + pad_y)
                )
                if inside > best_inside:
                    best, best_inside = mesh, inside
            if best is not None and best.shape[0] == N_POINTS:
                return best
        return None

    def estimate_all(self, image: np.ndarray, boxes: np.ndarray) -> list[np.ndarray | None]:
        """:meth:`estimate` for each row of ``boxes`` (N, 4)."""
        return [self.estimate(image, b) for b in np.asarray(boxes, float).reshape(-1, 4)]


#: The process-wide :class:`MeshEstimator` (MediaPipe graph built on first use).
get_mesh_estimator: ProcessDefault[MeshEstimator] = ProcessDefault(lambda: MeshEstimator())
