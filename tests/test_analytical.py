"""The vectorised analytical compute model (``simulator.analytical``, ``simulator.mapping``).

Cross-checks: an independent fold-by-fold enumeration (plain Python loops, no shared code) for
cycles, SRAM counts and mapping efficiency; vectorised == scalar; the documented relations between
the ``scalesim`` and ``default`` timing models. SCALE-Sim itself is checked in test_scalesim_golden.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.analytical import analyze_compute, compute_cycles, sram_accesses
from simulator.mapping import map_gemm, mapping_efficiency

DIMS = st.integers(1, 300)
ARR = st.integers(1, 64)
DF = st.sampled_from(["os", "ws", "is"])


def enumerate_folds(m: int, n: int, k: int, h: int, w: int, df: str) -> dict[str, float]:
    """Walk every fold the way SCALE-Sim's systolic_compute_* loops do and count by hand."""
    sr, sc, t = {"os": (m, n, k), "ws": (k, n, m), "is": (k, m, n)}[df]
    cycles = ifmap = filt = ofmap = used_sum = folds = 0
    per_fold = (h + w + t - 2) if df == "os" else (2 * h + w + t - 2)
    for c0 in range(0, sc, w):
        for r0 in range(0, sr, h):
            ru, cu = min(h, sr - r0), min(w, sc - c0)
            folds += 1
            cycles += per_fold
            used_sum += ru * cu
            if df == "os":  # rows <- M pixels, cols <- N filters; K streamed
                ifmap += ru * t
                filt += cu * t
                ofmap += ru * cu
            elif df == "ws":  # rows <- K, cols <- N; M streamed; partial sums written per K-fold
                ifmap += t * ru
                filt += ru * cu
                ofmap += t * cu
            else:  # rows <- K, cols <- M; N streamed
                ifmap += ru * cu
                filt += t * ru
                ofmap += t * cu
    return {"cycles": cycles - 1, "ifmap": ifmap, "filter": filt, "ofmap": ofmap,
            "mapping_efficiency": used_sum / (folds * h * w), "folds": folds}


@settings(max_examples=150, deadline=None)
@given(m=DIMS, n=DIMS, k=DIMS, h=ARR, w=ARR, df=DF)
def test_scalesim_model_equals_fold_enumeration(m: int, n: int, k: int, h: int, w: int, df: str) -> None:
    ref = enumerate_folds(m, n, k, h, w, df)
    out = analyze_compute(m, n, k, h, w, df, scalesim=True)
    assert int(out["compute_cycles"]) == ref["cycles"]
    assert int(out["folds"]) == ref["folds"]
    assert int(out["sram_ifmap_reads"]) == ref["ifmap"]
    assert int(out["sram_filter_reads"]) == ref["filter"]
    assert int(out["sram_ofmap_writes"]) == ref["ofmap"]
    assert float(out["mapping_efficiency"]) == pytest.approx(ref["mapping_efficiency"], rel=1e-12)
    assert 0 < float(out["mapping_efficiency"]) <= 1


@settings(max_examples=100, deadline=None)
@given(m=DIMS, n=DIMS, k=DIMS, h=ARR, w=ARR, df=DF)
def test_default_model_relations(m: int, n: int, k: int, h: int, w: int, df: str) -> None:
    ss = int(analyze_compute(m, n, k, h, w, df, scalesim=True)["compute_cycles"])
    pre = analyze_compute(m, n, k, h, w, df, scalesim=False, prefetch=True)
    nopre = analyze_compute(m, n, k, h, w, df, scalesim=False, prefetch=False)
    f = int(pre["folds"])
    t = int(pre["streamed"])
    stream = h + w + t - 2
    # documented formulas (simulator/analytical.py docstring, docs/timing.md)
    assert int(nopre["compute_cycles"]) == f * (2 * h + w + t - 2)
    # pipelined folds (docs/timing.md): fold f's first operand enters at f * max(T, H) (T cycles on the
    # stream ports, H cycles for the next tile to shift in / the previous outputs to shift out); the last
    # fold then needs its whole window: H load or drain + skewed stream H + W + T - 2
    assert int(pre["compute_cycles"]) == (f - 1) * max(t, h) + (h + stream)
    # never slower than the old "overlap only the load" model H + F * (H + W + T - 2)
    assert int(pre["compute_cycles"]) <= h + f * stream
    assert int(pre["compute_cycles"]) <= int(nopre["compute_cycles"])
    if f == 1:
        assert int(pre["compute_cycles"]) == int(nopre["compute_cycles"])
    if df == "os":  # SCALE-Sim omits the output drain: the real array is slower by F*H + 1
        assert int(nopre["compute_cycles"]) == ss + f * h + 1
    else:  # WS/IS: SCALE-Sim already pays the H-cycle preload; only its "-1" differs
        assert int(nopre["compute_cycles"]) == ss + 1
    # SRAM traffic does not depend on the timing model
    for key in ("sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes"):
        assert int(pre[key]) == int(nopre[key])
    # utilization is MACs over PE-cycles, never above 1 in the default model
    assert 0 < float(pre["utilization"]) <= 1


