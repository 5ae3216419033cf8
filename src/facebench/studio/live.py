"""Live rendering for editors that split the work into ``prepare(image, face)`` (once per face)
and ``render(prepared, control)`` (per slider change, ~10-30 ms for the offline editor).

- :class:`LatestWins`: per client, only the newest request runs; a request that waited while a
  newer one arrived is dropped, so dragging a slider never builds a queue.
- :class:`LiveRenderer`: the prepared faces (LRU) and recent renders (LRU), the sweep strip.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import numpy as np
from PIL import Image

from ..edit import ExpressionControl
from ..edit.sheet import contact_sheet, face_crop_box
from .photos import Photo


class LatestWins:
    """Serialise each client's requests and drop any that a newer one overtook.

    ``claim(client, seq)`` is a context manager yielding True when this request should run, False
    when a request with a higher ``seq`` from the same client arrived while it waited.
    """

    def __init__(self, keep: int = 1000) -> None:
        self._latest: OrderedDict[str, int] = OrderedDict()
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self.keep = keep
        self.dropped = 0

    @contextmanager
    def claim(self, client: str, seq: int) -> Iterator[bool]:
        with self._lock:
            if seq > self._latest.get(client, -1):
                self._latest[client] = seq
            self._latest.move_to_end(client)
            lock = self._locks.setdefault(client, threading.Lock())
            while len(self._latest) > self.keep:
                old, _ = self._latest.popitem(last=False)
                self._locks.pop(old, None)
        with lock:
            with self._lock:
                go = seq >= self._latest.get(client, -1)
                self.dropped += not go
            yield go


class _LRU(OrderedDict):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.lock = threading.Lock()

    def get_or(self, key: Any, make: Any) -> Any:
        with self.lock:
            if key in self:
                self.move_to_end(key)
                return self[key]
        value = make()
        with self.lock:
            self[key] = value
            while len(self) > self.size:
                self.popitem(last=False)
        return value


class LiveRenderer:
    """Renders slider controls on analysed photos with a prepare/render editor."""

    def __init__(self, editor: Any, *, keep_faces: int = 8, keep_renders: int = 64) -> None:
        self.editor = editor
        self._prepared = _LRU(keep_faces)
        self._renders = _LRU(keep_renders)
        self._prep_locks: dict[tuple[str, int], threading.Lock] = {}
        self._lock = threading.Lock()

    @staticmethod
    def is_live(editor: Any) -> bool:
        """True for editors with ``prepare(image, face)`` + ``render(prepared, control)``."""
        return callable(getattr(editor, "prepare", None)) and callable(getattr(editor, "render", None))

    def prepared(self, photo: Photo, face: int) -> Any:
        """The editor's per-face set-up (computed once per photo and face; concurrent callers wait)."""
        key = (photo.key, face)
        with self._lock:
            lock = self._prep_locks.setdefault(key, threading.Lock())
        with lock:
            return self._prepared.get_or(key, lambda: self.editor.prepare(photo.image, face))

    def render(self, photo: Photo, face: int, control: ExpressionControl) -> np.ndarray:
        """The edited image (RGB uint8, the photo's working size) for ``control``."""
        prep = self.prepared(photo, face)
        key = (photo.key, face, control.label())
        return self._renders.get_or(key, lambda: self.editor.render(prep, control).image)

    def strip(self, photo: Photo, face: int, expression: str, alphas: Sequence[float],
              cell: int = 112) -> Image.Image:
        """The sweep strip: the face at each alpha of ``expression`` alone, cropped and labelled."""
        images = [self.render(photo, face, ExpressionControl.single(expression, a, alpha_max=max(alphas)))
                  for a in alphas]
        crop = face_crop_box([np.asarray(photo.boxes[face])], photo.image.shape[:2], pad=0.25)
        return contact_sheet(images, [f"{expression} {a:g}" for a in alphas], crop=crop, cell=cell,
                             cols=len(alphas))
