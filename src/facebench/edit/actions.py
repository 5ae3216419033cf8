"""Action units (FACS) as mesh displacement fields in the canonical frame.

Each action unit is a few *handles*: a group of mesh vertices that moves by a given vector
(:class:`Handle`), with the motion spreading to nearby vertices (inverse-distance interpolation
under a Gaussian falloff) that does not cross the eye or mouth openings, so an upper lid never
drags the lower lid, nor the jaw the upper lip. Eyelid and lip-closing motions are fractions of
the person's own opening (:class:`Aperture`), so a lid never passes the other lid and pressed
lips meet whatever the photo's mouth was doing; the jaw drops as one piece (:class:`Jaw`); a smile
the photo already shows can be relaxed (:class:`Level`, pseudo-unit ``R12``).

Units: canonical frame of :mod:`facebench.edit.canonical` (1 = distance between the outer eye
corners, about 63 mm on an adult; y down); a vector is ``(out, up, forward)`` for the subject's
*right* half and is mirrored for the left half. Intensity 1 is a strong, apex (FACS "E"-level)
activation. Directions follow the FACS appearance changes (Ekman, Friesen & Hager 2002, *Facial
Action Coding System*); magnitudes started from py-feat's linear AU-to-mesh model
(``au_to_mesh_pls_v4``, rigid motion removed), read at each handle's vertices where that model is
local (AU1, AU2, AU4, AU12, AU26: ``python -m facebench.edit.actions`` prints the comparison), and
were scaled up (about 1.5-2x) until the shipped expression classifiers and a person looking at
the contact sheets both saw the apex expression at alpha = 1. Handles with ``move="pls"`` use
py-feat's field itself on their vertices.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Union

import numpy as np

from . import landmarks as lm
from .canonical import load_canonical

Vec = tuple[float, float, float]


@dataclass(frozen=True)
class Handle:
    """Vertices ``group`` move by ``move`` (out, up, forward) per unit of intensity, or by
    py-feat's field when ``move == "pls"``; neighbours follow with a Gaussian of ``radius``."""

    group: tuple[int, ...]
    move: Union[Vec, str]
    radius: float
    side: str = "both"  # "both", or only the subject's "right" / "left" half
    pin: tuple[int, ...] = ()  # vertices held still, so the motion fades out toward them
    taper: float = 0.0  # motion falls off across the mouth: (1 - taper) of it at the corners


@dataclass(frozen=True)
class Aperture:
    """One edge of an opening moving by ``fraction`` of the person's own opening per unit of
    intensity (positive closes, negative opens).

    ``opening``: ``"eyes"`` (edges ``"upper"``/``"lower"`` lid) or ``"mouth"`` (upper/lower inner
    lip). The skin beyond the edge follows within ``radius``; the corners stay pinned."""

    opening: str
    edge: str
    fraction: float
    radius: float = 0.12
    side: str = "both"


@dataclass(frozen=True)
class Jaw:
    """The mandible opening: everything below the line through the mouth corners (plus
    ``group``) moves down by ``drop`` per unit, in one piece across the chin and fading out
    toward the jaw joints between canonical ``|x| = fade[0]`` and ``fade[1]``. A rigid drop
    rather than a rotation: on a turned head a rotation's depth-dependent motion shears crowded
    vertices past each other. The lower lip's motion falls to ``1 - taper`` at the corners, the
    ``pin`` vertices (the upper lip) stay, the cheeks follow within ``radius``."""

    group: tuple[int, ...]
    drop: float
    radius: float = 0.2
    taper: float = 0.0
    pin: tuple[int, ...] = ()
    fade: tuple[float, float] = (0.3, 0.75)


@dataclass(frozen=True)
class Level:
    """Undo part of an existing raise: the ``group`` vertices that sit above the mean height of
    ``reference`` move down toward it by ``fraction`` of the difference per unit (canonical y,
    so head roll does not matter). On a face that shows no raise it does nothing. Used to relax
    a smile's lip corners back to the level of the lips' centre."""

    group: tuple[int, ...]
    reference: tuple[int, ...]
    fraction: float
    radius: float = 0.15
    side: str = "both"
    inward: bool = False  # also bring the group back in toward the neutral mouth's width


@dataclass(frozen=True)
class Relax:
    """Undo part of a widened opening: the ``edge`` of the eyes moves to close by ``fraction``
    of how much wider the person's opening is than the neutral face's, pair by pair of lid
    points (canonical frame). On eyes no wider than neutral it does nothing. Used to relax
    raised upper lids (AU5) a photo already shows."""

    edge: str
    fraction: float
    radius: float = 0.1


AnyHandle = Union[Handle, Aperture, Jaw, Level, Relax]

_LIP_UPPER = lm.LIPS_OUTER_UPPER[1:-1] + lm.LIPS_INNER_UPPER[1:-1]
_LIP_LOWER = lm.LIPS_OUTER_LOWER[1:-1] + lm.LIPS_INNER_LOWER[1:-1]
_CORNERS = lm.MOUTH_CORNERS
_BROW_INNER = lm.BROW_R_INNER + lm.BROW_L_INNER
_BROW_OUTER = lm.BROW_R_OUTER + lm.BROW_L_OUTER
_BROW_MID = (105, 52, 334, 282)
_CHEEKS = lm.CHEEK_R + lm.CHEEK_L
_JAW = lm.CHIN + (176, 400, 149, 378, 150, 379, 136, 365, 172, 397, 58, 288, 171, 396, 140, 369,
                  32, 262, 208, 428, 199, 200, 18)
