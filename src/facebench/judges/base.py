"""What every expression judge provides (offline classifier ensemble, VLM endpoint, ...).

A judge looks at one image and returns an intensity in ``[0, 1]`` for each expression it can
judge (FFE-Bench, PixelSmile paper sec. 3.2: "score vector v in [0,1]^K"). A judge that cannot
judge an expression (the offline classifiers know only neutral + the 6 basic ones) leaves it out
of :attr:`Judgement.scores` and lists it in :attr:`Judge.not_judged`; metrics over those
expressions then report "not judged" instead of a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np

from ..expressions import EXPRESSIONS


class JudgeError(RuntimeError):
    """A judgement could not be made; ``str(err)`` is one line saying why (no face, timeout...)."""


@dataclass
class Judgement:
    """Scores of one image by one judge.

    ``scores`` maps expression -> intensity in ``[0, 1]`` for every expression the judge judged
    (``"neutral"`` may be present too); ``judge`` is the judge's :meth:`Judge.judge_id`;
    ``info`` holds judge-specific facts (face box used, attempts, raw response...).
    """

    scores: dict[str, float]
    judge: str
    info: dict[str, Any] = field(default_factory=dict)

    def vector(self, expressions: Sequence[str] = EXPRESSIONS) -> np.ndarray:
        """Scores in the order of ``expressions``; ``nan`` for the ones not judged."""
        return np.array([self.scores.get(e, np.nan) for e in expressions], dtype=np.float64)


@runtime_checkable
class Judge(Protocol):
    """An expression judge.

    - ``name``: registry name; ``judged``: the expressions (of the 12) it scores;
    - ``judge_id()``: a string that changes whenever its answers could change (model, prompt
      version, weights): results are cached under it;
    - ``judge(image, box=None)``: score the face in ``image`` (RGB uint8), optionally the one in
      ``box`` = ``(x0, y0, x1, y1)``; raises :class:`JudgeError` when it cannot.
    """

    name: str
    judged: tuple[str, ...]

    def judge_id(self) -> str:
        ...

    def judge(self, image: np.ndarray, *, box: Sequence[float] | None = None) -> Judgement:
        ...


def not_judged(judge: Judge) -> tuple[str, ...]:
    """The FFE-Bench expressions ``judge`` cannot judge (its metrics read "not judged")."""
    return tuple(e for e in EXPRESSIONS if e not in judge.judged)


def accepts_source(judge: Any) -> bool:
    """Whether ``judge.judge`` takes ``source=`` (the edit's unedited image, e.g. judge v2, which
    then grades intensity relative to the source face)."""
    import inspect

    try:
        return "source" in inspect.signature(judge.judge).parameters
    except (TypeError, ValueError):
        return False
