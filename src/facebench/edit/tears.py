"""Soft seams where the warp tears: closed lips that meet along a line, not a staircase.

When an open mouth is pressed shut, the triangles spanning its opening collapse to nothing and
the upper lip's triangles come to lie against the lower lip's: two output pixels one apart then
sample the source at points far apart (the upper lip's inner rim and the lower lip's, 10-30
pixels apart on an open smile). Each pixel takes one side or the other, so the lips' line is a
jump in colour with no pixel in between, stepped wherever the line runs across the pixel grid: on
a smile pressed shut, the lower lip's wet red against the upper lip's dark corner, 75-80 grey
levels in one pixel (a pink block against the corner's skin). The photo's own lip edges are
softer: the lens and the camera's resampling spread each over a few pixels (their largest step
between neighbouring pixels: 39-46 grey levels on the bundled smiles).

A *tear* is a pair of 4-neighbouring output pixels whose sample points (the backward maps
``m = (mx, my)``) lie more than ``JUMP`` source pixels apart: ``|m(p) - m(q)| > JUMP`` (an
ordinary warp samples neighbours about one pixel apart, a strong squeeze two or three). Its
strength grows with the luma step across it, ``g = clip((|L(p) - L(q)| - STEP_LOW) / (STEP_HIGH -
STEP_LOW), 0, 1)`` (``L``: ITU-R BT.601 luma), and pixels near strong tears are blended with a
Gaussian blur of the warped image:

    I' = I + w (G_SIGMA * I - I),    w(p) = min(1, sum_q g(q) exp(-|p - q|^2 / (2 SIGMA_WEIGHT^2))),

``g(q)`` the strongest tear at ``q`` (so ``w = 1`` on a strong tear, whether one pixel long or a
whole lip long) and ``G_s *`` a normalised Gaussian of standard deviation ``s``; both are cut off
beyond ``RADIUS`` pixels, so pixels farther from a tear stay as they are, bit for bit.

A seam of low contrast stays as the warp draws it: there the pixel steps do not show, and the
crisp, darker line is what the expression classifiers read a closed mouth's arc from (softened
whatever its contrast, feat_surprise's sad at alpha 1.5 fell from 0.43 to 0.27-0.38 and stopped
rising: tests/edit/test_classifier_response.py).
"""

from __future__ import annotations

import cv2
import numpy as np

from ..base.pixels import luma

#: Neighbouring output pixels whose samples lie farther apart than this (source pixels) tear:
#: more than the strongest squeeze of a triangle next to the closed lips (up to 3.2 on
#: feat_single's sad at alpha 1). At 3.0 the seams of small, squeezed mouths count too: the
#: gallery's shy source then reads as more closed to the face mesh (tests/edit/test_motion.py:
#: shy 0.48 -> 0.52, the mean 0.5976 -> 0.5999 against its bound 0.6).
JUMP = 3.5

#: A tear's luma step (grey levels) up to STEP_LOW is left as it is, one of STEP_HIGH or more is
#: softened fully, linearly in between: the bundled smiles' own lip edges step by up to 39-46, so
#: softening starts a little below the softest photo's and is full above the sharpest's. (From 30,
#: feat_surprise's sad at alpha 1.5 read 0.431 after 0.431 at 1.25, its rise hanging on the
#: fourth digit; from 40, feat_happy's closed lips at 1.5 kept a step of 38.7 against its
#: photo's 39.0.)
STEP_LOW, STEP_HIGH = 35.0, 50.0

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


def tear_strength(image: np.ndarray, mx: np.ndarray, my: np.ndarray, jump: float = JUMP) -> np.ndarray:
    """Per pixel of ``image`` (sampled at ``mx, my``), the strongest tear it is part of:
    ``g = clip((s - STEP_LOW) / (STEP_HIGH - STEP_LOW), 0, 1)`` (float32), ``s`` the largest luma
    step ``|L(p) - L(q)|`` to a 4-neighbour ``q`` whose sample lies more than ``jump`` source
    pixels away (module docstring); 0 where there is none."""
    y = luma(np.asarray(image, np.float32), np.float32)
    mx = np.asarray(mx, np.float64)
    my = np.asarray(my, np.float64)
    step = np.zeros(y.shape, np.float32)
    across = np.where(np.hypot(np.diff(mx, axis=1), np.diff(my, axis=1)) > jump, np.abs(np.diff(y, axis=1)), 0)
    down = np.where(np.hypot(np.diff(mx, axis=0), np.diff(my, axis=0)) > jump, np.abs(np.diff(y, axis=0)), 0)
    step[:, :-1] = np.maximum(step[:, :-1], across)
    step[:, 1:] = np.maximum(step[:, 1:], across)
    step[:-1] = np.maximum(step[:-1], down)
    step[1:] = np.maximum(step[1:], down)
    return np.clip((step - STEP_LOW) / (STEP_HIGH - STEP_LOW), 0.0, 1.0).astype(np.float32)


def soften_tears(canvas: np.ndarray, strength: np.ndarray, origin: tuple[int, int]) -> int:
    """In place on the float32 ``canvas``: the pixels near tears (``strength``, the ``g`` of
    :func:`tear_strength`, whose pixel (0, 0) is ``canvas`` pixel ``origin`` = (x, y)) blended with
    the canvas's blur, ``I' = I + w (G_SIGMA * I - I)`` (module docstring). Returns the number of
    pixels with a tear of some strength."""
    strength = np.asarray(strength, np.float32)
    ys, xs = np.nonzero(strength > 0)
    if len(ys) == 0:
        return 0
    ox, oy = origin
    pad = 2 * RADIUS  # the weight reaches RADIUS from a tear, the blur RADIUS beyond that
    h, w = canvas.shape[:2]
    x0, y0 = max(int(xs.min()) + ox - pad, 0), max(int(ys.min()) + oy - pad, 0)
    x1, y1 = min(int(xs.max()) + ox + pad + 1, w), min(int(ys.max()) + oy + pad + 1, h)
    crop = canvas[y0:y1, x0:x1]
    mark = np.zeros(crop.shape[:2], np.float32)
    mark[ys + oy - y0, xs + ox - x0] = strength[ys, xs]
    weight = np.minimum(cv2.filter2D(mark, -1, _SPREAD, borderType=cv2.BORDER_CONSTANT), 1.0)
    k = 2 * RADIUS + 1
    blurred = cv2.GaussianBlur(crop, (k, k), SIGMA, borderType=cv2.BORDER_REPLICATE)
    crop += weight[..., None] * (blurred - crop)
    return len(ys)
