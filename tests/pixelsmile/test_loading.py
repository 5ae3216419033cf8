"""LoRA files in the released key layout, and model ids resolved from a local Hugging Face cache."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from facebench.edit.base import ExpressionControl
from facebench.pixelsmile.editor import PixelSmileEditor
from facebench.pixelsmile.loading import PixelSmileError, load_lora, load_pipeline, resolve_model
from facebench.pixelsmile.tiny import TINY_OPTIONS
from facebench.pixelsmile.train.config import LORA_TARGETS


def released_lora(pipe, path: Path, *, prefix: str = "transformer.", rank: int = 4) -> dict[str, torch.Tensor]:
    """A random LoRA named as the release names its keys: the official trainer saves
    ``get_peft_model_state_dict`` through ``save_lora_weights``, i.e. ``transformer.<module>.lora_A.weight``
    / ``.lora_B.weight`` for the 12 target projections of every block (ComfyUI re-exports use
    ``diffusion_model.``)."""
    from safetensors.torch import save_file

    g = torch.Generator().manual_seed(0)
    state = {}
    for name, mod in pipe.transformer.named_modules():
        if name.startswith("transformer_blocks.") and any(name.endswith("." + t) for t in LORA_TARGETS):
            state[f"{prefix}{name}.lora_A.weight"] = torch.randn(rank, mod.in_features, generator=g) * 0.3
            state[f"{prefix}{name}.lora_B.weight"] = torch.randn(mod.out_features, rank, generator=g) * 0.3
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path))
    return state


@pytest.mark.parametrize("prefix", ["transformer.", "diffusion_model."])
def test_lora_in_the_released_key_layout_loads_every_weight(tiny_model_dir, tmp_path, photo, prefix):
    pipe = load_pipeline(tiny_model_dir, device="cpu", dtype="fp32")
    base = PixelSmileEditor(pipeline=pipe, **TINY_OPTIONS).edit(photo, ExpressionControl.single("fear", 1.0)).image
    state = released_lora(pipe, tmp_path / "PixelSmile-preview.safetensors", prefix=prefix)
    assert len(state) == 2 * 12 * len(pipe.transformer.transformer_blocks)
    load_lora(pipe, tmp_path / "PixelSmile-preview.safetensors")
    modules = dict(pipe.transformer.named_modules())
    for key, w in state.items():
        name, which = key[len(prefix):].rsplit(".lora_", 1)
        layer = getattr(modules[name], f"lora_{which[0]}")["pixelsmile"]
        assert torch.equal(layer.weight.detach(), w), key
    tuned = PixelSmileEditor(pipeline=pipe, **TINY_OPTIONS).edit(photo, ExpressionControl.single("fear", 1.0)).image
    assert np.abs(tuned.astype(int) - base.astype(int)).mean() > 1


def test_lora_for_another_model_is_refused(tiny_model_dir, tmp_path):
    from safetensors.torch import save_file

    pipe = load_pipeline(tiny_model_dir, device="cpu", dtype="fp32")
    save_file({"transformer.transformer_blocks.0.attn.to_q.lora_A.weight": torch.zeros(4, 7),
               "transformer.transformer_blocks.0.attn.to_q.lora_B.weight": torch.zeros(64, 4)},
              str(tmp_path / "other.safetensors"))
    with pytest.raises(PixelSmileError, match="has in_features 64 but the LoRA has 7"):
        load_lora(pipe, tmp_path / "other.safetensors")


def _fake_hub_cache(root: Path, repo_id: str, model_dir: Path) -> Path:
    """Lay ``model_dir`` out as huggingface_hub's cache does: blobs named by hash, a snapshot folder of
    symbolic links to them, and refs/main naming the snapshot's commit."""
    repo = root / f"models--{repo_id.replace('/', '--')}"
    commit = hashlib.sha1(repo_id.encode()).hexdigest()
    snap = repo / "snapshots" / commit
    for f in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        data = f.read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = snap / f.relative_to(model_dir)
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(blob, link.parent), link)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return snap


def test_model_id_resolves_from_the_local_hub_cache(tiny_model_dir, tmp_path, monkeypatch, photo):
    import huggingface_hub.constants as hub_constants

    cache = tmp_path / "hub"
    snap = _fake_hub_cache(cache, "Qwen/Qwen-Image-Edit-2511", tiny_model_dir)
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(cache))
    assert resolve_model("Qwen/Qwen-Image-Edit-2511") == snap
    assert (snap / "model_index.json").is_symlink()
    editor = PixelSmileEditor("Qwen/Qwen-Image-Edit-2511", device="cpu", dtype="fp32", **TINY_OPTIONS)
    assert editor.edit(photo, ExpressionControl.single("sad", 1.0)).image.shape == photo.shape
    with pytest.raises(PixelSmileError, match="'Qwen/Qwen-Image-Edit-2509': not a local folder and not in the local"):
        resolve_model("Qwen/Qwen-Image-Edit-2509")
    shutil.rmtree(cache)
    with pytest.raises(PixelSmileError, match="never downloads"):
        resolve_model("Qwen/Qwen-Image-Edit-2511")
