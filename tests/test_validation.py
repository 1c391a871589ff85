"""`tasim validate` and the calibration model terms it needs (docs/validation.md, docs/calibration.md)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import numpy as np
import pytest

from simulator.arch import load_arch
from simulator.run import simulate_totals
from simulator.validation import JSON_KEYS, load_cases, run_cases, summary
from sweeps.cli import main
from workloads.compress import apply_recipe
from workloads.errors import InputError
from workloads.ir import GemmOp, TensorSpec, Workload

FP16 = TensorSpec(bits=16, kind="fp")
I8 = TensorSpec(bits=8, kind="int")


@pytest.fixture(scope="module")
def outcomes():
    return run_cases()


def test_every_case_within_its_tolerance(outcomes) -> None:
    failed = [(o.case.case, o.predicted, o.case.published, o.error_pct) for o in outcomes if o.passed is False]
    assert not failed


def test_issue_targets(outcomes) -> None:
    """The issue's targets: median |error| <= 10 % over all cases; per family (TPUv1 apps 20 %, decode
    15 %, 2:4 speed-ups 15 %, area 25 %, energy per op 20 %) the median case within the target and every
    case within its own tolerance (test above). Cases outside a family target are listed in
    docs/validation.md, "Remaining known errors"."""
    done = [o for o in outcomes if o.predicted is not None]
    assert len(done) >= 45
    assert statistics.median(abs(o.error_pct) for o in done) <= 10.0
    limits = {"tpuv1": 20.0, "decode": 15.0, "sparsity": 15.0, "area": 25.0, "energy": 20.0}
    doc = (Path(__file__).resolve().parents[1] / "docs" / "validation.md").read_text()
    known = doc[doc.index("## Remaining known errors"):]
    for fam, lim in limits.items():
        errs = [abs(o.error_pct) for o in done if o.case.family == fam]
        assert errs and statistics.median(errs) <= lim, fam
        for o in done:
            if o.case.family == fam and abs(o.error_pct) > lim:
                assert o.case.case in known, f"{o.case.case} misses the {fam} target and is not listed as a known error"
    fams = {o.case.family for o in outcomes}
    assert {"tpuv1", "power", "decode", "sparsity", "area", "energy", "bitfusion", "spatten"} <= fams


def test_cases_are_documented_data(outcomes) -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "validation.md").read_text()
    for o in outcomes:
        c = o.case
        assert c.source and c.why and c.unit
        assert c.case in doc, f"{c.case} is not explained in docs/validation.md"
        if not c.verified:  # an unchecked figure gets a wider tolerance than the issue's target
            assert c.tolerance_pct >= 20
    pending = [o for o in outcomes if o.predicted is None]
    assert all(o.case.pending for o in pending)
    s = summary(outcomes)
    assert s["evaluated"] + s["pending"] == s["cases"]


def test_cli_json_keys_and_png(tmp_path: Path, capsys) -> None:
    rc = main(["validate", "--format", "json", "--family", "bitfusion", "--family", "area", "-o", str(tmp_path)])
    rows = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert rows and all(tuple(r) == JSON_KEYS for r in rows)
    assert all(isinstance(r["verified"], bool) for r in rows)
    png = tmp_path / "validation.png"
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_bad_input_exits_2(tmp_path: Path, capsys) -> None:
    assert main(["validate", "--family", "nope"]) == 2
    assert "allowed" in capsys.readouterr().err
    bad = tmp_path / "cases.yaml"
    bad.write_text("- case: x\n  family: f\n  bogus: 1\n")
    assert main(["validate", "--cases", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bogus" in err and "\n" == err[-1] and err.count("\n") == 1


def test_cli_exit_1_when_a_case_leaves_tolerance(tmp_path: Path, capsys) -> None:
    f = tmp_path / "cases.yaml"
    f.write_text(
        "- {case: wrong, family: t, quantity: q, unit: TOPS, published: 1000.0, source: s, verified: true,\n"
        "   tolerance_pct: 5, why: w, arch: tpuv1, workload: {file: tpuv1-mlp0.yaml}, measure: {metric: peak_tops}}\n")
    assert main(["validate", "--cases", str(f)]) == 1
    assert "NO" in capsys.readouterr().out


def test_duplicate_case_names_rejected(tmp_path: Path) -> None:
    row = ("- {case: a, family: t, quantity: q, unit: x, published: 1.0, source: s, verified: true, tolerance_pct: 5,"
           " why: w, arch: tpuv1, measure: {model: int_add_pj}}\n")
    f = tmp_path / "c.yaml"
    f.write_text(row + row)
    with pytest.raises(InputError, match="duplicate"):
        load_cases(f)


# ---- model terms ------------------------------------------------------------------------------------


def _gemm(m: int, k: int, n: int, a: TensorSpec, b: TensorSpec) -> Workload:
    return Workload(name="g", ops=(GemmOp(name="g", m=m, n=n, k=k, a=a, b=b, out=a),))


def test_static_power_is_part_of_power_and_energy() -> None:
    arch = load_arch("tpuv1")
    t = simulate_totals(_gemm(256, 2048, 2048, I8, I8), arch)
    assert t["static_power_w"] == pytest.approx(arch.energy.static_w_per_mm2 * t["area_mm2"])
    assert t["energy_breakdown_pj"]["leakage"] == pytest.approx(t["static_power_w"] * t["latency_s"] * 1e12)
    assert t["power_w"] > t["static_power_w"]
    t0 = simulate_totals(_gemm(256, 2048, 2048, I8, I8), arch.replace(**{"energy.leakage_mw": 0.0}))
    assert t0["energy_breakdown_pj"]["leakage"] == 0.0


def test_dram_efficiency_defaults_by_kind_and_scalesim_has_none() -> None:
    a = load_arch("tpuv1")
    assert a.dram_efficiency == 0.9
    assert a.dram_bytes_per_cycle == pytest.approx(34e9 / 700e6 * 0.9)
    assert load_arch("a100").dram_efficiency == 0.75
    assert a.replace(**{"array.timing": "scalesim"}).dram_efficiency == 1.0
    assert a.replace(**{"memory.weight_memory.efficiency": 0.5}).dram_bytes_per_cycle == pytest.approx(
        34e9 / 700e6 * 0.5)
    legacy = load_arch("hbm-128")  # dram: section
    assert legacy.replace(**{"dram.efficiency": 0.5}).dram_bytes_per_cycle == pytest.approx(460e9 / 1e9 * 0.5)
    assert load_arch("gemmini").dram_bytes_per_cycle == 16.0  # bytes_per_cycle: a sustained rate, as given
    g = load_arch("gemmini")  # bytes_per_cycle is a sustained port rate: taken as given
    assert g.dram_bytes_per_cycle == 16.0


def test_weight_only_int_is_packed_on_float_arrays_and_pays_dequant() -> None:
    arch = load_arch("a100")
    dense = simulate_totals(_gemm(1, 4096, 4096, FP16, FP16), arch)
    w8 = simulate_totals(_gemm(1, 4096, 4096, FP16, I8), arch)
    # int8 weights move half the bytes (per-channel scales are not counted)
    assert w8["dram_bytes"] == pytest.approx(dense["dram_bytes"] - 4096 * 4096 * 1.0, rel=1e-3)
    no_deq = simulate_totals(_gemm(1, 4096, 4096, FP16, I8),
                             arch.replace(**{"vector.dequant_cycles_per_element": 0.0}))
    expected = 4096 * 4096 * 2.0 / arch.vector.lanes
    assert w8["cycles"] - no_deq["cycles"] == pytest.approx(expected, rel=1e-6)
    assert w8["energy_breakdown_pj"]["vector"] > no_deq["energy_breakdown_pj"]["vector"]
    # on an integer array int8 weights are native: no dequantisation
    tpu = load_arch("tpuv1")
    a = simulate_totals(_gemm(64, 4096, 4096, I8, I8), tpu)
    b = simulate_totals(_gemm(64, 4096, 4096, I8, I8), tpu.replace(**{"vector.dequant_cycles_per_element": 9.0}))
    assert a["cycles"] == b["cycles"]


def test_group_scales_add_bytes() -> None:
    arch = load_arch("a100")
    g32 = TensorSpec(bits=4, kind="int", group_size=32, scale_bits=32)
    pc = TensorSpec(bits=4, kind="int")
    a = simulate_totals(_gemm(1, 4096, 4096, FP16, g32), arch)
    b = simulate_totals(_gemm(1, 4096, 4096, FP16, pc), arch)
    assert a["dram_bytes"] - b["dram_bytes"] == pytest.approx(4096 * 4096 * (32 / 32) / 8, rel=1e-3)
    w = apply_recipe("opt-125m", "w4a16-g32", phase="decode", context=8, new_tokens=2)
    assert any(g.b.group_size == 32 and g.b.scale_bits == 32 for g in w.gemms if g.b_is_weight)


def test_nm_feed_ratio_caps_speedup_and_compressed_storage_sets_bytes() -> None:
    nm = TensorSpec(bits=16, kind="fp", pattern="nm", nm_n=2, nm_m=4, density=0.5)
    arch = load_arch("a100").replace(**{"dram.bandwidth_gbps": float("inf")})
    d = simulate_totals(_gemm(2048, 4096, 4096, FP16, FP16), arch)
    s = simulate_totals(_gemm(2048, 4096, 4096, FP16, nm), arch)
    assert d["cycles"] / s["cycles"] == pytest.approx(1.4, rel=0.03)
    ideal = simulate_totals(_gemm(2048, 4096, 4096, FP16, nm), arch.replace(**{"pe.nm_feed_ratio": None}))
    assert d["cycles"] / ideal["cycles"] == pytest.approx(2.0, rel=0.05)
    # a100 keeps no smaller DRAM footprint; a design storing the compressed form moves values + 2-bit indices
    assert s["dram_bytes"] == pytest.approx(d["dram_bytes"], rel=1e-3)  # up to the K_eff rounding
    comp = simulate_totals(_gemm(2048, 4096, 4096, FP16, nm), arch.replace(**{"pe.nm_compressed_dram": True}))
    w_dense = 4096 * 4096 * 2.0
    assert d["dram_bytes"] - comp["dram_bytes"] == pytest.approx(w_dense - w_dense * 0.5 * 18 / 16, rel=1e-3)


def test_op_overhead_adds_per_instance() -> None:
    arch = load_arch("tpuv1")
    w = Workload(name="g", ops=(GemmOp(name="g", m=64, n=256, k=256, a=I8, b=I8, out=I8, count=3, batch=4),))
    a = simulate_totals(w, arch)
    b = simulate_totals(w, arch.replace(**{"array.op_overhead_cycles": 1000.0}))
    assert b["cycles"] - a["cycles"] == pytest.approx(3000.0)  # per kernel (count), not per batched product


def test_area_has_pe_registers_and_fixed_blocks() -> None:
    from simulator.area import area_breakdown_mm2, pe_register_bits

    a = load_arch("nvdla")
    assert pe_register_bits(a) == 2 * 8 + 8 + 32
    br = area_breakdown_mm2(a)
    assert br["fixed"] > 0 and br["total"] == pytest.approx(sum(v for k, v in br.items() if k != "total"))
    no_regs = area_breakdown_mm2(a.replace(**{"area.register_um2_per_bit": 0.0}))
    assert no_regs["array"] < br["array"]
    # the DRAM PHY counts unless the design says its IP has none
    assert area_breakdown_mm2(a.replace(**{"area.dram_phy_mm2_per_gbps": 0.3}))["fixed"] == pytest.approx(
        br["fixed"] + 0.3 * 20)
    assert np.isfinite(br["total"])
