"""Picklable descriptions of the parts a benchmark run uses (editors, judges, recognisers).

A :class:`Component` is ``(kind, name, options, label)``: what to build from which registry. It is
sent to worker processes (or Ray workers), which build the real object once per process
(:meth:`Component.build`). Its :meth:`fingerprint` enters every cache key, so changing an option
(another model folder, another endpoint model) never reuses stale results.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any, Mapping

from ..base.registry import parse_options  # noqa: F401  (re-exported: bench callers read it from here)

KINDS = ("editor", "judge", "recogniser")
_BUILT: dict[tuple[str, str, str], Any] = {}
_LOCK = threading.Lock()


def registry(kind: str) -> Any:
    """The registry of ``kind`` (editors, judges or identity recognisers)."""
    if kind == "editor":
        from ..edit.base import load_editors

        return load_editors()
    if kind == "judge":
        from ..judges import JUDGES

        return JUDGES
    if kind == "recogniser":
        from ..face.identity import RECOGNISERS

        return RECOGNISERS
    raise ValueError(f"unknown component kind {kind!r}; expected one of {', '.join(KINDS)}")


@dataclass(frozen=True)
class Component:
    """What to build: ``registry(kind).get(name)(**options)``; ``label`` names it in reports."""

    kind: str
    name: str
    options_json: str = "{}"
    label: str = ""

    @classmethod
    def make(cls, kind: str, name: str, options: Mapping[str, Any] | None = None,
             label: str | None = None) -> "Component":
        """Validate the name against its registry and freeze the options (JSON, sorted keys)."""
        reg = registry(kind)
        canonical = reg.entry(name).name  # raises UnknownNameError with suggestions
        opts = dict(options or {})
        try:
            text = json.dumps(opts, sort_keys=True)
        except TypeError as exc:
            raise ValueError(f"{kind} {name!r}: options must be JSON values ({exc})") from None
        return cls(kind, canonical, text, label or _default_label(canonical, opts))

    @property
    def options(self) -> dict[str, Any]:
        """The options as a dict."""
        return json.loads(self.options_json)

    def build(self) -> Any:
        """The built object, once per process (later calls return the same object)."""
        key = (self.kind, self.name, self.options_json)
        with _LOCK:
            obj = _BUILT.get(key)
        if obj is None:
            obj = registry(self.kind).get(self.name)(**self.options)
            with _LOCK:
                obj = _BUILT.setdefault(key, obj)
        return obj

    def fingerprint(self) -> str:
        """What identifies this component's outputs: name, options, declared version (and, for a
        judge, its :meth:`~facebench.judges.base.Judge.judge_id`)."""
        meta = registry(self.kind).meta(self.name)
        obj = self.build()
        version = meta.get("version") or getattr(obj, "version", None)
        ident = obj.judge_id() if self.kind == "judge" else None
        secret_free = {k: v for k, v in self.options.items() if "key" not in k.lower()}
        return json.dumps([self.kind, self.name, secret_free, version, ident], sort_keys=True)


def _default_label(name: str, opts: Mapping[str, Any]) -> str:
    model = opts.get("model")
    return f"{name}:{model}" if isinstance(model, str) and model else name
