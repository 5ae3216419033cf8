"""Real encoder adapters on tiny random stand-ins: a CLIPVisionModel built from a config, an ONNX
graph with an ArcFace recogniser's signature (checked against onnxruntime)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from facebench.pixelsmile.loading import PixelSmileError
from facebench.pixelsmile.train.adapters import CLIP_MEAN, CLIP_STD, OnnxRecogniser
from facebench.pixelsmile.train.encoders import FeatureEncoder, load_module


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory) -> Path:
    from transformers import CLIPVisionConfig, CLIPVisionModel

    torch.manual_seed(0)
    cfg = CLIPVisionConfig(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=2,
                           image_size=32, patch_size=8, projection_dim=16)
    path = tmp_path_factory.mktemp("clip") / "clip-vit-tiny"
    CLIPVisionModel(cfg).save_pretrained(path)
    return path


def test_clip_adapter_gives_pooled_features_with_gradients(clip_dir):
    from transformers import CLIPVisionModel

    enc = load_module(f"clip:{clip_dir}", "feature encoder")
    x = torch.rand(2, 3, 48, 48, generator=torch.Generator().manual_seed(1), requires_grad=True)
    feats = enc(x)
    ref_model = CLIPVisionModel.from_pretrained(clip_dir).eval()
    resized = torch.nn.functional.interpolate(x.detach(), size=(32, 32), mode="bilinear", align_corners=False)
    norm = (resized - torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)) / torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        ref = ref_model(pixel_values=norm).pooler_output
    assert feats.shape == (2, 32) and torch.allclose(feats, ref, atol=1e-5)
    feats.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0  # differentiable for generated images
    assert not any(p.requires_grad for p in enc.parameters())  # frozen
    unit = FeatureEncoder(enc, 224)(x.detach())
    assert torch.allclose(unit.norm(dim=1), torch.ones(2), atol=1e-5)
    with pytest.raises(PixelSmileError, match="CLIP model '/no/such/clip': no config.json"):
        load_module("clip:/no/such/clip")


def _arcface_like_onnx(path: Path, *, self_normalising: bool = False) -> Path:
    """input.1 (N, 3, 112, 112) -> Conv/BN/PReLU stem, a residual block, Flatten, Gemm, BN -> (N, 512)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)

    def init(name, *shape, scale=0.1):
        return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)

    inits = [init("c1.w", 8, 3, 3, 3), init("bn1.s", 8), init("bn1.b", 8), init("bn1.m", 8),
             numpy_helper.from_array(rng.uniform(0.5, 1.5, 8).astype(np.float32), "bn1.v"),
             numpy_helper.from_array(np.full((8, 1, 1), 0.25, np.float32), "pr1"),
             init("c2.w", 8, 8, 3, 3), init("c2.b", 8),
             init("fc.w", 512, 8 * 28 * 28, scale=0.01), init("fc.b", 512), init("bn2.s", 512), init("bn2.b", 512),
             init("bn2.m", 512), numpy_helper.from_array(rng.uniform(0.5, 1.5, 512).astype(np.float32), "bn2.v"),
             numpy_helper.from_array(np.array(127.5, np.float32), "mean"),
             numpy_helper.from_array(np.array(1 / 127.5, np.float32), "scale")]
    nodes = []
    first = "input.1"
    if self_normalising:
        nodes += [helper.make_node("Sub", ["input.1", "mean"], ["sub"]), helper.make_node("Mul", ["sub", "scale"], ["x0"])]
        first = "x0"
    nodes += [
        helper.make_node("Conv", [first, "c1.w"], ["c1"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "bn1.s", "bn1.b", "bn1.m", "bn1.v"], ["b1"], epsilon=1e-5),
        helper.make_node("PRelu", ["b1", "pr1"], ["p1"]),
        helper.make_node("Conv", ["p1", "c2.w", "c2.b"], ["c2"], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c2", "p1"], ["r1"]),
        helper.make_node("Conv", ["r1", "c2.w"], ["c3"], kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1]),
        helper.make_node("Flatten", ["c3"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "fc.w", "fc.b"], ["g"], transB=1),
        helper.make_node("BatchNormalization", ["g", "bn2.s", "bn2.b", "bn2.m", "bn2.v"], ["683"], epsilon=1e-5),
    ]
    graph = helper.make_graph(nodes, "arcface-tiny",
                              [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, ["None", 3, 112, 112])],
                              [helper.make_tensor_value_info("683", TensorProto.FLOAT, ["None", 512])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("self_normalising", [False, True])
def test_onnx_recogniser_matches_onnxruntime_and_has_gradients(tmp_path, self_normalising):
    import onnxruntime as ort

    path = _arcface_like_onnx(tmp_path / "glintr100-tiny.onnx", self_normalising=self_normalising)
    rec = load_module(str(path), "identity encoder")
    assert isinstance(rec, OnnxRecogniser) and rec.size == 112 and rec.self_normalising == self_normalising
    x = torch.rand(2, 3, 112, 112, generator=torch.Generator().manual_seed(2), requires_grad=True)
    out = rec(x)
    pixels = x.detach().numpy() * 255
    feed = pixels if self_normalising else (pixels - 127.5) / 127.5
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ref = sess.run(None, {"input.1": feed.astype(np.float32)})[0]
    assert out.shape == (2, 512) and np.allclose(out.detach().numpy(), ref, atol=1e-3, rtol=1e-4)
    out.pow(2).sum().backward()
    assert x.grad.abs().sum() > 0
    assert load_module(f"onnx:{path}").size == 112


def test_onnx_errors_are_one_line(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    with pytest.raises(PixelSmileError, match="identity model '/no/such.onnx': file not found"):
        load_module("/no/such.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not onnx")
    with pytest.raises(PixelSmileError, match="not a readable ONNX file"):
        load_module(str(tmp_path / "junk.onnx"))
    graph = helper.make_graph([helper.make_node("Softmax", ["input.1"], ["y"])], "g",
                              [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, 112, 112])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 112, 112])])
    onnx.save(helper.make_model(graph), str(tmp_path / "soft.onnx"))
    with pytest.raises(PixelSmileError, match="ONNX operator 'Softmax' is not supported"):
        load_module(str(tmp_path / "soft.onnx"))
