"""Run editors over a suite, judge every edit, measure identity, and build the results table.

A run goes in stages, each over the items the cache does not hold yet, each committed item by item
to the :class:`~facebench.base.store.Store` (so killing a run loses at most the items in flight,
and a rerun continues where it stopped):

1. sources (and ground truths for the ``fed`` track) are read and hashed;
2. **edits**: every (editor, task, alpha) -> edited image;
3. **judgements**: every judge scores every source, ground truth and edit;
4. **identity**: every recogniser compares every edit with its source.

Failures (missing image, editor crash or wrong size, judge timeout or malformed answer, no face)
are recorded with their reason and the run goes on; they are not cached, so a rerun tries them
again. The results table (:mod:`facebench.bench.results`) is assembled from the cache alone, so an
interrupted-then-resumed run gives exactly the table of an uninterrupted one.

Cache keys (SHA-256 over JSON): edit = (editor fingerprint, source pixel hash, expression, alpha,
face box, editor context such as the task id); judgement = (judge id, image pixel hash, face box);
identity = (recogniser fingerprint, source hash, edited hash, face box).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from ..base.cli import parse_alphas  # noqa: F401 - re-exported: the one alpha syntax
from ..base.imageio import image_hash, load_image
from .components import Component
from .executors import Executor
from .manifest import Manifest, Task, load_manifest
from .results import build_results, failures_frame
from ..base.store import Store, key_of
from ..judges.base import accepts_source
from .work import EditUnit, IdentityUnit, ImageRef, JudgeUnit, do_edit, do_identity, do_judge

#: Default alpha grid of the linear track (uniform in [0, alpha_max], PixelSmile sec. 3.2).
DEFAULT_ALPHAS: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)


def track_alphas(track: str, alphas: Sequence[float] | None) -> tuple[float, ...]:
    """The alpha grid of a track: ``(1.0,)`` for general and fed; the given (or default) grid for linear."""
    if track in ("general", "fed"):
        if alphas is not None and tuple(float(a) for a in alphas) != (1.0,):
            raise ValueError(f"the {track} track edits at alpha 1 only; use --track linear for an alpha grid")
        return (1.0,)
    if track != "linear":
        raise ValueError(f"unknown track {track!r}; expected general, linear or fed")
    grid = tuple(sorted({round(float(a), 10) for a in (alphas or DEFAULT_ALPHAS)}))
    if len(grid) < 2:
        raise ValueError(f"the linear track needs at least 2 distinct alphas, got {list(alphas or [])}")
    if grid[0] < 0:
        raise ValueError(f"alphas must be >= 0, got {grid[0]}")
    return grid


def check_grid(editors: Sequence[Component], grid: Sequence[float]) -> None:
    """Refuse up front (``ValueError`` naming the editor) an alpha grid an editor cannot honour:
    alphas outside ``[0, ALPHA_MAX]`` or whatever the editor's own ``check_alphas`` rejects."""
    from ..edit.base import ALPHA_MAX

    bad = [a for a in grid if not 0.0 <= float(a) <= ALPHA_MAX]
    if bad:
        raise ValueError(f"alphas {bad} are outside [0, {ALPHA_MAX:g}]")
    for comp in editors:
        check = getattr(comp.build(), "check_alphas", None)
        if check is not None:
            try:
                check(tuple(grid))
            except Exception as exc:  # noqa: BLE001 - EditError and friends: one line naming the editor
                raise ValueError(f"editor {comp.label} cannot honour the alpha grid: {exc}") from None


@dataclass
class StageStats:
    """What one stage did: items planned, found in the cache, computed now, failed, seconds."""

    planned: int = 0
    cached: int = 0
    computed: int = 0
    failed: int = 0
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        """Computed items per second of stage time (nan when nothing was computed)."""
        return self.computed / self.seconds if self.computed and self.seconds > 0 else float("nan")


@dataclass
class RunResult:
    """The outcome of :func:`run_benchmark`."""

    results: pd.DataFrame
    failures: pd.DataFrame
    stats: dict[str, StageStats]
    config: dict[str, Any]
    examples: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Source:
    task: Task
    hash: str | None = None
    gt_hash: str | None = None
    error: str | None = None
    stage: str = ""


