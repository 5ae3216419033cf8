"""``facebench analyze`` and ``facebench demo`` through the real command line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from facebench.cli import main


@pytest.fixture(scope="module")
def files(tmp_path_factory, sample_files, sample_images):
    """Two good photos and one file for each kind of bad input, in one folder."""
    root = tmp_path_factory.mktemp("analyze")
    d = root / "mixed"
    d.mkdir()
    good = {"astronaut": d / "astronaut.png", "happy": d / "happy.jpg"}
    shutil.copy(sample_files["astronaut"], good["astronaut"])
    shutil.copy(sample_files["feat_happy"], good["happy"])
    jpeg = sample_files["feat_surprise"].read_bytes()
    bad = {
        "not_image": (d / "notes.jpg", "not an image"),
        "truncated": (d / "truncated.jpg", "truncated file"),
        "empty": (d / "empty.png", "empty file"),
        "too_big": (d / "huge.png", "over the limit"),
        "missing": (d / "gone.jpg", "file not found"),  # a dangling link: the path cannot be read
        "no_face": (d / "sky.png", "no face found"),
    }
    bad["not_image"][0].write_text("just some text\n")
    bad["truncated"][0].write_bytes(jpeg[: len(jpeg) // 2])
    bad["empty"][0].write_bytes(b"")
    Image.new("1", (8001, 8001)).save(bad["too_big"][0])  # 64.016 Mpx > the 64 Mpx default
    os.symlink(root / "does-not-exist.jpg", bad["missing"][0])
    sky = np.ascontiguousarray(sample_images["feat_group"][:150, 500:1000])
    Image.fromarray(sky).save(bad["no_face"][0])
    empty_dir = root / "no-images"
    empty_dir.mkdir()
    (empty_dir / "readme.txt").write_text("nothing to see\n")
    return {"root": root, "dir": d, "good": good, "bad": bad, "empty_dir": empty_dir}


def _err_lines(capsys) -> tuple[str, list[str]]:
    cap = capsys.readouterr()
    return cap.out, [ln for ln in cap.err.splitlines() if ln.strip()]


def test_single_good_image_json(files, capsys, tmp_path):
    out = tmp_path / "a.json"
    rc = main(["analyze", str(files["good"]["astronaut"]), "--json", str(out)])
    _, err = _err_lines(capsys)
    assert rc == 0 and err == []
    data = json.loads(out.read_text())
    assert data["failures"] == []
    (rec,) = data["images"]
    assert rec["image"] == str(files["good"]["astronaut"])
    (face,) = rec["faces"]
    assert set(face) >= {"box", "score", "keypoints", "expression", "geometry"}
    assert face["top_expression"] == "happy"


def test_single_good_image_table(files, capsys):
    rc = main(["analyze", str(files["good"]["happy"]), "--parts", "mesh,geometry"])
    out, err = _err_lines(capsys)
    assert rc == 0 and err == []
    assert "happy.jpg" in out and "mouth_open" in out


@pytest.mark.parametrize("case", ["not_image", "truncated", "empty", "too_big", "missing", "no_face"])
def test_single_bad_input_one_line(files, capsys, case):
    path, problem = files["bad"][case]
    rc = main(["analyze", str(path), "--parts", "detection"])
    out, err = _err_lines(capsys)
    assert rc == 1
    assert len(err) == 1, err
    assert err[0].startswith(f"{path}: ") and problem in err[0]


def test_pixel_limit_option(files, capsys):
    path = files["good"]["astronaut"]
    rc = main(["analyze", str(path), "--max-pixels", "100000"])
    _, err = _err_lines(capsys)
    assert rc == 1 and err == [f"{path}: 512x512 = 262144 pixels is over the limit of 100000"]


def test_folder_run_goes_on_and_lists_failures(files, capsys, tmp_path):
    out = tmp_path / "faces.csv"
    rc = main(["analyze", str(files["dir"]), "--csv", str(out), "--parts", "detection,geometry"])
    _, err = _err_lines(capsys)
    assert rc == 1
    df = pd.read_csv(out)
    assert sorted(df["image"]) == sorted(str(p) for p in files["good"].values())
    assert "mouth_open" in df
    n_bad = len(files["bad"])
    assert err[0] == f"facebench analyze: {n_bad} of {n_bad + 2} inputs failed:"
    assert len(err) == n_bad + 1
    for path, problem in files["bad"].values():
        (line,) = [ln for ln in err if ln.startswith(f"{path}: ")]
        assert problem in line


def test_folder_json_and_empty_folder(files, capsys, tmp_path):
    out = tmp_path / "faces.json"
    rc = main(["analyze", str(files["dir"]), str(files["empty_dir"]), "--json", str(out),
               "--parts", "detection", "--max-faces", "1"])
    _, err = _err_lines(capsys)
    assert rc == 1
    data = json.loads(out.read_text())
    assert len(data["images"]) == 2 and all(len(r["faces"]) == 1 for r in data["images"])
    assert len(data["failures"]) == len(files["bad"]) + 1
    assert f"{files['empty_dir']}: no images found in folder" in err


def test_bad_arguments(files, capsys):
    assert main(["analyze", str(files["good"]["happy"]), "--parts", "nose"]) == 2
    assert "unknown part 'nose'" in capsys.readouterr().err
    assert main(["analyze", str(files["good"]["happy"]), "--detector", "mediapipee"]) == 2
    assert "did you mean" in capsys.readouterr().err


def test_arrays_in_csv(files, tmp_path, capsys):
    out = tmp_path / "arr.csv"
    rc = main(["analyze", str(files["good"]["astronaut"]), "--csv", str(out),
               "--parts", "mesh", "--arrays"])
    assert rc == 0
    mesh = np.array(json.loads(pd.read_csv(out)["mesh"].iloc[0]))
    assert mesh.shape == (478, 3)


def test_console_script_subprocess(files):
    """The installed entry point, in a fresh process: exit status and one clean error line."""
    bad, problem = files["bad"]["truncated"]
    proc = subprocess.run(
        [sys.executable, "-m", "facebench", "analyze", str(bad), str(files["good"]["happy"])],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 1
    err = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert err == ["facebench analyze: 1 of 2 inputs failed:", f"{bad}: {problem}"]
    assert "happy.jpg" in proc.stdout
