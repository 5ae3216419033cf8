"""PixelSmile without the pipeline: interpolation algebra, losses by hand, input checking, encoders."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from facebench.pixelsmile.conditioning import PromptEncoding, align, blend, combine, compact, interpolate
from facebench.pixelsmile.loading import PixelSmileError, resolve_device, resolve_dtype, resolve_model
from facebench.pixelsmile.train import losses as L
from facebench.pixelsmile.train.config import TrainConfig, load_config
from facebench.pixelsmile.train.data import load_triplets, remap_alpha
from facebench.pixelsmile.train.encoders import ARCFACE_112, IdentityEncoder, alignment_theta, load_module

ENCODERS = Path(__file__).parent / "tiny_encoders.py"


def _enc(ids: list[int], seed: int, dim: int = 5) -> PromptEncoding:
    g = torch.Generator().manual_seed(seed)
    return PromptEncoding(torch.randn(len(ids), dim, generator=g), torch.tensor(ids))


# neutral has a 2-token expression word, the target a 1-token one: lengths 7 and 6
NEU = _enc([1, 2, 3, 10, 11, 4, 5], 0)
TGT = _enc([1, 2, 3, 20, 4, 5], 1)
TGT2 = _enc([1, 2, 3, 30, 31, 32, 4, 5], 2)


def test_alignment_keeps_prefix_and_suffix_in_place():
    al = align([NEU, TGT])
    assert (al.prefix, al.suffix) == (3, 2)
    assert al.embeds.shape == (2, 7, 5)
    assert al.mask.tolist() == [[True] * 7, [True, True, True, True, False, True, True]]
    assert torch.equal(al.embeds[1, 5:], TGT.embeds[4:])  # the suffix lines up with the neutral's
    assert torch.equal(al.embeds[1, 4], torch.zeros(5))  # the hole is a zero vector


def test_interpolation_is_exactly_linear_with_unequal_lengths():
    al = align([NEU, TGT])
    alphas = [0.0, 0.25, 0.5, 1.0, 1.5]
    e, m = combine(al, [[a] for a in alphas])
    for i, a in enumerate(alphas):
        assert torch.allclose(e[i], al.embeds[0] + a * (al.embeds[1] - al.embeds[0]), atol=1e-6)
    # e(0) is the neutral conditioning, e(1) the target's, the midpoint their mean
    e0, m0 = compact(e[:1], m[:1])
    e1, m1 = compact(e[3:4], m[3:4])
    assert torch.equal(e0[0][m0[0]], NEU.embeds) and int(m0.sum()) == 7
    assert torch.allclose(e1[0][m1[0]], TGT.embeds, atol=1e-6) and int(m1.sum()) == 6
    assert torch.allclose(e[2], (al.embeds[0] + al.embeds[1]) / 2, atol=1e-6)
    assert m[2].all() and m[4].all()  # in between and beyond, both prompts' positions are attended
    # the public helper returns the same compacted rows
    ei, mi = interpolate(NEU, TGT, [1.0])
    assert torch.allclose(ei[0][mi[0]], TGT.embeds, atol=1e-6)


def test_blend_formula_and_masks():
    weights = [{"happy": 0.5, "sad": 0.5}, {"happy": 0.3}]
    e, m = blend(NEU, {"happy": TGT, "sad": TGT2}, weights)
    al = align([NEU, TGT, TGT2])
    expect = al.embeds[0] + 0.5 * (al.embeds[1] - al.embeds[0]) + 0.5 * (al.embeds[2] - al.embeds[0])
    # row 0: the neutral's coefficient is 1 - 0.5 - 0.5 = 0, so positions only it has are dropped
    keep = al.mask[1] | al.mask[2]
    assert torch.allclose(e[0][m[0]], expect[keep], atol=1e-6)
    assert int(m[0].sum()) == int(keep.sum())
    with pytest.raises(ValueError, match="only"):
        blend(NEU, {"happy": TGT}, [{"sad": 1.0}])


def _cos(u, v):
    return sum(a * b for a, b in zip(u, v)) / math.sqrt(sum(a * a for a in u) * sum(b * b for b in v))


G = [[1.0, 0.0], [0.28, 0.96]]
P = [[0.8, 0.6], [0.0, 1.0]]
N = [[0.0, 1.0], [0.8, 0.6]]


def test_triplet_losses_equal_hand_computation():
    g, p, n = map(torch.tensor, (G, P, N))
    sp = [_cos(a, b) for a, b in zip(G, P)]
    sn = [_cos(a, b) for a, b in zip(G, N)]
    tau, m, eps = 0.07, 0.2, 1e-6
    nce = [-math.log(math.exp(a / tau) / (math.exp(a / tau) + math.exp(b / tau))) for a, b in zip(sp, sn)]
    hinge = [max(0.0, (1 - a) - (1 - b) + m) for a, b in zip(sp, sn)]
    ratio = [math.log(((1 - a) + eps) / ((1 - b) + eps)) for a, b in zip(sp, sn)]
    assert L.infonce_triplet(g, p, n).item() == pytest.approx(sum(nce) / 2, rel=1e-5)
    assert hinge[0] == 0 and hinge[1] > 0  # one inactive, one active margin
    assert L.hinge_triplet(g, p, n).item() == pytest.approx(sum(hinge) / 2, rel=1e-5, abs=1e-7)
    assert L.ratio_triplet(g, p, n).item() == pytest.approx(sum(ratio) / 2, rel=1e-4)


def test_symmetric_contrastive_is_unchanged_when_branches_swap():
    gen = torch.Generator().manual_seed(3)
    ga, gb, pa, pb = (torch.randn(4, 8, generator=gen) for _ in range(4))
    for kind in L.TRIPLET_KINDS:
        loss = L.symmetric_contrastive(ga, gb, pa, pb, kind)
        hand = 0.5 * (L.triplet(kind, ga, pa, pb) + L.triplet(kind, gb, pb, pa))
        assert loss.item() == pytest.approx(hand.item(), rel=1e-6)
        assert L.symmetric_contrastive(gb, ga, pb, pa, kind).item() == pytest.approx(loss.item(), rel=1e-6)
    with pytest.raises(ValueError, match="unknown contrastive"):
        L.triplet("cosine", ga, pa, pb)


def test_identity_flow_matching_and_total_by_hand():
    ga, pa, gb, pb = map(torch.tensor, (G, P, N, P))
    per_a = [1 - _cos(a, b) for a, b in zip(G, P)]
    per_b = [1 - _cos(a, b) for a, b in zip(N, P)]
    assert L.identity_loss(ga, pa, gb, pb).item() == pytest.approx(0.5 * (sum(per_a) / 2 + sum(per_b) / 2), rel=1e-5)
    w = torch.tensor([1.0, 3.0])
    hand_w = 0.5 * ((per_a[0] + 3 * per_a[1]) / 4 + (per_b[0] + 3 * per_b[1]) / 4)
    assert L.identity_loss(ga, pa, gb, pb, w).item() == pytest.approx(hand_w, rel=1e-5)
    v, t = torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[0.0, 2.0], [1.0, 1.0]])
    assert L.flow_matching(v, t).item() == pytest.approx((1 + 0 + 4 + 9) / 4)
    tot = L.total_loss(torch.tensor(1.0), torch.tensor(3.0), torch.tensor(0.5), torch.tensor(2.0))
    assert tot.item() == pytest.approx(2.0 + 1.0 * 0.5 + 0.1 * 2.0)


def _rows(tmp_path, rows: list) -> str:
    f = tmp_path / "d.jsonl"
    f.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows))
    return str(f)


GOOD = {"source": "s.png", "a": {"image": "a.png", "expression": "Fear", "scores": {"fear": 0.5}},
        "b": {"image": "b.png", "expression": "surprise", "scores": {"surprised": 1.0}}}


@pytest.mark.parametrize("bad, message", [
    ("{not json", r"d.jsonl:2: not valid JSON"),
    ({**GOOD, "a": {**GOOD["a"], "scores": {"sad": 0.5}}}, r"d.jsonl:2: field 'a.scores.fear': missing"),
    ({**GOOD, "b": {**GOOD["b"], "expression": "grumpy"}}, r"d.jsonl:2: field 'b.expression': unknown expression"),
    ({**GOOD, "a": {**GOOD["a"], "scores": {"fear": 1.5}}}, r"d.jsonl:2: field 'a.scores.fear': 1.5 is not a number in \[0, 1\]"),
    ({k: v for k, v in GOOD.items() if k != "b"}, r"d.jsonl:2: field 'b': missing"),
    ({**GOOD, "a": {**GOOD["a"], "landmarks": [[1, 2]]}}, r"d.jsonl:2: field 'a.landmarks': must be finite numbers of shape \(5, 2\)"),
    ({**GOOD, "b": {**GOOD["b"], "expression": "fear", "scores": {"fear": 0.2}}}, r"field 'b.expression': equals"),
])
def test_malformed_rows_name_line_and_field(tmp_path, bad, message):
    path = _rows(tmp_path, [GOOD, bad])
    with pytest.raises(PixelSmileError, match=message):
        load_triplets(path, check_files=False)


def test_rows_parse_with_alpha_curve(tmp_path):
    (tmp_path / "s.png").write_bytes(b"x")
    rows = load_triplets(_rows(tmp_path, [GOOD]), alpha_curve=[[0, 0], [0.5, 0.8], [1, 1]], check_files=False)
    assert (rows[0].a.expression, rows[0].b.expression) == ("fear", "surprised")
    assert rows[0].a.alpha == pytest.approx(0.8) and rows[0].b.alpha == pytest.approx(1.0)
    assert remap_alpha(0.25, [[0, 0], [0.5, 0.8], [1, 1]]) == pytest.approx(0.4)
    with pytest.raises(PixelSmileError, match=r"field 'a.image': file 'a.png' not found"):
        load_triplets(_rows(tmp_path, [GOOD]))


def test_config_errors(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("model: m\ndata: d.jsonl\noutput_dir: out\nlearning_rat: 0.1\n")
    with pytest.raises(PixelSmileError, match="unknown field"):
        load_config(f)
    f.write_text("model: m\ndata: d.jsonl\n")
    with pytest.raises(PixelSmileError, match="missing field.*output_dir"):
        load_config(f)
    f.write_text("model: m\ndata: d.jsonl\noutput_dir: out\nfeature_encoder: enc.py:make\n")
    cfg = load_config(f)
    assert cfg.output_dir == str(tmp_path / "out") and cfg.feature_encoder == f"{tmp_path / 'enc.py'}:make"
    assert (cfg.lora_rank, cfg.lora_alpha, cfg.tau, cfg.lambda_sc, cfg.lambda_id) == (64, 128, 0.07, 1.0, 0.1)
    with pytest.raises(PixelSmileError, match="'contrastive'"):
        TrainConfig(model="m", data="d", output_dir="o", contrastive="triplet")
    f.write_text("model: m\ndata: d.jsonl\noutput_dir: out\nbatch_size: four\n")  # one line: file, key, value
    with pytest.raises(PixelSmileError, match=r"c\.yaml'?: batch_size = 'four': Input should be a valid integer"):
        load_config(f)
    f.write_text("model: m\ndata: d.jsonl\noutput_dir: out\nlearning_rate: 1e-4\nmax_steps: 20.0\n")
    cfg = load_config(f)  # YAML reads 1e-4 as text: the field's type reads it as a number
    assert cfg.learning_rate == 1e-4 and cfg.max_steps == 20 and isinstance(cfg.max_steps, int)
    f.write_text("model: m\ndata: d.jsonl\noutput_dir: out\nsize: 33\n")  # the dataclass's own checks
    with pytest.raises(PixelSmileError, match="config field 'size' = 33 must be a multiple of 32"):
        load_config(f)


def test_model_path_and_device_errors(tmp_path):
    with pytest.raises(PixelSmileError, match="does not exist"):
        resolve_model(tmp_path / "nope")
    (tmp_path / "f.bin").write_bytes(b"")
    with pytest.raises(PixelSmileError, match="is a file"):
        resolve_model(tmp_path / "f.bin")
    with pytest.raises(PixelSmileError, match="no model_index.json"):
        resolve_model(tmp_path)
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    with pytest.raises(PixelSmileError, match="holds a StableDiffusionPipeline pipeline"):
        resolve_model(tmp_path)
    with pytest.raises(PixelSmileError, match="not in the local Hugging Face cache"):
        resolve_model("nobody-xyz/not-a-model-123")
    with pytest.raises(PixelSmileError, match="unknown dtype"):
        resolve_dtype("int8", torch.device("cpu"))
    if not torch.cuda.is_available():
        with pytest.raises(PixelSmileError, match="sees no CUDA GPU"):
            resolve_device("cuda")


def test_encoders_load_by_path_and_align_faces():
    feat = load_module(f"{ENCODERS}:feature_encoder", "feature encoder")
    assert not any(p.requires_grad for p in feat.parameters())
    with pytest.raises(PixelSmileError, match="feature encoder .*not found"):
        load_module("/nope/enc.py:make", "feature encoder")
    with pytest.raises(PixelSmileError, match="no attribute 'missing'"):
        load_module(f"{ENCODERS}:missing", "identity encoder")
    # landmarks already on the ArcFace template of a 112 image: the warp is the identity
    theta = alignment_theta(ARCFACE_112, None, 112, 112)
    assert torch.allclose(theta, torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]), atol=1e-5)
    img = torch.rand(1, 3, 112, 112)
    ident = IdentityEncoder(torch.nn.Identity(), 112)
    out = ident(img, theta.unsqueeze(0))
    assert torch.allclose(out, torch.nn.functional.normalize(img.flatten(1), dim=-1), atol=1e-5)
    # a box: the square around it; at scale 1 the warp is an exact crop
    theta_box = alignment_theta(None, np.array([20, 10, 76, 66]), 112, 56)
    grid = torch.nn.functional.affine_grid(theta_box.unsqueeze(0), [1, 3, 56, 56], align_corners=False)
    crop = torch.nn.functional.grid_sample(img, grid, align_corners=False)
    assert torch.allclose(crop, img[..., 10:66, 20:76], atol=1e-5)


def test_registration_is_lazy():
    code = ("import sys, facebench.pixelsmile.editor; from facebench.edit.base import EDITORS; "
            "m = EDITORS.meta('pixelsmile'); "
            "print(m['needs_gpu'], m['licence'].split()[0], 'diffusers' in sys.modules, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "Apache-2.0", "False", "False"]
