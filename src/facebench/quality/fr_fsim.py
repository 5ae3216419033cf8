"""FSIM / FSIMc: feature similarity index (full-reference, higher is better).

Zhang, Zhang, Mou, Zhang, "FSIM: a feature similarity index for image quality assessment",
IEEE TIP 20(8), 2011. Phase congruency (PC) after Kovesi ("Image features from phase congruency",
Videre 1(3), 1999) with log-Gabor filters (4 scales from a 6-px wavelength with factor 2,
sigma_f/f0 = 0.55, 4 orientations with angular sigma pi/4/1.2, noise compensation k = 2), Scharr
gradient magnitude, S_PC with T1 = 0.85, S_G with T2 = 160, chroma (YIQ) similarity with
T3 = T4 = 200 and exponent lambda = 0.03, pooled with PC_m = max(PC_ref, PC_dist):
FSIMc = sum(S_L * S_C^lambda * PC_m) / sum(PC_m). Images are first averaged and down-sampled by
``max(1, round(min(H, W) / 256))`` as in the authors' code.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch

from ._torch import auto_downsample_factor, conv2_same, median_last, rgb_to_yiq

T1, T2, T3, T4 = 0.85, 160.0, 200.0, 200.0
LAMBDA = 0.03
N_SCALE, N_ORIENT = 4, 4
MIN_WAVELENGTH, MULT, SIGMA_ON_F = 6.0, 2.0, 0.55
D_THETA_ON_SIGMA, K_NOISE, EPSILON = 1.2, 2.0, 1e-4
_SCHARR_X = torch.tensor([[3.0, 0.0, -3.0], [10.0, 0.0, -10.0], [3.0, 0.0, -3.0]], dtype=torch.float64) / 16.0
#: Smallest side accepted (after down-sampling the log-Gabor bank needs a few wavelengths).
FSIM_MIN_SIZE = 16


def _freq_grid(rows: int, cols: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised frequency radius and angle, DC at [0, 0] (Kovesi's grid after ifftshift)."""

    def axis(n: int) -> torch.Tensor:
        if n % 2:
            return torch.arange(-(n - 1) / 2, (n - 1) / 2 + 1, dtype=dtype) / (n - 1)
        return torch.arange(-n / 2, n / 2, dtype=dtype) / n

    y, x = torch.meshgrid(axis(rows), axis(cols), indexing="ij")
    radius = torch.fft.ifftshift(torch.sqrt(x * x + y * y))
    theta = torch.fft.ifftshift(torch.atan2(-y, x))
    return radius, theta


@lru_cache(maxsize=8)
def _filter_bank(rows: int, cols: int, dtype: torch.dtype) -> torch.Tensor:
    """Log-Gabor x angular-spread filters ``(N_ORIENT, N_SCALE, rows, cols)`` in the frequency domain."""
    radius, theta = _freq_grid(rows, cols, dtype)
    lowpass = 1.0 / (1.0 + (radius / 0.45) ** (2 * 15))
    radius = radius.clone()
    radius[0, 0] = 1.0
    gabors = []
    for s in range(N_SCALE):
        f0 = 1.0 / (MIN_WAVELENGTH * MULT**s)
        g = torch.exp(-(torch.log(radius / f0) ** 2) / (2 * math.log(SIGMA_ON_F) ** 2)) * lowpass
        g[0, 0] = 0.0
        gabors.append(g)
    theta_sigma = math.pi / N_ORIENT / D_THETA_ON_SIGMA
    sin_t, cos_t = torch.sin(theta), torch.cos(theta)
    bank = []
    for o in range(N_ORIENT):
        ang = o * math.pi / N_ORIENT
        ds = sin_t * math.cos(ang) - cos_t * math.sin(ang)
        dc = cos_t * math.cos(ang) + sin_t * math.sin(ang)
        spread = torch.exp(-(torch.atan2(ds, dc).abs() ** 2) / (2 * theta_sigma**2))
        bank.append(torch.stack([g * spread for g in gabors]))
    return torch.stack(bank)


