"""The one alpha syntax (:func:`facebench.base.cli.parse_alphas`) and values that start with '-'."""

from __future__ import annotations

import pytest

from facebench.base.cli import normalize_argv, parse_alphas
from facebench.cli import build_parser


@pytest.mark.parametrize("text, expected", [
    ("0,0.5,1", (0.0, 0.5, 1.0)),
    (" 0, 0.5 ,1.5 ", (0.0, 0.5, 1.5)),
    ("0,0.25,...,1.5", (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)),
    ("0,0.25,\u2026,1", (0.0, 0.25, 0.5, 0.75, 1.0)),
    ("0,0.4,...,1", (0.0, 0.4, 0.8, 1.0)),           # the end is kept when the step misses it
    ("1,0.5,...,-1", (1.0, 0.5, 0.0, -0.5, -1.0)),   # decreasing steps continue too
    ("-1,-0.5,...,1", (-1.0, -0.5, 0.0, 0.5, 1.0)),
    ("0,0.5,...,1,2,3", (0.0, 0.5, 1.0, 2.0, 3.0)),
    ("0:1.5:7", (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)),
    ("-1:1:5", (-1.0, -0.5, 0.0, 0.5, 1.0)),
    ("0.7:0.7:1", (0.7,)),
    ("1", (1.0,)),
])
def test_alpha_syntax(text, expected):
    assert parse_alphas(text) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("text, words", [
    ("", ["empty"]),
    ("0,abc", ["'abc' is not a number"]),
    ("0,,1", ["empty item"]),
    ("0,...,1", ["needs two values before it"]),
    ("0,0.5,...", ["needs two values before it and one after"]),
    ("1,0.5,...,2", ["step towards 2"]),
    ("0,0,...,1", ["step towards"]),
    ("0:1", ["start:stop:count"]),
    ("0:1:x", ["not a whole number"]),
    ("0:1:0", [">= 1"]),
    ("0,nan", ["not a finite number"]),
    ("0,inf", ["not a finite number"]),
])
def test_bad_alphas_name_the_value(text, words):
    with pytest.raises(ValueError) as err:
        parse_alphas(text, what="--alphas")
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"--alphas {text!r}")
    for w in words:
        assert w in msg


def test_negative_values_where_refused():
    with pytest.raises(ValueError, match="negative"):
        parse_alphas("-1,0", allow_negative=False)
    assert parse_alphas("0,1", allow_negative=False) == (0.0, 1.0)


@pytest.mark.parametrize("argv, dest, value", [
    (["edit", "x.jpg", "-e", "happy", "-o", "o", "--alphas", "-1,0"], "alphas", (-1.0, 0.0)),
    (["edit", "x.jpg", "-e", "happy", "-o", "o", "--alphas", "-1:1:3"], "alphas", (-1.0, 0.0, 1.0)),
    (["edit", "x.jpg", "-e", "happy", "-o", "o", "-a", "-0.5"], "alpha", -0.5),
    (["edit", "x.jpg", "-e", "happy", "-o", "o", "--alpha", "-.5"], "alpha", -0.5),
    (["bench", "run", "m.jsonl", "--alphas", "-1,-0.5,...,1"], "alphas", (-1.0, -0.5, 0.0, 0.5, 1.0)),
    (["bench", "run", "m.jsonl", "--alphas=-1,1"], "alphas", (-1.0, 1.0)),
    (["demo", "--alphas", "0:1:3"], "alphas", (0.0, 0.5, 1.0)),
    (["pixelsmile", "sweep", "x.jpg", "--model", "m", "-o", "o", "-e", "happy", "--alphas", "-1,0,1"],
     "alphas", (-1.0, 0.0, 1.0)),
])
def test_a_value_starting_with_a_minus_is_not_an_option(argv, dest, value):
    args = build_parser().parse_args(argv)
    assert getattr(args, dest) == pytest.approx(value)


def test_old_spellings_are_rewritten_with_a_note(capsys):
    assert normalize_argv(["edit", "x", "--outdir", "o", "--sweep=0,1", "--intensity", "0.5"]) == \
        ["edit", "x", "--out", "o", "--alphas=0,1", "--alpha", "0.5"]
    err = capsys.readouterr().err.splitlines()
    assert err == ["facebench: note: --outdir is deprecated; use --out",
                   "facebench: note: --sweep is deprecated; use --alphas",
                   "facebench: note: --intensity is deprecated; use --alpha"]
    # a longer option that merely starts like an old one is left alone; so is everything after --
    assert normalize_argv(["--output-size", "512", "--", "--outdir"]) == ["--output-size", "512", "--", "--outdir"]
