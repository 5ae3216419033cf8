"""FaceAnalyzer: one call per image, typed results, tables and caching."""

from __future__ import annotations


import numpy as np
import pytest

from facebench.expressions import BASIC7
from facebench.face import (
    PARTS, FaceAnalyzer, NoFaceError, analyze, face_to_dict, faces_to_frame, top_expression,
)
from facebench.face.analyze import normalize_parts
from facebench.face.geometry import MEASUREMENTS
from facebench.base.cache import DiskCache
from facebench.base.imageio import ImageError

GEOMETRIC = ("detection", "mesh", "crop", "mask", "geometry")


@pytest.fixture(scope="module")
def analyzer():
    return FaceAnalyzer(cache_dir=False)


def test_astronaut_one_face_all_geometric_parts(analyzer, sample_files):
    faces = analyzer.analyze(sample_files["astronaut"], parts=GEOMETRIC)
    assert len(faces) == 1
    f = faces[0]
    x0, y0, x1, y1 = f.box
    w, h = x1 - x0, y1 - y0
    assert f.mesh.shape == (478, 3)
    inside = (
        (f.mesh[:, 0] >= x0 - 0.15 * w) & (f.mesh[:, 0] <= x1 + 0.15 * w)
        & (f.mesh[:, 1] >= y0 - 0.15 * h) & (f.mesh[:, 1] <= y1 + 0.15 * h)
    )
    assert inside.all()
    assert f.crop.shape == (256, 256, 3) and f.crop_transform.shape == (2, 3)
    assert f.mask.shape == (512, 512) and 0.6 < f.mask.sum() / (w * h) < 1.6
    assert set(f.geometry) == set(MEASUREMENTS)
    assert f.identity is None and f.expression == {}, "only the parts asked for"


def test_group_photo_sorted_largest_first(analyzer, sample_files):
    faces = analyzer.analyze(sample_files["feat_group"], parts=("detection", "mesh"))
    assert len(faces) == 5
    areas = [f.detection.area for f in faces]
    assert areas == sorted(areas, reverse=True)
    assert [f.index for f in faces] == list(range(5))
    two = analyzer.analyze(sample_files["feat_group"], parts=("detection",), max_faces=2)
    assert [tuple(f.box) for f in two] == [tuple(f.box) for f in faces[:2]]


def test_array_and_path_give_same_result(analyzer, sample_files, sample_images):
    a = analyzer.analyze(sample_images["feat_happy"], parts=("detection", "mesh"))
    b = analyzer.analyze(sample_files["feat_happy"], parts=("detection", "mesh"))
    assert np.array_equal(a[0].mesh, b[0].mesh)


def test_cache_second_call_computes_nothing(sample_files):
    an = FaceAnalyzer(cache_dir=False)
    first = an.analyze(sample_files["feat_surprise"], parts=("detection", "mesh", "geometry"))
    runs = dict(an.stats)
    assert runs["detection"] == runs["mesh"] == runs["geometry"] == 1
    second = an.analyze(sample_files["feat_surprise"], parts=("detection", "mesh", "geometry"))
    assert an.stats["memory_hit"] == 1
    assert {k: an.stats[k] for k in ("detection", "mesh", "geometry")} == {
        "detection": 1, "mesh": 1, "geometry": 1}
    assert np.array_equal(first[0].mesh, second[0].mesh)
    assert first[0].geometry == second[0].geometry
    # asking for more computes only the missing part; asking for less computes nothing
    an.analyze(sample_files["feat_surprise"], parts=("detection", "mesh", "mask"))
    assert an.stats["mask"] == 1 and an.stats["mesh"] == 1 and an.stats["detection"] == 1
    less = an.analyze(sample_files["feat_surprise"], parts=("detection",))
    assert less[0].mesh is None and an.stats["detection"] == 1


def test_cached_results_are_copies(sample_files):
    an = FaceAnalyzer(cache_dir=False)
    f = an.analyze(sample_files["astronaut"], parts=("detection", "mesh"))[0]
    f.mesh[:] = 0
    f.detection.box[:] = 0
    again = an.analyze(sample_files["astronaut"], parts=("detection", "mesh"))[0]
    assert again.mesh.any() and again.box.any()


def test_disk_cache_shared_between_analyzers(tmp_path, sample_images):
    img = sample_images["feat_anger"]
    a = FaceAnalyzer(cache_dir=tmp_path)
    ra = a.analyze(img, parts=("detection", "mesh", "geometry"))
    assert len(DiskCache(tmp_path)) == 1
    b = FaceAnalyzer(cache_dir=tmp_path)
    rb = b.analyze(img, parts=("detection", "mesh", "geometry"))
    assert b.stats["disk_hit"] == 1 and b.stats["detection"] == 0 and b.stats["mesh"] == 0
    assert np.array_equal(ra[0].mesh, rb[0].mesh)
    # a damaged record is a miss, not a crash
    disk = DiskCache(tmp_path)
    for key in list(disk.store.mapping(disk.kind)):
        disk.store.put(disk.kind, key, {}, b"garbage")
    c = FaceAnalyzer(cache_dir=tmp_path)
    c.analyze(img, parts=("detection",))
    assert c.stats["disk_hit"] == 0 and c.stats["detection"] == 1


