"""Evaluate design points: build (and cache) the workload, simulate it, turn the result into tidy rows.

This is the code that runs inside executor tasks. A task is a :class:`Batch` of design points; the
answer is one DataFrame with, per point, one ``row == "total"`` row (the result totals plus
every derived metric of :mod:`simulator.metrics` and the ``fidelity_minilm`` proxy of its recipe) and one ``row == "op_kind"`` row per
op kind (sums of the per-op table). A point whose simulation raises gets a single total row with
``status == "error"`` and the exception text in ``error``; the batch goes on.

Workloads are built once per (model, shape, phase, recipe) per process and reused across every
accelerator of the batch: building and compressing a transformer costs more than simulating it
analytically.
"""

from __future__ import annotations

import math
import time
import traceback
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sweeps.evaluators import (  # noqa: F401 - the evaluator API, re-exported
    EVALUATOR_GROUP,
    Evaluator,
    evaluator_id,
    installed_evaluators,
    resolve_evaluator,
    simulate_point,
)
from sweeps.spec import content_hash
from sweeps.workload_build import WorkloadKey, build_workload_cached, identity

# Arch fields every row carries (whatever the axes), so plots can always group by them.
ARCH_INFO_COLUMNS: tuple[str, ...] = (
    "array.rows", "array.cols", "array.dataflow", "array.freq_mhz", "pe.precision_mode", "pe.native_bits",
    "pe.sparsity", "dram.kind", "dram.bandwidth_gbps", "tech.node_nm",
)
WORKLOAD_COLUMNS: tuple[str, ...] = ("model", "seq_len", "phase", "batch", "context", "new_tokens", "recipe", "file")
# Per-op columns summed into op-kind rows (when the simulator reports them).
OP_SUM_COLUMNS: tuple[str, ...] = ("cycles", "stall_cycles", "latency_s", "energy_pj", "dram_bytes", "macs")



@lru_cache(maxsize=1)
def tasim_build() -> str:
    """The tasim build that keys stored results: the version plus a digest of the model sources.

    The digest covers every file that can change a simulated figure (``simulator/**/*.py``,
    ``workloads/**/*.py``, the shipped arch, zoo and recipe YAML), so results of an edited model are
    never mistaken for current ones on resume. It is computed once per process, in the process that
    plans the sweep (point ids are made there), so it is stable for a whole run.
    """
    import hashlib

    import simulator
    import workloads
    from simulator import __version__

    h = hashlib.sha256()
    roots = [Path(simulator.__file__).parent, Path(workloads.__file__).parent]
    arch_dir = Path(simulator.__file__).parent.parent / "arch_configs"
    files: list[tuple[str, Path]] = []
    for root in roots:
        files += [(f"{root.name}/{f.relative_to(root)}", f) for f in root.rglob("*") if f.suffix in (".py", ".yaml")]
    if arch_dir.is_dir():
        files += [(f"arch_configs/{f.name}", f) for f in arch_dir.glob("*.yaml")]
    for rel, f in sorted(files):
        h.update(rel.encode())
        h.update(f.read_bytes())
    return f"{__version__}+{h.hexdigest()[:12]}"


def point_id(arch_dict: dict[str, Any], workload: WorkloadKey, engine: str, evaluator: str = "") -> str:
    """Content hash of (arch, workload, recipe, engine, tasim build, evaluator) -- the store's primary key;
    ``evaluator``: its :func:`evaluator_id` ('' for the simulator)."""
    wl = identity(workload)
    return content_hash({"arch": arch_dict, "workload": wl, "engine": engine, "version": tasim_build(),
                         "evaluator": evaluator})


# ---- workload construction -------------------------------------------------------------------------


@lru_cache(maxsize=64)
def recipe_fidelity_minilm(recipe: str) -> float:
    """The MiniLM fidelity proxy of a recipe (1.0 uncompressed; NaN if not measured)."""
    if recipe in ("", "none"):
        return 1.0
    try:
        from workloads.fidelity import recipe_fidelity
    except ImportError:
        return math.nan
    try:
        value = recipe_fidelity(recipe)
    except Exception:  # noqa: BLE001 - an unmeasured recipe has no accuracy, it is not a failed point
        return math.nan
    return math.nan if value is None else float(value)


