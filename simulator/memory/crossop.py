"""Per-GEMM figures the workload-level cross-op prefetch needs (``simulator/schedule.py``,
docs/memory.md section 4b), from the tile rules; the cycle engine counts the same figures."""

from __future__ import annotations

from simulator.dataflows import geometry, output_stream_cycles
from simulator.jit import njit
from simulator.memory.tiles import (
    body_free_filter_bytes,
    ceil_cycles,
    fold_compute,
    fold_io,
    is_ideal,
    last_store,
    last_tile_bytes,
    last_window_busy,
    link_time,
    loops,
)


@njit(cache=True)
def cross_op_figures(
    m: int, n: int, k: int, h: int, w: int, df: int, lp: int, timing: int, db: bool, ma: int, mb: int,
    mc: int, cap_a: float, cap_b: float, ab: float, bb: float, ob: float, ia: float, ib: float, ic: float,
    lat: float,
) -> tuple[float, float, float, float, float, float, float]:
    """(prologue cycles, prologue bytes, prologue B bytes, DRAM-idle cycles of the last fold's window,
    free B-buffer bytes during the last fold, free B-buffer bytes during every earlier fold
    (``body_free_filter_bytes``), free A-buffer bytes during the last fold).

    The prologue is ``ceil(L + t(ld_0))`` (0 without transfer time or with an ideal memory; ``t`` the
    link time, ``tiles.link_time``). The last window lasts ``max(c_last, ceil(t(st_prev)))`` and the
    links only write ``st_prev`` and, as its rows leave the array, the last fold's own outputs in it
    (``tiles.last_store``; nothing is left to prefetch): the rest is idle. Single-buffered
    arrays have no free buffer half to prefetch into: idle 0.
    """
    if is_ideal(ia, ib, ic):
        return 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    sr, sc, t, rf, cf = geometry(m, n, k, h, w, df)
    no, ni = loops(rf, cf, lp)
    nf = no * ni
    la, lb, lc, _ = fold_io(0, 0, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)
    ld0 = la + lb + lc
    ld0_t = link_time(la, lb, lc, ia, ib, ic)
    pro = float(ceil_cycles(lat + ld0_t)) if ld0_t > 0.0 else 0.0
    if not db:
        return pro, ld0, lb, 0.0, 0.0, 0.0, 0.0
    c = fold_compute(nf - 1, nf, h, w, t, df, timing)
    busy = last_window_busy(nf, no, ni, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob, ia, ib, ic)
    st_last = fold_io(no - 1, ni - 1, df, lp, m, n, k, h, w, ma, mb, mc, ab, bb, ob)[3]
    inside = last_store(c, busy, st_last * ic, output_stream_cycles(h, w, t, df, timing))[2]
    idle = max(c, busy) - busy - inside
    ta, tb = last_tile_bytes(m, n, k, h, w, df, ab, bb)
    body_b = body_free_filter_bytes(m, n, k, h, w, df, mb, cap_b, bb)
    return pro, ld0, lb, float(idle), max(cap_b - tb, 0.0), body_b, max(cap_a - ta, 0.0)
