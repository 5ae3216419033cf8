"""The metrics package stays light and says, for every metric, which direction is better."""

from __future__ import annotations

import subprocess
import sys

import facebench.metrics as metrics
from facebench.metrics import METRICS


def test_importing_metrics_pulls_in_no_heavy_dependency() -> None:
    code = (
        "import sys, facebench.metrics; "
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'cv2', 'sureal', 'PIL', 'matplotlib', 'mediapipe'}); "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_catalog_rows_name_direction_range_and_source() -> None:
    assert {"mscr", "accuracy", "cls", "hes", "srcc", "krcc", "plcc", "fed_score", "mos"} <= set(METRICS.names())
    assert METRICS.meta("mscr")["higher_is_better"] is False
    assert METRICS.meta("srcc")["higher_is_better"] is True
    assert METRICS.meta("sharpness")["higher_is_better"] is None  # descriptive
    for entry in METRICS:
        assert set(entry.meta) == {"higher_is_better", "range", "source"}
        assert callable(entry.obj) and entry.obj.__doc__


def test_public_api_is_exported() -> None:
    for name in metrics.__all__:
        assert getattr(metrics, name) is not None