@dataclass
class _Plan:
    editor: Component
    task: Task
    alpha: float
    key: str
    src: _Source
    ctx: tuple[tuple[str, str], ...] = ()


def _ref(store: Store, executor: str, key: str, source: ImageRef, source_hash: str | None) -> ImageRef:
    """A reference to a cached edit: its stored bytes for Ray (no shared cache file; a residual
    goes with the ``source`` it applies to), ``(file, key)`` locally."""
    if executor == "ray":
        rec = store.get("edit", key)
        if rec is None or rec.blob is not None:
            return ImageRef(png=rec.blob if rec else None)
        data, base = store.image_bytes(rec.value["hash"])
        if base is None:
            return ImageRef(png=data)
        return ImageRef(residual=data, base=source if base == source_hash else ImageRef(png=store.image_bytes(base)[0]))
    return ImageRef(cached=(str(store.path), key))


def run_benchmark(
    manifest: Manifest | str | Path,
    *,
    editors: Sequence[Component],
    judges: Sequence[Component],
    store: Store | str | Path,
    track: str = "linear",
    alphas: Sequence[float] | None = None,
    recognisers: Sequence[Component] = (),
    executor: str = "serial",
    workers: int = 1,
    progress: bool = True,
    ray_address: str | None = None,
    log: Callable[[str], None] | None = None,
) -> RunResult:
    """Run every editor over every task (and alpha), judge everything, measure identity.

    ``manifest``: a :class:`~facebench.bench.manifest.Manifest` or a path (invalid rows become
    failures); ``store``: the cache (a :class:`Store` or a path); ``executor``/``workers``: see
    :mod:`facebench.bench.executors`. Returns the results table (one row per edit and judge),
    the failures table and per-stage statistics. The stages are those of the module docstring;
    each plans its items, then :func:`_run_stage` computes the ones the cache lacks.
    """
    _check_components(editors, judges)
    m = manifest if isinstance(manifest, Manifest) else load_manifest(manifest, track=track)
    st = store if isinstance(store, Store) else Store(store)
    grid = track_alphas(track, alphas)
    check_grid(editors, grid)
    say = log or (lambda s: None)
    tasks, failures = _runnable_tasks(m, track)
    stats: dict[str, StageStats] = {}

    stats["sources"], sources = _read_sources(tasks, track)
    with Executor(executor, workers, ray_address) as ex:
        plans = _plan_edits(editors, tasks, sources, grid)
        edit_units = _edit_units(plans)
        efps = {e: e.fingerprint() for e in editors}
        stats["edits"], edit_fail, edits = _run_stage(
            ex, st, "edit", edit_units, {p.key for p in plans if p.src.error is None}, do_edit, progress, say,
            lambda k, o: st.put_edit(k, {"hash": o["hash"], "seconds": o["seconds"], "info": o["info"],
                                         "component": efps[edit_units[k].editor]}, o["data"],
                                     o["base"], edit_units[k].source.load))
        edit_hash = {k: r.value["hash"] for k, r in edits.items()}

        jfps = {j: j.fingerprint() for j in judges}
        judge_keys, judge_units = _plan_judgements(judges, jfps, sources, plans, edit_hash, st, executor)
        judge_fp = {k: fp for (fp, *_), k in judge_keys.items()}
        stats["judgements"], judge_fail, judgements = _run_stage(
            ex, st, "judgement", judge_units, set(judge_units), do_judge, progress, say,
            lambda k, o: st.put("judgement", k, {"scores": o["scores"], "info": o["info"], "seconds": o["seconds"],
                                                 "component": judge_fp[k]}))

        id_keys, id_units, identical = _plan_identity(recognisers, plans, edit_hash, st, executor)
        rfps = {r: r.fingerprint() for r in recognisers}
        stats["identity"], id_fail, id_records = _run_stage(
            ex, st, "identity", id_units, set(id_units), do_identity, progress, None,
            lambda k, o: st.put("identity", k, {"sim": o["sim"], "seconds": o["seconds"],
                                                "component": rfps[id_units[k].recogniser]}))
        sims = {k: r.value["sim"] for k, r in id_records.items()} | identical

    results = build_results(
        plans=plans, track=track, judges=judges, jfps=jfps, recognisers=recognisers,
        edit_hash=edit_hash, edit_fail=edit_fail, judgements=judgements, judge_keys=judge_keys,
        judge_fail=judge_fail, id_keys=id_keys, sims=sims, id_fail=id_fail,
    )
    fails = failures_frame(failures, results, id_fail_rows=_identity_failures(plans, recognisers, id_keys, id_fail))
    return RunResult(results, fails, stats, _run_config(m, st, track, grid, editors, judges, recognisers,
                                                        executor, workers))


