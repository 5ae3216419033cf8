"""F-Bench face quality (``facebench.quality``): metrics, degradations, metric-vs-MOS benchmark,
a learned predictor and a diversity report.

Modules: :mod:`.catalog` (the metric registry ``QUALITY_METRICS`` and :func:`compute`),
``fr_*`` (full-reference metrics in torch), ``nr_*`` (no-reference metrics on shipped parameters),
:mod:`.face_metrics`, :mod:`.scoring` (folders/manifests -> tidy tables), :mod:`.degrade`,
:mod:`.correlate`, :mod:`.predictor`, :mod:`.diversity`, :mod:`.cli`.
"""

from .catalog import DEFAULT_METRICS, FACE_METRICS, FR, NR, QUALITY_METRICS, QualityMetric, compute, metrics_frame

__all__ = ["DEFAULT_METRICS", "FACE_METRICS", "FR", "NR", "QUALITY_METRICS", "QualityMetric", "compute", "metrics_frame"]
