"""Symmetric joint training on the tiny pipeline: loss goes down, the LoRA works, resume is exact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from facebench.edit.base import ExpressionControl, get_editor
from facebench.pixelsmile.loading import PixelSmileError
from facebench.pixelsmile.tiny import TINY_OPTIONS
from facebench.pixelsmile.train.config import TrainConfig
from facebench.pixelsmile.train.precompute import precompute, sample_path
from facebench.pixelsmile.train.trainer import PixelSmileTrainer

ENCODERS = Path(__file__).parent / "tiny_encoders.py"
STEPS = 8


def _config(model: Path, data: Path, root: Path, name: str, **kw) -> TrainConfig:
    opts = dict(model=str(model), data=str(data), output_dir=str(root / name), cache_dir=str(root / "cache"),
                size=64, condition_area=56 * 56, feature_encoder=f"{ENCODERS}:feature_encoder",
                identity_encoder=f"{ENCODERS}:identity_encoder", feature_size=64, identity_size=32, lora_rank=4,
                lora_alpha=8, learning_rate=1e-2, warmup_steps=1, max_steps=STEPS, batch_size=2,
                mixed_precision="no", device="cpu", checkpoint_every=0, seed=5)
    opts.update(kw)
    return TrainConfig(**opts)


def _precompute_options(trainer: PixelSmileTrainer, model: str) -> dict:
    """The trainer's own precompute options, with ``model`` as the model's path in the cache key."""
    opts = trainer.precompute_options()
    return {**opts, "settings": {**opts["settings"], "model": model}, "progress": False}


@pytest.fixture(scope="module")
def run(tiny_model_dir, triplet_file, tmp_path_factory):
    """An uninterrupted run of STEPS steps, with its evaluation loss before and after."""
    root = tmp_path_factory.mktemp("train")
    trainer = PixelSmileTrainer(_config(tiny_model_dir, triplet_file, root, "full"), progress=False)
    before = trainer.evaluate()
    lora = trainer.train()
    return {"root": root, "trainer": trainer, "before": before, "after": trainer.evaluate(), "lora": lora}


def test_precompute_writes_one_file_per_sample_and_resumes(run, triplet_file):
    trainer, root = run["trainer"], run["root"]
    assert (trainer.precompute_report.written, trainer.precompute_report.skipped) == (2, 0)
    files = sorted((root / "cache").rglob("*.safetensors"))
    assert [f.relative_to(root / "cache").as_posix() for f in files] == [
        "shard-0000/00000000.safetensors", "shard-0000/00000001.safetensors"]
    assert not list((root / "cache").rglob("*.tmp"))
    files[1].unlink()
    from facebench.pixelsmile.train.data import load_triplets

    cfg = trainer.cfg
    report = precompute(trainer.pipe, load_triplets(triplet_file), cfg.cache_path,
                        **_precompute_options(trainer, str(cfg.model)))
    assert (report.written, report.skipped, report.failed) == (1, 1, [])
    assert sample_path(cfg.cache_path, 1, cfg.shard_size).exists()


def test_posterior_draws_do_not_depend_on_where_the_model_lies(run, triplet_file, tmp_path):
    """The latents drawn for a row come from the row and the run's seed, so a run is repeatable.

    (They were seeded from the sample's cache key, which holds the model's path: every pytest run
    trained on other latents, and 8 steps sometimes did not lower the loss.)
    """
    from safetensors.torch import load_file

    from facebench.pixelsmile.train.data import load_triplets

    trainer = run["trainer"]
    cfg = trainer.cfg
    assert cfg.latents == "sample"
    common = _precompute_options(trainer, str(tmp_path / "somewhere" / "else"))
    rows = load_triplets(triplet_file)
    precompute(trainer.pipe, rows, tmp_path / "same", **common)
    precompute(trainer.pipe, rows, tmp_path / "other", **{**common, "seed": cfg.seed + 1})
    for i in range(len(rows)):
        ours = load_file(sample_path(cfg.cache_path, i, cfg.shard_size))
        same = load_file(sample_path(tmp_path / "same", i, cfg.shard_size))
        other = load_file(sample_path(tmp_path / "other", i, cfg.shard_size))
        for k in ("control", "latent_a", "latent_b"):
            assert torch.equal(ours[k], same[k]), (i, k)
            assert not torch.equal(ours[k], other[k]), (i, k)


def test_training_lowers_the_loss(run):
    before, after = run["before"], run["after"]
    assert after["total"] < before["total"]
    assert all(np.isfinite(v) for v in after.values())
    assert before["sc"] > 0 and before["id"] > 0  # the contrastive and identity terms are active
    log = run["trainer"].history
    assert [h["step"] for h in log] == list(range(1, STEPS + 1))
    assert (Path(run["trainer"].cfg.output_dir) / "train_log.csv").is_file()


def test_saved_lora_changes_the_output(run, tiny_model_dir, photo):
    opts = dict(model=str(tiny_model_dir), device="cpu", **TINY_OPTIONS)
    control = ExpressionControl.single("angry", 0.8)
    plain = get_editor("pixelsmile", **opts).edit(photo, control, face=None)
    tuned_editor = get_editor("pixelsmile", lora=str(run["lora"]), **opts)
    tuned = tuned_editor.edit(photo, control)
    assert tuned_editor.lora.endswith("pytorch_lora_weights.safetensors")
    assert np.abs(plain.image.astype(int) - tuned.image.astype(int)).max() > 0


def test_resume_reproduces_the_uninterrupted_run(run, tiny_model_dir, triplet_file):
    root = run["root"]
    first = PixelSmileTrainer(_config(tiny_model_dir, triplet_file, root, "split"), progress=False)
    assert first.precompute_report.skipped == 2  # the shared cache is reused
    first.train_step()
    first.train_step()
    ckpt = first.save_checkpoint()
    assert sorted(p.name for p in ckpt.iterdir()) == ["lora.safetensors", "optimizer.pt", "scheduler.pt", "state.json"]
    second = PixelSmileTrainer(_config(tiny_model_dir, triplet_file, root, "split"), progress=False)
    assert second.load_checkpoint("latest") == 2
    second.train()
    full, resumed = run["trainer"].lora_state(), second.lora_state()
    assert full.keys() == resumed.keys() and len(full) > 0
    for k in full:
        assert torch.allclose(full[k], resumed[k], atol=1e-6), k
    losses = [round(h["total"], 5) for h in run["trainer"].history[2:]]
    assert [round(h["total"], 5) for h in second.history] == losses
    with pytest.raises(PixelSmileError, match="is incomplete"):
        (ckpt / "optimizer.pt").unlink()
        second.load_checkpoint(ckpt)


def test_train_command_reports_bad_config_in_one_line(tmp_path, capsys, tiny_model_dir, triplet_file):
    from facebench.cli import main

    bad = tmp_path / "c.json"
    bad.write_text('{"model": "m", "data": "d.jsonl", "output_dir": "o", "lora_rnak": 8}')
    assert main(["train", "pixelsmile", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"facebench train pixelsmile: error: config file {str(bad)!r}: unknown field(s) lora_rnak"]
    missing = tmp_path / "m.yaml"
    missing.write_text(f"model: {tmp_path / 'nothing'}\ndata: {triplet_file}\noutput_dir: out\n")
    assert main(["train", "pixelsmile", str(missing)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"facebench train pixelsmile: error: model path {str(tmp_path / 'nothing')!r} does not exist")
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"source": "x.png"}\n')
    missing.write_text(f"model: {tiny_model_dir}\ndata: {rows}\noutput_dir: out\n")
    assert main(["train", "pixelsmile", str(missing)]) == 2
    assert capsys.readouterr().err.strip().endswith("rows.jsonl:1: field 'source': file 'x.png' not found")