_NOSE_WINGS = lm.NOSE_WINGS
_NASOLABIAL = (206, 426, 203, 423, 36, 266, 142, 371, 92, 322, 165, 391)
_GLABELLA = (9, 8, 168, 107, 336, 55, 285)
_LIP_CENTRE = (0, 13, 14, 17)
_LID_MARGINS = (33, 133, 263, 362) + lm.EYE_R_UPPER + lm.EYE_L_UPPER + lm.EYE_R_LOWER + lm.EYE_L_LOWER
_FOREHEAD_MEDIAL = (108, 151, 337, 69, 299, 9, 107, 336)
_FOREHEAD_LATERAL = (68, 104, 333, 298, 54, 284, 103, 332)
# the skin between brow and upper lid (the brow fat pad), which a raised brow carries along
_SUBBROW_INNER = (221, 222, 441, 442)
_SUBBROW_OUTER = (223, 224, 443, 444)
# between the brow heads and the nose root: the medial brow hair sits here on many faces
_BROW_HEAD_MEDIAL = (193, 417, 8)
# inner-lip points next to the corners (lower: 95, 88 | 324, 318; upper: 191 | 415)
_LIP_INNER_LOWER_LATERAL = (95, 88, 324, 318)
_LIP_INNER_UPPER_LATERAL = (191, 415)
_LIP_MIDDLE = (13, 14)  # inner lips' centre, upper and lower
_OUTER_CORNERS = (61, 291)
_CHIN_BOSS = (152, 175, 199, 200, 18, 148, 377, 171, 396)

#: The action-unit catalogue: AU name -> handles. Unilateral variants are made by the expression
#: table with a side suffix (``"AU12R"``).
ACTION_UNITS: dict[str, tuple[AnyHandle, ...]] = {
    # AU1 inner brow raiser (frontalis, pars medialis): inner brows up, medial forehead follows.
    "AU1": (Handle(_BROW_INNER, (0.006, 0.08, 0.0), 0.22, pin=_LID_MARGINS),
            Handle(_SUBBROW_INNER, (0.0, 0.07, 0.0), 0.1, pin=_LID_MARGINS),
            Handle(_BROW_HEAD_MEDIAL, (0.0, 0.04, 0.0), 0.08, pin=_LID_MARGINS),
            Handle(_FOREHEAD_MEDIAL, (0.0, 0.05, 0.0), 0.2, pin=_LID_MARGINS)),
    # AU2 outer brow raiser (frontalis, pars lateralis): outer brows up (and out a little).
    "AU2": (Handle(_BROW_OUTER, (0.01, 0.08, 0.0), 0.22, pin=_LID_MARGINS),
            Handle(_BROW_MID, (0.005, 0.05, 0.0), 0.15, pin=_LID_MARGINS),
            Handle(_SUBBROW_OUTER, (0.0, 0.07, 0.0), 0.1, pin=_LID_MARGINS),
            Handle(_FOREHEAD_LATERAL, (0.0, 0.05, 0.0), 0.2, pin=_LID_MARGINS)),
    # AU4 brow lowerer (corrugator, procerus, depressor supercilii): brows down and together.
    "AU4": (Handle(_BROW_INNER, (-0.04, -0.07, 0.0), 0.2, pin=_LID_MARGINS),
            Handle(_BROW_MID + _BROW_OUTER, (-0.015, -0.04, 0.0), 0.18, pin=_LID_MARGINS),
            Handle((9, 8), (0.0, -0.03, 0.0), 0.1)),
    # AU5 upper lid raiser (levator palpebrae superioris): more of the eye shows.
    "AU5": (Aperture("eyes", "upper", -0.45, 0.12),),
    # AU6 cheek raiser (orbicularis oculi, pars orbitalis): cheeks up, lower lid bagged up.
    "AU6": (Handle(_CHEEKS, (0.008, 0.05, -0.01), 0.2),
            Aperture("eyes", "lower", 0.25, 0.1)),
    # AU7 lid tightener (orbicularis oculi, pars palpebralis): lids narrow, mostly the lower one.
    "AU7": (Aperture("eyes", "lower", 0.35, 0.08), Aperture("eyes", "upper", 0.15, 0.08)),
    # AU9 nose wrinkler (levator labii superioris alaeque nasi): nose wings and upper lip up,
    # brows pulled down by the skin over the nose.
    "AU9": (Handle(_NOSE_WINGS, (0.012, 0.06, 0.0), 0.12),
            Handle(_LIP_UPPER, (0.0, 0.045, 0.0), 0.1, taper=0.6),
            Handle(_GLABELLA, (-0.01, -0.045, 0.0), 0.12, pin=_LID_MARGINS)),
    # AU10 upper lip raiser: the upper lip's centre rises (teeth may show).
    "AU10": (Handle(_LIP_UPPER, (0.0, 0.07, -0.01), 0.1, taper=0.7),
             Handle(_NASOLABIAL, (0.0, 0.03, 0.0), 0.1)),
    # AU12 lip corner puller (zygomaticus major): corners up and out along the cheekbone.
    "AU12": (Handle(_CORNERS, (0.05, 0.09, 0.0), 0.2, pin=_LIP_CENTRE),),
    # AU14 dimpler (buccinator): corners tightened inward-back and a little up.
    "AU14": (Handle(_CORNERS, (-0.02, 0.02, 0.03), 0.12),),
    # AU15 lip corner depressor (depressor anguli oris): corners pulled down.
    "AU15": (Handle(_CORNERS, (0.01, -0.08, 0.0), 0.2, pin=_LIP_CENTRE),),
    # AU16 lower lip depressor: the lower lip pulled down (lower teeth may show).
    "AU16": (Handle(_LIP_LOWER, (0.0, -0.06, 0.0), 0.1, taper=0.6),),
    # AU17 chin raiser (mentalis): chin boss and lower lip pushed up.
    "AU17": (Handle(_CHIN_BOSS, (0.0, 0.06, 0.0), 0.15),
             Handle(lm.LIPS_OUTER_LOWER[2:-2], (0.0, 0.05, -0.01), 0.08, taper=0.5)),
    # AU20 lip stretcher (risorius): corners pulled sideways, lips flattened.
    "AU20": (Handle(_CORNERS, (0.08, -0.015, 0.0), 0.22),),
    # AU23 lip tightener: the red of the lips narrows, the mouth gets a little smaller.
    "AU23": (Handle(lm.LIPS_OUTER_UPPER[2:-2], (0.0, -0.03, 0.0), 0.05, taper=0.5),
             Handle(lm.LIPS_OUTER_LOWER[2:-2], (0.0, 0.035, 0.0), 0.05, taper=0.5),
             Handle(_CORNERS, (-0.03, 0.0, 0.0), 0.1)),
    # AU24 lip presser: lips pressed together -- an open mouth closes, the lips flatten.
    "AU24": (Aperture("mouth", "upper", 0.55, 0.1), Aperture("mouth", "lower", 0.45, 0.1),
             Handle(_LIP_UPPER, (0.0, -0.02, 0.0), 0.08, taper=0.5),
             Handle(_LIP_LOWER, (0.0, 0.015, 0.0), 0.08, taper=0.5)),
    # AU25 lips part: a small opening without jaw motion.
    "AU25": (Handle(lm.LIPS_INNER_UPPER[1:-1], (0.0, 0.02, 0.0), 0.06, taper=0.6),
             Handle(lm.LIPS_INNER_LOWER[1:-1], (0.0, -0.05, 0.0), 0.08, taper=0.6)),
    # AU26 jaw drop: the mandible opens (0.22 of the eye-corner distance at the chin at 1),
    # carrying the lower lip; the lip's corners come down less and a little inward: an oval.
    "AU26": (Jaw(_JAW + _LIP_LOWER + _CORNERS, 0.22, 0.25, taper=0.55, pin=_LIP_UPPER),
             Handle(_CORNERS, (-0.05, 0.0, 0.0), 0.08),
             # the lips stay closer together next to the corners: an oval, not a box
             Handle(_LIP_INNER_LOWER_LATERAL, (0.0, 0.06, 0.0), 0.04),
             Handle(_LIP_INNER_UPPER_LATERAL, (0.0, -0.025, 0.0), 0.04)),
    # Not a FACS unit: relaxing a smile (AU12) the photo already shows -- the lip corners come
    # back toward the height of the lips' centre and in toward the neutral mouth's width
    # (nothing happens on a face that is not smiling).
    "R12": (Level(_CORNERS, (13, 14), 1.0, 0.15, inward=True),),
    # Not a FACS unit: relaxing the lower lids that a smile's cheek raise (AU6) or a lid
    # tightener (AU7) pushed up -- they come down a fraction of the eye's own opening.
    "R6": (Aperture("eyes", "lower", -0.25, 0.1),),
    # Not a FACS unit: relaxing upper lids that a photo shows raised (AU5) back toward the
    # neutral face's opening.
    "R5": (Relax("upper", 1.0),),
    # AU43 eyes closed / AU41 lid droop: the upper lid descends over the eye.
    "AU43": (Aperture("eyes", "upper", 0.9, 0.14),),
}


