"""Memory model invariants (both engines), a hand-computed worked example (docs/memory.md) and the
traffic rules for each buffer mode."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.arch import ArchSpec
from simulator.cycle import simulate_gemms
from simulator.memory import RESULT_KEYS, analyze_gemms
from workloads.errors import InputError

ENGINES = [analyze_gemms, simulate_gemms]


def arch_of(h: int, w: int, df: str, kib: tuple[float, float, float], bpc: float, lat: int = 0, db: bool = True,
            prefetch: bool = True) -> ArchSpec:
    over = {"array.rows": h, "array.cols": w, "array.dataflow": df, "buffers.ifmap_kib": kib[0],
            "buffers.filter_kib": kib[1], "buffers.ofmap_kib": kib[2], "buffers.double_buffered": db,
            "array.prefetch_stationary": prefetch, "dram.latency_cycles": lat}
    if math.isfinite(bpc):
        over["dram.bytes_per_cycle"] = bpc
    return ArchSpec().replace(**over)


cases = st.fixed_dictionaries({
    "m": st.integers(1, 200), "n": st.integers(1, 200), "k": st.integers(1, 200),
    "h": st.integers(1, 24), "w": st.integers(1, 24), "df": st.sampled_from(["os", "ws", "is"]),
    "kib": st.tuples(*[st.sampled_from([0.01, 0.1, 0.5, 2.0, 16.0, 256.0])] * 3),
    "bpc": st.sampled_from([0.25, 1.0, 3.0, 16.0, 200.0, math.inf]),
    "lat": st.sampled_from([0, 7, 150]), "db": st.booleans(), "prefetch": st.booleans(),
    "timing": st.sampled_from(["scalesim", "default"]),
    "bytes": st.tuples(*[st.sampled_from([0.5, 1.0, 2.0, 4.0])] * 3),
})


def run(c: dict, engine=analyze_gemms, **change) -> dict[str, float]:
    c = {**c, **change}
    arch = arch_of(c["h"], c["w"], c["df"], c["kib"], c["bpc"], c["lat"], c["db"], c["prefetch"])
    ab, bb, ob = c["bytes"]
    r = engine(c["m"], c["n"], c["k"], arch, a_bytes=ab, b_bytes=bb, out_bytes=ob, timing=c["timing"])
    return {key: r[key][0] for key in RESULT_KEYS}


@settings(max_examples=60, deadline=None)
@given(c=cases)
def test_invariants(c: dict) -> None:
    ab, bb, ob = c["bytes"]
    cap = arch_of(1, 1, "os", c["kib"], 1.0).buffers.sizes_bytes()
    slack = 1 if c["timing"] == "scalesim" else 0  # SCALE-Sim reports the 0-based last cycle
    for engine in ENGINES:
        r = run(c, engine)
        assert r["stall_cycles"] >= 0
        assert r["total_cycles"] == r["compute_cycles"] + r["stall_cycles"]
        dram = (r["dram_ifmap_read_bytes"] + r["dram_filter_read_bytes"] + r["dram_ofmap_read_bytes"]
                + r["dram_ofmap_write_bytes"])
        bound = math.ceil(dram / c["bpc"] - 1e-9) if math.isfinite(c["bpc"]) else 0
        assert r["total_cycles"] >= max(r["compute_cycles"], bound - slack)
        if not math.isfinite(c["bpc"]):
            assert r["stall_cycles"] == 0
        else:  # and never worse than moving every byte serially: stalls are bounded by the transfers
            exposed = c["lat"] * (1 if c["db"] else r["folds"] + 1)
            assert r["stall_cycles"] <= dram / c["bpc"] + exposed + r["folds"] + 2
        if not (c["timing"] == "scalesim" and c["df"] == "os" and c["h"] * c["w"] == 1):
            assert 0 < r["utilization"] <= 1
        # traffic floor: every operand at least once, outputs written at least once
        assert r["dram_ifmap_read_bytes"] >= c["m"] * c["k"] * ab - 1e-9
        assert r["dram_filter_read_bytes"] >= c["k"] * c["n"] * bb - 1e-9
        assert r["dram_ofmap_write_bytes"] >= c["m"] * c["n"] * ob - 1e-9
        # operands that fit move exactly once
        if c["m"] * c["k"] * ab <= cap[0]:
            assert r["dram_ifmap_read_bytes"] == c["m"] * c["k"] * ab
        if c["k"] * c["n"] * bb <= cap[1]:
            assert r["dram_filter_read_bytes"] == c["k"] * c["n"] * bb
        if c["m"] * c["n"] * ob <= cap[2] / (2 if c["db"] else 1) or c["df"] == "os":
            assert r["dram_ofmap_write_bytes"] == c["m"] * c["n"] * ob
            assert r["dram_ofmap_read_bytes"] == 0
        for x, name in enumerate(("ifmap", "filter", "ofmap")):
            assert 0 < r[f"peak_{name}_bytes"] <= cap[x] + 1e-9


@settings(max_examples=40, deadline=None)
@given(c=cases, more=st.sampled_from([1.5, 2.0, 10.0, math.inf]), bigger=st.sampled_from([1.3, 2.0, 8.0, 1000.0]))
def test_monotone_in_bandwidth_and_sram(c: dict, more: float, bigger: float) -> None:
    for engine in ENGINES:
        base = run(c, engine)
        faster = run(c, engine, bpc=c["bpc"] * more)
        assert faster["total_cycles"] <= base["total_cycles"]
        larger = run(c, engine, kib=tuple(x * bigger for x in c["kib"]))
        assert larger["total_cycles"] <= base["total_cycles"]
        if c["df"] != "os":  # OS may switch loop order, trading one operand's traffic for the other's
            for key in ("dram_ifmap_read_bytes", "dram_filter_read_bytes", "dram_ofmap_read_bytes",
                        "dram_ofmap_write_bytes"):
                assert larger[key] <= base[key]
        # growing one buffer alone never hurts either
        for x in range(3):
            kib = list(c["kib"])
            kib[x] *= bigger
            assert run(c, engine, kib=tuple(kib))["total_cycles"] <= base["total_cycles"]


@pytest.mark.parametrize("engine", ENGINES)
def test_worked_example_from_docs(engine) -> None:
    """docs/memory.md, section 'Worked example' (computed by hand there, fold by fold)."""
    arch = arch_of(4, 4, "os", (0.5, 0.25, 1 / 16), 8.0, lat=10)
    r = {key: v[0] for key, v in engine(8, 12, 32, arch).items()}
    # pipelined folds: T = 32 >= H = 4, so every fold but the last takes max(T, H) = 32 cycles, the last its
    # whole window 2H + W + T - 2 = 42: 5 x 32 + 42 = 202
    assert r["compute_cycles"] == 202
    # column folds outer (244 cycles, B read once) ties row folds outer (244 cycles, B read twice): fewer bytes win
    assert r["loop_order"] == 1
    # prologue 42 + windows max(c_f, d_f) = 5 x 32 (d_f = 24, 10, 10, 10, 2) + 42; the last fold's 16 B of
    # outputs (2 cycles) are written as its 4 rows drain (the window's last H = 4 cycles): no epilogue
    assert r["total_cycles"] == 42 + 5 * 32 + 42 and r["stall_cycles"] == 42
    assert (r["dram_ifmap_read_bytes"], r["dram_filter_read_bytes"], r["dram_ofmap_write_bytes"]) == (256, 384, 96)
    assert (r["peak_ifmap_bytes"], r["peak_filter_bytes"], r["peak_ofmap_bytes"]) == (256, 256, 32)
    # cross-op figures (docs/memory.md section 4b): prologue 10 + 256 / 8; idle DRAM = window - busy per
    # fold: 32-24, 32-10 (x3), 32-2 in the body, 42-2-2 in the last fold (it writes fold (2,0)'s outputs,
    # then, from cycle 38, its own); during the last fold only its
    # 128-byte B tile is live; earlier, B (reuse) holds two 128-byte tiles = the whole 256-byte buffer
    assert (r["prologue_cycles"], r["prologue_bytes"], r["prologue_filter_bytes"]) == (42, 256, 128)
    assert (r["tail_idle_cycles"], r["tail_free_filter_bytes"]) == (38, 128)
    assert (r["body_idle_cycles"], r["body_free_filter_bytes"]) == (8 + 3 * 22 + 30, 0)
    assert r["tail_free_ifmap_bytes"] == 512 - 4 * 32  # only the last fold's A tile (4 x 32) is live


def test_worked_example_row_major_order() -> None:
    """The same example with the row folds outer, evaluated fold by fold by the closed form's own rule."""
    from simulator.memory import best_loop, buffer_modes, closed_one

    ma, mb, mc = buffer_modes(8, 12, 32, 4, 4, 0, True, 512.0, 256.0, 64.0, 1.0, 1.0, 1.0)
    assert (ma, mb, mc) == (0, 1, 0)  # A resident, B tiles reused while unchanged, C fits
    row_major = closed_one(8, 12, 32, 4, 4, 0, 0, 1, True, ma, mb, mc, 1.0, 1.0, 1.0, 1 / 8, 1 / 8, 1 / 8, 10.0)
    # every window's DRAM work (<= 16 + 2 + 128 / 3 / 8 cycles) fits in its 32-cycle fold: 42 + 5 x 32 + 42
    assert row_major[:5] == (244.0, 256.0, 768.0, 0.0, 96.0)  # [5]: DRAM-idle cycles of the fold windows
    assert best_loop(8, 12, 32, 4, 4, 0, 1, True, ma, mb, mc, 1.0, 1.0, 1.0, 1 / 8, 1 / 8, 1 / 8, 10.0)[:2] == (1, 244.0)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("df", ["ws", "is"])
