"""Memory levels, residency between ops and the per-op mapping choice (docs/memory.md sections 8-9)."""

from __future__ import annotations

import copy
import itertools
import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.arch import arch_from_mapping, load_arch, shipped_names
from simulator.cycle import simulate_params
from simulator.memory import analyze_params
from simulator.memory.params import param_matrix
from simulator.results import RESULT_KEYS
from simulator.run import simulate
from workloads.compress import apply_recipe, recipe_from_dict
from workloads.errors import InputError
from workloads.ir import GemmOp, TensorSpec, Workload
from workloads.schema import load_yaml
from workloads.zoo import build_workload

I8 = TensorSpec(bits=8, kind="int")


def tpuv1_dict() -> dict:
    from simulator.arch import resolve_arch_path

    return load_yaml(resolve_arch_path("tpuv1"))


def with_levels(base: str, **caps_kib: float) -> object:
    """A shipped ``memory:`` design with some level capacities replaced (KiB)."""
    from simulator.arch import resolve_arch_path

    d = copy.deepcopy(load_yaml(resolve_arch_path(base)))
    for lv in d["memory"]:
        if lv["name"] in caps_kib:
            lv["capacity_kib"] = caps_kib[lv["name"]]
    return arch_from_mapping(d, source=f"{base} (test)")


def weight_and_embedding_bytes(w: Workload) -> float:
    """Every weight once plus the embedding rows read, straight from the IR."""
    wb = sum(g.k * g.n * g.count * g.b.bits / 8 for g in w.gemms if g.b_is_weight)
    eb = sum(v.total_elements * v.x.bits / 8 for v in w.ops if not isinstance(v, GemmOp) and v.func == "embedding")
    return wb + eb


# ---- the spec ---------------------------------------------------------------------------------------


def test_legacy_buffers_equal_the_same_levels_written_out() -> None:
    """buffers:/dram: is the two-level special case: the same design written as memory: levels gives
    the same figures (no activation level: every op reads and writes DRAM)."""
    legacy = load_arch("edge-32")
    b, d = legacy.buffers, legacy.dram
    data = legacy.to_dict()
    data.pop("buffers")
    data.pop("dram")
    data["memory"] = [
        {"name": "ifmap_buffer", "capacity_kib": b.ifmap_kib, "holds": ["ifmap"]},
        {"name": "filter_buffer", "capacity_kib": b.filter_kib, "holds": ["filter"]},
        {"name": "ofmap_buffer", "capacity_kib": b.ofmap_kib, "holds": ["ofmap"]},
        {"name": "dram", "kind": d.kind, "bandwidth_gbps": d.bandwidth_gbps, "latency_cycles": d.latency_cycles},
    ]
    levels = arch_from_mapping(data, source="test")
    assert levels.hierarchy.inner_caps() == legacy.hierarchy.inner_caps()
    w = apply_recipe("bert-base", "w8a8", seq_len=64)
    t0, t1 = simulate(w, legacy).totals, simulate(w, levels).totals
    for key in ("cycles", "dram_bytes", "energy_pj", "area_mm2"):
        assert t1[key] == pytest.approx(t0[key], rel=1e-12), key


@pytest.mark.parametrize("bad, what", [
    ([{"name": "dram", "kind": "ddr4"}], "at least one on-chip level"),
    ([{"name": "b", "holds": ["ifmap", "filter", "ofmap"]}, {"name": "c", "holds": ["ifmap"]}], "must be DRAM"),
    ([{"name": "b", "holds": ["ifmap", "filter"]}, {"name": "d", "kind": "ddr4"}], "no on-chip level holds ofmap"),
    ([{"name": "b"}, {"name": "b", "kind": "ddr4"}], "appears twice"),
    ([{"name": "b", "capacity_kib": 1, "capacity_gib": 1}, {"name": "d", "kind": "ddr4"}], "not both"),
    ([{"name": "b", "holds": ["weights"]}, {"name": "d", "kind": "ddr4"}], "not allowed"),
])
def test_bad_levels_are_one_line_errors(bad: list, what: str) -> None:
    with pytest.raises(InputError, match=what):
        arch_from_mapping({"memory": bad}, source="x.yaml")


