"""The build configuration of ``facebench data build`` (YAML or JSON), validated with clear errors.

A minimal file (relative paths start at the file's folder)::

    name: my-faces
    sources:
      - {path: portraits/, domain: auto}      # human | anime | auto
    compose: {expressions: [happy, fear, surprised]}
    generate: {editor: offline, intensities: [0.5, 1.0]}
    annotate: {judges: [offline]}

Every section and its defaults are the dataclasses below (:class:`CollectConfig`, ...), read by
:func:`facebench.base.configfile.build_config`: their field types (strict numbers with ranges,
choices, JSON options, and validators for expressions, intensity grids and registered component
names) say what each key takes. An unknown key, a wrong type, an unknown expression and an unknown
editor, judge or recogniser name raise :class:`ConfigError` with one line
``<file>: <section.key>: <problem>`` (with "did you mean" suggestions from the registries).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Mapping

from pydantic import BeforeValidator, ValidationInfo

from ..base.configfile import (FieldProblem, JsonOptions, build_config, check_number, check_options, number,
                               one_of)
from ..base.errors import UserError
from ..expressions import CONFUSING_PAIRS, EXPRESSIONS, normalize_expression

DOMAINS: tuple[str, ...] = ("human", "anime", "auto")


class ConfigError(UserError, ValueError):
    """An invalid build configuration; ``str(err)`` is one line naming the file, key and problem."""


def _expression(value: Any, at: str = "") -> str:
    try:
        return normalize_expression(str(value))
    except ValueError as exc:
        raise FieldProblem(str(exc), at) from None


def _check_component(kind: str, name: Any, at: str = "") -> str:
    """The canonical registered name of a ``kind`` (editor, judge, recogniser), with the registry's
    suggestions when it is unknown."""
    from ..base.registry import UnknownNameError
    from ..bench.components import registry

    if not isinstance(name, str) or not name.strip():
        raise FieldProblem(f"expected the name of a registered {kind}", at)
    try:
        return registry(kind).entry(name).name
    except UnknownNameError as exc:
        raise FieldProblem(str(exc), at) from None


def _component(kind: str) -> Any:
    """A field type holding a registered ``kind``'s canonical name."""
    return Annotated[str, BeforeValidator(functools.partial(_check_component, kind))]


def _named_list(value: Any, key: str, allowed: tuple[str, ...], what: str) -> list[dict[str, Any]]:
    """A list whose entries are ``key`` strings or mappings with ``key`` (only ``allowed`` keys)."""
    items = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for i, entry in enumerate(items):
        entry = {key: entry} if isinstance(entry, str) else entry
        if not isinstance(entry, Mapping) or key not in entry:
            raise FieldProblem(f"{what} is a {key} or a mapping with {key!r}", f"[{i}]")
        for k in entry:
            if k not in allowed:
                raise FieldProblem(f"unknown key; known: {', '.join(allowed)}", f"[{i}].{k}")
        out.append(dict(entry))
    return out


def _expressions(value: Any) -> tuple[str, ...]:
    if value in ("all", "basic"):
        return EXPRESSIONS if value == "all" else EXPRESSIONS[:6]
    if not isinstance(value, (list, tuple)) or not value:
        raise FieldProblem("expected a list of expressions, 'all' or 'basic'")
    return tuple(dict.fromkeys(_expression(x, f"[{i}]") for i, x in enumerate(value)))


def _intensities(value: Any) -> tuple[float, ...]:
    if not isinstance(value, (list, tuple)) or not value:
        raise FieldProblem("expected a list of intensities, e.g. [0.5, 1.0]")
    vals = tuple(sorted({round(check_number(x, 0.0, 3.0, at=f"[{i}]"), 10) for i, x in enumerate(value)}))
    if len(vals) < 2 and vals != (1.0,):
        raise FieldProblem("give at least two intensities (or just [1.0])")
    return vals


def _pairs(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, (list, tuple)):
        raise FieldProblem("expected a list of [expression, expression] pairs")
    out = []
    for i, p in enumerate(value):
        if not isinstance(p, (list, tuple)) or len(p) != 2:
            raise FieldProblem(f"{p!r} is not a pair [expression, expression]", f"[{i}]")
        a, b = _expression(p[0], f"[{i}]"), _expression(p[1], f"[{i}]")
        if a == b:
            raise FieldProblem("a pair needs two different expressions", f"[{i}]")
        out.append((a, b))
    return tuple(out)


def _judges(value: Any) -> tuple[JudgeSpec, ...]:
    entries = _named_list(value, "name", ("name", "options"), "a judge")
    if not entries:
        raise FieldProblem("name at least one judge")
    return tuple(JudgeSpec(_check_component("judge", j["name"], f"[{i}].name"),
                           check_options(j.get("options"), f"[{i}].options")) for i, j in enumerate(entries))


def _executor(value: Any) -> str:
    from ..bench.executors import EXECUTORS

    if value not in EXECUTORS:
        raise FieldProblem(f"{value!r} is not one of {', '.join(EXECUTORS)}")
    return str(value)


