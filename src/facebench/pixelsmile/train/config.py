"""The training configuration of ``facebench train pixelsmile CONFIG`` (a JSON or YAML file).

Defaults are the paper's (appendix B, method notes "Training"): LoRA rank 64 / alpha 128 /
dropout 0 on attention and MLP projections of both streams; AdamW (0.9, 0.999), weight decay 1e-3,
eps 1e-8; lr 1e-4, cosine schedule with 500 warm-up steps; bf16; gradient clipping 1.0; batch 4
per GPU; InfoNCE tau 0.07 (hinge m 0.2, log-ratio eps 1e-6); lambda_sc 1.0, lambda_id 0.1.
Relative paths are resolved against the config file's folder.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...configfile import read_config_file
from ..loading import PixelSmileError

#: LoRA targets (peft suffix match): image-stream attention q/k/v/out, text-stream q/k/v/out and
#: both streams' MLP projections of every ``QwenImageTransformerBlock``.
LORA_TARGETS: tuple[str, ...] = (
    "attn.to_q", "attn.to_k", "attn.to_v", "attn.to_out.0",
    "attn.add_q_proj", "attn.add_k_proj", "attn.add_v_proj", "attn.to_add_out",
    "img_mlp.net.0.proj", "img_mlp.net.2", "txt_mlp.net.0.proj", "txt_mlp.net.2",
)


@dataclass
class TrainConfig:
    """Every training option; see the module docstring for the defaults' sources."""

    model: str
    data: str
    output_dir: str
    cache_dir: str | None = None
    subject: str = "person"
    size: int = 512
    condition_area: int = 384 * 384
    alpha_curve: list[list[float]] | None = None
    shard_size: int = 1000
    # encoders (pluggable modules given by path; see encoders.py)
    feature_encoder: str | None = None
    identity_encoder: str | None = None
    feature_size: int = 224
    identity_size: int = 112
    id_noise_weighting: str = "linear"
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
            (self.id_noise_weighting in ("linear", "none"), "id_noise_weighting", "linear or none"),
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
    try:
        return TrainConfig(**raw)
    except TypeError as exc:
        raise PixelSmileError(f"config file {str(path)!r}: {exc}") from None
