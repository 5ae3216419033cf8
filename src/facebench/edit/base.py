"""The contract every expression editor follows (offline mesh editor, PixelSmile, ...).

- :class:`ExpressionControl`: what to do -- one or more ``(expression, alpha)`` weights over the 12
  FFE-Bench expressions (:data:`facebench.expressions.EXPRESSIONS`). ``alpha`` lies in
  ``[0, alpha_max]``; ``alpha = 1`` is the editor's nominal full expression and ``alpha > 1``
  extrapolates. A blend is several weights in one control (PixelSmile paper, sec. 5.6:
  ``e = e_neu + sum_i a_i (e_i - e_neu)``).
- :class:`EditResult`: the edited image plus what was done.
- :class:`Editor`: ``edit(image, control, face=...)`` and ``sweep(image, expression, alphas)``.
- :data:`EDITORS`: the one registry of editors (``facebench.base.registry``), with metadata
  ``licence``, ``needs_gpu``, ``description`` and ``alpha_semantics`` next to each name.

Alpha semantics differ between editors and each editor states its own in ``alpha_semantics``:

- ``offline`` (mesh warp): ``alpha = 0`` returns the input unchanged (a no-op); the displacement
  that moves the face toward the target grows linearly with alpha.
- ``pixelsmile``: ``alpha = 0`` is the *neutral* prompt -- it actively neutralises the face; it is
  not a no-op.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Protocol, Sequence, Union, runtime_checkable

import numpy as np

from ..expressions import EXPRESSIONS, normalize_expression
from ..face.types import Face, NoFaceError  # NoFaceError re-exported: "no face to edit"
from ..base.registry import Registry

#: Largest alpha any control accepts (a community PixelSmile node exposes 0..3).
ALPHA_MAX: float = 3.0

#: How a face is chosen: ``None`` = the largest face, an ``int`` = index into the faces found
#: (largest first), or an already analysed :class:`~facebench.face.types.Face`.
FaceSelector = Union[None, int, Face]

_BLEND_ITEM = re.compile(r"^\s*([A-Za-z_\-]+)\s*[=:]\s*([-+0-9.eE]+)\s*$")


@dataclass(frozen=True)
class ExpressionControl:
    """Weights over the 12 expressions: ``((expression, alpha), ...)`` in a canonical order.

    Build one with :meth:`single`, :meth:`blend` or :meth:`parse_blend`. Alphas must be finite
    and in ``[0, alpha_max]``; expression names are normalised (``"Surprise"`` -> ``"surprised"``);
    a name given twice is an error.
    """

    weights: tuple[tuple[str, float], ...]
    alpha_max: float = ALPHA_MAX

    def __post_init__(self) -> None:
        if not self.weights:
            raise ValueError("an expression control needs at least one (expression, alpha) weight")
        if not (math.isfinite(self.alpha_max) and self.alpha_max > 0):
            raise ValueError(f"alpha_max must be a positive number, got {self.alpha_max!r}")
        seen: dict[str, float] = {}
        for item in self.weights:
            if not (isinstance(item, tuple) and len(item) == 2):
                raise ValueError(f"weight {item!r} is not an (expression, alpha) pair")
            name, alpha = item
            key = normalize_expression(name)
            a = _check_alpha(alpha, key, self.alpha_max)
            if key in seen:
                raise ValueError(f"expression {key!r} is given twice")
            seen[key] = a
        order = {e: i for i, e in enumerate(EXPRESSIONS)}
        canon = tuple(sorted(seen.items(), key=lambda kv: order[kv[0]]))
        object.__setattr__(self, "weights", canon)

    # -- constructors -------------------------------------------------------------------------
    @classmethod
    def single(cls, expression: str, alpha: float, *, alpha_max: float = ALPHA_MAX) -> "ExpressionControl":
        """One expression at one intensity."""
        return cls(((expression, alpha),), alpha_max=alpha_max)

    @classmethod
    def blend(cls, weights: Mapping[str, float] | Iterable[tuple[str, float]], *,
              alpha_max: float = ALPHA_MAX) -> "ExpressionControl":
        """Several expressions at once, e.g. ``blend({"happy": 0.5, "surprised": 0.5})``."""
        items = weights.items() if isinstance(weights, Mapping) else weights
        return cls(tuple((str(k), v) for k, v in items), alpha_max=alpha_max)

    @classmethod
    def parse_blend(cls, text: str, *, alpha_max: float = ALPHA_MAX) -> "ExpressionControl":
        """Parse ``"happy=0.5,sad=0.3"`` (``:`` works as well as ``=``).

        Raises ``ValueError`` with a one-line message for a malformed item, an unknown expression
        (listing the 12 names) or an alpha out of range.
        """
        if not isinstance(text, str) or not text.strip():
            raise ValueError("empty blend string; expected e.g. 'happy=0.5,sad=0.3'")
        items: list[tuple[str, float]] = []
        for part in text.split(","):
            m = _BLEND_ITEM.match(part)
            if not m:
                raise ValueError(
                    f"malformed blend item {part.strip()!r} in {text!r}; expected NAME=ALPHA, "
                    "e.g. 'happy=0.5,sad=0.3'"
                )
            try:
                alpha = float(m.group(2))
            except ValueError:
                raise ValueError(f"alpha {m.group(2)!r} in {text!r} is not a number") from None
            items.append((m.group(1), alpha))
        return cls(tuple(items), alpha_max=alpha_max)

    # -- views --------------------------------------------------------------------------------
    def as_dict(self) -> dict[str, float]:
        """``{expression: alpha}``."""
        return dict(self.weights)

    @property
    def expressions(self) -> tuple[str, ...]:
        """The expressions with a weight, in canonical order."""
        return tuple(k for k, _ in self.weights)

    @property
    def is_identity(self) -> bool:
        """True when every alpha is 0."""
        return all(a == 0.0 for _, a in self.weights)

    def scaled(self, factor: float) -> "ExpressionControl":
        """The same mix with every alpha multiplied by ``factor``."""
        return ExpressionControl(tuple((k, a * factor) for k, a in self.weights), alpha_max=self.alpha_max)

    def label(self) -> str:
        """Short text such as ``"happy=0.5+surprised=0.5"`` (used in file names and sheets)."""
        return "+".join(f"{k}={a:g}" for k, a in self.weights)

    def __str__(self) -> str:
        return self.label()


def _check_alpha(alpha: Any, name: str, alpha_max: float) -> float:
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise ValueError(f"alpha {alpha!r} for {name!r} is not a number") from None
    if not math.isfinite(a) or a < 0.0 or a > alpha_max:
        raise ValueError(f"alpha {alpha!r} for {name!r} is out of range [0, {alpha_max:g}]")
    return a


@dataclass
class EditResult:
    """One edited image and a record of what was done.

    ``image`` is RGB uint8 of the input's size; ``face_index`` is the index of the edited face
    among the faces found (largest first), or ``None`` when the caller passed a :class:`Face`;
    ``info`` holds editor-specific facts (e.g. the changed region, timings, clamping applied).
    """

    image: np.ndarray
    control: ExpressionControl
    face_index: int | None
    editor: str
    info: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Editor(Protocol):
    """What every expression editor provides.

    - ``name``: the registry name; ``alpha_semantics``: one paragraph saying what alpha = 0, 1
      and > 1 mean for this editor.
    - ``edit(image, control, face=...)``: edit one face (``None`` = largest).
    - ``sweep(image, expression, alphas, face=...)``: one result per alpha for a single expression
      or a blend (``expression`` may be an :class:`ExpressionControl`, whose alphas are then
      multiplied by each value of ``alphas``). A sweep returns exactly what separate ``edit``
      calls would, and should share the per-image work between them.
    """

    name: str
    alpha_semantics: str

    def edit(self, image: np.ndarray, control: ExpressionControl, *, face: FaceSelector = None) -> EditResult:
        ...

    def sweep(self, image: np.ndarray, expression: "str | ExpressionControl", alphas: Sequence[float], *,
              face: FaceSelector = None) -> list[EditResult]:
        ...


def sweep_controls(expression: "str | ExpressionControl", alphas: Sequence[float], *,
                   alpha_max: float = ALPHA_MAX) -> list[ExpressionControl]:
    """The controls a sweep walks through: ``single(expression, a)`` for each ``a``, or the given
    blend with all its alphas multiplied by ``a``. Validates every value before any work is done."""
    vals = list(alphas)
    if not vals:
        raise ValueError("a sweep needs at least one alpha")
    if isinstance(expression, ExpressionControl):
        return [expression.scaled(_check_alpha(a, "sweep", ALPHA_MAX)) for a in vals]
    return [ExpressionControl.single(expression, a, alpha_max=alpha_max) for a in vals]


#: The one registry of expression editors. Each entry's object is a factory (usually the class)
#: taking keyword options and returning an :class:`Editor`; metadata: ``licence``, ``needs_gpu``,
#: ``description``, ``alpha_semantics``.
EDITORS: Registry[Any] = Registry(
    "editor",
    # Modules whose import registers editors: (module, required); imported on first lookup. Editors
    # of higher layers (PixelSmile) and other packages are entry points of "facebench.editors".
    providers=(
        ("facebench.edit.offline", True),
        ("facebench.edit.external", True),
    ),
    entry_point_group="facebench.editors",
)


def load_editors() -> Registry[Any]:
    """:data:`EDITORS` with every provider module imported (so all editors are registered)."""
    return EDITORS.load()


def get_editor(name: str = "offline", **options: Any) -> Editor:
    """Build the editor registered as ``name`` with ``options`` (raises
    :class:`~facebench.base.registry.UnknownNameError` listing the known names)."""
    return load_editors().get(name)(**options)
