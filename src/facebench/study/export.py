"""Export a study: raw ratings as a tidy table and MOS per dimension through the metrics module.

- ``ratings.csv|parquet``: one row per (rater, item, dimension) with the score, the phase, the
  presentation position and the timestamps (ISO 8601, UTC).
- ``mos.csv|parquet``: one row per (dimension, item) from
  :func:`facebench.metrics.mos.mos_table` (F-Bench section 3.3: BT.500 kurtosis screening, per-rater
  z-scores rescaled to [0, 100], mean over raters, with confidence intervals); ``item`` is the
  candidate image's path, so ``facebench quality correlate`` joins it with objective scores, and
  ``key`` the study's item key.
- ``mos_wide.csv|parquet``: one row per item, a ``mos_<dimension>`` column per dimension.
- ``mos_info.json``: the MOS method, rejected subjects and how many ratings each step removed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from . import db
from .definition import SCORE_MAX, SCORE_MIN

#: Columns of the raw-ratings table, in order.
RATING_COLUMNS = (
    "study", "rater", "group", "item", "image", "phase", "dimension", "score", "position",
    "shown_at", "submitted_at", "elapsed_ms",
)


def ratings_frame(engine: Engine, *, phases: tuple[str, ...] = ("main",)) -> pd.DataFrame:
    """Every stored rating of the given phases as a tidy table (:data:`RATING_COLUMNS`).

    ``item`` is the item key from the study file; ``group`` is the rater's group (which for main
    items is the item's group; practice items have no group of their own).
    """
    r, g, it, rt = db.raters, db.groups, db.items, db.ratings
    with db.read(engine) as conn:
        name = conn.execute(
            sa.select(db.study_meta.c.value).where(db.study_meta.c.key == "name")
        ).scalar()
        rows = conn.execute(
            sa.select(
                r.c.name.label("rater"), g.c.name.label("group"), it.c.key.label("item"),
                it.c.image_path.label("image"), rt.c.phase, rt.c.dimension, rt.c.score,
                rt.c.position, rt.c.shown_at, rt.c.submitted_at, rt.c.elapsed_ms,
            )
            .select_from(rt.join(r, r.c.id == rt.c.rater_id).join(g, g.c.id == r.c.group_id)
                         .join(it, it.c.id == rt.c.item_id))
            .where(rt.c.phase.in_(phases))
            .order_by(r.c.name, rt.c.phase, rt.c.position, rt.c.dimension)
        ).all()
    df = pd.DataFrame([dict(x._mapping) for x in rows],
                      columns=[c for c in RATING_COLUMNS if c != "study"])
    df.insert(0, "study", name)
    for col in ("shown_at", "submitted_at"):
        df[col] = pd.to_datetime(df[col].map(db.as_utc), utc=True)
    df["score"] = df["score"].astype(float)
    df["position"] = df["position"].astype(int)
    df["elapsed_ms"] = df["elapsed_ms"].astype("Int64")
    return df


def mos_frame(
    ratings: pd.DataFrame,
    *,
    screening: str = "bt500",
    reject_share: float = 0.0,
    level: float = 0.95,
) -> pd.DataFrame:
    """MOS per (dimension, item) from a :func:`ratings_frame` table via the metrics module.

    Passes ``subject=rater, item, group, dimension, score`` to
    :func:`facebench.metrics.mos.mos_table`. In the result ``key`` is the study's item key and
    ``item`` the candidate image's path (what ``facebench quality correlate`` joins on; it stays
    the key if two items share an image), ``image`` the path again. ``attrs`` keep the method and
    the rejected subjects.
    """
    try:
        from ..metrics.mos import mos_table
    except ImportError as exc:  # pragma: no cover - the metrics module ships with facebench
        raise RuntimeError(f"MOS needs facebench.metrics.mos ({exc})") from None
    if ratings.empty:
        raise ValueError("no ratings to compute MOS from")
    tidy = ratings.rename(columns={"rater": "subject"})[
        ["subject", "item", "group", "dimension", "score"]
    ]
    mos = mos_table(tidy, screening=screening, reject_share=reject_share, level=level,
                    score_range=(SCORE_MIN, SCORE_MAX))
    images = ratings.drop_duplicates("item").set_index("item")["image"]
    mos.insert(1, "key", mos["item"])
    mos["image"] = mos["key"].map(images)
    if images.is_unique:  # `quality correlate` joins MOS items to score-table images by path
        mos["item"] = mos["image"]
    return mos


def wide_mos(mos: pd.DataFrame) -> pd.DataFrame:
    """One row per item (``key, group, image``) with a ``mos_<dimension>`` column per dimension."""
    wide = mos.set_index(["key", "group", "image", "dimension"])["mos"].unstack("dimension")
    wide.columns = [f"mos_{c}" for c in wide.columns]
    return wide.reset_index()


def export_study(
    engine: Engine,
    out_dir: str | Path,
    *,
    fmt: Literal["csv", "parquet"] = "csv",
    screening: str = "bt500",
    reject_share: float = 0.0,
    level: float = 0.95,
    include_practice: bool = False,
) -> dict[str, Path]:
    """Write ``ratings``, ``mos`` and ``mos_wide`` tables into ``out_dir``; returns name -> path.

    MOS uses main-phase ratings only (practice ratings are in the raw table when
    ``include_practice``). With no main ratings yet, only the raw table is written.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"format {fmt!r} is not csv or parquet")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    phases = ("practice", "main") if include_practice else ("main",)
    raw = ratings_frame(engine, phases=phases)
    tables: dict[str, pd.DataFrame] = {"ratings": raw}
    main = raw[raw["phase"] == "main"]
    if not main.empty:
        mos = mos_frame(main, screening=screening, reject_share=reject_share, level=level)
        tables["mos"] = mos
        tables["mos_wide"] = wide_mos(mos)
    paths: dict[str, Path] = {}
    if "mos" in tables:  # provenance: method, rejected subjects, counts of removed ratings
        info = {k: (list(map(list, v)) if isinstance(v, (list, tuple)) and v and
                    isinstance(v[0], tuple) else v) for k, v in tables["mos"].attrs.items()}
        paths["mos_info"] = out / "mos_info.json"
        paths["mos_info"].write_text(json.dumps(info, indent=1, default=str))
    for name, df in tables.items():
        p = out / f"{name}.{fmt}"
        if fmt == "csv":
            df.to_csv(p, index=False)
        else:
            df.to_parquet(p, index=False)
        paths[name] = p
    return paths
