"""Aligned canonical crops and face masks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facebench.face.align import TEMPLATE_5, align_face, face_mask, similarity_transform
from facebench.face.detect import detect_faces
from facebench.face.mesh import get_mesh_estimator, keypoints_from_mesh


@settings(max_examples=40, deadline=None)
@given(
    angle=st.floats(-3.1, 3.1), scale=st.floats(0.1, 10.0),
    tx=st.floats(-500, 500), ty=st.floats(-500, 500), seed=st.integers(0, 1000),
)
def test_similarity_transform_recovers_known_transform(angle, scale, tx, ty, seed):
    src = np.random.default_rng(seed).uniform(0, 100, (5, 2))
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = scale * src @ rot.T + [tx, ty]
    m = similarity_transform(src, dst)
    assert np.allclose(m[:, :2], scale * rot, atol=1e-6 * max(1, scale))
    assert np.allclose(src @ m[:, :2].T + m[:, 2], dst, atol=1e-6 * max(1, scale))


def test_similarity_transform_rejects_bad_input():
    with pytest.raises(ValueError, match="point sets"):
        similarity_transform(np.zeros((3, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="identical"):
        similarity_transform(np.ones((3, 2)), np.zeros((3, 2)))


@pytest.fixture(scope="module")
def happy(sample_images):
    img = sample_images["feat_happy"]
    det = detect_faces(img)[0]
    return img, det, get_mesh_estimator().estimate(img, det.box)


def test_crop_puts_keypoints_on_template(happy):
    img, _, mesh = happy
    kp = keypoints_from_mesh(mesh)
    crop, m = align_face(img, kp, size=256)
    assert crop.shape == (256, 256, 3) and crop.dtype == np.uint8
    mapped = kp @ m[:, :2].T + m[:, 2]
    # a similarity cannot fit 5 points exactly; they land within 5% of the crop side
    assert np.abs(mapped - TEMPLATE_5 * 256).max() < 0.05 * 256
    # warping the image with M is the crop: pixel at the nose tip matches
    nx, ny = np.round(mapped[2]).astype(int)
    back = cv2.invertAffineTransform(m) @ [nx, ny, 1]
    assert np.abs(crop[ny, nx].astype(int) - img[int(round(back[1])), int(round(back[0]))]).max() < 40


def test_crop_size_follows_argument(happy):
    img, det, _ = happy
    crop, m = align_face(img, det.keypoints, size=112)
    assert crop.shape == (112, 112, 3) and m.shape == (2, 3)


def test_mask_covers_face_not_background(happy):
    img, det, mesh = happy
    mask = face_mask(mesh, img.shape)
    assert mask.shape == img.shape[:2] and mask.dtype == bool
    nose = np.round(mesh[1, :2]).astype(int)
    assert mask[nose[1], nose[0]]
    assert not mask[0, 0] and not mask[-1, -1]
    # the face region is about as large as the detector's box
    assert 0.6 < mask.sum() / det.area < 1.6
    bigger = face_mask(mesh, img.shape, dilate=0.05)
    assert bigger.sum() > mask.sum() and bigger[mask].all()
