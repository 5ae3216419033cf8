"""GMSD: gradient magnitude similarity deviation (full-reference, lower is better).

Xue, Zhang, Mou, Bovik, "Gradient magnitude similarity deviation: a highly efficient perceptual
image quality index", IEEE TIP 23(2), 2014: luma on the 0-255 scale, 2x2 averaging and
down-sampling by 2, Prewitt gradients (1/3 weights), GMS = (2 m_r m_d + c) / (m_r^2 + m_d^2 + c)
with c = 170, GMSD = standard deviation of the GMS map (n - 1 normalisation, as MATLAB's std2).
"""

from __future__ import annotations

import torch

from ._torch import conv2_same, luma

C = 170.0
_PREWITT_X = torch.tensor([[1.0, 0.0, -1.0], [1.0, 0.0, -1.0], [1.0, 0.0, -1.0]], dtype=torch.float64) / 3.0


def gradient_magnitude(y: torch.Tensor, dx: torch.Tensor) -> torch.Tensor:
    """``sqrt((y * dx)^2 + (y * dx^T)^2)`` with MATLAB-style 'same' convolution."""
    gx = conv2_same(y, dx)
    gy = conv2_same(y, dx.T.contiguous())
    return torch.sqrt(gx * gx + gy * gy)


def halve(y: torch.Tensor) -> torch.Tensor:
    """2x2 average then every second sample (MATLAB ``conv2(Y, ones(2)/4, 'same')(1:2:end, 1:2:end)``)."""
    box = torch.full((2, 2), 0.25, dtype=y.dtype)
    return conv2_same(y, box)[..., ::2, ::2]


def gmsd(dist: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """GMSD per image (0 for identical images; about 0.35 at most)."""
    yd, yr = halve(luma(dist) * 255.0), halve(luma(ref) * 255.0)
    md, mr = gradient_magnitude(yd, _PREWITT_X), gradient_magnitude(yr, _PREWITT_X)
    gms = (2 * mr * md + C) / (mr * mr + md * md + C)
    return gms.flatten(1).std(dim=1, unbiased=True)
