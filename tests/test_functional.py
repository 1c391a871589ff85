"""Functional mode: real values through the PEs must give exactly A @ B, for every dataflow, shape
and fold pattern, and the kernels' own port counters must equal the engines' SRAM counts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
