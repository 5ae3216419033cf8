"""A queue for slow editors (PixelSmile on diffusers): one worker runs jobs in order, each
client's newer request supersedes its older queued ones, and the page polls a job's progress.

Progress is what the queue can know without hooking the sampler: the job's place in the queue,
the seconds it has run and an estimate (mean of the last five jobs' durations).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..edit import ExpressionControl
from .photos import Photo


@dataclass
class Job:
    """One edit request in the queue."""

    id: int
    client: str
    photo: Photo
    face: int
    control: ExpressionControl
    status: str = "queued"  # queued | running | done | failed | superseded
    created: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    error: str | None = None
    image: np.ndarray | None = None


class JobQueue:
    """FIFO of edit jobs run by one background thread with ``editor.edit(image, control, face=i)``."""

    def __init__(self, editor: Any, keep: int = 64) -> None:
        self.editor = editor
        self._jobs: OrderedDict[int, Job] = OrderedDict()
        self._queue: deque[Job] = deque()
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self._durations: deque[float] = deque(maxlen=5)
        self.keep = keep
        self._thread: threading.Thread | None = None

    def submit(self, client: str, photo: Photo, face: int, control: ExpressionControl) -> Job:
        """Queue an edit; the same client's jobs still waiting are marked ``superseded``."""
        with self._cond:
            for old in list(self._queue):
                if old.client == client:
                    old.status = "superseded"
                    self._queue.remove(old)
            job = Job(next(self._ids), client, photo, face, control)
            self._jobs[job.id] = job
            while len(self._jobs) > self.keep:
                self._jobs.popitem(last=False)
            self._queue.append(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="studio-jobs", daemon=True)
                self._thread.start()
            self._cond.notify_all()
        return job

    def result(self, photo: Photo, face: int, control: ExpressionControl, timeout: float = 3600.0) -> np.ndarray:
        """The image of a finished job for this photo, face and control, else run one through
        the queue and wait (downloads and read-outs never run the editor beside the worker)."""
        label = control.label()
        with self._cond:
            for job in reversed(self._jobs.values()):
                if (job.status == "done" and job.photo.key == photo.key and job.face == face
                        and job.control.label() == label):
                    return job.image  # type: ignore[return-value]
        job = self.submit(f"result-{time.monotonic_ns()}", photo, face, control)  # never superseded
        with self._cond:
            if not self._cond.wait_for(lambda: job.status in ("done", "failed"), timeout):
                raise TimeoutError(f"the editor did not finish within {timeout:g} s")
        if job.image is None:
            raise RuntimeError(job.error or "the edit failed")
        return job.image

    def get(self, job_id: int) -> Job | None:
        """The job (None when unknown or dropped from the history)."""
        with self._cond:
            return self._jobs.get(int(job_id))

    def progress(self, job: Job) -> dict[str, Any]:
        """``{"id", "status", "ahead", "elapsed_s", "estimate_s", "error"}``."""
        with self._cond:
            ahead = next((i for i, j in enumerate(self._queue) if j is job), None)
            running = any(j.status == "running" for j in self._jobs.values())
            est = sum(self._durations) / len(self._durations) if self._durations else None
        now = time.monotonic()
        elapsed = (job.finished or now) - job.started if job.started else 0.0
        return {"id": job.id, "status": job.status, "ahead": (ahead + running) if ahead is not None else 0,
                "elapsed_s": round(elapsed, 3), "estimate_s": None if est is None else round(est, 3),
                "error": job.error}

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                job = self._queue.popleft()
                job.status, job.started = "running", time.monotonic()
            try:
                image = self.editor.edit(job.photo.image, job.control, face=job.face).image
                status, error = "done", None
            except Exception as exc:  # noqa: BLE001 - a failed job is reported on the page
                image, status, error = None, "failed", f"{type(exc).__name__}: {exc}".splitlines()[0]
            with self._cond:
                job.image, job.status, job.error, job.finished = image, status, error, time.monotonic()
                if status == "done":
                    self._durations.append(job.finished - (job.started or job.finished))
                self._cond.notify_all()
