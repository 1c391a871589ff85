"""Cycle-level kernels: the skewed operand wavefront and the double-buffered memory, cycle by cycle.

Per fold the kernel walks the fold's event timeline one cycle at a time and counts, per operand,
how many SRAM ports fire in that cycle (the skewed wavefront of an H x W array, see
``wavefront_counts``); it then steps the fold's time window one cycle at a time, moving
``bytes_per_cycle`` bytes over the DRAM interface (outputs of the previous fold first, then the next
fold's inputs, whose data arrive no earlier than ``latency`` cycles after the request) and counting a
stall for every cycle the array has finished but the next fold's operands (or the free output slot)
are not there yet. The tile-level rules (what is fetched when) are ``simulator.memory.tiles.fold_io``;
the per-cycle wavefront of each dataflow is ``simulator.dataflows.wavefront_counts``. Results go into
the one per-GEMM layout of ``simulator.results`` (the closed form fills the same columns).
Nothing per cycle is stored: only counters (the trace writer in ``trace.py`` is separate).
"""

from __future__ import annotations

import numpy as np

from simulator import results as R
from simulator.dataflows import (
    T_SCALESIM,
    accumulates,
    event_length,
    geometry,
    output_stream_cycles,
    wavefront_counts,
)
from simulator.jit import njit
from simulator.memory import params as P
from simulator.memory.closed import best_loop
from simulator.memory.tiles import (
    body_free_filter_bytes,
    buffer_modes,
    fold_compute,
    fold_io,
    fold_tile,
    is_ideal,
    last_tile_bytes,
    link_time,
    loops,
    peak_bytes,
    prefetch_io,
)