def _check_components(editors: Sequence[Component], judges: Sequence[Component]) -> None:
    if not editors:
        raise ValueError("name at least one editor")
    if not judges:
        raise ValueError("name at least one judge")
    labels = [e.label for e in editors]
    if len(set(labels)) != len(labels):
        raise ValueError(f"editor labels must be unique, got {labels} (give each a label)")


def _runnable_tasks(m: Manifest, track: str) -> tuple[list[Task], list[dict[str, Any]]]:
    """The tasks a run can do, and one failure row per invalid manifest row (and, on the fed
    track, per task without a ground truth)."""
    failures: list[dict[str, Any]] = [
        {"stage": "manifest", "model": "", "judge": "", "task_id": e.task_id or "", "alpha": np.nan,
         "line": e.line, "reason": str(e)} for e in m.errors
    ]
    if track != "fed":
        return list(m.tasks), failures
    for t in m.tasks:
        if t.ground_truth is None:
            failures.append({"stage": "manifest", "model": "", "judge": "", "task_id": t.task_id, "alpha": np.nan,
                             "line": t.line, "reason": f"task {t.task_id}: the fed track needs ground_truth"})
    return [t for t in m.tasks if t.ground_truth is not None], failures


def _read_sources(tasks: Sequence[Task], track: str) -> tuple[StageStats, dict[str, _Source]]:
    """Stage 1: read and hash every source (and ground truth on the fed track)."""
    t0 = time.perf_counter()
    sources: dict[str, _Source] = {}
    for t in tasks:
        s = _Source(t)
        try:
            s.hash = image_hash(load_image(t.image))
        except Exception as exc:  # noqa: BLE001 - ImageError and friends
            s.error, s.stage = f"source image: {exc}", "source"
        if s.error is None and track == "fed" and t.ground_truth is not None:
            try:
                gt = load_image(t.ground_truth)
                s.gt_hash = image_hash(gt)
            except Exception as exc:  # noqa: BLE001
                s.error, s.stage = f"ground truth: {exc}", "ground_truth"
        sources[t.task_id] = s
    stats = StageStats(planned=len(tasks), computed=sum(s.error is None for s in sources.values()),
                       failed=sum(s.error is not None for s in sources.values()), seconds=time.perf_counter() - t0)
    return stats, sources


def _plan_edits(editors: Sequence[Component], tasks: Sequence[Task], sources: dict[str, _Source],
                grid: Sequence[float]) -> list[_Plan]:
    """Stage 2's items: one plan per (editor, task, alpha), keyed by what determines the edit."""
    plans: list[_Plan] = []
    for comp in editors:
        editor = comp.build()
        fp = comp.fingerprint()
        ctx_names = [n for n, flag in (("task", "uses_task"), ("prompt", "uses_prompt"))
                     if getattr(editor, flag, False)]
        for t in tasks:
            s = sources[t.task_id]
            ctx = tuple((n, t.task_id if n == "task" else t.prompt) for n in ctx_names)
            content = None
            if s.error is None and hasattr(editor, "content_id"):
                content = [_safe_content_id(editor, t, a) for a in grid]
            for i, a in enumerate(grid):
                k = key_of("edit", fp, s.hash, t.expression, a, t.face_box, ctx, content[i] if content else None)
                plans.append(_Plan(comp, t, a, k, s, ctx))
    return plans