@lru_cache(maxsize=256)
def published_columns(model: str, recipe: str) -> tuple[float, float, str]:
    """(accuracy_published, perplexity_published, accuracy_source) of a (model, recipe) pair."""
    from workloads.published import published

    row = published(model, recipe)
    if row is None:
        return math.nan, math.nan, ""
    if row.is_perplexity:
        return math.nan, row.value, row.citation()
    return row.value, math.nan, row.citation()


def quality_columns(wl: WorkloadKey) -> dict[str, Any]:
    """Quality figures of a workload that are looked up, not simulated (docs/metrics.md)."""
    acc, ppl, src = published_columns(wl.model, wl.recipe)
    return {"fidelity_minilm": recipe_fidelity_minilm(wl.recipe), "accuracy_published": acc,
            "perplexity_published": ppl, "accuracy_source": src}


# ---- rows ------------------------------------------------------------------------------------------


def _scalar(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


def total_row(totals: dict[str, Any], quality: dict[str, float]) -> dict[str, Any]:
    """One flat total row: totals (breakdowns as ``energy_<c>_pj`` / ``area_<c>_mm2`` columns), the
    derived metrics of :mod:`simulator.metrics` (for evaluators that do not add them) and ``quality``
    (``fidelity_minilm``, ...)."""
    from simulator.metrics import derive

    row: dict[str, Any] = {}
    for k, v in totals.items():
        if isinstance(v, dict):
            if k == "energy_breakdown_pj":
                for comp, e in v.items():
                    row[f"energy_{comp}_pj"] = float(e)
            elif k == "area_breakdown_mm2":
                for comp, a in v.items():
                    row[f"area_{comp}_mm2"] = float(a)
            continue
        v = _scalar(v)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            row[k] = float(v)
        elif isinstance(v, (str, bool)):
            row[k] = v
    row = derive(row)
    row.update(quality)
    return row


@lru_cache(maxsize=256)
def _kind_codes(kinds: tuple[str, ...]) -> tuple[np.ndarray, tuple[str, ...]]:
    uniq = tuple(sorted(set(kinds)))
    pos = {k: i for i, k in enumerate(uniq)}
    return np.array([pos[k] for k in kinds], dtype=np.int64), uniq


def op_kind_sums(ops: Any) -> tuple[tuple[str, ...], list[str], np.ndarray]:
    """(op kinds, summed columns, sums[kind, column]) of a per-op table (DataFrame or column mapping)."""
    if ops is None or "kind" not in ops or len(ops["kind"]) == 0:
        return (), [], np.zeros((0, 0))
    names = list(ops.columns) if isinstance(ops, pd.DataFrame) else list(ops)
    cols = [c for c in names if c in OP_SUM_COLUMNS or (c.startswith("energy_") and c.endswith("_pj"))]
    codes, kinds = _kind_codes(tuple(ops["kind"]))
    values = np.stack([np.asarray(ops[c], dtype=float) for c in cols], axis=1) if cols else np.zeros((len(codes), 0))
    values = np.where(np.isnan(values), 0.0, values)
    sums = np.zeros((len(kinds), len(cols)))
    np.add.at(sums, codes, values)
    return kinds, cols, sums


def op_kind_rows(ops: Any) -> list[dict[str, Any]]:
    """Sum the per-op table (DataFrame or mapping of columns) by op kind (numeric figures only)."""
    kinds, cols, sums = op_kind_sums(ops)
    return [{"op_kind": k, **dict(zip(cols, sums[i].tolist()))} for i, k in enumerate(kinds)]


# ---- tasks: design points by index -> one Parquet part ------------------------------------------------


@dataclass
class Context:
    """What every task of a run shares (sent to each worker once): the plan and the finished ids."""

    plan: Any  # sweeps.plan.Plan
    done: np.ndarray | None = None  # sorted uint64 ids already stored (skipped), None: nothing stored
    batched: bool = True  # evaluate points of a task together (simulator.batch) where supported


@dataclass
class TaskResult:
    """A finished task: its rows as Parquet bytes (written by the driver as one part file), the ids of
    every point of the task (evaluated or already stored) and counts."""

    index: int
    data: bytes | None
    pids: np.ndarray
    evaluated: int
    errors: int
    eval_s: float
    totals: Any = None  # Arrow table of the total rows' figures (for incremental fronts), or None


def _is_done(ints: np.ndarray, done: np.ndarray | None) -> np.ndarray:
    if done is None or done.size == 0:
        return np.zeros(ints.size, dtype=bool)
    pos = np.searchsorted(done, ints)
    pos[pos >= done.size] = done.size - 1
    return done[pos] == ints


_ARCH_CACHE: dict[Any, Any] = {}


def arch_for(plan: Any, axes: tuple[tuple[str, Any], ...]) -> Any:
    """The ArchSpec of a point: nested ``dataclasses.replace`` of the validated base with the (validated)
    axis values (``__post_init__`` checks still run), cached per process."""
    from sweeps.spec import replace_path

    key = (plan.build, plan.arch_name, id(plan.base_arch), axes)
    try:
        arch = _ARCH_CACHE.get(key)
    except TypeError:  # unhashable axis value
        return replace_path(plan.base_arch, dict(axes))
    if arch is None:
        if len(_ARCH_CACHE) > 8192:
            _ARCH_CACHE.clear()
        arch = replace_path(plan.base_arch, dict(axes))
        _ARCH_CACHE[key] = arch
    return arch


class _Rows:
    """Column-wise builder of a task's tidy rows (totals first, then the op-kind rows).

    Rows refer to the task's points by position (``digits``: each point's position on every axis), so
    the input columns are gathered from the plan's axis values, never from per-point dicts.
    """

    def __init__(self, plan: Any, workload: WorkloadKey, pids: list[str], digits: np.ndarray) -> None:
        self.plan = plan
        self.wk = workload
        self.all_pids = pids
        self.digits = digits
        self.order: list[int] = []  # point position of each total row
        self.status: list[str] = []
        self.error: list[str] = []
        self.eval_s: list[float] = []
        self.point_figs: list[tuple[int, dict[str, Any]]] = []  # (row, figures) of point-by-point rows
        self.batch_figs: list[tuple[int, int, dict[str, np.ndarray]]] = []  # (first row, n, columns)
        self.kind_parts: list[tuple[np.ndarray, tuple[str, ...], list[str], np.ndarray]] = []

    def ok(self, i: int, row: dict[str, Any], dt: float) -> None:
        self.point_figs.append((len(self.order), row))
        self._add(i, "ok", "", dt)

    def ok_many(self, idx: list[int], cols: dict[str, np.ndarray], dt: float) -> None:
        self.batch_figs.append((len(self.order), len(idx), cols))
        for i in idx:
            self._add(i, "ok", "", dt)

    def fail(self, i: int, msg: str) -> None:
        self._add(i, "error", msg[:500], math.nan)

    def _add(self, i: int, status: str, error: str, dt: float) -> None:
        self.order.append(i)
        self.status.append(status)
        self.error.append(error)
        self.eval_s.append(dt)

    def kinds(self, kinds: tuple[str, ...], cols: list[str], sums: np.ndarray) -> None:
        """Op-kind sums (kinds x cols) of the last total row."""
        if kinds:
            self.kind_parts.append((np.full(len(kinds), len(self.order) - 1), kinds, cols, sums))

    def kinds_many(self, first_row: int, n: int, kinds: tuple[str, ...], cols: list[str], sums: np.ndarray) -> None:
        """Op-kind sums (n x kinds x cols) of total rows first_row .. first_row + n - 1."""
        if kinds and n:
            rows = np.repeat(np.arange(first_row, first_row + n), len(kinds))
            self.kind_parts.append((rows, kinds * n, cols, sums.reshape(n * len(kinds), -1)))

    def __len__(self) -> int:
        return len(self.order)

    def _base(self) -> dict[str, Any]:
        """Input columns of the total rows: point id, workload, engine, arch fields, axes."""
        import pyarrow as pa

        from sweeps.spec import get_path

        plan, wk = self.plan, self.wk
        n = len(self.order)
        order = np.asarray(self.order, dtype=np.int64)
        cols: dict[str, Any] = {"point_id": pa.array([self.all_pids[i] for i in self.order], pa.string())}
        wl = wk.as_dict()
        for c in WORKLOAD_COLUMNS:
            typ = pa.string() if c in ("model", "phase", "recipe", "file") else (pa.float64() if c == "context" else pa.int64())
            cols[c] = pa.array([wl[c]] * n, typ)
        cols["engine"] = pa.array([plan.engine] * n, pa.string())
        cols["arch"] = pa.array([plan.arch_name] * n, pa.string())
        axis: dict[str, Any] = {}
        dig = self.digits[order] if n else np.zeros((0, len(plan.dims)), dtype=np.int64)
        for d, dim in enumerate(plan.dims):
            for j, (path, _) in enumerate(dim[0]):
                values = np.empty(len(dim), dtype=object)
                values[:] = [combo[j][1] for combo in dim]
                axis[path] = pa.array(values[dig[:, d]].tolist())
        for c in ARCH_INFO_COLUMNS:
            cols[c] = axis[c] if c in axis else pa.array([get_path(plan.base_arch, c)] * n)
        for c in plan.axis_columns:
            if c not in cols:
                cols[c] = axis[c]
        return cols

    def _figures(self, n: int) -> dict[str, Any]:
        import pyarrow as pa

        names: dict[str, None] = {}
        for _, row in self.point_figs:
            names.update(dict.fromkeys(row))
        for _, _, cols in self.batch_figs:
            names.update(dict.fromkeys(cols))
        out: dict[str, Any] = {}
        for c in names:
            if any(c in row and not _is_number(row[c]) for _, row in self.point_figs) or any(
                    c in cols and np.asarray(cols[c]).dtype == object for _, _, cols in self.batch_figs):
                values: list[Any] = [None] * n
                for r, row in self.point_figs:
                    values[r] = row.get(c)
                for r0, k, cols in self.batch_figs:
                    if c in cols:
                        values[r0:r0 + k] = cols[c].tolist()
                out[c] = _fig_array(values)
                continue
            arr = np.full(n, np.nan)
            for r, row in self.point_figs:
                if c in row:
                    arr[r] = float(row[c])
            for r0, k, cols in self.batch_figs:
                if c in cols:
                    arr[r0:r0 + k] = cols[c]
            out[c] = pa.array(arr, pa.float64())
        return out

    def table(self) -> Any:
        import pyarrow as pa

        n = len(self.order)
        base = self._base()
        cols = dict(base)
        cols["row"] = pa.array(["total"] * n, pa.string())
        cols["op_kind"] = pa.array([""] * n, pa.string())
        cols["status"] = pa.array(self.status, pa.string())
        cols["error"] = pa.array(self.error, pa.string())
        cols.update(self._figures(n))
        cols["eval_s"] = pa.array(self.eval_s, pa.float64())
        tables = [pa.table(cols)]
        groups: dict[tuple[str, ...], list] = {}
        for part in self.kind_parts:
            groups.setdefault(tuple(part[2]), []).append(part)
        for names, group in groups.items():
            rep = pa.array(np.concatenate([rows for rows, _, _, _ in group]))
            kc = {c: v.take(rep) for c, v in base.items()}
            m = len(rep)
            kc["row"] = pa.array(["op_kind"] * m, pa.string())
            kc["op_kind"] = pa.array([k for _, kinds, _, _ in group for k in kinds], pa.string())
            kc["status"] = pa.array(["ok"] * m, pa.string())
            kc["error"] = pa.array([""] * m, pa.string())
            sums = np.concatenate([s for _, _, _, s in group], axis=0)
            for j, c in enumerate(names):
                kc[c] = pa.array(np.ascontiguousarray(sums[:, j]), pa.float64())
            tables.append(pa.table(kc))
        return pa.concat_tables(tables, promote_options="default") if len(tables) > 1 else tables[0]


def _is_number(v: Any) -> bool:
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))


