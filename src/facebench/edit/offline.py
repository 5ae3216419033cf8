"""The offline expression editor: move the face mesh along FACS action units and warp the image.

Per face (once, shared by a whole sweep): the 478-point mesh from :func:`facebench.face.analyze`;
the 3-D similarity transform from the canonical frame to the image (Umeyama fit on points that
expressions barely move, so head rotation is handled); the action-unit fields computed on the
person's own mesh; the triangulation and anchor ring of the warp; colours for the retouching.

Per control: ``D = sum_e alpha_e * sum_AU intensity_{e,AU} * field_AU`` (canonical frame, see
:mod:`facebench.edit.expression_table`) is mapped into the image as ``s * R @ D``, the moved mesh
is unfolded (no flipped triangles), the image is warped piecewise-affinely, then the mouth opening,
eyelids, blush and under-eye shadows are painted. Everything outside the warp region -- the face
outline pushed out by ``margin`` of the face size -- is returned bit for bit.

Alpha semantics: alpha = 0 returns the input unchanged; the mesh displacement is linear in alpha;
alpha = 1 is the recipe's apex expression and alpha > 1 extrapolates (with folds prevented).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..face.types import Face
from ..imageio import load_image
from . import landmarks as lm
from . import retouch
from .actions import AUParts, FieldBuilder, combine
from .base import (
    EDITORS,
    EditResult,
    ExpressionControl,
    FaceSelector,
    sweep_controls,
)
from .canonical import PLS_LICENCE, load_canonical, similarity_fit, visible_vertices
from .expression_table import EXPRESSION_TABLE, recipe

ALPHA_SEMANTICS = (
    "offline: alpha = 0 returns the input unchanged (no-op); the mesh displacement toward the "
    "target grows linearly with alpha; alpha = 1 is the recipe's apex expression; alpha > 1 "
    "extrapolates (triangle folds are prevented by shrinking the offending vertices' motion)."
)


#: Triangles smaller than (SLIVER x eye-corner distance)^2 may fold (a glitch that small is not
#: seen); larger ones are kept from folding.
SLIVER = 0.04

#: How much of the face outline's motion the halfway ring between the outline and the fixed
#: anchors follows.
FOLLOW = 0.5


class NoFaceError(ValueError):
    """No face was found, or the requested face index does not exist (one-line message)."""


def _analyze(image: np.ndarray) -> list[Face]:
    from ..face import analyze

    return analyze(image, parts=("detection", "mesh", "mask"))


@dataclass
class _Prepared:
    """Everything about one face in one image that does not depend on the control."""

    image: np.ndarray
    face: Face
    face_index: int | None
    scale: float
    rot: np.ndarray
    builder: FieldBuilder
    warp: Any
    colours: dict[str, np.ndarray]
    iod_px: float
    closed_mouth: tuple[tuple[int, int, int, int], np.ndarray, np.ndarray] | None  # see _closed_mouth
    follow_of: np.ndarray  # for each point of the halfway ring, the outline vertex it follows
    visible: np.ndarray  # indices of the mesh vertices the warp moves (those facing the camera)
    fields: dict[str, AUParts] = field(default_factory=dict)
    setup_s: float = 0.0

    def au_parts(self, au: str) -> AUParts:
        """The action unit's field on this face (computed once, then cached)."""
        if au not in self.fields:
            self.fields[au] = self.builder.au_parts(au)
        return self.fields[au]


