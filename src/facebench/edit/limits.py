"""Anatomical caps for extrapolated expressions (alpha > 1.5).

The offline editor's displacement grows linearly with alpha; pushed to alpha 3 the jaw, lids, lip
corners and brows would keep going until the face is grotesque. Each :class:`Limit` measures one
distance on the face's own mesh in the canonical (head-aligned, y down) frame, in millimetres
(``MM_PER_IOD`` mm per outer-eye-corner distance), and caps it at a measured human range.

Human ranges (adult norms; the caps take a value inside each range so that an exaggerated face
stays within what most people can do):

- Eye-corner scale: the biocular width ex-ex (our unit, vertices 33-263) is about 86-91 mm in
  adults (Farkas, *Anthropometry of the Head and Face*, 2nd ed., 1994): 1 unit = 88 mm.
- Jaw opening: the maximal inter-incisal opening of healthy adults is about 40-60 mm (e.g.
  Gallagher et al., J. Oral Rehabil. 31:110, 2004, mean about 50 mm); the gap between the inner
  lips at the centre is capped at **45 mm**, below the mean, so few faces open past their maximum.
- Lid aperture: palpebral fissure height about 8-12 mm at rest (Farkas 1994); the upper-lid
  raiser (AU5) retracts the lid by a further 2-4 mm at most before the sclera shows above the
  iris all round: the opening is capped at **14 mm** (or the photo's own, if larger).
- Lip stretch: mouth width ch-ch about 46-55 mm at rest (Farkas 1994); a maximal smile widens it
  by roughly a quarter (smile-dynamics studies, e.g. Tarantili et al., Am. J. Orthod. Dentofacial
  Orthop. 128:8, 2005): capped at **66 mm** (or the photo's own, if larger).
- Corner lift: the commissure of a full smile travels about 7-12 mm, mostly upward (Paletz et al.,
  Plast. Reconstr. Surg. 93:784, 1994): the corners rise at most **10 mm** above where the photo
  has them. Downward, the depressor's pull is shorter and a smile being relaxed only returns the
  corners to rest, so the bound is on where they end: at most **8 mm** below the line through
  the middle of the lips (PixelSmile's full-strength sad frame: 4.6 mm below its neutral source;
  the 8 mm is a plausibility bound chosen here, not a literature value).
- Brow raise: the frontalis lifts the brows by about 10-15 mm at most (brow-elevation norms in
  facial-palsy grading): each brow rises at most **12 mm**. Lowering (corrugator, procerus,
  depressor supercilii) is a shorter pull, with the brow stopping on the orbital rim: at most
  **8 mm**.
- Lip lines stay smooth curves: a lip is one muscle ring (orbicularis oris) and does not kink.
  The action units' fields spread from their handles but not across the mouth's opening
  (:mod:`facebench.edit.actions`); on lips pressed or pouting the opening's midline runs through
  the inner-lip vertices themselves, so whether a smile's lift or the lips' parting reaches one of
  them is decided by sub-pixel noise -- a wave along the lip, or a notch at a corner, once the
  motion is extrapolated (happy and disgust at alpha 2 on a pouting face), and at alpha 1 already
  an opening with steps beside the corners (angry, surprised, fear on feat_anger). So the fields
  are built with each inner lip on its own side of the mouth (:func:`facebench.edit.actions.lip_sided`),
  at every alpha: each lip line is one bow (``tests/edit/test_limits.py``). Until issue 19's
  fourth session only alpha past ``FREE_ALPHA`` was built that way: the classifier test counted
  steps its ten views do not resolve as falls (``tests/edit/test_classifier_response.py``).
- A wide-open mouth is an oval: the lips are a ring of muscle stretched around the opening, so
  beside the corners they curve in toward each other instead of running straight up and down.
  The jaw drops the lower lip in one piece (:class:`facebench.edit.actions.Jaw`), which past
  alpha 1.5 gave a box with vertical sides under the corners; past ``FREE_ALPHA`` the inner lips
  are put on the ellipse through their corners and centres (:func:`oval_field`, weight
  :func:`shape_weight`; measured by :func:`opening_fill`, which PixelSmile's frames 27 of
  surprised and fear put at 0.765 and 0.792) -- and at every alpha on a photo whose lips are
  closed, since there the fields make the whole opening and the box shows from alpha 1.
- Colour (blush, under-eye shadow) is not anatomy but saturates the same way:
  :func:`tint_strength` grows linearly to alpha 1.5 and approaches 2x the alpha-1 strength.

The figures are rounded literature values, quoted from memory of the cited works (not re-checked
against the papers here); they set plausibility bounds, not measurements of a particular person.
Cross-check on PixelSmile's gallery (``slider/<e>/00`` -> ``27``, the same measures on the
re-analysed frames): its strongest frames reach jaw 44.7 mm (surprised), lid aperture 13.4 mm
(confused), mouth width 66.1 mm (happy), corner lift 9.4 mm (angry), brow raise 4.6 mm
(surprised) -- all within the caps.

How a cap acts (:func:`capped_field`): only when some alpha exceeds ``FREE_ALPHA`` = 1.5 (the range
over which the recipes are validated: the classifiers' rise and the seam test run to 1.5, and
those tests stay as they were), and never below what the same control reaches at 1.5 (written
"the alpha-1 value" ``v1`` below; alpha <= 1.5 is untouched). Each measured value ``v`` is mapped to
``f(v) = v`` below a knee ``K`` and ``K + (B - K) tanh((v - K) / (B - K))`` above it (a smooth
approach to the bound ``B``; ``K`` is 3/4 of the way from the photo's value to ``B``, or the
alpha-1 value when that is higher; a recipe that passes ``B`` already there may still add
``HEADROOM`` of its motion). The action units that push the value up are then scaled down
(the others keep their weight) until the measured value is ``f(v)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from . import landmarks as lm
from .actions import AUParts, FieldBuilder, combine

#: Nothing is capped up to this alpha: the range over which the recipes are validated (the
#: classifiers' rise, tests/edit/test_classifier_response.py, and the seam test run to 1.5).
FREE_ALPHA = 1.5

#: Millimetres per unit of the outer-eye-corner distance (Farkas 1994, ex-ex, adults).
MM_PER_IOD = 88.0

#: The knee of the soft cap: the fraction of the way from the photo's value to the bound where
#: the approach starts to slow down.
KNEE = 0.75

#: A pushing AU whose share of a capped value's rise is below this is not scaled for it (its
#: field only spills over from elsewhere; the main pushers are scaled instead).
MINOR = 0.05

_EYE_CORNERS = (33, 263)
_LIP_PAIRS = ((82, 87), (13, 14), (312, 317))  # inner lips: upper, lower (centre and beside it)
_LID_R = ((160, 144), (159, 145), (158, 153))  # upper lid, lower lid
_LID_L = ((387, 373), (386, 374), (385, 380))
_CORNERS = (61, 291)  # outer lip corners (subject's right, left)
_BROW_R = (70, 63, 105, 66, 107)
_BROW_L = (300, 293, 334, 296, 336)


def _iod(mesh: np.ndarray) -> float:
    return float(np.linalg.norm(mesh[_EYE_CORNERS[0], :2] - mesh[_EYE_CORNERS[1], :2]))


def _gap(mesh: np.ndarray, pairs: tuple[tuple[int, int], ...]) -> float:
    return float(max(mesh[lo, 1] - mesh[up, 1] for up, lo in pairs))


def _lip_gap(m: np.ndarray) -> np.ndarray:
    return np.array([_gap(m, _LIP_PAIRS)])


def _lids(m: np.ndarray) -> np.ndarray:
    return np.array([_gap(m, _LID_R), _gap(m, _LID_L)])


def _width(m: np.ndarray) -> np.ndarray:
    return np.array([float(np.linalg.norm(m[_CORNERS[0], :2] - m[_CORNERS[1], :2]))])


def _corner_height(m: np.ndarray) -> np.ndarray:
    """Height of the outer lip corners above the middle of the inner lips (y is down), so an
    opening jaw, which carries the corners down with the lower lip, does not count."""
    mid = (m[13, 1] + m[14, 1]) / 2
    return mid - m[list(_CORNERS), 1]


def _corner_depth(m: np.ndarray) -> np.ndarray:
    return -_corner_height(m)


def _brow_height(m: np.ndarray) -> np.ndarray:
    return np.array([-m[list(_BROW_R), 1].mean(), -m[list(_BROW_L), 1].mean()])


def _brow_depth(m: np.ndarray) -> np.ndarray:
    return -_brow_height(m)


@dataclass(frozen=True)
class Limit:
    """One capped distance: ``measure(mesh)`` -> values (one per side) in mesh units;
    ``cap_mm`` is the bound, on the value itself (``relative=False``) or on its change from the
    photo (``relative=True``)."""

    name: str
    measure: Callable[[np.ndarray], np.ndarray]
    cap_mm: float
    relative: bool
    source: str

    def bound(self, own: np.ndarray) -> np.ndarray:
        """The largest value allowed on the face ``own`` (canonical mesh), per side: the cap in
        mesh units, never below the photo's own value."""
        v0 = self.measure(own)
        cap = self.cap_mm / MM_PER_IOD * _iod(own)
        return v0 + cap if self.relative else np.maximum(v0, cap)


