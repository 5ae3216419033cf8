"""Quality measures of the main face of a portrait and the collect stage's filter rules.

Measures (one dict per image, from :func:`facebench.face.analyze` results):

- ``face_px``: shorter side of the largest face's box, pixels;
- ``sharpness``: variance of the 4-neighbour Laplacian of the luma of the face box resized to
  128x128 (:func:`facebench.metrics.diversity.sharpness`; Pech-Pacheco et al. 2000);
- ``yaw`` / ``pitch`` / ``roll``: head pose in degrees from the 478-point mesh
  (:mod:`facebench.face.geometry`);
- ``faces`` and ``second_face_ratio``: how many faces, and the area of the second largest over the
  largest (one dominant face: the ratio must stay below ``1 / dominant_ratio``);
- ``occlusion``: :func:`occlusion`, a proxy for hands, hair, masks or sunglasses over the face.
"""

from __future__ import annotations

from typing import Any, Sequence

import cv2
import numpy as np

from ..face.types import Face
from ..metrics.diversity import sharpness as laplacian_variance

#: Mesh points on bare skin (forehead, cheeks, under the eyes, nose, philtrum, chin); MediaPipe indices.
SKIN_POINTS: tuple[int, ...] = (
    10, 151, 9, 108, 337, 67, 297,  # forehead
    205, 50, 101, 118, 117, 123, 187, 425, 280, 330, 347, 346, 352, 411,  # cheeks
    111, 340, 119, 348,  # under the eyes
    168, 6, 197, 195, 5,  # nose bridge
    164, 167, 393,  # philtrum and beside it
    152, 175, 199, 200, 18,  # chin
)
#: CIE76 colour difference above which a skin sample counts as covered (a different material).
OCCLUSION_DELTA_E = 22.0


def face_sharpness(image: np.ndarray, box: Sequence[float], size: int = 128) -> float:
    """Laplacian variance of the face box (clipped to the image) resized to ``size`` x ``size``."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = (int(round(float(v))) for v in box)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 3 or y1 - y0 < 3:
        return 0.0
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    interp = cv2.INTER_AREA if (x1 - x0) > size else cv2.INTER_CUBIC
    return laplacian_variance(cv2.resize(crop, (size, size), interpolation=interp))


def occlusion(image: np.ndarray, mesh: np.ndarray, *, points: Sequence[int] = SKIN_POINTS,
              delta_e: float = OCCLUSION_DELTA_E) -> float:
    """Occlusion proxy in [0, 1]: the share of bare-skin mesh points that are outside the image or
    whose colour differs from the face's skin colour by more than ``delta_e``.

    At each point of :data:`SKIN_POINTS` the median CIELAB colour of a small patch (radius 4% of
    the inter-ocular distance, at least 1 pixel) is taken; the skin colour is the median over all
    patches; a patch counts as covered when its CIE76 difference ``|Lab - Lab_skin|`` exceeds
    ``delta_e``. Hands, masks, sunglasses and hair over the face change the colour of the points
    they cover; shadows and make-up can raise the value too (it is a proxy, not a segmentation).
    """
    from skimage.color import rgb2lab

    h, w = image.shape[:2]
    pts = np.asarray(mesh, np.float64)[list(points), :2]
    iod = float(np.linalg.norm(mesh[468, :2] - mesh[473, :2])) if len(mesh) > 473 else 0.0
    r = max(1, int(round(0.04 * iod)))
    inside = (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
    labs = []
    for x, y in pts[inside]:
        xi, yi = int(x), int(y)
        patch = image[max(0, yi - r):yi + r + 1, max(0, xi - r):xi + r + 1]
        labs.append(np.median(rgb2lab(patch.reshape(-1, 1, 3)).reshape(-1, 3), axis=0))
    if not labs:
        return 1.0
    lab = np.asarray(labs)
    ref = np.median(lab, axis=0)
    covered = np.linalg.norm(lab - ref, axis=1) > delta_e
    return float((covered.sum() + (~inside).sum()) / len(pts))


def measure(image: np.ndarray, faces: Sequence[Face]) -> dict[str, Any]:
    """The quality measures of the largest face in ``faces`` (which must hold detection, mesh and
    geometry); ``faces`` empty gives ``{"faces": 0}``."""
    if not faces:
        return {"faces": 0}
    main = faces[0]
    x0, y0, x1, y1 = (float(v) for v in main.box)
    out: dict[str, Any] = {
        "faces": len(faces),
        "box": [round(v, 2) for v in (x0, y0, x1, y1)],
        "detector_score": float(main.detection.score),
        "face_px": float(min(x1 - x0, y1 - y0)),
        "sharpness": face_sharpness(image, main.box),
        "second_face_ratio": float(faces[1].detection.area / max(main.detection.area, 1e-9)) if len(faces) > 1 else 0.0,
    }
    for k in ("yaw", "pitch", "roll"):
        out[k] = float(main.geometry[k]) if k in main.geometry else float("nan")
    out["occlusion"] = occlusion(image, main.mesh) if main.mesh is not None else float("nan")
    return out


def quality_reasons(m: dict[str, Any], cfg: Any) -> list[str]:
    """Why a human portrait fails the collect filters of ``cfg`` (:class:`~.config.CollectConfig`);
    empty when it passes. Every failing rule is listed, in a fixed order."""
    if not m.get("faces"):
        return ["no face found"]
    out = []
    if m["second_face_ratio"] > 1.0 / cfg.dominant_ratio:
        out.append(f"no dominant face: {m['faces']} faces, the second is {m['second_face_ratio']:.0%} "
                   f"of the largest (limit {1.0 / cfg.dominant_ratio:.0%})")
    if m["face_px"] < cfg.min_face_px:
        out.append(f"face too small: {m['face_px']:.0f} px < {cfg.min_face_px:g} px")
    if m["sharpness"] < cfg.min_sharpness:
        out.append(f"face too blurry: sharpness {m['sharpness']:.1f} < {cfg.min_sharpness:g}")
    for k, limit in (("yaw", cfg.max_yaw), ("pitch", cfg.max_pitch), ("roll", cfg.max_roll)):
        v = m.get(k, float("nan"))
        if not np.isfinite(v):
            out.append(f"head pose not measured ({k})")
            break
        if abs(v) > limit:
            out.append(f"head {k} {v:+.1f} deg beyond +-{limit:g}")
    occ = m.get("occlusion", float("nan"))
    if np.isfinite(occ) and occ > cfg.max_occlusion:
        out.append(f"face occluded: {occ:.0%} of skin points covered > {cfg.max_occlusion:.0%}")
    return out


def anime_reasons(m: dict[str, Any], cfg: Any) -> list[str]:
    """The collect filters that apply to an anime face (no mesh: no head pose, no occlusion proxy)."""
    if not m.get("faces"):
        return ["no anime face found"]
    out = []
    if m["second_face_ratio"] > 1.0 / cfg.dominant_ratio:
        out.append(f"no dominant face: {m['faces']} faces, the second is {m['second_face_ratio']:.0%} of the largest")
    if m["face_px"] < cfg.min_face_px:
        out.append(f"face too small: {m['face_px']:.0f} px < {cfg.min_face_px:g} px")
    if m.get("likelihood", 1.0) < cfg.min_anime_likelihood:
        out.append(f"anime face likelihood {m['likelihood']:.2f} < {cfg.min_anime_likelihood:g}")
    return out
