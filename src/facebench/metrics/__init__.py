"""Pure metrics for every facebench report (numpy/scipy/pandas only: no models, no image files).

- :mod:`~facebench.metrics.ffe` -- FFE-Bench: confusion, BCR, mSCR, accuracy, CLS, HES, ID Sim;
- :mod:`~facebench.metrics.fed` -- FED-Score (provisional reconstruction, replaceable parts);
- :mod:`~facebench.metrics.correlation` -- SRCC, KRCC, PLCC (raw / logistic), bootstrap CIs;
- :mod:`~facebench.metrics.mos` -- MOS from raw ratings (BT.500 screening, z-scores, CIs);
- :mod:`~facebench.metrics.diversity` -- brightness, contrast, colorfulness, sharpness, R and U;
- :mod:`~facebench.metrics.streaming` -- update-then-compute accumulators;
- :mod:`~facebench.metrics.catalog` -- ``METRICS``: direction, range and source of each metric.

Bad input raises ``ValueError`` naming the argument; an undefined value is ``nan`` with an
:class:`UndefinedMetricWarning` giving the reason.
"""

from facebench.metrics._checks import UndefinedMetricWarning
from facebench.metrics.catalog import METRICS
from facebench.metrics.correlation import (
    BootstrapCI,
    LogisticFit,
    bootstrap_ci,
    correlate,
    fit_logistic,
    krcc,
    logistic4,
    logistic5,
    plcc,
    plcc_fitted,
    rank_average,
    srcc,
)
from facebench.metrics.diversity import (
    FEATURES,
    brightness,
    colorfulness,
    contrast,
    coverage_uniformity,
    features,
    relative_range,
    sharpness,
)
from facebench.metrics.fed import ALIGNMENT, COMBINE, FIDELITY, GAIN, fed_score
from facebench.metrics.ffe import (
    CLSResult,
    ConfusionMatrix,
    IDSimResult,
    accuracy,
    bcr,
    cls,
    confusion_matrix,
    directed_confusion,
    hes,
    id_sim_aggregate,
    mscr,
    predicted_class,
)
from facebench.metrics.mos import FBENCH_SCORE_RANGE, mos_from_csv, mos_table, screen_bt500
from facebench.metrics.streaming import (
    ConfusionAccumulator,
    CorrelationAccumulator,
    MOSAccumulator,
    PearsonAccumulator,
)

__all__ = [
    "ALIGNMENT", "COMBINE", "FBENCH_SCORE_RANGE", "FEATURES", "FIDELITY", "GAIN", "METRICS",
    "BootstrapCI", "CLSResult", "ConfusionAccumulator", "ConfusionMatrix", "CorrelationAccumulator",
    "IDSimResult", "LogisticFit", "MOSAccumulator", "PearsonAccumulator", "UndefinedMetricWarning",
    "accuracy", "bcr", "bootstrap_ci", "brightness", "cls", "colorfulness", "confusion_matrix",
    "contrast", "correlate", "coverage_uniformity", "directed_confusion", "features", "fed_score",
    "fit_logistic", "hes", "id_sim_aggregate", "krcc", "logistic4", "logistic5", "mos_from_csv",
    "mos_table", "mscr", "plcc", "plcc_fitted", "predicted_class", "rank_average",
    "relative_range", "screen_bt500", "sharpness", "srcc",
]
