"""Study definitions: what raters see and rate, read from a YAML or JSON file.

The protocol follows F-Bench (seed 002, sections 3.2-3.3 and appendix B): images are rated on
0-5 sliders with two decimals along a few *dimensions* -- Quality, Authenticity, ID Fidelity and
Correspondence, or custom ones -- each with a *stimulus mode*:

- ``single``: only the candidate image (Quality, Authenticity);
- ``double``: the candidate plus its reference (the ID reference for customization, the low-quality
  input for real-world restoration), shown only while that dimension's slider is being adjusted;
- ``multi``: the candidate plus the low-quality input (``reference``) and, where the item has one,
  the ground truth (synthetic restoration; items without a ground truth fall back to ``double``).

The text prompt is shown only for dimensions with ``show_prompt`` (by default only Correspondence).
Raters go through tutorial examples, then practice items, then rate their own group of images.

A study file (paths are relative to the file)::

    name: Restoration pilot
    seed: 7
    dimensions: [quality, {name: id_fidelity, stimulus: multi}]
    tutorial:
      - {image: tut/good.png, reference: tut/lq.png, scores: {quality: 4.6}, note: Sharp, clean.}
    practice:
      - {image: prac/1.png, reference: prac/1_lq.png, scores: {quality: 2.0, id_fidelity: 3.1}}
    groups:
      A: [{image: out/1.png, reference: lq/1.png, ground_truth: gt/1.png}, ...]
      B: images/b/            # a folder: every image in it (single-stimulus studies only)
    raters: 6                 # or [alice, bob] or [{name: alice, group: A}]

Instead of ``groups`` a study may list ``items`` and ``n_groups``: the items are shuffled with the
seed and dealt into that many groups, as F-Bench divides each subset at random into groups.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Annotated, Any, Literal

from PIL import Image
from pydantic import BeforeValidator

from ..base.configfile import FieldProblem, build_config, number
from ..base.errors import UserError
from ..base.imageio import list_images
from ..base.registry import Registry

#: Lowest and highest slider value (F-Bench: "a sliding window from 0 to 5 with a two-digit decimal").
SCORE_MIN = 0.0
SCORE_MAX = 5.0
#: Decimals kept for every score.
SCORE_DECIMALS = 2

Stimulus = Literal["single", "double", "multi"]
STIMULI: tuple[str, ...] = ("single", "double", "multi")

#: Built-in rating dimensions (F-Bench section 3.2); ``code`` lists the paper's task-dimension ids.
DIMENSIONS: Registry[dict[str, Any]] = Registry("study dimension")
DIMENSIONS.add(
    "quality",
    {},
    label="Quality",
    description=(
        "Overall perceptual quality of the image on its own: colour, sharpness, noise, blur and "
        "artefacts. Ignore any text or reference."
    ),
    stimulus="single",
    show_prompt=False,
    code="G-1, C-1, R-1",
)
DIMENSIONS.add(
    "authenticity",
    {},
    aliases=("realism",),
    label="Authenticity",
    description=(
        "How much the image looks like a real photograph of a real person: natural skin texture, "
        "facial details and wrinkles."
    ),
    stimulus="single",
    show_prompt=False,
    code="G-2",
)
DIMENSIONS.add(
    "id_fidelity",
    {},
    aliases=("fidelity", "identity", "id"),
    label="ID fidelity",
    description=(
        "How well the person's identity in the reference image is kept in the candidate image."
    ),
    stimulus="double",
    show_prompt=False,
    code="C-2, R-2",
)
DIMENSIONS.add(
    "correspondence",
    {},
    aliases=("alignment", "text_alignment"),
    label="Correspondence",
    description=(
        "How well the image matches its text prompt."
    ),
    stimulus="single",
    show_prompt=True,
    code="G-3, C-3",
)

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class StudyDefinitionError(UserError, ValueError):
    """A study file is invalid; the message names the file, the entry and what is wrong."""


@dataclass(frozen=True)
class Dimension:
    """One rating dimension: its slider label, the help text raters read and its stimulus mode."""

    name: str
    label: str
    description: str
    stimulus: Stimulus = "single"
    show_prompt: bool = False


@dataclass(frozen=True)
class ItemSpec:
    """One image to rate (or a tutorial / practice example) with its optional companions.

    ``reference`` is the ID reference (customization) or the low-quality input (restoration);
    ``ground_truth`` the high-quality original of a synthetic restoration case; ``scores`` are
    expert scores per dimension (shown in the tutorial and as practice feedback); ``note`` is the
    tutorial's explanation.
    """

    key: str
    image: Path
    reference: Path | None = None
    ground_truth: Path | None = None
    prompt: str | None = None
    scores: dict[str, float] = field(default_factory=dict)
    note: str | None = None


@dataclass(frozen=True)
class RaterSpec:
    """A rater to invite; ``group`` None means "assign to the group with the fewest raters"."""

    name: str
    group: str | None = None


@dataclass(frozen=True)
class StudyDefinition:
    """A whole study: dimensions, tutorial, practice, groups of items and raters to invite."""

    name: str
    dimensions: tuple[Dimension, ...]
    groups: dict[str, tuple[ItemSpec, ...]]
    tutorial: tuple[ItemSpec, ...] = ()
    practice: tuple[ItemSpec, ...] = ()
    raters: tuple[RaterSpec, ...] = ()
    seed: int = 0
    instructions: str = ""
    source: str = "<dict>"

    def dimension(self, name: str) -> Dimension:
        """The dimension called ``name`` (KeyError if the study has none)."""
        for d in self.dimensions:
            if d.name == name:
                return d
        raise KeyError(name)

    def to_json(self) -> str:
        """A JSON snapshot (stored in the database so the study is reproducible)."""

        def item(i: ItemSpec) -> dict[str, Any]:
            return {
                "key": i.key,
                "image": str(i.image),
                "reference": str(i.reference) if i.reference else None,
                "ground_truth": str(i.ground_truth) if i.ground_truth else None,
                "prompt": i.prompt,
                "scores": i.scores,
                "note": i.note,
            }

        return json.dumps(
            {
                "name": self.name,
                "seed": self.seed,
                "instructions": self.instructions,
                "dimensions": [d.__dict__ for d in self.dimensions],
                "tutorial": [item(i) for i in self.tutorial],
                "practice": [item(i) for i in self.practice],
                "groups": {g: [item(i) for i in items] for g, items in self.groups.items()},
                "raters": [r.__dict__ for r in self.raters],
            },
            indent=1,
        )


def _fail(src: str, where: str, problem: str) -> StudyDefinitionError:
    return StudyDefinitionError(f"{src}: {where}: {problem}")


def _dimension(raw: Any, at: str) -> Dimension:
    """One entry of ``dimensions``: a built-in name (or alias) or a mapping; a custom one needs a
    description. Raises :class:`FieldProblem` (the key is added by ``build_config``)."""
    if isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, dict) or "name" not in raw:
        raise FieldProblem("a dimension is a name or a mapping with 'name'", at)
    unknown = set(raw) - {"name", "label", "description", "stimulus", "show_prompt"}
    if unknown:
        raise FieldProblem(f"unknown keys {sorted(unknown)}", at)
    name = str(raw["name"]).strip().lower()
    if name in DIMENSIONS:
        entry = DIMENSIONS.entry(name)
        meta = dict(entry.meta)
        name = entry.name
    else:
        if not _NAME_RE.match(name):
            raise FieldProblem(f"dimension name {name!r} must be lower-case letters, digits, _", at)
        if "description" not in raw:
            builtin = ", ".join(DIMENSIONS.names())
            raise FieldProblem(
                f"custom dimension {name!r} needs a 'description' (built-in ones: {builtin})", at)
        meta = {"label": name.replace("_", " ").capitalize(), "stimulus": "single",
                "show_prompt": False}
    stimulus = str(raw.get("stimulus", meta["stimulus"])).lower()
    if stimulus not in STIMULI:
        raise FieldProblem(f"stimulus {stimulus!r} is not one of {', '.join(STIMULI)}", at)
    show_prompt = raw.get("show_prompt", meta["show_prompt"])
    if not isinstance(show_prompt, bool):  # strict: "no" would read as true
        raise FieldProblem(f"show_prompt {show_prompt!r} is not true or false", at)
    return Dimension(
        name=name,
        label=str(raw.get("label", meta["label"])),
        description=str(raw.get("description", meta.get("description", ""))),
        stimulus=stimulus,  # type: ignore[arg-type]
        show_prompt=show_prompt,
    )


def _dimensions(raw: Any) -> tuple[Dimension, ...]:
    if not isinstance(raw, list) or not raw:
        raise FieldProblem("list at least one dimension, e.g. [quality]")
    dims = tuple(_dimension(d, f"[{i}]") for i, d in enumerate(raw))
    if len({d.name for d in dims}) != len(dims):
        raise FieldProblem("a dimension is listed twice")
    return dims


#: A whole number; ``true`` or ``"7"`` is refused (see :func:`facebench.base.configfile.number`).
Seed = number(whole=True)


@dataclass(frozen=True)
class _StudyFile:
    """The top level of a study file as typed by :func:`build_config`; the items (whose paths and
    scores depend on the folder and the dimensions) and raters (on the groups) are checked by
    :func:`parse_study`."""

    dimensions: Annotated[tuple[Dimension, ...], BeforeValidator(_dimensions)]
    name: str | None = None
    seed: Seed = 0
    instructions: str | None = None
    tutorial: list[Any] | str | None = None
    practice: list[Any] | str | None = None
    groups: dict[Any, Any] | None = None
    items: list[Any] | str | None = None
    n_groups: Any = 1
    raters: Any = None


def _path(value: Any, base: Path, src: str, where: str) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise _fail(src, where, "expected a file path")
    p = Path(value).expanduser()
    try:
        p = (p if p.is_absolute() else base / p).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise _fail(src, where, f"image {value!r} cannot be resolved ({exc})") from None
    if not p.is_file():
        raise _fail(src, where, f"image {value!r} not found ({p})")
    try:  # header only: a raster image Pillow knows (never an SVG or HTML file served as one)
        with Image.open(p) as im:
            if im.width * im.height == 0:
                raise OSError("zero size")
    except (OSError, Image.DecompressionBombError) as exc:
        raise _fail(src, where, f"{value!r} is not a readable image ({exc})") from None
    return p


def _scores(raw: Any, dims: dict[str, Dimension], src: str, where: str) -> dict[str, float]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _fail(src, where, "'scores' must map dimension -> score")
    out: dict[str, float] = {}
    for k, v in raw.items():
        if k not in dims:
            raise _fail(src, where, f"score for unknown dimension {k!r} (study has {sorted(dims)})")
        try:
            out[k] = validate_score(v)
        except ValueError as exc:
            raise _fail(src, where, str(exc)) from None
    return out


def _item(raw: Any, base: Path, dims: dict[str, Dimension], src: str, where: str) -> ItemSpec:
    if isinstance(raw, str):
        raw = {"image": raw}
    if not isinstance(raw, dict) or "image" not in raw:
        raise _fail(src, where, "an item is a path or a mapping with 'image'")
    unknown = set(raw) - {"key", "image", "reference", "ground_truth", "prompt", "scores", "note"}
    if unknown:
        raise _fail(src, where, f"unknown keys {sorted(unknown)}")
    image = _path(raw["image"], base, src, f"{where}.image")
    ref = _path(raw["reference"], base, src, f"{where}.reference") if raw.get("reference") else None
    gt = (
        _path(raw["ground_truth"], base, src, f"{where}.ground_truth")
        if raw.get("ground_truth")
        else None
    )
    prompt = raw.get("prompt")
    if prompt is not None:
        prompt = str(prompt)
    for d in dims.values():
        if d.stimulus in ("double", "multi") and ref is None:
            raise _fail(src, where, f"dimension {d.name!r} is {d.stimulus}-stimulus: needs 'reference'")
        if d.show_prompt and not (prompt and prompt.strip()):
            raise _fail(src, where, f"dimension {d.name!r} shows the prompt: needs 'prompt'")
    key = str(raw.get("key") or _relkey(image, base))
    return ItemSpec(
        key=key,
        image=image,
        reference=ref,
        ground_truth=gt,
        prompt=prompt,
        scores=_scores(raw.get("scores"), dims, src, f"{where}.scores"),
        note=None if raw.get("note") is None else str(raw["note"]),
    )


def _relkey(image: Path, base: Path) -> str:
    try:
        return image.relative_to(base.resolve()).as_posix()
    except ValueError:
        return image.as_posix()


def _items(raw: Any, base: Path, dims: dict[str, Dimension], src: str, where: str) -> list[ItemSpec]:
    if isinstance(raw, str):  # a folder of images
        folder = (base / raw).resolve() if not Path(raw).is_absolute() else Path(raw)
        if not folder.is_dir():
            raise _fail(src, where, f"folder {raw!r} not found ({folder})")
        raw = [str(p) for p in list_images([folder])]
        if not raw:
            raise _fail(src, where, f"folder {raw!r} holds no images")
    if not isinstance(raw, list):
        raise _fail(src, where, "expected a list of items or a folder")
    return [_item(r, base, dims, src, f"{where}[{i}]") for i, r in enumerate(raw)]


def _raters(raw: Any, groups: list[str], src: str) -> tuple[RaterSpec, ...]:
    if raw is None:
        return ()
    if isinstance(raw, int) and not isinstance(raw, bool):
        if raw < 0:
            raise _fail(src, "raters", "must be a count >= 0 or a list")
        return tuple(RaterSpec(f"rater{i + 1:03d}") for i in range(raw))
    if not isinstance(raw, list):
        raise _fail(src, "raters", "must be a count or a list of names / {name, group}")
    out: list[RaterSpec] = []
    for i, r in enumerate(raw):
        spec = RaterSpec(str(r)) if not isinstance(r, dict) else RaterSpec(
            str(r.get("name", "")), None if r.get("group") is None else str(r["group"])
        )
        if not spec.name.strip():
            raise _fail(src, f"raters[{i}]", "needs a name")
        if spec.group is not None and spec.group not in groups:
            raise _fail(src, f"raters[{i}]", f"group {spec.group!r} is not one of {groups}")
        out.append(spec)
    names = [r.name for r in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise _fail(src, "raters", f"duplicate names {dup}")
    return tuple(out)


def validate_score(value: Any) -> float:
    """Parse one slider value: a finite number in [0, 5], rounded to two decimals.

    Raises ValueError with a one-line message for anything else (text, NaN, 7, -1...).
    """
    if isinstance(value, bool):
        raise ValueError(f"score {value!r} is not a number")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"score {value!r} is not a number") from None
    if v != v or v in (float("inf"), float("-inf")):
        raise ValueError(f"score {value!r} is not a finite number")
    if not SCORE_MIN <= v <= SCORE_MAX:
        raise ValueError(f"score {v:g} is outside [{SCORE_MIN:g}, {SCORE_MAX:g}]")
    return round(v, SCORE_DECIMALS)


def parse_study(data: dict[str, Any], base: Path, source: str = "<dict>") -> StudyDefinition:
    """Validate a study mapping (as read from YAML/JSON) whose relative paths start at ``base``."""
    src = source
    if not isinstance(data, dict):
        raise _fail(src, "top level", "expected a mapping")
    unknown = set(data) - {f.name for f in fields(_StudyFile)}
    if unknown:
        raise _fail(src, "top level", f"unknown keys {sorted(unknown)}")
    top = build_config(_StudyFile, {"dimensions": None, **data}, source=src, error=StudyDefinitionError)
    name = top.name or Path(source).stem
    seed = top.seed
    by_name = {d.name: d for d in top.dimensions}
    if "groups" in data and "items" in data:
        raise _fail(src, "top level", "give either 'groups' or 'items' (+ 'n_groups'), not both")
    groups: dict[str, list[ItemSpec]] = {}
    if top.groups is not None:
        if not top.groups:
            raise _fail(src, "groups", "expected a mapping group name -> items")
        for g, raw in top.groups.items():
            groups[str(g)] = _items(raw, base, by_name, src, f"groups.{g}")
            if not groups[str(g)]:
                raise _fail(src, f"groups.{g}", "group is empty")
    elif top.items is not None:
        items = _items(top.items, base, by_name, src, "items")
        n = top.n_groups
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= max(1, len(items)):
            raise _fail(src, "n_groups", f"{n!r} must be an integer between 1 and the item count")
        order = list(range(len(items)))
        random.Random(f"groups:{seed}").shuffle(order)
        width = len(str(n))
        for k in range(n):
            groups[f"G{k + 1:0{width}d}"] = [items[i] for i in order[k::n]]
    else:
        raise _fail(src, "top level", "needs 'groups' or 'items'")
    tutorial = _items(top.tutorial or [], base, by_name, src, "tutorial")
    practice = _items(top.practice or [], base, by_name, src, "practice")
    keys = [i.key for part in ([tutorial, practice] + list(groups.values())) for i in part]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise _fail(src, "items", f"duplicate item keys {dup[:5]} (give each item a unique 'key')")
    return StudyDefinition(
        name=name,
        dimensions=top.dimensions,
        groups={g: tuple(v) for g, v in groups.items()},
        tutorial=tuple(tutorial),
        practice=tuple(practice),
        raters=_raters(top.raters, list(groups), src),
        seed=seed,
        instructions=top.instructions or "",
        source=source,
    )


def load_study(path: str | Path) -> StudyDefinition:
    """Read and validate a study file (``.yaml``/``.yml`` or ``.json``).

    Raises :class:`StudyDefinitionError` (one line naming the file, the entry and the problem).
    """
    from ..base.configfile import read_config_file

    p = Path(path)
    data = read_config_file(p, StudyDefinitionError, "study file")
    return parse_study(data, p.parent, str(p))


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (stored per image so a changed file is noticed when serving)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
