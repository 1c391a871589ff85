"""Precision-scalable PEs: throughput, bytes and MAC energy by operand bits."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.arch import ArchSpec, PESpec, load_arch
from simulator.precision import mac_energy_pj, macs_per_pe_cycle, operand_bits, significand_bits
from simulator.run import simulate
from workloads.ir import GemmOp, TensorSpec, Workload


def _wl(bits_a: int, bits_w: int, m: int = 512, n: int = 512, k: int = 4096) -> Workload:
    a = TensorSpec(bits=bits_a, kind="int")
    b = TensorSpec(bits=bits_w, kind="int")
    return Workload(name="g", ops=(GemmOp(name="g", m=m, n=n, k=k, a=a, b=b, out=TensorSpec(bits=8, kind="int")),))


def _arch(mode: str, **kw: object) -> ArchSpec:
    over = {"pe.precision_mode": mode, "array.rows": 32, "array.cols": 32, "array.dataflow": "os"}
    over.update(kw)  # type: ignore[arg-type]
    return ArchSpec().replace(**over)


def test_bit_fusion_macs_per_cycle_table():
    pe = PESpec(precision_mode="bit_fusion", native_bits=8, min_bits=2)
    assert macs_per_pe_cycle(8, 8, pe) == pytest.approx(1.0)
    assert macs_per_pe_cycle(4, 4, pe) == pytest.approx(4.0)
    assert macs_per_pe_cycle(2, 2, pe) == pytest.approx(16.0)
    assert macs_per_pe_cycle(4, 8, pe) == pytest.approx(2.0)
    assert macs_per_pe_cycle(3, 8, pe) == pytest.approx(2.0)  # 3 bits run as 4
    assert macs_per_pe_cycle(16, 8, pe) == pytest.approx(0.5)  # two passes


def test_fixed_and_bit_serial_throughput():
    fixed = PESpec(precision_mode="fixed", native_bits=8)
    assert macs_per_pe_cycle(4, 4, fixed) == 1.0
    assert macs_per_pe_cycle(16, 16, fixed) == pytest.approx(0.25)
    serial = PESpec(precision_mode="bit_serial", native_bits=8, min_bits=1)
    assert macs_per_pe_cycle(4, 8, serial) == pytest.approx(2.0)
    assert macs_per_pe_cycle(5, 4, serial) == pytest.approx(8 / 5)  # weights do not matter
    assert macs_per_pe_cycle(8, 8, serial) == pytest.approx(1.0)


def test_bit_fusion_4bit_runs_4x_the_macs_per_cycle_end_to_end():
    arch = _arch("bit_fusion")
    r8 = simulate(_wl(8, 8), arch).totals
    r4 = simulate(_wl(4, 4), arch).totals
    assert r8["macs"] == r4["macs"]
    speedup = r8["gemm_cycles"] / r4["gemm_cycles"]
    assert 3.6 < speedup <= 4.0  # 4x the MACs per cycle; array fill/drain is not sped up
    # bytes follow the bits: half of the operand traffic at 4 bits
    assert r4["dram_bytes"] < 0.75 * r8["dram_bytes"]


def test_fixed_mode_no_speedup_below_native_bits():
    arch = _arch("fixed")
    r8 = simulate(_wl(8, 8), arch).totals
    r4 = simulate(_wl(4, 4), arch).totals
    assert r8["gemm_cycles"] == r4["gemm_cycles"]
    assert r4["energy_breakdown_pj"]["mac"] == pytest.approx(r8["energy_breakdown_pj"]["mac"])
    r16 = simulate(_wl(16, 16), arch).totals  # 4 passes on an 8-bit PE
    assert r16["gemm_cycles"] > 3.5 * r8["gemm_cycles"]


def test_operand_cast_to_native_kind():
    # float on an integer array: fixed point of the same width (no silent quantization)
    pe = PESpec(native_bits=8, number_kind="int")
    assert list(operand_bits([16, 4, 8], ["fp", "int", "bf"], pe)) == [16, 4, 8]
    fp_pe = PESpec(native_bits=16, number_kind="fp")
    assert list(operand_bits([8, 16, 8], ["int", "bf", "fp"], fp_pe)) == [16, 16, 8]


def test_float_mac_energy_reproduces_horowitz_points():
    from simulator.arch import EnergySpec

    e = EnergySpec()
    pe16 = PESpec(native_bits=16, number_kind="fp", acc_bits=32)
    pe32 = PESpec(native_bits=32, number_kind="fp", acc_bits=32)
    reg16 = e.register_pj_per_bit * (16 + 16)
    reg32 = e.register_pj_per_bit * (32 + 32)
    assert float(mac_energy_pj(16, 16, 1, pe16, e, "os")) == pytest.approx(1.1 + 0.9 + reg16)
    assert float(mac_energy_pj(32, 32, 1, pe32, e, "os")) == pytest.approx(3.7 + 0.9 + reg32)
    assert list(significand_bits([8, 16, 16, 32], ["fp", "fp", "bf", "fp"])) == [4, 11, 8, 24]
    # fp8 < bf16 < fp16 < fp32 multiplier energy on a bit-fusion fp PE
    fus = PESpec(native_bits=32, number_kind="fp", precision_mode="bit_fusion", min_bits=8)
    es = [float(mac_energy_pj(b, b, 1, fus, e, "os")) for b in (8, 16, 32)]
    assert es == sorted(es)


@pytest.mark.parametrize("bits", [2, 4, 8, 16])
def test_integer_mac_energy_grows_with_bits(bits: int):
    from simulator.arch import EnergySpec

    pe = PESpec(native_bits=16, precision_mode="bit_fusion", min_bits=2)
    lo = float(mac_energy_pj(bits, bits, 0, pe, EnergySpec(), "ws"))
    hi = float(mac_energy_pj(min(bits * 2, 16), min(bits * 2, 16), 0, pe, EnergySpec(), "ws"))
    assert lo <= hi
    assert np.isfinite(lo) and lo > 0


def test_fp16_model_on_int8_array_pays_16_bit_passes():
    """An uncompressed fp16 model is not silently quantized on an int8 array: it runs as int16."""
    from workloads.compress import apply_recipe

    arch = load_arch("edge-32")
    fp16 = simulate(apply_recipe("bert-base", "fp16"), arch).totals
    w8a8 = simulate(apply_recipe("bert-base", "w8a8"), arch).totals
    assert fp16["gemm_cycles"] > 2.5 * w8a8["gemm_cycles"]  # 4x compute, memory-bound parts less
    assert fp16["energy_breakdown_pj"]["mac"] > 2.0 * w8a8["energy_breakdown_pj"]["mac"]
