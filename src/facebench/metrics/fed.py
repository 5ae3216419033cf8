"""FED-Score, a PROVISIONAL reconstruction (FED-Bench, seed 000: only the abstract is public).

FED-Bench scores an edit of a (source, instruction, ground truth) triplet on three disentangled
dimensions: Alignment (was the instruction followed), Fidelity (image quality and identity /
background preservation) and Relative Expression Gain, REG (how large the expression change is
relative to the ground truth's, penalising "lazy" and "overfit" edits). The paper's formulas are
not published; the ones below are facebench's, each a replaceable part held in a
:class:`~facebench.base.registry.Registry`:

- :data:`ALIGNMENT` ``"target_share"`` (default): with g = max(p_edit - p_src, 0) the gain of
  each expression (neutral left out) in the judge's score vectors, A = g_t / sum_k g_k, the share
  of the expression gain that went to the target t (0 when nothing gained). It asks only whether
  the edit went toward the instruction and nothing else, not how far: strength is REG's job, so
  an overfit edit cannot buy Alignment. Alternatives that also reward strength:
  ``"target_margin"`` A = p_t (1 - max_{k != t} p_k) (target present, nothing else competing)
  and ``"dominant"`` A = p_t if the target is the top label, else 0.
- :data:`FIDELITY` ``"geometric"``: F = geometric mean of the components given, each in [0, 1]:
  image quality, ID similarity (a cosine, clipped at 0), background preservation.
- :data:`GAIN` ``"ratio"``: with d = p_gt - p_src, the edit's gain along the ground-truth
  change is rho = <p_edit - p_src, d> / <d, d> (1 = as strong as the ground truth, 0 = no change,
  2 = twice as strong, < 0 = the wrong way) and REG = min(rho, 1/rho) for rho > 0, else 0, so
  REG is in [0, 1], best at rho = 1 and symmetric in log(rho). Alternative ``"log_gaussian"``:
  exp(-(ln rho)^2 / (2 ln(2)^2)). If the ground truth does not change the scores (d = 0) REG is
  undefined: ``nan`` with a warning.
- :data:`COMBINE` ``"geometric"``: FED = (A F REG)^(1/3); ``"harmonic"``: 3 / (1/A + 1/F + 1/REG)
  (0 if any is 0). Both satisfy FED <= min(A, F, REG)^(1/3): maximising one or two dimensions
  cannot lift the score above what the weakest allows.

Properties required by the spec (tested in ``tests/metrics/test_fed.py``): an unchanged source
gets REG 0 and low Alignment however high its Fidelity; matching the ground truth gives REG its
best value (1); an edit twice as strong scores a worse REG (and, with the default Alignment, a
worse FED-Score); the combination cannot be raised by maximising one dimension alone.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from facebench.expressions import EXPRESSIONS
from facebench.metrics import _checks as chk
from facebench.base.registry import Registry

AlignmentFn = Callable[[np.ndarray, np.ndarray, np.ndarray, int], np.ndarray]
FidelityFn = Callable[[list[np.ndarray]], np.ndarray]
GainFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
CombineFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]

ALIGNMENT: Registry[AlignmentFn] = Registry("FED alignment")
FIDELITY: Registry[FidelityFn] = Registry("FED fidelity")
GAIN: Registry[GainFn] = Registry("FED relative expression gain")
COMBINE: Registry[CombineFn] = Registry("FED combination")

_META = {"provisional": True, "range": (0.0, 1.0), "higher_is_better": True}


# --------------------------------------------------------------------------- alignment
# signature: (p_src, p_edit, target index per edit, index of the neutral column or -1) -> A
@ALIGNMENT.register("target_share", formula="g_t / sum_k g_k, g = max(p_edit - p_src, 0)", **_META)
def alignment_target_share(
    p_src: np.ndarray, p_edit: np.ndarray, target: np.ndarray, neutral: int
) -> np.ndarray:
    """A = share of the expression gain max(p_edit - p_src, 0) (neutral excluded) on the target."""
    gain = np.maximum(p_edit - p_src, 0.0)
    if neutral >= 0:
        gain[:, neutral] = 0.0
    total = gain.sum(axis=1)
    g_t = gain[np.arange(gain.shape[0]), target]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, g_t / np.where(total > 0, total, 1.0), 0.0)


@ALIGNMENT.register("target_margin", formula="p_t * (1 - max_{k!=t} p_k)", **_META)
def alignment_target_margin(
    p_src: np.ndarray, p_edit: np.ndarray, target: np.ndarray, neutral: int
) -> np.ndarray:
    """A = p_t (1 - max_{k != t} p_k) on the edited image: the target is present, nothing competes."""
    rows = np.arange(p_edit.shape[0])
    p_t = p_edit[rows, target]
    others = p_edit.copy()
    others[rows, target] = -np.inf
    rival = others.max(axis=1) if p_edit.shape[1] > 1 else np.zeros_like(p_t)
    return p_t * (1.0 - rival)


@ALIGNMENT.register("dominant", formula="p_t if argmax p = t else 0", **_META)
def alignment_dominant(
    p_src: np.ndarray, p_edit: np.ndarray, target: np.ndarray, neutral: int
) -> np.ndarray:
    """A = p_t when the target is the judge's top label on the edited image, else 0."""
    rows = np.arange(p_edit.shape[0])
    return np.where(np.argmax(p_edit, axis=1) == target, p_edit[rows, target], 0.0)


