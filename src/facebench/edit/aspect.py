"""A wide-open mouth keeps a human opening's proportions past alpha 1.5 (issue 19).

The jaw drop (AU26, :class:`facebench.edit.actions.Jaw`) carries the lower lip down and its corner
handle draws the lip corners in; extrapolated, the opening grows taller while it narrows, and the
jaw cap (:data:`facebench.edit.limits.LIMITS`, 45 mm) only stops the height growing *further*
than the recipe already took it at alpha 1.5 (sleepy, surprised: 50-63 mm there). Measured on
the inner-lip polygon's bounding box in the frame of its corners (78 -> 308), height over width,
PixelSmile's gallery frames 27 (re-analysed meshes, ``slider/<e>/27``) read surprised 0.91, sleepy
0.58, angry 0.54, fear 0.54, happy 0.33, confused 0.32, anxious 0.30; the offline edits at
alpha 3 read up to 1.6 (surprised) and 3.6 (sleepy).

Human range: the maximal inter-incisal opening is about 40-60 mm (Gallagher et al., J. Oral
Rehabil. 31:110, 2004; the jaw cap takes 45 mm), the mouth's width ch-ch about 46-55 mm at rest
(Farkas, *Anthropometry of the Head and Face*, 1994). A jaw opened as far as the cap under lips
no wider than the narrow end of the resting range stands about 45 / 46 = 1.0 as tall as wide;
PixelSmile's tallest frame 27 (surprised) is 0.91. So past :data:`~facebench.edit.limits.FREE_ALPHA`
the opening is brought to at most :data:`ASPECT_MAX` (the range the tests hold: 0.3, PixelSmile's
least-open parted frames, to 1.0) by, in this order,

1. letting the lips widen back up to their width without the jaw's drop (its corners' inward
   pull undone, the other units' stretch or relaxed smile kept) or :data:`REST_WIDTH_MM`,
   whichever is wider -- a mouth the jaw opens is not wider than a resting one (PixelSmile:
   sleepy 46.0 -> 45.3 mm, surprised 62.0 -> 49.6 mm, inner width, source -> frame 27) -- and
2. where that is not enough, taking back part of the jaw's drop (the vertical part of AU26's own
   field), so the height meets ``ASPECT_MAX`` times the width.

Both are faded in by the ramp of :func:`facebench.edit.limits.lip_weight` (0 at alpha 1.5, full
from 2): alpha <= 1.5 is never touched.
"""

from __future__ import annotations

import numpy as np

from . import landmarks as lm
from .actions import FieldBuilder
from .limits import MM_PER_IOD

#: The tallest opening, as height over width of the inner lips (module docstring: the jaw cap
#: over the narrow end of the resting width is 1.0; PixelSmile's surprised frame 27 is 0.91).
ASPECT_MAX = 0.9

#: The widest (mm, inner lip corners) the lips are brought back to when the opening is too tall,
#: unless the photo's own mouth is wider: the narrow end of the resting ch-ch range (Farkas 1994).
REST_WIDTH_MM = 46.0

#: How far (canonical units) the skin around the lips follows their widening: the radius of
#: AU26's own corner handle, whose pull the widening undoes.
WIDEN_RADIUS = 0.12

#: Secant steps that solve for the share of the jaw's drop taken back (the height is nearly
#: linear in it).
SOLVE_STEPS = 4

_POLY = (lm.LIPS_INNER_UPPER[0], *lm.LIPS_INNER_UPPER[1:-1], lm.LIPS_INNER_UPPER[-1],
         *lm.LIPS_INNER_LOWER[1:-1])
_LIPS = np.array(sorted(set(lm.LIPS_INNER) | set(lm.LIPS_OUTER)))
_EYE_CORNERS = (33, 263)


