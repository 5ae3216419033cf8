"""Benchmark suites as manifests: one row per editing task, in JSONL or Parquet.

A row (JSON object per line, or a Parquet row) has these fields:

=============  ========  ====================================================================
field          required  meaning
=============  ========  ====================================================================
task_id        yes       unique id; letters, digits, ``. _ -`` (used in folder layouts)
image          yes       source photo, relative to the manifest's folder (alias ``source``)
expression     yes       target expression, one of the 12 FFE-Bench names (aliases accepted)
prompt         no        editing instruction (alias ``instruction``); default
                         "Make the person look <expression>."
domain         no        ``human`` (default) or ``anime``
face_box       no        ``[x0, y0, x1, y1]`` in pixels: which face to edit and judge
ground_truth   no        ground-truth edit (FED-Bench track: required)
meta           no        anything (kept, not used)
=============  ========  ====================================================================

Tracks (what a run does with the rows; FFE-Bench = PixelSmile paper sec. 3.2, FED-Bench = seed 000):

- ``general``: every task edited once at alpha = 1 -> Acc-6, Acc-12, mSCR, ID Sim;
- ``linear``: every task over an alpha grid -> CLS-6, CLS-12, HES, ID Sim, the ID-vs-expression curve;
- ``fed``: (source, instruction, ground truth) triplets edited once -> FED-Score and its parts.

Validation collects every problem with its line (JSONL line or Parquet row, 1-based) and field;
:func:`load_manifest` either raises :class:`ManifestError` listing them (``strict=True``) or returns
them with the valid tasks so that a run can record the bad rows as failed and go on.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..expressions import EXPRESSIONS, normalize_expression
from ..base.errors import UserError
from ..base.imageio import ImageError, check_input_file, list_images

TRACKS: tuple[str, ...] = ("general", "linear", "fed")
DOMAINS: tuple[str, ...] = ("human", "anime")
DEFAULT_PROMPT = "Make the person look {expression}."
FIELDS: tuple[str, ...] = ("task_id", "image", "expression", "prompt", "domain", "face_box", "ground_truth", "meta")
_ALIASES = {"source": "image", "instruction": "prompt", "target": "expression", "id": "task_id"}
_TASK_ID = re.compile(r"^[A-Za-z0-9._-]{1,200}$")


@dataclass(frozen=True)
class Task:
    """One validated manifest row (paths resolved against the manifest's folder)."""

    task_id: str
    image: Path
    expression: str
    prompt: str
    domain: str = "human"
    face_box: tuple[float, float, float, float] | None = None
    ground_truth: Path | None = None
    line: int = 0
    meta: Any = None

    def to_row(self, base: Path | None = None) -> dict[str, Any]:
        """The row as written to a manifest (paths relative to ``base`` when given)."""
        def rel(p: Path) -> str:  # relative only for files under the manifest's folder
            if base is not None and p.is_absolute() and p.resolve().is_relative_to(base.resolve()):
                return p.resolve().relative_to(base.resolve()).as_posix()
            return str(p)

        row: dict[str, Any] = {"task_id": self.task_id, "image": rel(self.image), "expression": self.expression,
                               "prompt": self.prompt, "domain": self.domain}
        if self.face_box is not None:
            row["face_box"] = list(self.face_box)
        if self.ground_truth is not None:
            row["ground_truth"] = rel(self.ground_truth)
        if self.meta is not None:
            row["meta"] = self.meta
        return row


@dataclass(frozen=True)
class RowError:
    """A problem in one row: where (file, line, field) and what."""

    source: str
    line: int
    field: str
    message: str
    task_id: str | None = None

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: field '{self.field}': {self.message}"


class ManifestError(UserError, ValueError):
    """A manifest with invalid rows; the message lists them (first 20) with line and field."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        shown = "\n  ".join(str(e) for e in self.errors[:20])
        more = f"\n  ... and {len(self.errors) - 20} more" if len(self.errors) > 20 else ""
        super().__init__(f"{len(self.errors)} invalid manifest row field(s):\n  {shown}{more}")


@dataclass
class Manifest:
    """Valid :attr:`tasks` and the :attr:`errors` of the rows that were not."""

    tasks: list[Task]
    errors: list[RowError] = field(default_factory=list)
    path: Path | None = None


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _check_box(v: Any) -> tuple[float, float, float, float]:
    if hasattr(v, "tolist"):
        v = v.tolist()
    if not isinstance(v, (list, tuple)) or len(v) != 4:
        raise ValueError(f"{v!r} is not a list of 4 numbers [x0, y0, x1, y1]")
    try:
        b = tuple(float(x) for x in v)
    except (TypeError, ValueError):
        raise ValueError(f"{v!r} is not a list of 4 numbers [x0, y0, x1, y1]") from None
    if not all(math.isfinite(x) for x in b) or min(b) < 0:
        raise ValueError(f"{v!r} must hold finite, non-negative pixel coordinates")
    if b[2] <= b[0] or b[3] <= b[1]:
        raise ValueError(f"{v!r} has x1 <= x0 or y1 <= y0")
    return b  # type: ignore[return-value]


def parse_row(row: Any, line: int, base: Path, source: str) -> tuple[Task | None, list[RowError]]:
    """Validate one row; returns the task (None if invalid) and its errors."""
    if not isinstance(row, dict):
        return None, [RowError(source, line, "<row>", f"expected a JSON object, got {type(row).__name__}")]
    errs: list[RowError] = []
    vals: dict[str, Any] = {}
    tid_raw = row.get("task_id", row.get("id"))
    tid = None if _missing(tid_raw) else str(tid_raw)

    def err(f: str, msg: str) -> None:
        errs.append(RowError(source, line, f, msg, tid))

    for k, v in row.items():
        key = _ALIASES.get(k, k)
        if key not in FIELDS:
            close = difflib.get_close_matches(k, FIELDS, n=1)
            err(k, "unknown field" + (f"; did you mean '{close[0]}'?" if close else f" (known: {', '.join(FIELDS)})"))
            continue
        if key in vals and not _missing(v):
            err(k, f"given twice (as '{key}' and an alias)")
            continue
        if not _missing(v) or key not in vals:
            vals[key] = v
    for req in ("task_id", "image", "expression"):
        if _missing(vals.get(req)) or (isinstance(vals.get(req), str) and not vals[req].strip()):
            err(req, "required field is missing or empty")
    if tid is not None and not _TASK_ID.match(tid):
        err("task_id", f"{tid!r} may only hold letters, digits, '.', '_' and '-'")
    expr = None
    if not _missing(vals.get("expression")):
        try:
            expr = normalize_expression(str(vals["expression"]))
        except ValueError as exc:
            err("expression", str(exc))
    image = vals.get("image")
    if not _missing(image) and not isinstance(image, str):
        err("image", f"{image!r} is not a path string")
    prompt = vals.get("prompt")
    if not _missing(prompt) and not isinstance(prompt, str):
        err("prompt", f"{prompt!r} is not a string")
    domain = "human" if _missing(vals.get("domain")) else str(vals["domain"]).strip().lower()
    if domain not in DOMAINS:
        err("domain", f"{vals['domain']!r} is not one of {', '.join(DOMAINS)}")
    box = None
    if not _missing(vals.get("face_box")):
        try:
            box = _check_box(vals["face_box"])
        except ValueError as exc:
            err("face_box", str(exc))
    gt = vals.get("ground_truth")
    if not _missing(gt) and not isinstance(gt, str):
        err("ground_truth", f"{gt!r} is not a path string")
    if errs:
        return None, errs
    assert expr is not None and tid is not None
    task = Task(
        task_id=tid, image=(base / str(image)).resolve() if not Path(str(image)).is_absolute() else Path(str(image)),
        expression=expr,
        prompt=prompt.strip() if isinstance(prompt, str) and prompt.strip() else DEFAULT_PROMPT.format(expression=expr),
        domain=domain, face_box=box,
        ground_truth=None if _missing(gt) else ((base / gt).resolve() if not Path(gt).is_absolute() else Path(gt)),
        line=line, meta=vals.get("meta"),
    )
    return task, []


def parse_rows(rows: Iterable[tuple[int, Any]], *, base: Path, source: str, track: str | None = None) -> Manifest:
    """Validate ``(line, row)`` pairs; duplicated task ids and, for the ``fed`` track, rows
    without ``ground_truth`` are errors too."""
    tasks: list[Task] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        task, errs = parse_row(row, line, base, source)
        if task is not None and task.task_id in seen:
            errs = [RowError(source, line, "task_id", f"{task.task_id!r} already used on line {seen[task.task_id]}", task.task_id)]
            task = None
        if task is not None and track == "fed" and task.ground_truth is None:
            errs = [RowError(source, line, "ground_truth", "required by the fed track", task.task_id)]
            task = None
        errors.extend(errs)
        if task is not None:
            seen[task.task_id] = line
            tasks.append(task)
    return Manifest(tasks, errors)


def _read_rows(path: Path) -> Iterable[tuple[int, Any]]:
    if path.suffix.lower() == ".parquet":
        import pandas as pd

        df = pd.read_parquet(path)
        for i, rec in enumerate(df.to_dict(orient="records"), start=1):
            yield i, rec
        return
    with path.open(encoding="utf-8") as fh:
        for i, text in enumerate(fh, start=1):
            if not text.strip() or text.lstrip().startswith("//"):
                continue
            try:
                yield i, json.loads(text)
            except json.JSONDecodeError as exc:
                yield i, _BadJson(f"invalid JSON ({exc.msg} at character {exc.pos + 1})")


class _BadJson(str):
    """Marks a line that is not JSON (its text is the reason)."""


def load_manifest(path: str | os.PathLike, *, strict: bool = False, track: str | None = None) -> Manifest:
    """Read and validate a JSONL (``.jsonl``/``.json``) or Parquet (``.parquet``) manifest.

    ``strict=True`` raises :class:`ManifestError` when any row is invalid; otherwise the bad rows
    come back in :attr:`Manifest.errors`. A missing or unreadable file raises ``ValueError``.
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"manifest {p}: file not found")
    if track is not None and track not in TRACKS:
        raise ValueError(f"unknown track {track!r}; expected one of {', '.join(TRACKS)}")
    rows: list[tuple[int, Any]] = []
    bad: list[RowError] = []
    try:
        for line, row in _read_rows(p):
            if isinstance(row, _BadJson):
                bad.append(RowError(str(p), line, "<json>", str(row)))
            else:
                rows.append((line, row))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"manifest {p}: cannot read ({exc})") from None
    m = parse_rows(rows, base=p.parent.resolve(), source=str(p), track=track)
    m.errors = sorted(bad + m.errors, key=lambda e: e.line)
    m.path = p
    if strict and m.errors:
        raise ManifestError(m.errors)
    if not m.tasks and not m.errors:
        raise ValueError(f"manifest {p}: no rows")
    return m