#: The caps (see the module docstring for the ranges and sources).
LIMITS: tuple[Limit, ...] = (
    Limit("jaw opening", _lip_gap, 45.0, False, "max inter-incisal opening 40-60 mm (Gallagher 2004)"),
    Limit("lid aperture", _lids, 14.0, False, "fissure height 8-12 mm + 2-4 mm lid retraction (Farkas 1994)"),
    Limit("lip stretch", _width, 66.0, False, "ch-ch 46-55 mm, about +25% in a maximal smile (Farkas 1994; Tarantili 2005)"),
    Limit("corner lift", _corner_height, 10.0, True, "commissure excursion 7-12 mm in a full smile (Paletz 1994)"),
    Limit("corner drop", _corner_depth, 8.0, False, "corners at most 8 mm below the lips' line (depressor pull; gallery sad: 4.6 mm)"),
    Limit("brow raise", _brow_height, 12.0, True, "frontalis brow elevation 10-15 mm"),
    Limit("brow drop", _brow_depth, 8.0, True, "corrugator/procerus pull, the brow stops on the orbital rim"),
)

#: The most a colour change (blush, under-eye shadow) reaches, as a multiple of its alpha-1 strength.
TINT_MAX = 2.0


def tint_strength(alpha: float) -> float:
    """How much of a colour change's alpha-1 strength an ``alpha`` applies: ``alpha`` up to
    :data:`FREE_ALPHA`, then ``F + (TINT_MAX - F) tanh((alpha - F) / (TINT_MAX - F))`` with
    ``F = FREE_ALPHA`` (slope 1 where the saturation starts)."""
    if alpha <= FREE_ALPHA:
        return float(alpha)
    room = TINT_MAX - FREE_ALPHA
    return float(FREE_ALPHA + room * np.tanh((alpha - FREE_ALPHA) / room))


