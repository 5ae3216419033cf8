"""Tiny randomly initialised stand-ins for CLIP and ArcFace, loaded by path as ``file.py:factory``."""

import torch


class _TinyEncoder(torch.nn.Module):
    """Two strided convolutions and a 4x4 pooled grid: spatially sensitive, so features differ."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.net = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), torch.nn.Tanh(),
            torch.nn.Conv2d(8, 8, 3, stride=2, padding=1, bias=False), torch.nn.AdaptiveAvgPool2d(4),
            torch.nn.Flatten(),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images - 0.5)


def feature_encoder() -> torch.nn.Module:
    """A CLIP-shaped image encoder: (B, 3, S, S) in [0, 1] -> (B, 128)."""
    return _TinyEncoder(11)


def identity_encoder() -> torch.nn.Module:
    """An ArcFace-shaped face encoder: (B, 3, 112, 112) in [0, 1] -> (B, 128)."""
    return _TinyEncoder(12)
