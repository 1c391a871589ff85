"""``simulate(workload, arch, engine) -> Result``: a whole transformer on one accelerator.

Pipeline (docs/precision_sparsity.md, docs/vector.md, docs/energy.md):

1. GEMM records are expanded into one row per distinct step shape (records whose shape does not
   grow with the decode step are evaluated once and multiplied by ``steps``).
2. Precision (:mod:`simulator.precision`) and sparsity (:mod:`simulator.sparsity`) turn each record
   into an effective reduction length ``K_eff = ceil(K * k_scale / p)`` (p = MACs per PE per cycle,
   k_scale = streamed fraction of K) and bytes per streamed element chosen so that DRAM/SRAM bytes
   are the true (packed, compressed, metadata-carrying) operand bytes.
3. Residency (:mod:`simulator.residency`, docs/memory.md 8) decides per row where A and B come from
   and where C goes (in place, an on-chip level, DRAM): one link per operand. Every candidate mapping
   (each dataflow under ``array.dataflow: auto``; with ``array.count > 1`` arrays, the products of a
   record (heads) spread over the arrays or each product split column-wise, activations multicast)
   goes through ONE call of the GEMM engine on a stacked parameter matrix (``analyze_params`` of
   :mod:`simulator.memory` for ``analytical``, ``simulate_params`` of :mod:`simulator.cycle` for
   ``cycle``); per row the cheapest (cycles, then energy) is kept (docs/memory.md 9). The DRAM channel
   bounds every product (its DRAM bytes over the bandwidth it gets).
   With ``buffers.cross_op_prefetch`` (double-buffered, finite bandwidth) the next GEMM's first tiles
   load during the previous GEMM's idle DRAM windows (:mod:`simulator.schedule`, docs/memory.md 4b):
   the cycles saved come off the prologue stalls of the GEMM that runs second.
4. Vector ops go through :mod:`simulator.vector`; with ``vector.overlap_with_array`` the vector unit
   works concurrently with the array (per phase, time = max(GEMM, vector)), else serially (sum).
5. Energy per component (:mod:`simulator.energy`), area (:mod:`simulator.area`), totals.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from simulator.arch import ArchSpec
from simulator.area import area_breakdown_mm2
from simulator.dataflows import NAMES as DATAFLOW_NAMES
from simulator.energy import COMPONENTS, gemm_energy_pj, level_read_pj_per_bit, node_factor, static_power_w
from simulator.limits import check_finite_totals
from simulator.mapping import cheapest, take
from simulator.memory import timing_code
from simulator.memory.params import param_matrix
from simulator.metrics import derive
from simulator.precision import (
    KIND_CODE,
    dequant_cycles_per_element,
    mac_energy_pj,
    macs_per_pe_cycle,
    operand_bits,
    storage_bits,
)
from simulator.residency import DRAM, IN_PLACE, residency
from simulator.schedule import CROSS_OP_KEYS, Transitions, b_fresh_fraction, cross_op_saved_cycles, transitions
from simulator.sparsity import sparsity_effects
from simulator.vector import analyze_vector_ops
from workloads.errors import InputError
from workloads.ir import GemmOp, VectorOp, Workload

ENGINES: tuple[str, ...] = ("analytical", "cycle")
_OP_COLUMNS = ("op", "kind", "op_type", "layer", "phase", "count", "macs", "cycles", "stall_cycles", "latency_s",
               "energy_pj") + tuple(f"energy_{c}_pj" for c in COMPONENTS) + (
    "dram_bytes", "spill_bytes", "utilization", "dataflow", "array_split")
_TEXT_COLUMNS = ("op", "kind", "op_type", "phase", "dataflow", "array_split")


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
    inst_row: np.ndarray  # per row: op instances paying array.op_overhead_cycles (count x steps; a batch is one)
    v_inst: np.ndarray  # per vector record: instances (count x steps)
    b_group: np.ndarray  # per record: weight scale-group size along K (0: per output channel)
    b_scale_bits: np.ndarray  # per record: bits stored per scale group
    b_fresh: np.ndarray  # per row: fraction of B a preceding weight GEMM may have just written
    start_row: np.ndarray  # first engine row of each record
    grows: np.ndarray  # bool per record: one row per step (else one row for all steps)
    trans: Transitions | None = None  # execution-order transitions (built on first use)

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
        inst_row=cat([np.full(mm.size, g.count * (1 if gr else g.steps), dtype=np.float64)
                      for g, mm, gr in zip(gemms, ms, grow_flags)], np.float64),
        v_inst=np.array([o.count * o.steps for o in vops], dtype=np.float64),
        b_group=np.array([g.b.group_size for g in gemms], dtype=np.int64),
        b_scale_bits=np.array([g.b.scale_bits for g in gemms], dtype=np.int64),
        b_fresh=cat(fresh, np.float64), start_row=np.array(starts, dtype=np.int64),
        grows=np.array(grow_flags, dtype=bool),
    )
    if len(_CACHE) > 32:
        _CACHE.clear()
    _CACHE[id(w)] = (w, p)
    return p


def weight_terms(prep: _Prepared, arch: ArchSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per record: bits of A and B as stored and moved (integer weights stay packed on float arrays until
    the PE), scale / zero-point bits per weight element of group-wise quantised weights (one scale per
    output channel, ``group_size`` 0, is N values against K x N weights: not counted), and the vector
    unit's dequantisation cycles per weight element (docs/calibration.md)."""
    pe = arch.pe
    a_store = storage_bits(prep.a_bits, prep.a_kind, pe)
    b_store = storage_bits(prep.b_bits, prep.b_kind, pe)
    weight_rec = np.array([x.b_is_weight for x in prep.gemms], dtype=bool)
    grouped = weight_rec & (prep.b_kind == 0) & (prep.b_group > 0)
    scale_bits_el = np.where(grouped, prep.b_scale_bits / np.maximum(prep.b_group, 1), 0.0)
    deq_cpe = np.where(weight_rec, dequant_cycles_per_element(prep.b_bits, prep.b_kind, prep.b_group, pe,
                                                              arch.vector), 0.0)
    return a_store, b_store, scale_bits_el, deq_cpe


