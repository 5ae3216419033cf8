"""facebench's expression-scoring prompt for VLM judges (versioned) and the parser of its answers.

In the spirit of FFE-Bench's scoring prompt (PixelSmile paper, appendix E.1, Table 6): the model
returns one strict JSON object with an intensity in ``[0, 1]`` for each of the 12 expressions,
guided by visual definitions and warned about look-alike pairs. The wording below is facebench's
own. Change :data:`PROMPT_VERSION` whenever the text changes: cached answers are keyed by it.

The parser is strict about what counts as a score (a number in ``[0, 1]`` for every one of the 12
expressions) and lenient only about packaging (code fences, text around the object, the paper's
label words such as ``"Happiness"`` or ``"Drowsiness"``). It never fills in a missing score, and an
answer is used only when it validates completely and unambiguously: an answer holding more than one
JSON object (e.g. the prompt's zero-filled format example followed by the real one), an answer that
is the format example itself, or an object with a key given twice is rejected, never guessed at.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ..expressions import EXPRESSIONS, normalize_expression
from ..base.http import loads_unique

#: Bump when :data:`SYSTEM_PROMPT` or :data:`USER_PROMPT` change.
PROMPT_VERSION = "facebench-expr-v1"

#: What each expression looks like (facebench's own wording).
VISUAL_CUES: dict[str, str] = {
    "happy": "mouth corners pulled up and back, cheeks lifted, eyes narrowed with crow's-feet; "
             "from a faint smile to open laughter",
    "sad": "inner ends of the brows raised, mouth corners pulled down, lowered eyelids or gaze, "
           "possibly tears",
    "angry": "brows pulled down and together, hard glaring stare, lips pressed thin or teeth bared",
    "fear": "brows raised AND drawn together, upper lids raised with tense lower lids, lips "
            "stretched sideways, a shrinking posture",
    "surprised": "brows lifted high in smooth arcs, eyes wide open, jaw loosely dropped; the face is "
                 "otherwise relaxed",
    "disgust": "nose wrinkled, upper lip raised, cheeks pushed up, head pulling away",
    "confused": "brows knitted or one brow raised, eyes glancing aside or up, head tilted, lips "
                "pursed or twisted as if puzzling something out",
    "contempt": "one mouth corner tightened or lifted (a one-sided smirk or sneer), looking down the nose",
    "confident": "relaxed controlled smile, steady direct gaze, chin level or slightly raised, a "
                 "self-assured, slightly smug air",
    "shy": "small bashful smile, gaze lowered or turned away, blushing cheeks, head ducked or face "
           "partly hidden",
    "sleepy": "heavy drooping eyelids, half-closed eyes, yawning, slack low-energy face",
    "anxious": "tense face, worried brows, lips pressed or bitten, restless or darting eyes, sweat",
}

#: Pairs that look alike and how to tell them apart.
LOOK_ALIKES: tuple[str, ...] = (
    "fear vs surprised: both raise the brows and open the eyes; fear pulls the brows together and "
    "tenses the lips, surprise leaves the brows smooth and the jaw slack",
    "angry vs disgust: anger lowers the brows into a glare; disgust wrinkles the nose and lifts the "
    "upper lip",
    "happy vs confident vs shy vs contempt: a broad symmetric smile is happy; a controlled smile with "
    "a steady gaze is confident; a small smile with an averted gaze is shy; a one-sided smirk is contempt",
    "anxious vs fear: anxiety is lasting tension and unease, fear is an acute alarm with widened eyes",
)


def _format_example() -> str:
    """The zero-filled JSON object the prompt shows as the answer format."""
    return "{" + ", ".join(f'"{k}": 0.00' for k in EXPRESSIONS) + "}"


def _build_system_prompt() -> str:
    cues = "\n".join(f"- {k}: {v}." for k, v in VISUAL_CUES.items())
    pairs = "\n".join(f"- {p}." for p in LOOK_ALIKES)
    return (
        "You grade facial expressions in images, photographs and drawn or anime characters alike.\n"
        "For each of the twelve expressions below, estimate how strongly the face shows it, from "
        "0.00 (not at all) to 1.00 (as strong as that expression gets). Judge each expression on "
        "its own: several may be present at once and the numbers need not add up to 1. Judge only "
        "what is visible.\n\n"
        f"What to look for:\n{cues}\n\n"
        "Expressions that are easy to mix up -- check the distinguishing cues before scoring:\n"
        f"{pairs}\n\n"
        "Reply with a single JSON object and nothing else: no explanation, no Markdown, no code "
        "fences. Use exactly these twelve keys, each with a number between 0 and 1:\n"
        + _format_example()
    )


def _squash(text: str) -> str:
    return "".join(text.split())


#: The system message sent to the VLM.
SYSTEM_PROMPT: str = _build_system_prompt()
#: The format example in :data:`SYSTEM_PROMPT`, without white space (an answer equal to it is an echo).
_TEMPLATE = _squash(_format_example())
#: The text sent with the image.
USER_PROMPT = "Score the facial expression of the person in this image."

# The paper's label words and other names a model may answer with.
_EXTRA_KEYS = {
    "embarrassment": "shy", "embarrassed": "shy", "drowsiness": "sleepy", "drowsy": "sleepy",
    "nervousness": "anxious", "nervous": "anxious", "fearful": "fear",
}


class ParseError(ValueError):
    """The model's answer is not a valid score object; the message says what is wrong."""


