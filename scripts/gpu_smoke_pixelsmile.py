"""GPU smoke test of PixelSmile on small random Qwen-Image-Edit-Plus pipelines (needs CUDA).

0. The ``official`` editor preset (the default) against a replay of the official script's calls
   (:mod:`facebench.pixelsmile.reference`) on the tiny pipeline on the GPU at the real 1024 default,
   for alphas 0, 0.5, 1, 1.5 and a blend, per dtype: ``equal`` must be true (bit for bit); also the
   largest difference with the noise generator moved to the CPU (non-zero on CUDA: the generator's
   device is part of the recipe) and seconds per edit.
1. For each size preset, a sweep of 8 alphas denoised in one batch (editor preset ``facebench``) vs 8
   separate edits: seconds, the looped/batched ratio and the largest pixel difference between the
   two (should be <= 1-2 levels).
2. A few symmetric training steps (training preset ``official``: decoded positives, timestep-gated
   identity weight, landmarks searched on each image every step) on the tiny pipeline (bf16 autocast, LoRA, contrastive and
   identity losses with small random encoders defined below): per-step time and losses, then the
   saved LoRA is loaded into an editor and must change its output.

    PYTHONPATH=src python scripts/gpu_smoke_pixelsmile.py [--steps 20] [--train-steps 6]

Presets: ``tiny`` (64 px, 2 layers x 4 heads x 16) and ``medium`` (512 px, 8 layers x 8 heads x 64,
text width 256): the second is closer to the shapes a real sweep batches.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

PRESETS = {
    "tiny": {"build": {}, "editor": {"size": 64, "condition_area": 56 * 56}},
    "medium": {"build": {"text_hidden": 256, "transformer_layers": 8, "transformer_heads": 8, "head_dim": 64},
               "editor": {"size": 512, "condition_area": 112 * 112}},
}


class _Encoder(torch.nn.Module):
    def __init__(self, seed: int) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, 2, 1, bias=False), torch.nn.Tanh(),
                                       torch.nn.Conv2d(8, 8, 3, 2, 1, bias=False), torch.nn.AdaptiveAvgPool2d(4),
                                       torch.nn.Flatten())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x - 0.5)


def feature_encoder() -> torch.nn.Module:
    """Small random stand-in for CLIP (loaded by path by the trainer)."""
    return _Encoder(11)


def identity_encoder() -> torch.nn.Module:
    """Small random stand-in for ArcFace."""
    return _Encoder(12)


DEVICE = "cuda"


def _sync() -> None:
    if DEVICE.startswith("cuda"):
        torch.cuda.synchronize()


def sweep_timing(preset: str, steps: int, dtype: str, image: np.ndarray) -> dict:
    from facebench.edit.base import ExpressionControl
    from facebench.pixelsmile.editor import PixelSmileEditor
    from facebench.pixelsmile.tiny import build_tiny_pipeline

    p = PRESETS[preset]
    editor = PixelSmileEditor(pipeline=build_tiny_pipeline(**p["build"]), preset="facebench", device=DEVICE,
                              dtype=dtype, steps=steps, **p["editor"])
    alphas = [float(a) for a in np.linspace(0, 1.5, 8)]
    editor.sweep(image, "happy", alphas)  # warm-up (kernels, prompt cache)
    _sync()
    t0 = time.perf_counter()
    batched = editor.sweep(image, "happy", alphas)
    _sync()
    t_batched = time.perf_counter() - t0
    t0 = time.perf_counter()
    looped = [editor.edit(image, ExpressionControl.single("happy", a)) for a in alphas]
    _sync()
    t_looped = time.perf_counter() - t0
    diff = max(int(np.abs(b.image.astype(int) - s.image.astype(int)).max()) for b, s in zip(batched, looped))
    return {"preset": preset, "size": p["editor"]["size"], "steps": steps, "dtype": dtype,
            "batched_s": round(t_batched, 4), "looped_s": round(t_looped, 4),
            "ratio_looped_over_batched": round(t_looped / t_batched, 2), "max_pixel_diff": diff,
            "peak_mem_gib": round(torch.cuda.max_memory_allocated() / 2**30, 3) if DEVICE != "cpu" else None}


def official_parity(steps: int, dtype: str, image: np.ndarray) -> dict:
    """The official preset vs the replay of the official calls, bit for bit, at the 1024 default."""
    from facebench.edit.base import ExpressionControl
    from facebench.pixelsmile.editor import PixelSmileEditor
    from facebench.pixelsmile.encoding import PromptEncoder
    from facebench.pixelsmile.reference import official_edit
    from facebench.pixelsmile.tiny import build_tiny_pipeline

    pipe = build_tiny_pipeline()
    editor = PixelSmileEditor(pipeline=pipe, device=DEVICE, dtype=dtype, steps=steps)  # official preset
    pipe.prompt_template_encode_start_idx = PromptEncoder(pipe).drop_index  # tiny tokenizer's template length
    crop = editor.prepare(image)[1]
    cases = [{"fear": a} for a in (0.0, 0.5, 1.0, 1.5)] + [{"fear": 0.6, "sad": 0.7}]
    diffs, times = [], []
    for w in cases:
        _sync()
        t0 = time.perf_counter()
        ours = editor.edit(image, ExpressionControl.blend(w)).image
        _sync()
        times.append(time.perf_counter() - t0)
        ref = official_edit(pipe, crop, w, steps=steps)
        diffs.append(int(np.abs(ours.astype(int) - ref.astype(int)).max()) if ours.shape == ref.shape else -1)
    cpu_gen = PixelSmileEditor(pipeline=pipe, steps=steps, generator_device="cpu")
    cpu_diff = int(np.abs(cpu_gen.edit(image, ExpressionControl.single("fear", 1.0)).image.astype(int)
                          - official_edit(pipe, crop, {"fear": 1.0}, steps=steps).astype(int)).max())
    return {"check": "official_parity", "dtype": dtype, "steps": steps, "output": list(ours.shape),
            "max_pixel_diff_per_case": diffs, "equal": all(d == 0 for d in diffs),
            "cpu_generator_max_pixel_diff": cpu_diff, "seconds_per_edit": round(float(np.mean(times[1:])), 4)}


def training_smoke(train_steps: int, image: np.ndarray, work: Path) -> dict:
    from PIL import Image

    from facebench.edit.base import ExpressionControl
    from facebench.pixelsmile.editor import PixelSmileEditor
    from facebench.pixelsmile.tiny import build_tiny_pipeline
    from facebench.pixelsmile.train.config import TrainConfig
    from facebench.pixelsmile.train.trainer import PixelSmileTrainer

    files = {}
    for name, (dy, dx, flip) in {"src": (0, 0, False), "a": (20, 10, False), "b": (5, 30, True)}.items():
        img = np.roll(image, (dy, dx), axis=(0, 1))
        files[name] = work / f"{name}.png"
        Image.fromarray(img[:, ::-1] if flip else img).save(files[name])
    row = {"source": str(files["src"]),
           "a": {"image": str(files["a"]), "expression": "fear", "scores": {"fear": 0.8}},
           "b": {"image": str(files["b"]), "expression": "surprised", "scores": {"surprised": 0.6},
                 "box": [100, 50, 400, 350]}}
    (work / "data.jsonl").write_text("\n".join(json.dumps(row) for _ in range(4)))
    me = str(Path(__file__).resolve())
    cfg = TrainConfig(model="(built in memory)", data=str(work / "data.jsonl"), output_dir=str(work / "out"),
                      size=64, feature_encoder=f"{me}:feature_encoder",
                      identity_encoder=f"{me}:identity_encoder", lora_rank=8, lora_alpha=16, learning_rate=1e-3,
                      warmup_steps=1, max_steps=train_steps, batch_size=2, mixed_precision="bf16" if DEVICE != "cpu" else "no", device=DEVICE,
                      checkpoint_every=0, feature_size=64, identity_size=32)
    trainer = PixelSmileTrainer(cfg, pipeline=build_tiny_pipeline(), progress=False)
    before = trainer.evaluate()["total"]
    times, log = [], []
    for _ in range(train_steps):
        _sync()
        t0 = time.perf_counter()
        log.append(trainer.train_step())
        _sync()
        times.append(time.perf_counter() - t0)
    after = trainer.evaluate()["total"]
    lora = trainer.save_lora()
    dt = "bf16" if DEVICE != "cpu" else "fp32"
    base = PixelSmileEditor(pipeline=build_tiny_pipeline(), device=DEVICE, dtype=dt, steps=4, size=64, output_size=64)
    tuned = PixelSmileEditor(pipeline=build_tiny_pipeline(), lora=str(lora), device=DEVICE, dtype=dt, steps=4, size=64,
                             output_size=64)
    ctrl = ExpressionControl.single("fear", 1.0)
    change = int(np.abs(base.edit(image, ctrl).image.astype(int) - tuned.edit(image, ctrl).image.astype(int)).max())
    return {"train_preset": cfg.preset, "train_steps": train_steps, "first_step_s": round(times[0], 4),
            "id_weights": [round(x["id_weight"], 6) for x in log], "id_faces_found": [x["id_faces"] for x in log],
            "mean_step_s_after_first": round(float(np.mean(times[1:])) if len(times) > 1 else times[0], 4),
            "eval_loss_before": round(before, 5), "eval_loss_after": round(after, 5),
            "step_losses": [round(x["total"], 4) for x in log], "lora_changes_output_max_pixel_diff": change}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=20, help="denoising steps per sweep (default 20)")
    ap.add_argument("--train-steps", type=int, default=6, help="training steps (default 6)")
    ap.add_argument("--parity-steps", type=int, default=4, help="denoising steps of the official parity check (default 4)")
    ap.add_argument("--presets", default="tiny,medium", help="comma-separated presets (default tiny,medium)")
    ap.add_argument("--device", default="cuda", help="cuda (default) or cpu for a dry run")
    ap.add_argument("--dtypes", default="bf16,fp32", help="sweep dtypes (default bf16,fp32)")
    args = ap.parse_args(argv)
    global DEVICE
    DEVICE = args.device

    from facebench.base.imageio import load_image
    from facebench.pixelsmile.loading import PixelSmileError, resolve_device
    from facebench.samples import astronaut_path

    try:
        resolve_device(DEVICE)
    except PixelSmileError as exc:
        print(f"gpu_smoke_pixelsmile: {exc}", file=sys.stderr)
        return 2
    name = torch.cuda.get_device_name(0) if DEVICE.startswith("cuda") else "cpu"
    print(f"device: {name}, torch {torch.__version__}")
    image = load_image(astronaut_path())
    for dtype in args.dtypes.split(","):
        print(json.dumps(official_parity(args.parity_steps, dtype, image)), flush=True)
    for preset in args.presets.split(","):
        for dtype in args.dtypes.split(","):
            if DEVICE.startswith("cuda"):
                torch.cuda.reset_peak_memory_stats()
            print(json.dumps(sweep_timing(preset, args.steps, dtype, image)), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(training_smoke(args.train_steps, image, Path(tmp))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
