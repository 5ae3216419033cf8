"""Calibrated identity similarity: a monotone map from a recogniser's raw cosine to a score on which
the PixelSmile paper's ArcFace bands can be read.

Why: raw cosines of different recognisers live on different scales. dlib's 128-D descriptors put
strangers around 0.8 (gallery: 0.83 on average, up to 0.90) where ArcFace puts them near 0, so the
paper's bands (ArcFace: 0.6-0.7 natural edit, > 0.8 copy-paste, < 0.5 identity lost) cannot be read
on raw dlib numbers.

The map (:func:`fit_calibration`) is fitted from same-person and different-person photo pairs. It is
piecewise linear through anchors taken from the two pair distributions, each tied to what the band
edges mean on ArcFace (the lead's decision on issue 14):

======================================  ================  ==============================================
raw cosine (anchor)                     calibrated score  meaning
======================================  ================  ==============================================
-1                                      -1                opposite vectors
median of different-person pairs        0                 a typical stranger (ArcFace strangers ~ 0)
EER threshold                           0.5               the recogniser at its equal-error operating
                                                          point calls a pair at or below it a stranger:
                                                          "identity lost" (the paper's < 0.5)
5th percentile of same-person pairs     0.6               95% of real photo pairs of one person are at
                                                          least this alike: the floor of the paper's
                                                          "natural" band 0.6-0.7
median of same-person pairs             0.7               as alike as the typical pair of real photos
                                                          of one person: top of the natural band
95th percentile of same-person pairs    0.8               more alike than 95% of real photo pairs: the
                                                          paper's "copy-paste" line (> 0.8)
1                                       1                 identical embedding
======================================  ================  ==============================================

The anchors must be strictly increasing in raw cosine. A recogniser whose EER exceeds 5% has its EER
threshold at or above the 5th percentile of same-person pairs (more than 5% of them are rejected
there); then, and whenever the EER threshold does not lie strictly between the stranger median and
that percentile, the EER anchor is dropped (0.5 is read by interpolating between 0 and 0.6) and
the calibration's ``notes`` say so. Without it, "< 0.5" no longer means "rejected at the EER point".

The decision threshold at a stated false-match rate (FMR = share of strangers above it, 0.1% by
default) is reported beside the map (``threshold``, and its calibrated value), not used as an anchor.
so ``score(raw) = y_k + (raw - x_k) (y_{k+1} - y_k) / (x_{k+1} - x_k)`` between anchors
``(x_k, y_k)`` (strictly increasing, hence monotone and rank-preserving: ROC and EER are the same on
either scale). :attr:`IdentityCalibration.raw_bands` lists the raw-cosine interval of every band.

ROC: FMR(t) = share of different-person pairs with raw > t, FNMR(t) = share of same-person pairs
with raw <= t; EER = (FMR + FNMR) / 2 at the threshold where they are closest.

The fitted calibration of dlib ships as ``calibrations/dlib.json`` (card: ``calibrations/dlib.md``);
other recognisers (a user's ONNX model) are fitted with ``facebench identity calibrate``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import numpy as np

#: Calibrated-score bands (the PixelSmile paper's ArcFace reading), low edge inclusive.
BANDS: tuple[tuple[str, float, float], ...] = (
    ("identity lost", -1.0, 0.5),
    ("weak", 0.5, 0.6),
    ("natural", 0.6, 0.7),
    ("strong", 0.7, 0.8),
    ("copy-paste", 0.8, 1.0),
)
#: Calibrated value of each anchor (see the module docstring).
ANCHOR_SCORES: dict[str, float] = {"floor": -1.0, "different_median": 0.0, "eer_threshold": 0.5,
                                   "same_p05": 0.6, "same_median": 0.7, "same_p95": 0.8, "ceiling": 1.0}
DEFAULT_FMR = 1e-3
FORMAT = "facebench-identity-calibration/1"


@dataclass(frozen=True)
class ROC:
    """Error rates of the rule "same person if raw > t" over thresholds ``t`` (ascending)."""

    thresholds: np.ndarray
    fmr: np.ndarray
    fnmr: np.ndarray

    def eer(self) -> tuple[float, float]:
        """``(EER, threshold)``: (FMR + FNMR) / 2 where |FMR - FNMR| is smallest."""
        i = int(np.argmin(np.abs(self.fmr - self.fnmr)))
        return float((self.fmr[i] + self.fnmr[i]) / 2), float(self.thresholds[i])


def roc(same: Sequence[float], different: Sequence[float]) -> ROC:
    """FMR and FNMR at every distinct observed similarity (rule: same if raw > t)."""
    s = np.sort(np.asarray(same, np.float64))
    d = np.sort(np.asarray(different, np.float64))
    if s.size == 0 or d.size == 0:
        raise ValueError(f"need same and different pairs, got {s.size} and {d.size}")
    t = np.unique(np.concatenate([[min(s[0], d[0]) - 1e-9], s, d]))
    fnmr = np.searchsorted(s, t, side="right") / s.size
    fmr = 1.0 - np.searchsorted(d, t, side="right") / d.size
    return ROC(t, fmr, fnmr)


def threshold_at_fmr(different: Sequence[float], fmr: float) -> float:
    """Smallest observed raw value t with share(different > t) <= ``fmr``."""
    d = np.sort(np.asarray(different, np.float64))
    if not 0 < fmr < 1:
        raise ValueError(f"fmr must lie in (0, 1), got {fmr}")
    k = int(np.floor(fmr * d.size))  # at most k strangers may lie above t
    return float(d[d.size - 1 - k]) if k < d.size else float(d[0])


def error_rates(same: Sequence[float], different: Sequence[float], t: float) -> tuple[float, float]:
    """``(FMR, FNMR)`` of the rule "same if raw > t"."""
    s, d = np.asarray(same, np.float64), np.asarray(different, np.float64)
    return float(np.mean(d > t)), float(np.mean(s <= t))


@dataclass(frozen=True)
class IdentityCalibration:
    """A fitted monotone map raw cosine -> calibrated identity score, with its evidence.

    ``score`` is what reports call ID Sim; the raw cosine is kept beside it. Read the paper's bands
    on the score (:data:`BANDS`); ``raw_bands`` gives the same bands in raw cosine.
    """

    recogniser: str
    knots_raw: tuple[float, ...]
    knots_score: tuple[float, ...]
    fmr: float
    threshold: float  # raw cosine at the stated FMR (decision threshold; not an anchor)
    eer: float
    eer_threshold: float
    n_same: int
    n_different: int
    n_persons: int = 0
    heldout: dict[str, Any] = field(default_factory=dict)  # held-out-by-person validation
    data: str = ""  # what the pairs were
    notes: tuple[str, ...] = ()

    def score(self, raw_cosine: float | np.ndarray) -> float | np.ndarray:
        """Calibrated identity score of raw cosine(s): piecewise-linear interpolation through the
        anchors (module docstring), in [-1, 1]; nan stays nan. A float for a scalar input."""
        x = np.asarray(raw_cosine, np.float64)
        y = np.interp(np.clip(x, -1.0, 1.0), self.knots_raw, self.knots_score)
        y = np.where(np.isnan(x), np.nan, y)
        return float(y) if y.ndim == 0 else y

    def raw(self, score: float | np.ndarray) -> float | np.ndarray:
        """The inverse map: raw cosine that scores ``score``."""
        y = np.asarray(score, np.float64)
        x = np.interp(np.clip(y, -1.0, 1.0), self.knots_score, self.knots_raw)
        return float(x) if x.ndim == 0 else x

    @property
    def anchors(self) -> list[tuple[str, float, float]]:
        """``(name, raw, score)`` of every knot; names from :data:`ANCHOR_SCORES` ("" if none has that
        score, e.g. a hand-edited file)."""
        by_score = {v: k for k, v in ANCHOR_SCORES.items()}
        return [(by_score.get(y, ""), x, y) for x, y in zip(self.knots_raw, self.knots_score)]

    @property
    def raw_bands(self) -> dict[str, tuple[float, float]]:
        """Each band of :data:`BANDS` as a raw-cosine interval ``[low, high)`` of this recogniser."""
        return {name: (float(self.raw(lo)), float(self.raw(hi))) for name, lo, hi in BANDS}

    def band(self, raw_cosine: float) -> str:
        """The band name of one raw cosine."""
        return band_of(float(self.score(raw_cosine)))

    def describe(self) -> str:
        """One paragraph for a report."""
        rb = self.raw_bands
        return (f"{self.recogniser}: calibrated from {self.n_same} same-person and {self.n_different} "
                f"different-person pairs ({self.data or 'user data'}); EER {self.eer:.4f}; raw "
                f"{self.threshold:.4f} (threshold at FMR {self.fmr:g}) reads {float(self.score(self.threshold)):.2f}; natural band 0.6-0.7 = raw "
                f"{rb['natural'][0]:.4f}-{rb['natural'][1]:.4f}; copy-paste > 0.8 = raw > {rb['copy-paste'][0]:.4f}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``format`` names the layout)."""
        d = asdict(self)
        d["knots_raw"], d["knots_score"], d["notes"] = list(self.knots_raw), list(self.knots_score), list(self.notes)
        d["raw_bands"] = {k: list(v) for k, v in self.raw_bands.items()}
        return {"format": FORMAT, **d}

    def save(self, path: str | Path) -> Path:
        """Write the calibration as JSON; returns the path."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")
        return p

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "calibration") -> "IdentityCalibration":
        """Build from :meth:`to_dict` output; ``ValueError`` naming ``where`` if malformed."""
        if d.get("format") != FORMAT:
            raise ValueError(f"{where}: not a facebench identity calibration (format {d.get('format')!r})")
        try:
            kx = tuple(float(v) for v in d["knots_raw"])
            ky = tuple(float(v) for v in d["knots_score"])
            cal = cls(recogniser=str(d["recogniser"]), knots_raw=kx, knots_score=ky, fmr=float(d["fmr"]),
                      threshold=float(d["threshold"]), eer=float(d["eer"]),
                      eer_threshold=float(d["eer_threshold"]), n_same=int(d["n_same"]),
                      n_different=int(d["n_different"]), n_persons=int(d.get("n_persons", 0)),
                      heldout=dict(d.get("heldout") or {}), data=str(d.get("data", "")),
                      notes=tuple(d.get("notes") or ()))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{where}: malformed calibration ({exc})") from None
        if len(kx) != len(ky) or len(kx) < 2 or np.any(np.diff(kx) <= 0) or np.any(np.diff(ky) <= 0):
            raise ValueError(f"{where}: knots must be two strictly increasing lists of equal length")
        return cal


def band_of(score: float) -> str:
    """Band name (:data:`BANDS`) of a calibrated score."""
    for name, lo, hi in BANDS:
        if score < hi:
            return name
    return BANDS[-1][0]


def fit_calibration(
    same: Sequence[float],
    different: Sequence[float],
    *,
    recogniser: str,
    fmr: float = DEFAULT_FMR,
    n_persons: int = 0,
    data: str = "",
) -> IdentityCalibration:
    """Fit the anchored monotone map (module docstring) from raw cosines of same-person and
    different-person pairs. ``ValueError`` when the anchors are not increasing (the recogniser
    does not separate the pairs well enough for the bands to mean anything)."""
    s = np.asarray(same, np.float64)
    d = np.asarray(different, np.float64)
    if s.size < 2 or d.size < 2:
        raise ValueError(f"need at least 2 same-person and 2 different-person pairs, got {s.size} and {d.size}")
    if not (np.isfinite(s).all() and np.isfinite(d).all()):
        raise ValueError("pair similarities must be finite")
    notes = []
    if d.size * fmr < 1:
        notes.append(f"only {d.size} different-person pairs: FMR {fmr:g} is not resolved; "
                     f"the threshold is the largest stranger similarity (FMR <= {1 / d.size:.2g} observed)")
    t = threshold_at_fmr(d, fmr)
    eer, eer_t = roc(s, d).eer()
    anchors = {"floor": -1.0, "different_median": float(np.median(d)), "eer_threshold": eer_t,
               "same_p05": float(np.quantile(s, 0.05)), "same_median": float(np.median(s)),
               "same_p95": float(np.quantile(s, 0.95)), "ceiling": 1.0}
    if not anchors["different_median"] < eer_t < anchors["same_p05"]:
        notes.append(f"EER anchor dropped: the EER threshold (raw {eer_t:.4f}, EER {eer:.4f}) does not lie "
                     f"strictly between the stranger median ({anchors['different_median']:.4f}) and the 5th "
                     f"percentile of same-person pairs ({anchors['same_p05']:.4f}); 0.5 is interpolated and "
                     "no longer marks the equal-error decision")
        del anchors["eer_threshold"]
    names = [k for k in ANCHOR_SCORES if k in anchors]
    xs = [anchors[k] for k in names]
    if np.any(np.diff(xs) <= 0):
        shown = ", ".join(f"{k} {v:.4f}" for k, v in anchors.items())
        raise ValueError(f"{recogniser}: cannot calibrate, raw anchors are not increasing ({shown}); "
                         "same-person pairs must lie well above the typical stranger and below 1")
    return IdentityCalibration(
        recogniser=recogniser, knots_raw=tuple(xs), knots_score=tuple(ANCHOR_SCORES[k] for k in names), fmr=float(fmr),
        threshold=t, eer=eer, eer_threshold=eer_t, n_same=int(s.size), n_different=int(d.size),
        n_persons=int(n_persons), data=data, notes=tuple(notes),
    )


def heldout_by_person(
    same: np.ndarray, same_persons: np.ndarray, different: np.ndarray, different_persons: np.ndarray,
    *, folds: int = 5, fmr: float = DEFAULT_FMR, seed: int = 0,
) -> dict[str, Any]:
    """Held-out-by-person validation: persons are split into ``folds`` groups; for each, the EER
    threshold and the FMR threshold are fitted on pairs of the other persons and applied to pairs
    whose persons are all held out (pairs across the split are not used).

    Returns the pooled held-out ``eer`` ((FMR + FNMR) / 2 at the training EER threshold, pairs of
    all folds pooled), the held-out ``fmr`` and ``fnmr`` at the training FMR threshold, counts, and
    how the map fitted on the other persons reads the held-out pairs: share of same-person pairs
    below 0.6 (5% in-sample by construction) and below 0.5 (in-sample: the FNMR at the EER
    threshold); their median score (0.7 in-sample); share of different-person pairs at or above 0.5
    (in-sample: about the FMR at the EER threshold).
    """
    persons = np.unique(np.concatenate([same_persons.astype(str), different_persons.astype(str).ravel()]))
    rng = np.random.default_rng(seed)
    fold_of = dict(zip(persons, rng.permutation(len(persons)) % folds))
    fs = np.array([fold_of[p] for p in same_persons.astype(str)])
    fa = np.array([fold_of[p] for p in different_persons[:, 0].astype(str)])
    fb = np.array([fold_of[p] for p in different_persons[:, 1].astype(str)])
    errs_same_eer, errs_diff_eer, errs_same_fmr, errs_diff_fmr, cal_same, cal_diff = [], [], [], [], [], []
    for k in range(folds):
        tr_s, te_s = same[fs != k], same[fs == k]
        tr_d, te_d = different[(fa != k) & (fb != k)], different[(fa == k) & (fb == k)]
        if min(tr_s.size, tr_d.size, te_s.size, te_d.size) == 0:
            continue
        _, t_eer = roc(tr_s, tr_d).eer()
        t_fmr = threshold_at_fmr(tr_d, fmr)
        errs_same_eer.append(te_s <= t_eer)
        errs_diff_eer.append(te_d > t_eer)
        errs_same_fmr.append(te_s <= t_fmr)
        errs_diff_fmr.append(te_d > t_fmr)
        try:  # the map fitted without these persons, read on their pairs
            fold_cal = fit_calibration(tr_s, tr_d, recogniser="fold", fmr=fmr)
            cal_same.append(np.asarray(fold_cal.score(te_s)))
            cal_diff.append(np.asarray(fold_cal.score(te_d)))
        except ValueError:
            pass
    if not errs_same_eer:
        return {"folds": folds, "eer": float("nan"), "note": "too few persons for held-out folds"}
    fnmr_e, fmr_e = float(np.concatenate(errs_same_eer).mean()), float(np.concatenate(errs_diff_eer).mean())
    return {"folds": folds, "seed": seed, "eer": (fnmr_e + fmr_e) / 2, "fmr_at_eer_threshold": fmr_e,
            "fnmr_at_eer_threshold": fnmr_e, "fmr_target": fmr,
            "fmr": float(np.concatenate(errs_diff_fmr).mean()), "fnmr": float(np.concatenate(errs_same_fmr).mean()),
            "n_same": int(sum(map(len, errs_same_eer))), "n_different": int(sum(map(len, errs_diff_eer))),
            "same_below_0.6": float(np.mean(np.concatenate(cal_same) < 0.6)) if cal_same else float("nan"),
            "same_below_0.5": float(np.mean(np.concatenate(cal_same) < 0.5)) if cal_same else float("nan"),
            "same_median_score": float(np.median(np.concatenate(cal_same))) if cal_same else float("nan"),
            "different_at_or_above_0.5": float(np.mean(np.concatenate(cal_diff) >= 0.5)) if cal_diff else float("nan")}


def shipped_path(recogniser: str) -> Path | None:
    """Path of the calibration shipped for ``recogniser`` inside the package, or None."""
    p = resources.files("facebench.face") / "calibrations" / f"{recogniser}.json"
    return Path(str(p)) if p.is_file() else None


_LOADED: dict[tuple[str, str, int], IdentityCalibration] = {}


def read_calibration(path: str | Path) -> IdentityCalibration:
    """A calibration JSON of any recogniser (its label is ``.recogniser``); ``ValueError`` if unusable."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ValueError(f"{p}: calibration file not found")
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{p}: not readable JSON ({exc})") from None
    if not isinstance(d, dict):
        raise ValueError(f"{p}: not a facebench identity calibration")
    return IdentityCalibration.from_dict(d, str(p))


def load_calibration(recogniser: str = "dlib", path: str | Path | None = None) -> IdentityCalibration:
    """The calibration of ``recogniser``: from ``path`` (a JSON written by ``facebench identity
    calibrate``) or, without one, the one shipped in the package (only ``dlib`` ships one).

    Raises ``ValueError`` (one line) when none exists or the file is malformed or belongs to
    another recogniser.
    """
    if path is None:
        p = shipped_path(recogniser)
        if p is None:
            raise ValueError(f"no calibration ships for recogniser {recogniser!r}; fit one with "
                             "`facebench identity calibrate` and pass its path")
    else:
        p = Path(path).expanduser()
        if not p.is_file():
            raise ValueError(f"{p}: calibration file not found")
    key = (recogniser, str(p.resolve()), p.stat().st_mtime_ns)  # a rewritten file is read again
    if key not in _LOADED:
        cal = read_calibration(p)
        if cal.recogniser != recogniser and not (recogniser == "onnx" and cal.recogniser.startswith("onnx:")):
            raise ValueError(f"{p}: calibrates {cal.recogniser!r}, not {recogniser!r}")
        _LOADED[key] = cal
    return _LOADED[key]
