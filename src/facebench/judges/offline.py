"""The offline judge: facebench's shipped expression-classifier ensemble (neutral + 6 basic).

It scores an image with the ensemble of the classifiers that ship inside installed packages
(:func:`facebench.face.expression.classify`; models and licences in :mod:`facebench.face.models`).
The ensemble's class probabilities over :data:`facebench.expressions.BASIC7` are used as the
intensities of FFE-Bench's score vector (PixelSmile paper, sec. 3.2). They are probabilities, not
calibrated intensities: they sum to 1 and a strong expression of one class lowers the others.

It cannot judge confused, contempt, confident, shy, sleepy and anxious: those are left out of its
scores (never guessed), and metrics over them report "not judged".
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..expressions import BASIC6, BASIC7
from .base import Judgement, JudgeError

#: Bump when the judge's answers for the same image could change.
OFFLINE_JUDGE_VERSION = "1"


class OfflineJudge:
    """(Registered as ``ensemble-v1``; the default ``offline`` judge is :mod:`.v2`.) Expression probabilities of the shipped classifier ensemble for the face in an image.

    ``model``: which output of :func:`facebench.face.expression.classify` to use
    (``"ensemble"`` by default, or one classifier's name). Without a face box the largest face
    found by :func:`facebench.face.analyze` is judged; no face -> :class:`JudgeError`.
    """

    name = "ensemble-v1"
    judged: tuple[str, ...] = BASIC6

    def __init__(self, model: str = "ensemble") -> None:
        self.model = model

    def judge_id(self) -> str:
        """``ensemble-v1:<model>:v<version>:<facebench version>``."""
        from .. import __version__

        return f"ensemble-v1:{self.model}:v{OFFLINE_JUDGE_VERSION}:{__version__}"

    def judge(self, image: np.ndarray, *, box: Sequence[float] | None = None) -> Judgement:
        """Score the face in ``box`` (or the largest face) over neutral + the 6 basic expressions."""
        from ..face import analyze
        from ..face.expression import classify

        if box is None:
            faces = analyze(image, parts=("detection",))
            if not faces:
                raise JudgeError("offline judge: no face found")
            box = faces[0].detection.box
        boxes = np.asarray([list(box)], dtype=np.float64)
        probs = classify(image, boxes)
        if self.model not in probs:
            raise JudgeError(f"offline judge: no classifier output {self.model!r} (have {', '.join(probs)})")
        p = np.asarray(probs[self.model], dtype=np.float64)[0]
        if p.shape != (len(BASIC7),) or not np.all(np.isfinite(p)):
            raise JudgeError(f"offline judge: classifier returned {p!r}")
        scores = {e: float(v) for e, v in zip(BASIC7, p)}
        return Judgement(scores, self.judge_id(), {"box": [float(v) for v in box], "model": self.model})
