"""The one image loader: every image facebench reads goes through :func:`load_image`.

Accepts anything Pillow opens (JPEG, PNG, WebP, AVIF, TIFF, BMP, GIF...), applies the EXIF
orientation, converts grayscale / palette / RGBA / 16-bit / CMYK to RGB uint8 (alpha composited on
white), refuses images above a pixel limit (decompression bombs) and raises :class:`ImageError`
with a one-line message naming the file and the problem for anything else.

Files are opened only when they are regular files under a size limit (:func:`read_image_file`):
a FIFO, a device such as ``/dev/zero``, a socket, a symlink loop or a file over
:data:`DEFAULT_MAX_BYTES` is refused with one line before a byte is read, so no input can hang a
run or fill memory.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
import warnings
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import UserError

#: Default pixel limit (width * height): 64 megapixels. Larger images are refused.
DEFAULT_MAX_PIXELS = 64_000_000

#: Default file size limit (bytes): 256 MiB, above an uncompressed 64-megapixel RGB TIFF.
DEFAULT_MAX_BYTES = 256 * 1024 * 1024

#: File suffixes treated as images when a folder is scanned.
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".avif", ".tif", ".tiff", ".bmp", ".gif", ".jfif"}
)

ImageSource = Union[str, os.PathLike, bytes, np.ndarray, Image.Image]


class ImageError(UserError, ValueError):
    """An image could not be read; ``str(err)`` is one line: ``<file>: <problem>``."""

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"{source}: {problem}")


def _name(src: ImageSource) -> str:
    if isinstance(src, (str, os.PathLike)):
        return os.fspath(src)
    if isinstance(src, bytes):
        return "<bytes>"
    return "<array>" if isinstance(src, np.ndarray) else "<PIL image>"


def _to_rgb_uint8(img: Image.Image) -> np.ndarray:
    """Convert any Pillow mode to an HxWx3 uint8 array (16-bit scaled, alpha over white)."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or arr.max() > 255 else 255.0
        g = np.clip(np.round(arr / top * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(g[:, :, None], 3, axis=2)
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        top = 1.0 if arr.max() <= 1.0 else 255.0
        g = np.clip(np.round(arr / top * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(g[:, :, None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(bg, rgba).convert("RGB"), dtype=np.uint8)
    return np.asarray(img if mode == "RGB" else img.convert("RGB"), dtype=np.uint8)


def _kind(mode: int) -> str:
    for test, what in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return what
    return "not a regular file"


def check_input_file(path: str | os.PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES) -> os.stat_result:
    """``stat`` of ``path`` (symlinks followed) if it is a regular file of at most ``max_bytes``
    bytes; else :class:`ImageError` naming the file and the problem (missing, folder, symlink loop,
    FIFO, device, socket, too big). Nothing is opened."""
    name = os.fspath(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ImageError(name, "file not found") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ImageError(name, "symlink loop (too many levels of symbolic links)") from None
        raise ImageError(name, f"cannot read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise ImageError(name, "is a folder, not an image")
    if not stat.S_ISREG(st.st_mode):
        raise ImageError(name, f"is {_kind(st.st_mode)}, not a regular file")
    if st.st_size > max_bytes:
        raise ImageError(name, f"{st.st_size} bytes is over the file size limit of {max_bytes}")
    return st


def read_image_file(path: str | os.PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of ``path`` after :func:`check_input_file`; opened non-blocking and checked again
    on the open descriptor (a file swapped for a FIFO in between cannot block), and never more
    than ``max_bytes`` are read (a file that grew meanwhile is refused)."""
    name = os.fspath(path)
    check_input_file(path, max_bytes=max_bytes)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ImageError(name, f"cannot read ({exc.strerror or exc})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ImageError(name, "is not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise ImageError(name, f"cannot read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise ImageError(name, f"file grew over the file size limit of {max_bytes} bytes while being read")
    return data


def load_image(src: ImageSource, *, max_pixels: int = DEFAULT_MAX_PIXELS,
               max_bytes: int = DEFAULT_MAX_BYTES) -> np.ndarray:
    """Read an image as an ``HxWx3`` RGB ``uint8`` array.

    ``src`` may be a path, encoded bytes, a Pillow image or an array (HxW, HxWx3, HxWx4; uint8,
    uint16 or float in [0, 1]). Raises :class:`ImageError` (one line: file and problem) for a
    missing/unreadable path, a path that is not a regular file (FIFO, device, symlink loop) or is
    over ``max_bytes`` bytes, an empty or truncated file, something that is not an image, or more
    than ``max_pixels`` pixels.
    """
    name = _name(src)
    if isinstance(src, np.ndarray):
        return _array_to_rgb(src, name)
    if isinstance(src, Image.Image):
        img = src
    else:
        if isinstance(src, bytes):
            data = src
        else:
            data = read_image_file(src, max_bytes=max_bytes)
        if not data:
            raise ImageError(name, "empty file")
        try:
            img = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            raise ImageError(name, "not an image (Pillow cannot identify the format)") from None
        except Exception as exc:  # noqa: BLE001 - Pillow raises many types for broken headers
            raise ImageError(name, f"cannot decode ({exc})") from None
    w, h = img.size
    if w * h > max_pixels:
        raise ImageError(name, f"{w}x{h} = {w * h} pixels is over the limit of {max_pixels}")
    if w == 0 or h == 0:
        raise ImageError(name, "image has zero size")
    opened_here = not isinstance(src, Image.Image)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img.load()
            if opened_here:  # ours to change: no full-size copy when there is nothing to rotate
                ImageOps.exif_transpose(img, in_place=True)
            else:
                img = ImageOps.exif_transpose(img)
    except Image.DecompressionBombWarning as exc:
        raise ImageError(name, f"decompression bomb ({exc})") from None
    except (OSError, SyntaxError, ValueError) as exc:
        msg = str(exc)
        if "truncated" in msg.lower() or "broken data stream" in msg.lower():
            raise ImageError(name, "truncated file") from None
        raise ImageError(name, f"cannot decode ({msg})") from None
    return _to_rgb_uint8(img)


def _array_to_rgb(arr: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(arr)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4) or a.shape[0] == 0 or a.shape[1] == 0:
        raise ImageError(name, f"array of shape {arr.shape} is not an HxW, HxWx3 or HxWx4 image")
    if a.shape[2] == 4:
        a = a[:, :, :3]
    if a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    if a.dtype == np.uint16:
        return (a.astype(np.float64) / 65535.0 * 255.0).round().astype(np.uint8)
    if np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise ImageError(name, "array contains NaN or inf")
        return (np.clip(a, 0.0, 1.0) * 255.0).round().astype(np.uint8)
    raise ImageError(name, f"unsupported array dtype {a.dtype}")


def image_hash(img: np.ndarray) -> str:
    """Content hash of decoded pixels (SHA-256 over shape and bytes), the key of every cache."""
    h = hashlib.sha256()
    h.update(str(img.shape).encode())
    h.update(np.ascontiguousarray(img).tobytes())
    return h.hexdigest()


def list_images(paths: list[str | os.PathLike]) -> list[Path]:
    """Expand files and folders (recursively, sorted) into a list of image paths.

    Files given explicitly are kept whatever their suffix (so a bad file gets its own error);
    inside folders only files with an image suffix are taken.
    """
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.suffix.lower() in IMAGE_SUFFIXES))
        else:
            out.append(p)
    return out