def test_partial_sums_spill_when_the_output_tile_does_not_fit(engine, df: str) -> None:
    m, n, k = 8, 4, 12  # WS: 3 K folds x 1 N fold; IS: 3 K folds x 2 M folds
    big = arch_of(4, 4, df, (64, 64, 64), 4.0)
    small = arch_of(4, 4, df, (64, 64, 0.01), 4.0)  # 10 bytes of ofmap SRAM: nothing fits
    fit = {key: v[0] for key, v in engine(m, n, k, big, out_bytes=4.0).items()}
    spill = {key: v[0] for key, v in engine(m, n, k, small, out_bytes=4.0).items()}
    c_bytes = m * n * 4
    assert fit["dram_ofmap_write_bytes"] == c_bytes and fit["dram_ofmap_read_bytes"] == 0
    assert spill["dram_ofmap_write_bytes"] == 3 * c_bytes  # every K fold writes its partial sums
    assert spill["dram_ofmap_read_bytes"] == 2 * c_bytes  # and the next two read them back
    assert spill["sram_ofmap_reads"] == fit["sram_ofmap_reads"] == 2 * m * n
    assert spill["total_cycles"] > fit["total_cycles"]


@pytest.mark.parametrize("engine", ENGINES)
def test_bitwidth_sets_bytes_and_what_fits(engine) -> None:
    arch = arch_of(8, 8, "ws", (1.0, 1.0, 64.0), 2.0)
    m, n, k = 32, 32, 32  # A and B are 1 KiB at 1 byte/element: they just fit
    int8 = {key: v[0] for key, v in engine(m, n, k, arch, a_bytes=1.0, b_bytes=1.0).items()}
    int4 = {key: v[0] for key, v in engine(m, n, k, arch, a_bytes=0.5, b_bytes=0.5).items()}
    fp16 = {key: v[0] for key, v in engine(m, n, k, arch, a_bytes=2.0, b_bytes=2.0).items()}
    assert int8["dram_ifmap_read_bytes"] == 1024 and int4["dram_ifmap_read_bytes"] == 512
    assert fp16["dram_ifmap_read_bytes"] > 2 * 1024  # no longer fits: A tiles re-read per N fold
    assert int4["total_cycles"] <= int8["total_cycles"] <= fp16["total_cycles"]


