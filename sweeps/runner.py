"""Run a sweep: plan design points by index, skip stored ones, batch, execute, store, summarise.

``run_sweep(sweep, out_dir)`` is the Python API behind ``tasim sweep``. Nothing is materialised per
design point in the driver: tasks are ``(workload, arch indices)`` of a :class:`sweeps.plan.Plan`;
workers derive the points, their ids and their rows, skip the ones already stored, and return each
task's rows as a ready Parquet file that the driver renames into place. The driver holds 8 bytes per
design point (the ids, for resume and for the current-points list).

Batches are sized from a short calibration in the driver (probes of growing size until one takes
``min_task_s``) so that every task does about ``target_task_s`` of work, with at least 4 tasks per
worker. Re-running with an edited spec (more axis values, another model) reuses every stored point
whose content hash is unchanged and computes only the others.
"""

from __future__ import annotations

import fcntl
import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from sweeps.evaluate import Context, TaskResult, run_task
from sweeps.plan import Plan, Task, random_indices
from sweeps.progress import Progress, duration
from sweeps.spec import Sweep, content_hash
from sweeps.store import Store
from workloads.errors import InputError
from workloads.schema import to_dict

MAX_TASK_POINTS = 20_000  # bounds a worker's memory per task (rows of ~9 x 60 columns per point)


@dataclass
class SweepSummary:
    name: str
    out_dir: str
    planned: int
    skipped: int
    evaluated: int
    errors: int
    wall_s: float
    executor: str
    batch_size: int

    @property
    def points_per_min(self) -> float:
        return 60.0 * self.evaluated / self.wall_s if self.wall_s > 0 else 0.0

    def line(self) -> str:
        if self.evaluated == 0:
            return (f"sweep {self.name}: all {self.planned} design points already done "
                    f"({self.wall_s:.1f} s) -> {self.out_dir}")
        return (
            f"sweep {self.name}: {self.planned} design points ({self.skipped} already done, "
            f"{self.evaluated} simulated, {self.errors} errors) in {self.wall_s:.1f} s = "
            f"{self.points_per_min:,.0f} points/min on {self.executor} (batches of {self.batch_size}) -> {self.out_dir}"
        )


class _Cursor:
    """Arch indices still to hand out, per workload (a range for grids, an array for random)."""

    def __init__(self, plan: Plan, per_workload: list[np.ndarray] | None) -> None:
        self.plan = plan
        self.per_workload = per_workload
        self.pos = [0] * plan.n_workloads
        self.count = 0

    def left(self, w: int) -> int:
        total = self.plan.n_archs if self.per_workload is None else len(self.per_workload[w])
        return total - self.pos[w]

    def remaining(self) -> int:
        if self.per_workload is None:
            return sum(self.plan.n_archs - p for p in self.pos)
        return sum(len(a) - p for a, p in zip(self.per_workload, self.pos))

    def take(self, w: int, n: int) -> Task | None:
        p = self.pos[w]
        if self.per_workload is None:
            stop = min(p + n, self.plan.n_archs)
            archs = np.arange(p, stop, dtype=np.int64)
        else:
            archs = self.per_workload[w][p:p + n]
        if len(archs) == 0:
            return None
        self.pos[w] = p + len(archs)
        self.count += 1
        return Task(self.count - 1, w, archs)

    def tasks(self, size: int) -> Iterator[Task]:
        for w in range(self.plan.n_workloads):
            while True:
                t = self.take(w, size)
                if t is None:
                    break
                yield t


