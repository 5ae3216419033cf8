"""The compiled per-pixel kernels of the renders (facebench.edit.kernels) give numpy's results
bit for bit on random inputs (the crease kernels: tests/edit/test_folds.py), and their machine
code is cached where facebench.base.jit says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from facebench.base import jit
from facebench.edit import kernels


def test_paste_rounded_is_numpys_round_clip_cast_within_the_mask():
    rng = np.random.default_rng(2)
    for _ in range(40):
        h, w = (int(v) for v in rng.integers(8, 50, 2))
        canvas = rng.uniform(-30, 290, (h, w, 3)).astype(np.float32)
        halves = rng.random(canvas.shape) < 0.3  # exact halves: numpy rounds them to even
        canvas[halves] = np.floor(canvas[halves]) + 0.5
        mask = rng.random((h, w)) < 0.6
        x0, y0 = (int(v) for v in rng.integers(0, 4, 2))
        x1, y1 = w - int(rng.integers(0, 4)), h - int(rng.integers(0, 4))
        want = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        got = want.copy()
        np.copyto(want[y0:y1, x0:x1], np.clip(np.round(canvas[y0:y1, x0:x1]), 0, 255).astype(np.uint8),
                  where=mask[y0:y1, x0:x1, None])
        kernels.paste_rounded(got, canvas, mask, np.array([x0, y0, x1, y1]))
        assert np.array_equal(got, want)
    assert (np.round(canvas[halves]) % 2 == 0).all()


def test_copy_where_and_warped_canvas_are_numpys_masked_copies():
    """The warped crop pasted within the mask: into a uint8 crop (numpy's copyto with a mask),
    and into a float32 canvas with the image around it."""
    rng = np.random.default_rng(3)
    for _ in range(20):
        h, w = (int(v) for v in rng.integers(1, 50, 2))
        image = rng.integers(0, 256, (h + 9, w + 6, 3), dtype=np.uint8)
        warped = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        mask = rng.random(image.shape[:2]) < 0.5
        x0, y0 = 4, 7
        want = image.copy()
        np.copyto(want[y0:y0 + h, x0:x0 + w], warped, where=mask[y0:y0 + h, x0:x0 + w, None])
        got = image.copy()
        kernels.copy_where(got[y0:y0 + h, x0:x0 + w], warped, mask, x0, y0)
        assert np.array_equal(got, want)
        canvas = np.zeros(image.shape, np.float32)
        kernels.warped_canvas(canvas, image, warped, mask, x0, y0)
        expect = np.zeros(image.shape, np.float32)
        expect[y0:y0 + h, x0:x0 + w] = want[y0:y0 + h, x0:x0 + w]
        assert np.array_equal(canvas, expect)


def test_backward_maps_are_the_affine_maps_clipped_to_the_source_box():
    """Per pixel, numpy's float64 ``c0 x + c1 y + c2`` clipped to the triangle's source box and
    rounded to float32; pixels of no triangle map to themselves."""
    rng = np.random.default_rng(4)
    n, (h, w), (x0, y0) = 30, (40, 57), (13, 8)
    coef = rng.normal(0, 1, (n, 2, 3)) + np.array([[1, 0, 0], [0, 1, 0]])
    coef[:, :, 2] *= 20
    lo = rng.uniform(0, 40, (n, 2))
    hi = lo + rng.uniform(1, 40, (n, 2))
    tid = rng.integers(-1, n, (h, w)).astype(np.int32)
    mx, my = np.empty((h, w), np.float32), np.empty((h, w), np.float32)
    kernels.backward_maps(tid, coef, lo, hi, x0, y0, mx, my)
    gy, gx = np.mgrid[y0:y0 + h, x0:x0 + w].astype(np.float32)
    t = np.maximum(tid, 0)
    for axis, got, g in ((0, mx, gx), (1, my, gy)):
        c = coef[t, axis]
        want = np.clip(c[..., 0] * gx + c[..., 1] * gy + c[..., 2], lo[t, axis], hi[t, axis])
        want = np.where(tid >= 0, want, g).astype(np.float32)
        assert np.array_equal(got, want)
    assert (tid < 0).any() and not np.array_equal(mx[tid >= 0], gx[tid >= 0])


def test_compiled_kernels_are_cached_in_the_folder_numba_is_given(tmp_path):
    """A fresh process with NUMBA_CACHE_DIR set compiles a kernel and leaves its machine code
    there (what a read-only install falls back to, under the facebench cache folder)."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "jit"))
    code = ("import numpy as np; from facebench.edit import kernels; "
            "d = np.zeros((2, 2, 3), np.uint8); kernels.copy_where(d, d + 1, np.ones((2, 2), bool), 0, 0); "
            "assert d.min() == 1")
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=300)
    assert list((tmp_path / "jit").rglob("kernels.copy_where*.nbi"))


