"""Identity calibration: the map, its ROC/EER, the shipped dlib calibration on real external data,
and ``facebench identity calibrate`` with dlib and with a tiny ONNX recogniser built here."""

from __future__ import annotations

import collections
import csv
import json
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from facebench.cli import main
from facebench.face import calibration as cb
from facebench.face.identity_pairs import cosine_matrix, embed_photos

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
GALLERY = SHARED / "pixelsmile-gallery" / "slider"
FITW = SHARED / "faces-in-the-wild"
needs_gallery = pytest.mark.skipif(not GALLERY.is_dir(), reason="../shared/data/pixelsmile-gallery not present")
needs_fitw = pytest.mark.skipif(not (FITW / "labels.csv").is_file(), reason="../shared/data/faces-in-the-wild absent")


def _synthetic(seed: int = 0):
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(0.9, 0.03, 400), -1, 0.999), np.clip(rng.normal(0.6, 0.1, 5000), -1, 1)


def test_map_is_monotone_and_reads_the_bands_at_the_anchors():
    same, diff = _synthetic()
    cal = cb.fit_calibration(same, diff, recogniser="toy")
    eer, eer_t = cb.roc(same, diff).eer()
    assert eer < 0.05 and not cal.notes  # separable enough for the EER anchor to stay
    assert cal.score(np.median(diff)) == pytest.approx(0.0)
    assert cal.score(eer_t) == pytest.approx(0.5)  # rejected at the equal-error point = identity lost
    assert cal.score(np.quantile(same, 0.05)) == pytest.approx(0.6)  # natural floor
    assert cal.score(np.median(same)) == pytest.approx(0.7)
    assert cal.score(np.quantile(same, 0.95)) == pytest.approx(0.8)  # copy-paste line
    assert [a[0] for a in cal.anchors] == list(cb.ANCHOR_SCORES)
    fmr, fnmr = cb.error_rates(same, diff, eer_t)
    assert np.mean(cal.score(diff) > 0.5) == pytest.approx(fmr) and np.mean(cal.score(same) <= 0.5) == pytest.approx(fnmr)
    assert cal.score(1.0) == 1.0 and cal.score(-1.0) == -1.0
    xs = np.linspace(-1, 1, 2001)
    ys = cal.score(xs)
    assert isinstance(ys, np.ndarray) and np.all(np.diff(ys) > 0)
    assert isinstance(cal.score(0.5), float) and np.isnan(cal.score(float("nan")))
    np.testing.assert_allclose(cal.raw(cal.score(xs)), xs, atol=1e-9)
    bands = cal.raw_bands
    assert list(bands) == [b[0] for b in cb.BANDS]
    assert bands["weak"] == pytest.approx((eer_t, np.quantile(same, 0.05)))
    assert bands["natural"] == pytest.approx((np.quantile(same, 0.05), np.median(same)))
    assert cal.band(float(np.median(diff))) == "identity lost" and cal.band(0.9999) == "copy-paste"


def test_roc_eer_and_fmr_threshold_on_known_distributions():
    r = cb.roc([0.8, 0.9, 0.95], [0.1, 0.2, 0.3, 0.4])
    assert r.eer()[0] == 0.0 and 0.4 <= r.eer()[1] < 0.8
    eer, _ = cb.roc([0.1, 0.5, 0.9, 0.95], [0.2, 0.6, 0.3, 0.05]).eer()
    assert eer == pytest.approx(0.25)  # one same below, one different above the best threshold
    d = np.arange(1000) / 1000.0
    t = cb.threshold_at_fmr(d, 0.01)
    assert np.mean(d > t) <= 0.01 and np.mean(d > t - 1e-3) > 0.01
    assert cb.error_rates([0.9, 0.2], [0.1, 0.95], 0.5) == (0.5, 0.5)