class Runner:
    """Evaluates tasks through an executor into a store (shared by grid/random and nsga2)."""

    def __init__(self, sweep: Sweep, store: Store, executor: Any, engine: str, *,
                 min_task_s: float = 0.05, target_task_s: float = 0.5, progress: bool | None = None,
                 batched: bool = True, progress_every_s: float = 10.0) -> None:
        from sweeps.evaluate import tasim_build

        self.sweep = sweep
        self.store = store
        self.executor = executor
        self.engine = engine
        self.min_task_s = min_task_s
        self.target_task_s = target_task_s
        self.progress_enabled = progress
        self.progress_every_s = progress_every_s
        self.plan = Plan(sweep, engine, tasim_build())
        self.ctx = Context(self.plan, None, batched)
        self.per_point_s: float | None = None
        self.task_fixed_s = 0.0
        self.batch_size = 1
        self.evaluated = 0
        self.errors = 0
        self.seen: list[np.ndarray] = []  # ids of every planned point (evaluated or stored)
        self.calibration: list[tuple[Task, TaskResult]] = []
        self._started = False

    # ---- bookkeeping --------------------------------------------------------------------------------
    def _record(self, r: TaskResult) -> int:
        if r.data is not None:
            self.store.write_bytes(r.data)
        self.seen.append(r.pids)
        self.evaluated += r.evaluated
        self.errors += r.errors
        return len(r.pids)

    def _local(self, task: Task) -> TaskResult:
        return run_task(task, self.ctx)

    # ---- calibration ---------------------------------------------------------------------------------
    def _calibrate(self, cursor: _Cursor, bar: Progress) -> None:
        """Warm up in this process (imports, kernels, the workload), then probes of 8, 64, 512 and 4096
        points until one takes ``min_task_s``: the last two give the fixed cost of a task and the cost
        of a point at a realistic batch size (``t = fixed + n * per_point``)."""
        if self.per_point_s is not None:
            return
        w = next((i for i in range(self.plan.n_workloads) if cursor.left(i) > 0), 0)
        first = cursor.take(w, 1)
        if first is None:
            return
        bar.update(self._record(self._local(first)))
        probes: list[tuple[int, float]] = []
        sizes = (2, 8, 64, 512) if self.engine == "cycle" else (8, 64, 512, 4096)  # cycle: ~1 s a point
        for size in sizes:
            t = cursor.take(w, size)
            if t is None:
                break
            t0 = time.perf_counter()
            r = self._local(t)
            dt = time.perf_counter() - t0
            bar.update(self._record(r))
            self.calibration.append((t, r))
            if r.evaluated:
                probes.append((r.evaluated, dt))
            if dt >= max(4 * self.min_task_s, 0.2):
                break
        if not probes:
            self.per_point_s, self.task_fixed_s = 1e-3, 0.0
        else:  # the largest probe: cost per point at that batch size, fixed cost of a task included
            n1, t1 = probes[-1]
            self.per_point_s = max(t1 / n1, 1e-7)
            if len(probes) > 1 and n1 > probes[-2][0]:
                n0, t0_ = probes[-2]
                self.task_fixed_s = min(max(t1 - n1 * (t1 - t0_) / (n1 - n0), 0.0), t1)

    def _size(self, n_todo: int) -> int:
        """Points per task: about ``target_task_s`` of work (up to 2 s for long sweeps), the fixed cost
        of a task at most a fifth of it, at least 4 tasks per worker, at most MAX_TASK_POINTS."""
        t = self.per_point_s or 1e-3
        workers = max(1, self.executor.workers)
        target = min(max(self.target_task_s, n_todo * t / workers / 100), 2.0)
        lo = math.ceil(max(self.min_task_s, 4 * self.task_fixed_s) / t)
        want = math.ceil(target / t)
        spread = math.ceil(n_todo / (4 * workers))
        return int(max(1, min(MAX_TASK_POINTS, max(lo, min(want, spread)))))

    def _start(self) -> None:
        if not self._started:
            start = getattr(self.executor, "start", None)
            if start is not None:
                start(self.ctx)
            self._started = True

    def run_tasks(self, tasks: Iterable[Task], bar: Progress,
                  on_result: Callable[[TaskResult], Any] | None = None) -> None:
        self._start()
        for r in self.executor.map_unordered(run_task, tasks, self.ctx):
            bar.update(self._record(r))
            if on_result is not None:
                on_result(r)

    def run_cursor(self, cursor: _Cursor, bar: Progress, log: TextIO | None) -> None:
        self._calibrate(cursor, bar)
        left = cursor.remaining()
        if log is not None and self.engine == "cycle":
            self._engine_note(log)
        if left <= 0:
            return
        self.batch_size = self._size(left)
        est = left * (self.per_point_s or 0.0) / max(1, self.executor.workers)
        if log is not None and (self.engine == "cycle" or est > 30):
            log.write(f"sweep {self.sweep.spec.name}: {left:,} more design points at ~{_fmt_s(self.per_point_s)} "
                      f"per point on {self.executor.describe()}: about {duration(est)}\n")
            log.flush()
        self.run_tasks(cursor.tasks(self.batch_size), bar)

    def _engine_note(self, log: TextIO) -> None:
        """Cycle engine: evaluate the calibration points analytically too; say so if totals are equal."""
        cols = ("cycles", "latency_s", "energy_pj", "dram_bytes")
        ana_ctx = Context(Plan(self.sweep, "analytical", self.plan.build), None, self.ctx.batched)
        checked = same = 0
        t_cyc = t_ana = 0.0
        for task, r in self.calibration:
            if r.totals is None or not r.evaluated:
                continue
            t0 = time.perf_counter()
            a = run_task(task, ana_ctx)
            t_ana += time.perf_counter() - t0
            t_cyc += r.eval_s
            if a.totals is None:
                continue
            cyc = r.totals.to_pandas().set_index("point_id")
            ana = a.totals.to_pandas().set_index("point_id")
            cyc_ids = self.plan.point_ids(task.workload, task.archs)[0]
            ana_ids = ana_ctx.plan.point_ids(task.workload, task.archs)[0]
            for pc_, pa_ in zip(cyc_ids, ana_ids):
                if pc_ not in cyc.index or pa_ not in ana.index or cyc.at[pc_, "status"] != "ok":
                    continue
                checked += 1
                same += all(c not in cyc or c not in ana or np.isclose(cyc.at[pc_, c], ana.at[pa_, c], rtol=1e-12, atol=0)
                            for c in cols)
        if checked and same == checked:
            speed = f", about {t_cyc / t_ana:.0f}x faster" if t_ana > 0 else ""
            log.write(f"note: on the {checked} design points sampled the analytical engine gives the same totals "
                      f"(cycles, latency, energy, DRAM bytes){speed}: --engine analytical would do\n")
        elif checked:
            log.write(f"note: the analytical engine's totals differ from the cycle engine's on {checked - same} of "
                      f"the {checked} design points sampled\n")
        log.flush()

    def current_ids(self) -> np.ndarray:
        """Every planned point's id (the per-task arrays are released: 8 bytes a point, held once)."""
        out = np.concatenate(self.seen) if self.seen else np.zeros(0, np.uint64)
        self.seen = [out]
        return out


