"""One registry pattern for every pluggable part (editors, judges, quality metrics, CLI commands).

A :class:`Registry` maps a name to a factory plus free-form metadata (licence, direction, range...),
so the metadata lives next to the name. Unknown names raise :class:`UnknownNameError` with
"did you mean" suggestions. A registry may name *provider modules* whose import registers its
entries; they are imported on the first lookup (lazily, so ``import facebench`` stays light), and
optional providers may be missing from an install. Providers from a *higher* layer (or another
package) are not named in the registry's code: they declare themselves as entry points of the
registry's ``entry_point_group`` in their package metadata (pyproject ``[project.entry-points]``),
so the lower layer never names the higher one and the layer contract stays true at run time too.
"""

from __future__ import annotations

import difflib
import importlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Iterator, TypeVar

from .errors import UserError

T = TypeVar("T")


class UnknownNameError(UserError, KeyError):
    """Raised for a name that is not registered; the message lists close matches."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A registered item: its name, the object (usually a class or factory) and its metadata."""

    name: str
    obj: T
    meta: dict[str, Any] = field(default_factory=dict)


class Registry(Generic[T]):
    """A named collection of pluggable parts of one kind (e.g. ``"editor"``)."""

    def __init__(self, kind: str, providers: tuple[tuple[str, bool], ...] = (),
                 entry_point_group: str | None = None) -> None:
        """``providers``: ``(module, required)`` pairs imported on first lookup; a missing optional
        module is skipped, a required one (or an import error inside any of them) is raised.
        ``entry_point_group``: every installed entry point of that group names a provider module
        too (optional: one whose module is missing from the install is skipped)."""
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}
        self._aliases: dict[str, str] = {}
        self._providers = providers
        self._group = entry_point_group
        self._loaded = not providers and not entry_point_group

    def load(self) -> "Registry[T]":
        """Import the provider modules once (they register their entries) and return ``self``."""
        if self._loaded:
            return self
        self._loaded = True  # set first: providers register into this registry while importing
        plugins: tuple[tuple[str, bool], ...] = ()
        if self._group:
            from importlib.metadata import entry_points

            plugins = tuple((ep.module, False) for ep in entry_points(group=self._group))
        for mod, required in (*self._providers, *plugins):
            try:
                importlib.import_module(mod)
            except ModuleNotFoundError as exc:
                if required or exc.name != mod:
                    raise
        return self

    def register(
        self, name: str, *, aliases: tuple[str, ...] = (), **meta: Any
    ) -> Callable[[T], T]:
        """Decorator: ``@REG.register("name", licence="MIT")`` registers the decorated object."""

        def deco(obj: T) -> T:
            self.add(name, obj, aliases=aliases, **meta)
            return obj

        return deco

    def add(self, name: str, obj: T, *, aliases: tuple[str, ...] = (), **meta: Any) -> None:
        """Register ``obj`` under ``name`` (and optional aliases). Re-registering a name is an error."""
        key = name.lower()
        if key in self._entries or key in self._aliases:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[key] = Entry(name, obj, dict(meta))
        for a in aliases:
            self._aliases[a.lower()] = key

    def _key(self, name: str) -> str:
        self.load()
        key = name.lower()
        key = self._aliases.get(key, key)
        if key not in self._entries:
            choices = sorted(self._entries) + sorted(self._aliases)
            close = difflib.get_close_matches(key, choices, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}{hint} (known: {', '.join(sorted(self._entries))})"
            )
        return key

    def entry(self, name: str) -> Entry[T]:
        """The :class:`Entry` registered under ``name`` or an alias of it."""
        return self._entries[self._key(name)]

    def get(self, name: str) -> T:
        """The object registered under ``name``."""
        return self.entry(name).obj

    def meta(self, name: str) -> dict[str, Any]:
        """The metadata registered with ``name``."""
        return dict(self.entry(name).meta)

    def names(self) -> list[str]:
        """All registered names, sorted."""
        self.load()
        return sorted(e.name for e in self._entries.values())

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        self.load()
        key = name.lower()
        return self._aliases.get(key, key) in self._entries

    def __iter__(self) -> Iterator[Entry[T]]:
        self.load()
        return iter(sorted(self._entries.values(), key=lambda e: e.name))

    def __len__(self) -> int:
        self.load()
        return len(self._entries)


def parse_options(items: list[str] | None, flag: str = "option") -> dict[str, Any]:
    """``["root=/x", "timeout=5", "resize=true"]`` -> ``{"root": "/x", "timeout": 5, "resize": True}``:
    the ``--editor-opt`` / ``--judge-opt`` options of a registry lookup.

    Values that parse as JSON (numbers, true/false, lists) are taken as such, others as strings;
    ``ValueError`` (one line naming ``flag`` and the item) for an item without ``=`` or with an empty key.
    """
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ValueError(f"{flag} {item!r} is not KEY=VALUE")
        k, v = item.split("=", 1)
        k = k.strip()
        if not k:
            raise ValueError(f"{flag} {item!r} has an empty key")
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out
