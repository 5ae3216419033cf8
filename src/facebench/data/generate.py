"""Generate and annotate stages: every kept source x expression x intensity, edited and judged.

FFE (PixelSmile paper, sec. 3.1, "Controlled Expression Generation" and "Continuous Annotation"):
each base identity is edited toward several target expressions at several intensities, and every
image gets a 12-dimensional continuous score vector from a judge.

This is the benchmark runner (:func:`facebench.bench.runner.run_benchmark`) pointed at a manifest
built from the kept sources: one task per (source, expression) whose prompt comes from the prompt
library, edited over the intensity grid by any registered editor, scored by every configured judge
(each judge's scores are kept), identity measured by the configured recogniser. It commits every
edit, judgement and identity score to the build's SQLite store the moment it exists, so a killed
build loses at most the items in flight and a rerun computes only what is missing; failures are
recorded with their reason, not cached, and retried by the next run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pandas as pd

from ..bench.components import Component
from ..bench.identity import recogniser_component
from ..bench.manifest import Manifest, Task, write_manifest
from ..bench.runner import RunResult, run_benchmark
from ..base.store import Store
from .config import DataConfig
from .prompts import PromptLibrary


def components(cfg: DataConfig) -> tuple[Component, list[Component], Component]:
    """The editor, judges and recogniser of a build (names checked against their registries)."""
    editor = Component.make("editor", cfg.generate.editor, dict(cfg.generate.options))
    judges = []
    for j in cfg.annotate.judges:
        label = j.name if sum(x.name == j.name for x in cfg.annotate.judges) == 1 else None
        judges.append(Component.make("judge", j.name, dict(j.options), label=label))
    labels = [j.label for j in judges]
    if len(set(labels)) != len(labels):
        judges = [Component(j.kind, j.name, j.options_json, f"{j.label}#{i + 1}") for i, j in enumerate(judges)]
    rec = recogniser_component(cfg.filter.recogniser, dict(cfg.filter.recogniser_options) or None)
    return editor, judges, rec


def tasks_for(sources: pd.DataFrame, cfg: DataConfig, libraries: dict[str, PromptLibrary], out: Path) -> list[Task]:
    """One task per kept source and expression: id ``<source id>-<expression>``, the source PNG, the
    face box of the collect stage and a prompt of the library chosen from the source id."""
    tasks = []
    kept = sources[sources["status"] == "kept"].sort_values("source_id")
    for r in kept.itertuples(index=False):
        lib = libraries["character" if r.domain == "anime" else "person"]
        box = tuple(float(v) for v in r.box) if r.box is not None else None
        for e in cfg.compose.expressions:
            p = lib.for_item(e, r.source_id, cfg.seed)
            tasks.append(Task(f"{r.source_id}-{e}", (out / r.image).resolve(), e, p.text, r.domain, box))
    return tasks


def generate_and_annotate(cfg: DataConfig, sources: pd.DataFrame, libraries: dict[str, PromptLibrary],
                          out: Path, store: Store, *, progress: bool = True,
                          log: Callable[[str], None] = print) -> tuple[RunResult, list[Task]]:
    """Edit, judge and measure identity for every task (cached in ``store``); see the module docstring."""
    tasks = tasks_for(sources, cfg, libraries, out)
    write_manifest(tasks, out / "generate" / "tasks.jsonl")
    editor, judges, rec = components(cfg)
    grid = cfg.generate.intensities
    track = "general" if grid == (1.0,) else "linear"
    result = run_benchmark(Manifest(tasks), editors=[editor], judges=judges, recognisers=[rec], store=store,
                           track=track, alphas=None if track == "general" else grid,
                           executor=cfg.generate.executor, workers=cfg.generate.workers, progress=progress,
                           log=lambda s: log(f"  {s}"))
    return result, tasks


def run_summary(result: RunResult) -> dict[str, Any]:
    """Planned / cached / computed / failed items per stage of the run (for the build log)."""
    return {k: {"planned": v.planned, "cached": v.cached, "computed": v.computed, "failed": v.failed}
            for k, v in result.stats.items()}
