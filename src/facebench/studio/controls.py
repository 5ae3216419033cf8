"""The studio's slider values <-> an :class:`~facebench.edit.ExpressionControl`.

The page sends its sliders as ``c=happy:0.5,surprised:0.25`` (sliders at 0 left out; an empty
string is the neutral reset). The control is the blend of the non-zero sliders (PixelSmile paper,
sec. 5.6: ``e = e_neu + sum_i a_i (e_i - e_neu)``); all sliders at 0 is the identity control.
"""

from __future__ import annotations

from ..edit import ExpressionControl
from ..expressions import EXPRESSIONS


def parse_sliders(text: str | None, alpha_max: float) -> dict[str, float]:
    """``{expression: alpha}`` for all 12 expressions from ``"happy:0.5,sad:0.2"``; raises
    ``ValueError`` (one line) for an unknown name, a malformed item or an alpha out of
    ``[0, alpha_max]``."""
    values = {e: 0.0 for e in EXPRESSIONS}
    if text and text.strip():
        control = ExpressionControl.parse_blend(text, alpha_max=alpha_max)
        values.update(control.as_dict())
    return values


def to_control(values: dict[str, float], alpha_max: float) -> ExpressionControl:
    """The blend of the non-zero sliders (all zero: ``happy`` at 0, which every editor treats as
    its alpha-0 control)."""
    nonzero = {k: v for k, v in values.items() if v > 0}
    if not nonzero:
        return ExpressionControl.single(EXPRESSIONS[0], 0.0, alpha_max=alpha_max)
    return ExpressionControl.blend(nonzero, alpha_max=alpha_max)


def slider_text(values: dict[str, float]) -> str:
    """The ``c=`` form of ``values`` (non-zero sliders in canonical order)."""
    return ",".join(f"{e}:{values[e]:g}" for e in EXPRESSIONS if values.get(e, 0) > 0)
