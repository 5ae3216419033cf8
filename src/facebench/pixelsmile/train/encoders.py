"""Pluggable frozen encoders for the contrastive and identity losses, given by path.

The paper uses CLIP ViT-L/14 pooled image features (DanbooruCLIP for anime) for the symmetric
contrastive loss and ArcFace (antelopev2 glintr100) for the identity loss. Here both are modules
the user supplies, as one of:

- ``path/to/file.py:factory`` or ``package.module:factory`` -- ``factory()`` returns a
  ``torch.nn.Module``;
- a TorchScript file (``.pt`` / ``.ts``) or a ``torch.export`` program (``.pt2``);
- ``clip:FOLDER`` -- a transformers CLIP vision model, pooled features (:mod:`.adapters`);
- ``onnx:FILE.onnx`` or a ``.onnx`` path -- an ArcFace-class ONNX recogniser (:mod:`.adapters`).

Contract: the module maps images ``(B, 3, S, S)`` with values in [0, 1] (RGB) to features
``(B, D)``; its own input normalisation (CLIP mean/std, ArcFace's [-1, 1]) is its business. The
wrappers here resize (bilinear, 224 for features; faces aligned to 112) and L2-normalise, and keep
the path differentiable for the generated images.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..loading import PixelSmileError

#: ArcFace's 5-point template in a 112 x 112 crop (eyes, nose tip, mouth corners; image-left first).
ARCFACE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                        [41.5493, 92.3655], [70.7299, 92.2041]])


def load_module(spec: str, role: str = "encoder") -> torch.nn.Module:
    """Load a frozen module from ``spec`` (see the module docstring); one-line errors name ``role``."""
    text = str(spec)
    if text.startswith(("clip:", "onnx:")) or text.endswith(".onnx"):
        from .adapters import ClipImageFeatures, OnnxRecogniser

        kind, _, where = text.partition(":") if text.startswith(("clip:", "onnx:")) else ("onnx", "", text)
        model = ClipImageFeatures(where) if kind == "clip" else OnnxRecogniser(where)
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        return model
    file, _, attr = text.rpartition(":") if ":" in text else (text, "", "")
    try:
        if attr and file.endswith(".py"):
            if not Path(file).is_file():
                raise PixelSmileError(f"{role} {text!r}: file {file!r} not found")
            mod_spec = importlib.util.spec_from_file_location(f"_facebench_{role.replace(' ', '_')}", file)
            module = importlib.util.module_from_spec(mod_spec)
            mod_spec.loader.exec_module(module)  # type: ignore[union-attr]
            model = _call(module, attr, text, role)
        elif attr:
            try:
                module = importlib.import_module(file)
            except ImportError as exc:
                raise PixelSmileError(f"{role} {text!r}: cannot import {file!r} ({exc})") from None
            model = _call(module, attr, text, role)
        else:
            p = Path(text)
            if not p.is_file():
                raise PixelSmileError(f"{role} {text!r}: file not found")
            if p.suffix == ".pt2":
                model = torch.export.load(str(p)).module()
            else:
                model = torch.jit.load(str(p), map_location="cpu")
    except PixelSmileError:
        raise
    except Exception as exc:  # noqa: BLE001 - user code may raise anything
        raise PixelSmileError(f"{role} {text!r}: cannot load ({type(exc).__name__}: {exc})") from None
    if not isinstance(model, torch.nn.Module):
        raise PixelSmileError(f"{role} {text!r}: the factory returned {type(model).__name__}, not a torch.nn.Module")
    if hasattr(model, "eval") and not isinstance(model, torch.fx.GraphModule):
        model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _call(module: Any, attr: str, text: str, role: str) -> Any:
    fn = getattr(module, attr, None)
    if fn is None:
        raise PixelSmileError(f"{role} {text!r}: no attribute {attr!r} in the module")
    return fn() if callable(fn) and not isinstance(fn, torch.nn.Module) else fn


class FeatureEncoder(torch.nn.Module):
    """Frozen image features for L_SC: bilinear resize to ``size``, the module, L2 normalisation."""

    def __init__(self, module: torch.nn.Module, size: int = 224) -> None:
        super().__init__()
        self.module, self.size = module, int(size)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``images`` (B, 3, H, W) in [0, 1] -> (B, D) unit vectors."""
        x = F.interpolate(images.float(), size=(self.size, self.size), mode="bilinear", align_corners=False)
        return F.normalize(self.module(x).float().flatten(1), dim=-1)


def alignment_theta(landmarks: np.ndarray | None, box: np.ndarray | None, image_size: int,
                    out_size: int = 112) -> torch.Tensor:
    """(2, 3) ``affine_grid`` matrix mapping the ``out_size`` face crop to the image (normalised coords).

    With 5 landmarks: the least-squares similarity onto :data:`ARCFACE_112` (Umeyama); with a box:
    the square around it; with neither: the whole image.
    """
    from ...face.align import similarity_transform

    s = float(image_size)
    if landmarks is not None:
        tmpl = ARCFACE_112 * (out_size / 112.0)
        fwd = similarity_transform(np.asarray(landmarks, float), tmpl)  # image px -> crop px
        a = np.vstack([fwd, [0, 0, 1]])
        inv = np.linalg.inv(a)  # crop px -> image px
    elif box is not None:
        x0, y0, x1, y1 = (float(v) for v in box)
        side = max(x1 - x0, y1 - y0)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        k = side / out_size
        inv = np.array([[k, 0, cx - side / 2], [0, k, cy - side / 2], [0, 0, 1]])
    else:
        k = s / out_size
        inv = np.array([[k, 0, 0], [0, k, 0], [0, 0, 1]])
    # normalised (align_corners=False): u = (2 x + 1) / n - 1  <=>  x = ((u + 1) n - 1) / 2
    n_out = np.array([[out_size / 2, 0, (out_size - 1) / 2], [0, out_size / 2, (out_size - 1) / 2], [0, 0, 1]])
    to_in = np.array([[2 / s, 0, 1 / s - 1], [0, 2 / s, 1 / s - 1], [0, 0, 1]])
    theta = to_in @ inv @ n_out
    return torch.tensor(theta[:2], dtype=torch.float32)


class IdentityEncoder(torch.nn.Module):
    """Frozen identity embeddings for L_ID: faces warped to ``size`` (differentiable), module, L2 norm."""

    def __init__(self, module: torch.nn.Module, size: int = 112) -> None:
        super().__init__()
        self.module, self.size = module, int(size)

    def forward(self, images: torch.Tensor, thetas: torch.Tensor) -> torch.Tensor:
        """``images`` (B, 3, H, W) in [0, 1], ``thetas`` (B, 2, 3) from :func:`alignment_theta`."""
        grid = F.affine_grid(thetas.to(images.device, torch.float32), [len(images), 3, self.size, self.size],
                             align_corners=False)
        faces = F.grid_sample(images.float(), grid, mode="bilinear", padding_mode="border", align_corners=False)
        return F.normalize(self.module(faces).float().flatten(1), dim=-1)
