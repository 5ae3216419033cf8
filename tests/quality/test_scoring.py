"""Registry metadata and `quality score` over folders and manifests, including bad input."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pandas as pd
import pytest

from facebench.cli import main
from facebench.quality import QUALITY_METRICS, compute, metrics_frame
from facebench.quality.scoring import collect_pairs, failures, score_pairs
from facebench.base.registry import UnknownNameError


def test_every_metric_has_its_metadata():
    required = {"kind", "higher_is_better", "range", "unit", "source", "licence", "paper"}
    for entry in QUALITY_METRICS:
        assert required <= set(entry.meta), entry.name
        assert entry.meta["kind"] in ("full-reference", "no-reference")
        lo, hi = entry.meta["range"]
        assert lo < hi
    df = metrics_frame()
    assert set(df["metric"]) == set(QUALITY_METRICS.names())


def test_unknown_metric_suggests_names():
    with pytest.raises(UnknownNameError, match="did you mean.*ms_ssim"):
        QUALITY_METRICS.entry("msssim")


@pytest.fixture(scope="module")
def folder(tmp_path_factory, astronaut):
    d = tmp_path_factory.mktemp("score")
    small = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    bgr = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
    cv2.imwrite(str(d / "ref.png"), bgr)
    cv2.imwrite(str(d / "blur.png"), cv2.GaussianBlur(bgr, (0, 0), 2))
    cv2.imwrite(str(d / "small.png"), cv2.resize(bgr, (128, 128)))
    cv2.imwrite(str(d / "gray.png"), cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    (d / "broken.png").write_bytes(b"not an image")
    rows = [
        {"image": "blur.png", "reference": "ref.png"},
        {"image": "small.png", "reference": "ref.png"},  # size mismatch
        {"image": "gray.png", "reference": "ref.png"},  # grayscale vs colour: scored, with a warning
        {"image": "blur.png", "reference": ""},  # no reference for full-reference metrics
        {"image": "broken.png", "reference": "ref.png"},  # unreadable
        {"image": "missing.png", "reference": "ref.png"},  # no such file
    ]
    pd.DataFrame(rows).to_csv(d / "manifest.csv", index=False)
    with open(d / "manifest.jsonl", "w") as fh:
        for r in rows[:2]:
            fh.write(json.dumps(r) + "\n")
    return d


def test_manifest_bad_input_one_line_each_batch_goes_on(folder):
    pairs = collect_pairs([folder / "manifest.csv"])
    table = score_pairs(pairs, ["ssim", "ms_ssim", "piqe"], batch_size=4, progress=False)
    assert list(table.columns[:6]) == ["image", "reference", "metric", "value", "higher_is_better", "error"]
    assert len(table) == len(pairs) * 3

    def row(image, ref, metric):
        sel = table[(table["image"].str.endswith(image)) & (table["metric"] == metric)
                    & (table["reference"].str.endswith(ref) if ref else table["reference"] == "")]
        assert len(sel) == 1
        return sel.iloc[0]

    good = row("blur.png", "ref.png", "ssim")
    assert good["error"] == "" and 0.5 < good["value"] < 1
    assert "128x128 but its reference is 256x256" in row("small.png", "ref.png", "ssim")["error"]
    assert row("small.png", "ref.png", "piqe")["error"] == ""  # no-reference metrics still run
    assert np.isfinite(row("gray.png", "ref.png", "ssim")["value"])
    assert "no reference" in row("blur.png", "", "ms_ssim")["error"]
    assert row("blur.png", "", "piqe")["error"] == ""
    assert "not an image" in row("broken.png", "ref.png", "piqe")["error"]
    assert "file not found" in row("missing.png", "ref.png", "ssim")["error"]
    for err in failures(table)["error"]:
        assert "\n" not in err


def test_resize_policy_and_too_small(folder):
    pairs = collect_pairs([folder / "manifest.jsonl"])
    table = score_pairs(pairs, ["ssim", "ms_ssim"], resize="reference", progress=False)
    assert (table["error"] == "").all()  # the 128-px image was resized to its 256-px reference
    tiny = np.zeros((100, 100, 3), np.uint8) + 128
    with pytest.raises(ValueError, match="ms_ssim needs images of at least 176x176 px, got 100x100"):
        compute("ms_ssim", [tiny], [tiny])
    with pytest.raises(ValueError, match="niqe needs images of at least 194x194"):
        compute("niqe", [tiny])


def test_batched_scoring_equals_single(folder):
    pairs = collect_pairs([folder / "manifest.csv"])[:3]
    a = score_pairs(pairs, ["gmsd", "brisque"], batch_size=8, progress=False)
    b = score_pairs(pairs, ["gmsd", "brisque"], batch_size=1, progress=False)
    pd.testing.assert_series_equal(a["value"], b["value"], rtol=1e-5)


def test_cli_score_folder_with_reference_dir(folder, tmp_path, capsys):
    lq, hq = tmp_path / "lq", tmp_path / "hq"
    lq.mkdir(), hq.mkdir()
    for name in ("a.png", "b.png"):
        (hq / name).write_bytes((folder / "ref.png").read_bytes())
    (lq / "a.png").write_bytes((folder / "blur.png").read_bytes())
    (lq / "b.png").write_bytes((folder / "small.png").read_bytes())
    out = tmp_path / "scores.parquet"
    code = main(["quality", "score", str(lq), "--reference-dir", str(hq), "--metrics", "psnr,gmsd,piqe",
                 "--out", str(out), "--no-progress"])
    assert code == 1  # b.png has another size than its reference: listed, the rest is scored
    table = pd.read_parquet(out)
    assert len(table) == 6 and (table["error"] != "").sum() == 2
    err = capsys.readouterr().err
    assert "2 failure(s)" in err and "b.png [psnr]" in err
    assert main(["quality", "score", str(lq), "--metrics", "ssimm", "--out", str(out)]) == 2
    assert "did you mean ssim" in capsys.readouterr().err
