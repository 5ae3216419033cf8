"""Small torch helpers shared by the full-reference metrics (one place for colour conversion,
windows and MATLAB-style filtering).

Images are float tensors ``(N, C, H, W)`` with values in ``[0, 1]`` unless a function says otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..base.pixels import BT601

#: RGB -> YIQ (NTSC) matrix used by FSIM and HaarPSI (Zhang et al. 2011; Reisenhofer et al. 2018).
_YIQ = torch.tensor(
    [list(BT601), [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], dtype=torch.float64
)


def to_tensor(images: np.ndarray | Sequence[np.ndarray], dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Stack ``HxWx3`` uint8 RGB arrays (or one ``NxHxWx3`` array) into ``(N, 3, H, W)`` in [0, 1].

    float32 by default (the metrics agree with float64 to ~1e-5 and run several times faster)."""
    arr = np.stack(list(images)) if not isinstance(images, np.ndarray) or images.ndim == 3 else images
    if arr.ndim == 3:
        arr = arr[None]
    t = torch.from_numpy(np.ascontiguousarray(arr)).to(dtype)
    return t.permute(0, 3, 1, 2) / 255.0


def rgb_to_yiq(x: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` RGB -> YIQ with the NTSC matrix (Y = 0.299 R + 0.587 G + 0.114 B)."""
    m = _YIQ.to(dtype=x.dtype, device=x.device)
    return torch.einsum("ij,njhw->nihw", m, x)


def luma(x: torch.Tensor) -> torch.Tensor:
    """``(N, 1, H, W)`` BT.601 luma Y of an RGB batch (same scale as the input)."""
    return rgb_to_yiq(x)[:, :1]


def gaussian_window(size: int, sigma: float, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Normalised 2-D Gaussian window ``(size, size)`` centred on the middle sample."""
    r = torch.arange(size, dtype=dtype) - (size - 1) / 2.0
    g = torch.exp(-(r**2) / (2.0 * sigma**2))
    w = torch.outer(g, g)
    return w / w.sum()


def gaussian_taps(size: int, sigma: float, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Normalised 1-D Gaussian taps; their outer product is :func:`gaussian_window`."""
    r = torch.arange(size, dtype=dtype) - (size - 1) / 2.0
    g = torch.exp(-(r**2) / (2.0 * sigma**2))
    return g / g.sum()


def separable_filter(x: torch.Tensor, taps: torch.Tensor) -> torch.Tensor:
    """'valid' correlation of every channel with ``outer(taps, taps)`` as two 1-D passes."""
    c, k = x.shape[1], taps.numel()
    t = taps.to(dtype=x.dtype, device=x.device)
    x = F.conv2d(x, t.view(1, 1, k, 1).expand(c, 1, k, 1), groups=c)
    return F.conv2d(x, t.view(1, 1, 1, k).expand(c, 1, 1, k), groups=c)


def filter2(x: torch.Tensor, kernel: torch.Tensor, mode: str = "valid") -> torch.Tensor:
    """Correlate every channel of ``x`` with a 2-D ``kernel``.

    ``mode="valid"`` keeps only positions where the kernel fits; ``mode="same"`` zero-pads like
    MATLAB's ``conv2(..., 'same')`` / ``filter2(..., 'same')`` (for even kernels the extra row and
    column of padding go at the bottom/right).
    """
    c = x.shape[1]
    k = kernel.to(dtype=x.dtype, device=x.device)[None, None].expand(c, 1, *kernel.shape)
    if mode == "same":
        kh, kw = kernel.shape
        x = F.pad(x, ((kw - 1) // 2, kw // 2, (kh - 1) // 2, kh // 2))
    elif mode != "valid":
        raise ValueError(f"filter2 mode must be 'valid' or 'same', not {mode!r}")
    return F.conv2d(x, k, groups=c)


def conv2_same(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """MATLAB ``conv2(x, kernel, 'same')``: true convolution (kernel flipped), zero padding, output
    aligned as MATLAB does for even kernel sizes (one more padded row/column at the top/left)."""
    kh, kw = kernel.shape
    flipped = torch.flip(kernel, dims=(0, 1))
    c = x.shape[1]
    k = flipped.to(dtype=x.dtype, device=x.device)[None, None].expand(c, 1, kh, kw)
    x = F.pad(x, (kw - 1 - kw // 2, kw // 2, kh - 1 - kh // 2, kh // 2))
    return F.conv2d(x, k, groups=c)


def box_downsample(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Average ``factor x factor`` blocks (dropping a remainder), the down-sampling step that SSIM
    and FSIM take when ``factor = max(1, round(min(H, W) / 256))`` (Wang et al. 2004, FAQ)."""
    if factor <= 1:
        return x
    return F.avg_pool2d(x, kernel_size=factor)


def auto_downsample_factor(height: int, width: int) -> int:
    """``max(1, round(min(H, W) / 256))``: the viewing-distance down-sampling of SSIM/FSIM."""
    return max(1, int(round(min(height, width) / 256)))


def median_last(x: torch.Tensor) -> torch.Tensor:
    """Median over the last dimension, averaging the two middle values for even lengths (as MATLAB)."""
    s, _ = torch.sort(x, dim=-1)
    n = s.shape[-1]
    if n % 2:
        return s[..., n // 2]
    return 0.5 * (s[..., n // 2 - 1] + s[..., n // 2])


def safe_log10_ratio(mse: torch.Tensor, peak: float = 1.0, floor: float = 1e-10) -> torch.Tensor:
    """``10 log10(peak^2 / max(mse, floor))``; the floor caps identical images at 100 dB."""
    return 10.0 * torch.log10(peak**2 / torch.clamp(mse, min=floor))


__all__ = [
    "to_tensor",
    "rgb_to_yiq",
    "luma",
    "gaussian_window",
    "gaussian_taps",
    "separable_filter",
    "filter2",
    "conv2_same",
    "box_downsample",
    "auto_downsample_factor",
    "median_last",
    "safe_log10_ratio",
]
