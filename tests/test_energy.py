"""Energy and area: design-notes formulas, node scaling, DRAM by interface, monotonicity."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.arch import ArchSpec, EnergySpec, PESpec, load_arch
from simulator.area import area_breakdown_mm2, sram_mm2_per_mb
from simulator.energy import COMPONENTS, dram_pj_per_bit, node_factor, sram_read_pj_per_bit
from simulator.precision import mac_energy_pj
from simulator.run import simulate
from workloads.ir import GemmOp, TensorSpec, Workload

INT8 = TensorSpec(bits=8, kind="int")


def test_int8_mac_at_45nm_equals_design_notes_formula():
    # E = 0.2*(8*8/64) + 0.1*(32/32) + 0.002*(register bits): WS moves the activation and the partial sum
    pe = PESpec(native_bits=8, acc_bits=32)
    e = EnergySpec()
    assert float(mac_energy_pj(8, 8, 0, pe, e, "ws")) == pytest.approx(0.2 + 0.1 + 0.002 * (8 + 32))
    assert float(mac_energy_pj(8, 8, 0, pe, e, "ws")) == pytest.approx(0.38)
    assert float(mac_energy_pj(8, 8, 0, pe, e, "os")) == pytest.approx(0.2 + 0.1 + 0.002 * (8 + 8))
    # and simulate charges exactly that per MAC at 45 nm
    arch = ArchSpec().replace(**{"array.dataflow": "ws", "tech.node_nm": 45})
    w = Workload(name="g", ops=(GemmOp(name="g", m=64, n=64, k=64, a=INT8, b=INT8, out=INT8),))
    r = simulate(w, arch).totals
    assert r["energy_breakdown_pj"]["mac"] == pytest.approx(0.38 * 64**3)


def test_node_factor_and_sram_fit():
    assert node_factor(ArchSpec().replace(**{"tech.node_nm": 45})) == pytest.approx(1.0)
    assert node_factor(ArchSpec().replace(**{"tech.node_nm": 28})) == pytest.approx(0.764, abs=0.01)
    assert node_factor(ArchSpec().replace(**{"tech.node_nm": 7})) == pytest.approx(0.35, abs=0.01)
    arch45 = ArchSpec().replace(**{"tech.node_nm": 45})
    # Horowitz: 8 KB 64-bit read 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ
    assert 64 * sram_read_pj_per_bit(8 * 1024, arch45) == pytest.approx(10.0, rel=0.03)
    assert 64 * sram_read_pj_per_bit(32 * 1024, arch45) == pytest.approx(20.0, rel=0.03)
    assert 64 * sram_read_pj_per_bit(1024 * 1024, arch45) == pytest.approx(100.0, rel=0.03)
    # beyond the largest macro, banks of sram_max_bank_kib
    assert sram_read_pj_per_bit(64 * 2**20, arch45) == sram_read_pj_per_bit(2**20, arch45)


def test_dram_energy_by_interface_and_override():
    assert dram_pj_per_bit(ArchSpec().replace(**{"dram.kind": "hbm2"})) == pytest.approx(3.9)
    assert dram_pj_per_bit(ArchSpec().replace(**{"dram.kind": "lpddr4"})) == pytest.approx(8.0)
    assert dram_pj_per_bit(ArchSpec().replace(**{"dram.kind": "gddr5"})) == pytest.approx(14.0)
    assert dram_pj_per_bit(ArchSpec().replace(**{"dram.kind": "ddr3", "energy.dram_pj_per_bit": 12.5})) == 12.5


def test_area_components_and_sram_table():
    assert sram_mm2_per_mb(ArchSpec().replace(**{"tech.node_nm": 45})) == pytest.approx(6.0)
    assert sram_mm2_per_mb(ArchSpec().replace(**{"tech.node_nm": 16})) == pytest.approx(1.6)
    assert sram_mm2_per_mb(ArchSpec().replace(**{"tech.node_nm": 7})) == pytest.approx(0.6)
    a = ArchSpec().replace(**{"tech.node_nm": 45, "array.rows": 16, "array.cols": 16})
    br = area_breakdown_mm2(a)
    # multiplier + adder + OS pipeline registers (8 + 8 + 32 bits at 4.5 um^2), x array_overhead 3.9
    assert br["array"] == pytest.approx(256 * (282 + 137 + 48 * 4.5) * 3.9 * 1e-6)
    fused = area_breakdown_mm2(a.replace(**{"pe.precision_mode": "bit_fusion"}))
    assert fused["array"] == pytest.approx(256 * (2.5 * (282 + 137) + 48 * 4.5) * 3.9 * 1e-6)
    assert br["total"] == pytest.approx(br["array"] + br["sram"] + br["vector"] + br["fixed"])


def test_breakdown_sums_to_total_and_ops_agree():
    from workloads.zoo import build_workload

    arch = load_arch("edge-32").replace(**{"energy.leakage_mw": 50.0})
    r = simulate(build_workload("bert-base", seq_len=64), arch)
    t = r.totals
    assert set(t["energy_breakdown_pj"]) == set(COMPONENTS)
    assert sum(t["energy_breakdown_pj"].values()) == pytest.approx(t["energy_pj"])
    assert r.ops["energy_pj"].sum() == pytest.approx(t["energy_pj"], rel=1e-9)  # serial vector unit
    assert t["energy_breakdown_pj"]["leakage"] == pytest.approx(50e-3 * t["latency_s"] * 1e12)


@settings(max_examples=25, deadline=None)
@given(m=st.integers(1, 600), n=st.integers(1, 600), k=st.integers(1, 600),
       small=st.sampled_from([1, 2, 4]), factor=st.sampled_from([2, 8, 64]),
       df=st.sampled_from(["os", "ws", "is"]))
def test_energy_never_decreases_when_dram_traffic_grows(m, n, k, small, factor, df):
    # Same arch except the buffer sizes; bank size pinned so SRAM energy per bit is equal in both.
    # static power off: bigger buffers add area (static power), which is not what this property is about
    base = ArchSpec().replace(**{"array.rows": 16, "array.cols": 16, "array.dataflow": df,
                                 "energy.sram_max_bank_kib": 0.5, "dram.bandwidth_gbps": 8.0,
                                 "energy.leakage_mw": 0.0})
    w = Workload(name="g", ops=(GemmOp(name="g", m=m, n=n, k=k, a=INT8, b=INT8, out=INT8),))
    sizes = {"buffers.ifmap_kib": small, "buffers.filter_kib": small, "buffers.ofmap_kib": small}
    big = {p: v * factor for p, v in sizes.items()}
    r_small = simulate(w, base.replace(**sizes)).totals
    r_big = simulate(w, base.replace(**big)).totals
    if r_small["dram_bytes"] >= r_big["dram_bytes"]:
        assert r_small["energy_pj"] >= r_big["energy_pj"] * (1 - 1e-12)
    # and directly: more DRAM bytes at the same everything else -> more DRAM energy
    assert r_small["energy_breakdown_pj"]["dram"] / max(r_small["dram_bytes"], 1) == pytest.approx(
        r_big["energy_breakdown_pj"]["dram"] / max(r_big["dram_bytes"], 1))