def test_levels_and_buffers_together_are_refused() -> None:
    d = tpuv1_dict()
    d["buffers"] = {"ifmap_kib": 8}
    with pytest.raises(InputError, match="not both"):
        arch_from_mapping(d, source="x.yaml")


def test_archs_prints_the_resolved_hierarchy(capsys: pytest.CaptureFixture[str]) -> None:
    from sweeps.cli import main

    assert main(["archs", "tpuv1"]) == 0
    out = capsys.readouterr().out
    assert "unified_buffer" in out and "24 MiB" in out and "weight_memory" in out and "34 GB/s" in out
    assert "activations stay in: unified_buffer" in out
    assert main(["archs", "edge-32"]) == 0
    assert "from buffers:/dram:" in capsys.readouterr().out


def test_tpuv1_is_its_published_organisation() -> None:
    """Jouppi et al., ISCA 2017: 24 MiB unified buffer, 4 MiB accumulators, a four-tile weight FIFO,
    8 GiB DDR3 weight memory at 34 GB/s, 256 x 256 at 700 MHz."""
    a = load_arch("tpuv1")
    h = a.hierarchy
    by = {lv.name: lv for lv in h.levels}
    assert by["unified_buffer"].capacity_bytes == 24 * 2**20
    assert by["accumulators"].capacity_bytes == 4 * 2**20
    assert by["weight_fifo"].capacity_bytes == 4 * 256 * 256
    assert h.dram.capacity_bytes == 8 * 2**30 and h.dram.kind == "ddr3"
    # achievable bandwidth: DDR3 streams at 0.9 of its 34 GB/s peak (docs/calibration.md)
    assert a.dram_bytes_per_cycle * 700e6 == pytest.approx(34e9 * a.dram_efficiency)
    assert a.dram_efficiency == 0.9
    assert h.levels[h.act_level].name == "unified_buffer"


# ---- residency: the figures --------------------------------------------------------------


def test_bert_on_tpuv1_reads_the_weights_and_embeddings_once() -> None:
    w = apply_recipe("bert-base", "w8a8", seq_len=128)
    t = simulate(w, load_arch("tpuv1")).totals
    want = weight_and_embedding_bytes(w)
    assert abs(t["dram_bytes"] - want) / want <= 0.03
    assert t["spill_bytes"] == 0.0


def test_activations_spill_when_the_buffer_cannot_hold_them() -> None:
    """A 256 KiB unified buffer cannot hold a 128 x 3072 int8 activation (384 KiB): the FFN activations
    go through DRAM, reported per op, and DRAM traffic rises."""
    w = apply_recipe("bert-base", "w8a8", seq_len=128)
    big = simulate(w, load_arch("tpuv1"))
    small = simulate(w, with_levels("tpuv1", unified_buffer=256))
    assert small.totals["dram_bytes"] > big.totals["dram_bytes"] * 1.05
    ops = small.ops.set_index("op")
    assert ops.loc["ffn_up", "spill_bytes"] > 0 and ops.loc["ffn_down", "spill_bytes"] > 0
    assert (big.ops["spill_bytes"] == 0).all()


def test_mlp_on_tpuv1_is_weight_bandwidth_bound() -> None:
    """5 layers, 20 M int8 weights, batch 200: each weight byte serves 200 MACs, so the roofline is
    2 x 200 x the achievable DDR3 bandwidth (0.9 x 34 GB/s, docs/calibration.md) = 12.2 TOPS; achieved within 10 %."""
    ops = tuple(GemmOp(f"fc{i}", m=200, n=2000, k=2000, a=I8, b=I8, out=I8, kind="fc", layer=i) for i in range(5))
    w = Workload("mlp5", ops, batch=200)
    arch = load_arch("tpuv1")
    t = simulate(w, arch).totals
    roof = 2 * 200 * arch.dram_bytes_per_cycle * arch.array.freq_mhz * 1e6 / 1e12
    assert t["dram_bytes"] == pytest.approx(20e6 + 2 * 200 * 2000, rel=1e-9)  # weights + the input + the result
    assert 0.9 * roof <= t["effective_tops"] <= roof