#: When a recipe already passes a bound at FREE_ALPHA, larger alphas may still add this fraction
#: of its motion there (approached softly), so the expression keeps growing a little instead of freezing.
HEADROOM = 0.25


def soft_cap(v: np.ndarray, v0: np.ndarray, bound: np.ndarray, v1: np.ndarray) -> np.ndarray:
    """``f(v)`` of the module docstring: identity up to the knee
    ``K = max(v0 + KNEE (B - v0), min(v1, B))``, then ``K + (B - K) tanh((v - K) / (B - K))``; a
    bound below the alpha-1 value ``v1`` is raised to ``v1 + HEADROOM (v1 - v0)``."""
    b = np.where(v1 >= bound, v1 + HEADROOM * np.maximum(v1 - v0, 0.0), bound)
    k = np.maximum(v0 + KNEE * (b - v0), np.minimum(v1, b))
    room = np.maximum(b - k, 1e-12)
    return np.where(v <= k, v, k + room * np.tanh((v - k) / room))


def capped_field(own: np.ndarray, aus: Mapping[str, float], parts: Callable[[str], AUParts],
                 alpha: float, limits: tuple[Limit, ...] = LIMITS, iterations: int = 8
                 ) -> tuple[np.ndarray, dict[str, float], dict[str, float]]:
    """The canonical displacement of ``sum_AU w_AU field_AU`` (:func:`facebench.edit.actions.combine`)
    with the action units that would carry a :class:`Limit` past its soft cap scaled down.

    ``own``: the face's mesh in the canonical frame; ``aus``: AU -> weight at the control's
    alphas; ``alpha``: the control's largest alpha (nothing is capped at or below FREE_ALPHA). Returns the
    field, the closure scales of ``combine`` and, per AU that was scaled, its factor in (0, 1)."""
    names = sorted(a for a, w in aus.items() if w)
    weights = {a: float(aus[a]) for a in names}
    field, closure = combine([(weights[a], parts(a)) for a in names])
    if alpha <= FREE_ALPHA or not names:
        return field, closure, {}
    at_one, _ = combine([(weights[a] * FREE_ALPHA / alpha, parts(a)) for a in names])
    # a value the soft cap lowers has that as its goal; any other may go up to its bound (scaling
    # some AUs down can let it grow, e.g. the mouth widen when its tighteners are scaled)
    goals = []
    for lim in limits:
        v0, v, v1 = lim.measure(own), lim.measure(own + field), lim.measure(own + at_one)
        bound = lim.bound(own)
        bound = np.where(v1 >= bound, v1 + HEADROOM * np.maximum(v1 - v0, 0.0), bound)
        capped = soft_cap(v, v0, bound, v1)
        goals.append((lim, v0, np.where(v > capped + 1e-9, capped, np.maximum(v, bound))))
    if not any((lim.measure(own + field) > goal).any() for lim, _, goal in goals):
        return field, closure, {}
    single = {a: combine([(weights[a], parts(a))])[0] for a in names}
    factor = {a: 1.0 for a in names}
    for _ in range(iterations):
        field, closure = combine([(factor[a] * weights[a], parts(a)) for a in names])
        # each (limit, side) over its goal asks the AUs pushing it up to shrink by the share that
        # removes the excess (linear model); an AU takes the smallest factor asked of it
        asked: dict[str, float] = {}
        for lim, v0, goal in goals:
            over = lim.measure(own + field) - goal
            for side in np.flatnonzero(over > 1e-6 * _iod(own)):
                push = {a: float(lim.measure(own + factor[a] * single[a])[side] - v0[side]) for a in names}
                up = sum(p for p in push.values() if p > 0)
                if up <= 0:
                    continue
                s = max(0.0, 1.0 - float(over[side]) / up)
                for a, p in push.items():
                    if p > MINOR * up:  # AUs that only spill into the value are left alone
                        asked[a] = min(asked.get(a, 1.0), s)
        if not asked:
            break
        for a, s in asked.items():
            factor[a] *= s

    def over(fac: dict[str, float]) -> bool:
        f = combine([(fac[a] * weights[a], parts(a)) for a in names])[0]
        return any((lim.measure(own + f) > goal + 1e-6 * _iod(own)).any() for lim, _, goal in goals)

    def bisect(fac_at: Callable[[float], dict[str, float]]) -> dict[str, float]:
        """The largest t in [0, 1] (to 2^-20) whose factors meet every goal, assuming t = 0 does."""
        lo, hi = 0.0, 1.0
        for _ in range(20):
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if over(fac_at(mid)) else (mid, hi)
        return fac_at(lo)

    # saturating parts (lids, lips, a relaxed smile) are not linear, and scaling one AU down can
    # let another value grow: whatever excess the steps above leave, a bisection removes -- first
    # on the scaled AUs' common multiplier, else toward the FREE_ALPHA mix (which meets every
    # goal, as each goal is at least its value there)
    if over(factor):
        fac = bisect(lambda t: {a: f * t if f < 1.0 else 1.0 for a, f in factor.items()})
        if over(fac):
            fac = bisect(lambda u: {a: (1 - u) * f + u * FREE_ALPHA / alpha for a, f in factor.items()})
        factor = fac
    field, closure = combine([(factor[a] * weights[a], parts(a)) for a in names])
    return field, closure, {a: round(f, 4) for a, f in factor.items() if f < 1.0}


