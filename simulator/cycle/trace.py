"""SCALE-Sim-style traces, streamed to CSV in bounded chunks.

Files written for one GEMM:

* ``IFMAP_SRAM_TRACE.csv``, ``FILTER_SRAM_TRACE.csv``, ``OFMAP_SRAM_TRACE.csv`` -- one row per cycle in
  which that buffer is accessed: ``cycle, addr_port0, addr_port1, ...`` with ``-1`` for an idle port
  (SCALE-Sim's layout; addresses use SCALE-Sim's default offsets: A[m, k] = m*K + k,
  B[k, n] = 10,000,000 + k*N + n, C[m, n] = 20,000,000 + m*N + n). Cycles without any access are
  omitted (SCALE-Sim writes them as all ``-1``).
* ``DRAM_TRACE.csv`` -- one row per DRAM transfer segment at constant rate:
  ``start_cycle, end_cycle, operand, direction, bytes`` (the per-cycle byte flow is ``bytes`` spread
  evenly over ``[start, end)``; SCALE-Sim lists the addresses per cycle instead).

Memory stays bounded: the SRAM traces are produced window by window (a few MB per chunk) and the DRAM
trace fold range by fold range; only the fold start cycles (8 bytes per fold) are held.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from simulator import results as R
from simulator.cycle.engine import simulate_one
from simulator.dataflows import IS, OS, T_PREFETCH, T_SCALESIM, event_length, geometry, output_stream_cycles, ports
from simulator.jit import njit
from simulator.memory.tiles import (
    buffer_modes,
    ceil_cycles,
    fold_compute,
    fold_io,
    fold_tile,
    last_store,
    last_window_busy,
    loops,
    prefetch_io,
)
from workloads.errors import InputError

MAX_TRACE_FOLDS = 5_000_000
IFMAP_BASE, FILTER_BASE, OFMAP_BASE = 0, 10_000_000, 20_000_000


@njit(cache=True)
def fill_sram_window(
    which: int, lo: int, hi: int, f_lo: int, fold_start: np.ndarray, m: int, n: int, k: int,
    h: int, w: int, df: int, lp: int, timing: int, buf: np.ndarray,
) -> int:
    """Fill ``buf[c - lo, 1 + port]`` with addresses of buffer ``which`` (0 ifmap, 1 filter, 2 ofmap)
    for cycles [lo, hi). Returns the first fold that may still touch cycles >= hi."""
    sr, sc, t, rf, cf = geometry(m, n, k, h, w, df)
    ni = loops(rf, cf, lp)[1]
    nf = fold_start.shape[0]
    length = event_length(h, w, t, df, timing)
    nports = buf.shape[1] - 1
    for c in range(hi - lo):
        buf[c, 0] = lo + c
        for x in range(nports):
            buf[c, 1 + x] = -1
    first_live = nf
    for f in range(f_lo, nf):
        base = fold_start[f]  # a fold's events start with its window; later windows overlap them
        if base >= hi:
            if first_live == nf:
                first_live = f
            break
        if base + length > hi and first_live == nf:
            first_live = f
        if base + length <= lo:
            continue
        o = f // ni
        q = f - o * ni
        i, j, rows, cols = fold_tile(o, q, lp, sr, sc, rf, cf, h, w)
        i0 = i * h
        j0 = j * w
        e_lo = max(0, lo - base)
        e_hi = min(length, hi - base)
        for e in range(e_lo, e_hi):
            row = base + e - lo
            if df == OS:
                if which == 0:
                    for r in range(rows):
                        s = e - r
                        if 0 <= s < t:
                            buf[row, 1 + r] = IFMAP_BASE + (i0 + r) * k + s
                elif which == 1:
                    for cc in range(cols):
                        s = e - cc
                        if 0 <= s < t:
                            buf[row, 1 + cc] = FILTER_BASE + s * n + j0 + cc
                else:
                    for cc in range(cols):
                        if timing == 0:
                            r = e - cc - t + 1
                        else:
                            r = cc + t + 2 * h - 2 - e
                        if 0 <= r < rows:
                            buf[row, 1 + cc] = OFMAP_BASE + (i0 + r) * n + j0 + cc
                continue
            pre = which == (1 if df != IS else 0)
            streamed = which == (0 if df != IS else 1)
            if pre:  # pipelined timing: column cc loads during [cc, cc + rows) (engine.wavefront_counts)
                for cc in range(cols):
                    ee = e - cc if timing == T_PREFETCH else e
                    if 0 <= ee < rows:
                        kk = i0 + rows - 1 - ee
                        if df == IS:
                            buf[row, 1 + cc] = IFMAP_BASE + (j0 + cc) * k + kk
                        else:
                            buf[row, 1 + cc] = FILTER_BASE + kk * n + j0 + cc
            elif streamed:
                for r in range(rows):
                    s = e - h - r
                    if 0 <= s < t:
                        if df == IS:
                            buf[row, 1 + r] = FILTER_BASE + (i0 + r) * n + s
                        else:
                            buf[row, 1 + r] = IFMAP_BASE + s * k + i0 + r
            else:
                for cc in range(cols):
                    s = e - 2 * h + 1 - cc
                    if 0 <= s < t:
                        if df == IS:
                            buf[row, 1 + cc] = OFMAP_BASE + (j0 + cc) * n + s
                        else:
                            buf[row, 1 + cc] = OFMAP_BASE + s * n + j0 + cc
    return min(first_live, nf)


@njit(cache=True)
def fill_dram_segments(
    f_lo: int, f_hi: int, fold_start: np.ndarray, total_end: int, m: int, n: int, k: int, h: int, w: int,
    df: int, lp: int, timing: int, db: bool, cap_a: float, cap_b: float, cap_c: float, ab: float, bb: float,
    ob: float, ia: float, ib: float, ic: float, lat: float, seg: np.ndarray,
) -> int:
    """DRAM transfer segments (start, end, operand 0 A / 1 B / 2 C, direction 0 read / 1 write, bytes)
    issued in the windows of folds [f_lo, f_hi) (fold -1 = prologue, fold nf = epilogue)."""
    sr, sc, t, rf, cf = geometry(m, n, k, h, w, df)
    ma, mb, mc = buffer_modes(m, n, k, h, w, df, db, cap_a, cap_b, cap_c, ab, bb, ob)
    ni = loops(rf, cf, lp)[1]
    nf = fold_start.shape[0]
    ns = 0
    for f in range(f_lo, f_hi):
        # window of fold f: write outputs (prev fold if double-buffered, else this one) then load f+1
        if f == -1:
            start = 0.0
            st = 0.0
            nxt = 0
        elif f == nf:
            st = fold_io((nf - 1) // ni, (nf - 1) % ni, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)[3]
            start = float(total_end - ceil_cycles(st * ic))
            if timing != T_SCALESIM:  # written as its rows leave the array (memory.tiles.last_store)
                no = nf // ni
                busy = last_window_busy(nf, no, ni, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob, ia, ib, ic)
                start = float(fold_start[nf - 1] + last_store(fold_compute(nf - 1, nf, h, w, t, df, timing), busy,
                                                              st * ic, output_stream_cycles(h, w, t, df, timing))[0])
            nxt = -1
        else:
            start = float(fold_start[f])
            if db:
                st = 0.0
                if f > 0:
                    st = fold_io((f - 1) // ni, (f - 1) % ni, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)[3]
            else:
                start += fold_compute(f, nf, h, w, t, df, timing)
                st = fold_io(f // ni, f % ni, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)[3]
            nxt = f + 1 if f + 1 < nf else -1
        if f == nf and not db:
            continue
        tt = start
        if st > 0.0:
            seg[ns, 0] = tt
            seg[ns, 1] = tt + st * ic
            seg[ns, 2] = 2
            seg[ns, 3] = 1
            seg[ns, 4] = st
            ns += 1
            tt += st * ic
        if nxt >= 0:
            if db and f >= 0:
                la, lb, lc = prefetch_io(f, nf // ni, ni, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)
            else:
                la, lb, lc, _ = fold_io(nxt // ni, nxt % ni, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)
            if la * ia + lb * ib + lc * ic > 0.0:
                if f < 0 or not db:  # the first load and single-buffered loads wait for latency
                    tt = max(tt, start + lat)
                for opnd in range(3):
                    byts = (la, lb, lc)[opnd]
                    inv = (ia, ib, ic)[opnd]
                    if byts > 0.0:
                        seg[ns, 0] = tt
                        seg[ns, 1] = tt + byts * inv
                        seg[ns, 2] = opnd
                        seg[ns, 3] = 0
                        seg[ns, 4] = byts
                        ns += 1
                        tt += byts * inv
    return ns


def write_traces(out_dir: Path, m: int, n: int, k: int, p: dict[str, Any], chunk_bytes: int = 32 << 20) -> dict[str, Any]:
    """Simulate one GEMM and stream its SRAM and DRAM traces to ``out_dir``; returns the figures."""
    sr, sc, t, rf, cf = geometry(m, n, k, p["h"], p["w"], p["df"])
    nf = int(rf * cf)
    if nf > MAX_TRACE_FOLDS:
        raise InputError(f"{nf} folds is too many to trace (allowed: <= {MAX_TRACE_FOLDS})", key="--trace")
    out_dir.mkdir(parents=True, exist_ok=True)
    fold_start = np.zeros(nf, dtype=np.int64)
    res = np.zeros(R.N_FIELDS)
    args = (p["h"], p["w"], p["df"], p["timing"], p["db"], p["cap_a"], p["cap_b"], p["cap_c"],
            p["ab"], p["bb"], p["ob"], p["inv_a"], p["inv_b"], p["inv_c"], p["lat"])
    simulate_one(m, n, k, *args, res, fold_start)
    lp = int(res[R.LOOP_ORDER])
    off = 1 if p["timing"] == 0 else 0
    total_end = int(res[R.TOTAL_CYCLES]) + off
    length = int(event_length(p["h"], p["w"], t, p["df"], p["timing"]))
    last_cycle = int(fold_start[-1]) + length
    for which, name in enumerate(("IFMAP", "FILTER", "OFMAP")):
        nports = ports(which, p["df"], p["h"], p["w"])
        chunk = max(256, chunk_bytes // (8 * (nports + 1)))
        buf = np.empty((chunk, nports + 1), dtype=np.int64)
        f_lo = 0
        with open(out_dir / f"{name}_SRAM_TRACE.csv", "w") as fh:
            lo = 0
            while lo < last_cycle and f_lo < nf:
                hi = min(lo + chunk, last_cycle)
                f_lo = fill_sram_window(which, lo, hi, f_lo, fold_start, m, n, k, p["h"], p["w"], p["df"], lp,
                                        p["timing"], buf[: hi - lo])
                rows = buf[: hi - lo]
                rows = rows[(rows[:, 1:] >= 0).any(axis=1)]
                if rows.size:
                    np.savetxt(fh, rows, fmt="%d", delimiter=", ")
                lo = hi
    names = np.array(["ifmap", "filter", "ofmap"])
    dirs = np.array(["read", "write"])
    seg = np.empty((4 * 65536, 5))
    with open(out_dir / "DRAM_TRACE.csv", "w") as fh:
        fh.write("start_cycle,end_cycle,operand,direction,bytes\n")
        if p["inv_a"] > 0.0 or p["inv_b"] > 0.0 or p["inv_c"] > 0.0:
            for f_lo in range(-1, nf + 1, 65536):
                f_hi = min(f_lo + 65536, nf + 1)
                ns = fill_dram_segments(f_lo, f_hi, fold_start, total_end, m, n, k, *args[:3], lp, *args[3:], seg)
                s = seg[:ns]
                for row in range(ns):
                    fh.write(f"{int(np.floor(s[row, 0]))},{int(np.ceil(s[row, 1] - 1e-9))},"
                             f"{names[int(s[row, 2])]},{dirs[int(s[row, 3])]},{s[row, 4]:.12g}\n")
    return {name: res[x] for x, name in enumerate(R.RESULT_KEYS)}
