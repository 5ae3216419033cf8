"""Per-pixel loops of the offline editor's renders, compiled by numba (:func:`facebench.base.jit.kernel`).

Each kernel does, pixel by pixel, the arithmetic that :mod:`facebench.edit.folds` states as
formulas, in the same order of operations (no fastmath, no fused multiply-adds), so that its
floats are the ones of the straightforward array expressions (tests/edit/test_folds.py compares
them with per-pixel numpy references on random curves and on the bundled photos).
"""

from __future__ import annotations

import math

import numpy as np

from ..base.jit import kernel


@kernel
def nearest_on_curve(a: np.ndarray, seg: np.ndarray, length: np.ndarray, cum: np.ndarray,
                     normal: np.ndarray, box: np.ndarray, reach: float, group: int,
                     signed: np.ndarray, along: np.ndarray, nx: np.ndarray, ny: np.ndarray) -> None:
    """Fill ``signed``, ``along``, ``nx``, ``ny`` (each of ``box``'s shape, ``box`` = x0, y0, x1,
    y1) as :func:`facebench.edit.folds._nearest_on_curve` defines them, for the polyline with
    segments ``a[k] -> a[k] + seg[k]`` (``length`` clamped at 1e-9, ``cum`` its running sum from
    0, ``normal`` the unit normals). Per segment ``t = clip((px sx + py sy) / (ln ln), 0, 1)``,
    ``d2 = (px - t sx)^2 + (py - t sy)^2``; within a group of ``group`` segments (the pixels of
    its ends' box widened by ``reach``) the first at the least ``d2`` wins, across groups only a
    strictly closer one replaces it; pixels in no window keep ``2 reach`` and zeros."""
    x0, y0, x1, y1 = box[0], box[1], box[2], box[3]
    h, w = y1 - y0, x1 - x0
    best = np.full((h, w), np.inf)
    signed[:, :] = 2.0 * reach
    along[:, :] = 0.0
    nx[:, :] = 0.0
    ny[:, :] = 0.0
    n = seg.shape[0]
    total = cum[n]
    for s in range(0, n, group):
        e = min(s + group, n)
        lo_x, lo_y, hi_x, hi_y = np.inf, np.inf, -np.inf, -np.inf
        for k in range(s, e):
            for px, py in ((a[k, 0], a[k, 1]), (a[k, 0] + seg[k, 0], a[k, 1] + seg[k, 1])):
                lo_x, lo_y = min(lo_x, px), min(lo_y, py)
                hi_x, hi_y = max(hi_x, px), max(hi_y, py)
        wx0, wy0 = max(int(math.floor(lo_x - reach)), x0), max(int(math.floor(lo_y - reach)), y0)
        wx1, wy1 = min(int(math.ceil(hi_x + reach)) + 1, x1), min(int(math.ceil(hi_y + reach)) + 1, y1)
        for yy in range(wy0, wy1):
            gy = float(yy)
            for xx in range(wx0, wx1):
                gx = float(xx)
                kb, db, tb, exb, eyb = -1, np.inf, 0.0, 0.0, 0.0
                for k in range(s, e):
                    px, py = gx - a[k, 0], gy - a[k, 1]
                    sx, sy, ln = seg[k, 0], seg[k, 1], length[k]
                    t = (px * sx + py * sy) / (ln * ln)
                    t = min(max(t, 0.0), 1.0)
                    ex, ey = px - t * sx, py - t * sy
                    d2 = ex * ex + ey * ey
                    if kb < 0 or d2 < db:
                        kb, db, tb, exb, eyb = k, d2, t, ex, ey
                i, j = yy - y0, xx - x0
                if db < best[i, j]:
                    best[i, j] = db
                    n0, n1 = normal[kb, 0], normal[kb, 1]
                    side = 1.0 if exb * n0 + eyb * n1 >= 0 else -1.0
                    signed[i, j] = side * math.sqrt(db)
                    along[i, j] = (cum[kb] + tb * length[kb]) / total
                    nx[i, j] = n0
                    ny[i, j] = n1


