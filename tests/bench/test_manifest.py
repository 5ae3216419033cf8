"""Suite manifests: validation with line and field, aliases, Parquet, building from a folder."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from facebench.bench.manifest import ManifestError, Task, build_tasks, load_manifest, write_manifest
from facebench.cli import main
from facebench.expressions import EXPRESSIONS


def _write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_valid_rows_resolve_paths_and_defaults(tmp_path):
    m = load_manifest(_write(tmp_path / "s.jsonl", [
        {"task_id": "a", "image": "faces/a.png", "expression": "Surprise"},
        {"task_id": "b", "source": "/abs/b.jpg", "target": "happiness", "instruction": "Smile!",
         "domain": "anime", "face_box": [1, 2, 30, 40], "meta": {"k": 1}},
    ]))
    a, b = m.tasks
    assert not m.errors
    assert a.image == (tmp_path / "faces" / "a.png").resolve() and a.expression == "surprised"
    assert a.prompt == "Make the person look surprised." and a.domain == "human" and a.face_box is None
    assert str(b.image) == "/abs/b.jpg" and b.expression == "happy" and b.prompt == "Smile!"
    assert b.domain == "anime" and b.face_box == (1.0, 2.0, 30.0, 40.0) and b.meta == {"k": 1}


def test_every_problem_is_reported_with_line_and_field(tmp_path):
    p = _write(tmp_path / "bad.jsonl", [
        {"task_id": "ok", "image": "a.png", "expression": "happy"},
        "",
        {"task_id": "x1", "image": "a.png", "expression": "smirk"},
        {"task_id": "x2", "image": "a.png", "expresion": "happy"},
        '{"task_id": "x3", "image": "a.png"',
        {"task_id": "x4", "image": "a.png", "expression": "sad", "face_box": [10, 10, 5, 20]},
        {"task_id": "ok", "image": "b.png", "expression": "sad"},
        {"task_id": "has space", "image": 3, "expression": "sad", "domain": "cartoon"},
        [1, 2],
    ])
    m = load_manifest(p)
    assert [t.task_id for t in m.tasks] == ["ok"]
    got = {(e.line, e.field) for e in m.errors}
    assert {(3, "expression"), (4, "expresion"), (4, "expression"), (5, "<json>"), (6, "face_box"),
            (7, "task_id"), (8, "task_id"), (8, "image"), (8, "domain"), (9, "<row>")} <= got
    msgs = {(e.line, e.field): e.message for e in m.errors}
    assert "unknown expression 'smirk'" in msgs[(3, "expression")]
    assert "did you mean 'expression'" in msgs[(4, "expresion")]
    assert "already used on line 1" in msgs[(7, "task_id")]
    assert str(m.errors[0]).startswith(f"{p}:3: field 'expression'")
    with pytest.raises(ManifestError, match=r"invalid manifest row field\(s\)") as exc:
        load_manifest(p, strict=True)
    assert len(exc.value.errors) == len(m.errors)


def test_fed_track_needs_ground_truth(tmp_path):
    p = _write(tmp_path / "f.jsonl", [
        {"task_id": "a", "image": "a.png", "expression": "happy", "ground_truth": "gt/a.png"},
        {"task_id": "b", "image": "b.png", "expression": "sad"},
    ])
    m = load_manifest(p, track="fed")
    assert [t.task_id for t in m.tasks] == ["a"] and m.tasks[0].ground_truth == (tmp_path / "gt/a.png").resolve()
    assert [(e.line, e.field) for e in m.errors] == [(2, "ground_truth")]
    assert len(load_manifest(p).tasks) == 2  # other tracks do not need it


def test_missing_or_empty_file(tmp_path):
    with pytest.raises(ValueError, match="file not found"):
        load_manifest(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(ValueError, match="no rows"):
        load_manifest(tmp_path / "empty.jsonl")


def test_parquet_round_trip_and_row_numbers(tmp_path, faces_dir):
    tasks = build_tasks([faces_dir], ["happy", "fear"])
    write_manifest(tasks, tmp_path / "s.parquet")
    back = load_manifest(tmp_path / "s.parquet").tasks
    assert [(t.task_id, t.image, t.expression) for t in back] == [(t.task_id, t.image, t.expression) for t in tasks]
    df = pd.read_parquet(tmp_path / "s.parquet")
    df.loc[2, "expression"] = "bored"
    df.to_parquet(tmp_path / "bad.parquet")
    m = load_manifest(tmp_path / "bad.parquet")
    assert [(e.line, e.field) for e in m.errors] == [(3, "expression")]


def test_build_tasks_from_a_folder(faces_dir, tmp_path):
    tasks = build_tasks([faces_dir], EXPRESSIONS)
    assert len(tasks) == 3 * 12
    assert tasks[0].task_id == "astronaut-happy" and tasks[0].image == (faces_dir / "astronaut.png").resolve()
    with pytest.raises(ValueError, match="unknown expression"):
        build_tasks([faces_dir], ["grumpy"])
    with pytest.raises(ValueError, match="no such file or folder"):
        build_tasks([tmp_path / "nothing-here"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images"):
        build_tasks([tmp_path / "empty"])


def test_manifest_and_validate_commands(faces_dir, tmp_path, capsys):
    out = tmp_path / "m" / "suite.jsonl"
    assert main(["bench", "manifest", str(faces_dir), "--expressions", "basic", "-o", str(out)]) == 0
    assert "wrote 18 task(s)" in capsys.readouterr().out
    assert len(load_manifest(out).tasks) == 18
    assert main(["bench", "validate", str(out)]) == 0
    with out.open("a") as fh:
        fh.write(json.dumps({"task_id": "gone", "image": "missing.png", "expression": "sad"}) + "\n")
        fh.write(json.dumps({"task_id": "odd", "image": "missing.png", "expression": "meh"}) + "\n")
    assert main(["bench", "validate", str(out)]) == 1
    text = capsys.readouterr().out
    assert f"{out}:19: field 'image': file not found" in text and f"{out}:20: field 'expression'" in text
    assert main(["bench", "manifest", "-o", str(out)]) == 2


def test_task_rows_are_relative_inside_the_manifest_folder(tmp_path):
    t = Task("a", (tmp_path / "img" / "a.png").resolve(), "happy", "p")
    assert t.to_row(tmp_path)["image"] == "img/a.png"
    assert t.to_row(tmp_path / "elsewhere")["image"] == str(t.image)
