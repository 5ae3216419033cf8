"""VIF-p: pixel-domain visual information fidelity (full-reference, higher is better).

Sheikh and Bovik, "Image information and visual quality", IEEE TIP 15(2), 2006, pixel-domain
multi-scale version (``vifp_mscale``): luma on the 0-255 scale, four scales with Gaussian windows of
size N = 2^(5 - s) + 1 and sigma N / 5, down-sampling by 2 after filtering, HVS noise variance
sigma_n^2 = 2, VIF = sum_s sum log10(1 + g^2 sigma_r^2 / (sigma_v^2 + sigma_n^2)) /
sum_s sum log10(1 + sigma_r^2 / sigma_n^2). 1 for identical images; above 1 for contrast enhancement.
"""

from __future__ import annotations

import torch

from ._torch import gaussian_taps, separable_filter, luma

SIGMA_N_SQ = 2.0
EPS = 1e-10
#: Smallest side for which all four scales keep at least one valid window position.
VIF_MIN_SIZE = 41


def vif(dist: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Pixel-domain VIF per image (see module docstring)."""
    h, w = ref.shape[-2:]
    if min(h, w) < VIF_MIN_SIZE:
        raise ValueError(f"VIF needs images of at least {VIF_MIN_SIZE}x{VIF_MIN_SIZE} px, got {w}x{h}")
    r, d = luma(ref) * 255.0, luma(dist) * 255.0
    num = torch.zeros(r.shape[0], dtype=r.dtype, device=r.device)
    den = torch.zeros_like(num)
    for scale in range(1, 5):
        n = 2 ** (4 - scale + 1) + 1
        win = gaussian_taps(n, n / 5.0, r.dtype)
        if scale > 1:
            r = separable_filter(r, win)[..., ::2, ::2]
            d = separable_filter(d, win)[..., ::2, ::2]
        mu1, mu2 = separable_filter(r, win), separable_filter(d, win)
        s1 = torch.clamp(separable_filter(r * r, win) - mu1 * mu1, min=0.0)
        s2 = torch.clamp(separable_filter(d * d, win) - mu2 * mu2, min=0.0)
        s12 = separable_filter(r * d, win) - mu1 * mu2
        g = s12 / (s1 + EPS)
        sv = s2 - g * s12
        flat1 = s1 < EPS
        g = torch.where(flat1, torch.zeros_like(g), g)
        sv = torch.where(flat1, s2, sv)
        s1 = torch.where(flat1, torch.zeros_like(s1), s1)
        flat2 = s2 < EPS
        g = torch.where(flat2, torch.zeros_like(g), g)
        sv = torch.where(flat2, torch.zeros_like(sv), sv)
        neg = g < 0
        sv = torch.where(neg, s2, sv)
        g = torch.clamp(g, min=0.0)
        sv = torch.clamp(sv, min=EPS)
        num = num + torch.log10(1 + g * g * s1 / (sv + SIGMA_N_SQ)).flatten(1).sum(1)
        den = den + torch.log10(1 + s1 / SIGMA_N_SQ).flatten(1).sum(1)
    return num / den
