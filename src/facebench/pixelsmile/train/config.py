"""The training configuration of ``facebench train pixelsmile CONFIG`` (a JSON or YAML file).

Defaults are the paper's (appendix B, method notes "Training"): LoRA rank 64 / alpha 128 /
dropout 0 on attention and MLP projections of both streams; AdamW (0.9, 0.999), weight decay 1e-3,
eps 1e-8; lr 1e-4, cosine schedule with 500 warm-up steps; bf16; gradient clipping 1.0; batch 4
per GPU; InfoNCE tau 0.07 (hinge m 0.2, log-ratio eps 1e-6); lambda_sc 1.0, lambda_id 0.1.
Relative paths are resolved against the config file's folder.

``preset`` ("official", the default, or "facebench") fills the fields left unset (None) among
:data:`PRESET_FIELDS`. "official" follows the authors' training script (Ammmob/PixelSmile
``train.py`` / ``precompute.py``): crops around the rows' face boxes, the source given to the text
encoder as it is, VAE latents drawn from the posterior (seeded per sample, not the mode), flow times drawn as the scheduler's discrete timesteps ``t`` (sigma = t / 1000),
contrastive and identity positives decoded by the VAE from the targets' latents and clamped, the
identity loss weighted 1e-5 when ``t > 600`` (the batch's first sample) else 1 - 1e-5, faces for
the identity encoder aligned from landmarks found on each generated and positive image at every
step, and no identity loss on anime rows. "facebench" is this package's earlier recipe (centre
crops, 384^2 encoder input, uniform sigma, raw target pixels as positives, the row's landmarks,
identity weight 1 - sigma).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...base.configfile import build_config, read_config_file
from ..loading import PixelSmileError

#: LoRA targets (peft suffix match): image-stream attention q/k/v/out, text-stream q/k/v/out and
#: both streams' MLP projections of every ``QwenImageTransformerBlock``.
LORA_TARGETS: tuple[str, ...] = (
    "attn.to_q", "attn.to_k", "attn.to_v", "attn.to_out.0",
    "attn.add_q_proj", "attn.add_k_proj", "attn.add_v_proj", "attn.to_add_out",
    "img_mlp.net.0.proj", "img_mlp.net.2", "txt_mlp.net.0.proj", "txt_mlp.net.2",
)


#: Values the presets give to fields left unset (see the module docstring).
TRAIN_PRESETS: dict[str, dict[str, Any]] = {
    "official": {"crop": "box", "id_noise_weighting": "official", "timesteps": "official",
                 "positives": "decoded", "id_landmarks": "detect", "latents": "sample"},
    "facebench": {"crop": "centre", "condition_area": 384 * 384, "id_noise_weighting": "linear",
                  "timesteps": "uniform", "positives": "pixels", "id_landmarks": "given", "latents": "mode"},
}
PRESET_FIELDS: tuple[str, ...] = ("crop", "condition_area", "id_noise_weighting", "timesteps", "positives",
                                  "id_landmarks", "latents")


@dataclass
class TrainConfig:
    """Every training option; see the module docstring for the defaults' sources."""

    model: str
    data: str
    output_dir: str
    cache_dir: str | None = None
    subject: str = "person"
    preset: str = "official"
    size: int = 512
    condition_area: int | None = None
    crop: str | None = None  # "box" (square around the row's face box, else centre) | "centre"
    alpha_curve: list[list[float]] | str | None = None
    shard_size: int = 1000
    # encoders (pluggable modules given by path; see encoders.py)
    feature_encoder: str | None = None
    identity_encoder: str | None = None
    feature_size: int = 224
    identity_size: int = 112
    id_noise_weighting: str | None = None  # "official" (t > 600 -> 1e-5) | "linear" (1 - sigma) | "none"
    timesteps: str | None = None  # "official" (scheduler timesteps t, sigma = t / 1000) | "uniform"
    positives: str | None = None  # "decoded" (VAE-decoded target latents, clamped) | "pixels"
    id_landmarks: str | None = None  # "detect" (on each image every step) | "given" (the row's)
    latents: str | None = None  # "sample" (a seeded draw from the VAE posterior, official) | "mode"
    # losses
    contrastive: str = "infonce"
    tau: float = 0.07
    margin: float = 0.2
    eps: float = 1e-6
    lambda_sc: float = 1.0
    lambda_id: float = 0.1
    # LoRA
    lora_rank: int = 64
    lora_alpha: int = 128
    lora_dropout: float = 0.0
    lora_targets: list[str] = field(default_factory=lambda: list(LORA_TARGETS))
    # optimisation
    learning_rate: float = 1e-4
    adam_betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    weight_decay: float = 1e-3
    adam_eps: float = 1e-8
    warmup_steps: int = 500
    epochs: int = 100
    max_steps: int | None = None
    batch_size: int = 4
    grad_accum: int = 1
    max_grad_norm: float = 1.0
    mixed_precision: str = "bf16"
    seed: int = 42
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    log_every: int = 10
    device: str | None = None
    gradient_checkpointing: bool = False

    def __post_init__(self) -> None:
        if self.preset not in TRAIN_PRESETS:
            raise PixelSmileError(f"config field 'preset' = {self.preset!r} must be one of {', '.join(TRAIN_PRESETS)}")
        for key, value in TRAIN_PRESETS[self.preset].items():
            if getattr(self, key) is None:
                setattr(self, key, value)
        checks = [
            (self.size >= 32 and self.size % 32 == 0, "size", "a multiple of 32"),
            (self.batch_size >= 1, "batch_size", "at least 1"),
            (self.grad_accum >= 1, "grad_accum", "at least 1"),
            (self.lora_rank >= 1, "lora_rank", "at least 1"),
            (self.learning_rate > 0, "learning_rate", "positive"),
            (self.warmup_steps >= 0, "warmup_steps", "0 or more"),
            (self.shard_size >= 1, "shard_size", "at least 1"),
            (self.contrastive in ("infonce", "hinge", "ratio"), "contrastive", "infonce, hinge or ratio"),
            (self.mixed_precision in ("bf16", "fp16", "no"), "mixed_precision", "bf16, fp16 or no"),
            (self.id_noise_weighting in ("official", "linear", "none"), "id_noise_weighting",
             "official, linear or none"),
            (self.timesteps in ("official", "uniform"), "timesteps", "official or uniform"),
            (self.positives in ("decoded", "pixels"), "positives", "decoded or pixels"),
            (self.id_landmarks in ("detect", "given"), "id_landmarks", "detect or given"),
            (self.crop in ("box", "centre"), "crop", "box or centre"),
            (self.latents in ("sample", "mode"), "latents", "sample or mode"),
            (self.max_steps is None or self.max_steps >= 1, "max_steps", "at least 1"),
        ]
        for ok, name, what in checks:
            if not ok:
                raise PixelSmileError(f"config field {name!r} = {getattr(self, name)!r} must be {what}")

    @property
    def cache_path(self) -> Path:
        """Folder of the precomputed samples (default ``output_dir/cache``)."""
        return Path(self.cache_dir) if self.cache_dir else Path(self.output_dir) / "cache"

    def to_dict(self) -> dict[str, Any]:
        """The configuration as a plain dict (saved next to checkpoints)."""
        return dataclasses.asdict(self)


