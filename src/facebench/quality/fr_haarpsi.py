"""HaarPSI: Haar wavelet-based perceptual similarity index (full-reference, higher is better).

Reisenhofer, Bosse, Kutyniok, Wiegand, "A Haar wavelet-based perceptual similarity index for image
quality assessment", Signal Processing: Image Communication 61, 2018. Colour version: YIQ on the
0-255 scale, 2x2 averaging and down-sampling by 2, Haar filters at three scales in two orientations,
local similarity from scales 1-2, weights from scale 3, chroma similarity of 2x2-averaged I and Q,
C = 30, logistic with alpha = 4.2, HaarPSI = (l_alpha^-1(weighted mean of l_alpha(similarity)))^2.
"""

from __future__ import annotations

import torch

from ._torch import conv2_same, rgb_to_yiq

C = 30.0
ALPHA = 4.2
N_SCALES = 3


def _haar_filter(scale: int, dtype: torch.dtype) -> torch.Tensor:
    """``2^-k`` times a ``2^k x 2^k`` block whose top half is negated (horizontal edges)."""
    n = 2**scale
    f = torch.full((n, n), 2.0**-scale, dtype=dtype)
    f[: n // 2] *= -1
    return f


def _subsample(x: torch.Tensor) -> torch.Tensor:
    box = torch.full((2, 2), 0.25, dtype=x.dtype)
    return conv2_same(x, box)[..., ::2, ::2]


def _similarity(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (2 * a * b + C) / (a * a + b * b + C)


def haarpsi(dist: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """HaarPSI per image in [0, 1] (1 for identical images)."""
    xr = _subsample(rgb_to_yiq(ref * 255.0))
    xd = _subsample(rgb_to_yiq(dist * 255.0))
    coeff_r, coeff_d = [], []
    for scale in range(1, N_SCALES + 1):
        f = _haar_filter(scale, xr.dtype)
        for k in (f, f.T.contiguous()):
            coeff_r.append(conv2_same(xr[:, :1], k).abs())
            coeff_d.append(conv2_same(xd[:, :1], k).abs())
    # coeff lists are ordered (scale1 h, scale1 v, scale2 h, scale2 v, scale3 h, scale3 v)
    local, weights = [], []
    for ori in range(2):
        weights.append(torch.maximum(coeff_r[4 + ori], coeff_d[4 + ori]))
        s = sum(_similarity(coeff_r[2 * j + ori], coeff_d[2 * j + ori]) for j in range(2)) / 2
        local.append(s)
    box = torch.full((2, 2), 0.25, dtype=xr.dtype)
    iq_r = conv2_same(xr[:, 1:], box).abs()
    iq_d = conv2_same(xd[:, 1:], box).abs()
    chroma = (_similarity(iq_r[:, :1], iq_d[:, :1]) + _similarity(iq_r[:, 1:], iq_d[:, 1:])) / 2
    local.append(chroma)
    weights.append((weights[0] + weights[1]) / 2)
    sim = torch.cat(local, 1)
    wts = torch.cat(weights, 1)
    logistic = torch.sigmoid(ALPHA * sim)
    pooled = (logistic * wts).flatten(1).sum(1) / wts.flatten(1).sum(1)
    inv = torch.log(pooled / (1 - pooled)) / ALPHA
    return inv**2
