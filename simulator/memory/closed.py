"""The memory model in closed form: sums over folds evaluated exactly by fold classes.

Along each fold loop only the indices 0, 1, D-2, D-1 differ from the rest (first use, partial last
tile, neighbours of those), so 5 x 5 representative folds with multiplicities give the exact sum for
any number of folds. The cycle engine (``simulator.cycle``) steps the same rules
(``simulator.memory.tiles``) cycle by cycle over every fold.
"""

from __future__ import annotations

import numpy as np

from simulator import results as R
from simulator.dataflows import free_loop_order, geometry, output_stream_cycles
from simulator.jit import njit
from simulator.memory import params as P
from simulator.memory.crossop import cross_op_figures
from simulator.memory.tiles import (
    buffer_modes,
    ceil_cycles,
    dram_window,
    fold_compute,
    fold_io,
    is_ideal,
    last_store,
    last_window_busy,
    link_time,
    loops,
    peak_bytes,
    prefetch_io,
)


@njit(cache=True)
def _slot(s: int, d: int) -> tuple[int, int]:
    """Representative index and multiplicity of slot s (0..4) along a loop of d folds."""
    if s == 0:
        return 0, 1
    if s == 1:
        return 1, 1 if d >= 2 else 0
    if s == 2:
        return min(2, d - 1), max(d - 4, 0)
    if s == 3:
        return d - 2, 1 if d >= 4 else 0
    return d - 1, 1 if d >= 3 else 0


