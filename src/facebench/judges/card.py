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


def extended_markdown(sliders: dict[str, Any], stats: dict[str, Any] | None = None,
                      notes: dict[str, str] | None = None) -> str:
    """The extended expressions' part of the card: each prototype's facial actions and cited
    source (:data:`.prototypes.PROTOTYPES`), its slider validation (:func:`.validate.validate_sliders`),
    how often it fires between ordinary photos of one person and whether it is judged (with the
    reason when not); ``stats``: :func:`.validate.action_statistics`; ``notes``: what each slider
    shows, per expression."""
    from .prototypes import ACTIONS, EXTENDED, EXTENDED_JUDGED, NEUTRAL_ACTIONS, PROTOTYPES, WITHIN_PERSON_SPREAD
    from .validate import EXT_MIN_CLS

    def acts(items: tuple[tuple[str, float], ...]) -> str:
        return " + ".join(f"{a}" + (f" x{w:g}" if w != 1 else "") for a, w in items)

    out = ["## The six extended expressions", "",
           "Scored from facial-action prototypes on the mesh, relative to the source face, each action in "
           "units of its within-person spread (`facebench.judges.prototypes`: `z = max(s (m(x) - m(r)) / "
           "sigma_m, 0)`, `A = mean of the present actions' z - sum of the excluded actions' z`, "
           "`I = A / (A + 1)`). An expression is judged only when its slider validation passes: CLS >= "
           f"{EXT_MIN_CLS} on its own slider, the top extended prototype at frame 27, and higher at frame 27 "
           "of its own slider than at frame 27 of every other slider (specificity).", "",
           "| expression | with | without | source | CLS | top at frame 27 | own / highest other slider "
           "(frame 27) | fires between same-person photos | judged |",
           "|---|---|---|---|---|---|---|---|---|"]
    for e in EXTENDED:
        p, r = PROTOTYPES[e], sliders.get(e, {})
        reasons = []
        if "error" in r or not r:
            reasons.append("slider not measured")
        else:
            if not r["cls"] >= EXT_MIN_CLS:
                reasons.append(f"CLS {_f(r['cls'])} < {EXT_MIN_CLS}")
            if r["top_last"] != e:
                reasons.append(f"{r['top_last']} tops it at frame 27")
            if r.get("note"):
                reasons.append(r["note"])
        own = r.get("extended_last", {}).get(e) if r else None
        others = {o: q["extended_last"][e] for o, q in sliders.items() if o != e and q.get("extended_last")}
        worst = max(others, key=others.get) if others else None
        vs = f"{own:.2f} / {others[worst]:.2f} ({worst})" if own is not None and worst else "n/a"
        rate = _f((stats or {}).get("pair_rate", {}).get(e))
        judged = "**yes**" if e in EXTENDED_JUDGED else "not judged"
        if e in EXTENDED_JUDGED and reasons:
            judged = "**yes, but its validation fails now**: " + "; ".join(reasons)
        elif e not in EXTENDED_JUDGED:
            judged += ": " + ("; ".join(reasons) if reasons else "passes now; add it to EXTENDED_JUDGED")
        out.append(f"| {e} | {acts(p.with_)} | {acts(p.without) or '-'} | {p.source} | {_f(r.get('cls'))} | "
                   f"{r.get('top_last', 'n/a')} | {vs} | {rate} | {judged} |")
    out += ["", "Actions (FACS numbers; measured on the frontalised mesh, heights against the eye-corner line):", ""]
    out += [f"- {a}: {desc} (`{m}`, within-person spread {WITHIN_PERSON_SPREAD[m]:.4g})"
            for a, (m, _, desc) in ACTIONS.items()]
    if stats:
        rel = max(abs(stats["spread"][k] / WITHIN_PERSON_SPREAD[k] - 1) for k in WITHIN_PERSON_SPREAD)
        med = max(abs(stats["neutral"].get(k, v) - v) / WITHIN_PERSON_SPREAD[k] for k, v in NEUTRAL_ACTIONS.items())
        out += ["", f"Within-person spreads from {stats['persons']} faces-in-the-wild persons with two or more "
                f"photos ({stats['photos']} photos); recomputed in this run they differ from the shipped "
                f"constants by at most {rel:.1%} (neutral medians by {med:.2f} spreads). 'Fires between "
                f"same-person photos': share of the {stats['pairs']} ordered pairs of one person's photos "
                "(the first as source, any labelled expressions) where the prototype reaches 0.5."]
    if notes:
        out += ["", "What each extended slider shows (frames 00, 09, 18, 27 looked at) and why a prototype "
                "does or does not follow it:", ""]
        out += [f"- **{e}**: {notes[e]}" for e in EXTENDED if e in notes]
    return "\n".join(out) + "\n"
