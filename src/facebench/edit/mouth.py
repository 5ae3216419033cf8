"""The inside of an open mouth, painted as a small lit scene instead of a flat fill.

- the cavity is lit like PixelSmile's open mouths, not a dark hole: the inner lips' mucosa catches
  the light and the colour falls off with the distance from the lip line to a dim red-brown back
  (:data:`DEEP`, measured against PixelSmile's gallery), toward the corners (the buccal corridor)
  and into a soft, darker throat that shows as the mouth opens wide;
- the upper and lower teeth are rows of crowns sized from the person's mouth width at rest (the
  anterior arch up to the premolars spans about 0.9 of the lip-corner distance), never wider than
  the opening; each tooth is shaded like a cylinder across and along its height, the lines between
  teeth are darkest at the incisal edge, the teeth further back get less light
  (:data:`TOOTH_LIGHT`) and are shorter, the rows darken under the upper lip's shadow, and shadows
  warm the enamel instead of greying it; the lower row is hidden by the lower lip up to where the
  jaw and the lip uncover it;
- a lit tongue shows low in a wide-open mouth, and where an open photo's mouth opens further;
- when the photo's mouth was open, its own teeth and tongue are carried along (upper half fixed to
  the skull, lower half with the jaw, and with the lower lip where it drops further:
  :func:`facebench.edit.retouch.mouth_frame`), never stretched, and only what the lips newly
  uncover is painted -- gum above its upper teeth, never a second row of crowns above or below
  its own.

All colours come from the photo (:class:`facebench.edit.retouch.MouthColours`), so the painting is
lit like the face. Deterministic: no randomness.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from . import kernels, retouch
from .retouch import MouthColours, MouthEdit, clip, polygon_mask

#: Outer edges of the visible teeth seen from the front, as fractions of the arch's half-width
#: (central incisor, lateral incisor, canine, first and second premolar; the later ones are
#: narrower because the arch turns away from the camera; widths ~8.5, 6.5, 7.5, 7, 6.5 mm).
TOOTH_EDGES = np.array([0.0, 0.25, 0.45, 0.63, 0.80, 0.93, 1.0])

#: Half-width of the visible dental arch as a fraction of the lip-corner distance at rest.
ARCH = 0.45
#: Visible crown heights of the upper and lower central incisors, fractions of the lip-corner
#: distance (about 10.5 and 9 mm on a 50 mm mouth).
CROWN_UP, CROWN_LO = 0.22, 0.2
#: Gum shown above the upper teeth when the upper lip lifts far (fraction of mouth width).
GUM = 0.07


def smoothstep(t: np.ndarray) -> np.ndarray:
    """``3 t^2 - 2 t^3`` on ``t`` clipped to [0, 1]."""
    t = clip(t, 0.0, 1.0)
    return t * t * (3 - 2 * t)


def warm_shade(colour: np.ndarray, s: np.ndarray) -> np.ndarray:
    """``colour * s^gamma`` per channel with gamma = (0.8, 1.0, 1.3): shadowed enamel and mucosa
    turn warmer (blue falls fastest), not grey. ``s`` in (0, 1], any shape; returns shape + (3,)."""
    s = clip(s, 1e-3, 1.0).astype(np.float64, copy=False)  # the exponents are float64
    out = np.empty(s.shape + (3,), np.result_type(colour, s))
    # per channel: the same floats as ``colour * s[..., None] ** gamma`` (s ** 1 is s), in less time
    for c, g in enumerate(_GAMMA):
        np.multiply(colour[c], s if g == 1.0 else np.power(s, g), out=out[..., c])
    return out


_GAMMA = (0.8, 1.0, 1.3)


@dataclass(frozen=True)
class MouthLayer:
    """The painted inside of a mouth: ``box`` (x0, y0, x1, y1), ``layer`` (float32 RGB crop),
    ``alpha`` (where it covers the image); ``teeth`` and ``other`` say how much of each pixel's
    final colour is painted teeth, and gum, tongue or the photo's own mouth (the rest is cavity)."""

    box: tuple[int, int, int, int]
    layer: np.ndarray
    alpha: np.ndarray
    teeth: np.ndarray
    other: np.ndarray


