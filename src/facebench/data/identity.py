"""Identity in the data engine: the recogniser's calibrated band, identity groups and the split.

Band on the calibrated scale (:func:`score_band`): when the recogniser has an identity calibration
(:mod:`facebench.face.calibration`; dlib ships one, others are given by path), the filter reads the
calibrated identity score of each edit (samples column ``id_score``, the raw cosine ``id_sim``
beside it) and keeps ``[0.5, identity_max]`` by default: below 0.5 the recogniser at its
equal-error point calls the edit a stranger ("identity lost"). The sources' own pairs (below)
are still measured and reported as a check of the calibration on this collection.

Raw band (:func:`calibrate_band`), for a recogniser without a calibration. A recogniser's
similarities need their own scale (dlib's cosines of different people reach 0.93; ArcFace-class
ones sit near 0), so the band is measured on the collected sources themselves with
:func:`facebench.face.identity.calibrate`:

- *same* pairs: each source against its own flipped, brightened (x1.3 + 20) and darkened (x0.6)
  copy (:func:`variant_images`), re-detected and re-embedded;
- *different* pairs: pairs of distinct sources (after near-duplicate removal) that the
  recogniser's documented same-person rule puts apart (:func:`rule_groups`; dlib: descriptor
  distance >= 0.6). Without such a rule every pair of distinct photos counts as different people;
  a collection with many photos per person should then set the band from labelled pairs
  (``filter.identity_band: [low, high]``).

The threshold ``t`` of the calibration is where "same person" starts. An edit keeps its identity
when its similarity to the source lies in ``[t, identity_max]``. Sources whose raw similarity
reaches ``t`` (:attr:`IdentityBand.group_raw`; on the calibrated scale the raw cosine that scores
0.5, i.e. the EER threshold), or that the same-person rule joins, belong to one identity *group* (connected components,
:func:`group_identities`); the split
(:func:`split_groups`) puts whole groups on one side, so that no person is in both train and test.
The near-duplicate level ``"auto"`` is the lowest similarity of a photo to its own copies.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np


#: Calibrated identity score below which identity is lost (the EER anchor of the calibration).
IDENTITY_LOST = 0.5


@dataclass(frozen=True)
class IdentityBand:
    """Accepted identity ``[low, high]`` of an edit to its source, on ``scale`` ("raw": cosine
    ``id_sim``; "calibrated": calibrated score ``id_score``), and where it came from.
    ``max_different`` / ``min_same``: the collection's own pairs on the same scale."""

    low: float
    high: float
    recogniser: str
    source: str  # "calibrated" (on this collection), "config" or "calibration <file>"
    n_same: int = 0
    n_different: int = 0
    max_different: float = float("nan")
    min_same: float = float("nan")
    scale: str = "raw"
    group_threshold: float = float("nan")  # raw cosine joining two sources into one identity

    def contains(self, s: float) -> bool:
        """``low <= s <= high``."""
        return self.low <= s <= self.high

    @property
    def column(self) -> str:
        """The samples column the band applies to."""
        return "id_score" if self.scale == "calibrated" else "id_sim"

    @property
    def group_raw(self) -> float:
        """Raw cosine at which two sources are one identity (:func:`group_identities`)."""
        return self.group_threshold if np.isfinite(self.group_threshold) else self.low

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (nan as None)."""
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in asdict(self).items()}


def variant_images(image: np.ndarray) -> dict[str, np.ndarray]:
    """The same photo flipped, brightened (x1.3 + 20) and darkened (x0.6): "same person" pairs."""
    img = np.asarray(image)
    return {
        "flip": np.ascontiguousarray(img[:, ::-1]),
        "brighter": np.clip(img.astype(np.float64) * 1.3 + 20, 0, 255).astype(np.uint8),
        "darker": (img.astype(np.float64) * 0.6).astype(np.uint8),
    }


def pairwise(emb: np.ndarray) -> np.ndarray:
    """(N, N) cosine similarities of the rows of ``emb`` (:func:`facebench.face.identity.similarity`)."""
    from ..face.identity import similarity

    e = np.asarray(emb, np.float64)
    if len(e) == 0:
        return np.zeros((0, 0))
    return np.atleast_2d(similarity(e, e))


def calibrate_band(same: Sequence[float], different: Sequence[float], *, recogniser: str,
                   high: float = 1.0) -> IdentityBand:
    """The band ``[t, high]`` with ``t`` the threshold of :func:`facebench.face.identity.calibrate`.

    Raises ``ValueError`` (saying how to set the band by hand) without both kinds of pairs.
    """
    from ..face.identity import calibrate

    if len(same) == 0 or len(different) == 0:
        raise ValueError(
            f"cannot calibrate the {recogniser} identity band: {len(same)} same-person and {len(different)} "
            "different-person pairs (needs human sources of two or more people); set filter.identity_band: [low, high]")
    cal = calibrate(same, different, recogniser=recogniser)
    return IdentityBand(float(cal.threshold), float(high), recogniser, "calibrated", cal.n_same, cal.n_different,
                        float(np.max(different)), float(np.min(same)))


def score_band(cal: Any, same: Sequence[float], different: Sequence[float], *, source: str,
               band: tuple[float, float] | None = None, high: float = 1.0) -> IdentityBand:
    """The band on the calibrated scale of ``cal`` (an :class:`~facebench.face.calibration.
    IdentityCalibration`): ``band`` or ``[IDENTITY_LOST, high]``; the collection's raw ``same`` /
    ``different`` pairs are mapped to scores for the check (nan when absent). Sources join one
    identity group at the raw cosine scoring :data:`IDENTITY_LOST`."""
    lo, hi = band if band is not None else (IDENTITY_LOST, high)
    s = np.asarray(cal.score(np.asarray(same, np.float64)), np.float64).ravel()
    d = np.asarray(cal.score(np.asarray(different, np.float64)), np.float64).ravel()
    return IdentityBand(float(lo), float(hi), cal.recogniser, source, int(s.size), int(d.size),
                        float(d.max()) if d.size else float("nan"), float(s.min()) if s.size else float("nan"),
                        scale="calibrated", group_threshold=float(cal.raw(IDENTITY_LOST)))


#: Same-person rules that recognisers' authors document, by recogniser name: the Euclidean distance
#: between descriptors below which two faces are one person (dlib: 0.6, "99.38% on LFW", dlib's
#: face_recognition_model_v1 documentation).
SAME_PERSON_DISTANCE: dict[str, float] = {"dlib": 0.6}


def _components(n: int, same: np.ndarray) -> list[int]:
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            if same[i, j]:
                parent[find(j)] = find(i)
    roots: dict[int, int] = {}
    return [roots.setdefault(find(i), len(roots)) for i in range(n)]


def rule_groups(emb: np.ndarray, recogniser: str) -> list[int]:
    """Groups under the recogniser's documented same-person rule (:data:`SAME_PERSON_DISTANCE`),
    connected components; every row alone for a recogniser without one. Sources in different
    rule groups are the *different* pairs of the calibration."""
    e = np.asarray(emb, np.float64)
    limit = SAME_PERSON_DISTANCE.get(recogniser)
    if limit is None or len(e) == 0:
        return list(range(len(e)))
    dist = np.linalg.norm(e[:, None, :] - e[None, :, :], axis=-1)
    return _components(len(e), dist < limit)


def group_identities(emb: np.ndarray, threshold: float, recogniser: str = "") -> list[int]:
    """Identity group of each row: connected components of "similarity >= threshold" joined with
    the recogniser's same-person rule (:func:`rule_groups`).

    Grouping is deliberately conservative (two sources the recogniser cannot tell apart share a
    group), since the split relies on it: any two rows in different groups have a similarity below
    ``threshold`` and are apart under the rule. Groups are numbered in order of their first member.
    """
    e = np.asarray(emb, np.float64)
    same = pairwise(e) >= threshold
    rg = np.asarray(rule_groups(e, recogniser))
    same |= rg[:, None] == rg[None, :]
    return _components(len(e), same)


def split_groups(group_keys: dict[Any, str], test_fraction: float, seed: int = 0) -> dict[Any, str]:
    """``{group: "train" | "test"}``: groups ordered by a seeded hash of their key, the first
    ``round(test_fraction * n)`` go to test (at least one on each side when there are two or more
    groups and ``0 < test_fraction < 1``)."""
    order = sorted(group_keys, key=lambda g: hashlib.sha256(f"{seed}|{group_keys[g]}".encode()).hexdigest())
    n = len(order)
    k = int(round(test_fraction * n))
    if n >= 2 and 0 < test_fraction < 1:
        k = min(max(k, 1), n - 1)
    return {g: ("test" if i < k else "train") for i, g in enumerate(order)}
