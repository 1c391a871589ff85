"""Vector unit: never zero cost, lanes, overlap, operand traffic."""

from __future__ import annotations

import pytest

from simulator.arch import ArchSpec
from simulator.run import simulate
from simulator.vector import INPUTS, analyze_vector_ops
from workloads.ir import VECTOR_FUNCS, GemmOp, TensorSpec, VectorOp, Workload


def test_every_function_costs_cycles_and_energy():
    arch = ArchSpec()
    ops = [VectorOp(name=f, func=f, elements=4096) for f in VECTOR_FUNCS]  # type: ignore[arg-type]
    r = analyze_vector_ops(ops, arch)
    assert (r["cycles"] > 0).all()
    assert (r["energy_vector_pj"] > 0).all()
    assert set(INPUTS) == set(VECTOR_FUNCS)


def test_cycles_follow_lanes_and_cycles_per_element():
    op = [VectorOp(name="s", func="softmax", elements=1 << 20, count=3)]
    a = ArchSpec().replace(**{"vector.lanes": 32, "vector.startup_cycles": 0})
    b = a.replace(**{"vector.lanes": 64})
    ca, cb = analyze_vector_ops(op, a)["cycles"][0], analyze_vector_ops(op, b)["cycles"][0]
    assert ca == pytest.approx(3 * (1 << 20) / 32 * 4.0)
    assert cb == pytest.approx(ca / 2)
    slow = a.replace(**{"vector.freq_mhz": 500.0, "array.freq_mhz": 1000.0})
    assert analyze_vector_ops(op, slow)["cycles"][0] == pytest.approx(2 * ca)  # array clocks


def test_decode_steps_grow_elements():
    op = VectorOp(name="s", func="softmax", elements=100, steps=4, elements_per_step=10)
    r = analyze_vector_ops([op], ArchSpec())
    assert r["elements"][0] == op.total_elements == 100 + 110 + 120 + 130


def test_embedding_reads_dram_and_spills_count():
    arch = ArchSpec().replace(**{"buffers.ofmap_kib": 1})
    emb = VectorOp(name="e", func="embedding", elements=1000, x=TensorSpec(bits=16))
    big = VectorOp(name="g", func="gelu", elements=100_000, x=TensorSpec(bits=16))
    r = analyze_vector_ops([emb, big], arch)
    assert r["dram_bytes"][0] == pytest.approx(2000)
    assert r["dram_bytes"][1] == pytest.approx(2 * 100_000 * 2)  # read input, write output


def test_overlap_with_array_takes_the_max_per_phase():
    g = GemmOp(name="g", m=256, n=256, k=256)
    v = VectorOp(name="v", func="softmax", elements=200_000)
    w = Workload(name="w", ops=(g, v))
    serial = simulate(w, ArchSpec().replace(**{"vector.overlap_with_array": False})).totals
    over = simulate(w, ArchSpec().replace(**{"vector.overlap_with_array": True})).totals
    assert serial["cycles"] == pytest.approx(serial["gemm_cycles"] + serial["vector_cycles"])
    assert over["cycles"] == pytest.approx(max(over["gemm_cycles"], over["vector_cycles"]))
    assert over["cycles"] < serial["cycles"]