@EDITORS.register(
    "offline",
    licence=f"Apache-2.0 (facebench); AU-to-mesh model: {PLS_LICENCE}; mesh: MediaPipe face mesh (Apache-2.0)",
    needs_gpu=False,
    description="FACS action units on the MediaPipe mesh, piecewise-affine warp and retouching; CPU, no downloads",
    alpha_semantics=ALPHA_SEMANTICS,
)
class OfflineEditor:
    """Mesh-driven expression editor that runs anywhere (see the module docstring).

    ``margin``: how far (fraction of the face size) beyond the face outline the warp may reach;
    ``alpha_max``: largest alpha accepted.
    """

    name = "offline"
    alpha_semantics = ALPHA_SEMANTICS

    def __init__(self, margin: float = 0.18, alpha_max: float = 3.0) -> None:
        self.margin = float(margin)
        self.alpha_max = float(alpha_max)

    # -- public API ------------------------------------------------------------------------------
    def edit(self, image: Any, control: ExpressionControl, *, face: FaceSelector = None) -> EditResult:
        """Edit one face (``None`` = the largest) toward ``control``."""
        prep = self.prepare(image, face)
        return self.render(prep, control)

    def sweep(self, image: Any, expression: "str | ExpressionControl", alphas: Sequence[float], *,
              face: FaceSelector = None) -> list[EditResult]:
        """One result per alpha; the face set-up is done once and reused."""
        controls = sweep_controls(expression, alphas, alpha_max=self.alpha_max)
        prep = self.prepare(image, face)
        return [self.render(prep, c) for c in controls]

    # -- the two stages ----------------------------------------------------------------------------
    def prepare(self, image: Any, face: FaceSelector = None) -> _Prepared:
        """Find the face (unless given) and compute everything the renders share."""
        t0 = time.perf_counter()
        img = load_image(image)
        face_obj, index = self._select(img, face)
        mesh = np.asarray(face_obj.mesh, np.float64)
        canon = load_canonical()
        rigid = list(lm.RIGID)
        s, r, t = similarity_fit(canon.mesh[rigid], mesh[rigid])
        own = ((mesh - t) @ r) / s  # the person's mesh in the canonical frame
        builder = FieldBuilder(own)
        from .warp import MeshWarp, anchor_ring

        xy = mesh[:468, :2]
        # the warp moves the vertices facing the camera, thinned so that no two nearly coincide
        # (a turned head hides some and crowds others); the rest follow the warp
        iod = float(np.linalg.norm(mesh[33, :2] - mesh[263, :2]))
        vis = _thin(xy, visible_vertices(xy), max(1.0, 0.012 * iod))
        # a fixed ring at the margin, and a ring halfway that follows the face outline a little,
        # so the motion fades out smoothly over the band between them
        anchors = anchor_ring(xy, lm.FACE_OVAL, self.margin)
        follow = anchor_ring(xy, lm.FACE_OVAL, self.margin * 0.5)
        oval = np.array(lm.FACE_OVAL)
        nearest = oval[np.argmin(np.linalg.norm(follow[:, None] - xy[oval][None], axis=2), axis=1)]
        pos = {int(v): k for k, v in enumerate(vis)}
        openings = tuple(tuple(pos[v] for v in g if v in pos) for g in (lm.LIPS_INNER, lm.EYE_R, lm.EYE_L))
        warp = MeshWarp(np.vstack([xy[vis], follow]), anchors, img.shape[:2], openings,
                        sliver=(SLIVER * iod) ** 2)
        prep = _Prepared(img, face_obj, index, s, r, builder, warp, _colours(img, mesh), iod,
                         _closed_mouth(img, mesh), nearest, vis)
        prep.setup_s = time.perf_counter() - t0
        return prep

    def render(self, prep: _Prepared, control: ExpressionControl) -> EditResult:
        """Apply one control to a prepared face (deterministic: same input, same pixels)."""
        if not isinstance(control, ExpressionControl):
            raise TypeError(f"control must be an ExpressionControl, got {type(control).__name__}")
        if max(a for _, a in control.weights) > self.alpha_max:
            raise ValueError(f"alpha in {control.label()} is above this editor's alpha_max {self.alpha_max:g}")
        t0 = time.perf_counter()
        info: dict[str, Any] = {
            "editor": self.name,
            "weights": control.as_dict(),
            "aus": {},
            "region": prep.warp.region,
            "margin": self.margin,
            "setup_s": prep.setup_s,
        }
        if control.is_identity:
            info.update(clamped_vertices=0, render_s=time.perf_counter() - t0)
            return EditResult(prep.image.copy(), control, prep.face_index, self.name, info)
        aus: dict[str, float] = {}
        for expr, alpha in control.weights:
            for au, w in recipe(expr).aus.items():
                aus[au] = aus.get(au, 0.0) + alpha * w
        info["aus"] = {k: round(v, 4) for k, v in sorted(aus.items())}
        disp_c, closure = combine([(w, prep.au_parts(au)) for au, w in sorted(aus.items()) if w])
        info["closure_scale"] = {k: round(v, 4) for k, v in closure.items()}
        disp = prep.scale * (disp_c @ prep.rot.T)[:, :2]  # canonical -> image pixels
        src = np.asarray(prep.face.mesh, np.float64)[:468, :2]
        target = _no_crossing(src + disp[:468], src)
        vis = prep.visible
        follow = prep.warp.points[len(vis):]
        moved_all, clamped = prep.warp.unfold(np.vstack([target[vis], follow + FOLLOW * disp[prep.follow_of]]))
        moved = prep.warp.forward(src, moved_all)  # every vertex, including those left out
        moved[vis] = moved_all[: len(vis)]
        source, closing = _close_mouth_source(prep, src, moved)
        info["mouth_closing"] = round(closing, 4)
        out = prep.warp.render(source, moved_all).astype(np.float32)
        self._retouch(prep, source, out, src, moved, control, aus)
        res = np.clip(np.round(out), 0, 255).astype(np.uint8)
        region = prep.warp.region
        res[~region] = prep.image[~region]
        info.update(clamped_vertices=clamped, render_s=time.perf_counter() - t0,
                    mesh_target=target, mesh_moved=moved)
        return EditResult(res, control, prep.face_index, self.name, info)

    # -- helpers -----------------------------------------------------------------------------------
    def _select(self, img: np.ndarray, face: FaceSelector) -> tuple[Face, int | None]:
        if isinstance(face, Face):
            if face.mesh is None:
                raise NoFaceError("the given Face has no mesh; analyze it with parts including 'mesh'")
            return face, None
        faces = _analyze(img)
        if not faces:
            raise NoFaceError("no face found in the image")
        idx = 0 if face is None else int(face)
        if not 0 <= idx < len(faces):
            raise NoFaceError(f"face index {idx} is out of range: {len(faces)} face(s) found (0..{len(faces) - 1})")
        f = faces[idx]
        if f.mesh is None:
            raise NoFaceError(f"face {idx} has no mesh (the landmark model found no mesh for it)")
        return f, idx

    def _retouch(self, prep: _Prepared, source: np.ndarray, out: np.ndarray, src: np.ndarray,
                 moved: np.ndarray, control: ExpressionControl, aus: dict[str, float]) -> None:
        col = prep.colours
        weights = control.as_dict()
        # mouth: the inner-lip polygon, upper lip first
        inner = list(lm.LIPS_INNER_UPPER) + list(lm.LIPS_INNER_LOWER[1:-1])
        n_up = len(lm.LIPS_INNER_UPPER)
        sp, dp = src[inner], moved[inner]
        a_src = retouch.polygon_area(sp)
        a_dst = retouch.polygon_area(dp)
        mouth_w = float(np.linalg.norm(src[61] - src[291]))
        src_open = a_src > 0.02 * mouth_w ** 2
        gate = 1.0 if src_open else float(np.clip((a_dst - a_src) / (0.01 * mouth_w ** 2), 0, 1))
        jaw_c = aus.get("AU26", 0.0) * prep.au_parts("AU26").free[list(lm.CHIN)].mean(0)
        d_jaw = prep.scale * (prep.rot @ jaw_c)[:2]
        if src_open or a_dst > a_src:
            layer = retouch.mouth_layer(source, sp, dp, n_up, d_jaw, prep.iod_px, col["mouth"],
                                        src_open=src_open, gate=gate)
            if layer is not None:
                retouch.composite(out, *layer)
        # eyes: the eyeball is not warped; lids cover it or uncover more of it
        for eye, corners, iris, ecol in ((lm.EYE_R, lm.EYE_R_CORNERS, lm.IRIS_R, col["eye_r"]),
                                         (lm.EYE_L, lm.EYE_L_CORNERS, lm.IRIS_L, col["eye_l"])):
            e = list(eye)
            if np.abs(moved[e] - src[e]).max() < 0.05:
                continue
            shift = (moved - src)[list(corners)].mean(0)
            mesh = prep.face.mesh
            centre = np.asarray(mesh[iris[0], :2], float)
            radius = float(np.linalg.norm(mesh[list(iris[1:]), :2] - centre, axis=1).mean())
            layer = retouch.eye_layer(prep.image, src[e], moved[e], shift, centre, radius, ecol)
            if layer is not None:
                retouch.composite(out, *layer)
        # colour: blush and under-eye shadows, proportional to alpha
        blush = sum(a * recipe(e).blush for e, a in weights.items())
        under = sum(a * recipe(e).under_eye for e, a in weights.items())
        iod = prep.iod_px
        roll = float(np.degrees(np.arctan2(*(src[263] - src[33])[::-1])))
        for cheek in (lm.CHEEK_R, lm.CHEEK_L):
            c = moved[list(cheek)].mean(0)
            retouch.tint(out, c, (0.24 * iod, 0.16 * iod), roll, np.array([1.06, 0.9, 0.92]), 0.55 * blush)
        for lower in (lm.EYE_R_LOWER, lm.EYE_L_LOWER):
            c = moved[list(lower)].mean(0) + np.array([0.0, 0.07 * iod])
            retouch.tint(out, c, (0.14 * iod, 0.045 * iod), roll, np.array([0.86, 0.82, 0.88]), 0.7 * under)