@kernel
def _interp(x: float, xp: np.ndarray, fp: np.ndarray) -> float:
    """numpy.interp at one ``x`` (``xp`` increasing, at least 2 long), by its arithmetic: ``fp[0]``
    left of ``xp``, ``fp[-1]`` right of it and at its last point, ``fp[j]`` at ``xp[j]``, else
    ``(fp[j+1] - fp[j]) / (xp[j+1] - xp[j]) * (x - xp[j]) + fp[j]`` with ``xp[j] <= x < xp[j+1]``."""
    n = xp.shape[0]
    if x < xp[0]:
        return fp[0]
    if x >= xp[n - 1]:
        return fp[n - 1]
    j = np.searchsorted(xp, x, side="right") - 1
    if xp[j] == x:
        return fp[j]
    slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
    return slope * (x - xp[j]) + fp[j]


@kernel
def _smoothstep_clip(x: float) -> float:
    """``a * a * (3 - 2 a)`` for ``a = clip(x, 0, 1)``."""
    a = min(max(x, 0.0), 1.0)
    return a * a * (3 - 2 * a)


@kernel
def shade_crease(out: np.ndarray, origin: np.ndarray, combine_max: bool,
                 a: np.ndarray, seg: np.ndarray, length: np.ndarray, cum: np.ndarray,
                 normal: np.ndarray, box: np.ndarray, reach: float, group: int,
                 flip: float, offset: float, w_minus: float, w_plus: float, start: float, end: float,
                 ripple_half: float, wave: float, phase: float, xp: np.ndarray, profile: np.ndarray,
                 strength: float, light: np.ndarray, k_light: float) -> None:
    """Add (``combine_max``: take the maximum with) one crease's term of ``M`` into ``out`` (whose
    pixel (0, 0) is at ``origin``) over ``box`` (x0, y0, x1, y1, inside ``out``), as
    :func:`facebench.edit.folds.crease_shading` defines it: from :func:`nearest_on_curve`'s
    ``(s, t, n)``, ``d = flip s - offset``, ``u = d / w_-`` or ``d / w_+``, the taper
    ``S(t / start) S((1 - t) / end)`` (``S(a) = a^2 (3 - 2a)`` of the clipped ``a``; 1 for a 0
    end), times ``1 - ripple_half (1 + sin(wave t + phase))`` (``ripple_half`` 0: none), times the
    ``profile`` interpolated at ``t`` over ``xp`` (empty: none), and
    ``strength * along * (bump(u) - k_light * facing * bump'(u))`` with
    ``facing = flip (l_x n_x + l_y n_y)``. A pixel with ``|u| >= 1`` adds nothing (its term is +-0)."""
    x0, y0, x1, y1 = box[0], box[1], box[2], box[3]
    h, w = y1 - y0, x1 - x0
    signed = np.empty((h, w))
    along = np.empty((h, w))
    nx = np.empty((h, w))
    ny = np.empty((h, w))
    nearest_on_curve(a, seg, length, cum, normal, box, reach, group, signed, along, nx, ny)
    oy, ox = y0 - origin[1], x0 - origin[0]
    for i in range(h):
        for j in range(w):
            d = flip * signed[i, j] - offset
            u = d / w_minus if d < 0 else d / w_plus
            v = 1.0 - u * u
            if v <= 0.0:
                continue
            t = along[i, j]
            taper_a = _smoothstep_clip(t / start) if start > 0 else 1.0
            taper_b = _smoothstep_clip((1 - t) / end) if end > 0 else 1.0
            f = taper_a * taper_b
            if ripple_half != 0.0:
                f = f * (1.0 - ripple_half * (1 + math.sin(wave * t + phase)))
            if profile.shape[0] > 0:
                f = f * _interp(t, xp, profile)
            facing = flip * (light[0] * nx[i, j] + light[1] * ny[i, j])
            b = v * v * v
            slope = -6.0 * u * v * v
            term = strength * f * (b - k_light * facing * slope)
            if combine_max:
                out[oy + i, ox + j] = max(out[oy + i, ox + j], term)
            else:
                out[oy + i, ox + j] += term
