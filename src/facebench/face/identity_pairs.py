"""Labelled face photos for identity calibration: read who is who, embed every photo once (cached on
disk), and turn the embeddings into same-person and different-person similarity pairs.

Inputs (:func:`read_labelled`):

- a folder with one sub-folder per person (``DIR/<person>/*.jpg``);
- a CSV with ``path`` and ``person`` columns (e.g. ``faces-in-the-wild/labels.csv``; rows with an
  empty person are skipped; relative paths are relative to the CSV's folder);
- a CSV of pairs with ``a``, ``b`` and ``same`` (1/0, true/false) columns (:func:`read_pairs`).

Every photo is embedded with its largest detected face (:func:`facebench.face.analyze`, then
:func:`facebench.face.identity.embed`); a photo without a face is reported, not silently dropped.
Pair similarity is the cosine of :func:`facebench.face.identity.similarity`.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".avif", ".tif", ".tiff")


@dataclass
class LabelledPhotos:
    """Photo paths and the person each shows (same order)."""

    paths: list[Path]
    persons: list[str]
    source: str = ""


@dataclass
class PairSet:
    """Raw similarities of same-person and different-person pairs, with the persons involved.

    ``same_persons[i]`` is the person of same pair ``i``; ``different_persons[i]`` the two persons
    of different pair ``i`` (used to hold persons out for validation).
    """

    same: np.ndarray
    different: np.ndarray
    same_persons: np.ndarray = field(default_factory=lambda: np.zeros(0, object))
    different_persons: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), object))
    failed: list[str] = field(default_factory=list)  # "path: reason" for photos without an embedding
    n_photos: int = 0
    n_persons: int = 0


def read_labelled(source: str | Path) -> LabelledPhotos:
    """Photos and persons from a folder of per-person folders or a ``path,person`` CSV.

    Raises ``ValueError`` (one line naming the file) when nothing usable is found.
    """
    src = Path(source).expanduser()
    if src.is_dir():
        paths, persons = [], []
        for d in sorted(p for p in src.iterdir() if p.is_dir()):
            for f in sorted(d.rglob("*")):
                if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file():
                    paths.append(f)
                    persons.append(d.name)
        if not paths:
            raise ValueError(f"{src}: no images in per-person sub-folders (expected {src}/<person>/*.jpg)")
        return LabelledPhotos(paths, persons, str(src))
    if not src.is_file():
        raise ValueError(f"{src}: no such file or folder")
    with src.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        cols = set(reader.fieldnames or [])
        if not {"path", "person"} <= cols:
            raise ValueError(f"{src}: a labels CSV needs 'path' and 'person' columns, has {sorted(cols)}")
        rows = [(r["path"], (r["person"] or "").strip()) for r in reader]
    paths = [(src.parent / p) if not Path(p).is_absolute() else Path(p) for p, who in rows if who]
    persons = [who for _, who in rows if who]
    if not paths:
        raise ValueError(f"{src}: no rows with a person")
    return LabelledPhotos(paths, persons, str(src))


def read_pairs(source: str | Path) -> tuple[list[Path], list[Path], np.ndarray]:
    """``(a paths, b paths, same flags)`` from a CSV with columns ``a``, ``b``, ``same``."""
    src = Path(source).expanduser()
    if not src.is_file():
        raise ValueError(f"{src}: no such file")
    truthy = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
    a, b, same = [], [], []
    with src.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        cols = set(reader.fieldnames or [])
        if not {"a", "b", "same"} <= cols:
            raise ValueError(f"{src}: a pairs CSV needs 'a', 'b' and 'same' columns, has {sorted(cols)}")
        for i, r in enumerate(reader, start=2):
            flag = truthy.get(str(r["same"]).strip().lower())
            if flag is None:
                raise ValueError(f"{src}:{i}: same={r['same']!r} is not 1/0/true/false")
            a.append(src.parent / r["a"] if not Path(r["a"]).is_absolute() else Path(r["a"]))
            b.append(src.parent / r["b"] if not Path(r["b"]).is_absolute() else Path(r["b"]))
            same.append(flag)
    if not same:
        raise ValueError(f"{src}: no pairs")
    return a, b, np.asarray(same, bool)


def recogniser_fingerprint(recogniser: str, options: dict | None = None) -> str:
    """A cache key part naming the recogniser and, for a model file, its content."""
    opts = dict(options or {})
    h = hashlib.sha256(recogniser.encode())
    for k in sorted(opts):
        v = opts[k]
        h.update(f"{k}={v}".encode())
        if k == "path" and Path(str(v)).is_file():
            h.update(hashlib.sha256(Path(str(v)).read_bytes()).digest())
    return h.hexdigest()[:16]


def embed_photos(
    paths: Sequence[str | Path | np.ndarray],
    *,
    recogniser: str = "dlib",
    options: dict | None = None,
    cache_dir: str | Path | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, list[str]]:
    """``(N, D)`` embeddings of the largest face in each photo (paths or RGB arrays; rows of nan where none) and the
    failures as ``"path: reason"``. With ``cache_dir`` each embedding is kept as a ``.npy`` named by
    recogniser fingerprint and pixel hash, so a rerun (or another command) embeds nothing twice."""
    from ..base.imageio import image_hash, load_image
    from . import analyze
    from .identity import embed

    opts = dict(options or {})
    fp = recogniser_fingerprint(recogniser, opts)
    cdir = Path(cache_dir).expanduser() if cache_dir else None
    if cdir:
        cdir.mkdir(parents=True, exist_ok=True)
    out: list[np.ndarray | None] = []
    failed: list[str] = []
    for i, src in enumerate(paths):
        p = f"image {i}" if isinstance(src, np.ndarray) else src
        try:
            img = load_image(src)
        except Exception as exc:  # noqa: BLE001 - ImageError and friends, one line each
            failed.append(f"{p}: {exc}")
            out.append(None)
            continue
        f = cdir / f"{fp}-{image_hash(img)}.npy" if cdir else None
        if f is not None and f.is_file():
            v = np.load(f)
            out.append(None if v.size == 0 else v)
            if v.size == 0:
                failed.append(f"{p}: no face found")
            continue
        faces = analyze(img, parts=("detection",), max_faces=1)
        if not faces:
            failed.append(f"{p}: no face found")
            out.append(None)
            if f is not None:
                np.save(f, np.zeros(0, np.float32))
            continue
        face = faces[0]
        e = np.asarray(embed(img, np.asarray([face.detection.box]), np.asarray([face.keypoints()]),
                             recogniser=recogniser, **opts)[0], np.float32)
        out.append(e)
        if f is not None:
            np.save(f, e)
        if log and (i + 1) % 50 == 0:
            log(f"embedded {i + 1}/{len(paths)}")
    dim = next((len(v) for v in out if v is not None), 0)
    arr = np.full((len(out), dim), np.nan, np.float32)
    for i, v in enumerate(out):
        if v is not None:
            arr[i] = v
    return arr, failed


def cosine_matrix(emb: np.ndarray) -> np.ndarray:
    """``(N, N)`` cosine similarities of the rows of ``emb`` (nan rows give nan)."""
    x = np.asarray(emb, np.float64)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return x @ x.T


def labelled_pairs(emb: np.ndarray, persons: Sequence[str], failed: Iterable[str] = ()) -> PairSet:
    """Every unordered pair of embedded photos: same person or different person."""
    who = np.asarray(list(persons), dtype=object)
    ok = ~np.isnan(emb).any(axis=1) if emb.size else np.zeros(len(who), bool)
    idx = np.flatnonzero(ok)
    s = cosine_matrix(emb[idx])
    iu, ju = np.triu_indices(len(idx), k=1)
    sims = s[iu, ju]
    pa, pb = who[idx][iu], who[idx][ju]
    same = pa == pb
    return PairSet(
        same=sims[same], different=sims[~same],
        same_persons=pa[same], different_persons=np.stack([pa[~same], pb[~same]], axis=1),
        failed=list(failed), n_photos=int(len(idx)), n_persons=int(len(set(who[idx]))),
    )
