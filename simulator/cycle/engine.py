"""Cycle-level kernels: the skewed operand wavefront and the double-buffered memory, cycle by cycle.

Per fold the kernel walks the fold's event timeline one cycle at a time and counts, per operand,
how many SRAM ports fire in that cycle (the skewed wavefront of an H x W array, see
``wavefront_counts``); it then steps the fold's time window one cycle at a time, moving
``bytes_per_cycle`` bytes over the DRAM interface (outputs of the previous fold first, then the next
fold's inputs, whose data arrive no earlier than ``latency`` cycles after the request) and counting a
stall for every cycle the array has finished but the next fold's operands (or the free output slot)
are not there yet. The tile-level rules (what is fetched when) are ``simulator.memory.fold_io``.
Nothing per cycle is stored: only counters (the trace writer in ``trace.py`` is separate).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from simulator.memory import (
    OS,
    T_PREFETCH,
    T_SCALESIM,
    WS,
    best_loop,
    body_free_filter_bytes,
    buffer_modes,
    fold_compute,
    fold_io,
    fold_tile,
    geometry,
    last_tile_bytes,
    loops,
    peak_bytes,
    prefetch_io,
)


@njit(cache=True)
def _band(e: int, n: int, t: int) -> int:
    """#{r in [0, n) : 0 <= e - r < t} -- lanes of an n-wide skewed edge active at cycle e."""
    lo = max(0, e - t + 1)
    hi = min(n - 1, e)
    return hi - lo + 1 if hi >= lo else 0


@njit(cache=True)
def _antidiag(s: int, r: int, c: int) -> int:
    """#{(i, j) in [0, r) x [0, c) : i + j = s}."""
    lo = max(0, s - c + 1)
    hi = min(r - 1, s)
    return hi - lo + 1 if hi >= lo else 0


@njit(cache=True)
def _diag(d: int, r: int, c: int) -> int:
    """#{(i, j) in [0, r) x [0, c) : j - i = d}."""
    lo = max(0, -d)
    hi = min(r - 1, c - 1 - d)
    return hi - lo + 1 if hi >= lo else 0


@njit(cache=True)
def event_length(h: int, w: int, t: int, df: int, timing: int) -> int:
    """Cycles from a fold's first SRAM access to its last (full array: idle PEs still clock)."""
    if df == OS and timing == T_SCALESIM:
        return h + w + t - 2  # last MAC of PE (H-1, W-1); SCALE-Sim does not drain
    return 2 * h + w + t - 2  # OS: + H drain cycles; WS/IS: H preload cycles + skew + H-row psum path


@njit(cache=True)
def wavefront_counts(e: int, rows: int, cols: int, h: int, t: int, df: int, timing: int) -> tuple[int, int, int]:
    """(ifmap reads, filter reads, ofmap writes) in local cycle e of a fold using rows x cols PEs.

    OS: row r reads A[r, e - r], column c reads B[e - c, c]; PE (r, c) finishes at r + c + T - 1
    and (default timing) its output leaves the bottom edge at c - r + T + 2H - 2 (column shift-out).
    WS/IS: the stationary tile shifts in one row per cycle (last row first), during cycles [0, rows)
    in every column (``scalesim`` / serial timing) or, pipelined (``T_PREFETCH``), during
    [c, c + rows) in column c: the load follows the column skew so that it never overwrites a weight
    the fold two back still uses (docs/timing.md); then row r reads its streamed element s at
    H + s + r; the partial sum of s leaves column c at H + s + (H - 1) + c.
    """
    if df == OS:
        ifm = _band(e, rows, t)
        fil = _band(e, cols, t)
        if timing == T_SCALESIM:
            ofm = _antidiag(e - t + 1, rows, cols)
        else:
            ofm = _diag(e - t - 2 * h + 2, rows, cols)
        return ifm, fil, ofm
    if timing == T_PREFETCH:
        pre = _band(e, cols, rows)
    else:
        pre = cols if 0 <= e < rows else 0
    stream = _band(e - h, rows, t) if e >= h else 0
    ofm = _antidiag(e - 2 * h + 1, t, cols)
    if df == WS:
        return stream, pre, ofm
    return pre, stream, ofm


