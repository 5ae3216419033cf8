"""Training triplets from a JSONL file (PixelSmile paper sec. 4.2, method notes "Training: Data").

One JSON object per line::

    {"id": "s001",                       # optional; default "line-N"
     "source": "img/s001.png",           # the control image (relative paths: the JSONL's folder)
     "subject": "person",                # optional: person | character
     "a": {"image": "img/s001_fear.png", "expression": "fear",
           "scores": {"fear": 0.8, "surprised": 0.3},      # continuous scores in [0, 1]
           "landmarks": [[x, y], ...5],  # optional, pixels of that image, ArcFace order
           "box": [x0, y0, x1, y1]},     # optional face box
     "b": {... the confusing partner, e.g. "surprised" ...}}

The official release's format loads as it is (one row per line, detected by its ``src``/``dst`` keys)::

    {"src": {"image": "img/s001.png", "boxes": [x0, y0, x1, y1]},
     "dst": [{"image": "img/s001_fear.png", "category": "fear", "scores": {"fear": 0.8, ...},
              "boxes": [x0, y0, x1, y1]},
             {"image": "img/s001_surprised.png", "category": "surprised", "scores": {...}, "boxes": [...]}]}

``dst[0]`` becomes target a, ``dst[1]`` target b; ``boxes`` may be one box or a list of boxes (the
first is used) or empty; the subject comes from the config (the official ``data_type``: human ->
person, anime -> character). Ids are ``line-N``.

Each target's alpha is its score for its own expression, optionally remapped by a piecewise-linear
curve (a list of [x, y] points, or the name of one in :data:`SCORE_REMAPS`). Landmark order (ArcFace): eye on the image's left, eye on the image's right, nose tip, mouth
corner on the left, mouth corner on the right. A malformed row raises one line:
``data.jsonl:7: field 'a.scores.fear': missing``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ...expressions import normalize_expression
from ..loading import PixelSmileError
from ..prompts import SUBJECTS


@dataclass(frozen=True)
class Target:
    """One ground-truth target of a triplet."""

    image: Path
    expression: str
    alpha: float
    landmarks: np.ndarray | None = None  # (5, 2) pixels of the target image
    box: np.ndarray | None = None  # (4,) pixels


@dataclass(frozen=True)
class Triplet:
    """A source image and the two targets of a confusing pair (``line`` = 1-based JSONL line)."""

    id: str
    line: int
    source: Path
    a: Target
    b: Target
    subject: str
    raw: str  # the JSON text of the row (part of the precompute cache key)
    source_box: np.ndarray | None = None  # (4,) pixels of the source image


#: Named score -> alpha curves for ``alpha_curve``. The official release remaps scores when its
#: ``use_score_rescale`` is on (``utils/image.py: scale_scores``), but that file is not in the public
#: copy read for this port, so its curve is not known here: give its points as a list when known.
SCORE_REMAPS: dict[str, list[list[float]]] = {
    "identity": [[0.0, 0.0], [1.0, 1.0]],
}


def resolve_curve(curve: str | Sequence[Sequence[float]] | None) -> list[list[float]] | None:
    """``curve`` as points: a list as it is, a name from :data:`SCORE_REMAPS`, or None."""
    if curve is None or not isinstance(curve, str):
        return None if curve is None else [list(map(float, p)) for p in curve]
    if curve not in SCORE_REMAPS:
        raise PixelSmileError(f"alpha_curve {curve!r} is not a known remap; known: {', '.join(SCORE_REMAPS)} "
                              f"(or give [[score, alpha], ...] points)")
    return SCORE_REMAPS[curve]


def remap_alpha(score: float, curve: str | Sequence[Sequence[float]] | None) -> float:
    """Piecewise-linear remap of an intensity score through ``curve`` ([[x, y], ...], x increasing)."""
    curve = resolve_curve(curve)
    if not curve:
        return float(score)
    xs, ys = [float(p[0]) for p in curve], [float(p[1]) for p in curve]
    return float(np.interp(score, xs, ys))


class _Row:
    def __init__(self, file: str, line: int, obj: Any) -> None:
        self.file, self.line, self.obj = file, line, obj

    def fail(self, field: str, problem: str) -> PixelSmileError:
        return PixelSmileError(f"{self.file}:{self.line}: field {field!r}: {problem}")

    def get(self, obj: Any, key: str, field: str) -> Any:
        if not isinstance(obj, dict):
            raise self.fail(field.rsplit(".", 1)[0], "must be a JSON object")
        if key not in obj:
            raise self.fail(field, "missing")
        return obj[key]

    def path(self, value: Any, field: str, base: Path, check: bool) -> Path:
        if not isinstance(value, str) or not value:
            raise self.fail(field, "must be a file path")
        p = Path(value)
        p = p if p.is_absolute() else base / p
        if check and not p.is_file():
            raise self.fail(field, f"file {value!r} not found")
        return p

    def points(self, value: Any, field: str, shape: tuple[int, ...]) -> np.ndarray:
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise self.fail(field, f"must be numbers of shape {shape}") from None
        if arr.shape != shape or not np.isfinite(arr).all():
            raise self.fail(field, f"must be finite numbers of shape {shape}, got shape {arr.shape}")
        return arr

    def box(self, value: Any, field: str) -> np.ndarray | None:
        """One box (4,), the first of a list of boxes, or None for null / an empty list."""
        if value is None or (isinstance(value, list) and not value):
            return None
        if isinstance(value, list) and isinstance(value[0], (list, tuple)):
            value = value[0]
        return self.points(value, field, (4,))

    def target(self, name: str, base: Path, curve: Any, check: bool, obj: Any = None,
               expression_key: str = "expression", box_key: str = "box") -> Target:
        obj = self.get(self.obj, name, name) if obj is None else obj
        image = self.path(self.get(obj, "image", f"{name}.image"), f"{name}.image", base, check)
        raw_expr = self.get(obj, expression_key, f"{name}.{expression_key}")
        try:
            expr = normalize_expression(str(raw_expr))
        except ValueError as exc:
            raise self.fail(f"{name}.{expression_key}", str(exc)) from None
        scores = self.get(obj, "scores", f"{name}.scores")
        if not isinstance(scores, dict):
            raise self.fail(f"{name}.scores", "must be a JSON object of expression -> score")
        key = next((k for k in scores if _norm(k) == expr), None)
        if key is None:
            raise self.fail(f"{name}.scores.{expr}", "missing (the score of the target's own expression)")
        score = scores[key]
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score) or not 0 <= score <= 1:
            raise self.fail(f"{name}.scores.{key}", f"{score!r} is not a number in [0, 1]")
        lm = obj.get("landmarks")
        return Target(image, expr, remap_alpha(float(score), curve),
                      None if lm is None else self.points(lm, f"{name}.landmarks", (5, 2)),
                      self.box(obj.get(box_key), f"{name}.{box_key}"))

    def official(self, base: Path, curve: Any, check: bool) -> tuple[Path, np.ndarray | None, Target, Target]:
        """Source, source box and the two targets of a row in the official release's format."""
        src = self.get(self.obj, "src", "src")
        source = self.path(self.get(src, "image", "src.image"), "src.image", base, check)
        box = self.box(src.get("boxes"), "src.boxes")
        dst = self.get(self.obj, "dst", "dst")
        if not isinstance(dst, list) or len(dst) != 2:
            raise self.fail("dst", "must be a list of two targets")
        a, b = (self.target(f"dst[{i}]", base, curve, check, obj=dst[i], expression_key="category",
                            box_key="boxes") for i in (0, 1))
        return source, box, a, b