def test_eer_anchor_is_dropped_with_a_note_when_the_eer_exceeds_five_percent():
    """Overlapping pairs (EER ~ 16%): the EER threshold lies above the same-person 5th percentile,
    so it cannot be the 0.5 anchor; the rest of the map stands and the notes say why."""
    rng = np.random.default_rng(2)
    same, diff = rng.normal(0.8, 0.1, 2000), rng.normal(0.6, 0.1, 20000)
    eer, eer_t = cb.roc(same, diff).eer()
    assert eer > 0.05 and eer_t >= np.quantile(same, 0.05)
    cal = cb.fit_calibration(np.clip(same, -1, 0.999), np.clip(diff, -1, 0.999), recogniser="overlap")
    assert [a[0] for a in cal.anchors] == ["floor", "different_median", "same_p05", "same_median", "same_p95", "ceiling"]
    assert 0.5 not in cal.knots_score and any("EER anchor dropped" in n for n in cal.notes)
    assert cal.score(np.quantile(np.clip(same, -1, 0.999), 0.05)) == pytest.approx(0.6)


def test_fit_refuses_inseparable_pairs_and_few_pairs():
    with pytest.raises(ValueError, match="anchors are not increasing"):
        cb.fit_calibration([0.2, 0.3, 0.25, 0.1], [0.9, 0.8, 0.85], recogniser="bad")
    with pytest.raises(ValueError, match="at least 2"):
        cb.fit_calibration([0.9], [0.1, 0.2], recogniser="few")
    cal = cb.fit_calibration([0.9, 0.95, 0.97], [0.1, 0.5, 0.2], recogniser="small")
    assert any("not resolved" in n for n in cal.notes)


def test_heldout_by_person_keeps_persons_apart():
    rng = np.random.default_rng(1)
    persons = np.array([f"p{i}" for i in range(30)])
    same_p = np.repeat(persons, 4)
    same = rng.normal(0.9, 0.03, same_p.size)
    pairs = np.array(list(combinations(persons, 2)), dtype=object)
    diff = rng.normal(0.5, 0.1, len(pairs))
    ho = cb.heldout_by_person(same, same_p, diff, pairs, folds=5)
    assert ho["n_same"] == same.size  # every same pair lies inside one fold
    assert 0 < ho["n_different"] < len(diff)  # pairs across folds are left out
    assert ho["eer"] < 0.01


def test_save_load_roundtrip_and_clear_errors(tmp_path):
    same, diff = _synthetic()
    cal = cb.fit_calibration(same, diff, recogniser="onnx:model.onnx")
    p = cal.save(tmp_path / "c.json")
    back = cb.load_calibration("onnx", p)
    assert back.knots_raw == cal.knots_raw and back.score(0.9) == cal.score(0.9)
    with pytest.raises(ValueError, match="not 'dlib'"):
        cb.load_calibration("dlib", p)
    with pytest.raises(ValueError, match="not found"):
        cb.load_calibration("dlib", tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**cal.to_dict(), "knots_raw": [0.5, 0.2, 0.8, 0.9, 0.95, 0.97, 1.0]}))
    with pytest.raises(ValueError, match="strictly increasing"):
        cb.load_calibration("onnx", bad)
    with pytest.raises(ValueError, match="no calibration ships"):
        cb.load_calibration("onnx")


@needs_gallery
def test_shipped_dlib_calibration_on_the_pixelsmile_gallery():
    """External check: same person (source vs PixelSmile edits 9/18/27) all above every different
    person (source vs other sources); every stranger 'identity lost' (< 0.5), every edit at or above
    the natural-band floor (0.6)."""
    cal = cb.load_calibration()
    assert cal.recogniser == "dlib" and cal.heldout["eer"] < 0.05 and cal.n_persons >= 200
    assert [a[0] for a in cal.anchors] == list(cb.ANCHOR_SCORES) and not cal.notes
    names = sorted(p.name for p in GALLERY.iterdir() if p.is_dir())
    paths = [GALLERY / e / f"{i:02d}.avif" for e in names for i in (0, 9, 18, 27)]
    emb, failed = embed_photos(paths)
    assert not failed
    s = cosine_matrix(emb)
    same = np.array([s[4 * i, 4 * i + j] for i in range(len(names)) for j in (1, 2, 3)])
    diff = np.array([s[4 * i, 4 * j] for i, j in combinations(range(len(names)), 2)])
    cs, cd = cal.score(same), cal.score(diff)
    print(f"\ngallery calibrated: same {cs.min():.3f}/{cs.mean():.3f}/{cs.max():.3f}, "
          f"different {cd.min():.3f}/{cd.mean():.3f}/{cd.max():.3f} (min/mean/max); raw same min "
          f"{same.min():.4f}, different max {diff.max():.4f}; same >= 0.6: {(cs >= 0.6).sum()}/{cs.size}, "
          f"different < 0.5: {(cd < 0.5).sum()}/{cd.size}")
    assert same.size == 36 and diff.size == 66
    assert cs.min() > cd.max()  # every same above every different
    assert cd.max() < 0.5  # every stranger 'identity lost'
    assert cs.min() >= 0.6  # every edit at or above the natural-band floor