def _fmt_s(s: float | None) -> str:
    if not s:
        return "?"
    return f"{s * 1e3:.2f} ms" if s < 1 else f"{s:.1f} s"


def spec_fingerprint(sweep: Sweep, engine: str) -> str:
    return content_hash({"spec": to_dict(sweep.spec), "engine": engine, "base": sweep.base_arch_dict,
                         "evaluator": sweep.evaluator_id})


def run_sweep(
    sweep: Sweep,
    out_dir: str | Path,
    *,
    executor: Any = None,
    engine: str | None = None,
    progress: bool | None = None,
    min_task_s: float = 0.05,
    target_task_s: float = 0.5,
    batched: bool = True,
    log: TextIO | None = None,
    progress_every_s: float = 10.0,
) -> SweepSummary:
    """Run (or resume, or extend) a sweep into ``out_dir``; returns the summary.

    Points already stored (same content hash: same resolved arch, workload, engine, evaluator and
    tasim build) are skipped, whatever spec stored them; everything else is simulated.
    """
    from sweeps.evaluate import tasim_build
    from sweeps.executors import LocalExecutor

    engine = engine or sweep.spec.engine
    own_executor = executor is None
    executor = executor or LocalExecutor()
    store = Store(out_dir)
    lock = open(store.dir / ".lock", "w")  # noqa: SIM115 - held for the whole run
    quiet = progress is False
    log = None if quiet else (log or sys.stderr)
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError("another tasim sweep is writing to this directory", source=str(out_dir)) from None
        fingerprint = spec_fingerprint(sweep, engine)
        old = store.read_meta()
        has_parts = bool(store.part_files())
        if old and has_parts and (old.get("fingerprint") != fingerprint or old.get("tasim_version") != tasim_build()):
            if log is not None:
                why = "another spec or engine" if old.get("fingerprint") != fingerprint else "another tasim build"
                log.write(f"sweep {sweep.spec.name}: extending {out_dir} (it holds results of {why}): stored points "
                          "with the same content hash are reused, the others are simulated\n")
        store.forget_current()  # until this run completes, readers show every stored point
        store.write_meta({
            "name": sweep.spec.name, "source": sweep.source, "spec": to_dict(sweep.spec), "engine": engine,
            "fingerprint": fingerprint, "tasim_version": tasim_build(), "base_arch": sweep.base_arch.name,
            "axis_columns": sweep.axis_columns, "objectives": sweep.objectives,
            "constraints": [c.text for c in sweep.constraints], "grid_size": sweep.grid_size(),
            "strategy": to_dict(sweep.spec.strategy),
        })
        runner = Runner(sweep, store, executor, engine, min_task_s=min_task_s, target_task_s=target_task_s,
                        progress=progress, batched=batched, progress_every_s=progress_every_s)
        t0 = time.perf_counter()
        done = store.finished_ints() if has_parts else None
        runner.ctx.done = done if done is not None and done.size else None
        n_done_before = 0 if done is None else int(done.size)
        if sweep.spec.strategy.kind == "nsga2":
            from sweeps.search import run_nsga2

            planned_n, skipped = run_nsga2(sweep, runner)
        else:
            plan = runner.plan
            per_w = None
            if sweep.spec.strategy.kind == "random":
                idx = random_indices(plan.size, sweep.spec.strategy.n, sweep.spec.strategy.seed)
                per_w = [idx[idx % plan.n_workloads == w] // plan.n_workloads for w in range(plan.n_workloads)]
            cursor = _Cursor(plan, per_w)
            planned_n = cursor.remaining()
            bar = Progress(planned_n, sweep.spec.name, progress, progress_every_s, stream=log)
            try:
                runner.run_cursor(cursor, bar, log)
            finally:
                bar.close()
            skipped = planned_n - runner.evaluated
        del n_done_before
        store.compact(log=log)
        store.write_current(runner.current_ids())
        wall = time.perf_counter() - t0
        return SweepSummary(sweep.spec.name, str(out_dir), planned_n, skipped, runner.evaluated, runner.errors,
                            wall, executor.describe(), runner.batch_size)
    finally:
        if own_executor:
            executor.close()
        lock.close()
