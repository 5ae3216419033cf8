"""Per-pixel loops of the offline editor's renders, compiled by numba (:func:`facebench.base.jit.kernel`).

Each kernel does, pixel by pixel, the arithmetic that :mod:`facebench.edit.folds` states as
formulas, in the same order of operations (no fastmath, no fused multiply-adds), so that its
floats are the ones of the straightforward array expressions (tests/edit/test_folds.py compares
them with per-pixel numpy references on random curves and on the bundled photos).

The retouch stage's kernels (:func:`paint_over`, :func:`paint_shaded`, :func:`paint_lining`,
:func:`cavity_colour`, :func:`teeth_shading`, :func:`eye_margins`, :func:`ellipse_exponent`,
:func:`scale_colours`) fuse the mouth's, eyes' and tints' elementwise chains the same way and keep
numpy's types pair by pair (float32 x float32 stays float32); their exponentials, powers and sines
stay numpy's (its SIMD exp and pow differ from the C library's in the last bit), computed before
the kernel is called (tests/edit/test_retouch_kernels.py).
"""

from __future__ import annotations

import math

import numpy as np

from ..base.jit import kernel


@kernel
def _nearest_segments(curve: np.ndarray, seg: np.ndarray, length: np.ndarray, box: np.ndarray,
                      reach: float, best: np.ndarray, index: np.ndarray, t_best: np.ndarray,
                      ex_best: np.ndarray, ey_best: np.ndarray) -> None:
    """For each pixel of ``box`` (x0, y0, x1, y1; the arrays' shape) within ``reach`` (and a
    pixel) of some segment ``curve[k] -> curve[k+1]`` (``seg[k]`` their difference, ``length``
    clamped at 1e-9): the first of those segments at the least squared distance
    ``d2 = (px - t sx)^2 + (py - t sy)^2``, ``t = clip((px sx + py sy) / (ln ln), 0, 1)``
    (``p`` the pixel relative to the segment's start): its ``d2``, index, ``t`` and offset
    ``(px - t sx, py - t sy)``; index -1 where no segment reaches. (Within ``reach`` of the
    curve, the first nearest of all segments.)"""
    x0, y0, x1, y1 = box[0], box[1], box[2], box[3]
    best[:, :] = np.inf
    index[:, :] = -1
    for k in range(seg.shape[0]):
        ax, ay, bx, by = curve[k, 0], curve[k, 1], curve[k + 1, 0], curve[k + 1, 1]
        sx, sy, ln = seg[k, 0], seg[k, 1], length[k]
        ln2 = ln * ln
        lo_x, hi_x, lo_y, hi_y = min(ax, bx), max(ax, bx), min(ay, by), max(ay, by)
        wy0, wy1 = max(int(math.floor(lo_y - reach)), y0), min(int(math.ceil(hi_y + reach)) + 1, y1)
        for yy in range(wy0, wy1):
            # the row's pixels within reach of the segment lie within half = sqrt(r^2 - dy^2) of
            # its x-range (dy: the row's distance from its y-range; r = reach + 1 for rounding)
            dy = max(lo_y - yy, yy - hi_y, 0.0)
            half = math.sqrt(max((reach + 1.0) * (reach + 1.0) - dy * dy, 0.0))
            wx0, wx1 = max(int(math.floor(lo_x - half)), x0), min(int(math.ceil(hi_x + half)) + 1, x1)
            py = float(yy) - ay
            i = yy - y0
            for xx in range(wx0, wx1):
                px = float(xx) - ax
                t = (px * sx + py * sy) / ln2
                t = min(max(t, 0.0), 1.0)
                ex, ey = px - t * sx, py - t * sy
                d2 = ex * ex + ey * ey
                j = xx - x0
                if d2 < best[i, j]:
                    best[i, j] = d2
                    index[i, j] = k
                    t_best[i, j] = t
                    ex_best[i, j] = ex
                    ey_best[i, j] = ey


