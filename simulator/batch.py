"""Many accelerators, one workload, evaluated together as arrays (designs x GEMM rows).

``simulate_batch(workload, archs)`` returns, for every arch, exactly the totals and per-op-kind sums of
``simulator.run.simulate(workload, arch)`` (the tests check equality on random samples), at a fraction
of the cost: a sweep evaluates thousands of designs of one workload, and per design ``simulate`` pays
~100 small numpy calls.

How: designs are grouped by everything except the fields sweeps vary most and that enter the model
only as numbers -- ``array.rows``/``cols``/``freq_mhz``, DRAM bandwidth and the buffer capacities --
so that within a group the precision, sparsity, dataflow and energy rules are evaluated once (per
distinct row count for zero-skip sparsity). Every (design, GEMM row) pair becomes one row of a
flattened array: the memory model runs in one numba loop over those rows (the per-GEMM functions of
:mod:`simulator.memory`, with per-row array shape, capacities and bandwidth), the compute model in
one vectorised ``analyze_compute`` call, the cross-op prefetch in one ``cross_op_saved_cycles`` call
over design-offset transitions, and every sum in the same order as ``simulate`` (``np.bincount`` per
design and record, per-op-kind sums op by op) so results are bit-for-bit equal. Vector ops, area and
per-buffer SRAM energies depend on few distinct values per group and are computed once per value with
the same functions ``simulate`` uses.

Supported: the analytical engine (the cycle engine is stepped per design: see ``supports``). Designs
with ``memory:`` levels, several arrays or ``dataflow: auto`` are evaluated by ``simulate`` one by one
(``batchable``): their residency and per-op mapping choice live in ``simulator.run`` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from simulator.analytical import analyze_compute
from simulator.arch import ArchSpec
from simulator.area import area_breakdown_mm2
from simulator.energy import COMPONENTS, dram_pj_per_bit, node_factor, sram_read_pj_per_bit, static_power_w
from simulator.jit import njit
from simulator.memory import best_loop, buffer_modes, cross_op_figures, timing_code
from simulator.metrics import add_columns, derive
from simulator.precision import KIND_CODE, mac_energy_pj, macs_per_pe_cycle, operand_bits
from simulator.run import _OP_COLUMNS, _prepare, weight_terms
from simulator.schedule import cross_op_saved_cycles
from simulator.sparsity import sparsity_effects
from simulator.vector import analyze_vector_ops
from workloads.ir import Workload

_DF = {"os": 0, "ws": 1, "is": 2}
_T_SCALESIM, _T_PREFETCH = 0, 1


def supports(engine: str) -> bool:
    return engine == "analytical"


# ---- the memory model over (design, GEMM) rows ------------------------------------------------------


@njit(cache=True)
def _closed_rows(m, n, k, h, w, df, timing, db, cap_a, cap_b, cap_c, ab, bb, ob, inv_bw, lat, out):  # pragma: no cover
    """``memory.closed_form`` with per-row array shape, capacities, bytes per element and bandwidth."""
    for g in range(m.shape[0]):
        ma, mb, mc = buffer_modes(m[g], n[g], k[g], h[g], w[g], df, db, cap_a[g], cap_b[g], cap_c[g], ab[g], bb[g], ob[g])
        lp, total, ra, rb, rc, wc, idle = best_loop(m[g], n[g], k[g], h[g], w[g], df, timing, db, ma, mb, mc,
                                                    ab[g], bb[g], ob[g], inv_bw[g], inv_bw[g], inv_bw[g], lat[g])
        out[g, 0] = total
        out[g, 1] = ra
        out[g, 2] = rb
        out[g, 3] = rc
        out[g, 4] = wc
        xo = cross_op_figures(m[g], n[g], k[g], h[g], w[g], df, lp, timing, db, ma, mb, mc, cap_a[g], cap_b[g],
                              ab[g], bb[g], ob[g], inv_bw[g], inv_bw[g], inv_bw[g], lat[g])
        for x in range(6):
            out[g, 9 + x] = xo[x]
        out[g, 15] = idle - xo[3] if db and inv_bw[g] > 0.0 else 0.0
        out[g, 16] = xo[6]


def _engine_rows(m: np.ndarray, n: np.ndarray, k: np.ndarray, h: np.ndarray, w: np.ndarray, arch: ArchSpec,
                 caps: np.ndarray, ab: np.ndarray, bb: np.ndarray, ob: np.ndarray, bpc: np.ndarray,
                 lat: float) -> dict[str, np.ndarray]:
    """The figures ``run`` uses of ``memory.analyze_gemms`` (same formulas), one row per (design, GEMM)."""
    df = _DF[arch.array.dataflow]
    timing = timing_code(arch, None)
    finite = np.isfinite(bpc)
    inv_bw = np.where(finite, 1.0 / np.where(finite, bpc, 1.0), 0.0)
    lat_r = np.where(finite, float(lat), 0.0)
    m, n, k = (np.ascontiguousarray(x, dtype=np.int64) for x in (m, n, k))
    r = analyze_compute(m, n, k, h, w, arch.array.dataflow, scalesim=timing == _T_SCALESIM,
                        prefetch=timing == _T_PREFETCH)
    out = np.empty((m.size, 17))
    f64 = np.float64
    _closed_rows(m, n, k, np.ascontiguousarray(h, dtype=np.int64), np.ascontiguousarray(w, dtype=np.int64), df,
                 timing, bool(arch.buffers.double_buffered), np.ascontiguousarray(caps[:, 0], dtype=f64),
                 np.ascontiguousarray(caps[:, 1], dtype=f64), np.ascontiguousarray(caps[:, 2], dtype=f64),
                 np.ascontiguousarray(ab, dtype=f64), np.ascontiguousarray(bb, dtype=f64),
                 np.ascontiguousarray(ob, dtype=f64), inv_bw, lat_r, out)
    compute = np.asarray(r["compute_cycles"], dtype=np.int64)
    sum_c = compute + (1 if timing == _T_SCALESIM else 0)
    stall = np.maximum(out[:, 0].astype(np.int64) - sum_c, 0)
    psum = np.where(df == 0, 0, m * n * (np.asarray(r["row_folds"]) - 1)).astype(np.int64)
    return {
        "total_cycles": compute + stall, "stall_cycles": stall,
        "sram_ifmap_reads": np.asarray(r["sram_ifmap_reads"], dtype=np.int64),
        "sram_filter_reads": np.asarray(r["sram_filter_reads"], dtype=np.int64),
        "sram_ofmap_writes": np.asarray(r["sram_ofmap_writes"], dtype=np.int64), "sram_ofmap_reads": psum,
        "dram_ifmap_read_bytes": out[:, 1], "dram_filter_read_bytes": out[:, 2],
        "dram_ofmap_read_bytes": out[:, 3], "dram_ofmap_write_bytes": out[:, 4],
        "prologue_cycles": out[:, 9].astype(np.int64), "prologue_bytes": out[:, 10],
        "prologue_filter_bytes": out[:, 11], "tail_idle_cycles": out[:, 12].astype(np.int64),
        "tail_free_filter_bytes": out[:, 13], "body_free_filter_bytes": out[:, 14],
        "body_idle_cycles": out[:, 15].astype(np.int64), "tail_free_ifmap_bytes": out[:, 16],
    }


# ---- result ------------------------------------------------------------------------------------------


_KIND_COLS = [c for c in _OP_COLUMNS if c not in ("op", "kind", "op_type", "phase", "layer", "count", "utilization",
                                                   "dataflow", "array_split", "spill_bytes")]


@dataclass
class BatchResult:
    """Per design: the totals of ``simulate`` and the per-op-kind sums (``sweeps.evaluate.op_kind_sums``)."""

    n: int
    cols: dict[str, np.ndarray]  # scalar totals, (n,)
    breakdown: np.ndarray  # (n, len(COMPONENTS)) energy pJ
    area: list[dict[str, float]]
    kinds: tuple[str, ...]
    kind_sums: np.ndarray  # (n, kinds, len(_KIND_COLS))

    def error(self, j: int) -> str | None:
        return None

    def totals(self, j: int) -> dict[str, Any]:
        """``simulate(...).totals`` of design ``j``."""
        c = self.cols
        out: dict[str, Any] = {
            "cycles": float(c["cycles"][j]), "latency_s": float(c["latency_s"][j]),
            "energy_pj": float(c["energy_pj"][j]),
            "energy_breakdown_pj": {comp: float(self.breakdown[j, i]) for i, comp in enumerate(COMPONENTS)},
            "area_mm2": self.area[j]["total"],
            "area_breakdown_mm2": {k: v for k, v in self.area[j].items() if k != "total"},
        }
        for key in _TOTAL_KEYS:
            out[key] = float(c[key][j])
        return derive(out)

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
        out["area_mm2"] = np.array([a["total"] for a in self.area])
        for k in self.area[0]:
            if k != "total":
                out[f"area_{k}_mm2"] = np.array([a[k] for a in self.area])
        for key in _TOTAL_KEYS:
            out[key] = c[key]
        out = derive_columns(out)
        for k, v in quality.items():  # numbers, or text such as the accuracy_source citation
            out[k] = np.full(self.n, v, dtype=object if isinstance(v, str) else np.float64)
        return out


_TOTAL_KEYS = ("macs", "dram_bytes", "utilization", "gemm_cycles", "vector_cycles", "stall_cycles", "peak_tops",
               "spill_bytes", "static_power_w", "inferences", "tokens", "token_latency_s")


def derive_columns(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """:func:`simulator.metrics.derive` over columns (same formulas, same NaN rule, element by element)."""
    import pandas as pd

    df = add_columns(pd.DataFrame(cols, copy=False))
    return {k: df[k].to_numpy(dtype=np.float64) for k in df.columns}


def _group_key(a: ArchSpec) -> tuple:
    """Everything but the per-design numbers (rows, cols, clock, DRAM bandwidth, buffer sizes)."""
    b = a.buffers
    # big sub-specs by identity (designs derived from one base share them; equal copies only split a group)
    return (a.pe, id(a.energy), id(a.area), id(a.vector), a.tech, a.array.dataflow, a.array.count, a.array.timing,
            a.array.prefetch_stationary, b.unified_kib is None, b.unified_split, b.double_buffered,
            b.cross_op_prefetch, b.banks, a.dram.kind, a.dram.latency_cycles, a.name)


def batchable(a: ArchSpec) -> bool:
    """Designs evaluated here as arrays: the two-level hierarchy (``buffers:``/``dram:``: no residency),
    one array and a fixed dataflow. Others -- ``memory:`` levels (residency, links per operand,
    docs/memory.md 8), several arrays or ``dataflow: auto`` (the per-op mapping choice, section 9) --
    go through ``simulate`` design by design inside ``simulate_batch`` (same answers, per-design cost)."""
    return a.memory is None and a.array.count == 1 and a.array.dataflow != "auto"


def _simulate_one(w: Workload, prep: Any, a: ArchSpec, engine: str) -> dict[str, Any]:
    """``simulate`` of one design in the layout of ``_simulate_group`` (kind sums op by op, as there)."""
    from simulator.run import simulate

    res = simulate(w, a, engine=engine)
    t = res.totals
    cols = {key: np.array([float(t[key])]) for key in ("cycles", "latency_s", "energy_pj", *_TOTAL_KEYS)}
    breakdown = np.array([[t["energy_breakdown_pj"][c] for c in COMPONENTS]])
    area = dict(t["area_breakdown_mm2"], total=t["area_mm2"])
    kinds_all = list(res.columns["kind"])
    uniq = tuple(sorted(set(kinds_all)))
    where = {k: i for i, k in enumerate(uniq)}
    vals = np.stack([np.where(np.isnan(np.asarray(res.columns[c], dtype=float)), 0.0,
                              np.asarray(res.columns[c], dtype=float)) for c in _KIND_COLS], axis=1)
    sums = np.zeros((1, len(uniq), len(_KIND_COLS)))
    for j, kd in enumerate(kinds_all):
        sums[0, where[kd], :] += vals[j, :]
    return {"cols": cols, "breakdown": breakdown, "area": [area], "kinds": uniq, "kind_sums": sums}


def simulate_batch(workload: Workload, archs: list[ArchSpec], *, engine: str = "analytical") -> BatchResult:
    """``simulate(workload, arch, engine=engine)`` for every arch (analytical engine), as arrays."""
    if not supports(engine):
        raise ValueError(f"simulate_batch supports the analytical engine, not {engine!r}")
    prep = _prepare(workload)
    n = len(archs)
    groups: dict[tuple, list[int]] = {}
    single: list[int] = []
    for i, a in enumerate(archs):
        if batchable(a):
            groups.setdefault(_group_key(a), []).append(i)
        else:
            single.append(i)
    parts = [(_simulate_group(workload, prep, [archs[i] for i in idx]), np.asarray(idx)) for idx in groups.values()]
    parts += [(_simulate_one(workload, prep, archs[i], engine), np.asarray([i])) for i in single]
    first = parts[0][0]
    cols = {k: np.empty(n) for k in first["cols"]}
    breakdown = np.empty((n, len(COMPONENTS)))
    area: list[dict[str, float]] = [{}] * n
    kind_sums = np.empty((n,) + first["kind_sums"].shape[1:])
    for res, idx in parts:
        for k in cols:
            cols[k][idx] = res["cols"][k]
        breakdown[idx] = res["breakdown"]
        kind_sums[idx] = res["kind_sums"]
        for j, i in enumerate(idx):
            area[i] = res["area"][j]
    return BatchResult(n, cols, breakdown, area, first["kinds"], kind_sums)


def _simulate_group(w: Workload, prep: Any, archs: list[ArchSpec]) -> dict[str, Any]:  # noqa: PLR0915
    """Designs that differ only in rows, cols, clock, DRAM bandwidth and buffer sizes (see ``run``)."""
    a0 = archs[0]
    pe = a0.pe
    cnt = a0.array.count
    D = len(archs)
    fe = node_factor(a0)
    ng, nv = len(prep.gemms), len(prep.vops)
    H = np.array([a.array.rows for a in archs], dtype=np.int64)
    W = np.array([a.array.cols for a in archs], dtype=np.int64)
    freq_hz = np.array([a.array.freq_mhz for a in archs], dtype=np.float64) * 1e6
    bpc = np.array([a.dram_bytes_per_cycle for a in archs], dtype=np.float64)  # whole chip
    caps = np.array([a.buffers.sizes_bytes() for a in archs], dtype=np.float64)
    pes = H * W * cnt
    g: dict[str, np.ndarray] = {}
    R = int(prep.m.size)
    if ng:
        r = prep.rec
        a_bits = operand_bits(prep.a_bits, prep.a_kind, pe)
        b_bits = operand_bits(prep.b_bits, prep.b_kind, pe)
        o_bits = operand_bits(prep.o_bits, prep.o_kind, pe)
        a_store, b_store, scale_bits_el, deq_cpe = weight_terms(prep, a0)  # as in ``run``
        p = macs_per_pe_cycle(a_bits, b_bits, pe)
        mac_base = mac_energy_pj(a_bits, b_bits, KIND_CODE[pe.number_kind], pe, a0.energy, a0.array.dataflow)
        sp_cache: dict[int, Any] = {}
        specs = ([x.a for x in prep.gemms], [x.b for x in prep.gemms], [x.b_is_weight for x in prep.gemms])
        kinds_g = [x.kind for x in prep.gemms]

        def sp_of(rows: int) -> Any:
            key = rows if pe.sparsity == "zero_skip" else 0
            if key not in sp_cache:
                sp_cache[key] = sparsity_effects(*specs, pe, rows, kinds_g)
            return sp_cache[key]

        sps = [sp_of(int(h)) for h in H]
        k_scale = np.stack([s.k_scale for s in sps])  # (D, G)
        n_scale = np.stack([s.n_scale for s in sps])
        mac_pj = mac_base * np.stack([s.mac_gate for s in sps]) * fe
        k = prep.k.astype(np.float64)
        k_eff = np.maximum(np.ceil(k * (k_scale / p)[:, r] - 1e-9), 1.0).astype(np.int64)  # (D, R)
        a_rec = a_store / 8.0 * p / k_scale
        b_rec = (b_store + scale_bits_el + np.stack([s.b_meta_bits for s in sps])) / 8.0 * p * np.stack(
            [s.b_store_scale for s in sps]) / k_scale
        o_rec = o_bits / 8.0
        a_row, b_row = a_rec[:, r], b_rec[:, r]
        batch_split = np.array([x.batch >= cnt for x in prep.gemms], dtype=bool)[r] if cnt > 1 else None
        if np.any(n_scale < 1):
            n_full = np.maximum(np.ceil(prep.n * n_scale[:, r] - 1e-9), 1).astype(np.int64)
        else:
            n_full = np.broadcast_to(prep.n, (D, R))
        n_arr = n_full if cnt == 1 else np.where(batch_split, n_full, -(-n_full // cnt))
        bpc_arr = bpc / cnt if cnt > 1 else bpc  # one array's share (``run._per_array_arch``)
        rows_flat = D * R
        res = _engine_rows(np.tile(prep.m, D), n_arr.reshape(-1), k_eff.reshape(-1), np.repeat(H, R),
                           np.repeat(W, R), a0, np.repeat(caps, R, axis=0), a_row.reshape(-1), b_row.reshape(-1),
                           np.tile(o_rec[r], D), np.repeat(bpc_arr, R), a0.dram.latency_cycles)
        share = 1.0 if cnt == 1 else np.tile(np.where(batch_split, 1.0, float(cnt)), D)
        dram_row = (res["dram_ifmap_read_bytes"] + share * (res["dram_filter_read_bytes"] + res["dram_ofmap_read_bytes"]
                                                              + res["dram_ofmap_write_bytes"]))
        mf = prep.m.astype(np.float64)
        macs_row = mf * prep.n * k
        exec_row = (macs_row * (k_scale * n_scale)[:, r]).reshape(-1)
        # energy.gemm_energy_pj with per-design SRAM energies per bit (cached per buffer size)
        e_cache: dict[tuple, tuple[float, float, float]] = {}
        e_bits = np.empty((D, 3))
        for d, a in enumerate(archs):
            key = tuple(caps[d])
            if key not in e_cache:
                e_cache[key] = tuple(sram_read_pj_per_bit(c, a) for c in a.buffers.sizes_bytes())
            e_bits[d] = e_cache[key]
        e_if, e_fil, e_of = (np.repeat(e_bits[:, i], R) for i in range(3))
        wf = a0.energy.sram_write_factor
        acc = a0.pe.acc_bits
        e = {
            "mac": exec_row * mac_pj[:, r].reshape(-1),
            "sram_ifmap": (res["sram_ifmap_reads"] * (a_row.reshape(-1) * 8.0) + res["dram_ifmap_read_bytes"] * 8.0 * wf) * e_if,
            "sram_filter": (res["sram_filter_reads"] * (b_row.reshape(-1) * 8.0) + res["dram_filter_read_bytes"] * 8.0 * wf) * e_fil,
            "sram_ofmap": (res["sram_ofmap_writes"] * acc * wf + res["sram_ofmap_reads"] * acc) * e_of,
            "dram": dram_row * 8.0 * dram_pj_per_bit(a0),
        }
        for c in ("sram_ifmap", "sram_filter", "sram_ofmap"):
            e[c] = e[c] * share
        # activations through DRAM (run: A, C and a B that is not a weight; here every operand is)
        weight_flat = np.tile(np.array([x.b_is_weight for x in prep.gemms], dtype=bool)[r], D)
        lcc = res["dram_ofmap_read_bytes"] + res["dram_ofmap_write_bytes"]
        spill_row = res["dram_ifmap_read_bytes"] + share * lcc + np.where(weight_flat, 0.0,
                                                                           share * res["dram_filter_read_bytes"])
        wts = prep.mult
        if cnt > 1:
            bsz = np.array([x.batch for x in prep.gemms], dtype=np.float64)[r]
            time_wts = np.where(batch_split, wts / bsz * np.ceil(bsz / cnt), wts)
        else:
            time_wts = wts
        rec_flat = (np.arange(D)[:, None] * ng + r[None, :]).reshape(-1)
        wts_f, time_f = np.tile(wts, D), np.tile(time_wts, D)

        def agg(x: Any, weights: np.ndarray = wts_f) -> np.ndarray:
            return np.bincount(rec_flat, weights=np.asarray(x, dtype=np.float64) * weights,
                               minlength=D * ng).reshape(D, ng)

        saved = _cross_op_saved(prep, a0, res, D, R, bpc_arr, rec_flat, ng)
        deq_el = np.asarray(res["sram_filter_reads"], dtype=np.float64) * np.tile(p[r] * deq_cpe[r], D) * share
        vclock = np.repeat(freq_hz / 1e6 / np.array([a.vector.freq_mhz or a.array.freq_mhz for a in archs]), R)
        deq_cyc = deq_el / a0.vector.lanes * vclock
        ovh = (np.repeat(np.array([a.array.op_overhead_cycles for a in archs], dtype=np.float64), R)
               * np.tile(prep.inst_row, D))
        g = {
            "cycles": (agg(res["total_cycles"], time_f) - saved + agg(deq_cyc)
                       + agg(ovh, np.ones_like(wts_f))),
            "stall_cycles": agg(res["stall_cycles"], time_f) - saved,
            "macs": agg(np.tile(macs_row, D)),
            "slots": agg((mf * n_full * k_eff).reshape(-1)),
            "dram_bytes": agg(dram_row),
            "spill_bytes": agg(spill_row),
        }
        for c in ("mac", "sram_ifmap", "sram_filter", "sram_ofmap", "dram"):
            g[f"energy_{c}_pj"] = agg(e[c])
        g["energy_vector_pj"] = agg(deq_el * a0.vector.energy_pj_per_element_op * fe)
        del rows_flat

    # per-op columns (D, ops) in workload order
    n_ops = ng + nv
    cols: dict[str, np.ndarray] = {c: np.zeros((D, n_ops)) for c in (*_KIND_COLS, "spill_bytes")}
    gi = np.array([i for t, i in prep.order if t == "g"], dtype=np.int64)
    vi = np.array([i for t, i in prep.order if t == "v"], dtype=np.int64)
    gpos = np.array([j for j, (t, _) in enumerate(prep.order) if t == "g"], dtype=np.int64)
    vpos = np.array([j for j, (t, _) in enumerate(prep.order) if t == "v"], dtype=np.int64)
    if ng:
        for c in ("cycles", "stall_cycles", "macs", "dram_bytes", "spill_bytes") + tuple(
                f"energy_{x}_pj" for x in ("mac", "sram_ifmap", "sram_filter", "sram_ofmap", "dram", "vector")):
            cols[c][:, gpos] = g[c][:, gi]
    if nv:
        v_cache: dict[tuple, dict[str, np.ndarray]] = {}
        for d, a in enumerate(archs):
            key = (caps[d, 2], bpc[d], freq_hz[d] if a.vector.freq_mhz else 0.0)
            v = v_cache.get(key)
            if v is None:
                v = v_cache[key] = analyze_vector_ops(prep.vops, a)
            cols["cycles"][d, vpos] = v["cycles"][vi] + a.array.op_overhead_cycles * prep.v_inst[vi]
            cols["dram_bytes"][d, vpos] = v["dram_bytes"][vi]
            cols["spill_bytes"][d, vpos] = v["spill_bytes"][vi]
            cols["energy_vector_pj"][d, vpos] += v["energy_vector_pj"][vi]
            cols["energy_sram_ofmap_pj"][d, vpos] = v["energy_sram_ofmap_pj"][vi]
            cols["energy_dram_pj"][d, vpos] = v["energy_dram_pj"][vi]
    cols["latency_s"] = cols["cycles"] / freq_hz[:, None]
    a_cache: dict[tuple, dict[str, float]] = {}
    area = []
    for d, a in enumerate(archs):
        key = (int(H[d]), int(W[d]), tuple(caps[d]), float(bpc[d]))
        if key not in a_cache:
            a_cache[key] = area_breakdown_mm2(a)
        area.append(a_cache[key])
    static_w = np.array([static_power_w(a, area[d]["total"]) for d, a in enumerate(archs)])
    cols["energy_leakage_pj"] = static_w[:, None] * 1e12 * cols["latency_s"]
    cols["energy_pj"] = sum(cols[f"energy_{c}_pj"] for c in COMPONENTS)

    kinds_all, types, phases = [], [], []
    for t, i in prep.order:
        op = prep.gemms[i] if t == "g" else prep.vops[i]
        kinds_all.append(op.kind)
        types.append("gemm" if t == "g" else "vector")
        phases.append(op.phase)
    is_g = np.array([t == "gemm" for t in types], dtype=bool)
    ph = np.array(phases, dtype=object)
    total_cycles = np.zeros(D)
    phase_cycles: dict[str, np.ndarray] = {}
    for p_name in dict.fromkeys(phases):
        sel = ph == p_name
        cg = _rowsum(cols["cycles"][:, sel & is_g])
        cv = _rowsum(cols["cycles"][:, sel & ~is_g])
        c = np.maximum(cg, cv) if a0.vector.overlap_with_array else cg + cv
        phase_cycles[p_name] = c
        total_cycles = total_cycles + c
    latency = total_cycles / freq_hz
    breakdown = np.stack([_rowsum(cols[f"energy_{c}_pj"]) for c in COMPONENTS], axis=1)
    breakdown[:, COMPONENTS.index("leakage")] = static_w * 1e12 * latency
    energy = np.zeros(D)
    for i in range(len(COMPONENTS)):
        energy = energy + breakdown[:, i]
    macs = _rowsum(cols["macs"])
    gemm_cycles = _rowsum(cols["cycles"][:, is_g])
    slots = _rowsum(g["slots"]) if ng else np.zeros(D)
    out = {
        "cycles": total_cycles, "latency_s": latency, "energy_pj": energy, "macs": macs,
        "dram_bytes": _rowsum(cols["dram_bytes"]),
        "utilization": slots / np.maximum(gemm_cycles * pes, 1.0),
        "gemm_cycles": gemm_cycles, "vector_cycles": _rowsum(cols["cycles"][:, ~is_g]),
        "stall_cycles": _rowsum(cols["stall_cycles"]), "peak_tops": 2.0 * pes * freq_hz / 1e12,
        "spill_bytes": _rowsum(cols["spill_bytes"]),
        "static_power_w": static_w,
        "inferences": np.full(D, float(w.batch)),
    }
    if "decode" in phase_cycles:
        steps = w.new_tokens or max((o.steps for o in w.ops if o.phase == "decode"), default=1)
        out["tokens"] = np.full(D, float(w.batch * steps))
        out["token_latency_s"] = phase_cycles["decode"] / freq_hz
    else:
        out["tokens"] = np.full(D, float(w.batch * w.seq_len))
        out["token_latency_s"] = latency
    # per-op-kind sums, op by op in workload order (the order np.add.at uses in op_kind_sums)
    uniq = tuple(sorted(set(kinds_all)))
    where = {k: i for i, k in enumerate(uniq)}
    vals = np.stack([np.where(np.isnan(cols[c]), 0.0, cols[c]) for c in _KIND_COLS], axis=2)  # (D, ops, C)
    sums = np.zeros((D, len(uniq), len(_KIND_COLS)))
    for j, kd in enumerate(kinds_all):
        sums[:, where[kd], :] += vals[:, j, :]
    return {"cols": out, "breakdown": breakdown, "area": area, "kinds": uniq, "kind_sums": sums}


def _rowsum(x: np.ndarray) -> np.ndarray:
    """Row sums with the summation order of a 1-D ``np.sum`` (pairwise): column selections come out
    Fortran-ordered, and numpy sums those column by column, which rounds differently."""
    return np.ascontiguousarray(x).sum(axis=1)


def _cross_op_saved(prep: Any, a0: ArchSpec, res: dict[str, np.ndarray], D: int, R: int, bpc: np.ndarray,
                    rec_flat: np.ndarray, ng: int) -> np.ndarray:
    """``run._cross_op_saved`` for every design of a group: transitions offset per design."""
    buf = a0.buffers
    out = np.zeros((D, ng))
    if not buf.cross_op_prefetch or not buf.double_buffered:
        return out
    finite = np.isfinite(bpc)
    if not finite.any():
        return out
    cnt = a0.array.count
    r = prep.rec
    per_iter_row = np.array([(-(-x.batch // cnt) if cnt > 1 and x.batch >= cnt else x.batch) * x.count / x.layers
                             for x in prep.gemms], dtype=np.float64)[r]
    weight_row = np.array([x.b_is_weight for x in prep.gemms], dtype=bool)[r]
    tr = prep.transitions()
    ds = np.flatnonzero(finite)
    sel = (ds[:, None] * R + np.arange(R)[None, :]).reshape(-1)  # flat rows of the finite designs
    sub = {key: np.asarray(v)[sel] for key, v in res.items()}
    nd = len(ds)
    off = (np.arange(nd) * R)[:, None]
    from simulator.schedule import Transitions

    big = Transitions((tr.prev_row[None, :] + off).reshape(-1), (tr.cur_row[None, :] + off).reshape(-1),
                      np.tile(tr.times, nd), np.tile(tr.self_iters, nd))
    inv = np.repeat(1.0 / bpc[ds], R)
    saved_row = cross_op_saved_cycles(sub, big, np.tile(per_iter_row, nd), np.tile(weight_row, nd),
                                      np.tile(prep.b_fresh, nd), inv, inv, float(a0.dram.latency_cycles))
    rec_sub = (np.arange(nd)[:, None] * ng + r[None, :]).reshape(-1)
    out[ds] = np.bincount(rec_sub, weights=saved_row, minlength=nd * ng).reshape(nd, ng)
    return out
