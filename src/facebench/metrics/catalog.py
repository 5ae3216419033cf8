"""One table of every metric facebench reports: direction, range and source, next to the name.

``METRICS.meta("mscr")["higher_is_better"]`` is the one place a report looks up which way is
better (``None`` for descriptive statistics such as the diversity features).
"""

from __future__ import annotations

from typing import Callable

from facebench.metrics import correlation, diversity, fed, ffe, mos
from facebench.base.registry import Registry

METRICS: Registry[Callable[..., object]] = Registry("metric")

_Range = tuple[float, float | None] | None
_ROWS: tuple[tuple[str, Callable[..., object], bool | None, _Range, str], ...] = (
    ("directed_confusion", ffe.directed_confusion, False, (0.0, 1.0), "PixelSmile sec. 3.2 eq. 1"),
    ("bcr", ffe.bcr, False, (0.0, 1.0), "PixelSmile sec. 3.2 eq. 2"),
    ("mscr", ffe.mscr, False, (0.0, 1.0), "PixelSmile sec. 3.2"),
    ("accuracy", ffe.accuracy, True, (0.0, 1.0), "PixelSmile sec. 3.2 (Acc-6, Acc-12)"),
    ("cls", ffe.cls, True, (-1.0, 1.0), "PixelSmile sec. 3.2 (CLS-6, CLS-12)"),
    ("hes", ffe.hes, True, (0.0, 1.0), "PixelSmile sec. 3.2 eq. 3"),
    ("id_sim", ffe.id_sim_aggregate, True, (-1.0, 1.0), "PixelSmile sec. 3.2"),
    ("fed_score", fed.fed_score, True, (0.0, 1.0), "FED-Bench (provisional reconstruction)"),
    ("fed_alignment", fed.alignment_target_share, True, (0.0, 1.0), "FED-Bench alignment A (provisional)"),
    ("fed_fidelity", fed.fidelity_geometric, True, (0.0, 1.0), "FED-Bench fidelity F (provisional)"),
    ("fed_gain", fed.gain_ratio, True, (0.0, 1.0), "FED-Bench relative expression gain REG (provisional)"),
    ("srcc", correlation.srcc, True, (-1.0, 1.0), "F-Bench eq. 8"),
    ("krcc", correlation.krcc, True, (-1.0, 1.0), "F-Bench eq. 10 (tau-b)"),
    ("plcc", correlation.plcc, True, (-1.0, 1.0), "F-Bench eq. 9"),
    ("plcc_fitted", correlation.plcc_fitted, True, (-1.0, 1.0), "VQEG / Sheikh et al. 2006 logistic"),
    ("mos", mos.mos_table, True, None, "F-Bench eqs. 1-3, ITU-R BT.500"),
    ("brightness", diversity.brightness, None, (0.0, 255.0), "F-Bench A.3 (BT.601 luma mean)"),
    ("contrast", diversity.contrast, None, (0.0, 127.5), "F-Bench A.3 (RMS contrast)"),
    ("colorfulness", diversity.colorfulness, None, (0.0, None), "Hasler & Suesstrunk 2003"),
    ("sharpness", diversity.sharpness, None, (0.0, None), "F-Bench A.3 (Laplacian variance)"),
    ("relative_range", diversity.relative_range, None, (0.0, 1.0), "F-Bench eq. 6"),
    ("coverage_uniformity", diversity.coverage_uniformity, None, (0.0, 1.0), "F-Bench eq. 7"),
)
for _name, _fn, _hib, _range, _source in _ROWS:
    METRICS.add(_name, _fn, higher_is_better=_hib, range=_range, source=_source)


def higher_is_better(name: str) -> bool | None:
    """Which way metric ``name`` of :data:`METRICS` is better: True (higher), False (lower) or None
    (a descriptive statistic). Raises :class:`~facebench.base.registry.UnknownNameError` for an
    unknown name."""
    return METRICS.meta(name)["higher_is_better"]
