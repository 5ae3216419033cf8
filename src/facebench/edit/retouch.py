"""What a careful retoucher adds where moving the mesh is not enough.

- :func:`mouth_layer`: the inside of a mouth whose lips part -- a dark cavity, with the person's
  own teeth carried along with the upper and lower lips when the mouth was already open, or a
  painted hint of teeth (``"upper"`` / ``"both"``) when it was closed. Teeth are never stretched.
- the eyeball under the lids is a layer of its own: :mod:`facebench.edit.iris`.
- :func:`tint`: soft-edged colour changes (a blush on the cheeks, darker under-eye circles).

All functions work on float32 RGB in [0, 255] and return (layer, alpha) pairs or modified copies;
they are deterministic (no randomness), so a sweep and separate edits agree exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from . import kernels

SUB = 4  # fractional bits for sub-pixel polygon drawing

#: numpy's ``clip`` ufunc, which :func:`numpy.clip` calls once it has checked its arguments: the
#: same floats without the wrapper's microseconds, which add up over a mouth's or an eye's small
#: crop (dozens of clips per layer). A private numpy name (numpy is pinned): where a numpy lacks
#: it, numpy.clip gives the same floats, only slower.
clip = getattr(getattr(getattr(np, "_core", None), "umath", None), "clip", np.clip)


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
    # np.roll(v, -1) spelled out: the same vectors (and dot products) without roll's overhead
    return float(abs(np.dot(x, np.concatenate((y[1:], y[:1]))) - np.dot(y, np.concatenate((x[1:], x[:1])))) / 2)


def _bbox(poly: np.ndarray, shape: tuple[int, int], pad: int) -> tuple[int, int, int, int]:
    h, w = shape
    x0, y0 = np.floor(poly.min(0)).astype(int) - pad
    x1, y1 = np.ceil(poly.max(0)).astype(int) + pad + 1
    return max(0, x0), max(0, y0), min(w, x1), min(h, y1)


@dataclass(frozen=True)
class Crop:
    """A layer's crop: ``box`` (x0, y0, x1, y1), its top-left ``off``, ``shape`` (h, w) and the
    pixel grid ``gx``, ``gy`` (float32, image coordinates)."""

    box: tuple[int, int, int, int]
    off: np.ndarray
    shape: tuple[int, int]
    gx: np.ndarray
    gy: np.ndarray


def pixel_grid(box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(gy, gx): the rows' and columns' image coordinates of each pixel of ``box`` (x0, y0, x1,
    y1) as float32 arrays of its shape (``np.mgrid[y0:y1, x0:x1]``, without its int64 pass)."""
    x0, y0, x1, y1 = box
    g = np.empty((2, y1 - y0, x1 - x0), np.float32)
    g[0] = np.arange(y0, y1, dtype=np.float32)[:, None]
    g[1] = np.arange(x0, x1, dtype=np.float32)[None, :]
    return g[0], g[1]


def crop_around(points: np.ndarray, shape: tuple[int, int], pad: int) -> Crop | None:
    """The crop around ``points`` grown by ``pad`` pixels within an image of ``shape``; None when
    it is empty (the points lie outside the image)."""
    x0, y0, x1, y1 = _bbox(points, shape, pad)
    if x1 <= x0 or y1 <= y0:
        return None
    gy, gx = pixel_grid((x0, y0, x1, y1))
    return Crop((x0, y0, x1, y1), np.array([x0, y0], np.float64), (y1 - y0, x1 - x0), gx, gy)


