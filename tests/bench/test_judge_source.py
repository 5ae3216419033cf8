"""The bench judges an edit against its source image when the judge accepts ``source=``."""

from __future__ import annotations

import bench_helpers  # noqa: F401  (registers the test judge without source=)
from facebench.bench import Component
from facebench.bench.work import ImageRef, JudgeUnit, do_judge
from facebench.judges.base import accepts_source


def test_only_judges_with_a_source_parameter_get_one():
    assert accepts_source(Component.make("judge", "offline").build())
    assert not accepts_source(Component.make("judge", "test-counting").build())


def test_judge_unit_passes_the_source(faces_dir):
    offline = Component.make("judge", "offline")
    edit = ImageRef(path=str(faces_dir / "feat_happy.png"))
    alone = do_judge(JudgeUnit(offline, edit))
    against = do_judge(JudgeUnit(offline, edit, source=ImageRef(path=str(faces_dir / "feat_surprise.png"))))
    assert alone["ok"] and against["ok"]
    assert alone["info"]["relative_to"] == "typical neutral" and against["info"]["relative_to"] == "source"
    missing = do_judge(JudgeUnit(offline, edit, source=ImageRef(path=str(faces_dir / "nope.png"))))
    assert not missing["ok"] and missing["reason"].startswith("source image:")
