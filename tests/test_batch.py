"""simulator.batch.simulate_batch equals simulate() design by design, bit for bit, on random samples
(shapes, dataflows, array counts, precision and sparsity modes, bandwidths, buffer sizes, phases)."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from simulator.arch import load_arch
from simulator.batch import simulate_batch
from simulator.run import simulate
from sweeps.evaluate import build_workload_cached, op_kind_sums, total_row
from sweeps.spec import WorkloadKey, replace_path

AXES = {
    "array.rows": [4, 8, 16, 32, 64, 128, 256],
    "array.cols": [4, 16, 32, 128, 512],
    "array.dataflow": ["os", "ws", "is"],
    "array.count": [1, 4],
    "array.freq_mhz": [500.0, 1000.0],
    "array.prefetch_stationary": [True, False],
    "pe.precision_mode": ["fixed", "bit_fusion", "bit_serial"],
    "pe.sparsity": ["none", "nm", "zero_skip"],
    "dram.bytes_per_cycle": [2.0, 16.0, 256.0],
    "buffers.ifmap_kib": [8.0, 128.0, 4096.0],
    "buffers.filter_kib": [16.0, 256.0],
    "buffers.ofmap_kib": [4.0, 64.0, 1024.0],
    "buffers.double_buffered": [True, False],
    "vector.overlap_with_array": [False, True],
}
WORKLOADS = [("bert-base", 64, "prefill", "w8a8"), ("distilbert", 32, "prefill", "nm-2of4+w8a8"),
             ("gpt2", 16, "decode", "w4a8"), ("bert-base", 32, "prefill", "prune-50"),
             ("tinybert-4", 16, "prefill", "none")]


def _random_archs(base, rng, n, axes):
    out = []
    for _ in range(n):
        over = {p: vals[rng.integers(len(vals))] for p, vals in axes.items() if rng.random() < 0.6}
        if "dram.bytes_per_cycle" in over:
            over["dram.bandwidth_gbps"] = None
        out.append(replace_path(base, over))
    return out


def _same(batch, j, res):
    a = total_row(batch.totals(j), {"fidelity_minilm": 0.5})
    b = total_row(dict(res.totals), {"fidelity_minilm": 0.5})
    assert list(a) == list(b)
    cols = batch.total_columns({"fidelity_minilm": 0.5})
    assert set(cols) == set(b)
    for k in a:
        assert a[k] == b[k] or (np.isnan(a[k]) and np.isnan(b[k])), (k, a[k], b[k])
        assert cols[k][j] == b[k] or (np.isnan(cols[k][j]) and np.isnan(b[k])), (k, cols[k][j], b[k])
    ka, ca, sa = batch.op_kind_sums(j)
    kb, cb, sb = op_kind_sums(res.columns)
    assert ka == kb and ca == cb
    np.testing.assert_array_equal(sa, sb)


@pytest.mark.parametrize("model,seq,phase,recipe", WORKLOADS)
def test_batch_equals_simulate_bit_for_bit(model, seq, phase, recipe):
    rng = np.random.default_rng(zlib.crc32(f"{model}{seq}{phase}{recipe}".encode()))
    wk = WorkloadKey(model, seq, phase, 1, None, 4 if phase == "decode" else 1, None, recipe)
    w = build_workload_cached(wk)
    for base_name in ("gemmini", "edge-32", "hbm-llm"):  # two-level designs (buffers:/dram: axes)
        base = load_arch(base_name)
        archs = _random_archs(base, rng, 24, AXES)
        batch = simulate_batch(w, archs)
        for j in rng.choice(len(archs), size=8, replace=False):
            _same(batch, int(j), simulate(w, archs[int(j)]))


LEVEL_AXES = {
    "array.rows": [16, 64, 256], "array.cols": [32, 256], "array.dataflow": ["os", "ws", "auto"], "array.count": [1, 4],
    "array.freq_mhz": [700.0, 940.0], "memory.unified_buffer.capacity_kib": [256.0, 24576.0],
    "memory.accumulators.capacity_kib": [64.0, 4096.0], "memory.weight_memory.bandwidth_gbps": [34.0, 300.0],
    "memory.weight_memory.latency_cycles": [0, 200],
}
GB_AXES = {
    "array.rows": [8, 32], "array.dataflow": ["ws", "auto"], "array.count": [4, 16],
    "memory.global_buffer.capacity_kib": [512.0, 32768.0], "memory.array_weights.capacity_kib": [16.0, 256.0],
    "memory.dram.bandwidth_gbps": [50.0, 900.0], "vector.overlap_with_array": [False, True],
}


@pytest.mark.parametrize("model,seq,phase,recipe", WORKLOADS[:3])
def test_batch_equals_simulate_on_memory_level_designs(model, seq, phase, recipe):
    """Designs with memory: levels, several arrays and dataflow: auto are batched by group (residency,
    per-op mapping choice and links per operand run as arrays over designs): still equal to simulate
    design by design, mixed with two-level designs in one call."""
    from simulator.group import group_key

    rng = np.random.default_rng(7)
    wk = WorkloadKey(model, seq, phase, 1, None, 4 if phase == "decode" else 1, None, recipe)
    w = build_workload_cached(wk)
    archs = (_random_archs(load_arch("tpuv1"), rng, 24, LEVEL_AXES) + _random_archs(load_arch("multi-gb"), rng, 16, GB_AXES)
             + _random_archs(load_arch("gemmini"), rng, 6, AXES))
    assert len({group_key(a) for a in archs}) < len(archs) / 2  # really evaluated together
    batch = simulate_batch(w, archs)
    for j in range(len(archs)):
        _same(batch, j, simulate(w, archs[j]))


def test_batch_cycle_engine_equals_simulate():
    """The cycle engine goes through the same group core: equal to simulate(engine="cycle")."""
    w = build_workload_cached(WorkloadKey("tinybert-4", 16, "prefill", 1, None, 1, None, "w8a8"))
    rng = np.random.default_rng(3)
    archs = _random_archs(load_arch("gemmini"), rng, 4, {"array.rows": [8, 16], "array.cols": [8, 16],
                                                          "dram.bytes_per_cycle": [4.0, 64.0]})
    batch = simulate_batch(w, archs, engine="cycle")
    for j, a in enumerate(archs):
        _same(batch, j, simulate(w, a, engine="cycle"))


def test_batch_refuses_like_simulate():
    """A design whose figures leave the model's range: simulate_batch raises simulate's own message."""
    from workloads.errors import InputError

    w = build_workload_cached(WorkloadKey("tinybert-4", 16, "prefill", 1, None, 1, None, "w8a8"))
    base = load_arch("gemmini")
    archs = [base, replace_path(base, {"energy.register_pj_per_bit": 1e300})]
    with pytest.raises(InputError) as want, np.errstate(over="ignore"):
        simulate(w, archs[1])
    with pytest.raises(InputError) as got, np.errstate(over="ignore"):
        simulate_batch(w, archs)
    expected = str(want.value)
    assert str(got.value) == expected


def test_batch_mixes_unified_and_separate_buffers():
    """A unified buffer (one level) and separate buffers (three levels) are different structures: one
    batch holding both gives each design its own figures."""
    w = build_workload_cached(WorkloadKey("bert-base", 32, "prefill", 1, None, 1, None, "w8a8"))
    base = load_arch("gemmini")
    archs = [replace_path(base, {"buffers.unified_kib": u, "array.rows": r}) for u in (None, 256.0, 4096.0)
             for r in (16, 64)]
    batch = simulate_batch(w, archs)
    for j, a in enumerate(archs):
        _same(batch, j, simulate(w, a))


def test_batch_with_unlimited_bandwidth_and_gbps():
    w = build_workload_cached(WorkloadKey("bert-base", 32, "prefill", 1, None, 1, None, "w8a8"))
    base = load_arch("gemmini")
    archs = [replace_path(base, {"dram.bytes_per_cycle": None, "dram.bandwidth_gbps": bw, "array.rows": r})
             for bw in (None, 12.8, 900.0) for r in (8, 64)]
    batch = simulate_batch(w, archs)
    for j, a in enumerate(archs):
        _same(batch, j, simulate(w, a))


def _batched_equals_per_point(spec, tmp_path, evaluated, errors):
    """Run ``spec`` batched and point by point: the stored rows (error rows included) are identical."""
    import pandas as pd

    import sweeps
    from sweeps.executors import LocalExecutor
    from sweeps.runner import run_sweep
    from sweeps.spec import sweep_from_dict

    frames = []
    for batched in (True, False):
        out = tmp_path / str(batched)
        s = run_sweep(sweep_from_dict(spec), out, executor=LocalExecutor(1), progress=False, batched=batched)
        assert s.evaluated == evaluated and s.errors == errors
        df = sweeps.load(out).drop(columns=["eval_s"]).sort_values(["point_id", "row", "op_kind"])
        frames.append(df.reset_index(drop=True)[sorted(df.columns)])
    pd.testing.assert_frame_equal(frames[0], frames[1], check_exact=True)


def test_sweep_batched_equals_per_point_path_on_memory_levels(tmp_path):
    """The same on a memory:-level base with several arrays and dataflow: auto: the batched path (a
    template per combination of the non-shape axes, then the array shape) stores exactly the rows of the
    point-by-point path, error rows included (an invalid N:M combination)."""
    spec = {
        "name": "m", "base": {"arch": "tpuv1"},
        "axes": {"array.rows": [32, 256], "array.cols": [64, 256], "array.dataflow": ["ws", "auto"],
                 "array.count": [1, 2], "memory.unified_buffer.capacity_kib": [512, 24576],
                 "pe.nm_n": [2, 3], "pe.nm_m": [4, 2]},  # 3:2 is invalid
        "workloads": {"models": ["distilbert"], "seq_lens": [32]},
        "recipes": ["w8a8"], "objectives": {"latency_s": "min", "energy_pj": "min"},
    }
    _batched_equals_per_point(spec, tmp_path, 128, 32)


def test_sweep_batched_equals_per_point_path(tmp_path):
    """A real sweep through simulator.batch stores exactly the rows of the point-by-point path."""
    spec = {
        "name": "b", "base": {"arch": "gemmini"},
        "axes": {"array.rows": [8, 32, 128], "array.cols": [16, 64], "pe.precision_mode": ["fixed", "bit_serial"],
                 "dram.bytes_per_cycle": [8, 64], "pe.nm_n": [2, 3], "pe.nm_m": [4, 2]},  # 3:2 is invalid
        "workloads": {"models": ["bert-base", "distilbert"], "seq_lens": [32]},
        "recipes": ["w8a8", "nm-2of4+w8a8"], "objectives": {"latency_s": "min", "energy_pj": "min"},
    }
    _batched_equals_per_point(spec, tmp_path, 384, 96)


# ---- property: any group of designs, any shipped base: batch == simulate, or both refuse ------------

from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SHIPPED = ("a100", "bitfusion", "edge-32", "gemmini", "hbm-128", "hbm-llm", "multi-gb", "nvdla", "sparse-2of4", "tpuv1")
SMALL_WORKLOADS = [WorkloadKey("tinybert-4", 16, "prefill", 1, None, 1, None, "w8a8"),
                   WorkloadKey("gpt2", 8, "decode", 1, None, 3, None, "w4a16-g32"),
                   WorkloadKey("distilbert", 16, "prefill", 2, None, 1, None, "nm-2of4+w8a8")]


@st.composite
def design_numbers(draw, base):
    """Random values of the per-design numbers (and a few structural fields) of a shipped base."""
    over = {}
    if draw(st.booleans()):
        over["array.rows"] = draw(st.sampled_from([1, 3, 8, 64, 256, 1024]))
    if draw(st.booleans()):
        over["array.cols"] = draw(st.sampled_from([1, 5, 16, 128, 512]))
    if draw(st.booleans()):
        over["array.freq_mhz"] = draw(st.sampled_from([0.5, 100.0, 940.0, 5000.0]))
    if draw(st.booleans()):
        over["array.op_overhead_cycles"] = draw(st.sampled_from([0.0, 1.0, 1000.0]))
    if base.memory is not None:
        for lv in base.memory:
            if lv.kind == "sram" and draw(st.booleans()):
                over[f"memory.{lv.name}.capacity_kib"] = draw(st.sampled_from([0.5, 16.0, 1024.0, 65536.0]))
            if draw(st.booleans()):
                key = "bytes_per_cycle" if lv.bytes_per_cycle is not None else "bandwidth_gbps"
                over[f"memory.{lv.name}.{key}"] = draw(st.sampled_from([0.01, 8.0, 900.0, float("inf")]))
            if draw(st.booleans()):
                over[f"memory.{lv.name}.latency_cycles"] = draw(st.sampled_from([0, 7, 500]))
    else:
        for f in ("ifmap_kib", "filter_kib", "ofmap_kib"):
            if draw(st.booleans()):
                over[f"buffers.{f}"] = draw(st.sampled_from([0.25, 32.0, 8192.0]))
        if draw(st.booleans()):  # one unified level, or three separate buffers
            over["buffers.unified_kib"] = draw(st.sampled_from([None, 64.0, 2048.0]))
        if draw(st.booleans()):
            over["dram.bandwidth_gbps"] = draw(st.sampled_from([0.5, 25.6, 3000.0, float("inf")]))
            over["dram.bytes_per_cycle"] = None
    return over


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_property_batch_equals_simulate_or_both_refuse(data):
    """Random groups of designs from any shipped base (numbers within each spec's limits, incl. unlimited
    links and extreme sizes), mixed structures (dataflow, count): simulate_batch equals simulate design
    by design; if any design leaves the model's range, both refuse with the same one-line message."""
    import warnings

    from workloads.errors import InputError

    base = load_arch(data.draw(st.sampled_from(SHIPPED)))
    wk = data.draw(st.sampled_from(SMALL_WORKLOADS))
    w = build_workload_cached(wk)
    structs = data.draw(st.lists(st.fixed_dictionaries({
        "array.dataflow": st.sampled_from(["os", "ws", "is", "auto"]), "array.count": st.sampled_from([1, 2, 8])}),
        min_size=1, max_size=2))
    archs = []
    for s in structs:
        for _ in range(data.draw(st.integers(1, 4))):
            archs.append(replace_path(base, {**s, **data.draw(design_numbers(base))}))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        outcomes = []
        for a in archs:
            try:
                outcomes.append(simulate(w, a))
            except InputError as exc:
                outcomes.append(str(exc))
        refused = [o for o in outcomes if isinstance(o, str)]
        event(f"refused: {bool(refused)}")
        if refused:
            with pytest.raises(InputError) as got:
                simulate_batch(w, archs)
            assert str(got.value) in refused
            return
        batch = simulate_batch(w, archs)
    for j, res in enumerate(outcomes):
        _same(batch, j, res)


def test_batch_warns_once_when_dram_is_too_small():
    """Designs whose weights + KV cache exceed the DRAM level: simulate warns per design, simulate_batch
    once per call, naming the first design and how many more there are."""
    import warnings

    w = build_workload_cached(WorkloadKey("bert-base", 32, "prefill", 1, None, 1, None, "w8a8"))
    base = load_arch("tpuv1")
    archs = [replace_path(base, {"memory.weight_memory.capacity_gib": gib, "array.rows": r})
             for gib in (0.01, 8.0) for r in (64, 256)]
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        simulate_batch(w, archs)
    msgs = [str(x.message) for x in got if issubclass(x.category, ResourceWarning)]
    assert len(msgs) == 1 and "exceed the DRAM capacity" in msgs[0] and "and 1 more of these 4 designs" in msgs[0]
    with warnings.catch_warnings(record=True) as one:
        warnings.simplefilter("always")
        res = simulate(w, archs[0])
    assert any(issubclass(x.category, ResourceWarning) for x in one) and not res.memory["dram_fits"]