def _band(y: np.ndarray, top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """Anti-aliased indicator of ``top <= y <= bottom`` (a one-pixel ramp at each end)."""
    return clip(y - top + 0.5, 0, 1) * clip(bottom - y + 0.5, 0, 1)


#: The lit inner lips (mucosa) as a multiple of the lips' colour: the wet inside of the lips
#: catches the light falling into the mouth (PixelSmile's full-strength frames of angry, fear,
#: surprised and sleepy: the lightest non-teeth part of the opening reads about 0.5-0.85 x the lips).
MUCOSA = np.array([0.62, 0.42, 0.42])

#: The deep cavity, as a multiple of the photo's cavity colour (:class:`MouthColours`, about
#: (0.3, 0.17, 0.16) x the lips): ambient light reaches the back of a large opening, so it reads as
#: a dim red-brown room, not a hole (PixelSmile: its darkest 30 % average (0.28-0.34, 0.16-0.25,
#: 0.11-0.22) x the lips).
DEEP = 1.1

#: The throat: at most this much darker than :data:`DEEP`, in a soft ellipse at the back.
THROAT = 0.45


def cavity(mask: np.ndarray, du: np.ndarray, dl: np.ndarray, across: np.ndarray,
           colours: MouthColours, lips: np.ndarray, gx: np.ndarray, gy: np.ndarray, cx: float,
           mouth_w: float) -> np.ndarray:
    """The empty mouth lit by the ambient light that falls in through the lips: with ``d`` the
    distance (pixels) of a pixel from the inner-lip line and ``r`` 0.35 of the opening's largest
    height ``h``, colour = mix(MUCOSA x lips, DEEP x cavity, smoothstep(d / r)^0.8) x (0.9 + 0.1
    across) -- ``across`` falling from 1 at the centre to 0 at the corners (the buccal corridor)
    -- x (1 - THROAT x e x o): the throat ``e``, a smoothstep ellipse (0.22 of the opening's
    width ``W`` by 0.3 min(``h``, ``W``)) centred at ``cx``, 0.45 ``h`` below the upper lip, shows
    as the opening grows (``o`` = smoothstep((h / mouth_w - 0.15) / 0.25))."""
    binary = np.zeros((mask.shape[0] + 2, mask.shape[1] + 2), np.uint8)  # a border of zeros
    binary[1:-1, 1:-1] = mask > 0.5
    dist = cv2.distanceTransform(binary, cv2.DIST_L2, 3)[1:-1, 1:-1]
    h = dl - du
    k = int(np.argmax(h))
    r = max(0.35 * float(h[k]), 1.5)
    dist = cv2.GaussianBlur(dist, (0, 0), max(r / 3, 0.5))  # no ridge along the medial axis
    t = smoothstep(dist / r) ** 0.8
    mucosa = lips * MUCOSA
    back = colours.cavity * DEEP
    cols = np.flatnonzero(h > 0)
    width = float(np.ptp(gx[0, cols])) if len(cols) > 1 else 1.0
    u = (gx - cx) / max(0.22 * width, 1.0)
    v = (gy - (du[k] + 0.45 * h[k])) / max(0.3 * min(float(h[k]), width), 1.0)
    opening = float(smoothstep(np.array(h[k] / max(mouth_w, 1.0) - 0.15) / 0.25))
    throat = 1 - THROAT * opening * smoothstep(1 - (u * u + v * v)) * t
    # (mucosa (1 - t) + back t) x (0.9 + 0.1 across) x throat per pixel and channel, in one pass
    out = np.empty(t.shape + (3,), np.result_type(mucosa, back, t, throat))
    kernels.cavity_colour(out, mucosa.astype(out.dtype), back.astype(out.dtype), t, 1 - t, 0.9 + 0.1 * across, throat)
    return out


def tongue(gx: np.ndarray, gy: np.ndarray, cx: float, du: np.ndarray, dl: np.ndarray, width: float,
           mouth_w: float, colours: MouthColours, grown: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(colour, alpha) of the tongue's front: an ellipse resting on the floor of the mouth, 0.8
    as wide as the opening, whose top is lit (it faces the light coming in) and whose back falls
    into shadow. It shows in proportion to how far the mouth opens (``grown``: by how much the
    opening grew, pixels; default its whole height) past 0.15 of its width (full at 0.4)."""
    h = dl - du
    k = int(np.argmax(h))
    g = h[k] if grown is None else grown
    strength = float(smoothstep((g / max(mouth_w, 1.0) - 0.15) / 0.25))
    if strength <= 0:
        return np.zeros(gx.shape + (3,), np.float32), np.zeros(gx.shape, np.float32)
    rx, ry = 0.4 * width, 0.32 * h[k]
    cy = dl[k] - 0.08 * h[k]  # the tongue's middle sits a little above the floor
    u, v = (gx - cx) / rx, (gy - cy) / ry
    inside = clip((1 - (u * u + v * v)) * 6, 0, 1)
    lit = 0.5 + 0.5 * smoothstep(-v * 1.3)  # the top faces the light; the underside is dark
    col = warm_shade(colours.tongue * 1.75, lit * (1 - 0.35 * clip(np.abs(u), 0, 1) ** 2))
    return col, inside * strength


#: How far the gum papilla between two crowns comes down over their necks, as a share of the
#: crown's height.
PAPILLA = 0.15

#: Brightness of each tooth seen from the front (central incisor to second premolar): the
#: canines and premolars sit further back, where less light reaches.
TOOTH_LIGHT = np.array([1.0, 0.97, 0.93, 0.86, 0.8, 0.75])


def teeth_row(xs: np.ndarray, gy: np.ndarray, centre: float, half: float, edge: np.ndarray,
              crown: float, down: bool, teeth: np.ndarray, *, shown: float | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """(colour, alpha) of one row of teeth: ``half`` is the arch's half-width (pixels), ``shown``
    the half-width left visible (the opening less its dark corners; default ``half``); ``edge``
    the incisal edge per column; the crowns reach ``crown`` up (``down`` False, upper row) or down
    from it, shorter toward the corners (x (1 - 0.3 u^2), u = |x - centre| / half). Each tooth is
    a crown, not a block: the line between two teeth is darkest at the incisal edge, where the
    embrasure opens, and fades toward the gum; the incisal corners are rounded by shading (darker
    within 0.12 of the crown's height of the edge next to a gap), the gum line is scalloped (the
    crown is :data:`PAPILLA` shorter at a gap, where the papilla comes down); it is lit like a cylinder across (0.9 + 0.1
    sin(pi s), s across the tooth) and along its height (brightest a third of the way up), by :data:`TOOTH_LIGHT` and (1 - 0.35 u^2) toward the
    corners, darker toward the gum, with a translucent incisal rim; the last quarter of the
    ``shown`` half-width falls to 0.4 of the light, into the cavity's shade."""
    u = np.abs(xs - centre) / max(half, 1.0)
    k = clip(np.searchsorted(TOOTH_EDGES, u, side="right") - 1, 0, len(TOOTH_EDGES) - 2)
    lo, hi = TOOTH_EDGES[k], TOOTH_EDGES[k + 1]
    s = clip((u - lo) / (hi - lo), 0, 1)
    px_w = (hi - lo) * half
    gap = np.minimum(s, 1 - s) * px_w  # pixels to the nearest gap
    light = (0.9 + 0.1 * np.sin(np.pi * s)) * TOOTH_LIGHT[np.minimum(k, len(TOOTH_LIGHT) - 1)]
    light = light * (1 - 0.35 * clip(u, 0, 1) ** 2)
    corner = clip(1 - gap / np.maximum(0.3 * px_w, 0.5), 0, 1) ** 2  # 1 at a gap, 0 mid-tooth
    # the gum line is scalloped: the papilla between two crowns comes down over their necks
    height = crown * (1 - 0.3 * clip(u, 0, 1) ** 2) * (1 - PAPILLA * corner)
    depth = (gy - edge[None, :]) if down else (edge[None, :] - gy)  # 0 at the edge, grows into the crown
    into = depth / np.maximum(height, 1.0)[None, :]
    # rounded incisal corners, shaded (the edge turns away from the light), not cut out
    round_h = np.maximum(np.minimum(0.12 * height, 0.3 * px_w) * corner, 0.5)
    # the line between two teeth: darkest at the edge, where the embrasure opens, fading to the gum
    line_e = 0.2 * np.exp(-0.5 * (gap / max(0.02 * half, 0.5)) ** 2)
    rim_e = np.exp(-np.maximum(depth, 0) / max(0.08 * crown, 0.5))  # translucent edge
    body_s = np.sin(np.pi * clip(into * 1.5, 0, 1))  # the crown's convex face
    v = np.abs(xs - centre) / max(half if shown is None else min(shown, half), 1.0)
    # where the opening hides the rest of the row, the last teeth fall into the cavity's shade
    end = 0.4 + 0.6 * smoothstep((1 - v) * 4)
    # per pixel (facebench.edit.kernels.teeth_shading): rounded = 1 - 0.4 corner clip(1 - depth
    # / round_h, 0, 1); line = 1 - line_e (1 - 0.6 clip(into, 0, 1)); rim = 1 - 0.12 rim_e;
    # body = 0.94 + 0.06 body_s; neck = 1 - 0.12 clip(into, 0, 1)^2, warmer, darker toward the gum
    lit, a = np.empty_like(depth), np.empty_like(depth)
    kernels.teeth_shading(depth, rim_e, body_s, into, height, corner, round_h, line_e, light * end,
                          clip((1 - v) * 8, 0, 1), lit, a)
    col = warm_shade(teeth, lit)
    return col, a


def mouth_layer(
    m: MouthEdit,
    mouth_w: float,
    lips: np.ndarray,
    *,
    iod: float | None = None,
    strength: float = 0.0,
) -> MouthLayer | None:
    """The inside of the mouth within ``dst_poly`` (the inner-lip polygon after the edit).

    The upper teeth are fixed to the skull; the lower teeth ride with the jaw (``d_jaw``,
    pixels). Painted back to front: :func:`cavity`, :func:`tongue`, the lower row, the gums and
    the upper row (:func:`teeth_row`), then -- when the photo's mouth was open (``src_open``) --
    its own content moved the same way. The inputs both paintings share are a
    :class:`~facebench.edit.retouch.MouthEdit`; ``mouth_w``: the lip-corner distance at rest
    (pixels); ``lips``: the lips' colour. With ``iod`` (eye-corner distance, pixels) given, an opening that grows by
    less than 0.35 of the mouth's width is blended toward the earlier flat painting
    (:func:`facebench.edit.retouch.mouth_layer`) with weight 1 - :func:`new_weight` while the
    edit's ``strength`` (its largest alpha) is at most 1.5 (fully lit from alpha 2), which keeps
    the shipped classifiers' responses (tests/edit/test_classifier_response.py) as calibrated --
    except by :func:`dropped_weight` where an open photo's lower lip carries its lower teeth down.
    Returns the :class:`MouthLayer` or None.
    """
    fr = m.frame() if m.gate > 0 else None
    if fr is None:
        return None
    src, src_poly, dst_poly, colours, src_open, gate = m.src, m.src_poly, m.dst_poly, m.colours, m.src_open, m.gate
    box, off, shp, gx, gy, xs = fr.crop.box, fr.crop.off, fr.crop.shape, fr.crop.gx, fr.crop.gy, fr.xs
    su, sl, du, dl, jx, jy = fr.su, fr.sl, fr.du, fr.dl, fr.jx, fr.jy
    centre = float(src_poly[:, 0].mean())
    c_dst = float(dst_poly[:, 0].mean())
    w_dst = max(float(np.ptp(dst_poly[:, 0])), 1.0)
    across = clip(1 - (np.abs(xs - c_dst) / (0.5 * w_dst)) ** 4, 0, 1)
    alpha = polygon_mask(dst_poly, shp, off) * float(clip(gate, 0, 1))
    layer = cavity(alpha > 0.5 * gate, du, dl, across, colours, lips, gx, gy, c_dst + 0.5 * jx, mouth_w)

    teeth_a = np.zeros(shp, np.float32)
    other_a = np.zeros(shp, np.float32)

    def cover(a: np.ndarray, is_teeth: bool) -> np.ndarray:
        """What painting with opacity ``a`` does to the teeth and other shares; returns 1 - a."""
        nonlocal teeth_a, other_a
        keep = 1 - a
        teeth_a, other_a = (np.maximum(teeth_a, a), other_a * keep) if is_teeth else \
            (teeth_a * keep, np.maximum(other_a, a))
        return keep

    def paint(col: np.ndarray, a: np.ndarray, is_teeth: bool = False, shade: np.ndarray | None = None) -> None:
        keep = cover(a, is_teeth)
        if shade is None:
            kernels.paint_over(layer, col, a, keep)  # layer * (1 - a) + col * a, in place
        else:
            kernels.paint_shaded(layer, col, shade, a, keep)  # ... of col * shade

    # an open photo's own tongue rides the jaw with its content: a painted one shows only as far
    # as the opening grows past the photo's
    grown = float(np.max(dl - du) - np.max(sl - su)) if src_open else None
    paint(*tongue(gx, gy, c_dst + jx, du, dl, w_dst, mouth_w, colours, grown))
    # the arch, never wider than the opening less its dark corners
    arch, half = ARCH * mouth_w, min(ARCH * mouth_w, 0.44 * w_dst)
    u2 = clip(np.abs(xs - centre) / max(ARCH * mouth_w, 1.0), 0, 1) ** 2
    if src_open:
        seam_up = su  # the photo's own upper teeth end at its upper lip line
        seam_lo = fr.lower_row_edge()  # where its lower half starts (retouch.photo_mouth)
    else:
        seam = (su + sl) / 2
        # the upper incisal edge just below the closed lips' line, rising toward the corners (the
        # smile arc); the lower incisors sit behind it and ride the jaw, so a relaxed open jaw
        # hides them and only a lip pulled down shows them
        seam_up = seam + 0.025 * mouth_w - 0.04 * mouth_w * u2
        seam_lo = seam + 0.06 * mouth_w + jy - 0.03 * mouth_w * u2
    # the upper lip's shadow over everything just under it
    lip_shadow = 1 - 0.2 * np.exp(-np.maximum(gy - du[None, :], 0) / (0.03 * mouth_w))
    # lower teeth: a closed photo shows the whole row, uncovered as its lower lip is pulled down;
    # an open photo's own lower teeth ride its lower lip (facebench.edit.retouch.photo_mouth),
    # over the row: a row painted under them, from its lip line, would read as a second row
    crown_lo = CROWN_LO * mouth_w * (0.8 if src_open else 1.0)
    col, a = teeth_row(xs, gy, centre + jx, arch, seam_lo, crown_lo, True, colours.teeth * 0.93, shown=half)
    paint(col, a, True, lip_shadow)
    # an open photo's upper teeth end at its upper lip line: a lip that lifts past it shows gum,
    # not a strip of painted crowns that would read as a second row above them
    crown = 0.0 if src_open else CROWN_UP * mouth_w
    top = seam_up - crown * (1 - 0.3 * u2)
    # the gum above the crowns, and above it, up to a lifted lip, the lip's lining (the
    # vestibule): a lip that lifts far shows pink tissue up to it, not a gum stripe over a hole
    gum_a = _band(gy, np.minimum(du, top - GUM * mouth_w)[None, :], (top + PAPILLA * crown)[None, :])
    gum_a = gum_a * smoothstep((half - np.abs(xs - centre)) / max(0.1 * mouth_w, 1.0))[None, :]
    up = clip((top[None, :] - gy) / max(GUM * mouth_w, 1.0) - 1, 0, 1)  # 0 on the gum
    # painted: ((1 - up) gum + up (lips x MUCOSA)) x warm_shade(1, lip_shadow)
    gum, lining = np.asarray(colours.gum, np.float64), np.asarray(lips * MUCOSA, np.float64)
    kernels.paint_lining(layer, up, gum, lining, warm_shade(np.ones(3), lip_shadow), gum_a, cover(gum_a, False))
    if crown > 0:
        col, a = teeth_row(xs, gy, centre, arch, seam_up, crown, False, colours.teeth, shown=half)
        paint(col, a, True, lip_shadow)
    own, feather = None, 1.0
    if src_open:
        # the photo's own mouth, its halves fading into the cavity between them over up to 3 %
        # of the mouth's width
        feather = float(clip(0.5 * jy, 1.0, max(0.03 * mouth_w, 1.0)))
        own = retouch.photo_mouth(src, src_poly, fr, feather)
        for samp, a in own:
            paint(samp, a)
    w = new_weight(float(np.max(dl - du)), float(np.max(sl - su)) if src_open else 0.0, mouth_w, strength)
    if src_open:  # the gap the lip opens under the photo's upper teeth is lit, not a dark band
        w = max(w, dropped_weight(float(fr.lo_dy[int(np.argmax(dl - du))]) - jy, mouth_w))
    if iod is not None and w < 1:  # the flat painting shares this frame (and the photo's mouth at feather 1)
        old = retouch.mouth_layer(m, iod, frame=fr, photo=own if feather == 1.0 else None, with_alpha=False)
        if old is not None and old[0] == box:
            layer = w * layer + (1 - w) * old[1]
            teeth_a, other_a = w * teeth_a, w * other_a
    return MouthLayer(box, layer.astype(np.float32), alpha, teeth_a, other_a)


def new_weight(h_dst: float, h_src: float, mouth_w: float, alpha: float = 0.0) -> float:
    """How much of the lit interior replaces the flat one: max(smoothstep((g - 0.15) / 0.2),
    smoothstep((alpha - 1.5) / 0.5)) with ``g = (h_dst - h_src) / mouth_w`` the growth of the
    opening's largest height (0 for a mouth that closes or barely parts, 1 once it has grown by
    0.35 of the mouth's width) and ``alpha`` the edit's largest alpha (1 from alpha 2 on)."""
    g = smoothstep(np.array((h_dst - h_src) / max(mouth_w, 1.0) - 0.15) / 0.2)
    return float(max(g, smoothstep(np.array(alpha - 1.5) / 0.5)))


#: An open photo's lower lip that drops this far (a share of the mouth's width) further than the
#: jaw opens a gap under its upper teeth that is painted fully lit (:func:`dropped_weight`).
LIP_DROP = 0.1


def dropped_weight(extra: float, mouth_w: float) -> float:
    """How much of the lit interior an open photo's mouth gets because its lower lip, carrying
    its lower teeth, drops ``extra`` pixels further than the jaw: smoothstep(extra / (LIP_DROP
    mouth_w)). The flat painting's dark cavity would fill that gap as a black band."""
    return float(smoothstep(np.array(extra / max(LIP_DROP * mouth_w, 1.0))))
