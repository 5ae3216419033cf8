"""The editor contract: controls, their validation and parsing, the registry, the protocol."""

from __future__ import annotations

import math

import pytest

from facebench.edit import EDITORS, Editor, ExpressionControl, get_editor, sweep_controls
from facebench.edit.base import ALPHA_MAX, load_editors
from facebench.expressions import EXPRESSIONS
from facebench.base.registry import UnknownNameError


def test_single_and_blend_are_normalised_and_ordered():
    c = ExpressionControl.single("Surprise", 0.7)
    assert c.weights == (("surprised", 0.7),) and c.expressions == ("surprised",)
    b = ExpressionControl.blend({"surprised": 0.5, "happy": 0.25})
    assert b.weights == (("happy", 0.25), ("surprised", 0.5))  # canonical order: EXPRESSIONS
    assert b.label() == "happy=0.25+surprised=0.5" and b.as_dict() == {"happy": 0.25, "surprised": 0.5}
    assert ExpressionControl.single("sad", 0).is_identity and not b.is_identity
    assert b.scaled(2).as_dict() == {"happy": 0.5, "surprised": 1.0}
    assert hash(b) == hash(ExpressionControl.blend([("happy", 0.25), ("surprised", 0.5)]))


@pytest.mark.parametrize("text, expected", [
    ("happy=0.5,sad=0.3", {"happy": 0.5, "sad": 0.3}),
    (" surprised : 1 , fear=0.25 ", {"surprised": 1.0, "fear": 0.25}),
    ("contempt=3", {"contempt": 3.0}),
    ("anger=1e-1", {"angry": 0.1}),
])
def test_parse_blend_accepts_good_strings(text, expected):
    assert ExpressionControl.parse_blend(text).as_dict() == pytest.approx(expected)


@pytest.mark.parametrize("text, words", [
    ("", ["empty"]),
    ("happy", ["malformed", "NAME=ALPHA"]),
    ("happy=0.5,,sad=0.2", ["malformed"]),
    ("happy=abc", ["malformed"]),
    ("happy=0.5;sad=0.2", ["malformed"]),
    ("joyful=0.5", ["unknown expression", *EXPRESSIONS]),
    ("happy=-0.1", ["out of range"]),
    ("happy=3.5", ["out of range"]),
    ("happy=nan", ["malformed"]),
    ("happy=0.5,happy=0.2", ["twice"]),
])
def test_parse_blend_rejects_bad_strings_with_one_clear_line(text, words):
    with pytest.raises(ValueError) as err:
        ExpressionControl.parse_blend(text)
    msg = str(err.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg


@pytest.mark.parametrize("alpha", [-0.01, ALPHA_MAX + 0.01, math.inf, "x", None])
def test_single_rejects_bad_alphas(alpha):
    with pytest.raises(ValueError, match="alpha"):
        ExpressionControl.single("happy", alpha)


def test_alpha_max_and_empty_controls():
    assert ExpressionControl.single("happy", 5.0, alpha_max=5.0).as_dict() == {"happy": 5.0}
    with pytest.raises(ValueError, match="at least one"):
        ExpressionControl(())
    with pytest.raises(ValueError, match="unknown expression"):
        ExpressionControl.single("neutral", 1.0)


def test_sweep_controls_validate_everything_first():
    cs = sweep_controls("happy", [0, 0.5, 1.5])
    assert [c.as_dict()["happy"] for c in cs] == [0, 0.5, 1.5]
    blend = ExpressionControl.parse_blend("happy=0.5,surprised=0.5")
    assert [c.as_dict() for c in sweep_controls(blend, [0, 2])] == [
        {"happy": 0.0, "surprised": 0.0}, {"happy": 1.0, "surprised": 1.0}]
    with pytest.raises(ValueError, match="out of range"):
        sweep_controls("happy", [0, 0.5, 4.0])
    with pytest.raises(ValueError, match="out of range"):
        sweep_controls(blend, [0, 7.0])
    with pytest.raises(ValueError, match="at least one"):
        sweep_controls("happy", [])


def test_registry_holds_the_offline_editor_with_its_metadata():
    load_editors()
    assert "offline" in EDITORS
    meta = EDITORS.meta("offline")
    assert meta["needs_gpu"] is False
    assert "py-feat" in meta["licence"] and "MediaPipe" in meta["licence"]
    assert "alpha = 0 returns the input unchanged" in meta["alpha_semantics"]
    ed = get_editor("offline")
    assert isinstance(ed, Editor) and ed.name == "offline" and ed.alpha_semantics == meta["alpha_semantics"]
    with pytest.raises(UnknownNameError, match="did you mean offline"):
        get_editor("ofline")