_PATH_FIELDS = ("model", "data", "output_dir", "cache_dir")


def _resolve_spec(spec: str, base: Path) -> str:
    """Resolve the file part of an encoder spec (``file.py:factory`` or a model file) against ``base``."""
    if spec.startswith(("clip:", "onnx:")):
        kind, _, where = spec.partition(":")
        return f"{kind}:{where if Path(where).expanduser().is_absolute() else base / where}"
    if spec.endswith(".onnx") and not Path(spec).is_absolute():
        return str(base / spec)
    file, sep, attr = spec.rpartition(":") if ":" in spec else (spec, "", "")
    if file.endswith((".py", ".pt", ".pt2", ".ts")) and not Path(file).is_absolute():
        file = str(base / file)
    return f"{file}{sep}{attr}"


def load_config(path: str | Path, **overrides: Any) -> TrainConfig:
    """Read a JSON or YAML training config; unknown or missing fields raise one-line errors."""
    p = Path(path)
    raw = read_config_file(p, PixelSmileError, "training config")
    if not isinstance(raw, dict):
        raise PixelSmileError(f"config file {str(path)!r} must hold a mapping of options")
    raw.update({k: v for k, v in overrides.items() if v is not None})
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise PixelSmileError(f"config file {str(path)!r}: unknown field(s) {', '.join(unknown)}")
    missing = [n for n in ("model", "data", "output_dir") if n not in raw]
    if missing:
        raise PixelSmileError(f"config file {str(path)!r}: missing field(s) {', '.join(missing)}")
    base = p.parent
    for key in _PATH_FIELDS:
        v = raw.get(key)
        if not isinstance(v, str) or not v or Path(v).expanduser().is_absolute():
            continue
        if key in ("output_dir", "cache_dir") or (base / v).exists():  # a hub id stays as it is
            raw[key] = str(base / v)
    for key in ("feature_encoder", "identity_encoder"):
        if isinstance(raw.get(key), str):
            raw[key] = _resolve_spec(raw[key], base)
    return build_config(TrainConfig, raw, source=f"config file {str(path)!r}", error=PixelSmileError)
