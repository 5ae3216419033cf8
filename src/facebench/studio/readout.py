"""What facebench's own instruments read on an edit: the judge's bars and the identity score.

- Judge bars: :attr:`Judgement.scores` of the judge from :data:`facebench.judges.JUDGES` for every
  expression in ``judge.judged``; the others are shown as "not judged" (never a guess).
- Identity: cosine similarity of the dlib embeddings of the source face and the edited face
  (:func:`facebench.face.identity.similarity`). When :mod:`facebench.face.calibration` is
  installed it is mapped to the calibrated identity score; otherwise the raw cosine is shown,
  labelled "raw cosine (uncalibrated)".
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from ..expressions import EXPRESSIONS


def _calibration() -> Any:
    """The dlib identity calibration (``load_calibration`` caches it), or None when
    facebench.face.calibration is not installed."""
    try:
        from ..face.calibration import load_calibration  # type: ignore[import-not-found]
    except ModuleNotFoundError as exc:
        if exc.name != "facebench.face.calibration":
            raise
        return None
    return load_calibration(recogniser="dlib")


def identity_readout(cosine: float) -> dict[str, Any]:
    """``{"value", "label", "calibrated", "raw_cosine"}`` for one source-vs-edit cosine: the
    calibrated score (``load_calibration("dlib").score(cosine)``) when
    ``facebench.face.calibration`` exists, else the raw cosine, clearly labelled as such."""
    cal = _calibration()
    if cal is None:
        return {"value": float(cosine), "label": "raw cosine (uncalibrated)", "calibrated": False,
                "raw_cosine": float(cosine)}
    return {"value": float(cal.score(float(cosine))), "label": "identity (calibrated, dlib)",
            "calibrated": True, "raw_cosine": float(cosine)}


def judge_bars(scores: dict[str, float], judged: tuple[str, ...],
               source: dict[str, float] | None = None) -> list[dict[str, Any]]:
    """One row per expression (neutral first when scored, then the 12): ``score`` (None = not
    judged), ``source`` (the same judge on the unedited face, for comparison)."""
    names = (["neutral"] if "neutral" in scores else []) + list(EXPRESSIONS)
    rows = []
    for e in names:
        ok = e == "neutral" or e in judged
        rows.append({"expression": e, "judged": bool(ok and e in scores),
                     "score": float(scores[e]) if ok and e in scores else None,
                     "source": float(source[e]) if source and ok and e in source else None})
    return rows


class Instruments:
    """Judge + identity on edits of one face; source-side results are computed once per face.

    Calls are serialised (the classifiers and dlib are shared, single models).
    """

    def __init__(self, judge: Any) -> None:
        from ..judges.base import accepts_source

        self.judge = judge
        # judges that grade relative to the source face (judge v2) see the unedited photo too
        self._against_source = accepts_source(judge)
        self._source: dict[tuple[str, int], tuple[dict[str, float], np.ndarray]] = {}
        self._lock = threading.Lock()

    def _embed(self, image: np.ndarray, box: tuple[float, ...]) -> np.ndarray:
        from ..face.identity import embed

        return embed(image, np.asarray([box], np.float64))[0]

    def _judge(self, image: np.ndarray, source: np.ndarray, box: tuple[float, ...]) -> dict[str, float]:
        """The judge's scores of ``image``, measured against ``source`` when the judge can."""
        if self._against_source:
            return self.judge.judge(image, box=box, source=source).scores
        return self.judge.judge(image, box=box).scores

    def read(self, key: str, face: int, source: np.ndarray, edited: np.ndarray,
             box: tuple[float, ...]) -> dict[str, Any]:
        """``{"judge", "judge_id", "bars", "identity", "judge_error"}`` for one edit."""
        from ..face.identity import similarity
        from ..judges import JudgeError

        with self._lock:
            out: dict[str, Any] = {"judge": self.judge.name, "judge_id": self.judge.judge_id(),
                                   "judge_error": None}
            if (key, face) not in self._source:
                try:
                    src_scores = self._judge(source, source, box)
                except JudgeError:
                    src_scores = {}
                self._source[(key, face)] = (src_scores, self._embed(source, box))
            src_scores, src_emb = self._source[(key, face)]
            try:
                scores = self._judge(edited, source, box)
            except JudgeError as exc:
                scores, out["judge_error"] = {}, str(exc)
            out["bars"] = judge_bars(scores, tuple(self.judge.judged), src_scores)
            out["identity"] = identity_readout(float(similarity(src_emb, self._embed(edited, box))))
            return out
