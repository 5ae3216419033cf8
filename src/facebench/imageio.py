"""The one image loader: every image facebench reads goes through :func:`load_image`.

Accepts anything Pillow opens (JPEG, PNG, WebP, AVIF, TIFF, BMP, GIF...), applies the EXIF
orientation, converts grayscale / palette / RGBA / 16-bit / CMYK to RGB uint8 (alpha composited on
white), refuses images above a pixel limit (decompression bombs) and raises :class:`ImageError`
with a one-line message naming the file and the problem for anything else.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

#: Default pixel limit (width * height): 64 megapixels. Larger images are refused.
DEFAULT_MAX_PIXELS = 64_000_000

#: File suffixes treated as images when a folder is scanned.
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".avif", ".tif", ".tiff", ".bmp", ".gif", ".jfif"}
)

ImageSource = Union[str, os.PathLike, bytes, np.ndarray, Image.Image]


class ImageError(ValueError):
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
    return np.asarray(img.convert("RGB"), dtype=np.uint8)


def load_image(src: ImageSource, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read an image as an ``HxWx3`` RGB ``uint8`` array.

    ``src`` may be a path, encoded bytes, a Pillow image or an array (HxW, HxWx3, HxWx4; uint8,
    uint16 or float in [0, 1]). Raises :class:`ImageError` (one line: file and problem) for a
    missing/unreadable path, an empty or truncated file, something that is not an image, or more
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
            p = Path(src)
            if not p.exists():
                raise ImageError(name, "file not found")
            if p.is_dir():
                raise ImageError(name, "is a folder, not an image")
            try:
                data = p.read_bytes()
            except OSError as exc:
                raise ImageError(name, f"cannot read ({exc.strerror or exc})") from None
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
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img.load()
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
