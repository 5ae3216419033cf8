"""Read a YAML or JSON configuration file (study definitions, data-engine configs) with one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


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