@lru_cache(maxsize=8)
def _noise_terms(rows: int, cols: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Image-independent parts of Kovesi's noise model per orientation: the smallest filter's
    energy, sum_s |f_s|^2 and sum_{i<j} f_i f_j of the spatial filters."""
    bank = _filter_bank(rows, cols, dtype)
    em_n = (bank[:, 0] ** 2).flatten(1).sum(1)  # (O,)
    ifft_f = torch.fft.ifft2(bank).real * math.sqrt(rows * cols)  # (O, S, H, W)
    sum_an2 = (ifft_f**2).sum(1).flatten(1).sum(1)
    total = ifft_f.sum(1)
    sum_aiaj = ((total**2 - (ifft_f**2).sum(1)) / 2).flatten(1).sum(1)  # sum over pairs i < j
    return em_n, sum_an2, sum_aiaj


def phase_congruency(y: torch.Tensor) -> torch.Tensor:
    """Kovesi phase congruency ``(N, 1, H, W)`` of a luma batch (FSIM's ``phasecong3`` settings)."""
    n, _, rows, cols = y.shape
    bank = _filter_bank(rows, cols, y.dtype)  # (O, S, H, W)
    em_n, sum_an2, sum_aiaj = _noise_terms(rows, cols, y.dtype)
    spec = torch.fft.fft2(y[:, 0])  # (N, H, W)
    eo = torch.fft.ifft2(spec[:, None, None] * bank[None])  # (N, O, S, H, W)
    amp = eo.abs()
    sum_e, sum_o = eo.real.sum(2), eo.imag.sum(2)  # (N, O, H, W)
    x_energy = torch.sqrt(sum_e**2 + sum_o**2) + EPSILON
    mean_e, mean_o = (sum_e / x_energy)[:, :, None], (sum_o / x_energy)[:, :, None]
    energy = (eo.real * mean_e + eo.imag * mean_o - (eo.real * mean_o - eo.imag * mean_e).abs()).sum(2)
    # Noise threshold per image and orientation from the smallest scale's response (Rayleigh model).
    median_e2n = median_last((amp[:, :, 0] ** 2).flatten(2))  # (N, O)
    noise_power = (-median_e2n / math.log(0.5)) / em_n[None]
    est_noise2 = 2 * noise_power * sum_an2[None] + 4 * noise_power * sum_aiaj[None]
    tau = torch.sqrt(est_noise2 / 2)
    thresh = (tau * math.sqrt(math.pi / 2) + K_NOISE * torch.sqrt((2 - math.pi / 2) * tau**2)) / 1.7
    energy = torch.clamp(energy - thresh[..., None, None], min=0.0)
    return (energy.sum(1) / amp.sum((1, 2)))[:, None]


def _downsample(x: torch.Tensor, f: int) -> torch.Tensor:
    if f <= 1:
        return x
    box = torch.full((f, f), 1.0 / (f * f), dtype=x.dtype)
    return conv2_same(x, box)[..., ::f, ::f]


def fsim(dist: torch.Tensor, ref: torch.Tensor, chromatic: bool = True) -> torch.Tensor:
    """FSIMc (``chromatic=True``, default) or FSIM per image, 1 for identical images."""
    h, w = ref.shape[-2:]
    f = auto_downsample_factor(h, w)
    if min(h, w) // f < FSIM_MIN_SIZE:
        raise ValueError(f"FSIM needs images of at least {FSIM_MIN_SIZE}x{FSIM_MIN_SIZE} px, got {w}x{h}")
    yr = _downsample(rgb_to_yiq(ref * 255.0), f)
    yd = _downsample(rgb_to_yiq(dist * 255.0), f)
    pc_r, pc_d = phase_congruency(yr[:, :1]), phase_congruency(yd[:, :1])

    def grad(y: torch.Tensor) -> torch.Tensor:
        gx = conv2_same(y, _SCHARR_X)
        gy = conv2_same(y, _SCHARR_X.T.contiguous())
        return torch.sqrt(gx * gx + gy * gy)

    g_r, g_d = grad(yr[:, :1]), grad(yd[:, :1])
    s_pc = (2 * pc_r * pc_d + T1) / (pc_r**2 + pc_d**2 + T1)
    s_g = (2 * g_r * g_d + T2) / (g_r**2 + g_d**2 + T2)
    pc_m = torch.maximum(pc_r, pc_d)
    sim = s_pc * s_g
    if chromatic:
        i_r, q_r, i_d, q_d = yr[:, 1:2], yr[:, 2:3], yd[:, 1:2], yd[:, 2:3]
        s_i = (2 * i_r * i_d + T3) / (i_r**2 + i_d**2 + T3)
        s_q = (2 * q_r * q_d + T4) / (q_r**2 + q_d**2 + T4)
        p = s_i * s_q
        # real part of p ** lambda (p can be slightly negative for opposite chroma)
        sim = sim * torch.where(p >= 0, p.abs() ** LAMBDA, p.abs() ** LAMBDA * math.cos(LAMBDA * math.pi))
    return (sim * pc_m).flatten(1).sum(1) / pc_m.flatten(1).sum(1)