def test_kv_cache_stays_on_chip_when_it_fits() -> None:
    w = apply_recipe("gpt2", "w8a8", phase="decode", context=64, new_tokens=4)
    on = simulate(w, load_arch("tpuv1"))
    assert on.memory["kv_on_chip"]
    off = simulate(w, with_levels("tpuv1", unified_buffer=1024))
    assert not off.memory["kv_on_chip"] and off.totals["dram_bytes"] > on.totals["dram_bytes"]


def test_dram_capacity_warns_when_weights_and_kv_do_not_fit() -> None:
    w = build_workload("llama2-7b", phase="decode", context=64, new_tokens=1)  # fp16: 13.5 GB of weights
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = simulate(w, load_arch("tpuv1"))
    assert not r.memory["dram_fits"] and r.memory["dram_need_bytes"] > 8 * 2**30
    assert any("exceed the DRAM capacity" in str(c.message) for c in caught)


# ---- mapping chosen per op -----------------------------------------------------------------------


def test_auto_dataflow_is_never_slower_than_a_fixed_one_and_says_which() -> None:
    w = apply_recipe("bert-base", "w8a8", seq_len=128)
    auto = simulate(w, load_arch("edge-32", ["array.dataflow=auto"]))
    for df in ("os", "ws", "is"):
        fixed = simulate(w, load_arch("edge-32", [f"array.dataflow={df}"]))
        assert (fixed.ops["dataflow"][fixed.ops["op_type"] == "gemm"] == df).all()  # a fixed dataflow forces it
        g = auto.ops["op_type"] == "gemm"
        assert (auto.ops["cycles"][g].to_numpy() <= fixed.ops["cycles"][g].to_numpy() + 1e-9).all()
    assert set(auto.ops["dataflow"][auto.ops["op_type"] == "gemm"]) <= {"os", "ws", "is"}


def test_multi_array_choice_is_reported() -> None:
    r = simulate(apply_recipe("bert-base", "w8a8", seq_len=128), load_arch("multi-gb"))
    ops = r.ops.set_index("op")
    assert ops.loc["attn_qk", "array_split"] in ("heads", "columns")
    assert ops.loc["ffn_up", "array_split"] == "columns"


SHIPPED = shipped_names()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(SHIPPED), keep=st.sampled_from([0.25, 0.5, 0.75]), count=st.sampled_from([1, 2, 4, 8]),
       df=st.sampled_from(["os", "ws", "is", "auto"]), model=st.sampled_from(["gpt2", "bert-base"]))
def test_head_pruning_never_makes_a_workload_slower(name: str, keep: float, count: int, df: str, model: str) -> None:
    arch = load_arch(name, [f"array.count={count}", f"array.dataflow={df}"])
    kw = {"phase": "decode", "context": 64, "new_tokens": 2} if model == "gpt2" else {"seq_len": 64}
    dense = simulate(apply_recipe(model, recipe_from_dict({"heads": {"keep": 1.0}}), **kw), arch).totals
    pruned = simulate(apply_recipe(model, recipe_from_dict({"heads": {"keep": keep}}), **kw), arch).totals
    assert pruned["cycles"] <= dense["cycles"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(["tpuv1", "multi-gb"]), scale=st.sampled_from([0.01, 0.05, 0.25, 0.5]),
       model=st.sampled_from(["gpt2", "bert-base"]))
