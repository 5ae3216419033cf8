"""Parts of the collect stage on real photos: perceptual hash, quality rules, the anime detector,
identity groups and the split; and a build whose sources hold no usable face."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from facebench.cli import main as facebench_main
from facebench.data.anime import available, detect_anime_faces
from facebench.data.config import CollectConfig
from facebench.data.identity import group_identities, rule_groups, split_groups
from facebench.data.phash import hamming, phash
from facebench.expressions import BASIC6, EXPRESSIONS
from facebench.data.quality import quality_reasons
from facebench.base.imageio import load_image
from facebench.samples import portrait_paths


@pytest.fixture(scope="module")
def photos():
    return {k: load_image(p) for k, p in portrait_paths().items()}


def test_phash_finds_resized_and_recompressed_copies(photos, tmp_path):
    img = photos["feat_happy"]
    Image.fromarray(img).resize((300, 300), Image.LANCZOS).save(tmp_path / "s.jpg", quality=70)
    copy = load_image(tmp_path / "s.jpg")
    assert hamming(phash(img), phash(copy)) <= 4
    others = [hamming(phash(img), phash(v)) for k, v in photos.items() if k != "feat_happy"]
    assert min(others) > 10
    assert len(phash(img)) == 16 and hamming(phash(img), phash(img)) == 0
    with pytest.raises(ValueError, match="different lengths"):
        hamming("ab", "abc")


def test_quality_rules_name_every_failure():
    cfg = CollectConfig()
    good = {"faces": 1, "second_face_ratio": 0.0, "face_px": 200.0, "sharpness": 150.0, "yaw": 3.0,
            "pitch": -4.0, "roll": 1.0, "occlusion": 0.05}
    assert quality_reasons(good, cfg) == []
    bad = dict(good, faces=3, second_face_ratio=0.8, face_px=30.0, sharpness=2.0, yaw=-50.0, occlusion=0.6)
    reasons = quality_reasons(bad, cfg)
    assert [r.split(":")[0].split(" ")[0] for r in reasons] == ["no", "face", "face", "head", "face"]
    assert any("head yaw -50.0 deg beyond +-30" in r for r in reasons)
    assert quality_reasons({"faces": 0}, cfg) == ["no face found"]


def test_anime_detector_is_installed_and_finds_no_drawn_face_in_photos(photos, tmp_path):
    from facebench.data.collect import analyse_image
    from facebench.data.config import parse_config

    assert available()
    for k in ("astronaut", "feat_happy"):
        assert detect_anime_faces(photos[k]) == []
    cfg = parse_config({"sources": [str(tmp_path)]}, tmp_path)
    rec = analyse_image(photos["astronaut"], "anime", cfg)  # a folder declared anime: photos are not drawings
    assert rec["domain"] is None and rec["reasons"] == ["no anime face found"]
    assert analyse_image(photos["astronaut"], "auto", cfg)["domain"] == "human"


def test_identity_groups_are_connected_components():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=128), rng.normal(size=128)
    emb = np.stack([a, a + 0.05 * rng.normal(size=128), b, b + 0.05 * rng.normal(size=128), -a])
    g = group_identities(emb, 0.95)
    assert g[0] == g[1] and g[2] == g[3] and len({g[0], g[2], g[4]}) == 3
    assert rule_groups(emb, "no-such-rule") == [0, 1, 2, 3, 4]
    assert rule_groups(np.zeros((3, 128)), "dlib") == [0, 0, 0]  # distance 0 < 0.6


def test_identity_rule_reads_the_calibrated_score_with_the_raw_cosine_beside_it():
    """With dlib's shipped calibration the band is [0.5, 1] on the calibrated score: an edit whose
    raw cosine scores below 0.5 (rejected at the EER point) is dropped, one in the natural band
    kept; groups join at the raw cosine scoring 0.5, the EER threshold."""
    from facebench.data.config import FilterConfig
    from facebench.data.filtering import check_sample
    from facebench.data.identity import calibrate_band, score_band
    from facebench.face.calibration import load_calibration

    cal = load_calibration("dlib")
    band = score_band(cal, [cal.raw(0.9)], [cal.raw(0.1), cal.raw(0.3)], source="calibration shipped")
    assert (band.low, band.high, band.scale, band.column) == (0.5, 1.0, "calibrated", "id_score")
    assert band.group_raw == pytest.approx(cal.eer_threshold)
    assert band.min_same == pytest.approx(0.9) and band.max_different == pytest.approx(0.3)

    def row(score):
        raw = float(cal.raw(score))
        return {"status": "ok", "edited_hash": "e", "source_hash": "s", "expression": "happy",
                "score_happy": 0.9, **{f"score_{e}": 0.0 for e in BASIC6 if e != "happy"},
                **{f"score_{e}": float("nan") for e in EXPRESSIONS[6:]},
                "id_sim": raw, "id_score": float(cal.score(raw))}

    assert check_sample(row(0.65), band, FilterConfig()) == []
    (rule, reason), = check_sample(row(0.45), band, FilterConfig())
    assert rule == "identity" and "identity score 0.450" in reason and f"raw {cal.raw(0.45):.3f}" in reason
    assert "below the dlib calibrated band [0.500, 1.000]" in reason
    # without a calibration the band stays on the raw cosine, calibrated on the collection's own pairs
    raw_band = calibrate_band([0.97, 0.98], [0.8, 0.85], recogniser="dlib")
    assert raw_band.scale == "raw" and raw_band.column == "id_sim" and raw_band.group_raw == raw_band.low
    r = row(0.65) | {"id_sim": raw_band.low - 0.01}
    assert check_sample(r, raw_band, FilterConfig())[0][1].startswith("identity similarity")


def test_split_is_seeded_and_puts_groups_on_both_sides():
    keys = {i: f"k{i}" for i in range(10)}
    s1, s2 = split_groups(keys, 0.3, seed=1), split_groups(keys, 0.3, seed=1)
    assert s1 == s2 and sum(v == "test" for v in s1.values()) == 3
    assert split_groups({0: "a", 1: "b"}, 0.01) != {0: "train", 1: "train"}
    assert split_groups({0: "a"}, 0.5) == {0: "train"}


def test_folders_without_faces_stop_the_build_with_the_reasons(photo_root, tmp_path, capsys):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"name": "none", "sources": [str(photo_root / "noface")]}))
    assert facebench_main(["data", "build", str(cfg), "--no-progress"]) == 1
    err = capsys.readouterr()
    assert "no usable portrait in" in err.err and "no face found: 2" in err.err
    assert "none kept (no face found: 2)" in err.out
