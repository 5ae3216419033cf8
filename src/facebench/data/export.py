"""Export stage: images, PixelSmile training JSONL, FFE-Bench / FED-Bench manifests, spot-check study.

All files are written under the dataset folder with paths relative to it, so the folder can move:

- ``images/<source id>/<expression>-a<intensity>.png``: kept (and spot-checked) edits, from the cache;
- ``train.jsonl`` / ``test.jsonl``: PixelSmile triplets (PixelSmile paper sec. 4; loaded by
  :func:`facebench.pixelsmile.train.data.load_triplets`): a source and two kept targets of one
  confusing pair, same identity, each with its image, expression, face box and combined scores
  (only judged expressions) plus every judge's own scores;
- ``ffe_<split>.jsonl``: an FFE-Bench manifest (general / linear tracks of ``facebench bench run``):
  one task per kept source and expression, with the kept edit nearest intensity 1 as ground truth
  when there is one; ``fed_<split>.jsonl``: the FED-Bench track's (source, instruction, ground
  truth) triplets -- the tasks that have a ground truth;
- ``spotcheck/study.yaml``: a seeded sample of judged edits as a rating study
  (:func:`facebench.study.definition.load_study`), with ``spotcheck/items.csv`` mapping each item
  to its sample and the judges' scores.

Files are written to a temporary name and renamed, so a killed build never leaves half a file.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from ..bench.manifest import Task, write_manifest
from ..base.store import Store
from ..base.pixels import encode_png
from ..expressions import EXPRESSIONS

SPLITS: tuple[str, ...] = ("train", "test")


def atomic_write(path: Path, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    tmp.replace(path)
    return path


def image_path(sample: Any) -> str:
    """Relative path of a sample's edited image: ``images/<source id>/<expression>-a<NNN>.png``."""
    return f"images/{sample['source_id']}/{sample['expression']}-a{int(round(sample['alpha'] * 100)):03d}.png"


def write_images(samples: pd.DataFrame, store: Store, out: Path) -> pd.DataFrame:
    """Write the cached edit of every sample with ``export_image`` set (and remove images an earlier build
    with another configuration left); returns ``samples`` with ``image``."""
    df = samples.copy()
    df["image"] = None
    for i, r in df.iterrows():
        if not r.get("export_image"):
            continue
        rel = image_path(r)
        p = out / rel
        if not p.exists():
            try:
                pixels = store.edit_image(r["edit_key"])
            except KeyError:
                raise RuntimeError(f"edit of {r['sample_id']} is missing from the cache {store.path}") from None
            atomic_write(p, encode_png(pixels, compress_level=3))
        df.at[i, "image"] = rel
    wanted = {out / r for r in df["image"].dropna()}
    for stale in (out / "images").rglob("*.png") if (out / "images").is_dir() else ():
        if stale not in wanted:  # left by an earlier build with another configuration
            stale.unlink()
    return df


def _scores(row: Any) -> dict[str, float]:
    return {e: round(float(row["score_" + e]), 6) for e in EXPRESSIONS if np.isfinite(row["score_" + e])}


def _judge_scores(annotations: pd.DataFrame, sample: str) -> dict[str, dict[str, float]]:
    a = annotations[(annotations["kind"] == "edit") & (annotations["sample_id"] == sample)]
    out: dict[str, dict[str, float]] = {}
    for r in a.itertuples(index=False):
        out.setdefault(r.judge, {})[r.label] = round(float(r.score), 6)
    return out


def _target(t: dict[str, Any], box: list[float] | None, annotations: pd.DataFrame) -> dict[str, Any]:
    """One target of a triplet: image, expression, combined judged scores, intensity, every judge's scores."""
    d = {"image": t["image"], "expression": t["expression"], "scores": _scores(t), "alpha": t["alpha"],
         "sample_id": t["sample_id"], "judges": _judge_scores(annotations, t["sample_id"])}
    if box is not None:
        d["box"] = box
    return d


def triplet_rows(samples: pd.DataFrame, sources: pd.DataFrame, annotations: pd.DataFrame,
                 pairs: Iterable[tuple[str, str]], pairing: str = "all") -> list[dict[str, Any]]:
    """PixelSmile JSONL rows from the kept samples (see the module docstring)."""
    kept = samples[samples["keep"]]
    src = sources.set_index("source_id")
    rows = []
    for sid, g in kept.groupby("source_id", sort=True):
        s = src.loc[sid]
        box = [float(v) for v in s["box"]] if s["box"] is not None else None
        for a, b in pairs:
            A = g[g["expression"] == a].sort_values("alpha")
            B = g[g["expression"] == b].sort_values("alpha")
            for x in A.to_dict(orient="records"):
                for y in B.to_dict(orient="records"):
                    if pairing == "same_alpha" and x["alpha"] != y["alpha"]:
                        continue
                    rows.append({
                        "id": f"{x['sample_id']}+{y['expression']}-a{int(round(y['alpha'] * 100)):03d}",
                        "source": s["image"], "subject": "character" if s["domain"] == "anime" else "person",
                        "split": s["split"], "group": int(s["group"]), "pair": [a, b],
                        "a": _target(x, box, annotations), "b": _target(y, box, annotations),
                    })
    return rows