def _colours(img: np.ndarray, mesh: np.ndarray) -> dict[str, Any]:
    """Colours the retouching needs, read from the face itself (lit like the rest of the photo)."""
    import cv2

    h, w = img.shape[:2]
    f = img.astype(np.float32)

    def pixels_in(poly_idx: Sequence[int]) -> np.ndarray:
        m = np.zeros((h, w), np.uint8)
        cv2.fillPoly(m, [np.round(mesh[list(poly_idx), :2]).astype(np.int32)], 1)
        return f[m.astype(bool)]

    def median(px: np.ndarray, default: Sequence[float]) -> np.ndarray:
        return np.median(px, axis=0) if len(px) > 3 else np.asarray(default, np.float32)

    lips = median(pixels_in(lm.LIPS_OUTER), (150, 100, 95))
    skin = median(pixels_in((117, 118, 101, 36, 205, 187, 123)), (190, 150, 130))
    light = float(skin.mean())
    default_teeth = np.array([0.93, 0.9, 0.84]) * min(light * 1.05, 245.0)
    mouth_w = float(np.linalg.norm(mesh[61, :2] - mesh[291, :2]))
    inner = pixels_in(lm.LIPS_INNER)
    # teeth colour from the photo only when its mouth is open (a closed one shows only lips)
    teeth = _whitish(inner, light, default_teeth) if len(inner) > 0.02 * mouth_w ** 2 else default_teeth
    mouth = retouch.MouthColours(cavity=np.array([0.3, 0.17, 0.16]) * lips + 4.0, teeth=teeth,
                                 gum=lips * np.array([1.05, 0.85, 0.88]),
                                 tongue=lips * np.array([0.45, 0.28, 0.28]))
    eyes = {}
    for key, eye, iris in (("eye_r", lm.EYE_R, lm.IRIS_R), ("eye_l", lm.EYE_L, lm.IRIS_L)):
        c = mesh[iris[0], :2]
        r = float(np.linalg.norm(mesh[list(iris[1:]), :2] - c, axis=1).mean())
        iris_m = np.zeros((h, w), np.uint8)
        cv2.circle(iris_m, (int(round(c[0])), int(round(c[1]))), max(int(round(r)), 1), 1, -1)
        eye_m = np.zeros((h, w), np.uint8)
        cv2.fillPoly(eye_m, [np.round(mesh[list(eye), :2]).astype(np.int32)], 1)
        white_px = f[(eye_m > 0) & (iris_m == 0)]
        sclera = _whitish(white_px, light, np.array([0.86, 0.83, 0.8]) * min(light, 235.0))
        small = cv2.erode(iris_m, np.ones((3, 3), np.uint8)) if r > 3 else iris_m
        eyes[key] = retouch.EyeColours(sclera=sclera, iris=median(f[(small > 0) & (eye_m > 0)], (70, 50, 40)))
    return {"lips": lips, "skin": skin, "mouth": mouth, **eyes}