def _edit_units(plans: Sequence[_Plan]) -> dict[str, EditUnit]:
    """One unit of work per distinct edit key whose source could be read (the first plan's)."""
    units: dict[str, EditUnit] = {}
    for p in plans:
        if p.src.error is None and p.key not in units:
            units[p.key] = EditUnit(p.editor, ImageRef(path=str(p.task.image)), p.task.expression, p.alpha,
                                    p.task.face_box, p.ctx)
    return units


def _plan_judgements(judges: Sequence[Component], jfps: dict[Component, str], sources: dict[str, _Source],
                     plans: Sequence[_Plan], edit_hash: dict[str, str], st: Store, executor: str,
                     ) -> tuple[dict[tuple[str, str, Any, str | None], str], dict[str, JudgeUnit]]:
    """Stage 3's items: every judge scores every source, ground truth and edit.

    Returns (judge fingerprint, image hash, box, source hash) -> key and one unit per key; the
    source hash only for judges that accept ``source=``: they measure every image of a task (edits,
    ground truth and the source itself) against the task's source image."""
    judge_keys: dict[tuple[str, str, Any, str | None], str] = {}
    units: dict[str, JudgeUnit] = {}
    for j in judges:
        with_source = accepts_source(j.build())
        jobs: list[tuple[str, Any, ImageRef, str | None, ImageRef | None]] = []
        for s in sources.values():
            if s.error is None:
                src = (s.hash, ImageRef(path=str(s.task.image))) if with_source else (None, None)
                jobs.append((s.hash, s.task.face_box, ImageRef(path=str(s.task.image)), *src))
                if s.gt_hash:
                    jobs.append((s.gt_hash, s.task.face_box, ImageRef(path=str(s.task.ground_truth)), *src))
        for p in plans:
            if p.key in edit_hash:
                src = (p.src.hash, ImageRef(path=str(p.task.image))) if with_source else (None, None)
                jobs.append((edit_hash[p.key], p.task.face_box,
                             _ref(st, executor, p.key, ImageRef(path=str(p.task.image)), p.src.hash), *src))
        for h, box, ref, sh, sref in jobs:
            k = key_of("judgement", jfps[j], h, box) if sh is None else key_of("judgement", jfps[j], h, box, sh)
            judge_keys[(jfps[j], h, _box_key(box), sh)] = k
            if k not in units:
                units[k] = JudgeUnit(j, ref, box, sref)
    return judge_keys, units


def _plan_identity(recognisers: Sequence[Component], plans: Sequence[_Plan], edit_hash: dict[str, str], st: Store,
                   executor: str) -> tuple[dict[tuple[str, str], str], dict[str, IdentityUnit], dict[str, float]]:
    """Stage 4's items: every recogniser compares every edit with its source. Returns (recogniser
    label, edit key) -> key, one unit per key to measure, and the keys of edits that returned the
    source's pixels (similarity 1 without measuring)."""
    id_keys: dict[tuple[str, str], str] = {}
    units: dict[str, IdentityUnit] = {}
    identical: dict[str, float] = {}
    for r in recognisers:
        rfp = r.fingerprint()
        for p in plans:
            if p.key not in edit_hash:
                continue
            k = key_of("identity", rfp, p.src.hash, edit_hash[p.key], p.task.face_box)
            id_keys[(r.label, p.key)] = k
            if edit_hash[p.key] == p.src.hash:
                identical[k] = 1.0  # the editor returned the source pixels: same embedding
                continue
            if k not in units:
                src_ref = ImageRef(path=str(p.task.image))
                units[k] = IdentityUnit(r, src_ref, _ref(st, executor, p.key, src_ref, p.src.hash), p.task.face_box)
    return id_keys, units, identical


