"""Configuration files: parse errors and typed dataclass building name the file, key and value."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from facebench.base.configfile import StrictBool, build_config, number, one_of, read_config_file


class BadConfig(ValueError):
    pass


@dataclass
class Section:
    workers: int = 1
    alphas: list[float] = field(default_factory=lambda: [0.5, 1.0])
    name: str | None = None

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise BadConfig(f"workers = {self.workers} must be at least 1")


def test_build_config_checks_types_leniently() -> None:
    s = build_config(Section, {"workers": "3", "alphas": [0, 1]}, source="f.yaml", error=BadConfig)
    assert s == Section(3, [0.0, 1.0]) and isinstance(s.alphas[0], float)


@pytest.mark.parametrize("data, message", [
    ({"workers": "many"}, "f.yaml: workers = 'many': Input should be a valid integer"),
    ({"alphas": "0.5"}, "f.yaml: alphas = '0.5': Input should be a valid list"),
    ({"alphas": [0.5, "x"]}, "f.yaml: alphas.1 = 'x': Input should be a valid number"),
    ({"worker": 2}, "f.yaml: worker: unknown key; did you mean workers?"),
    ({"workers": 0}, "workers = 0 must be at least 1"),
])
def test_build_config_errors_are_one_line(data, message) -> None:
    with pytest.raises(BadConfig) as err:
        build_config(Section, data, source="f.yaml", error=BadConfig)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_read_config_file_errors(tmp_path) -> None:
    with pytest.raises(BadConfig, match="nope.yaml: study file not found"):
        read_config_file(tmp_path / "nope.yaml", BadConfig, "study file")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(BadConfig, match=r"bad.json: cannot parse \(Expecting"):
        read_config_file(bad, BadConfig)
    good = tmp_path / "good.yaml"
    good.write_text("a: [1, 2]\n")
    assert read_config_file(good, BadConfig) == {"a": [1, 2]}


@dataclass
class StrictSection:
    ratio: number(0.0, 1.0) = 0.5  # type: ignore[valid-type]
    count: number(1, whole=True) = 1  # type: ignore[valid-type]
    flag: StrictBool = False
    mode: one_of("a", "b") = "a"  # type: ignore[valid-type]


@pytest.mark.parametrize("data, message", [
    ({"ratio": True}, "f.yaml: ratio: True is not a number"),  # lax float would read 1.0
    ({"ratio": "0.5"}, "f.yaml: ratio: '0.5' is not a number"),
    ({"ratio": 2}, "f.yaml: ratio: 2 is outside [0.0, 1.0]"),
    ({"count": 2.5}, "f.yaml: count: 2.5 is not an integer"),
    ({"count": True}, "f.yaml: count: True is not an integer"),
    ({"flag": "yes"}, "f.yaml: flag = 'yes': Input should be a valid boolean"),  # lax bool would read True
    ({"flag": 1}, "f.yaml: flag = 1: Input should be a valid boolean"),
    ({"mode": "c"}, "f.yaml: mode: 'c' is not 'a' or 'b'"),
])
def test_strict_types_refuse_bool_number_confusion(data, message) -> None:
    with pytest.raises(BadConfig) as err:
        build_config(StrictSection, data, source="f.yaml", error=BadConfig)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_strict_types_accept_their_values() -> None:
    s = build_config(StrictSection, {"ratio": 1, "count": 3.0, "flag": True, "mode": "b"}, source="f", error=BadConfig)
    assert s == StrictSection(1.0, 3, True, "b") and isinstance(s.ratio, float) and isinstance(s.count, int)


@dataclass
class Outer:
    inner: Section = field(default_factory=Section)


def test_unknown_keys_inside_sections_are_named_with_the_section() -> None:
    with pytest.raises(BadConfig, match=r"^f.yaml: inner.worker: unknown key; did you mean workers\?"):
        build_config(Outer, {"inner": {"worker": 2}}, source="f.yaml", error=BadConfig)
    assert build_config(Outer, {"inner": {"workers": 2}}, source="f.yaml", error=BadConfig).inner.workers == 2
