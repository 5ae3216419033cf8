"""Small editors and judges for benchmark tests, registered in the real registries.

They do real (if simple) work on real photos: ``test-tint`` boosts one colour channel in
proportion to alpha (faces stay detectable); ``test-crash`` crashes for "sad"; ``test-half`` returns half-size
images; ``test-counting`` wraps the offline editor and records every call (and can be told to
raise an interrupt at its n-th call); ``test-counting`` judge does the same for the offline judge.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from facebench.edit.base import EDITORS, EditResult
from facebench.expressions import BASIC6, EXPRESSIONS
from facebench.base.imageio import image_hash
from facebench.judges import JUDGES, get_judge


class Interrupt(BaseException):
    """Stands for a kill: not an Exception, so the runner does not record it as an item failure."""


def _tint(image: np.ndarray, alpha: float, expression: str) -> np.ndarray:
    """Boost one colour channel (chosen by the expression) by 25% x alpha."""
    out = image.astype(np.float64)
    k = EXPRESSIONS.index(expression) % 3
    out[..., k] = out[..., k] * (1 + 0.25 * alpha)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


class TintEditor:
    name = "test-tint"
    alpha_semantics = "warmer with alpha"

    def edit(self, image, control, *, face=None):
        (expr, alpha), = control.weights
        return EditResult(_tint(image, alpha, expr), control, None, self.name, {"tint": alpha})


class CrashEditor(TintEditor):
    name = "test-crash"

    def edit(self, image, control, *, face=None):
        if control.weights[0][0] == "sad":
            raise RuntimeError("model exploded on sad")
        return super().edit(image, control, face=face)


class HalfEditor(TintEditor):
    name = "test-half"

    def edit(self, image, control, *, face=None):
        res = super().edit(image, control, face=face)
        h, w = image.shape[:2]
        res.image = np.asarray(Image.fromarray(res.image).resize((w // 2, h // 2)))
        return res


class CountingEditor(TintEditor):
    """The tint editor, counting completed edits in ``calls``; raises :class:`Interrupt` at call
    number ``fail_at`` (class attributes, so they do not change the cache fingerprint)."""

    name = "test-counting"
    calls: list[tuple[str, str]] = []
    fail_at: int | None = None

    def edit(self, image, control, *, face=None):
        if CountingEditor.fail_at is not None and len(CountingEditor.calls) + 1 >= CountingEditor.fail_at:
            raise Interrupt("killed")
        res = super().edit(image, control, face=face)
        CountingEditor.calls.append((image_hash(image), control.label()))
        return res


class CountingJudge:
    name = "test-counting"
    calls: list[str] = []
    fail_at: int | None = None

    def __init__(self) -> None:
        self.inner = get_judge("offline")
        self.judged = self.inner.judged

    def judge_id(self) -> str:
        return "test-counting/" + self.inner.judge_id()

    def judge(self, image, *, box=None):
        if CountingJudge.fail_at is not None and len(CountingJudge.calls) + 1 >= CountingJudge.fail_at:
            raise Interrupt("killed")
        out = self.inner.judge(image, box=box)
        CountingJudge.calls.append(image_hash(image))
        return out


for _cls in (TintEditor, CrashEditor, HalfEditor, CountingEditor):
    if _cls.name not in EDITORS:
        EDITORS.add(_cls.name, _cls, licence="test", needs_gpu=False, description="test editor",
                    alpha_semantics=_cls.alpha_semantics)
if "test-counting" not in JUDGES:
    JUDGES.add("test-counting", CountingJudge, judged=BASIC6, description="test judge")
