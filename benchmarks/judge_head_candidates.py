"""Judge v2's head: the variants tried against the shipped one, all under the same person-split CV.

    nice python benchmarks/judge_head_candidates.py [--data ../shared/data] [--cache /tmp/wt13-cache]
        [--seeds 0 1 2 3 4]

Every variant is fitted inside each training fold only (standardisation, PCA, bias tuning
included) on the same features (:mod:`facebench.judges.dataset`, cached by file hash and feature
version) and scored on the held-out persons; photos that could not be measured count as wrong. It
prints one Markdown row per variant: mean balanced accuracy over the person-fold shuffles
(:func:`facebench.judges.head.group_folds` seeds), its range and the mean recall per class.
Gradient boosting needs scikit-learn, which facebench does not install; the row is skipped without it.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
from pathlib import Path
from typing import Callable

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

FitPredict = Callable[[np.ndarray, np.ndarray, np.ndarray, list], np.ndarray]


def linear(weights: dict[str, float], C: float, *, transform: Callable | None = None,
           extra_weight: float = 1.0, group_power: float = 0.0, **fit_kw) -> FitPredict:
    """Logistic regression on the weighted, standardised blocks (as :func:`fit_head`), with the
    options of :func:`fit_logreg`; ``transform(X_train, X_test, A_train, A_test)`` returns the
    block columns it keeps (index array) and the new columns for both sides, which get weight
    ``extra_weight``; ``group_power`` a weights each photo by ``1 / m^a`` with ``m`` the photos of
    its person and class (rescaled to keep each class's total)."""
    from facebench.judges.features import BLOCKS
    from facebench.judges.head import block_columns, fit_logreg, softmax, standardiser

    cols = block_columns(list(weights))
    wv = np.concatenate([np.full(BLOCKS[b], w) for b, w in weights.items()])

    def fp(Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, gtr: list) -> np.ndarray:
        A, B, ww = Xtr[:, cols], Xte[:, cols], wv
        if transform is not None:
            kept, new_a, new_b = transform(Xtr, Xte, A, B)
            A, B = np.concatenate([A[:, kept], new_a], 1), np.concatenate([B[:, kept], new_b], 1)
            ww = np.concatenate([wv[kept], np.full(new_a.shape[1], extra_weight)])
        mu, sd = standardiser(A)
        sw = None
        if group_power:
            cnt = collections.Counter(zip(gtr, ytr))
            sw = np.array([cnt[(g, c)] ** -group_power for g, c in zip(gtr, ytr)])
            for c in np.unique(ytr):
                sw[ytr == c] *= np.sum(ytr == c) / sw[ytr == c].sum()
        W, b = fit_logreg((A - mu) / sd * ww, ytr, int(ytr.max()) + 1, C, sample_weight=sw, **fit_kw)
        return softmax((B - mu) / sd * ww @ W.T + b)
    return fp


def pose_interactions(Xtr: np.ndarray, Xte: np.ndarray, A: np.ndarray, B: np.ndarray):
    """Append each geometry value times yaw, pitch and roll, and the squared pose angles."""
    from facebench.judges.head import block_columns

    gc = block_columns(["geometry"])

    def extra(X: np.ndarray) -> np.ndarray:
        g = X[:, gc]
        return np.concatenate([g[:, 3:] * g[:, [i]] for i in range(3)] + [g[:, :3] ** 2], 1)
    return np.arange(A.shape[1]), extra(Xtr), extra(Xte)


def embed_pca(k: int):
    """Replace the 128 ``fer_embed`` columns (which must follow the 7 ``fer_logits``) by their
    first ``k`` principal components, fitted on the training fold."""
    from facebench.judges.head import block_columns

    ec = block_columns(["fer_embed"])

    def tr(Xtr: np.ndarray, Xte: np.ndarray, A: np.ndarray, B: np.ndarray):
        m = Xtr[:, ec].mean(0)
        Vt = np.linalg.svd(Xtr[:, ec] - m, full_matrices=False)[2][:k]
        return np.r_[0:7, 7 + len(ec):A.shape[1]], (Xtr[:, ec] - m) @ Vt.T, (Xte[:, ec] - m) @ Vt.T
    return tr


def bias_tuned(base: FitPredict, inner: int = 4) -> FitPredict:
    """``base`` plus per-class log-biases that maximise balanced accuracy on out-of-fold
    probabilities of an inner person-grouped CV of the training fold (coordinate ascent)."""
    from facebench.judges.head import group_folds, softmax

    def fp(Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, gtr: list) -> np.ndarray:
        fo = group_folds(gtr, inner, 0)
        P = np.zeros((len(ytr), int(ytr.max()) + 1))
        for f in range(inner):
            sub = [g for g, m in zip(gtr, fo != f) if m]
            P[fo == f] = base(Xtr[fo != f], ytr[fo != f], Xtr[fo == f], sub)
        L, b = np.log(P + 1e-12), np.zeros(P.shape[1])

        def ba(bias: np.ndarray) -> float:
            pred = (L + bias).argmax(1)
            return float(np.mean([np.mean(pred[ytr == c] == c) for c in np.unique(ytr)]))
        for _ in range(3):
            for c in range(len(b)):
                b[c] = max(np.linspace(-1.5, 1.5, 31), key=lambda v: (ba(np.r_[b[:c], v, b[c + 1:]]), -abs(v)))
        return softmax(np.log(base(Xtr, ytr, Xte, gtr) + 1e-12) + b)
    return fp


def boosting(blocks: list[str]) -> FitPredict | None:
    """scikit-learn's HistGradientBoostingClassifier with balanced class weights, or None."""
    try:
        from sklearn.ensemble import HistGradientBoostingClassifier
    except ImportError:
        return None
    from facebench.judges.head import block_columns

    cols = block_columns(blocks)

    def fp(Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, gtr: list) -> np.ndarray:
        m = HistGradientBoostingClassifier(class_weight="balanced", max_iter=150, learning_rate=0.05,
                                           max_leaf_nodes=15, l2_regularization=1.0, random_state=0)
        m.fit(Xtr[:, cols], ytr)
        P = np.zeros((len(Xte), int(ytr.max()) + 1))
        P[:, m.classes_] = m.predict_proba(Xte[:, cols])
        return P
    return fp


def arguments(doc: str) -> argparse.ArgumentParser:
    """The options these scripts share: ``--data``, ``--cache``, ``--seeds``."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--cache", default="/tmp/wt13-cache")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    return ap


class Basic7:
    """faces-in-the-wild's neutral + 6 basic photos as the judge's feature table (``X``, class
    indices ``y``, person ``groups``) and the labels of unmeasured photos (``lost``, counted wrong)."""

    def __init__(self, X: np.ndarray, labels: list[str], groups: list[str], lost: list[str]) -> None:
        from facebench.expressions import BASIC7

        self.X, self.labels, self.groups, self.lost, self.classes = X, labels, groups, lost, list(BASIC7)
        self.y = np.array([self.classes.index(l) for l in labels])
        self.truth = np.asarray(labels + lost, dtype=object)

    @classmethod
    def load(cls, data: str, cache: str) -> "Basic7":
        """The table of ``data/faces-in-the-wild`` (features cached under ``cache``)."""
        from facebench.expressions import BASIC7
        from facebench.judges.dataset import build_table, labelled_images

        table = build_table(labelled_images(Path(data) / "faces-in-the-wild"), cache)
        keep = np.array([l in BASIC7 for l in table.labels])
        out = cls(table.X[keep], [l for l, k in zip(table.labels, keep) if k],
                  [g for g, k in zip(table.groups, keep) if k], [l for _, _, l in table.failed if l in BASIC7])
        out.table, out.keep = table, keep
        return out

    def header(self, what: str) -> str:
        """The Markdown header of :meth:`row`'s table."""
        return (f"| {what} | mean balanced acc. | range | " + " | ".join(f"recall {c}" for c in self.classes)
                + " |\n" + "|---" * (3 + len(self.classes)) + "|")

    def row(self, name: str, fp: FitPredict, X: np.ndarray, seeds: list[int]) -> str:
        """One Markdown row: ``fp`` fitted inside each training fold of the person folds of every
        seed, balanced accuracy (mean, range) and mean recall per class on the held-out persons."""
        from facebench.judges.evaluate import class_report
        from facebench.judges.head import group_folds

        bas, recalls = [], []
        for seed in seeds:
            folds = group_folds(self.groups, 5, seed)
            P = np.zeros((len(self.labels), len(self.classes)))
            for f in range(5):
                tr = folds != f
                P[~tr] = fp(X[tr], self.y[tr], X[~tr], [g for g, m in zip(self.groups, tr) if m])
            pred = np.concatenate([np.asarray(self.classes, dtype=object)[P.argmax(1)],
                                   np.full(len(self.lost), "(not measured)", dtype=object)])
            rep = class_report(self.truth, pred, self.classes)
            bas.append(rep["balanced_accuracy"])
            recalls.append([rep["recall"][c] for c in self.classes])
        return (f"| {name} | {np.mean(bas):.3f} | {min(bas):.3f}-{max(bas):.3f} | "
                + " | ".join(f"{v:.2f}" for v in np.mean(recalls, 0)) + " |")


def main() -> int:
    args = arguments(__doc__).parse_args()

    from facebench.judges.features import BLOCKS
    from facebench.judges.train import BLOCK_SETS

    data = Basic7.load(args.data, args.cache)

    old, new = BLOCK_SETS["all"], BLOCK_SETS["weighted"]
    per_block = {b: 1.0 / np.sqrt(BLOCKS[b] / 7) for b in new}  # each block's total variance as 7 logits'
    variants: dict[str, FitPredict | None] = {
        "all, C=0.03 (shipped before)": linear(old, 0.03),
        "weighted, C=0.03": linear(new, 0.03),
        "weighted, C=0.01": linear(new, 0.01),
        "weighted, C=0.1": linear(new, 0.1),
        "all, class weights balanced^0.5": linear(old, 0.03, class_power=0.5),
        "all, class weights balanced^0.75": linear(old, 0.03, class_power=0.75),
        "all, class weights balanced^1.25": linear(old, 0.03, class_power=1.25),
        "all, label smoothing 0.1": linear(old, 0.03, smoothing=0.1),
        "weighted, label smoothing 0.1": linear(new, 0.03, smoothing=0.1),
        "per-block standardisation (block variance = 7 logits')": linear(per_block, 0.03),
        "all + geometry x head pose interactions": linear(old, 0.03, transform=pose_interactions),
        "weighted, person weights 1/sqrt(photos of person and class)": linear(new, 0.03, group_power=0.5),
        "weighted, embedding as 32 PCs (fitted in fold, weight 0.3)": linear(new, 0.03, transform=embed_pca(32),
                                                                          extra_weight=0.3),
        "weighted + per-class biases tuned for balanced accuracy (nested CV)": bias_tuned(linear(new, 0.03)),
        "gradient boosting (scikit-learn), logits + geometry": boosting(["fer_logits", "facex_logits", "geometry"]),
    }
    print(data.header("head variant"))
    for name, fp in variants.items():
        if fp is None:
            print(f"| {name} | not run (scikit-learn not installed) |" + " |" * (1 + len(data.classes)))
            continue
        print(data.row(name, fp, data.X, args.seeds), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
