"""Score images with quality metrics: a folder or a manifest in, one tidy table out.

A manifest is CSV, JSONL or Parquet with an ``image`` column and optionally ``reference``
(relative paths are resolved against the manifest's folder); other columns are carried along.
A folder gives no-reference input only, unless ``reference_dir`` names a folder with files of the
same relative paths.

The table is long and tidy: one row per (image, metric) with ``image``, ``reference``, ``metric``,
``value``, ``higher_is_better`` and ``error`` (empty when the value is valid). Bad input (unreadable
file, missing reference for a full-reference metric, different sizes, too small for a metric,
grayscale paired with colour) gives one line in ``error`` for the rows it affects; everything else
still runs. Images of the same size are scored in batches.

Bounded memory: the metrics need memory proportional to the pixels they see (NIQE, BRISQUE and
PIQE hold several float64 copies and filtered versions of the image), so an image (and its
reference) larger than ``max_pixels`` (default :data:`SCORE_MAX_PIXELS`, 4 megapixels, e.g.
2048x2048) is scored on a copy shrunk right after loading, keeping the aspect ratio: scale
``s = sqrt(max_pixels / (w * h))``, size ``(round(s * w), round(s * h))``, OpenCV area
interpolation. An image and a reference of the same size shrink to the same size. A line on stderr
says when it happens; values of shrunk images are those of the shrunk copy (no-reference metrics
depend on scale). ``max_pixels=None`` scores at full size.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..base.imageio import IMAGE_SUFFIXES, ImageError, list_images, load_image
from ..base.pixels import resize_to
from .catalog import DEFAULT_METRICS, QUALITY_METRICS, check_inputs, metric_info

COLUMNS = ["image", "reference", "metric", "value", "higher_is_better", "error"]
#: Images with more pixels are scored on a shrunk copy (see the module doc).
SCORE_MAX_PIXELS = 2048 * 2048
#: How a distorted image of another size than its reference is handled.
RESIZE_POLICIES = ("error", "reference")


@dataclass(frozen=True)
class Pair:
    """One item to score: an image and (optionally) its reference, plus carried-along columns."""

    image: str
    reference: str | None = None
    extra: tuple[tuple[str, object], ...] = ()


def read_manifest(path: str | os.PathLike) -> list[Pair]:
    """Read a CSV / JSONL / Parquet manifest with ``image`` and optional ``reference`` columns."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
    elif suffix in (".jsonl", ".ndjson"):
        df = pd.read_json(p, lines=True, dtype=False)
    elif suffix == ".parquet":
        df = pd.read_parquet(p)
    else:
        raise ValueError(f"{p}: manifest must be .csv, .jsonl or .parquet")
    if "image" not in df.columns:
        raise ValueError(f"{p}: manifest has no 'image' column (columns: {', '.join(map(str, df.columns))})")
    base = p.parent

    def resolve(v: object) -> str | None:
        if v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == "":
            return None
        q = Path(str(v))
        return str(q if q.is_absolute() else base / q)

    extra_cols = [c for c in df.columns if c not in ("image", "reference")]
    pairs = []
    for row in df.to_dict("records"):
        pairs.append(
            Pair(
                image=resolve(row["image"]) or "",
                reference=resolve(row.get("reference")),
                extra=tuple((c, row[c]) for c in extra_cols),
            )
        )
    return pairs


def collect_pairs(sources: Sequence[str | os.PathLike], reference_dir: str | os.PathLike | None = None) -> list[Pair]:
    """Expand folders, image files and manifests (``.csv/.jsonl/.parquet``) into :class:`Pair` s."""
    pairs: list[Pair] = []
    for src in sources:
        p = Path(src)
        if p.is_file() and p.suffix.lower() in (".csv", ".jsonl", ".ndjson", ".parquet"):
            pairs.extend(read_manifest(p))
            continue
        for img in list_images([p]):
            ref = None
            if reference_dir is not None:
                rel = img.relative_to(p) if p.is_dir() else Path(img.name)
                ref = str(_reference_for(Path(reference_dir) / rel))
            pairs.append(Pair(str(img), ref))
    return pairs


def _reference_for(path: Path) -> Path:
    """``path`` itself when it exists, else the one image beside it with the same name up to the
    extension (``hq/a.jpg`` for ``hq/a.png``: ``facebench degrade`` writes PNG), else ``path``
    (reported as missing when scored)."""
    if path.exists() or not path.parent.is_dir():
        return path
    same = [q for q in path.parent.iterdir() if q.stem == path.stem and q.suffix.lower() in IMAGE_SUFFIXES]
    return same[0] if len(same) == 1 else path


def bound_pixels(img: np.ndarray, max_pixels: int | None) -> np.ndarray:
    """``img`` shrunk to at most ``max_pixels`` pixels, aspect kept (module doc; area
    interpolation), or ``img`` itself when it is within the bound or the bound is None."""
    h, w = img.shape[:2]
    if max_pixels is None or h * w <= max_pixels:
        return img
    s = (max_pixels / float(h * w)) ** 0.5
    nw, nh = max(1, int(s * w)), max(1, int(s * h))
    return resize_to(img, (nh, nw), "area")


def _is_gray(img: np.ndarray) -> bool:
    return bool(np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 1], img[..., 2]))


