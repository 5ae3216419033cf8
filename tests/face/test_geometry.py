"""Geometric measurements: they follow the posed expressions and resist head rotation."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from facebench.face.detect import detect_faces
from facebench.face.geometry import (
    MEASUREMENTS, frontalize, geometry_delta, head_pose, measure, reference_mesh, umeyama,
)
from facebench.face.mesh import get_mesh_estimator


def _mesh(img: np.ndarray) -> np.ndarray:
    det = detect_faces(img)[0]
    mesh = get_mesh_estimator().estimate(img, det.box)
    assert mesh is not None
    return mesh


@pytest.fixture(scope="module")
def geo(sample_images):
    names = ["astronaut", "feat_surprise", "feat_happy", "feat_anger"]
    return {n: measure(_mesh(sample_images[n])) for n in names}


def test_all_measurements_present_and_finite(geo):
    for g in geo.values():
        assert list(g) == list(MEASUREMENTS)
        assert all(np.isfinite(v) for v in g.values())


def test_surprise_opens_mouth_eyes_and_raises_inner_brows(geo):
    s, h, a = geo["feat_surprise"], geo["feat_happy"], geo["feat_anger"]
    assert s["mouth_open"] > h["mouth_open"] > a["mouth_open"]
    for side in ("left", "right"):
        assert s[f"eye_aperture_{side}"] > h[f"eye_aperture_{side}"]
        assert s[f"brow_raise_inner_{side}"] > h[f"brow_raise_inner_{side}"]
        assert s[f"brow_raise_inner_{side}"] > a[f"brow_raise_inner_{side}"]


def test_happy_lifts_lip_corners(geo):
    for side in ("left", "right"):
        lift = {n: g[f"lip_corner_lift_{side}"] for n, g in geo.items()}
        assert lift["feat_happy"] > lift["feat_surprise"]
        assert lift["feat_happy"] > lift["feat_anger"]
        assert lift["astronaut"] > lift["feat_anger"]  # the astronaut smiles
    assert geo["feat_happy"]["mouth_width"] > geo["feat_surprise"]["mouth_width"]


def test_anger_lowers_brows_and_draws_them_together(geo):
    a, s = geo["feat_anger"], geo["feat_surprise"]
    assert a["brow_furrow"] > s["brow_furrow"]
    assert a["brow_raise_outer_left"] < s["brow_raise_outer_left"]


def test_measurements_survive_in_plane_rotation(sample_images):
    img = sample_images["astronaut"]
    base = measure(_mesh(img))
    for angle in (-25, 25):
        m = cv2.getRotationMatrix2D((256, 256), angle, 1.0)
        rot = measure(_mesh(cv2.warpAffine(img, m, (512, 512))))
        assert rot["roll"] - base["roll"] == pytest.approx(angle, abs=5)
        for k in MEASUREMENTS:
            if k not in ("yaw", "pitch", "roll", "iod_px"):
                assert abs(rot[k] - base[k]) < 0.04, (k, angle, rot[k], base[k])


def test_mirror_swaps_sides_and_yaw(sample_images):
    img = sample_images["feat_disgust"]  # head turned ~40 degrees
    g = measure(_mesh(img))
    f = measure(_mesh(np.ascontiguousarray(img[:, ::-1])))
    assert g["yaw"] < -20 and f["yaw"] > 20
    assert f["yaw"] == pytest.approx(-g["yaw"], abs=6)
    for k in ("eye_aperture", "brow_raise_inner", "lip_corner_lift"):
        assert f[f"{k}_left"] == pytest.approx(g[f"{k}_right"], abs=0.03)


def test_frontalize_undoes_a_known_3d_rotation():
    ref = reference_mesh()
    r = Rotation.from_euler("YXZ", [30, -10, 15], degrees=True).as_matrix()
    cam = 2.5 * ref @ r.T + [300, -200, 40]  # y-up camera frame
    mesh = cam * [1, -1, -1]  # to image convention: y down, z away from the camera
    front, rot = frontalize(mesh)
    assert np.allclose(front, ref, atol=1e-6)
    pose = head_pose(rot)
    assert pose["yaw"] == pytest.approx(30, abs=1e-6)
    assert pose["pitch"] == pytest.approx(10, abs=1e-6)  # -10 about x = chin up
    assert pose["roll"] == pytest.approx(15, abs=1e-6)


def test_umeyama_rejects_reflection():
    pts = np.random.default_rng(0).normal(size=(20, 3))
    s, r, _ = umeyama(pts, pts * [-1, 1, 1])
    assert np.linalg.det(r) == pytest.approx(1.0)


def test_reference_face_is_neutral_zero():
    g = measure(reference_mesh() * [1, -1, -1])
    assert g["brow_furrow"] == pytest.approx(0, abs=1e-9)
    assert g["upper_lip_raise"] == pytest.approx(0, abs=1e-9)
    assert abs(g["yaw"]) < 1e-6 and abs(g["roll"]) < 1e-6 and g["asymmetry"] < 0.02


def test_geometry_delta():
    assert geometry_delta({"a": 2.0, "b": 1.0}, {"a": 0.5, "c": 3.0}) == {"a": 1.5}


def test_measure_rejects_wrong_shape():
    with pytest.raises(ValueError, match="478"):
        measure(np.zeros((468, 3)))
