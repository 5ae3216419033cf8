"""The six extended expressions scored from facial-action prototypes measured on the mesh.

No shipped classifier knows confused, contempt, confident, shy, sleepy or anxious. Judge v2 scores
each from the change of interpretable mesh measurements (:func:`facebench.face.geometry.measure`,
lengths in inter-ocular distances, head pose in degrees) between the judged face and its source
(or, without a source, the reference neutral face: measurements as they are, pose as 0):

    I_e = clip( sum_m a_{e,m} * max(s_m * delta_m, 0) / scale_e, 0, 1 )

with ``delta_m`` the change of measurement ``m``, ``s_m`` its sign in the prototype and ``a`` the
weights below. The prototypes and their sources:

- confused: brow lowering/drawing together (AU4) with eye narrowing (AU7) and one-sided brow raise
  (Rozin & Cohen 2003, "High frequency of facial expressions corresponding to confusion...",
  Emotion 3(1)).
- contempt: unilateral lip-corner tightening and raise (AU14/AU12 on one side) (Ekman & Friesen
  1986, "A new pan-cultural facial expression of emotion", Motivation and Emotion 10(2)).
- confident: chin raised (head tilted back) with a small smile (AU12), as in the pride display
  (Tracy & Robins 2004, "Show your pride", Psychological Science 15(3)).
- shy: head lowered and turned away with a controlled smile (AU12 with lip press) (Keltner 1995,
  "Signs of appeasement", JPSP 68(3)).
- sleepy: lid closure (AU43 / reduced eye aperture) with head droop and a slack or yawning mouth
  (AU26/27) (FACS, Ekman, Friesen & Hager 2002, AU43 "eyes closed").
- anxious: inner-brow raise with brows drawn together (AU1+AU4), lips stretched (AU20) and eyes
  widened (AU5) (Harrigan & O'Connell 1996, "How do you look when feeling anxious?", Personality
  and Individual Differences 21(2)).

Whether each is *judged* is decided by gallery validation (``facebench judge validate``): see
:data:`EXTENDED_JUDGED` and the model card.
"""

from __future__ import annotations

import numpy as np

EXTENDED: tuple[str, ...] = ("confused", "contempt", "confident", "shy", "sleepy", "anxious")

#: expression -> ([(measurement, sign, weight), ...], scale). Derived measurements: ``eye_aperture``
#: (mean of both eyes), ``lip_corner_lift`` (mean), ``lip_corner_asym`` (|right - left| lift),
#: ``brow_raise_inner`` / ``brow_raise_outer`` (means), ``brow_asym`` (|right - left| outer raise).
PROTOTYPES: dict[str, tuple[list[tuple[str, float, float]], float]] = {
    "confused": ([("brow_furrow", 1, 1.0), ("eye_aperture", -1, 1.0), ("brow_asym", 1, 1.0),
                  ("lip_corner_lift", -1, 0.5)], 0.15),
    "contempt": ([("lip_corner_asym", 1, 1.0), ("mouth_open", -1, 0.3)], 0.08),
    "confident": ([("pitch", 1, 0.01), ("lip_corner_lift", 1, 1.0), ("mouth_open", -1, 0.5)], 0.2),
    "shy": ([("pitch", -1, 0.01), ("abs_yaw", 1, 0.005), ("lip_corner_lift", 1, 0.5),
             ("mouth_open", -1, 0.5)], 0.2),
    "sleepy": ([("eye_aperture", -1, 2.0), ("pitch", -1, 0.005), ("mouth_open", 1, 0.3)], 0.15),
    "anxious": ([("brow_raise_inner", 1, 1.0), ("brow_furrow", 1, 1.0), ("mouth_width", 1, 0.5),
                 ("eye_aperture", 1, 0.5)], 0.15),
}

#: The extended expressions whose gallery validation passed (CLS >= 0.7 on its slider and top
#: extended expression at frame 27); the others are "not judged". Filled from the model card.
EXTENDED_JUDGED: tuple[str, ...] = ()


def derived(g: dict[str, float]) -> dict[str, float]:
    """The measurements of :data:`PROTOTYPES` from :func:`~facebench.face.geometry.measure`."""
    out = dict(g)
    out["eye_aperture"] = (g["eye_aperture_right"] + g["eye_aperture_left"]) / 2
    out["lip_corner_lift"] = (g["lip_corner_lift_right"] + g["lip_corner_lift_left"]) / 2
    out["lip_corner_asym"] = abs(g["lip_corner_lift_right"] - g["lip_corner_lift_left"])
    out["brow_raise_inner"] = (g["brow_raise_inner_right"] + g["brow_raise_inner_left"]) / 2
    out["brow_raise_outer"] = (g["brow_raise_outer_right"] + g["brow_raise_outer_left"]) / 2
    out["brow_asym"] = abs(g["brow_raise_outer_right"] - g["brow_raise_outer_left"])
    out["abs_yaw"] = abs(g["yaw"])
    return out


def extended_scores(geometry: dict[str, float], source: dict[str, float] | None = None) -> dict[str, float]:
    """``I_e`` of the module docstring for the six extended expressions; ``geometry`` and
    ``source`` are :func:`~facebench.face.geometry.measure` outputs. Without ``source`` the face
    is compared with :data:`NEUTRAL_REFERENCE` (typical neutral values, frontal pose)."""
    a = derived(geometry)
    b = derived(source) if source is not None else {**a, **NEUTRAL_REFERENCE}
    out = {}
    for e, (terms, scale) in PROTOTYPES.items():
        s = sum(w * max(sign * (a[m] - b[m]), 0.0) for m, sign, w in terms)
        out[e] = float(np.clip(s / scale, 0.0, 1.0))
    return out


#: Typical neutral values of the derived measurements (used when no source is given); medians over
#: the neutral photos of faces-in-the-wild, see the model card.
NEUTRAL_REFERENCE: dict[str, float] = {}