def mouth_box(mesh: np.ndarray) -> tuple[float, float]:
    """(height, width) of the inner-lip polygon's bounding box in the frame of its corners
    (78 -> 308, so head roll does not count): with ``u = (p_78 - p_308) / |.|`` the lip points
    ``p`` are rotated to ``(p . u, p x u)`` and the box is their peak-to-peak extent."""
    poly = np.asarray(mesh, float)[list(_POLY), :2]
    d = poly[10] - poly[0]
    c, s = d / max(float(np.hypot(*d)), 1e-12)
    p = (poly - poly.mean(0)) @ np.array([[c, -s], [s, c]])
    return float(np.ptp(p[:, 1])), float(np.ptp(p[:, 0]))


def mouth_aspect(mesh: np.ndarray) -> float:
    """Height over width of :func:`mouth_box`: 0 for closed lips, 1 for an opening as tall as wide."""
    h, w = mouth_box(mesh)
    return h / max(w, 1e-12)


def aspect_targets(moved: np.ndarray, widest: float) -> tuple[float, float]:
    """The width and height (canonical units) an opening ``moved`` is brought to (module
    docstring): ``w* = clip(h / A, w, max(w, widest))`` with ``A = ASPECT_MAX``, then
    ``h* = min(h, A w*)``."""
    h, w = mouth_box(moved)
    w_t = float(np.clip(h / ASPECT_MAX, w, max(w, widest)))
    return w_t, min(h, ASPECT_MAX * w_t)


def widest_opening(own: np.ndarray, moved: np.ndarray, jaw: np.ndarray | None) -> float:
    """How wide (canonical units, inner corners) the lips of ``moved`` may be brought back:
    their width without the jaw's drop ``jaw`` (its corners' inward pull undone; the other
    units' stretch or relaxed smile kept), or :data:`REST_WIDTH_MM` if that is wider."""
    iod = float(np.linalg.norm(own[_EYE_CORNERS[0], :2] - own[_EYE_CORNERS[1], :2]))
    free = mouth_box(moved - jaw)[1] if jaw is not None else mouth_box(moved)[1]
    return max(free, REST_WIDTH_MM / MM_PER_IOD * iod)


def aspect_field(builder: FieldBuilder, field: np.ndarray, jaw: np.ndarray | None, weight: float) -> np.ndarray:
    """A displacement to add to the canonical ``field`` so that the opening of ``builder.mesh +
    field`` meets :func:`aspect_targets`, times ``weight``: the lips widened by the stretch
    ``dx = (k - 1)(x - c_x)`` about the inner corners' middle ``c_x`` (``k`` = target over current
    width; the skin follows by :meth:`~facebench.edit.actions.FieldBuilder.spread`, radius
    :data:`WIDEN_RADIUS`, not across the opening), and the share ``t`` in [0, 1] of the jaw's
    drop ``jaw`` (AU26's field as the edit applies it; only its vertical part) taken back that
    brings the height to its target. Zero when ``weight`` is 0 or the opening is not too tall."""
    out = np.zeros_like(field)
    if weight <= 0:
        return out
    own = builder.mesh
    m = own + field
    h, w = mouth_box(m)
    if h <= ASPECT_MAX * w:
        return out
    w_t, h_t = aspect_targets(m, widest_opening(own, m, jaw))
    if jaw is not None and h > h_t:
        drop = np.zeros_like(field)
        drop[:, 1] = jaw[:, 1]
        t, h_at = 0.0, h
        slope = (h - mouth_box(m - drop)[0]) or 1e-12  # height the whole drop adds
        for _ in range(SOLVE_STEPS):  # Newton steps on the (nearly linear) h(t)
            t = float(np.clip(t + (h_at - h_t) / slope, 0.0, 1.0))
            h_at = mouth_box(m - t * drop)[0]
        out -= t * drop
    m2 = m + out
    w2 = mouth_box(m2)[1]
    if w_t > w2:
        k = w_t / w2
        cx = (m2[lm.LIPS_INNER_UPPER[0], 0] + m2[lm.LIPS_INNER_UPPER[-1], 0]) / 2
        moves = np.zeros((len(_LIPS), 3))
        moves[:, 0] = (k - 1.0) * (m2[_LIPS, 0] - cx)
        out += builder.spread(_LIPS, moves, WIDEN_RADIUS)
    return weight * out
