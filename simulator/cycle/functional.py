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

Fold by fold (``os_fold``, ``ws_fold``), registers are updated in place in reverse row/column order,
so each PE reads its neighbour's value from the previous cycle (a shift register, no copies). Only the
PEs a fold uses are simulated; the idle PEs of a partial fold hold zeros and would not change any value.
The pipelined kernels hold the moving registers (A, B, partial sums, with their fold tags) as windows
over a longer buffer: PE (r, c) is element r * W + c, and a shift by one column (one row) moves the
window by 1 (W) elements (``_slide``), so a cycle's MACs are one contiguous pass over the array. That
pass is branch-free (vectorised) when every PE holds the same fold's values and the tags show no
hazard (checked with a cheap xor/or reduction); otherwise it goes row by row, and rows where folds meet
PE by PE with every hazard check. ``tests/test_functional.py`` compares outputs, counters and hazards
with the plain PE-by-PE kernels for valid and too-tight fold periods.
"""

from __future__ import annotations

import numpy as np

from simulator.jit import njit


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


@njit(cache=True, inline="always")
def _active_qe(u: int, q: int, e: int, period: int, spans: np.ndarray, max_span: int) -> tuple[int, int, int]:
    """``_active(u, ...)`` given ``q, e = divmod(u, period)``: without a division when ``period >=
    max_span`` (then only fold q can drive the port)."""
    if period < max_span:
        return _active(u, period, spans, max_span)
    if q < 0 or q >= spans.shape[0] or e >= spans[q]:
        return -1, 0, 0
    return q, e, 1


@njit(cache=True)
def _slide(val: np.ndarray, tag: np.ndarray, base: int, n: int, step: int, top: int) -> int:
    """Shift the shift register held in ``val/tag[base:base + n]`` by ``step`` elements: element i
    takes element i - step, by moving the window ``step`` down (no copy); ``val/tag[base - step:base]``
    are the freed slots the caller writes. A window at the buffer's start is first copied to ``top``.
    Returns the new base."""
    if base < step:
        for i in range(n - 1, -1, -1):
            val[top + i] = val[base + i]
            tag[top + i] = tag[base + i]
        base = top
    return base - step


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

    The streamed and partial-sum registers of PE (r, c) are element r * W + c of a window over a
    longer buffer (``_slide``: the right shift of A moves the window by one, the down shift of the
    partial sums by W, so PE (r, c) finds the sum from above at its own address and adds in place).
    The MACs take a branch-free (vectorised) path over the whole array, else per row, when every PE
    holds the same fold's element, weight and partial sum (or no element at all); rows where folds
    meet go PE by PE with the hazard checks. Both paths give the same registers and counters.
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
    hw = h * w
    top = 8 * hw  # a window reaches the buffer's start every 8 H W / step cycles
    # streamed values and partial sums (with their fold index, -1: none) as sliding windows at ab / pb
    av = np.zeros(top + hw, dtype=s.dtype)
    at = np.full(top + hw, -1, dtype=np.int64)
    pv = np.zeros(top + hw, dtype=s.dtype)
    pt = np.full(top + hw, -1, dtype=np.int64)
    ab = top
    pb = top
    wv_of = np.zeros((2, hw), dtype=s.dtype)  # weight slot, PE r * W + c
    wtag_of = np.full((2, hw), -1, dtype=np.int64)  # fold * h + the row the weight belongs to
    wv = wv_of.reshape((2, h, w))
    wtag = wtag_of.reshape((2, h, w))
    row_of = np.empty(hw, dtype=np.int64)
    for i in range(hw):
        row_of[i] = i // w
    end = (nf - 1) * period + 2 * h + w + t_len + h
    hazards = 0
    n_s = 0  # port counters (in registers, into counts at the end)
    n_w = 0
    n_out = 0
    last = counts[4]
    one_burst = period >= t_len  # at most one fold's burst on a streamed port at a time
    gi = -1  # fold whose first stationary row k0 is held
    k0 = 0
    for x in range(end):
        # shift A right and the partial sums down (each PE takes its neighbour's value of the previous cycle)
        ab = _slide(av, at, ab, hw, 1, top)
        pb = _slide(pv, pt, pb, hw, w, top)
        # the streamed ports: row r reads at u = x - H - r (all rows inside one fold's burst, or all
        # between bursts: no per-port search)
        u = x - h
        q = u // period
        e = u - q * period
        if one_burst and 0 <= q < nf and h - 1 <= e < t_len:
            if q != gi:
                gi = q
                k0 = (q % rf) * h
            rmax = rows_of[q]
            for r in range(rmax):
                av[ab + r * w] = s[e - r, k0 + r]
                at[ab + r * w] = q
            for r in range(rmax, h):
                av[ab + r * w] = zero
                at[ab + r * w] = -1
            n_s += rmax
        elif u < 0 or (one_burst and e >= t_len + h - 1):
            for r in range(h):
                av[ab + r * w] = zero
                at[ab + r * w] = -1
        else:
            for r in range(h):
                g, e0, n_on = _active_qe(u, q, e, period, t_span, t_len)
                u -= 1
                e -= 1
                if e < 0:
                    e += period
                    q -= 1
                if n_on > 1:
                    hazards += 1
                if g >= 0 and r < rows_of[g]:
                    av[ab + r * w] = s[e0, (g % rf) * h + r]
                    at[ab + r * w] = g
                    n_s += 1
                else:
                    av[ab + r * w] = zero
                    at[ab + r * w] = -1
        # MACs: the whole array at once when it holds one fold (or no element); views keep the indices >= 0
        am = av[ab:ab + hw]
        atm = at[ab:ab + hw]
        pm = pv[pb:pb + hw]
        ptm = pt[pb:pb + hw]
        g = atm[0]
        bad = 0
        done = False
        if g < 0:
            for i in range(hw):
                bad |= atm[i] ^ g
            if bad == 0:  # partial sums pass down unchanged, row 0 starts none
                for c in range(w):
                    pm[c] = zero
                    ptm[c] = -1
                done = True
        else:
            sl = g & 1
            own = g * h
            wm = wv_of[sl]
            wtm = wtag_of[sl]
            for i in range(hw):
                bad |= (atm[i] ^ g) | (wtm[i] ^ (own + row_of[i]))
            ptl = ptm[w:]  # rows 1..: the sums from above (views, so that the indices start at 0)
            for i in range(hw - w):
                bad |= ptl[i] ^ g
            if bad == 0:
                for c in range(w):
                    pm[c] = am[c] * wm[c]
                    ptm[c] = g
                pm[0] = zero + pm[0]  # column 0 adds to the (zero) sum from the top edge, as the reference
                pl = pm[w:]
                al = am[w:]
                wl = wm[w:]
                for i in range(hw - w):
                    pl[i] += al[i] * wl[i]
                done = True
        for r in range(0 if done else h):  # else row by row
            ar = am[r * w:(r + 1) * w]
            atr = atm[r * w:(r + 1) * w]
            pr = pm[r * w:(r + 1) * w]
            ptr = ptm[r * w:(r + 1) * w]
            g = atr[0]
            bad = 0
            if g < 0:  # no element in the row: the sums from above pass (row 0: none)
                for c in range(w):
                    bad |= atr[c] ^ g
                if bad == 0:
                    if r == 0:
                        for c in range(w):
                            pr[c] = zero
                            ptr[c] = -1
                    continue
            else:  # one fold's elements, weights and partial sums in the whole row: no hazard
                sl = g & 1
                own = g * h + r
                wr = wv_of[sl, r * w:(r + 1) * w]
                wtr = wtag_of[sl, r * w:(r + 1) * w]
                if r > 0:
                    for c in range(w):
                        bad |= (atr[c] ^ g) | (ptr[c] ^ g) | (wtr[c] ^ own)
                    if bad == 0:
                        for c in range(w):
                            pr[c] += ar[c] * wr[c]
                        continue
                else:
                    for c in range(w):
                        bad |= (atr[c] ^ g) | (wtr[c] ^ own)
                    if bad == 0:
                        for c in range(w):
                            pr[c] = ar[c] * wr[c]
                            ptr[c] = g
                        pr[0] = zero + pr[0]
                        continue
            for c in range(w):  # folds meet in this row: PE by PE, with the hazard checks
                ag = atr[c]
                if r > 0:  # pr[c], ptr[c]: the partial sum from above
                    if ag >= 0:
                        sl = ag & 1
                        if wtag[sl, r, c] != ag * h + r or ptr[c] != ag:
                            hazards += 1
                        pr[c] += ar[c] * wv[sl, r, c]
                        if c == 0:  # column 0 takes the element's fold, the others keep the sum's
                            ptr[0] = ag
                elif ag >= 0:
                    sl = ag & 1
                    if wtag[sl, 0, c] != ag * h:
                        hazards += 1
                    pr[c] = ar[c] * wv[sl, 0, c] if c > 0 else zero + ar[0] * wv[sl, 0, 0]
                    ptr[c] = ag
                else:
                    pr[c] = zero
                    ptr[c] = -1
        bo = (h - 1) * w
        gj = -1
        j0 = 0
        for c in range(w):  # bottom edge: this cycle's partial sums leave row H-1
            g = ptm[bo + c]
            if g >= 0:
                if g != gj:
                    gj = g
                    j0 = (g // rf) * w
                if j0 + c < nn:  # streamed element e left row H-1, column c at s_g + 2H - 1 + e + c
                    out[x - g * period - 2 * h + 1 - c, j0 + c] += pm[bo + c]
                    n_out += 1
                    last = x + 1
        # weight loads into the other slot (after the MACs: a register is read, then overwritten);
        # column c loads at u = x - c; none when all u lie between two folds' loads
        u = x
        q = u // period
        e = u - q * period
        for c in range(0 if period >= h + w - 1 and e >= h + w - 1 else w):
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
                n_w += 1
            else:
                wv[sl, 0, c] = zero
            wtag[sl, 0, c] = g * h + kr
    counts[0] += n_s
    counts[1] += n_w
    counts[2] += n_out
    counts[3] += hazards
    counts[4] = last
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

    The A and B registers of PE (r, c) are element r * W + c of a window over a longer buffer: the
    right shift of A is the window moving down by one (the freed column-0 slots take the ifmap ports),
    the down shift of B by W (row 0 takes the filter ports). The MACs take a branch-free (vectorised)
    path over the whole array, else per row, when every PE holds the same fold's A, B and running sum
    (or no A at all); rows where folds meet (fresh sums, fold boundaries) go PE by PE with the hazard
    checks. Both paths give the same registers and counters.
    """
    mdim, t_len = a.shape
    nn = b.shape[1]
    rf = (mdim + h - 1) // h
    cf = (nn + w - 1) // w
    nf = rf * cf
    t_span = np.full(nf, t_len, dtype=np.int64)
    h_span = np.full(nf, h, dtype=np.int64)
    zero = a[0, 0] - a[0, 0]
    hw = h * w
    top = 8 * hw  # a window reaches the buffer's start every 8 H W / step cycles
    # A / B registers (values carry their fold index, -1: none) as sliding windows at ab / bb
    av = np.zeros(top + hw, dtype=a.dtype)
    at = np.full(top + hw, -1, dtype=np.int64)
    bv = np.zeros(top + hw, dtype=a.dtype)
    bt = np.full(top + hw, -1, dtype=np.int64)
    ab = top
    bb = top
    acc_of = np.zeros((2, hw), dtype=a.dtype)  # output slot, PE r * W + c
    ctag_of = np.full((2, hw), -1, dtype=np.int64)  # fold * h + the row the partial sum belongs to
    acc = acc_of.reshape((2, h, w))
    ctag = ctag_of.reshape((2, h, w))
    row_of = np.empty(hw, dtype=np.int64)
    for i in range(hw):
        row_of[i] = i // w
    end = (nf - 1) * period + 2 * h + w + t_len + h
    hazards = 0
    n_a = 0  # port counters (in registers, into counts at the end)
    n_b = 0
    n_out = 0
    last = counts[4]
    one_burst = period >= t_len  # at most one fold's burst on a port at a time
    gj = -1  # fold whose first column j0 (B port) / row i0 (A port) is held
    j0 = 0
    gi = -1
    i0 = 0
    for x in range(end):
        # drain first: a shift reads this cycle's register values, a MAC then writes the freed row
        # (column c drains at local cycle u = x - T - H + 1 - c; q, e = divmod(u, period), stepped)
        u = x - t_len - h + 1
        q = u // period
        e = u - q * period
        # no column drains when all u lie between two folds' drains
        for c in range(0 if u < 0 or (period >= h + w - 1 and e >= h + w - 1) else w):
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
                n_out += 1
                last = x + 1
            for j in range(h - 1, qd, -1):
                acc[sl, j, c] = acc[sl, j - 1, c]
                ctag[sl, j, c] = ctag[sl, j - 1, c]
            acc[sl, qd, c] = zero
            ctag[sl, qd, c] = -1
        # shift A right and B down (each PE takes its neighbour's value of the previous cycle)
        ab = _slide(av, at, ab, hw, 1, top)
        bb = _slide(bv, bt, bb, hw, w, top)
        # the SRAM ports: B into row 0, column c (skewed by c), A into row r, column 0 (skewed by r);
        # u = x - c (x - r) all inside one fold's burst (or all between bursts): no per-port search
        q = x // period
        e = x - q * period
        if one_burst and q < nf and w - 1 <= e < t_len:
            if q != gj:
                gj = q
                j0 = (q % cf) * w
            cmax = min(w, nn - j0)
            for c in range(cmax):
                bv[bb + c] = b[e - c, j0 + c]
                bt[bb + c] = q
            for c in range(cmax, w):
                bv[bb + c] = zero
                bt[bb + c] = -1
            n_b += cmax
        elif one_burst and e >= t_len + w - 1:
            for c in range(w):
                bv[bb + c] = zero
                bt[bb + c] = -1
        else:
            qb = q
            eb_ = e
            for c in range(w):
                gb, eb, nb = _active_qe(x - c, qb, eb_, period, t_span, t_len)
                eb_ -= 1
                if eb_ < 0:
                    eb_ += period
                    qb -= 1
                if nb > 1:
                    hazards += 1
                if gb >= 0 and gb != gj:
                    gj = gb
                    j0 = (gb % cf) * w
                if gb >= 0 and j0 + c < nn:
                    bv[bb + c] = b[eb, j0 + c]
                    bt[bb + c] = gb
                    n_b += 1
                else:
                    bv[bb + c] = zero
                    bt[bb + c] = -1
        if one_burst and q < nf and h - 1 <= e < t_len:
            if q != gi:
                gi = q
                i0 = (q // cf) * h
            rmax = min(h, mdim - i0)
            for r in range(rmax):
                av[ab + r * w] = a[i0 + r, e - r]
                at[ab + r * w] = q
            for r in range(rmax, h):
                av[ab + r * w] = zero
                at[ab + r * w] = -1
            n_a += rmax
        elif one_burst and e >= t_len + h - 1:
            for r in range(h):
                av[ab + r * w] = zero
                at[ab + r * w] = -1
        else:
            for r in range(h):
                ga, ea, na = _active_qe(x - r, q, e, period, t_span, t_len)
                e -= 1
                if e < 0:
                    e += period
                    q -= 1
                if na > 1:
                    hazards += 1
                if ga >= 0 and ga != gi:
                    gi = ga
                    i0 = (ga // cf) * h
                if ga >= 0 and i0 + r < mdim:
                    av[ab + r * w] = a[i0 + r, ea]
                    at[ab + r * w] = ga
                    n_a += 1
                else:
                    av[ab + r * w] = zero
                    at[ab + r * w] = -1
        # MACs: the whole array at once when it holds one fold (or no A); views keep the indices >= 0
        am = av[ab:ab + hw]
        atm = at[ab:ab + hw]
        bm = bv[bb:bb + hw]
        btm = bt[bb:bb + hw]
        g = atm[0]
        bad = 0
        if g < 0:
            for i in range(hw):
                bad |= atm[i] ^ g
            if bad == 0:
                continue
        else:
            sl = g & 1
            own = g * h
            accm = acc_of[sl]
            ctm = ctag_of[sl]
            for i in range(hw):
                bad |= (atm[i] ^ g) | (btm[i] ^ g) | (ctm[i] ^ (own + row_of[i]))
            if bad == 0:
                for i in range(hw):
                    accm[i] += am[i] * bm[i]
                continue
        for r in range(h):  # else row by row
            ar = am[r * w:(r + 1) * w]
            atr = atm[r * w:(r + 1) * w]
            br = bm[r * w:(r + 1) * w]
            btr = btm[r * w:(r + 1) * w]
            g = atr[0]
            bad = 0
            if g < 0:  # no A in the row: no MACs
                for c in range(w):
                    bad |= atr[c] ^ g
                if bad == 0:
                    continue
            else:  # one fold's A, B and running sums in the whole row: no hazard
                sl = g & 1
                own = g * h + r
                ctr = ctag[sl, r]
                for c in range(w):
                    bad |= (atr[c] ^ g) | (btr[c] ^ g) | (ctr[c] ^ own)
                if bad == 0:
                    accr = acc[sl, r]
                    for c in range(w):
                        accr[c] += ar[c] * br[c]
                    continue
            base = x - r  # folds meet in this row: PE by PE (element 0 reaches PE (r, c) at s_g + r + c)
            for c in range(w):
                ag = atr[c]
                bg = btr[c]
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
    counts[0] += n_a
    counts[1] += n_b
    counts[2] += n_out
    counts[3] += hazards
    counts[4] = last
    return end * h * w


def _padded(rows: int, cols: int, h: int, w: int, t_len: int, dtype: np.dtype) -> np.ndarray:
    """Output buffer with room past C for out-of-range writes of hazardous (too short) periods:
    row indices stay within ``rows + 2(H + W + T)`` (negative ones wrap into the end padding), column
    indices within the folds' full-width span."""
    pad = 2 * (h + w + t_len) + h
    return np.zeros((-(-rows // h) * h + pad, -(-cols // w) * w + w), dtype=dtype)


def functional_product(a: np.ndarray, b: np.ndarray, h: int, w: int, df: int, cycles_os: int,
                       cycles_ws: int, preload: int, period: int = 0) -> tuple[np.ndarray, np.ndarray, int]:
    """Run every fold in order; returns (C, counts[ifmap reads, filter reads, ofmap writes, hazards,
    last output cycle + 1], PE updates).

    ``cycles_*`` is the fold's event length (full-array skew), ``preload`` the WS/IS preload cycles.
    ``period > 0``: the folds are pipelined, fold g starting at g * period on one array with double-
    buffered stationary registers (``ws_pipelined`` / ``os_pipelined``, docs/timing.md); counts[3:5]
    are then the hazards seen and the cycle after the last output write (0 and 0 when not pipelined).
    """
    from simulator.dataflows import functional_roles

    kernel, transpose = functional_roles(df)

    counts = np.zeros(5, dtype=np.int64)
    dtype = a.dtype
    updates = 0
    mdim, kdim = a.shape
    ndim = b.shape[1]
    if period > 0:
        # A period shorter than max(T, H) (the hazard tests use one on purpose) can make a colliding
        # fold write outside C; numba does not bounds-check, so write into a padded buffer and slice.
        if kernel == "os":
            out = _padded(mdim, ndim, h, w, kdim, dtype)
            updates = os_pipelined(a, b, out, h, w, period, counts)
            return np.ascontiguousarray(out[:mdim, :ndim]), counts, updates
        s, wt = (np.ascontiguousarray(b.T), np.ascontiguousarray(a.T)) if transpose else (a, b)
        rows, cols = s.shape[0], wt.shape[1]
        out = _padded(rows, cols, h, w, rows, dtype)
        updates = ws_pipelined(s, wt, out, h, w, period, counts)
        out = out[:rows, :cols]
        if transpose:
            counts[0], counts[1] = counts[1], counts[0]
            return np.ascontiguousarray(out.T), counts, updates
        return np.ascontiguousarray(out), counts, updates
    if kernel == "os":
        out = np.zeros((mdim, ndim), dtype=dtype)
        areg = np.zeros((h, w), dtype=dtype)
        breg = np.zeros((h, w), dtype=dtype)
        acc = np.zeros((h, w), dtype=dtype)
        for i0 in range(0, mdim, h):
            for j0 in range(0, ndim, w):
                updates += os_fold(a, b, out, i0, j0, min(h, mdim - i0), min(w, ndim - j0), cycles_os,
                                   areg, breg, acc, counts)
        return out, counts, updates
    if transpose:  # C^T = B^T A^T: B^T streamed (ifmap role of the WS kernel), A^T stationary
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
    if transpose:
        # the kernel's "streamed" operand was B: swap the read counters back to (ifmap=A, filter=B)
        counts[0], counts[1] = counts[1], counts[0]
        return np.ascontiguousarray(out.T), counts, updates
    return out, counts, updates
