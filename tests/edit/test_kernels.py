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


def _strided(rng: np.random.Generator, shape: tuple[int, ...], make) -> tuple[np.ndarray, np.ndarray]:
    """An array of ``shape`` cut out of a larger one (a non-contiguous view, as the renders pass
    crops of the image), and its parent."""
    parent = make((shape[0] + 5, shape[1] + 7) + shape[2:])
    return parent[2:2 + shape[0], 3:3 + shape[1]], parent


def test_paste_rounded_is_numpys_round_clip_cast_within_the_mask():
    rng = np.random.default_rng(2)
    for _ in range(40):
        h, w = (int(v) for v in rng.integers(1, 50, 2))
        canvas = rng.uniform(-30, 290, (h, w, 3)).astype(np.float32)
        halves = rng.random(canvas.shape) < 0.3  # exact halves: numpy rounds them to even
        canvas[halves] = np.floor(canvas[halves]) + 0.5
        mask = rng.random((h, w)) < 0.6
        want, _ = _strided(rng, (h, w, 3), lambda s: rng.integers(0, 256, s, dtype=np.uint8))
        got = want.copy()
        np.copyto(want, np.clip(np.round(canvas), 0, 255).astype(np.uint8), where=mask[..., None])
        kernels.paste_rounded(got, canvas, mask)
        assert np.array_equal(got, want)
    assert (np.round(canvas[halves]) % 2 == 0).all()


def test_copy_where_is_numpys_copyto_with_a_mask():
    rng = np.random.default_rng(3)
    for _ in range(20):
        h, w = (int(v) for v in rng.integers(1, 50, 2))
        src = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        mask = rng.random((h, w)) < 0.5
        dst, parent = _strided(rng, (h, w, 3), lambda s: rng.integers(0, 256, s, dtype=np.uint8))
        want = parent.copy()
        np.copyto(want[2:2 + h, 3:3 + w], src, where=mask[..., None])
        kernels.copy_where(dst, src, mask)
        assert np.array_equal(parent, want)


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
            "d = np.zeros((2, 2, 3), np.uint8); kernels.copy_where(d, d + 1, np.ones((2, 2), bool)); "
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