#: Facing pairs (upper, lower) of the openings: inner lips and the two eyes' lids.
_PAIRS = (
    (lm.LIPS_INNER_UPPER[1:-1], lm.LIPS_INNER_LOWER[1:-1][::-1], (78, 308)),
    (lm.EYE_R_UPPER, lm.EYE_R_LOWER, lm.EYE_R_CORNERS),
    (lm.EYE_L_UPPER, lm.EYE_L_LOWER, lm.EYE_L_CORNERS),
)


def _no_crossing(target: np.ndarray, src: np.ndarray) -> np.ndarray:
    """Lips and lids meet but never pass each other. In the frame of the opening (along the
    corner-to-corner line, and across it, so head roll does not matter), a lower-edge point that
    would end above the upper edge goes halfway back to it, then an upper-edge point that would
    end below the (corrected) lower edge is put on that."""
    out = target.copy()
    for upper, lower, corners in _PAIRS:
        u, lo = np.array(upper), np.array(lower)
        along = src[corners[1]] - src[corners[0]]
        norm = float(np.hypot(*along))
        if norm < 1e-9:
            continue
        t = along / norm
        n = np.array([-t[1], t[0]])
        if n[1] < 0:
            n = -n  # across the opening, pointing down the face
        ends = out[list(corners)]
        ua, un = np.r_[ends[:1] @ t, out[u] @ t, ends[1:] @ t], np.r_[ends[:1] @ n, out[u] @ n, ends[1:] @ n]
        la, ln = np.r_[ends[:1] @ t, out[lo] @ t, ends[1:] @ t], np.r_[ends[:1] @ n, out[lo] @ n, ends[1:] @ n]
        ou, ol = np.argsort(ua), np.argsort(la)
        up_at_lower = np.interp(la[1:-1], ua[ou], un[ou])
        meet = (ln[1:-1] + up_at_lower) / 2  # where the two edges meet: halfway
        fix = ln[1:-1] < up_at_lower
        out[lo[fix]] += np.outer(meet[fix] - ln[1:-1][fix], n)
        ln[1:-1] = np.where(fix, meet, ln[1:-1])
        low_at_upper = np.interp(ua[1:-1], la[ol], ln[ol])
        fix = un[1:-1] > low_at_upper
        out[u[fix]] -= np.outer(un[1:-1][fix] - low_at_upper[fix], n)
    return out


