"""Run a sweep: plan design points, skip finished ones, batch, execute, store, summarise.

``run_sweep(sweep, out_dir)`` is the Python API behind ``tasim sweep``. Batches group points of the
same workload (so each worker builds it once) and are sized from a short calibration run so that
every task does at least ``min_task_s`` (50 ms) of work, aiming at ``target_task_s``.
"""

from __future__ import annotations

import fcntl
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sweeps.evaluate import Batch, evaluate_batch_table, point_id
from sweeps.progress import Progress
from sweeps.spec import DesignPoint, Sweep, content_hash
from sweeps.store import Store
from workloads.errors import InputError
from workloads.schema import to_dict


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


@dataclass
class PlannedPoint:
    pid: str
    arch_dict: dict[str, Any]
    point: DesignPoint


class Runner:
    """Evaluates planned points through an executor into a store (shared by grid/random and nsga2)."""

    def __init__(self, sweep: Sweep, store: Store, executor: Any, engine: str, *,
                 min_task_s: float = 0.05, target_task_s: float = 0.2, progress: bool | None = None) -> None:
        self.sweep = sweep
        self.store = store
        self.executor = executor
        self.engine = engine
        self.min_task_s = min_task_s
        self.target_task_s = target_task_s
        self.progress_enabled = progress
        self.per_point_s: float | None = None
        self.batch_size = 1
        self.evaluated = 0
        self.errors = 0

    def plan(self, points: Iterable[DesignPoint]) -> list[PlannedPoint]:
        out: list[PlannedPoint] = []
        seen: set[str] = set()
        for p in points:
            arch = self.sweep.arch_dict(p)
            pid = point_id(arch, p.workload, self.engine, self.sweep.spec.evaluator)
            if pid not in seen:
                seen.add(pid)
                out.append(PlannedPoint(pid, arch, p))
        return out

    def _batch(self, pts: list[PlannedPoint]) -> Batch:
        return Batch(
            point_ids=[p.pid for p in pts],
            arch_dicts=[p.arch_dict for p in pts],
            workloads=[p.point.workload for p in pts],
            axes=[p.point.axes for p in pts],
            engine=self.engine,
            evaluator=self.sweep.spec.evaluator,
            arch_name=self.sweep.base_arch.name,
            base_arch=self.sweep.base_arch,
        )

    def _record(self, table: pa.Table) -> int:
        """Store one finished batch; returns the number of design points in it."""
        self.store.write_batch(table)
        if len(table) == 0:
            return 0
        is_total = pc.equal(table.column("row"), "total")
        n = int(pc.sum(is_total).as_py() or 0)
        err = pc.and_(is_total, pc.equal(table.column("status"), "error"))
        self.evaluated += n
        self.errors += int(pc.sum(err).as_py() or 0)
        return n

    def _calibrate(self, todo: list[PlannedPoint], bar: Progress) -> list[PlannedPoint]:
        """Evaluate the first few points in this process (warm-up, then timed) to size batches."""
        if self.per_point_s is not None or not todo:
            return todo
        first, todo = todo[:1], todo[1:]
        self._record(evaluate_batch_table(self._batch(first)))  # warm-up: imports, JIT, workload build
        bar.update(len(first))
        # time points of the already-built workload (a first build would inflate the estimate)
        same = [i for i, p in enumerate(todo) if p.point.workload == first[0].point.workload][:8]
        probe = [todo[i] for i in same]
        taken = set(same)
        todo = [p for i, p in enumerate(todo) if i not in taken]
        if probe:
            t0 = time.perf_counter()
            table = evaluate_batch_table(self._batch(probe))
            self.per_point_s = max((time.perf_counter() - t0) / len(probe), 1e-6)
            self._record(table)
            bar.update(len(probe))
        else:
            self.per_point_s = 1e-3
        return todo

    def _size(self, n_todo: int) -> int:
        t = self.per_point_s or 1e-3
        lo = math.ceil(self.min_task_s / t)
        want = math.ceil(self.target_task_s / t)
        spread = math.ceil(n_todo / (4 * max(1, self.executor.workers)))  # >= 4 tasks per worker
        return max(1, lo, min(want, spread))

    def evaluate(self, planned: list[PlannedPoint], bar: Progress) -> None:
        todo = self._calibrate(list(planned), bar)  # plan order: arch-major, workloads cached per process
        if not todo:
            return
        self.batch_size = self._size(len(todo))
        batches = [self._batch(todo[i:i + self.batch_size]) for i in range(0, len(todo), self.batch_size)]
        for _i, table in self.executor.map_unordered(evaluate_batch_table, batches):
            bar.update(self._record(table))


def spec_fingerprint(sweep: Sweep, engine: str) -> str:
    return content_hash({"spec": to_dict(sweep.spec), "engine": engine, "base": sweep.base_arch_dict})


def run_sweep(
    sweep: Sweep,
    out_dir: str | Path,
    *,
    executor: Any = None,
    engine: str | None = None,
    progress: bool | None = None,
    min_task_s: float = 0.05,
    target_task_s: float = 0.2,
) -> SweepSummary:
    """Run (or resume) a sweep into ``out_dir``; returns the summary. Finished points are skipped."""
    from sweeps.evaluate import tasim_build
    from sweeps.executors import LocalExecutor

    engine = engine or sweep.spec.engine
    own_executor = executor is None
    executor = executor or LocalExecutor()
    store = Store(out_dir)
    lock = open(store.dir / ".lock", "w")  # noqa: SIM115 - held for the whole run
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError("another tasim sweep is writing to this directory", source=str(out_dir)) from None
        fingerprint = spec_fingerprint(sweep, engine)
        old = store.read_meta()
        if old and old.get("fingerprint") != fingerprint and store.part_files():
            raise InputError(
                "holds results of a different sweep spec or engine (choose a new -o DIR or delete this one)",
                source=str(out_dir),
            )
        if old and old.get("tasim_version") != tasim_build() and store.part_files():
            raise InputError(
                f"holds results of another tasim build ({old.get('tasim_version')}, this is {tasim_build()}; "
                "choose a new -o DIR or delete this one)",
                source=str(out_dir),
            )
        store.write_meta({
            "name": sweep.spec.name, "source": sweep.source, "spec": to_dict(sweep.spec), "engine": engine,
            "fingerprint": fingerprint, "tasim_version": tasim_build(), "base_arch": sweep.base_arch.name,
            "axis_columns": sweep.axis_columns, "objectives": sweep.objectives,
            "constraints": [c.text for c in sweep.constraints], "grid_size": sweep.grid_size(),
            "strategy": to_dict(sweep.spec.strategy),
        })
        runner = Runner(sweep, store, executor, engine, min_task_s=min_task_s, target_task_s=target_task_s,
                        progress=progress)
        t0 = time.perf_counter()
        if sweep.spec.strategy.kind == "nsga2":
            from sweeps.search import run_nsga2

            planned_n, skipped = run_nsga2(sweep, runner)
        else:
            planned = runner.plan(sweep.points())
            done = store.finished_ids()
            todo = [p for p in planned if p.pid not in done]
            planned_n, skipped = len(planned), len(planned) - len(todo)
            bar = Progress(len(todo), sweep.spec.name, progress)
            try:
                runner.evaluate(todo, bar)
            finally:
                bar.close()
        store.compact()
        wall = time.perf_counter() - t0
        return SweepSummary(sweep.spec.name, str(out_dir), planned_n, skipped, runner.evaluated, runner.errors,
                            wall, executor.describe(), runner.batch_size)
    finally:
        if own_executor:
            executor.close()
        lock.close()
