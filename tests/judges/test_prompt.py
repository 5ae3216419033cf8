"""The scoring prompt and the strict parser of VLM answers."""

from __future__ import annotations

import json

import pytest

from facebench.expressions import EXPRESSIONS
from facebench.judges.prompt import PROMPT_VERSION, SYSTEM_PROMPT, VISUAL_CUES, ParseError, parse_scores

GOOD = {e: round(0.05 * i, 2) for i, e in enumerate(EXPRESSIONS)}


def test_prompt_names_every_expression_with_cues_and_look_alikes():
    assert PROMPT_VERSION
    assert set(VISUAL_CUES) == set(EXPRESSIONS)
    for e in EXPRESSIONS:
        assert f'"{e}": 0.00' in SYSTEM_PROMPT  # the JSON template lists every key
    low = SYSTEM_PROMPT.lower()
    assert "fear vs surprised" in low and "angry vs disgust" in low
    assert "json" in low and "no code" in low


@pytest.mark.parametrize("text", [
    json.dumps(GOOD),
    "```json\n" + json.dumps(GOOD) + "\n```",
    "Sure! Here are the scores: " + json.dumps(GOOD) + " Let me know.",
    json.dumps({k: str(v) for k, v in GOOD.items()}),
    json.dumps({**{k.upper(): v for k, v in GOOD.items()}, "note": "extra keys are ignored"}),
])
def test_accepts_valid_objects_in_any_packaging(text):
    assert parse_scores(text) == GOOD


def test_accepts_the_papers_label_words():
    words = {"happy": "Happiness", "sad": "Sadness", "angry": "Anger", "fear": "Fear", "surprised": "Surprise",
             "disgust": "Disgust", "shy": "Embarrassment", "confident": "Confidence", "confused": "Confusion",
             "sleepy": "Drowsiness", "contempt": "Contempt", "anxious": "Nervousness"}
    assert parse_scores(json.dumps({words[k]: v for k, v in GOOD.items()})) == GOOD


def test_braces_inside_strings_do_not_confuse_the_scanner():
    text = json.dumps({"comment": "a } brace and a \\\" quote {", **GOOD})
    assert parse_scores(text) == GOOD


@pytest.mark.parametrize("text,match", [
    ("", "empty"),
    ("she looks happy", "no JSON object"),
    ('{"happy": 0.5', "unterminated"),
    ("{'happy': 0.5}", "invalid JSON"),
    (json.dumps([1, 2]), "no JSON object"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "anxious"}), "missing score.*anxious"),
    (json.dumps({**GOOD, "happy": 85}), "outside"),
    (json.dumps({**GOOD, "happy": -0.1}), "outside"),
    (json.dumps({**GOOD, "happy": None}), "not a number"),
    (json.dumps({**GOOD, "happy": True}), "not a number"),
    (json.dumps({**GOOD, "happy": "high"}), "not a number"),
    ('{"happy": NaN}', "outside"),
    (json.dumps({**GOOD, "Happiness": 0.3}), "given twice"),
])
def test_rejects_what_is_not_a_full_score_object(text, match):
    with pytest.raises(ParseError, match=match):
        parse_scores(text)
