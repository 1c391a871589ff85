"""Cross-op weight prefetch (simulator/schedule.py, docs/memory.md section 4b): hand-worked chains,
execution-order transitions, workload-level bounds and engine agreement."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.arch import ArchSpec, load_arch
from simulator.memory import analyze_gemms
from simulator.run import _prepare, simulate
from workloads.compress import apply_recipe
from workloads.ir import GemmOp, TensorSpec, Workload
from workloads.zoo import build_workload

INT8 = TensorSpec(bits=8, kind="int")


def worked_arch(**over: object) -> ArchSpec:
    """The docs/memory.md worked-example accelerator: OS 4x4, 512/256/64 B buffers, 8 B/cycle, L = 10."""
    base = {"array.rows": 4, "array.cols": 4, "array.dataflow": "os", "buffers.ifmap_kib": 0.5,
            "buffers.filter_kib": 0.25, "buffers.ofmap_kib": 1 / 16, "dram.bytes_per_cycle": 8.0,
            "dram.latency_cycles": 10, "pe.native_bits": 8, "pe.number_kind": "int"}
    return ArchSpec().replace(**{**base, **over})


def gemm(name: str, batch: int = 1, **kw: object) -> GemmOp:
    return GemmOp(name=name, m=8, n=12, k=32, batch=batch, a=INT8, b=INT8, out=INT8, **kw)  # type: ignore[arg-type]


def test_two_gemm_chain_by_hand() -> None:
    """Two worked-example GEMMs (244 cycles each, docs/memory.md section 5) back to back.

    GEMM 1's last window (fold (2,1): 42 cycles, DRAM writes 16 B of fold (2,0) then, as its rows
    drain, its own 16 B: 2 + 2 cycles) leaves 38 idle DRAM cycles = 304 B, and only its own 128 B B
    tile is live in the 256 B filter buffer: GEMM 2's first B tile (128 B) loads there. GEMM 2's
    prologue shrinks from 10 + 256 / 8 = 42 to 10 + 128 / 8 = 26 (its A tile is GEMM 1's successor's
    activation: not prefetched): 244 + 244 - 16 = 472.
    """
    arch = worked_arch()
    w = Workload(name="chain", ops=(gemm("g1"), gemm("g2")))
    for engine in ("analytical", "cycle"):
        t = simulate(w, arch, engine=engine).totals
        assert t["gemm_cycles"] == 244 + 244 - 16
        assert t["stall_cycles"] == 2 * 42 - 16
    off = simulate(w, arch.replace(**{"buffers.cross_op_prefetch": False})).totals
    assert off["gemm_cycles"] == 2 * 244


def test_next_product_of_the_same_record_prefetches_a_and_b() -> None:
    """batch = 2: the second product's A (128 B, 384 B free) and B (128 B) both load in the 304 idle
    bytes of the first product's last window: its whole 42-cycle prologue is hidden (244 * 2 - 42)."""
    w = Workload(name="heads", ops=(gemm("g", batch=2, b_is_weight=False),))
    for engine in ("analytical", "cycle"):
        assert simulate(w, worked_arch(), engine=engine).totals["gemm_cycles"] == 2 * 244 - 42


def test_non_weight_b_after_a_projection_is_not_prefetched() -> None:
    """A non-growing non-weight B right after a weight GEMM may have just been written by it (prefill
    K^T after the K projection): nothing is prefetched. After a GEMM without weights it is."""
    arch = worked_arch()
    after_weight = Workload(name="a", ops=(gemm("proj"), gemm("qk", b_is_weight=False)))
    assert simulate(after_weight, arch).totals["gemm_cycles"] == 2 * 244
    after_act = Workload(name="b", ops=(gemm("qk", b_is_weight=False), gemm("av", b_is_weight=False)))
    assert simulate(after_act, arch).totals["gemm_cycles"] == 2 * 244 - 16


def test_single_buffered_or_unlimited_bandwidth_has_nothing_to_prefetch() -> None:
    w = Workload(name="chain", ops=(gemm("g1"), gemm("g2"), gemm("g3", batch=3)))
    for over in ({"buffers.double_buffered": False}, {"dram.bytes_per_cycle": float("inf")}):
        on = simulate(w, worked_arch(**over)).totals
        off = simulate(w, worked_arch(**over, **{"buffers.cross_op_prefetch": False})).totals
        assert on["cycles"] == off["cycles"]


def _decode(context: int = 64, new_tokens: int = 3, recipe: str = "w8a8") -> Workload:
    return apply_recipe(build_workload("llama2-7b", phase="decode", context=context, new_tokens=new_tokens), recipe)


def test_transitions_cover_every_product_once() -> None:
    """Every product but the very first follows exactly one other: transitions + self transitions + 1
    = all products (one array), for prefill, decode (growing attention rows) and both phases chained."""
    pre = build_workload("gpt2", seq_len=32)
    dec = _decode()
    both = Workload(name="both", ops=pre.ops + dec.ops)
    for w in (pre, dec, both):
        prep = _prepare(w)
        tr = prep.transitions()
        per_iter = np.array([g.batch * g.count / g.layers for g in prep.gemms])[prep.rec]
        products = float(prep.mult.sum())
        assert tr.times.sum() + (tr.self_iters * (per_iter - 1)).sum() + 1 == pytest.approx(products)
        assert (tr.times > 0).all()


