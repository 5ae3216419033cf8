"""How far an edit moves a face toward a reference edit: aligned 478-point mesh distances.

The measure compares *shapes*, not poses: two meshes are put on top of each other by the
least-squares 2-D similarity (Umeyama 1991) over all points, and the distance is

    d(A, B) = mean_i || (s R a_i + t) - b_i ||  /  || b_33 - b_263 ||

with ``a_i``, ``b_i`` the image-plane (x, y) of the 478 MediaPipe points and the denominator the
inter-ocular distance (outer eye corners) of ``B``. An editor reproduces a reference motion
``source -> reference`` when ``d(edit, reference) < d(source, reference)``; the *motion ratio*
``d(edit, reference) / d(source, reference)`` is 1 for an edit that does nothing and 0 for one
whose mesh matches the reference exactly.

:func:`gallery_motion` applies this to PixelSmile's gallery (``slider/<e>/00`` is the source,
``27`` the full-strength frame).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..face.geometry import umeyama

#: The outer eye corners of the MediaPipe mesh: the inter-ocular unit.
EYE_CORNERS = (33, 263)

#: The frame of PixelSmile's slider series used as the full-strength reference.
REFERENCE_FRAME = "27"


def aligned_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean point distance from mesh ``a`` to mesh ``b`` after the least-squares 2-D similarity
    alignment of ``a`` onto ``b``, in units of ``b``'s inter-ocular distance (module docstring)."""
    a2 = np.asarray(a, np.float64)[:, :2]
    b2 = np.asarray(b, np.float64)[:, :2]
    if a2.shape != b2.shape or len(a2) <= max(EYE_CORNERS):
        raise ValueError(f"need two meshes with the same >= {max(EYE_CORNERS) + 1} points, got {a2.shape} and {b2.shape}")
    s, r, t = umeyama(a2, b2)
    on_b = a2 @ (s * r).T + t
    iod = float(np.linalg.norm(b2[EYE_CORNERS[0]] - b2[EYE_CORNERS[1]]))
    return float(np.linalg.norm(on_b - b2, axis=1).mean() / iod)


@dataclass(frozen=True)
class MotionRow:
    """One expression: distances of the source and of the edit to the reference frame."""

    expression: str
    source_to_reference: float
    edit_to_reference: float

    @property
    def ratio(self) -> float:
        """``d(edit, reference) / d(source, reference)``: below 1 the edit moved toward it."""
        return self.edit_to_reference / self.source_to_reference


def mesh_of(image: Any) -> np.ndarray:
    """The largest face's 478-point mesh (raises :class:`facebench.face.types.NoFaceError`)."""
    from ..face import analyze_face

    return np.asarray(analyze_face(image, parts=("detection", "mesh")).mesh, np.float64)


def gallery_motion(editor: Any, slider_dir: Path, expressions: Sequence[str], *,
                   alpha: float = 1.0) -> list[MotionRow]:
    """For each expression, edit ``slider_dir/<e>/00.avif`` at ``alpha`` with ``editor`` and measure
    the edit's and the source's aligned mesh distance to ``<e>/27.avif``. The edit's mesh is
    measured on the edited image by the same face analysis, not taken from the editor."""
    from ..base.imageio import load_image
    from .base import ExpressionControl

    rows = []
    for e in expressions:
        src_img = load_image(slider_dir / e / "00.avif")
        ref = mesh_of(slider_dir / e / f"{REFERENCE_FRAME}.avif")
        src = mesh_of(src_img)
        out = editor.edit(src_img, ExpressionControl.single(e, alpha)).image
        rows.append(MotionRow(e, aligned_distance(src, ref), aligned_distance(mesh_of(out), ref)))
    return rows
