"""Face detection on real photos: close-ups, a turned head and a 5-face group photo."""

from __future__ import annotations

import numpy as np
import pytest

from facebench.face.detect import (
    DETECTORS, box_iou, detect_faces, get_detector, mouth_corners_from_centre, nms,
)
from facebench.face.types import Detection

PORTRAITS = ["astronaut", "feat_surprise", "feat_happy", "feat_anger", "feat_disgust", "feat_single"]


@pytest.mark.parametrize("name", PORTRAITS)
def test_one_face_in_each_portrait(sample_images, name):
    img = sample_images[name]
    dets = detect_faces(img)
    assert len(dets) == 1, [d.score for d in dets]
    d = dets[0]
    x0, y0, x1, y1 = d.box
    assert 0 <= x0 < x1 <= img.shape[1] and 0 <= y0 < y1 <= img.shape[0]
    assert d.score > 0.5
    assert d.keypoints.shape == (5, 2) and d.raw_keypoints.shape == (6, 2)
    # eyes, nose and the estimated mouth corners lie inside the box
    assert np.all((d.keypoints >= [x0, y0]) & (d.keypoints <= [x1, y1]))
    # the subject's right eye is on the image's left, the mouth below the eyes
    assert d.keypoints[0, 0] < d.keypoints[1, 0]
    assert d.keypoints[3:, 1].mean() > d.keypoints[:2, 1].mean()


def test_group_photo_all_five_faces(sample_images):
    img = sample_images["feat_group"]
    dets = detect_faces(img)
    assert len(dets) == 5
    boxes = np.stack([d.box for d in dets])
    iou = box_iou(boxes, boxes)
    assert np.all(iou[~np.eye(5, dtype=bool)] < 0.1), "every box is a different face"
    areas = [d.area for d in dets]
    assert areas == sorted(areas, reverse=True), "largest face first"


def test_fusion_is_needed(sample_images):
    """Each MediaPipe model alone misses faces the fused detector finds (why we fuse)."""
    short = get_detector("mediapipe_short").detect(sample_images["feat_group"])
    full = get_detector("mediapipe_full").detect(sample_images["feat_disgust"])
    assert len(short) < 5
    assert len(full) == 0
    assert len(detect_faces(sample_images["feat_disgust"])) == 1


def test_no_face_in_sky_and_blank(sample_images):
    sky = np.ascontiguousarray(sample_images["feat_group"][:150, 500:1000])
    assert detect_faces(sky) == []
    assert detect_faces(np.full((240, 320, 3), 128, np.uint8)) == []


def test_registry_has_licences():
    assert {"mediapipe", "mediapipe_full", "mediapipe_short"} <= set(DETECTORS.names())
    for entry in DETECTORS:
        assert "Apache-2.0" in entry.meta["licence"]


def test_box_iou_and_nms():
    a = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [100, 100, 110, 110]], float)
    iou = box_iou(a, a)
    assert np.allclose(np.diag(iou), 1.0)
    assert np.allclose(iou, iou.T)
    assert iou[0, 1] == pytest.approx(50 / 150)
    assert iou[0, 2] == 0.0
    kp = np.zeros((5, 2))
    dets = [Detection(a[0], 0.6, kp), Detection(a[1], 0.9, kp), Detection(a[2], 0.5, kp)]
    kept = nms(dets, iou_threshold=0.3)
    assert [d.score for d in kept] == [0.9, 0.5]
    assert len(nms(dets, iou_threshold=0.5)) == 3


def test_mouth_corner_estimate_is_symmetric_about_centre():
    c = mouth_corners_from_centre(np.array([10.0, 20.0]), np.array([50.0, 20.0]), np.array([30.0, 60.0]))
    assert np.allclose(c.mean(0), [30, 60])
    assert c[0, 0] < 30 < c[1, 0] and np.allclose(c[:, 1], 60)
    assert np.linalg.norm(c[1] - c[0]) == pytest.approx(0.823 * 40, rel=1e-3)
