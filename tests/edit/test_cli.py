"""``facebench edit``: outputs, contact sheet, series, several faces, and one-line errors that
leave nothing half-written."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from facebench.cli import main
from facebench.edit.cli import parse_sweep
from facebench.expressions import EXPRESSIONS
from facebench.base.imageio import load_image
from facebench.samples import sample_paths


@pytest.fixture(scope="module")
def anger_path():
    return sample_paths()["feat_anger"]


def _files(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_single_edit_writes_image_sheet_and_table(tmp_path, anger_path, capsys):
    out = tmp_path / "out"
    assert main(["edit", str(anger_path), "--expression", "happy", "--alpha", "0.7", "-o", str(out)]) == 0
    files = _files(out)
    assert not [f for f in files if f.startswith(".tmp")]
    edited = [f for f in files if f.endswith(".png") and "sheet" not in f]
    assert edited == ["15-f13-anc-ph_f0_happy0.7.png"]
    src = load_image(anger_path)
    img = load_image(out / edited[0])
    assert img.shape == src.shape and not np.array_equal(img, src)
    sheet = Image.open(out / "15-f13-anc-ph_sheet.png")
    assert sheet.width == 2 * 256 and sheet.height > 256  # input + one edit, labels below
    rows = list(csv.DictReader(open(out / "edits.csv")))
    assert rows[0]["weights"] == "happy=0.7" and rows[0]["editor"] == "offline"
    assert "wrote 1 image" in capsys.readouterr().out


def test_sweep_with_a_blend_and_ellipsis(tmp_path, anger_path):
    out = tmp_path / "series"
    code = main(["edit", str(anger_path), "-e", "happy", "--blend", "surprised=0.5",
                 "--alphas", "0,0.5,...,1.5", "-o", str(out), "--cell", "96"])
    assert code == 0
    rows = list(csv.DictReader(open(out / "edits.csv")))
    assert [r["weights"] for r in rows] == [
        "happy=0+surprised=0", "happy=0.5+surprised=0.25", "happy=1+surprised=0.5", "happy=1.5+surprised=0.75"]
    first = load_image(out / rows[0]["file"])
    assert np.array_equal(first, load_image(anger_path))  # alpha 0: unchanged
    sheet = Image.open(out / "15-f13-anc-ph_sheet.png")
    assert sheet.width == 5 * 96


def test_all_faces_of_a_group_photo(tmp_path):
    out = tmp_path / "group"
    path = sample_paths()["feat_group"]
    assert main(["edit", str(path), "-e", "surprised", "--all-faces", "-o", str(out)]) == 0
    rows = list(csv.DictReader(open(out / "edits.csv")))
    assert len(rows) == 1 and len(rows[0]["faces"].split()) >= 2 and rows[0]["file"].startswith("multi_face_fall_")


@pytest.mark.parametrize("args, code, words", [
    (["-e", "joyful"], 2, ["unknown expression", *EXPRESSIONS]),
    (["-e", "happy", "--alpha", "4"], 2, ["out of range"]),
    (["-e", "happy", "--alpha", "-1"], 2, ["out of range"]),
    (["-e", "happy", "--blend", "sad0.3"], 2, ["malformed blend"]),
    (["-e", "happy", "--alphas", "0,abc"], 2, ["not a number"]),
    (["-e", "happy", "--alphas", "0,1,5"], 2, ["out of range"]),
    (["--alpha", "0.5"], 2, ["--expression"]),
    (["-e", "happy", "--face-index", "3"], 1, ["face-index 3", "out of range"]),
    (["-e", "happy", "--editor", "nope"], 2, ["unknown editor"]),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, anger_path, capsys, args, code, words):
    out = tmp_path / "nothing"
    assert main(["edit", str(anger_path), *args, "-o", str(out)]) == code
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("facebench edit:")
    for w in words:
        assert w in err
    assert _files(out) == []


def test_unreadable_image_and_no_face(tmp_path, capsys):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image")
    out = tmp_path / "o"
    assert main(["edit", str(bad), "-e", "happy", "-o", str(out)]) == 2  # bad input file
    assert "not an image" in capsys.readouterr().err
    blank = tmp_path / "blank.png"
    Image.new("RGB", (160, 160), (120, 130, 140)).save(blank)
    assert main(["edit", str(blank), "-e", "happy", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "no face" in err and err.count("\n") == 1
    assert _files(out) == []


def test_parse_sweep():
    assert parse_sweep("0,0.25,...,1") == [0, 0.25, 0.5, 0.75, 1.0]
    assert parse_sweep("0, 0.5, 1.5") == [0, 0.5, 1.5]
    assert parse_sweep("0,0.4,...,1") == [0, 0.4, 0.8, 1.0]
    with pytest.raises(ValueError, match="needs two values"):
        parse_sweep("0,...,1")
    with pytest.raises(ValueError, match="increasing"):
        parse_sweep("1,0.5,...,2")