def test_more_on_chip_capacity_never_adds_dram_bytes_or_cycles(name: str, scale: float, model: str) -> None:
    from simulator.arch import resolve_arch_path

    d = load_yaml(resolve_arch_path(name))
    small = copy.deepcopy(d)
    for lv in small["memory"][:-1]:
        lv["capacity_kib"] = lv["capacity_kib"] * scale
    kw = {"phase": "decode", "context": 64, "new_tokens": 2} if model == "gpt2" else {"seq_len": 128}
    w = apply_recipe(model, "w8a8", **kw)
    t_small = simulate(w, arch_from_mapping(small, source="small")).totals
    t_big = simulate(w, arch_from_mapping(d, source="big")).totals
    assert t_big["dram_bytes"] <= t_small["dram_bytes"] + 1e-6
    assert t_big["cycles"] <= t_small["cycles"]


# ---- both engines implement the hierarchy and agree ----------------------------------------------


def _grid_params() -> np.ndarray:
    """GEMMs x arrays x dataflows x hierarchies: 2-level (every operand over the DRAM link), 3-level
    private (A in place, C to an on-chip level), 3-level shared (A and weight re-fetches from a shared
    global buffer at 1/count of its bandwidth, C to it), with finite and unlimited links and latencies."""
    shapes = [(7, 13, 5), (64, 64, 64), (100, 37, 300), (33, 257, 65), (3, 1000, 2)]
    arrays = [(4, 4), (8, 16), (32, 32)]
    # (inv_a, inv_b, inv_c, lat): DRAM at 4 B/cycle, on-chip level at 64 B/cycle, shared by 4 arrays: 16
    links = [(1 / 4, 1 / 4, 1 / 4, 40.0), (0.0, 1 / 4, 1 / 64, 40.0), (1 / 16, 1 / 16, 1 / 16, 20.0),
             (1 / 16, 1 / 4, 0.0, 40.0), (0.0, 0.0, 1 / 64, 0.0), (1 / 4, 0.0, 1 / 4, 40.0)]
    rows = []
    for (m, n, k), (h, w), df, (ia, ib, ic, lat), kib, db, timing in itertools.product(
            shapes, arrays, (0, 1, 2), links, (0.25, 4.0), (True, False), (0, 1)):
        rows.append(dict(m=m, n=n, k=k, h=h, w=w, df=df, timing=timing, db=db, cap_a=kib * 1024, cap_b=kib * 1024,
                         cap_c=kib * 1024, ab=1.0, bb=2.0, ob=4.0, inv_a=ia, inv_b=ib, inv_c=ic, lat=lat))
    return param_matrix(**{key: np.array([r[key] for r in rows]) for key in rows[0]})


def test_engines_agree_exactly_on_multi_level_links() -> None:
    prm = _grid_params()
    a, c = analyze_params(prm), simulate_params(prm)
    assert prm.shape[0] == 5 * 3 * 3 * 6 * 2 * 2 * 2
    for key in RESULT_KEYS:
        np.testing.assert_array_equal(a[key], c[key], err_msg=key)
    assert (c["stall_cycles"] > 0).mean() > 0.3


@pytest.mark.parametrize("name", ["tpuv1", "multi-gb"])
def test_engines_agree_on_whole_workloads_with_levels(name: str) -> None:
    w = apply_recipe("bert-base", "w8a8", seq_len=32)
    ra = simulate(w, load_arch(name), engine="analytical")
    rc = simulate(w, load_arch(name), engine="cycle")
    for key in ("cycles", "stall_cycles", "dram_bytes", "energy_pj", "spill_bytes"):
        assert ra.totals[key] == rc.totals[key], key
    assert list(ra.ops["dataflow"]) == list(rc.ops["dataflow"])


def test_free_links_cost_no_time() -> None:
    """An operand already in its inner buffer (link 0) moves no bytes in time: with every link free the
    GEMM runs stall-free, whatever the buffers."""
    prm = param_matrix(m=64, n=64, k=64, h=8, w=8, df=1, timing=1, db=True, cap_a=64.0, cap_b=64.0, cap_c=64.0,
                       ab=1.0, bb=1.0, ob=4.0, inv_a=0.0, inv_b=0.0, inv_c=0.0, lat=100.0)
    r = analyze_params(prm)
    assert r["stall_cycles"][0] == 0 and math.isfinite(r["total_cycles"][0])


