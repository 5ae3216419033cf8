"""`facebench study create|invite|status|export` from the command line."""

from __future__ import annotations

import csv
import json

import pandas as pd

from facebench.cli import main
from facebench.study import db, store
from study_helpers import study_data, write_study


def test_create_invite_status_export(images, tmp_path, capsys):
    target = str(tmp_path / "cli.db")
    study = write_study(images, study_data(), "cli.yaml")
    invites = tmp_path / "inv.csv"
    assert main(["study", "create", str(study), "--db", target, "--raters", "4",
                 "--base-url", "http://lab:9000", "--invites", str(invites)]) == 0
    out = capsys.readouterr().out
    assert "admin secret (shown once):" in out and "http://lab:9000/r/" in out
    rows = list(csv.DictReader(invites.open()))
    assert [r["rater"] for r in rows] == ["rater001", "rater002", "rater003", "rater004"]
    assert [r["group"] for r in rows] == ["A", "B", "A", "B"]
    assert (invites.stat().st_mode & 0o077) == 0  # tokens: owner-only file
    assert main(["study", "create", str(study), "--db", target]) == 2  # bad input: exit 2
    assert "already holds a study" in capsys.readouterr().err

    assert main(["study", "invite", "--db", target, "--rater", "zoe:B", "--invites",
                 str(invites)]) == 0
    assert len(list(csv.DictReader(invites.open()))) == 5
    assert "zoe              B" in capsys.readouterr().out

    engine = db.open_study_db(target)
    tok = rows[0]["token"]
    rater = store.rater_by_token(engine, tok)
    store.finish_tutorial(engine, rater)
    k = 0
    while (t := store.next_task(engine, rater)) is not None:
        k += 1
        store.submit_rating(engine, rater, t.item_id,
                            {"quality": k / 2, "id_fidelity": 5 - k / 2, "correspondence": k % 3})
    engine.dispose()

    assert main(["study", "status", "--db", target, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    r1 = next(r for r in status["raters"] if r["rater"] == "rater001")
    assert r1["finished"] and (r1["practice_done"], r1["main_done"]) == (2, 3)
    assert main(["study", "status", "--db", target]) == 0
    assert "rater001" in capsys.readouterr().out

    out_dir = tmp_path / "exp"
    assert main(["study", "export", "--db", target, "--out", str(out_dir), "--format", "parquet",
                 "--include-practice", "--screening", "none"]) == 0
    raw = pd.read_parquet(out_dir / "ratings.parquet")
    assert sorted(raw.phase.unique()) == ["main", "practice"] and len(raw) == 5 * 3
    mos = pd.read_parquet(out_dir / "mos.parquet")
    assert len(mos) == 3 * 3 and set(mos.n_ratings) == {1}
    info = json.loads((out_dir / "mos_info.json").read_text())
    assert "screening=none" in info["method"]


def test_helpful_errors(tmp_path, capsys, images):
    assert main(["study", "status", "--db", str(tmp_path / "none.db")]) == 2
    assert "no study database here" in capsys.readouterr().err
    bad = write_study(images, {"dimensions": ["quality"]}, "empty.yaml")
    assert main(["study", "create", str(bad), "--db", str(tmp_path / "x.db")]) == 2
    assert "needs 'groups' or 'items'" in capsys.readouterr().err
