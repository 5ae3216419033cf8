"""The one-page HTML report of a benchmark run (self-contained: CSS and images inline).

Sections: summary (what ran), leaderboard with the published reference numbers beside it, notes,
per-expression tables, confusion heatmaps, trade-off and intensity curves, slider strips of sample
edits (read from the cache), judge agreement, failures with counts.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..expressions import EXPRESSIONS
from ..base.imageio import load_image
from .plots import confusion_figure, intensity_figure, square_around, strip_figure, tradeoff_figure
from .reference import REFERENCE_IDENTITY, REFERENCE_JUDGE, REFERENCE_SOURCE
from .summary import ReportData, fmt
from .results import failure_counts
from .scoring import METRICS, NOT_APPLICABLE, NOT_JUDGED, judged_expressions

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:1.7em;margin:0 0 4px}h2{margin-top:36px;border-bottom:2px solid #dde2e8;padding-bottom:4px}
h3{margin:22px 0 8px;font-size:1.05em}
nav{background:#1d3557;padding:10px 28px;position:sticky;top:0;z-index:2}
nav a{color:#f1faee;margin-right:16px;text-decoration:none;font-size:.92em}
.sub{color:#5c6773;margin:0 0 14px}
table{border-collapse:collapse;margin:8px 0 14px;background:#fff;font-size:.88em;box-shadow:0 1px 2px #0001}
th,td{border:1px solid #dde2e8;padding:5px 9px;text-align:right;white-space:nowrap}
th{background:#eef1f5}td:first-child,th:first-child,td.t,th.t{text-align:left}
td.long{white-space:normal;min-width:320px;max-width:640px}.scroll{overflow-x:auto;max-width:100%}
td.nj{color:#8a94a0;font-style:italic}td.best{font-weight:700;background:#e3f4e1}
tr.ref td{background:#fbf8ef;color:#555}
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{background:#fff;border:1px solid #dde2e8;border-radius:6px;padding:10px 14px}
.card b{display:block;font-size:1.3em}.card span{color:#5c6773;font-size:.85em}
.note{background:#fff8e1;border-left:4px solid #f0b429;padding:8px 12px;margin:6px 0;font-size:.9em}
img.fig{max-width:100%;background:#fff;border:1px solid #dde2e8;border-radius:4px;margin:6px 0}
.grid{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}
.ok{color:#2b7a2b}.bad{color:#b3261e}.small{font-size:.85em;color:#5c6773}
"""


def _esc(v: Any) -> str:
    return html.escape(str(v))


