"""The photos the studio edits: bundled samples, a folder's images or uploads, each decoded once,
shrunk to the working size, analysed once and kept by content hash.

A photo is referred to by ``ref``: ``sample:<name>`` (:func:`facebench.samples.portrait_paths`
plus the group photo) or ``file:<path relative to the folder>``. A ``file:`` ref that resolves
outside the folder (``..``, an absolute path, a symlink out) is refused, so nothing outside the
folder given on the command line is ever read or served.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ..base.errors import UserError
from ..base.imageio import IMAGE_SUFFIXES, ImageError, load_image
from ..base.pixels import fit_within


class PhotoError(UserError, ValueError):
    """A photo cannot be used; ``str(err)`` is one line naming it, ``status`` the HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Photo:
    """One decoded photo at working size and the faces found in it (largest first)."""

    key: str  # first 16 hex digits of the SHA-256 of the working image (shape + pixels)
    name: str
    image: np.ndarray  # RGB uint8, long side <= the store's max_side
    boxes: list[tuple[float, float, float, float]]
    ref: str = ""
    original_size: tuple[int, int] = (0, 0)  # (width, height) before shrinking
    extras: dict = field(default_factory=dict)


def _key(img: np.ndarray) -> str:
    h = hashlib.sha256(str(img.shape).encode())
    h.update(np.ascontiguousarray(img).tobytes())
    return h.hexdigest()[:16]


def fit_size(img: np.ndarray, max_side: int) -> np.ndarray:
    """``img`` shrunk (Lanczos) so that its long side is at most ``max_side`` (unchanged if it is)."""
    return fit_within(img, max_side)


class Photos:
    """Where photos come from (samples or one folder) and the photos opened so far (LRU).

    ``folder``: the only folder whose files may be opened (None: bundled samples only);
    ``only``: when the command line named one photo, list just that file; ``max_pixels``: larger
    images are refused before decoding; ``max_side``: working size.
    """

    def __init__(self, folder: Path | None = None, *, only: Path | None = None,
                 max_pixels: int = 40_000_000, max_side: int = 1024, keep: int = 16) -> None:
        self.folder = folder.resolve() if folder is not None else None
        self.only = only.resolve() if only is not None else None
        self.max_pixels, self.max_side, self.keep = int(max_pixels), int(max_side), int(keep)
        self._photos: OrderedDict[str, Photo] = OrderedDict()
        self._lock = threading.Lock()

    # -- listing -------------------------------------------------------------------------------
    def sources(self) -> list[dict[str, str]]:
        """``[{"ref", "name"}]``: the folder's images (or the one photo), else the samples."""
        if self.folder is None:
            from ..samples import sample_paths

            return [{"ref": f"sample:{n}", "name": n} for n in sample_paths()]
        files = [self.only] if self.only is not None else sorted(
            p for p in self.folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        return [{"ref": f"file:{p.relative_to(self.folder).as_posix()}", "name": p.name} for p in files]

    def resolve(self, ref: str) -> Path:
        """The file behind ``ref``; :class:`PhotoError` (404) for anything outside the folder."""
        kind, _, rest = str(ref).partition(":")
        if kind == "sample":
            from ..samples import sample_paths

            paths = sample_paths()
            if self.folder is not None or rest not in paths:
                raise PhotoError(f"unknown sample {rest!r}", 404)
            return paths[rest]
        if kind != "file" or self.folder is None or not rest:
            raise PhotoError(f"unknown photo reference {ref!r}", 404)
        path = (self.folder / rest).resolve()
        if not path.is_relative_to(self.folder):
            raise PhotoError(f"path {rest!r} is outside the folder {self.folder.name}/", 404)
        if self.only is not None and path != self.only:
            raise PhotoError(f"path {rest!r} is not the photo this studio was started with", 404)
        if not path.is_file():
            raise PhotoError(f"no file {rest!r} in the folder {self.folder.name}/", 404)
        return path

    # -- opening -------------------------------------------------------------------------------
    def open_ref(self, ref: str) -> Photo:
        """Open a listed photo (analysed once; the same file again is a cache hit)."""
        path = self.resolve(ref)
        return self._open(path, path.name, ref)

    def open_upload(self, data: bytes, name: str) -> Photo:
        """Open uploaded bytes (``name`` only labels messages)."""
        return self._open(data, name or "upload", "")

    def get(self, key: str) -> Photo:
        """An opened photo by key; :class:`PhotoError` (404) when unknown or evicted."""
        with self._lock:
            photo = self._photos.get(str(key))
            if photo is not None:
                self._photos.move_to_end(photo.key)
        if photo is None:
            raise PhotoError(f"photo {key!r} is not open (open it again)", 404)
        return photo

    def thumbnail(self, ref: str, size: int = 96) -> Image.Image:
        """A small copy of a listed photo (for the source strip)."""
        path = self.resolve(ref)
        img = self._decode(path, path.name)
        im = Image.fromarray(img)
        im.thumbnail((size, size))
        return im

    def _decode(self, src: Path | bytes, name: str) -> np.ndarray:
        try:
            img = load_image(src, max_pixels=self.max_pixels)
        except ImageError as exc:  # named by the photo's name, never the server's path
            raise PhotoError(f"{name}: {exc.problem}", 413 if "over the limit" in exc.problem else 400) from None
        return img

    def _open(self, src: Path | bytes, name: str, ref: str) -> Photo:
        from ..face import analyze

        full = self._decode(src, name)
        img = fit_size(full, self.max_side)
        key = _key(img)
        with self._lock:
            if key in self._photos:
                self._photos.move_to_end(key)
                return self._photos[key]
        faces = [f for f in analyze(img, parts=("detection", "mesh", "mask")) if f.mesh is not None]
        if not faces:
            raise PhotoError(f"{name}: no face found (the studio needs a photo with a visible face)", 422)
        boxes = [tuple(float(v) for v in f.detection.box) for f in faces]
        photo = Photo(key, name, img, boxes, ref, (full.shape[1], full.shape[0]))
        with self._lock:
            self._photos[key] = photo
            while len(self._photos) > self.keep:
                self._photos.popitem(last=False)
        return photo
