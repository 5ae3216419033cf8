"""The eyeball as a layer under the lids: the iris keeps its radius whatever the lids do.

A widening eye (AU5) does not scale the eyeball: the lids move away from a ball of fixed size, so
more sclera shows around an iris of the same radius, and a lowering lid covers the iris instead
of squashing it. :func:`eye_layer` builds that layer for the eye's new opening:

1. the photo's eye, unwarped, moved with the eye corners (``shift``): its visible iris and sclera
   keep their size and texture (where the lid moved away, the photo's lid margin just inside its
   old position is left out: lashes must not show as a band inside the wider opening);
2. iris pixels the photo's lid hid: taken from the photo's own iris at the mirror position across
   the iris's horizontal diameter (a lid hides the top, the bottom shows), else the iris colour
   darkened toward the limbus (the dark rim of a real iris);
3. sclera the lid hid: the colour of the sclera the photo shows beside the iris, shaded like a ball -- darker toward the corners
   (``1 - 0.2 u^2``, ``u`` the distance from the iris centre over the eye's half-width) and in the
   shadow of the upper lid (``0.78`` at the lid, fading over 0.8 iris radius).

The layer is composited under the new lid contour (the opening's polygon, softened by 0.7 px).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from . import kernels
from .retouch import _shift_sample, _upper_lower_profiles, clip, crop_around, polygon_mask

#: How much darker the rim of the iris (the limbus) is than its middle, where it is painted.
LIMBUS = 0.35

#: An opening that grew by more than this fraction of its area is a widened eye (the layer of
#: steps 2-3); a smaller change keeps the photo's eye, its margins repainted flat.
WIDEN = 0.25

#: The sclera's darkening toward the eye corners (ball shading), and in the upper lid's shadow.
CORNER_SHADE, LID_SHADE = 0.2, 0.22


@dataclass(frozen=True)
class EyeColours:
    """Colours of one eye, read from the photo."""

    sclera: np.ndarray
    iris: np.ndarray
    lit_sclera: np.ndarray  # the sclera as a widening lid uncovers it: lit like the face


def eye_layer(src: np.ndarray, src_poly: np.ndarray, dst_poly: np.ndarray, shift: np.ndarray,
              iris_centre: np.ndarray, iris_radius: float, colours: EyeColours
              ) -> tuple[tuple[int, int, int, int], np.ndarray, np.ndarray] | None:
    """The eye inside its new opening ``dst_poly`` (16 points, corner, upper lid, corner, lower
    lid as :data:`facebench.edit.landmarks.EYE_R`), the photo's opening being ``src_poly``.
    Returns (crop box, layer, alpha) for :func:`facebench.edit.retouch.composite`, or None."""
    crop = crop_around(np.vstack([dst_poly, src_poly + shift]), src.shape[:2], 2)
    if crop is None:
        return None
    box, off, shp, gx, gy = crop.box, crop.off, crop.shape, crop.gx, crop.gy
    x0, y0 = box[:2]
    srcf = src if src.dtype == np.float32 else src.astype(np.float32)  # a float32 image is used as it is
    layer = _shift_sample(srcf, gx, gy, shift)
    # what the photo shows of the eye, less its lid margins (lashes, the wet rim) just inside its
    # opening; where the opening grew (by more than WIDEN = 25 % of its area) only the margins near the
    # growth are left out, so the lids that stay keep theirs
    opening = polygon_mask(src_poly, shp, off, blur=0.0)
    k = 2 * max(1, int(round(0.3 * iris_radius))) + 1
    seen_src, widened = opening, False
    if min(shp) > k:
        ell = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        grown = clip(polygon_mask(dst_poly - shift, shp, off, blur=0.0) - opening, 0, 1)
        margin = clip(opening - cv2.erode(opening, ell), 0, 1)
        widened = float(grown.sum()) > WIDEN * float(opening.sum())
        near_growth = cv2.dilate(grown, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
        seen_src = opening - margin * (near_growth if widened else 1.0)
    seen = _shift_sample(seen_src, gx - x0, gy - y0, shift)
    c = np.asarray(iris_centre, np.float64) + shift
    dx, dy = gx - c[0], gy - c[1]
    r = np.hypot(dx, dy)
    rad = max(float(iris_radius), 1.0)
    in_iris = clip(rad - r + 0.5, 0, 1)
    if not widened:
        # a lid that stays or comes down: the margins repainted flat, shaded under the lid
        top = float(dst_poly[:, 1].min())
        shade = 0.72 + 0.28 * clip((gy - top) / rad, 0, 1)
        a = clip(1 - cv2.GaussianBlur(seen, (0, 0), 0.7), 0, 1)
        # layer (1 - a) + flat a, flat = (iris in_iris + sclera (1 - in_iris)) shade, in one pass
        iris, sclera = np.asarray(colours.iris), np.asarray(colours.sclera)
        flat_t = np.result_type(iris, sclera, in_iris, shade, a)
        out = np.empty(layer.shape, np.result_type(layer, a, flat_t))
        kernels.eye_margins(out, layer, a, 1 - a, iris, sclera, in_iris, 1 - in_iris, shade)
        return box, out, polygon_mask(dst_poly, shp, off, blur=0.7)
    # hidden iris: the mirror image across the horizontal diameter where the photo shows it (a
    # lid hides the top, the bottom shows), else the iris colour darkened toward the limbus
    iris_paint = colours.iris[None, None, :] * (1.0 - LIMBUS * clip((r / rad - 0.7) / 0.3, 0, 1) ** 2)[..., None]
    my = c[1] - dy
    ok = clip(cv2.remap(seen, (gx - x0).astype(np.float32), (my - y0).astype(np.float32),
                           interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=0.0), 0, 1)[..., None]
    mirror = cv2.remap(srcf, (gx - shift[0]).astype(np.float32), (my - shift[1]).astype(np.float32),
                       interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    iris_paint = mirror * ok + iris_paint * (1 - ok)
    # hidden sclera: ball shading toward the corners, and the upper lid's shadow
    xs = gx[0]
    upper, _ = _upper_lower_profiles(dst_poly, 9, xs)
    half = max(float(np.ptp(dst_poly[:, 0])) / 2, 1.0)
    u = clip(np.abs(dx) / half, 0, 1.5)
    ball = 1.0 - CORNER_SHADE * u ** 2
    lid = 1.0 - LID_SHADE * np.exp(-np.maximum(gy - upper[None, :], 0) / (0.8 * rad))
    sclera_paint = _sclera(layer, seen, r, rad, colours.lit_sclera)[None, None, :] * (ball * lid)[..., None]
    paint = iris_paint * in_iris[..., None] + sclera_paint * (1 - in_iris[..., None])
    # the lid's shadow falls on the iris too
    paint = paint * np.where(in_iris > 0, lid, 1.0)[..., None]
    a = clip(1 - cv2.GaussianBlur(seen, (0, 0), 0.7), 0, 1)[..., None]
    layer = layer * (1 - a) + paint * a
    alpha = polygon_mask(dst_poly, shp, off, blur=0.7)
    return box, layer, alpha


def _sclera(layer: np.ndarray, seen: np.ndarray, r: np.ndarray, rad: float, default: np.ndarray) -> np.ndarray:
    """The white of this eye as the photo shows it beside the iris: the median of the brightest
    quarter of the unsaturated pixels seen between 1.2 and 3 iris radii from the iris centre (the
    part of the sclera lit like the rest of the ball; a narrow eye shows lashes and shadow there
    too), or ``default`` when that is brighter or too few pixels are seen."""
    near = (seen > 0.95) & (r > 1.2 * rad) & (r < 3.0 * rad)
    px = layer[near]
    if len(px) >= 8:
        mx, mn = px.max(1), px.min(1)
        px = px[(mx - mn) / np.maximum(mx, 1.0) < 0.35]
    if len(px) < 8:
        return np.asarray(default, np.float32)
    lum = px.mean(1)
    local = np.median(px[lum >= np.quantile(lum, 0.75)], axis=0)
    return np.asarray(default if np.mean(default) > local.mean() else local, np.float32)

