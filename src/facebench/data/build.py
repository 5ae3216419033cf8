"""``facebench data build``: the whole collect -> compose -> generate -> annotate -> filter -> export
pipeline of FFE (PixelSmile paper, sec. 3.1) in one resumable call, :func:`build_dataset`.

The dataset folder::

    cache.sqlite          every analysis, edit, judgement and identity score (content-addressed)
    sources/ images/      kept source photos; kept and spot-checked edits (PNG)
    sources.parquet       one row per input file: status, reason, domain, quality, group, split
    samples.parquet       one row per generated sample: scores, identity, keep, rule, drop_reason
    annotations.parquet   every judge's every score
    prompts.jsonl         the prompt library used (+ prompts_rejected.jsonl with the rule that fired)
    train.jsonl test.jsonl              PixelSmile training triplets
    ffe_<split>.jsonl fed_<split>.jsonl benchmark manifests (``facebench bench run``)
    spotcheck/study.yaml  rating study of a sample (``facebench study create``)
    dataset.json card.{json,md,html} plots/   description and card
    build_log.json        what the last run computed, took from the cache, or failed

Everything but ``build_log.json`` and the cache depends only on the configuration and the input
images: an interrupted build that is run again ends with the same files as an uninterrupted one.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from .. import __version__
from ..base.store import Store
from .anime import ANIME_DETECTOR
from .annotate import build_samples
from .card import write_card
from .collect import collect
from .config import DataConfig, load_config
from .export import (
    SPLITS,
    atomic_write,
    spotcheck_selection,
    triplet_rows,
    write_images,
    write_jsonl,
    write_manifests,
    write_spotcheck,
)
from .filtering import apply_filters
from .generate import generate_and_annotate, run_summary
from .identity import (IdentityBand, calibrate_band, group_identities, pairwise, rule_groups, score_band,
                       split_groups)
from .prompts import PromptLibrary, compose_library, vlm_check


class DataBuildError(RuntimeError):
    """A build cannot go on (no usable source, no identity band...); one line saying why and what to do."""


@dataclass
class BuildResult:
    """What :func:`build_dataset` made: the tables, the identity band and the written files."""

    out: Path
    sources: pd.DataFrame
    samples: pd.DataFrame
    annotations: pd.DataFrame
    band: IdentityBand | None
    files: dict[str, Path] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    failures: pd.DataFrame = field(default_factory=pd.DataFrame)
    stats: dict[str, Any] = field(default_factory=dict)


def identity_band(cfg: DataConfig, sources: pd.DataFrame, emb: dict[str, np.ndarray],
                  vsims: dict[str, list[float]]) -> IdentityBand | None:
    """The identity band of the filter (None without human sources): on the calibrated scale when
    the recogniser has a calibration (:func:`.identity.score_band`), else the configured raw band or
    the one calibrated on the kept human sources (:func:`.identity.calibrate_band`)."""
    humans = [s for s in sources.loc[(sources["status"] == "kept") & (sources["domain"] == "human"), "source_id"]
              if s in emb]
    if not humans:
        return None
    f = cfg.filter
    same = [s for h in humans for s in vsims.get(h, [])]
    e = np.stack([emb[h] for h in humans])
    sims, groups = pairwise(e), np.asarray(rule_groups(e, f.recogniser))
    iu = np.triu_indices(len(humans), 1)
    different = list(sims[iu][groups[iu[0]] != groups[iu[1]]])
    cal = identity_calibration(cfg)
    if cal is not None:
        where = f.identity_calibration or "shipped"
        return score_band(cal, same, different, source=f"calibration {where}",
                          band=None if f.identity_band == "auto" else tuple(f.identity_band), high=f.identity_max)
    if f.identity_band != "auto":
        lo, hi = f.identity_band
        return IdentityBand(lo, hi, f.recogniser, "config")
    try:
        return calibrate_band(same, different, recogniser=f.recogniser, high=f.identity_max)
    except ValueError as exc:
        raise DataBuildError(str(exc)) from None


def identity_calibration(cfg: DataConfig) -> Any:
    """The identity calibration of the filter's recogniser (``filter.identity_calibration`` or the
    one shipped for it), or None when it has none."""
    from ..face.calibration import load_calibration, shipped_path

    f = cfg.filter
    if not f.identity_calibration and shipped_path(f.recogniser) is None:
        return None
    try:
        return load_calibration(f.recogniser, f.identity_calibration or None)
    except ValueError as exc:
        raise DataBuildError(str(exc)) from None


def with_identity_score(samples: pd.DataFrame, band: IdentityBand | None, cal: Any) -> pd.DataFrame:
    """``samples`` with ``id_score``: the calibrated identity score of ``id_sim`` (nan without a
    calibration or a calibrated band)."""
    df = samples.copy()
    if df.empty:
        return df
    on = cal is not None and band is not None and band.scale == "calibrated"
    df["id_score"] = cal.score(df["id_sim"].to_numpy(np.float64)) if on else np.nan
    return df


def assign_splits(cfg: DataConfig, sources: pd.DataFrame, emb: dict[str, np.ndarray],
                  band: IdentityBand | None) -> pd.DataFrame:
    """``group`` (identity group of :func:`.identity.group_identities` for human sources; every
    anime source alone, since drawings have no identity embedding) and ``split`` for every kept source."""
    df = sources.copy()
    df["group"], df["split"] = pd.array([pd.NA] * len(df), dtype="Int64"), None
    kept = df[df["status"] == "kept"].sort_values("source_id")
    humans = [s for s in kept["source_id"] if s in emb]
    groups: dict[str, int] = {}
    if humans and band is not None:
        ids = group_identities(np.stack([emb[s] for s in humans]), band.group_raw, cfg.filter.recogniser)
        for s, g in zip(humans, ids):
            groups[s] = g
    for s in kept["source_id"]:
        if s not in groups:
            groups[s] = max(groups.values(), default=-1) + 1
    hashes = df.set_index("source_id")["hash"]
    members: dict[int, list[str]] = {}
    for s, g in groups.items():
        members.setdefault(g, []).append(str(hashes[s]))
    split = split_groups({g: "|".join(sorted(m)) for g, m in members.items()}, cfg.export.test_fraction, cfg.seed)
    for s, g in groups.items():
        i = df.index[df["source_id"] == s]
        df.loc[i, "group"] = g
        df.loc[i, "split"] = split[g]
    return df


def compose(cfg: DataConfig, domains: set[str], store: Store) -> dict[str, PromptLibrary]:
    """The prompt library for each subject needed (person for photos, character for anime)."""
    libs = {}
    for subject, dom in (("person", "human"), ("character", "anime")):
        if dom not in domains:
            continue
        lib = compose_library(cfg.compose.expressions, subject=subject,
                              max_per_expression=cfg.compose.max_prompts_per_expression, seed=cfg.seed)
        if cfg.compose.vlm:
            try:
                lib = vlm_check(lib, cache=store.mapping("data_prompt_check"), **dict(cfg.compose.vlm))
            except TypeError as exc:
                raise DataBuildError(f"{cfg.source}: compose.vlm: {exc} (give base_url and model)") from None
            except ValueError as exc:
                raise DataBuildError(f"compose: {exc}") from None
        empty = [e for e, p in lib.prompts.items() if not p]
        if empty:
            raise DataBuildError(f"compose: no valid prompt left for {', '.join(empty)} (all combinations rejected)")
        libs[subject] = lib
    return libs


def _write_prompts(libs: dict[str, PromptLibrary], out: Path) -> None:
    valid = [p.to_dict() | {"subject": s} for s, lib in libs.items() for ps in lib.prompts.values() for p in ps]
    rejected = [{"subject": s, "expression": r.expression, "attributes": dict(r.attributes), "rule": r.rule,
                 "reason": r.reason} for s, lib in libs.items() for r in lib.rejected]
    write_jsonl(valid, out / "prompts.jsonl")
    write_jsonl(rejected, out / "prompts_rejected.jsonl")


def _parquet(df: pd.DataFrame, path: Path) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    df.to_parquet(tmp, index=False)
    tmp.replace(path)
    return path


def build_dataset(config: DataConfig | str | Path, out: str | Path | None = None, *, progress: bool = True,
                  log: Callable[[str], None] = print) -> BuildResult:
    """Build (or continue building) the dataset of ``config`` in ``out``.

    ``out`` defaults to ``<config folder>/<name>``. Raises :class:`~.config.ConfigError` for a bad
    configuration and :class:`DataBuildError` when no source is usable or no identity band can be
    set; item failures (unreadable images, editor or judge errors) are recorded, not raised.
    """
    cfg = config if isinstance(config, DataConfig) else load_config(config)
    if out is None:
        base = Path(cfg.source).parent if cfg.source != "<dict>" else Path.cwd()
        out = base / cfg.name
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    store = Store(out / "cache.sqlite")
    t0 = time.perf_counter()
    from .generate import components

    components(cfg)  # unknown names fail before any work

    log(f"[1/6] collect: {len(cfg.sources)} source(s)")
    col = collect(cfg, out, store, progress=progress, log=log)
    src = col.table
    kept = src[src["status"] == "kept"]
    if kept.empty:
        reasons = src["reason"].str.split(";").str[0].value_counts() if len(src) else pd.Series(dtype=int)
        detail = ", ".join(f"{r}: {n}" for r, n in reasons.items()) or "no image files"
        raise DataBuildError(f"no usable portrait in {', '.join(str(s.path) for s in cfg.sources)} ({detail})")
    log(f"  {len(kept)} of {len(src)} image(s) kept")
    band = identity_band(cfg, src, col.embeddings, col.variant_sims)
    src = assign_splits(cfg, src, col.embeddings, band)

    log("[2/6] compose: prompt library")
    libs = compose(cfg, set(kept["domain"]), store)
    _write_prompts(libs, out)

    log(f"[3/6] generate + annotate: {len(kept)} source(s) x {len(cfg.compose.expressions)} expression(s) x "
        f"{len(cfg.generate.intensities)} intensit(ies)")
    result, _ = generate_and_annotate(cfg, src, libs, out, store, progress=progress, log=log)

    log("[4/6] filter")
    samples, annotations = build_samples(result.results)
    samples = apply_filters(with_identity_score(samples, band, identity_calibration(cfg)), band, cfg.filter)
    spot = spotcheck_selection(samples, cfg.annotate.spot_check, cfg.seed)
    samples["export_image"] = samples["keep"] | samples["sample_id"].isin(spot)
    log(f"  {int(samples['keep'].sum())} of {len(samples)} sample(s) kept")

    log("[5/6] export")
    samples = write_images(samples, store, out)
    samples = samples.merge(src[["source_id", "split", "group"]], on="source_id", how="left")
    files: dict[str, Path] = {}
    rows = triplet_rows(samples, src[src["status"] == "kept"], annotations, cfg.filter.pairs, cfg.export.pairing)
    triplets = {}
    for split in SPLITS:
        part = [r for r in rows if r["split"] == split]
        triplets[split] = len(part)
        files[f"{split}.jsonl"] = write_jsonl(part, out / f"{split}.jsonl")
    files.update({f"{k}.jsonl": v for k, v in write_manifests(samples, src, out).items()})
    study = write_spotcheck(samples, src, annotations, out, spot, name=cfg.name, seed=cfg.seed,
                            raters=cfg.annotate.spot_check_raters)
    if study:
        files["spotcheck/study.yaml"] = study
    files["sources.parquet"] = _parquet(src.drop(columns=["source_index"]), out / "sources.parquet")
    files["samples.parquet"] = _parquet(samples.drop(columns=["export_image"]), out / "samples.parquet")
    files["annotations.parquet"] = _parquet(annotations, out / "annotations.parquet")
    conf = result.config
    meta = {"name": cfg.name, "facebench": __version__, "config": cfg.to_dict(),
            "identity_band": band.to_dict() if band else None,
            "prompt_library": {"version": next(iter(libs.values())).version,
                               "counts": {s: lib.counts() for s, lib in libs.items()}},
            "editor": conf["editors"][0], "judges": conf["judges"], "recogniser": conf["recognisers"],
            "anime_detector": ANIME_DETECTOR, "triplets": triplets, "warnings": col.warnings}
    files["dataset.json"] = atomic_write(out / "dataset.json", json.dumps(meta, indent=1, sort_keys=True, default=str))

    log("[6/6] dataset card")
    files.update({k: v for k, v in write_card(out).items()})
    fails = result.failures
    stats = {"seconds": round(time.perf_counter() - t0, 2), "run": run_summary(result), "failures": int(len(fails))}
    atomic_write(out / "build_log.json", json.dumps(
        stats | {"failure_rows": json.loads(fails.to_json(orient="records")) if len(fails) else []}, indent=1))
    if len(fails):
        log(f"{len(fails)} item(s) failed (listed in {out / 'build_log.json'}); the first:")
        for r in fails.head(5).itertuples(index=False):
            log(f"  {r.stage} {r.task_id} alpha={r.alpha}: {r.reason}")
        log("run `facebench data build` again to retry them; finished items come from the cache")
    log(f"dataset: {out} ({int(samples['keep'].sum())} kept samples, {sum(triplets.values())} triplets)")
    return BuildResult(out, src, samples, annotations, band, files, col.warnings, fails, stats)