#: Over how much alpha past FREE_ALPHA the mouth's shape corrections fade in (:func:`shape_weight`).
SHAPE_RAMP = 0.5


def shape_weight(alpha: float) -> float:
    """How much of the wide-open mouth's shape corrections -- the rounding of :func:`oval_field`
    and the widening of :func:`facebench.edit.aspect.aspect_field` -- an ``alpha`` applies:
    ``smoothstep((alpha - FREE_ALPHA) / SHAPE_RAMP)``, 0 up to FREE_ALPHA (never touched) and 1
    from FREE_ALPHA + SHAPE_RAMP on."""
    t = float(np.clip((alpha - FREE_ALPHA) / SHAPE_RAMP, 0.0, 1.0))
    return t * t * (3 - 2 * t)


def measured(own: np.ndarray, field: np.ndarray) -> dict[str, list[float]]:
    """Every limit's value on ``own + field`` in millimetres (relative limits: the change from
    ``own``), per side: for reports and tests."""
    scale = MM_PER_IOD / _iod(own)
    out = {}
    for lim in LIMITS:
        v = lim.measure(own + field)
        if lim.relative:
            v = v - lim.measure(own)
        out[lim.name] = [round(float(x) * scale, 2) for x in v]
    return out


# ---------------------------------------------------------------------------------------------
# A wide-open mouth is an oval, not a box (issue 19: past FREE_ALPHA; on closed lips at every alpha)

