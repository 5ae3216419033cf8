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

Alpha semantics (:data:`ALPHA_SEMANTICS`): alpha = 0 returns the input unchanged; the mesh
displacement is linear in alpha (``info["mesh_displacement"]``); alpha = 1 is the full expression
and alpha > 1 extrapolates, with lids and lips stopping where they meet, folds prevented, and the
jaw, lids, lip corners and brows approaching human limits past alpha 1.5 (:mod:`facebench.edit.limits`; the
scaled AUs are in ``info["capped_aus"]``, the capped motion in ``info["mesh_target"]``).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

from ..face.types import Face
from ..base.imageio import image_hash, load_image
from . import landmarks as lm
from . import retouch
from .actions import AUParts, FieldBuilder, combine
from .base import (
    EDITORS,
    EditResult,
    ExpressionControl,
    FaceSelector,
    NoFaceError,
    sweep_controls,
)
from .canonical import PLS_LICENCE, load_canonical, similarity_fit, visible_vertices
from .colours import face_colours
from .meshops import mouth_opening, no_crossing, soft_limit, thin
from .expression_table import EXPRESSION_TABLE, recipe
from .folds import fold_setup, shade as shade_folds
from .brows import ALPHA_START as BROW_ALPHA_START
from .brows import BrowCut, bare_mix, brow_layers, brow_weight, cut_brows
from .iris import eye_layer
from .aspect import aspect_field
from .limits import capped_field, oval_field, shape_weight, tint_strength
from .mouth import mouth_layer

ALPHA_SEMANTICS = (
    "offline: alpha = 0 returns the input unchanged (no-op); the mesh displacement toward the "
    "target grows linearly with alpha; alpha = 1 is the full expression (0.8 of the recipe's "
    "apex), alpha > 1 extrapolates. Lids and lips meet but never pass each other and a relaxed "
    "smile stops at the lips' level, so those motions saturate; triangle folds are prevented; "
    "past alpha 1.5 jaw opening, lid aperture, lip stretch, corner lift and brow raise approach "
    "measured human limits (facebench.edit.limits) instead of growing without bound."
)


#: Triangles smaller than (SLIVER x eye-corner distance)^2 may fold (a glitch that small is not
#: seen); larger ones are kept from folding.
SLIVER = 0.04

#: A mouth is open when its inner-lip polygon's area exceeds OPEN x its width squared.
OPEN = 0.02

#: How much of the face outline's motion the halfway ring between the outline and the fixed
#: anchors follows.
FOLLOW = 0.5

#: ...but never more than FOLLOW_CAP of its distance to the fixed ring, approached smoothly past
#: FOLLOW_KNEE of it (:func:`facebench.edit.meshops.soft_limit`): the band next to the fixed ring
#: is then compressed or stretched by at most that share at every alpha, so the displacement falls
#: off to zero at the warp's edge without a seam (tests/edit/test_seams.py, alpha 1 to 3).
FOLLOW_KNEE, FOLLOW_CAP = 0.15, 0.25


#: How many faces' set-ups (:meth:`OfflineEditor.prepare`) one editor keeps, most recent first:
#: a sweep, a studio session or a benchmark run edits the same source many times in a row.
SETUP_CACHE = 4


#: The modules whose code decides the offline editor's pixels.
_SOURCE_MODULES = ("actions", "aspect", "brows", "canonical", "colours", "expression_table", "folds", "iris", "kernels",
                   "landmarks", "limits", "meshops", "mouth", "offline", "retouch", "tears", "warp")


def source_version(paths: Sequence[Path] | None = None) -> str:
    """SHA-256 (first 16 hex digits) over the source files of the editor's modules, so caches
    keyed by the editor's fingerprint (:mod:`facebench.bench`) drop edits made by other code."""
    here = Path(__file__).parent
    files = paths if paths is not None else [here / f"{m}.py" for m in _SOURCE_MODULES]
    h = hashlib.sha256()
    for f in files:
        h.update(Path(f).name.encode() + b"\0" + Path(f).read_bytes())
    return h.hexdigest()[:16]


def _analyze(image: np.ndarray) -> list[Face]:
    from ..face import analyze

    return analyze(image, parts=("detection", "mesh", "mask"))


