"""Tile-level memory rules shared by the closed form and the cycle engine (numba, scalar).

What each fold fetches and writes, which buffer mode each operand is in, what the DMA prefetches
during a fold, the compute cycles charged to a fold and the peak buffer occupancy
(docs/memory.md sections 2-4). Everything that depends on the dataflow comes from
``simulator.dataflows``.
"""

from __future__ import annotations

import math

from simulator.dataflows import (
    T_SCALESIM,
    T_SERIAL,
    accumulates,
    deps,
    geometry,
    scalesim_fold_cycles,
    tile_elems,
)
from simulator.jit import njit


@njit(cache=True)
def buffer_modes(
    m: int, n: int, k: int, h: int, w: int, df: int, db: bool,
    cap_a: float, cap_b: float, cap_c: float, ab: float, bb: float, ob: float,
) -> tuple[int, int, int]:
    """(mode A, mode B, mode C): inputs 0 resident / 1 reuse / 2 stream; outputs 0 fits / 1 spill."""
    sr, sc, t, rf, cf = geometry(m, n, k, h, w, df)
    ta, tb, tc = tile_elems(df, m, n, k, min(h, sr), min(w, sc))
    half = 0.5 if db else 1.0
    ma = 0 if m * k * ab <= cap_a else (1 if ta * ab <= half * cap_a else 2)
    mb = 0 if k * n * bb <= cap_b else (1 if tb * bb <= half * cap_b else 2)
    mc = 0
    if accumulates(df) and tc * ob > half * cap_c:
        mc = 1
    return ma, mb, mc


@njit(cache=True)
def _fetch(dep: int, mode: int, o: int, q: int, ni: int) -> bool:
    # dep: 0 tile depends on the outer fold index only, 1 on the inner only, 2 on both
    if mode == 2 or dep == 2:
        return True
    if dep == 0:
        return q == 0
    if mode == 0:
        return o == 0
    return (o == 0 and q == 0) or ni > 1


@njit(cache=True)
def loops(rf: int, cf: int, lp: int) -> tuple[int, int]:
    """(outer, inner) fold-loop lengths: ``lp`` 0 = row folds outer, 1 = column folds outer."""
    return (rf, cf) if lp == 0 else (cf, rf)


@njit(cache=True)
def fold_tile(o: int, q: int, lp: int, sr: int, sc: int, rf: int, cf: int, h: int, w: int) -> tuple[int, int, int, int]:
    """Fold (outer ``o``, inner ``q``) -> (row fold i, column fold j, used rows, used columns)."""
    if lp == 0:
        i, j = o, q
    else:
        i, j = q, o
    rows = h if i < rf - 1 else sr - (rf - 1) * h
    cols = w if j < cf - 1 else sc - (cf - 1) * w
    return i, j, rows, cols


