"""Cross-op prefetch: the DMA loads the next GEMM's first tiles during the previous GEMM.

Per GEMM both engines (``simulator.memory.analyze_gemms`` in closed form, ``simulator.cycle.simulate_gemms``
cycle by cycle) report the figures of ``memory.cross_op_figures`` (``CROSS_OP_KEYS``): the exposed
prologue ``P = ceil(L + ld_0 / bw)`` (fold 0's tiles: ``ld_0`` bytes, ``lb_0`` of them B, the rest
``la_0`` A), the DRAM-idle cycles of the last fold's window ``I_t`` (DRAM has written the previous
fold's outputs and has nothing left to load) and of all earlier windows ``I_b``, and the free buffer
bytes: B during the last fold ``F_t`` (only its own tile is live), B during earlier folds ``F_b``
(capacity minus the whole operand if resident, minus two tiles if reused, 0 if streamed) and A during
the last fold ``F_a``. A GEMM ``c`` that runs right after GEMM ``p`` on the same array gets::

    xb_body = min(lb_0[c], F_b[p], I_b[p] * bw)
    xb_tail = min(lb_0[c] - xb_body, I_t[p] * bw, F_t[p] - xb_body)
    xa      = min(la_0[c], F_a[p], I_t[p] * bw - xb_tail)       (next product of the same record only)
    P'      = ceil(L + (ld_0[c] - xb_body - xb_tail - xa) / bw)  (0 if nothing is left)
    saved   = P[c] - P'

A weight B (static, address known ahead) is always prefetchable. A non-weight B (KV cache, K^T / V of
attention) is when no weight GEMM ran in between that may have just written it: between products of
the same record (the next head's K or V slice) and after a GEMM without weights (QK^T writes the
scores, AV's A operand, not its V). Right after a weight GEMM (the K/V projection) only the part it
cannot have written is: for an operand that grows by ``per_step`` entries per decode step out of
``size`` (the KV cache) the fraction ``1 - per_step / size``; a non-growing one (prefill K^T, V) not at
all (``b_fresh_fraction``). A (activations) is the previous op's output except between products of
one record, so it stays exposed with the read latency ``L`` of its request. Only DRAM-idle cycles of
``p`` are used and only prologue stalls removed, so totals stay ``>= max(compute, bytes / bw)``.

The execution order (arch-independent, ``transitions``): per step, records in workload order; a
record of ``layers`` folded layers belongs to a block of consecutive records with the same
(``layer``, ``layers``) that repeats ``layers`` times; within one iteration a record runs its
``batch x count / layers`` products back to back (on one of ``array.count`` arrays: ``ceil(batch /
count)`` when heads are spread over the arrays). Vector ops between GEMMs are not used as extra
prefetch time (conservative). docs/memory.md section 4b.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: per-GEMM keys (both engines) the schedule needs
CROSS_OP_KEYS = ("prologue_cycles", "prologue_bytes", "prologue_filter_bytes", "tail_idle_cycles",
                 "tail_free_filter_bytes", "body_idle_cycles", "body_free_filter_bytes", "tail_free_ifmap_bytes")


@dataclass(frozen=True)
class Transitions:
    """Which engine row follows which, and how often (over the whole workload)."""

    prev_row: np.ndarray  # int64: row that runs first
    cur_row: np.ndarray  # int64: row that runs right after it (a different record)
    times: np.ndarray  # float64: how many times this happens
    self_iters: np.ndarray  # float64 per row: runs of back-to-back products of the row (each of
    # ``inst`` products has ``inst - 1`` self transitions; ``inst`` depends on the array count)


def transitions(
    phase: list[str], steps: np.ndarray, layer: np.ndarray, layers: np.ndarray, grows: np.ndarray,
    start_row: np.ndarray, n_rows: int,
) -> Transitions:
    """Execution-order transitions between the engine rows of GEMM records (see the module docstring).

    Per record (workload order): its phase, steps, first layer, folded layers, whether its shape grows
    with the step (one row per step from ``start_row``) or not (one row for all steps).
    """
    n_rec = len(phase)
    steps = np.asarray(steps, dtype=np.int64)
    layers_f = np.asarray(layers, dtype=np.float64)
    prev_parts: list[np.ndarray] = []
    cur_parts: list[np.ndarray] = []
    time_parts: list[np.ndarray] = []

    def row(rec: int, s: np.ndarray) -> np.ndarray:
        return start_row[rec] + (s if grows[rec] else np.zeros_like(s))

    def emit(p_rec: int, p_s: np.ndarray, c_rec: int, c_s: np.ndarray, t: float) -> None:
        if p_s.size == 0 or t <= 0:
            return
        prev_parts.append(row(p_rec, p_s))
        cur_parts.append(row(c_rec, c_s))
        time_parts.append(np.full(p_s.size, t))

    last: tuple[int, int] | None = None  # (record, step) of the previous phase's last GEMM
    for ph in dict.fromkeys(phase):
        recs = [i for i in range(n_rec) if phase[i] == ph]
        bounds = sorted({0, *(int(steps[i]) for i in recs)})
        first_of_step: list[tuple[int, int, int]] = []  # (s0, s1, first rec), (s0, s1, last rec)
        last_of_step: list[tuple[int, int, int]] = []
        for s0, s1 in zip(bounds[:-1], bounds[1:], strict=False):
            act = [i for i in recs if steps[i] > s0]
            if not act:
                continue
            ss = np.arange(s0, s1, dtype=np.int64)
            blocks: list[list[int]] = []
            for i in act:
                if blocks and (layer[blocks[-1][-1]], layers[blocks[-1][-1]]) == (layer[i], layers[i]):
                    blocks[-1].append(i)
                else:
                    blocks.append([i])
            for bi, blk in enumerate(blocks):
                reps = float(layers[blk[0]])
                for a, b in zip(blk[:-1], blk[1:], strict=False):
                    emit(a, ss, b, ss, reps)
                emit(blk[-1], ss, blk[0], ss, reps - 1.0)
                if bi + 1 < len(blocks):
                    emit(blk[-1], ss, blocks[bi + 1][0], ss, 1.0)
            first_of_step.append((s0, s1, act[0]))
            last_of_step.append((s0, s1, act[-1]))
        # step boundaries: last GEMM of step s-1 -> first GEMM of step s
        for (s0, s1, f_rec) in first_of_step:
            for (t0, t1, l_rec) in last_of_step:
                lo, hi = max(s0, t0 + 1), min(s1, t1 + 1)  # s in [s0, s1) with s - 1 in [t0, t1)
                if hi > lo:
                    s = np.arange(lo, hi, dtype=np.int64)
                    emit(l_rec, s - 1, f_rec, s, 1.0)
        if first_of_step:
            if last is not None:
                emit(last[0], np.array([last[1]]), first_of_step[0][2], np.array([0]), 1.0)
            t0, t1, l_rec = last_of_step[-1]
            last = (l_rec, t1 - 1)
    if prev_parts:
        prev = np.concatenate(prev_parts)
        cur = np.concatenate(cur_parts)
        times = np.concatenate(time_parts)
        key = prev * max(n_rows, 1) + cur
        uniq, inv = np.unique(key, return_inverse=True)
        prev_u, cur_u = uniq // max(n_rows, 1), uniq % max(n_rows, 1)
        times_u = np.bincount(inv.reshape(-1), weights=times, minlength=uniq.size)
    else:
        prev_u = cur_u = np.zeros(0, dtype=np.int64)
        times_u = np.zeros(0)
    self_iters = np.zeros(n_rows)
    for i in range(n_rec):
        if grows[i]:
            self_iters[start_row[i]:start_row[i] + steps[i]] = layers_f[i]
        else:
            self_iters[start_row[i]] = layers_f[i] * steps[i]
    return Transitions(prev_u.astype(np.int64), cur_u.astype(np.int64), times_u, self_iters)


def _ceil_cycles(x: np.ndarray) -> np.ndarray:
    """Vectorised ``memory.ceil_cycles``."""
    return np.where(x <= 1e-9, 0.0, np.ceil(x - 1e-9 * np.maximum(1.0, x)))


def cross_op_saved_cycles(
    res: dict[str, Any], tr: Transitions, inst_per_iter: np.ndarray, b_is_weight: np.ndarray,
    b_fresh: np.ndarray, inv_a: Any, inv_b: Any, latency_cycles: Any,
) -> np.ndarray:
    """Cycles saved per engine row over the whole workload (already multiplied by occurrences).

    ``res``: per-row engine figures (``CROSS_OP_KEYS``); ``inst_per_iter``: products a row runs back
    to back per iteration on one array; ``b_is_weight``: per row, whether B is a weight; ``b_fresh``:
    per row, the fraction of B that the previous weight GEMM may have just written (``b_fresh_fraction``).
    ``inv_a``/``inv_b``: per row (or scalar), cycles per byte of the links A and B are fetched over
    (0: free); ``latency_cycles``: per row (or scalar), the first-byte latency of its links. Idle link
    cycles of ``p`` carry ``c``'s bytes at ``c``'s rates.
    """
    def col(key: str) -> np.ndarray:
        return np.asarray(res[key], dtype=np.float64)

    pro, ld0, lb_all = col("prologue_cycles"), col("prologue_bytes"), col("prologue_filter_bytes")
    n = pro.size
    ia = np.broadcast_to(np.asarray(inv_a, dtype=np.float64), (n,))
    ib = np.broadcast_to(np.asarray(inv_b, dtype=np.float64), (n,))
    lat = np.broadcast_to(np.asarray(latency_cycles, dtype=np.float64), (n,))
    la_all = np.maximum(ld0 - lb_all, 0.0)  # fold 0 loads no partial sums: the rest is A
    weight = np.asarray(b_is_weight, dtype=bool)
    idle_tail = col("tail_idle_cycles")  # link-idle cycles of the last window
    idle_body = col("body_idle_cycles")  # ... of the earlier windows
    free_tail_b, free_body_b = col("tail_free_filter_bytes"), col("body_free_filter_bytes")
    free_tail_a = col("tail_free_ifmap_bytes")
    with np.errstate(divide="ignore"):
        bpc_a = np.where(ia > 0, 1.0 / np.where(ia > 0, ia, 1.0), np.inf)
        bpc_b = np.where(ib > 0, 1.0 / np.where(ib > 0, ib, 1.0), np.inf)

    def bytes_in(cycles: np.ndarray, bpc: np.ndarray) -> np.ndarray:
        return np.where(cycles > 0, cycles * np.where(np.isfinite(bpc), bpc, 0.0), 0.0) + np.where(
            np.isfinite(bpc), 0.0, np.inf)

    def saved(p: np.ndarray, c: np.ndarray, lb0: np.ndarray, la0: np.ndarray) -> np.ndarray:
        # B first: in the earlier windows (room for B only there), then in the last window
        xb_body = np.minimum(np.minimum(lb0, free_body_b[p]), bytes_in(idle_body[p], bpc_b[c]))
        xb_tail = np.minimum(np.minimum(lb0 - xb_body, bytes_in(idle_tail[p], bpc_b[c])),
                             np.maximum(free_tail_b[p] - xb_body, 0.0))
        left_t = np.maximum(idle_tail[p] - xb_tail * ib[c], 0.0)  # idle cycles left for A
        same = ia[c] == ib[c]
        xa_room = np.where(same, bytes_in(idle_tail[p], bpc_a[c]) - xb_tail, bytes_in(left_t, bpc_a[c]))
        xa = np.minimum(np.minimum(la0, free_tail_a[p]), xa_room)
        rest = ld0[c] - (xb_body + xb_tail + xa)
        rest_t = np.where(same, rest * ib[c], (la_all[c] - xa) * ia[c] + (lb_all[c] - xb_body - xb_tail) * ib[c])
        new = np.where((rest > 1e-9 * ld0[c]) & (rest_t > 0), _ceil_cycles(lat[c] + rest_t), 0.0)
        return np.maximum(pro[c] - new, 0.0)

    out = np.zeros(n)
    if tr.prev_row.size:
        p, c = tr.prev_row, tr.cur_row
        fresh = np.where(weight[c], 0.0, np.asarray(b_fresh, dtype=np.float64)[c])
        lb0 = lb_all[c] * np.where(weight[p], 1.0 - fresh, 1.0)
        out += np.bincount(c, weights=saved(p, c, lb0, np.zeros(c.size)) * tr.times, minlength=n)
    # the next product of the same record (next head): its B and its A were written by earlier ops
    rows = np.arange(n)
    out += saved(rows, rows, lb_all, la_all) * tr.self_iters * np.maximum(inst_per_iter - 1.0, 0.0)
    return out


def b_fresh_fraction(b_is_weight: bool, n: np.ndarray, k: np.ndarray, n_per_step: int, k_per_step: int) -> np.ndarray:
    """Per engine row of one record: the fraction of its B operand the previous (weight) GEMM may have
    just written. Weights: 0. A B that grows with the decode step (N or K by ``per_step`` each step: a
    KV cache) only by its newest entries, ``per_step / size``; any other non-weight B: all of it."""
    n = np.asarray(n, dtype=np.float64)
    if b_is_weight:
        return np.zeros(n.size)
    if n_per_step > 0:
        return np.minimum(n_per_step / np.maximum(n, 1.0), 1.0)
    if k_per_step > 0:
        return np.minimum(k_per_step / np.maximum(np.asarray(k, dtype=np.float64), 1.0), 1.0)
    return np.ones(n.size)
