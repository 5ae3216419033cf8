"""Identity embeddings on real photos (dlib), cosine similarity, calibration, and the ONNX path
with a tiny randomly initialised model built here (nothing downloaded)."""

from __future__ import annotations

import itertools
import pickle

import numpy as np
import pytest

from facebench.face import identity as idn
from facebench.face.detect import detect_faces
from facebench.base.registry import UnknownNameError

PEOPLE = ("astronaut", "feat_surprise", "feat_happy", "feat_anger", "feat_disgust", "feat_single")


def _largest(img: np.ndarray):
    return detect_faces(img)[0]


@pytest.fixture(scope="module")
def people(sample_images) -> dict[str, idn.Embeddings]:
    """One embedding per different person: the portraits and every face of the group photo."""
    out = {k: idn.embed(sample_images[k], _largest(sample_images[k]).box[None])[0] for k in PEOPLE}
    group = sample_images["feat_group"]
    dets = detect_faces(group)
    emb = idn.embed(group, np.array([d.box for d in dets]))
    out.update({f"group{i}": e for i, e in enumerate(emb)})
    return out


def _variants(img: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "flip": np.ascontiguousarray(img[:, ::-1]),
        "brighter": np.clip(img * 1.3 + 20, 0, 255).astype(np.uint8),
        "darker": (img * 0.6).astype(np.uint8),
    }


@pytest.fixture(scope="module")
def same_face(sample_images, people) -> dict[tuple[str, str], float]:
    """Similarity of each portrait to itself after a flip or a brightness change (re-detected)."""
    out = {}
    for k in ("astronaut", "feat_happy", "feat_anger"):
        for v, img in _variants(sample_images[k]).items():
            out[k, v] = idn.similarity(people[k], idn.embed(img, _largest(img).box[None])[0])
    return out


def test_same_face_beats_every_pair_of_different_people(people, same_face):
    assert len(people) == len(PEOPLE) + 5
    different = {(a, b): idn.similarity(people[a], people[b]) for a, b in itertools.combinations(people, 2)}
    worst_same = min(same_face, key=same_face.get)
    best_diff = max(different, key=different.get)
    assert same_face[worst_same] > different[best_diff], (
        worst_same, same_face[worst_same], best_diff, different[best_diff])
    cal = idn.calibrate(list(same_face.values()), list(different.values()), recogniser="dlib")
    assert cal.margin > 0 and cal.balanced_accuracy == 1.0
    assert different[best_diff] < cal.threshold < same_face[worst_same]
    assert cal.decide(same_face[worst_same]) == "same" and cal.decide(different[best_diff]) == "different"


def test_embeddings_are_labelled_batched_and_picklable(sample_images, people):
    group = sample_images["feat_group"]
    boxes = np.array([d.box for d in detect_faces(group)])
    emb = idn.embed(group, boxes)
    assert emb.shape == (5, 128) and emb.dtype == np.float32
    assert emb.recogniser == "dlib" and emb[2].recogniser == "dlib"
    np.testing.assert_allclose(emb[1], idn.embed(group, boxes[1:2])[0], atol=1e-5)
    back = pickle.loads(pickle.dumps(emb))
    assert back.recogniser == "dlib" and np.array_equal(back, emb)
    assert idn.embed(group, np.zeros((0, 4))).shape == (0, 128)


def test_similarity_formula_and_shapes(people):
    a, b = people["astronaut"], people["feat_happy"]
    s = idn.similarity(a, b)
    assert isinstance(s, float)
    assert s == pytest.approx(float(a @ b) / float(np.linalg.norm(a) * np.linalg.norm(b)), abs=1e-6)
    assert idn.similarity(a, a) == pytest.approx(1.0, abs=1e-6)
    m = np.stack([a, b, people["feat_anger"]])
    assert idn.similarity(m, a).shape == (3,)
    assert idn.similarity(a, m).shape == (3,)
    full = idn.similarity(m, m[:2])
    assert full.shape == (3, 2) and full[1, 0] == pytest.approx(s, abs=1e-6)
    assert idn.similarity(-a, a) == pytest.approx(-1.0, abs=1e-6)
    with pytest.raises(ValueError, match="equal D"):
        idn.similarity(a, a[:64])


def test_calibration_band_when_the_sets_overlap():
    cal = idn.calibrate([0.5, 0.7, 0.8, 0.9], [0.1, 0.2, 0.6, 0.3])
    assert cal.margin == pytest.approx(-0.1) and cal.band == (0.5, 0.6)
    assert 0.5 <= cal.threshold <= 0.7 and cal.balanced_accuracy == pytest.approx(0.875)
    assert cal.decide(0.55) == "uncertain" and cal.decide(0.95) == "same" and cal.decide(0.0) == "different"
    with pytest.raises(ValueError, match="both same and different"):
        idn.calibrate([0.9], [])


