"""Three toy editors on real photos, to check that FFE-Bench scoring cannot be gamed:

- ``toy-copy`` returns the source unchanged (the identity copy);
- ``offline``, the real offline mesh editor;
- ``toy-blur`` blurs the face away (Gaussian sigma 10% of the width x alpha: no face is found).

The face-destroying editor must rank last on Acc-6, ID Sim and HES (its failed edits stay in every
denominator); the copy editor gets ID Sim at the top of the calibrated scale and the Acc-6 of the
sources' own expressions. Plus: ties split evenly, failures give a non-zero exit status, and an
alpha grid the editor cannot honour is refused up front.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pandas as pd
import pytest

import bench_helpers  # noqa: F401  (registers the test editors)
from facebench.bench import Component, build_tasks, run_and_report, write_manifest
from facebench.bench.reference import gallery_dir
from facebench.bench.scoring import score_group
from facebench.cli import main
from facebench.edit.base import EDITORS, EditResult
from facebench.expressions import BASIC6, EXPRESSIONS
from facebench.metrics import ffe


class CopyEditor:
    name = "toy-copy"
    alpha_semantics = "ignored: returns the source"

    def edit(self, image, control, *, face=None):
        return EditResult(image.copy(), control, None, self.name, {})


class BlurEditor:
    name = "toy-blur"
    alpha_semantics = "Gaussian blur, sigma = 10% of the width x alpha"

    def edit(self, image, control, *, face=None):
        (_, alpha), = control.weights
        sigma = 0.1 * image.shape[1] * alpha
        out = cv2.GaussianBlur(image, (0, 0), sigma) if sigma > 0 else image.copy()
        return EditResult(out, control, None, self.name, {"sigma": sigma})


for _cls in (CopyEditor, BlurEditor):
    if _cls.name not in EDITORS:
        EDITORS.add(_cls.name, _cls, licence="test", needs_gpu=False, description="toy editor",
                    alpha_semantics=_cls.alpha_semantics)


@pytest.fixture(scope="module")
def toy_run(faces_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("toys")
    tasks = build_tasks([faces_dir / f"{n}.png" for n in ("astronaut", "feat_happy", "feat_surprise")], BASIC6)
    write_manifest(tasks, out / "suite.jsonl")
    editors = [Component.make("editor", n) for n in ("toy-copy", "offline", "toy-blur")]
    res, data, paths = run_and_report(out / "suite.jsonl", editors=editors, judges=[Component.make("judge", "offline")],
                                      out=out / "report", track="general", progress=False)
    return res, data, paths, out


def test_face_destroying_editor_ranks_last(toy_run):
    res, data, paths, out = toy_run
    board = data.board.set_index("model")
    print("\n", board[["Acc-6", "mSCR", "ID Sim", "ID Sim (raw)", "HES", "n", "n failed"]].to_string())
    blur = board.loc["toy-blur"]
    assert blur["n"] == 18 and blur["n failed"] == 18  # every blurred edit failed: and stays counted
    for metric in ("Acc-6", "ID Sim", "HES"):
        others = [float(board.loc[m, metric]) for m in ("toy-copy", "offline")]
        assert float(blur[metric]) < min(others), metric
    assert float(blur["Acc-6"]) == 0 and float(blur["ID Sim"]) == 0 and float(blur["HES"]) == 0
    assert float(blur["mSCR"]) == 1.0  # every failed edit toward a pair member counts as confused
    board_json = json.loads(paths["leaderboard.json"].read_text())
    assert any("18 of 18 general-metric edits failed" in n for n in board_json["notes"])
    per = pd.read_csv(paths["per_expression.csv"])
    pb = per[per["model"] == "toy-blur"]
    assert (pb["n"] == 3).all() and (pb["n failed"] == 3).all() and (pb["accuracy"].astype(float) == 0).all()


def test_copy_editor_keeps_identity_and_the_sources_expressions(toy_run):
    res, data, paths, out = toy_run
    board = data.board.set_index("model")
    copy = board.loc["toy-copy"]
    assert float(copy["ID Sim"]) == 1.0 and float(copy["ID Sim (raw)"]) == 1.0 and copy["n failed"] == 0
    df = res.results[res.results["model"] == "toy-copy"]
    src = df[[f"src_{e}" for e in BASIC6]].to_numpy()
    w = ffe.prediction_weights(src, BASIC6)
    want = float(np.mean([w[i, BASIC6.index(t)] for i, t in enumerate(df["expression"])]))
    assert float(copy["Acc-6"]) == pytest.approx(want, abs=1e-12)  # the sources' own expressions
    assert float(copy["ID Sim"]) >= float(board.loc["offline", "ID Sim"])


def _rows(scores: list[dict[str, float]], targets: list[str], status: list[str] | None = None) -> pd.DataFrame:
    rows = []
    for i, (sc, t) in enumerate(zip(scores, targets)):
        r = {"model": "m", "judge": "j", "track": "general", "task_id": f"t{i}", "alpha": 1.0, "expression": t,
             "status": (status or ["ok"] * len(targets))[i], "recognisers": "dlib", "id_sim_dlib": 0.96}
        for e in EXPRESSIONS:
            r["score_" + e] = sc.get(e, 0.0) if e in BASIC6 else np.nan
            r["src_" + e] = 0.1 if e in BASIC6 else np.nan
        r["score_neutral"] = r["src_neutral"] = np.nan
        r["target_score"] = r["score_" + t]
        r["id_sim"] = r["id_sim_dlib"]
        rows.append(r)
    return pd.DataFrame(rows)


def test_ties_split_evenly_whatever_the_label_order():
    w = ffe.prediction_weights([[0.4, 0.4, 0.2]], ["sad", "happy", "angry"])
    assert w.tolist() == [[0.5, 0.5, 0.0]]
    # an edit toward fear scored equally fear and surprised: half right, whichever comes first
    for first, second in (("fear", "surprised"), ("surprised", "fear")):
        df = _rows([{first: 0.5, second: 0.5}], ["fear"])
        g = score_group(df)
        assert g.metrics["Acc-6"] == pytest.approx(0.5)
        assert g.confusion.to_frame().loc["fear", "surprised"] == pytest.approx(0.5)
    # the same scores with the target swapped give the same accuracy: no label-order bias
    assert score_group(_rows([{"fear": 0.5, "surprised": 0.5}], ["surprised"])).metrics["Acc-6"] == 0.5


def test_failed_edits_count_against_every_general_metric():
    ok = _rows([{"happy": 0.9}, {"happy": 0.9}], ["happy", "happy"])
    both = _rows([{"happy": 0.9}, {}], ["happy", "happy"], status=["ok", "failed"])
    a, b = score_group(ok).metrics, score_group(both).metrics
    assert a["Acc-6"] == 1.0 and b["Acc-6"] == 0.5 and b["n"] == 2 and b["n failed"] == 1
    assert b["ID Sim"] == pytest.approx(a["ID Sim"] / 2) and b["HES"] == pytest.approx(a["HES"] / 2)
    assert b["ID Sim (raw)"] == pytest.approx(0.96 / 2)


def test_a_run_with_failures_exits_non_zero(faces_dir, tmp_path, capsys):
    tasks = build_tasks([faces_dir / "astronaut.png"], ["happy", "sad"])
    write_manifest(tasks, tmp_path / "s.jsonl")
    # serial: the test's own editors are registered in this process only
    base = ["bench", "run", str(tmp_path / "s.jsonl"), "--track", "general", "--no-html", "--no-progress",
            "--no-identity", "--workers", "1"]
    assert main([*base, "--editor", "test-crash", "--out", str(tmp_path / "a")]) == 1  # crashes on sad
    assert "failure(s)" in capsys.readouterr().err
    assert main([*base, "--editor", "test-crash", "--out", str(tmp_path / "b"), "--allow-failures"]) == 0
    assert main([*base, "--editor", "toy-copy", "--out", str(tmp_path / "c")]) == 0


@pytest.mark.skipif(gallery_dir() is None, reason="PixelSmile gallery not present")
def test_an_alpha_grid_the_editor_cannot_honour_is_refused_up_front(tmp_path, capsys):
    g = gallery_dir()
    assert main(["bench", "manifest", "--gallery", str(g), "--expressions", "happy", "-o", str(tmp_path / "g.jsonl")]) == 0
    capsys.readouterr()
    rc = main(["bench", "run", str(tmp_path / "g.jsonl"), "--editor", "pixelsmile-gallery", "--editor-opt",
               f"root={g}", "--alphas", "0,0.01,1", "--out", str(tmp_path / "o"), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "both read gallery frame 01" in err[0]
    assert not (tmp_path / "o" / "cache.sqlite").exists()  # refused before any work
    rc = main(["bench", "run", str(tmp_path / "g.jsonl"), "--alphas", "0,5", "--out", str(tmp_path / "o"),
               "--no-progress"])
    assert rc == 2 and "outside [0, 3]" in capsys.readouterr().err


def test_an_onnx_recogniser_reads_not_calibrated_until_given_its_calibration(faces_dir, tmp_path, capsys):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "face"))
    from test_identity import _tiny_onnx

    from facebench.face.calibration import fit_calibration

    model = tmp_path / "tiny.onnx"
    _tiny_onnx(model)
    write_manifest(build_tasks([faces_dir / "astronaut.png"], ["happy", "sad"]), tmp_path / "s.jsonl")
    base = ["bench", "run", str(tmp_path / "s.jsonl"), "--track", "general", "--no-html", "--no-progress",
            "--editor", "offline", "--recogniser", "onnx", "--recogniser-opt", f"path={model}"]
    assert main([*base, "--out", str(tmp_path / "a")]) == 0
    row = json.loads((tmp_path / "a" / "leaderboard.json").read_text())["rows"][0]
    assert row["ID Sim"] == "not calibrated" and row["HES"] == "not calibrated"
    assert 0 < row["ID Sim (raw)"] <= 1
    rng = np.random.default_rng(0)
    cal = fit_calibration(rng.normal(0.9, 0.03, 200).clip(-1, 0.999), rng.normal(0.3, 0.2, 2000).clip(-1, 1),
                          recogniser="onnx:tiny.onnx").save(tmp_path / "tiny.json")
    assert main([*base, "--out", str(tmp_path / "b"), "--id-calibration", str(cal)]) == 0
    row = json.loads((tmp_path / "b" / "leaderboard.json").read_text())["rows"][0]
    assert isinstance(row["ID Sim"], float) and isinstance(row["HES"], float)
    assert main(["bench", "report", str(tmp_path / "b")]) == 0  # the calibration is kept in the run's config
    assert json.loads((tmp_path / "b" / "leaderboard.json").read_text())["rows"][0]["ID Sim"] == row["ID Sim"]
    capsys.readouterr()
    assert main([*base, "--out", str(tmp_path / "c"), "--id-calibration", str(tmp_path / "nope.json")]) == 2
    assert "nope.json: calibration file not found" in capsys.readouterr().err


def test_a_run_uses_one_worker_per_cpu_by_default(faces_dir, tmp_path, monkeypatch):
    """Without --workers a run starts local worker processes, one per usable CPU (at most 4),
    and gives the serial run's table; on one CPU it stays serial."""
    from facebench.bench import executors

    cases = {1: 1, 2: 2, 16: executors.MAX_DEFAULT_WORKERS}
    for cpus, workers in cases.items():
        monkeypatch.setattr(executors.os, "sched_getaffinity", lambda pid, n=cpus: set(range(n)))
        assert executors.default_workers() == workers
    monkeypatch.setattr(executors.os, "sched_getaffinity", lambda pid: {0, 1})
    write_manifest(build_tasks([faces_dir / "astronaut.png"], ["happy", "sad"]), tmp_path / "s.jsonl")
    base = ["bench", "run", str(tmp_path / "s.jsonl"), "--track", "general", "--no-html", "--no-progress",
            "--no-identity", "--editor", "offline"]
    tables = {}
    for name, extra in (("default", []), ("serial", ["--workers", "1"])):
        assert main([*base, "--out", str(tmp_path / name), *extra]) == 0
        config = json.loads((tmp_path / name / "run.json").read_text())["config"]
        tables[name] = pd.read_parquet(tmp_path / name / "results.parquet")
        expected = ("processes", 2) if name == "default" else ("serial", 1)
        assert (config["executor"], config["workers"]) == expected  # the patched 2 CPUs
    assert tables["default"].equals(tables["serial"])
