"""Process-wide objects built once, on first use, from any thread."""

from __future__ import annotations

import threading
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class ProcessDefault(Generic[T]):
    """Call it to get the one instance ``factory()`` builds on the first call (thread-safe).

    Used for expensive models (MediaPipe graphs, analysers) so that importing a module costs
    nothing and every caller in the process shares one instance.
    """

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._value: T | None = None
        self._lock = threading.Lock()

    def __call__(self) -> T:
        with self._lock:
            if self._value is None:
                self._value = self._factory()
            return self._value