#: The inner-lip polygon, upper lip first (corner to corner), then the lower lip back.
_INNER = np.array(list(lm.LIPS_INNER_UPPER) + list(lm.LIPS_INNER_LOWER[1:-1]))
#: Per eye: its opening's points, its corners, its iris (centre, then rim points).
_EYES = tuple((np.array(eye), np.array(corners), iris, key) for eye, corners, iris, key in (
    (lm.EYE_R, lm.EYE_R_CORNERS, lm.IRIS_R, "eye_r"), (lm.EYE_L, lm.EYE_L_CORNERS, lm.IRIS_L, "eye_l")))
_CHEEKS = (np.array(lm.CHEEK_R), np.array(lm.CHEEK_L))
_UNDER_EYES = (np.array(lm.EYE_R_LOWER), np.array(lm.EYE_L_LOWER))


@dataclass(frozen=True)
class _RetouchSource:
    """The photo's mesh as the retouch stage reads it: the inner-lip polygon ``sp`` and its area,
    the lip-corner distance ``mouth_w``, whether the mouth is open, each eye's opening, iris
    centre and radius, and the head's roll (degrees)."""

    sp: np.ndarray
    a_src: float
    mouth_w: float
    src_open: bool
    eyes: tuple[tuple[np.ndarray, np.ndarray, float], ...]
    roll: float

    @classmethod
    def of(cls, mesh: Any) -> "_RetouchSource":
        """From a face's mesh (its 468 points' x, y are the ``src`` of a render)."""
        full = np.asarray(mesh, np.float64)
        src = full[:468, :2]
        sp = src[_INNER]
        a_src = retouch.polygon_area(sp)
        mouth_w = float(np.linalg.norm(src[61] - src[291]))
        eyes = []
        for eye, _, iris, _ in _EYES:
            centre = np.asarray(mesh[iris[0], :2], float)
            radius = float(np.linalg.norm(mesh[list(iris[1:]), :2] - centre, axis=1).mean())
            eyes.append((src[eye], centre, radius))
        roll = float(np.degrees(np.arctan2(*(src[263] - src[33])[::-1])))
        for a in [sp] + [x for eye in eyes for x in eye[:2]]:
            a.flags.writeable = False  # shared by every render of this set-up
        return cls(sp, a_src, mouth_w, a_src > OPEN * mouth_w ** 2, tuple(eyes), roll)


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
    mouth_open: bool  # the photo's mouth is open (its inside is filled in when needed: closed_mouth)
    follow_of: np.ndarray  # for each point of the halfway ring, the outline vertex it follows
    visible: np.ndarray  # indices of the mesh vertices the warp moves (those facing the camera)
    fields: dict[str, AUParts] = field(default_factory=dict)
    setup_s: float = 0.0

    @cached_property
    def closed_mouth(self) -> retouch.ClosedMouth | None:
        """The open mouth's inside filled in (None if the mouth is closed): made the first time
        an edit presses the mouth shut."""
        return _fill_mouth(self.image, np.asarray(self.face.mesh, np.float64)) if self.mouth_open else None

    @cached_property
    def brows(self) -> BrowCut | None:
        """The photo with its brows filled in, and their regions: made the first time brows
        become layers (past alpha 1.5, :func:`facebench.edit.brows.brow_weight`)."""
        return cut_brows(self.image, np.asarray(self.face.mesh, np.float64), self.iod_px)

    @cached_property
    def folds(self) -> Any:
        """The skin folds' per-source set-up (:func:`facebench.edit.folds.fold_setup`; None without a
        face mask): made the first time a render shades folds."""
        mask = self.face.mask
        return fold_setup(self.image, mask, self.iod_px) if mask is not None else None

    @cached_property
    def follow_room(self) -> np.ndarray:
        """Each point of the halfway ring's distance (pixels) to the fixed ring of anchors: how far
        it may follow the face outline (the room of :func:`facebench.edit.meshops.soft_limit`)."""
        ring = self.warp.anchors.astype(np.float32).reshape(-1, 1, 2)
        follow = self.warp.points[len(self.visible):]
        return np.array([abs(cv2.pointPolygonTest(ring, (float(x), float(y)), True)) for x, y in follow])

    @cached_property
    def retouch_source(self) -> "_RetouchSource":
        """What the retouch stage reads from the photo's own mesh (computed once per set-up)."""
        return _RetouchSource.of(self.face.mesh)

    @cached_property
    def image_f32(self) -> np.ndarray:
        """The photo as float32 (read-only), converted once for every render's eye and mouth layers."""
        out = self.image.astype(np.float32)
        out.flags.writeable = False
        return out

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
        self._setups: OrderedDict[tuple, _Prepared] = OrderedDict()
        self._setups_lock = threading.Lock()

    @cached_property
    def version(self) -> str:
        """Identifies the editor's code (:func:`source_version`): part of its cache fingerprint."""
        return source_version()

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
        """Find the face (unless given) and compute everything the renders share. The last
        :data:`SETUP_CACHE` set-ups are kept, keyed by the pixels' content hash and the face
        asked for, so editing a source again (a sweep, one alpha after another) reuses them."""
        t0 = time.perf_counter()
        img = load_image(image)
        key = (image_hash(img), _face_key(face))
        with self._setups_lock:
            cached = self._setups.get(key)
            if cached is not None:
                self._setups.move_to_end(key)
                return cached
        img = img.copy()  # kept with the set-up: the caller's array may change later
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
        vis = thin(xy, visible_vertices(xy), max(1.0, 0.012 * iod))
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
        area, width = mouth_opening(mesh)
        prep = _Prepared(img, face_obj, index, s, r, builder, warp, face_colours(img, mesh), iod,
                         area > OPEN * width ** 2, nearest, vis)
        prep.setup_s = time.perf_counter() - t0
        with self._setups_lock:
            self._setups[key] = prep
            while len(self._setups) > SETUP_CACHE:
                self._setups.popitem(last=False)
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
        missing = [au for au, w in sorted(aus.items()) if w and au not in prep.fields]
        if missing:  # their opening-crossing questions answered in one go
            prep.builder.prefetch(missing)
        disp_c, closure = combine([(w, prep.au_parts(au)) for au, w in sorted(aus.items()) if w])
        info["closure_scale"] = {k: round(v, 4) for k, v in closure.items()}
        disp = prep.scale * (disp_c @ prep.rot.T)[:, :2]  # canonical -> image pixels
        # past alpha 1.5 the anatomical caps (facebench.edit.limits) scale the AUs that would carry
        # the jaw, lids, lip corners or brows beyond human ranges
        alpha = max(a for _, a in control.weights)
        capped_c, _, info["capped_aus"] = capped_field(prep.builder.mesh, aus, prep.au_parts, alpha)
        w_shape = shape_weight(alpha)  # past 1.5 a wide-open mouth's shape is corrected:
        if w_shape > 0:
            # ... it stops narrowing (facebench.edit.aspect)
            w26 = aus.get("AU26", 0.0) * info["capped_aus"].get("AU26", 1.0)
            jaw = w26 * prep.au_parts("AU26").free if w26 else None
            capped_c = capped_c + aspect_field(prep.builder, capped_c, jaw, w_shape)
        # a wide-open mouth is an oval, not a box (facebench.edit.limits.oval_field): past 1.5 any
        # mouth; at every alpha one the photo had closed, whose whole opening the fields make (an
        # open photo's lips keep its own opening's shape up to 1.5)
        w_oval = w_shape if prep.mouth_open else 1.0
        if w_oval > 0:
            capped_c = capped_c + oval_field(prep.builder, capped_c, w_oval)
        info["mouth_shape"], info["mouth_oval"] = round(w_shape, 4), round(w_oval, 4)
        moved_by = prep.scale * (capped_c @ prep.rot.T)[:, :2] if info["capped_aus"] or w_oval > 0 else disp
        src = np.asarray(prep.face.mesh, np.float64)[:468, :2]
        target = no_crossing(src + moved_by[:468], src)
        vis = prep.visible
        follow = prep.warp.points[len(vis):]
        follow_by = soft_limit(FOLLOW * moved_by[prep.follow_of], prep.follow_room, FOLLOW_KNEE, FOLLOW_CAP)
        moved_all, clamped = prep.warp.unfold(np.vstack([target[vis], follow + follow_by]))
        moved = prep.warp.forward(src, moved_all)  # every vertex, including those left out
        moved[vis] = moved_all[: len(vis)]
        # brows that move are layers over skin filled in where they were (facebench.edit.brows);
        # pressing an open mouth shut: the warp samples its inside faded toward closed lips
        brow_w = brow_weight(src, moved, alpha) if alpha > BROW_ALPHA_START else 0.0  # 0 up to there
        if brow_w > 0 and prep.brows is None:
            brow_w = 0.0
        source, closing = (bare_mix(prep.image, prep.brows, brow_w) if brow_w > 0 else prep.image), 0.0
        if prep.mouth_open:
            closing = float(np.clip(1.0 - mouth_opening(moved)[0] / max(mouth_opening(src)[0], 1e-9), 0.0, 1.0))
            if closing > 0:
                source = retouch.fade_to_closed(source, prep.closed_mouth, closing)
        info["mouth_closing"] = round(closing, 4)
        info["brow_layer"] = round(brow_w, 4)
        # lips pressed together where the photo's mouth was open: their line is softened where the
        # warp tears with a hard step (the upper lip's rim sampled next to the lower lip's,
        # facebench.edit.tears)
        meet = float(np.clip((closing - LIPS_MEET[0]) / (LIPS_MEET[1] - LIPS_MEET[0]), 0.0, 1.0))
        seams_in = _lips_box(moved, prep.iod_px) if meet > 0 else None
        out = prep.warp.render_canvas(source, moved_all, seams_in, meet)  # float32, only the ROI filled
        info["lips_meet"] = round(meet, 4)
        if brow_w > 0:
            for brow in brow_layers(prep.image, prep.brows, src, moved, brow_w):
                retouch.composite(out, *brow)
        acting = {au: w * info["capped_aus"].get(au, 1.0) for au, w in aus.items()}
        self._retouch(prep, source, out, src, moved, control, acting)
        info["folds"] = shade_folds(out, prep.image, prep.face.mask, moved, acting, prep.iod_px, own=prep.builder.mesh,
                                    setup=prep.folds)
        res = prep.warp.finish(prep.image, out)  # outside the region: the input, bit for bit
        info.update(clamped_vertices=clamped, render_s=time.perf_counter() - t0,
                    mesh_displacement=disp[:468], mesh_target=target, mesh_moved=moved,
                    warp_points=moved_all)
        return EditResult(res, control, prep.face_index, self.name, info)

    # -- helpers -----------------------------------------------------------------------------------
    def _select(self, img: np.ndarray, face: FaceSelector) -> tuple[Face, int | None]:
        if isinstance(face, Face):
            if face.mesh is None:
                raise NoFaceError("the given Face", "has no mesh; analyze it with parts including 'mesh'")
            return face, None
        faces = _analyze(img)
        if not faces:
            raise NoFaceError("image")
        idx = 0 if face is None else int(face)
        if not 0 <= idx < len(faces):
            raise NoFaceError(f"face index {idx}", f"out of range: {len(faces)} face(s) found (0..{len(faces) - 1})")
        f = faces[idx]
        if f.mesh is None:
            raise NoFaceError(f"face {idx}", "has no mesh (the landmark model found no mesh for it)")
        return f, idx

    def _retouch(self, prep: _Prepared, source: np.ndarray, out: np.ndarray, src: np.ndarray,
                 moved: np.ndarray, control: ExpressionControl, aus: dict[str, float]) -> None:
        col = prep.colours
        weights = control.as_dict()
        rs = prep.retouch_source  # the photo's side, computed once per set-up
        # mouth: the inner-lip polygon, upper lip first
        n_up = len(lm.LIPS_INNER_UPPER)
        sp, dp = rs.sp, moved[_INNER]
        a_src = rs.a_src
        a_dst = retouch.polygon_area(dp)
        mouth_w = rs.mouth_w
        src_open = rs.src_open
        # a parting mouth fades in; the inside of an open mouth that presses shut fades out as
        # the warp's source fades to closed lips (else its dark corners would stay as slivers)
        closing = float(np.clip(1.0 - a_dst / max(a_src, 1e-9), 0.0, 1.0))
        gate = 1.0 - closing if src_open else float(np.clip((a_dst - a_src) / (0.01 * mouth_w ** 2), 0, 1))
        w_jaw = aus.get("AU26", 0.0)  # the jaw's field is built only for controls that move it
        jaw_c = w_jaw * prep.au_parts("AU26").free[list(lm.CHIN)].mean(0) if w_jaw else np.zeros(3)
        d_jaw = prep.scale * (prep.rot @ jaw_c)[:2]
        if src_open or a_dst > a_src:
            photo = prep.image_f32 if source is prep.image else source  # converted once per set-up
            edit = retouch.MouthEdit(photo, sp, dp, n_up, d_jaw, col["mouth"], src_open, gate)
            layer = mouth_layer(edit, mouth_w, col["lips"], iod=prep.iod_px,
                                strength=max(a for _, a in control.weights))
            if layer is not None:
                retouch.composite(out, layer.box, layer.layer, layer.alpha)
        # eyes: the eyeball is not warped; lids cover it or uncover more of it
        for (e, corners, _, key), (src_e, centre, radius) in zip(_EYES, rs.eyes):
            moved_e = moved[e]
            if np.abs(moved_e - src_e).max() < 0.05:
                continue
            shift = (moved[corners] - src[corners]).mean(0)
            layer = eye_layer(prep.image_f32, src_e, moved_e, shift, centre, radius, col[key])
            if layer is not None:
                retouch.composite(out, *layer)
        # colour: blush and under-eye shadows, proportional to alpha
        blush = sum(tint_strength(a) * recipe(e).blush for e, a in weights.items())
        under = sum(tint_strength(a) * recipe(e).under_eye for e, a in weights.items())
        iod = prep.iod_px
        roll = rs.roll
        for cheek in _CHEEKS:
            c = moved[cheek].mean(0)
            retouch.tint(out, c, (0.3 * iod, 0.2 * iod), roll, np.array([1.05, 0.91, 0.93]), 0.45 * blush)
        for lower in _UNDER_EYES:
            c = moved[lower].mean(0) + np.array([0.0, 0.07 * iod])
            retouch.tint(out, c, (0.14 * iod, 0.045 * iod), roll, np.array([0.86, 0.82, 0.88]), 0.7 * under)


