"""Where benchmark work runs: in this process, in local worker processes or threads, or on Ray.

An :class:`Executor` takes a list of units and a module-level function ``fn(unit) -> dict`` and yields
``(index, outcome)`` as units finish, in completion order, so the runner can commit each result
the moment it exists. ``fn`` reports failures in its outcome (``{"ok": False, "reason": ...}``);
an exception escaping ``fn`` is turned into such an outcome too (:func:`safe_call`), so one bad
item never stops a run. Progress is shown with tqdm.

- ``serial``: one by one in this process (default; models load once).
- ``processes``: ``workers`` local processes (spawned; each loads its own models, torch limited to
  one thread), at most ``4 * workers`` units in flight. Workers die with their parent: on Linux
  the kernel sends them SIGKILL when it dies (``PR_SET_PDEATHSIG``), elsewhere a watchdog thread
  notices the new parent id within a second; so a SIGKILLed run leaves no worker (nor, once they are
  gone, multiprocessing's resource tracker) behind. When a run stops on an exception (SIGTERM
  turned into ``SystemExit`` by :func:`facebench.bench.lifecycle.sigterm_as_exit`, Ctrl-C), the
  workers are terminated instead of waited for.
- ``threads``: ``workers`` threads -- for HTTP editors and judges, which mostly wait.
- ``ray``: Ray tasks on the cluster at ``ray_address`` or, when None, a local Ray instance with
  ``workers`` CPUs started (and stopped) by the run. Needs ``pip install ray``.
"""

from __future__ import annotations

import concurrent.futures as cf
import ctypes
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import traceback
from typing import Any, Callable, Iterator, Sequence

from tqdm.auto import tqdm

EXECUTORS: tuple[str, ...] = ("serial", "processes", "threads", "ray")
Outcome = dict[str, Any]

#: The most local worker processes a run starts unless told otherwise (each loads its own models).
MAX_DEFAULT_WORKERS = 4


