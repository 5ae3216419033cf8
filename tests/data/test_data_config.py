"""Build configurations: defaults, and one clear line for every kind of mistake."""

from __future__ import annotations

import json

import pytest

from facebench.cli import main as facebench_main
from facebench.data import ConfigError, load_config, parse_config
from facebench.expressions import CONFUSING_PAIRS, EXPRESSIONS


def _cfg(tmp_path, **extra):
    (tmp_path / "faces").mkdir(exist_ok=True)
    return {"name": "t", "sources": ["faces"], **extra}


def test_defaults_and_relative_paths(tmp_path):
    cfg = parse_config(_cfg(tmp_path), tmp_path, "cfg.yaml")
    assert cfg.sources[0].path == (tmp_path / "faces").resolve() and cfg.sources[0].domain == "auto"
    assert cfg.generate.editor == "offline" and cfg.generate.intensities == (0.5, 1.0)
    assert [j.name for j in cfg.annotate.judges] == ["offline"]
    assert cfg.compose.expressions == EXPRESSIONS and cfg.filter.pairs == CONFUSING_PAIRS
    snap = cfg.to_dict()
    assert json.loads(json.dumps(snap)) == snap


@pytest.mark.parametrize("extra, message", [
    ({"generate": {"editor": "ofline"}}, "generate.editor: unknown editor 'ofline'; did you mean offline"),
    ({"annotate": {"judges": ["oflline"]}}, "annotate.judges[0].name: unknown judge 'oflline'; did you mean offline"),
    ({"filter": {"recogniser": "dilb"}}, "filter.recogniser: unknown recogniser 'dilb'; did you mean dlib"),
    ({"generat": {}}, "generat: unknown key; did you mean generate"),
    ({"collect": {"min_face": 3}}, "collect.min_face: unknown key; did you mean min_face_px"),
    ({"compose": {"expressions": ["happy", "grumpy"]}}, "compose.expressions[1]: unknown expression 'grumpy'"),
    ({"generate": {"intensities": [0.5, "x"]}}, "generate.intensities[1]: 'x' is not a number"),
    ({"generate": {"intensities": [0.5]}}, "give at least two intensities"),
    ({"generate": {"intensities": [0.5, 4]}}, "generate.intensities[1]: 4 is outside [0.0, 3.0]"),
    ({"filter": {"pairs": [["fear", "fear"]]}}, "a pair needs two different expressions"),
    ({"filter": {"identity_band": [0.9, 0.5]}}, "low 0.9 is above high 0.5"),
    ({"export": {"pairing": "some"}}, "'some' is not 'all' or 'same_alpha'"),
    ({"filter": {"identity_calibration": "nope.json"}}, "filter.identity_calibration: "),
    ({"filter": {"identity_calibration": 3}}, "filter.identity_calibration: expected the path"),
    ({"seed": "abc"}, "seed: 'abc' is not an integer"),
    # strict numbers: YAML's true/yes and quoted numbers are user errors, not 1 or 3
    ({"collect": {"max_yaw": True}}, "collect.max_yaw: True is not a number"),
    ({"seed": "3"}, "seed: '3' is not an integer"),
    ({"generate": {"workers": 0}}, "generate.workers: 0 is outside [1, inf]"),
    ({"generate": {"intensities": [0.5, True]}}, "generate.intensities[1]: True is not a number"),
    ({"annotate": {"judges": [{"name": "offline", "option": {}}]}}, "annotate.judges[0].option: unknown key"),
    ({"generate": {"options": [1]}}, "generate.options: expected a mapping of option -> value"),
    ({"collect": 3}, "collect = 3: "),
])
def test_mistakes_give_one_clear_line(tmp_path, extra, message):
    with pytest.raises(ConfigError) as err:
        parse_config(_cfg(tmp_path, **extra), tmp_path, "cfg.yaml")
    text = str(err.value)
    assert message in text and text.startswith("cfg.yaml: ") and "\n" not in text


def test_empty_sections_take_the_defaults(tmp_path):
    cfg = parse_config(_cfg(tmp_path, collect=None, generate={"workers": 2}), tmp_path, "cfg.yaml")
    assert cfg.collect.max_yaw == 30.0 and cfg.generate.workers == 2 and cfg.generate.editor == "offline"
    assert cfg.source == "cfg.yaml"
    with pytest.raises(ConfigError, match="cfg.yaml: source: unknown key; did you mean sources"):
        parse_config(_cfg(tmp_path, source="x"), tmp_path, "cfg.yaml")


def test_missing_sources_and_files(tmp_path):
    with pytest.raises(ConfigError, match="sources: list at least one"):
        parse_config({"name": "x"}, tmp_path, "c.yaml")
    with pytest.raises(ConfigError, match=r"sources\[0\].path: 'nowhere' does not exist"):
        parse_config({"sources": ["nowhere"]}, tmp_path, "c.yaml")
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_config(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: [a\n")
    with pytest.raises(ConfigError, match="cannot parse"):
        load_config(bad)


def test_cli_reports_an_unknown_editor_before_any_work(tmp_path, capsys):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps(_cfg(tmp_path, generate={"editor": "pixelsmilee"})))
    assert facebench_main(["data", "build", str(cfg), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "unknown editor 'pixelsmilee'; did you mean pixelsmile" in err
    assert not (tmp_path / "t").exists()


def test_identity_calibration_path_is_resolved_and_must_fit_the_recogniser(tmp_path):
    """A calibration given by path (relative to the config's folder) is checked up front: it must
    exist and calibrate the configured recogniser."""
    import numpy as np

    from facebench.face.calibration import fit_calibration

    rng = np.random.default_rng(0)
    same, diff = rng.normal(0.9, 0.03, 300).clip(-1, 0.999), rng.normal(0.3, 0.2, 3000).clip(-1, 1)
    fit_calibration(same, diff, recogniser="dlib").save(tmp_path / "cal" / "mine.json")
    cfg = parse_config(_cfg(tmp_path, filter={"identity_calibration": "cal/mine.json"}), tmp_path, "cfg.yaml")
    assert cfg.filter.identity_calibration == str((tmp_path / "cal" / "mine.json").resolve())
    assert parse_config(_cfg(tmp_path), tmp_path, "cfg.yaml").filter.identity_calibration == ""  # the shipped one
    fit_calibration(same, diff, recogniser="onnx:x.onnx").save(tmp_path / "cal" / "onnx.json")
    with pytest.raises(ConfigError, match=r"filter.identity_calibration: .*onnx.json: calibrates 'onnx:x.onnx', not 'dlib'"):
        parse_config(_cfg(tmp_path, filter={"identity_calibration": "cal/onnx.json"}), tmp_path, "cfg.yaml")
