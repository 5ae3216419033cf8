"""The expression vocabulary shared by every part of facebench.

FFE-Bench (PixelSmile paper, sec. 3.2) uses 12 expressions; the first six are the basic ones.
The shipped offline classifiers know neutral + the 6 basic expressions (``BASIC7``).
"""

from __future__ import annotations

#: The 12 FFE-Bench expressions, basic six first.
EXPRESSIONS: tuple[str, ...] = (
    "happy", "sad", "angry", "fear", "surprised", "disgust",
    "confused", "contempt", "confident", "shy", "sleepy", "anxious",
)
#: The 6 basic expressions (Acc-6, CLS-6).
BASIC6: tuple[str, ...] = EXPRESSIONS[:6]
#: What the shipped classifiers output: neutral + the 6 basic expressions, in this order.
BASIC7: tuple[str, ...] = ("neutral",) + BASIC6
#: Default confusing pairs for mSCR (PixelSmile paper).
CONFUSING_PAIRS: tuple[tuple[str, str], ...] = (("fear", "surprised"), ("angry", "disgust"))

_ALIASES = {
    "happiness": "happy", "joy": "happy", "smile": "happy",
    "sadness": "sad", "anger": "angry", "fearful": "fear", "afraid": "fear", "scared": "fear",
    "surprise": "surprised", "disgusted": "disgust", "contemptuous": "contempt",
    "confusion": "confused", "confidence": "confident", "sleepiness": "sleepy", "tired": "sleepy",
    "anxiety": "anxious", "shyness": "shy",
}


def normalize_expression(name: str, *, allow_neutral: bool = False) -> str:
    """Canonical name of an expression (``"Surprise"`` -> ``"surprised"``).

    Raises ``ValueError`` naming the value and listing the 12 names when it is unknown.
    """
    key = str(name).strip().lower()
    key = _ALIASES.get(key, key)
    if key in EXPRESSIONS or (allow_neutral and key == "neutral"):
        return key
    raise ValueError(f"unknown expression {name!r}; expected one of: {', '.join(EXPRESSIONS)}")