def _fitw_people(n_persons: int, per_person: int) -> list[tuple[str, str]]:
    rows = list(csv.DictReader((FITW / "labels.csv").open()))
    count = collections.Counter(r["person"] for r in rows if r["person"])
    chosen = [p for p, c in count.most_common() if c >= per_person][:n_persons]
    out = []
    for p in chosen:
        out += [(r["path"], p) for r in rows if r["person"] == p][:per_person]
    return out


@needs_fitw
def test_cli_calibrates_dlib_from_a_labels_csv(tmp_path, capsys):
    rows = _fitw_people(6, 4)
    lab = tmp_path / "labels.csv"
    lab.write_text("path,person\n" + "".join(f"{FITW / p},{who}\n" for p, who in rows))
    out = tmp_path / "dlib.json"
    rc = main(["identity", "calibrate", str(lab), "-o", str(out), "--cache", str(tmp_path / "emb"), "--folds", "3"])
    text = capsys.readouterr().out
    assert rc == 0, text
    cal = cb.load_calibration("dlib", out)
    assert cal.n_same == 6 * 6 and cal.n_different == 24 * 23 // 2 - 36
    assert "EER" in text and "natural" in text and "held-out" in text
    assert cal.eer < 0.2


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["identity", "calibrate", str(tmp_path / "none.csv"), "-o", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "none.csv" in err[0]
    assert main(["identity", "calibrate", "--pairs", str(tmp_path / "p.csv"), "--recogniser", "onnx",
                 "-o", str(tmp_path / "x.json")]) == 2
    assert "--model" in capsys.readouterr().err


@needs_fitw
def test_cli_calibrates_a_tiny_onnx_recogniser_from_pairs(tmp_path, capsys):
    """An ArcFace-shaped ONNX model (random weights, built here) is calibrated the same way:
    same = a photo and a re-encoded, slightly brightened copy; different = photos of other persons."""
    from PIL import Image

    from test_identity import _tiny_onnx  # same folder (pytest puts it on sys.path)

    model = tmp_path / "tiny.onnx"
    _tiny_onnx(model)
    rows = _fitw_people(8, 1)
    lines = ["a,b,same"]
    for i, (p, _) in enumerate(rows):
        img = np.asarray(Image.open(FITW / p).convert("RGB")).astype(np.int16)
        copy = tmp_path / f"copy{i}.jpg"
        Image.fromarray(np.clip(img + 6, 0, 255).astype(np.uint8)).save(copy, quality=90)
        lines.append(f"{FITW / p},{copy},1")
    for (p, _), (q, _) in combinations(rows, 2):
        lines.append(f"{FITW / p},{FITW / q},0")
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("\n".join(lines) + "\n")
    out = tmp_path / "tiny.json"
    rc = main(["identity", "calibrate", "--pairs", str(pairs), "--recogniser", "onnx", "--model", str(model),
               "-o", str(out)])
    text = capsys.readouterr().out
    assert rc == 0, text
    cal = cb.load_calibration("onnx", out)
    assert cal.recogniser == "onnx:tiny.onnx" and cal.n_same == 8 and cal.n_different == 28
    assert cal.eer == 0.0 and cal.score(1.0) == 1.0
