"""The runner end to end on real photos: results table, report numbers, caching, parallel
executors, two judges, and bad input (missing image, unknown expression, crashing or wrong-size
editor, malformed judge answers)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import bench_helpers  # noqa: F401  (registers the test editors and judges)
from facebench.bench import Component, Manifest, build_tasks, run_and_report, run_benchmark
from facebench.bench.identity import recogniser_component
from facebench.bench.manifest import write_manifest
from facebench.expressions import BASIC6, EXPRESSIONS
from facebench.face.calibration import load_calibration
from facebench.metrics import ffe

ALPHAS = (0.0, 0.5, 1.0)


def _vlm(server, **kw) -> Component:
    return Component.make("judge", "vlm", {"base_url": server.base_url, "model": "fake-vl", "backoff": 0.01,
                                           "timeout": 5, **kw})


@pytest.fixture(scope="module")
def main_run(faces_dir, fake_openai, tmp_path_factory):
    """2 photos x 6 basic expressions x 3 alphas, offline editor, offline + VLM judges, dlib."""
    fake_openai.reset("good")
    out = tmp_path_factory.mktemp("run")
    tasks = build_tasks([faces_dir / "astronaut.png", faces_dir / "feat_happy.png"], BASIC6)
    write_manifest(tasks, out / "suite.jsonl")
    res, data, paths = run_and_report(out / "suite.jsonl", editors=[Component.make("editor", "offline")],
                                      judges=[Component.make("judge", "offline"), _vlm(fake_openai)],
                                      out=out / "report", track="linear", alphas=ALPHAS, progress=False)
    return res, data, paths, out


def test_results_table(main_run):
    res, data, paths, out = main_run
    df = res.results
    assert len(df) == 2 * 6 * 3 * 2 and (df["status"] == "ok").all()
    assert set(df["judge"]) == {"offline", "vlm:fake-vl"} and set(df["model"]) == {"offline"}
    off, vlm = df[df["judge"] == "offline"], df[df["judge"] == "vlm:fake-vl"]
    others = [f"score_{e}" for e in EXPRESSIONS[6:] if e != "sleepy"]  # sleepy: judged by judge v2
    assert off[others].isna().all().all() and off[[f"score_{e}" for e in (*BASIC6, "sleepy")]].notna().all().all()
    assert vlm[[f"score_{e}" for e in EXPRESSIONS]].notna().all().all() and vlm["score_neutral"].isna().all()
    # alpha 0 of the offline editor is a no-op: same pixels, same scores as the source, ID Sim 1
    zero = df[df["alpha"] == 0]
    assert (zero["edited_hash"] == zero["source_hash"]).all() and (zero["id_sim"] == 1.0).all()
    assert np.allclose(zero[[f"score_{e}" for e in BASIC6]].to_numpy(), zero[[f"src_{e}" for e in BASIC6]].to_numpy())
    strong = df[df["alpha"] == 1]
    assert (strong["edited_hash"] != strong["source_hash"]).all()
    assert strong["id_sim"].between(0.5, 1.0).all() and (strong["recognisers"] == "dlib").all()
    assert (df["id_sim"] == df["id_sim_dlib"]).all()
    back = pd.read_parquet(paths["results.parquet"])
    pd.testing.assert_frame_equal(back, df)
    assert res.stats["edits"].computed == 36 and res.stats["judgements"].computed == 2 * (2 + 24)
    assert res.stats["identity"].computed == 24  # alpha-0 edits are the source: no embedding needed


def _direct(df: pd.DataFrame, judged: tuple[str, ...]) -> dict[str, float]:
    """The leaderboard numbers, computed here straight from the results table with facebench.metrics
    and the shipped dlib calibration (no failures in this run; Acc-6/mSCR over the basic 6 for
    every judge; ties split evenly)."""
    ok = df[df["status"] == "ok"]
    top = ok[ok["alpha"] == ok["alpha"].max()]
    out = {}
    targets = list(top["expression"])
    w6 = ffe.prediction_weights(top[[f"score_{e}" for e in BASIC6]].to_numpy(), BASIC6)
    out["Acc-6"] = ffe.weighted_accuracy(targets, w6, BASIC6)
    out["mSCR"] = ffe.mscr(ffe.weighted_confusion(targets, w6, BASIC6))
    if len(judged) == 12:
        w12 = ffe.prediction_weights(top[[f"score_{e}" for e in EXPRESSIONS]].to_numpy(), EXPRESSIONS)
        out["Acc-12"] = ffe.weighted_accuracy(targets, w12, EXPRESSIONS)
    cal = load_calibration("dlib").score(top["id_sim_dlib"].to_numpy())
    out["ID Sim"] = float(np.mean(cal))
    out["ID Sim (raw)"] = float(top["id_sim_dlib"].mean())
    out["HES"] = float(np.mean(ffe.hes(top["target_score"].to_numpy(), cal)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["CLS-6"] = ffe.cls(ok["alpha"].to_numpy(), ok["target_score"].to_numpy(), list(ok["task_id"]),
                               expressions=list(ok["expression"]), subset=BASIC6).pearson
        if len(judged) == 12:
            out["CLS-12"] = ffe.cls(ok["alpha"].to_numpy(), ok["target_score"].to_numpy(), list(ok["task_id"]),
                                    expressions=list(ok["expression"]), subset=EXPRESSIONS).pearson
    return out


def test_report_numbers_equal_metrics_from_the_results_table(main_run):
    res, data, paths, out = main_run
    board = json.loads(paths["leaderboard.json"].read_text())
    rows = {r["judge"]: r for r in board["rows"]}
    csv = pd.read_csv(paths["leaderboard.csv"]).set_index("judge")
    md = paths["leaderboard.md"].read_text()
    df = pd.read_parquet(paths["results.parquet"])
    for judge, judged in (("offline", BASIC6), ("vlm:fake-vl", EXPRESSIONS)):
        want = _direct(df[df["judge"] == judge], judged)
        for metric, value in want.items():
            got = np.nan if rows[judge][metric] is None else rows[judge][metric]
            assert got == pytest.approx(value, abs=1e-12, nan_ok=True), (judge, metric)
            assert float(csv.loc[judge, metric]) == pytest.approx(value, abs=1e-12, nan_ok=True)
            assert (f"{value:.4f}" if value == value else "| - |") in md
    assert rows["offline"]["Acc-12"] == "not judged" and rows["offline"]["CLS-12"] == "not judged"
    assert rows["vlm:fake-vl"]["CLS-12"] is None  # judged, but only 6 of the 12 expressions were edited
    assert csv.loc["offline", "Acc-12"] == "not judged"
    assert any("does not judge confused" in n for n in board["notes"])
    assert any("dlib" in n for n in board["notes"])
    per = pd.read_csv(paths["per_expression.csv"])
    assert set(per["expression"]) == set(BASIC6)
    happy = per[(per["judge"] == "offline") & (per["expression"] == "happy")].iloc[0]
    top = df[(df["judge"] == "offline") & (df["expression"] == "happy") & (df["alpha"] == 1)]
    assert float(happy["target score"]) == pytest.approx(top["target_score"].mean(), abs=1e-12)


def test_report_states_the_cache_sizes(main_run):
    res, data, paths, out = main_run
    cache = json.loads(paths["run.json"].read_text())["cache"]
    # 2 photos x 6 expressions x 3 alphas; alpha 0 returns the source's pixels: stored once
    assert cache["edits"] == 2 * 6 * 3 and cache["images"] == 2 * 6 * 2 + 2
    assert 0 < cache["image_bytes"] <= cache["file_bytes"]
    assert f"{cache['images']} images stored once each for {cache['edits']} edits" in paths["report.html"].read_text()


def test_judge_agreement_per_expression(main_run):
    res, data, paths, out = main_run
    agree = pd.read_csv(paths["agreement.csv"])
    assert set(agree["expression"]) == set(BASIC6)
    assert (agree["n"] == 6).all() and agree["same_top"].between(0, 1).all()
    html = paths["report.html"].read_text()
    assert "Judge agreement" in html and "data:image/png;base64," in html and "data:image/jpeg;base64," in html


def test_published_reference_is_labelled_with_its_judge(main_run):
    res, data, paths, out = main_run
    board = json.loads(paths["leaderboard.json"].read_text())
    if data.reference is None:  # no gallery folder next to this checkout: reported as absent
        assert board["reference"] is None and "not found" in paths["report.html"].read_text()
        return
    assert board["reference"]["judge"].startswith("Gemini 3 Pro")
    pix = [r for r in board["reference"]["rows"] if r["method"] == "PixelSmile" and r["track"] == "linear"][0]
    assert pix["CLS-6"] == 0.8078
    assert "Gemini 3 Pro (paper)" in paths["leaderboard.md"].read_text()


def test_rerun_is_all_cache_and_identical(main_run, fake_openai):
    res, data, paths, out = main_run
    n_requests = fake_openai.count("chat")
    again = run_benchmark(out / "suite.jsonl", editors=[Component.make("editor", "offline")],
                          judges=[Component.make("judge", "offline"), _vlm(fake_openai)],
                          recognisers=[recogniser_component("dlib")], store=out / "report" / "cache.sqlite",
                          alphas=ALPHAS, progress=False)
    assert all(s.computed == 0 for k, s in again.stats.items() if k != "sources")
    assert fake_openai.count("chat") == n_requests
    pd.testing.assert_frame_equal(again.results, res.results)


@pytest.mark.parametrize("executor", ["processes", "threads"])
def test_parallel_executors_give_the_serial_table(faces_dir, fake_openai, command_template, tmp_path, executor):
    fake_openai.reset("good")
    tasks = build_tasks([faces_dir / "astronaut.png", faces_dir / "feat_surprise.png"], ["surprised", "angry"])
    kw = dict(editors=[Component.make("editor", "command", {"template": command_template})],
              judges=[_vlm(fake_openai)], recognisers=[], alphas=(0.0, 1.0), progress=False)
    serial = run_benchmark(Manifest(tasks), store=tmp_path / "serial.sqlite", **kw)
    par = run_benchmark(Manifest(tasks), store=tmp_path / "par.sqlite", executor=executor, workers=2, **kw)
    assert par.stats["edits"].computed == 8 and par.stats["judgements"].computed == serial.stats["judgements"].computed
    assert (par.results["status"] == "ok").all()
    pd.testing.assert_frame_equal(par.results, serial.results)


def test_bad_input_is_recorded_and_the_run_goes_on(faces_dir, fake_openai, tmp_path):
    fake_openai.reset("by_image")
    fake_openai.bad_digits = "01234567"  # about half the images get a malformed answer, every time
    rows = [{"task_id": "a-happy", "image": str(faces_dir / "astronaut.png"), "expression": "happy"},
            {"task_id": "a-sad", "image": str(faces_dir / "astronaut.png"), "expression": "sad"},
            {"task_id": "b-fear", "image": str(faces_dir / "feat_happy.png"), "expression": "fear"},
            {"task_id": "gone", "image": "missing.png", "expression": "happy"},
            {"task_id": "odd", "image": str(faces_dir / "astronaut.png"), "expression": "smirk"}]
    (tmp_path / "s.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    editors = [Component.make("editor", "test-crash"), Component.make("editor", "test-half")]
    judges = [Component.make("judge", "offline"), _vlm(fake_openai, parse_retries=1)]
    res, data, paths = run_and_report(tmp_path / "s.jsonl", editors=editors, judges=judges, out=tmp_path / "out",
                                      recognisers=[], alphas=(0.5, 1.0), progress=False)
    df, fails = res.results, res.failures
    assert len(df) == 2 * 4 * 2 * 2  # editors x valid tasks x alphas x judges
    crash = df[df["model"] == "test-crash"]
    assert (crash[crash["task_id"] == "a-sad"]["reason"].str.contains("RuntimeError: model exploded on sad")).all()
    half = df[(df["model"] == "test-half") & (df["task_id"] != "gone")]
    assert half["reason"].str.contains("wrong size").all() and (half["stage"] == "edit").all()
    assert (df[df["task_id"] == "gone"]["stage"] == "source").all()
    assert df[df["task_id"] == "gone"]["reason"].str.contains("file not found").all()
    vlm_rows = crash[(crash["judge"] == "vlm:fake-vl") & crash["task_id"].isin(["a-happy", "b-fear"])]
    bad = vlm_rows[vlm_rows["status"] != "ok"]
    assert len(bad) >= 1 and bad["reason"].str.contains("malformed answer 2 time").all()
    assert bad[[f"score_{e}" for e in EXPRESSIONS]].isna().all().all()  # no invented scores
    good = crash[(crash["status"] == "ok")]
    assert len(good) >= 4 and set(good["judge"]) == {"offline", "vlm:fake-vl"}
    assert set(fails["stage"]) == {"manifest", "source", "edit", "judge"}
    assert fails[fails["stage"] == "manifest"]["reason"].str.contains("unknown expression 'smirk'").all()
    board = json.loads(paths["leaderboard.json"].read_text())
    counts = {(f["stage"], f["reason"]): f["count"] for f in board["failures"]}
    assert sum(counts.values()) == len(fails)
    half_reason = half["reason"].iloc[0]
    assert counts[("edit", half_reason)] >= 2
    assert "Failures" in paths["report.html"].read_text() and "model exploded" in paths["report.html"].read_text()
    assert {r["model"] for r in board["rows"]} == {"test-crash", "test-half"}
    # failures are not cached: a rerun tries them again, and nothing else
    n_chat = fake_openai.count("chat")
    again = run_benchmark(tmp_path / "s.jsonl", editors=editors, judges=judges, store=tmp_path / "out" / "cache.sqlite",
                          alphas=(0.5, 1.0), progress=False)
    n_failed_edits = len({(m, t, a) for m, t, a in df[df["stage"] == "edit"][["model", "task_id", "alpha"]].itertuples(index=False)})
    assert again.stats["edits"].computed == 0 and again.stats["edits"].failed == n_failed_edits
    assert again.stats["judgements"].computed == 0
    assert fake_openai.count("chat") - n_chat == 2 * again.stats["judgements"].failed
    pd.testing.assert_frame_equal(again.results, df)
    fake_openai.bad_digits = "0123"


def test_empty_editor_or_judge_lists_are_errors(faces_dir, tmp_path):
    m = Manifest(build_tasks([faces_dir / "astronaut.png"], ["happy"]))
    with pytest.raises(ValueError, match="at least one editor"):
        run_benchmark(m, editors=[], judges=[Component.make("judge", "offline")], store=tmp_path / "c.sqlite")
    with pytest.raises(ValueError, match="at least 2 distinct alphas"):
        run_benchmark(m, editors=[Component.make("editor", "offline")], judges=[Component.make("judge", "offline")],
                      store=tmp_path / "c.sqlite", alphas=(1.0,))
    with pytest.raises(ValueError, match="alpha 1 only"):
        run_benchmark(m, editors=[Component.make("editor", "offline")], judges=[Component.make("judge", "offline")],
                      store=tmp_path / "c.sqlite", track="general", alphas=(0.5,))