@njit(cache=True)
def simulate_one(
    m: int, n: int, k: int, h: int, w: int, df: int, timing: int, db: bool,
    cap_a: float, cap_b: float, cap_c: float, ab: float, bb: float, ob: float,
    ia: float, ib: float, ic: float, lat: float, res: np.ndarray, fold_start: np.ndarray,
) -> None:
    """Simulate one GEMM cycle by cycle; fill the row ``res`` (``simulator.results`` layout).

    The links move transfer time, not bytes: a byte of A costs ``ia`` cycles, of B ``ib``, of C (write
    back, partial-sum read) ``ic`` (``memory.tiles.link_time``); one cycle moves one cycle's worth.

    ``fold_start`` (length folds, or 0 to skip) receives each fold's first cycle, for trace writing.
    """
    sr, sc, t, rf, cf = geometry(m, n, k, h, w, df)
    ma, mb, mc = buffer_modes(m, n, k, h, w, df, db, cap_a, cap_b, cap_c, ab, bb, ob)
    lp = best_loop(m, n, k, h, w, df, timing, db, ma, mb, mc, ab, bb, ob, ia, ib, ic, lat)[0]  # the mapper's choice
    no, ni = loops(rf, cf, lp)
    nf = no * ni
    ideal = is_ideal(ia, ib, ic)
    length = event_length(h, w, t, df, timing)
    record = fold_start.shape[0] == nf

    sram_i = sram_f = sram_o = sram_or = 0
    compute = 0
    stall = 0
    cycle = 0
    ra = rb = rc = wc = 0.0

    # prologue: the first fold's operands
    la, lb, lc, st_cur = fold_io(0, 0, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)
    pro_bytes = la + lb + lc
    pro_filter = lb
    ld_t = link_time(la, lb, lc, ia, ib, ic)
    if not ideal and ld_t > 0.0:
        left = ld_t
        eps = 1e-9 * ld_t
        while left > eps:
            if cycle >= lat:
                left -= 1.0
            cycle += 1
            stall += 1
    pro_cycles = cycle
    tail_idle = 0
    body_idle = 0
    st_prev = 0.0
    sleft = 0.0  # link cycles of the last fold's outputs still to write
    s_from = 0
    for f in range(nf):
        o = f // ni
        q = f - o * ni
        i, j, rows, cols = fold_tile(o, q, lp, sr, sc, rf, cf, h, w)
        ra += la
        rb += lb
        rc += lc
        wc += st_cur
        # --- the wavefront of this fold, cycle by cycle
        for e in range(length):
            a_, b_, c_ = wavefront_counts(e, rows, cols, h, t, df, timing)
            sram_i += a_
            sram_f += b_
            sram_o += c_
            if accumulates(df) and i > 0:
                sram_or += c_  # the previous K fold's partial sum is read back as this one lands
        # --- the fold's time window: compute c_f cycles while DRAM moves data
        c_f = fold_compute(f, nf, h, w, t, df, timing)
        if f + 1 < nf:
            la, lb, lc, st_next = fold_io((f + 1) // ni, (f + 1) % ni, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)
        else:
            la = lb = lc = st_next = 0.0
        if db:  # what the links load during this fold (tiles reused over a whole inner loop load early)
            pa_, pb_, pc_ = prefetch_io(f, no, ni, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)
            ld_next = link_time(pa_, pb_, pc_, ia, ib, ic)
        else:
            ld_next = link_time(la, lb, lc, ia, ib, ic)
        if record:
            fold_start[f] = cycle
        if ideal:
            cycle += c_f
        elif db:
            wleft = st_prev * ic
            rleft = ld_next
            weps = 1e-9 * wleft
            reps = 1e-9 * rleft
            if f == nf - 1:  # the last fold's own outputs, written as their rows leave the array
                sleft = st_cur * ic
                s_from = c_f - output_stream_cycles(h, w, t, df, timing)
            seps = 1e-9 * sleft
            tt = 0
            idle = 0
            while tt < c_f or wleft > weps or rleft > reps:
                avail = 1.0
                s_on = f == nf - 1 and tt >= s_from and sleft > seps and wleft <= weps and rleft <= reps
                if wleft <= weps and rleft <= reps and not s_on:
                    idle += 1  # DRAM has nothing to move this cycle
                if wleft > weps:
                    use = min(avail, wleft)
                    wleft -= use
                    avail -= use
                if rleft > reps and wleft <= weps:  # requests pipelined: latency hidden
                    rleft -= avail
                if s_on:
                    sleft -= min(1.0, sleft)
                tt += 1
            cycle += tt
            stall += tt - c_f
            if f == nf - 1:
                tail_idle = idle
            else:
                body_idle += idle
        else:
            cycle += c_f
            wleft = st_cur * ic
            rleft = ld_next
            weps = 1e-9 * wleft
            reps = 1e-9 * rleft
            tt = 0
            while wleft > weps or rleft > reps:
                avail = 1.0
                if wleft > weps:
                    use = min(avail, wleft)
                    wleft -= use
                    avail -= use
                if tt >= lat and rleft > reps and wleft <= weps:
                    rleft -= avail
                tt += 1
            cycle += tt
            stall += tt
        compute += c_f
        st_prev = st_cur
        st_cur = st_next
    # epilogue: drain what is left of the last fold's outputs
    if not ideal and db and st_prev * ic > 0.0:
        left = sleft
        eps = 1e-9 * st_prev * ic
        while left > eps:
            left -= 1.0
            cycle += 1
            stall += 1
    pa, pb, pc = peak_bytes(m, n, k, h, w, df, db, ma, mb, mc, cap_a, cap_b, cap_c, ab, bb, ob)
    off = 1 if timing == T_SCALESIM else 0
    res[R.COMPUTE_CYCLES] = compute - off
    res[R.STALL_CYCLES] = stall
    res[R.TOTAL_CYCLES] = cycle - off
    res[R.FOLDS] = nf
    res[R.SRAM_IFMAP_READS] = sram_i
    res[R.SRAM_FILTER_READS] = sram_f
    res[R.SRAM_OFMAP_WRITES] = sram_o
    res[R.SRAM_OFMAP_READS] = sram_or
    res[R.DRAM_IFMAP_READ] = ra
    res[R.DRAM_FILTER_READ] = rb
    res[R.DRAM_OFMAP_READ] = rc
    res[R.DRAM_OFMAP_WRITE] = wc
    res[R.PEAK_IFMAP] = pa
    res[R.PEAK_FILTER] = pb
    res[R.PEAK_OFMAP] = pc
    res[R.LOOP_ORDER] = lp
    res[R.DATAFLOW] = df
    if not ideal:  # cross-op prefetch figures (memory.crossop.cross_op_figures gives the same in closed form)
        res[R.PROLOGUE_CYCLES] = pro_cycles
        res[R.PROLOGUE_BYTES] = pro_bytes
        res[R.PROLOGUE_FILTER_BYTES] = pro_filter
        res[R.TAIL_IDLE_CYCLES] = tail_idle
        ta, tb = last_tile_bytes(m, n, k, h, w, df, ab, bb)
        res[R.TAIL_FREE_FILTER] = max(cap_b - tb, 0.0) if db else 0.0
        res[R.BODY_FREE_FILTER] = body_free_filter_bytes(m, n, k, h, w, df, mb, cap_b, bb) if db else 0.0
        res[R.BODY_IDLE_CYCLES] = body_idle
        res[R.TAIL_FREE_IFMAP] = max(cap_a - ta, 0.0) if db else 0.0
    else:
        for x in range(R.PROLOGUE_CYCLES, R.TAIL_FREE_IFMAP + 1):
            res[x] = 0.0


@njit(cache=True)
def simulate_many(prm: np.ndarray, out: np.ndarray) -> None:
    """``simulate_one`` for every row of the parameter matrix ``prm`` (``simulator.memory.params``);
    ``out[g, :]`` in the ``simulator.results`` layout."""
    none = np.empty(0, dtype=np.int64)
    for g in range(prm.shape[0]):
        simulate_one(int(prm[g, P.M]), int(prm[g, P.N]), int(prm[g, P.K]), int(prm[g, P.H]), int(prm[g, P.W]),
                     int(prm[g, P.DF]), int(prm[g, P.TIMING]), prm[g, P.DB] != 0.0, prm[g, P.CAP_A],
                     prm[g, P.CAP_B], prm[g, P.CAP_C], prm[g, P.AB], prm[g, P.BB], prm[g, P.OB], prm[g, P.INV_A],
                     prm[g, P.INV_B], prm[g, P.INV_C], prm[g, P.LAT], out[g], none)


__all__ = ["event_length", "simulate_many", "simulate_one", "wavefront_counts"]
