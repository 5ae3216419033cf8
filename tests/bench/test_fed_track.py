"""The FED-Bench track: (source, instruction, ground truth) triplets -> FED-Score and its parts,
with PixelSmile's gallery frames as ground truths and the folder editor for precomputed edits."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from PIL import Image

from facebench.bench import Component, run_and_report
from facebench.bench.reference import gallery_dir
from facebench.bench.scoring import judged_expressions
from facebench.expressions import BASIC7
from facebench.face.calibration import load_calibration
from facebench.base.imageio import load_image
from facebench.metrics.fed import fed_score

pytestmark = pytest.mark.skipif(gallery_dir() is None,
                                reason="PixelSmile gallery (../shared/data/pixelsmile-gallery) not present")
EXPRS = ("happy", "sad", "surprised")


@pytest.fixture(scope="module")
def fed_run(tmp_path_factory):
    """Ground truths: PixelSmile's strongest frame (27) at the source's size. Editors: a folder of
    precomputed edits that are exactly those ground truths, and the offline editor."""
    g = gallery_dir()
    out = tmp_path_factory.mktemp("fed")
    rows = []
    for e in EXPRS:
        src = load_image(g / "slider" / e / "00.avif")
        gt = np.asarray(Image.fromarray(load_image(g / "slider" / e / "27.avif")).resize(src.shape[1::-1], Image.LANCZOS))
        (out / "gt").mkdir(exist_ok=True)
        Image.fromarray(gt).save(out / "gt" / f"{e}.png")
        (out / "edits" / "copy" / f"px-{e}" / e).mkdir(parents=True)
        Image.fromarray(gt).save(out / "edits" / "copy" / f"px-{e}" / e / "1.png")
        rows.append({"task_id": f"px-{e}", "source": str(g / "slider" / e / "00.avif"), "expression": e,
                     "instruction": f"Make the person look {e}.", "ground_truth": f"gt/{e}.png"})
    rows.append({"task_id": "no-gt", "source": str(g / "slider" / "happy" / "00.avif"), "expression": "happy",
                 "ground_truth": "gt/missing.png"})
    rows.append({"task_id": "no-gt-field", "source": str(g / "slider" / "sad" / "00.avif"), "expression": "sad"})
    (out / "fed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    editors = [Component.make("editor", "folder", {"root": str(out / "edits"), "model": "copy"},
                              label="returns the ground truth"), Component.make("editor", "offline")]
    return run_and_report(out / "fed.jsonl", editors=editors, judges=[Component.make("judge", "offline")],
                          out=out / "report", track="fed", progress=False)


def test_fed_scores_equal_fed_score_on_the_results_table(fed_run):
    res, data, paths = fed_run
    board = {r["model"]: r for r in json.loads(paths["leaderboard.json"].read_text())["rows"]}
    df = pd.read_parquet(paths["results.parquet"])
    cal = load_calibration("dlib")
    # FED reads neutral + every expression the judge judges (judge v2 also judges sleepy)
    labels = ("neutral",) + judged_expressions(df[df["status"] == "ok"])
    assert set(BASIC7) <= set(labels)
    for model, g in df[df["status"] == "ok"].groupby("model"):
        args = (g[[f"src_{e}" for e in labels]].to_numpy(), g[[f"gt_{e}" for e in labels]].to_numpy(),
                g[[f"score_{e}" for e in labels]].to_numpy(), list(g["expression"]), labels)
        # Fidelity and FED read the calibrated identity score; Fidelity (raw) the raw cosine
        table = fed_score(*args, id_sim=cal.score(g["id_sim_dlib"].to_numpy()))
        raw = fed_score(*args, id_sim=g["id_sim"].to_numpy())
        for col, name in (("fed_score", "FED"), ("alignment", "Alignment"), ("fidelity", "Fidelity"), ("reg", "REG")):
            assert board[model][name] == pytest.approx(float(np.nanmean(table[col])), abs=1e-12)
        assert board[model]["Fidelity (raw)"] == pytest.approx(float(np.nanmean(raw["fidelity"])), abs=1e-12)
        # one identity input: Fidelity is the mean calibrated score, clipped at 0
        assert board[model]["Fidelity"] == pytest.approx(float(np.mean(np.clip(cal.score(g["id_sim_dlib"]), 0, 1))))
    print("\n", pd.DataFrame(board).T[["FED", "Alignment", "Fidelity", "Fidelity (raw)", "REG", "ID Sim"]].to_string())
    # the ground truth is PixelSmile's own edit of the same person: calibrated, not a stranger
    assert board["returns the ground truth"]["Fidelity"] >= 0.5
    assert board["returns the ground truth"]["Fidelity"] < board["returns the ground truth"]["Fidelity (raw)"]
    # an edit that returns the ground truth changes the expression exactly as much as it: REG at its best
    assert board["returns the ground truth"]["REG"] == pytest.approx(1.0)
    assert board["offline"]["REG"] < 1.0
    assert "CLS-6" not in board["offline"]  # no alpha grid on this track
    assert any("provisional" in n for n in json.loads(paths["leaderboard.json"].read_text())["notes"])


def test_missing_ground_truths_are_failures(fed_run):
    res, data, paths = fed_run
    f = res.failures
    assert f[(f["task_id"] == "no-gt") & (f["stage"] == "ground_truth")]["reason"].str.contains("file not found").all()
    assert (f[f["task_id"] == "no-gt-field"]["stage"] == "manifest").all()
    ok = res.results[res.results["status"] == "ok"]
    assert set(ok["task_id"]) == {f"px-{e}" for e in EXPRS} and set(ok["model"]) == {"returns the ground truth", "offline"}
