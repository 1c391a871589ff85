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

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from simulator.arch import ArchSpec
from simulator.area import area_breakdown_mm2, array_mm2
from simulator.dataflows import NAMES as DATAFLOW_NAMES
from simulator.energy import (
    COMPONENTS,
    buffer_read_pj_per_bit,
    dram_pj_per_bit,
    gemm_energy_pj,
    level_read_pj_per_bit,
    node_factor,
    static_power_w,
)
from simulator.group import DesignGroup, finite_or_zero
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
_NUMERIC_COLUMNS = tuple(c for c in _OP_COLUMNS if c not in _TEXT_COLUMNS)


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

    def positions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(GEMM record of each GEMM op, vector record of each vector op, their positions in workload order)."""
        return self._positions

    @cached_property
    def _positions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        o = self.order
        return (np.array([i for t, i in o if t == "g"], dtype=np.int64), np.array([i for t, i in o if t == "v"], dtype=np.int64),
                np.array([j for j, (t, _) in enumerate(o) if t == "g"], dtype=np.int64),
                np.array([j for j, (t, _) in enumerate(o) if t == "v"], dtype=np.int64))

    def _op(self, t: str, i: int) -> Any:
        return self.gemms[i] if t == "g" else self.vops[i]

    @cached_property
    def _layer_count(self) -> tuple[np.ndarray, np.ndarray]:
        ops = [(t, self._op(t, i)) for t, i in self.order]
        return (np.array([op.layer for _, op in ops], dtype=np.int64),
                np.array([op.count * (op.batch if t == "g" else 1) * op.steps for t, op in ops], dtype=np.int64))

    def layer_count(self) -> tuple[np.ndarray, np.ndarray]:
        """Per op in workload order: its layer, and its instances (count x batch for a GEMM x steps)."""
        return self._layer_count

    @cached_property
    def _text_columns(self) -> tuple[list[str], list[str], list[str], list[str]]:
        ops = [(t, self._op(t, i)) for t, i in self.order]
        return ([op.name for _, op in ops], [op.kind for _, op in ops],
                ["gemm" if t == "g" else "vector" for t, _ in ops], [op.phase for _, op in ops])

    def text_columns(self) -> tuple[list[str], list[str], list[str], list[str]]:
        """Per op in workload order: name, kind, op type (gemm / vector), phase (new lists)."""
        return tuple(list(c) for c in self._text_columns)  # type: ignore[return-value]

    @cached_property
    def is_gemm_op(self) -> np.ndarray:
        return np.array([t == "g" for t, _ in self.order], dtype=bool)

    @cached_property
    def op_phase(self) -> np.ndarray:
        return np.array([self._op(t, i).phase for t, i in self.order], dtype=object)

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


def _cross_op_saved(prep: _Prepared, grp: DesignGroup, res: dict[str, np.ndarray], per_iter_row: np.ndarray,
                    inv_a: np.ndarray, inv_b: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Per design and record: cycles saved by loading the next GEMM's first tiles during the previous
    GEMM (``buffers.cross_op_prefetch``, :mod:`simulator.schedule`); zeros where it does not apply. Rows
    are ``(D, R)``; the transitions of every design that has a finite link are offset into one call."""
    arch = grp.arch
    ng = len(prep.gemms)
    n_d, n_r = inv_a.shape
    out = np.zeros((n_d, ng))
    if (not arch.buffers.cross_op_prefetch or not arch.hierarchy.double_buffered
            or any(key not in res for key in CROSS_OP_KEYS)):
        return out
    ds = np.flatnonzero(np.any(inv_a > 0, axis=1) | np.any(inv_b > 0, axis=1))
    if not ds.size:
        return out
    r = prep.rec
    weight_row = np.array([x.b_is_weight for x in prep.gemms], dtype=bool)[r]
    tr = prep.transitions()
    nd = ds.size
    sub = {key: np.asarray(res[key])[ds].reshape(-1) for key in CROSS_OP_KEYS}
    if nd > 1:
        off = (np.arange(nd) * n_r)[:, None]
        tr = Transitions((tr.prev_row[None, :] + off).reshape(-1), (tr.cur_row[None, :] + off).reshape(-1),
                         np.tile(tr.times, nd), np.tile(tr.self_iters, nd))
    saved_row = cross_op_saved_cycles(sub, tr, per_iter_row[ds].reshape(-1), np.tile(weight_row, nd),
                                      np.tile(prep.b_fresh, nd), inv_a[ds].reshape(-1), inv_b[ds].reshape(-1),
                                      lat[ds].reshape(-1))
    rec = (np.arange(nd)[:, None] * ng + r[None, :]).reshape(-1)
    out[ds] = np.bincount(rec, weights=saved_row, minlength=nd * ng).reshape(nd, ng)
    return out