#: The inner lips from corner 78 to corner 308 (upper) and back (lower), and the outer lower lip.
_INNER_UPPER = lm.LIPS_INNER_UPPER[1:-1]
_INNER_LOWER = lm.LIPS_INNER_LOWER[1:-1][::-1]
_OUTER_LOWER = lm.LIPS_OUTER_LOWER[1:-1][::-1]
_INNER_CORNERS = (lm.LIPS_INNER_UPPER[0], lm.LIPS_INNER_UPPER[-1])

#: How far (canonical units) the skin beyond the lips follows the rounding (:func:`oval_field`).
OVAL_RADIUS = 0.08

#: An inner lip is rounded fully when its centre lies at least this fraction of the opening's
#: half-width from the corners' line, and not at all when on it (:func:`oval_moves`).
OVAL_ARC = 0.3

#: The rounding fades in with the opening's height over its width (13-14 over 78-308) from the
#: first to the second value: lips that are closed or barely parted keep their own lines (a
#: smile's or a pout's); a mouth opened as wide as a scream is rounded fully.
OVAL_OPEN = (0.1, 0.25)


def inner_lips_in_corner_frame(mesh: np.ndarray) -> np.ndarray:
    """The inner-lip polygon (78, the upper lip, 308, the lower lip back: (20, 2)) turned into the
    frame of its corners and centred: with ``u = (p_308 - p_78) / |.|`` each point ``p`` becomes
    ``((p - mean) . u, (p - mean) x u)``, so head roll does not count."""
    poly = np.asarray(mesh, float)[[78, *_INNER_UPPER, 308, *_INNER_LOWER[::-1]], :2]
    d = poly[10] - poly[0]
    c, s = d / max(float(np.hypot(*d)), 1e-12)
    return (poly - poly.mean(0)) @ np.array([[c, -s], [s, c]])


def opening_fill(mesh: np.ndarray) -> float:
    """Roundness of the mouth's opening: the inner-lip polygon's area over the area of its
    bounding box, in the frame of the inner lip corners (:func:`inner_lips_in_corner_frame`).
    A rectangle gives 1, an ellipse pi / 4 = 0.785, a lens of two arcs less. PixelSmile's gallery
    frames 27 (the same measure on their re-analysed meshes): surprised 0.765, fear 0.792, angry
    0.757, sleepy 0.725."""
    p = inner_lips_in_corner_frame(mesh)
    x, y = p[:, 0], p[:, 1]
    area = abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) / 2
    return area / max(float(np.ptp(x) * np.ptp(y)), 1e-12)