#: Vertices kept first when crowded ones are thinned out: the contours retouching relies on.
_ALWAYS = lm.LIPS_INNER + lm.LIPS_OUTER + lm.EYE_R + lm.EYE_L
_PRIORITY = _ALWAYS + lm.BROW_R + lm.BROW_L + lm.FACE_OVAL + lm.NOSE_TIP + lm.NOSE_BRIDGE


def _thin(xy: np.ndarray, candidates: np.ndarray, min_sep: float) -> np.ndarray:
    """Greedy subset of ``candidates`` with no two closer than ``min_sep`` pixels, contour
    vertices first (sorted indices)."""
    cand = set(int(i) for i in candidates)
    # the lips and lids are always kept: a closed mouth's upper and lower inner lips coincide,
    # and they must still be able to part
    kept = [i for i in dict.fromkeys(_ALWAYS) if i in cand]
    order = [i for i in dict.fromkeys(_PRIORITY) if i in cand] + sorted(cand - set(_PRIORITY))
    for i in order:
        if i in kept:
            continue
        if not kept or np.min(np.linalg.norm(xy[kept] - xy[i], axis=1)) >= min_sep:
            kept.append(i)
    return np.array(sorted(kept))


def _mouth_open_area(mesh: np.ndarray) -> tuple[float, float]:
    """(area of the inner-lip polygon, mouth width) in pixels."""
    from .retouch import polygon_area

    inner = list(lm.LIPS_INNER_UPPER) + list(lm.LIPS_INNER_LOWER[1:-1])
    return polygon_area(mesh[inner, :2]), float(np.linalg.norm(mesh[61, :2] - mesh[291, :2]))


