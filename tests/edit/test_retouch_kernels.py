"""The retouch stage's kernels (facebench.edit.kernels: the mouth's and eyes' paints, the teeth's
shading, the tints) give the floats of the numpy array expressions they replaced, bit for bit, on
random crops -- the expressions are written out here as the references; the whole layers are
compared between main and a change by benchmarks/bench_edit_speed.py (216 edits)."""

from __future__ import annotations

import numpy as np
import pytest

from facebench.edit import kernels, mouth, retouch


def _same(got: np.ndarray, want: np.ndarray) -> bool:
    return got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want)


def _crop(rng: np.random.Generator) -> tuple[int, int]:
    return tuple(int(v) for v in rng.integers(3, 40, 2))


@pytest.mark.parametrize("a_type", [np.float64, np.float32])
@pytest.mark.parametrize("col_type", [np.float64, np.float32])
def test_paint_over_is_numpys_over_with_its_types(a_type, col_type):
    """``layer * (1 - a) + col * a`` (``col * a`` in float32 when both are float32)."""
    rng = np.random.default_rng(11)
    for _ in range(20):
        h, w = _crop(rng)
        layer = rng.uniform(0, 255, (h, w, 3))
        col = rng.uniform(0, 255, (h, w, 3)).astype(col_type)
        a = rng.uniform(-0.2, 1.2, (h, w)).clip(0, 1).astype(a_type)
        want = layer * (1 - a[..., None]) + col * a[..., None]
        kernels.paint_over(layer, col, a, 1 - a)
        assert _same(layer, want)


def test_paint_shaded_lining_and_cavity_are_their_numpy_expressions():
    rng = np.random.default_rng(12)
    for _ in range(20):
        h, w = _crop(rng)
        layer, col = rng.uniform(0, 255, (2, h, w, 3))
        shade, a, up = rng.uniform(0, 1, (3, h, w))
        want = layer * (1 - a[..., None]) + (col * shade[..., None]) * a[..., None]
        got = layer.copy()
        kernels.paint_shaded(got, col, shade, a, 1 - a)
        assert _same(got, want)
        near, far = rng.uniform(0, 255, (2, 3))
        shade3 = rng.uniform(0, 1, (h, w, 3))
        lining = (1 - up[..., None]) * near[None, None, :] + up[..., None] * far[None, None, :]
        want = layer * (1 - a[..., None]) + (lining * shade3) * a[..., None]
        got = layer.copy()
        kernels.paint_lining(got, up, near, far, shade3, a, 1 - a)
        assert _same(got, want)
        t = rng.uniform(0, 1, (h, w)).astype(np.float32)
        across = rng.uniform(0, 1, w).astype(np.float32)
        throat = rng.uniform(0.5, 1, (h, w))
        want = (near[None, None, :] * (1 - t[..., None]) + far[None, None, :] * t[..., None]) \
            * ((0.9 + 0.1 * across[None, :]) * throat)[..., None]
        got = np.empty((h, w, 3))
        kernels.cavity_colour(got, near, far, t, 1 - t, 0.9 + 0.1 * across, throat)
        assert _same(got, want)


def test_warm_shade_is_the_per_channel_power():
    rng = np.random.default_rng(13)
    for dtype in (np.float64, np.float32):
        s = rng.uniform(-0.1, 1.1, (17, 23)).astype(dtype)
        colour = rng.uniform(0, 255, 3)
        want = colour[None, None, :] * np.clip(s, 1e-3, 1.0)[..., None] ** np.array([0.8, 1.0, 1.3])
        assert _same(mouth.warm_shade(colour, s), want)


def _teeth_row_reference(xs, gy, centre, half, edge, crown, down, teeth, shown):
    """The teeth row as plain numpy expressions (facebench.edit.mouth.teeth_row before its kernel)."""
    u = np.abs(xs - centre) / max(half, 1.0)
    k = np.clip(np.searchsorted(mouth.TOOTH_EDGES, u, side="right") - 1, 0, len(mouth.TOOTH_EDGES) - 2)
    lo, hi = mouth.TOOTH_EDGES[k], mouth.TOOTH_EDGES[k + 1]
    s = np.clip((u - lo) / (hi - lo), 0, 1)
    px_w = (hi - lo) * half
    gap = np.minimum(s, 1 - s) * px_w
    light = (0.9 + 0.1 * np.sin(np.pi * s)) * mouth.TOOTH_LIGHT[np.minimum(k, len(mouth.TOOTH_LIGHT) - 1)]
    light = light * (1 - 0.35 * np.clip(u, 0, 1) ** 2)
    corner = np.clip(1 - gap / np.maximum(0.3 * px_w, 0.5), 0, 1) ** 2
    height = crown * (1 - 0.3 * np.clip(u, 0, 1) ** 2) * (1 - mouth.PAPILLA * corner)
    depth = (gy - edge[None, :]) if down else (edge[None, :] - gy)
    into = depth / np.maximum(height, 1.0)[None, :]
    round_h = np.maximum(np.minimum(0.12 * height, 0.3 * px_w) * corner, 0.5)
    rounded = 1 - 0.4 * corner[None, :] * np.clip(1 - depth / round_h[None, :], 0, 1)
    line = 1 - 0.2 * np.exp(-0.5 * (gap / max(0.02 * half, 0.5)) ** 2)[None, :] * (1 - 0.6 * np.clip(into, 0, 1))
    rim = 1 - 0.12 * np.exp(-np.maximum(depth, 0) / max(0.08 * crown, 0.5))
    body = 0.94 + 0.06 * np.sin(np.pi * np.clip(into * 1.5, 0, 1))
    neck = 1 - 0.12 * np.clip(into, 0, 1) ** 2
    v = np.abs(xs - centre) / max(half if shown is None else min(shown, half), 1.0)
    end = 0.4 + 0.6 * mouth.smoothstep((1 - v) * 4)
    s_all = np.clip((light * end)[None, :] * line * rim * body * neck * rounded, 1e-3, 1.0)[..., None]
    col = teeth[None, None, :] * s_all ** np.array([0.8, 1.0, 1.3])
    a = np.clip(depth + 0.5, 0, 1) * np.clip((1 - into) * height[None, :] + 0.5, 0, 1)
    return col, a * np.clip((1 - v) * 8, 0, 1)[None, :]