def oval_moves(moved: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertical corrections (canonical y, down) that put the inner lips of a moved mesh on the
    ellipse through their corners (78, 308) and their centres (13 above, 14 below): each inner-lip
    vertex at ``u = (x - centre) / half-width`` may lie at most ``depth * sqrt(1 - u^2)`` from the
    corners' line (``depth``: the centre's own distance), so the lateral lips that the jaw's
    one-piece drop (:class:`facebench.edit.actions.Jaw`) carries straight down beside the corners
    -- a box's vertical sides -- come up (the lower lip) or down (the upper lip) onto the oval.
    Vertices already inside it keep their place; a lip whose centre lies less than
    :data:`OVAL_ARC` of the half-width from that line is rounded less (none on it). The outer
    lower lip moves with the inner lower lip below it (interpolated along x), so the lip keeps
    its thickness. Returns (vertex indices, their y corrections)."""
    m = np.asarray(moved, float)
    a, b = m[_INNER_CORNERS[0], :2], m[_INNER_CORNERS[1], :2]
    cx, half = (a[0] + b[0]) / 2, max(abs(b[0] - a[0]) / 2, 1e-9)
    slope = (b[1] - a[1]) / (b[0] - a[0]) if abs(b[0] - a[0]) > 1e-9 else 0.0

    def line(x: np.ndarray) -> np.ndarray:
        return a[1] + slope * (x - a[0])

    def arc(idx: tuple[int, ...], centre: int, sign: float) -> np.ndarray:
        x, y = m[list(idx), 0], m[list(idx), 1]
        depth = max(sign * (m[centre, 1] - line(np.array([m[centre, 0]]))[0]), 0.0)
        u = np.clip((x - cx) / half, -1.0, 1.0)
        allowed = depth * np.sqrt(1.0 - u * u)
        beyond = sign * (y - line(x)) - allowed  # how far past the oval, away from the corners' line
        # a lip whose centre barely leaves the corners' line (a smile's upper lip, the corners
        # raised to it) is a crescent's edge, not half an oval: it is left alone
        t = min(depth / (OVAL_ARC * half), 1.0)
        return -sign * t * t * (3 - 2 * t) * np.maximum(beyond, 0.0)

    d_lo = arc(_INNER_LOWER, 14, 1.0)
    d_up = arc(_INNER_UPPER, 13, -1.0)
    xs = m[list(_INNER_LOWER), 0]
    order = np.argsort(xs)
    d_out = np.interp(m[list(_OUTER_LOWER), 0], xs[order], d_lo[order])
    idx = np.array(_INNER_LOWER + _INNER_UPPER + _OUTER_LOWER)
    return idx, np.concatenate([d_lo, d_up, d_out])


def opening_gate(mesh: np.ndarray) -> float:
    """How much of the rounding a mouth takes (canonical ``mesh``): ``smoothstep`` of its opening's
    height (inner lips' centres 13 -> 14, along y) over its width (inner corners 78 -> 308) between the two values of
    :data:`OVAL_OPEN`."""
    m = np.asarray(mesh, float)
    h = float(m[14, 1] - m[13, 1])  # canonical y, down: lips that cross count as closed
    w = max(float(np.hypot(*(m[308, :2] - m[78, :2]))), 1e-12)
    t = float(np.clip((h / w - OVAL_OPEN[0]) / (OVAL_OPEN[1] - OVAL_OPEN[0]), 0.0, 1.0))
    return t * t * (3 - 2 * t)


def oval_field(builder: FieldBuilder, field: np.ndarray, weight: float) -> np.ndarray:
    """``weight`` of the rounding of :func:`oval_moves` on the face ``builder.mesh`` moved by the
    canonical ``field``, spread to the skin around the lips as every action unit's motion is
    (:meth:`facebench.edit.actions.FieldBuilder.spread`, radius :data:`OVAL_RADIUS`, not across
    the mouth's opening), times :func:`opening_gate`: a displacement to add to ``field``. Zero
    when ``weight`` is 0."""
    if weight <= 0:
        return np.zeros_like(field)
    m = builder.mesh + field
    idx, dy = oval_moves(m)
    moves = np.zeros((len(idx), 3))
    moves[:, 1] = weight * opening_gate(m) * dy
    return builder.spread(idx, moves, OVAL_RADIUS)
