"""Markdown for judge v2's model card: training (cross-validation) and validation reports."""

from __future__ import annotations

from typing import Any

from .features import BLOCKS, FEATURE_VERSION


def _f(v: Any) -> str:
    return "n/a" if v is None or v != v else f"{v:.3f}"


def confusion_markdown(rep: dict[str, Any]) -> str:
    """Confusion matrix table (rows = true, columns = predicted) of a class report."""
    cls = rep["classes"]
    other = rep.get("other") or [0] * len(cls)
    extra = any(other)  # photos not measured: a column of their own, wrong for every class
    lines = ["| true \\ predicted | " + " | ".join(cls) + (" | not measured" if extra else "") + " |",
             "|---" * (len(cls) + 1 + extra) + "|"]
    for c, row, o in zip(cls, rep["confusion"], other):
        lines.append(f"| {c} | " + " | ".join(str(v) for v in row) + (f" | {o}" if extra else "") + " |")
    return "\n".join(lines)


def reports_table(reports: dict[str, dict[str, Any]]) -> str:
    """Per-class recall, balanced accuracy, accuracy and ECE of several class reports side by side."""
    first = next(iter(reports.values()))
    cls = first["classes"]
    lines = ["| judge | " + " | ".join(f"recall {c}" for c in cls) + " | balanced acc. | accuracy | ECE |",
             "|---" * (len(cls) + 4) + "|"]
    for name, r in reports.items():
        lines.append(f"| {name} | " + " | ".join(_f(r["recall"][c]) for c in cls)
                     + f" | **{_f(r['balanced_accuracy'])}** | {_f(r['accuracy'])} | {_f(r.get('ece'))} |")
    return "\n".join(lines)


def _spread_lines(rep: dict[str, Any]) -> list[str]:
    """One paragraph: the chosen head's balanced accuracy on other shuffles of the person folds."""
    spread = rep.get("seed_spread") or {}
    if len(spread) < 2:
        return []
    vals = list(spread.values())
    return [f"The same blocks and C cross-validated on {len(vals)} shuffles of the person folds (seeds "
            + ", ".join(str(s) for s in spread) + f"): balanced accuracy "
            + ", ".join(_f(v) for v in vals) + f"; mean {_f(sum(vals) / len(vals))}, range "
            f"{_f(min(vals))}-{_f(max(vals))} (the table above is seed {next(iter(spread))}; blocks and C were chosen on "
            f"the mean over seeds {', '.join(str(s) for s in rep.get('select_seeds', [0]))}).", ""]


def training_markdown(rep: dict[str, Any]) -> str:
    """The training part of the card from :func:`facebench.judges.train.train`'s report."""
    out = [f"## Cross-validated on the training folder (feature version {FEATURE_VERSION})", "",
           f"- {rep['n_photos'] + rep['not_measured']} photos (neutral + 6 basic; {rep['n_photos']} measured), "
           f"{rep['n_groups']} person groups, "
           f"{rep['folds']} person-grouped folds (no person on both sides); counts: "
           + ", ".join(f"{c} {n}" for c, n in rep["counts"].items()),
           f"- chosen: blocks `{rep['blocks']}` ("
           + ", ".join(f"{b} x{w:g}" for b, w in rep["block_weights"].items()) + f"), C = {rep['C']:g} "
           "(class-balanced multinomial logistic regression)",
           f"- photos measured with the whole image as face box (no detection): {rep['fallback_boxes']}; "
           f"photos that could not be measured (no face even in the whole image; counted as wrong for "
           f"every judge below): {rep['not_measured']}", "",
           "Out-of-fold results on the same photos and folds (ensemble-v1 = the old fer + facex ensemble, "
           "plain crops; fer alone likewise):", "",
           reports_table({"judge v2 (offline)": rep["v2"], "ensemble-v1": rep["ensemble_v1"],
                          "fer alone": rep["fer_alone"]}), "",
           *_spread_lines(rep),
           "Confusion of judge v2 (out of fold):", "", confusion_markdown(rep["v2"]), "",
           "Balanced accuracy of every candidate tried (photos measured; mean over the person-fold shuffles "
           f"with seeds {', '.join(str(s) for s in rep.get('select_seeds', [0]))}):", "",
           "| blocks | " + " | ".join(f"C={c}" for c in next(iter(rep["tried"].values()))) + " |",
           "|---" * (1 + len(next(iter(rep["tried"].values())))) + "|"]
    for name, s in rep["tried"].items():
        out.append(f"| {name} | " + " | ".join(_f(v) for v in s.values()) + " |")
    if rep["failed"]:
        out += ["", "Not measured (count as failures, not dropped silently):", ""]
        out += [f"- {line}" for line in rep["failed"]]
    return "\n".join(out) + "\n"


def validation_markdown(labelled: dict[str, Any] | None, sliders: dict[str, Any] | None, head: str) -> str:
    """The validation part of the card from :mod:`facebench.judges.validate`."""
    out = [f"## Validation of `{head}`", ""]
    if labelled:
        out += ["Labelled photos (top class of the head; in-sample if these photos trained it):", "",
                reports_table({"judge v2": labelled}), ""]
    if sliders:
        out += ["Slider series (intensity relative to frame 00; CLS = Pearson r of frame index and the "
                "target's intensity):", "",
                "| expression | CLS | top at last frame | passed | intensity at frames 1, 7, 14, 20, 27 |",
                "|---|---|---|---|---|"]
        for e, r in sliders.items():
            if "error" in r:
                out.append(f"| {e} | not measured: {r['error']} | | no | |")
                continue
            y = r["intensity"]
            pick = [y[i] for i in (0, 6, 13, 19, len(y) - 1) if i < len(y)]
            passed = "yes" if r["passed"] else ("no: " + r["note"] if r.get("note") else "no")
            out.append(f"| {e} | {_f(r['cls'])} | {r['top_last']} | {passed} | "
                       + ", ".join(f"{v:.2f}" for v in pick) + " |")
    return "\n".join(out) + "\n"


FEATURES_MARKDOWN = "\n".join(
    f"- `{name}` ({n} values)" for name, n in BLOCKS.items()
)
