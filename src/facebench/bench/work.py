"""The three kinds of work a benchmark run does, as picklable units and module-level functions
(so that local processes and Ray workers can run them):

- :func:`do_edit`: source photo + (expression, alpha) -> edited image (PNG bytes + pixel hash);
  the output must be RGB uint8 of the source's size;
- :func:`do_judge`: image -> expression scores from one judge;
- :func:`do_identity`: (source, edited) -> cosine similarity of face embeddings from one recogniser.

Each returns an outcome dict: ``{"ok": True, ...}`` or ``{"ok": False, "reason": "..."}``.
"""

from __future__ import annotations

import math
import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..base.imageio import image_hash, load_image
from .components import Component


@dataclass(frozen=True)
class ImageRef:
    """An image given by path, by encoded bytes (PNG, ...), as an edit in a cache file
    ``(store path, key)``, or as a residual (:mod:`.imagecodec`) to another reference ``base``."""

    path: str | None = None
    png: bytes | None = None
    cached: tuple[str, str] | None = None
    residual: bytes | None = None
    base: "ImageRef | None" = None

    def load(self) -> np.ndarray:
        """The RGB uint8 pixels."""
        if self.residual is not None:
            from ..base.imagecodec import decode

            return decode(self.residual, None if self.base is None else self.base.load())
        if self.png is not None:
            return load_image(self.png)
        if self.cached is not None:
            try:
                return _store(self.cached[0]).edit_image(self.cached[1])
            except KeyError:
                raise FileNotFoundError(f"edit {self.cached[1][:12]} is not in the cache {self.cached[0]}") from None
        if self.path is None:
            raise ValueError("empty image reference")
        return _load_path(self.path, _mtime(self.path))


@lru_cache(maxsize=4)
def _store(path: str) -> Any:
    from ..base.store import Store

    return Store(path)


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


@lru_cache(maxsize=16)
def _load_path(path: str, mtime: int) -> np.ndarray:
    img = load_image(path)
    img.setflags(write=False)
    return img


def jsonable(value: Any, depth: int = 0) -> Any:
    """``value`` made JSON-safe: arrays become lists (small) or a shape note (large)."""
    if depth > 4:
        return str(value)[:200]
    if isinstance(value, dict):
        return {str(k): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, depth + 1) for v in value][:64]
    if isinstance(value, np.ndarray):
        return value.tolist() if value.size <= 16 else f"<array {value.dtype} {list(value.shape)}>"
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)[:200]


def _face_index(image: np.ndarray, box: Sequence[float]) -> int:
    """Index (largest first, as editors count) of the detected face that best overlaps ``box``."""
    from ..face import analyze

    faces = analyze(image, parts=("detection",))
    if not faces:
        raise RuntimeError("no face found in the source image")
    b = np.asarray(box, dtype=np.float64)
    best, best_iou = 0, -1.0
    for i, f in enumerate(faces):
        d = np.asarray(f.detection.box, dtype=np.float64)
        iw = max(0.0, min(b[2], d[2]) - max(b[0], d[0]))
        ih = max(0.0, min(b[3], d[3]) - max(b[1], d[1]))
        inter = iw * ih
        union = (b[2] - b[0]) * (b[3] - b[1]) + (d[2] - d[0]) * (d[3] - d[1]) - inter
        iou = inter / union if union > 0 else 0.0
        if iou > best_iou:
            best, best_iou = i, iou
    if best_iou < 0.3:
        raise RuntimeError(f"no detected face matches face_box {list(b)} (best overlap {best_iou:.2f})")
    return best


_PREPARED: "OrderedDict[tuple, Any]" = OrderedDict()


def _prepared(comp: Component, editor: Any, image: np.ndarray, face: Any) -> Any:
    """``editor.prepare(image, face)``, kept for the last few sources of this process."""
    key = (comp, image_hash(image), face)
    prep = _PREPARED.get(key)
    if prep is None:
        prep = editor.prepare(image, face)
        _PREPARED[key] = prep
        while len(_PREPARED) > 4:
            _PREPARED.popitem(last=False)
    return prep


@dataclass(frozen=True)
class EditUnit:
    """Edit ``source`` toward ``expression`` at ``alpha`` with ``editor``; ``context`` holds the
    keyword arguments the editor asked for (``task``, ``prompt``)."""

    editor: Component
    source: ImageRef
    expression: str
    alpha: float
    box: tuple[float, float, float, float] | None = None
    context: tuple[tuple[str, str], ...] = ()