def test_levels_are_addressed_by_name_in_overrides() -> None:
    a = load_arch("tpuv1", ["memory.unified_buffer.capacity_kib=512"])
    assert {lv.name: lv for lv in a.hierarchy.levels}["unified_buffer"].capacity_bytes == 512 * 1024
    with pytest.raises(InputError, match="no entry named 'ub'"):
        load_arch("tpuv1", ["memory.ub.capacity_kib=512"])


def test_conv_is_costed_by_its_input_feature_map(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Implicit im2col: a 3x3 conv reads its 56 x 56 x 64 input feature map from DRAM, not the 9x larger
    im2col matrix (M x K = 54*54 x 576); being the workload's only op, it writes its result out."""
    from workloads.formats import from_scalesim_topology

    topo = tmp_path / "conv.csv"
    topo.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
                    "Strides,\nconv1, 56, 56, 3, 3, 64, 64, 1,\n")
    w = from_scalesim_topology(topo)
    g = w.gemms[0]
    assert g.a_elems == 56 * 56 * 64 and g.m * g.k == 54 * 54 * 576
    t = simulate(w, load_arch("tpuv1")).totals
    per = g.a.bits / 8  # fp16 on the int8 array runs as 16-bit fixed point: 2 bytes per element
    want = (g.a_elems + g.k * g.n + g.m * g.n) * per  # the feature map, the weights, the result: once each
    assert t["dram_bytes"] == pytest.approx(want, rel=0.01)


def test_sweeps_take_level_fields_as_axes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A sweep over the unified buffer of tpuv1: points built by the fast path and by full validation
    agree, and the small buffer spills."""
    from sweeps.spec import replace_path, sweep_from_dict

    spec = {"name": "ub", "base": {"arch": "tpuv1"}, "axes": {"memory.unified_buffer.capacity_kib": [256, 24576]},
            "workloads": {"models": ["bert-base"], "seq_lens": [128]}, "recipes": ["w8a8"],
            "objectives": {"latency_s": "min", "dram_bytes": "min"}}
    s = sweep_from_dict(spec)
    pts = s.points()
    assert len(pts) == 2
    w = apply_recipe("bert-base", "w8a8", seq_len=128)
    dram = []
    for p in pts:
        full = arch_from_mapping(s.arch_dict(p), source="point")
        fast = replace_path(s.base_arch, dict(p.axes))  # the sweep's fast path (validated base + axis values)
        assert fast == full
        cap = dict(p.axes)["memory.unified_buffer.capacity_kib"]
        assert {lv.name: lv for lv in full.hierarchy.levels}["unified_buffer"].capacity_bytes == cap * 1024
        dram.append((cap, simulate(w, full).totals["dram_bytes"]))
    dram.sort()
    assert dram[0][1] > dram[1][1]


def test_a_sweep_over_a_level_runs_end_to_end(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sweeps
    from sweeps.executors import LocalExecutor
    from sweeps.runner import run_sweep
    from sweeps.spec import sweep_from_dict

    spec = {"name": "ub", "base": {"arch": "tpuv1"}, "axes": {"memory.unified_buffer.capacity_kib": [256, 24576]},
            "workloads": {"models": ["bert-base"], "seq_lens": [64]}, "recipes": ["w8a8"],
            "objectives": {"latency_s": "min", "dram_bytes": "min"}}
    run_sweep(sweep_from_dict(spec), tmp_path / "out", executor=LocalExecutor(1), progress=False)
    t = sweeps.load(tmp_path / "out")
    t = t[t["row"] == "total"].set_index("memory.unified_buffer.capacity_kib")
    assert (t["status"] == "ok").all()
    assert t.loc[256.0, "dram_bytes"] > t.loc[24576.0, "dram_bytes"] and t.loc[24576.0, "spill_bytes"] == 0
