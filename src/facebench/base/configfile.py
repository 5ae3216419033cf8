"""Configuration files (study definitions, data-engine and training configs) with one-line errors.

:func:`read_config_file` parses YAML or JSON; :func:`build_config` turns the parsed mapping into a
configuration dataclass whose field types pydantic checks (lax mode: ``"3"`` reads as 3, a list of
ints as floats), so a wrong value is one line naming the file, the key and the value.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
from pathlib import Path
from typing import Any, Mapping, TypeVar

T = TypeVar("T")


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


def build_config(cls: type[T], data: Mapping[str, Any], *, source: str, error: type[Exception]) -> T:
    """``cls(**data)`` for a dataclass ``cls`` with every field's type checked by pydantic and
    unknown keys refused. Raises ``error`` with one line ``"<source>: <key> = <value>: <problem>"``;
    an ``error`` raised by the dataclass's own ``__post_init__`` checks passes through unchanged."""
    from pydantic import ValidationError

    known = [f.name for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=2)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise error(f"{source}: {key}: unknown key{hint}")
    try:
        return _adapter(cls).validate_python(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        raised = (first.get("ctx") or {}).get("error")
        if isinstance(raised, error):
            raise raised from None
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
        value = "" if first["type"] == "missing" else f" = {first['input']!r}"
        raise error(f"{source}: {key}{value}: {first['msg']}{more}") from None


@functools.lru_cache(maxsize=None)
def _adapter(cls: type) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(cls)
