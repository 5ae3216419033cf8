"""Skin detail that follows the expression: folds and wrinkles as luminance shading.

Moving the mesh carries the skin's texture but not the creases an expression makes, and it
drags the photo's own creases into places where they no longer belong (the cheek folds of a
smile, pressed back to neutral, stay as grey patches). This module shades, on the warped
canvas, the creases the action units make (FACS, Ekman, Friesen & Hager 2002, the "appearance
changes" of each unit):

- nasolabial fold (AU12 lip-corner puller, AU6 cheek raiser, AU11 nasolabial deepener; see
  :data:`DRIVERS` for why not AU9/AU10), with the cheek raised into a bulge on its outer side
  (AU6, AU12);
- horizontal forehead lines (AU1 inner brow raiser in the middle of the forehead, AU2 outer
  brow raiser at its sides);
- vertical furrows between the brows (AU4 brow lowerer);
- transverse lines across the root of the nose (AU9 nose wrinkler).

Each crease is a curve through points placed by the moved 478-point mesh (so it travels with the
warp), with a cross profile ``bump(u) = (1 - u^2)^3`` for ``|u| < 1`` and 0 beyond (``u`` the
signed distance from the curve over the crease's half-width): smooth, and exactly zero past its
support, so nothing changes far from a crease and no edge is drawn. The shading is a
multiplicative change of the canvas, ``I' = I * (1 + M)`` with

    M = sum_creases A * taper(t) * (bump(u) - K_LIGHT * (l . n) * bump'(u))

``A`` the crease's signed strength (a valley darkens, a bulge brightens), ``t`` the position
along the curve, ``n`` the curve's normal and ``l`` the face's own light direction (the gradient
of the log luma of the photo's face, fitted as a plane: the wall of a valley that faces the light
brightens, the other one darkens, as a Lambertian surface does). Multiplying keeps the skin's
colour and texture (per channel, ``M`` is weighted by :func:`channel_gain`, so a shadow on skin
is warm, not grey); ``M`` is clipped to [-0.5, 0.5] and set to zero outside the face mask.

Strengths follow the action units' amounts at the given alpha (``A = depth *
tint_strength(amount)``, :func:`facebench.edit.limits.tint_strength`: linear up to 1.5, then
saturating). The units that relax a smile the photo shows (``R12``, and ``R6`` the raised
cheeks) make the photo's own fold fade instead (by up to :data:`RELAX_MAX`): in bands along the fold and around the mouth corner
(where a smile bunches the cheek into a shadow) the canvas's mid-scale shading -- the ratio of
each colour channel blurred at :data:`FINE` and at :data:`COARSE` x the eye-corner distance, the
lips left out of both blurs, so a fold's redness goes with its shadow -- is divided out by the
relaxed fraction, ``I' = I * (G_COARSE(I) / G_FINE(I)) ** (f * w)``: the fold and the bulge
flatten toward the skin around them while the fine texture stays.

:func:`shade` is the offline editor's hook (:meth:`facebench.edit.offline.OfflineEditor.render`,
after the retouching, before the canvas is pasted into the photo).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Mapping

import cv2
import numpy as np

from ..base.pixels import luma
from .landmarks import FACE_OVAL, LIPS_OUTER, MOUTH_CORNERS
from .actions import SMILE_HEADROOM_MIN, smile_headroom
from .limits import tint_strength
from . import kernels

#: How much the wall of a crease facing the light brightens (and the other darkens), relative to
#: the crease's strength, for a face lit fully from one side.
K_LIGHT = 0.6

#: The largest change of luminance the shading may make (fraction, either way).
M_MAX = 0.5

#: The scales (fraction of the eye-corner distance) between which a relaxed fold's shading is
#: flattened: detail finer than FINE (pores, freckles) is kept, shading broader than COARSE
#: (the face's lighting) too.
FINE, COARSE = 0.015, 0.15


def bump(u: np.ndarray) -> np.ndarray:
    """``(1 - u^2)^3`` for ``|u| < 1``, else 0: a smooth bell with compact support."""
    v = np.clip(1.0 - u * u, 0.0, None)
    return v * v * v


@dataclass(frozen=True)
class Crease:
    """One shaded line: ``points`` (image pixels, along the line, smoothed by a spline), signed
    ``strength`` (negative: a valley, positive: a bulge), half-widths on the ``-``/``+`` side of
    the curve (pixels; ``+`` is the side ``outward`` points to), ``offset`` of the profile's
    centre from the curve toward ``+`` (pixels), the taper's ``ends`` (fractions of the length),
    ``ripple``: how much the strength varies along the line (0: constant), with ``phase``, and
    ``profile``: factors of the strength at evenly spaced positions along the line (empty: 1)."""

    points: np.ndarray
    strength: float
    half_widths: tuple[float, float]
    outward: np.ndarray
    offset: float = 0.0
    ends: tuple[float, float] = (0.2, 0.3)
    ripple: float = 0.0
    phase: float = 0.0
    profile: tuple[float, ...] = ()


def smooth_curve(points: np.ndarray, step: float) -> np.ndarray:
    """A natural cubic spline through ``points`` (parametrised by chord length), sampled every
    ``step`` pixels or so."""
    p = np.asarray(points, np.float64)
    chord = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))]
    keep = np.r_[True, np.diff(chord) > 1e-6]
    p, chord = p[keep], chord[keep]
    if len(p) < 2:
        return p
    if len(p) == 2:
        s = np.linspace(0, chord[-1], max(2, int(chord[-1] / step) + 1))
        return p[0] + (s / chord[-1])[:, None] * (p[1] - p[0])
    return _natural_spline(chord, p, np.linspace(0, chord[-1], max(3, int(chord[-1] / step) + 1)))


def _natural_spline(x: np.ndarray, y: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The natural cubic spline through ``(x_i, y_i)`` (``x`` increasing, ``y`` rows) at ``at``:
    on ``[x_i, x_i+1]`` (length ``h_i``), with ``A = (x_i+1 - s) / h_i``, ``B = 1 - A``,
    ``y = A y_i + B y_i+1 + ((A^3 - A) m_i + (B^3 - B) m_i+1) h_i^2 / 6``, the second derivatives
    ``m`` solving ``h_i-1 m_i-1 + 2 (h_i-1 + h_i) m_i + h_i m_i+1 = 6 (d_i - d_i-1)`` (``d_i`` the
    slope of chord i) with ``m_0 = m_n-1 = 0``. (A few small solves: cheaper than building
    scipy's CubicSpline for every crease of every render.)"""
    h = np.diff(x)
    d = np.diff(y, axis=0) / h[:, None]
    n = len(x)
    m = np.zeros_like(y)
    if n > 2:
        a = np.diag(2.0 * (h[:-1] + h[1:])) + np.diag(h[1:-1], 1) + np.diag(h[1:-1], -1)
        m[1:-1] = np.linalg.solve(a, 6.0 * np.diff(d, axis=0))
    i = np.clip(np.searchsorted(x, at, side="right") - 1, 0, n - 2)
    hi = h[i][:, None]
    a_ = (x[i + 1][:, None] - at[:, None]) / hi
    b_ = 1.0 - a_
    return a_ * y[i] + b_ * y[i + 1] + ((a_ ** 3 - a_) * m[i] + (b_ ** 3 - b_) * m[i + 1]) * hi * hi / 6.0


