"""Training as the official release trains (tiny pipeline): its JSONL format, decoded positives,
the absolute-timestep identity weight, no identity loss on anime rows, landmarks found per step."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from facebench.pixelsmile.loading import PixelSmileError
from facebench.pixelsmile.train.config import TrainConfig
from facebench.pixelsmile.train.data import load_triplets
from facebench.pixelsmile.train.trainer import PixelSmileTrainer, detect_landmarks

ENCODERS = Path(__file__).parent / "tiny_encoders.py"


def _official_rows() -> list[dict]:
    """Rows in the official release's layout (src with image and boxes; dst with two targets)."""
    from facebench.samples import sample_paths

    sp = sample_paths()
    return [
        {"src": {"image": str(sp["feat_single"]), "boxes": [[40, 30, 200, 210]]},
         "dst": [{"image": str(sp["feat_anger"]), "category": "angry", "scores": {"angry": 0.9, "disgust": 0.2},
                  "boxes": [30, 20, 220, 230]},
                 {"image": str(sp["feat_disgust"]), "category": "disgust", "scores": {"disgust": 0.7},
                  "boxes": []}]},
        {"src": {"image": str(sp["feat_happy"]), "boxes": []},
         "dst": [{"image": str(sp["feat_surprise"]), "category": "surprised", "scores": {"surprised": 0.8}},
                 {"image": str(sp["feat_happy"]), "category": "fear", "scores": {"fear": 0.4}, "boxes": None}]},
    ]


@pytest.fixture(scope="module")
def official_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("official") / "train.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in _official_rows()) + "\n")
    return path


def test_official_jsonl_loads_as_it_is(official_file, tmp_path):
    rows = load_triplets(official_file)
    assert [(r.a.expression, r.b.expression) for r in rows] == [("angry", "disgust"), ("surprised", "fear")]
    assert rows[0].a.alpha == 0.9 and rows[0].b.alpha == 0.7 and rows[1].b.alpha == 0.4
    assert np.array_equal(rows[0].source_box, [40, 30, 200, 210])  # the first of a list of boxes
    assert np.array_equal(rows[0].a.box, [30, 20, 220, 230]) and rows[0].b.box is None and rows[1].source_box is None
    assert rows[0].id == "line-1" and rows[0].subject == "person"
    assert [r.a.alpha for r in load_triplets(official_file, alpha_curve=[[0, 0.5], [1, 1.5]])] == [1.4, 1.3]
    assert load_triplets(official_file, alpha_curve="identity")[0].a.alpha == 0.9
    with pytest.raises(PixelSmileError, match="alpha_curve 'paper' is not a known remap"):
        load_triplets(official_file, alpha_curve="paper")
    bad = _official_rows()[:1]
    bad[0]["dst"][1].update(category="angry", scores={"angry": 0.5})
    (tmp_path / "bad.jsonl").write_text(json.dumps(bad[0]) + "\n")
    with pytest.raises(PixelSmileError, match=r"bad.jsonl:1: field 'dst\[1\].category': equals the other"):
        load_triplets(tmp_path / "bad.jsonl")
    del bad[0]["dst"][1]
    (tmp_path / "bad.jsonl").write_text(json.dumps(bad[0]) + "\n")
    with pytest.raises(PixelSmileError, match=r"field 'dst': must be a list of two targets"):
        load_triplets(tmp_path / "bad.jsonl")


@pytest.fixture(scope="module")
def mixed_file(tmp_path_factory) -> Path:
    """One official photo row and one anime row (facebench's row format carries a per-row subject)."""
    from facebench.samples import sample_paths

    sp = sample_paths()
    rows = [_official_rows()[0], {"source": str(sp["astronaut"]), "subject": "character",
                                  "a": {"image": str(sp["feat_surprise"]), "expression": "surprised",
                                        "scores": {"surprised": 0.8}},
                                  "b": {"image": str(sp["feat_happy"]), "expression": "fear", "scores": {"fear": 0.6}}}]
    path = tmp_path_factory.mktemp("mixed") / "train.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


@pytest.fixture(scope="module")
def trainer(tiny_model_dir, mixed_file, tmp_path_factory):
    root = tmp_path_factory.mktemp("official-train")
    cfg = TrainConfig(model=str(tiny_model_dir), data=str(mixed_file), output_dir=str(root / "out"), size=64,
                      feature_encoder=f"{ENCODERS}:feature_encoder", identity_encoder=f"{ENCODERS}:identity_encoder",
                      feature_size=64, identity_size=32, lora_rank=4, lora_alpha=8, max_steps=1, batch_size=2,
                      mixed_precision="no", device="cpu", checkpoint_every=0, seed=3)
    assert (cfg.preset, cfg.positives, cfg.id_noise_weighting, cfg.timesteps, cfg.id_landmarks, cfg.crop,
            cfg.condition_area, cfg.latents) == ("official", "decoded", "official", "official", "detect", "box", None,
                                                 "sample")
    return PixelSmileTrainer(cfg, progress=False)


