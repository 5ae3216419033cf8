"""What a careful retoucher adds where moving the mesh is not enough.

- :func:`mouth_layer`: the inside of a mouth whose lips part -- a dark cavity, with the person's
  own teeth carried along with the upper and lower lips when the mouth was already open, or a
  painted hint of teeth (``"upper"`` / ``"both"``) when it was closed. Teeth are never stretched.
- :func:`eye_layer`: the eyeball is not squashed when a lid comes down: inside the new eye
  opening the eye is copied unwarped, so the lid *covers* the iris.
- :func:`tint`: soft-edged colour changes (a blush on the cheeks, darker under-eye circles).

All functions work on float32 RGB in [0, 255] and return (layer, alpha) pairs or modified copies;
they are deterministic (no randomness), so a sweep and separate edits agree exactly.
"""

from __future__ import annotations

import cv2
import numpy as np

SUB = 4  # fractional bits for sub-pixel polygon drawing


def polygon_mask(poly: np.ndarray, shape: tuple[int, int], offset: np.ndarray, blur: float = 0.6) -> np.ndarray:
    """Anti-aliased fill of a polygon as float32 in [0, 1] (``offset`` is the crop's top-left)."""
    m = np.zeros(shape, np.float32)
    p = np.round((poly - offset) * (1 << SUB)).astype(np.int32)
    cv2.fillPoly(m, [p], 1.0, lineType=cv2.LINE_AA, shift=SUB)
    if blur > 0:
        m = cv2.GaussianBlur(m, (0, 0), blur)
    return m