def write_manifest(tasks: Sequence[Task], path: str | os.PathLike) -> Path:
    """Write ``tasks`` as JSONL (or Parquet for a ``.parquet`` path); image paths under the manifest's
    folder are written relative to it, others absolute."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    base = p.parent.resolve()
    rows = [t.to_row(base) for t in tasks]
    if p.suffix.lower() == ".parquet":
        import pandas as pd

        pd.DataFrame(rows).to_parquet(p, index=False)
    else:
        with p.open("w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r) + "\n")
    return p


def build_tasks(images: Sequence[str | os.PathLike], expressions: Sequence[str] = EXPRESSIONS, *,
                domain: str = "human", prompt: str = DEFAULT_PROMPT) -> list[Task]:
    """One task per (image, expression): ``task_id = <image stem>-<expression>``.

    ``images`` are files or folders (searched recursively for images). ``prompt`` may contain
    ``{expression}``. Stems are made unique (``a.jpg``, ``a.png``, ``a_2.png`` -> ``a``, ``a_2``,
    ``a_2_2``). Raises ``ValueError`` (one line) for a path that does not exist, an image that is not
    a regular file under the size limit (FIFO, device, symlink loop), when no image is found or when
    an expression is unknown.
    """
    gone = [str(p) for p in images if not Path(p).exists() and not Path(p).is_symlink()]
    if gone:
        raise ValueError(f"no such file or folder: {', '.join(gone)}")
    paths = list_images(list(images))
    for p in paths:
        try:
            check_input_file(p)
        except ImageError as exc:
            raise ValueError(str(exc)) from None
    if not paths:
        raise ValueError(f"no images found in {', '.join(map(str, images))}")
    exprs = [normalize_expression(e) for e in expressions]
    if domain not in DOMAINS:
        raise ValueError(f"domain {domain!r} is not one of {', '.join(DOMAINS)}")
    used: set[str] = set()
    tasks: list[Task] = []
    for p in paths:
        stem = _unique_stem(re.sub(r"[^A-Za-z0-9._-]+", "_", p.stem) or "image", used)
        for e in exprs:
            tasks.append(Task(f"{stem}-{e}", p.resolve(), e, prompt.format(expression=e), domain))
    return tasks


def _unique_stem(stem: str, used: set[str]) -> str:
    """``stem``, or ``stem_2``, ``stem_3``... -- the first not in ``used`` (which it joins)."""
    out, n = stem, 1
    while out in used:
        n += 1
        out = f"{stem}_{n}"
    used.add(out)
    return out


def gallery_tasks(root: str | os.PathLike, expressions: Sequence[str] = EXPRESSIONS) -> list[Task]:
    """One task per expression of PixelSmile's gallery (source ``slider/<expression>/00.avif``; the
    matching editor is :class:`facebench.edit.external.GalleryEditor`)."""
    r = Path(root)
    out = []
    for e in expressions:
        p = r / "slider" / e / "00.avif"
        if p.exists():
            out.append(Task(f"gallery-{e}", p.resolve(), e, DEFAULT_PROMPT.format(expression=e)))
    return out