def default_workers() -> int:
    """Local workers for a run that does not say: one per CPU this process may use
    (``os.sched_getaffinity`` where there is one), at most :data:`MAX_DEFAULT_WORKERS` -- so 2 on
    a 2-core laptop, where a run's CPU-bound stages (edits, judgements, identity) then take
    about half the time of a serial run."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_DEFAULT_WORKERS))


def safe_call(fn: Callable[[Any], Outcome], unit: Any) -> Outcome:
    """``fn(unit)``, with any :class:`Exception` turned into ``{"ok": False, "reason": ...}``."""
    try:
        return fn(unit)
    except Exception as exc:  # noqa: BLE001 - one bad item must not stop the run
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return {"ok": False, "reason": f"{type(exc).__name__}: {msg} ({os.path.basename(where.filename)}:{where.lineno})"}


_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Make this (worker) process end when ``parent_pid`` -- its parent -- ends: the kernel's
    parent-death signal on Linux, plus a watchdog thread polling the parent id every 0.5 s (other
    systems, and the window before the signal was armed)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no prctl: the watchdog still works
            pass
    if os.getppid() != parent_pid:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="facebench-parent-watch", daemon=True).start()


def _init_worker(parent_pid: int) -> None:
    die_with_parent(parent_pid)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass


def _single_torch_thread() -> Callable[[], None] | None:
    """Run torch on one thread while a run lasts (returns the undo). The models judged per item are
    small; torch's thread pool makes them several times slower, badly so on a busy machine
    (measured 0.12 s vs 0.64 s per classification on 2 loaded cores)."""
    try:
        import torch
    except ImportError:  # pragma: no cover
        return None
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    return lambda: torch.set_num_threads(before)


class Executor:
    """Runs units of work; one per benchmark run, so a process pool or a Ray instance is started
    once and reused by every stage. Use as a context manager (or call :meth:`close`)."""

    def __init__(self, kind: str = "serial", workers: int = 1, ray_address: str | None = None) -> None:
        if kind not in EXECUTORS:
            raise ValueError(f"unknown executor {kind!r}; expected one of {', '.join(EXECUTORS)}")
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.kind, self.workers, self.ray_address = kind, workers, ray_address
        self._pool: cf.Executor | None = None
        self._ray_started = False
        self._ray_fn: Any = None
        self._restore = _single_torch_thread() if kind in ("serial", "threads") else None

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        self.close(abort=exc_type is not None)

    def close(self, abort: bool = False) -> None:
        """Stop the workers this executor started and restore torch's thread count; with ``abort``
        (the run is stopping on an exception) worker processes are terminated, not waited for."""
        if self._pool is not None:
            if abort and isinstance(self._pool, cf.ProcessPoolExecutor):
                _terminate_workers(self._pool)
            self._pool.shutdown(wait=not abort, cancel_futures=True)
            self._pool = None
        if self._ray_started:
            import ray

            ray.shutdown()
            self._ray_started = False
        if self._restore is not None:
            self._restore()
            self._restore = None

    def map(self, fn: Callable[[Any], Outcome], units: Sequence[Any], *, desc: str = "",
            progress: bool = True) -> Iterator[tuple[int, Outcome]]:
        """Run ``fn`` over ``units``; yield ``(index, outcome)`` as they finish, with a progress bar."""
        if not units:
            return
        bar = tqdm(total=len(units), desc=desc, unit="item", disable=not progress, leave=True, dynamic_ncols=True)
        try:
            if self.kind == "serial":
                gen = ((i, safe_call(fn, u)) for i, u in enumerate(units))
            elif self.kind == "ray":
                gen = self._ray(fn, units)
            else:
                gen = self._pooled(fn, units)
            for i, out in gen:
                bar.update(1)
                yield i, out
        finally:
            bar.close()

    def _pooled(self, fn: Callable[[Any], Outcome], units: Sequence[Any]) -> Iterator[tuple[int, Outcome]]:
        if self._pool is None:
            if self.kind == "processes":
                self._pool = cf.ProcessPoolExecutor(self.workers, mp_context=mp.get_context("spawn"),
                                                    initializer=_init_worker, initargs=(os.getpid(),))
            else:
                self._pool = cf.ThreadPoolExecutor(self.workers, thread_name_prefix="facebench-bench")
        pool = self._pool
        window = 4 * self.workers
        pending: dict[cf.Future, int] = {}
        nxt = 0
        try:
            while nxt < len(units) or pending:
                while nxt < len(units) and len(pending) < window:
                    pending[pool.submit(safe_call, fn, units[nxt])] = nxt
                    nxt += 1
                done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    i = pending.pop(fut)
                    try:
                        out = fut.result()
                    except Exception as exc:  # noqa: BLE001 - a worker died (e.g. out of memory)
                        out = {"ok": False, "reason": f"worker failed: {type(exc).__name__}: {exc}"}
                    yield i, out
        finally:
            # Futures left pending are not cancelled here: cancelling them and then terminating the
            # workers (close(abort=True)) trips CPython 3.11's pool manager (InvalidStateError while
            # it marks them broken). close() cancels what is still queued via shutdown().
            pending.clear()

    def _ray(self, fn: Callable[[Any], Outcome], units: Sequence[Any]) -> Iterator[tuple[int, Outcome]]:
        try:
            import ray
        except ImportError:
            raise RuntimeError("the ray executor needs Ray: pip install ray") from None
        if not ray.is_initialized():
            if self.ray_address:
                ray.init(address=self.ray_address, log_to_driver=False)
            else:
                ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=False)
            self._ray_started = True
        if self._ray_fn is None:
            self._ray_fn = ray.remote(num_cpus=1)(safe_call)
        window = 4 * self.workers
        refs: dict[Any, int] = {}
        nxt = 0
        try:
            while nxt < len(units) or refs:
                while nxt < len(units) and len(refs) < window:
                    refs[self._ray_fn.remote(fn, units[nxt])] = nxt
                    nxt += 1
                done, _ = ray.wait(list(refs), num_returns=1)
                for ref in done:
                    i = refs.pop(ref)
                    try:
                        out = ray.get(ref)
                    except Exception as exc:  # noqa: BLE001 - a Ray worker died
                        out = {"ok": False, "reason": f"ray task failed: {type(exc).__name__}: {exc}"}
                    yield i, out
        finally:
            for ref in refs:
                ray.cancel(ref)


def _terminate_workers(pool: cf.ProcessPoolExecutor, grace: float = 2.0) -> None:
    """SIGTERM the pool's worker processes, SIGKILL those still alive after ``grace`` seconds.
    (``_processes`` is the executor's own table of its workers; there is no public accessor.)"""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for p in procs:
        if p.is_alive():
            p.terminate()
    end = time.monotonic() + grace
    for p in procs:
        p.join(max(0.0, end - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join(1.0)


def run_units(fn: Callable[[Any], Outcome], units: Sequence[Any], *, executor: str = "serial",
              workers: int = 1, desc: str = "", progress: bool = True,
              ray_address: str | None = None) -> Iterator[tuple[int, Outcome]]:
    """One-off :meth:`Executor.map` (starts and stops its own workers)."""
    with Executor(executor, workers, ray_address) as ex:
        yield from ex.map(fn, units, desc=desc, progress=progress)
