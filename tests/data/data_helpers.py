"""Editors and judges for the data-engine tests, registered in the real registries.

They wrap the real offline editor and judge (same pixels, same scores) and can be told, through
class attributes (which do not enter the cache fingerprints), to stop the process the way a kill
does (:class:`Kill`, a ``BaseException`` the runner does not catch) or to fail like an endpoint
that goes down half-way (:class:`facebench.judges.JudgeError`).
"""

from __future__ import annotations

from facebench.edit.base import EDITORS, get_editor
from facebench.expressions import BASIC6
from facebench.judges import JUDGES, JudgeError, get_judge


class Kill(BaseException):
    """Stands for SIGKILL: not an Exception, so nothing in the build records it as an item failure."""


class KillableEditor:
    """The offline editor; raises :class:`Kill` once ``kill_after`` edits have been rendered."""

    name = "data-test-killable"
    alpha_semantics = "as offline"
    kill_after: int | None = None
    rendered = 0

    def __init__(self) -> None:
        self.inner = get_editor("offline")

    def prepare(self, image, face=None):
        return self.inner.prepare(image, face)

    def render(self, prep, control):
        if KillableEditor.kill_after is not None and KillableEditor.rendered >= KillableEditor.kill_after:
            raise Kill("killed half-way")
        KillableEditor.rendered += 1
        return self.inner.render(prep, control)

    def edit(self, image, control, *, face=None):
        return self.render(self.prepare(image, face), control)

    def sweep(self, image, expression, alphas, *, face=None):
        return self.inner.sweep(image, expression, alphas, face=face)


class FlakyJudge:
    """The offline judge; after ``fail_after`` calls every call fails like an endpoint that went down."""

    name = "data-test-flaky"
    judged = BASIC6
    fail_after: int | None = None
    calls = 0

    def __init__(self) -> None:
        self.inner = get_judge("offline")

    def judge_id(self) -> str:
        return "data-test-flaky:" + self.inner.judge_id()

    def judge(self, image, *, box=None, source=None):
        """The offline judge's answer (measured against ``source`` like the offline judge), or a failure."""
        FlakyJudge.calls += 1
        if FlakyJudge.fail_after is not None and FlakyJudge.calls > FlakyJudge.fail_after:
            raise JudgeError("endpoint answered HTTP 503 Service Unavailable")
        return self.inner.judge(image, box=box, source=source)


if "data-test-killable" not in EDITORS:
    EDITORS.add("data-test-killable", KillableEditor, licence="test", needs_gpu=False,
                description="offline editor that can be killed half-way (tests)", alpha_semantics="as offline")
if "data-test-flaky" not in JUDGES:
    JUDGES.add("data-test-flaky", FlakyJudge, judged=BASIC6, licence="test",
               description="offline judge that can fail half-way (tests)")