def _norm(name: Any) -> str | None:
    try:
        return normalize_expression(str(name))
    except ValueError:
        return None


def load_triplets(path: str | Path, *, alpha_curve: str | Sequence[Sequence[float]] | None = None,
                  check_files: bool = True, default_subject: str = "person") -> list[Triplet]:
    """Parse and validate every row of a JSONL triplet file (blank lines and ``#`` lines skipped)."""
    p = Path(path)
    if not p.is_file():
        raise PixelSmileError(f"data file {str(path)!r} does not exist")
    alpha_curve = resolve_curve(alpha_curve)
    base, name = p.parent, str(path)
    out: list[Triplet] = []
    for line_no, text in enumerate(p.read_text().splitlines(), start=1):
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PixelSmileError(f"{name}:{line_no}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        row = _Row(name, line_no, obj)
        if not isinstance(obj, dict):
            raise PixelSmileError(f"{name}:{line_no}: a row must be a JSON object")
        if "src" in obj or "dst" in obj:
            source, source_box, a, b = row.official(base, alpha_curve, check_files)
        else:
            source = row.path(row.get(obj, "source", "source"), "source", base, check_files)
            source_box = row.box(obj.get("box"), "box")
            a = row.target("a", base, alpha_curve, check_files)
            b = row.target("b", base, alpha_curve, check_files)
        if a.expression == b.expression:
            field = "dst[1].category" if "dst" in obj else "b.expression"
            raise row.fail(field, f"equals the other target's expression ({a.expression!r}); "
                                  f"a triplet needs two expressions")
        subject = str(obj.get("subject", default_subject)).lower()
        if subject not in SUBJECTS:
            raise row.fail("subject", f"{subject!r} is not one of {', '.join(SUBJECTS)}")
        out.append(Triplet(str(obj.get("id", f"line-{line_no}")), line_no, source, a, b, subject, text.strip(),
                           source_box))
    if not out:
        raise PixelSmileError(f"data file {name!r} holds no rows")
    return out