def _run_stage(ex: Executor, st: Store, kind: str, units: dict[str, Any], planned: set[str],
               fn: Callable[[Any], dict[str, Any]], progress: bool, say: Callable[[str], None] | None,
               store_fn: Callable[[str, dict[str, Any]], None]) -> tuple[StageStats, dict[str, str], dict[str, Any]]:
    """One stage: compute the ``units`` whose key the cache lacks (committing each success), then
    read back every ``planned`` record. Returns the stage's statistics, key -> failure reason and
    key -> record."""
    have = st.has_many(kind, planned)
    todo = {k: u for k, u in units.items() if k not in have}
    fail: dict[str, str] = {}
    desc = {"edit": "edits", "judgement": "judgements"}.get(kind, kind)
    stats = _stage(ex, todo, fn, desc, progress, fail, planned=len(planned), store_fn=store_fn)
    if say is not None:
        say(f"{desc}: {stats.computed} computed, {stats.cached} cached, {stats.failed} failed")
    return stats, fail, st.get_many(kind, planned)


def _run_config(m: Manifest, st: Store, track: str, grid: Sequence[float], editors: Sequence[Component],
                judges: Sequence[Component], recognisers: Sequence[Component], executor: str,
                workers: int) -> dict[str, Any]:
    """What was run (``run.json``'s config; API keys masked)."""
    return {
        "track": track, "alphas": list(grid),
        "editors": [{"label": e.label, "name": e.name, "options": _public(e.options)} for e in editors],
        "judges": [{"label": j.label, "name": j.name, "id": j.build().judge_id(), "judged": list(j.build().judged)}
                   for j in judges],
        "recognisers": [r.label for r in recognisers], "manifest": str(m.path) if m.path else None,
        "tasks": len(m.tasks), "invalid_rows": len(m.errors), "cache": str(st.path), "executor": executor,
        "workers": workers,
    }


def _public(opts: dict[str, Any]) -> dict[str, Any]:
    return {k: ("***" if "key" in k.lower() else v) for k, v in opts.items()}


def _box_key(box: Any) -> Any:
    return None if box is None else tuple(float(v) for v in box)


def _safe_content_id(editor: Any, task: Task, alpha: float) -> str | None:
    try:
        return editor.content_id(task.task_id, task.expression, alpha)
    except Exception:  # noqa: BLE001 - a missing file fails in the edit stage with its reason
        return None


def _identity_failures(plans: list[_Plan], recognisers: Sequence[Component], id_keys: dict[tuple[str, str], str],
                       id_fail: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for p in plans:
        for r in recognisers:
            k = id_keys.get((r.label, p.key))
            if k in id_fail:
                out.append({"stage": "identity", "model": p.editor.label, "judge": "", "task_id": p.task.task_id,
                            "alpha": p.alpha, "line": p.task.line, "reason": f"{r.label}: {id_fail[k]}"})
    return out


def _stage(ex: Executor, todo: dict[str, Any], fn: Callable[[Any], dict[str, Any]], desc: str, progress: bool,
           fail: dict[str, str], *, planned: int, store_fn: Callable[[str, dict[str, Any]], None]) -> StageStats:
    """Run the ``todo`` units of one stage, committing each success as it arrives."""
    keys = list(todo)
    units = [todo[k] for k in keys]
    s = StageStats(planned=planned, cached=planned - len(units))
    t0 = time.perf_counter()
    for i, out in ex.map(fn, units, desc=desc, progress=progress):
        if out.get("ok"):
            store_fn(keys[i], out)
            s.computed += 1
        else:
            fail[keys[i]] = str(out.get("reason", "unknown failure"))
            s.failed += 1
    s.seconds = time.perf_counter() - t0
    return s


def stats_frame(stats: dict[str, StageStats]) -> pd.DataFrame:
    """One row per stage: planned, cached, computed, failed, seconds, per_second."""
    return pd.DataFrame([{"stage": k, "planned": v.planned, "cached": v.cached, "computed": v.computed,
                          "failed": v.failed, "seconds": round(v.seconds, 3), "per_second": v.per_second}
                         for k, v in stats.items()])


def count_stages(stats: dict[str, StageStats]) -> Counter:
    """``Counter`` of computed items per stage (for tests and benchmarks)."""
    return Counter({k: v.computed for k, v in stats.items()})
