"""Collect stage: portraits from folders -> quality-filtered, de-duplicated, domain-tagged sources.

FFE (PixelSmile paper, sec. 3.1, "Base Identity Collection"): portraits from two domains, automated
face detection and quality filtering. For every image file of every configured source:

1. read it with :func:`facebench.base.imageio.load_image` (unreadable -> dropped with the loader's
   one-line reason) and downscale it to ``collect.max_side``;
2. find faces: human photos with :func:`facebench.face.analyze` (detection, mesh, geometry,
   identity), drawings with the AnimeFace detector (:mod:`.anime`); ``domain: auto`` tries the
   photo detector first;
3. measure and filter (:mod:`.quality`): face size, sharpness, head pose from the mesh, one
   dominant face, occlusion proxy;
4. near-duplicates: a later image (sources are taken largest face first) whose pHash
   (:mod:`.phash`) is within ``phash_distance`` bits of a kept one, or (human) whose identity
   similarity reaches the near-duplicate level, is dropped with the id it duplicates.

Per-image work (analysis, embeddings of the source and its flipped / re-lit copies used by the
calibration) is cached in the build's :class:`facebench.base.store.Store` under its pixel hash,
so a rerun reads it back. Kept sources are written as PNG to ``<dataset>/sources/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..base.store import Store, key_of
from ..base.pixels import encode_png, fit_within
from ..base.imageio import ImageError, image_hash, list_images, load_image
from .anime import detect_anime_faces, measure_anime
from .config import DataConfig
from .identity import variant_images
from .phash import hamming, phash
from .quality import anime_reasons, measure, quality_reasons

#: Bump when a collect record would change for the same image and settings.
COLLECT_VERSION = "1"
KIND = "data_collect"
_PARTS = ("detection", "mesh", "geometry")


@dataclass
class Collected:
    """The sources table (one row per input file) and the identity embeddings of kept human sources."""

    table: pd.DataFrame
    embeddings: dict[str, np.ndarray]
    variant_sims: dict[str, list[float]]
    warnings: list[str]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")[:40] or "image"


def _embedder(cfg: DataConfig) -> Callable[[np.ndarray, Any], np.ndarray]:
    """``f(image, box) -> embedding`` with the filter's recogniser, the way the benchmark runner embeds
    a face for identity similarity (:mod:`facebench.bench.identity`: the given box, no keypoints)."""
    from ..face.identity import embed, get_recogniser

    rec = get_recogniser(cfg.filter.recogniser, **dict(cfg.filter.recogniser_options))
    return lambda img, box: np.asarray(embed(img, np.asarray([box], np.float64), None, recogniser=rec)[0], np.float64)


def analyse_image(img: np.ndarray, domain: str, cfg: DataConfig) -> dict[str, Any]:
    """Domain, quality measures, failing rules, pHash and (human) identity embeddings of one image:
    the main face's, and its similarity to the main face of each of :func:`.identity.variant_images`."""
    from ..face import analyze
    from ..face.identity import similarity

    rec: dict[str, Any] = {"phash": phash(img), "domain": None, "measures": {"faces": 0}, "reasons": []}
    faces = analyze(img, parts=_PARTS) if domain in ("human", "auto") else []
    if faces:
        rec["domain"] = "human"
        rec["measures"] = measure(img, faces)
        rec["reasons"] = quality_reasons(rec["measures"], cfg.collect)
        if not rec["reasons"]:
            emb_of = _embedder(cfg)
            emb = emb_of(img, faces[0].box)
            rec["embedding"] = [float(v) for v in emb]
            sims = []
            for v in variant_images(img).values():
                vf = analyze(v, parts=("detection",))
                if vf:
                    sims.append(float(similarity(emb, emb_of(v, vf[0].box))))
            rec["variant_sims"] = sims
        return rec
    if domain in ("anime", "auto"):
        anime = detect_anime_faces(img)
        if anime:
            rec["domain"] = "anime"
            rec["measures"] = measure_anime(anime)
            rec["reasons"] = anime_reasons(rec["measures"], cfg.collect)
            return rec
    rec["reasons"] = ["no face found" if domain != "anime" else "no anime face found"]
    return rec


