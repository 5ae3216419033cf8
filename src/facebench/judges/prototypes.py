"""Facial-action prototypes measured on the mesh: the 6 basic expressions' action-unit scores
(read by the trained head, :mod:`.head`) and the six extended expressions (scored by them alone).

No shipped classifier knows confused, contempt, confident, shy, sleepy or anxious. Judge v2 scores
each from a documented facial-action definition with a cited source (:data:`PROTOTYPES`), measured
on the frontalised mesh (:func:`facial_actions`) *relative to the source face* (the unedited image
of an edit; without one, the typical neutral face :data:`NEUTRAL_ACTIONS`). Each action's change is
put in units of its within-person spread ``sigma_m`` (:data:`WITHIN_PERSON_SPREAD`: how much that
measurement varies between ordinary photos of one person), so a head turn of 5 degrees and a lid
drop of 0.02 inter-ocular distances weigh what they usually vary:

    z_m = max( s_m (m(x) - m(r)) / sigma_m, 0 )                       (s_m: the action's sign)
    A_e = sum_{m in with_e} w_m z_m / sum w_m  -  sum_{n in without_e} v_n z_n
    I_e = A_e^+ / (A_e^+ + 1)

``A_e`` is the prototype's mean action in within-person spreads, minus the actions the definition
excludes; ``I_e`` maps it to [0, 1) without saturating (one spread: 0.5, three: 0.75). Whether an
expression is *judged* is decided by gallery validation (:mod:`.validate`, ``facebench judge
validate``): :data:`EXTENDED_JUDGED` and the model card ``data/judge_v2.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .features import SHAPE_POINTS, geometry_dict

#: Action-unit prototypes of the 6 basic expressions (EMFACS, Ekman & Friesen 1978; FACS manual,
#: Ekman, Friesen & Hager 2002): happy AU6+12 (corners up, mouth wider); sad AU1+4+15 (inner brows
#: up and together, corners down); angry AU4+5+7+23 (brows lowered and drawn together); fear
#: AU1+2+4+5+20+26 (brows up, eyes wide, lips stretched, jaw drop); surprised AU1+2+5+26 (brows up,
#: eyes wide, jaw drop); disgust AU9+10+15 (upper lip raised / nose wrinkled, corners down).
#: Happy's AU6 (cheek raise) is read as narrower eyes (``eye_aperture`` down; since feature version
#: 2.4): within-person changes from a neutral photo on faces-in-the-wild (304 happy pairs, 76
#: persons) separate happy from the other expressions' pairs at AUC 0.863 with it vs 0.861
#: without (intensity I_happy), the AU score alone at 0.763 vs 0.772, and across persons happy vs
#: the rest at 0.876 vs 0.898; gallery happy slider CLS 0.852 vs 0.848 (model card).
#: expression -> [(derived measurement, sign)]; see :func:`basic_au`.
BASIC_PROTOTYPES: dict[str, list[tuple[str, float]]] = {
    "happy": [("lip_corner_lift", 1), ("mouth_width", 1), ("eye_aperture", -1)],
    "sad": [("brow_raise_inner", 1), ("lip_corner_lift", -1), ("brow_furrow", 1)],
    "angry": [("brow_furrow", 1), ("brow_raise_outer", -1), ("brow_raise_inner", -1)],
    "fear": [("brow_raise_inner", 1), ("eye_aperture", 1), ("mouth_width", 1), ("mouth_open", 1)],
    "surprised": [("brow_raise_inner", 1), ("brow_raise_outer", 1), ("eye_aperture", 1), ("mouth_open", 1)],
    "disgust": [("upper_lip_raise", 1), ("lip_corner_lift", -1)],
}
#: The measurements :data:`BASIC_PROTOTYPES` reads, in a fixed order.
BASIC_AU_KEYS: tuple[str, ...] = tuple(sorted({m for v in BASIC_PROTOTYPES.values() for m, _ in v}))


def basic_au(geometry: dict[str, float], centre: Sequence[float], spread: Sequence[float]) -> dict[str, float]:
    """Action-unit score of each basic expression: the mean of its prototype's signed, robustly
    standardised measurements ``s_m (m - centre_m) / spread_m`` (centre and spread: median and
    1.4826 x MAD over neutral training photos, in :data:`BASIC_AU_KEYS` order)."""
    d = derived(geometry)
    z = {k: (d[k] - c) / s for k, c, s in zip(BASIC_AU_KEYS, centre, spread)}
    return {e: float(np.mean([sign * z[m] for m, sign in terms])) for e, terms in BASIC_PROTOTYPES.items()}


def derived(g: dict[str, float]) -> dict[str, float]:
    """The measurements of :data:`BASIC_PROTOTYPES` from :func:`~facebench.face.geometry.measure`."""
    out = dict(g)
    out["eye_aperture"] = (g["eye_aperture_right"] + g["eye_aperture_left"]) / 2
    out["lip_corner_lift"] = (g["lip_corner_lift_right"] + g["lip_corner_lift_left"]) / 2
    out["lip_corner_asym"] = abs(g["lip_corner_lift_right"] - g["lip_corner_lift_left"])
    out["brow_raise_inner"] = (g["brow_raise_inner_right"] + g["brow_raise_inner_left"]) / 2
    out["brow_raise_outer"] = (g["brow_raise_outer_right"] + g["brow_raise_outer_left"]) / 2
    out["brow_asym"] = abs(g["brow_raise_outer_right"] - g["brow_raise_outer_left"])
    out["abs_yaw"] = abs(g["yaw"])
    return out


# ---------------------------------------------------------------------------------------------
# The six extended expressions

EXTENDED: tuple[str, ...] = ("confused", "contempt", "confident", "shy", "sleepy", "anxious")

#: Facial-action proxies read off the frontalised mesh (y up; lengths in reference inter-ocular
#: distances, angles in degrees): action -> (measurement of :func:`facial_actions`, sign, meaning).
#: FACS numbers after Ekman, Friesen & Hager (2002), *Facial Action Coding System*.
ACTIONS: dict[str, tuple[str, float, str]] = {
    "AU1": ("brow_inner", 1, "inner brow raiser: inner brow ends above the inner eye corners"),
    "AU2": ("brow_outer", 1, "outer brow raiser: outer brow ends above the outer eye corners"),
    "AU4": ("brow_furrow", 1, "brow lowerer: inner brow ends drawn together"),
    "AU5": ("upper_lid", 1, "upper lid raiser: upper-lid centre above the eye-corner line"),
    "AU43": ("upper_lid", -1, "eyes closing: upper-lid centre lowered towards the eye-corner line"),
    "AU7": ("lower_lid", 1, "lid tightener (and AU6 cheek raise): lower-lid centre raised"),
    "AU12": ("corner_height", 1, "lip-corner puller: mean lip-corner height against the eye-corner line"),
    "AU14u": ("corner_asym", 1, "unilateral corner action: |right - left| lip-corner height"),
    "AU20": ("mouth_width", 1, "lip stretcher: mouth-corner distance"),
    "AU24": ("lip_thickness", -1, "lip presser: red-lip heights (upper + lower) thinned"),
    "AU26": ("mouth_open", 1, "jaw drop: inner-lip gap"),
    "AU53": ("pitch", 1, "head up (chin raised)"),
    "AU54": ("pitch", -1, "head down"),
    "AU51/52": ("abs_yaw", 1, "head turned away (either side)"),
    "AU55/56": ("abs_roll", 1, "head tilted (either side)"),
}


def facial_actions(blocks: dict[str, np.ndarray]) -> dict[str, float]:
    """The measurements :data:`ACTIONS` reads, from a face's ``geometry`` and ``shape`` feature
    blocks (:func:`facebench.judges.features.geometry_blocks`): heights are taken against the
    line through the eye corners (rigid points, so a dropped jaw does not move them)."""
    from ..face.geometry import reference_mesh

    g = geometry_dict(blocks["geometry"])
    ref = reference_mesh()
    iod = float(np.linalg.norm((ref[263] + ref[362]) / 2 - (ref[33] + ref[133]) / 2))
    idx = {p: i for i, p in enumerate(SHAPE_POINTS)}
    shape = np.asarray(blocks["shape"], np.float64).reshape(-1, 3)
    pt = lambda p: ref[p] / iod + shape[idx[p]]  # noqa: E731  frontal position, reference IODs
    eye_line = {"right": (pt(33)[1] + pt(133)[1]) / 2, "left": (pt(263)[1] + pt(362)[1]) / 2}
    mid = (eye_line["right"] + eye_line["left"]) / 2
    corner_r, corner_l = pt(61)[1] - mid, pt(291)[1] - mid
    return {
        "brow_inner": (g["brow_raise_inner_right"] + g["brow_raise_inner_left"]) / 2,
        "brow_outer": (g["brow_raise_outer_right"] + g["brow_raise_outer_left"]) / 2,
        "brow_furrow": g["brow_furrow"],
        "upper_lid": ((pt(159)[1] - eye_line["right"]) + (pt(386)[1] - eye_line["left"])) / 2,
        "lower_lid": ((pt(145)[1] - eye_line["right"]) + (pt(374)[1] - eye_line["left"])) / 2,
        "corner_height": (corner_r + corner_l) / 2,
        "corner_asym": abs(corner_r - corner_l),
        "mouth_width": g["mouth_width"],
        "mouth_open": g["mouth_open"],
        "lip_thickness": float(np.linalg.norm(pt(0) - pt(13)) + np.linalg.norm(pt(14) - pt(17))),
        "pitch": g["pitch"],
        "abs_yaw": abs(g["yaw"]),
        "abs_roll": abs(g["roll"]),
    }


#: Pooled within-person standard deviation of each measurement of :func:`facial_actions`:
#: ``sqrt( sum_persons sum_photos (m - mean_person)^2 / (N - P) )`` over the faces-in-the-wild
#: persons with two or more photos (271 persons, 1,119 photos, any expression; persons as in
#: :func:`facebench.judges.dataset.labelled_images`; feature version 2.4, whose geometry and shape
#: blocks equal 2.3's; recomputed and compared in the model card by ``benchmarks/validate_judge.py``).
WITHIN_PERSON_SPREAD: dict[str, float] = {
    "abs_roll": 5.4241, "abs_yaw": 11.4704, "brow_furrow": 0.0260, "brow_inner": 0.0387,
    "brow_outer": 0.0298, "corner_asym": 0.0187, "corner_height": 0.0743, "lip_thickness": 0.0390,
    "lower_lid": 0.0123, "mouth_open": 0.0987, "mouth_width": 0.0978, "pitch": 8.1928,
    "upper_lid": 0.0258,
}

#: Medians of the measurements over the 598 neutral photos of faces-in-the-wild (the reference
#: when no source face is given; same script).
NEUTRAL_ACTIONS: dict[str, float] = {
    "abs_roll": 4.2174, "abs_yaw": 8.6864, "brow_furrow": 0.0175, "brow_inner": 0.2900,
    "brow_outer": 0.2005, "corner_asym": 0.0148, "corner_height": -1.1445, "lip_thickness": 0.2662,
    "lower_lid": -0.0443, "mouth_open": 0.0465, "mouth_width": 0.7801, "pitch": -3.9083,
    "upper_lid": 0.0879,
}


@dataclass(frozen=True)
class Prototype:
    """A facial-action definition: the actions present (``with_``: (action, weight)), the actions
    that must be absent (``without``: (action, weight), subtracted) and the cited source."""

    with_: tuple[tuple[str, float], ...]
    without: tuple[tuple[str, float], ...]
    source: str


#: The extended expressions' definitions, written from the cited descriptions (not fitted to any
#: gallery); their gallery validation is in the model card.
PROTOTYPES: dict[str, Prototype] = {
    "confused": Prototype(
        (("AU4", 1.0), ("AU7", 1.0), ("AU55/56", 1.0)), (),
        "brows lowered and drawn together (AU4) with narrowed eyes (AU7) and a head tilt: Rozin & Cohen "
        "(2003), High frequency of facial expressions corresponding to confusion, concentration, and "
        "worry, Emotion 3(1)"),
    "contempt": Prototype(
        (("AU14u", 1.0),), (),
        "unilateral lip-corner tightening and raise (AU14/AU12 on one side): Ekman & Friesen (1986), A new "
        "pan-cultural facial expression of emotion, Motivation and Emotion 10(2); Matsumoto (1992), "
        "Motivation and Emotion 16(4)"),
    "confident": Prototype(
        (("AU12", 1.0), ("AU53", 1.0)), (),
        "pride display: small smile (AU12) with the head tilted back (AU53): Tracy & Robins (2004), Show "
        "your pride: evidence for a discrete emotion expression, Psychological Science 15(3)"),
    "shy": Prototype(
        (("AU12", 1.0), ("AU24", 1.0), ("AU54", 1.0), ("AU51/52", 1.0)), (),
        "embarrassment display: controlled smile (AU12 with lip press AU24), head down (AU54) and turned "
        "away (AU51/52); its gaze-down component needs the iris, which the features do not carry: "
        "Keltner (1995), Signs of appeasement, Journal of Personality and Social Psychology 68(3)"),
    "sleepy": Prototype(
        (("AU43", 1.0), ("AU54", 1.0)), (("AU4", 1.0), ("AU7", 1.0)),
        "eyes closing (AU43, the upper lid comes down) with the head drooping (AU54), without brow "
        "lowering (AU4) or a raised lower lid (AU7/AU6), which make a squint or a smile's eye closure "
        "instead: FACS (Ekman, Friesen & Hager 2002) AU43 vs AU7; drowsiness shows as eye closure and head "
        "movement (Vural et al. 2007, Drowsy driver detection through facial movement analysis, HCI 2007, "
        "LNCS 4796)"),
    "anxious": Prototype(
        (("AU1", 1.0), ("AU4", 1.0), ("AU20", 1.0)), (),
        "elements of the fear expression: inner brows raised and drawn together (AU1+AU4) with the lips "
        "stretched (AU20): Harrigan & O'Connell (1996), How do you look when feeling anxious? Facial "
        "displays of anxiety, Personality and Individual Differences 21(2)"),
}

#: The extended expressions whose gallery validation passed (CLS >= 0.7 on its slider, top extended
#: prototype at frame 27, and higher there than at frame 27 of every other slider: see
#: :mod:`.validate` and the model card ``data/judge_v2.md``, which gives the reasons for the others).
EXTENDED_JUDGED: tuple[str, ...] = ("sleepy",)


def action_units(actions: dict[str, float], reference: dict[str, float]) -> dict[str, float]:
    """``z_m`` of the module docstring for every action of :data:`ACTIONS`: the signed change from
    ``reference`` in within-person spreads, negative changes cut to 0."""
    return {a: max(sign * (actions[m] - reference[m]) / WITHIN_PERSON_SPREAD[m], 0.0)
            for a, (m, sign, _) in ACTIONS.items()}


def extended_scores(blocks: dict[str, np.ndarray],
                    source: dict[str, np.ndarray] | None = None) -> dict[str, float]:
    """``I_e`` of the module docstring for the six extended expressions; ``blocks`` and ``source``
    are feature blocks (``geometry``, ``shape``) of the face and of its source face (default: the
    typical neutral face, :data:`NEUTRAL_ACTIONS`)."""
    ref = facial_actions(source) if source is not None else NEUTRAL_ACTIONS
    z = action_units(facial_actions(blocks), ref)
    out = {}
    for e, p in PROTOTYPES.items():
        a = (sum(w * z[k] for k, w in p.with_) / sum(w for _, w in p.with_)
             - sum(v * z[k] for k, v in p.without))
        a = max(a, 0.0)
        out[e] = float(a / (a + 1.0))
    return out
