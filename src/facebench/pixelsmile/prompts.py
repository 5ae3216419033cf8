"""PixelSmile's edit prompts (paper sec. 4.1; method notes "Inference").

Target: ``"Edit the {subject} to show a {expression} expression"``; neutral: the same sentence with
``"neutral"``. ``subject`` is ``"person"`` for real photos and ``"character"`` for anime.
"""

from __future__ import annotations

from ..expressions import normalize_expression

#: The prompt sentence; ``{subject}`` and ``{expression}`` are filled in (lower-case words).
PROMPT_TEMPLATE = "Edit the {subject} to show a {expression} expression"
#: Subjects the paper uses: real photos and anime characters.
SUBJECTS: tuple[str, ...] = ("person", "character")
#: The word of the neutral prompt (alpha = 0).
NEUTRAL = "neutral"


def check_subject(subject: str) -> str:
    """``subject`` lower-cased, or ``ValueError`` naming the allowed values."""
    key = str(subject).strip().lower()
    if key not in SUBJECTS:
        raise ValueError(f"unknown subject {subject!r}; expected one of: {', '.join(SUBJECTS)}")
    return key


def expression_prompt(expression: str, subject: str = "person") -> str:
    """The prompt for ``expression`` (one of the 12, or ``"neutral"``) and ``subject``."""
    expr = normalize_expression(expression, allow_neutral=True)
    return PROMPT_TEMPLATE.format(subject=check_subject(subject), expression=expr)


def neutral_prompt(subject: str = "person") -> str:
    """The neutral prompt, the origin e_neu of every interpolation."""
    return expression_prompt(NEUTRAL, subject)