def _json_object_text(text: str) -> str:
    """The one balanced top-level ``{...}`` in ``text`` (code fences and surrounding prose dropped);
    :class:`ParseError` when there is none or more than one (which one is the answer is ambiguous)."""
    t = re.sub(r"```[a-zA-Z]*", "", text)
    start = t.find("{")
    if start < 0:
        raise ParseError(f"no JSON object in the answer: {_snip(text)}")
    end = _balanced_end(t, start, text)
    if t.find("{", end) >= 0:
        raise ParseError(f"more than one JSON object in the answer (ambiguous): {_snip(text)}")
    return t[start:end]


def _balanced_end(t: str, start: int, text: str) -> int:
    """Index just past the ``}`` closing the ``{`` at ``start``."""
    depth, in_str, esc = 0, False, False
    for i in range(start, len(t)):
        c = t[i]
        if in_str:
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
            continue
        if c == '"':
            in_str = True
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    raise ParseError(f"unterminated JSON object in the answer: {_snip(text)}")


def _snip(text: str, n: int = 80) -> str:
    s = " ".join(str(text).split())
    return repr(s if len(s) <= n else s[:n] + "...")


def _canonical_key(key: str) -> str | None:
    k = str(key).strip().lower()
    k = _EXTRA_KEYS.get(k, k)
    try:
        return normalize_expression(k)
    except ValueError:
        return None


def _score(value: Any, key: str) -> float:
    if isinstance(value, bool) or value is None:
        raise ParseError(f"score for {key!r} is {value!r}, not a number")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ParseError(f"score for {key!r} is {value!r}, not a number") from None
    if not isinstance(value, (int, float)):
        raise ParseError(f"score for {key!r} is {value!r}, not a number")
    v = float(value)
    if not math.isfinite(v) or v < 0.0 or v > 1.0:
        raise ParseError(f"score for {key!r} is {value!r}, outside [0, 1]")
    return v


def parse_scores(text: str, expressions: tuple[str, ...] = EXPRESSIONS) -> dict[str, float]:
    """Parse a model answer into ``{expression: intensity}`` over ``expressions``.

    Accepts the object inside code fences or surrounded by text and label words such as
    ``"Happiness"``; rejects (:class:`ParseError`) anything without exactly one JSON object, the
    prompt's format example echoed back, a value that is not a number in ``[0, 1]``, a key given
    twice (verbatim or under two names), or a missing expression.
    Unknown extra keys are ignored.
    """
    if not isinstance(text, str) or not text.strip():
        raise ParseError("empty answer")
    body = _json_object_text(text)
    if _squash(body) == _TEMPLATE:
        raise ParseError("the answer repeats the prompt's format example (all 0.00), not a judgement")
    try:
        obj = loads_unique(body)
    except json.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON ({exc.msg} at char {exc.pos}): {_snip(body)}") from None
    except ValueError as exc:  # a key given twice
        raise ParseError(f"invalid JSON ({exc}): {_snip(body)}") from None
    if not isinstance(obj, dict):
        raise ParseError(f"JSON is not an object: {_snip(body)}")
    out: dict[str, float] = {}
    for key, value in obj.items():
        name = _canonical_key(key)
        if name is None or name not in expressions:
            continue
        if name in out:
            raise ParseError(f"expression {name!r} is given twice (as {key!r} and another label)")
        out[name] = _score(value, str(key))
    missing = [e for e in expressions if e not in out]
    if missing:
        raise ParseError(f"missing score(s) for {', '.join(missing)}: {_snip(body)}")
    return {e: out[e] for e in expressions}
