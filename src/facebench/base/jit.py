"""Numba's just-in-time compiler for facebench's per-pixel kernels (numba: BSD-2-Clause).

:func:`kernel` compiles a function with ``numba.njit(cache=True, nogil=True)`` (no fastmath, no
parallel: the kernels give the same floats as the numpy arithmetic they replace; without the GIL,
threads -- the studio's server -- render side by side). The first call in a
fresh install compiles (seconds); the machine code is cached on disk, next to the module in
``__pycache__``, or -- when the installed package is read-only -- under ``numba/`` in the
facebench cache folder (``$FACEBENCH_CACHE``, else ``$XDG_CACHE_HOME/facebench`` or
``~/.cache/facebench``), unless ``NUMBA_CACHE_DIR`` names one already. Later processes load it
(tens of milliseconds).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, TypeVar

from .cache import default_cache_dir

F = TypeVar("F", bound=Callable)

_PACKAGE = Path(__file__).resolve().parents[1]


def _writable(folder: Path) -> bool:
    """Whether files can be created in ``folder`` (or in its parent, when it does not exist yet)."""
    while not folder.exists():
        folder = folder.parent
    return os.access(folder, os.W_OK | os.X_OK)


def jit_cache_dir(module_dir: Path = _PACKAGE) -> Path | None:
    """Where the kernels of the modules in ``module_dir`` are cached when its ``__pycache__`` is
    read-only (None: there, or where ``NUMBA_CACHE_DIR`` says)."""
    if os.environ.get("NUMBA_CACHE_DIR") or _writable(module_dir / "__pycache__"):
        return None
    root = default_cache_dir()
    if root is None:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "facebench"
    return root / "numba"


def kernel(fn: F) -> F:
    """``fn`` compiled by numba (``njit(cache=True, nogil=True)``), its machine code cached on
    disk (module docstring)."""
    folder = jit_cache_dir(Path(fn.__code__.co_filename).resolve().parent)
    if folder is not None:
        os.environ["NUMBA_CACHE_DIR"] = str(folder)
    import numba

    if folder is not None:
        numba.config.CACHE_DIR = str(folder)  # numba read its environment when first imported
    return numba.njit(cache=True, nogil=True)(fn)
