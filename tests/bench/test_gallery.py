"""PixelSmile's own slider edits (the gallery next to the repository) through the folder-editor
path, judged offline: CLS per basic expression with the frame index as the alpha proxy."""

from __future__ import annotations

import pandas as pd
import pytest

from facebench.bench import Component, Manifest, run_and_report
from facebench.bench.manifest import gallery_tasks
from facebench.edit.external import gallery_alphas
from facebench.bench.reference import gallery_dir
from facebench.expressions import BASIC6

pytestmark = pytest.mark.skipif(gallery_dir() is None,
                                reason="PixelSmile gallery (../shared/data/pixelsmile-gallery) not present")

FRAMES = range(1, 28, 3)  # 9 of the 27 frames: 01, 04, ..., 25


@pytest.fixture(scope="module")
def gallery_run(tmp_path_factory):
    g = gallery_dir()
    out = tmp_path_factory.mktemp("gallery")
    editor = Component.make("editor", "pixelsmile-gallery", {"root": str(g)}, label="PixelSmile (gallery)")
    return run_and_report(Manifest(gallery_tasks(g, BASIC6)), editors=[editor],
                          judges=[Component.make("judge", "offline")], recognisers=[], out=out, track="linear",
                          alphas=gallery_alphas(FRAMES), progress=False)


def test_cls_per_expression_of_pixelsmiles_sliders(gallery_run):
    res, data, paths = gallery_run
    assert (res.results["status"] == "ok").all() and len(res.results) == 6 * len(FRAMES)
    (g,) = data.groups
    per = g.per_expression.set_index("expression")
    with pd.option_context("display.width", 160):
        print("\nPixelSmile gallery, offline judge, frames", list(FRAMES))
        print(per[["edits", "CLS", "CLS (Spearman)", "target score", "accuracy"]].to_string())
        print("CLS-6", g.metrics["CLS-6"], "(paper, Gemini 3 Pro judge: 0.8078)")
    # Honest claims only: the offline judge sees happy rise with the frame index...
    assert per.loc["happy", "CLS"] > 0.5
    # ...and, over the basic six, intensity rises with the frame more often than not.
    assert g.metrics["CLS-6"] > 0.2
    assert list(per.index) == list(BASIC6)


def test_frames_map_to_increasing_alpha(gallery_run):
    res, data, paths = gallery_run
    files = res.results.sort_values(["task_id", "alpha"])
    assert files.groupby("task_id")["alpha"].apply(lambda a: a.is_monotonic_increasing).all()
    assert set(res.results["edited_hash"]) .isdisjoint(set(res.results["source_hash"]))  # frame 01 is an edit
