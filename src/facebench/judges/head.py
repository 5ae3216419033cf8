"""Judge v2's trained head: class-balanced multinomial logistic regression over the feature vector.

Model (multinomial logistic regression on standardised features):

    z = (x - mu) / sigma,        l = W z + b,        p(c | x) = exp(l_c) / sum_k exp(l_k)

fitted by minimising the class-balanced, L2-regularised negative log-likelihood

    L(W, b) = - sum_i w_i log p(y_i | x_i) / sum_i w_i + ||W||^2 / (2 C n),   w_i = n / (K n_{y_i})

with L-BFGS (SciPy), so every class weighs the same whatever its count ("balanced" weights as in
scikit-learn's ``class_weight='balanced'``). ``C`` is chosen by person-grouped cross-validation
(:func:`group_folds`: no person on both sides of a split; photos without a person are their own
group) on balanced accuracy.

Graded intensity (:meth:`Head.intensity`). Two kinds of evidence for class ``c``, each put on
the scale "how far from neutral, in units of a typical expression of that class":

- the classifier's log-odds against neutral, ``e_c(x) = l_c(x) - l_neutral(x)``, over ``D_c``;
- the action-unit score ``a_c(x)`` of :func:`facebench.judges.prototypes.basic_au` (mesh
  geometry; graded where the classifier's evidence saturates), over ``G_c``;

where ``D_c`` and ``G_c`` are the 90th percentiles of ``e_c`` and ``a_c`` over training photos of
class ``c`` minus their medians over neutral photos. With a reference face ``r``,

    I_c(x | r) = clip( ((e_c(x) - e_c(r)) / D_c + (a_c(x) - a_c(r)) / G_c) / 4, 0, 1 ),

so a clearly posed photo of the class (90th percentile) scores about 0.5 and stronger expressions
still rise towards 1 instead of saturating. The reference is the edit's source face when it is
known and not itself more expressive than the typical neutral face (per class and per kind:
``e_c(r) = min(e_c(source), e_c(typical neutral))``, likewise ``a_c``); otherwise, and without a
source, the typical neutral face of the training set (medians over neutral photos).

The judge's score (:meth:`Head.score`) weights the intensity by the class's probability relative
to the most probable basic expression, ``S_c = I_c(x | r) * p_c / max_k p_k`` (k over the 6 basic
ones), so the top-scoring expression agrees with the classifier: the unweighted intensities'
argmax reached a 6-way balanced accuracy of only 0.58 on the training photos against 0.78 for
``S_c`` and 0.82 for the probabilities themselves (in-sample, same head). CLS and the benchmarks
read ``S_c``; the intensity ``I_c`` alone is validated as a source-relative measure on real photos
by :mod:`.pairs` (each person's neutral photo as the source of their expressive ones), and the
model card lists, per gallery slider, the CLS of ``S_c``, of ``I_c`` and of its two terms.

Files are ``.npz`` read with ``allow_pickle=False``; the metadata (classes, blocks, feature
version, training facts) is a JSON string inside. A file fitted on another feature version is
refused with one line (:class:`HeadError`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .features import BLOCKS, FEATURE_VERSION
from ..base.errors import UserError

HEAD_FORMAT = "facebench-judge-head"


class HeadError(UserError, ValueError):
    """A head file cannot be used; ``str(err)`` is one line naming the file and the reason."""


@dataclass
class Head:
    """A fitted head: standardisation, weights, classes and intensity calibration."""

    classes: tuple[str, ...]
    blocks: tuple[str, ...]
    mu: np.ndarray
    sigma: np.ndarray
    W: np.ndarray  # (K, D)
    b: np.ndarray  # (K,)
    ref_evidence: np.ndarray  # (K,) median e_c over neutral photos
    gap: np.ndarray  # (K,) D_c
    au_centre: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per BASIC_AU_KEYS
    au_spread: np.ndarray = field(default_factory=lambda: np.ones(0))
    au_gap: np.ndarray = field(default_factory=lambda: np.ones(0))  # (K,) G_c (neutral: 1)
    feature_version: str = FEATURE_VERSION
    meta: dict[str, Any] = field(default_factory=dict)

    def logits(self, X: np.ndarray) -> np.ndarray:
        """``l = W (x - mu) / sigma + b`` for (N, D) or (D,) features."""
        X = np.asarray(X, np.float64)
        return ((X - self.mu) / self.sigma) @ self.W.T + self.b

    def proba(self, X: np.ndarray) -> np.ndarray:
        """Softmax of :meth:`logits`."""
        return softmax(self.logits(X))

    def evidence(self, X: np.ndarray) -> np.ndarray:
        """``e_c = l_c - l_neutral`` (neutral's own column is 0)."""
        l = self.logits(X)
        return l - l[..., [self.classes.index("neutral")]]

    def au(self, geometry: dict[str, float]) -> np.ndarray:
        """``a_c`` per class (neutral: 0) from :func:`~facebench.face.geometry.measure` values."""
        from .prototypes import basic_au

        s = basic_au(geometry, self.au_centre, self.au_spread)
        return np.array([s.get(c, 0.0) for c in self.classes])

    def intensity(self, x: np.ndarray, geometry: dict[str, float], source_x: np.ndarray | None = None,
                  source_geometry: dict[str, float] | None = None) -> np.ndarray:
        """``I_c(x | r)`` of the module docstring (neutral's column is 0); ``x`` / ``source_x``
        are head-block feature vectors, ``geometry`` / ``source_geometry`` measurements."""
        ref_e = self.ref_evidence if source_x is None else np.minimum(self.evidence(source_x), self.ref_evidence)
        ref_a = np.zeros(len(self.classes)) if source_geometry is None else np.minimum(self.au(source_geometry), 0.0)
        gain = (self.evidence(x) - ref_e) / self.gap + (self.au(geometry) - ref_a) / self.au_gap
        out = np.clip(gain / 4.0, 0.0, 1.0)
        out[self.classes.index("neutral")] = 0.0
        return out

    def score(self, x: np.ndarray, geometry: dict[str, float], source_x: np.ndarray | None = None,
              source_geometry: dict[str, float] | None = None) -> np.ndarray:
        """``S_c = I_c(x | r) * p_c / max_k p_k`` (k over the non-neutral classes; module docstring)."""
        p = self.proba(x)
        top = max(float(p[i]) for i, c in enumerate(self.classes) if c != "neutral")
        return self.intensity(x, geometry, source_x, source_geometry) * p / top

    def save(self, path: str | os.PathLike) -> None:
        """Write the head as ``.npz`` (arrays + a JSON metadata string; no pickles)."""
        meta = dict(self.meta, format=HEAD_FORMAT, feature_version=self.feature_version,
                    classes=list(self.classes), blocks=list(self.blocks))
        tmp = Path(str(path) + ".tmp.npz")
        np.savez_compressed(tmp, mu=self.mu.astype(np.float32), sigma=self.sigma.astype(np.float32),
                            W=self.W.astype(np.float32), b=self.b, ref_evidence=self.ref_evidence,
                            gap=self.gap, au_centre=self.au_centre, au_spread=self.au_spread,
                            au_gap=self.au_gap, meta=np.array(json.dumps(meta)))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Head":
        """Read a head file; :class:`HeadError` (one line) when missing, malformed or fitted on
        another feature version."""
        p = Path(path)
        if not p.is_file():
            raise HeadError(f"{p}: judge head file not found")
        try:
            with np.load(p, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            meta = json.loads(str(arrays.pop("meta")))
        except Exception as exc:  # noqa: BLE001
            raise HeadError(f"{p}: not a facebench judge head file ({type(exc).__name__})") from None
        if meta.get("format") != HEAD_FORMAT:
            raise HeadError(f"{p}: not a facebench judge head file (format {meta.get('format')!r})")
        if meta.get("feature_version") != FEATURE_VERSION:
            raise HeadError(f"{p}: fitted on judge features v{meta.get('feature_version')}, this facebench "
                            f"computes v{FEATURE_VERSION}; retrain it with `facebench judge train`")
        blocks = tuple(meta["blocks"])
        if any(b not in BLOCKS for b in blocks):
            raise HeadError(f"{p}: unknown feature blocks {blocks}")
        d = sum(BLOCKS[b] for b in blocks)
        if arrays["W"].shape[1] != d:
            raise HeadError(f"{p}: weights have {arrays['W'].shape[1]} columns, blocks {blocks} give {d}")
        return cls(tuple(meta["classes"]), blocks, arrays["mu"].astype(np.float64),
                   arrays["sigma"].astype(np.float64), arrays["W"].astype(np.float64),
                   arrays["b"].astype(np.float64), arrays["ref_evidence"], arrays["gap"],
                   arrays["au_centre"], arrays["au_spread"], arrays["au_gap"], meta["feature_version"], meta)


def softmax(l: np.ndarray) -> np.ndarray:
    """Row-wise softmax ``exp(l_c - max l) / sum_k exp(l_k - max l)``."""
    l = np.asarray(l, np.float64)
    e = np.exp(l - l.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def block_columns(blocks: Sequence[str]) -> np.ndarray:
    """Column indices of ``blocks`` inside the full :data:`BLOCKS` vector."""
    starts, pos = {}, 0
    for name, n in BLOCKS.items():
        starts[name] = (pos, pos + n)
        pos += n
    return np.concatenate([np.arange(*starts[b]) for b in blocks])


def fit_logreg(Z: np.ndarray, y: np.ndarray, n_classes: int, C: float, *, class_power: float = 1.0,
               smoothing: float = 0.0, sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Minimise the class-balanced L2 multinomial NLL of the module docstring on standardised
    ``Z`` (N, D) with integer labels ``y``; returns ``(W, b)``.

    Variants compared by ``benchmarks/judge_head_candidates.py`` (the shipped head uses the
    defaults): ``class_power`` tempers the balanced weights to ``w_i = (n / (K n_{y_i}))^power``;
    ``smoothing`` eps replaces the one-hot targets by ``(1 - eps) onehot + eps / K`` (label-noise
    robust); ``sample_weight`` multiplies ``w_i``."""
    from scipy.optimize import minimize

    n, d = Z.shape
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    w = (n / (n_classes * np.maximum(counts, 1)))[y] ** class_power
    if sample_weight is not None:
        w = w * np.asarray(sample_weight, np.float64)
    w /= w.sum()
    Y = np.eye(n_classes)[y] * (1.0 - smoothing) + smoothing / n_classes
    lam = 1.0 / (C * n)

    def f(theta: np.ndarray) -> tuple[float, np.ndarray]:
        W = theta[: n_classes * d].reshape(n_classes, d)
        b = theta[n_classes * d:]
        l = Z @ W.T + b
        l -= l.max(axis=1, keepdims=True)
        logp = l - np.log(np.exp(l).sum(axis=1, keepdims=True))
        loss = -(w * (Y * logp).sum(1)).sum() + 0.5 * lam * (W**2).sum()
        g = (np.exp(logp) - Y) * w[:, None]
        return loss, np.concatenate([(g.T @ Z + lam * W).ravel(), g.sum(0)])

    res = minimize(f, np.zeros(n_classes * (d + 1)), jac=True, method="L-BFGS-B",
                   options={"maxiter": 500})
    return res.x[: n_classes * d].reshape(n_classes, d), res.x[n_classes * d:]


def group_folds(groups: Sequence[str], k: int = 5, seed: int = 0) -> np.ndarray:
    """Fold index (0..k-1) per sample with no group in two folds: groups shuffled with ``seed``,
    then each (largest first) assigned to the currently smallest fold."""
    g = np.asarray(groups, dtype=object)
    uniq, inv, sizes = np.unique(g, return_inverse=True, return_counts=True)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(uniq))
    order = order[np.argsort(-sizes[order], kind="stable")]
    fold_of, load = np.zeros(len(uniq), int), np.zeros(k)
    for u in order:
        f = int(np.argmin(load))
        fold_of[u] = f
        load[f] += sizes[u]
    return fold_of[inv]


def standardiser(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column mean and standard deviation (1 where a column is constant)."""
    mu = X.mean(0)
    sd = X.std(0)
    return mu, np.where(sd > 1e-9, sd, 1.0)


def fit_head(X: np.ndarray, labels: Sequence[str], classes: Sequence[str], blocks: Sequence[str],
             C: float, meta: dict[str, Any] | None = None,
             block_weights: dict[str, float] | None = None) -> Head:
    """Fit a :class:`Head` on full-vector features ``X`` restricted to ``blocks``; calibrates the
    intensity (reference evidence and gaps, see the module docstring) on the same data.

    ``block_weights`` (default 1) scale a block's standardised values before fitting, i.e. its
    ``sigma`` is divided by the weight: a weight below 1 regularises that block more strongly."""
    cols = block_columns(blocks)
    Xb = np.asarray(X, np.float64)[:, cols]
    y = np.array([list(classes).index(l) for l in labels])
    mu, sd = standardiser(Xb)
    sd = sd / np.concatenate([np.full(BLOCKS[b], float((block_weights or {}).get(b, 1.0))) for b in blocks])
    W, b = fit_logreg((Xb - mu) / sd, y, len(classes), C)
    head = Head(tuple(classes), tuple(blocks), mu, sd, W, b, np.zeros(len(classes)), np.ones(len(classes)),
                meta=dict(meta or {}, C=C, block_weights=dict(block_weights or {})))
    ev = head.evidence(Xb)
    neutral = y == list(classes).index("neutral")
    head.ref_evidence = np.median(ev[neutral], axis=0)
    gap = np.array([np.percentile(ev[y == c, c], 90) if np.any(y == c) else 1.0 for c in range(len(classes))])
    head.gap = np.maximum(gap - head.ref_evidence, 1e-3)
    head.gap[list(classes).index("neutral")] = 1.0
    # action-unit scores from the geometry block (always part of the full vector X)
    from .features import geometry_dict
    from .prototypes import BASIC_AU_KEYS, derived

    geo = [geometry_dict(g) for g in np.asarray(X, np.float64)[:, block_columns(["geometry"])]]
    M = np.array([[derived(g)[k] for k in BASIC_AU_KEYS] for g in geo])
    head.au_centre = np.median(M[neutral], axis=0)
    head.au_spread = np.maximum(1.4826 * np.median(np.abs(M[neutral] - head.au_centre), axis=0), 1e-6)
    A = np.array([head.au(g) for g in geo])
    au_gap = np.array([np.percentile(A[y == c, c], 90) if np.any(y == c) else 1.0 for c in range(len(classes))])
    head.au_gap = np.maximum(au_gap - np.median(A[neutral], axis=0), 1e-3)
    head.au_gap[list(classes).index("neutral")] = 1.0
    return head
