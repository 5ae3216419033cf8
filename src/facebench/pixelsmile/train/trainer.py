"""Fully symmetric joint training of a PixelSmile LoRA (paper sec. 4.2-4.4, appendix B).

One step, per sample of a confusing pair (a, b) with the same source image:

1. shared noise ``eps`` and flow time ``sigma`` for both branches (``timesteps="official"``: one of
   the scheduler's 1000 training timesteps ``t`` drawn uniformly, ``sigma = t / 1000``; "uniform":
   ``sigma ~ U(0, 1)``);
   ``x_t^i = (1 - sigma) x^i + sigma eps`` for the target latents ``x^a``, ``x^b``;
2. the transformer sees ``[x_t^i tokens | control-image tokens]`` with the conditioning
   ``e(alpha_i)`` of target i (both branches run in one batch); ``v^i`` is its velocity;
3. ``L_FM^i = || v^i - (eps - x^i) ||^2``;
4. the predicted clean latents ``x0^i = x_t^i - sigma v^i`` are decoded by the frozen VAE inside the
   graph and clamped to [-1, 1]; the positives ``P_i`` are the targets' latents decoded the same way
   (``positives="decoded"``, the official recipe) or the target pixels ("pixels"). The frozen
   feature encoder gives ``G_i`` and ``P_i`` for the symmetric contrastive loss; the frozen identity
   encoder sees faces aligned from 5 landmarks found on each generated and each positive image at
   this step (``id_landmarks="detect"``; the row's landmarks/box when none is found, or always with
   "given"). ``L_ID`` is averaged over photo rows only (anime rows have none) and weighted by
   ``1e-5`` if ``t > 600`` for the batch's first sample, else ``1 - 1e-5`` (``id_noise_weighting=
   "official"``), or per sample by ``1 - sigma`` ("linear");
5. ``L = (L_FM^a + L_FM^b) / 2 + lambda_sc L_SC + lambda_id L_ID``; AdamW on the LoRA parameters,
   gradient clipping, cosine schedule with warm-up.

Determinism and exact resume: the sample order is a stream over per-epoch permutations seeded by
``seed + epoch``, and the noise of micro-batch k on process r comes from a generator seeded by
(seed, k, r); the precomputed latents are drawn with a generator seeded by (seed, the row's text)
(:func:`facebench.pixelsmile.train.precompute.latent_seed`), so the same data, model and seed
train the same way wherever the model, the data and the cache lie; a checkpoint stores the LoRA
weights, the optimizer and schedule states and the step, so resuming reproduces the uninterrupted
run. Multi-GPU runs go through accelerate
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
from .encoders import FeatureEncoder, IdentityEncoder, alignment_theta, load_module
from .precompute import load_sample, precompute, sample_path

CHECKPOINTS = "checkpoints"


def _generator(*parts: int) -> torch.Generator:
    seed = 0
    for p in parts:
        seed = (seed * 1_000_003 + int(p)) % (2**63 - 1)
    return torch.Generator("cpu").manual_seed(seed)


def detect_landmarks(image: Any) -> Any:
    """5 landmarks (ArcFace order, pixels) of the largest face in an RGB uint8 image, or None."""
    from ...face.detect import detect_faces

    dets = detect_faces(image)
    return None if not dets else dets[0].keypoints


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

        self.landmarker = detect_landmarks
        self.samples = self._prepare_data(triplets)
        from diffusers import FlowMatchEulerDiscreteScheduler

        train_sched = FlowMatchEulerDiscreteScheduler.from_config(pipeline.scheduler.config)
        self.train_timesteps = train_sched.timesteps.float().cpu()  # t in (0, 1000], as the scheduler lists them
        self.train_sigmas = train_sched.sigmas[: len(self.train_timesteps)].float().cpu()
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
    def precompute_options(self) -> dict[str, Any]:
        """The keyword arguments this run passes to :func:`precompute` (besides rank, world and
        progress): the settings that key each sample file, the sizes, the crop, the latents and
        the seed of their draws."""
        cfg = self.cfg
        settings = {"model": str(cfg.model), "subject": cfg.subject, "alpha_curve": cfg.alpha_curve,
                    "text_dtype": str(self.pipe.text_encoder.dtype)}
        return dict(size=cfg.size, settings=settings, condition_area=cfg.condition_area,
                    shard_size=cfg.shard_size, crop=cfg.crop, latents=cfg.latents, seed=cfg.seed,
                    identity_size=cfg.identity_size)

    def _prepare_data(self, triplets: list[Triplet]) -> list[Path]:
        cfg = self.cfg
        report = precompute(self.pipe, triplets, cfg.cache_path, **self.precompute_options(),
                            rank=self.acc.process_index, world=self.acc.num_processes,
                            progress=self.progress and self.acc.is_main_process)
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
                 for k in ("control", "latent_a", "latent_b", "image_a", "image_b", "theta_a", "theta_b", "human")}
        rows = [(it[f"embeds_{br}"].unsqueeze(0), torch.ones(1, len(it[f"embeds_{br}"]), dtype=torch.bool))
                for br in ("a", "b") for it in items]
        embeds, mask = pad_rows(rows)  # a-branch rows first, then b-branch rows
        batch["embeds"], batch["mask"] = embeds.to(dev), mask.to(dev)
        return batch

    # -- loss -----------------------------------------------------------------------------------
    def flow_times(self, b: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``(t, sigma)`` for ``b`` samples: the scheduler's timesteps (official) or ``sigma ~ U(0, 1)``."""
        u = torch.rand(b, generator=generator)
        if self.cfg.timesteps == "official":
            idx = (u * len(self.train_timesteps)).long().clamp_max(len(self.train_timesteps) - 1)
            return self.train_timesteps[idx].to(self.device), self.train_sigmas[idx].to(self.device)
        return (u * 1000).to(self.device), u.to(self.device)

    def face_thetas(self, images: torch.Tensor, fallback: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Alignment matrices for ``images`` (B, 3, S, S) in [0, 1] from landmarks found on each image
        (:attr:`landmarker`); ``fallback[i]`` where no face is found. Returns ``(thetas, faces found)``."""
        if self.cfg.id_landmarks != "detect":
            return fallback, 0
        arr = (images.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        thetas, found = [], 0
        for i, img in enumerate(arr):
            lm = self.landmarker(img)
            if lm is None:
                thetas.append(fallback[i].cpu())
            else:
                found += 1
                thetas.append(alignment_theta(lm, None, img.shape[0], self.cfg.identity_size))
        return torch.stack(thetas).to(fallback.device), found

    def compute_losses(self, batch: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        """All loss terms of one micro-batch with noise and flow times drawn from ``generator``.

        Besides the terms (``fm_a``, ``fm_b``, ``sc``, ``id``, ``total``) the result holds the parts
        of the identity term: ``id_raw`` (before the time weight), ``id_weight``, ``id_rows`` (photo
        rows), ``id_faces`` (images whose landmarks were found this step) and ``t`` (timesteps).
        """
        cfg = self.cfg
        dtype = self.pipe.transformer.dtype
        x_a, x_b = pack_latents(batch["latent_a"]), pack_latents(batch["latent_b"])
        control = pack_latents(batch["control"])
        b = len(x_a)
        t, sigma = self.flow_times(b, generator)  # drawn first: flow_times(b, same generator) predicts them
        noise = torch.randn(x_a.shape, generator=generator).to(self.device)
        s = sigma.view(b, 1, 1)
        xt = torch.cat([(1 - s) * x_a + s * noise, (1 - s) * x_b + s * noise])
        h, w = batch["latent_a"].shape[-2:]
        v = velocity(self.model, xt.to(dtype), control.repeat(2, 1, 1).to(dtype), batch["embeds"].to(dtype),
                     batch["mask"], sigma.repeat(2), (h // 2, w // 2)).float()
        out = {"fm_a": L.flow_matching(v[:b], noise - x_a), "fm_b": L.flow_matching(v[b:], noise - x_b)}
        zero = v.new_zeros(())
        out.update(sc=zero, id=zero, id_raw=zero, id_weight=zero, t=t.float(),
                   id_rows=zero + float(batch["human"].sum()), id_faces=zero)
        if self.features is not None or self.identity is not None:
            x0 = xt - sigma.repeat(2).view(-1, 1, 1) * v
            gen = (decode_latents(self.pipe, unpack_latents(x0, h, w)).float().clamp(-1, 1) + 1) / 2
            if cfg.positives == "decoded":
                with torch.no_grad():
                    lat = torch.cat([batch["latent_a"], batch["latent_b"]])
                    gt = (decode_latents(self.pipe, lat).float().clamp(-1, 1) + 1) / 2
            else:
                gt = torch.cat([batch["image_a"], batch["image_b"]]).float() / 255
            out["positives"] = gt.detach()
            if self.features is not None:
                g = self.features(gen)
                with torch.no_grad():
                    p = self.features(gt)
                out["sc"] = L.symmetric_contrastive(g[:b], g[b:], p[:b], p[b:], cfg.contrastive, tau=cfg.tau,
                                                    margin=cfg.margin, eps=cfg.eps)
            human = batch["human"].bool()
            if self.identity is not None and bool(human.any()):
                fallback = torch.cat([batch["theta_a"], batch["theta_b"]])
                th_g, found_g = self.face_thetas(gen, fallback)
                th_p, found_p = self.face_thetas(gt, fallback)
                out["id_faces"] = zero + float(found_g + found_p)
                keep = torch.cat([human, human])
                g = self.identity(gen[keep], th_g[keep])
                with torch.no_grad():
                    p = self.identity(gt[keep], th_p[keep])
                n = int(human.sum())
                if cfg.id_noise_weighting == "linear":
                    out["id_raw"] = L.identity_loss(g[:n], p[:n], g[n:], p[n:])
                    out["id"] = L.identity_loss(g[:n], p[:n], g[n:], p[n:], (1 - sigma)[human])
                    out["id_weight"] = (1 - sigma)[human].mean()
                else:
                    out["id_raw"] = L.identity_loss(g[:n], p[:n], g[n:], p[n:])
                    weight = (1e-5 if float(t[0]) > 600 else 1.0 - 1e-5) if cfg.id_noise_weighting == "official" else 1.0
                    out["id_weight"] = zero + weight
                    out["id"] = weight * out["id_raw"]
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
                if v.ndim == 0:
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
                if v.ndim == 0:
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
