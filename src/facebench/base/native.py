"""Silencing native libraries that write to file descriptor 2 (MediaPipe's TFLite runtime, absl).

Python's ``sys.stderr`` cannot hide these messages: they come from C++ straight to the process's
descriptor 2, so :func:`quiet_native_stderr` points that descriptor at ``/dev/null`` for a while.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import Iterator

_QUIET_LOCK = threading.Lock()
_QUIET_STATE = {"depth": 0, "saved": -1}


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration (MediaPipe's C++ code logs TFLite and
    absl notices there when graphs are built and first run, which would garble one-line error
    output). Nested and concurrent uses share one redirection; Python exceptions are unaffected:
    they print after the descriptor is restored."""
    with _QUIET_LOCK:
        if _QUIET_STATE["depth"] == 0:
            try:
                sys.stderr.flush()
                saved = os.dup(2)
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 2)
                os.close(devnull)
                _QUIET_STATE["saved"] = saved
            except (OSError, ValueError):  # no usable fd 2: nothing to silence
                _QUIET_STATE["saved"] = -1
        _QUIET_STATE["depth"] += 1
    try:
        yield
    finally:
        with _QUIET_LOCK:
            _QUIET_STATE["depth"] -= 1
            if _QUIET_STATE["depth"] == 0 and _QUIET_STATE["saved"] >= 0:
                os.dup2(_QUIET_STATE["saved"], 2)
                os.close(_QUIET_STATE["saved"])
                _QUIET_STATE["saved"] = -1