def _polyline(curve: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The polyline ``curve`` (float64, contiguous) and its segments: vectors ``seg``, lengths (at
    least 1e-9), their running sum from 0, and the unit normals (each segment rotated by +90 degrees)."""
    curve = np.ascontiguousarray(curve, np.float64)
    seg = curve[1:] - curve[:-1]
    length = np.maximum(np.linalg.norm(seg, axis=1), 1e-9)
    cum = np.r_[0.0, np.cumsum(length)]
    normal = np.stack([-seg[:, 1], seg[:, 0]], axis=1) / length[:, None]
    return curve, seg, length, cum, normal


def _nearest_on_curve(curve: np.ndarray, box: tuple[int, int, int, int], reach: float
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For each pixel of ``box`` (x0, y0, x1, y1) within ``reach`` of the polyline ``curve``: the
    signed distance to it (positive on the side its nearest segment's normal points to), the
    position along it (0..1), and that unit normal (x, y), the segment's direction rotated by +90
    degrees. The nearest segment is the first of those at the least distance; a pixel is compared
    only with the segments that may lie within ``reach`` of it (each segment with the pixels
    within ``reach`` plus a pixel of it, row by row), so within ``reach`` of the curve the result
    is that of comparing every segment, and beyond it the signed distance is larger than
    ``reach`` (``2 * reach``, and 0 for the rest, where no segment reaches). Per pixel in
    :func:`facebench.edit.kernels.nearest_on_curve`."""
    x0, y0, x1, y1 = box
    shape = (y1 - y0, x1 - x0)
    out = tuple(np.empty(shape) for _ in range(4))
    kernels.nearest_on_curve(*_polyline(curve), np.array(box, np.int64), float(reach), *out)
    return out


def support(crease: Crease) -> tuple[np.ndarray, np.ndarray]:
    """The corners (x0, y0), (x1, y1) of the box outside which the crease changes nothing."""
    reach = _reach(crease)
    p = np.asarray(crease.points, np.float64)
    return p.min(0) - reach, p.max(0) + reach


def _reach(crease: Crease) -> float:
    """How far from its curve a crease changes anything (plus a pixel)."""
    return abs(crease.offset) + max(crease.half_widths) + 1.0


def crease_shading(crease: Crease, box: tuple[int, int, int, int], light: np.ndarray) -> np.ndarray:
    """The crease's term of ``M`` (module docstring) on the pixels of ``box`` (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    out = np.zeros((y1 - y0, x1 - x0))
    _shade_into(out, (x0, y0), crease, box, light, combine_max=False)
    return out


def _shade_into(out: np.ndarray, origin: tuple[int, int], crease: Crease, box: tuple[int, int, int, int],
                light: np.ndarray, combine_max: bool) -> None:
    """Add the crease's term of ``M`` on the pixels of ``box`` into ``out`` (its pixel (0, 0) at
    ``origin``; ``combine_max``: take the maximum instead): with ``(s, t, n)`` of
    :func:`_nearest_on_curve`, the normals oriented toward ``outward`` (judged on the middle
    segment: ``flip``), ``d = flip s - offset``, ``u = d / w`` (the half-width on d's side), and
    ``A * taper(t) * ripple(t) * profile(t) * (bump(u) - K_LIGHT * flip (l . n) * bump'(u))``,
    ``ripple(t) = 1 - ripple/2 (1 + sin(2 pi waves t + phase))`` with a wave every 4 half-widths.
    Per pixel in :func:`facebench.edit.kernels.shade_crease`."""
    w_minus, w_plus = crease.half_widths
    curve = smooth_curve(crease.points, max(1.0, 0.5 * min(w_minus, w_plus)))
    k = max(len(curve) // 2, 1)
    mid = curve[k] - curve[k - 1]
    flip = 1.0 if (-mid[1] * crease.outward[0] + mid[0] * crease.outward[1]) >= 0 else -1.0
    wave = 0.0
    if crease.ripple:
        length = float(np.linalg.norm(np.diff(curve, axis=0), axis=1).sum())
        wave = 2 * np.pi * max(1.0, length / (4.0 * max(w_minus, w_plus)))
    profile = np.asarray(crease.profile, np.float64)
    xp = np.linspace(0, 1, len(profile))
    kernels.shade_crease(out, np.array(origin, np.int64), combine_max, *_polyline(curve),
                         np.array(box, np.int64), float(_reach(crease)), flip,
                         float(crease.offset), float(w_minus), float(w_plus), float(crease.ends[0]),
                         float(crease.ends[1]), float(crease.ripple * 0.5) if crease.ripple else 0.0,
                         float(wave), float(crease.phase), xp, profile, float(crease.strength),
                         np.asarray(light, np.float64), K_LIGHT)


def _accumulate(creases_: list[Crease], box: tuple[int, int, int, int], light: np.ndarray,
                combine: str = "sum") -> np.ndarray:
    """The creases' terms on the crop ``box``, each computed only over its :func:`support`,
    summed (``"sum"``) or their maximum taken (``"max"``)."""
    x0, y0, x1, y1 = box
    total = np.zeros((y1 - y0, x1 - x0))
    for c in creases_:
        lo, hi = support(c)
        cx0, cy0 = max(x0, int(np.floor(lo[0]))), max(y0, int(np.floor(lo[1])))
        cx1, cy1 = min(x1, int(np.ceil(hi[0])) + 1), min(y1, int(np.ceil(hi[1])) + 1)
        if cx1 <= cx0 or cy1 <= cy0:
            continue
        _shade_into(total, (x0, y0), c, (cx0, cy0, cx1, cy1), light, combine == "max")
    return total


def face_light(image: np.ndarray, mask: np.ndarray, iod: float) -> np.ndarray:
    """The face's light direction in the image plane: the gradient (per eye-corner distance) of
    the log luma over the face mask, fitted as a plane after blurring away the texture, scaled
    by ``|g| / (|g| + 0.5)`` so a face lit from the front gets a short vector (length < 1)."""
    ys, xs = np.nonzero(mask)
    if len(xs) < 50:
        return np.zeros(2)
    step = max(1, int(len(xs) // 4000))
    ys, xs = ys[::step], xs[::step]
    sigma = max(1.0, 0.08 * iod)
    # blurred only over the sampled pixels' box widened by the kernel's reach (4 sigma): the same
    # values as blurring the whole image, for less
    pad = int(np.ceil(4 * sigma)) + 2
    h, w = mask.shape[:2]
    x0, y0 = max(int(xs.min()) - pad, 0), max(int(ys.min()) - pad, 0)
    x1, y1 = min(int(xs.max()) + pad + 1, w), min(int(ys.max()) + pad + 1, h)
    small = cv2.GaussianBlur(luma(np.asarray(image)[y0:y1, x0:x1], np.float32), (0, 0), sigma)
    y = np.log(np.maximum(small[ys - y0, xs - x0], 1.0))
    a = np.c_[np.ones(len(xs)), (xs - xs.mean()) / iod, (ys - ys.mean()) / iod]
    g = np.linalg.lstsq(a, y, rcond=None)[0][1:]
    n = float(np.linalg.norm(g))
    return g / (n + 0.5) if n > 0 else np.zeros(2)


def channel_gain(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per colour channel, how strongly a shading change acts: ``(c / Y) ** -0.5`` for the face's
    median colour ``c`` (luma ``Y``), scaled so that its luma-weighted mean is 1. Skin's red
    channel, above its luma, changes least: a crease's shadow on skin is warmer than grey, as
    light scattered under the skin is mostly red."""
    skin = np.median(np.asarray(image)[mask], axis=0).astype(np.float64) if mask.any() else np.ones(3)
    skin = np.maximum(skin, 1.0)
    k = (skin / float(luma(skin[None, None], np.float64)[0, 0])) ** -0.5
    return k / float(luma(k[None, None], np.float64)[0, 0])


# --- where the creases are on the mesh ---------------------------------------------------------

#: Nasolabial fold, subject's right then left: from beside the nose wing, past the mouth corner
#: (a pair ``(a, b[, f])`` is the point the fraction ``f``, default 0.5, of the way from a to b).
NASOLABIAL = (((64, 203, 0.3), 206, (216, 186), (212, 57)), ((294, 423, 0.3), 426, (436, 410), (432, 287)))

#: The outer cheek vertex of each side (which way the cheek bulge lies from the fold).
CHEEK_OUT = (50, 280)

#: Forehead rows, subject's right to left: brow tops, a middle row, the upper forehead row.
FOREHEAD_ROWS = ((63, 105, 66, 107, 9, 336, 296, 334, 293),
                 (68, 104, 69, 108, 151, 337, 299, 333, 298),
                 (54, 103, 67, 109, 10, 338, 297, 332, 284))

#: Where forehead lines run, as a position between the rows (0 brow tops, 1 middle row, 2 upper row).
FOREHEAD_LINES = (0.45, 0.8, 1.15, 1.5)

#: Inner brow ends (lower, upper) and the glabella's lower and upper vertices: the brow furrows
#: run up from between the inner brow ends.
GLABELLA = ((55, 107), (285, 336), (8, 9, 151))

#: The root of the nose: between the eyes (168) down the bridge (6), with the inner eye corners.
NOSE_ROOT = (168, 6, 133, 362)

#: Strength (fraction of luminance at the valley, or of added brightness on a bulge) of each crease
#: at amount 1. The forehead lines are faint: at 0.12 they moved the re-analysed mesh of anxious
#: (PixelSmile's gallery, tests/edit/test_motion.py) from a motion ratio of 0.70 to 0.80 and the
#: 12 expressions' mean past its bound of 0.66; the brow furrows keep 0.08, as at 0.05 sad on
#: ``feat_surprise`` stopped rising past alpha 1.25 (tests/edit/test_classifier_response.py).
DEPTH = {"nasolabial": 0.12, "cheek": 0.05, "forehead": 0.06, "furrow": 0.08, "nose": 0.07}

#: Which action units deepen each crease, and by how much per unit of their amount. FACS also
#: has the nose wrinkler and upper-lip raiser (AU9, AU10) deepen the upper nasolabial furrow, but
#: the shipped classifiers read a deeper fold as a smile: with them, angry on ``feat_disgust``
#: peaked at p = 0.13 instead of 0.28 and stopped rising (tests/edit/test_classifier_response.py),
#: so only the smile's units (and AU11, the nasolabial deepener) drive the fold here.
DRIVERS: Mapping[str, Mapping[str, float]] = {
    "nasolabial": {"AU12": 1.0, "AU6": 0.5, "AU11": 1.0, "AU13": 0.5},
    "cheek": {"AU6": 1.0, "AU12": 0.4, "AU13": 0.4},
    "forehead_inner": {"AU1": 1.0},
    "forehead_outer": {"AU2": 1.0},
    "furrow": {"AU4": 1.0},
    "nose": {"AU9": 1.0},
}

#: How much of the photo's fold shading a fully relaxed fold loses. Half, not all: flattening it
#: whole made the shipped classifiers' disgust and surprise on the smiling ``feat_happy`` dip past
#: alpha 1 (tests/edit/test_classifier_response.py; at 0.5 its disgust series rises again).
RELAX_MAX = 0.5

#: Units that relax what the photo shows, and the creases whose photo shading they fade: the
#: smile's R12, and at half weight R6 (the cheeks' push on the lower lids relaxed). Without R6,
#: angry on ``feat_disgust`` stopped rising past alpha 1 (tests/edit/test_classifier_response.py).
RELAXERS: Mapping[str, Mapping[str, float]] = {"nasolabial": {"R12": 1.0, "R6": 0.5}}


#: The units of a smile, whose motion (and folds) :func:`facebench.edit.actions.smile_headroom` limits.
SMILE_UNITS = ("AU6", "AU12", "AU13")


def _unit(au: str) -> str:
    """The action unit without its side suffix (``AU12R`` -> ``AU12``)."""
    return au[:-1] if au[-1:] in ("R", "L") and au[-2:-1].isdigit() else au


def amount(aus: Mapping[str, float], drivers: Mapping[str, float], side: str = "") -> float:
    """``sum_AU weight_AU * (amount_AU + amount_AU<side>)``: a one-sided unit (``AU4L``) adds to
    its side only (``side`` "R" or "L", the subject's)."""
    total = 0.0
    for au, w in drivers.items():
        total += w * (aus.get(au, 0.0) + (aus.get(au + side, 0.0) if side else 0.0))
    return total


def _lerp(mesh: np.ndarray, spec: "int | tuple") -> np.ndarray:
    """A vertex, or ``(a, b[, f])``: the point the fraction ``f`` (default 0.5) of the way from a to b."""
    if isinstance(spec, tuple):
        f = spec[2] if len(spec) > 2 else 0.5
        return (1 - f) * mesh[spec[0]] + f * mesh[spec[1]]
    return mesh[spec]


def nasolabial_curves(mesh: np.ndarray, iod: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per side (right, left): the fold's points (from the nose wing down past the mouth corner,
    continued a little beyond the last vertex) and the unit vector toward the cheek."""
    out = []
    for spec, cheek in zip(NASOLABIAL, CHEEK_OUT):
        pts = np.array([_lerp(mesh, s) for s in spec])
        tail = pts[-1] + 0.35 * (pts[-1] - pts[-2])
        pts = np.vstack([pts, tail])
        toward = mesh[cheek] - pts.mean(0)
        out.append((pts, toward / max(float(np.linalg.norm(toward)), 1e-9)))
    return out


def creases(mesh: np.ndarray, aus: Mapping[str, float], iod: float, headroom: float = 1.0) -> list[Crease]:
    """The creases an expression with action-unit amounts ``aus`` makes on the (moved) ``mesh``
    (image pixels), each with strength ``DEPTH * tint_strength(amount)``; the smile's units count
    ``headroom`` of their amount (:func:`facebench.edit.actions.smile_headroom`: a smile the photo
    already shows deepens its folds only as much as its corners still rise)."""
    m = np.asarray(mesh, np.float64)[:, :2]
    aus = {k: v * headroom if _unit(k) in SMILE_UNITS else v for k, v in aus.items()}
    out: list[Crease] = []
    thin = max(0.016 * iod, 1.2)
    for (pts, toward), side in zip(nasolabial_curves(m, iod), "RL"):
        a = tint_strength(max(amount(aus, DRIVERS["nasolabial"], side), 0.0))
        if a > 0:
            out.append(Crease(pts, -DEPTH["nasolabial"] * a, (0.025 * iod, 0.07 * iod), toward,
                              ends=(0.15, 0.45)))
        b = tint_strength(max(amount(aus, DRIVERS["cheek"], side), 0.0))
        if b > 0:
            out.append(Crease(pts, DEPTH["cheek"] * b, (0.08 * iod, 0.12 * iod), toward,
                              offset=0.13 * iod, ends=(0.25, 0.45)))
    up = m[10] - m[152]
    up = up / max(float(np.linalg.norm(up)), 1e-9)
    rows = np.array([[m[i] for i in row] for row in FOREHEAD_ROWS])  # (3, 9, 2)
    across = np.linspace(0, 1, rows.shape[1])  # subject's right (0) to left (1)
    sides = {s: (tint_strength(max(amount(aus, DRIVERS["forehead_inner"], s), 0.0)),
                 tint_strength(max(amount(aus, DRIVERS["forehead_outer"], s), 0.0))) for s in "RL"}
    # the middle of the forehead folds with the inner brow raiser, its sides with the outer one
    right = np.clip((0.6 - across) / 0.2, 0, 1)  # how much each point belongs to the right side
    inner = right * sides["R"][0] + (1 - right) * sides["L"][0]
    outer = right * sides["R"][1] + (1 - right) * sides["L"][1]
    profile = (inner * bump((across - 0.5) / 0.42)
               + outer * (bump((across - 0.12) / 0.38) + bump((across - 0.88) / 0.38)))
    if profile.max() > 0:
        for k, v in enumerate(FOREHEAD_LINES):
            lo = int(min(np.floor(v), 1))
            row = (1 - (v - lo)) * rows[lo] + (v - lo) * rows[lo + 1]
            out.append(Crease(row, -DEPTH["forehead"], (thin, 1.3 * thin), up, ends=(0.04, 0.04),
                              ripple=0.5, phase=1.7 * k, profile=tuple(profile)))
    for side, (lower, upper) in zip("RL", GLABELLA[:2]):
        a = tint_strength(max(amount(aus, DRIVERS["furrow"], side), 0.0))
        if a <= 0:
            continue
        g_lo, g_mid, g_up = (m[i] for i in GLABELLA[2])
        # from between the lower inner brow ends up past the upper ones, a little nearer the middle
        bottom = 0.55 * g_lo + 0.45 * m[lower]
        top = 0.42 * g_mid + 0.3 * g_up + 0.28 * m[upper]
        sideways = m[upper] - g_mid
        pts = np.array([bottom, 0.5 * (bottom + top) + 0.03 * sideways, top])
        out.append(Crease(pts, -DEPTH["furrow"] * a, (2.0 * thin, 2.0 * thin),
                          sideways / max(float(np.linalg.norm(sideways)), 1e-9),
                          ends=(0.3, 0.35), ripple=0.2, phase=0.6 if side == "R" else 2.2))
    a = tint_strength(max(amount(aus, DRIVERS["nose"]), 0.0))
    if a > 0:
        root, bridge, eye_r, eye_l = (m[i] for i in NOSE_ROOT)
        half = 0.32 * (eye_l - eye_r)
        for k, f in enumerate((0.15, 0.45, 0.75)):
            c = (1 - f) * root + f * bridge
            sag = 0.06 * float(np.linalg.norm(eye_l - eye_r)) * up
            pts = np.array([c - half + sag, c, c + half + sag])
            out.append(Crease(pts, -DEPTH["nose"] * a * (1.0 - 0.2 * k), (thin, 1.3 * thin), up,
                              ends=(0.3, 0.3), ripple=0.3, phase=1.1 * k))
    return out


def relax_bands(mesh: np.ndarray, aus: Mapping[str, float], iod: float) -> list[Crease]:
    """Bands (as creases of strength = the relaxed fraction in [0, 1]) around the photo's folds
    that relaxing units fade: along each nasolabial fold, and around each mouth corner, where a
    smile bunches the cheek into a shadow."""
    m = np.asarray(mesh, np.float64)[:, :2]
    out = []
    centre = m[list(MOUTH_CORNERS)].mean(0)
    for (pts, toward), side, corner in zip(nasolabial_curves(m, iod), "RL", MOUTH_CORNERS[:2]):
        f = RELAX_MAX * float(np.clip(amount(aus, RELAXERS["nasolabial"], side), 0.0, 1.0))
        if f > 0:
            out.append(Crease(pts, f, (0.06 * iod, 0.18 * iod), toward, offset=0.02 * iod, ends=(0.1, 0.3)))
            outward = m[corner] - centre
            outward = outward / max(float(np.linalg.norm(outward)), 1e-9)
            stub = np.array([m[corner], m[corner] + 0.1 * iod * outward])
            normal = np.array([-outward[1], outward[0]])
            out.append(Crease(stub, f, (0.1 * iod, 0.1 * iod), normal, ends=(0.0, 0.0)))
    return out


def _blur_outside(img: np.ndarray, keep: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of ``img`` that only averages pixels where ``keep`` is 1 (normalised
    convolution: ``G(img * keep) / G(keep)``), so the lips do not bleed into the skin."""
    num = cv2.GaussianBlur(img * keep[..., None], (0, 0), sigma)
    den = cv2.GaussianBlur(keep, (0, 0), sigma)[..., None]
    return num / np.maximum(den, 1e-3)


def _blur_reach(sigma: float) -> int:
    """Pixels beyond which a Gaussian blur of ``sigma`` (OpenCV's kernel, 4 sigma each side)
    looks no farther."""
    return int(np.ceil(4.0 * sigma)) + 2


def _soft_mask(mask: np.ndarray, box: tuple[int, int, int, int], iod: float) -> np.ndarray:
    """The face mask on the crop ``box``, its edge eased in over about 0.03 x the eye-corner
    distance inside (exactly 0 outside the mask)."""
    x0, y0, x1, y1 = box
    hard = mask[y0:y1, x0:x1].astype(np.float32)
    return cv2.GaussianBlur(hard, (0, 0), max(0.5, 0.015 * iod)) * hard


def fold_headroom(own: np.ndarray) -> float:
    """How much new fold a smile may add to a face (``own``: its mesh in the canonical frame):
    ``(h - m) / (1 - m)`` of its cheek raise's (AU6) smile headroom ``h`` (floor ``m = SMILE_HEADROOM_MIN['AU6']``)
    (:func:`facebench.edit.actions.smile_headroom`), so 1 on a neutral face and 0 on one that
    already smiles at the apex -- its folds are the photo's own, carried by the warp. (Adding
    them anyway, at ``h``, moved the re-analysed mesh of PixelSmile's smiling happy source away
    from its frame 27: tests/edit/test_motion.py's happy ratio went from 0.95 to 1.03.)"""
    h = smile_headroom(own, "AU6")  # the cheek raise's (linear) headroom: the fold rises with the cheek
    floor = SMILE_HEADROOM_MIN["AU6"]
    return float(np.clip((h - floor) / (1.0 - floor), 0.0, 1.0))


@dataclass
class FoldSetup:
    """What :func:`shade` needs of one source photo, whatever the edit: its light direction
    (:func:`face_light`), skin-colour gains (:func:`channel_gain`) and the face mask with its eased
    edge (:func:`_soft_mask`), each computed on first use and then kept (the offline editor keeps
    one per prepared face)."""

    photo: np.ndarray
    face_mask: np.ndarray  # bool, image-sized
    iod: float

    @cached_property
    def light(self) -> np.ndarray:
        return face_light(self.photo, self.face_mask, self.iod)

    @cached_property
    def gain(self) -> np.ndarray:
        return channel_gain(self.photo, self.face_mask)

    @cached_property
    def soft(self) -> np.ndarray:
        """:func:`_soft_mask` over the whole image (a crop of it equals the crop's own
        :func:`_soft_mask` except within the blur's reach of the crop's edge, where no crease
        or relaxed band reaches: :func:`shade`'s box is 0.35 x the eye-corner distance wider
        than its curves, their support at most 0.25 + a pixel, the blur's reach 0.06 -- for a face
        over ~40 pixels between the eye corners)."""
        h, w = self.face_mask.shape[:2]
        return _soft_mask(self.face_mask, (0, 0, w, h), self.iod)


def fold_setup(photo: np.ndarray, face_mask: np.ndarray, iod: float) -> FoldSetup:
    """The per-source part of :func:`shade` for ``photo`` and its (bool, image-sized) ``face_mask``."""
    return FoldSetup(photo, np.asarray(face_mask, bool), float(iod))


def shade(canvas: np.ndarray, photo: np.ndarray, face_mask: "np.ndarray | None", moved: np.ndarray,
          aus: Mapping[str, float], iod: float, *, own: "np.ndarray | None" = None,
          setup: "FoldSetup | None" = None) -> dict[str, int]:
    """In place on the float32 ``canvas`` (the warped face): fade the photo's folds that the
    relaxing units take away, then shade the creases the acting units make (module docstring).
    ``photo`` (the unedited image) gives the light's direction, ``face_mask`` (bool, image-sized;
    None: the moved mesh's outline) bounds every change, ``moved`` is the edited mesh in pixels.
    ``own``: the person's mesh in the canonical frame, whose :func:`fold_headroom` limits the
    smile's folds (None: no limit). ``setup``: :func:`fold_setup` of ``photo`` and ``face_mask``
    kept from an earlier call on the same source (None: computed here). Returns how many creases
    and relaxed bands were drawn."""
    folds = creases(moved, aus, iod, fold_headroom(own) if own is not None else 1.0)
    bands = relax_bands(moved, aus, iod)
    if not folds and not bands:
        return {"creases": 0, "relaxed": 0}
    h, w = canvas.shape[:2]
    if setup is None:
        if face_mask is None:
            face_mask = np.zeros((h, w), np.uint8)
            cv2.fillPoly(face_mask, [np.round(np.asarray(moved)[list(FACE_OVAL), :2]).astype(np.int32)], 1)
        setup = fold_setup(photo, face_mask, iod)
    reach = 0.35 * iod
    pts = np.vstack([c.points for c in folds + bands])
    x0, y0 = np.maximum(np.floor(pts.min(0) - reach).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(pts.max(0) + reach).astype(int) + 1, [w, h])
    if x1 <= x0 or y1 <= y0:
        return {"creases": 0, "relaxed": 0}
    box = (int(x0), int(y0), int(x1), int(y1))
    inside = setup.soft[y0:y1, x0:x1]
    sub = canvas[y0:y1, x0:x1]
    if bands:
        # the lips (and the mouth inside them) are neither flattened nor averaged into the skin
        lips = np.zeros(sub.shape[:2], np.float32)
        cv2.fillPoly(lips, [np.round(np.asarray(moved)[list(LIPS_OUTER), :2] - [x0, y0]).astype(np.int32)], 1.0)
        lips = np.clip(cv2.GaussianBlur(lips, (0, 0), max(0.5, 0.01 * iod)) * 2.0, 0, 1)
        skin = 1.0 - lips
        power = _accumulate(bands, box, np.zeros(2), combine="max") * skin * inside
        ys, xs = np.nonzero(power > 0)
        if len(xs):
            # the ratio is needed only where the bands reach (elsewhere ``ratio ** 0`` is 1): each
            # blur runs over that box widened by its own reach, cut at the crop's edge
            bx0, by0, bx1, by1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
            blurred = []
            for sigma in (COARSE * iod, max(0.5, FINE * iod)):
                r = _blur_reach(sigma)
                cx0, cy0 = max(bx0 - r, 0), max(by0 - r, 0)
                cx1, cy1 = min(bx1 + r, x1 - x0), min(by1 + r, y1 - y0)
                level = np.maximum(sub[cy0:cy1, cx0:cx1], 1.0)
                b = _blur_outside(level, skin[cy0:cy1, cx0:cx1], sigma)
                blurred.append(b[by0 - cy0:by1 - cy0, bx0 - cx0:bx1 - cx0])
            ratio = np.clip(blurred[0] / np.maximum(blurred[1], 1e-3), 0.7, 1.4)
            sub[by0:by1, bx0:bx1] *= (ratio ** power[by0:by1, bx0:bx1, None]).astype(np.float32)
    if folds:
        # I *= float32(1 + clip(M, -M_MAX, M_MAX) * soft mask * channel gain), per pixel
        total = _accumulate(folds, box, setup.light)
        kernels.shade_canvas(canvas, setup.soft, int(x0), int(y0), total, setup.gain, M_MAX)
    return {"creases": len(folds), "relaxed": len(bands)}