# --------------------------------------------------------------------------- fidelity
@FIDELITY.register("geometric", formula="(prod_c f_c)^(1/C)", **_META)
def fidelity_geometric(components: list[np.ndarray]) -> np.ndarray:
    """F = geometric mean of the fidelity components (each in [0, 1]); one weak part drags F down."""
    stack = np.stack(components)
    with np.errstate(divide="ignore"):
        return np.exp(np.log(stack).mean(axis=0))


# --------------------------------------------------------------------------- gain
def _gain_ratio(p_src: np.ndarray, p_gt: np.ndarray, p_edit: np.ndarray) -> np.ndarray:
    """rho = <p_edit - p_src, d> / <d, d>, d = p_gt - p_src; nan (with a warning) where d = 0."""
    d = p_gt - p_src
    dd = np.einsum("ij,ij->i", d, d)
    flat = dd == 0
    if flat.any():
        chk.undefined(
            f"{int(flat.sum())} ground truth(s) do not change the judged expression (p_gt = p_src): "
            "REG undefined there",
            stacklevel=5,
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(flat, np.nan, np.einsum("ij,ij->i", p_edit - p_src, d) / np.where(flat, 1.0, dd))


@GAIN.register("ratio", formula="min(rho, 1/rho), rho = <e - s, g - s> / |g - s|^2", **_META)
def gain_ratio(p_src: np.ndarray, p_gt: np.ndarray, p_edit: np.ndarray) -> np.ndarray:
    """REG = min(rho, 1/rho) for rho > 0, else 0: 1 at the ground truth's strength, 0.5 at half or
    double it, 0 for no change or a change the wrong way."""
    rho = _gain_ratio(p_src, p_gt, p_edit)
    with np.errstate(invalid="ignore", divide="ignore"):
        reg = np.where(rho > 0, np.minimum(rho, 1.0 / np.where(rho > 0, rho, 1.0)), 0.0)
    return np.where(np.isnan(rho), np.nan, reg)


@GAIN.register("log_gaussian", formula="exp(-(ln rho)^2 / (2 ln(2)^2))", **_META)
def gain_log_gaussian(p_src: np.ndarray, p_gt: np.ndarray, p_edit: np.ndarray) -> np.ndarray:
    """REG = exp(-(ln rho)^2 / (2 ln(2)^2)) for rho > 0, else 0 (softer around rho = 1)."""
    rho = _gain_ratio(p_src, p_gt, p_edit)
    with np.errstate(invalid="ignore", divide="ignore"):
        lr = np.log(np.where(rho > 0, rho, 1.0))
        reg = np.where(rho > 0, np.exp(-(lr * lr) / (2 * math.log(2.0) ** 2)), 0.0)
    return np.where(np.isnan(rho), np.nan, reg)


# --------------------------------------------------------------------------- combination
@COMBINE.register("geometric", formula="(A F REG)^(1/3)", **_META)
def combine_geometric(a: np.ndarray, f: np.ndarray, g: np.ndarray) -> np.ndarray:
    """FED = (A F REG)^(1/3)."""
    return np.cbrt(a * f * g)


@COMBINE.register("harmonic", formula="3 / (1/A + 1/F + 1/REG)", **_META)
def combine_harmonic(a: np.ndarray, f: np.ndarray, g: np.ndarray) -> np.ndarray:
    """FED = 3 / (1/A + 1/F + 1/REG), 0 where any dimension is 0."""
    zero = (a == 0) | (f == 0) | (g == 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        h = 3.0 / (1.0 / a + 1.0 / f + 1.0 / g)
    return np.where(zero & ~np.isnan(h), 0.0, h)


# --------------------------------------------------------------------------- entry point
def _scores(x: Any, name: str, shape: tuple[int, ...] | None) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N edits, K labels), got shape {arr.shape}")
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{name} has shape {arr.shape}, expected {shape} like p_src")
    chk.check_finite(arr, name)
    return chk.clip_to_range(arr, name, 0.0, 1.0)


def fed_score(
    p_src: Any,
    p_gt: Any,
    p_edit: Any,
    targets: Sequence[str],
    labels: Sequence[str] = EXPRESSIONS,
    *,
    quality: Any = None,
    id_sim: Any = None,
    background: Any = None,
    alignment: str = "target_share",
    fidelity: str = "geometric",
    gain: str = "ratio",
    combine: str = "geometric",
) -> pd.DataFrame:
    """Provisional FED-Score per edit (see the module docstring for every formula).

    ``p_src``, ``p_gt``, ``p_edit``: the judge's expression scores (N, K) in [0, 1] of the source,
    ground-truth and edited images over ``labels``; ``targets``: the instructed expression per edit.
    Fidelity uses whichever of ``quality`` (in [0, 1]), ``id_sim`` (cosine, clipped at 0) and
    ``background`` (in [0, 1]) are given (at least one). The component names pick entries of
    :data:`ALIGNMENT`, :data:`FIDELITY`, :data:`GAIN` and :data:`COMBINE`.

    Returns a table with columns alignment, fidelity, reg, fed_score (one row per edit);
    ``attrs`` says which components were used and that the score is provisional.
    """
    src = _scores(p_src, "p_src", None)
    gt = _scores(p_gt, "p_gt", src.shape)
    edit = _scores(p_edit, "p_edit", src.shape)
    labs = tuple(chk.expression_names(labels, "labels"))
    if src.shape[1] != len(labs):
        raise ValueError(f"score vectors have {src.shape[1]} columns but labels names {len(labs)}")
    chk.check_same_length("targets", targets, "p_src", src)
    tgt = chk.label_indices(list(targets), labs, "targets")
    parts = []
    for name, value, low in (("quality", quality, 0.0), ("id_sim", id_sim, -1.0), ("background", background, 0.0)):
        if value is None:
            continue
        v = chk.as_1d_float(value, name)
        chk.check_same_length(name, v, "p_src", src)
        parts.append(np.clip(chk.clip_to_range(v, name, low, 1.0), 0.0, 1.0))
    if not parts:
        raise ValueError("fidelity needs at least one of quality, id_sim, background")
    neutral = labs.index("neutral") if "neutral" in labs else -1
    a = ALIGNMENT.get(alignment)(src, edit, tgt, neutral)
    f = FIDELITY.get(fidelity)(parts)
    g = GAIN.get(gain)(src, gt, edit)
    out = pd.DataFrame({"alignment": a, "fidelity": f, "reg": g, "fed_score": COMBINE.get(combine)(a, f, g)})
    out.attrs.update(
        provisional=True,
        components={"alignment": alignment, "fidelity": fidelity, "gain": gain, "combine": combine},
        fidelity_inputs=[n for n, v in (("quality", quality), ("id_sim", id_sim), ("background", background)) if v is not None],
    )
    return out