def _vector_live_bytes(vops: list[VectorOp]) -> np.ndarray:
    """Per vector record: bytes of its inputs and output per layer iteration at its largest step."""
    from simulator.vector import INPUTS

    return np.array([(o.elements + (o.steps - 1) * o.elements_per_step) * o.x.bits / 8.0 * (INPUTS[o.func] + 1.0)
                     * o.count / o.layers for o in vops], dtype=np.float64)


SPLITS: tuple[str, ...] = ("-", "columns", "heads")


def _level_read_table(grp: DesignGroup) -> np.ndarray:
    """``(D, levels)`` read energy per bit of every level of every design (``energy.level_read_pj_per_bit``)."""
    n_lv = len(grp.hier.levels)
    rows = grp.per_value(grp.capacity_numbers, lambda a: tuple(level_read_pj_per_bit(a, i) for i in range(n_lv)))
    return np.array(rows, dtype=np.float64).reshape(grp.n, n_lv)


def _onchip_link_pj(table: np.ndarray, src: np.ndarray, nbytes: np.ndarray) -> np.ndarray:
    """Energy of moving ``nbytes`` per row over links from on-chip levels (``src >= 0``): reads there
    (``table``: per design and level, pJ per bit; rows ``(D, R)``)."""
    out = np.zeros(src.shape)
    on_chip = src >= 0
    if not on_chip.any():
        return out
    for code in np.unique(src[on_chip]):
        sel = src == code
        out[sel] = nbytes[sel] * 8.0 * np.broadcast_to(table[:, int(code)][:, None], src.shape)[sel]
    return out


