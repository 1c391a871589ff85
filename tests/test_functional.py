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