@njit(cache=True)
def prefetch_io(
    f: int, no: int, ni: int, df: int, lp: int, m: int, n: int, k: int, h: int, w: int,
    ma: int, mb: int, mc: int, ab: float, bb: float, ob: float,
) -> tuple[float, float, float]:
    """DRAM bytes (A, B, partial sums) loaded during fold f for later folds (double-buffered).

    A tile is loaded into the buffer half freed when its predecessor started being used: for a tile
    reused across the whole inner loop (changes with the outer index only) that is one full outer
    iteration early, and its bytes are spread evenly over those ``ni`` folds; every other tile is
    loaded during the fold just before it is needed.
    """
    if f + 1 >= no * ni:
        return 0.0, 0.0, 0.0
    la, lb, lc, _ = fold_io((f + 1) // ni, (f + 1) % ni, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)
    dep_a, dep_b = deps(df, lp)
    spread_a = dep_a == 0 and ma < 2 and ni > 1
    spread_b = dep_b == 0 and mb < 2 and ni > 1
    if not (spread_a or spread_b):
        return la, lb, lc
    o = f // ni
    na = 0.0 if spread_a else la
    nb = 0.0 if spread_b else lb
    if o + 1 < no:
        a2, b2, _, _ = fold_io(o + 1, 0, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)
        if spread_a:
            na += a2 / ni
        if spread_b:
            nb += b2 / ni
    return na, nb, lc


@njit(cache=True)
def fold_io(
    o: int, q: int, df: int, lp: int, m: int, n: int, k: int, h: int, w: int,
    ma: int, mb: int, mc: int, ab: float, bb: float, ob: float,
) -> tuple[float, float, float, float]:
    """DRAM bytes of fold (outer o, inner q): (A read, B read, partial-sum read, C write)."""
    sr, sc, t, rf, cf = geometry(m, n, k, h, w, df)
    ni = cf if lp == 0 else rf
    i, j, rows, cols = fold_tile(o, q, lp, sr, sc, rf, cf, h, w)
    ae, be, ce = tile_elems(df, m, n, k, rows, cols)
    dep_a, dep_b = deps(df, lp)
    la = ae * ab if _fetch(dep_a, ma, o, q, ni) else 0.0
    lb = be * bb if _fetch(dep_b, mb, o, q, ni) else 0.0
    lc = 0.0
    st = ce * ob
    if accumulates(df):  # K folds are the inner loop (lp == 1): partial sums accumulate over q
        if mc == 1:
            if q > 0:
                lc = ce * ob
        elif q != ni - 1:
            st = 0.0
    return la, lb, lc, st


@njit(cache=True)
def fold_compute(f: int, nfolds: int, h: int, w: int, t: int, df: int, timing: int) -> int:
    """Compute cycles charged to fold f (their sum is the stall-free total before SCALE-Sim's -1).

    Window f runs from fold f's first SRAM access (its event timeline, ``dataflows.event_length``,
    starts there) to fold f+1's. Default timing with ``prefetch_stationary``: ``max(T, H)`` per fold
    and the last fold's whole event window ``2H + W + T - 2`` (docs/timing.md, pipelined folds).
    """
    if timing == T_SCALESIM:
        return scalesim_fold_cycles(h, w, t, df)
    if timing == T_SERIAL or f == nfolds - 1:
        return 2 * h + w + t - 2  # a fold's whole event window: load/stream/drain, nothing overlaps after it
    return max(t, h)  # pipelined: the next fold's wavefront starts max(T, H) cycles behind this one


@njit(cache=True)
def last_store(c_last: int, busy: int, st_t: float, stream: int) -> tuple[int, int, int]:
    """Write-back of the last fold's outputs (``st_t`` link cycles; double-buffered), docs/memory.md 4c.

    The last window lasts ``win = max(c_last, busy)`` (``busy``: link cycles of the earlier writes and
    loads in it). The outputs are written as their rows leave the array, from
    ``start = max(busy, c_last - stream)`` on, one link cycle after another. Returns (``start``, the
    epilogue ``max(start + ceil(st_t) - win, 0)`` after the window, link cycles used inside it)."""
    win = max(c_last, busy)
    start = max(busy, c_last - stream)
    end = start + ceil_cycles(st_t)
    return start, max(end - win, 0), max(min(end, win) - start, 0)


@njit(cache=True)
def last_window_busy(
    nf: int, no: int, ni: int, df: int, lp: int, m: int, n: int, k: int, h: int, w: int, ma: int, mb: int,
    mc: int, ab: float, bb: float, ob: float, ia: float, ib: float, ic: float,
) -> int:
    """Link cycles of the last fold's window (double-buffered) before its own outputs may be written:
    the previous fold's outputs, then anything prefetched in it."""
    st_prev = 0.0
    if nf > 1:
        st_prev = fold_io((nf - 2) // ni, (nf - 2) % ni, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)[3]
    a2, b2, c2 = prefetch_io(nf - 1, no, ni, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)
    return ceil_cycles(dram_window(st_prev * ic, link_time(a2, b2, c2, ia, ib, ic), 0.0))


@njit(cache=True)
def ceil_cycles(x: float) -> int:
    """Whole cycles needed for a float duration (tolerant to round-off)."""
    if x <= 1e-9:
        return 0
    return int(math.ceil(x - 1e-9 * max(1.0, x)))


@njit(cache=True)
def link_time(a: float, b: float, c: float, ia: float, ib: float, ic: float) -> float:
    """Cycles the links need to move ``a``, ``b``, ``c`` bytes of A, B and C (partial sums or outputs)
    at ``1 / ia``, ``1 / ib``, ``1 / ic`` bytes per cycle; one DMA engine moves them one after another."""
    return a * ia + b * ib + c * ic


@njit(cache=True)
def dram_window(st_t: float, ld_t: float, lat: float) -> float:
    """Cycles to write back (``st_t`` cycles of transfer) then load (``ld_t``); the read latency
    overlaps the write."""
    if ld_t > 0.0:
        return max(lat, st_t) + ld_t
    return st_t


@njit(cache=True)
def is_ideal(ia: float, ib: float, ic: float) -> bool:
    """Unlimited bandwidth on every link: an ideal memory (no latency, no stalls; bytes still counted)."""
    return ia == 0.0 and ib == 0.0 and ic == 0.0


@njit(cache=True)
def last_tile_bytes(m: int, n: int, k: int, h: int, w: int, df: int, ab: float, bb: float) -> tuple[float, float]:
    """Bytes of the A and B tiles used by the last fold: the only input data still live while it computes.

    Every earlier tile is dead by then: the last fold is the last use of everything loaded before.
    """
    sr, sc, t, rf, cf = geometry(m, n, k, h, w, df)
    rows = sr - (rf - 1) * h
    cols = sc - (cf - 1) * w
    ae, be, _ = tile_elems(df, m, n, k, rows, cols)
    return ae * ab, be * bb


@njit(cache=True)
def body_free_filter_bytes(
    m: int, n: int, k: int, h: int, w: int, df: int, mb: int, cap_b: float, bb: float,
) -> float:
    """Free B-buffer bytes during any fold but the last (double-buffered): capacity minus the whole
    operand (resident), minus its two largest tiles (reuse), nothing (stream: the buffer is a FIFO)."""
    if mb == 2:
        return 0.0
    if mb == 0:
        return max(cap_b - k * n * bb, 0.0)
    sr, sc, t, rf, cf = geometry(m, n, k, h, w, df)
    tb = tile_elems(df, m, n, k, min(h, sr), min(w, sc))[1]
    return max(cap_b - 2.0 * tb * bb, 0.0)


@njit(cache=True)
def peak_bytes(
    m: int, n: int, k: int, h: int, w: int, df: int, db: bool, ma: int, mb: int, mc: int,
    cap_a: float, cap_b: float, cap_c: float, ab: float, bb: float, ob: float,
) -> tuple[float, float, float]:
    """Peak bytes held per buffer: the whole operand (resident), two tiles (reuse; one when single-
    buffered), or the full buffer used as a streaming FIFO (stream / output spill)."""
    sr, sc, t, rf, cf = geometry(m, n, k, h, w, df)
    ta, tb, tc = tile_elems(df, m, n, k, min(h, sr), min(w, sc))
    slots = 2.0 if db else 1.0
    pa = _input_peak(ma, ta * ab, m * k * ab, cap_a, slots)
    pb = _input_peak(mb, tb * bb, k * n * bb, cap_b, slots)
    pc = cap_c if mc == 1 else min(m * n * ob, slots * tc * ob, cap_c)  # OS tiles larger stream out
    return pa, pb, pc


@njit(cache=True)
def _input_peak(mode: int, tile: float, whole: float, cap: float, slots: float) -> float:
    if mode == 0:
        return whole
    if mode == 1:
        return min(whole, slots * tile)
    return cap