# ---- GEMM engines -----------------------------------------------------------------------------------


def _params_engine(engine: str) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """The engine on a parameter matrix (``simulator.memory.params``): closed form or cycle level."""
    if engine not in ENGINES:
        raise InputError(f"{engine!r} is not allowed (allowed: {', '.join(ENGINES)})", key="engine")
    if engine == "cycle":
        from simulator.cycle import simulate_params

        return simulate_params
    from simulator.memory import analyze_params

    return analyze_params


# ---- result ------------------------------------------------------------------------------------------


@dataclass
class Result:
    """Totals plus a tidy per-op table (one row per workload op record)."""

    totals: dict[str, Any]
    columns: dict[str, Any] = field(repr=False)
    arch: str = ""
    workload: str = ""
    engine: str = "analytical"
    memory: dict[str, Any] = field(default_factory=dict)  # kv_on_chip, dram_need_bytes, dram_fits (docs/memory.md 8c)

    @cached_property
    def ops(self) -> Any:
        import pandas as pd

        return pd.DataFrame({c: self.columns[c] for c in _OP_COLUMNS})

    def by_kind(self) -> Any:
        """Per op kind sums (``cycles``, ``latency_s``, energies, ``macs``, ``dram_bytes``)."""
        df = self.ops
        num = [c for c in df.columns if c not in (*_TEXT_COLUMNS, "layer", "utilization")]
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