def _auto_or(check: Any) -> Any:
    return lambda v: "auto" if v == "auto" else check(v)


def _band(value: Any) -> tuple[float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise FieldProblem("expected 'auto' or [low, high]")
    lo, hi = (check_number(x, -1.0, 1.0) for x in value)
    if lo > hi:
        raise FieldProblem(f"low {lo} is above high {hi}")
    return (lo, hi)


def _calibration_path(value: Any) -> str:
    if not isinstance(value, str):
        raise FieldProblem("expected the path of an identity calibration JSON")
    return value


def _sources(value: Any, info: ValidationInfo) -> tuple[SourceSpec, ...]:
    """Each source's path resolved against the config's folder (``info.context["base"]``); it must exist."""
    if isinstance(value, (str, Mapping)):
        value = [value]
    if not isinstance(value, list) or not value:
        raise FieldProblem("list at least one folder or file of portraits")
    base = Path((info.context or {}).get("base", "."))
    out = []
    for i, s in enumerate(_named_list(value, "path", ("path", "domain"), "a source")):
        p = Path(str(s["path"])).expanduser()
        p = p if p.is_absolute() else (base / p)
        if not p.exists():
            raise FieldProblem(f"{s['path']!r} does not exist ({p})", f"[{i}].path")
        dom = str(s.get("domain", "auto")).lower()
        if dom not in DOMAINS:
            raise FieldProblem(f"{dom!r} is not one of {', '.join(DOMAINS)}", f"[{i}].domain")
        out.append(SourceSpec(p.resolve(), dom))
    return tuple(out)


#: Field types (strict numbers: ``true`` or ``"3"`` is refused, see :func:`facebench.base.configfile.number`).
Count = number(0, whole=True)
AtLeastOne = number(1, whole=True)
Seed = number(whole=True)
NonNegative = number(0.0)
CosineFloor = number(-1.0)
Fraction = number(0.0, 1.0)
Expressions = Annotated[tuple[str, ...], BeforeValidator(_expressions)]
Intensities = Annotated[tuple[float, ...], BeforeValidator(_intensities)]
Pairs = Annotated[tuple[tuple[str, str], ...], BeforeValidator(_pairs)]
Judges = Annotated[tuple[Any, ...], BeforeValidator(_judges)]
Executor = Annotated[str, BeforeValidator(_executor)]
CosineOrAuto = Annotated[Any, BeforeValidator(_auto_or(lambda v: check_number(v, -1.0, 1.0)))]
BandOrAuto = Annotated[Any, BeforeValidator(_auto_or(_band))]
CalibrationPath = Annotated[str, BeforeValidator(_calibration_path)]
Sources = Annotated[tuple[Any, ...], BeforeValidator(_sources)]
Pairing = one_of("all", "same_alpha")
Editor = _component("editor")
Recogniser = _component("recogniser")
OptionalOptions = Annotated[Any, BeforeValidator(lambda v: None if v is None else check_options(v))]


@dataclass(frozen=True)
class SourceSpec:
    """A folder or file of portraits and the domain of its images (``auto``: detect)."""

    path: Path
    domain: str = "auto"


@dataclass(frozen=True)
class CollectConfig:
    """Face detection and quality filters (collect stage).

    ``min_face_px``: shorter side of the face box; ``min_sharpness``: variance of the Laplacian of
    the face box resized to 128x128 (:func:`facebench.metrics.diversity.sharpness`); ``max_yaw`` /
    ``max_pitch`` / ``max_roll``: head pose from the mesh, degrees; ``dominant_ratio``: the largest
    face must be this many times the area of the second; ``max_occlusion``: occlusion proxy
    (:func:`facebench.data.quality.occlusion`); ``phash_distance``: near-duplicate when the 64-bit
    perceptual hashes differ in at most this many bits; ``identity_duplicate``: near-duplicate when
    the identity cosine reaches this (``"auto"``: the lowest similarity of a photo to its own
    flipped / re-lit copies, see :mod:`facebench.data.identity`); ``max_side``: larger sources are
    downscaled; ``min_anime_likelihood``: AnimeFace detector score.
    """

    min_face_px: NonNegative = 64.0
    min_sharpness: NonNegative = 15.0
    max_yaw: NonNegative = 30.0
    max_pitch: NonNegative = 25.0
    max_roll: NonNegative = 25.0
    dominant_ratio: NonNegative = 2.0
    max_occlusion: NonNegative = 0.35
    phash_distance: Count = 6
    identity_duplicate: CosineOrAuto = "auto"
    max_side: Count = 1024
    min_anime_likelihood: NonNegative = 0.5


@dataclass(frozen=True)
class ComposeConfig:
    """Prompt library (compose stage): expressions, how many prompts per expression, optional VLM check
    (``vlm: {base_url, model}``)."""

    expressions: Expressions = EXPRESSIONS
    max_prompts_per_expression: Count = 8
    vlm: OptionalOptions = None


@dataclass(frozen=True)
class GenerateConfig:
    """Editing (generate stage): a registered editor, its options, the intensity grid, where it runs."""

    editor: Editor = "offline"
    options: JsonOptions = field(default_factory=dict)
    intensities: Intensities = (0.5, 1.0)
    executor: Executor = "serial"
    workers: AtLeastOne = 1


@dataclass(frozen=True)
class JudgeSpec:
    """A registered judge and its options."""

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AnnotateConfig:
    """Scoring (annotate stage): judges (every one's scores are kept) and the spot-check study."""

    judges: Judges = (JudgeSpec("offline"),)
    spot_check: Count = 12
    spot_check_raters: Count = 3


@dataclass(frozen=True)
class FilterConfig:
    """Consistency rules (filter stage), see :mod:`facebench.data.filtering`.

    ``identity_band``: ``"auto"`` or ``[low, high]``; ``identity_calibration``: path of an identity
    calibration JSON (``facebench identity calibrate``; empty: the one shipped for the recogniser,
    dlib's). With a calibration the band and ``identity_max`` are calibrated identity scores
    (:mod:`facebench.face.calibration`) and ``"auto"`` is ``[0.5, identity_max]`` (below 0.5:
    "identity lost"); without one (a recogniser with no calibration) they are raw cosines and
    ``"auto"`` is calibrated on the collection itself (:mod:`facebench.data.identity`).
    ``pair_margin``: the target must beat its confusing partner by this much;
    ``min_target_score``: lowest accepted score of the target; ``pairs``: the confusing pairs.
    """

    recogniser: Recogniser = "dlib"
    recogniser_options: JsonOptions = field(default_factory=dict)
    identity_calibration: CalibrationPath = ""
    identity_band: BandOrAuto = "auto"
    identity_max: CosineFloor = 1.0
    pair_margin: NonNegative = 0.05
    min_target_score: NonNegative = 0.0
    pairs: Pairs = CONFUSING_PAIRS


@dataclass(frozen=True)
class ExportConfig:
    """Splits and exported files: ``test_fraction`` of identity groups go to the test split;
    ``pairing``: ``all`` (every kept a x kept b of one source) or ``same_alpha``."""

    test_fraction: Fraction = 0.25
    pairing: Pairing = "all"


@dataclass(frozen=True)
class DataConfig:
    """A whole build configuration."""

    name: str
    sources: Sources
    seed: Seed = 0
    collect: CollectConfig = CollectConfig()
    compose: ComposeConfig = ComposeConfig()
    generate: GenerateConfig = GenerateConfig()
    annotate: AnnotateConfig = AnnotateConfig()
    filter: FilterConfig = FilterConfig()
    export: ExportConfig = ExportConfig()
    source: str = "<dict>"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready snapshot (stored in the dataset; secrets such as ``api_key`` masked)."""
        def conv(v: Any) -> Any:
            if dataclasses.is_dataclass(v):
                return {f.name: conv(getattr(v, f.name)) for f in dataclasses.fields(v) if f.name != "source"}
            if isinstance(v, Mapping):
                return {str(k): ("***" if "key" in str(k).lower() and "env" not in str(k).lower() else conv(x))
                        for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [conv(x) for x in v]
            if isinstance(v, Path):
                return str(v)
            return v
        return conv(self)


def parse_config(data: Any, base: Path, source: str = "<dict>") -> DataConfig:
    """Validate a configuration mapping whose relative paths start at ``base``."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    if "source" in data:
        raise ConfigError(f"{source}: source: unknown key; did you mean sources?")
    raw = {k: v for k, v in data.items() if v is not None or k == "sources"}  # an empty section: defaults
    raw.update(name=str(data.get("name") or Path(source).stem or "dataset"), sources=data.get("sources"),
               source=source)
    cfg = build_config(DataConfig, raw, source=source, error=ConfigError, context={"base": base})
    return dataclasses.replace(cfg, filter=_resolve_calibration(cfg.filter, base, source))


def _resolve_calibration(f: FilterConfig, base: Path, src: str) -> FilterConfig:
    """``filter.identity_calibration`` as an absolute path that exists and fits the recogniser."""
    if not f.identity_calibration:
        return f
    from ..face.calibration import load_calibration

    p = Path(f.identity_calibration).expanduser()
    p = (p if p.is_absolute() else base / p).resolve()
    try:
        load_calibration(f.recogniser, p)
    except ValueError as exc:
        raise ConfigError(f"{src}: filter.identity_calibration: {exc}") from None
    return dataclasses.replace(f, identity_calibration=str(p))


def load_config(path: str | Path) -> DataConfig:
    """Read and validate a ``.yaml``/``.yml``/``.json`` configuration (:class:`ConfigError` if invalid)."""
    from ..base.configfile import read_config_file

    p = Path(path)
    data = read_config_file(p, ConfigError, "configuration file")
    return parse_config(data, p.parent.resolve(), str(p))
