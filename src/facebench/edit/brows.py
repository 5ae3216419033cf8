"""Eyebrows as layers: cut from the photo, moved, composited over skin filled from around them.

Warping the brows with the skin stretches them: a raised brow's upper edge travels further than
its lower edge, so the brow grows thick and smears into a dark band. Here each brow keeps its
thickness and texture:

1. once per face (:func:`cut_brows`): the brow region (the mesh's brow contour dilated by
   ``PAD`` x the eye-corner distance, since hairs reach past it) is filled by OpenCV's Telea
   inpainting (Telea 2004) from the skin around it -- the *bare* photo the warp then samples;
2. per edit (:func:`brow_layers`): each brow moves as a strip. The motion of the brow's five
   upper/lower vertex pairs (mean of the pair) is interpolated along the brow's axis, and every
   column of the strip moves by it: ``layer(p) = photo(p - d(u(p)))`` with ``u`` the position along
   the axis (solved by two fixed-point steps), so the brow may tilt and bend but never stretches
   across. The layer's alpha is the brow region moved the same way, feathered over ``FEATHER``
   x the eye-corner distance outside the filled region, so a brow that does not move is the
   photo again.

A brow the warp barely deforms is left to it: the layer takes over as the warp would change the
brow's thickness by 20-30 % and as alpha goes from 1.5 to 2 (:func:`brow_weight`; edits up to 1.5
keep the warp's brows, as validated by the classifier-response test), the photo the warp samples
fading to the filled skin (:func:`bare_mix`) as the layer fades in.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .retouch import _bbox

#: Upper and lower brow vertices of the MediaPipe mesh, paired across the brow (subject's right, left).
BROW_PAIRS = (
    ((70, 46), (63, 53), (105, 52), (66, 65), (107, 55)),
    ((300, 276), (293, 283), (334, 282), (296, 295), (336, 285)),
)

#: How far past the mesh's brow contour the hairs are taken (fraction of the eye-corner distance).
PAD = 0.035

#: Width of the alpha's soft edge outside the filled region (fraction of the eye-corner distance).
FEATHER = 0.02


@dataclass(frozen=True)
class BrowCut:
    """The photo with both brows filled in (``bare``) and each brow's region: ``masks[i]`` is the
    soft alpha (float32, crop ``boxes[i]``) of brow ``i``."""

    bare: np.ndarray
    boxes: tuple[tuple[int, int, int, int], ...]
    masks: tuple[np.ndarray, ...]


def _contour(pairs: tuple[tuple[int, int], ...]) -> list[int]:
    return [u for u, _ in pairs] + [lo for _, lo in pairs[::-1]]


def cut_brows(img: np.ndarray, mesh: np.ndarray, iod: float) -> BrowCut:
    """Fill both brow regions of ``img`` from the skin around them (step 1 of the module docstring)."""
    pad = max(1, int(round(PAD * iod)))
    feather = max(1.0, FEATHER * iod)
    bare = img.copy()
    boxes, masks = [], []
    for pairs in BROW_PAIRS:
        poly = mesh[_contour(pairs), :2]
        margin = pad + int(np.ceil(3 * feather)) + 2
        x0, y0, x1, y1 = _bbox(poly, img.shape[:2], margin)
        hard = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(hard, [np.round(poly - [x0, y0]).astype(np.int32)], 1)
        k = 2 * pad + 1
        inner = cv2.dilate(hard, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
        # the alpha is 1 over the filled region and falls off outside it, where the bare photo is
        # the photo itself: an unmoved brow composites back to the photo
        k2 = 2 * (pad + int(np.ceil(2 * feather))) + 1
        outer = cv2.dilate(hard, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k2, k2))).astype(np.float32)
        alpha = np.maximum(cv2.GaussianBlur(outer, (0, 0), feather), inner.astype(np.float32))
        crop = np.ascontiguousarray(bare[y0:y1, x0:x1])
        bare[y0:y1, x0:x1] = cv2.inpaint(crop, inner, max(3.0, 1.5 * pad), cv2.INPAINT_TELEA)
        boxes.append((int(x0), int(y0), int(x1), int(y1)))
        masks.append(np.clip(alpha, 0, 1))
    return BrowCut(bare, tuple(boxes), tuple(masks))


#: The warp's change of a brow's thickness (``|moved / photo - 1|`` across a vertex pair, the
#: largest over both brows) at which the layer starts to take over, and where it has taken over.
DEFORM_START, DEFORM_FULL = 0.2, 0.3


#: The alphas over which the layer fades in: edits up to 1.5 (the range the classifier-response
#: and seam tests validate) keep the warp's brows; the layer is for exaggerations.
ALPHA_START, ALPHA_FULL = 1.5, 2.0


def brow_weight(src: np.ndarray, moved: np.ndarray, alpha: float) -> float:
    """How much the brows are layers (0: left to the warp, 1: moved as strips): a ramp over
    :data:`DEFORM_START` .. :data:`DEFORM_FULL` of the warp's largest change of a brow's
    thickness between the ``src`` and ``moved`` meshes -- a brow the warp barely deforms stays
    the warp's, one it would squash or stretch moves whole -- times a ramp over
    :data:`ALPHA_START` .. :data:`ALPHA_FULL` of the control's largest ``alpha``."""
    dev = 0.0
    for pairs in BROW_PAIRS:
        for up, lo in pairs:
            before = float(np.linalg.norm(src[up, :2] - src[lo, :2]))
            if before > 1e-6:
                dev = max(dev, abs(float(np.linalg.norm(moved[up, :2] - moved[lo, :2])) / before - 1.0))
    by_shape = np.clip((dev - DEFORM_START) / (DEFORM_FULL - DEFORM_START), 0.0, 1.0)
    by_alpha = np.clip((alpha - ALPHA_START) / (ALPHA_FULL - ALPHA_START), 0.0, 1.0)
    return float(by_shape * by_alpha)


