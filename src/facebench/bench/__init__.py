"""Benchmark face-expression editors the way FFE-Bench (PixelSmile paper, sec. 3.2) and FED-Bench do.

    >>> from facebench.bench import Component, run_and_report
    >>> run = run_and_report("suite.jsonl", editors=[Component.make("editor", "offline")],
    ...                      judges=[Component.make("judge", "offline")], out="facebench-out/bench")

Modules (one job each):

- :mod:`.manifest` -- suites as JSONL/Parquet manifests, validation, building from a folder;
- :mod:`.editors` -- ``folder``, ``pixelsmile-gallery``, ``http``, ``command`` editors (registered
  in :data:`facebench.edit.base.EDITORS` next to ``offline`` and ``pixelsmile``);
- :mod:`.components` -- picklable editor/judge/recogniser descriptions and their fingerprints;
- :mod:`.store` -- the one SQLite cache; :mod:`.executors` -- serial, processes, threads, Ray;
- :mod:`.work` -- edit/judge/identity units; :mod:`.runner` -- the staged, resumable run;
- :mod:`.results` -- the results table; :mod:`.scoring` -- leaderboard and per-expression numbers;
- :mod:`.report`, :mod:`.html`, :mod:`.plots` -- Markdown/CSV/JSON leaderboards and the HTML page;
- :mod:`.reference` -- published numbers; :mod:`.cli` -- ``facebench bench ...``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from .components import Component
from .lifecycle import RunLocked, one_run_per_folder
from .manifest import Manifest, ManifestError, Task, build_tasks, load_manifest, write_manifest
from .runner import DEFAULT_ALPHAS, RunResult, run_benchmark, stats_frame
from ..base.store import Store


@one_run_per_folder
def run_and_report(
    manifest: Manifest | str | Path,
    *,
    editors: Sequence[Component],
    judges: Sequence[Component],
    out: str | Path,
    store: Store | str | Path | None = None,
    recognisers: Sequence[Component] | None = None,
    track: str = "linear",
    alphas: Sequence[float] | None = None,
    executor: str = "serial",
    workers: int = 1,
    progress: bool = True,
    cls_mode: str = "per_series",
    html: bool = True,
    ray_address: str | None = None,
    log: Callable[[str], None] | None = None,
    id_calibrations: dict[str, str] | None = None,
) -> tuple[RunResult, Any, dict[str, Path]]:
    """Run a benchmark and write every report file to ``out``.

    ``store`` defaults to ``<out>/cache.sqlite``; ``recognisers`` to dlib; ``id_calibrations``:
    recogniser label -> calibration JSON (kept in the run's config; shipped ones need none). Returns the run result,
    the :class:`~facebench.bench.summary.ReportData` and the written paths.
    """
    from .identity import recogniser_component
    from .report import write_report
    from .summary import compute_report

    o = Path(out)
    st = store if isinstance(store, Store) else Store(store or o / "cache.sqlite")
    recs = [recogniser_component("dlib")] if recognisers is None else list(recognisers)
    result = run_benchmark(manifest, editors=editors, judges=judges, store=st, track=track, alphas=alphas,
                           recognisers=recs, executor=executor, workers=workers, progress=progress,
                           ray_address=ray_address, log=log)
    if id_calibrations:
        result.config["id_calibrations"] = {k: str(v) for k, v in id_calibrations.items()}
    data = compute_report(result.results, result.failures, config=result.config, stats=stats_frame(result.stats),
                          cls_mode=cls_mode)
    paths = write_report(o, data, store=st, html=html)
    return result, data, paths


__all__ = [
    "Component", "DEFAULT_ALPHAS", "Manifest", "ManifestError", "RunLocked", "RunResult", "Store", "Task", "build_tasks",
    "load_manifest", "run_and_report", "run_benchmark", "stats_frame", "write_manifest",
]