@njit(cache=True)
def simulate_one(
    m: int, n: int, k: int, h: int, w: int, df: int, timing: int, db: bool,
    cap_a: float, cap_b: float, cap_c: float, ab: float, bb: float, ob: float,
    inv_bw: float, lat: float, res: np.ndarray, fold_start: np.ndarray,
) -> None:
    """Simulate one GEMM cycle by cycle; fill ``res`` (see ``RES_FIELDS``).

    ``fold_start`` (length folds, or 0 to skip) receives each fold's first cycle, for trace writing.
    """
    sr, sc, t, rf, cf = geometry(m, n, k, h, w, df)
    ma, mb, mc = buffer_modes(m, n, k, h, w, df, db, cap_a, cap_b, cap_c, ab, bb, ob)
    lp = best_loop(m, n, k, h, w, df, timing, db, ma, mb, mc, ab, bb, ob, inv_bw, lat)[0]  # the mapper's choice
    no, ni = loops(rf, cf, lp)
    nf = no * ni
    bw = 1.0 / inv_bw if inv_bw > 0.0 else 0.0
    length = event_length(h, w, t, df, timing)
    record = fold_start.shape[0] == nf

    sram_i = sram_f = sram_o = sram_or = 0
    compute = 0
    stall = 0
    cycle = 0
    ra = rb = rc = wc = 0.0

    # prologue: the first fold's operands
    la, lb, lc, st_cur = fold_io(0, 0, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)
    ld_cur = la + lb + lc
    pro_bytes = ld_cur
    pro_filter = lb
    if bw > 0.0 and ld_cur > 0.0:
        left = ld_cur
        eps = 1e-9 * ld_cur
        while left > eps:
            if cycle >= lat:
                left -= bw
            cycle += 1
            stall += 1
    pro_cycles = cycle
    tail_idle = 0
    body_idle = 0
    st_prev = 0.0
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
            if df != OS and i > 0:
                sram_or += c_  # the previous K fold's partial sum is read back as this one lands
        # --- the fold's time window: compute c_f cycles while DRAM moves data
        c_f = fold_compute(f, nf, h, w, t, df, timing)
        if f + 1 < nf:
            la, lb, lc, st_next = fold_io((f + 1) // ni, (f + 1) % ni, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)
        else:
            la = lb = lc = st_next = 0.0
        if db:  # what DRAM loads during this fold (tiles reused over a whole inner loop load early)
            pa_, pb_, pc_ = prefetch_io(f, no, ni, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)
            ld_next = pa_ + pb_ + pc_
        else:
            ld_next = la + lb + lc
        if record:
            fold_start[f] = cycle
        if bw == 0.0:
            cycle += c_f
        elif db:
            wleft = st_prev
            rleft = ld_next
            weps = 1e-9 * wleft
            reps = 1e-9 * rleft
            tt = 0
            idle = 0
            while tt < c_f or wleft > weps or rleft > reps:
                avail = bw
                if wleft <= weps and rleft <= reps:
                    idle += 1  # DRAM has nothing to move this cycle
                if wleft > weps:
                    use = min(avail, wleft)
                    wleft -= use
                    avail -= use
                if rleft > reps and wleft <= weps:  # requests pipelined: latency hidden
                    rleft -= avail
                tt += 1
            cycle += tt
            stall += tt - c_f
            if f == nf - 1:
                tail_idle = idle
            else:
                body_idle += idle
        else:
            cycle += c_f
            wleft = st_cur
            rleft = ld_next
            weps = 1e-9 * wleft
            reps = 1e-9 * rleft
            tt = 0
            while wleft > weps or rleft > reps:
                avail = bw
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
    # epilogue: drain the last fold's outputs
    if bw > 0.0 and db and st_prev > 0.0:
        left = st_prev
        eps = 1e-9 * left
        while left > eps:
            left -= bw
            cycle += 1
            stall += 1
    pa, pb, pc = peak_bytes(m, n, k, h, w, df, db, ma, mb, mc, cap_a, cap_b, cap_c, ab, bb, ob)
    off = 1 if timing == T_SCALESIM else 0
    res[0] = compute - off
    res[1] = stall
    res[2] = cycle - off
    res[3] = nf
    res[4] = sram_i
    res[5] = sram_f
    res[6] = sram_o
    res[7] = sram_or
    res[8] = ra
    res[9] = rb
    res[10] = rc
    res[11] = wc
    res[12] = pa
    res[13] = pb
    res[14] = pc
    res[15] = lp
    if bw > 0.0:  # cross-op prefetch figures (memory.cross_op_figures gives the same in closed form)
        res[16] = pro_cycles
        res[17] = pro_bytes
        res[18] = pro_filter
        res[19] = tail_idle
        ta, tb = last_tile_bytes(m, n, k, h, w, df, ab, bb)
        res[20] = max(cap_b - tb, 0.0) if db else 0.0
        res[21] = body_free_filter_bytes(m, n, k, h, w, df, mb, cap_b, bb) if db else 0.0
        res[22] = body_idle
        res[23] = max(cap_a - ta, 0.0) if db else 0.0
    else:
        res[16:24] = 0.0


RES_FIELDS = (
    "compute_cycles",
    "stall_cycles",
    "total_cycles",
    "folds",
    "sram_ifmap_reads",
    "sram_filter_reads",
    "sram_ofmap_writes",
    "sram_ofmap_reads",
    "dram_ifmap_read_bytes",
    "dram_filter_read_bytes",
    "dram_ofmap_read_bytes",
    "dram_ofmap_write_bytes",
    "peak_ifmap_bytes",
    "peak_filter_bytes",
    "peak_ofmap_bytes",
    "loop_order",
    "prologue_cycles",
    "prologue_bytes",
    "prologue_filter_bytes",
    "tail_idle_cycles",
    "tail_free_filter_bytes",
    "body_free_filter_bytes",
    "body_idle_cycles",
    "tail_free_ifmap_bytes",
)


@njit(cache=True)
def simulate_many(
    m_arr: np.ndarray, n_arr: np.ndarray, k_arr: np.ndarray, h: int, w: int, df: int, timing: int, db: bool,
    cap_a: float, cap_b: float, cap_c: float, ab: float, bb: float, ob: float, inv_bw: float, lat: float,
    out: np.ndarray,
) -> None:
    """``simulate_one`` for every GEMM; ``out[g, :]`` as ``RES_FIELDS``."""
    none = np.empty(0, dtype=np.int64)
    for g in range(m_arr.shape[0]):
        simulate_one(m_arr[g], n_arr[g], k_arr[g], h, w, df, timing, db, cap_a, cap_b, cap_c,
                     ab, bb, ob, inv_bw, lat, out[g], none)


__all__ = ["RES_FIELDS", "event_length", "simulate_many", "simulate_one", "wavefront_counts"]