def _draw(trainer, batch, want_high: bool):
    """compute_losses with the first seed whose first timestep is above (or at most) 600."""
    for seed in range(200):
        t, _ = trainer.flow_times(len(batch["human"]), torch.Generator().manual_seed(seed))
        if (float(t[0]) > 600) == want_high:
            with torch.no_grad():
                return trainer.compute_losses(batch, torch.Generator().manual_seed(seed))
    raise AssertionError("no such draw")


def test_step_uses_decoded_positives_and_the_absolute_timestep_weight(trainer):
    batch = trainer.load_batch([0, 1])
    assert batch["human"].tolist() == [1, 0]
    seen = []

    def recording(image):
        seen.append(image.shape)
        return detect_landmarks(image)

    trainer.landmarker = recording
    low, high = _draw(trainer, batch, False), _draw(trainer, batch, True)
    # timesteps are the scheduler's, sigma = t / 1000
    assert set(low["t"].tolist()) <= set(trainer.train_timesteps.tolist())
    assert float(high["t"][0]) > 600 >= float(low["t"][0])
    assert float(low["id_weight"]) == pytest.approx(1 - 1e-5, abs=1e-7) and float(high["id_weight"]) == pytest.approx(1e-5)
    for out in (low, high):
        assert float(out["id_raw"]) > 0 and torch.allclose(out["id"], out["id_weight"] * out["id_raw"])
        assert float(out["id_rows"]) == 1  # the anime row has no identity loss
    # landmarks were searched on every generated and every positive image, at each step
    assert seen == [(64, 64, 3)] * 8 * 2
    # positives: the targets' latents decoded by the VAE and clamped, not the raw target pixels
    with torch.no_grad():
        from facebench.pixelsmile.sampler import decode_latents

        lat = torch.cat([batch["latent_a"], batch["latent_b"]])
        ref = (decode_latents(trainer.pipe, lat).float().clamp(-1, 1) + 1) / 2
    assert torch.equal(low["positives"], ref)
    raw = torch.cat([batch["image_a"], batch["image_b"]]).float() / 255
    assert (low["positives"] - raw).abs().mean() > 0.05


def test_no_identity_loss_on_anime_rows(trainer):
    only_anime = trainer.load_batch([1, 1])
    out = _draw(trainer, only_anime, False)
    assert float(out["id_rows"]) == 0 and float(out["id"]) == 0 and float(out["id_raw"]) == 0
    expect = (out["fm_a"] + out["fm_b"]) / 2 + trainer.cfg.lambda_sc * out["sc"]
    assert torch.allclose(out["total"], expect)


def test_landmarks_found_on_a_real_face_align_the_identity_crop(trainer):
    """On a real face the detected landmarks replace the row's fallback alignment."""
    from facebench.base.imageio import load_image
    from facebench.base.pixels import resize_to
    from facebench.pixelsmile.editor import square_box
    from facebench.samples import sample_paths

    img = load_image(sample_paths()["feat_single"])
    x0, y0, side = square_box(img.shape)
    face = resize_to(img[y0:y0 + side, x0:x0 + side], (256, 256))
    lm = detect_landmarks(face)
    assert lm is not None and lm.shape == (5, 2)
    x = torch.from_numpy(np.array(face)).permute(2, 0, 1)[None].float() / 255
    fallback = torch.tensor([[[1.0, 0, 0], [0, 1.0, 0]]])
    thetas, found = trainer.face_thetas(x, fallback)
    assert found == 1 and not torch.allclose(thetas, fallback)
    noise = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    thetas, found = trainer.face_thetas(noise, fallback)
    assert found == 0 and torch.equal(thetas, fallback)


def test_precomputed_latents_are_seeded_posterior_draws(trainer):
    """Official precompute samples the VAE posterior (not its mode), reproducibly per sample."""
    from facebench.pixelsmile.encoding import PromptEncoder
    from facebench.pixelsmile.train.precompute import load_sample, precompute_sample

    triplets = load_triplets(trainer.cfg.data)
    enc = PromptEncoder(trainer.pipe)
    one = precompute_sample(trainer.pipe, enc, triplets[0], 64, 32, "box", latent_seed=7)
    again = precompute_sample(trainer.pipe, enc, triplets[0], 64, 32, "box", latent_seed=7)
    mode = precompute_sample(trainer.pipe, enc, triplets[0], 64, 32, "box", latent_seed=None)
    assert torch.equal(one["latent_a"], again["latent_a"]) and not torch.equal(one["latent_a"], mode["latent_a"])
    stored = load_sample(trainer.samples[0])
    assert not torch.equal(stored["latent_a"], mode["latent_a"])  # the trainer's cache holds draws too
    # boxes: the row's face box decides the crop (the source box is given on row 1)
    centre = precompute_sample(trainer.pipe, enc, triplets[0], 64, 32, "centre", latent_seed=7)
    assert not torch.equal(one["control"], centre["control"])
