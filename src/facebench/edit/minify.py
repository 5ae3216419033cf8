"""Prefiltered sampling where the warp minifies: the closed lips' line without a staircase.

The warp (:mod:`facebench.edit.warp`) samples the source once per output pixel (bilinear). Where a
triangle of the moved mesh is squeezed -- an open mouth pressed shut, whose opening and inner lip
rims collapse to a line one or two pixels tall -- one output pixel spans several source pixels,
and a point sample aliases: each output pixel takes either the lip's red or the skin beside it,
so the lip's inner edge becomes a hard, stepped edge.

Per triangle ``k`` the backward map is affine, ``s = A_k d + c_k`` (``A_k`` the 2x2 linear part,
source pixels per output pixel). Its singular value decomposition ``A_k = U diag(s_1, s_2) V^T``
says that a unit step in the output along ``v_i`` moves ``s_i`` source pixels along ``u_i``.
The photo's edges carry the camera's blur, about ``SIGMA_PHOTO`` pixels (lens and resampling), in
its own pixels; squeezed by ``s_i``, an edge would be ``s_i`` times sharper than the camera draws
one, and point samples ``s_i`` source pixels apart alias. Blurring the source along ``u_i`` by

    sigma_i = SIGMA_PHOTO * sqrt(s_i^2 - 1)     (where s_1 > S_MIN; else 0)

gives the squeezed edge ``sqrt(SIGMA_PHOTO^2 + sigma_i^2) = SIGMA_PHOTO s_i`` source pixels of
blur, i.e. ``SIGMA_PHOTO`` output pixels -- the photo's own softness -- and, as ``SIGMA_PHOTO >=
0.5`` (an output pixel's own footprint), samples that do not alias (Gaussians add in quadrature).
Triangles whose largest ``s`` stays at or below ``S_MIN`` are sampled as before, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: A triangle is prefiltered only where it squeezes the source by more than this factor (the
#: ordinary stretch of skin by an expression, s ~ 1-1.3, stays point-sampled and pixel-identical).
S_MIN = 1.3

#: The camera's blur in the photo's pixels (standard deviation, pixels) that a squeezed region
#: keeps in the output; 0.5 would only anti-alias (an output pixel's own footprint).
SIGMA_PHOTO = 1.0

#: The largest prefilter (source pixels): a triangle squashed to (almost) nothing has an
#: unbounded ``s``; its probes are also kept inside its source box (:mod:`facebench.edit.kernels`).
SIGMA_MAX = 8.0


@dataclass(frozen=True)
class Footprints:
    """Per triangle: ``axes`` (T, 2, 2), the source-space unit directions ``u_1, u_2`` (rows) of its
    backward map's singular vectors, and ``sigma`` (T, 2), the prefilter's standard deviation
    (source pixels) along each (0: not filtered along it)."""

    axes: np.ndarray
    sigma: np.ndarray

    @property
    def any(self) -> bool:
        """Whether some triangle is prefiltered at all."""
        return bool((self.sigma > 0).any())


def singular_values(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For 2x2 matrices ``a`` (T, 2, 2): their singular values ``s_1 >= s_2`` (T,) each and the
    left singular vectors' angle ``theta`` (T,) (``u_1 = (cos, sin)``), in closed form from
    ``M = A A^T = [[p, q], [q, r]]``: ``s_1,2^2 = (p + r) / 2 +- sqrt(((p - r) / 2)^2 + q^2)``,
    ``theta = atan2(2 q, p - r) / 2``."""
    a = np.asarray(a, np.float64)
    p = a[:, 0, 0] ** 2 + a[:, 0, 1] ** 2
    r = a[:, 1, 0] ** 2 + a[:, 1, 1] ** 2
    q = a[:, 0, 0] * a[:, 1, 0] + a[:, 0, 1] * a[:, 1, 1]
    mean, rad = 0.5 * (p + r), np.hypot(0.5 * (p - r), q)
    s1 = np.sqrt(mean + rad)
    s2 = np.sqrt(np.maximum(mean - rad, 0.0))
    return s1, s2, 0.5 * np.arctan2(2.0 * q, p - r)


def footprints(coef: np.ndarray, s_min: float = S_MIN, sigma_photo: float = SIGMA_PHOTO,
               sigma_max: float = SIGMA_MAX) -> Footprints:
    """The prefilter of every triangle from its backward affine maps ``coef`` (T, 2, 3) (module
    docstring: ``sigma_i = sigma_photo * sqrt(s_i^2 - 1)`` where ``s_1 > s_min``, at most
    ``sigma_max``)."""
    s1, s2, theta = singular_values(np.asarray(coef)[:, :, :2])
    c, s = np.cos(theta), np.sin(theta)
    axes = np.stack([np.stack([c, s], 1), np.stack([-s, c], 1)], 1)
    sv = np.stack([s1, s2], 1)
    squeeze = s1[:, None] > s_min  # a triangle is filtered along each axis that minifies
    sigma = np.where(squeeze & (sv > 1.0), sigma_photo * np.sqrt(np.maximum(sv * sv - 1.0, 0.0)), 0.0)
    return Footprints(axes, np.minimum(sigma, sigma_max))
