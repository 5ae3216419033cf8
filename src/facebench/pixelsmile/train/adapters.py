"""Real encoders for the training losses, loaded from local paths (nothing is downloaded).

- :class:`ClipImageFeatures` -- a CLIP vision tower through transformers' ``CLIPVisionModel``
  (the official recipe: ``openai/clip-vit-large-patch14``, MIT licence; DanbooruCLIP for anime),
  images in [0, 1] clamped, resized bilinearly to the model's ``image_size`` (224), normalised with
  the CLIP mean (0.48145466, 0.4578275, 0.40821073) and std (0.26862954, 0.26130258, 0.27577711),
  features = ``pooler_output`` (the post-layer-norm class token).
- :class:`OnnxRecogniser` -- an ArcFace-class recogniser exported to ONNX (insightface's
  antelopev2 ``glintr100.onnx`` or buffalo_l ``w600k_r50.onnx``: input (N, 3, 112, 112) RGB,
  output (N, 512); insightface model licence: non-commercial research). The graph is run by a
  small differentiable interpreter in torch (its initialisers become frozen tensors), so the
  identity loss has gradients, as the official recipe gets by converting the ONNX file to torch.
  Input scaling follows insightface's rule: a graph that starts with Sub/Mul normalises itself and
  gets pixel values 0-255; any other gets ``(pixel - 127.5) / 127.5``.

Both map images (B, 3, H, W) in [0, 1] to features (B, D); :mod:`.encoders` adds resizing,
alignment and L2 normalisation. Specs: ``clip:FOLDER`` and ``onnx:FILE.onnx`` (or a ``.onnx`` path).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..loading import PixelSmileError

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class ClipImageFeatures(torch.nn.Module):
    """``CLIPVisionModel`` pooled features of images in [0, 1] (see the module docstring)."""

    def __init__(self, folder: str | Path) -> None:
        super().__init__()
        from transformers import CLIPVisionModel

        p = Path(folder).expanduser()
        if not (p / "config.json").is_file():
            raise PixelSmileError(f"CLIP model {str(folder)!r}: no config.json (expected a transformers folder)")
        try:
            self.model = CLIPVisionModel.from_pretrained(str(p), local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - loaders raise many types
            raise PixelSmileError(f"CLIP model {str(folder)!r}: cannot load ({type(exc).__name__}: {exc})") from None
        size = self.model.config.image_size
        self.size = int(size if isinstance(size, int) else size[0])
        self.register_buffer("mean", torch.tensor(CLIP_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(CLIP_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float().clamp(0, 1)
        if x.shape[-2:] != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        x = (x - self.mean) / self.std
        return self.model(pixel_values=x.to(self.model.dtype)).pooler_output


def _conv(n: Any, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
    pads = list(n["pads"]) if "pads" in n else [0] * (2 * (w.ndim - 2))
    half = len(pads) // 2
    if pads[:half] != pads[half:]:  # asymmetric: pad explicitly (left/right per spatial axis)
        x = F.pad(x, [v for i in reversed(range(half)) for v in (pads[i], pads[i + half])])
        pads = [0] * len(pads)
    return F.conv2d(x, w, b, stride=tuple(n.get("strides", [1, 1])), padding=tuple(pads[:half]),
                    dilation=tuple(n.get("dilations", [1, 1])), groups=int(n.get("group", 1)))


def _gemm(n: Any, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
    a = a.t() if n.get("transA", 0) else a
    b = b.t() if n.get("transB", 0) else b
    y = float(n.get("alpha", 1.0)) * (a @ b)
    return y if c is None else y + float(n.get("beta", 1.0)) * c


def _bn(n: Any, x: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor, mean: torch.Tensor,
        var: torch.Tensor) -> torch.Tensor:
    return F.batch_norm(x, mean, var, scale, bias, training=False, eps=float(n.get("epsilon", 1e-5)))


def _prelu(n: Any, x: torch.Tensor, slope: torch.Tensor) -> torch.Tensor:
    return torch.where(x >= 0, x, x * slope.view(1, -1, 1, 1) if slope.numel() == x.shape[1] and x.ndim == 4
                       else x * slope)


def _flatten(n: Any, x: torch.Tensor) -> torch.Tensor:
    axis = int(n.get("axis", 1))
    return x.reshape(int(np.prod(x.shape[:axis])), -1)


def _reshape(n: Any, x: torch.Tensor, shape: torch.Tensor) -> torch.Tensor:
    dims = [x.shape[i] if int(s) == 0 else int(s) for i, s in enumerate(shape.tolist())]
    return x.reshape(dims)


#: ONNX operators the interpreter runs: what ArcFace ResNets (iresnet50/100, MobileFaceNet) use.
OPS: dict[str, Callable[..., torch.Tensor]] = {
    "Conv": _conv, "BatchNormalization": _bn, "PRelu": _prelu, "Gemm": _gemm, "Flatten": _flatten,
    "Reshape": _reshape,
    "Relu": lambda n, x: F.relu(x), "Sigmoid": lambda n, x: torch.sigmoid(x), "Identity": lambda n, x: x,
    "Add": lambda n, a, b: a + b, "Sub": lambda n, a, b: a - b, "Mul": lambda n, a, b: a * b,
    "Div": lambda n, a, b: a / b, "MatMul": lambda n, a, b: a @ b,
    "GlobalAveragePool": lambda n, x: x.mean(dim=(2, 3), keepdim=True),
    "Dropout": lambda n, x, *rest: x,
}


class OnnxRecogniser(torch.nn.Module):
    """An ONNX face recogniser run as a frozen, differentiable torch graph (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        import onnx
        from onnx import numpy_helper

        p = Path(path).expanduser()
        if not p.is_file():
            raise PixelSmileError(f"identity model {str(path)!r}: file not found")
        try:
            model = onnx.load(str(p))
        except Exception as exc:  # noqa: BLE001
            raise PixelSmileError(f"identity model {str(path)!r}: not a readable ONNX file ({exc})") from None
        g = model.graph
        self.buffer_of: dict[str, str] = {}  # ONNX tensor name -> buffer name (buffers follow .to(device))

        def keep(name: str, array: np.ndarray) -> None:
            self.buffer_of[name] = f"w{len(self.buffer_of)}"
            self.register_buffer(self.buffer_of[name], torch.from_numpy(np.array(array)), persistent=False)

        for t in g.initializer:
            keep(t.name, numpy_helper.to_array(t))
        self.nodes = []
        for node in g.node:
            if node.op_type == "Constant":
                keep(node.output[0], numpy_helper.to_array(node.attribute[0].t))
                continue
            if node.op_type not in OPS:
                raise PixelSmileError(f"identity model {str(path)!r}: ONNX operator {node.op_type!r} is not supported "
                                      f"(supported: {', '.join(sorted(OPS))})")
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            self.nodes.append((node.op_type, list(node.input), list(node.output), attrs))
        inputs = [i.name for i in g.input if i.name not in self.buffer_of]
        if len(inputs) != 1:
            raise PixelSmileError(f"identity model {str(path)!r}: expected one image input, found {inputs}")
        self.input, self.output = inputs[0], g.output[0].name
        dims = [d.dim_value for d in g.input[[i.name for i in g.input].index(self.input)].type.tensor_type.shape.dim]
        if len(dims) != 4 or dims[1] != 3:
            raise PixelSmileError(f"identity model {str(path)!r}: input shape {dims} is not (N, 3, H, W)")
        self.size = int(dims[2] or 112)
        self.self_normalising = bool(self.nodes) and self.nodes[0][0] in ("Sub", "Mul")

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float() * 255.0
        if x.shape[-2:] != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        if not self.self_normalising:
            x = (x - 127.5) / 127.5
        env: dict[str, torch.Tensor] = {self.input: x}
        for op, ins, outs, attrs in self.nodes:
            args = [env[i] if i in env else (getattr(self, self.buffer_of[i]) if i else None) for i in ins]
            env[outs[0]] = OPS[op](attrs, *args)
        return env[self.output]