def write_jsonl(rows: list[dict[str, Any]], path: Path) -> Path:
    """One JSON object per line (an empty file when there are no rows)."""
    return atomic_write(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))


def bench_tasks(samples: pd.DataFrame, sources: pd.DataFrame, out: Path, split: str) -> list[Task]:
    """FFE-Bench tasks of one split: kept sources x built expressions; ground truth = kept edit nearest 1."""
    tasks = []
    src = sources[(sources["status"] == "kept") & (sources["split"] == split)].sort_values("source_id")
    for s in src.to_dict(orient="records"):
        g = samples[samples["source_id"] == s["source_id"]]
        for (expr, prompt), ge in g.groupby(["expression", "prompt"], sort=True):
            kept = ge[ge["keep"]]
            gt = None
            if len(kept):
                best = kept.iloc[int(np.argmin(np.abs(kept["alpha"].to_numpy() - 1.0)))]
                gt = (out / best["image"]).resolve()
            box = tuple(float(v) for v in s["box"]) if s["box"] is not None else None
            tasks.append(Task(f"{s['source_id']}-{expr}", (out / s["image"]).resolve(), expr,
                              prompt.split(":", 1)[0] + "." if ":" in prompt else prompt,
                              s["domain"], box, gt))
    return tasks


def write_manifests(samples: pd.DataFrame, sources: pd.DataFrame, out: Path) -> dict[str, Path]:
    """``ffe_<split>.jsonl`` and ``fed_<split>.jsonl`` for both splits (empty splits write nothing)."""
    paths: dict[str, Path] = {}
    for split in SPLITS:
        tasks = bench_tasks(samples, sources, out, split)
        for name, ts in ((f"ffe_{split}", tasks), (f"fed_{split}", [t for t in tasks if t.ground_truth])):
            p = out / f"{name}.jsonl"
            if ts:
                tmp = write_manifest(ts, out / f"{name}.jsonl.tmp.jsonl")
                tmp.replace(p)
                paths[name] = p
            elif p.exists():
                p.unlink()
    return paths


def spotcheck_selection(samples: pd.DataFrame, n: int, seed: int) -> list[str]:
    """Sample ids of a seeded choice of ``n`` judged edits (kept ones first, then dropped-by-rule ones)."""
    ok = samples[samples["status"] == "ok"]
    order = sorted(ok["sample_id"], key=lambda s: hashlib.sha256(f"{seed}|spot|{s}".encode()).hexdigest())
    kept = set(ok.loc[ok["keep"], "sample_id"])
    order = [s for s in order if s in kept] + [s for s in order if s not in kept]
    return order[:n]


SPOT_DIMENSIONS = [
    {"name": "target_expression", "label": "Target expression",
     "description": "How clearly the face shows the target expression named in the prompt, at the stated "
                    "intensity (0: not at all, 5: exactly).", "stimulus": "single", "show_prompt": True},
    {"name": "id_fidelity", "stimulus": "double"},
]


def write_spotcheck(samples: pd.DataFrame, sources: pd.DataFrame, annotations: pd.DataFrame, out: Path,
                    ids: list[str], *, name: str, seed: int, raters: int) -> Path | None:
    """``spotcheck/study.yaml`` + ``spotcheck/items.csv`` for the samples ``ids`` (None when empty)."""
    import yaml

    if not ids:
        return None
    src = sources.set_index("source_id")
    by_id = samples.set_index("sample_id")
    items, table = [], []
    for sid in ids:
        r = by_id.loc[sid]
        items.append({"key": sid, "image": f"../{r['image']}", "reference": f"../{src.loc[r['source_id'], 'image']}",
                      "prompt": f"Target: {r['expression']} at intensity {r['alpha']:g}"})
        row = {"key": sid, "expression": r["expression"], "alpha": r["alpha"], "keep": bool(r["keep"]),
               "target_score": r["score_" + r["expression"]], "id_sim": r["id_sim"]}
        for j, sc in _judge_scores(annotations, sid).items():
            row[f"{j}:{r['expression']}"] = sc.get(r["expression"], np.nan)
        table.append(row)
    study = {"name": f"{name} spot check", "seed": int(seed),
             "instructions": "Check the automatic annotations of generated expression edits: rate how clearly "
                             "each image shows its target expression and how well it keeps the person's identity.",
             "dimensions": SPOT_DIMENSIONS, "items": items, "n_groups": 1, "raters": int(raters)}
    p = atomic_write(out / "spotcheck" / "study.yaml", yaml.safe_dump(study, sort_keys=False))
    atomic_write(out / "spotcheck" / "items.csv", pd.DataFrame(table).to_csv(index=False))
    return p