def _fig_array(values: list[Any]) -> Any:
    import pyarrow as pa

    kinds = {type(v) for v in values if v is not None}
    if kinds <= {float, int}:
        return pa.array([math.nan if v is None else float(v) for v in values], pa.float64())
    if kinds == {bool}:
        return pa.array(values, pa.bool_())
    return pa.array([None if v is None else str(v) for v in values], pa.string())


def run_task(task: Any, ctx: Context) -> TaskResult:
    """Evaluate the not-yet-stored points of a task; never raises for a failing point (error rows).

    Points of the default evaluator go through :func:`simulator.batch.simulate_batch` (all designs of
    the task at once) when the batch model supports the engine; everything else, point by point.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    t_start = time.perf_counter()
    plan = ctx.plan
    wk = plan.workloads[task.workload]
    hexes, ints = plan.point_ids(task.workload, task.archs)
    todo = np.flatnonzero(~_is_done(ints, ctx.done))
    rows = _Rows(plan, wk, hexes, plan.digits(task.archs))
    if todo.size:
        if not (not plan.evaluator and ctx.batched and _evaluate_batched(plan, wk, todo.tolist(), rows)):
            _evaluate_points(plan, wk, todo.tolist(), rows)
    data = None
    totals = None
    errors = sum(1 for s in rows.status if s == "error")
    if len(rows):
        table = rows.table()
        sink = pa.BufferOutputStream()
        n_tot = len(rows)
        with pq.ParquetWriter(sink, table.schema, compression="zstd") as w:
            w.write_table(table.slice(0, n_tot), row_group_size=max(n_tot, 1))  # totals: own row group(s)
            if table.num_rows > n_tot:
                w.write_table(table.slice(n_tot), row_group_size=max(table.num_rows - n_tot, 1))
        data = sink.getvalue().to_pybytes()
        totals = table.slice(0, n_tot)
    return TaskResult(task.index, data, ints, len(rows), errors, time.perf_counter() - t_start, totals)


def _evaluate_points(plan: Any, wk: WorkloadKey, todo: list[int], rows: _Rows) -> None:
    evaluator = resolve_evaluator(plan.evaluator)
    quality = None
    for i in todo:
        t0 = time.perf_counter()
        try:
            arch = arch_for(plan, plan.axes_of(rows.digits[i]))
            tot, ops = evaluator(arch, wk, plan.engine)
            if quality is None:
                quality = quality_columns(wk)
            row = total_row(tot, quality)
            kinds, cols, sums = op_kind_sums(ops)
        except Exception as exc:  # noqa: BLE001 - recorded, the sweep goes on
            rows.fail(i, _error_text(exc))
            continue
        rows.ok(i, row, time.perf_counter() - t0)
        rows.kinds(kinds, cols, sums)


def _evaluate_batched(plan: Any, wk: WorkloadKey, todo: list[int], rows: _Rows) -> bool:
    """All points of one workload at once through :mod:`simulator.batch`; False if not supported."""
    try:
        from simulator.batch import simulate_batch, supports
    except ImportError:
        return False
    if not supports(plan.engine):
        return False
    archs: list[Any] = []
    ok_idx: list[int] = []
    from sweeps.spec import replace_path

    base = plan.base_arch
    # two stages: one template per combination of the other axes (their checks run there), then the
    # array shape per point (no cross-field check involves it); designs of one template share every
    # sub-spec but the array, so simulator.group resolves their memory hierarchy once
    shape_dims = [d for d, dim in enumerate(plan.dims) if all(p in _SHAPE_PATHS for p, _ in dim[0])]
    other_dims = [d for d in range(len(plan.dims)) if d not in shape_dims]
    templates: dict[tuple[int, ...], Any] = {}
    for i in todo:
        dg = rows.digits[i]
        key = tuple(int(dg[d]) for d in other_dims)
        t = templates.get(key)
        if t is None:
            try:
                t = replace_path(base, {p: v for d in other_dims for p, v in plan.dims[d][int(dg[d])]})
            except Exception as exc:  # noqa: BLE001 - invalid combination: an error row
                t = _Invalid(_error_text(exc))
            templates[key] = t
        if isinstance(t, _Invalid):
            rows.fail(i, t.text)
            continue
        shape = {p: v for d in shape_dims for p, v in plan.dims[d][int(dg[d])]}
        archs.append(replace_path(t, shape) if shape else t)
        ok_idx.append(i)
    if not archs:
        return True
    t0 = time.perf_counter()
    try:
        wl = build_workload_cached(wk)
        res = simulate_batch(wl, archs, engine=plan.engine)
    except Exception:  # noqa: BLE001 - the per-point path reports each failure precisely
        _evaluate_points(plan, wk, ok_idx, rows)
        return True
    dt = (time.perf_counter() - t0) / len(archs)
    cols = res.total_columns(quality_columns(wk))
    first = len(rows)
    rows.ok_many(ok_idx, cols, dt)
    rows.kinds_many(first, len(ok_idx), *res.op_kind_arrays())
    return True


_SHAPE_PATHS = frozenset({"array.rows", "array.cols"})


@dataclass(frozen=True)
class _Invalid:
    text: str


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else _last_frame(exc)


def warm(ctx: Context) -> int:
    """Run once per worker before any task: imports, numba kernels, every workload of the plan built."""
    import os

    plan = ctx.plan
    if not plan.evaluator:
        from simulator.run import simulate

        for wk in plan.workloads:
            try:
                simulate(build_workload_cached(wk), plan.base_arch, engine=plan.engine)
            except Exception:  # noqa: BLE001 - a failing workload is reported by its points
                pass
    else:
        resolve_evaluator(plan.evaluator)
    return os.getpid()


def _last_frame(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
    return f"{type(exc).__name__}{where}"
