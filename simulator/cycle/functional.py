"""Functional mode: real operand values move through the PE registers, cycle by cycle.

OS: A enters row r skewed by r cycles and moves right, B enters column c skewed by c and moves down,
each PE accumulates a*b in place; the finished tile is read out after the fold.
WS: the weight tile shifts down into the array during H preload cycles; A enters row r skewed by r
and moves right; partial sums move down one row per cycle and leave the bottom row, where they are
added into the output buffer (the K-fold accumulation of the ofmap SRAM).
IS is WS on the transposed problem: C^T = B^T A^T (A^T stationary, B^T streamed).

Default timing with ``prefetch_stationary`` (``functional_product(..., period)``): all folds run
pipelined on one full array, ``period = max(T, H)`` apart, with double-buffered stationary registers
and fold tags on every value (``ws_pipelined``, ``os_pipelined``; docs/timing.md, derivation).

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


@njit(cache=True)
def _active(u: int, period: int, spans: np.ndarray, max_span: int) -> tuple[int, int, int]:
    """(fold g, offset u - g*period, number of folds) over the folds with 0 <= u - g*period < spans[g]:
    which fold drives a port whose g-th burst starts at g*period (local cycle u). More than one
    fold is a port conflict."""
    nf = spans.shape[0]
    if u < 0:
        return -1, 0, 0
    g = min(u // period, nf - 1)
    found = -1
    off = 0
    cnt = 0
    while g >= 0 and u - g * period < max_span:
        e = u - g * period
        if e < spans[g]:
            cnt += 1
            if found < 0:
                found = g
                off = e
        g -= 1
    return found, off, cnt


@njit(cache=True)
def _active_qe(u: int, q: int, e: int, period: int, spans: np.ndarray, max_span: int) -> tuple[int, int, int]:
    """``_active(u, ...)`` given ``q, e = divmod(u, period)``: without a division when ``period >=
    max_span`` (then only fold q can drive the port)."""
    if period < max_span:
        return _active(u, period, spans, max_span)
    if q < 0 or q >= spans.shape[0] or e >= spans[q]:
        return -1, 0, 0
    return q, e, 1


@njit(cache=True)
def ws_pipelined(s: np.ndarray, wt: np.ndarray, out: np.ndarray, h: int, w: int, period: int,
                 counts: np.ndarray) -> int:
    """All WS folds pipelined ``period`` cycles apart on the full H x W array (double-buffered weights).

    Fold g (column folds outer, K folds inner) starts at s_g = g * period. Its weight tile shifts into
    register slot g % 2, column c during [s_g + c, s_g + c + rows) (last row first; row j latches from
    the row above only from s_g + c + j on: the load wavefront travels down with its data); its
    streamed element e enters row r at s_g + H + e + r and carries its fold index right, so each PE
    multiplies with the slot of the data's own fold (the switch travels with the wavefront). Partial
    sums move down with their fold index and are added into ``out`` when they leave row H-1 (K-fold
    accumulation). ``counts``: [streamed reads, stationary reads, output writes, hazards, last write
    cycle + 1]; a hazard is a port driven by two folds in one cycle, a weight register holding another
    fold's (or row's) weight when used, or a partial sum meeting another fold's element. Returns
    PE-cycles.

    Per row and cycle the interior columns take a branch-free (vectorised) path when every PE of the
    row holds the same fold's element, weight and partial sum (or no element at all); rows where folds
    meet take the PE-by-PE path with the hazard checks. Both give the same registers and counters.
    """
    t_len = s.shape[0]
    kk, nn = wt.shape
    rf = (kk + h - 1) // h
    cf = (nn + w - 1) // w
    nf = rf * cf
    rows_of = np.empty(nf, dtype=np.int64)
    t_span = np.full(nf, t_len, dtype=np.int64)
    for g in range(nf):
        rows_of[g] = h if g % rf < rf - 1 else kk - (rf - 1) * h
    zero = s[0, 0] - s[0, 0]
    aval = np.zeros((h, w), dtype=s.dtype)
    atag = np.full((h, w), -1, dtype=np.int64)  # fold of the streamed value (-1: none)
    pval = np.zeros((h, w), dtype=s.dtype)
    ptag = np.full((h, w), -1, dtype=np.int64)  # fold of the partial sum
    wv = np.zeros((2, h, w), dtype=s.dtype)
    wtag = np.full((2, h, w), -1, dtype=np.int64)  # fold * h + the row the weight belongs to
    end = (nf - 1) * period + 2 * h + w + t_len + h
    hazards = 0
    for x in range(end):
        # streamed ports: row r reads at local cycle u = x - h - r (q, e = divmod(u, period), stepped)
        u = x - 2 * h + 1
        q = u // period
        e = u - q * period
        for r in range(h - 1, -1, -1):
            ar = aval[r]
            at = atag[r]
            pr = pval[r]
            pt = ptag[r]
            # MACs of columns 1.. (registers as left by the previous cycle; reverse order = shift registers)
            if w > 1:
                g = at[0]
                done = False
                if g < 0:  # no element in the row: partial sums pass down unchanged
                    bad = 0
                    for c in range(w - 1):
                        bad |= at[c] ^ g
                    if bad == 0:
                        if r > 0:
                            pu = pval[r - 1]
                            ptu = ptag[r - 1]
                            for c in range(1, w):
                                pr[c] = pu[c]
                                pt[c] = ptu[c]
                        else:
                            for c in range(1, w):
                                pr[c] = zero
                                pt[c] = -1
                        done = True
                else:  # one fold's elements, weights and partial sums in the whole row: no hazard
                    sl = g & 1
                    own = g * h + r
                    wr = wv[sl, r]
                    wtr = wtag[sl, r]
                    if r > 0:
                        pu = pval[r - 1]
                        ptu = ptag[r - 1]
                        bad = 0
                        for c in range(1, w):
                            bad |= (at[c - 1] ^ g) | (ptu[c] ^ g) | (wtr[c] ^ own)
                        if bad == 0:
                            for c in range(1, w):
                                pr[c] = pu[c] + ar[c - 1] * wr[c]
                                pt[c] = g
                            done = True
                    else:
                        bad = 0
                        for c in range(1, w):
                            bad |= (at[c - 1] ^ g) | (wtr[c] ^ own)
                        if bad == 0:
                            for c in range(1, w):
                                pr[c] = ar[c - 1] * wr[c]
                                pt[c] = g
                            done = True
                if not done:  # folds meet in this row: PE by PE, with the hazard checks
                    for c in range(w - 1, 0, -1):
                        av = ar[c - 1]
                        ag = at[c - 1]
                        if r > 0:
                            above = pval[r - 1, c]
                            up = ptag[r - 1, c]
                            if ag >= 0:
                                sl = ag & 1
                                if wtag[sl, r, c] != ag * h + r or up != ag:
                                    hazards += 1
                                pr[c] = above + av * wv[sl, r, c]
                            else:
                                pr[c] = above
                            pt[c] = up  # == ag unless a hazard was counted
                        elif ag >= 0:
                            sl = ag & 1
                            if wtag[sl, 0, c] != ag * h:
                                hazards += 1
                            pr[c] = av * wv[sl, 0, c]
                            pt[c] = ag
                        else:
                            pr[c] = zero
                            pt[c] = -1
                for c in range(w - 1, 0, -1):  # A moves right
                    ar[c] = ar[c - 1]
                    at[c] = at[c - 1]
            # column 0: A from the ifmap SRAM port of row r
            g, e0, n_on = _active_qe(u, q, e, period, t_span, t_len)
            u += 1
            e += 1
            if e == period:
                e = 0
                q += 1
            if n_on > 1:
                hazards += 1
            if g >= 0 and r < rows_of[g]:
                av = s[e0, (g % rf) * h + r]
                ag = g
                counts[0] += 1
            else:
                av = zero
                ag = -1
            ar[0] = av
            at[0] = ag
            above = pval[r - 1, 0] if r > 0 else zero
            up = ptag[r - 1, 0] if r > 0 else -1
            if ag >= 0:
                sl = ag & 1
                if wtag[sl, r, 0] != ag * h + r or (r > 0 and up != ag):
                    hazards += 1
                pr[0] = above + av * wv[sl, r, 0]
                pt[0] = ag
            else:
                pr[0] = above
                pt[0] = up
        pb = pval[h - 1]
        tb = ptag[h - 1]
        gj = -1
        j0 = 0
        for c in range(w):  # bottom edge: this cycle's partial sums leave row H-1
            g = tb[c]
            if g >= 0:
                if g != gj:
                    gj = g
                    j0 = (g // rf) * w
                if j0 + c < nn:  # streamed element e left row H-1, column c at s_g + 2H - 1 + e + c
                    out[x - g * period - 2 * h + 1 - c, j0 + c] += pb[c]
                    counts[2] += 1
                    counts[4] = x + 1
        # weight loads into the other slot (after the MACs: a register is read, then overwritten)
        u = x
        q = u // period
        e = u - q * period
        for c in range(w):
            g, e0, n_on = _active_qe(u, q, e, period, rows_of, h)
            u -= 1
            e -= 1
            if e < 0:
                e += period
                q -= 1
            if n_on > 1:
                hazards += 1
            if g < 0:
                continue
            sl = g % 2
            for j in range(e0, 0, -1):
                wv[sl, j, c] = wv[sl, j - 1, c]
                wtag[sl, j, c] = wtag[sl, j - 1, c]
            j0 = (g // rf) * w
            kr = rows_of[g] - 1 - e0
            if j0 + c < nn:
                wv[sl, 0, c] = wt[(g % rf) * h + kr, j0 + c]
                counts[1] += 1
            else:
                wv[sl, 0, c] = zero
            wtag[sl, 0, c] = g * h + kr
    counts[3] += hazards
    return end * h * w


@njit(cache=True)
def os_pipelined(a: np.ndarray, b: np.ndarray, out: np.ndarray, h: int, w: int, period: int,
                 counts: np.ndarray) -> int:
    """All OS folds pipelined ``period`` cycles apart on the full H x W array (double-buffered outputs).

    Fold g (row folds outer) starts at s_g = g * period: A[i0 + r, e] enters row r at s_g + e + r,
    B[e, j0 + c] column c at s_g + e + c, both carrying their fold index; each PE accumulates into
    output slot g % 2 (the MAC of e = 0 starts a fresh sum and needs the slot drained). Column c
    drains slot g % 2 downwards with H shifts at s_g + T + H - 1 + c + q (q = 0..H-1); in shift q row
    H-1 leaves through the bottom port and only rows q+1.. take the value above (the drain frees row
    q, where fold g+2 may then start). ``counts`` and the return value as ``ws_pipelined``.

    Per row and cycle the MACs take a branch-free (vectorised) path when every PE of the row holds the
    same fold's A, B and partial sum (or no A at all); rows where folds meet (fresh sums, fold
    boundaries) take the PE-by-PE path with the hazard checks. Both give the same registers and counters.
    """
    mdim, t_len = a.shape
    nn = b.shape[1]
    rf = (mdim + h - 1) // h
    cf = (nn + w - 1) // w
    nf = rf * cf
    t_span = np.full(nf, t_len, dtype=np.int64)
    h_span = np.full(nf, h, dtype=np.int64)
    zero = a[0, 0] - a[0, 0]
    # A registers of PE (r, c) at [r, c + 1] (column 0: the ifmap port), B of PE (r, c) at [r + 1, c]
    # (row 0: the filter port); values carry their fold index (-1: none)
    aval = np.zeros((h, w + 1), dtype=a.dtype)
    atag = np.full((h, w + 1), -1, dtype=np.int64)
    bval = np.zeros((h + 1, w), dtype=a.dtype)
    btag = np.full((h + 1, w), -1, dtype=np.int64)
    acc = np.zeros((2, h, w), dtype=a.dtype)
    ctag = np.full((2, h, w), -1, dtype=np.int64)  # fold * h + the row the partial sum belongs to
    end = (nf - 1) * period + 2 * h + w + t_len + h
    hazards = 0
    for x in range(end):
        # drain first: a shift reads this cycle's register values, a MAC then writes the freed row
        # (column c drains at local cycle u = x - T - H + 1 - c; q, e = divmod(u, period), stepped)
        u = x - t_len - h + 1
        q = u // period
        e = u - q * period
        for c in range(w):
            g, qd, n_on = _active_qe(u, q, e, period, h_span, h)
            u -= 1
            e -= 1
            if e < 0:
                e += period
                q -= 1
            if n_on > 1:
                hazards += 1
            if g < 0:
                continue
            sl = g % 2
            tag = ctag[sl, h - 1, c]
            if tag >= 0:
                if tag // h != g:
                    hazards += 1
                out[(g // cf) * h + tag % h, (g % cf) * w + c] = acc[sl, h - 1, c]
                counts[2] += 1
                counts[4] = x + 1
            for j in range(h - 1, qd, -1):
                acc[sl, j, c] = acc[sl, j - 1, c]
                ctag[sl, j, c] = ctag[sl, j - 1, c]
            acc[sl, qd, c] = zero
            ctag[sl, qd, c] = -1
        # the SRAM ports: B into the top of column c (skewed by c), A into row r (skewed by r)
        q = x // period
        e = x - q * period
        qa = q
        ea = e
        b0 = bval[0]
        bt0 = btag[0]
        gj = -1
        j0 = 0
        for c in range(w):
            gb, eb, nb = _active_qe(x - c, q, e, period, t_span, t_len)
            e -= 1
            if e < 0:
                e += period
                q -= 1
            if nb > 1:
                hazards += 1
            if gb >= 0 and gb != gj:
                gj = gb
                j0 = (gb % cf) * w
            if gb >= 0 and j0 + c < nn:
                b0[c] = b[eb, j0 + c]
                bt0[c] = gb
                counts[1] += 1
            else:
                b0[c] = zero
                bt0[c] = -1
        gi = -1
        i0 = 0
        for r in range(h):
            ga, ea_, na = _active_qe(x - r, qa, ea, period, t_span, t_len)
            ea -= 1
            if ea < 0:
                ea += period
                qa -= 1
            if na > 1:
                hazards += 1
            if ga >= 0 and ga != gi:
                gi = ga
                i0 = (ga // cf) * h
            if ga >= 0 and i0 + r < mdim:
                aval[r, 0] = a[i0 + r, ea_]
                atag[r, 0] = ga
                counts[0] += 1
            else:
                aval[r, 0] = zero
                atag[r, 0] = -1
        # MACs, reverse row order so each PE reads its neighbours' values of the previous cycle
        for r in range(h - 1, -1, -1):
            ar = aval[r]
            at = atag[r]
            br = bval[r]
            bt = btag[r]
            g = at[0]
            done = False
            if g < 0:  # no A in the row: no MACs
                bad = 0
                for c in range(w):
                    bad |= at[c] ^ g
                done = bad == 0
            else:  # one fold's A, B and running sums in the whole row: no hazard
                sl = g & 1
                own = g * h + r
                ct = ctag[sl, r]
                bad = 0
                for c in range(w):
                    bad |= (at[c] ^ g) | (bt[c] ^ g) | (ct[c] ^ own)
                if bad == 0:
                    ac = acc[sl, r]
                    for c in range(w):
                        ac[c] += ar[c] * br[c]
                    done = True
            if not done:  # folds meet in this row: PE by PE, with the hazard checks
                base = x - r  # a fold's element 0 reaches PE (r, c) at s_g + r + c
                for c in range(w):
                    ag = at[c]
                    bg = bt[c]
                    if ag >= 0 and bg >= 0:
                        sl = ag & 1
                        own = ag * h + r
                        if ctag[sl, r, c] != own:  # a fresh sum: element 0, into a drained (zeroed) slot
                            if bg != ag or ctag[sl, r, c] != -1 or base - c != ag * period:
                                hazards += 1
                            ctag[sl, r, c] = own
                        elif bg != ag:
                            hazards += 1
                        acc[sl, r, c] += ar[c] * br[c]
            # A moves right, B down
            for c in range(w, 0, -1):
                ar[c] = ar[c - 1]
                at[c] = at[c - 1]
            bn = bval[r + 1]
            btn = btag[r + 1]
            for c in range(w):
                bn[c] = br[c]
                btn[c] = bt[c]
    counts[3] += hazards
    return end * h * w


def functional_product(a: np.ndarray, b: np.ndarray, h: int, w: int, df: int, cycles_os: int,
                       cycles_ws: int, preload: int, period: int = 0) -> tuple[np.ndarray, np.ndarray, int]:
    """Run every fold in order; returns (C, counts[ifmap reads, filter reads, ofmap writes, hazards,
    last output cycle + 1], PE updates).

    ``cycles_*`` is the fold's event length (full-array skew), ``preload`` the WS/IS preload cycles.
    ``period > 0``: the folds are pipelined, fold g starting at g * period on one array with double-
    buffered stationary registers (``ws_pipelined`` / ``os_pipelined``, docs/timing.md); counts[3:5]
    are then the hazards seen and the cycle after the last output write (0 and 0 when not pipelined).
    """
    from simulator.memory import IS, OS

    counts = np.zeros(5, dtype=np.int64)
    dtype = a.dtype
    updates = 0
    mdim, kdim = a.shape
    ndim = b.shape[1]
    if period > 0:
        if df == OS:
            out = np.zeros((mdim, ndim), dtype=dtype)
            updates = os_pipelined(a, b, out, h, w, period, counts)
            return out, counts, updates
        s, wt = (np.ascontiguousarray(b.T), np.ascontiguousarray(a.T)) if df == IS else (a, b)
        out = np.zeros((s.shape[0], wt.shape[1]), dtype=dtype)
        updates = ws_pipelined(s, wt, out, h, w, period, counts)
        if df == IS:
            counts[0], counts[1] = counts[1], counts[0]
            return np.ascontiguousarray(out.T), counts, updates
        return out, counts, updates
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