def _closed_mouth(img: np.ndarray, mesh: np.ndarray):
    """For a photo with an open mouth: (box, inpainted crop, interior mask) -- the mouth's inside
    filled from the lips around it (OpenCV's Telea inpainting), what pressed-together lips show.
    None for a closed mouth."""
    import cv2

    area, width = _mouth_open_area(mesh)
    if area <= 0.02 * width ** 2:
        return None
    inner = mesh[list(lm.LIPS_INNER), :2]
    h, w = img.shape[:2]
    pad = int(0.25 * width) + 3
    x0, y0 = np.maximum(np.floor(inner.min(0)).astype(int) - pad, 0)
    x1, y1 = np.minimum(np.ceil(inner.max(0)).astype(int) + pad + 1, [w, h])
    crop = np.ascontiguousarray(img[y0:y1, x0:x1])
    mask = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(inner - [x0, y0]).astype(np.int32)], 1)
    mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))
    filled = cv2.inpaint(crop, mask, max(3.0, 0.05 * width), cv2.INPAINT_TELEA)
    soft = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 1.0)
    return (int(x0), int(y0), int(x1), int(y1)), filled.astype(np.float32), soft


def _close_mouth_source(prep: "_Prepared", src: np.ndarray, moved: np.ndarray) -> tuple[np.ndarray, float]:
    """The image the warp samples: the photo, except that when an open mouth is being closed its
    inside fades toward the inpainted lips in proportion to how much it closes (so pressed lips
    do not squeeze teeth or dark slivers between them). Returns (image, closing in [0, 1])."""
    if prep.closed_mouth is None:
        return prep.image, 0.0
    a_src, _ = _mouth_open_area(src)
    a_dst, _ = _mouth_open_area(moved)
    closing = float(np.clip(1.0 - a_dst / max(a_src, 1e-9), 0.0, 1.0))
    if closing <= 0:
        return prep.image, 0.0
    (x0, y0, x1, y1), filled, soft = prep.closed_mouth
    w = (soft * closing)[..., None]
    out = prep.image.copy()
    crop = out[y0:y1, x0:x1].astype(np.float32)
    out[y0:y1, x0:x1] = np.clip(np.round(crop * (1 - w) + filled * w), 0, 255).astype(np.uint8)
    return out, closing


def _whitish(px: np.ndarray, skin_light: float, default: np.ndarray) -> np.ndarray:
    """Median colour of the bright, unsaturated pixels among ``px`` (teeth, white of the eye), or
    ``default`` when there are too few of them to trust."""
    if len(px) >= 12:
        mx, mn = px.max(1), px.min(1)
        sat = (mx - mn) / np.maximum(mx, 1.0)
        lum = px.mean(1)
        ok = (sat < 0.32) & (lum > 0.55 * skin_light)
        if ok.sum() >= 6:
            sel = px[ok]
            top = sel[sel.mean(1) >= np.quantile(sel.mean(1), 0.5)]
            return np.median(top, axis=0)
    return np.asarray(default, np.float64)


def expressions_supported() -> tuple[str, ...]:
    """The expressions this editor has recipes for (all 12)."""
    return tuple(EXPRESSION_TABLE)
