"""Diversity report: per-image features, R and U per dataset, density plot, CLI."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from facebench.cli import main
from facebench.quality import diversity as dv


@pytest.fixture(scope="module")
def datasets(tmp_path_factory, astronaut):
    root = tmp_path_factory.mktemp("div")
    small = cv2.resize(astronaut, (96, 96), interpolation=cv2.INTER_AREA)
    wide, narrow = root / "wide", root / "narrow"
    wide.mkdir(), narrow.mkdir()
    for i, gain in enumerate(np.linspace(0.2, 1.6, 8)):  # brightness spread over a wide range
        cv2.imwrite(str(wide / f"{i}.png"), np.clip(small[..., ::-1] * gain, 0, 255).astype(np.uint8))
    for i, gain in enumerate(np.linspace(0.95, 1.05, 8)):  # nearly identical brightness
        cv2.imwrite(str(narrow / f"{i}.png"), np.clip(small[..., ::-1] * gain, 0, 255).astype(np.uint8))
    (narrow / "broken.jpg").write_bytes(b"\xff\xd8 nope")
    return wide, narrow


def test_wide_set_has_larger_range_and_uniformity(datasets):
    wide, narrow = datasets
    feats = dv.image_features({"wide": [wide], "narrow": [narrow]}, progress=False)
    assert len(feats) == 17 and (feats["error"] != "").sum() == 1
    summ = dv.summary(feats).set_index(["dataset", "feature"])
    assert summ.loc[("wide", "brightness"), "relative_range"] > 3 * summ.loc[("narrow", "brightness"), "relative_range"]
    assert summ.loc[("wide", "brightness"), "coverage_uniformity"] > summ.loc[("narrow", "brightness"), "coverage_uniformity"]
    assert ((summ["coverage_uniformity"] >= 0) & (summ["coverage_uniformity"] <= 1)).all()


def test_cli_diversity(datasets, tmp_path):
    wide, narrow = datasets
    out = tmp_path / "report"
    assert main(["quality", "diversity", f"W={wide}", str(narrow), "--out-dir", str(out)]) == 1  # broken file listed
    summ = pd.read_csv(out / "summary.csv")
    assert set(summ["dataset"]) == {"W", "narrow"} and set(summ["feature"]) == {"brightness", "contrast", "colorfulness", "sharpness"}
    assert (out / "density.png").stat().st_size > 0
