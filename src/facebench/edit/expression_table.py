"""The offline editor's expression model: each of the 12 expressions as FACS action units.

One row per expression. ``aus`` maps an action unit (see :mod:`facebench.edit.actions`; a suffix
``R``/``L`` makes it one-sided, on the subject's right/left) to its intensity at ``alpha = 1``
(1 = an apex activation). Units starting with ``R`` are not FACS units: they relax what the photo
already shows -- ``R12`` a smile (corners back to the lips' level and the neutral mouth's width),
``R5`` raised upper lids, ``R6`` lower lids pushed up -- because moving toward an expression
without those units means taking them away, not only adding others. They saturate when the
feature is back at neutral, so an intensity above 1 (disgust's ``R12``) means "gone by
``alpha = 1 / intensity``", not more than gone. The editor's displacement is
``alpha * sum_AU intensity_AU * field_AU``, and a blend adds the rows weighted by their alphas.
The retouching columns say what geometry cannot: a blush, darker under-eye shadows. (Teeth
and the mouth cavity follow from the geometry: see :func:`facebench.edit.retouch.mouth_layer`.)

Sources for the action-unit combinations:

- happy, sad, angry, fear, surprised, disgust, contempt: the EMFACS prototypes in Ekman, Friesen
  & Hager (2002), *FACS Investigator's Guide*, table 10-1 (happy 6+12; sad 1+4+15; surprise
  1+2+5B+26; fear 1+2+4+5+7+20+26; anger 4+5+7+23; disgust 9+15+16 / 10; contempt R12A+R14A).
- confused: Rozin & Cohen (2003), *Emotion* 3(1):68-75 -- brow lowering (AU4) with eye
  narrowing (AU7); one raised brow and a sideways mouth are the common depiction.
- confident: Tracy & Robins (2004), *Psychological Science* 15(3):194-197 (pride) -- a small
  closed smile (AU12, often with AU24) and a raised chin (AU17 here).
- shy: Keltner (1995), *JPSP* 68(3):441-454 (embarrassment) -- a controlled smile (AU12 with
  AU24/AU14), gaze and lids down; the blush is the classic sign.
- sleepy: Sundelin et al. (2013), *Sleep* 36(9):1355-1360 -- hanging eyelids, drooping mouth
  corners, darker circles under the eyes.
- anxious: Harrigan & O'Connell (1996), *Personality and Individual Differences* 21(2):205-212
  -- raised and drawn-together brows (AU1+AU4), horizontal lip stretch (AU20), widened eyes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from ..expressions import EXPRESSIONS


@dataclass(frozen=True)
class Recipe:
    """How the offline editor makes one expression at alpha = 1."""

    aus: Mapping[str, float]
    blush: float = 0.0  # cheek redness, 0..1
    under_eye: float = 0.0  # darker circles under the eyes, 0..1
    note: str = field(default="", compare=False)


#: alpha = 1 applies this fraction of the recipes below. The recipes are apex expressions; at 0.8
#: the range PixelSmile and FFE-Bench explore, alpha in 0..1.5, ends just past the apex rather
#: than deep in caricature.
APEX_AT_ALPHA_1 = 0.8


def _r(aus: dict[str, float], **kw: object) -> Recipe:
    return Recipe(MappingProxyType({k: APEX_AT_ALPHA_1 * v for k, v in aus.items()}), **kw)  # type: ignore[arg-type]


#: expression -> recipe. Read it as "at alpha = 1, <expression> is AU x at intensity y ...".
EXPRESSION_TABLE: Mapping[str, Recipe] = MappingProxyType({
    "happy": _r({"AU6": 1.0, "AU12": 1.2, "AU25": 0.9},
                note="Duchenne smile: cheek raiser + lip-corner puller, lips apart over the teeth"),
    "sad": _r({"R12": 1.0, "R5": 0.4, "AU1": 1.0, "AU4": 0.6, "AU15": 1.3, "AU24": 0.6, "AU43": 0.15},
              note="inner brows up and together, mouth corners down, lips together"),
    "angry": _r({"R12": 1.0, "AU4": 1.2, "AU5": 0.3, "AU7": 0.6, "AU23": 0.8, "AU24": 0.9},
                note="brows down and together, glaring lids, lips tightened and pressed"),
    "fear": _r({"R12": 0.6, "AU1": 0.8, "AU2": 0.5, "AU4": 0.3, "AU5": 0.8, "AU7": 0.2, "AU20": 1.3,
                "AU25": 0.6, "AU26": 0.4, "AU16": 0.5},
               note="brows up and together, eyes wide, lips stretched sideways, mouth open"),
    "surprised": _r({"R12": 0.8, "R6": 1.0, "AU1": 1.1, "AU2": 0.7, "AU5": 0.7, "AU25": 0.15, "AU26": 1.0},
                    note="brows up, eyes wide, jaw dropped"),
    "disgust": _r({"R12": 2.0, "AU7": 0.15, "AU9": 0.5, "AU15": 0.7, "AU16": 0.3, "AU17": 0.6},
                  note="smile gone early, nose wrinkled, corners and lower lip down, chin raised (EMFACS 9+15+16, +17)"),
    "confused": _r({"R12": 0.6, "AU4R": 1.3, "AU7R": 0.6, "AU1L": 0.7, "AU2L": 0.8, "AU14L": 0.9,
                    "AU24": 0.5, "AU17": 0.3},
                   note="one brow furrowed, the other raised, lips pressed and pulled to one side"),
    "contempt": _r({"R12L": 1.0, "AU12R": 0.7, "AU14R": 1.2, "AU24": 0.3},
                   note="one-sided lip-corner tightening and raising, the other corner relaxed"),
    "confident": _r({"R12": 0.5, "AU12": 0.45, "AU24": 0.8, "AU17": 0.5, "AU7": 0.35, "AU2": 0.2},
                    note="small closed-lip smile, firm chin, steady slightly narrowed eyes"),
    "shy": _r({"R12": 0.4, "AU12": 0.45, "AU24": 0.7, "AU14": 0.3, "AU43": 0.35, "AU1": 0.3},
              blush=1.0, note="controlled closed smile, lids lowered, blush"),
    "sleepy": _r({"R12": 0.6, "AU43": 0.85, "AU15": 0.2, "AU24": 0.4, "AU1": 0.15},
                 under_eye=1.0, note="hanging eyelids, drooping corners, lips at rest, dark circles"),
    "anxious": _r({"R12": 0.6, "AU1": 0.7, "AU2": 0.2, "AU4": 0.5, "AU5": 0.25, "AU20": 0.5, "AU24": 0.3},
                  note="worried brows (1+4), widened eyes, lips stretched and pressed"),
})

if set(EXPRESSION_TABLE) != set(EXPRESSIONS):  # pragma: no cover - a table edit gone wrong
    raise RuntimeError(f"EXPRESSION_TABLE must cover exactly the 12 expressions: {', '.join(EXPRESSIONS)}")


def recipe(expression: str) -> Recipe:
    """The recipe of one of the 12 expressions (raises ``KeyError`` listing them otherwise)."""
    try:
        return EXPRESSION_TABLE[expression]
    except KeyError:
        raise KeyError(f"no recipe for {expression!r}; expected one of: {', '.join(EXPRESSIONS)}") from None