def _cross_op_saved(prep: _Prepared, arch: ArchSpec, res: dict[str, np.ndarray], per_iter_row: np.ndarray,
                    inv_a: np.ndarray, inv_b: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Per record: cycles saved by loading the next GEMM's first tiles during the previous GEMM
    (``buffers.cross_op_prefetch``, :mod:`simulator.schedule`); zeros when it does not apply."""
    ng = len(prep.gemms)
    if (not arch.buffers.cross_op_prefetch or not arch.hierarchy.double_buffered
            or not (np.any(inv_a > 0) or np.any(inv_b > 0)) or any(key not in res for key in CROSS_OP_KEYS)):
        return np.zeros(ng)
    r = prep.rec
    weight_row = np.array([x.b_is_weight for x in prep.gemms], dtype=bool)[r]
    saved_row = cross_op_saved_cycles(res, prep.transitions(), per_iter_row, weight_row, prep.b_fresh, inv_a,
                                      inv_b, lat)
    return np.bincount(r, weights=saved_row, minlength=ng)


def _vector_live_bytes(vops: list[VectorOp]) -> np.ndarray:
    """Per vector record: bytes of its inputs and output per layer iteration at its largest step."""
    from simulator.vector import INPUTS

    return np.array([(o.elements + (o.steps - 1) * o.elements_per_step) * o.x.bits / 8.0 * (INPUTS[o.func] + 1.0)
                     * o.count / o.layers for o in vops], dtype=np.float64)


SPLITS: tuple[str, ...] = ("-", "columns", "heads")


def _onchip_link_pj(arch: ArchSpec, src: np.ndarray, nbytes: np.ndarray) -> np.ndarray:
    """Energy of moving ``nbytes`` per row over links from on-chip levels (``src >= 0``): reads there."""
    out = np.zeros(src.size)
    for code in np.unique(src):
        if code >= 0:
            sel = src == code
            out[sel] = nbytes[sel] * 8.0 * level_read_pj_per_bit(arch, int(code))
    return out


def _links(arch: ArchSpec, src: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(1 / bytes per cycle, latency) of each row's link from source code ``src`` (residency codes)."""
    hier = arch.hierarchy
    inv = np.zeros(src.size)
    lat = np.zeros(src.size)
    for code in np.unique(src):
        if code == IN_PLACE:
            continue
        i = len(hier.levels) - 1 if code == DRAM else int(code)
        bpc = hier.per_array_bpc(i)
        if math.isfinite(bpc):
            sel = src == code
            inv[sel] = 1.0 / bpc
            lat[sel] = hier.levels[i].latency_cycles
    return inv, lat


def _simulate_columns(w: Workload, arch: ArchSpec, engine: str,
                      notes: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Totals and per-op columns; ``notes`` (if given) receives the memory facts of docs/memory.md 8c:
    ``kv_on_chip``, ``dram_need_bytes`` (weights + KV cache), ``dram_capacity_bytes``, ``dram_fits``."""
    notes = {} if notes is None else notes
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
        a_store, b_store, scale_bits_el, deq_cpe = weight_terms(prep, arch)
        p = macs_per_pe_cycle(a_bits, b_bits, pe)
        sp = sparsity_effects([x.a for x in prep.gemms], [x.b for x in prep.gemms],
                              [x.b_is_weight for x in prep.gemms], pe, arch.array.rows, [x.kind for x in prep.gemms])
        r = prep.rec
        nr = r.size
        k = prep.k.astype(np.float64)
        k_eff = np.maximum(np.ceil(k * (sp.k_scale / p)[r] - 1e-9), 1.0).astype(np.int64)
        # bytes per streamed (packed / compressed) element, per record: true bytes up to K rounding
        a_rec = a_store / 8.0 * p / sp.k_scale
        b_rec = (b_store + scale_bits_el + sp.b_meta_bits) / 8.0 * p * sp.b_store_scale / sp.k_scale
        o_rec = o_bits / 8.0
        a_row, b_row, o_row = a_rec[r], b_rec[r], o_rec[r]
        # convolutions: A moves as its input feature map (implicit im2col): bytes per A element scaled
        # by distinct / im2col elements (docs/memory.md section 8); SRAM reads stay im2col reads
        im2col = np.array([min(x.a_elems, x.m * x.k) / (x.m * x.k) if x.a_elems else 1.0 for x in prep.gemms])[r]
        a_move = a_row * im2col
        n_full = prep.n if not np.any(sp.n_scale < 1) else np.maximum(
            np.ceil(prep.n * sp.n_scale[r] - 1e-9), 1).astype(np.int64)
        mf = prep.m.astype(np.float64)
        macs_row = mf * prep.n * k
        exec_row = macs_row * (sp.k_scale * sp.n_scale)[r]
        wts = prep.mult
        bsz = np.array([x.batch for x in prep.gemms], dtype=np.float64)[r]
        # residency between ops (simulator/residency.py): where A, B come from and C goes
        a_prod = mf * k_eff * a_move
        b_prod = k_eff * n_full * b_row
        c_prod = mf * n_full * o_row
        res_ = residency(prep, arch, a_prod, b_prod, c_prod, _vector_live_bytes(prep.vops))
        inv_a, lat_a = _links(arch, res_.a_src)
        inv_b, lat_b = _links(arch, res_.b_src)
        inv_c, lat_c = _links(arch, res_.c_dst)
        lat = np.maximum(np.maximum(np.where(inv_a > 0, lat_a, 0.0), np.where(inv_b > 0, lat_b, 0.0)),
                         np.where(inv_c > 0, lat_c, 0.0))
        hier = arch.hierarchy
        caps = hier.inner_caps()
        a = arch.array
        timing = timing_code(arch, None)
        # candidate mappings (simulator/mapping.py): every dataflow under `auto`, and with several
        # arrays the heads (independent products) spread over the arrays or each product split by columns
        dfs = list(range(len(DATAFLOW_NAMES))) if a.dataflow == "auto" else [DATAFLOW_NAMES.index(a.dataflow)]
        splits = [0] if cnt == 1 else [1, 2]
        cands = [(d, sp_) for d in dfs for sp_ in splits]
        prm = []
        for d, sp_ in cands:
            n_arr = -(-n_full // cnt) if sp_ == 1 else n_full
            prm.append(param_matrix(m=prep.m, n=n_arr, k=k_eff, h=a.rows, w=a.cols, df=d, timing=timing,
                                    db=hier.double_buffered, cap_a=caps[0], cap_b=caps[1], cap_c=caps[2], ab=a_move,
                                    bb=b_row, ob=o_row, inv_a=inv_a, inv_b=inv_b, inv_c=inv_c, lat=lat))
        allres = _params_engine(engine)(np.concatenate(prm))
        dram_bpc = hier.dram.bytes_per_cycle
        weight_row = np.array([x.b_is_weight for x in prep.gemms], dtype=bool)[r]
        per_cand = []
        for c, (d, sp_) in enumerate(cands):
            rc = {key: val[c * nr:(c + 1) * nr] for key, val in allres.items()}
            share = float(cnt) if sp_ == 1 else 1.0  # arrays working on one product
            la = np.asarray(rc["dram_ifmap_read_bytes"], dtype=np.float64)
            lb = np.asarray(rc["dram_filter_read_bytes"], dtype=np.float64)
            lcc = np.asarray(rc["dram_ofmap_read_bytes"], dtype=np.float64) + rc["dram_ofmap_write_bytes"]
            a_d = np.where(res_.a_src == DRAM, la, 0.0)
            b_d = np.where(res_.b_src == DRAM, share * lb, np.where((res_.b_src >= 0) & weight_row, b_prod, 0.0))
            c_d = np.where(res_.c_dst == DRAM, share * lcc, 0.0)
            dram_row = a_d + b_d + c_d
            spill_row = a_d + c_d + np.where(weight_row, 0.0, b_d)
            # no transfer for an operand already in its inner buffer: no fill energy either
            fills = dict(rc, dram_ifmap_read_bytes=np.where(res_.a_src == IN_PLACE, 0.0, la),
                         dram_filter_read_bytes=np.where(res_.b_src == IN_PLACE, 0.0, lb))
            mac_pj = mac_energy_pj(a_bits, b_bits, KIND_CODE[pe.number_kind], pe, arch.energy, DATAFLOW_NAMES[d])
            mac_pj = mac_pj * sp.mac_gate * fe
            e = gemm_energy_pj(arch, fills, macs_executed=exec_row, mac_pj=mac_pj[r], a_bits=a_row * 8.0,
                               b_bits=b_row * 8.0, dram_bytes=dram_row)
            for comp, src, byts in (("sram_ifmap", res_.a_src, la), ("sram_filter", res_.b_src, share * lb),
                                    ("sram_ofmap", res_.c_dst, share * lcc)):
                e[comp] = e[comp] * share + _onchip_link_pj(arch, src, byts)
            # the DRAM channel bounds every product: its bytes over the bandwidth the product gets
            total = np.asarray(rc["total_cycles"], dtype=np.float64)
            if math.isfinite(dram_bpc):
                bound = np.ceil(dram_row / (dram_bpc / (cnt if sp_ == 2 else 1)) - 1e-9)
                extra = np.maximum(bound - total, 0.0)
            else:
                extra = np.zeros(nr)
            time_w = wts / bsz * np.ceil(bsz / cnt) if sp_ == 2 else wts
            energy_row = sum(e[x] for x in e)
            valid = (bsz >= 2) if sp_ == 2 else np.ones(nr, dtype=bool)
            per_cand.append({"res": rc, "dram": dram_row, "spill": spill_row, "e": e, "extra": extra,
                             "time_w": time_w, "time": np.where(valid, (total + extra) * time_w, np.inf),
                             "energy": energy_row * wts, "share": share, "split": sp_, "df": d})
        pick = cheapest([{"total_cycles": pc["time"]} for pc in per_cand], [pc["energy"] for pc in per_cand])
        rows_ = np.arange(nr)

        def chosen(key: str) -> np.ndarray:
            return np.stack([np.broadcast_to(np.asarray(pc[key], dtype=np.float64), (nr,)) for pc in per_cand])[
                pick, rows_]

        res = take([pc["res"] for pc in per_cand], pick)
        time_wts = chosen("time_w")
        extra = chosen("extra")
        dram_row = chosen("dram")
        split_row = chosen("split").astype(np.int64)
        per_iter_row = np.array([x.batch * x.count / x.layers for x in prep.gemms], dtype=np.float64)[r]
        per_iter_row = np.where(split_row == 2, per_iter_row / bsz * np.ceil(bsz / cnt), per_iter_row)

        def agg(x: Any, weights: np.ndarray = wts) -> np.ndarray:
            return np.bincount(r, weights=np.asarray(x, dtype=np.float64) * weights, minlength=ng)

        saved = _cross_op_saved(prep, arch, res, per_iter_row, inv_a, inv_b, lat)
        # weight-only quantisation on a float array: the vector unit dequantises every weight element
        # fed to the array (SRAM filter reads, in elements of the streamed K_eff grid x p), serially
        deq_el = np.asarray(res["sram_filter_reads"], dtype=np.float64) * p[r] * deq_cpe[r] * chosen("share")
        vclock = arch.array.freq_mhz / (arch.vector.freq_mhz or arch.array.freq_mhz)
        deq_cyc = deq_el / arch.vector.lanes * vclock
        ovh = arch.array.op_overhead_cycles * prep.inst_row  # fixed cost per op instance (kernel launch)
        g = {
            "cycles": (agg(np.asarray(res["total_cycles"]) + extra, time_wts) - saved + agg(deq_cyc)
                       + agg(ovh, np.ones_like(wts))),
            "stall_cycles": agg(np.asarray(res["stall_cycles"]) + extra, time_wts) - saved,
            "macs": agg(macs_row),
            "slots": agg(mf * n_full * k_eff),
            "dram_bytes": agg(dram_row),
            "spill_bytes": agg(chosen("spill")),
        }
        for c in ("mac", "sram_ifmap", "sram_filter", "sram_ofmap", "dram"):
            g[f"energy_{c}_pj"] = agg(np.stack([pc["e"][c] for pc in per_cand])[pick, rows_])
        g["energy_vector_pj"] = agg(deq_el * arch.vector.energy_pj_per_element_op * fe)
        first = prep.start_row
        g["dataflow"] = np.array([DATAFLOW_NAMES[int(x)] for x in np.asarray(res["dataflow"])[first]], dtype=object)
        g["array_split"] = np.array([SPLITS[int(x)] for x in split_row[first]], dtype=object)
        weight_bytes = float(sum(b_prod[first[i]] * x.count for i, x in enumerate(prep.gemms) if x.b_is_weight))
        dram_need = weight_bytes + res_.kv_bytes
        kv_on_chip = res_.kv_on_chip
    v = analyze_vector_ops(prep.vops, arch)

    # assemble per-op columns in workload order
    n_ops = ng + nv
    freq_hz = arch.array.freq_mhz * 1e6
    cols: dict[str, Any] = {c: np.zeros(n_ops) for c in _OP_COLUMNS if c not in _TEXT_COLUMNS}
    cols["dataflow"] = np.full(n_ops, "-", dtype=object)
    cols["array_split"] = np.full(n_ops, "-", dtype=object)
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
        for c in ("cycles", "stall_cycles", "macs", "dram_bytes", "spill_bytes", "dataflow",
                  "array_split") + tuple(f"energy_{x}_pj" for x in
                                                                           ("mac", "sram_ifmap", "sram_filter",
                                                                            "sram_ofmap", "dram", "vector")):
            cols[c][gpos] = g[c][gi]
        cols["utilization"][gpos] = g["slots"][gi] / np.maximum(g["cycles"][gi] * pes, 1.0)
    if nv:
        cols["cycles"][vpos] = v["cycles"][vi] + arch.array.op_overhead_cycles * prep.v_inst[vi]
        cols["dram_bytes"][vpos] = v["dram_bytes"][vi]
        cols["spill_bytes"][vpos] = v["spill_bytes"][vi]
        cols["energy_vector_pj"][vpos] += v["energy_vector_pj"][vi]
        cols["energy_sram_ofmap_pj"][vpos] = v["energy_sram_ofmap_pj"][vi]
        cols["energy_dram_pj"][vpos] = v["energy_dram_pj"][vi]
    cols["latency_s"] = cols["cycles"] / freq_hz
    area = area_breakdown_mm2(arch)
    static_w = static_power_w(arch, area["total"])
    cols["energy_leakage_pj"] = static_w * 1e12 * cols["latency_s"]
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
    breakdown["leakage"] = static_w * 1e12 * latency  # static power x time (power = static + dynamic)
    energy = sum(breakdown.values())
    macs = float(cols["macs"].sum())
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
        "spill_bytes": float(cols["spill_bytes"].sum()),
        "static_power_w": static_w,
    }
    if ng:
        cap = arch.hierarchy.dram.capacity_bytes
        notes.update(kv_on_chip=bool(kv_on_chip), dram_need_bytes=dram_need, dram_capacity_bytes=cap,
                     dram_fits=bool(dram_need <= cap))
        if dram_need > cap:
            warnings.warn(f"{arch.name}: weights + KV cache ({dram_need / 2**30:.2f} GiB) exceed the DRAM capacity "
                          f"({cap / 2**30:.2f} GiB) of level {arch.hierarchy.dram.name!r}", ResourceWarning,
                          stacklevel=3)
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
    notes: dict[str, Any] = {}
    totals, cols = _simulate_columns(workload, arch, engine, notes)
    check_finite_totals(totals, what=f"{workload.name} on {arch.name}")
    return Result(totals=totals, columns=cols, arch=arch.name, workload=workload.name, engine=engine, memory=notes)


def simulate_totals(workload: Workload, arch: ArchSpec, *, engine: str = "analytical") -> dict[str, Any]:
    """Only the totals (no DataFrame is built)."""
    totals = _simulate_columns(workload, arch, engine)[0]
    check_finite_totals(totals, what=f"{workload.name} on {arch.name}")
    return totals