# ---------------------------------------------------------------------------------------------
# Turning handles into per-vertex fields


_EPS = 0.02  # distance (canonical units) below which members count as "here" in the interpolation


def _barriers(mesh: np.ndarray) -> np.ndarray:
    """Segments (K, 2, 2) along the middle of the mouth and eye openings: falloff does not cross them."""
    segs = []
    for upper, lower in ((lm.LIPS_INNER_UPPER, lm.LIPS_INNER_LOWER[::-1]),
                         ((33,) + lm.EYE_R_UPPER + (133,), (33,) + lm.EYE_R_LOWER + (133,)),
                         ((263,) + lm.EYE_L_UPPER + (362,), (263,) + lm.EYE_L_LOWER + (362,))):
        u = mesh[list(upper), :2]
        lo = mesh[list(lower), :2]
        # resample both lids/lips to the same count along x and take the midline
        t = np.linspace(0, 1, 16)
        mu = _resample(u, t)
        ml = _resample(lo, t)
        mid = (mu + ml) / 2
        segs.extend(np.stack([mid[:-1], mid[1:]], axis=1))
    return np.asarray(segs)


#: The least gap (canonical units) between the upper and lower inner lip, pair by pair, that the
#: opening-crossing test of a :class:`FieldBuilder` sees (:func:`lip_sided`).
LIP_SIDE = 0.04


def lip_sided(pts: np.ndarray) -> np.ndarray:
    """The points a lip-sided opening-crossing test uses: ``pts`` (N, 2) with each facing pair of
    inner-lip vertices (upper, lower) moved apart -- the upper up, the lower down (y down), by half
    of ``max(LIP_SIDE - gap, 0)`` each -- so that no pair is closer than :data:`LIP_SIDE`. On
    pressed or pouting lips the mouth's midline runs through the inner-lip vertices themselves,
    and whether a path reaches one of them is decided by sub-pixel noise: the parting lower lip
    drags some upper-lip vertices down and not their neighbours, a raised upper lip lifts some
    lower-lip vertices with it -- a wavy lip line, and an opening with steps beside the corners
    (issue 19: on feat_anger at alpha 1, angry's lower lip stayed at the corners' height for a
    third of the mouth's width and then dropped straight down)."""
    out = np.array(pts, dtype=float, copy=True)
    up = list(lm.LIPS_INNER_UPPER[1:-1])
    lo = list(lm.LIPS_INNER_LOWER[1:-1])[::-1]  # the lower lip from the same corner as the upper
    need = np.maximum(LIP_SIDE - (out[lo, 1] - out[up, 1]), 0.0) / 2
    out[up, 1] -= need
    out[lo, 1] += need
    return out


def _resample(poly: np.ndarray, t: np.ndarray) -> np.ndarray:
    seg = np.linalg.norm(np.diff(poly, axis=0), axis=1)
    s = np.concatenate([[0], np.cumsum(seg)])
    s = s / max(s[-1], 1e-12)
    return np.stack([np.interp(t, s, poly[:, 0]), np.interp(t, s, poly[:, 1])], axis=1)