def _shift_sample(img: np.ndarray, gx: np.ndarray, gy: np.ndarray, d: tuple[float, float | np.ndarray]) -> np.ndarray:
    """``img`` sampled at (gx - dx, gy - dy): moved by ``d``, whose ``dy`` may be one value per column."""
    return cv2.remap(img, (gx - d[0]).astype(np.float32), (gy - d[1]).astype(np.float32),
                     interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def _upper_lower_profiles(poly: np.ndarray, n_upper: int, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """y of the upper and lower lip line at each x (poly = upper from corner to corner, then lower back)."""
    up = poly[:n_upper]
    lo = np.vstack([poly[n_upper - 1:], poly[:1]])
    up = up[np.argsort(up[:, 0])]
    lo = lo[np.argsort(lo[:, 0])]
    return np.interp(xs, up[:, 0], up[:, 1]), np.interp(xs, lo[:, 0], lo[:, 1])


@dataclass(frozen=True)
class MouthColours:
    """Colours of the inside of the mouth, read from the photo (see :func:`facebench.edit.colours.face_colours`)."""

    cavity: np.ndarray
    teeth: np.ndarray
    gum: np.ndarray
    tongue: np.ndarray


def _band(y: np.ndarray, top: np.ndarray, bottom: np.ndarray, soft: float = 0.8) -> np.ndarray:
    """Soft indicator of ``top <= y <= bottom`` per column (arrays broadcast over rows)."""
    a = clip((y - top) / soft + 0.5, 0, 1)
    b = clip((bottom - y) / soft + 0.5, 0, 1)
    return a * b


def _tooth_gaps(xs: np.ndarray, centre: float, iod: float) -> np.ndarray:
    """Faint dark lines between incisors, laterals and canines (widths ~8.5, 6.5, 7.5 mm seen
    from the front, with the arch turning away: 0.135, 0.1, 0.095 of the eye-corner distance)."""
    edges = np.array([0.0, 0.135, 0.235, 0.33]) * iod
    d = np.abs(np.abs(xs - centre)[:, None] - edges[None, :]).min(1)
    return 1.0 - 0.16 * np.exp(-0.5 * (d / max(0.006 * iod, 0.45)) ** 2)


@dataclass(frozen=True)
class MouthFrame:
    """Where a mouth layer is painted: the ``crop`` around the lips before and after the edit and
    the jaw's move, its columns ``xs``, the inner-lip lines per column (``su``/``sl`` in the
    photo, ``du``/``dl`` after the edit, ``slj`` the photo's lower line carried by the jaw), the
    jaw's move ``jx``, ``jy`` (pixels) and ``lo_dy``, how far down the photo's own lower half
    (its lower teeth and lip lining) is carried, per column: ``jy + max(dl - slj, 0) carried(e)``
    with ``e`` that drop at the column where the opening is largest (:func:`carried`):
    with the jaw and, where the lower lip is pulled further down than the jaw moves, with the
    lip, so that the photo's lower teeth stay on the lip instead of leaving a strip under them
    that a second painted row would fill."""

    crop: Crop
    xs: np.ndarray
    su: np.ndarray
    sl: np.ndarray
    du: np.ndarray
    dl: np.ndarray
    slj: np.ndarray
    jx: float
    jy: float
    lo_dy: np.ndarray

    def lower_row_edge(self) -> np.ndarray:
        """Per column, where a painted lower teeth row starts under an open photo's mouth: where
        the photo's own lower half starts, ``max(slj, (su + sl) / 2 + lo_dy)`` (its middle line
        carried down by ``lo_dy``, never above the jaw's lower line), so the row is hidden behind
        that half and shows only beside it, toward the corners, continuing it."""
        return np.maximum(self.slj, (self.su + self.sl) / 2 + self.lo_dy)


#: The lower lip carries an open photo's lower teeth once it drops further than the jaw by more
#: than CARRY[0] of the photo's opening width, fully from CARRY[1]: a lip that barely moves keeps
#: its teeth with the jaw (:func:`carried`).
CARRY = (0.02, 0.06)
#: Pixels the carried lower half reaches past the moved lip line (under the lip, which hides it).
SEAM = 0.5


def carried(extra: float, width: float) -> float:
    """The share of the lower lip's drop ``extra`` past the jaw (pixels) that its teeth follow:
    smoothstep((extra / width - CARRY[0]) / (CARRY[1] - CARRY[0])), ``width`` the opening's."""
    t = float(np.clip((extra / max(width, 1.0) - CARRY[0]) / (CARRY[1] - CARRY[0]), 0.0, 1.0))
    return t * t * (3 - 2 * t)


def mouth_frame(shape: tuple[int, int], src_poly: np.ndarray, dst_poly: np.ndarray, n_upper: int,
                d_jaw: np.ndarray) -> MouthFrame | None:
    """The :class:`MouthFrame` of an edit (None when the crop falls outside the image)."""
    crop = crop_around(np.vstack([dst_poly, src_poly, src_poly + d_jaw]), shape, 3)
    if crop is None:
        return None
    xs = crop.gx[0]
    su, sl = _upper_lower_profiles(src_poly, n_upper, xs)
    du, dl = _upper_lower_profiles(dst_poly, n_upper, xs)
    jx, jy = float(d_jaw[0]), float(d_jaw[1])
    slj = np.interp(xs - jx, xs, sl) + jy  # the source's lower boundary carried by the jaw
    # ... and by the lower lip where it drops further (once it does so where the opening is
    # deepest), so that the photo's lower teeth follow the lip's curve
    extra = np.maximum(dl - slj, 0.0)
    deepest = int(np.argmax(dl - du))
    # (SEAM more: the photo's lip lining tucks under the moved lip instead of leaving a dark seam)
    lo_dy = jy + np.where(extra > 0, extra + SEAM, 0.0) * carried(float(extra[deepest]), float(np.ptp(src_poly[:, 0])))
    return MouthFrame(crop, xs, su, sl, du, dl, slj, jx, jy, lo_dy)


def photo_mouth(src: np.ndarray, src_poly: np.ndarray, fr: MouthFrame,
                feather: float = 1.0) -> list[tuple[np.ndarray, np.ndarray]]:
    """The photo's own open mouth, never stretched: (colour, alpha) of its lower half carried by
    the jaw (``fr.jx`` across, ``fr.lo_dy`` down: with the lower lip where it drops further),
    then of its upper half, fixed to the skull. The halves meet at the middle line between its
    lips, each fading out over ``feather`` pixels there."""
    c = fr.crop
    x0, y0 = c.box[:2]
    m_src = polygon_mask(src_poly, c.shape, c.off, blur=0.0)
    mid = (fr.su + fr.sl) / 2
    src_f = src if src.dtype == np.float32 else src.astype(np.float32)  # a float32 image is used as it is
    out = []
    for d, lower in (((fr.jx, fr.lo_dy[None, :]), True), ((0.0, 0.0), False)):
        samp = _shift_sample(src_f, c.gx, c.gy, d)
        inside = _shift_sample(m_src, c.gx - x0, c.gy - y0, d)
        below = clip((c.gy - d[1] - mid[None, :]) / feather + 0.5, 0.0, 1.0)  # a ramp, not a step
        out.append((samp, clip(inside, 0, 1) * (below if lower else 1.0 - below)))
    return out


@dataclass(frozen=True)
class MouthEdit:
    """What both mouth paintings (:func:`mouth_layer` here and the lit interior,
    :func:`facebench.edit.mouth.mouth_layer`) are given: the photo ``src``; ``src_poly`` and
    ``dst_poly``, the (20, 2) inner-lip points before and after the edit, the first ``n_upper``
    along the upper lip from corner to corner; the jaw's move ``d_jaw`` (pixels); the photo's
    mouth ``colours``; whether the photo's mouth was open (``src_open``); ``gate`` in [0, 1],
    which fades a newly parting mouth in."""

    src: np.ndarray
    src_poly: np.ndarray
    dst_poly: np.ndarray
    n_upper: int
    d_jaw: np.ndarray
    colours: MouthColours
    src_open: bool
    gate: float

    def frame(self) -> "MouthFrame | None":
        """The :class:`MouthFrame` of this edit (None when it falls outside the image)."""
        return mouth_frame(self.src.shape[:2], self.src_poly, self.dst_poly, self.n_upper, self.d_jaw)


def mouth_layer(
    m: MouthEdit,
    iod: float,
    *,
    frame: MouthFrame | None = None,
    photo: list[tuple[np.ndarray, np.ndarray]] | None = None,
    with_alpha: bool = True,
) -> tuple[tuple[int, int, int, int], np.ndarray, np.ndarray | None] | None:
    """The inside of the mouth within ``m.dst_poly`` (the inner-lip polygon after the edit), a flat
    painting.

    The upper teeth are fixed to the skull and do not move; the lower teeth ride with the jaw
    (``d_jaw``, pixels). Where the lips uncover more than the photo showed, teeth (and gums
    above the upper teeth) are painted; where the jaw has opened a gap, a dark cavity shows,
    darkest at the corners (the buccal corridor). If the photo's mouth was open (``src_open``) its
    own teeth and tongue are moved the same way -- never stretched (:class:`MouthEdit` for the
    inputs; ``iod``: the eye-corner distance, pixels). Returns (crop box, layer, alpha) or None.
    A caller that has already computed them for the same arguments may pass the
    :func:`mouth_frame` (``frame``) and :func:`photo_mouth`'s parts at feather 1 (``photo``); with
    ``with_alpha`` False the alpha is not computed (None).
    """
    if m.gate <= 0:
        return None
    src, src_poly, dst_poly, colours, src_open = m.src, m.src_poly, m.dst_poly, m.colours, m.src_open
    fr = frame if frame is not None else m.frame()
    if fr is None:
        return None
    box, off, shp, gx, gy, xs = fr.crop.box, fr.crop.off, fr.crop.shape, fr.crop.gx, fr.crop.gy, fr.xs
    su, sl, du, dl, jx, jy = fr.su, fr.sl, fr.du, fr.dl, fr.jx, fr.jy
    centre = float(src_poly[:, 0].mean())
    half = max(float(np.ptp(src_poly[:, 0])) / 2, 1.0)
    across = clip(1 - (np.abs(xs - centre) / (0.86 * half)) ** 6, 0, 1)
    # cavity: dark, darkest under the upper teeth and toward the corners; the tongue shows low
    # in a wide-open mouth
    depth = clip((gy - du[None, :]) / np.maximum(dl - du, 1.0)[None, :], 0, 1)
    shade = (0.7 + 0.3 * depth) * (0.7 + 0.3 * across[None, :])
    layer = (colours.cavity[None, None, :] * shade[..., None]).astype(np.float64, copy=False)
    tongue_top = dl - 0.06 * iod
    a_t = 0.6 * clip((gy - tongue_top[None, :]) / (0.05 * iod), 0, 1) * across[None, :]
    tongue = colours.tongue[None, None, :] * (0.75 + 0.25 * across[None, :, None])

    def paint(col: np.ndarray, a: np.ndarray, shade: np.ndarray | None = None) -> None:
        """In place: ``layer = layer * (1 - a) + col * a``, ``col`` times ``shade`` first if given
        (facebench.edit.kernels: the same floats as numpy's broadcast arithmetic)."""
        col = np.broadcast_to(col, layer.shape)
        if shade is None:
            kernels.paint_over(layer, col, a, 1 - a)
        else:
            kernels.paint_shaded(layer, col, shade, a, 1 - a)

    paint(tongue, a_t)
    # an open photo's upper teeth end at its upper lip line: a lip that lifts past it shows gum,
    # not a strip of painted crowns that would read as a second row above them
    crown_up, crown_lo = (0.0 if src_open else 0.16 * iod), 0.14 * iod
    gaps_up = _tooth_gaps(xs, centre, iod)[None, :, None]
    gaps_lo = _tooth_gaps(xs, centre + jx, iod * 0.8)[None, :, None]
    lip_shadow = 1 - 0.25 * np.exp(-np.maximum(gy - du[None, :], 0) / (0.03 * iod))
    if src_open:
        seam_up = su  # the photo's own upper teeth start at its upper lip line
        seam_lo = fr.lower_row_edge()  # where its lower half starts (photo_mouth)
    else:
        seam = (su + sl) / 2
        seam_up = seam + 0.012 * iod  # upper incisal edge just below the closed lips' line
        # lower incisors sit behind the upper ones, their edge a little below the lower lip's
        # rim, so a relaxed open jaw hides them and only a lip pulled down shows them
        seam_lo = seam + 0.03 * iod + jy
    # lower teeth: from their edge down one crown height, where the photo showed none (an open
    # photo's own lower teeth ride its lower lip down, :func:`photo_mouth`, over the row: a row
    # painted under them, from its lip line, would read as a second row)
    a_lo = _band(gy, seam_lo[None, :], (seam_lo + crown_lo)[None, :])
    paint(colours.teeth * 0.82 * gaps_lo, a_lo * across[None, :] * 0.95, lip_shadow)
    # gums above the upper teeth, then the upper teeth (in front of the lower ones)
    a_gum = _band(gy, (seam_up - crown_up - 0.08 * iod)[None, :], (seam_up - crown_up)[None, :])
    paint(np.broadcast_to(colours.gum, (1, 1, 3)), a_gum * across[None, :], lip_shadow)
    if crown_up > 0:
        a_up = _band(gy, (seam_up - crown_up)[None, :], seam_up[None, :])
        paint(colours.teeth * gaps_up, a_up * across[None, :], lip_shadow)
    if src_open:
        for samp, a in photo if photo is not None else photo_mouth(src, src_poly, fr):
            paint(samp, a)
    alpha = polygon_mask(dst_poly, shp, off) * float(clip(m.gate, 0, 1)) if with_alpha else None
    return box, layer, alpha


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
    c, s = np.cos(np.radians(angle_deg)), np.sin(np.radians(angle_deg))
    # per pixel (dx, dy from the centre): u = (c dx + s dy) / rx, v = (-s dx + c dy) / ry, then
    # a = exp(-0.5 (u^2 + v^2)) x strength (numpy's exp) and I *= 1 + a (gain - 1)
    q = np.empty((y1 - y0, x1 - x0))
    kernels.ellipse_exponent(q, x0, y0, float(centre[0]), float(centre[1]), float(c), float(s), float(rx), float(ry))
    a = np.exp(q) * float(strength)
    kernels.scale_colours(img[y0:y1, x0:x1], a, np.asarray(gain, np.float64) - 1)


@dataclass(frozen=True)
class ClosedMouth:
    """An open mouth's inside filled from the lips around it: ``box`` (x0, y0, x1, y1),
    ``filled`` crop (float32) and ``mask`` (soft, crop-sized)."""

    box: tuple[int, int, int, int]
    filled: np.ndarray
    mask: np.ndarray


def inpaint_mouth(img: np.ndarray, inner: np.ndarray, width: float) -> ClosedMouth:
    """What pressed-together lips show where an open mouth was: the inner-lip polygon ``inner``
    filled by OpenCV's Telea inpainting (Telea 2004) from the lips around it."""
    h, w = img.shape[:2]
    pad = int(0.25 * width) + 3
    x0, y0 = np.maximum(np.floor(inner.min(0)).astype(int) - pad, 0)
    x1, y1 = np.minimum(np.ceil(inner.max(0)).astype(int) + pad + 1, [w, h])
    crop = np.ascontiguousarray(img[y0:y1, x0:x1])
    mask = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(inner - [x0, y0]).astype(np.int32)], 1)
    # the dark shadow in the corners of an open mouth reaches a little past the inner-lip line
    k = 2 * max(1, int(round(0.04 * width))) + 1
    mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    filled = cv2.inpaint(crop, mask, max(3.0, 0.05 * width), cv2.INPAINT_TELEA)
    soft = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 1.0)
    return ClosedMouth((int(x0), int(y0), int(x1), int(y1)), filled.astype(np.float32), soft)


def fade_to_closed(img: np.ndarray, closed: ClosedMouth, closing: float) -> np.ndarray:
    """A copy of ``img`` whose mouth inside is faded toward ``closed`` by ``closing`` in [0, 1]."""
    x0, y0, x1, y1 = closed.box
    w = (closed.mask * float(np.clip(closing, 0.0, 1.0)))[..., None]
    out = img.copy()
    crop = out[y0:y1, x0:x1].astype(np.float32)
    out[y0:y1, x0:x1] = np.clip(np.round(crop * (1 - w) + closed.filled * w), 0, 255).astype(np.uint8)
    return out