def _layer_major(w: Workload) -> Workload:
    """One record per layer, in execution order: consecutive records folding the same layers form a
    block that runs once per layer (``Workload.expand_layers`` keeps record order instead)."""
    out: list = []
    i = 0
    ops = list(w.ops)
    while i < len(ops):
        j = i
        while j < len(ops) and (ops[j].layer, ops[j].layers) == (ops[i].layer, ops[i].layers):
            j += 1
        block, n = ops[i:j], ops[i].layers
        for lay in range(n):
            out.extend(o.with_(layer=max(o.layer, 0) + lay, layers=1, count=o.count // n) for o in block)
        i = j
    return w.with_(ops=tuple(out))


def test_folded_and_expanded_layers_give_the_same_schedule() -> None:
    """A record folding 32 layers runs as a block repeated 32 times: identical to one record per layer."""
    w = _decode()
    wide = _layer_major(w)
    assert len(wide.ops) > len(w.ops)
    for name in ("hbm-llm", "tpuv1"):
        arch = load_arch(name)
        a, b = simulate(w, arch).totals, simulate(wide, arch).totals
        assert a["cycles"] == pytest.approx(b["cycles"], rel=1e-12)
        assert a["stall_cycles"] == pytest.approx(b["stall_cycles"], rel=1e-12)


@pytest.mark.parametrize("arch_name", ["hbm-llm", "hbm-128", "tpuv1", "edge-32"])
def test_engines_agree_at_workload_level(arch_name: str) -> None:
    arch = load_arch(arch_name)
    for w in (_decode(recipe="w4a8"), build_workload("distilbert", seq_len=64)):
        ra, rc = simulate(w, arch, engine="analytical"), simulate(w, arch, engine="cycle")
        assert ra.totals["cycles"] == rc.totals["cycles"]
        np.testing.assert_array_equal(ra.ops["cycles"].to_numpy(), rc.ops["cycles"].to_numpy())
        np.testing.assert_array_equal(ra.ops["stall_cycles"].to_numpy(), rc.ops["stall_cycles"].to_numpy())


def _bounds_hold(w: Workload, arch: ArchSpec) -> None:
    r = simulate(w, arch)
    g = r.ops[r.ops["op_type"] == "gemm"]
    gemm_cycles = r.totals["gemm_cycles"]
    compute = float((g["cycles"] - g["stall_cycles"]).sum())
    bound = max(compute, float(g["dram_bytes"].sum()) / arch.dram_bytes_per_cycle)
    assert gemm_cycles >= bound * (1 - 1e-12)
    assert r.totals["stall_cycles"] >= 0
    off = simulate(w, arch.replace(**{"buffers.cross_op_prefetch": False})).totals
    assert gemm_cycles <= off["gemm_cycles"]
    assert off["gemm_cycles"] - gemm_cycles <= off["stall_cycles"]  # only stalls are saved


@pytest.mark.parametrize("arch_name", ["hbm-llm", "hbm-128", "tpuv1", "edge-32", "gemmini", "bitfusion"])
def test_workload_total_at_least_compute_and_bandwidth(arch_name: str) -> None:
    arch = load_arch(arch_name)
    for w in (_decode(recipe="w4a8"), build_workload("bert-base", seq_len=128)):
        _bounds_hold(w, arch)


@settings(max_examples=25, deadline=None)
@given(
    df=st.sampled_from(["os", "ws", "is"]), rows=st.sampled_from([4, 16, 64]), cols=st.sampled_from([4, 32, 128]),
    kib=st.sampled_from([1.0, 16.0, 512.0, 8192.0]), bpc=st.sampled_from([0.5, 4.0, 64.0, 512.0]),
    lat=st.sampled_from([0, 50, 400]), count=st.sampled_from([1, 4]),
)
def test_workload_bounds_property(df: str, rows: int, cols: int, kib: float, bpc: float, lat: int, count: int) -> None:
    arch = ArchSpec().replace(**{
        "array.dataflow": df, "array.rows": rows, "array.cols": cols, "array.count": count,
        "buffers.ifmap_kib": kib, "buffers.filter_kib": kib, "buffers.ofmap_kib": kib,
        "dram.bytes_per_cycle": bpc, "dram.latency_cycles": lat})
    _bounds_hold(_decode(context=32, new_tokens=2, recipe="w4a8"), arch)
    _bounds_hold(build_workload("tinybert-4", seq_len=32), arch)


def test_per_gemm_cross_op_figures_are_consistent() -> None:
    """Prologue = ceil(L + prologue bytes / bw) <= stalls; idle DRAM cycles fit in the compute time."""
    arch = load_arch("hbm-llm")
    r = analyze_gemms([1, 1, 64, 512], [512, 1025, 4096, 1536], [4096, 128, 4096, 4096], arch, b_bytes=0.5)
    bpc = arch.dram_bytes_per_cycle
    assert (r["prologue_cycles"] == np.ceil(arch.dram.latency_cycles + r["prologue_bytes"] / bpc - 1e-9)).all()
    assert (r["prologue_cycles"] <= r["stall_cycles"]).all()
    assert (r["tail_idle_cycles"] + r["body_idle_cycles"] <= r["compute_cycles"]).all()
    assert (r["prologue_filter_bytes"] <= r["prologue_bytes"]).all()