def test_teeth_row_is_its_numpy_expressions():
    rng = np.random.default_rng(14)
    for _ in range(30):
        h, w = (int(v) for v in rng.integers(5, 60, 2))
        x0, y0 = (float(v) for v in rng.integers(0, 400, 2))
        gy, gx = retouch.pixel_grid((int(x0), int(y0), int(x0) + w, int(y0) + h))
        xs = gx[0]
        centre = x0 + float(rng.uniform(0.3, 0.7)) * w
        half, crown = float(rng.uniform(0.2, 0.6)) * w, float(rng.uniform(2, 15))
        edge = y0 + rng.uniform(0.2, 0.8, w) * h
        teeth = rng.uniform(150, 250, 3)
        for down in (False, True):
            shown = None if rng.random() < 0.3 else float(rng.uniform(0.5, 1.0)) * half
            got = mouth.teeth_row(xs, gy, centre, half, edge, crown, down, teeth, shown=shown)
            want = _teeth_row_reference(xs, gy, centre, half, edge, crown, down, teeth, shown)
            assert _same(got[0], want[0]) and _same(got[1], want[1])


def test_tint_is_the_gaussian_ellipses_product():
    rng = np.random.default_rng(15)
    for _ in range(20):
        img = rng.uniform(0, 255, (120, 140, 3)).astype(np.float32)
        centre = rng.uniform(20, 120, 2)
        radii = (float(rng.uniform(5, 30)), float(rng.uniform(3, 20)))
        angle, strength = float(rng.uniform(-30, 30)), float(rng.uniform(0.05, 1))
        gain = rng.uniform(0.8, 1.1, 3)
        want = img.copy()
        r = 2.5 * max(radii)
        x0, y0 = int(max(0, centre[0] - r)), int(max(0, centre[1] - r))
        x1, y1 = int(min(140, centre[0] + r + 1)), int(min(120, centre[1] + r + 1))
        gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
        dx, dy = gx - centre[0], gy - centre[1]
        u, v = (c * dx + s * dy) / radii[0], (-s * dx + c * dy) / radii[1]
        a = np.exp(-0.5 * (u * u + v * v)) * strength
        sub = want[y0:y1, x0:x1]
        sub[...] = sub * (1 + a[..., None] * (gain[None, None, :] - 1))
        retouch.tint(img, centre, radii, angle, gain, strength)
        assert _same(img, want)


def test_eye_margins_are_numpys_flat_repaint():
    rng = np.random.default_rng(16)
    for _ in range(20):
        h, w = _crop(rng)
        layer = rng.uniform(0, 255, (h, w, 3)).astype(np.float32)
        a = rng.uniform(0, 1, (h, w)).astype(np.float32)
        in_iris = rng.uniform(-0.3, 1.3, (h, w)).clip(0, 1)
        shade = rng.uniform(0.72, 1, (h, w)).astype(np.float32)
        iris, sclera = rng.uniform(0, 255, (2, 3)).astype(np.float32)
        flat = (iris * in_iris[..., None] + sclera * (1 - in_iris[..., None])) * shade[..., None]
        want = layer * (1 - a[..., None]) + flat * a[..., None]
        got = np.empty(want.shape, want.dtype)
        kernels.eye_margins(got, layer, a, 1 - a, iris, sclera, in_iris, 1 - in_iris, shade)
        assert _same(got, want)


def test_pixel_grid_and_polygon_area_match_mgrid_and_roll():
    rng = np.random.default_rng(17)
    gy, gx = retouch.pixel_grid((3, 5, 40, 29))
    want_y, want_x = np.mgrid[5:29, 3:40].astype(np.float32)
    assert _same(gy, want_y) and _same(gx, want_x)
    for n in (3, 7, 20):
        p = rng.uniform(0, 500, (n, 2))
        x, y = p[:, 0], p[:, 1]
        assert retouch.polygon_area(p) == float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)
