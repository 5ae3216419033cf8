"""The build configuration of ``facebench data build`` (YAML or JSON), validated with clear errors.

A minimal file (relative paths start at the file's folder)::

    name: my-faces
    sources:
      - {path: portraits/, domain: auto}      # human | anime | auto
    compose: {expressions: [happy, fear, surprised]}
    generate: {editor: offline, intensities: [0.5, 1.0]}
    annotate: {judges: [offline]}

Every section and its defaults are the dataclasses below (:class:`CollectConfig`, ...). An unknown
key, a wrong type, an unknown expression and an unknown editor, judge or recogniser name raise
:class:`ConfigError` with one line ``<file>: <section.key>: <problem>`` (with "did you mean"
suggestions from the registries).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..expressions import CONFUSING_PAIRS, EXPRESSIONS, normalize_expression
from ..base.errors import UserError

DOMAINS: tuple[str, ...] = ("human", "anime", "auto")


class ConfigError(UserError, ValueError):
    """An invalid build configuration; ``str(err)`` is one line naming the file, key and problem."""


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

    min_face_px: float = 64.0
    min_sharpness: float = 15.0
    max_yaw: float = 30.0
    max_pitch: float = 25.0
    max_roll: float = 25.0
    dominant_ratio: float = 2.0
    max_occlusion: float = 0.35
    phash_distance: int = 6
    identity_duplicate: Any = "auto"
    max_side: int = 1024
    min_anime_likelihood: float = 0.5


@dataclass(frozen=True)
class ComposeConfig:
    """Prompt library (compose stage): expressions, how many prompts per expression, optional VLM check
    (``vlm: {base_url, model}``)."""

    expressions: tuple[str, ...] = EXPRESSIONS
    max_prompts_per_expression: int = 8
    vlm: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class GenerateConfig:
    """Editing (generate stage): a registered editor, its options, the intensity grid, where it runs."""

    editor: str = "offline"
    options: Mapping[str, Any] = field(default_factory=dict)
    intensities: tuple[float, ...] = (0.5, 1.0)
    executor: str = "serial"
    workers: int = 1


@dataclass(frozen=True)
class JudgeSpec:
    """A registered judge and its options."""

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AnnotateConfig:
    """Scoring (annotate stage): judges (every one's scores are kept) and the spot-check study."""

    judges: tuple[JudgeSpec, ...] = (JudgeSpec("offline"),)
    spot_check: int = 12
    spot_check_raters: int = 3


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

    recogniser: str = "dlib"
    recogniser_options: Mapping[str, Any] = field(default_factory=dict)
    identity_calibration: str = ""
    identity_band: Any = "auto"
    identity_max: float = 1.0
    pair_margin: float = 0.05
    min_target_score: float = 0.0
    pairs: tuple[tuple[str, str], ...] = CONFUSING_PAIRS


@dataclass(frozen=True)
class ExportConfig:
    """Splits and exported files: ``test_fraction`` of identity groups go to the test split;
    ``pairing``: ``all`` (every kept a x kept b of one source) or ``same_alpha``."""

    test_fraction: float = 0.25
    pairing: str = "all"


@dataclass(frozen=True)
class DataConfig:
    """A whole build configuration."""

    name: str
    sources: tuple[SourceSpec, ...]
    seed: int = 0
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


_SECTIONS = {"collect": CollectConfig, "compose": ComposeConfig, "generate": GenerateConfig,
             "annotate": AnnotateConfig, "filter": FilterConfig, "export": ExportConfig}
_TOP = ("name", "seed", "sources") + tuple(_SECTIONS)


def _unknown(src: str, where: str, keys: Any, known: tuple[str, ...]) -> None:
    for k in keys:
        if k not in known:
            close = difflib.get_close_matches(str(k), known, n=2)
            hint = f"; did you mean {' or '.join(close)}?" if close else f" (known: {', '.join(known)})"
            raise ConfigError(f"{src}: {where}{k}: unknown key{hint}")


def _number(v: Any, src: str, where: str, *, lo: float | None = None, hi: float | None = None,
            integer: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
        raise ConfigError(f"{src}: {where}: {v!r} is not a {'whole ' if integer else ''}number")
    if integer and float(v) != int(v):
        raise ConfigError(f"{src}: {where}: {v!r} is not a whole number")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f"[{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"
        raise ConfigError(f"{src}: {where}: {v!r} is outside {rng}")
    return int(v) if integer else float(v)


def _expr(v: Any, src: str, where: str) -> str:
    try:
        return normalize_expression(str(v))
    except ValueError as exc:
        raise ConfigError(f"{src}: {where}: {exc}") from None


def _check_component(kind: str, name: Any, src: str, where: str) -> str:
    """The canonical registered name, or :class:`ConfigError` with the registry's suggestions."""
    from ..bench.components import registry
    from ..base.registry import UnknownNameError

    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{src}: {where}: expected the name of a registered {kind}")
    try:
        return registry(kind).entry(name).name
    except UnknownNameError as exc:
        raise ConfigError(f"{src}: {where}: {exc}") from None


def _options(v: Any, src: str, where: str) -> dict[str, Any]:
    if v is None:
        return {}
    if not isinstance(v, Mapping):
        raise ConfigError(f"{src}: {where}: expected a mapping of option -> value")
    try:
        json.dumps(dict(v))
    except TypeError as exc:
        raise ConfigError(f"{src}: {where}: options must be JSON values ({exc})") from None
    return dict(v)


def _section(cls: type, raw: Any, src: str, name: str) -> Any:
    if raw is None:
        return cls()
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{src}: {name}: expected a mapping")
    known = tuple(f.name for f in dataclasses.fields(cls))
    _unknown(src, f"{name}.", raw, known)
    defaults = cls()
    vals: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in raw:
            continue
        v, w = raw[f.name], f"{name}.{f.name}"
        default = getattr(defaults, f.name)
        vals[f.name] = _value(cls, f.name, v, default, src, w)
    return cls(**vals)


def _value(cls: type, key: str, v: Any, default: Any, src: str, w: str) -> Any:  # noqa: C901 - one switch
    if key in ("options", "recogniser_options", "vlm"):
        return _options(v, src, w) if not (key == "vlm" and v is None) else None
    if key == "expressions":
        if v in ("all", "basic"):
            return EXPRESSIONS if v == "all" else EXPRESSIONS[:6]
        if not isinstance(v, (list, tuple)) or not v:
            raise ConfigError(f"{src}: {w}: expected a list of expressions, 'all' or 'basic'")
        return tuple(dict.fromkeys(_expr(x, src, f"{w}[{i}]") for i, x in enumerate(v)))
    if key == "intensities":
        if not isinstance(v, (list, tuple)) or not v:
            raise ConfigError(f"{src}: {w}: expected a list of intensities, e.g. [0.5, 1.0]")
        vals = tuple(sorted({round(_number(x, src, f"{w}[{i}]", lo=0.0, hi=3.0), 10) for i, x in enumerate(v)}))
        if len(vals) < 2 and vals != (1.0,):
            raise ConfigError(f"{src}: {w}: give at least two intensities (or just [1.0])")
        return vals
    if key == "pairs":
        if not isinstance(v, (list, tuple)):
            raise ConfigError(f"{src}: {w}: expected a list of [expression, expression] pairs")
        out = []
        for i, p in enumerate(v):
            if not isinstance(p, (list, tuple)) or len(p) != 2:
                raise ConfigError(f"{src}: {w}[{i}]: {p!r} is not a pair [expression, expression]")
            a, b = _expr(p[0], src, f"{w}[{i}]"), _expr(p[1], src, f"{w}[{i}]")
            if a == b:
                raise ConfigError(f"{src}: {w}[{i}]: a pair needs two different expressions")
            out.append((a, b))
        return tuple(out)
    if key == "judges":
        items = v if isinstance(v, (list, tuple)) else [v]
        if not items:
            raise ConfigError(f"{src}: {w}: name at least one judge")
        specs = []
        for i, j in enumerate(items):
            if isinstance(j, str):
                j = {"name": j}
            if not isinstance(j, Mapping) or "name" not in j:
                raise ConfigError(f"{src}: {w}[{i}]: a judge is a name or a mapping with 'name'")
            _unknown(src, f"{w}[{i}].", j, ("name", "options"))
            specs.append(JudgeSpec(_check_component("judge", j["name"], src, f"{w}[{i}].name"),
                                   _options(j.get("options"), src, f"{w}[{i}].options")))
        return tuple(specs)
    if key == "editor":
        return _check_component("editor", v, src, w)
    if key == "recogniser":
        return _check_component("recogniser", v, src, w)
    if key == "executor":
        from ..bench.executors import EXECUTORS

        if v not in EXECUTORS:
            raise ConfigError(f"{src}: {w}: {v!r} is not one of {', '.join(EXECUTORS)}")
        return v
    if key == "pairing":
        if v not in ("all", "same_alpha"):
            raise ConfigError(f"{src}: {w}: {v!r} is not 'all' or 'same_alpha'")
        return v
    if key == "identity_calibration":
        if not isinstance(v, str):
            raise ConfigError(f"{src}: {w}: expected the path of an identity calibration JSON")
        return v
    if key in ("identity_duplicate",):
        return "auto" if v == "auto" else _number(v, src, w, lo=-1.0, hi=1.0)
    if key == "identity_band":
        if v == "auto":
            return v
        if not isinstance(v, (list, tuple)) or len(v) != 2:
            raise ConfigError(f"{src}: {w}: expected 'auto' or [low, high]")
        lo, hi = (_number(x, src, w, lo=-1.0, hi=1.0) for x in v)
        if lo > hi:
            raise ConfigError(f"{src}: {w}: low {lo} is above high {hi}")
        return (lo, hi)
    if key in ("test_fraction",):
        return _number(v, src, w, lo=0.0, hi=1.0)
    if isinstance(default, bool):
        if not isinstance(v, bool):
            raise ConfigError(f"{src}: {w}: {v!r} is not true or false")
        return v
    if isinstance(default, int):
        return _number(v, src, w, lo=0 if key != "workers" else 1, integer=True)
    if isinstance(default, float):
        lo = -1.0 if key in ("identity_max",) else 0.0
        return _number(v, src, w, lo=lo)
    raise ConfigError(f"{src}: {w}: unsupported value {v!r}")  # pragma: no cover


def parse_config(data: Any, base: Path, source: str = "<dict>") -> DataConfig:
    """Validate a configuration mapping whose relative paths start at ``base``."""
    src = source
    if not isinstance(data, Mapping):
        raise ConfigError(f"{src}: expected a mapping at the top level")
    _unknown(src, "", data, _TOP)
    raw_sources = data.get("sources")
    if isinstance(raw_sources, (str, Mapping)):
        raw_sources = [raw_sources]
    if not isinstance(raw_sources, list) or not raw_sources:
        raise ConfigError(f"{src}: sources: list at least one folder or file of portraits")
    sources = []
    for i, s in enumerate(raw_sources):
        if isinstance(s, str):
            s = {"path": s}
        if not isinstance(s, Mapping) or "path" not in s:
            raise ConfigError(f"{src}: sources[{i}]: expected a path or a mapping with 'path'")
        _unknown(src, f"sources[{i}].", s, ("path", "domain"))
        p = Path(str(s["path"])).expanduser()
        p = p if p.is_absolute() else (base / p)
        if not p.exists():
            raise ConfigError(f"{src}: sources[{i}].path: {s['path']!r} does not exist ({p})")
        dom = str(s.get("domain", "auto")).lower()
        if dom not in DOMAINS:
            raise ConfigError(f"{src}: sources[{i}].domain: {dom!r} is not one of {', '.join(DOMAINS)}")
        sources.append(SourceSpec(p.resolve(), dom))
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"{src}: seed: {seed!r} is not an integer")
    sections = {k: _section(cls, data.get(k), src, k) for k, cls in _SECTIONS.items()}
    sections["filter"] = _resolve_calibration(sections["filter"], base, src)
    name = str(data.get("name") or Path(source).stem or "dataset")
    return DataConfig(name=name, sources=tuple(sources), seed=seed, source=src, **sections)


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