def test_arcface_alignment_rejects_degenerate_keypoints(sample_images):
    with pytest.raises(ValueError, match="identical"):
        idn.align_arcface(sample_images["astronaut"], np.ones((5, 2)))


def _tiny_onnx(path, *, channels_last: bool = False, dim: int = 32) -> None:
    """A random conv + linear 'recogniser' with an ArcFace-like input (N, 3, 112, 112)."""
    import onnx  # test extra (pinned in constraints.txt)
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(7)
    w = numpy_helper.from_array((rng.standard_normal((8, 3, 16, 16)) / 40).astype(np.float32), "w")
    g = numpy_helper.from_array((rng.standard_normal((8 * 7 * 7, dim)) / 20).astype(np.float32), "g")
    nodes = [helper.make_node("Transpose", ["image"], ["x"], perm=[0, 3, 1, 2])] if channels_last else []
    src = "x" if channels_last else "image"
    nodes += [
        helper.make_node("Conv", [src, "w"], ["c"], strides=[16, 16]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Flatten", ["r"], ["f"]),
        helper.make_node("MatMul", ["f", "g"], ["embedding"]),
    ]
    shape = ["n", 112, 112, 3] if channels_last else ["n", 3, 112, 112]
    graph = helper.make_graph(
        nodes, "tiny_recogniser", [helper.make_tensor_value_info("image", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["n", dim])], [w, g],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


@pytest.mark.parametrize("channels_last", [False, True])
def test_onnx_recogniser_with_a_tiny_random_model(tmp_path, sample_images, channels_last):
    path = tmp_path / f"tiny_{int(channels_last)}.onnx"
    _tiny_onnx(path, channels_last=channels_last)
    group = sample_images["feat_group"]
    dets = detect_faces(group)[:3]
    boxes, kps = np.array([d.box for d in dets]), np.array([d.keypoints for d in dets])
    emb = idn.embed(group, boxes, kps, recogniser="onnx", path=path)
    assert emb.shape == (3, 32) and emb.recogniser == f"onnx:{path.name}"
    assert np.isfinite(emb).all() and not np.allclose(emb[0], emb[1])
    again = idn.embed(group, boxes, kps, recogniser="onnx", path=path)
    np.testing.assert_allclose(again, emb, atol=1e-6)
    no_kps = idn.embed(group, boxes, recogniser="onnx", path=path)  # aligned on dlib's eye centres
    assert no_kps.shape == (3, 32)
    assert idn.RECOGNISERS.meta("onnx")["licence"]
    with pytest.raises(ValueError, match="cannot compare"):
        idn.similarity(emb[0], idn.embed(group, boxes[:1])[0])


def test_aligned_crop_is_canonical_under_a_flip(sample_images):
    """Aligning a face and aligning its mirror image give mirror-image crops (same pose, scale)."""
    img = sample_images["feat_happy"]
    flipped = np.ascontiguousarray(img[:, ::-1])
    crop = idn.align_arcface(img, _largest(img).keypoints).astype(float)
    crop_f = idn.align_arcface(flipped, _largest(flipped).keypoints)[:, ::-1].astype(float)
    assert crop.shape == (112, 112, 3)
    corr = np.corrcoef(crop.ravel(), crop_f.ravel())[0, 1]
    shifted = np.corrcoef(crop.ravel(), np.roll(crop_f, 8, axis=0).ravel())[0, 1]
    assert corr > 0.9 and corr > shifted, (corr, shifted)


def test_bad_recogniser_inputs_give_clear_errors(tmp_path, sample_images):
    img = sample_images["astronaut"]
    box = _largest(img).box[None]
    with pytest.raises(FileNotFoundError, match="model file .*missing.onnx not found"):
        idn.embed(img, box, recogniser="onnx", path=tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"this is not a protobuf")
    with pytest.raises(ValueError, match="junk.onnx is not a usable ONNX model"):
        idn.embed(img, box, recogniser="onnx", path=junk)
    with pytest.raises(UnknownNameError, match="did you mean dlib"):
        idn.embed(img, box, recogniser="dlibb")
    with pytest.raises(ValueError, match="RGB uint8"):
        idn.embed(img[..., 0], box)
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        idn.embed(img, np.array([[1.0, 2.0]]))
