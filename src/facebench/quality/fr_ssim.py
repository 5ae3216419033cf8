"""PSNR, SSIM and MS-SSIM (full-reference), batched in torch.

- PSNR = 10 log10(1 / MSE) over the RGB pixels in [0, 1]; identical images are capped at 100 dB.
- SSIM: Wang, Bovik, Sheikh, Simoncelli, "Image quality assessment: from error visibility to
  structural similarity", IEEE TIP 13(4), 2004. Luma (BT.601), 11x11 Gaussian window with sigma 1.5,
  K1 = 0.01, K2 = 0.03, dynamic range 1, the authors' recommended pre-down-sampling by
  ``max(1, round(min(H, W) / 256))``, mean of the SSIM map over "valid" window positions.
- MS-SSIM: Wang, Simoncelli, Bovik, "Multi-scale structural similarity for image quality
  assessment", Asilomar 2003. Five scales with exponents (0.0448, 0.2856, 0.3001, 0.2363, 0.1333),
  2x2 averaging between scales, contrast-structure terms at every scale and luminance at the
  coarsest; negative terms are clipped to 0 before the power.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._torch import auto_downsample_factor, box_downsample, gaussian_taps, separable_filter, luma, safe_log10_ratio

K1, K2 = 0.01, 0.03
WINDOW, SIGMA = 11, 1.5
MS_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
#: Smallest side MS-SSIM accepts: the 11-px window must fit at the 5th scale (11 * 2**4).
MS_SSIM_MIN_SIZE = WINDOW * 2 ** (len(MS_WEIGHTS) - 1)


def psnr(dist: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image, ``10 log10(1 / MSE)`` on RGB in [0, 1]."""
    mse = ((dist - ref) ** 2).flatten(1).mean(1)
    return safe_log10_ratio(mse)


def _ssim_terms(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-pixel luminance term l and contrast-structure term cs (Wang et al. 2004, eqs. 6-13)."""
    w = gaussian_taps(WINDOW, SIGMA, x.dtype)
    c1, c2 = K1**2, K2**2
    mx, my = separable_filter(x, w), separable_filter(y, w)
    sxx = separable_filter(x * x, w) - mx * mx
    syy = separable_filter(y * y, w) - my * my
    sxy = separable_filter(x * y, w) - mx * my
    lum = (2 * mx * my + c1) / (mx * mx + my * my + c1)
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    return lum, cs


def ssim(dist: torch.Tensor, ref: torch.Tensor, downsample: bool = True) -> torch.Tensor:
    """Mean SSIM per image on luma, with Wang's recommended pre-down-sampling (see module doc)."""
    x, y = luma(dist), luma(ref)
    if downsample:
        f = auto_downsample_factor(*x.shape[-2:])
        x, y = box_downsample(x, f), box_downsample(y, f)
    if min(x.shape[-2:]) < WINDOW:
        raise ValueError(f"SSIM needs images of at least {WINDOW}x{WINDOW} px, got {tuple(x.shape[-2:])}")
    lum, cs = _ssim_terms(x, y)
    return (lum * cs).flatten(1).mean(1)


def ms_ssim(dist: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Multi-scale SSIM per image on luma (Wang et al. 2003, eq. 7)."""
    x, y = luma(dist), luma(ref)
    h, w = x.shape[-2:]
    if min(h, w) < MS_SSIM_MIN_SIZE:
        raise ValueError(
            f"MS-SSIM needs images of at least {MS_SSIM_MIN_SIZE}x{MS_SSIM_MIN_SIZE} px "
            f"({len(MS_WEIGHTS)} scales of an {WINDOW}-px window), got {w}x{h}"
        )
    out = torch.ones(x.shape[0], dtype=x.dtype, device=x.device)
    for j, wgt in enumerate(MS_WEIGHTS):
        lum, cs = _ssim_terms(x, y)
        last = j == len(MS_WEIGHTS) - 1
        term = (lum * cs if last else cs).flatten(1).mean(1)
        out = out * torch.clamp(term, min=0.0) ** wgt
        if not last:
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    return out