def _table(df: pd.DataFrame, *, best: dict[str, bool] | None = None, ref_rows: pd.DataFrame | None = None,
           digits: int = 4) -> str:
    """An HTML table; ``best`` marks the best numeric value of each metric column (True: higher)."""
    if df.empty and (ref_rows is None or ref_rows.empty):
        return "<p class='small'>(nothing)</p>"
    cols = list(df.columns) if not df.empty else list(ref_rows.columns)
    marks: dict[str, Any] = {}
    for c, higher in (best or {}).items():
        if c in df and len(df) > 1:
            vals = pd.to_numeric(df[c], errors="coerce")
            if vals.notna().sum() > 1:
                marks[c] = vals.max() if higher else vals.min()
    text = {c for c in cols if not df.empty and c in df and
            df[c].map(lambda v: isinstance(v, str) and v not in (NOT_JUDGED, NOT_APPLICABLE) or v is None).all()}
    out = ["<div class='scroll'><table><thead><tr>"] + [
        f"<th class='{'t' if c in text else ''}'>{_esc(c)}{' &darr;' if best and best.get(c) is False else ''}</th>"
        for c in cols]
    out.append("</tr></thead><tbody>")
    for _, row in df.iterrows():
        out.append("<tr>")
        for c in cols:
            v = row[c]
            cls = []
            if isinstance(v, str) and v in (NOT_JUDGED, NOT_APPLICABLE):
                cls.append("nj")
            elif c in marks and isinstance(v, float) and not np.isnan(v) and v == marks[c]:
                cls.append("best")
            if c in text:
                cls.append("t long" if len(str(v)) > 60 else "t")
            out.append(f"<td class='{' '.join(cls)}'>{_esc(fmt(v, digits))}</td>")
        out.append("</tr>")
    if ref_rows is not None:
        for _, row in ref_rows.iterrows():
            out.append("<tr class='ref'>" + "".join(
                f"<td class='t'>{_esc(fmt(row[c], digits)) if c in row else ''}</td>" if not isinstance(row.get(c), float)
                else f"<td>{_esc(fmt(row[c], digits))}</td>" for c in cols) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _img(url: str | None, alt: str) -> str:
    return f"<img class='fig' alt='{_esc(alt)}' src='{url}'>" if url else ""


def _reference_rows(data: ReportData) -> pd.DataFrame | None:
    """Published rows in the leaderboard's columns (model = method, judge = the paper's judge)."""
    if data.reference is None or data.board.empty or "model" not in data.board:
        return None
    tracks = set(data.board.get("track", pd.Series(dtype=str)))
    ref = data.reference[data.reference["track"].isin(tracks)]
    if ref.empty:  # e.g. the fed track: the paper publishes no FED numbers
        return None
    rows = []
    for _, r in ref.iterrows():
        row = {c: "" for c in data.board.columns}
        row.update({"model": r["method"], "judge": REFERENCE_JUDGE, "track": r["track"]})
        for c in METRICS:
            if c in data.board.columns and c in r and pd.notna(r[c]):
                row[c] = float(r[c])
        if "recognisers" in row:
            row["recognisers"] = REFERENCE_IDENTITY
        rows.append(row)
    return pd.DataFrame(rows, columns=list(data.board.columns))


def _face_square(image: np.ndarray) -> tuple[int, int, int, int] | None:
    """A square around the largest detected face (None: no face, or face analysis unavailable)."""
    try:
        from ..face import analyze

        faces = analyze(image, parts=("detection",))
    except Exception:  # noqa: BLE001 - the strip falls back to the edited region
        return None
    return square_around(faces[0].detection.box, image.shape) if faces else None


def _strips(data: ReportData, store: Any, per_model: int = 12) -> list[str]:
    """Slider strips per model: for each expression, the first task with every alpha edited."""
    if store is None or data.results.empty:
        return []
    figs = []
    ok = data.results[(data.results["status"] == "ok")]
    first_judge = sorted(ok["judge"].unique())[:1]
    ok = ok[ok["judge"].isin(first_judge)]
    for model, df in ok.groupby("model", sort=True):
        rows = []
        for e in EXPRESSIONS:
            sub = df[df["expression"] == e]
            if sub.empty:
                continue
            tids = sorted(sub["task_id"].unique())
            tid = tids[len(rows) % len(tids)]  # rotate through the sources so the strips show several faces
            series = sub[sub["task_id"] == tid].sort_values("alpha")
            try:
                src = load_image(series["image"].iloc[0])
                edits = []
                for _, r in series.iterrows():
                    if store.get("edit", r["edit_key"]) is not None:
                        edits.append((float(r["alpha"]), store.edit_image(r["edit_key"])))
            except Exception:  # noqa: BLE001 - a moved source image: skip its strip
                continue
            if edits:
                score = series["target_score"].iloc[-1]
                lab = f"{e}\n{tid}" + ("" if pd.isna(score) else f"\nscore {score:.2f}")
                rows.append((lab, src, edits))
            if len(rows) >= per_model:
                break
        if rows:
            boxes = [_face_square(src) for _, src, _ in rows]
            figs.append(f"<h3>{_esc(model)}</h3><p class='small'>One task per expression: the source, then each "
                        f"alpha (cropped around the face); score = judge {_esc(first_judge[0])}'s intensity of "
                        f"the target at the largest alpha.</p>" + _img(strip_figure(rows, boxes), f"slider strips of {model}"))
    return figs


def _cache_sizes(store: Any) -> str:
    """`` (file MB; images stored for edits, MB)`` of the run's cache, or nothing without one."""
    if store is None:
        return ""
    z = store.sizes()
    return (f" ({z['file_bytes'] / 1e6:.1f} MB; {z['images']} images stored once each for {z['edits']} edits, "
            f"{z['image_bytes'] / 1e6:.1f} MB)")


def render_html(data: ReportData, *, store: Any = None) -> str:
    """The whole page as one string."""
    cfg = data.config
    res = data.results
    ok = res[res["status"] == "ok"] if not res.empty else res
    n_fail = len(data.failures)
    nav = ["summary", "leaderboard", "expressions", "confusion", "curves", "strips", "agreement", "failures"]
    body = [f"<nav>{''.join(f'<a href=#{s}>{s}</a>' for s in nav)}</nav><main>"]
    body.append("<h1 id='summary'>facebench benchmark report</h1>")
    body.append(f"<p class='sub'>track <b>{_esc(cfg.get('track', '?'))}</b> &middot; alphas "
                f"{_esc(', '.join(f'{a:g}' for a in cfg.get('alphas', [])))} &middot; facebench {__version__}</p>")
    cards = [(len(res[["model", "task_id", "alpha"]].drop_duplicates()) if not res.empty else 0, "edits"),
             (res["task_id"].nunique() if not res.empty else 0, "tasks"),
             (len(ok), "judged rows ok"), (n_fail, "failures")]
    body.append("<div class='cards'>" + "".join(f"<div class='card'><b class='{'bad' if lab == 'failures' and v else ''}'>"
                                                 f"{v}</b><span>{lab}</span></div>" for v, lab in cards) + "</div>")
    edl = ", ".join(f"{e['label']} ({e['name']})" for e in cfg.get("editors", []))
    jdl = ", ".join(f"{j['label']} [{j.get('id', '')}; judges {len(j.get('judged', []))} of 12]" for j in cfg.get("judges", []))
    body.append(f"<p class='small'>editors: {_esc(edl)}<br>judges: {_esc(jdl)}<br>identity: "
                f"{_esc(', '.join(cfg.get('recognisers', [])) or 'none')}<br>manifest: {_esc(cfg.get('manifest') or '(built in memory)')}"
                f" &middot; cache: {_esc(cfg.get('cache'))}{_cache_sizes(store)}</p>")
    if data.stats is not None and not data.stats.empty:
        body.append("<h3>What the run did</h3>" + _table(data.stats, digits=2))

    body.append("<h2 id='leaderboard'>Leaderboard</h2>")
    ref = _reference_rows(data)
    body.append(_table(data.board, best={k: v for k, v in METRICS.items()}, ref_rows=ref))
    if ref is not None:
        body.append(f"<p class='small'>Shaded rows: published numbers ({_esc(REFERENCE_SOURCE)}), judged by "
                    f"Gemini 3 Pro, ID Sim = mean cosine of {_esc(REFERENCE_IDENTITY)}: another judge and other "
                    "recognisers, so compare trends, not digits.</p>")
    else:
        body.append("<p class='small'>Published reference numbers: not found (the PixelSmile gallery folder "
                    "../shared/data/pixelsmile-gallery is not next to this checkout).</p>")
    body.extend(f"<div class='note'>{_esc(n)}</div>" for n in data.notes)

    body.append("<h2 id='expressions'>Per expression</h2>")
    for g in data.groups:
        body.append(f"<h3>{_esc(g.model)} &middot; judge {_esc(g.judge)}</h3>" + _table(g.per_expression))

    body.append("<h2 id='confusion'>Confusion (strongest edits)</h2><div class='grid'>")
    for g in data.groups:
        if g.confusion is not None and g.confusion.counts.sum() > 0:
            body.append(_img(confusion_figure(g.confusion.rates(), g.confusion.labels,
                                              f"{g.model} / {g.judge}: C(target -> predicted)"), "confusion heatmap"))
    body.append("</div>")

    body.append("<h2 id='curves'>Trade-off and intensity curves</h2>")
    if not data.curve.empty and data.curve["alpha"].nunique() > 1:
        body.append(_img(tradeoff_figure(data.curve), "ID similarity vs expression score"))
        judged = {j: judged_expressions(res[res["judge"] == j]) for j in res["judge"].unique()}
        body.append(_img(intensity_figure(ok, judged), "judged intensity vs alpha"))
        body.append("<h3>ID Sim vs expression score per alpha</h3>" + _table(data.curve))
    else:
        body.append("<p class='small'>(single alpha: no curves)</p>")

    body.append("<h2 id='strips'>Sample edits</h2>")
    strips = _strips(data, store)
    body.extend(strips or ["<p class='small'>(no cached edits to show)</p>"])

    body.append("<h2 id='agreement'>Judge agreement</h2>")
    body.append(_table(data.agreement) if not data.agreement.empty else
                "<p class='small'>(one judge: nothing to compare)</p>")

    body.append("<h2 id='failures'>Failures</h2>")
    if n_fail:
        body.append(f"<p><b class='bad'>{n_fail}</b> failure(s), by stage and reason:</p>" +
                    _table(failure_counts(data.failures)))
    else:
        body.append("<p class='ok'>No failures.</p>")
    body.append("</main>")
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"<title>facebench report</title><style>{_CSS}</style></head><body>{''.join(body)}</body></html>")