def one_line(exc: BaseException) -> str:
    """First line of an exception's message (its type name when the message is empty)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _run_metric(name: str, dist: list[np.ndarray], refs: list[np.ndarray] | None) -> list[tuple[float, str]]:
    """Batched call; on failure, item by item so that one bad item does not sink the batch."""
    m = metric_info(name)
    try:
        check_inputs(name, dist, refs)
        return [(float(v), "") for v in m.batch(dist, refs if m.full_reference else None)]
    except Exception as exc:  # noqa: BLE001 - reported per item, the batch goes on
        if len(dist) == 1:
            return [(float("nan"), one_line(exc))]
        return [r for i in range(len(dist)) for r in _run_metric(name, [dist[i]], None if refs is None else [refs[i]])]


def _load_bounded(path: str, max_pixels: int | None) -> np.ndarray:
    img = load_image(path)
    out = bound_pixels(img, max_pixels)
    if out is not img:
        tqdm.write(f"note: {path}: {img.shape[1]}x{img.shape[0]} scored at {out.shape[1]}x{out.shape[0]} "
                   f"(metrics work on at most {max_pixels} pixels)")
    return out


def score_pairs(
    pairs: Sequence[Pair],
    metrics: Iterable[str] = DEFAULT_METRICS,
    *,
    batch_size: int = 8,
    resize: str = "error",
    progress: bool = True,
    max_pixels: int | None = SCORE_MAX_PIXELS,
) -> pd.DataFrame:
    """Score every pair with every metric; returns the tidy table described in the module doc
    (images over ``max_pixels`` pixels are scored on a shrunk copy, see there)."""
    names = [QUALITY_METRICS.entry(m).name for m in metrics]  # unknown names fail here, with suggestions
    if resize not in RESIZE_POLICIES:
        raise ValueError(f"resize must be one of {RESIZE_POLICIES}, got {resize!r}")
    rows: list[dict] = []
    extra_cols: list[str] = []
    for p in pairs:
        for c, _ in p.extra:
            if c not in extra_cols and c not in COLUMNS:
                extra_cols.append(c)
    bar = tqdm(total=len(pairs), desc="quality", unit="img", disable=not progress)
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start : start + batch_size]
        loaded: list[tuple[Pair, np.ndarray | None, np.ndarray | None, str, str]] = []
        for p in chunk:
            img = ref = None
            err = ref_err = ""
            try:
                img = _load_bounded(p.image, max_pixels)
            except ImageError as exc:
                err = str(exc)
            if p.reference:
                try:
                    ref = _load_bounded(p.reference, max_pixels)
                except ImageError as exc:
                    ref_err = f"reference {exc}"
            if img is not None and ref is not None and img.shape != ref.shape and resize == "reference":
                img = resize_to(img, ref.shape[:2], "area" if img.shape[0] > ref.shape[0] else "cubic")
            if img is not None and ref is not None and _is_gray(img) != _is_gray(ref):
                which = "image" if _is_gray(img) else "reference"
                tqdm.write(f"warning: {p.image}: the {which} is grayscale and its pair is in colour; "
                           "both are compared as RGB (gray channels replicated)")
            loaded.append((p, img, ref, err, ref_err))
        for name in names:
            m = metric_info(name)
            results: dict[int, tuple[float, str]] = {}
            groups: dict[tuple, list[int]] = {}
            for i, (p, img, ref, err, ref_err) in enumerate(loaded):
                if err:
                    results[i] = (float("nan"), err)
                elif m.full_reference and ref is None:
                    results[i] = (float("nan"), ref_err or f"{name} is a full-reference metric and no reference was given")
                else:
                    key = (img.shape, ref.shape if (m.full_reference and ref is not None) else None)
                    groups.setdefault(key, []).append(i)
            for idx in groups.values():
                dist = [loaded[i][1] for i in idx]
                refs = [loaded[i][2] for i in idx] if m.full_reference else None
                for i, res in zip(idx, _run_metric(name, dist, refs)):
                    results[i] = res
            for i, (p, *_rest) in enumerate(loaded):
                value, error = results[i]
                row = {"_order": (start + i, names.index(name)), "image": p.image, "reference": p.reference or "", "metric": name, "value": value,
                       "higher_is_better": bool(QUALITY_METRICS.meta(name)["higher_is_better"]), "error": error}
                row.update(dict(p.extra))
                rows.append(row)
        bar.update(len(chunk))
    bar.close()
    rows.sort(key=lambda r: r.pop("_order"))  # one block of metrics per input, in input order
    return pd.DataFrame(rows, columns=COLUMNS + extra_cols)


def failures(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a score table that carry an error."""
    return table[table["error"].astype(str) != ""]


def write_table(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a table as CSV or Parquet (by suffix); returns the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.suffix.lower() == ".parquet":
        table.to_parquet(p, index=False)
    elif p.suffix.lower() == ".csv":
        table.to_csv(p, index=False)
    else:
        raise ValueError(f"{p}: output must end in .csv or .parquet")
    return p


def wide(table: pd.DataFrame) -> pd.DataFrame:
    """Pivot a long score table to one row per image and one column per metric."""
    return table.pivot_table(index="image", columns="metric", values="value", aggfunc="first")
