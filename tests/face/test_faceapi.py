"""face-api's FaceExpressionNet ported to PyTorch against face-api's own TFJS outputs.

The reference (``data/face_api_reference.json``) was produced by ``scripts/face_api_reference.py``:
face-api 1.7.15's bundled TFJS (CPU backend, in node) on the five 112x112 face crops stored in
``data/face_api_reference_crops.png`` (bundled sample photos). The port reads the shipped weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from facebench.face.faceapi import LABELS, FaceExpressionNet, get_net, preprocess, sample_crops
from facebench.face.models import model_path

DATA = Path(__file__).parent / "data"


def _reference() -> tuple[dict, list[np.ndarray]]:
    ref = json.loads((DATA / "face_api_reference.json").read_text())
    strip = cv2.cvtColor(cv2.imread(str(DATA / "face_api_reference_crops.png")), cv2.COLOR_BGR2RGB)
    return ref, [strip[:, 112 * i:112 * (i + 1)] for i in range(len(ref["samples"]))]


def test_port_matches_tfjs_logits_and_embedding() -> None:
    ref, crops = _reference()
    logits, emb = get_net()(crops)
    np.testing.assert_allclose(logits, np.array(ref["logits"]), atol=1e-3)
    np.testing.assert_allclose(emb, np.array(ref["embedding"]), atol=1e-3)
    assert emb.shape == (5, 256)


def test_posed_photos_read_sensibly() -> None:
    # the detector's crops of the bundled posed photos: happy and surprised are read as such
    names = ("astronaut", "feat_happy", "feat_surprise")
    logits, _ = get_net()(sample_crops(names))
    assert [LABELS[i] for i in logits.argmax(1)] == ["happy", "happy", "surprised"]


def test_weights_ship_inside_facebench_with_licence() -> None:
    path = model_path("face_api_expression")
    with np.load(path) as z:
        assert "MIT" in str(z["meta_licence"]) and "1.7.15" in str(z["meta_source"])
    net = FaceExpressionNet(path)
    assert tuple(net.fc_w.shape) == (256, 7)


def test_preprocess_pads_non_square_crops_to_a_centred_square() -> None:
    tall = np.full((20, 10, 3), 200, np.uint8)
    x = preprocess([tall])
    assert x.shape == (1, 3, 112, 112)
    # zero padding left and right (value -mean/255), the image in the middle
    assert np.allclose(x[0, :, 56, 2], -np.array([122.782, 117.001, 104.298]) / 255, atol=1e-6)
    assert np.allclose(x[0, :, 56, 56], (200 - np.array([122.782, 117.001, 104.298])) / 255, atol=1e-6)
