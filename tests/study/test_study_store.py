"""The data layer and study operations, on SQLite and (when available) PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa

from facebench.study import db, store
from facebench.study.definition import RaterSpec, load_study
from study_helpers import item_ids, study_data, write_study

GOOD = {"quality": 3.21, "id_fidelity": 4.5, "correspondence": 0}


def _finish_practice(engine, rater):
    store.finish_tutorial(engine, rater)
    while (t := store.next_task(engine, rater)) is not None and t.phase == "practice":
        store.submit_rating(engine, rater, t.item_id, GOOD)


def test_migrations_are_ordered_recorded_and_idempotent(created):
    engine = created[0]
    with db.read(engine) as conn:
        versions = [r.version for r in conn.execute(
            sa.select(db.schema_version).order_by(db.schema_version.c.version))]
    assert versions == [v for v, _, _ in db.MIGRATIONS] == [1, 2]
    assert db.migrate(engine) == []
    assert db.current_version(engine) == db.LATEST_VERSION
    indexes = {i["name"] for i in sa.inspect(engine).get_indexes("ratings")}
    assert "ix_ratings_item" in indexes


def test_newer_schema_is_refused(created):
    engine = created[0]
    with db.write(engine) as conn:
        conn.execute(db.schema_version.insert().values(version=99, description="future",
                                                       applied_at=db.now()))
    with pytest.raises(db.StudyDatabaseError, match="schema version 99 is newer"):
        db.migrate(engine)


def test_sqlite_runs_in_wal_mode(tmp_path):
    engine = db.make_engine(tmp_path / "w.db", create=True)
    with db.read(engine) as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    with pytest.raises(db.StudyDatabaseError, match="no study database here"):
        db.make_engine(tmp_path / "missing.db")
    db.migrate(engine)
    with pytest.raises(db.StudyDatabaseError, match="holds no study"):
        db.open_study_db(tmp_path / "w.db")


def test_a_database_holds_one_study(created, images):
    engine, _, _, study = created
    with pytest.raises(store.StudyError, match="already holds a study"):
        store.create_study(engine, study)


def test_tokens_are_random_and_only_hashed(created):
    engine, secret, invites, _ = created
    tokens = [i.token for i in invites.values()]
    assert len(set(tokens)) == 3 and all(len(t) >= 32 for t in tokens)
    with db.read(engine) as conn:
        dump = " ".join(str(v) for row in conn.execute(sa.select(db.raters)) for v in row)
        dump += " ".join(str(v) for row in conn.execute(sa.select(db.study_meta)) for v in row)
    assert not any(t in dump for t in tokens) and secret not in dump
    assert store.check_admin(engine, secret)
    assert not store.check_admin(engine, secret[:-1] + ("A" if secret[-1] != "A" else "B"))
    assert not store.check_admin(engine, "") and not store.check_admin(engine, None)
    with pytest.raises(store.NotFound):
        store.rater_by_token(engine, tokens[0][:-2])


def test_presentation_order_is_random_per_rater_stored_and_reproducible(images, tmp_path):
    data = study_data()
    data["groups"] = {"A": data["groups"]["A"] + data["groups"]["B"]}  # 5 items
    data["raters"] = 8
    study = load_study(write_study(images, data, "order.yaml"))
    orders = []
    for k in range(2):
        engine = db.make_engine(tmp_path / f"o{k}.db", create=True)
        _, invites = store.create_study(engine, study)
        ids = {v: k for k, v in item_ids(engine).items()}
        per_rater = []
        for inv in invites:
            rater = store.rater_by_token(engine, inv.token)
            _finish_practice(engine, rater)
            seen = []
            while (t := store.next_task(engine, rater)) is not None:
                seen.append(ids[t.item_id])
                store.submit_rating(engine, rater, t.item_id, GOOD)
            per_rater.append(seen)
        with db.read(engine) as conn:
            positions = conn.execute(sa.select(db.ratings.c.position).where(
                db.ratings.c.phase == "main", db.ratings.c.dimension == "quality",
                db.ratings.c.rater_id == invites[0].rater_id).order_by(db.ratings.c.submitted_at,
                                                                        db.ratings.c.id)).scalars()
            assert list(positions) == [0, 1, 2, 3, 4]
        engine.dispose()
        orders.append(per_rater)
    assert all(sorted(o) == sorted(orders[0][0]) for o in orders[0])  # each rater: whole group
    assert len({tuple(o) for o in orders[0]}) > 1                      # orders differ by rater
    assert orders[0] == orders[1]                                      # same seed, same orders


def test_raters_without_group_fill_the_smallest_group(created):
    engine = created[0]  # alice, bob in A; carol in B
    new = store.add_raters(engine, [RaterSpec("dave"), RaterSpec("erin"), RaterSpec("fay", "A")])
    assert [(i.name, i.group) for i in new] == [("dave", "B"), ("erin", "A"), ("fay", "A")]
    with pytest.raises(store.StudyError, match="already exists"):
        store.add_raters(engine, [RaterSpec("dave")])


def test_submission_validation(created):
    engine, _, invites, _ = created
    alice = store.rater_by_token(engine, invites["alice"].token)
    ids = item_ids(engine)
    carol_item = ids["feat_happy"]          # group B
    alice_item = ids["feat_anger"]          # group A
    with pytest.raises(store.WrongPhase):   # main item before tutorial and practice
        store.submit_rating(engine, alice, alice_item, GOOD)
    _finish_practice(engine, alice)
    with pytest.raises(store.NotFound, match="not in your assignment"):
        store.submit_rating(engine, alice, carol_item, GOOD)
    with pytest.raises(store.NotFound):
        store.submit_rating(engine, alice, ids["tutorial-astronaut"], GOOD)
    with pytest.raises(store.StudyError, match="outside"):
        store.submit_rating(engine, alice, alice_item, {**GOOD, "quality": 7})
    with pytest.raises(store.StudyError, match="missing score"):
        store.submit_rating(engine, alice, alice_item, {"quality": 1})
    with pytest.raises(store.StudyError, match="unknown dimension"):
        store.submit_rating(engine, alice, alice_item, {**GOOD, "beauty": 1})
    with pytest.raises(store.StudyError, match="not an integer"):
        store.submit_rating(engine, alice, "1 OR 1=1", GOOD)
    assert store.rater_scores(engine, alice, alice_item) == {}
    assert store.submit_rating(engine, alice, alice_item, GOOD, elapsed_ms="1500") == "main"
    with pytest.raises(store.AlreadyRated):
        store.submit_rating(engine, alice, alice_item, {d: 0.5 for d in GOOD})
    assert store.rater_scores(engine, alice, alice_item) == pytest.approx(GOOD)
    with db.read(engine) as conn:
        row = conn.execute(sa.select(db.ratings).where(db.ratings.c.item_id == alice_item,
                                                      db.ratings.c.dimension == "quality")).one()
    assert row.elapsed_ms == 1500 and row.phase == "main" and row.submitted_at is not None


def test_progress_counts(created):
    engine, _, invites, _ = created
    alice = store.rater_by_token(engine, invites["alice"].token)
    _finish_practice(engine, alice)
    t = store.next_task(engine, alice)
    store.submit_rating(engine, alice, t.item_id, GOOD)
    per_rater, per_group = store.progress(engine)
    a = next(r for r in per_rater if r["rater"] == "alice")
    assert (a["tutorial"], a["practice_done"], a["practice_total"], a["main_done"],
            a["main_total"], a["finished"]) == (True, 2, 2, 1, 3, False)
    assert a["last_seen"] is not None
    ga = next(g for g in per_group if g["group"] == "A")
    assert (ga["items"], ga["raters"], ga["ratings_done"], ga["ratings_expected"],
            ga["min_raters_per_item"]) == (3, 2, 3, 18, 0)


def test_create_study_with_replaced_raters(images, tmp_path):
    study = load_study(write_study(images, study_data()))
    study = replace(study, raters=tuple(RaterSpec(f"r{i}") for i in range(5)))
    engine = db.make_engine(tmp_path / "r.db", create=True)
    _, invites = store.create_study(engine, study)
    assert sorted(i.group for i in invites) == ["A", "A", "A", "B", "B"]