@kernel
def nearest_on_curve(curve: np.ndarray, seg: np.ndarray, length: np.ndarray, cum: np.ndarray,
                     normal: np.ndarray, box: np.ndarray, reach: float,
                     signed: np.ndarray, along: np.ndarray, nx: np.ndarray, ny: np.ndarray) -> None:
    """Fill ``signed``, ``along``, ``nx``, ``ny`` (each of ``box``'s shape, ``box`` = x0, y0, x1,
    y1) as :func:`facebench.edit.folds._nearest_on_curve` defines them, from
    :func:`_nearest_segments`' winner ``k`` (``cum`` the lengths' running sum from 0, ``normal``
    the segments' unit normals): ``signed = +-sqrt(d2)`` (+ where the offset from the segment
    has a non-negative dot product with ``normal[k]``), ``along = (cum[k] + t length[k]) /
    cum[-1]``, ``(nx, ny) = normal[k]``; ``2 reach`` and zeros where no segment reaches."""
    h, w = signed.shape
    best = np.empty((h, w))
    index = np.empty((h, w), np.int64)
    t_best = np.empty((h, w))
    ex_best = np.empty((h, w))
    ey_best = np.empty((h, w))
    _nearest_segments(curve, seg, length, box, reach, best, index, t_best, ex_best, ey_best)
    total = cum[seg.shape[0]]
    for i in range(h):
        for j in range(w):
            k = index[i, j]
            if k < 0:
                signed[i, j], along[i, j], nx[i, j], ny[i, j] = 2.0 * reach, 0.0, 0.0, 0.0
                continue
            n0, n1 = normal[k, 0], normal[k, 1]
            side = 1.0 if ex_best[i, j] * n0 + ey_best[i, j] * n1 >= 0 else -1.0
            signed[i, j] = side * math.sqrt(best[i, j])
            along[i, j] = (cum[k] + t_best[i, j] * length[k]) / total
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
                 curve: np.ndarray, seg: np.ndarray, length: np.ndarray, cum: np.ndarray,
                 normal: np.ndarray, box: np.ndarray, reach: float,
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
    nearest_on_curve(curve, seg, length, cum, normal, box, reach, signed, along, nx, ny)
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


@kernel
def backward_maps(tid: np.ndarray, coef: np.ndarray, lo: np.ndarray, hi: np.ndarray, x0: int, y0: int,
                  mx: np.ndarray, my: np.ndarray) -> None:
    """Fill the float32 maps ``mx``, ``my`` (the shape of ``tid``, whose pixel (0, 0) is image
    pixel (x0, y0)) as :meth:`facebench.edit.warp.MeshWarp.maps` defines them: a pixel (x, y) of
    triangle ``k = tid`` samples ``clip(c_k0 x + c_k1 y + c_k2, lo_k, hi_k)`` per coordinate
    (``coef`` (T, 2, 3) the affine maps, ``lo``/``hi`` (T, 2) the source boxes), computed in
    float64 and rounded to float32; a pixel of no triangle (``k < 0``) samples itself."""
    h, w = tid.shape
    for i in range(h):
        y = float(y0 + i)
        for j in range(w):
            x = float(x0 + j)
            k = tid[i, j]
            if k < 0:
                mx[i, j] = x
                my[i, j] = y
                continue
            u = coef[k, 0, 0] * x + coef[k, 0, 1] * y + coef[k, 0, 2]
            v = coef[k, 1, 0] * x + coef[k, 1, 1] * y + coef[k, 1, 2]
            mx[i, j] = min(max(u, lo[k, 0]), hi[k, 0])
            my[i, j] = min(max(v, lo[k, 1]), hi[k, 1])


@kernel
def copy_where(dst: np.ndarray, src: np.ndarray, mask: np.ndarray, x0: int, y0: int) -> None:
    """``dst[i, j, :] = src[i, j, :]`` where ``mask[y0 + i, x0 + j]`` (numpy's ``copyto(dst,
    src, where=...)`` with the mask cut at (x0, y0), without its broadcast mask)."""
    h, w, c = dst.shape
    for i in range(h):
        for j in range(w):
            if mask[y0 + i, x0 + j]:
                for k in range(c):
                    dst[i, j, k] = src[i, j, k]