def test_unified_buffer_is_partitioned() -> None:
    uni = ArchSpec().replace(**{"buffers.unified_kib": 4.0, "buffers.unified_split": [0.25, 0.5, 0.25],
                                "dram.bytes_per_cycle": 4.0, "array.dataflow": "ws"})
    sep = ArchSpec().replace(**{"buffers.ifmap_kib": 1.0, "buffers.filter_kib": 2.0, "buffers.ofmap_kib": 1.0,
                                "dram.bytes_per_cycle": 4.0, "array.dataflow": "ws"})
    for engine in ENGINES:
        a = engine([64, 100], [100, 64], [70, 300], uni)
        b = engine([64, 100], [100, 64], [70, 300], sep)
        for key in RESULT_KEYS:
            np.testing.assert_array_equal(a[key], b[key])


def test_vectorised_equals_one_by_one() -> None:
    arch = arch_of(16, 8, "is", (2.0, 2.0, 1.0), 6.0, lat=20)
    m, n, k = np.array([5, 300, 64]), np.array([77, 12, 64]), np.array([129, 1, 64])
    allr = analyze_gemms(m, n, k, arch)
    for g in range(3):
        one = analyze_gemms(int(m[g]), int(n[g]), int(k[g]), arch)
        for key in RESULT_KEYS:
            assert allr[key][g] == one[key][0]


def test_bad_input_is_one_line_input_error() -> None:
    arch = ArchSpec()
    with pytest.raises(InputError, match="a_bytes"):
        analyze_gemms(4, 4, 4, arch, a_bytes=0)
    with pytest.raises(InputError, match=">= 1"):
        simulate_gemms([4, 0], 4, 4, arch)
    with pytest.raises(InputError, match="--timing"):
        analyze_gemms(4, 4, 4, arch, timing="fast")
