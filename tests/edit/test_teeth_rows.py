"""An open smile that opens further shows one row of lower teeth, not two (issue 19r).

On a photo that smiles with its teeth showing, the editor carries the photo's own teeth along
(upper half fixed to the skull, lower half with the jaw and the lower lip). It used to paint a
second lower row under the photo's own lower teeth wherever the lower lip dropped further than
the jaw, with a strip of the photo's lip lining between them: three bright bands along the
mouth's vertical midline (upper teeth, the photo's lower teeth, the painted row); where the
upper lip lifted past the photo's upper teeth, a strip of painted crowns above them made a fourth.

The measure: the edited photo's luminance ``L = 0.299 R + 0.587 G + 0.114 B`` and the green /
red ratio sampled every pixel along the segment between the moved inner-lip centres (mesh
points 13 and 14); a pixel is tooth where ``L >= TEETH_LUMA x`` the lips' luminance and
``G / R >= `` the lips' ``G / R + WHITER`` (teeth are brighter and less red than the lips and
their lining); a band is a run of at least MIN_RUN such pixels. At most two bands may show.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facebench.base.pixels import luma
from facebench.edit import ExpressionControl

#: A tooth is at least this much brighter than the lips (their colour from ``face_colours``).
TEETH_LUMA = 1.05
#: ... and at least this much less red: G / R above the lips' G / R by this margin.
WHITER = 0.05
#: A band is a run of at least this many tooth pixels (shorter runs are highlights or noise).
MIN_RUN = 3
#: Photos that smile with their teeth showing, and the expressions that open their mouths further
#: (angry also lifts the upper lip past the photo's upper teeth).
SMILING = ("feat_single", "astronaut", "feat_happy")
OPENING = ("fear", "surprised", "angry")



def midline(img: np.ndarray, mesh: np.ndarray) -> np.ndarray:
    """(n, 3) float RGB sampled one pixel apart (bilinear) from mesh point 13 to point 14."""
    p, q = mesh[13, :2], mesh[14, :2]
    n = int(np.ceil(np.linalg.norm(q - p))) + 1
    pts = (p[None] + np.linspace(0.0, 1.0, n)[:, None] * (q - p)[None]).astype(np.float32)
    im = img.astype(np.float32)
    return np.stack([cv2.remap(im[..., c], pts[:, :1], pts[:, 1:], cv2.INTER_LINEAR)[:, 0]
                     for c in range(3)], 1)


def bright_bands(line: np.ndarray, lips: np.ndarray) -> list[int]:
    """Lengths of the runs of tooth pixels along ``line`` (see the module's docstring)."""
    lips = np.asarray(lips, float)
    brightness = luma(line[None])[0]  # (1, n, 3): a 2-D array would be taken as luma already
    ratio = line[:, 1] / np.maximum(line[:, 0], 1.0)
    tooth = (brightness >= TEETH_LUMA * float(luma(lips))) & (ratio >= lips[1] / max(lips[0], 1.0) + WHITER)
    runs, cur = [], 0
    for t in [*tooth, False]:
        if t:
            cur += 1
            continue
        if cur >= MIN_RUN:
            runs.append(cur)
        cur = 0
    return runs


def test_bright_bands_counts_runs():
    lips = np.array([150.0, 80.0, 80.0])
    tooth, lip, gap = [230.0, 210.0, 190.0], [150.0, 80.0, 80.0], [40.0, 20.0, 20.0]
    line = np.array([tooth] * 4 + [gap] * 3 + [tooth] * 3 + [lip] * 2 + [tooth] * 5 + [gap, tooth, gap])
    assert bright_bands(line, lips) == [4, 3, 5]  # the last single tooth pixel is too short


@pytest.mark.parametrize("name", SMILING)
def test_one_row_of_lower_teeth(editor, portraits, faces, name):
    prep = editor.prepare(portraits[name], faces[name])
    lips = prep.colours["lips"]
    found = {}
    for expr in OPENING:
        for alpha in (1.0, 1.5):
            res = editor.render(prep, ExpressionControl.single(expr, alpha))
            found[expr, alpha] = bright_bands(midline(res.image, np.asarray(res.info["mesh_moved"], float)), lips)
    assert all(len(runs) <= 2 for runs in found.values()), found
