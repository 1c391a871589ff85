"""Functional mode: real operand values move through the PE registers, cycle by cycle.

OS: A enters row r skewed by r cycles and moves right, B enters column c skewed by c and moves down,
each PE accumulates a*b in place; the finished tile is read out after the fold.
WS: the weight tile shifts down into the array during H preload cycles; A enters row r skewed by r
and moves right; partial sums move down one row per cycle and leave the bottom row, where they are
added into the output buffer (the K-fold accumulation of the ofmap SRAM).
IS is WS on the transposed problem: C^T = B^T A^T (A^T stationary, B^T streamed).

Registers are updated in place in reverse row/column order, so each PE reads its neighbour's value
from the previous cycle (a shift register, no copies). Only the PEs a fold uses are simulated; the
idle PEs of a partial fold hold zeros and would not change any value.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def os_fold(a: np.ndarray, b: np.ndarray, out: np.ndarray, i0: int, j0: int, rows: int, cols: int,
            cycles: int, areg: np.ndarray, breg: np.ndarray, acc: np.ndarray, counts: np.ndarray) -> int:
    """One OS fold: ``out[i0:i0+rows, j0:j0+cols] = A[i0:.., :] @ B[:, j0:..]``; returns PE updates."""
    t_len = a.shape[1]
    for r in range(rows):
        for c in range(cols):
            areg[r, c] = 0
            breg[r, c] = 0
            acc[r, c] = 0
    for t in range(cycles):
        for r in range(rows - 1, -1, -1):
            ar = areg[r]
            br = breg[r]
            cr = acc[r]
            if r > 0:  # B arrives from the PE above
                bu = breg[r - 1]
                for c in range(cols - 1, 0, -1):
                    av = ar[c - 1]
                    bv = bu[c]
                    ar[c] = av
                    br[c] = bv
                    cr[c] += av * bv
                bv = bu[0]
            else:  # top row: B arrives from the filter SRAM ports, column c skewed by c
                for c in range(cols - 1, 0, -1):
                    av = ar[c - 1]
                    bv = b[t - c, j0 + c] if 0 <= t - c < t_len else 0
                    ar[c] = av
                    br[c] = bv
                    cr[c] += av * bv
                bv = b[t, j0] if t < t_len else 0
            # column 0: A arrives from the ifmap SRAM port of row r, skewed by r
            if 0 <= t - r < t_len:
                av = a[i0 + r, t - r]
                counts[0] += 1
            else:
                av = 0
            ar[0] = av
            br[0] = bv
            cr[0] += av * bv
        for c in range(cols):
            if 0 <= t - c < t_len:
                counts[1] += 1
    for r in range(rows):
        for c in range(cols):
            out[i0 + r, j0 + c] = acc[r, c]
    counts[2] += rows * cols
    return cycles * rows * cols


@njit(cache=True)
def ws_fold(s: np.ndarray, wt: np.ndarray, out: np.ndarray, k0: int, j0: int, rows: int, cols: int,
            preload: int, cycles: int, areg: np.ndarray, wreg: np.ndarray, psum: np.ndarray,
            counts: np.ndarray) -> int:
    """One WS fold: stationary ``wt[k0:k0+rows, j0:j0+cols]``, streamed ``s[:, k0:k0+rows]``;
    ``out[:, j0:j0+cols] += s[:, k0:..] @ wt[k0:.., j0:..]``. Returns PE updates."""
    t_len = s.shape[0]
    for r in range(rows):
        for c in range(cols):
            areg[r, c] = 0
            wreg[r, c] = 0
            psum[r, c] = 0
    # preload: weight rows shift down from the top edge, last row first
    for t in range(rows):
        for r in range(rows - 1, 0, -1):
            for c in range(cols):
                wreg[r, c] = wreg[r - 1, c]
        for c in range(cols):
            wreg[0, c] = wt[k0 + rows - 1 - t, j0 + c]
        counts[1] += cols
    last = rows - 1
    for tt in range(cycles - preload):
        for r in range(rows - 1, -1, -1):
            ar = areg[r]
            pr = psum[r]
            wr = wreg[r]
            if r > 0:  # partial sums arrive from the PE above
                pu = psum[r - 1]
                for c in range(cols - 1, 0, -1):
                    av = ar[c - 1]
                    ar[c] = av
                    pr[c] = pu[c] + av * wr[c]
                above = pu[0]
            else:
                for c in range(cols - 1, 0, -1):
                    av = ar[c - 1]
                    ar[c] = av
                    pr[c] = av * wr[c]
                above = 0
            if 0 <= tt - r < t_len:
                av = s[tt - r, k0 + r]
                counts[0] += 1
            else:
                av = 0
            ar[0] = av
            pr[0] = above + av * wr[0]
        # bottom edge: partial sum of streamed row m = tt - last - c leaves column c
        for c in range(cols):
            mm = tt - last - c
            if 0 <= mm < t_len:
                out[mm, j0 + c] += psum[last, c]
                counts[2] += 1
    return (cycles - preload) * rows * cols + rows * cols * rows


def functional_product(a: np.ndarray, b: np.ndarray, h: int, w: int, df: int, cycles_os: int,
                       cycles_ws: int, preload: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Run every fold in order; returns (C, counts[ifmap reads, filter reads, ofmap writes], PE updates).

    ``cycles_*`` is the fold's event length (full-array skew), ``preload`` the WS/IS preload cycles.
    """
    from simulator.memory import IS, OS

    counts = np.zeros(3, dtype=np.int64)
    dtype = a.dtype
    updates = 0
    mdim, kdim = a.shape
    ndim = b.shape[1]
    if df == OS:
        out = np.zeros((mdim, ndim), dtype=dtype)
        areg = np.zeros((h, w), dtype=dtype)
        breg = np.zeros((h, w), dtype=dtype)
        acc = np.zeros((h, w), dtype=dtype)
        for i0 in range(0, mdim, h):
            for j0 in range(0, ndim, w):
                updates += os_fold(a, b, out, i0, j0, min(h, mdim - i0), min(w, ndim - j0), cycles_os,
                                   areg, breg, acc, counts)
        return out, counts, updates
    if df == IS:  # C^T = B^T A^T: B^T streamed (ifmap role of the WS kernel), A^T stationary
        s, wt = np.ascontiguousarray(b.T), np.ascontiguousarray(a.T)
    else:
        s, wt = a, b
    out = np.zeros((s.shape[0], wt.shape[1]), dtype=dtype)
    areg = np.zeros((h, w), dtype=dtype)
    wreg = np.zeros((h, w), dtype=dtype)
    psum = np.zeros((h, w), dtype=dtype)
    kk, nn = wt.shape
    for j0 in range(0, nn, w):  # column folds outer, K folds inner (as the memory model)
        for k0 in range(0, kk, h):
            updates += ws_fold(s, wt, out, k0, j0, min(h, kk - k0), min(w, nn - j0), preload, cycles_ws,
                               areg, wreg, psum, counts)
    if df == IS:
        # the kernel's "streamed" operand was B: swap the read counters back to (ifmap=A, filter=B)
        counts[0], counts[1] = counts[1], counts[0]
        return np.ascontiguousarray(out.T), counts, updates
    return out, counts, updates
