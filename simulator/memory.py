"""Double-buffered memory hierarchy of a systolic array, in closed form (tile-level arithmetic).

The model (docs/memory.md has the worked example and the diagram):

* Folds run in a fixed order: OS row folds outer / column folds inner; WS and IS column folds outer and
  the K (row) folds inner, so one output tile is finished before the next starts.
* Per fold each input operand needs one tile (OS: A h x K, B K x w; WS: A M x h, B h x w;
  IS: A w x h, B h x N). Each operand buffer is in one of three modes, chosen from its capacity in
  BYTES (elements x bytes per element):
  0 ``resident``  -- the whole operand fits: every tile is fetched once, at first use, and reused;
  1 ``reuse``     -- a tile fits in half the buffer (the whole buffer if not double-buffered): a tile is
                     fetched when it differs from the previous fold's tile;
  2 ``stream``    -- a tile does not fit: it is streamed again for every fold.
* Outputs: OS writes each finished tile once. WS/IS accumulate over the inner K folds; if the
  output tile fits (half the ofmap buffer when double-buffered) it is written once after the last K
  fold, else every fold writes its partial sums and every later K fold reads them back (spill).
* Timing (double-buffered): the first fold's inputs are loaded before anything starts
  (``latency + bytes / bw``). While fold f computes (``c_f`` cycles), DRAM writes fold f-1's outputs and
  then loads the bytes for later folds (``prefetch_io``: the next fold's tiles, or a share of a tile
  reused over a whole inner loop). The DMA keeps requests in flight, so read latency hides behind
  earlier transfers: fold f occupies ``max(c_f, ceil(d_f))`` cycles, ``d_f = (st_{f-1} + pf_f) / bw``.
  The last fold's outputs drain at the end. Without double buffering nothing overlaps: fold f costs
  ``c_f + ceil(max(latency, st_f / bw) + ld_{f+1} / bw)`` (write back, then request and load the next).
* Across GEMMs (``simulator/schedule.py``): each GEMM also reports its prologue, the DRAM-idle cycles
  of its windows and its free buffer bytes (``cross_op_figures``), from which the workload level
  prefetches the next GEMM's first tiles (docs/memory.md section 4b).
* Unlimited bandwidth (``dram.bandwidth_gbps: .inf`` or unset) is an ideal memory: no latency, no stalls
  (SCALE-Sim's ``CALC`` mode); DRAM traffic is still counted.

Sums over folds are evaluated exactly by grouping folds into classes: along each fold loop only the
indices 0, 1, D-2, D-1 differ from the rest (first use, partial last tile, neighbours of those), so
5 x 5 representative folds with multiplicities give the exact sum for any number of folds. The
cycle-level engine (``simulator.cycle``) steps the same rules cycle by cycle over every fold.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from simulator.analytical import analyze_compute
from simulator.arch import ArchSpec
from workloads.errors import InputError


def _refresh_kernel_cache() -> None:
    """Drop numba's on-disk cache of the memory/cycle kernels when any of their sources changed.

    numba keys a cached function on its own file only; the kernels call each other across
    ``memory.py`` and ``cycle/*.py``, so an edit to one file could leave stale machine code for callers
    in another. A hash of all the sources, stored beside the cache, catches that.
    """
    import hashlib
    from pathlib import Path

    here = Path(__file__).parent
    sources = [Path(__file__), *sorted((here / "cycle").glob("*.py"))]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()
    stamp = here / "cycle" / "__pycache__" / "kernels.sha256"
    try:
        if stamp.exists() and stamp.read_text() == digest:
            return
        for pattern, folder in (("memory.*.nb?", here / "__pycache__"), ("*.nb?", here / "cycle" / "__pycache__")):
            for f in folder.glob(pattern):
                f.unlink(missing_ok=True)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest)
    except OSError:  # read-only install: numba falls back to its user cache directory
        pass


_refresh_kernel_cache()

OS, WS, IS = 0, 1, 2
T_SCALESIM, T_PREFETCH, T_SERIAL = 0, 1, 2
TIMINGS = ("default", "scalesim")

#: keys of the per-GEMM result dictionaries (both engines)
RESULT_KEYS = (
    "compute_cycles",
    "stall_cycles",
    "total_cycles",
    "utilization",
    "compute_utilization",
    "macs",
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
    "prologue_cycles",
    "prologue_bytes",
    "prologue_filter_bytes",
    "tail_idle_cycles",
    "tail_free_filter_bytes",
    "body_free_filter_bytes",
    "body_idle_cycles",
    "tail_free_ifmap_bytes",
)


# ---- scalar rules shared by the closed form and the cycle engine (numba) -----------------------


@njit(cache=True)
def geometry(m: int, n: int, k: int, h: int, w: int, df: int) -> tuple[int, int, int, int, int]:
    """(spatial rows, spatial cols, streamed T, row folds, col folds) -- same as ``map_gemm``."""
    if df == OS:
        sr, sc, t = m, n, k
    elif df == WS:
        sr, sc, t = k, n, m
    else:
        sr, sc, t = k, m, n
    return sr, sc, t, (sr + h - 1) // h, (sc + w - 1) // w


@njit(cache=True)
def tile_elems(df: int, m: int, n: int, k: int, rows: int, cols: int) -> tuple[int, int, int]:
    """Elements of the A, B and C tiles of a fold using ``rows`` x ``cols`` PEs."""
    if df == OS:
        return rows * k, k * cols, rows * cols
    if df == WS:
        return m * rows, rows * cols, m * cols
    return cols * rows, rows * n, cols * n


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
    if df != OS and tc * ob > half * cap_c:
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
def deps(df: int, lp: int) -> tuple[int, int]:
    """What the A and B tiles change with: 0 the outer fold index only, 1 the inner only, 2 both."""
    on_i = 0 if lp == 0 else 1  # a tile that changes with the row fold i only
    on_j = 1 - on_i
    if df == OS:
        return on_i, on_j
    if df == WS:
        return on_i, 2
    return 2, on_i


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
    if df != OS:  # K folds are the inner loop (lp == 1): partial sums accumulate over q
        if mc == 1:
            if q > 0:
                lc = ce * ob
        elif q != ni - 1:
            st = 0.0
    return la, lb, lc, st


@njit(cache=True)
def fold_compute(f: int, nfolds: int, h: int, w: int, t: int, df: int, timing: int) -> int:
    """Compute cycles charged to fold f (their sum is the stall-free total before SCALE-Sim's -1).

    Window f runs from fold f's first SRAM access (its event timeline, ``cycle.engine.event_length``,
    starts there) to fold f+1's. Default timing with ``prefetch_stationary``: ``max(T, H)`` per fold
    and the last fold's whole event window ``2H + W + T - 2`` (docs/timing.md, pipelined folds).
    """
    stream = h + w + t - 2
    if timing == T_SCALESIM:
        return stream if df == OS else stream + h
    if timing == T_SERIAL or f == nfolds - 1:
        return stream + h  # a fold's whole event window: load/stream/drain, nothing overlaps after it
    return max(t, h)  # pipelined: the next fold's wavefront starts max(T, H) cycles behind this one


@njit(cache=True)
def ceil_cycles(x: float) -> int:
    """Whole cycles needed for a float duration (tolerant to round-off)."""
    if x <= 1e-9:
        return 0
    return int(math.ceil(x - 1e-9 * max(1.0, x)))


@njit(cache=True)
def dram_window(st: float, ld: float, inv_bw: float, lat: float) -> float:
    """Cycles DRAM needs to write ``st`` bytes then load ``ld`` bytes (read latency overlaps the write)."""
    if ld > 0.0:
        return max(lat, st * inv_bw) + ld * inv_bw
    return st * inv_bw


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
def cross_op_figures(
    m: int, n: int, k: int, h: int, w: int, df: int, lp: int, timing: int, db: bool, ma: int, mb: int,
    mc: int, cap_a: float, cap_b: float, ab: float, bb: float, ob: float, inv_bw: float, lat: float,
) -> tuple[float, float, float, float, float, float, float]:
    """Per-GEMM figures the workload-level cross-op prefetch needs (``simulator/schedule.py``).

    (prologue cycles, prologue bytes, prologue B bytes, DRAM-idle cycles of the last fold's window,
    free B-buffer bytes during the last fold, free B-buffer bytes during every earlier fold
    (``body_free_filter_bytes``), free A-buffer bytes during the last fold). The prologue is ``ceil(L + ld_0 / bw)`` (0 without
    bytes or with unlimited bandwidth). The last window lasts ``max(c_last, ceil(st_prev / bw))`` and
    DRAM only writes ``st_prev`` in it (nothing is left to prefetch): the rest is idle. Single-buffered
    arrays have no free buffer half to prefetch into: idle 0.
    """
    if inv_bw == 0.0:
        return 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    sr, sc, t, rf, cf = geometry(m, n, k, h, w, df)
    no, ni = loops(rf, cf, lp)
    nf = no * ni
    la, lb, lc, _ = fold_io(0, 0, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)
    ld0 = la + lb + lc
    pro = float(ceil_cycles(lat + ld0 * inv_bw)) if ld0 > 0.0 else 0.0
    if not db:
        return pro, ld0, lb, 0.0, 0.0, 0.0, 0.0
    c = fold_compute(nf - 1, nf, h, w, t, df, timing)
    st_prev = 0.0
    if nf > 1:
        st_prev = fold_io((nf - 2) // ni, (nf - 2) % ni, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)[3]
    busy = ceil_cycles(st_prev * inv_bw)
    idle = max(c, busy) - busy
    ta, tb = last_tile_bytes(m, n, k, h, w, df, ab, bb)
    body_b = body_free_filter_bytes(m, n, k, h, w, df, mb, cap_b, bb)
    return pro, ld0, lb, float(idle), max(cap_b - tb, 0.0), body_b, max(cap_a - ta, 0.0)


# ---- closed form --------------------------------------------------------------------------------


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
    ab: float, bb: float, ob: float, inv_bw: float, lat: float,
) -> tuple[float, float, float, float, float, float]:
    """(model cycles, DRAM A, B, psum-read, C-write bytes, DRAM-idle cycles) of one GEMM in loop order ``lp``.

    ``model cycles`` is the stall-inclusive total before SCALE-Sim's -1 (stall = it - sum of c_f).
    DRAM-idle cycles: summed over the fold windows (double-buffered), the cycles in which the array
    computes and DRAM has nothing left to move (``window - ceil(d_f)``).
    """
    sr, sc, t, rf, cf = geometry(m, n, k, h, w, df)
    no, ni = loops(rf, cf, lp)
    nf = no * ni
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
            if inv_bw == 0.0:
                total += mult * c
                continue
            if db:
                a2, b2, c2 = prefetch_io(f, no, ni, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)
                ld_next = a2 + b2 + c2
                st_prev = 0.0
                if f > 0:
                    st_prev = fold_io((f - 1) // ni, (f - 1) % ni, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)[3]
                busy = ceil_cycles(dram_window(st_prev, ld_next, inv_bw, 0.0))
                total += mult * max(c, busy)
                idle += mult * max(c - busy, 0)
            else:  # single-buffered: the next fold's tiles load after this fold, nothing overlaps
                ld_next = 0.0
                if f + 1 < nf:
                    a2, b2, c2, _ = fold_io((f + 1) // ni, (f + 1) % ni, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)
                    ld_next = a2 + b2 + c2
                total += mult * (c + ceil_cycles(dram_window(st, ld_next, inv_bw, lat)))
    if inv_bw > 0.0:
        la, lb, lc, _ = fold_io(0, 0, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)
        ld0 = la + lb + lc
        if ld0 > 0.0:
            total += ceil_cycles(lat + ld0 * inv_bw)
        if db:
            st_last = fold_io(no - 1, ni - 1, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)[3]
            total += ceil_cycles(st_last * inv_bw)
    return total, ra, rb, rc, wc, idle


@njit(cache=True)
def best_loop(
    m: int, n: int, k: int, h: int, w: int, df: int, timing: int, db: bool, ma: int, mb: int, mc: int,
    ab: float, bb: float, ob: float, inv_bw: float, lat: float,
) -> tuple[int, float, float, float, float, float, float]:
    """Fold-loop order and its ``closed_one`` figures.

    WS/IS keep the K folds inner (partial sums stay on chip). OS may run either loop outer; like a
    compiler, pick the order with fewer total cycles, then fewer DRAM bytes, then row folds outer.
    """
    best = closed_one(m, n, k, h, w, df, 0 if df == OS else 1, timing, db, ma, mb, mc, ab, bb, ob, inv_bw, lat)
    if df != OS:
        return 1, best[0], best[1], best[2], best[3], best[4], best[5]
    alt = closed_one(m, n, k, h, w, df, 1, timing, db, ma, mb, mc, ab, bb, ob, inv_bw, lat)
    bytes0 = best[1] + best[2] + best[3] + best[4]
    bytes1 = alt[1] + alt[2] + alt[3] + alt[4]
    if alt[0] < best[0] or (alt[0] == best[0] and bytes1 < bytes0):
        return 1, alt[0], alt[1], alt[2], alt[3], alt[4], alt[5]
    return 0, best[0], best[1], best[2], best[3], best[4], best[5]


@njit(cache=True)
def closed_form(
    m_arr: np.ndarray, n_arr: np.ndarray, k_arr: np.ndarray, h: int, w: int, df: int, timing: int,
    db: bool, cap_a: float, cap_b: float, cap_c: float, ab: float, bb: float, ob: float,
    inv_bw: float, lat: float, out: np.ndarray,
) -> None:
    """Fill ``out[g, :]`` = (model cycles, DRAM A, B, psum read, C write bytes, peak A, B, C bytes, loop order,
    then the five ``cross_op_figures``)."""
    for g in range(m_arr.shape[0]):
        m, n, k = m_arr[g], n_arr[g], k_arr[g]
        ma, mb, mc = buffer_modes(m, n, k, h, w, df, db, cap_a, cap_b, cap_c, ab, bb, ob)
        lp, total, ra, rb, rc, wc, idle = best_loop(m, n, k, h, w, df, timing, db, ma, mb, mc, ab, bb, ob, inv_bw, lat)
        pa, pb, pc = peak_bytes(m, n, k, h, w, df, db, ma, mb, mc, cap_a, cap_b, cap_c, ab, bb, ob)
        out[g, 0] = total
        out[g, 1] = ra
        out[g, 2] = rb
        out[g, 3] = rc
        out[g, 4] = wc
        out[g, 5] = pa
        out[g, 6] = pb
        out[g, 7] = pc
        out[g, 8] = lp
        xo = cross_op_figures(m, n, k, h, w, df, lp, timing, db, ma, mb, mc, cap_a, cap_b, ab, bb, ob, inv_bw, lat)
        for x in range(6):
            out[g, 9 + x] = xo[x]
        out[g, 15] = idle - xo[3] if db and inv_bw > 0.0 else 0.0
        out[g, 16] = xo[6]


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


# ---- Python API ---------------------------------------------------------------------------------


def timing_code(arch: ArchSpec, timing: str | None) -> int:
    timing = timing or arch.array.timing
    if timing not in TIMINGS:
        raise InputError(f"{timing!r} is not allowed (allowed: {', '.join(TIMINGS)})", key="--timing")
    if timing == "scalesim":
        return T_SCALESIM
    return T_PREFETCH if arch.array.prefetch_stationary else T_SERIAL


def memory_params(
    arch: ArchSpec, a_bytes: float, b_bytes: float, out_bytes: float, timing: str | None
) -> dict[str, Any]:
    """Scalar parameters of the memory model for one arch (shared by both engines)."""
    for name, v in (("a_bytes", a_bytes), ("b_bytes", b_bytes), ("out_bytes", out_bytes)):
        if not (v > 0 and math.isfinite(v)):
            raise InputError(f"{v!r} is not allowed (allowed: a positive number of bytes per element)", key=name)
    cap_a, cap_b, cap_c = arch.buffers.sizes_bytes()
    bw = arch.dram_bytes_per_cycle
    a = arch.array
    return {
        "h": int(a.rows),
        "w": int(a.cols),
        "df": {"os": OS, "ws": WS, "is": IS}[a.dataflow],
        "timing": timing_code(arch, timing),
        "db": bool(arch.buffers.double_buffered),
        "cap_a": float(cap_a),
        "cap_b": float(cap_b),
        "cap_c": float(cap_c),
        "ab": float(a_bytes),
        "bb": float(b_bytes),
        "ob": float(out_bytes),
        "inv_bw": 0.0 if math.isinf(bw) else 1.0 / bw,
        "lat": 0.0 if math.isinf(bw) else float(arch.dram.latency_cycles),
    }


def as_dims(m: Any, n: Any, k: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m, n, k = np.broadcast_arrays(
        np.atleast_1d(np.asarray(m, dtype=np.int64)),
        np.atleast_1d(np.asarray(n, dtype=np.int64)),
        np.atleast_1d(np.asarray(k, dtype=np.int64)),
    )
    if m.ndim != 1:
        raise InputError(f"GEMM dimensions must be scalars or 1-D arrays, got shape {m.shape}", key="m, n, k")
    if m.size and min(m.min(), n.min(), k.min()) < 1:
        raise InputError("GEMM dimensions must be >= 1", key="m, n, k")
    return np.ascontiguousarray(m), np.ascontiguousarray(n), np.ascontiguousarray(k)


def analyze_gemms(
    m: Any,
    n: Any,
    k: Any,
    arch: ArchSpec,
    *,
    a_bytes: float = 1.0,
    b_bytes: float = 1.0,
    out_bytes: float = 1.0,
    timing: str | None = None,
) -> dict[str, np.ndarray]:
    """Closed-form compute + memory figures for many GEMMs on one accelerator (vectorised).

    ``m``, ``n``, ``k``: scalars or 1-D arrays (broadcast). Bytes per element of A (ifmap), B (filter)
    and C (ofmap / partial sums) set DRAM traffic and what fits in the buffers. Returns 1-D arrays
    keyed by ``RESULT_KEYS`` (cycles int64, bytes float64, utilization 0..1 over total cycles).
    """
    p = memory_params(arch, a_bytes, b_bytes, out_bytes, timing)
    m, n, k = as_dims(m, n, k)
    r = analyze_compute(
        m, n, k, p["h"], p["w"], arch.array.dataflow,
        scalesim=p["timing"] == T_SCALESIM, prefetch=p["timing"] == T_PREFETCH,
    )
    out = np.empty((m.size, 17))
    closed_form(m, n, k, p["h"], p["w"], p["df"], p["timing"], p["db"], p["cap_a"], p["cap_b"], p["cap_c"],
                p["ab"], p["bb"], p["ob"], p["inv_bw"], p["lat"], out)
    return assemble(r, out, p, m, n, k)


def assemble(
    r: dict[str, np.ndarray], out: np.ndarray, p: dict[str, Any], m: np.ndarray, n: np.ndarray, k: np.ndarray
) -> dict[str, np.ndarray]:
    """Result dict from compute figures ``r`` and the memory-model matrix ``out`` (see ``closed_form``)."""
    compute = np.asarray(r["compute_cycles"], dtype=np.int64)
    sum_c = compute + (1 if p["timing"] == T_SCALESIM else 0)
    stall = np.maximum(out[:, 0].astype(np.int64) - sum_c, 0)
    total = compute + stall
    macs = m * n * k
    pes = float(p["h"] * p["w"])
    psum_reads = np.where(p["df"] == OS, 0, m * n * (np.asarray(r["row_folds"]) - 1)).astype(np.int64)
    return {
        "compute_cycles": compute,
        "stall_cycles": stall,
        "total_cycles": total,
        "utilization": macs / (np.maximum(total, 1) * pes),
        "compute_utilization": macs / (np.maximum(compute, 1) * pes),
        "macs": macs,
        "folds": np.asarray(r["folds"], dtype=np.int64),
        "sram_ifmap_reads": np.asarray(r["sram_ifmap_reads"], dtype=np.int64),
        "sram_filter_reads": np.asarray(r["sram_filter_reads"], dtype=np.int64),
        "sram_ofmap_writes": np.asarray(r["sram_ofmap_writes"], dtype=np.int64),
        "sram_ofmap_reads": psum_reads,
        "dram_ifmap_read_bytes": out[:, 1].copy(),
        "dram_filter_read_bytes": out[:, 2].copy(),
        "dram_ofmap_read_bytes": out[:, 3].copy(),
        "dram_ofmap_write_bytes": out[:, 4].copy(),
        "peak_ifmap_bytes": out[:, 5].copy(),
        "peak_filter_bytes": out[:, 6].copy(),
        "peak_ofmap_bytes": out[:, 7].copy(),
        "loop_order": out[:, 8].astype(np.int64),
        "prologue_cycles": out[:, 9].astype(np.int64),
        "prologue_bytes": out[:, 10].copy(),
        "prologue_filter_bytes": out[:, 11].copy(),
        "tail_idle_cycles": out[:, 12].astype(np.int64),
        "tail_free_filter_bytes": out[:, 13].copy(),
        "body_free_filter_bytes": out[:, 14].copy(),
        "body_idle_cycles": out[:, 15].astype(np.int64),
        "tail_free_ifmap_bytes": out[:, 16].copy(),
    }