def _links(grp: DesignGroup, src: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(1 / bytes per cycle, latency) of each row's link from source code ``src`` (residency codes; rows
    ``(D, R)``; a shared level's bandwidth is divided among the arrays)."""
    last = len(grp.hier.levels) - 1
    inv_tab = finite_or_zero(grp.level_bpc)
    lat_tab = np.where(np.isfinite(grp.level_bpc), grp.level_latency, 0.0)
    lvl = np.where(src == DRAM, last, np.maximum(src, 0))
    d = np.arange(src.shape[0])[:, None]
    moving = src != IN_PLACE
    return np.where(moving, inv_tab[d, lvl], 0.0), np.where(moving, lat_tab[d, lvl], 0.0)


@dataclass
class GroupColumns:
    """The simulator's answer for every design of a group: per-op columns ``(D, ops)`` in workload
    order, per-design totals ``(D,)`` and the memory facts of docs/memory.md 8c."""

    cols: dict[str, np.ndarray]  # numeric per-op columns of _OP_COLUMNS (D, ops)
    dataflow: np.ndarray  # (D, gemm records) dataflow codes of the chosen mappings
    array_split: np.ndarray  # (D, gemm records) codes into SPLITS
    totals: dict[str, np.ndarray]  # scalar totals (D,)
    breakdown: np.ndarray  # (D, len(COMPONENTS)) energy pJ
    area: dict[str, np.ndarray]  # area_breakdown_mm2 of every design (D,) (with "total")
    kv_on_chip: np.ndarray  # (D,) bool
    dram_need_bytes: np.ndarray  # (D,) weights + KV cache
    dram_capacity_bytes: np.ndarray  # (D,)


def simulate_group(w: Workload, archs: list[ArchSpec] | DesignGroup, engine: str = "analytical") -> GroupColumns:  # noqa: PLR0915
    """The model (module docstring) for every design of one ``simulator.group.group_key``, as arrays over
    (design, GEMM row); ``simulate`` is a group of one. Per design, every figure is computed element by
    element and summed in the order ``simulate`` of that design alone uses, so results do not depend on
    the other designs of the group."""
    grp = archs if isinstance(archs, DesignGroup) else DesignGroup(archs)
    arch = grp.arch
    prep = _prepare(w)
    pe = arch.pe
    cnt = arch.array.count
    fe = node_factor(arch)
    D = grp.n
    ng, nv = len(prep.gemms), len(prep.vops)
    g: dict[str, np.ndarray] = {}
    kv_on_chip = np.zeros(D, dtype=bool)
    dram_need = np.zeros(D)
    df_codes = np.zeros((D, ng), dtype=np.int64)
    split_codes = np.zeros((D, ng), dtype=np.int64)
    if ng:
        a_bits = operand_bits(prep.a_bits, prep.a_kind, pe)
        b_bits = operand_bits(prep.b_bits, prep.b_kind, pe)
        o_bits = operand_bits(prep.o_bits, prep.o_kind, pe)
        a_store, b_store, scale_bits_el, deq_cpe = weight_terms(prep, arch)
        p = macs_per_pe_cycle(a_bits, b_bits, pe)
        # sparsity effects depend on the array's row count only under zero-skip (per distinct value)
        specs = ([x.a for x in prep.gemms], [x.b for x in prep.gemms], [x.b_is_weight for x in prep.gemms])
        kinds_g = [x.kind for x in prep.gemms]
        sps = grp.per_value(grp.sparsity_numbers, lambda a: sparsity_effects(*specs, pe, a.array.rows, kinds_g))

        def per_rec(name: str) -> np.ndarray:
            return np.stack([np.asarray(getattr(s, name), dtype=np.float64) for s in sps])  # (D, G)

        k_scale, n_scale = per_rec("k_scale"), per_rec("n_scale")
        r = prep.rec
        nr = r.size
        k = prep.k.astype(np.float64)
        k_eff = np.maximum(np.ceil(k * (k_scale / p)[:, r] - 1e-9), 1.0).astype(np.int64)  # (D, R)
        # bytes per streamed (packed / compressed) element, per record: true bytes up to K rounding
        a_rec = a_store / 8.0 * p / k_scale
        b_rec = (b_store + scale_bits_el + per_rec("b_meta_bits")) / 8.0 * p * per_rec("b_store_scale") / k_scale
        o_rec = o_bits / 8.0
        a_row, b_row, o_row = a_rec[:, r], b_rec[:, r], o_rec[r]
        # convolutions: A moves as its input feature map (implicit im2col): bytes per A element scaled
        # by distinct / im2col elements (docs/memory.md section 8); SRAM reads stay im2col reads
        im2col = np.array([min(x.a_elems, x.m * x.k) / (x.m * x.k) if x.a_elems else 1.0 for x in prep.gemms])[r]
        a_move = a_row * im2col
        n_full = np.broadcast_to(prep.n, (D, nr)) if not np.any(n_scale < 1) else np.maximum(
            np.ceil(prep.n * n_scale[:, r] - 1e-9), 1).astype(np.int64)
        mf = prep.m.astype(np.float64)
        macs_row = mf * prep.n * k
        exec_row = macs_row * (k_scale * n_scale)[:, r]
        wts = prep.mult
        bsz = np.array([x.batch for x in prep.gemms], dtype=np.float64)[r]
        # residency between ops (simulator/residency.py): where A, B come from and C goes
        a_prod = mf * k_eff * a_move
        b_prod = k_eff * n_full * b_row
        c_prod = mf * n_full * o_row
        res_ = residency(prep, grp, a_prod, b_prod, c_prod, _vector_live_bytes(prep.vops))
        inv_a, lat_a = _links(grp, res_.a_src)
        inv_b, lat_b = _links(grp, res_.b_src)
        inv_c, lat_c = _links(grp, res_.c_dst)
        lat = np.maximum(np.maximum(np.where(inv_a > 0, lat_a, 0.0), np.where(inv_b > 0, lat_b, 0.0)),
                         np.where(inv_c > 0, lat_c, 0.0))
        hier = arch.hierarchy
        caps = grp.inner_caps
        a = arch.array
        timing = timing_code(arch, None)
        H, W = grp.rows[:, None], grp.cols[:, None]
        # candidate mappings (simulator/mapping.py): every dataflow under `auto`, and with several
        # arrays the heads (independent products) spread over the arrays or each product split by columns
        dfs = list(range(len(DATAFLOW_NAMES))) if a.dataflow == "auto" else [DATAFLOW_NAMES.index(a.dataflow)]
        splits = [0] if cnt == 1 else [1, 2]
        cands = [(d, sp_) for d in dfs for sp_ in splits]
        shape = (D, nr)

        def flat(x: Any) -> Any:
            """A (D, R), (D, 1) or (R,) array as one value per flattened (design, row); scalars stay."""
            x = np.asarray(x)
            if x.ndim == 0 or x.shape == shape:
                return x.reshape(-1) if x.ndim else x
            if x.ndim == 1:
                return x if D == 1 else np.tile(x, D)
            if x.shape == (D, 1):
                return np.repeat(x[:, 0], nr)
            return np.broadcast_to(x, shape).reshape(-1)

        if D == 1:  # scalars: param_matrix broadcasts them
            H, W = grp.rows[0], grp.cols[0]
            caps_a, caps_b, caps_c = caps[0, 0], caps[0, 1], caps[0, 2]
        else:
            caps_a, caps_b, caps_c = caps[:, 0:1], caps[:, 1:2], caps[:, 2:3]
        prm = []
        for d, sp_ in cands:
            n_arr = -(-n_full // cnt) if sp_ == 1 else n_full
            prm.append(param_matrix(m=flat(prep.m), n=flat(n_arr), k=flat(k_eff), h=flat(H), w=flat(W), df=d,
                                    timing=timing, db=hier.double_buffered, cap_a=flat(caps_a),
                                    cap_b=flat(caps_b), cap_c=flat(caps_c), ab=flat(a_move),
                                    bb=flat(b_row), ob=flat(o_row), inv_a=flat(inv_a), inv_b=flat(inv_b),
                                    inv_c=flat(inv_c), lat=flat(lat)))
        allres = _params_engine(engine)(np.concatenate(prm))
        dram_bpc = grp.dram_bpc[:, None]
        weight_row = np.array([x.b_is_weight for x in prep.gemms], dtype=bool)[r]
        e_read = np.array(grp.per_value(grp.capacity_numbers, buffer_read_pj_per_bit),
                          dtype=np.float64).reshape(D, 3)
        lv_read = _level_read_table(grp)
        dram_pj = dram_pj_per_bit(arch)
        per_cand = []
        n_flat = D * nr
        for c, (d, sp_) in enumerate(cands):
            rc = {key: np.asarray(val[c * n_flat:(c + 1) * n_flat]).reshape(shape) for key, val in allres.items()}
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
            mac_pj = mac_pj * per_rec("mac_gate") * fe
            e = gemm_energy_pj(arch, fills, macs_executed=exec_row, mac_pj=mac_pj[:, r], a_bits=a_row * 8.0,
                               b_bits=b_row * 8.0, dram_bytes=dram_row,
                               read_pj_per_bit=(e_read[:, 0:1], e_read[:, 1:2], e_read[:, 2:3]), dram_pj_per_bit=dram_pj)
            for comp, src, byts in (("sram_ifmap", res_.a_src, la), ("sram_filter", res_.b_src, share * lb),
                                    ("sram_ofmap", res_.c_dst, share * lcc)):
                e[comp] = e[comp] * share + _onchip_link_pj(lv_read, src, byts)
            # the DRAM channel bounds every product: its bytes over the bandwidth the product gets
            total = np.asarray(rc["total_cycles"], dtype=np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                bound = np.ceil(dram_row / (dram_bpc / (cnt if sp_ == 2 else 1)) - 1e-9)
            extra = np.where(np.isfinite(dram_bpc), np.maximum(bound - total, 0.0), 0.0)
            time_w = wts / bsz * np.ceil(bsz / cnt) if sp_ == 2 else wts
            energy_row = sum(e[x] for x in e)
            valid = (bsz >= 2) if sp_ == 2 else np.ones(nr, dtype=bool)
            per_cand.append({"res": rc, "dram": dram_row, "spill": spill_row, "e": e, "extra": extra,
                             "time_w": time_w, "time": np.where(valid, (total + extra) * time_w, np.inf),
                             "energy": energy_row * wts, "share": share, "split": sp_, "df": d})
        if len(per_cand) == 1:
            pick = np.zeros(shape, dtype=np.int64)
            res = per_cand[0]["res"]
        else:
            pick = cheapest([{"total_cycles": pc["time"].reshape(-1)} for pc in per_cand],
                            [np.broadcast_to(pc["energy"], shape).reshape(-1) for pc in per_cand]).reshape(shape)
            res = {key: val.reshape(shape) for key, val in
                   take([{k2: v2.reshape(-1) for k2, v2 in pc["res"].items()} for pc in per_cand],
                        pick.reshape(-1)).items()}

        def chosen(key: str) -> np.ndarray:
            if len(per_cand) == 1:
                return np.broadcast_to(np.asarray(per_cand[0][key], dtype=np.float64), shape)
            return np.take_along_axis(
                np.stack([np.broadcast_to(np.asarray(pc[key], dtype=np.float64), shape) for pc in per_cand]),
                pick[None], axis=0)[0]

        time_wts = chosen("time_w")
        extra = chosen("extra")
        dram_row = chosen("dram")
        split_row = chosen("split").astype(np.int64)
        per_iter_row = np.array([x.batch * x.count / x.layers for x in prep.gemms], dtype=np.float64)[r]
        per_iter_row = np.where(split_row == 2, per_iter_row / bsz * np.ceil(bsz / cnt), per_iter_row)
        rec2 = np.arange(D)[:, None] * ng + r[None, :]  # (D, R): design-major record index

        def agg(x: Any, weights: Any = wts) -> np.ndarray:
            vals = np.asarray(x, dtype=np.float64) * weights
            if vals.shape != shape:
                vals = np.broadcast_to(vals, shape)
            return np.bincount(rec2.reshape(-1), weights=vals.reshape(-1), minlength=D * ng).reshape(D, ng)

        saved = _cross_op_saved(prep, grp, res, per_iter_row, inv_a, inv_b, lat)
        # weight-only quantisation on a float array: the vector unit dequantises every weight element
        # fed to the array (SRAM filter reads, in elements of the streamed K_eff grid x p), serially
        deq_el = np.asarray(res["sram_filter_reads"], dtype=np.float64) * p[r] * deq_cpe[r] * chosen("share")
        vclock = (grp.freq_mhz / np.array([x.vector.freq_mhz or x.array.freq_mhz for x in grp.archs]))[:, None]
        deq_cyc = deq_el / arch.vector.lanes * vclock
        ovh = grp.op_overhead_cycles[:, None] * prep.inst_row  # fixed cost per op instance (kernel launch)
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
            if len(per_cand) == 1:
                g[f"energy_{c}_pj"] = agg(per_cand[0]["e"][c])
            else:
                g[f"energy_{c}_pj"] = agg(np.take_along_axis(np.stack([np.broadcast_to(pc["e"][c], shape)
                                                                       for pc in per_cand]), pick[None], axis=0)[0])
        g["energy_vector_pj"] = agg(deq_el * arch.vector.energy_pj_per_element_op * fe)
        first = prep.start_row
        df_codes = np.asarray(res["dataflow"])[:, first].astype(np.int64)
        split_codes = split_row[:, first]
        weight_bytes: Any = 0
        for i, x in enumerate(prep.gemms):
            if x.b_is_weight:
                weight_bytes = weight_bytes + b_prod[:, first[i]] * x.count
        dram_need = weight_bytes + res_.kv_bytes
        kv_on_chip = res_.kv_on_chip

    # per-op columns (D, ops) in workload order
    n_ops = ng + nv
    cols: dict[str, np.ndarray] = {c: np.zeros((D, n_ops)) for c in _NUMERIC_COLUMNS}
    gi, vi, gpos, vpos = prep.positions()
    pes = grp.rows * grp.cols * cnt
    if ng:
        for c in ("cycles", "stall_cycles", "macs", "dram_bytes", "spill_bytes") + tuple(
                f"energy_{x}_pj" for x in ("mac", "sram_ifmap", "sram_filter", "sram_ofmap", "dram", "vector")):
            cols[c][:, gpos] = g[c][:, gi]
        cols["utilization"][:, gpos] = g["slots"][:, gi] / np.maximum(g["cycles"][:, gi] * pes[:, None], 1.0)
    if nv:
        vs = grp.per_value(grp.vector_numbers, lambda a: analyze_vector_ops(prep.vops, a))
        for d, v in enumerate(vs):
            cols["cycles"][d, vpos] = v["cycles"][vi] + grp.op_overhead_cycles[d] * prep.v_inst[vi]
            cols["dram_bytes"][d, vpos] = v["dram_bytes"][vi]
            cols["spill_bytes"][d, vpos] = v["spill_bytes"][vi]
            cols["energy_vector_pj"][d, vpos] += v["energy_vector_pj"][vi]
            cols["energy_sram_ofmap_pj"][d, vpos] = v["energy_sram_ofmap_pj"][vi]
            cols["energy_dram_pj"][d, vpos] = v["energy_dram_pj"][vi]
    freq_hz = grp.freq_mhz * 1e6
    cols["latency_s"] = cols["cycles"] / freq_hz[:, None]
    area = _group_area(grp, pes)
    static_w = static_power_w(arch, area["total"]) * np.ones(D)
    cols["energy_leakage_pj"] = static_w[:, None] * 1e12 * cols["latency_s"]
    cols["energy_pj"] = sum(cols[f"energy_{c}_pj"] for c in COMPONENTS)
    layer, count = prep.layer_count()
    cols["layer"] = np.broadcast_to(layer, (D, n_ops))
    cols["count"] = np.broadcast_to(count, (D, n_ops))

    # totals: per phase, serial or overlapped vector work
    is_g, ph = prep.is_gemm_op, prep.op_phase
    total_cycles = np.zeros(D)
    phase_cycles: dict[str, np.ndarray] = {}
    for p_name in dict.fromkeys(ph.tolist()):
        sel = ph == p_name
        cg = _rowsum(cols["cycles"][:, sel & is_g])
        cv = _rowsum(cols["cycles"][:, sel & ~is_g])
        c_ = np.maximum(cg, cv) if arch.vector.overlap_with_array else cg + cv
        phase_cycles[p_name] = c_
        total_cycles = total_cycles + c_
    latency = total_cycles / freq_hz
    breakdown = np.stack([_rowsum(cols[f"energy_{c}_pj"]) for c in COMPONENTS], axis=1)
    breakdown[:, COMPONENTS.index("leakage")] = static_w * 1e12 * latency  # static power x time
    energy: Any = 0
    for i in range(len(COMPONENTS)):
        energy = energy + breakdown[:, i]
    gemm_cycles = _rowsum(cols["cycles"][:, is_g])
    slots = _rowsum(g["slots"]) if ng else np.zeros(D)
    totals: dict[str, np.ndarray] = {
        "cycles": total_cycles,
        "latency_s": latency,
        "energy_pj": energy * np.ones(D),
        "macs": _rowsum(cols["macs"]),
        "dram_bytes": _rowsum(cols["dram_bytes"]),
        "utilization": slots / np.maximum(gemm_cycles * pes, 1.0),
        "gemm_cycles": gemm_cycles,
        "vector_cycles": _rowsum(cols["cycles"][:, ~is_g]),
        "stall_cycles": _rowsum(cols["stall_cycles"]),
        "peak_tops": 2.0 * pes * freq_hz / 1e12,
        "spill_bytes": _rowsum(cols["spill_bytes"]),
        "static_power_w": static_w,
        "inferences": np.full(D, float(w.batch)),
    }
    # what the derived metrics (simulator/metrics.py: tokens/s, TOPS/W, energy per token, ...) divide by
    if "decode" in phase_cycles:
        steps = w.new_tokens or max((o.steps for o in w.ops if o.phase == "decode"), default=1)
        totals["tokens"] = np.full(D, float(w.batch * steps))
        totals["token_latency_s"] = phase_cycles["decode"] / freq_hz
    else:
        totals["tokens"] = np.full(D, float(w.batch * w.seq_len))
        totals["token_latency_s"] = latency
    cap = grp.level_bytes[:, -1]
    return GroupColumns(cols=cols, dataflow=df_codes, array_split=split_codes, totals=totals, breakdown=breakdown,
                        area=area, kv_on_chip=np.asarray(kv_on_chip, dtype=bool), dram_need_bytes=dram_need * np.ones(D),
                        dram_capacity_bytes=cap)


def _group_area(grp: DesignGroup, pes: np.ndarray) -> dict[str, np.ndarray]:
    """``area.area_breakdown_mm2`` of every design as arrays: the PE array's from each design's PE count,
    the rest once per distinct level capacities and DRAM peak bandwidth; total summed as there."""
    parts = grp.per_value(grp.area_numbers, area_breakdown_mm2)
    out = {k: np.array([p[k] for p in parts], dtype=np.float64) for k in parts[0] if k not in ("array", "total")}
    out = {"array": np.asarray(array_mm2(grp.arch, pes), dtype=np.float64), **out}
    out["total"] = out["array"] + out["sram"] + out["vector"] + out["fixed"]
    return out


def _rowsum(x: np.ndarray) -> np.ndarray:
    """Row sums in the summation order of a 1-D ``np.sum`` (pairwise) of that row alone: column
    selections come out Fortran-ordered, and numpy would sum those column by column."""
    return np.ascontiguousarray(x).sum(axis=1)


def design_totals(totals: dict[str, np.ndarray], breakdown: np.ndarray, area: dict[str, np.ndarray],
                  j: int) -> dict[str, Any]:
    """``simulate(...).totals`` of design ``j`` from a group's (or batch's) total arrays (derived
    metrics included)."""
    t = totals
    out: dict[str, Any] = {
        "cycles": float(t["cycles"][j]), "latency_s": float(t["latency_s"][j]), "energy_pj": float(t["energy_pj"][j]),
        "energy_breakdown_pj": {c: float(breakdown[j, i]) for i, c in enumerate(COMPONENTS)},
        "area_mm2": float(area["total"][j]),
        "area_breakdown_mm2": {k: float(v[j]) for k, v in area.items() if k != "total"},
    }
    for key in TOTAL_KEYS:
        out[key] = float(t[key][j])
    return derive(out)


TOTAL_KEYS: tuple[str, ...] = ("macs", "dram_bytes", "utilization", "gemm_cycles", "vector_cycles", "stall_cycles",
                               "peak_tops", "spill_bytes", "static_power_w", "inferences", "tokens", "token_latency_s")


def warn_dram(arch: ArchSpec, need_bytes: float, capacity_bytes: float, *, more: str = "", stacklevel: int = 2) -> None:
    """The ``ResourceWarning`` of docs/memory.md 8c: weights + KV cache do not fit the DRAM level."""
    warnings.warn(f"{arch.name}: weights + KV cache ({need_bytes / 2**30:.2f} GiB) exceed the DRAM capacity "
                  f"({capacity_bytes / 2**30:.2f} GiB) of level {arch.hierarchy.dram.name!r}{more}", ResourceWarning,
                  stacklevel=stacklevel + 1)


def _simulate_columns(w: Workload, arch: ArchSpec, engine: str,
                      notes: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Totals and per-op columns of one design; ``notes`` (if given) receives the memory facts of
    docs/memory.md 8c: ``kv_on_chip``, ``dram_need_bytes`` (weights + KV cache), ``dram_capacity_bytes``,
    ``dram_fits``."""
    gc = simulate_group(w, [arch], engine)
    prep = _prepare(w)
    cols: dict[str, Any] = {c: gc.cols[c][0] for c in _NUMERIC_COLUMNS}
    cols["layer"] = np.array(gc.cols["layer"][0], dtype=np.int64)
    cols["count"] = np.array(gc.cols["count"][0], dtype=np.int64)
    n_ops = len(prep.order)
    gi, _, gpos, _ = prep.positions()
    cols["dataflow"] = np.full(n_ops, "-", dtype=object)
    cols["array_split"] = np.full(n_ops, "-", dtype=object)
    if gi.size:
        cols["dataflow"][gpos] = np.array([DATAFLOW_NAMES[int(x)] for x in gc.dataflow[0][gi]], dtype=object)
        cols["array_split"][gpos] = np.array([SPLITS[int(x)] for x in gc.array_split[0][gi]], dtype=object)
    cols["op"], cols["kind"], cols["op_type"], cols["phase"] = prep.text_columns()
    if prep.gemms:
        if notes is not None:
            notes.update(kv_on_chip=bool(gc.kv_on_chip[0]), dram_need_bytes=float(gc.dram_need_bytes[0]),
                         dram_capacity_bytes=float(gc.dram_capacity_bytes[0]),
                         dram_fits=bool(gc.dram_need_bytes[0] <= gc.dram_capacity_bytes[0]))
        if gc.dram_need_bytes[0] > gc.dram_capacity_bytes[0]:
            warn_dram(arch, float(gc.dram_need_bytes[0]), float(gc.dram_capacity_bytes[0]), stacklevel=3)
    return design_totals(gc.totals, gc.breakdown, gc.area, 0), cols


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