def bare_mix(img: np.ndarray, cut: BrowCut, weight: float) -> np.ndarray:
    """``img`` with its brows faded toward the filled skin by ``weight`` (a copy)."""
    if weight >= 1.0:
        return cut.bare
    out = img.copy()
    for x0, y0, x1, y1 in cut.boxes:
        a, b = img[y0:y1, x0:x1].astype(np.float32), cut.bare[y0:y1, x0:x1].astype(np.float32)
        out[y0:y1, x0:x1] = np.clip(np.round(a + weight * (b - a)), 0, 255).astype(np.uint8)
    return out


def brow_layers(img: np.ndarray, cut: BrowCut, src: np.ndarray, moved: np.ndarray, weight: float = 1.0
                ) -> list[tuple[tuple[int, int, int, int], np.ndarray, np.ndarray]]:
    """Each brow moved as a strip (step 2 of the module docstring): (box, layer, alpha) for
    :func:`facebench.edit.retouch.composite`, in image coordinates of ``img`` (the photo), the
    alpha times ``weight`` (:func:`brow_weight`; the warp then samples :func:`bare_mix`)."""
    h, w = img.shape[:2]
    f = img.astype(np.float32)
    out = []
    for pairs, box0, mask in zip(BROW_PAIRS, cut.boxes, cut.masks):
        up, lo = [u for u, _ in pairs], [v for _, v in pairs]
        centre_src = (src[up, :2] + src[lo, :2]) / 2
        d = (moved[up, :2] - src[up, :2] + moved[lo, :2] - src[lo, :2]) / 2
        axis = centre_src[-1] - centre_src[0]
        axis = axis / max(float(np.hypot(*axis)), 1e-9)
        u_pts = (centre_src - centre_src[0]) @ axis
        order = np.argsort(u_pts)
        u_pts, d = u_pts[order], d[order]
        reach = int(np.ceil(np.abs(d).max())) + 1
        x0, y0, x1, y1 = box0
        bx = (max(0, x0 - reach), max(0, y0 - reach), min(w, x1 + reach), min(h, y1 + reach))
        gy, gx = np.mgrid[bx[1]:bx[3], bx[0]:bx[2]].astype(np.float32)

        def shift_at(qx: np.ndarray, qy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            u = (qx - centre_src[0, 0]) * axis[0] + (qy - centre_src[0, 1]) * axis[1]
            return np.interp(u, u_pts, d[:, 0]).astype(np.float32), np.interp(u, u_pts, d[:, 1]).astype(np.float32)

        qx, qy = gx, gy
        for _ in range(2):  # p = q + d(u(q)): solve for the source point q of each target p
            dx, dy = shift_at(qx, qy)
            qx, qy = gx - dx, gy - dy
        layer = cv2.remap(f, qx, qy, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        alpha = cv2.remap(mask, qx - x0, qy - y0, interpolation=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
        out.append((bx, layer, np.clip(alpha, 0, 1) * float(weight)))
    return out
