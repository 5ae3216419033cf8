"""PIQE: perception-based image quality evaluator (no-reference, lower is better, 0-100).

Venkatanath, Praneeth, Chandrasekhar, Channappayya, Medasani, "Blind image quality evaluation
using perception based features", NCC 2015; block rules as in MATLAB's ``piqe`` (no trained
parameters). Luma (OpenCV BT.601 on uint8), symmetric padding to a multiple of 16, rescaling to
0-255 by the maximum, MSCN with a 7x7 Gaussian (sigma 7/6, replicated border, C = 1); a 16x16 block
is active when its variance exceeds 0.1; an active block is "noticeably distorted" when any 6-pixel
segment of its four edges has standard deviation below 0.1 and "noisy" when
sigma > 2 |sigma - r| / max(sigma, r), r = std(centre columns) / std(surround);
PIQE = 100 (sum(D_k) + 1) / (N_active + 1) with D_k = (1 - var) for distorted and var for noisy blocks.
Vectorised over blocks; equal to the ``pypiqe`` package (MIT) given the same luma.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..base.pixels import gray_u8

BLOCK = 16
SEGMENT = 6
ACTIVITY_T = 0.1
IMPAIRED_T = 0.1


def _edge_segments_std(edges: np.ndarray) -> np.ndarray:
    """edges ``(B, 16)`` -> std (ddof 1) of the 11 sliding 6-pixel segments ``(B, 11)``."""
    win = np.lib.stride_tricks.sliding_window_view(edges, SEGMENT, axis=1)
    return win.std(axis=2, ddof=1)


def piqe_gray(gray: np.ndarray) -> float:
    """PIQE of a 2-D luma image (any numeric scale; it is rescaled by its maximum)."""
    img = np.asarray(gray, dtype=np.float64)
    h, w = img.shape
    ph, pw = (-h) % BLOCK, (-w) % BLOCK
    if ph or pw:
        img = np.pad(img, ((0, ph), (0, pw)), mode="symmetric")
    peak = img.max()
    if peak <= 0:
        return 100.0
    img = np.round(255.0 * (img / peak))
    mu = cv2.GaussianBlur(img, (7, 7), 7 / 6, borderType=cv2.BORDER_REPLICATE)
    sd = np.sqrt(np.abs(cv2.GaussianBlur(img * img, (7, 7), 7 / 6, borderType=cv2.BORDER_REPLICATE) - mu * mu))
    norm = (img - mu) / (sd + 1)
    hh, ww = norm.shape
    blocks = norm.reshape(hh // BLOCK, BLOCK, ww // BLOCK, BLOCK).transpose(0, 2, 1, 3).reshape(-1, BLOCK, BLOCK)
    var = blocks.reshape(len(blocks), -1).var(axis=1, ddof=1)
    active = var > ACTIVITY_T
    b = blocks[active]
    v = var[active]
    if len(b) == 0:
        return 100.0
    edges = (b[:, 0, :], b[:, :, BLOCK - 1], b[:, BLOCK - 1, :], b[:, :, 0])
    impaired = np.zeros(len(b), dtype=bool)
    for e in edges:
        impaired |= (_edge_segments_std(e) < IMPAIRED_T).any(axis=1)
    # centre = columns 7 and 8; surround = the block without columns 7 and 9 (MATLAB's sequential deletion)
    c1 = (BLOCK - 1 + 1) // 2 - 1
    centre = np.concatenate((b[:, :, c1], b[:, :, c1 + 1]), axis=1)
    keep = [j for j in range(BLOCK) if j not in (c1, c1 + 2)]
    surround = b[:, :, keep].reshape(len(b), -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = centre.std(axis=1, ddof=1) / surround.std(axis=1, ddof=1)
    ratio = np.nan_to_num(ratio, nan=0.0)
    sigma = np.sqrt(v)
    with np.errstate(invalid="ignore", divide="ignore"):
        beta = np.abs(sigma - ratio) / np.maximum(sigma, ratio)
    noisy = sigma > 2 * beta
    dist = np.where(impaired, 1 - v, 0.0) + np.where(noisy, v, 0.0)
    return float((dist.sum() + 1) / (len(b) + 1) * 100)


def piqe(image: np.ndarray) -> float:
    """PIQE of an ``HxWx3`` uint8 RGB image."""
    return piqe_gray(gray_u8(image))