@kernel
def warped_canvas(canvas: np.ndarray, image: np.ndarray, warped: np.ndarray, mask: np.ndarray,
                  x0: int, y0: int) -> None:
    """``canvas[y0 + i, x0 + j, :] = float32(warped[i, j, :] if mask[y0 + i, x0 + j] else
    image[y0 + i, x0 + j, :])`` over ``warped``'s pixels (the warped crop pasted within the mask)."""
    h, w, c = warped.shape
    for i in range(h):
        for j in range(w):
            if mask[y0 + i, x0 + j]:
                for k in range(c):
                    canvas[y0 + i, x0 + j, k] = np.float32(warped[i, j, k])
            else:
                for k in range(c):
                    canvas[y0 + i, x0 + j, k] = np.float32(image[y0 + i, x0 + j, k])


@kernel
def paste_rounded(dst: np.ndarray, canvas: np.ndarray, mask: np.ndarray, box: np.ndarray) -> None:
    """``dst[y, x, :] = uint8(clip(round(canvas[y, x, :]), 0, 255))`` where ``mask[y, x]``
    within ``box`` (x0, y0, x1, y1), rounding half to even as numpy.round does."""
    for y in range(box[1], box[3]):
        for x in range(box[0], box[2]):
            if mask[y, x]:
                for k in range(dst.shape[2]):
                    dst[y, x, k] = np.uint8(min(max(np.rint(canvas[y, x, k]), 0.0), 255.0))


@kernel
def shade_canvas(canvas: np.ndarray, soft: np.ndarray, x0: int, y0: int, total: np.ndarray,
                 gain: np.ndarray, m_max: float) -> None:
    """In place on the float32 ``canvas``, over ``total``'s pixels (its (0, 0) at image pixel
    (x0, y0)): ``I *= float32(1 + clip(total, -m_max, m_max) * soft * gain_c)`` per channel
    ``c`` (``soft`` image-sized float32, ``gain`` float64); a factor of exactly 1 leaves the
    pixel as it is."""
    h, w = total.shape
    for i in range(h):
        for j in range(w):
            change = min(max(total[i, j], -m_max), m_max) * float(soft[y0 + i, x0 + j])
            if change == 0.0:
                continue
            for c in range(canvas.shape[2]):
                canvas[y0 + i, x0 + j, c] = canvas[y0 + i, x0 + j, c] * np.float32(1.0 + change * gain[c])


@kernel
def affine_dst_to_src(dst: np.ndarray, src: np.ndarray, tri: np.ndarray, coef: np.ndarray) -> None:
    """Per triangle ``(a, b, c)`` of ``tri``, the 2x3 affine map taking its destination corners
    ``dst`` to its source corners ``src`` into ``coef`` (T, 2, 3): with ``e1 = d_b - d_a``,
    ``e2 = d_c - d_a`` and ``det = e1x e2y - e2x e1y`` (twice the signed area), per source
    coordinate ``r`` with ``f1 = s_b,r - s_a,r``, ``f2 = s_c,r - s_a,r`` (Cramer's rule):
    ``p = (f1 e2y - f2 e1y) / det``, ``q = (f2 e1x - f1 e2x) / det``, ``s_r = p x + q y +
    (s_a,r - p d_a,x - q d_a,y)``. A triangle with ``|det| <= 1e-9`` (collapsed) gets the identity."""
    for k in range(tri.shape[0]):
        a, b, c = tri[k, 0], tri[k, 1], tri[k, 2]
        e1x, e1y = dst[b, 0] - dst[a, 0], dst[b, 1] - dst[a, 1]
        e2x, e2y = dst[c, 0] - dst[a, 0], dst[c, 1] - dst[a, 1]
        det = e1x * e2y - e2x * e1y
        if abs(det) <= 1e-9:
            coef[k, 0, 0], coef[k, 0, 1], coef[k, 0, 2] = 1.0, 0.0, 0.0
            coef[k, 1, 0], coef[k, 1, 1], coef[k, 1, 2] = 0.0, 1.0, 0.0
            continue
        for r in range(2):
            f1, f2 = src[b, r] - src[a, r], src[c, r] - src[a, r]
            p = (f1 * e2y - f2 * e1y) / det
            q = (f2 * e1x - f1 * e2x) / det
            coef[k, r, 0], coef[k, r, 1], coef[k, r, 2] = p, q, src[a, r] - p * dst[a, 0] - q * dst[a, 1]


