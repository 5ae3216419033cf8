"""The closed lips' line: how hard is it? (the measure of tests/edit/test_lip_edge.py)

When an edit presses an open mouth shut, the lips meet along a line. Near the mouth's corners that
line should be no harder than the photo's own lip edges. Hardness is the *largest luma step*
between 4-neighbouring pixels that both lie in a band ``S``:

    step(I, S) = max_{p, q in S, |p - q| = 1} |L(p) - L(q)|,

with ``L`` the luma (ITU-R BT.601: 0.299 R + 0.587 G + 0.114 B). On the edit, ``S`` is the band
within ``HALF`` pixels of the moved inner lower lip near each corner (the part within
``CORNER_SHARE`` of the corner-to-corner distance from that corner). On the photo, ``S`` is the
band within ``HALF`` pixels of its outer lip outline (its vermilion border, where lip meets skin,
and the mouth's corners), leaving out the open mouth itself (the inner-lip polygon, grown by one
pixel: teeth and the dark inside are not lip edges).
"""

from __future__ import annotations

import cv2
import numpy as np

from ..base.pixels import luma
from . import landmarks as lm

#: The bands' half width (pixels) around a lip line.
HALF = 2

#: The share of the corner-to-corner distance, from each corner, that counts as "near the corner".
CORNER_SHARE = 0.35


def largest_step(image: np.ndarray, band: np.ndarray) -> float:
    """``max |L(p) - L(q)|`` over 4-neighbours ``p, q`` both in ``band`` (module docstring); 0 for
    a band without such a pair."""
    y = luma(np.asarray(image, np.float32), np.float32)
    band = np.asarray(band, bool)
    across = np.abs(np.diff(y, axis=1))[band[:, 1:] & band[:, :-1]]
    down = np.abs(np.diff(y, axis=0))[band[1:] & band[:-1]]
    return float(max(across.max(initial=0.0), down.max(initial=0.0)))


def line_band(shape: tuple[int, int], line: np.ndarray, half: int = HALF, closed: bool = False) -> np.ndarray:
    """Pixels within about ``half`` pixels of the polyline ``line`` (N, 2), as a boolean mask."""
    mask = np.zeros(shape, np.uint8)
    cv2.polylines(mask, [np.round(np.asarray(line, np.float64) * 16).astype(np.int32)], closed, 1,
                  2 * half + 1, cv2.LINE_8, 4)
    return mask.astype(bool)


def corner_lines(mesh_xy: np.ndarray, share: float = CORNER_SHARE) -> tuple[np.ndarray, np.ndarray]:
    """The inner lower lip (of a 468/478-point mesh's x, y) from each corner inward, as far as
    ``share`` of the corner-to-corner distance: (from the first corner, from the last)."""
    lip = np.asarray(mesh_xy, np.float64)[list(lm.LIPS_INNER_LOWER)]
    width = float(np.linalg.norm(lip[0] - lip[-1]))
    near_first = np.linalg.norm(lip - lip[0], axis=1) <= share * width
    near_last = np.linalg.norm(lip - lip[-1], axis=1) <= share * width
    return lip[near_first], lip[near_last][::-1]


def corner_steps(image: np.ndarray, mesh_xy: np.ndarray) -> tuple[float, float]:
    """:func:`largest_step` in the band around the inner lower lip near each mouth corner
    (:func:`corner_lines`; ``mesh_xy`` the edit's moved mesh)."""
    shape = np.asarray(image).shape[:2]
    return tuple(largest_step(image, line_band(shape, line)) for line in corner_lines(mesh_xy))  # type: ignore[return-value]


def photo_lip_step(image: np.ndarray, mesh_xy: np.ndarray) -> float:
    """:func:`largest_step` on the photo's own lip outline: the band around its outer lips, less
    the open mouth grown by one pixel (module docstring)."""
    xy = np.asarray(mesh_xy, np.float64)
    shape = np.asarray(image).shape[:2]
    band = line_band(shape, xy[list(lm.LIPS_OUTER)], closed=True)
    opening = np.zeros(shape, np.uint8)
    cv2.fillPoly(opening, [np.round(xy[list(lm.LIPS_INNER)]).astype(np.int32)], 1)
    opening = cv2.dilate(opening, np.ones((3, 3), np.uint8)).astype(bool)
    return largest_step(image, band & ~opening)
