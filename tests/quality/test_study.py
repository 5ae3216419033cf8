"""End-to-end synthetic study: degrade the sample faces at known severities, simulate raters with
bias and noise, MOS with facebench.metrics.mos, correlate every metric, train the predictor;
plus the `quality correlate / train / predict` commands on the same data."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from facebench.cli import main
from facebench.base.imageio import load_image
from facebench.metrics.mos import mos_table
from facebench.quality import DEFAULT_METRICS, FACE_METRICS, QUALITY_METRICS
from facebench.quality import correlate as cr
from facebench.quality.degrade import apply_ops, severity_ops
from facebench.quality.predictor import PredictorConfig, QualityPredictor, extract_features
from facebench.quality.scoring import Pair, score_pairs
from facebench.samples import portrait_paths

LEVELS = range(6)
SIZE = 224  # NIQE's smallest practical size (it needs > 193 px)
PIXEL_FR = ("psnr", "ssim", "ms_ssim", "fsim", "gmsd", "vif", "haarpsi")


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    rng = np.random.default_rng(2024)
    pairs, level, face_of = [], {}, {}
    for name, path in portrait_paths().items():
        img = cv2.resize(load_image(path), (SIZE, SIZE), interpolation=cv2.INTER_AREA)
        ref = root / f"{name}_ref.png"
        cv2.imwrite(str(ref), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        for lv in LEVELS:
            p = root / f"{name}_L{lv}.png"
            cv2.imwrite(str(p), cv2.cvtColor(apply_ops(img, severity_ops(lv, seed=lv)), cv2.COLOR_RGB2BGR))
            pairs.append(Pair(str(p), str(ref)))
            level[str(p)], face_of[str(p)] = lv, name
    # 15 simulated raters on F-Bench's 0-5 slider: latent quality falls with severity; each rater has
    # a bias and a scale, each rating noise; each face a small content offset.
    n_sub = 15
    bias, scale = rng.normal(0, 0.4, n_sub), rng.uniform(0.8, 1.2, n_sub)
    content = {k: rng.normal(0, 0.2) for k in sorted(set(face_of.values()))}  # sorted: a set's order changes with PYTHONHASHSEED
    rows = []
    for item, lv in level.items():
        q = 4.6 - 0.7 * lv + content[face_of[item]]
        for s in range(n_sub):
            r = np.clip(scale[s] * (q - 2.5) + 2.5 + bias[s] + rng.normal(0, 0.5), 0, 5)
            rows.append({"subject": f"s{s}", "item": item, "dimension": "quality", "score": round(float(r), 2)})
    ratings = pd.DataFrame(rows)
    mos = mos_table(ratings)
    table = score_pairs(pairs, list(DEFAULT_METRICS) + list(FACE_METRICS), progress=False)
    table.to_csv(root / "scores.csv", index=False)
    ratings.to_csv(root / "ratings.csv", index=False)
    mos.to_csv(root / "mos.csv", index=False)
    result = cr.benchmark(cr.join(cr.load_scores(table), cr.load_mos(mos)), n_boot=200, seed=0)
    return {"root": root, "pairs": pairs, "level": level, "mos": mos, "table": table, "result": result}


def test_mos_follows_severity(study):
    mos = study["mos"].set_index("item")["mos"]
    levels = pd.Series(study["level"])
    by_level = mos.groupby(levels.reindex(mos.index).to_numpy()).mean()
    assert list(by_level.index) == list(LEVELS) and np.all(np.diff(by_level.to_numpy()) < 0)


def test_every_metric_is_correlated_in_the_expected_order(study):
    res = study["result"].set_index("metric")
    assert set(res.index) == set(QUALITY_METRICS.names())
    assert (res["n"] >= len(study["pairs"]) - 6).all()  # at most a few faces lost at the worst levels
    for name in PIXEL_FR:  # with the reference at hand, severity is easy to see
        assert res.loc[name, "srcc"] > 0.8, (name, res.loc[name, "srcc"])
        assert res.loc[name, "srcc_ci_low"] <= res.loc[name, "srcc"] <= res.loc[name, "srcc_ci_high"]
    for name in ("identity_similarity", "piqe", "brisque", "face_confidence"):
        assert res.loc[name, "srcc"] > 0.5, (name, res.loc[name, "srcc"])
    # F-Bench's finding on synthetic restoration data: reference-based metrics beat blind ones
    nr = [n for n in res.index if res.loc[n, "kind"] == "no-reference"]
    assert res.loc[list(PIXEL_FR), "srcc"].mean() > res.loc[nr, "srcc"].mean()
    assert (res.loc[list(PIXEL_FR), "sign"] == [1 if QUALITY_METRICS.meta(n)["higher_is_better"] else -1 for n in PIXEL_FR]).all()


def test_table_layout(study):
    md = cr.markdown(study["result"])
    for name in QUALITY_METRICS.names():
        assert f"| {name} |" in md
    assert "quality SRCC | quality KRCC | quality PLCC" in md and "logistic4" in md
    wide = cr.wide_table(study["result"])
    assert list(wide.columns) == ["kind", "quality / SRCC", "quality / KRCC", "quality / PLCC"]


def test_predictor_beats_chance_and_reloads(study, tmp_path):
    pairs = study["pairs"]
    images = [load_image(p.image) for p in pairs]
    y = study["mos"].set_index("item").loc[[p.image for p in pairs], "mos"].to_numpy()
    cfg = PredictorConfig(epochs=30, image_size=48, width=8, seed=0)  # small: a fast test
    feats = extract_features(images, cfg.feature_groups)
    model = QualityPredictor(cfg)
    report = model.fit(images, y, features=feats)
    assert report.n_test == round(0.2 * len(y)) and set(report.train_index).isdisjoint(report.test_index)
    assert report.srcc > report.chance_srcc95 and report.p_value < 0.05, report
    assert report.loss[-1] < report.loss[0]
    path = model.save(tmp_path / "q.pt")
    again = QualityPredictor.load(path)
    test = report.test_index
    np.testing.assert_allclose(again.predict([images[i] for i in test], feats[test]), report.test_pred, rtol=1e-5)
    # the same seed gives the same split and the same model
    report2 = QualityPredictor(cfg).fit(images, y, features=feats)
    assert report2.test_index == report.test_index and report2.test_pred == pytest.approx(report.test_pred, rel=1e-5)
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(ValueError, match="not a facebench quality model"):
        QualityPredictor.load(tmp_path / "junk.pt")


def test_cli_correlate_train_predict(study, tmp_path, capsys):
    root = study["root"]
    out = tmp_path / "bench"
    # raw ratings are turned into MOS by the command itself
    assert main(["quality", "correlate", str(root / "scores.csv"), str(root / "ratings.csv"),
                 "--out-dir", str(out), "--n-boot", "50"]) == 0
    for f in ("benchmark.csv", "table.csv", "table.md", "srcc.png"):
        assert (out / f).stat().st_size > 0
    assert "| haarpsi |" in capsys.readouterr().out
    model = tmp_path / "m.pt"
    assert main(["quality", "train", str(root / "mos.csv"), "--out", str(model), "--epochs", "5",
                 "--features", "nr", "--image-size", "32"]) == 0
    rep = json.loads(Path(str(model) + ".json").read_text())
    assert rep["n_test"] + rep["n_train"] == len(study["pairs"]) and "srcc" in rep
    pred_csv = tmp_path / "pred.csv"
    assert main(["quality", "predict", str(model), str(root / "astronaut_L0.png"), str(root / "astronaut_L5.png"),
                 "--out", str(pred_csv)]) == 0
    assert len(pd.read_csv(pred_csv)) == 2
    assert main(["quality", "correlate", str(root / "scores.csv"), str(tmp_path / "none.csv")]) == 2
