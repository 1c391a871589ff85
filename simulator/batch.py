"""Many accelerators, one workload, evaluated together as arrays (designs x GEMM rows).

``simulate_batch(workload, archs)`` returns, for every arch, exactly the totals and per-op-kind sums of
``simulator.run.simulate(workload, arch)`` (the tests check equality on random samples), at a fraction
of the cost: a sweep evaluates thousands of designs of one workload, and per design ``simulate`` pays
~100 small numpy calls.

How: designs are grouped by ``simulator.group.group_key`` -- everything but the numbers sweeps vary
most (array rows/cols/clock/per-op overhead and every memory level's capacity, bandwidth, latency and
efficiency) -- and each group goes through the simulator core itself, ``simulator.run.simulate_group``:
residency, per-op mapping choice (``dataflow: auto``, several arrays), memory levels, the engine on
one stacked parameter matrix (designs x candidate mappings x GEMM rows), the cross-op prefetch, vector
ops, energy and area, all as arrays over designs. ``simulate`` is that same function on a group of
one, so there is one model and no second implementation to keep in step; per design every figure is
computed element by element and summed in the order ``simulate`` uses, so results are bit-for-bit
equal. This module only groups designs, checks the totals and packs what a sweep stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from simulator.arch import ArchSpec
from simulator.energy import COMPONENTS
from simulator.group import DesignGroup, group_key
from simulator.limits import check_finite_totals
from simulator.metrics import add_columns
from simulator.run import (
    _OP_COLUMNS,
    ENGINES,
    TOTAL_KEYS,
    GroupColumns,
    _prepare,
    design_totals,
    simulate_group,
    warn_dram,
)
from workloads.ir import Workload


def supports(engine: str) -> bool:
    """Engines ``simulate_batch`` runs (both: the group core takes either engine)."""
    return engine in ENGINES


_KIND_COLS = [c for c in _OP_COLUMNS if c not in ("op", "kind", "op_type", "phase", "layer", "count", "utilization",
                                                   "dataflow", "array_split", "spill_bytes")]
_TOTAL_KEYS = TOTAL_KEYS


@dataclass
class BatchResult:
    """Per design: the totals of ``simulate`` and the per-op-kind sums (``sweeps.evaluate.op_kind_sums``)."""

    n: int
    cols: dict[str, np.ndarray]  # scalar totals, (n,)
    breakdown: np.ndarray  # (n, len(COMPONENTS)) energy pJ
    area: dict[str, np.ndarray]  # area_breakdown_mm2 components and "total", (n,) each
    kinds: tuple[str, ...]
    kind_sums: np.ndarray  # (n, kinds, len(_KIND_COLS))

    def error(self, j: int) -> str | None:
        return None

    def totals(self, j: int) -> dict[str, Any]:
        """``simulate(...).totals`` of design ``j``."""
        return design_totals(self.cols, self.breakdown, self.area, j)

    def op_kind_sums(self, j: int) -> tuple[tuple[str, ...], list[str], np.ndarray]:
        return self.kinds, list(_KIND_COLS), self.kind_sums[j]

    def op_kind_arrays(self) -> tuple[tuple[str, ...], list[str], np.ndarray]:
        """(kinds, columns, sums[design, kind, column]) of every design."""
        return self.kinds, list(_KIND_COLS), self.kind_sums

    def total_columns(self, quality: dict[str, Any]) -> dict[str, np.ndarray]:
        """``sweeps.evaluate.total_row`` of every design as columns: the flat totals (breakdowns as
        ``energy_<c>_pj`` / ``area_<c>_mm2``), every derived metric of :mod:`simulator.metrics` (the
        registry's own formulas, evaluated on arrays) and the ``quality`` columns."""
        c = self.cols
        out: dict[str, np.ndarray] = {"cycles": c["cycles"], "latency_s": c["latency_s"], "energy_pj": c["energy_pj"]}
        for i, comp in enumerate(COMPONENTS):
            out[f"energy_{comp}_pj"] = self.breakdown[:, i]
        out["area_mm2"] = self.area["total"]
        for k, v in self.area.items():
            if k != "total":
                out[f"area_{k}_mm2"] = v
        for key in _TOTAL_KEYS:
            out[key] = c[key]
        out = derive_columns(out)
        for k, v in quality.items():  # numbers, or text such as the accuracy_source citation
            out[k] = np.full(self.n, v, dtype=object if isinstance(v, str) else np.float64)
        return out


def derive_columns(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """:func:`simulator.metrics.derive` over columns (same formulas, same NaN rule, element by element)."""
    import pandas as pd

    df = add_columns(pd.DataFrame(cols, copy=False))
    return {k: df[k].to_numpy(dtype=np.float64) for k in df.columns}


def _kind_sums(gc: GroupColumns, kinds_all: list[str]) -> tuple[tuple[str, ...], np.ndarray]:
    """Per design, the per-op-kind sums of ``_KIND_COLS``, op by op in workload order (the order
    ``np.add.at`` uses in ``sweeps.evaluate.op_kind_sums``)."""
    uniq = tuple(sorted(set(kinds_all)))
    where = {k: i for i, k in enumerate(uniq)}
    vals = np.stack([np.where(np.isnan(gc.cols[c]), 0.0, gc.cols[c]) for c in _KIND_COLS], axis=2)  # (D, ops, C)
    sums = np.zeros((vals.shape[0], len(uniq), len(_KIND_COLS)))
    for j, kd in enumerate(kinds_all):
        sums[:, where[kd], :] += vals[:, j, :]
    return uniq, sums


def _outside(gc: GroupColumns) -> np.ndarray:
    """Per design: would ``limits.check_finite_totals`` refuse its totals (infinite, NaN or negative
    figures, utilization above 1)?"""
    figs = [np.asarray(v, dtype=np.float64) for v in gc.totals.values()]
    figs += [gc.breakdown[:, i] for i in range(gc.breakdown.shape[1])]
    figs += list(gc.area.values())
    x = np.stack(figs)
    util = np.asarray(gc.totals["utilization"], dtype=np.float64)
    return (~np.isfinite(x) | (x < 0)).any(axis=0) | (util > 1.0 + 1e-9)


def simulate_batch(workload: Workload, archs: list[ArchSpec], *, engine: str = "analytical") -> BatchResult:
    """``simulate(workload, arch, engine=engine)`` for every arch, as arrays (one core call per group of
    designs that differ only in numbers). Raises like ``simulate`` when any design's totals are not
    finite (``sweeps.evaluate`` then evaluates that task point by point to report each failure)."""
    if not supports(engine):
        raise ValueError(f"simulate_batch supports the engines {ENGINES}, not {engine!r}")
    n = len(archs)
    if n == 0:
        raise ValueError("simulate_batch needs at least one design")
    prep = _prepare(workload)
    kinds_all = prep.text_columns()[1]
    groups: dict[tuple, list[int]] = {}
    memo: dict[int, tuple] = {}
    for i, a in enumerate(archs):
        groups.setdefault(group_key(a, memo), []).append(i)
    cols: dict[str, np.ndarray] = {}
    breakdown = np.empty((n, len(COMPONENTS)))
    area: dict[str, np.ndarray] = {}
    kinds: tuple[str, ...] = ()
    kind_sums = np.empty(0)
    over = 0
    first_over: tuple[ArchSpec, float, float] | None = None
    for idx_list in groups.values():
        idx = np.asarray(idx_list)
        members = [archs[i] for i in idx_list]
        gc = simulate_group(workload, DesignGroup(members), engine)
        bad = _outside(gc)
        if bad.any():  # the message of ``simulate`` for the first such design
            j = int(np.flatnonzero(bad)[0])
            check_finite_totals(design_totals(gc.totals, gc.breakdown, gc.area, j),
                                what=f"{workload.name} on {members[j].name}")
        if not cols:
            cols = {k: np.empty(n) for k in gc.totals}
            kinds, _ = _kind_sums(gc, kinds_all)
            kind_sums = np.empty((n, len(kinds), len(_KIND_COLS)))
        for k in cols:
            cols[k][idx] = gc.totals[k]
        breakdown[idx] = gc.breakdown
        kind_sums[idx] = _kind_sums(gc, kinds_all)[1]
        for k, v in gc.area.items():
            area.setdefault(k, np.empty(n))[idx] = v
        if prep.gemms:
            ex = np.flatnonzero(gc.dram_need_bytes > gc.dram_capacity_bytes)
            over += ex.size
            if ex.size and first_over is None:
                j = int(ex[0])
                first_over = (members[j], float(gc.dram_need_bytes[j]), float(gc.dram_capacity_bytes[j]))
    if first_over is not None:
        a, need, cap = first_over
        more = f" (and {over - 1} more of these {n} designs)" if over > 1 else ""
        warn_dram(a, need, cap, more=more, stacklevel=2)
    return BatchResult(n, cols, breakdown, area, kinds, kind_sums)
