"""Fully symmetric joint training of a PixelSmile LoRA (paper sec. 4.2-4.4, appendix B).

One step, per sample of a confusing pair (a, b) with the same source image:

1. shared noise ``eps`` and flow time ``sigma ~ U(0, 1)`` for both branches;
   ``x_t^i = (1 - sigma) x^i + sigma eps`` for the target latents ``x^a``, ``x^b``;
2. the transformer sees ``[x_t^i tokens | control-image tokens]`` with the conditioning
   ``e(alpha_i)`` of target i (both branches run in one batch); ``v^i`` is its velocity;
3. ``L_FM^i = || v^i - (eps - x^i) ||^2``;
4. the predicted clean latents ``x0^i = x_t^i - sigma v^i`` are decoded by the frozen VAE inside the
   graph; the frozen feature encoder gives ``G_i`` and ``P_i`` (ground truth) for the symmetric
   contrastive loss, the frozen identity encoder gives embeddings for ``L_ID`` (weighted by
   ``1 - sigma`` so that nearly pure-noise predictions count little, when ``id_noise_weighting`` is
   "linear");
5. ``L = (L_FM^a + L_FM^b) / 2 + lambda_sc L_SC + lambda_id L_ID``; AdamW on the LoRA parameters,
   gradient clipping, cosine schedule with warm-up.

Determinism and exact resume: the sample order is a stream over per-epoch permutations seeded by
``seed + epoch``, and the noise of micro-batch k on process r comes from a generator seeded by
(seed, k, r); a checkpoint stores the LoRA weights, the optimizer and schedule states and the step,
so resuming reproduces the uninterrupted run. Multi-GPU runs go through accelerate
(``accelerate launch -m facebench train pixelsmile CONFIG``).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any, Sequence

import torch

from ..conditioning import pad_rows
from ..loading import PixelSmileError, load_pipeline, resolve_device, resolve_model
from ..sampler import decode_latents, pack_latents, unpack_latents, velocity
from . import losses as L
from .config import TrainConfig
from .data import Triplet, load_triplets
from .encoders import FeatureEncoder, IdentityEncoder, load_module
from .precompute import load_sample, precompute, sample_path

CHECKPOINTS = "checkpoints"


def _generator(*parts: int) -> torch.Generator:
    seed = 0
    for p in parts:
        seed = (seed * 1_000_003 + int(p)) % (2**63 - 1)
    return torch.Generator("cpu").manual_seed(seed)


class PixelSmileTrainer:
    """Owns the pipeline, the LoRA, the optimiser and the data of one training run."""

    def __init__(self, config: TrainConfig, *, pipeline: Any = None, progress: bool = True) -> None:
        from accelerate import Accelerator
        from diffusers.optimization import get_cosine_schedule_with_warmup
        from peft import LoraConfig

        self.cfg, self.progress = config, progress
        # bad inputs fail in one line before anything heavy starts
        if config.device is not None:
            resolve_device(config.device)
        if pipeline is None:
            resolve_model(config.model)
        triplets = load_triplets(config.data, alpha_curve=config.alpha_curve, default_subject=config.subject)
        cpu = config.device is not None and str(config.device).startswith("cpu")
        self.acc = Accelerator(mixed_precision=config.mixed_precision, cpu=cpu)
        self.device = self.acc.device
        weight_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(config.mixed_precision, torch.float32)
        if pipeline is None:
            pipeline = load_pipeline(config.model, device=self.device, dtype=weight_dtype)
        elif pipeline.transformer.dtype != weight_dtype:
            pipeline.to(self.device, weight_dtype)
        else:
            pipeline.to(self.device)
        self.pipe = pipeline
        if config.lambda_sc > 0 and not config.feature_encoder:
            raise PixelSmileError("config: feature_encoder is required when lambda_sc > 0 (the contrastive loss)")
        self.features = (FeatureEncoder(load_module(config.feature_encoder, "feature encoder"), config.feature_size)
                         .to(self.device) if config.feature_encoder else None)
        self.identity = (IdentityEncoder(load_module(config.identity_encoder, "identity encoder"), config.identity_size)
                         .to(self.device) if config.identity_encoder and config.lambda_id > 0 else None)

        self.samples = self._prepare_data(triplets)
        pipeline.text_encoder.to("cpu")  # only needed for precompute

        tr = pipeline.transformer
        tr.requires_grad_(False)
        pipeline.vae.requires_grad_(False)
        torch.manual_seed(config.seed)  # the LoRA's random init is part of the run's determinism
        tr.add_adapter(LoraConfig(r=config.lora_rank, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                                  init_lora_weights="gaussian", target_modules=list(config.lora_targets)))
        for p in tr.parameters():
            if p.requires_grad:
                p.data = p.data.float()
        if config.gradient_checkpointing:
            tr.enable_gradient_checkpointing()
        self.params = [p for p in tr.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(self.params, lr=config.learning_rate, betas=tuple(config.adam_betas),
                                weight_decay=config.weight_decay, eps=config.adam_eps)
        self.total_steps = config.max_steps or math.ceil(
            config.epochs * len(self.samples) / (config.batch_size * config.grad_accum * self.acc.num_processes))
        self.lr_scheduler = get_cosine_schedule_with_warmup(opt, config.warmup_steps, self.total_steps)
        self.model, self.optimizer = self.acc.prepare(tr, opt)
        self.step = 0
        self.history: list[dict[str, float]] = []

    # -- data ---------------------------------------------------------------------------------------
    def _prepare_data(self, triplets: list[Triplet]) -> list[Path]:
        cfg = self.cfg
        settings = {"model": str(cfg.model), "subject": cfg.subject, "alpha_curve": cfg.alpha_curve,
                    "text_dtype": str(self.pipe.text_encoder.dtype)}
        report = precompute(self.pipe, triplets, cfg.cache_path, size=cfg.size, settings=settings,
                            condition_area=cfg.condition_area, shard_size=cfg.shard_size,
                            rank=self.acc.process_index, world=self.acc.num_processes,
                            identity_size=cfg.identity_size, progress=self.progress and self.acc.is_main_process)
        self.precompute_report = report
        self.acc.wait_for_everyone()
        for line in report.failed:
            self.acc.print(f"precompute failed: {line}")
        paths = [sample_path(cfg.cache_path, i, cfg.shard_size) for i in range(len(triplets))]
        paths = [p for p in paths if p.exists()]
        if not paths:
            raise PixelSmileError(f"no training sample could be precomputed from {cfg.data!r}")
        return paths

    def batch_indices(self, micro: int) -> list[int]:
        """Sample indices of micro-batch ``micro`` on this process (a seeded stream over epochs)."""
        n, b = len(self.samples), self.cfg.batch_size
        start = (micro * self.acc.num_processes + self.acc.process_index) * b
        out = []
        for k in range(start, start + b):
            epoch, pos = divmod(k, n)
            perm = torch.randperm(n, generator=torch.Generator("cpu").manual_seed(self.cfg.seed + epoch))
            out.append(int(perm[pos]))
        return out

    def load_batch(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        """Stack precomputed samples: latents, padded conditionings with masks, images, thetas."""
        items = [load_sample(self.samples[i]) for i in indices]
        dev = self.device
        batch = {k: torch.stack([it[k] for it in items]).to(dev)
                 for k in ("control", "latent_a", "latent_b", "image_a", "image_b", "theta_a", "theta_b")}
        rows = [(it[f"embeds_{br}"].unsqueeze(0), torch.ones(1, len(it[f"embeds_{br}"]), dtype=torch.bool))
                for br in ("a", "b") for it in items]
        embeds, mask = pad_rows(rows)  # a-branch rows first, then b-branch rows
        batch["embeds"], batch["mask"] = embeds.to(dev), mask.to(dev)
        return batch

    # -- loss -----------------------------------------------------------------------------------
    def compute_losses(self, batch: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        """All loss terms of one micro-batch with noise and flow times drawn from ``generator``."""
        cfg = self.cfg
        dtype = self.pipe.transformer.dtype
        x_a, x_b = pack_latents(batch["latent_a"]), pack_latents(batch["latent_b"])
        control = pack_latents(batch["control"])
        b = len(x_a)
        noise = torch.randn(x_a.shape, generator=generator).to(self.device)
        sigma = torch.rand(b, generator=generator).to(self.device)
        s = sigma.view(b, 1, 1)
        xt = torch.cat([(1 - s) * x_a + s * noise, (1 - s) * x_b + s * noise])
        h, w = batch["latent_a"].shape[-2:]
        v = velocity(self.model, xt.to(dtype), control.repeat(2, 1, 1).to(dtype), batch["embeds"].to(dtype),
                     batch["mask"], sigma.repeat(2), (h // 2, w // 2)).float()
        out = {"fm_a": L.flow_matching(v[:b], noise - x_a), "fm_b": L.flow_matching(v[b:], noise - x_b)}
        zero = v.new_zeros(())
        out["sc"], out["id"] = zero, zero
        if self.features is not None or self.identity is not None:
            x0 = xt - sigma.repeat(2).view(-1, 1, 1) * v
            gen = (decode_latents(self.pipe, unpack_latents(x0, h, w)).float() + 1) / 2
            gt = torch.cat([batch["image_a"], batch["image_b"]]).float() / 255
            if self.features is not None:
                g = self.features(gen)
                with torch.no_grad():
                    p = self.features(gt)
                out["sc"] = L.symmetric_contrastive(g[:b], g[b:], p[:b], p[b:], cfg.contrastive, tau=cfg.tau,
                                                    margin=cfg.margin, eps=cfg.eps)
            if self.identity is not None:
                thetas = torch.cat([batch["theta_a"], batch["theta_b"]])
                g = self.identity(gen, thetas)
                with torch.no_grad():
                    p = self.identity(gt, thetas)
                weight = (1 - sigma) if cfg.id_noise_weighting == "linear" else None
                out["id"] = L.identity_loss(g[:b], p[:b], g[b:], p[b:], weight)
        out["total"] = L.total_loss(out["fm_a"], out["fm_b"], out["sc"], out["id"] if self.identity else None,
                                    lambda_sc=cfg.lambda_sc if self.features is not None else 0.0,
                                    lambda_id=cfg.lambda_id)
        return out

    @torch.no_grad()
    def evaluate(self, indices: Sequence[int] | None = None, seed: int = 1234, draws: int = 4) -> dict[str, float]:
        """Loss terms on fixed samples, averaged over ``draws`` fixed noise draws (comparable across training)."""
        self.model.eval()
        idx = list(indices) if indices is not None else list(range(min(len(self.samples), self.cfg.batch_size)))
        batch = self.load_batch(idx)
        sums: dict[str, float] = {}
        for d in range(draws):
            with self.acc.autocast():
                out = self.compute_losses(batch, torch.Generator("cpu").manual_seed(seed + d))
            for k, v in out.items():
                sums[k] = sums.get(k, 0.0) + float(v) / draws
        return sums

    # -- training ---------------------------------------------------------------------------------
    def train_step(self) -> dict[str, float]:
        """One optimiser step (``grad_accum`` micro-batches); returns the averaged loss terms."""
        cfg = self.cfg
        self.model.train()
        sums: dict[str, float] = {}
        for j in range(cfg.grad_accum):
            micro = self.step * cfg.grad_accum + j
            gen = _generator(cfg.seed, micro, self.acc.process_index)
            sync = j == cfg.grad_accum - 1
            ctx = self.acc.no_sync(self.model) if not sync and self.acc.num_processes > 1 else contextlib.nullcontext()
            with ctx, self.acc.autocast():
                out = self.compute_losses(self.load_batch(self.batch_indices(micro)), gen)
                self.acc.backward(out["total"] / cfg.grad_accum)
            for k, v in out.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach()) / cfg.grad_accum
        self.acc.clip_grad_norm_(self.params, cfg.max_grad_norm)
        self.optimizer.step()
        self.lr_scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        sums["lr"] = self.lr_scheduler.get_last_lr()[0]
        sums["step"] = self.step
        self.history.append(sums)
        return sums

    def train(self, until_step: int | None = None) -> Path:
        """Train to ``until_step`` (default: the configured total), checkpointing on the way; returns the LoRA folder."""
        from tqdm.auto import tqdm

        end = until_step or self.total_steps
        bar = tqdm(total=end, initial=self.step, desc="train pixelsmile",
                   disable=not (self.progress and self.acc.is_main_process))
        while self.step < end:
            log = self.train_step()
            bar.update(1)
            if self.step % max(1, self.cfg.log_every) == 0:
                bar.set_postfix(loss=f"{log['total']:.4f}", lr=f"{log['lr']:.2e}")
            if self.cfg.checkpoint_every and self.step % self.cfg.checkpoint_every == 0:
                self.save_checkpoint()
        bar.close()
        self.save_history()
        return self.save_lora()

    # -- saving ---------------------------------------------------------------------------------------
    def lora_state(self) -> dict[str, torch.Tensor]:
        """The trainable LoRA weights (peft names)."""
        from peft.utils import get_peft_model_state_dict

        return get_peft_model_state_dict(self.acc.unwrap_model(self.model))

    def save_lora(self, folder: str | Path | None = None) -> Path:
        """Save the LoRA in diffusers' format (``pytorch_lora_weights.safetensors``) for the editor."""
        from diffusers import QwenImageEditPlusPipeline

        folder = Path(folder or Path(self.cfg.output_dir) / "lora")
        self.acc.wait_for_everyone()
        if self.acc.is_main_process:
            state = {k: v.detach().float().cpu().contiguous() for k, v in self.lora_state().items()}
            QwenImageEditPlusPipeline.save_lora_weights(folder, transformer_lora_layers=state)
        return folder

    def save_history(self) -> Path | None:
        """The per-step loss terms as ``output_dir/train_log.csv``."""
        if not self.history or not self.acc.is_main_process:
            return None
        import pandas as pd

        path = Path(self.cfg.output_dir) / "train_log.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(self.history).to_csv(path, index=False)
        return path

    def save_checkpoint(self) -> Path:
        """Write ``checkpoints/step-NNNNNNNN`` atomically (temporary folder, then rename); keep the newest few."""
        from safetensors.torch import save_file

        root = Path(self.cfg.output_dir) / CHECKPOINTS
        final = root / f"step-{self.step:08d}"
        self.acc.wait_for_everyone()
        if self.acc.is_main_process:
            tmp = root / f".step-{self.step:08d}.{os.getpid()}.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            save_file({k: v.detach().cpu().contiguous() for k, v in self.lora_state().items()}, str(tmp / "lora.safetensors"))
            torch.save(self.optimizer.state_dict(), tmp / "optimizer.pt")
            torch.save(self.lr_scheduler.state_dict(), tmp / "scheduler.pt")
            (tmp / "state.json").write_text(json.dumps({"step": self.step, "time": time.time(),
                                                        "config": self.cfg.to_dict()}, indent=1, default=str))
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
            old = sorted(root.glob("step-*"))[: -max(1, self.cfg.keep_checkpoints)]
            for d in old:
                shutil.rmtree(d, ignore_errors=True)
        self.acc.wait_for_everyone()
        return final

    def load_checkpoint(self, where: str | Path = "latest") -> int:
        """Restore LoRA weights, optimizer, schedule and step from a checkpoint folder (or the latest)."""
        from peft.utils import set_peft_model_state_dict
        from safetensors.torch import load_file

        if str(where) == "latest":
            found = sorted((Path(self.cfg.output_dir) / CHECKPOINTS).glob("step-*"))
            if not found:
                raise PixelSmileError(f"no checkpoint to resume from in {str(Path(self.cfg.output_dir) / CHECKPOINTS)!r}")
            where = found[-1]
        d = Path(where)
        needed = ("lora.safetensors", "optimizer.pt", "scheduler.pt", "state.json")
        missing = [n for n in needed if not (d / n).is_file()]
        if missing:
            raise PixelSmileError(f"checkpoint {str(d)!r} is incomplete (missing {', '.join(missing)})")
        state = load_file(str(d / "lora.safetensors"))
        result = set_peft_model_state_dict(self.acc.unwrap_model(self.model), state)
        bad = [k for k in getattr(result, "unexpected_keys", []) if "lora" in k]
        if bad:
            raise PixelSmileError(f"checkpoint {str(d)!r} does not match this LoRA setup (e.g. {bad[0]!r})")
        self.optimizer.load_state_dict(torch.load(d / "optimizer.pt", map_location=self.device, weights_only=False))
        self.lr_scheduler.load_state_dict(torch.load(d / "scheduler.pt", weights_only=False))
        self.step = int(json.loads((d / "state.json").read_text())["step"])
        return self.step
