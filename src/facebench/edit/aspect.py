"""A wide-open mouth stops narrowing past alpha 1.5 (issue 19).

The jaw drop (AU26, :class:`facebench.edit.actions.Jaw`) carries the lower lip down and its corner
handle draws the lip corners in, so an extrapolated opening grows taller while it narrows; the jaw
cap (:data:`facebench.edit.limits.LIMITS`) holds its height from alpha 1.5 on, but nothing held its
width. Measured on the inner-lip polygon's bounding box in the frame of its corners (78 -> 308),
height over width, PixelSmile's gallery frames 27 (re-analysed meshes, ``slider/<e>/27``) read
surprised 0.91, sleepy 0.58, angry 0.54, fear 0.54, happy 0.33, confused 0.32, anxious 0.30; the
offline edits at alpha 3 read up to 1.6 (surprised) and 3.6 (sleepy).

Human range: the maximal inter-incisal opening is about 40-60 mm (Gallagher et al., J. Oral
Rehabil. 31:110, 2004), the mouth's width ch-ch about 46-55 mm at rest (Farkas, *Anthropometry of
the Head and Face*, 1994): a maximal opening stands about 40 / 55 = 0.7 to 60 / 46 = 1.3 times as
tall as wide, PixelSmile's tallest frame 27 (surprised, 0.91) inside. Past
:data:`~facebench.edit.limits.FREE_ALPHA` the lips of an opening taller than :data:`ASPECT_MAX`
times its width widen back -- a horizontal stretch about the middle of the inner corners, the skin
following (:func:`aspect_field`) -- until it is that tall, or they are as wide as without the
jaw's inward pull, or :data:`REST_WIDTH_MM` wide if that is wider (never past the lip-stretch cap).

The height is left as the jaw cap has it. Alpha 1.5 is frozen (the classifiers' rise and the
gallery motion are validated there) and its openings are already 35-63 mm tall on the bundled
portraits (sleepy, surprised), so the ratio stays above PixelSmile's: bringing it to 0.9 by taking
the jaw's drop back (tried: 0.88-0.95 on the four test portraits, sleepy's chin no longer folded on
three of them) lowers the face's mean motion below its alpha-1.5 value (astronaut sleepy 5.99 ->
4.43 px, surprised 5.16 -> 5.00), and an exaggeration must keep growing with alpha
(``tests/edit/test_limits.py``); widening up to the lip-stretch cap (66 mm) instead (tried:
0.88-1.36) gives a scream's mouth with the skin torn beside the corners.

Faded in by :func:`facebench.edit.limits.shape_weight` (0 at alpha 1.5, full from 2):
alpha <= 1.5 is never touched.
"""

from __future__ import annotations

import numpy as np

from . import landmarks as lm
from .actions import FieldBuilder
from .limits import LIMITS, MM_PER_IOD, inner_lips_in_corner_frame

#: The tallest opening the lips widen for, as height over width of the inner lips: just under
#: PixelSmile's surprised frame 27 (0.91; inside the human range, module docstring).
ASPECT_MAX = 0.9

#: The narrow end of the resting mouth width ch-ch (Farkas 1994), mm: lips that a jaw's drop has
#: drawn in widen back at most to their width without it or to this, whichever is wider -- a
#: mouth the jaw opens is not wider than a resting one (PixelSmile, inner width, source -> frame
#: 27: sleepy 46.0 -> 45.3 mm, surprised 62.0 -> 49.6 mm).
REST_WIDTH_MM = 46.0

#: How far (canonical units) the skin around the lips follows their widening: 1.5x the radius of
#: AU26's corner handle (0.08), whose pull the widening undoes (at 0.08 the widened corners fold
#: the skin beside them on feat_surprise: 21 vertices' motion cut, 6 at 0.12).
WIDEN_RADIUS = 0.12

_LIPS = np.array(sorted(set(lm.LIPS_INNER) | set(lm.LIPS_OUTER)))
_OUTER_CORNERS = (61, 291)
_EYE_CORNERS = (33, 263)
_STRETCH = next(lim for lim in LIMITS if lim.name == "lip stretch")


def mouth_box(mesh: np.ndarray) -> tuple[float, float]:
    """(height, width) of the inner-lip polygon's bounding box in the frame of its corners
    (78 -> 308, so head roll does not count; :func:`facebench.edit.limits.inner_lips_in_corner_frame`):
    the peak-to-peak extent of the turned points."""
    p = inner_lips_in_corner_frame(mesh)
    return float(np.ptp(p[:, 1])), float(np.ptp(p[:, 0]))


def mouth_aspect(mesh: np.ndarray) -> float:
    """Height over width of :func:`mouth_box`: 0 for closed lips, 1 for an opening as tall as wide."""
    h, w = mouth_box(mesh)
    return h / max(w, 1e-12)


def widening(own: np.ndarray, moved: np.ndarray, jaw: np.ndarray | None) -> float:
    """The factor ``k >= 1`` the lips of ``moved`` are stretched by (on the face ``own``):
    ``k = clip(h / (A w), 1, max(1, min(W_rest / w, W_stretch / c)))`` with ``h, w`` of
    :func:`mouth_box`, ``A =`` :data:`ASPECT_MAX`, ``W_rest`` the inner width without the jaw's
    drop ``jaw`` (AU26's field as the edit applies it: its corners' inward pull undone) or
    :data:`REST_WIDTH_MM`, whichever is wider, ``c`` the outer corners' distance and
    ``W_stretch`` its lip-stretch bound (:data:`facebench.edit.limits.LIMITS`: 66 mm, or the
    photo's own width if wider)."""
    h, w = mouth_box(moved)
    iod = float(np.linalg.norm(own[_EYE_CORNERS[0], :2] - own[_EYE_CORNERS[1], :2]))
    rest = max(mouth_box(moved - jaw)[1] if jaw is not None else w, REST_WIDTH_MM / MM_PER_IOD * iod)
    corners = float(np.linalg.norm(moved[_OUTER_CORNERS[0], :2] - moved[_OUTER_CORNERS[1], :2]))
    room = min(rest / max(w, 1e-12), float(_STRETCH.bound(own)[0]) / max(corners, 1e-12))
    return float(np.clip(h / (ASPECT_MAX * max(w, 1e-12)), 1.0, max(1.0, room)))


def aspect_field(builder: FieldBuilder, field: np.ndarray, jaw: np.ndarray | None, weight: float) -> np.ndarray:
    """``weight`` of the widening of the lips of ``builder.mesh + field`` (canonical): every lip
    vertex moves by ``dx = (k - 1)(x - c_x)`` (:func:`widening`'s ``k``; ``c_x`` the middle of the
    inner corners 78, 308), the skin following by
    :meth:`~facebench.edit.actions.FieldBuilder.spread` (radius :data:`WIDEN_RADIUS`, not across
    the opening). A displacement to add to ``field``; zero when ``weight`` is 0 or the opening
    is not taller than :data:`ASPECT_MAX` times its width."""
    if weight <= 0:
        return np.zeros_like(field)
    m = builder.mesh + field
    k = widening(builder.mesh, m, jaw)
    if k <= 1.0:
        return np.zeros_like(field)
    cx = (m[lm.LIPS_INNER_UPPER[0], 0] + m[lm.LIPS_INNER_UPPER[-1], 0]) / 2
    moves = np.zeros((len(_LIPS), 3))
    moves[:, 0] = weight * (k - 1.0) * (m[_LIPS, 0] - cx)
    return builder.spread(_LIPS, moves, WIDEN_RADIUS)
