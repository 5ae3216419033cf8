"""A build killed half-way and run again ends with the same dataset as an uninterrupted build;
a judge that fails half-way is reported, and a rerun fills in what is missing."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from data_helpers import FlakyJudge, Kill, KillableEditor
from facebench.base.store import Store
from facebench.data import build_dataset, parse_config
from facebench.base.imageio import load_image
from facebench.samples import sample_paths

#: Files whose bytes make up the dataset (everything but the cache and the build log).
DATASET_FILES = ("sources.parquet", "samples.parquet", "annotations.parquet", "prompts.jsonl", "train.jsonl",
                 "test.jsonl", "dataset.json", "card.json", "card.md", "spotcheck/study.yaml",
                 "spotcheck/items.csv")


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("small")
    for k in ("astronaut", "feat_surprise"):
        Image.fromarray(load_image(sample_paths()[k])).save(d / f"{k}.png")
    return d


def config(folder: Path, judge: str = "offline"):
    return parse_config({
        "name": "small", "sources": [str(folder)],
        "compose": {"expressions": ["happy", "surprised"], "max_prompts_per_expression": 2},
        "generate": {"editor": "data-test-killable", "intensities": [0.5, 1.0]},
        "annotate": {"judges": [judge], "spot_check": 3},
        "filter": {"pairs": [["happy", "surprised"]]},
        "export": {"test_fraction": 0.5},
    }, folder)


def digest(out: Path) -> dict[str, str]:
    files = [out / f for f in DATASET_FILES] + sorted((out / "images").rglob("*.png")) + sorted(
        (out / "sources").glob("*.png")) + sorted(out.glob("f[fe][ed]_*.jsonl"))
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture(scope="module")
def reference(small_dir, tmp_path_factory):
    KillableEditor.kill_after = None
    out = tmp_path_factory.mktemp("ref") / "ds"
    res = build_dataset(config(small_dir), out, progress=False, log=lambda s: None)
    return res


def test_killed_build_resumes_to_the_same_dataset(small_dir, reference, tmp_path):
    out = tmp_path / "ds"
    KillableEditor.rendered, KillableEditor.kill_after = 0, 3
    try:
        with pytest.raises(Kill):
            build_dataset(config(small_dir), out, progress=False, log=lambda s: None)
    finally:
        KillableEditor.kill_after = None
    assert Store(out / "cache.sqlite").count("edit") == 3  # what finished before the kill is kept
    assert not (out / "samples.parquet").exists()
    logs: list[str] = []
    KillableEditor.rendered = 0
    res = build_dataset(config(small_dir), out, progress=False, log=logs.append)
    assert KillableEditor.rendered == 8 - 3  # only the missing edits were made
    assert res.stats["run"]["edits"]["cached"] == 3
    assert digest(out) == digest(reference.out)
    # and a third run computes nothing
    KillableEditor.rendered = 0
    again = build_dataset(config(small_dir), out, progress=False, log=logs.append)
    assert KillableEditor.rendered == 0
    assert all(v["computed"] == 0 for k, v in again.stats["run"].items() if k != "sources")
    assert digest(out) == digest(reference.out)


def test_judge_failing_half_way_is_reported_and_a_rerun_continues(small_dir, reference, tmp_path):
    out = tmp_path / "ds"
    out.mkdir()
    shutil.copy(reference.out / "cache.sqlite", out / "cache.sqlite")  # edits come from the cache
    FlakyJudge.calls, FlakyJudge.fail_after = 0, 4
    logs: list[str] = []
    try:
        res = build_dataset(config(small_dir, "data-test-flaky"), out, progress=False, log=logs.append)
    finally:
        FlakyJudge.fail_after = None
    failed = res.samples[res.samples["status"] == "failed"]
    assert len(failed) > 0 and (failed["rule"] == "failed").all() and not failed["keep"].any()
    assert failed["drop_reason"].str.contains("data-test-flaky: JudgeError: endpoint answered HTTP 503").all()
    assert any("run `facebench data build` again" in line for line in logs)
    assert len(res.failures) > 0
    FlakyJudge.calls = 0
    res2 = build_dataset(config(small_dir, "data-test-flaky"), out, progress=False, log=logs.append)
    assert FlakyJudge.calls == res.stats["run"]["judgements"]["failed"]  # only the failed ones are asked again
    assert res2.failures.empty and (res2.samples["status"] == "ok").all()
    cols = ["sample_id", "keep", "rule", "drop_reason", "id_sim"] + [c for c in reference.samples if c.startswith("score_")]
    pd.testing.assert_frame_equal(res2.samples[cols], reference.samples[cols])
