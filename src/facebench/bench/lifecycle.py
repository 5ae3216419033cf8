"""One benchmark run per output folder, and a clean stop on SIGTERM.

- :class:`RunLock`: ``<out>/.facebench-run.lock`` is held (``flock``, exclusive, non-blocking) for
  the whole run and names its holder (pid, host, start time, command line). A second run on the same
  folder is refused with one line naming the holder (:class:`RunLocked`). The kernel drops the lock
  when its process dies, however it dies, so a lock file left by a killed run is *stale*: the next
  run takes it over and says whose it was. (``flock`` is local to one machine: two hosts sharing
  the folder over NFS are not kept apart.)
- :func:`sigterm_as_exit`: while a run lasts, SIGTERM raises ``SystemExit(143)`` in the main thread,
  so ``finally`` blocks run: workers are terminated (:meth:`.executors.Executor.close`), the cache
  is left consistent (every finished item is already committed) and the lock is released.
- :func:`one_run_per_folder`: both, around a function with an ``out`` argument
  (:func:`facebench.bench.run_and_report`).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import inspect
import json
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from ..base.errors import UserError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".facebench-run.lock"


class RunLocked(UserError, RuntimeError):
    """Another run holds the output folder; ``str`` is one line naming it."""


def _holder_text() -> str:
    return json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                       "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "command": " ".join(sys.argv)[:300]})


def _describe(text: str) -> str:
    try:
        h = json.loads(text)
        return f"pid {h['pid']} on {h['host']}, started {h['started']}: {h['command']}"
    except (ValueError, KeyError, TypeError):
        return "an unknown holder"


class RunLock:
    """Exclusive hold on one run folder for the duration of a ``with`` block (see module doc).

    ``stale`` is set after entering when a lock file left by a dead run was taken over (its
    holder's description), else None.
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.stale: str | None = None
        self._fd: int | None = None

    def __enter__(self) -> "RunLock":
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            previous = os.read(fd, 4096).decode("utf-8", "replace")
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as exc:
                    if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                        raise
                    raise RunLocked(f"{self.folder}: another bench run is using this folder "
                                    f"({_describe(previous)}); wait for it or use another --out") from None
            self.stale = _describe(previous) if previous.strip() else None
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, _holder_text().encode())
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)  # an empty lock file: the run ended normally, nothing stale
        finally:
            os.close(self._fd)  # releases the flock
            self._fd = None


@contextlib.contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """Within the block, SIGTERM raises ``SystemExit(128 + 15)`` in the main thread (so cleanup
    runs); outside the main thread this is a no-op. The previous handler is restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


F = TypeVar("F", bound=Callable[..., Any])


def one_run_per_folder(fn: F) -> F:
    """Run ``fn`` holding :class:`RunLock` on its ``out`` argument, with :func:`sigterm_as_exit`;
    a stale lock taken over is said on stderr (the previous run's outputs may be partial)."""
    sig = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        out = sig.bind(*args, **kwargs).arguments["out"]
        with RunLock(out) as lock, sigterm_as_exit():
            if lock.stale:
                print(f"note: {out}: took over the lock of a run that did not finish ({lock.stale})",
                      file=sys.stderr)
            return fn(*args, **kwargs)

    return wrapped  # type: ignore[return-value]
