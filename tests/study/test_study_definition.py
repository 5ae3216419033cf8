"""Study files: validation with one-line errors, stimulus rules, group splitting, score parsing."""

from __future__ import annotations

import json

import pytest

from facebench.study.definition import (
    DIMENSIONS,
    StudyDefinitionError,
    load_study,
    parse_study,
    validate_score,
)
from study_helpers import NAMES, study_data, write_study


def test_study_file_loads_with_builtin_dimensions(images):
    study = load_study(write_study(images, study_data()))
    assert [d.name for d in study.dimensions] == ["quality", "id_fidelity", "correspondence"]
    assert [d.stimulus for d in study.dimensions] == ["single", "double", "single"]
    assert [d.show_prompt for d in study.dimensions] == [False, False, True]
    assert list(study.groups) == ["A", "B"] and len(study.groups["A"]) == 3
    assert study.tutorial[0].scores == {"quality": 1.5, "id_fidelity": 4.5, "correspondence": 4.0}
    assert study.groups["A"][0].image == (images / "feat_anger_out.jpg").resolve()
    assert [r.group for r in study.raters] == ["A", "A", "B"]


def test_json_study_file_is_equivalent(images):
    data = study_data()
    y = load_study(write_study(images, data))
    j_path = images / "study.json"
    j_path.write_text(json.dumps(data))
    j = load_study(j_path)
    assert j.dimensions == y.dimensions and j.groups == y.groups and j.practice == y.practice


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["groups"]["A"][0].pop("reference"), "needs 'reference'"),
        (lambda d: d["groups"]["B"][1].pop("prompt"), "needs 'prompt'"),
        (lambda d: d["dimensions"].append("sharpness"), "needs a 'description'"),
        (lambda d: d["dimensions"].append({"name": "quality"}), "listed twice"),
        (lambda d: d["dimensions"].append({"name": "x", "description": "y", "stimulus": "triple"}),
         "stimulus 'triple'"),
        (lambda d: d["groups"]["A"][0].update(image="missing.png"), "not found"),
        (lambda d: d["groups"]["A"][1].update(key="feat_anger"), "duplicate item keys"),
        (lambda d: d.update(colour="red"), "unknown keys ['colour']"),
        (lambda d: d["practice"][0]["scores"].update(quality=7), "outside [0, 5]"),
        (lambda d: d["practice"][0]["scores"].update(beauty=3), "unknown dimension 'beauty'"),
        (lambda d: d["raters"].append({"name": "dave", "group": "Z"}), "group 'Z'"),
        (lambda d: d.update(raters=["x", "x"]), "duplicate names"),
        (lambda d: d.update(dimensions=[]), "at least one dimension"),
        # strict types: YAML's true and "no" are user errors, not seed 1 or a true flag
        (lambda d: d.update(seed=True), "bad.yaml: seed: True is not an integer"),
        (lambda d: d["dimensions"].append({"name": "x", "description": "y", "show_prompt": "no"}),
         "dimensions[3]: show_prompt 'no' is not true or false"),
        (lambda d: d.update(instructions=["read"]), "bad.yaml: instructions = ['read']: "),
        (lambda d: d.pop("dimensions"), "bad.yaml: dimensions: list at least one dimension"),
    ],
)
def test_invalid_study_files_name_the_problem(images, change, message):
    data = study_data()
    change(data)
    with pytest.raises(StudyDefinitionError) as err:
        load_study(write_study(images, data, "bad.yaml"))
    text = str(err.value)
    assert message in text and "bad.yaml" in text and "\n" not in text


def test_unparsable_file_is_one_line(images):
    p = images / "broken.yaml"
    p.write_text("name: [unclosed\n")
    with pytest.raises(StudyDefinitionError, match=r"broken.yaml: cannot parse"):
        load_study(p)


def test_custom_dimension_and_multi_stimulus(images):
    data = {
        "dimensions": [{"name": "fidelity", "stimulus": "multi"},
                       {"name": "skin_texture", "label": "Skin", "description": "Pores visible?"}],
        "groups": {"R": [{"image": f"{n}_out.jpg", "reference": f"{n}_ref.png",
                          "ground_truth": f"{n}_ref.png"} for n in NAMES[:2]]},
    }
    study = parse_study(data, images, "restoration.yaml")
    fid, skin = study.dimensions
    assert fid.name == "id_fidelity" and fid.stimulus == "multi"  # alias of the built-in
    assert (skin.label, skin.stimulus, skin.show_prompt) == ("Skin", "single", False)
    assert study.groups["R"][0].ground_truth is not None
    assert "id_fidelity" in DIMENSIONS and DIMENSIONS.meta("quality")["code"] == "G-1, C-1, R-1"


def test_items_are_dealt_into_groups_with_the_seed(images):
    data = {"dimensions": ["quality"], "items": [f"{n}_out.jpg" for n in NAMES], "n_groups": 2,
            "seed": 5}
    a = parse_study(data, images)
    b = parse_study(data, images)
    assert list(a.groups) == ["G1", "G2"]
    assert sorted(len(v) for v in a.groups.values()) == [2, 3]
    keys = lambda s: {g: [i.key for i in v] for g, v in s.groups.items()}  # noqa: E731
    assert keys(a) == keys(b)
    assert sorted(k for v in keys(a).values() for k in v) == sorted(f"{n}_out.jpg" for n in NAMES)
    splits = {str(keys(parse_study({**data, "seed": s}, images))) for s in range(6)}
    assert len(splits) > 1  # the seed matters


def test_folder_group(images):
    study = parse_study({"dimensions": ["quality"], "groups": {"all": "."}}, images)
    assert len(study.groups["all"]) == 2 * len(NAMES)


@pytest.mark.parametrize("raw, expected", [(0, 0.0), ("5", 5.0), ("3.14159", 3.14), ("0.01", 0.01)])
def test_validate_score_accepts_and_rounds(raw, expected):
    assert validate_score(raw) == pytest.approx(expected)


@pytest.mark.parametrize("raw", [7, -0.01, 5.001, "nan", "inf", "abc", None, True, ""])
def test_validate_score_refuses(raw):
    with pytest.raises(ValueError, match="score"):
        validate_score(raw)


def test_a_file_that_is_not_an_image_is_refused(images):
    (images / "page.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>')
    data = study_data()
    data["groups"]["B"][0]["image"] = "page.svg"
    with pytest.raises(StudyDefinitionError, match=r"groups.B\[0\].image: 'page.svg' is not a readable image"):
        load_study(write_study(images, data, "svg.yaml"))