@njit(cache=True)
def closed_one(
    m: int, n: int, k: int, h: int, w: int, df: int, lp: int, timing: int, db: bool, ma: int, mb: int, mc: int,
    ab: float, bb: float, ob: float, ia: float, ib: float, ic: float, lat: float,
) -> tuple[float, float, float, float, float, float]:
    """(model cycles, DRAM A, B, psum-read, C-write bytes, DRAM-idle cycles) of one GEMM in loop order ``lp``.

    ``model cycles`` is the stall-inclusive total before SCALE-Sim's -1 (stall = it - sum of c_f).
    DRAM-idle cycles: summed over the fold windows (double-buffered), the cycles in which the array
    computes and DRAM has nothing left to move (``window - ceil(d_f)``).
    """
    sr, sc, t, rf, cf = geometry(m, n, k, h, w, df)
    no, ni = loops(rf, cf, lp)
    nf = no * ni
    ideal = is_ideal(ia, ib, ic)
    total = 0.0
    idle = 0.0
    ra = rb = rc = wc = 0.0
    for so in range(5):
        o, mo = _slot(so, no)
        if mo == 0:
            continue
        for sq in range(5):
            q, mq = _slot(sq, ni)
            if mq == 0:
                continue
            mult = mo * mq
            f = o * ni + q
            la, lb, lc, st = fold_io(o, q, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)
            ra += mult * la
            rb += mult * lb
            rc += mult * lc
            wc += mult * st
            c = fold_compute(f, nf, h, w, t, df, timing)
            if ideal:
                total += mult * c
                continue
            if db:
                a2, b2, c2 = prefetch_io(f, no, ni, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)
                ld_t = link_time(a2, b2, c2, ia, ib, ic)
                st_prev = 0.0
                if f > 0:
                    st_prev = fold_io((f - 1) // ni, (f - 1) % ni, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)[3]
                busy = ceil_cycles(dram_window(st_prev * ic, ld_t, 0.0))
                total += mult * max(c, busy)
                idle += mult * max(c - busy, 0)
            else:  # single-buffered: the next fold's tiles load after this fold, nothing overlaps
                ld_t = 0.0
                if f + 1 < nf:
                    a2, b2, c2, _ = fold_io((f + 1) // ni, (f + 1) % ni, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)
                    ld_t = link_time(a2, b2, c2, ia, ib, ic)
                total += mult * (c + ceil_cycles(dram_window(st * ic, ld_t, lat)))
    if not ideal:
        la, lb, lc, _ = fold_io(0, 0, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)
        ld0_t = link_time(la, lb, lc, ia, ib, ic)
        if ld0_t > 0.0:
            total += ceil_cycles(lat + ld0_t)
        if db:  # the last fold's outputs: written as their rows leave the array, the rest after it
            c_last = fold_compute(nf - 1, nf, h, w, t, df, timing)
            st_last = fold_io(no - 1, ni - 1, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)[3]
            _, epi, inside = last_store(c_last, last_window_busy(nf, no, ni, df, lp, m, n, k, h, w, ma, mb, mc,
                                                                 ab, bb, ob, ia, ib, ic),
                                        st_last * ic, output_stream_cycles(h, w, t, df, timing))
            total += epi
            idle -= inside
    return total, ra, rb, rc, wc, idle


@njit(cache=True)
def best_loop(
    m: int, n: int, k: int, h: int, w: int, df: int, timing: int, db: bool, ma: int, mb: int, mc: int,
    ab: float, bb: float, ob: float, ia: float, ib: float, ic: float, lat: float,
) -> tuple[int, float, float, float, float, float, float]:
    """Fold-loop order and its ``closed_one`` figures.

    Accumulating dataflows keep the K folds inner (partial sums stay on chip). Where either loop may
    run outer (``dataflows.free_loop_order``), pick, like a compiler, the order with fewer total
    cycles, then fewer DRAM bytes, then row folds outer.
    """
    free = free_loop_order(df)
    best = closed_one(m, n, k, h, w, df, 0 if free else 1, timing, db, ma, mb, mc, ab, bb, ob, ia, ib, ic, lat)
    if not free:
        return 1, best[0], best[1], best[2], best[3], best[4], best[5]
    alt = closed_one(m, n, k, h, w, df, 1, timing, db, ma, mb, mc, ab, bb, ob, ia, ib, ic, lat)
    bytes0 = best[1] + best[2] + best[3] + best[4]
    bytes1 = alt[1] + alt[2] + alt[3] + alt[4]
    if alt[0] < best[0] or (alt[0] == best[0] and bytes1 < bytes0):
        return 1, alt[0], alt[1], alt[2], alt[3], alt[4], alt[5]
    return 0, best[0], best[1], best[2], best[3], best[4], best[5]


@njit(cache=True)
def closed_form(prm: np.ndarray, out: np.ndarray) -> None:
    """Fill the memory columns of ``out`` (``simulator.results`` layout) for every row of the parameter
    matrix ``prm`` (``simulator.memory.params`` layout); ``TOTAL_CYCLES`` receives the stall-inclusive
    model cycles before SCALE-Sim's -1 (``memory.assemble`` derives stall and total)."""
    for g in range(prm.shape[0]):
        m, n, k = int(prm[g, P.M]), int(prm[g, P.N]), int(prm[g, P.K])
        h, w, df, timing = int(prm[g, P.H]), int(prm[g, P.W]), int(prm[g, P.DF]), int(prm[g, P.TIMING])
        db = prm[g, P.DB] != 0.0
        cap_a, cap_b, cap_c = prm[g, P.CAP_A], prm[g, P.CAP_B], prm[g, P.CAP_C]
        ab, bb, ob = prm[g, P.AB], prm[g, P.BB], prm[g, P.OB]
        ia, ib, ic, lat = prm[g, P.INV_A], prm[g, P.INV_B], prm[g, P.INV_C], prm[g, P.LAT]
        ma, mb, mc = buffer_modes(m, n, k, h, w, df, db, cap_a, cap_b, cap_c, ab, bb, ob)
        lp, total, ra, rb, rc, wc, idle = best_loop(m, n, k, h, w, df, timing, db, ma, mb, mc, ab, bb, ob,
                                                    ia, ib, ic, lat)
        pa, pb, pc = peak_bytes(m, n, k, h, w, df, db, ma, mb, mc, cap_a, cap_b, cap_c, ab, bb, ob)
        out[g, R.TOTAL_CYCLES] = total
        out[g, R.DRAM_IFMAP_READ] = ra
        out[g, R.DRAM_FILTER_READ] = rb
        out[g, R.DRAM_OFMAP_READ] = rc
        out[g, R.DRAM_OFMAP_WRITE] = wc
        out[g, R.PEAK_IFMAP] = pa
        out[g, R.PEAK_FILTER] = pb
        out[g, R.PEAK_OFMAP] = pc
        out[g, R.LOOP_ORDER] = lp
        xo = cross_op_figures(m, n, k, h, w, df, lp, timing, db, ma, mb, mc, cap_a, cap_b, ab, bb, ob,
                              ia, ib, ic, lat)
        out[g, R.PROLOGUE_CYCLES] = xo[0]
        out[g, R.PROLOGUE_BYTES] = xo[1]
        out[g, R.PROLOGUE_FILTER_BYTES] = xo[2]
        out[g, R.TAIL_IDLE_CYCLES] = xo[3]
        out[g, R.TAIL_FREE_FILTER] = xo[4]
        out[g, R.BODY_FREE_FILTER] = xo[5]
        out[g, R.BODY_IDLE_CYCLES] = idle - xo[3] if db and not is_ideal(ia, ib, ic) else 0.0
        out[g, R.TAIL_FREE_IFMAP] = xo[6]
        out[g, R.DATAFLOW] = df
