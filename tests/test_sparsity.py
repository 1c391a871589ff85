"""Sparse arrays: N:M compression, zero-skipping, metadata traffic, end-to-end BERT speed-up."""

from __future__ import annotations

import pytest

from simulator.arch import ArchSpec, PESpec, load_arch
from simulator.run import simulate
from simulator.sparsity import nm_conforms, sparsity_effects, zero_tile_fraction
from workloads.ir import GemmOp, TensorSpec, Workload

INT8 = TensorSpec(bits=8, kind="int")
W24 = TensorSpec(bits=8, kind="int", density=0.5, pattern="nm", nm_n=2, nm_m=4)


def _gemm(b: TensorSpec, weight: bool = True, m: int = 256, n: int = 1024, k: int = 1024) -> Workload:
    return Workload(name="g", ops=(GemmOp(name="g", m=m, n=n, k=k, a=INT8, b=b, out=INT8, b_is_weight=weight),))


def test_nm_conformance_rules():
    assert nm_conforms(2, 4, 2, 4)
    assert nm_conforms(1, 4, 2, 4)
    assert nm_conforms(2, 8, 2, 4)  # at most 2 non-zeros in any group of 4
    assert not nm_conforms(4, 8, 2, 4)  # 4 non-zeros may share a group of 4
    assert nm_conforms(1, 2, 2, 4)
    assert not nm_conforms(3, 4, 2, 4)


def test_24_weights_halve_streamed_k_on_24_array_and_nothing_on_dense():
    sparse = load_arch("sparse-2of4")
    dense = sparse.replace(**{"pe.sparsity": "none"})
    eff = sparsity_effects([INT8, INT8], [W24, W24], [True, False], sparse.pe, sparse.array.rows)
    assert list(eff.k_scale) == [0.5, 1.0]  # weights only; a dynamic operand runs dense
    # WS: K maps to rows, so half of K halves the row folds of a 1024-deep GEMM
    r_dense_wl = simulate(_gemm(INT8), sparse).totals
    r_sparse = simulate(_gemm(W24), sparse).totals
    assert r_sparse["gemm_cycles"] < 0.56 * r_dense_wl["gemm_cycles"]
    assert r_sparse["macs"] == r_dense_wl["macs"]  # dense-equivalent MACs are reported
    assert r_sparse["energy_breakdown_pj"]["mac"] == pytest.approx(0.5 * r_dense_wl["energy_breakdown_pj"]["mac"])
    # on a dense array the pruned workload runs exactly like the dense one
    a = simulate(_gemm(W24), dense).totals
    b = simulate(_gemm(INT8), dense).totals
    assert a["cycles"] == b["cycles"] and a["energy_pj"] == pytest.approx(b["energy_pj"])
    assert a["dram_bytes"] == b["dram_bytes"]


def test_nm_metadata_traffic_counted():
    arch = load_arch("sparse-2of4").replace(**{"buffers.filter_kib": 4096})
    d = simulate(_gemm(INT8, m=1, n=2048, k=2048), arch).ops.iloc[0]
    s = simulate(_gemm(W24, m=1, n=2048, k=2048), arch).ops.iloc[0]
    w_dense = 2048 * 2048  # int8 weight bytes
    # compressed weights: half the values, 8 + 2 metadata bits each
    assert s["dram_bytes"] - d["dram_bytes"] == pytest.approx(w_dense * (0.5 * 10 / 8 - 1.0), rel=0.01)


def test_zero_skip_uses_tile_occupancy_and_gates_energy():
    pe = PESpec(sparsity="zero_skip", metadata_bits=2)
    occ = TensorSpec(bits=8, kind="int", density=0.3, pattern="block", block_shape=(32, 32), tile_shape=(32, 32),
                     tile_occupancy=(0.0, 0.0, 0.6, 0.6))
    assert zero_tile_fraction(occ, 32) == 0.5
    eff = sparsity_effects([INT8], [occ], [True], pe, 32)
    assert eff.k_scale[0] == pytest.approx(0.5)
    assert eff.mac_gate[0] == pytest.approx(0.3 / 0.5)
    # unstructured 50 %: no whole tile is empty -> no skipping, but zero operands are gated
    unstr = TensorSpec(bits=8, kind="int", density=0.5, pattern="unstructured")
    eff = sparsity_effects([INT8], [unstr], [True], pe, 32)
    assert eff.k_scale[0] == pytest.approx(1.0)
    assert eff.mac_gate[0] == pytest.approx(0.5)
    arch = ArchSpec().replace(**{"pe.sparsity": "zero_skip"})
    dense_r = simulate(_gemm(INT8), arch).totals
    unstr_r = simulate(_gemm(unstr), arch).totals
    assert unstr_r["cycles"] == dense_r["cycles"]  # gating saves energy, not cycles
    assert unstr_r["energy_breakdown_pj"]["mac"] == pytest.approx(0.5 * dense_r["energy_breakdown_pj"]["mac"])
    blk_r = simulate(_gemm(occ), arch).totals
    assert blk_r["gemm_cycles"] < dense_r["gemm_cycles"]


def test_bert_base_24_speedup_below_2x():
    from workloads.compress import apply_recipe
    from workloads.zoo import build_workload

    sparse = load_arch("sparse-2of4")
    dense = sparse.replace(**{"pe.sparsity": "none"})
    w = apply_recipe(build_workload("bert-base", seq_len=128), "nm-2of4+w8a8")
    t_dense = simulate(w, dense).totals
    t_sparse = simulate(w, sparse).totals
    speedup = t_dense["latency_s"] / t_sparse["latency_s"]
    assert 1.1 < speedup < 2.0
    # the weight GEMMs alone gain more than the whole model (attention, vector ops, memory are not sparse)
    ops_d, ops_s = simulate(w, dense).ops, simulate(w, sparse).ops
    ffn = ops_d["kind"].isin(["ffn_up", "ffn_down"])
    ffn_speedup = ops_d.loc[ffn, "cycles"].sum() / ops_s.loc[ffn, "cycles"].sum()
    assert speedup < ffn_speedup <= 2.0


def test_dynamic_attention_density_only_on_zero_skip_attention():
    from workloads.zoo import build_workload

    w = build_workload("bert-base", seq_len=256)
    base = ArchSpec().replace(**{"pe.sparsity": "zero_skip"})
    dense = simulate(w, base).ops.set_index("op")
    sparse = simulate(w, base.replace(**{"pe.attention_density": 0.25})).ops.set_index("op")
    none = simulate(w, base.replace(**{"pe.sparsity": "none", "pe.attention_density": 0.25})).ops.set_index("op")
    attn = [o for o in dense.index if dense.loc[o, "kind"] in ("attn_qk", "attn_av")]
    other = [o for o in dense.index if dense.loc[o, "kind"] in ("qkv", "ffn_up")]
    assert (sparse.loc[attn, "cycles"] < 0.5 * dense.loc[attn, "cycles"]).all()
    assert (sparse.loc[other, "cycles"] == dense.loc[other, "cycles"]).all()
    assert (none.loc[attn, "cycles"] >= dense.loc[attn, "cycles"] * 0.999).all()
