"""Functional mode: real values through the PEs must give exactly A @ B, for every dataflow, shape
and fold pattern, and the kernels' own port counters must equal the engines' SRAM counts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from simulator.analytical import analyze_compute
from simulator.arch import ArchSpec
from simulator.cycle import functional_gemm
from workloads.errors import InputError

DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8]


def arch_of(h: int, w: int, df: str) -> ArchSpec:
    return ArchSpec().replace(**{"array.rows": h, "array.cols": w, "array.dataflow": df})


@settings(max_examples=80, deadline=None)
@given(
    m=st.integers(1, 40), n=st.integers(1, 40), k=st.integers(1, 40),
    h=st.integers(1, 9), w=st.integers(1, 9), df=st.sampled_from(["os", "ws", "is"]),
    timing=st.sampled_from(["scalesim", "default"]), dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**31),
)
def test_integer_product_is_exact(m, n, k, h, w, df, timing, dtype, seed) -> None:
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    lo, hi = max(info.min, -(2**20)), min(info.max, 2**20)
    a = rng.integers(lo, hi, (m, k), endpoint=True).astype(dtype)
    b = rng.integers(lo, hi, (k, n), endpoint=True).astype(dtype)
    arch = arch_of(h, w, df)
    c, stats = functional_gemm(a, b, arch, timing=timing)
    assert c.dtype == np.int64
    np.testing.assert_array_equal(c, a.astype(np.int64) @ b.astype(np.int64))
    ref = analyze_compute(m, n, k, h, w, df, scalesim=timing == "scalesim")
    assert stats["functional_sram_ifmap_reads"] == ref["sram_ifmap_reads"]
    assert stats["functional_sram_filter_reads"] == ref["sram_filter_reads"]
    assert stats["functional_sram_ofmap_writes"] == ref["sram_ofmap_writes"]
    assert stats["compute_cycles"] == ref["compute_cycles"]
    assert stats["pe_updates"] > 0


@pytest.mark.parametrize("df", ["os", "ws", "is"])
@pytest.mark.parametrize("shape", [(1, 1, 1), (1, 17, 1), (17, 1, 1), (1, 1, 17), (8, 8, 8), (9, 8, 16), (8, 9, 17)])
def test_edges_dims_of_one_and_exact_and_partial_folds(df: str, shape: tuple[int, int, int]) -> None:
    m, n, k = shape
    rng = np.random.default_rng(m * 100 + n * 10 + k)
    a = rng.integers(-128, 128, (m, k)).astype(np.int8)
    b = rng.integers(-128, 128, (k, n)).astype(np.int8)
    c, _ = functional_gemm(a, b, arch_of(8, 8, df))
    np.testing.assert_array_equal(c, a.astype(np.int64) @ b)


def test_int64_extremes_wrap_like_numpy() -> None:
    # int64 accumulation wraps exactly like numpy's int64 matmul
    a = np.full((3, 5), 2**40, dtype=np.int64)
    b = np.full((5, 2), 2**30, dtype=np.int64)
    c, _ = functional_gemm(a, b, arch_of(2, 2, "ws"))
    np.testing.assert_array_equal(c, a @ b)


@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_float_product(df: str) -> None:
    rng = np.random.default_rng(1)
    a = rng.standard_normal((23, 31)).astype(np.float32)
    b = rng.standard_normal((31, 19))
    c, _ = functional_gemm(a, b, arch_of(4, 8, df))
    assert c.dtype == np.float64
    np.testing.assert_allclose(c, a.astype(np.float64) @ b, rtol=1e-12, atol=1e-12)


def test_bad_shapes() -> None:
    with pytest.raises(InputError, match="do not form a GEMM"):
        functional_gemm(np.zeros((3, 4)), np.zeros((5, 2)), ArchSpec())
    with pytest.raises(InputError, match="not allowed"):
        functional_gemm(np.zeros((3, 4), dtype=complex), np.zeros((4, 2)), ArchSpec())


# ---- pipelined folds (default timing, prefetch_stationary; docs/timing.md) -------------------------


@settings(max_examples=60, deadline=None)
@given(m=st.integers(1, 30), n=st.integers(1, 30), k=st.integers(1, 30), h=st.integers(1, 8), w=st.integers(1, 8),
       df=st.sampled_from(["os", "ws", "is"]), seed=st.integers(0, 2**31))
def test_pipelined_folds_are_hazard_free_and_end_when_the_formula_says(m, n, k, h, w, df, seed) -> None:
    """All folds share one array, fold g starting at g * max(T, H): no port is driven by two folds in a
    cycle, no PE uses another fold's weight / partial sum, the product is exact, and the last output
    write is in cycle (F - 1) * max(T, H) + 2H + W + T - 3 when the last fold uses all W columns (fold
    g's last output leaves its last used column cols_g - 1 at g * max(T, H) + 2H + T + cols_g - 3)."""
    rng = np.random.default_rng(seed)
    a = rng.integers(-1000, 1000, (m, k))
    b = rng.integers(-1000, 1000, (k, n))
    c, stats = functional_gemm(a, b, arch_of(h, w, df), timing="default")
    np.testing.assert_array_equal(c, a @ b)
    assert stats["functional_hazards"] == 0
    ref = analyze_compute(m, n, k, h, w, df)
    f, t = int(ref["folds"]), int(ref["streamed"])
    assert stats["compute_cycles"] == (f - 1) * max(t, h) + 2 * h + w + t - 2
    out_cols = n if df != "is" else m  # array columns <- N (OS, WS) or M (IS)
    rf, cf = int(ref["row_folds"]), int(ref["col_folds"])
    ends = []
    for g in range(f):
        j = g % cf if df == "os" else g // rf  # OS: row folds outer; WS/IS: column folds outer
        cols = w if j < cf - 1 else out_cols - (cf - 1) * w
        ends.append(g * max(t, h) + 2 * h + t + cols - 2)
    assert stats["functional_last_write_cycle"] + 1 == max(ends)
    if out_cols % w == 0:
        assert max(ends) == stats["compute_cycles"]


@pytest.mark.parametrize("df", [0, 1, 2])
@pytest.mark.parametrize("shape", [(8, 8, 16), (16, 8, 3), (4, 12, 8), (1, 16, 16)])
def test_pipelining_one_cycle_tighter_breaks(df: int, shape: tuple[int, int, int]) -> None:
    """max(T, H) is the tightest fold period: one cycle less, and two folds drive one port in the same
    cycle (T: the stream ports; H: the weight-load / output-drain ports). Full folds only, F >= 2."""
    from simulator.cycle.functional import functional_product

    m, n, k = shape
    h = w = 4
    rng = np.random.default_rng(3)
    a = rng.integers(-9, 9, (m, k))
    b = rng.integers(-9, 9, (k, n))
    t = (k, m, n)[df]
    period = max(t, h)
    c, counts, _ = functional_product(a, b, h, w, df, 0, 0, h, period)
    np.testing.assert_array_equal(c, a @ b)
    assert counts[3] == 0
    _, counts, _ = functional_product(a, b, h, w, df, 0, 0, h, period - 1)
    assert counts[3] > 0


# ---- the fast pipelined kernels against the PE-by-PE reference kernels --------------------------------
# The kernels in functional.py keep the moving registers as sliding windows and take a branch-free path
# for the whole array (or a row) when one fold's values fill it; the reference below checks every PE
# every cycle. Outputs (bit for bit, floats too), port counters, hazards and the last write cycle must
# agree for every schedule, valid (period >= max(T, H)) or not (period one or two cycles short, full
# folds only: with partial folds a hazardous schedule may address outputs out of range).


@njit(cache=True)
def _ref_active(u: int, period: int, spans: np.ndarray, max_span: int) -> tuple[int, int, int]:
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
def _ref_ws_pipelined(s: np.ndarray, wt: np.ndarray, out: np.ndarray, h: int, w: int, period: int,
                 counts: np.ndarray) -> int:
    """PE by PE reference of ``ws_pipelined`` (the kernel as first written, every check per PE)."""
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
        # MACs (registers as left by the previous cycle; reverse order = shift registers)
        for r in range(h - 1, -1, -1):
            for c in range(w - 1, 0, -1):  # A from the left neighbour
                av = aval[r, c - 1]
                ag = atag[r, c - 1]
                aval[r, c] = av
                atag[r, c] = ag
                if r > 0:
                    above = pval[r - 1, c]
                    up = ptag[r - 1, c]
                    if ag >= 0:
                        sl = ag & 1
                        if wtag[sl, r, c] != ag * h + r or up != ag:
                            hazards += 1
                        pval[r, c] = above + av * wv[sl, r, c]
                    else:
                        pval[r, c] = above
                    ptag[r, c] = up  # == ag unless a hazard was counted
                elif ag >= 0:
                    sl = ag & 1
                    if wtag[sl, 0, c] != ag * h:
                        hazards += 1
                    pval[0, c] = av * wv[sl, 0, c]
                    ptag[0, c] = ag
                else:
                    pval[0, c] = zero
                    ptag[0, c] = -1
            # column 0: A from the ifmap SRAM port of row r
            g, e, n_on = _ref_active(x - h - r, period, t_span, t_len)
            if n_on > 1:
                hazards += 1
            if g >= 0 and r < rows_of[g]:
                av = s[e, (g % rf) * h + r]
                ag = g
                counts[0] += 1
            else:
                av = zero
                ag = -1
            aval[r, 0] = av
            atag[r, 0] = ag
            above = pval[r - 1, 0] if r > 0 else zero
            up = ptag[r - 1, 0] if r > 0 else -1
            if ag >= 0:
                sl = ag & 1
                if wtag[sl, r, 0] != ag * h + r or (r > 0 and up != ag):
                    hazards += 1
                pval[r, 0] = above + av * wv[sl, r, 0]
                ptag[r, 0] = ag
            else:
                pval[r, 0] = above
                ptag[r, 0] = up
        for c in range(w):  # bottom edge: this cycle's partial sums leave row H-1
            g = ptag[h - 1, c]
            if g >= 0:
                j0 = (g // rf) * w
                if j0 + c < nn:  # streamed element e left row H-1, column c at s_g + 2H - 1 + e + c
                    out[x - g * period - 2 * h + 1 - c, j0 + c] += pval[h - 1, c]
                    counts[2] += 1
                    counts[4] = x + 1
        # weight loads into the other slot (after the MACs: a register is read, then overwritten)
        for c in range(w):
            g, e, n_on = _ref_active(x - c, period, rows_of, h)
            if n_on > 1:
                hazards += 1
            if g < 0:
                continue
            sl = g % 2
            for j in range(e, 0, -1):
                wv[sl, j, c] = wv[sl, j - 1, c]
                wtag[sl, j, c] = wtag[sl, j - 1, c]
            j0 = (g // rf) * w
            kr = rows_of[g] - 1 - e
            if j0 + c < nn:
                wv[sl, 0, c] = wt[(g % rf) * h + kr, j0 + c]
                counts[1] += 1
            else:
                wv[sl, 0, c] = zero
            wtag[sl, 0, c] = g * h + kr
    counts[3] += hazards
    return end * h * w


@njit(cache=True)
def _ref_os_pipelined(a: np.ndarray, b: np.ndarray, out: np.ndarray, h: int, w: int, period: int,
                 counts: np.ndarray) -> int:
    """PE by PE reference of ``os_pipelined`` (the kernel as first written, every check per PE)."""
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
        for c in range(w):
            g, q, n_on = _ref_active(x - t_len - h + 1 - c, period, h_span, h)
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
            for j in range(h - 1, q, -1):
                acc[sl, j, c] = acc[sl, j - 1, c]
                ctag[sl, j, c] = ctag[sl, j - 1, c]
            acc[sl, q, c] = zero
            ctag[sl, q, c] = -1
        # the SRAM ports: B into the top of column c (skewed by c), A into row r (skewed by r)
        for c in range(w):
            gb, eb, nb = _ref_active(x - c, period, t_span, t_len)
            if nb > 1:
                hazards += 1
            if gb >= 0 and (gb % cf) * w + c < nn:
                bval[0, c] = b[eb, (gb % cf) * w + c]
                btag[0, c] = gb
                counts[1] += 1
            else:
                bval[0, c] = zero
                btag[0, c] = -1
        for r in range(h):
            ga, ea, na = _ref_active(x - r, period, t_span, t_len)
            if na > 1:
                hazards += 1
            if ga >= 0 and (ga // cf) * h + r < mdim:
                aval[r, 0] = a[(ga // cf) * h + r, ea]
                atag[r, 0] = ga
                counts[0] += 1
            else:
                aval[r, 0] = zero
                atag[r, 0] = -1
        # MACs, reverse order so each PE reads its neighbours' values of the previous cycle
        for r in range(h - 1, -1, -1):
            base = x - r  # a fold's element 0 reaches PE (r, c) at s_g + r + c
            for c in range(w - 1, -1, -1):
                av = aval[r, c]
                ag = atag[r, c]
                bv = bval[r, c]
                bg = btag[r, c]
                aval[r, c + 1] = av
                atag[r, c + 1] = ag
                bval[r + 1, c] = bv
                btag[r + 1, c] = bg
                if ag >= 0 and bg >= 0:
                    sl = ag & 1
                    own = ag * h + r
                    if ctag[sl, r, c] != own:  # a fresh sum: element 0, into a drained (zeroed) slot
                        if bg != ag or ctag[sl, r, c] != -1 or base - c != ag * period:
                            hazards += 1
                        ctag[sl, r, c] = own
                    elif bg != ag:
                        hazards += 1
                    acc[sl, r, c] += av * bv
    counts[3] += hazards
    return end * h * w


@settings(max_examples=150, deadline=None)
@given(m=st.integers(1, 24), n=st.integers(1, 24), k=st.integers(1, 24), h=st.integers(1, 8), w=st.integers(1, 8),
       df=st.sampled_from(["os", "ws"]), full=st.booleans(), slack=st.integers(-2, 40), floats=st.booleans(),
       seed=st.integers(0, 2**31))
def test_pipelined_kernels_equal_the_pe_by_pe_reference(m, n, k, h, w, df, full, slack, floats, seed) -> None:
    from simulator.cycle.functional import os_pipelined, ws_pipelined

    if full:  # every fold full: m (OS) or k (WS) a multiple of h, n of w
        m, n, k = (-(-m // h) * h, -(-n // w) * w, k) if df == "os" else (m, -(-n // w) * w, -(-k // h) * h)
    elif slack < 0:
        slack = -slack
    t = k if df == "os" else m
    period = max(1, max(t, h) + slack)
    rng = np.random.default_rng(seed)
    a = rng.integers(-99, 99, (m, k))
    b = rng.integers(-99, 99, (k, n))
    if floats:  # same operations in the same order: the same bits (signed zeros included)
        a = a * rng.standard_normal((m, k)) * (rng.random((m, k)) < 0.7)
        b = -b * rng.standard_normal((k, n))
    fast, ref = (os_pipelined, _ref_os_pipelined) if df == "os" else (ws_pipelined, _ref_ws_pipelined)
    results = []
    for kernel in (fast, ref):
        out = np.zeros((m, n), dtype=a.dtype)
        counts = np.zeros(5, dtype=np.int64)
        updates = kernel(a, b, out, h, w, period, counts)
        results.append((out, counts, updates))
    np.testing.assert_array_equal(results[0][0].view(np.int64), results[1][0].view(np.int64))
    np.testing.assert_array_equal(results[0][1], results[1][1])
    assert results[0][2] == results[1][2]
    if slack >= 0:
        if floats:
            np.testing.assert_allclose(results[0][0], a @ b, rtol=1e-12, atol=1e-9)
        else:
            np.testing.assert_array_equal(results[0][0], a @ b)
        assert results[0][1][3] == 0


@pytest.mark.slow
def test_hazardous_periods_never_write_outside_the_output(tmp_path):
    """Too-short fold periods (hazard tests) must not write out of bounds: numba does not check, so run
    the kernels once with NUMBA_BOUNDSCHECK=1 (fresh cache) on partial folds and short periods."""
    import os
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from simulator.cycle.functional import functional_product\n"
        "rng = np.random.default_rng(1)\n"
        "for it in range(120):\n"
        "    h, w = (int(x) for x in rng.integers(1, 7, 2)); m, n, k = (int(x) for x in rng.integers(1, 16, 3))\n"
        "    df = int(rng.integers(0, 3)); T = (k, m, n)[df]\n"
        "    a = rng.integers(-5, 5, (m, k)); b = rng.integers(-5, 5, (k, n))\n"
        "    for period in (max(T, h), max(1, max(T, h) - 1), 1):\n"
        "        out, c, u = functional_product(a, b, h, w, df, 0, 0, h, period)\n"
        "        assert out.shape == (m, n)\n"
        "        if period == max(T, h):\n"
        "            assert (out == a @ b).all()\n"
        "print('ok')\n"
    )
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(tmp_path))
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr[-2000:]