def polygon_area(poly: np.ndarray) -> float:
    """Shoelace area of a closed polygon (absolute value, pixels squared)."""
    x, y = poly[:, 0], poly[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def _bbox(poly: np.ndarray, shape: tuple[int, int], pad: int) -> tuple[int, int, int, int]:
    h, w = shape
    x0, y0 = np.floor(poly.min(0)).astype(int) - pad
    x1, y1 = np.ceil(poly.max(0)).astype(int) + pad + 1
    return max(0, x0), max(0, y0), min(w, x1), min(h, y1)


def _shift_sample(img: np.ndarray, gx: np.ndarray, gy: np.ndarray, d: np.ndarray) -> np.ndarray:
    return cv2.remap(img, (gx - d[0]).astype(np.float32), (gy - d[1]).astype(np.float32),
                     interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def _upper_lower_profiles(poly: np.ndarray, n_upper: int, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """y of the upper and lower lip line at each x (poly = upper from corner to corner, then lower back)."""
    up = poly[:n_upper]
    lo = poly[n_upper - 1:][::-1]
    up = up[np.argsort(up[:, 0])]
    lo = lo[np.argsort(lo[:, 0])]
    return np.interp(xs, up[:, 0], up[:, 1]), np.interp(xs, lo[:, 0], lo[:, 1])


def mouth_layer(
    src: np.ndarray,
    src_poly: np.ndarray,
    dst_poly: np.ndarray,
    n_upper: int,
    d_upper: np.ndarray,
    d_lower: np.ndarray,
    *,
    teeth: str,
    teeth_rgb: np.ndarray,
    cavity_rgb: np.ndarray,
    src_open: bool,
    gate: float,
) -> tuple[tuple[int, int, int, int], np.ndarray, np.ndarray] | None:
    """Paint the mouth opening ``dst_poly`` (inner-lip polygon after the edit).

    ``src_poly``/``dst_poly``: (20, 2) inner-lip points, the first ``n_upper`` along the upper
    lip from corner to corner, the rest back along the lower lip. ``d_upper``/``d_lower``: how the
    upper/lower lip moved (pixels); the person's teeth (when ``src_open``) ride with them. ``gate``
    in [0, 1] fades the painted opening in as it appears. Returns (crop box, layer, alpha) or None.
    """
    if gate <= 0:
        return None
    h, w = src.shape[:2]
    box = _bbox(np.vstack([dst_poly, src_poly]), (h, w), 3)
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return None
    off = np.array([x0, y0], np.float64)
    shp = (y1 - y0, x1 - x0)
    m_dst = polygon_mask(dst_poly, shp, off)
    gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    xs = gx[0]
    top, bot = _upper_lower_profiles(dst_poly, n_upper, xs)
    opening = np.maximum(bot - top, 0.0)
    width = max(float(np.ptp(dst_poly[:, 0])), 1.0)
    # dark cavity: darker deep inside, a little lighter near the lips
    depth = np.clip((gy - top[None, :]) / np.maximum(opening[None, :], 1.0), 0, 1)
    centre = 1.0 - np.clip(np.abs(xs - dst_poly[:, 0].mean()) / (width / 2), 0, 1)[None, :]
    shade = 0.55 + 0.45 * (1 - np.sin(np.pi * depth)) * (0.6 + 0.4 * (1 - centre))
    layer = cavity_rgb[None, None, :] * shade[..., None]
    if src_open:
        # the person's own teeth and tongue, carried by the lips (no stretching)
        m_src = polygon_mask(src_poly, shp, off, blur=0.0)
        s_top, s_bot = _upper_lower_profiles(src_poly, n_upper, xs)
        mid = (s_top + s_bot) / 2
        src_f = src.astype(np.float32)
        for d, half in ((d_lower, "lower"), (d_upper, "upper")):
            samp = _shift_sample(src_f, gx, gy, d)
            inside = _shift_sample(m_src, gx - x0, gy - y0, d)  # mask moved the same way
            y_src = gy - d[1]
            side = (y_src >= mid[None, :]) if half == "lower" else (y_src < mid[None, :])
            a = np.clip(inside, 0, 1) * side
            layer = layer * (1 - a[..., None]) + samp * a[..., None]
    else:
        layer = _paint_teeth(layer, gx, gy, xs, top, bot, dst_poly, teeth, teeth_rgb)
    alpha = m_dst * float(np.clip(gate, 0, 1))
    return box, layer, alpha


def _paint_teeth(layer: np.ndarray, gx: np.ndarray, gy: np.ndarray, xs: np.ndarray, top: np.ndarray,
                 bot: np.ndarray, poly: np.ndarray, teeth: str, rgb: np.ndarray) -> np.ndarray:
    """A soft hint of teeth under the upper lip (and above the lower one for ``"both"``)."""
    if teeth == "none":
        return layer
    cx = poly[:, 0].mean()
    half = max(float(np.ptp(poly[:, 0])) / 2, 1.0)
    u = (xs - cx) / half  # -1 .. 1 across the mouth
    opening = np.maximum(bot - top, 0.0)
    across = np.clip(1 - (np.abs(u) / 0.85) ** 4, 0, 1)[None, :]  # teeth fade toward the corners
    tooth_h = np.minimum(opening * 0.62, 0.24 * half)[None, :]
    # gaps between teeth: faint darker lines, widest teeth in the middle
    phase = np.sign(u) * (np.abs(u) ** 1.25) / 0.16
    gaps = 1.0 - 0.22 * np.exp(-0.5 * (((phase + 0.5) % 1.0 - 0.5) / 0.07) ** 2)
    shade = (0.8 + 0.2 * np.cos(u * np.pi / 2))[None, :] * gaps[None, :]
    a = np.zeros_like(gy)
    dy = gy - top[None, :]
    a = np.maximum(a, np.clip((tooth_h - dy) / 1.2 + 0.5, 0, 1) * (dy > -1))
    if teeth == "both":
        low_h = np.minimum(opening * 0.3, 0.16 * half)[None, :]
        dyl = bot[None, :] - gy
        a = np.maximum(a, np.clip((low_h - dyl) / 1.2 + 0.5, 0, 1) * (dyl > -1) * 0.85)
    a = a * across
    col = rgb[None, None, :] * shade[..., None]
    return layer * (1 - a[..., None]) + col * a[..., None]


def eye_layer(src: np.ndarray, dst_poly: np.ndarray, shift: np.ndarray, strength: float
              ) -> tuple[tuple[int, int, int, int], np.ndarray, np.ndarray] | None:
    """Copy the eye, unwarped but moved by ``shift``, inside the new opening ``dst_poly``."""
    if strength <= 0:
        return None
    box = _bbox(dst_poly, src.shape[:2], 2)
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return None
    gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    layer = _shift_sample(src.astype(np.float32), gx, gy, shift)
    alpha = polygon_mask(dst_poly, (y1 - y0, x1 - x0), np.array([x0, y0], float), blur=0.8)
    return box, layer, alpha * float(np.clip(strength, 0, 1))


def composite(img: np.ndarray, box: tuple[int, int, int, int], layer: np.ndarray, alpha: np.ndarray) -> None:
    """In place: ``img[box] = layer * alpha + img[box] * (1 - alpha)`` (float32 image)."""
    x0, y0, x1, y1 = box
    sub = img[y0:y1, x0:x1]
    a = alpha[..., None]
    sub[...] = layer * a + sub * (1 - a)


def tint(img: np.ndarray, centre: np.ndarray, radii: tuple[float, float], angle_deg: float,
         gain: np.ndarray, strength: float) -> None:
    """In place: multiply colours by ``gain`` inside a soft ellipse (Gaussian falloff)."""
    if strength <= 0:
        return
    h, w = img.shape[:2]
    rx, ry = radii
    r = 2.5 * max(rx, ry)
    x0, y0 = int(max(0, centre[0] - r)), int(max(0, centre[1] - r))
    x1, y1 = int(min(w, centre[0] + r + 1)), int(min(h, centre[1] + r + 1))
    if x1 <= x0 or y1 <= y0:
        return
    gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    c, s = np.cos(np.radians(angle_deg)), np.sin(np.radians(angle_deg))
    dx, dy = gx - centre[0], gy - centre[1]
    u = (c * dx + s * dy) / rx
    v = (-s * dx + c * dy) / ry
    a = np.exp(-0.5 * (u * u + v * v)) * float(strength)
    sub = img[y0:y1, x0:x1]
    sub[...] = sub * (1 + a[..., None] * (gain[None, None, :] - 1))