def test_a_read_only_install_caches_kernels_under_the_facebench_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("FACEBENCH_CACHE", str(tmp_path))
    assert jit.jit_cache_dir(Path(kernels.__file__).parent) is None  # this checkout is writable
    monkeypatch.setattr(jit, "_writable", lambda folder: False)
    assert jit.jit_cache_dir() == tmp_path / "numba"
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    assert jit.jit_cache_dir() is None  # numba's own setting wins


def test_shade_canvas_is_the_numpy_product():
    """``I *= float32(1 + clip(M, -0.5, 0.5) * soft * gain)`` over a crop: numpy's floats,
    pixels where nothing changes untouched."""
    rng = np.random.default_rng(6)
    canvas = rng.uniform(0, 255, (70, 90, 3)).astype(np.float32)
    soft = np.clip(rng.uniform(-0.5, 1.5, (70, 90)), 0, 1).astype(np.float32)
    total = rng.normal(0, 0.4, (40, 50))
    total[rng.random(total.shape) < 0.3] = 0.0
    gain = rng.uniform(0.8, 1.2, 3)
    x0, y0 = 17, 9
    want = canvas.copy()
    view = want[y0:y0 + 40, x0:x0 + 50]
    view *= (1.0 + (np.clip(total, -0.5, 0.5) * soft[y0:y0 + 40, x0:x0 + 50])[..., None] * gain).astype(np.float32)
    got = canvas.copy()
    kernels.shade_canvas(got, soft, x0, y0, total, gain, 0.5)
    assert np.array_equal(got, want) and not np.array_equal(got, canvas)


def _lapack_affine(dst: np.ndarray, src: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """The affine maps by numpy's LAPACK solve of ``[x y 1] A = [sx sy]`` per triangle (identity
    where its determinant is within 1e-9 of 0): how MeshWarp.maps solved them before the kernel."""
    m = np.concatenate([dst[tri], np.ones((len(tri), 3, 1))], axis=2)
    safe = np.abs(np.linalg.det(m)) > 1e-9
    coef = np.zeros((len(tri), 2, 3))
    coef[:, 0, 0] = coef[:, 1, 1] = 1.0
    coef[safe] = np.transpose(np.linalg.solve(m[safe], src[tri][safe]), (0, 2, 1))
    return coef


def test_warp_maps_equal_those_of_lapacks_affine_solve_on_the_bundled_photos(editor, portraits):
    """Cramer's rule (the kernel) and LAPACK's LU differ in the last bits of the float64
    coefficients, never in the float32 maps the warp samples with: bit for bit on every render
    of the 12 expressions at alpha 0.5 to 3 (lips and lids meeting) on two portraits."""
    from facebench.edit import ExpressionControl
    from facebench.edit.offline import expressions_supported
    from facebench.edit.warp import MeshWarp

    seen = []
    maps = MeshWarp.maps

    def spy(self, moved):
        seen.append((self, np.array(moved)))
        return maps(self, moved)

    for name in ("astronaut", "feat_surprise"):
        prep = editor.prepare(portraits[name])
        MeshWarp.maps = spy
        try:
            for e in expressions_supported():
                for a in (0.5, 1.5, 3.0):
                    editor.render(prep, ExpressionControl.single(e, a))
        finally:
            MeshWarp.maps = maps
    differing = 0
    for warp, moved in seen:
        mx, my, tid = warp.maps(moved)
        dst = np.vstack([moved, warp.anchors])
        kx, ky = np.empty_like(mx), np.empty_like(my)
        x0, y0 = warp.roi[:2]
        kernels.backward_maps(tid, _lapack_affine(dst, warp._all, warp.tri), warp._src_lo, warp._src_hi,
                              int(x0), int(y0), kx, ky)
        differing += int(((mx != kx) | (my != ky)).sum())
    assert len(seen) == 72 and differing == 0
