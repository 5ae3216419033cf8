"""Filter stage: consistency rules on every generated sample, with the reason for every drop.

FFE (PixelSmile paper, sec. 3.1): "consistency checks ... to remove ambiguous or low-confidence
samples". Rules, in order (a sample is kept when none fires; every firing rule is recorded):

===============  ==========================================================================
rule             fires when
===============  ==========================================================================
``failed``       the edit, a judgement or the source failed (the runner's reason is kept)
``unchanged``    the editor returned the source pixels
``not_judged``   no configured judge scores the target expression (nothing is guessed)
``dominance``    the target's score is below another judged expression's score (FFE-Bench's
                 predicted class is the dominant entry of the 12-d vector; neutral excluded)
``pair_margin``  target minus its confusing partner's score < ``pair_margin`` (partner judged)
``min_score``    the target's score < ``min_target_score``
``identity``     identity to the source missing or outside the band [low, high]: the calibrated
                 identity score ``id_score`` when the recogniser has a calibration (default
                 band [0.5, 1]: below 0.5 "identity lost"), else the raw cosine ``id_sim``
                 (:mod:`facebench.data.identity`); the reason names both
===============  ==========================================================================
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..expressions import EXPRESSIONS
from .identity import IdentityBand

RULES: tuple[str, ...] = ("failed", "unchanged", "not_judged", "dominance", "pair_margin", "min_score", "identity")


def partners(expression: str, pairs: Sequence[tuple[str, str]]) -> list[str]:
    """The confusing partners of ``expression`` under ``pairs``."""
    return [b if a == expression else a for a, b in pairs if expression in (a, b)]


def check_sample(row: dict[str, Any], band: IdentityBand | None, cfg: Any) -> list[tuple[str, str]]:
    """``[(rule, reason), ...]`` of every rule the sample breaks (empty: keep)."""
    if row["status"] != "ok":
        return [("failed", f"{row['stage']} failed: {row['reason']}")]
    out: list[tuple[str, str]] = []
    if row["edited_hash"] == row["source_hash"]:
        out.append(("unchanged", "the editor returned the source unchanged"))
    t = row["expression"]
    ts = float(row["score_" + t])
    if not np.isfinite(ts):
        out.append(("not_judged", f"target {t} is not judged by any configured judge"))
    else:
        judged = {e: float(row["score_" + e]) for e in EXPRESSIONS if np.isfinite(row["score_" + e])}
        top = max(judged, key=lambda e: (judged[e], e == t))
        if top != t and judged[top] > ts:
            out.append(("dominance", f"target {t} ({ts:.2f}) does not dominate: {top} scored {judged[top]:.2f}"))
        for p in partners(t, cfg.pairs):
            if p in judged and ts - judged[p] < cfg.pair_margin:
                out.append(("pair_margin", f"margin {t}-{p} {ts - judged[p]:+.2f} < {cfg.pair_margin:g}"))
        if ts < cfg.min_target_score:
            out.append(("min_score", f"target score {ts:.2f} < {cfg.min_target_score:g}"))
    if band is None:
        out.append(("identity", "identity not checked: no identity band (anime or uncalibrated)"))
        return out
    sim = float(row[band.column])
    if not np.isfinite(sim):
        out.append(("identity", f"identity not measured: {row.get('id_reason') or 'no face'}"))
    elif not band.contains(sim):
        side = "below" if sim < band.low else "above"
        what = (f"identity score {sim:.3f} (raw {float(row['id_sim']):.3f})" if band.scale == "calibrated"
                else f"identity similarity {sim:.3f}")
        out.append(("identity", f"{what} {side} the {band.recogniser} {band.scale} band "
                                f"[{band.low:.3f}, {band.high:.3f}]"))
    return out


def apply_filters(samples: pd.DataFrame, band: IdentityBand | None, cfg: Any,
                  anime_band: IdentityBand | None = None) -> pd.DataFrame:
    """``samples`` with ``keep`` (bool), ``rule`` (first rule that fired) and ``reason`` (all of them).

    Anime samples use ``anime_band`` (None: the identity rule is skipped for them, since the
    recognisers are trained on photos and the paper turns identity off for anime).
    """
    df = samples.copy()
    keep, rule, reason = [], [], []
    for r in df.to_dict(orient="records"):
        if r["domain"] == "anime":
            fired = [f for f in check_sample(r, anime_band or _ANY, cfg) if anime_band or f[0] != "identity"]
        else:
            fired = check_sample(r, band, cfg)
        keep.append(not fired)
        rule.append(fired[0][0] if fired else "")
        reason.append("; ".join(m for _, m in fired))
    df["keep"], df["rule"], df["drop_reason"] = keep, rule, reason
    return df


_ANY = IdentityBand(-1.0, 1.0, "none", "anime")
