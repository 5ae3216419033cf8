"""Soft seams where the warp tears: closed lips that meet along a line, not a staircase.

When an open mouth is pressed shut, the triangles spanning its opening collapse to nothing and
the upper lip's triangles come to lie against the lower lip's: two output pixels one apart then
sample the source at points far apart (the upper lip's inner rim and the lower lip's, 10-30
pixels apart on an open smile). Each pixel takes one side or the other, so the lips' line is a
jump in colour with no pixel in between, stepped wherever the line runs across the pixel grid
(a pink block against the corner's skin). The photo's own edges are softer: every one of them is
spread over a pixel or two by the lens and the camera's resampling.

A *tear* is a pair of 4-neighbouring output pixels whose sample points (the backward maps
``m = (mx, my)``) lie more than ``JUMP`` source pixels apart: ``|m(p) - m(q)| > JUMP`` (an
ordinary warp samples neighbours about one pixel apart, a strong squeeze two or three). Pixels
next to a tear are blended with a Gaussian blur of the warped image:

    I' = I + w (G_SIGMA * I - I),    w(p) = min(1, sum_q T(q) exp(-|p - q|^2 / (2 SIGMA_WEIGHT^2))),

``T`` the indicator of pixels next to a tear (so ``w = 1`` on them, whether a tear is one pixel
long or a whole lip long) and ``G_s *`` a normalised Gaussian of standard deviation ``s``; both
are cut off beyond ``RADIUS`` pixels: the seam gets about the width of an edge of the photo, and
pixels more than ``RADIUS`` pixels from any tear stay as they are, bit for bit.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Neighbouring output pixels whose samples lie farther apart than this (source pixels) tear.
JUMP = 3.0

#: The blur the seam is given (output pixels): the lips' line spread over 3-4 pixels, like the
#: photo's own lip edges (tests/edit/test_lip_edge.py; 1.0 left the largest step at a corner of
#: feat_single's sad at alpha 1 at the photo's own, 39 against 39 grey levels).
SIGMA = 1.5

#: The blend weight's spread from the torn pixels (output pixels): along a tear's two rows of
#: pixels, w = 1 on them and on the rows beside them, 0.88 one row further, 0.13 on the next.
SIGMA_WEIGHT = 1.2

#: Both Gaussians are cut off beyond this many pixels (7 x 7 kernels).
RADIUS = 3


def _spread_kernel(sigma: float = SIGMA_WEIGHT, radius: int = RADIUS) -> np.ndarray:
    """The weight's kernel ``exp(-d^2 / (2 sigma^2))`` on a (2 radius + 1)^2 grid, 1 at its centre."""
    d = np.arange(-radius, radius + 1, dtype=np.float32)
    return np.exp(-(d[:, None] ** 2 + d[None, :] ** 2) / np.float32(2.0 * sigma * sigma)).astype(np.float32)


_SPREAD = _spread_kernel()


def tear_mask(mx: np.ndarray, my: np.ndarray, jump: float = JUMP) -> np.ndarray:
    """Pixels with a 4-neighbour whose sample point lies more than ``jump`` source pixels away
    (``|m(p) - m(q)| > jump``, module docstring)."""
    mx = np.asarray(mx, np.float64)
    my = np.asarray(my, np.float64)
    torn = np.zeros(mx.shape, bool)
    across = np.hypot(np.diff(mx, axis=1), np.diff(my, axis=1)) > jump
    down = np.hypot(np.diff(mx, axis=0), np.diff(my, axis=0)) > jump
    torn[:, :-1] |= across
    torn[:, 1:] |= across
    torn[:-1] |= down
    torn[1:] |= down
    return torn


def soften_tears(canvas: np.ndarray, torn: np.ndarray, origin: tuple[int, int]) -> int:
    """In place on the float32 ``canvas``: the pixels near the torn ones (``torn``, whose pixel
    (0, 0) is ``canvas`` pixel ``origin`` = (x, y)) blended with the canvas's blur,
    ``I' = I + w (G_SIGMA * I - I)`` (module docstring). Returns the number of torn pixels."""
    ys, xs = np.nonzero(torn)
    if len(ys) == 0:
        return 0
    ox, oy = origin
    pad = 2 * RADIUS
    h, w = canvas.shape[:2]
    x0, y0 = max(int(xs.min()) + ox - pad, 0), max(int(ys.min()) + oy - pad, 0)
    x1, y1 = min(int(xs.max()) + ox + pad + 1, w), min(int(ys.max()) + oy + pad + 1, h)
    crop = canvas[y0:y1, x0:x1]
    mark = np.zeros(crop.shape[:2], np.float32)
    mark[ys + oy - y0, xs + ox - x0] = 1.0
    k = 2 * RADIUS + 1
    weight = np.minimum(cv2.filter2D(mark, -1, _SPREAD, borderType=cv2.BORDER_CONSTANT), 1.0)
    blurred = cv2.GaussianBlur(crop, (k, k), SIGMA, borderType=cv2.BORDER_REPLICATE)
    crop += weight[..., None] * (blurred - crop)
    return len(ys)