def collect(cfg: DataConfig, out: Path, store: Store, *, progress: bool = True,
            log: Callable[[str], None] = print) -> Collected:
    """Run the collect stage over ``cfg.sources``; kept sources are written to ``out/sources``."""
    (out / "sources").mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    records: dict[str, dict[str, Any]] = {}
    images: dict[str, np.ndarray] = {}
    warnings: list[str] = []
    conf = cfg.to_dict()
    settings = key_of(COLLECT_VERSION, conf["collect"], conf["filter"]["recogniser"], conf["filter"]["recogniser_options"])
    files = [(i, spec, p) for i, spec in enumerate(cfg.sources) for p in list_images([spec.path])]
    for i, spec in enumerate(cfg.sources):
        if not any(j == i for j, _, _ in files):
            warnings.append(f"sources[{i}] {spec.path}: no image files found")
    seen_ids: set[str] = set()
    for i, spec, path in tqdm(files, desc="collect", unit="image", disable=not progress, dynamic_ncols=True):
        row: dict[str, Any] = {"path": str(path), "source_index": i, "status": "dropped", "reason": "", "domain": ""}
        try:
            img = fit_within(load_image(path), cfg.collect.max_side, "area")
        except ImageError as exc:
            row["reason"] = f"unreadable: {exc.problem}"
            rows.append(row)
            continue
        h = image_hash(img)
        sid = f"{_slug(path.stem)}-{h[:8]}"
        while sid in seen_ids:  # the same pixels twice: the second is an exact duplicate
            sid += "x"
        seen_ids.add(sid)
        key = key_of(KIND, settings, h, spec.domain)
        hit = store.get(KIND, key)
        if hit is None:
            try:
                rec = analyse_image(img, spec.domain, cfg)
            except Exception as exc:  # noqa: BLE001 - one bad image must not stop the build
                row.update(source_id=sid, hash=h, reason=f"analysis failed: {type(exc).__name__}: {exc}")
                rows.append(row)
                continue
            store.put(KIND, key, rec)
        else:
            rec = hit.value
        m = rec["measures"]
        row.update(source_id=sid, hash=h, phash=rec["phash"], domain=rec["domain"] or "",
                   width=img.shape[1], height=img.shape[0], faces=m.get("faces", 0))
        for k in ("face_px", "sharpness", "yaw", "pitch", "roll", "occlusion", "second_face_ratio", "likelihood"):
            row[k] = m.get(k, np.nan)
        row["box"] = m.get("box")
        if rec["reasons"]:
            row["reason"] = "; ".join(rec["reasons"])
        else:
            row["status"] = "candidate"
            records[sid] = rec
            images[sid] = img
        rows.append(row)
    table = pd.DataFrame(rows)
    for col in ("source_id", "hash", "phash", "box", "duplicate_of", "image"):
        if col not in table:
            table[col] = None
    emb, vsims = _dedup(table, records, cfg)
    for sid in table.loc[table["status"] == "kept", "source_id"]:
        p = out / "sources" / f"{sid}.png"
        if not p.exists():
            tmp = p.with_suffix(".tmp")
            tmp.write_bytes(encode_png(images[sid], compress_level=3))
            tmp.replace(p)
        table.loc[table["source_id"] == sid, "image"] = f"sources/{sid}.png"
    wanted = {f"{sid}.png" for sid in table.loc[table["status"] == "kept", "source_id"]}
    for stale in (out / "sources").glob("*.png"):
        if stale.name not in wanted:  # left by an earlier build with other sources or filters
            stale.unlink()
    for i, spec in enumerate(cfg.sources):
        part = table[table["source_index"] == i] if len(table) else table
        if len(part) and not (part["status"] == "kept").any():
            reasons = part["reason"].str.split(";").str[0].value_counts()
            summary = ", ".join(f"{r}: {n}" for r, n in reasons.items())
            warnings.append(f"sources[{i}] {spec.path}: {len(part)} image(s), none kept ({summary})")
    for w in warnings:
        log(f"warning: {w}")
    return Collected(table, emb, vsims, warnings)


def _dedup(table: pd.DataFrame, records: dict[str, dict[str, Any]], cfg: DataConfig
           ) -> tuple[dict[str, np.ndarray], dict[str, list[float]]]:
    """Mark candidates ``kept`` or ``dropped`` (near-duplicate), largest face first, then path."""
    from ..face.identity import similarity

    cand = table[table["status"] == "candidate"].copy()
    cand = cand.sort_values(["face_px", "path"], ascending=[False, True], kind="stable")
    vsims = {sid: list(records[sid].get("variant_sims", [])) for sid in cand["source_id"]}
    level = cfg.collect.identity_duplicate
    if level == "auto":
        all_sims = [s for v in vsims.values() for s in v]
        level = min(all_sims) if all_sims else 1.0
    kept: list[str] = []
    emb: dict[str, np.ndarray] = {}
    for r in cand.itertuples(index=False):
        sid = r.source_id
        rec = records[sid]
        dup = None
        for k in kept:
            if table.loc[table["source_id"] == k, "domain"].iloc[0] != r.domain:
                continue
            d = hamming(rec["phash"], records[k]["phash"])
            if d <= cfg.collect.phash_distance:
                dup = (k, f"near-duplicate of {k} (pHash distance {d} <= {cfg.collect.phash_distance})")
                break
            if "embedding" in rec and k in emb:
                s = float(similarity(np.asarray(rec["embedding"]), emb[k]))
                if s >= level:
                    dup = (k, f"near-duplicate of {k} (identity similarity {s:.3f} >= {level:.3f})")
                    break
        idx = table.index[table["source_id"] == sid]
        if dup:
            table.loc[idx, ["status", "reason", "duplicate_of"]] = ["dropped", dup[1], dup[0]]
            continue
        table.loc[idx, "status"] = "kept"
        kept.append(sid)
        if "embedding" in rec:
            emb[sid] = np.asarray(rec["embedding"], np.float64)
    return emb, {k: v for k, v in vsims.items() if k in emb}
