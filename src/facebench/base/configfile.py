"""Configuration files (study definitions, data-engine and training configs) with one-line errors.

:func:`read_config_file` parses YAML or JSON; :func:`build_config` turns the parsed mapping into a
configuration dataclass whose field types pydantic checks, so a wrong value is one line naming the
file, the key and the value. Plain ``int``/``float``/``bool`` fields are read in pydantic's lax mode
(``"3"`` reads as 3, a list of ints as floats); where a bool/number or text/number confusion would
hide a user error, use the strict field types here: :func:`number` (``true`` and ``"3"`` are not
numbers), :data:`StrictBool` (``"yes"`` and 1 are not booleans), :func:`one_of`, :data:`JsonOptions`.
A field validator raises :class:`FieldProblem` for a domain rule; the message then names the key.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import math
import typing
from pathlib import Path
from typing import Annotated, Any, Mapping, TypeVar

from pydantic import BeforeValidator, Strict

T = TypeVar("T")

#: ``true`` / ``false`` only (pydantic's lax ``bool`` would read ``"yes"``, ``"off"``, 1 and 0).
StrictBool = Annotated[bool, Strict()]


class FieldProblem(ValueError):
    """A field validator's one-line problem; :func:`build_config` prefixes the file and the key.

    ``at`` continues the key, e.g. ``"[1]"`` or ``"[0].name"`` for a problem inside a list."""

    def __init__(self, problem: str, at: str = "") -> None:
        super().__init__(problem)
        self.at = at


def check_number(value: Any, lo: float | None = None, hi: float | None = None, *, whole: bool = False,
                 at: str = "") -> float:
    """``value`` as a finite float (an int when ``whole``) in ``[lo, hi]``; no bools, no text.

    Raises :class:`FieldProblem` ``"<value> is not a number"`` / ``"... is outside [lo, hi]"``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise FieldProblem(f"{value!r} is not {'an integer' if whole else 'a number'}", at)
    if whole and float(value) != int(value):
        raise FieldProblem(f"{value!r} is not an integer", at)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        rng = f"[{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"
        raise FieldProblem(f"{value!r} is outside {rng}", at)
    return int(value) if whole else float(value)


def number(lo: float | None = None, hi: float | None = None, *, whole: bool = False) -> Any:
    """A strict number field type in ``[lo, hi]`` (see :func:`check_number`), e.g.
    ``Ratio = number(0.0, 1.0)`` then ``fraction: Ratio = 0.25``."""
    return Annotated[int if whole else float,
                     BeforeValidator(functools.partial(check_number, lo=lo, hi=hi, whole=whole))]


def one_of(*choices: str) -> Any:
    """A text field type that must be one of ``choices`` (``"'x' is not 'a' or 'b'"`` otherwise)."""
    def check(value: Any) -> str:
        if value not in choices:
            listed = (" or ".join(map(repr, choices)) if len(choices) == 2
                      else "one of " + ", ".join(choices))
            raise FieldProblem(f"{value!r} is not {listed}")
        return str(value)
    return Annotated[str, BeforeValidator(check)]


def check_options(value: Any, at: str = "") -> dict[str, Any]:
    """Options passed on to a component: a mapping of JSON values (``None`` reads as none)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise FieldProblem("expected a mapping of option -> value", at)
    try:
        json.dumps(dict(value))
    except (TypeError, ValueError) as exc:
        raise FieldProblem(f"options must be JSON values ({exc})", at) from None
    return dict(value)


#: A field of component options (see :func:`check_options`).
JsonOptions = Annotated[dict[str, Any], BeforeValidator(check_options)]


def read_config_file(path: str | Path, error: type[Exception], what: str = "configuration file") -> Any:
    """Parse ``path`` (``.json`` as JSON, anything else as YAML) and return the data.

    Raises ``error`` with one line, ``"<path>: <what> not found"`` or ``"<path>: cannot parse (...)"``.
    """
    p = Path(path)
    if not p.is_file():
        raise error(f"{p}: {what} not found")
    text = p.read_text(encoding="utf-8")
    try:
        if p.suffix.lower() == ".json":
            return json.loads(text)
        import yaml

        return yaml.safe_load(text)
    except Exception as exc:  # noqa: BLE001 - YAML and JSON raise different types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise error(f"{p}: cannot parse ({first})") from None


def build_config(cls: type[T], data: Mapping[str, Any], *, source: str, error: type[Exception],
                 context: Mapping[str, Any] | None = None) -> T:
    """``cls(**data)`` for a dataclass ``cls`` with every field's type checked by pydantic and
    unknown keys refused, also inside fields typed as dataclasses (sections). Raises ``error`` with
    one line ``"<source>: <key> = <value>: <problem>"``, or ``"<source>: <key>: <problem>"`` for a
    :class:`FieldProblem`; an ``error`` raised by the dataclass's own ``__post_init__`` checks
    passes through unchanged. ``context`` reaches validators that take pydantic's ``info``."""
    from pydantic import ValidationError

    _refuse_unknown(cls, data, "", source, error)
    try:
        return _adapter(cls).validate_python(dict(data), context=dict(context or {}))
    except ValidationError as exc:
        first = exc.errors()[0]
        raised = (first.get("ctx") or {}).get("error")
        if isinstance(raised, error):
            raise raised from None
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        if isinstance(raised, FieldProblem):
            raise error(f"{source}: {key}{raised.at}: {raised}") from None
        more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
        value = "" if first["type"] == "missing" else f" = {first['input']!r}"
        raise error(f"{source}: {key}{value}: {first['msg']}{more}") from None


def _refuse_unknown(cls: type, data: Mapping[str, Any], prefix: str, source: str,
                    error: type[Exception]) -> None:
    """Raise ``error`` for the first key of ``data`` (or of a nested section) that ``cls`` lacks."""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=2)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise error(f"{source}: {prefix}{key}: unknown key{hint}")
    hints = _hints(cls)
    for key, value in data.items():
        kind = hints.get(key)
        if isinstance(value, Mapping) and isinstance(kind, type) and dataclasses.is_dataclass(kind):
            _refuse_unknown(kind, value, f"{prefix}{key}.", source, error)


@functools.lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # noqa: BLE001 - an unresolvable annotation: no nested key check
        return {}


@functools.lru_cache(maxsize=None)
def _adapter(cls: type) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(cls)