def _fill_mouth(image: np.ndarray, mesh: np.ndarray) -> retouch.ClosedMouth:
    """The inside of an open mouth filled in (:func:`facebench.edit.retouch.inpaint_mouth`), out
    to the outer lip corners (the shadow of a wide smile reaches past the inner-lip corners)."""
    inside = [61] + list(lm.LIPS_INNER[:11]) + [291] + list(lm.LIPS_INNER[11:]) + [78]
    return retouch.inpaint_mouth(image, mesh[inside, :2], mouth_opening(mesh)[1])


#: How far around the moved lips (a share of the eye-corner distance) their seam is looked for.
LIPS_PAD = 0.05

#: The lips meet along a seam once an open mouth has closed by this much (the share of its
#: opening's area gone: ``closing``), softened from the first value, fully from the second. A mouth
#: that closes a little (disgust's 0.1-0.2 on the smiles) keeps its opening: its tears are squeezed
#: corners, not the lips' line, and softening them reorders feat_happy's disgust plateau
#: (p 0.737 / 0.740 / 0.736 at alpha 1 / 1.25 / 1.5; tests/edit/test_classifier_response.py).
LIPS_MEET = (0.5, 0.7)


def _lips_box(moved: np.ndarray, iod: float) -> tuple[int, int, int, int]:
    """The moved outer lips' bounding box (x0, y0, x1, y1, exclusive), padded by ``LIPS_PAD`` x ``iod``."""
    lips = moved[list(lm.LIPS_OUTER)]
    pad = LIPS_PAD * iod
    x0, y0 = np.floor(lips.min(0) - pad).astype(int)
    x1, y1 = np.ceil(lips.max(0) + pad).astype(int) + 1
    return int(x0), int(y0), int(x1), int(y1)


def _face_key(face: FaceSelector) -> Any:
    """A hashable stand-in for a face selector: None, the index, or a given face's mesh and box."""
    if isinstance(face, Face):
        mesh = np.ascontiguousarray(face.mesh if face.mesh is not None else np.zeros(0))
        return ("face", hashlib.sha256(mesh.tobytes()).hexdigest(), tuple(np.asarray(face.box, float).tolist()))
    return None if face is None else int(face)


def expressions_supported() -> tuple[str, ...]:
    """The expressions this editor has recipes for (all 12)."""
    return tuple(EXPRESSION_TABLE)