def test_cache_dir_from_environment(tmp_path, monkeypatch, sample_images):
    monkeypatch.setenv("FACEBENCH_CACHE", str(tmp_path / "env-cache"))
    FaceAnalyzer().analyze(sample_images["astronaut"], parts=("detection",))
    assert len(DiskCache(tmp_path / "env-cache")) >= 1


def test_changed_pixels_are_not_served_from_cache(sample_images):
    an = FaceAnalyzer(cache_dir=False)
    img = sample_images["astronaut"].copy()
    an.analyze(img, parts=("detection",))
    img[0, 0] ^= 1
    an.analyze(img, parts=("detection",))
    assert an.stats["detection"] == 2


def test_no_face(analyzer):
    blank = np.full((200, 300, 3), 90, np.uint8)
    assert analyzer.analyze(blank) == []
    with pytest.raises(NoFaceError, match=r"^blank\.png: no face found$"):
        analyzer.analyze(blank, name="blank.png", require=True)
    with pytest.raises(ValueError):  # NoFaceError is a ValueError
        analyzer.analyze_face(blank)


def test_bad_input_raises_image_error(analyzer, tmp_path):
    p = tmp_path / "x.jpg"
    p.write_bytes(b"not an image")
    with pytest.raises(ImageError, match="x.jpg: not an image"):
        analyzer.analyze(p)


def test_parts_validation():
    assert normalize_parts("all") == PARTS
    assert normalize_parts("mesh, geometry") == ("detection", "mesh", "geometry")
    with pytest.raises(ValueError, match="unknown part 'meshh'"):
        normalize_parts(["meshh"])
    with pytest.raises(ValueError, match="max_faces"):
        FaceAnalyzer(cache_dir=False).analyze(np.zeros((8, 8, 3), np.uint8), max_faces=0)


def test_frame_and_dict(analyzer, sample_files):
    faces = analyzer.analyze(sample_files["feat_group"], parts=("detection", "mesh", "geometry"))
    df = faces_to_frame(faces, "group.jpg")
    assert len(df) == 5 and (df["image"] == "group.jpg").all()
    for col in ("x0", "y0", "x1", "y1", "score", "right_eye_x", "left_mouth_corner_y", *MEASUREMENTS):
        assert col in df, col
    assert "mesh" not in df
    df2 = faces_to_frame(faces, "group.jpg", arrays=True)
    assert df2["mesh"].iloc[0].shape == (478, 3)
    d = face_to_dict(faces[0], arrays=True)
    assert len(d["mesh"]) == 478 and set(d["geometry"]) == set(MEASUREMENTS)
    assert faces_to_frame([], "none.jpg").empty


def test_astronaut_top_expression_happy(sample_files):
    face = analyze(sample_files["astronaut"], parts=("detection", "expression"))[0]
    assert "ensemble" in face.expression
    for model, p in face.expression.items():
        assert p.shape == (len(BASIC7),) and p.sum() == pytest.approx(1, abs=1e-3), model
    assert top_expression(face)[0] == "happy"
    df = faces_to_frame([face], "astronaut")
    assert df.loc[0, "expression"] == "happy" and "ensemble_happy" in df


def test_identity_part(sample_files):
    from facebench.face.identity import similarity

    faces = analyze(sample_files["feat_group"], parts=("detection", "identity"))
    emb = np.stack([f.identity for f in faces])
    assert emb.shape == (5, 128) and np.isfinite(emb).all()
    assert {f.identity_recogniser for f in faces} == {"dlib"}
    same = analyze(sample_files["feat_group"], parts=("identity",))[0].identity
    assert float(similarity(same, emb[0])) == pytest.approx(1.0, abs=1e-5)


def test_detections_outlive_the_memory_cache_of_full_results(sample_images):
    from facebench.face import FaceAnalyzer

    an = FaceAnalyzer(cache_dir=False, memory_cache=1, detection_cache=16)
    images = list(sample_images.values())
    first = [an.analyze(img, parts=("detection",)) for img in images]
    an.analyze(images[0], parts=("mesh",))  # a full result: kept in the (one-item) memory cache
    again = [an.analyze(img, parts=("detection",)) for img in images]
    assert an.stats["detection"] == len(images) and an.stats["mesh"] == 1
    assert [[f.detection.box.tolist() for f in fs] for fs in again] == [[f.detection.box.tolist() for f in fs]
                                                                         for fs in first]
    small = FaceAnalyzer(cache_dir=False, memory_cache=1, detection_cache=1)
    for img in images[:2] * 2:
        small.analyze(img, parts=("detection",))
    assert small.stats["detection"] == 4  # both caches full: detected again
    an.clear_cache()
    an.analyze(images[1], parts=("detection",))
    assert an.stats["detection"] == len(images) + 1