@kernel
def paint_over(layer: np.ndarray, col: np.ndarray, a: np.ndarray, keep: np.ndarray) -> None:
    """In place on the float64 ``layer`` (h, w, 3): ``layer = layer * keep + col * a`` per
    channel (``col`` (h, w, 3), ``a`` and ``keep = 1 - a`` (h, w)) -- painting ``col`` over it
    with opacity ``a`` -- in numpy's order and types (``col * a`` in float32 when both are)."""
    h, w, c = layer.shape
    for i in range(h):
        for j in range(w):
            aa, kk = a[i, j], keep[i, j]
            for k in range(c):
                layer[i, j, k] = layer[i, j, k] * kk + col[i, j, k] * aa


@kernel
def teeth_shading(depth: np.ndarray, rim_e: np.ndarray, body_s: np.ndarray, into: np.ndarray,
                  height: np.ndarray, corner: np.ndarray, round_h: np.ndarray, line_e: np.ndarray,
                  light: np.ndarray, shown: np.ndarray, s: np.ndarray, a: np.ndarray) -> None:
    """The per-pixel products of :func:`facebench.edit.mouth.teeth_row` (float64 throughout,
    its order of operations), given per pixel the ``depth`` into the crown, ``into`` = depth /
    max(height, 1), ``rim_e`` = exp(-max(depth, 0) / r) and ``body_s`` = sin(pi clip(1.5 into,
    0, 1)) (numpy's exp and sin), and per column ``height``, ``corner``, ``round_h``, ``line_e`` =
    0.2 exp(...), ``light`` (x the end's shade) and ``shown`` = clip(8 (1 - v), 0, 1): into ``s``
    the light ``light * line * rim * body * neck * rounded`` with ``line = 1 - line_e (1 - 0.6
    c)``, ``rim = 1 - 0.12 rim_e``, ``body = 0.94 + 0.06 body_s``, ``neck = 1 - 0.12 c^2``,
    ``rounded = 1 - 0.4 corner clip(1 - depth / round_h, 0, 1)`` (``c`` = clip(into, 0, 1)),
    and into ``a`` the alpha ``clip(depth + 0.5, 0, 1) clip((1 - into) height + 0.5, 0, 1) shown``."""
    h, w = depth.shape
    for i in range(h):
        for j in range(w):
            d, t = depth[i, j], into[i, j]
            c = min(max(t, 0.0), 1.0)
            rounded = 1 - 0.4 * corner[j] * min(max(1 - d / round_h[j], 0.0), 1.0)
            line = 1 - line_e[j] * (1 - 0.6 * c)
            rim = 1 - 0.12 * rim_e[i, j]
            body = 0.94 + 0.06 * body_s[i, j]
            neck = 1 - 0.12 * (c * c)
            s[i, j] = light[j] * line * rim * body * neck * rounded
            a[i, j] = min(max(d + 0.5, 0.0), 1.0) * min(max((1 - t) * height[j] + 0.5, 0.0), 1.0) * shown[j]


@kernel
def paint_shaded(layer: np.ndarray, col: np.ndarray, shade: np.ndarray, a: np.ndarray, keep: np.ndarray) -> None:
    """:func:`paint_over` of ``col * shade`` (``shade`` (h, w), per pixel on every channel):
    ``layer = layer * keep + (col * shade) * a``."""
    h, w, c = layer.shape
    for i in range(h):
        for j in range(w):
            aa, kk, ss = a[i, j], keep[i, j], shade[i, j]
            for k in range(c):
                layer[i, j, k] = layer[i, j, k] * kk + (col[i, j, k] * ss) * aa


