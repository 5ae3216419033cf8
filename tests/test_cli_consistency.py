"""Every ``facebench`` command speaks one grammar: walks the whole parser tree (sub-sub-commands
included) and runs the real console script for a sample of bad inputs."""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
from pathlib import Path

import pytest

import facebench
from facebench.base.cli import DEPRECATED_OPTIONS, leaves, walk
from facebench.cli import build_parser, main
from facebench.samples import sample_paths

PARSER = build_parser()
ALL = walk(PARSER)
LEAVES = [p for p in leaves(PARSER) if p is not PARSER]


def _visible(p: argparse.ArgumentParser):
    return [a for a in p._actions if a.option_strings and a.help != argparse.SUPPRESS]


def _path(p: argparse.ArgumentParser) -> list[str]:
    return p.prog.split()[1:]


def test_the_tree_is_walked_completely():
    names = {" ".join(_path(p)) for p in ALL}
    # sub-sub-commands are reached
    assert {"bench run", "bench cache prune", "quality score", "study create", "train pixelsmile",
            "identity calibrate", "judge train", "pixelsmile sweep", "data build", "degrade", "demo",
            "edit", "analyze", "studio"} <= names
    assert len(LEAVES) >= 30


def test_an_option_name_has_one_meaning_everywhere():
    """The same option string always comes with the same partner spellings (-o is always --out,
    -q always --quiet) and the same arity (a flag is never a value option elsewhere)."""
    seen: dict[str, set] = collections.defaultdict(set)
    for p in ALL:
        for a in _visible(p):
            for o in a.option_strings:
                seen[o].add((tuple(sorted(a.option_strings)), a.nargs == 0))
    clashes = {o: v for o, v in seen.items() if len(v) > 1}
    assert not clashes


def test_the_shared_options_are_the_same_option():
    expect = {"-o": ("out", False), "--cache": ("cache", False), "-q": ("quiet", True),
              "--no-progress": ("no_progress", True), "--debug": ("debug", True),
              "-a": ("alpha", False), "--alpha": ("alpha", False), "--alphas": ("alphas", False)}
    for p in ALL:
        for a in _visible(p):
            for o in a.option_strings:
                if o in expect:
                    assert (a.dest, a.nargs == 0) == expect[o], (p.prog, o)
                if o in ("-a", "--alpha", "--alphas"):  # the one alpha grammar
                    assert getattr(a.type, "__name__", "") in ("alpha", "alphas"), (p.prog, o)


def test_no_old_spelling_is_visible():
    for p in ALL:
        for a in _visible(p):
            assert not set(a.option_strings) & set(DEPRECATED_OPTIONS), (p.prog, a.option_strings)
            if any(o in ("-o", "--out") or o.startswith("--out-") and o != "--output-size" for o in a.option_strings):
                assert a.option_strings == ["-o", "--out"], (p.prog, a.option_strings)


@pytest.mark.parametrize("option", ["--no-progress", "--quiet", "--debug"])
def test_every_command_has_the_common_options(option):
    missing = [p.prog for p in LEAVES if option not in p._option_string_actions]
    assert not missing


@pytest.mark.parametrize("path", [_path(p) for p in ALL], ids=lambda p: " ".join(p) or "facebench")
def test_help_of_every_command(path, capsys):
    assert main([*path, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: facebench") and "--help" in out


def test_a_command_without_its_subcommand_prints_help_and_exits_2(capsys):
    assert main(["bench"]) == 2
    cap = capsys.readouterr()
    assert "usage: facebench bench" in cap.out + cap.err


# ---------------------------------------------------------------- the real console script
def _facebench(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("facebench")
    env = {**os.environ, "PYTHONPATH": str(Path(facebench.__file__).resolve().parents[1])}
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=600, cwd=cwd, env=env)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    photo = sample_paths()["feat_happy"]
    (d / "m.jsonl").write_text(f'{{"task_id": "t1", "image": "{photo}", "expression": "happy"}}\n')
    (d / "bad.yaml").write_text("name: [unclosed\n")
    return d


BAD_INPUTS = [
    (["edit", "missing.jpg", "-e", "happy", "-o", "out"], "missing.jpg"),
    (["edit", "{photo}", "-e", "happy", "-o", "out", "--alphas", "0,x"], "'x' is not a number"),
    (["edit", "{photo}", "-e", "happy", "-o", "out", "--alpha", "abc"], "'abc' is not a number"),
    (["edit", "{photo}", "-e", "nope", "-o", "out"], "unknown expression"),
    (["bench", "run", "m.jsonl", "--alphas", "0:1"], "start:stop:count"),
    (["bench", "run", "m.jsonl", "--alphas=-1,1", "--no-identity"], "alphas"),
    (["bench", "run", "m.jsonl", "--alphas", "-1,1", "--no-identity"], "alphas"),
    (["bench", "run", "missing.jsonl"], "missing.jsonl"),
    (["demo", "--alphas", "1,0.5,...,2"], "step towards"),
    (["quality", "score", "{photo}", "-o", "s.csv", "--metrics", "nope"], "nope"),
    (["degrade", "{photo}", "-o", "lq", "--copies", "x"], "invalid int value"),
    (["study", "create", "bad.yaml", "--db", "s.db"], "bad.yaml"),
    (["data", "build", "missing.yaml"], "missing.yaml"),
    (["judge", "score", "{photo}", "--source", "missing.png"], "missing.png"),
    (["pixelsmile", "sweep", "{photo}", "--model", "nomodel", "-o", "o", "-e", "happy", "--alphas", "0,,1"],
     "empty item"),
    (["analyze", "{photo}", "--parts", "nope"], "nope"),
    (["nosuchcommand"], "invalid choice"),
]


@pytest.mark.parametrize("argv, words", BAD_INPUTS, ids=lambda v: " ".join(v[:3]) if isinstance(v, list) else "")
def test_bad_values_exit_2_with_one_line(workdir, argv, words):
    photo = str(sample_paths()["feat_happy"])
    proc = _facebench(*[a.replace("{photo}", photo) for a in argv], cwd=workdir)
    err = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(err) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and words in err[0]
    assert err[0].startswith("facebench") and ": error: " in err[0]


def test_an_unexpected_error_is_one_line_and_debug_shows_it(monkeypatch, capsys, tmp_path):
    """A bug (here: a command function that divides by zero) is one line and exit status 70;
    --debug re-raises it."""
    import facebench.edit.cli as edit_cli

    def broken(args):
        return 1 / 0

    monkeypatch.setattr(edit_cli, "run", broken)
    argv = ["edit", "x.jpg", "-e", "happy", "-o", str(tmp_path)]
    assert main(argv) == 70
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["facebench edit: unexpected error: ZeroDivisionError: division by zero "
                   "(a bug; run with --debug for the traceback)"]
    with pytest.raises(ZeroDivisionError):
        main([*argv, "--debug"])
    with pytest.raises(ZeroDivisionError):
        main(["--debug", *argv])
