"""F-Bench face quality (``facebench.quality``): metrics, degradations, metric-vs-MOS benchmark,
a learned predictor and a diversity report.

Modules: :mod:`.catalog` (the metric registry ``QUALITY_METRICS`` and :func:`compute`),
``fr_*`` (full-reference metrics in torch), ``nr_*`` (no-reference metrics on shipped parameters),
:mod:`.face_metrics`, :mod:`.scoring` (folders/manifests -> tidy tables), :mod:`.degrade`,
:mod:`.correlate`, :mod:`.predictor`, :mod:`.diversity`, :mod:`.cli`.
"""

from typing import Any

__all__ = ["DEFAULT_METRICS", "FACE_METRICS", "FR", "NR", "QUALITY_METRICS", "QualityMetric", "compute", "metrics_frame"]


def __getattr__(name: str) -> Any:
    """Lazy re-export (PEP 562): the catalog imports torch, which ``facebench --help`` must not."""
    if name in __all__:
        from . import catalog

        return getattr(catalog, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
