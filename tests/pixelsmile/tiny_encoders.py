"""Tiny randomly initialised stand-ins for CLIP and ArcFace (loaded by path as ``file.py:factory``)."""

import torch


def _net(dim: int, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, stride=2, padding=1), torch.nn.GELU(),
        torch.nn.Conv2d(8, 16, 3, stride=2, padding=1), torch.nn.GELU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(16, dim),
    )


def feature_encoder() -> torch.nn.Module:
    """A CLIP-shaped image encoder: (B, 3, 224, 224) in [0, 1] -> (B, 32)."""
    return _net(32, 11)


def identity_encoder() -> torch.nn.Module:
    """An ArcFace-shaped face encoder: (B, 3, 112, 112) in [0, 1] -> (B, 16)."""
    return _net(16, 12)