def _orient(u: np.ndarray, v: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Sign-carrying ``cross(v - u, w - u)`` (broadcasting over leading axes)."""
    return (v[..., 0] - u[..., 0]) * (w[..., 1] - u[..., 1]) - (v[..., 1] - u[..., 1]) * (w[..., 0] - u[..., 0])


def _proper_cross(p: np.ndarray, q: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Do segments p -> q and a -> b cross at a point inside both (strict orientation test:
    ``orient(p, q, a) * orient(p, q, b) < 0`` and ``orient(a, b, p) * orient(a, b, q) < 0``)?
    Broadcasting over leading axes."""
    o1 = _orient(p, q, a)
    o2 = _orient(p, q, b)
    o3 = _orient(a, b, p)
    o4 = _orient(a, b, q)
    return (o1 * o2 < 0) & (o3 * o4 < 0)


def _crosses(p: np.ndarray, q: np.ndarray, segs: np.ndarray) -> np.ndarray:
    """(P, Q) bool: does segment p_i -> q_j cross any barrier segment (proper intersection)?
    Every pair against every segment: the reference for :func:`_crosses_pruned`."""
    hit = _proper_cross(p[:, None, None, :], q[None, :, None, :], segs[None, None, :, 0], segs[None, None, :, 1])
    return hit.any(axis=2)


_Bits = list[tuple[np.ndarray, np.ndarray, np.ndarray]]


def _segment_bits(pts: np.ndarray, segs: np.ndarray, per_line: int = 15) -> _Bits:
    """Per barrier line (``per_line`` <= 15 consecutive segments) and point, as 4 bits per
    segment (bit 4s for segment s): strictly left of its line (``orient(a, b, pt) > 0``),
    strictly right of it, and beyond which sides of its bounding box the point lies (left, right,
    above, below: bits 4s .. 4s + 3)."""
    out = []
    for k in range(0, len(segs), per_line):
        line = segs[k:k + per_line]
        a, b = line[:, 0], line[:, 1]
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        nib = np.left_shift(1, 4 * np.arange(len(line)), dtype=np.int64)
        side = _orient(a[None], b[None], pts[:, None])  # (N, S)
        x, y = pts[:, None, 0], pts[:, None, 1]
        box = ((x < lo[:, 0]) * nib + (x > hi[:, 0]) * (nib << 1)
               + (y < lo[:, 1]) * (nib << 2) + (y > hi[:, 1]) * (nib << 3)).sum(axis=1)
        out.append(((side > 0) @ nib, (side < 0) @ nib, box))
    return out


def _crosses_monotone(px: np.ndarray, py: np.ndarray, qx: np.ndarray, qy: np.ndarray, verts: np.ndarray,
                      maybe: np.ndarray, margin: float, width: int = 3) -> np.ndarray:
    """For a polyline ``verts`` (V, 2) whose x grows strictly: does each segment p_i -> q_i cross
    it (:func:`_proper_cross` against every segment s whose bit 4s is set in ``maybe``)? The
    part of p_i -> q_i within the polyline's band of y (grown by ``margin``, far above the
    rounding of the clipping) spans x in [x0, x1] (Liang & Barsky 1984 clipping); a crossing
    point lies on both, so only the segments whose x-ranges meet [x0 - margin, x1 + margin] are
    tested, with the orientation values :func:`_crosses` computes: one or two segments rather
    than all, as a few flat arrays (pairs that reach more than ``width`` take every segment)."""
    vx, vy = verts[:, 0], verts[:, 1]
    dx, dy = qx - px, qy - py
    lo, hi = vy.min() - margin, vy.max() + margin
    with np.errstate(divide="ignore", invalid="ignore"):
        ta, tb = (lo - py) / dy, (hi - py) / dy
    flat = dy == 0
    inside = (py >= lo) & (py <= hi)
    t0 = np.where(flat, np.where(inside, 0.0, 2.0), np.maximum(np.minimum(ta, tb), 0.0))
    t1 = np.where(flat, 1.0, np.minimum(np.maximum(ta, tb), 1.0))
    e0, e1 = px + t0 * dx, px + t1 * dx
    first = np.searchsorted(vx[1:], np.minimum(e0, e1) - margin, side="left")
    last = np.where(t0 <= t1, np.searchsorted(vx[:-1], np.maximum(e0, e1) + margin, side="right") - 1, -1)
    n_seg = len(verts) - 1
    wide = last - first >= width
    first = np.where(wide, 0, first)  # those take every segment, in the loop below
    hit = np.zeros(len(px), bool)

    def orient(k: np.ndarray, rows: "np.ndarray | slice") -> np.ndarray:
        # orient(p, q, v) = (q - p) x (v - p), as _orient writes it (the same rounding)
        return dx[rows] * (vy[k] - py[rows]) - dy[rows] * (vx[k] - px[rows])

    rows_all = slice(None)
    o_prev = orient(np.minimum(first, n_seg), rows_all)
    for k in range(width):
        seg = first + k
        o_next = orient(np.minimum(seg + 1, n_seg), rows_all)
        live = (seg <= last) & ~wide & (((maybe >> (4 * np.minimum(seg, n_seg - 1))) & 1) != 0)
        hit |= live & (o_prev * o_next < 0)
        o_prev = o_next
    rows = np.flatnonzero(wide)
    if len(rows):
        o = [orient(np.full(len(rows), k), rows) for k in range(n_seg + 1)]
        for k in range(n_seg):
            live = (k <= last[rows]) & (((maybe[rows] >> (4 * k)) & 1) != 0)
            hit[rows] |= live & (o[k] * o[k + 1] < 0)
    return hit


def _beyond(pts: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Per point, 4 bits: strictly left of, right of, above and below the box ``lo`` .. ``hi``."""
    x, y = pts[:, 0], pts[:, 1]
    return ((x < lo[0]) * 1 + (x > hi[0]) * 2 + (y < lo[1]) * 4 + (y > hi[1]) * 8).astype(np.uint8)


def _crosses_pruned(p: np.ndarray, q: np.ndarray, segs: np.ndarray, per_line: int = 15,
                    bits: tuple[_Bits, _Bits] | None = None, need: np.ndarray | None = None) -> np.ndarray:
    """The same as :func:`_crosses` (the same orientation values, so the same answer), testing
    a pair against a segment only where they can cross: p and q strictly on opposite sides of
    the segment's line and the pair's bounding box overlapping the segment's (disjoint boxes
    cannot cross). Both come from :func:`_segment_bits` (``bits``: those of p and q, if known),
    so the pruning is a few integer operations per pair; most pairs of face vertices pass
    nowhere near an opening. On a line whose x grows (or falls) along it -- the midlines of a
    face's openings -- a pair that can still cross is tested only against the segments its
    part inside the line's box reaches (:func:`_crosses_monotone`). ``need`` (P, Q) bool: only
    those pairs are tested (the others are returned False)."""
    bits_p, bits_q = bits if bits is not None else (_segment_bits(p, segs, per_line), _segment_bits(q, segs, per_line))
    out = np.zeros((len(p), len(q)), bool)
    todo = np.ones((len(p), len(q)), bool) if need is None else need.copy()
    # far above the rounding of the orientation values (~1e-16 of the coordinates)
    margin = 1e-9 * (1.0 + max(np.abs(p).max(initial=0.0), np.abs(q).max(initial=0.0), np.abs(segs).max()))
    n_q = len(q)
    for n_line, k in enumerate(range(0, len(segs), per_line)):
        line = segs[k:k + per_line]
        a, b = line[:, 0], line[:, 1]
        (pos_p, neg_p, box_p), (pos_q, neg_q, box_q) = bits_p[n_line], bits_q[n_line]
        # o3 * o4 < 0 for segment s: p and q strictly on opposite sides of its line
        maybe = (pos_p[:, None] & neg_q[None, :]) | (neg_p[:, None] & pos_q[None, :])
        verts = np.vstack([a, b[-1:]])
        x = verts[:, 0]
        monotone = np.array_equal(b[:-1], a[1:]) and (np.all(x[1:] > x[:-1]) or np.all(x[1:] < x[:-1]))
        if not monotone:  # and the boxes overlap
            nib = np.left_shift(1, 4 * np.arange(len(line)), dtype=np.int64)
            shared = box_p[:, None] & box_q[None, :]  # both points beyond the same side of a box
            maybe &= ~((shared | shared >> 1 | shared >> 2 | shared >> 3) & nib.sum())
        # and the pair's box meets the line's (both points beyond one side of it: no crossing)
        lo, hi = line.min(axis=(0, 1)), line.max(axis=(0, 1))
        beyond_p, beyond_q = _beyond(p, lo, hi), _beyond(q, lo, hi)
        flat = np.flatnonzero((maybe != 0) & todo & ((beyond_p[:, None] & beyond_q[None, :]) == 0))
        if not len(flat):
            continue
        i, j = np.divmod(flat, n_q)
        mv = maybe.ravel().take(flat)
        if monotone:  # x falling along the line: mirror x (orientations change sign, not products)
            m = 1.0 if x[-1] > x[0] else -1.0
            hit = _crosses_monotone(m * p[:, 0].take(i), p[:, 1].take(i), m * q[:, 0].take(j), q[:, 1].take(j),
                                    verts * np.array([m, 1.0]), mv, margin)
        else:  # every flagged segment of the pair
            test = (mv[:, None] & nib[None, :]) != 0  # (n, S)
            o1, o2 = _orient(p[i, None], q[j, None], a[None]), _orient(p[i, None], q[j, None], b[None])
            hit = ((o1 * o2 < 0) & test).any(axis=1)
        out.ravel()[flat[hit]] = True
        todo.ravel()[flat[hit]] = False
    return out


def _side_sign(mesh: np.ndarray) -> np.ndarray:
    """-1 on the subject's right half (canonical x < 0), +1 on the left, 0 on the midline."""
    x = mesh[:, 0]
    s = np.sign(x)
    s[np.abs(x) < 0.01] = 0.0
    return s


_PREFETCH_LOCK = threading.Lock()  # one recording pass at a time (other threads' spreads run as usual)


@dataclass
class FieldBuilder:
    """Builds canonical displacement fields for one face (its own mesh in the canonical frame)."""

    mesh: np.ndarray  # (478, 3) the face's mesh mapped into the canonical frame

    def __post_init__(self) -> None:
        self._segs = _barriers(self.mesh)
        # the opening-crossing test sees each inner lip on its own side of the mouth
        self._cross_pts = lip_sided(self.mesh[:, :2])
        self._sign = _side_sign(self.mesh)
        self._pls = load_canonical()
        n = len(self.mesh)
        # which vertex pairs an opening separates, filled in pair by pair as fields need them
        self._blocked = np.zeros((n, n), bool)
        self._blocked_known = np.zeros((n, n), bool)
        self._bits: _Bits | None = None  # :func:`_segment_bits` of the mesh
        # while :meth:`prefetch` runs (in the thread named): the (members, rows) each spread asks about
        self._recording: list[tuple[np.ndarray, np.ndarray]] | None = None
        self._recording_thread: int | None = None
        self._dist: np.ndarray | None = None  # (N, N) vertex distances, once a spread needs them
        self._dist_eps: np.ndarray | None = None

    def prefetch(self, aus: "Iterable[str]") -> None:
        """Answer at once every opening-crossing question (:meth:`blocked`) the fields of
        ``aus`` will ask: their handles are walked once with :meth:`spread` only noting the
        (members, rows) it needs, then all the pairs go through :func:`_crosses_pruned` in one
        call rather than one per handle. The fields themselves are unchanged."""
        with _PREFETCH_LOCK:
            self._recording, self._recording_thread = [], threading.get_ident()
            try:
                for au in aus:
                    self.au_parts(au)
                asked = self._recording
            finally:
                self._recording, self._recording_thread = None, None
        n = len(self.mesh)
        need = np.zeros((n, n), bool)
        for members, rows in asked:
            need[:, members] |= rows[:, None]
        self._answer(need & ~self._blocked_known)

    def blocked(self, members: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """(478, M) bool: does the straight path from each vertex to each member cross the
        middle of an eye or mouth opening (:func:`_crosses`; cached per pair per face)?
        ``rows`` (478 bool): only those vertices' answers are needed; the other rows of the
        result may be left False."""
        members = np.asarray(members, dtype=int)
        need = ~self._blocked_known[:, members]
        if rows is not None:
            need &= rows[:, None]
        if need.any():
            full = np.zeros(self._blocked.shape, bool)
            full[:, members] = need
            self._answer(full)
        return self._blocked[:, members]

    def _answer(self, need: np.ndarray) -> None:
        """Fill in :func:`_crosses_pruned` for the (N, N) pairs ``need`` (receiver, member)."""
        cols = np.flatnonzero(need.any(axis=0))
        if not len(cols):
            return
        pts = self._cross_pts
        if self._bits is None:
            self._bits = _segment_bits(pts, self._segs)
        bits_q = [(pos[cols], neg[cols], box[cols]) for pos, neg, box in self._bits]
        sub = need[:, cols]
        self._blocked[:, cols] |= _crosses_pruned(pts, pts[cols], self._segs, bits=(self._bits, bits_q), need=sub)
        self._blocked_known[:, cols] |= sub

    def spread(self, members: np.ndarray, moves: np.ndarray, radius: float,
                receivers: np.ndarray | None = None) -> np.ndarray:
        """Displacement of every vertex: members keep their own ``moves``; others take the
        inverse-square-distance mean of the visible members' moves (Shepard 1968), times the
        Gaussian of the distance to the nearest visible member. ``receivers`` (weights per
        vertex) limits who moves."""
        pts = self.mesh[:, :2]
        # only the rows kept matter: members take their own moves, receivers of weight 0 none
        rows = np.ones(len(pts), bool) if receivers is None else receivers != 0
        rows[members] = False
        if self._recording is not None and self._recording_thread == threading.get_ident():
            # :meth:`prefetch` only notes the question
            self._recording.append((np.asarray(members, dtype=int), rows))
            return np.zeros((len(pts), 3))
        if self._dist is None:  # every vertex pair's distance, |p_i - p_j|, and d^2 + eps^2
            dx, dy = pts[:, None, 0] - pts[None, :, 0], pts[:, None, 1] - pts[None, :, 1]
            self._dist = np.sqrt(dx * dx + dy * dy)
            self._dist_eps = self._dist ** 2 + _EPS ** 2
        d = self._dist[:, members]  # (478, M)
        g = np.exp(-0.5 * (d / radius) ** 2)
        g = np.where(self.blocked(members, rows), 0.0, g)
        # Shepard (inverse-square-distance) interpolation of the members' moves, so the nearest
        # members dominate, times the Gaussian falloff from the nearest member
        inv = g / self._dist_eps[:, members]
        mean = (inv @ moves) / np.maximum(inv.sum(1, keepdims=True), 1e-12)
        out = mean * g.max(1, keepdims=True)
        out[members] = moves
        if receivers is not None:
            out *= receivers[:, None]
        return out

    def handle_field(self, h: AnyHandle, au: str = "") -> np.ndarray:
        """(478, 3) canonical displacement of one handle at intensity 1."""
        if isinstance(h, Aperture):
            return self._aperture_field(h)
        if isinstance(h, Relax):
            return self._aperture_field(Aperture("eyes", h.edge, h.fraction, h.radius), excess=True)
        if isinstance(h, Jaw):
            return self._jaw_field(h)
        if isinstance(h, Level):
            idx = np.array(sorted(set(h.group)))
            if h.side != "both":  # one-sided: keep the group's vertices on that half only
                keep = self._sign[idx] * (1.0 if h.side == "left" else -1.0) >= 0
                idx = idx[keep]
            ref = float(self.mesh[list(h.reference), 1].mean())
            moves = np.zeros((len(idx), 3))
            moves[:, 1] = h.fraction * np.maximum(ref - self.mesh[idx, 1], 0.0)  # y grows down
            if h.inward:  # a smile also widens the mouth: back toward the neutral face's width
                neutral = self._pls.mesh
                half0 = np.abs(neutral[idx, 0] - neutral[list(h.reference), 0].mean())
                c = float(self.mesh[list(h.reference), 0].mean())
                off = self.mesh[idx, 0] - c
                moves[:, 0] = -h.fraction * np.sign(off) * np.maximum(np.abs(off) - half0, 0.0)
            pins = np.array(sorted(set(_LIP_CENTRE) - set(idx.tolist())), dtype=int)
            return self.spread(np.concatenate([idx, pins]), np.vstack([moves, np.zeros((len(pins), 3))]), h.radius)
        idx = np.array(sorted(set(h.group)))
        out = np.zeros((len(self.mesh), 3))
        for side in (-1.0, 1.0):
            if (h.side == "right" and side > 0) or (h.side == "left" and side < 0):
                continue
            on_side = (self._sign[idx] == side) | (self._sign[idx] == 0)
            members = idx[on_side]
            if len(members) == 0:
                continue
            pins = np.array(sorted(set(h.pin) - set(members.tolist())), dtype=int)
            if isinstance(h.move, str):
                if h.move != "pls":
                    raise ValueError(f"handle move {h.move!r} of {au} is neither a vector nor 'pls'")
                moves = self._pls.field(_pls_name(au))[members]
            else:
                out_, up, fwd = h.move
                moves = np.tile(np.array([out_ * side, -up, -fwd]), (len(members), 1))
            if h.taper:
                moves = moves * self._taper(members, h.taper)[:, None]
            # each half moves only its own side; the midline is shared, half from each
            receivers = np.where(self._sign == side, 1.0, np.where(self._sign == 0, 0.5, 0.0))
            if h.side != "both":  # one-sided: the midline takes the full motion of its side
                receivers = np.where(self._sign == 0, 1.0, receivers)
            members = np.concatenate([members, pins])
            moves = np.vstack([moves, np.zeros((len(pins), 3))])
            out += self.spread(members, moves, h.radius, receivers)
        return out

    def _jaw_field(self, h: Jaw) -> np.ndarray:
        """The lower face's drop: full across the chin, fading toward the jaw joints and, beside
        the mouth, fading in from the corner line (the cheeks stretch rather than shear); the
        lower lip tapers toward the corners. Every factor is continuous, so nothing folds."""
        m = self.mesh
        a, b = m[78, :2], m[308, :2]
        slope = (b[1] - a[1]) / (b[0] - a[0]) if abs(b[0] - a[0]) > 1e-9 else 0.0
        line = a[1] + slope * (m[:, 0] - a[0])
        below = np.flatnonzero(m[:468, 1] > line[:468] + 0.005)
        idx = np.array(sorted((set(h.group) | set(below.tolist())) - set(h.pin)))
        c = (m[61, 0] + m[291, 0]) / 2
        half = max(abs(m[291, 0] - m[61, 0]) / 2, 1e-6)
        x = np.abs(m[idx, 0] - c)
        y = m[idx, 1]
        lateral = np.clip((h.fade[1] - x) / (h.fade[1] - h.fade[0]), 0.0, 1.0)
        inside = np.clip((half + 0.02 - x) / 0.06, 0.0, 1.0)  # within the mouth's width
        ramp = inside + (1 - inside) * np.clip((y - line[idx]) / 0.2, 0.0, 1.0)
        amount = h.drop * lateral * ramp
        if h.taper:  # the lower lip (and what lies just under it) comes down less at the corners
            low = np.array(lm.LIPS_OUTER_LOWER)
            order = np.argsort(m[low, 0])
            lip_bottom = np.interp(m[idx, 0], m[low[order], 0], m[low[order], 1])
            u = np.minimum(x / half, 1.0)
            v = np.clip((y - lip_bottom) / 0.12, 0.0, 1.0)
            amount *= 1.0 - h.taper * u ** 2 * (1.0 - v)
        moves = np.zeros((len(idx), 3))
        moves[:, 1] = amount
        pins = np.array(sorted(set(h.pin)), dtype=int)
        return self.spread(np.concatenate([idx, pins]), np.vstack([moves, np.zeros((len(pins), 3))]), h.radius)

    def _taper(self, idx: np.ndarray, taper: float) -> np.ndarray:
        """1 on the mouth's midline falling as a parabola to ``1 - taper`` at the corners (and
        staying there beyond them)."""
        c = (self.mesh[61, 0] + self.mesh[291, 0]) / 2
        half = max(abs(self.mesh[291, 0] - self.mesh[61, 0]) / 2, 1e-6)
        u = np.minimum(np.abs(self.mesh[idx, 0] - c) / half, 1.0)
        return 1.0 - taper * u ** 2

    def _aperture_field(self, h: Aperture, excess: bool = False) -> np.ndarray:
        out = np.zeros((len(self.mesh), 3))
        if h.opening == "eyes":
            parts = [(-1.0, lm.EYE_R_UPPER, lm.EYE_R_LOWER, lm.EYE_R_CORNERS),
                     (1.0, lm.EYE_L_UPPER, lm.EYE_L_LOWER, lm.EYE_L_CORNERS)]
        elif h.opening == "mouth":  # pairs ordered from the subject's right corner to the left
            parts = [(0.0, lm.LIPS_INNER_UPPER[1:-1], lm.LIPS_INNER_LOWER[1:-1][::-1],
                      (78, 308, 61, 291))]
        else:
            raise ValueError(f"unknown opening {h.opening!r}; expected 'eyes' or 'mouth'")
        for side, upper, lower, corners in parts:
            if (h.side == "right" and side > 0) or (h.side == "left" and side < 0):
                continue
            up = np.array(upper)
            lo = np.array(lower)
            gap = self.mesh[lo] - self.mesh[up]  # upper -> lower, pair by pair
            gap[:, 2] = 0.0
            if excess:  # only what the opening has beyond the neutral face's
                neutral = self._pls.mesh
                g0 = np.linalg.norm((neutral[lo] - neutral[up])[:, :2], axis=1)
                g = np.linalg.norm(gap[:, :2], axis=1)
                gap *= (np.maximum(g - g0, 0.0) / np.maximum(g, 1e-9))[:, None]
            if h.edge not in ("upper", "lower"):
                raise ValueError(f"unknown edge {h.edge!r}; expected 'upper' or 'lower'")
            moving, moves = (up, h.fraction * gap) if h.edge == "upper" else (lo, -h.fraction * gap)
            members = np.concatenate([moving, np.array(corners)])  # corners are pinned
            moves = np.vstack([moves, np.zeros((len(corners), 3))])
            out += self.spread(members, moves, h.radius)
        return out

    def au_field(self, au: str) -> np.ndarray:
        """(478, 3) field of an action unit, e.g. ``"AU12"`` or the one-sided ``"AU12R"``."""
        parts = self.au_parts(au)
        return parts.free + sum(f * unit for _, f, unit in parts.closing)

    def au_parts(self, au: str) -> "AUParts":
        """An action unit's field split into its free part and its opening/closing parts (so
        that a mix can stop lids and lips where they meet: :func:`combine`)."""
        name, side = _split_side(au)
        if name not in ACTION_UNITS:
            raise KeyError(f"unknown action unit {au!r}; known: {', '.join(ACTION_UNITS)}")
        free = np.zeros((len(self.mesh), 3))
        closing: list[tuple[str, float, np.ndarray]] = []
        for h in ACTION_UNITS[name]:
            if side != "both":
                h = _with_side(h, side)
            if isinstance(h, Aperture):
                unit = self._aperture_field(Aperture(h.opening, h.edge, 1.0, h.radius, h.side))
                closing.append((h.opening, h.fraction, unit))
            elif isinstance(h, Relax):  # relaxing a widened opening saturates at the neutral one
                unit = self.handle_field(Relax(h.edge, 1.0, h.radius), name)
                closing.append(("eye level", h.fraction, unit))
            elif isinstance(h, Level):  # relaxing a raise saturates too: at the reference level
                unit = self.handle_field(Level(h.group, h.reference, 1.0, h.radius, h.side, h.inward), name)
                closing.append(("level", h.fraction, unit))
            else:
                free += self.handle_field(h, name)
        if name in ("AU12", "AU6"):  # a smile, and the cheeks it raises, stop at the apex
            scale = smile_headroom(self.mesh, name)
            free *= scale
            closing = [(o, f * scale, u) for o, f, u in closing]
        return AUParts(free, closing)


@dataclass(frozen=True)
class AUParts:
    """``free``: (478, 3) field per unit; ``closing``: (opening, fraction per unit, field at
    fraction 1) for each edge of an opening the action unit moves (and ``"level"`` for a
    relaxed smile, ``"eye level"`` for relaxed lids), which a mix saturates (:data:`MAX_CLOSURE`)."""

    free: np.ndarray
    closing: list[tuple[str, float, np.ndarray]]


#: How high (canonical units) the outer lip corners sit above the lips' centre in an apex smile:
#: PixelSmile's full-strength happy frame of its gallery measures 0.102, py-feat's posed smile
#: 0.087, the astronaut 0.096; its neutral mean face sits at 0.006.
SMILE_APEX_RAISE = 0.102

#: The least of AU6 and AU12 kept on a face that already smiles at (or past) the apex: the
#: cheeks and corners still deepen a little, as a smile that grows from an apex does.
SMILE_HEADROOM_MIN = {"AU6": 0.2, "AU12": 0.1}

#: How fast the headroom of each unit falls as the photo's smile nears the apex (the linear
#: fraction to this power; see :func:`smile_headroom`).
SMILE_HEADROOM_POWER = {"AU6": 1.0, "AU12": 2.0}


def smile_headroom(mesh: np.ndarray, unit: str = "AU12") -> float:
    """The fraction of ``unit`` (AU12 or AU6) left to a face whose mouth corners already sit
    ``raise`` above its lips' centre (canonical ``mesh``, y down): with the linear fraction
    ``f = clip((SMILE_APEX_RAISE - raise) / (SMILE_APEX_RAISE - raise_neutral), 0, 1)``, it is
    ``max(f ** SMILE_HEADROOM_POWER[unit], SMILE_HEADROOM_MIN[unit])``, so a smile the photo shows
    is not pushed past the apex (PixelSmile keeps it: its happy frame 27 of an already smiling
    face barely raises the corners). AU12 falls with the square: on the gallery's smiling happy
    source (f = 0.24) PixelSmile's motion is matched with about half of the linear fraction
    (motion ratio 0.95 -> 0.8x, ``benchmarks/bench_edit_motion.py``). AU6, the cheeks the smile
    raises, keeps the linear fraction."""
    def rise(m: np.ndarray) -> float:
        return float(m[list(_LIP_MIDDLE), 1].mean() - m[list(_OUTER_CORNERS), 1].mean())

    neutral = rise(load_canonical().mesh)
    room = float(np.clip((SMILE_APEX_RAISE - rise(mesh)) / (SMILE_APEX_RAISE - neutral), 0.0, 1.0))
    return max(room ** SMILE_HEADROOM_POWER[unit], SMILE_HEADROOM_MIN[unit])


#: The most an opening may close in a mix (1 = lids or lips exactly meet).
MAX_CLOSURE = {"eyes": 0.92, "mouth": 0.97, "level": 1.0, "eye level": 1.0}


def combine(weighted: list[tuple[float, AUParts]]) -> tuple[np.ndarray, dict[str, float]]:
    """``sum_AU w_AU * field_AU``, except that when the closing fractions of an opening add up to
    more than :data:`MAX_CLOSURE` (the lids or lips would pass each other), the closing parts of
    that opening are scaled down so that they just meet. Returns the field and, per opening, the
    scale applied to its closing parts (1 = none)."""
    total = np.zeros_like(weighted[0][1].free) if weighted else np.zeros((478, 3))
    sums: dict[str, list[float]] = {}
    for w, p in weighted:
        total += w * p.free
        for opening, f, _ in p.closing:
            pos_neg = sums.setdefault(opening, [0.0, 0.0])
            pos_neg[0 if w * f > 0 else 1] += w * f
    scale = {}
    for opening, (closing, opening_sum) in sums.items():
        limit = MAX_CLOSURE.get(opening, 1.0)
        net = closing + opening_sum
        scale[opening] = (limit - opening_sum) / closing if net > limit and closing > 0 else 1.0
    for w, p in weighted:
        for opening, f, unit in p.closing:
            k = scale[opening] if w * f > 0 else 1.0
            total += w * f * k * unit
    return total, scale


def _split_side(au: str) -> tuple[str, str]:
    if au.endswith("R"):
        return au[:-1], "right"
    if au.endswith("L"):
        return au[:-1], "left"
    return au, "both"


def _with_side(h: AnyHandle, side: str) -> AnyHandle:
    if isinstance(h, (Jaw, Relax)):
        return h  # the mandible is one bone; relaxed lids are relaxed on both eyes
    if isinstance(h, Level):
        return Level(h.group, h.reference, h.fraction, h.radius, side, h.inward)
    if isinstance(h, Handle):
        return Handle(h.group, h.move, h.radius, side, h.pin, h.taper)
    return Aperture(h.opening, h.edge, h.fraction, h.radius, side)


def _pls_name(au: str) -> str:
    return f"AU{int(au[2:]):02d}"


@lru_cache(maxsize=1)
def canonical_builder() -> FieldBuilder:
    """Field builder on py-feat's neutral mean face (for plots and checks)."""
    return FieldBuilder(load_canonical().mesh)


def compare_with_pls() -> list[tuple[str, str, float, float, float, float]]:
    """For each vector handle whose AU is in py-feat's model: (AU, group head, our out/up, py-feat's
    out/up) averaged over the handle's right-side vertices on the neutral mean face."""
    c = load_canonical()
    sign = _side_sign(c.mesh)
    rows = []
    for au, handles in ACTION_UNITS.items():
        if not au.startswith("AU") or _pls_name(au) not in c.au_fields:  # R5, R6, R12: not FACS units
            continue
        for h in handles:
            if not isinstance(h, Handle) or isinstance(h.move, str):
                continue
            idx = [i for i in h.group if sign[i] <= 0]
            f = c.field(_pls_name(au))[idx].mean(0)
            rows.append((au, str(h.group[:3]), h.move[0], h.move[1], float(-f[0]), float(-f[1])))
    return rows


if __name__ == "__main__":  # pragma: no cover - a table for people
    print(f"{'AU':5s} {'group':16s} {'ours out':>8s} {'up':>7s} {'py-feat out':>11s} {'up':>7s}")
    for au, g, o, u, po, pu in compare_with_pls():
        print(f"{au:5s} {g:16s} {o:8.3f} {u:7.3f} {po:11.3f} {pu:7.3f}")