def test_vectorised_equals_scalar_and_broadcasts() -> None:
    rng = np.random.default_rng(7)
    n_ops = 500
    m, n, k = (rng.integers(1, 2000, n_ops) for _ in range(3))
    h, w = rng.integers(1, 257, n_ops), rng.integers(1, 257, n_ops)
    df = rng.choice(["os", "ws", "is"], n_ops)
    vec = analyze_compute(m, n, k, h, w, df, scalesim=True)
    for i in range(0, n_ops, 25):
        one = analyze_compute(int(m[i]), int(n[i]), int(k[i]), int(h[i]), int(w[i]), str(df[i]), scalesim=True)
        for key in ("compute_cycles", "sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes", "folds"):
            assert int(vec[key][i]) == int(one[key])
    # many GEMMs x many arrays at once by broadcasting: (ops, 1) x (1, arrays)
    grid = analyze_compute(m[:, None], n[:, None], k[:, None], np.array([[8, 32, 128]]), np.array([[8, 32, 128]]),
                           "ws", scalesim=False)
    assert grid["compute_cycles"].shape == (n_ops, 3)
    assert grid["compute_cycles"].dtype == np.int64


def test_design_table_examples() -> None:
    """The rows of DESIGN.md section 2 / docs/timing.md, worked by hand."""
    # BERT-base FFN1 on 32x32 OS: F = 4*96 = 384 folds of 32+32+768-2 = 830 cycles, minus 1
    out = analyze_compute(128, 3072, 768, 32, 32, "os", scalesim=True)
    assert int(out["compute_cycles"]) == 384 * 830 - 1 == 318719
    assert int(out["sram_ifmap_reads"]) == 128 * 768 * 96
    assert int(out["sram_filter_reads"]) == 768 * 3072 * 4
    # WS: rows <- K, cols <- N; 2H + W + M - 2 per fold
    out = analyze_compute(100, 64, 70, 32, 32, "ws", scalesim=True)
    assert int(out["compute_cycles"]) == 3 * 2 * (64 + 32 + 100 - 2) - 1
    assert int(out["sram_filter_reads"]) == 70 * 64
    # IS: rows <- K, cols <- M; ifmap read once
    out = analyze_compute(100, 64, 70, 32, 32, "is", scalesim=True)
    assert int(out["compute_cycles"]) == 3 * 4 * (64 + 32 + 64 - 2) - 1
    assert int(out["sram_ifmap_reads"]) == 100 * 70


def test_building_blocks_match_analyze_compute() -> None:
    mp = map_gemm(17, 13, 11, 8, 8, "ws")
    assert (int(mp["spatial_rows"]), int(mp["spatial_cols"]), int(mp["streamed"])) == (11, 13, 17)
    assert int(mp["folds"]) == 4
    assert float(mapping_efficiency(mp, 8, 8)) == pytest.approx(11 * 13 / (4 * 64))
    cyc = compute_cycles(mp, 8, 8, "ws", True, True)
    assert int(cyc) == 4 * (16 + 8 + 17 - 2) - 1
    ifm, fil, ofm = sram_accesses(17, 13, 11, mp, "ws")
    assert (int(ifm), int(fil), int(ofm)) == (17 * 11 * 2, 11 * 13, 17 * 13 * 2)
