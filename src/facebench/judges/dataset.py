"""Feature tables for training and validating judge v2: labelled folders and slider series.

:func:`extract` turns one image file into the feature blocks of :mod:`.features` for its largest
face. Photos in which no face is detected (tightly cropped faces often are not) are measured with
the whole image as the face box, and marked ``fallback``; when even the mesh fails the image is
reported as failed (never silently dropped: callers count it). Results are cached on disk as one
``.npz`` per image, keyed by the file's SHA-256 and :data:`~.features.FEATURE_VERSION`.

Labelled folder layout: ``<root>/<label>/*.jpg`` with labels among neutral + the 12 expressions
(aliases like ``happiness`` accepted); an optional ``labels.csv`` with ``path,expression,person``
gives the person of each photo for person-grouped cross-validation. Where that file leaves the
person empty, the name part of a ``Name_NNN.jpg`` file name is the person (:func:`person_from_name`:
faces-in-the-wild's film stills, e.g. ``Dwarakish_71.jpg``, 83 of its 165 disgust photos, carry their
actor only in the file name, and leaving them as one group per photo put the same actor on both
sides of a split); without ``labels.csv``, or when no name part is found, a photo is its own group.
"""

from __future__ import annotations

import csv
import re
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from ..expressions import normalize_expression
from .features import BLOCKS, FEATURE_VERSION, face_features
from ..base.errors import UserError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".avif", ".bmp", ".tif", ".tiff")
#: Extra per-image arrays stored next to the blocks.
EXTRA = ("fer_logits_plain", "facex_logits_plain", "box", "fallback")


class DatasetError(UserError, ValueError):
    """A folder is not a usable labelled set; ``str(err)`` is one line naming it."""


def default_cache_dir() -> Path:
    """``$FACEBENCH_CACHE/judge-features`` or ``~/.cache/facebench/judge-features``."""
    base = os.environ.get("FACEBENCH_CACHE") or os.path.join(Path.home(), ".cache", "facebench")
    return Path(base) / "judge-features"


def extract(path: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> dict[str, np.ndarray] | str:
    """Feature blocks (and :data:`EXTRA`) of the largest face in the image file ``path``, or a
    one-line reason string when it cannot be measured."""
    from ..face import analyze
    from ..face.mesh import get_mesh_estimator
    from ..base.imageio import load_image

    data = Path(path).read_bytes()
    key = hashlib.sha256(data).hexdigest()[:32]
    cache = Path(cache_dir) / f"v{FEATURE_VERSION}" / key[:2] / f"{key}.npz" if cache_dir else None
    if cache is not None and cache.exists():
        with np.load(cache) as z:
            return {k: z[k] for k in z.files}
    try:
        image = load_image(path)
    except Exception as exc:  # noqa: BLE001
        return f"{path}: {exc}"
    faces = analyze(image, parts=("mesh",))
    faces = [f for f in faces if f.mesh is not None]
    fallback = not faces
    if faces:
        box, mesh = faces[0].detection.box, faces[0].mesh
    else:
        h, w = image.shape[:2]
        box = np.array([0.1 * w, 0.1 * h, 0.9 * w, 0.95 * h])
        mesh = get_mesh_estimator().estimate(image, box)
        if mesh is None:
            return f"{path}: no face found"
    out = face_features(image, box, mesh)
    out["box"] = np.asarray(box, np.float64)
    out["fallback"] = np.array(fallback)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, **out)
        os.replace(tmp, cache)
    return out


@dataclass
class Table:
    """Features of many images: ``X`` (N, D) in :data:`BLOCKS` order, ``labels``, ``groups``,
    ``paths``, per-image ``extra`` arrays, and ``failed`` (path, reason, label) for images not
    measured (they count as wrong answers in reports, never as absent)."""

    X: np.ndarray
    labels: list[str]
    groups: list[str]
    paths: list[str]
    extra: dict[str, np.ndarray]
    failed: list[tuple[str, str, str]] = field(default_factory=list)


_NAME_PART = re.compile(r"^([A-Za-z][A-Za-z_-]*?)_\d+$")


def person_from_name(filename: str) -> str:
    """The person of a ``Name_NNN.<ext>`` file name (``"Dwarakish_71.jpg"`` -> ``"Dwarakish"``,
    ``"George_W_Bush_0001.jpg"`` -> ``"George_W_Bush"``); ``""`` when the stem is not a name made
    of letters followed by ``_`` and a number."""
    m = _NAME_PART.match(Path(filename).stem)
    return m.group(1) if m else ""


def labelled_images(root: str | os.PathLike) -> list[tuple[str, str, str]]:
    """``(path, label, person)`` for every image of a labelled folder (see the module docstring).

    Raises :class:`DatasetError` when the folder is missing or holds no ``<label>/`` image folders.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder")
    persons: dict[str, str] = {}
    csv_path = root / "labels.csv"
    if csv_path.exists():
        with csv_path.open(newline="") as fh:
            for row in csv.DictReader(fh):
                persons[os.path.normpath(row.get("path", ""))] = (row.get("person") or "").strip()
    out = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            label = normalize_expression(sub.name, allow_neutral=True)
        except ValueError:
            continue
        for f in sorted(sub.iterdir()):
            if f.suffix.lower() in IMAGE_SUFFIXES:
                rel = os.path.normpath(f.relative_to(root))
                person = persons.get(rel, "") or (person_from_name(f.name) if persons else "")
                out.append((str(f), label, person or f"photo:{rel}"))
    if not out:
        raise DatasetError(f"{root}: no labelled images (expected <label>/*.jpg with labels such as "
                           "neutral, happy, sad, angry, fear, surprised, disgust)")
    return out


def build_table(items: Iterable[tuple[str, str, str]], cache_dir: str | os.PathLike | None = None,
                progress: Callable[[int, int], None] | None = None) -> Table:
    """Extract every ``(path, label, group)`` item into a :class:`Table` (failures listed)."""
    items = list(items)
    rows, labels, groups, paths, failed = [], [], [], [], []
    extra: dict[str, list[np.ndarray]] = {k: [] for k in EXTRA}
    for i, (path, label, group) in enumerate(items):
        res = extract(path, cache_dir)
        if progress:
            progress(i + 1, len(items))
        if isinstance(res, str):
            failed.append((path, res, label))
            continue
        rows.append(np.concatenate([res[b].reshape(-1) for b in BLOCKS]))
        labels.append(label)
        groups.append(group)
        paths.append(path)
        for k in EXTRA:
            extra[k].append(np.asarray(res[k]))
    dim = sum(BLOCKS.values())
    X = np.asarray(rows, np.float64).reshape(-1, dim)
    return Table(X, labels, groups, paths, {k: np.asarray(v) for k, v in extra.items()}, failed)
