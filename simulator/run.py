"""``simulate(workload, arch, engine) -> Result``: a whole transformer on one accelerator.

Pipeline (docs/precision_sparsity.md, docs/vector.md, docs/energy.md):

1. GEMM records are expanded into one row per distinct step shape (records whose shape does not
   grow with the decode step are evaluated once and multiplied by ``steps``).
2. Precision (:mod:`simulator.precision`) and sparsity (:mod:`simulator.sparsity`) turn each record
   into an effective reduction length ``K_eff = ceil(K * k_scale / p)`` (p = MACs per PE per cycle,
   k_scale = streamed fraction of K) and bytes per streamed element chosen so that DRAM/SRAM bytes
   are the true (packed, compressed, metadata-carrying) operand bytes.
3. All rows go through ONE vectorised call of the GEMM engine (``analyze_gemms`` of
   :mod:`simulator.memory` for ``analytical``, ``simulate_gemms`` of :mod:`simulator.cycle` for
   ``cycle``). With ``array.count > 1`` arrays (each with its own buffers and ``1/count`` of the DRAM
   bandwidth) a record of ``batch >= count`` independent products (attention heads) runs ``count``
   products at a time; any other GEMM is split column-wise (N) over the arrays, activations multicast.
   With ``buffers.cross_op_prefetch`` (double-buffered, finite bandwidth) the next GEMM's first tiles
   load during the previous GEMM's idle DRAM windows (:mod:`simulator.schedule`, docs/memory.md 4b):
   the cycles saved come off the prologue stalls of the GEMM that runs second.
4. Vector ops go through :mod:`simulator.vector`; with ``vector.overlap_with_array`` the vector unit
   works concurrently with the array (per phase, time = max(GEMM, vector)), else serially (sum).
5. Energy per component (:mod:`simulator.energy`), area (:mod:`simulator.area`), totals.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from simulator.arch import ArchSpec
from simulator.area import area_breakdown_mm2
from simulator.energy import COMPONENTS, gemm_energy_pj, leakage_pj, node_factor
from simulator.metrics import derive
from simulator.precision import KIND_CODE, mac_energy_pj, macs_per_pe_cycle, operand_bits
from simulator.schedule import CROSS_OP_KEYS, Transitions, b_fresh_fraction, cross_op_saved_cycles, transitions
from simulator.sparsity import sparsity_effects
from simulator.vector import analyze_vector_ops
from workloads.errors import InputError
from workloads.ir import GemmOp, VectorOp, Workload

ENGINES: tuple[str, ...] = ("analytical", "cycle")
_OP_COLUMNS = ("op", "kind", "op_type", "layer", "phase", "count", "macs", "cycles", "stall_cycles", "latency_s",
               "energy_pj") + tuple(f"energy_{c}_pj" for c in COMPONENTS) + ("dram_bytes", "utilization")


# ---- workload preparation (arch-independent, cached per workload object) ----------------------------


@dataclass
class _Prepared:
    gemms: list[GemmOp]
    vops: list[VectorOp]
    order: list[tuple[str, int]]  # workload order: ("g", i) or ("v", j)
    rec: np.ndarray
    m: np.ndarray
    n: np.ndarray
    k: np.ndarray
    mult: np.ndarray  # instances each row stands for (batch * count * repeated steps)
    a_bits: np.ndarray
    a_kind: np.ndarray
    b_bits: np.ndarray
    b_kind: np.ndarray
    o_bits: np.ndarray
    o_kind: np.ndarray
    b_fresh: np.ndarray  # per row: fraction of B a preceding weight GEMM may have just written
    start_row: np.ndarray  # first engine row of each record
    grows: np.ndarray  # bool per record: one row per step (else one row for all steps)
    trans: Transitions | None = None  # execution-order transitions (built on first use)
    per_iter: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # by array count

    def transitions(self) -> Transitions:
        if self.trans is None:
            self.trans = transitions(
                [g.phase for g in self.gemms], np.array([g.steps for g in self.gemms], dtype=np.int64),
                np.array([g.layer for g in self.gemms], dtype=np.int64),
                np.array([g.layers for g in self.gemms], dtype=np.int64), self.grows, self.start_row,
                int(self.m.size))
        return self.trans


_CACHE: dict[int, tuple[Workload, _Prepared]] = {}


def _prepare(w: Workload) -> _Prepared:
    hit = _CACHE.get(id(w))
    if hit is not None and hit[0] is w:
        return hit[1]
    gemms: list[GemmOp] = []
    vops: list[VectorOp] = []
    order: list[tuple[str, int]] = []
    for op in w.ops:
        if isinstance(op, GemmOp):
            order.append(("g", len(gemms)))
            gemms.append(op)
        else:
            order.append(("v", len(vops)))
            vops.append(op)
    ms, ns, ks, recs, mults, starts, grow_flags, fresh = [], [], [], [], [], [], [], []
    n_rows = 0
    for i, g in enumerate(gemms):
        grows = bool(g.m_per_step or g.n_per_step or g.k_per_step)
        grow_flags.append(grows)
        starts.append(n_rows)
        if grows:
            m, n, k = g.dims()
            rep = 1
        else:
            m, n, k = np.array([g.m]), np.array([g.n]), np.array([g.k])
            rep = g.steps
        ms.append(m)
        ns.append(n)
        ks.append(k)
        recs.append(np.full(m.size, i))
        mults.append(np.full(m.size, g.batch * g.count * rep, dtype=np.float64))
        fresh.append(b_fresh_fraction(g.b_is_weight, n, k, g.n_per_step, g.k_per_step))
        n_rows += m.size

    def cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    p = _Prepared(
        gemms=gemms, vops=vops, order=order,
        rec=cat(recs, np.int64), m=cat(ms, np.int64), n=cat(ns, np.int64), k=cat(ks, np.int64),
        mult=cat(mults, np.float64),
        a_bits=np.array([g.a.bits for g in gemms], dtype=np.int64),
        a_kind=np.array([KIND_CODE[g.a.kind] for g in gemms], dtype=np.int64),
        b_bits=np.array([g.b.bits for g in gemms], dtype=np.int64),
        b_kind=np.array([KIND_CODE[g.b.kind] for g in gemms], dtype=np.int64),
        o_bits=np.array([g.out.bits for g in gemms], dtype=np.int64),
        o_kind=np.array([KIND_CODE[g.out.kind] for g in gemms], dtype=np.int64),
        b_fresh=cat(fresh, np.float64), start_row=np.array(starts, dtype=np.int64),
        grows=np.array(grow_flags, dtype=bool),
    )
    if len(_CACHE) > 32:
        _CACHE.clear()
    _CACHE[id(w)] = (w, p)
    return p


# ---- GEMM engines -----------------------------------------------------------------------------------


def _gemm_engine(engine: str) -> Callable[..., dict[str, np.ndarray]]:
    if engine not in ENGINES:
        raise InputError(f"{engine!r} is not allowed (allowed: {', '.join(ENGINES)})", key="engine")
    if engine == "cycle":
        try:
            from simulator.cycle import simulate_gemms
        except ImportError:
            raise InputError("the cycle engine is not built into this version (allowed: analytical)",
                             key="engine") from None
        return simulate_gemms
    try:
        from simulator.memory import analyze_gemms
    except ImportError:
        return _roofline_gemms
    return analyze_gemms


def _roofline_gemms(m: Any, n: Any, k: Any, arch: ArchSpec, *, a_bytes: Any = 1.0, b_bytes: Any = 1.0,
                    out_bytes: Any = 1.0, timing: str | None = None) -> dict[str, np.ndarray]:
    """Used only when :mod:`simulator.memory` is absent: compute model + ideal traffic + roofline stalls."""
    from simulator.analytical import analyze_compute

    a = arch.array
    t = timing or a.timing
    r = analyze_compute(m, n, k, a.rows, a.cols, a.dataflow, scalesim=t == "scalesim", prefetch=a.prefetch_stationary)
    m, n, k = (np.asarray(x, dtype=np.float64) for x in (m, n, k))
    ra, rb, wo = m * k * a_bytes, k * n * b_bytes, m * n * out_bytes
    bpc = arch.dram_bytes_per_cycle
    mem = (ra + rb + wo) / bpc if math.isfinite(bpc) else np.zeros_like(ra)
    comp = r["compute_cycles"].astype(np.float64)
    stall = np.maximum(np.ceil(mem) - comp, 0.0)
    return dict(r, stall_cycles=stall, total_cycles=comp + stall, sram_ofmap_reads=np.zeros_like(comp),
                dram_ifmap_read_bytes=ra, dram_filter_read_bytes=rb, dram_ofmap_read_bytes=np.zeros_like(ra),
                dram_ofmap_write_bytes=wo)


def _grouped_engine(fn: Callable[..., dict[str, np.ndarray]], m: np.ndarray, n: np.ndarray, k: np.ndarray,
                    arch: ArchSpec, a_rec: np.ndarray, b_rec: np.ndarray, o_rec: np.ndarray,
                    rec: np.ndarray) -> dict[str, np.ndarray]:
    """One engine call per distinct (a, b, out) bytes-per-element triple (engines take scalars)."""
    triples = np.stack([a_rec, b_rec, o_rec], axis=1)
    uniq, grp_of_rec = np.unique(triples, axis=0, return_inverse=True)
    grp_of_rec = grp_of_rec.reshape(-1)
    if len(uniq) == 1:
        a, b, o = uniq[0]
        return fn(m, n, k, arch, a_bytes=float(a), b_bytes=float(b), out_bytes=float(o), timing=None)
    grp = grp_of_rec[rec]
    out: dict[str, np.ndarray] = {}
    for gi_, (a, b, o) in enumerate(uniq):
        sel = np.nonzero(grp == gi_)[0]
        part = fn(m[sel], n[sel], k[sel], arch, a_bytes=float(a), b_bytes=float(b), out_bytes=float(o), timing=None)
        for key, val in part.items():
            val = np.asarray(val)
            if key not in out:
                out[key] = np.zeros(m.size, dtype=val.dtype)
            out[key][sel] = val
    return out


# ---- result ------------------------------------------------------------------------------------------


@dataclass
class Result:
    """Totals plus a tidy per-op table (one row per workload op record)."""

    totals: dict[str, Any]
    columns: dict[str, Any] = field(repr=False)
    arch: str = ""
    workload: str = ""
    engine: str = "analytical"

    @cached_property
    def ops(self) -> Any:
        import pandas as pd

        return pd.DataFrame({c: self.columns[c] for c in _OP_COLUMNS})

    def by_kind(self) -> Any:
        """Per op kind sums (``cycles``, ``latency_s``, energies, ``macs``, ``dram_bytes``)."""
        df = self.ops
        num = [c for c in df.columns if c not in ("op", "kind", "op_type", "layer", "phase", "utilization")]
        return df.groupby(["op_type", "kind"], sort=False)[num].sum().reset_index()

    def to_dict(self) -> dict[str, Any]:
        ops = [{k: _py(v) for k, v in row.items()} for row in self.ops.to_dict(orient="records")]
        return {"totals": {k: _py(v) for k, v in self.totals.items()}, "ops": ops}


def _py(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _py(x) for k, x in v.items()}
    if isinstance(v, np.generic):
        return v.item()
    return v


# ---- simulate ---------------------------------------------------------------------------------------


def _per_array_arch(arch: ArchSpec) -> ArchSpec:
    cnt = arch.array.count
    if cnt == 1:
        return arch
    bpc = arch.dram_bytes_per_cycle / cnt
    dram = dataclasses.replace(arch.dram, bandwidth_gbps=None, bytes_per_cycle=bpc)
    return dataclasses.replace(arch, dram=dram)


def _cross_op_saved(prep: _Prepared, arch: ArchSpec, res: dict[str, np.ndarray]) -> np.ndarray:
    """Per record: cycles saved by loading the next GEMM's first weight tile during the previous GEMM
    (``buffers.cross_op_prefetch``, :mod:`simulator.schedule`); zeros when it does not apply."""
    ng = len(prep.gemms)
    bpc = _per_array_arch(arch).dram_bytes_per_cycle
    buf = arch.buffers
    if (not buf.cross_op_prefetch or not buf.double_buffered or not math.isfinite(bpc)
            or any(key not in res for key in CROSS_OP_KEYS)):
        return np.zeros(ng)
    cnt = arch.array.count
    r = prep.rec
    if cnt not in prep.per_iter:  # products run back to back per layer iteration on one array; B is a weight
        per_iter = np.array([(-(-x.batch // cnt) if cnt > 1 and x.batch >= cnt else x.batch) * x.count / x.layers
                             for x in prep.gemms], dtype=np.float64)
        weight = np.array([x.b_is_weight for x in prep.gemms], dtype=bool)
        prep.per_iter[cnt] = (per_iter[r], weight[r])
    per_iter_row, weight_row = prep.per_iter[cnt]
    saved_row = cross_op_saved_cycles(res, prep.transitions(), per_iter_row, weight_row, prep.b_fresh, bpc,
                                      float(arch.dram.latency_cycles))
    return np.bincount(r, weights=saved_row, minlength=ng)


def _simulate_columns(w: Workload, arch: ArchSpec, engine: str) -> tuple[dict[str, Any], dict[str, Any]]:
    prep = _prepare(w)
    pe = arch.pe
    cnt = arch.array.count
    fe = node_factor(arch)
    ng, nv = len(prep.gemms), len(prep.vops)
    g: dict[str, np.ndarray] = {}
    if ng:
        a_bits = operand_bits(prep.a_bits, prep.a_kind, pe)
        b_bits = operand_bits(prep.b_bits, prep.b_kind, pe)
        o_bits = operand_bits(prep.o_bits, prep.o_kind, pe)
        p = macs_per_pe_cycle(a_bits, b_bits, pe)
        sp = sparsity_effects([x.a for x in prep.gemms], [x.b for x in prep.gemms],
                              [x.b_is_weight for x in prep.gemms], pe, arch.array.rows, [x.kind for x in prep.gemms])
        mac_pj = mac_energy_pj(a_bits, b_bits, KIND_CODE[pe.number_kind], pe, arch.energy, arch.array.dataflow)
        mac_pj = mac_pj * sp.mac_gate * fe
        r = prep.rec
        k = prep.k.astype(np.float64)
        k_eff = np.maximum(np.ceil(k * (sp.k_scale / p)[r] - 1e-9), 1.0).astype(np.int64)
        # bytes per streamed (packed / compressed) element, per record: true bytes up to K rounding
        a_rec = a_bits / 8.0 * p / sp.k_scale
        b_rec = (b_bits + sp.b_meta_bits) / 8.0 * p * sp.b_store_scale / sp.k_scale
        o_rec = o_bits / 8.0
        a_row, b_row = a_rec[r], b_rec[r]
        # several arrays: records with >= count independent products (heads) spread them over the
        # arrays; others split N column-wise (each array 1/count of the columns, activations multicast)
        batch_split = np.array([x.batch >= cnt for x in prep.gemms], dtype=bool)[r] if cnt > 1 else None
        n_full = prep.n if not np.any(sp.n_scale < 1) else np.maximum(
            np.ceil(prep.n * sp.n_scale[r] - 1e-9), 1).astype(np.int64)
        n_arr = n_full if cnt == 1 else np.where(batch_split, n_full, -(-n_full // cnt))
        res = _grouped_engine(_gemm_engine(engine), prep.m, n_arr, k_eff, _per_array_arch(arch),
                              a_rec, b_rec, o_rec, r)
        share = 1.0 if cnt == 1 else np.where(batch_split, 1.0, float(cnt))  # arrays working on one product
        dram_row = (np.asarray(res["dram_ifmap_read_bytes"], dtype=np.float64)
                    + share * (np.asarray(res["dram_filter_read_bytes"], dtype=np.float64)
                               + np.asarray(res["dram_ofmap_read_bytes"], dtype=np.float64)
                               + np.asarray(res["dram_ofmap_write_bytes"], dtype=np.float64)))
        mf = prep.m.astype(np.float64)
        macs_row = mf * prep.n * k
        exec_row = macs_row * (sp.k_scale * sp.n_scale)[r]
        e = gemm_energy_pj(arch, res, macs_executed=exec_row, mac_pj=mac_pj[r], a_bits=a_row * 8.0,
                           b_bits=b_row * 8.0, dram_bytes=dram_row)
        for c in ("sram_ifmap", "sram_filter", "sram_ofmap"):
            e[c] = e[c] * share
        wts = prep.mult
        if cnt > 1:  # batch-split records: `cnt` products at a time
            bsz = np.array([x.batch for x in prep.gemms], dtype=np.float64)[r]
            time_wts = np.where(batch_split, wts / bsz * np.ceil(bsz / cnt), wts)
        else:
            time_wts = wts

        def agg(x: Any, weights: np.ndarray = wts) -> np.ndarray:
            return np.bincount(r, weights=np.asarray(x, dtype=np.float64) * weights, minlength=ng)

        saved = _cross_op_saved(prep, arch, res)
        g = {
            "cycles": agg(res["total_cycles"], time_wts) - saved,
            "stall_cycles": agg(res["stall_cycles"], time_wts) - saved,
            "macs": agg(macs_row),
            "slots": agg(mf * n_full * k_eff),
            "dram_bytes": agg(dram_row),
        }
        for c in ("mac", "sram_ifmap", "sram_filter", "sram_ofmap", "dram"):
            g[f"energy_{c}_pj"] = agg(e[c])
    v = analyze_vector_ops(prep.vops, arch)

    # assemble per-op columns in workload order
    n_ops = ng + nv
    freq_hz = arch.array.freq_mhz * 1e6
    cols: dict[str, Any] = {c: np.zeros(n_ops) for c in _OP_COLUMNS if c not in ("op", "kind", "op_type", "phase")}
    names, kinds, types, phases = [], [], [], []
    gi = np.array([i for t, i in prep.order if t == "g"], dtype=np.int64)
    vi = np.array([i for t, i in prep.order if t == "v"], dtype=np.int64)
    gpos = np.array([j for j, (t, _) in enumerate(prep.order) if t == "g"], dtype=np.int64)
    vpos = np.array([j for j, (t, _) in enumerate(prep.order) if t == "v"], dtype=np.int64)
    for t, i in prep.order:
        op = prep.gemms[i] if t == "g" else prep.vops[i]
        names.append(op.name)
        kinds.append(op.kind)
        types.append("gemm" if t == "g" else "vector")
        phases.append(op.phase)
        cols["layer"][len(names) - 1] = op.layer
        cols["count"][len(names) - 1] = op.count * (op.batch if t == "g" else 1) * op.steps  # type: ignore[union-attr]
    pes = arch.array.rows * arch.array.cols * cnt
    if ng:
        for c in ("cycles", "stall_cycles", "macs", "dram_bytes") + tuple(f"energy_{x}_pj" for x in
                                                                           ("mac", "sram_ifmap", "sram_filter",
                                                                            "sram_ofmap", "dram")):
            cols[c][gpos] = g[c][gi]
        cols["utilization"][gpos] = g["slots"][gi] / np.maximum(g["cycles"][gi] * pes, 1.0)
    if nv:
        cols["cycles"][vpos] = v["cycles"][vi]
        cols["dram_bytes"][vpos] = v["dram_bytes"][vi]
        cols["energy_vector_pj"][vpos] = v["energy_vector_pj"][vi]
        cols["energy_sram_ofmap_pj"][vpos] = v["energy_sram_ofmap_pj"][vi]
        cols["energy_dram_pj"][vpos] = v["energy_dram_pj"][vi]
    cols["latency_s"] = cols["cycles"] / freq_hz
    cols["energy_leakage_pj"] = arch.energy.leakage_mw * 1e9 * cols["latency_s"]
    cols["energy_pj"] = sum(cols[f"energy_{c}_pj"] for c in COMPONENTS)
    cols["layer"] = cols["layer"].astype(np.int64)
    cols["count"] = cols["count"].astype(np.int64)
    cols["op"], cols["kind"], cols["op_type"], cols["phase"] = names, kinds, types, phases

    # totals: per phase, serial or overlapped vector work
    is_g = np.array([t == "gemm" for t in types], dtype=bool)
    ph = np.array(phases, dtype=object)
    total_cycles = 0.0
    phase_cycles: dict[str, float] = {}
    for p_name in dict.fromkeys(phases):
        sel = ph == p_name
        cg = float(cols["cycles"][sel & is_g].sum())
        cv = float(cols["cycles"][sel & ~is_g].sum())
        c = max(cg, cv) if arch.vector.overlap_with_array else cg + cv
        phase_cycles[p_name] = c
        total_cycles += c
    latency = total_cycles / freq_hz
    breakdown = {c: float(cols[f"energy_{c}_pj"].sum()) for c in COMPONENTS}
    breakdown["leakage"] = leakage_pj(arch, latency)
    energy = sum(breakdown.values())
    macs = float(cols["macs"].sum())
    area = area_breakdown_mm2(arch)
    gemm_cycles = float(cols["cycles"][is_g].sum())
    slots = float(g["slots"].sum()) if ng else 0.0
    peak_tops = 2.0 * pes * freq_hz / 1e12
    totals: dict[str, Any] = {
        "cycles": total_cycles,
        "latency_s": latency,
        "energy_pj": energy,
        "energy_breakdown_pj": breakdown,
        "area_mm2": area["total"],
        "area_breakdown_mm2": {k: v for k, v in area.items() if k != "total"},
        "macs": macs,
        "dram_bytes": float(cols["dram_bytes"].sum()),
        "utilization": slots / max(gemm_cycles * pes, 1.0),
        "gemm_cycles": gemm_cycles,
        "vector_cycles": float(cols["cycles"][~is_g].sum()),
        "stall_cycles": float(cols["stall_cycles"].sum()),
        "peak_tops": peak_tops,
    }
    # what the derived metrics (simulator/metrics.py: tokens/s, TOPS/W, energy per token, ...) divide by
    totals["inferences"] = float(w.batch)
    if "decode" in phase_cycles:
        steps = w.new_tokens or max((o.steps for o in w.ops if o.phase == "decode"), default=1)
        totals["tokens"] = float(w.batch * steps)
        totals["token_latency_s"] = phase_cycles["decode"] / freq_hz
    else:
        totals["tokens"] = float(w.batch * w.seq_len)
        totals["token_latency_s"] = latency
    totals = derive(totals)
    return totals, cols


def simulate(workload: Workload, arch: ArchSpec, *, engine: str = "analytical") -> Result:
    """Simulate a whole workload on one accelerator (see the module docstring)."""
    totals, cols = _simulate_columns(workload, arch, engine)
    return Result(totals=totals, columns=cols, arch=arch.name, workload=workload.name, engine=engine)


def simulate_totals(workload: Workload, arch: ArchSpec, *, engine: str = "analytical") -> dict[str, Any]:
    """Only the totals (no DataFrame is built)."""
    return _simulate_columns(workload, arch, engine)[0]
