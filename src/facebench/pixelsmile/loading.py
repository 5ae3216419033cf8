"""Load the Qwen-Image-Edit(-Plus) pipeline and a PixelSmile LoRA, checking every input first.

Models are local folders in diffusers layout, or hub ids that are already in the local Hugging Face
cache (nothing is ever downloaded). Every problem raises
:class:`PixelSmileError` with one line naming the value and what is wrong.

Licences: Qwen-Image-Edit-2511 (base model) Apache-2.0; PixelSmile LoRA weights Apache-2.0 (as
published by the authors); both are supplied by the user, never shipped.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch

from ..base.errors import UserError

#: Pipeline classes whose folders this loader accepts (model_index.json ``_class_name``).
PIPELINE_CLASSES = ("QwenImageEditPlusPipeline", "QwenImageEditPipeline")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")
_DTYPES = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp16": torch.float16,
           "float16": torch.float16, "fp32": torch.float32, "float32": torch.float32}


class PixelSmileError(UserError, ValueError):
    """A one-line error about a PixelSmile input (model path, LoRA, device, expression, data row...)."""


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` as a torch device; ``None`` = CUDA when present, else CPU.

    Asking for CUDA on a machine where torch sees no GPU raises :class:`PixelSmileError`.
    """
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise PixelSmileError(f"unknown device {device!r}; use cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        build = "built without CUDA" if torch.version.cuda is None else f"CUDA {torch.version.cuda}, no GPU visible"
        raise PixelSmileError(f"device {device!r} was requested but torch {torch.__version__} sees no CUDA GPU ({build})")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise PixelSmileError(f"device {device!r} was requested but only {torch.cuda.device_count()} CUDA GPU(s) exist")
    return dev


def resolve_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    """``dtype`` by name (bf16, fp16, fp32); ``None`` = bf16 on CUDA (the paper's setting), fp32 on CPU."""
    if dtype is None:
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    key = str(dtype).lower().replace("torch.", "")
    if key not in _DTYPES:
        raise PixelSmileError(f"unknown dtype {dtype!r}; use one of: bf16, fp16, fp32")
    return _DTYPES[key]


def resolve_model(model: str | Path) -> Path:
    """The local folder of ``model`` (a path, or a hub id already in the local Hugging Face cache;
    facebench never downloads weights)."""
    text = str(model)
    path = Path(text).expanduser()
    if not path.exists() and _HUB_ID.match(text) and not text.startswith((".", "/", "~")):
        try:
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(text, "model_index.json")  # looks in the local cache only
            if not isinstance(cached, str):
                raise FileNotFoundError(text)
            path = Path(cached).parent
        except Exception as exc:  # noqa: BLE001 - hub errors have many types
            raise PixelSmileError(f"model {text!r}: not a local folder and not in the local Hugging Face cache "
                                  f"(facebench never downloads; pass a local folder): "
                                  f"{type(exc).__name__}") from None
    if not path.exists():
        raise PixelSmileError(f"model path {text!r} does not exist")
    if not path.is_dir():
        raise PixelSmileError(f"model path {text!r} is a file; expected a diffusers pipeline folder")
    index = path / "model_index.json"
    if not index.is_file():
        raise PixelSmileError(f"model path {text!r} has no model_index.json; expected a diffusers pipeline folder")
    try:
        cls = json.loads(index.read_text()).get("_class_name", "")
    except (OSError, json.JSONDecodeError) as exc:
        raise PixelSmileError(f"model path {text!r}: model_index.json is not valid JSON ({exc})") from None
    if cls not in PIPELINE_CLASSES:
        raise PixelSmileError(f"model path {text!r} holds a {cls or 'unknown'} pipeline; "
                              f"expected one of: {', '.join(PIPELINE_CLASSES)}")
    for sub in ("transformer", "vae", "text_encoder", "scheduler"):
        if not (path / sub).is_dir():
            raise PixelSmileError(f"model path {text!r} lacks its {sub}/ folder")
    return path


def load_pipeline(model: str | Path, *, device: str | torch.device | None = None,
                  dtype: str | torch.dtype | None = None) -> Any:
    """Load a ``QwenImageEditPlusPipeline`` from ``model`` onto ``device`` in ``dtype``.

    The processor is rebuilt image-only (:mod:`facebench.pixelsmile.processor`), so torchvision is
    not needed.
    """
    path = resolve_model(model)
    dev = resolve_device(device)
    dt = resolve_dtype(dtype, dev)
    from diffusers import QwenImageEditPlusPipeline

    from .processor import load_processor

    try:
        processor = load_processor(path)
        pipe = QwenImageEditPlusPipeline.from_pretrained(path, processor=processor, dtype=dt,
                                                         local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - loaders raise many types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PixelSmileError(f"model path {str(model)!r}: cannot load the pipeline ({first})") from None
    pipe.to(dev)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def lora_file(path: str | Path) -> Path:
    """The ``.safetensors`` file of a LoRA given as a file or as a folder holding one."""
    p = Path(path).expanduser()
    if not p.exists():
        raise PixelSmileError(f"LoRA path {str(path)!r} does not exist")
    if p.is_dir():
        files = sorted(p.glob("*.safetensors"))
        preferred = [f for f in files if f.name == "pytorch_lora_weights.safetensors"]
        if not files:
            raise PixelSmileError(f"LoRA folder {str(path)!r} holds no .safetensors file")
        p = (preferred or files)[0]
    if p.suffix != ".safetensors":
        raise PixelSmileError(f"LoRA file {str(path)!r} is not a .safetensors file")
    return p


def check_lora(pipe: Any, path: str | Path) -> dict[str, torch.Tensor]:
    """The LoRA state dict (diffusers naming) after checking it fits ``pipe.transformer``.

    Every ``lora_A``/``lora_B`` pair must name a linear layer of the transformer, with ``lora_A``
    (rank, in_features) and ``lora_B`` (out_features, rank) matching that layer.
    """
    f = lora_file(path)
    try:
        state = pipe.lora_state_dict(str(f))
    except Exception as exc:  # noqa: BLE001
        raise PixelSmileError(f"LoRA file {str(f)!r} cannot be read ({type(exc).__name__}: {exc})") from None
    modules = dict(pipe.transformer.named_modules())
    pairs = 0
    for key, w in state.items():
        m = re.match(r"^(?:transformer\.)?(.+)\.lora_([AB])(?:\.default)?\.weight$", key)
        if not m:
            continue
        name, which = m.groups()
        mod = modules.get(name)
        if mod is None or not hasattr(mod, "in_features"):
            raise PixelSmileError(f"LoRA {str(f)!r} does not match the transformer: it has no layer {name!r}")
        expect = mod.in_features if which == "A" else mod.out_features
        got = w.shape[1] if which == "A" else w.shape[0]
        if got != expect:
            side = "in_features" if which == "A" else "out_features"
            raise PixelSmileError(f"LoRA {str(f)!r} does not match the transformer: layer {name!r} has {side} "
                                  f"{expect} but the LoRA has {got} (a LoRA for another model?)")
        pairs += 1
    if not pairs:
        raise PixelSmileError(f"LoRA {str(f)!r} holds no lora_A/lora_B weights for the transformer")
    return state


def load_lora(pipe: Any, path: str | Path, *, scale: float = 1.0, adapter: str = "pixelsmile") -> Path:
    """Check and load a LoRA into ``pipe`` (diffusers' LoRA loader, peft backend); returns its file."""
    f = lora_file(path)
    state = check_lora(pipe, f)
    pipe.load_lora_weights(state, adapter_name=adapter)
    if scale != 1.0:
        pipe.set_adapters([adapter], adapter_weights=[float(scale)])
    return f