@kernel
def cavity_colour(out: np.ndarray, near: np.ndarray, far: np.ndarray, t: np.ndarray, keep: np.ndarray,
                  across: np.ndarray, throat: np.ndarray) -> None:
    """Into ``out`` (h, w, 3): ``(near * keep + far * t) * (across * throat)`` per channel, with
    ``keep = 1 - t`` and ``t``, ``throat`` per pixel, ``across`` per column
    (:func:`facebench.edit.mouth.cavity`'s mix of the lit lips and the deep colour, in its order)."""
    h, w, c = out.shape
    for i in range(h):
        for j in range(w):
            tt, kk, f = t[i, j], keep[i, j], across[j] * throat[i, j]
            for k in range(c):
                out[i, j, k] = (near[k] * kk + far[k] * tt) * f


@kernel
def paint_lining(layer: np.ndarray, up: np.ndarray, near: np.ndarray, far: np.ndarray, shade: np.ndarray,
                 a: np.ndarray, keep: np.ndarray) -> None:
    """:func:`paint_over` of ``((1 - up) * near + up * far) * shade`` (``up`` per pixel, ``near``
    and ``far`` colours, ``shade`` (h, w, 3)): the gum fading into the lip's lining above it."""
    h, w, c = layer.shape
    for i in range(h):
        for j in range(w):
            u, aa, kk = up[i, j], a[i, j], keep[i, j]
            for k in range(c):
                col = ((1.0 - u) * near[k] + u * far[k]) * shade[i, j, k]
                layer[i, j, k] = layer[i, j, k] * kk + col * aa


@kernel
def ellipse_exponent(q: np.ndarray, x0: int, y0: int, cx: float, cy: float, c: float, s: float,
                     rx: float, ry: float) -> None:
    """Into ``q`` (its pixel (0, 0) at image pixel (x0, y0)): ``-0.5 (u^2 + v^2)`` with ``u = (c dx
    + s dy) / rx``, ``v = (-s dx + c dy) / ry``, ``(dx, dy)`` the pixel less ``(cx, cy)``: the
    exponent of :func:`facebench.edit.retouch.tint`'s rotated Gaussian ellipse."""
    h, w = q.shape
    for i in range(h):
        dy = float(y0 + i) - cy
        for j in range(w):
            dx = float(x0 + j) - cx
            u = (c * dx + s * dy) / rx
            v = (-s * dx + c * dy) / ry
            q[i, j] = -0.5 * (u * u + v * v)


@kernel
def scale_colours(sub: np.ndarray, a: np.ndarray, g1: np.ndarray) -> None:
    """In place: ``sub *= 1 + a * g1`` per pixel and channel (``a`` per pixel, ``g1`` = gain - 1
    per channel), the product rounded to ``sub``'s type as numpy's assignment does."""
    h, w, c = sub.shape
    for i in range(h):
        for j in range(w):
            for k in range(c):
                sub[i, j, k] = sub[i, j, k] * (1.0 + a[i, j] * g1[k])


@kernel
def eye_margins(out: np.ndarray, layer: np.ndarray, a: np.ndarray, keep: np.ndarray, iris: np.ndarray,
                sclera: np.ndarray, in_iris: np.ndarray, out_iris: np.ndarray, shade: np.ndarray) -> None:
    """Into ``out``: ``layer * keep + ((iris * in_iris + sclera * out_iris) * shade) * a`` per
    pixel and channel (``keep`` = 1 - a, ``out_iris`` = 1 - in_iris): the photo's eye with its
    lid margins repainted flat (:func:`facebench.edit.iris.eye_layer`), in numpy's order and
    types (``layer * keep`` in float32 when both are)."""
    h, w, c = out.shape
    for i in range(h):
        for j in range(w):
            aa, kk, ii, oo, ss = a[i, j], keep[i, j], in_iris[i, j], out_iris[i, j], shade[i, j]
            for k in range(c):
                out[i, j, k] = layer[i, j, k] * kk + ((iris[k] * ii + sclera[k] * oo) * ss) * aa
