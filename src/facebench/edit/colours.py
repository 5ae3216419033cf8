"""Colours the retouching needs, read from the photo itself (so they are lit like the face)."""

from __future__ import annotations

from typing import Any, Sequence

import cv2
import numpy as np

from . import landmarks as lm
from . import retouch
from .iris import EyeColours

#: The least colour of the white of the eye, as a multiple of the skin's mean level (the sclera
#: a widening lid uncovers is lit like the face, even when the photo shows it in shadow).
SCLERA_FLOOR = np.array([0.97, 0.95, 0.93])


def face_colours(img: np.ndarray, mesh: np.ndarray) -> dict[str, Any]:
    """Colours the retouching needs, read from the face itself: ``lips``, ``skin``, ``mouth``
    (:class:`~facebench.edit.retouch.MouthColours`), ``eye_r``/``eye_l``
    (:class:`~facebench.edit.iris.EyeColours`)."""
    # only the face's box is read: every polygon and the irises lie within the mesh's bounds
    # (the box starts on even pixels so that rounding half to even is unchanged by the shift)
    lo = np.maximum(np.floor(mesh[:, :2].min(0)) - 2, 0).astype(int) // 2 * 2
    hi = np.ceil(mesh[:, :2].max(0)).astype(int) + 3
    img = img[lo[1]:max(hi[1], lo[1]), lo[0]:max(hi[0], lo[0])]
    mesh = mesh - np.array([lo[0], lo[1], 0][: mesh.shape[1]], np.float64)
    h, w = img.shape[:2]
    f = img.astype(np.float32)

    def pixels_in(poly_idx: Sequence[int]) -> np.ndarray:
        m = np.zeros((h, w), np.uint8)
        cv2.fillPoly(m, [np.round(mesh[list(poly_idx), :2]).astype(np.int32)], 1)
        return f[m.astype(bool)]

    def median(px: np.ndarray, default: Sequence[float]) -> np.ndarray:
        return np.median(px, axis=0) if len(px) > 3 else np.asarray(default, np.float32)

    lips = median(pixels_in(lm.LIPS_OUTER), (150, 100, 95))
    skin = median(pixels_in((117, 118, 101, 36, 205, 187, 123)), (190, 150, 130))
    light = float(skin.mean())
    # painted teeth: ivory, a little brighter than the skin and tinted by the photo's white balance
    bright = min(float(skin.max()) * 1.1, 240.0)
    default_teeth = bright * (0.65 * np.array([0.96, 0.93, 0.86]) + 0.35 * skin / max(float(skin.max()), 1.0))
    mouth_w = float(np.linalg.norm(mesh[61, :2] - mesh[291, :2]))
    inner = pixels_in(lm.LIPS_INNER)
    # teeth colour from the photo only when its mouth is open (a closed one shows only lips)
    teeth = whitish(inner, light, default_teeth) if len(inner) > 0.02 * mouth_w ** 2 else default_teeth
    mouth = retouch.MouthColours(cavity=np.array([0.3, 0.17, 0.16]) * lips + 4.0, teeth=teeth,
                                 gum=lips * np.array([1.05, 0.85, 0.88]),
                                 tongue=lips * np.array([0.45, 0.28, 0.28]))
    eyes = {}
    for key, eye, iris in (("eye_r", lm.EYE_R, lm.IRIS_R), ("eye_l", lm.EYE_L, lm.IRIS_L)):
        c = mesh[iris[0], :2]
        r = float(np.linalg.norm(mesh[list(iris[1:]), :2] - c, axis=1).mean())
        iris_m = np.zeros((h, w), np.uint8)
        cv2.circle(iris_m, (int(round(c[0])), int(round(c[1]))), max(int(round(r)), 1), 1, -1)
        eye_m = np.zeros((h, w), np.uint8)
        cv2.fillPoly(eye_m, [np.round(mesh[list(eye), :2]).astype(np.int32)], 1)
        white_px = f[(eye_m > 0) & (iris_m == 0)]
        sclera = whitish(white_px, light, np.array([0.86, 0.83, 0.8]) * min(light, 235.0))

        small = cv2.erode(iris_m, np.ones((3, 3), np.uint8)) if r > 3 else iris_m
        # a narrow or shaded eye shows only grey sclera; what a widening lid uncovers is lit
        eyes[key] = EyeColours(sclera=sclera, iris=median(f[(small > 0) & (eye_m > 0)], (70, 50, 40)),
                               lit_sclera=np.maximum(sclera, SCLERA_FLOOR * min(light, 235.0)))
    return {"lips": lips, "skin": skin, "mouth": mouth, **eyes}


def whitish(px: np.ndarray, skin_light: float, default: np.ndarray) -> np.ndarray:
    """Median colour of the bright, unsaturated pixels among ``px`` (teeth, white of the eye), or
    ``default`` when there are too few of them to trust."""
    if len(px) >= 12:
        mx, mn = px.max(1), px.min(1)
        sat = (mx - mn) / np.maximum(mx, 1.0)
        lum = px.mean(1)
        ok = (sat < 0.32) & (lum > 0.55 * skin_light)
        if ok.sum() >= 6:
            sel = px[ok]
            top = sel[sel.mean(1) >= np.quantile(sel.mean(1), 0.5)]
            return np.median(top, axis=0)
    return np.asarray(default, np.float64)