def do_edit(u: EditUnit) -> dict[str, Any]:
    """Run one edit; fail (``ok=False``) on an editor error or an output that is not RGB uint8 of
    the source's size."""
    from ..edit.base import ExpressionControl

    editor = u.editor.build()
    try:
        image = u.source.load()
    except Exception as exc:  # noqa: BLE001 - reported as the row's reason
        return {"ok": False, "stage": "source", "reason": f"source image: {exc}"}
    control = ExpressionControl.single(u.expression, u.alpha)
    face = None
    if u.box is not None and getattr(editor, "uses_face", True) and not getattr(editor, "uses_task", False):
        face = _face_index(image, u.box)
    t0 = time.perf_counter()
    if hasattr(editor, "prepare") and hasattr(editor, "render") and not u.context:
        # editors that split per-face set-up from rendering (offline): set up once per source
        res = editor.render(_prepared(u.editor, editor, image, face), control)
    else:
        res = editor.edit(image, control, face=face, **dict(u.context))
    seconds = time.perf_counter() - t0
    out = getattr(res, "image", None)
    if not isinstance(out, np.ndarray):
        return {"ok": False, "reason": f"editor returned {type(out).__name__}, not an image array"}
    if out.dtype != np.uint8 or out.ndim != 3 or out.shape[2] != 3:
        return {"ok": False, "reason": f"editor returned an array of shape {list(out.shape)} and dtype {out.dtype}, "
                                       "not RGB uint8"}
    if out.shape != image.shape:
        return {"ok": False, "reason": f"editor returned a {out.shape[1]}x{out.shape[0]} image; "
                                       f"the source is {image.shape[1]}x{image.shape[0]} (wrong size)"}
    from ..base.imagecodec import encode

    return {"ok": True, "data": encode(out, image), "base": image_hash(image), "hash": image_hash(out),
            "seconds": seconds, "info": jsonable(getattr(res, "info", {}) or {})}


@dataclass(frozen=True)
class JudgeUnit:
    """Score ``image`` (the face in ``box`` when given) with ``judge``; ``source``: the unedited
    image the judge measures the edit against (only for judges that :func:`accepts_source`)."""

    judge: Component
    image: ImageRef
    box: tuple[float, float, float, float] | None = None
    source: ImageRef | None = None


def do_judge(u: JudgeUnit) -> dict[str, Any]:
    """Run one judgement; the outcome holds ``scores`` (expression -> [0, 1]) and ``info``."""
    judge = u.judge.build()
    try:
        image = u.image.load()
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "reason": f"image: {exc}"}
    kw: dict[str, Any] = {}
    if u.source is not None:
        try:
            kw["source"] = u.source.load()
        except Exception as exc:  # noqa: BLE001
            return {"ok": False, "reason": f"source image: {exc}"}
    t0 = time.perf_counter()
    j = judge.judge(image, box=u.box, **kw)
    seconds = time.perf_counter() - t0
    bad = {k: v for k, v in j.scores.items() if not (isinstance(v, (int, float)) and 0.0 <= float(v) <= 1.0)}
    if bad:
        return {"ok": False, "reason": f"judge returned scores outside [0, 1]: {bad}"}
    return {"ok": True, "scores": {k: float(v) for k, v in j.scores.items()}, "seconds": seconds,
            "info": jsonable({k: v for k, v in j.info.items() if k != "answer"})}


@dataclass(frozen=True)
class IdentityUnit:
    """Cosine similarity of the faces in ``source`` and ``edited`` under ``recogniser``."""

    recogniser: Component
    source: ImageRef
    edited: ImageRef
    box: tuple[float, float, float, float] | None = None


def do_identity(u: IdentityUnit) -> dict[str, Any]:
    """Embed the source and edited faces (the same box for both: edits keep the size) and return
    their cosine similarity."""
    from .identity import similarity

    try:
        src = u.source.load()
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "reason": f"source image: {exc}"}
    edited = u.edited.load()
    t0 = time.perf_counter()
    sim = similarity(u.recogniser, src, edited, u.box)
    return {"ok": True, "sim": float(sim), "seconds": time.perf_counter() - t0}


def path_ref(path: Path | str) -> ImageRef:
    """An :class:`ImageRef` for a file."""
    return ImageRef(path=str(path))
