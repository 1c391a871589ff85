"""``tasim gemm`` and ``run_gemm`` / ``GemmResult`` on both engines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.arch import load_arch
from simulator.gemm import GemmResult, run_gemm
from sweeps.cli import main


def _json(capsys, argv: list[str]) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_cli_engines_agree(capsys, df: str) -> None:
    base = ["gemm", "--arch", "edge-32", "--set", f"array.dataflow={df}", "--m", "128", "--n", "3072", "--k", "768",
            "--json"]
    ana = _json(capsys, base + ["--engine", "analytical"])
    cyc = _json(capsys, base + ["--engine", "cycle"])
    for key in ("compute_cycles", "stall_cycles", "total_cycles", "sram_reads", "sram_writes", "dram_read_bytes",
                "dram_write_bytes", "peak_buffer_bytes", "folds", "macs"):
        assert ana[key] == cyc[key], key
    assert cyc["engine"] == "cycle" and cyc["stall_cycles"] > 0  # edge-32's LPDDR4 cannot feed FFN1
    assert 0 < cyc["utilization"] <= 1
    assert set(cyc["dram_read_bytes"]) == {"ifmap", "filter", "ofmap"} and set(cyc["dram_write_bytes"]) == {"ofmap"}


def test_cli_bytes_per_element_and_unlimited_bandwidth(capsys) -> None:
    argv = ["gemm", "--arch", "edge-32", "--m", "64", "--n", "64", "--k", "64", "--engine", "cycle", "--json"]
    int8 = _json(capsys, argv)
    int4 = _json(capsys, argv + ["--a-bytes", "0.5", "--b-bytes", "0.5"])
    assert int4["dram_read_bytes"]["ifmap"] == 64 * 64 * 0.5 and int8["dram_read_bytes"]["ifmap"] == 64 * 64
    ideal = _json(capsys, argv + ["--set", "dram.bandwidth_gbps=.inf"])
    assert ideal["stall_cycles"] == 0 and ideal["total_cycles"] == ideal["compute_cycles"]


def test_cli_trace(capsys, tmp_path: Path) -> None:
    out = _json(capsys, ["gemm", "--arch", "gemmini", "--m", "20", "--n", "30", "--k", "40", "--engine", "cycle",
                         "--trace", str(tmp_path / "tr"), "--json"])
    for name in ("IFMAP_SRAM_TRACE.csv", "FILTER_SRAM_TRACE.csv", "OFMAP_SRAM_TRACE.csv", "DRAM_TRACE.csv"):
        assert (tmp_path / "tr" / name).stat().st_size > 0
    reads = sum(line.count(",") - line.count("-1") for line in (tmp_path / "tr" / "IFMAP_SRAM_TRACE.csv").open())
    assert reads == out["sram_reads"]["ifmap"]


def test_cli_errors_are_one_line(capsys) -> None:
    assert main(["gemm", "--arch", "edge-32", "--m", "4", "--n", "4", "--k", "4", "--trace", "x"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--trace" in err and len(err.splitlines()) == 1


def test_cli_table(capsys) -> None:
    assert main(["gemm", "--arch", "tpuv1", "--m", "512", "--n", "1024", "--k", "1024", "--engine", "cycle"]) == 0
    out = capsys.readouterr().out
    assert "stall cycles" in out and "peak buffer bytes" in out


def test_scalesim_timing_infinite_bandwidth_is_exact_on_both_engines() -> None:
    arch = load_arch("edge-32", ["dram.bandwidth_gbps=.inf"])
    a = run_gemm(arch, 100, 37, 300, engine="analytical", timing="scalesim")
    c = run_gemm(arch, 100, 37, 300, engine="cycle", timing="scalesim")
    # SCALE-Sim 3.0.0 OS: F * (H + W + T - 2) - 1 with F = ceil(100/32) * ceil(37/32)
    assert a["total_cycles"] == c["total_cycles"] == 4 * 2 * (32 + 32 + 300 - 2) - 1
    assert a["stall_cycles"] == c["stall_cycles"] == 0


def test_result_object_to_frame() -> None:
    res = GemmResult.run(load_arch("hbm-128"), 512, 768, 3072, engine="cycle")
    frame = res.to_frame()
    assert len(frame) == 1
    for col in ("total_cycles", "stall_cycles", "dram_read_bytes_ifmap", "dram_write_bytes_ofmap", "gemm_m",
                "peak_buffer_bytes_filter", "dram_bytes", "utilization"):
        assert col in frame.columns
    assert frame["gemm_k"].iloc[0] == 3072 and res["engine"] == "cycle"


def test_scalesim_command_cycle_engine_equals_analytical(tmp_path: Path) -> None:
    from simulator.scalesim import example_path, read_report, run_scalesim

    cfg, topo = example_path("scale.cfg"), example_path("bert_base_layer_gemm.csv")
    reports = {}
    for engine in ("analytical", "cycle"):
        run = run_scalesim(cfg, topo, tmp_path / engine, input_type="gemm", engine=engine)
        reports[engine] = read_report(run.report_dir / "COMPUTE_REPORT.csv")
    assert reports["cycle"] == reports["analytical"]
    header, rows = reports["cycle"]
    assert all(dict(zip(header, r))["Stall Cycles"] == "0" for r in rows)


@pytest.mark.parametrize("arch_name", ["edge-32", "tpuv1", "hbm-128"])
def test_gemm_latency_and_energy_equal_simulate_of_the_same_gemm(arch_name) -> None:
    from simulator.run import simulate
    from workloads.ir import GemmOp, TensorSpec, Workload

    arch = load_arch(arch_name)
    g = run_gemm(arch, 128, 3072, 768)
    int8 = TensorSpec(bits=8, kind="int")
    w = Workload(name="one", ops=(GemmOp(name="g", m=128, n=3072, k=768, a=int8, b=int8, out=int8),))
    t = simulate(w, arch).totals
    assert g["total_cycles"] == t["cycles"] and g["latency_s"] == pytest.approx(t["latency_s"], rel=1e-12)
    assert g["energy_pj"] == pytest.approx(t["energy_pj"], rel=1e-9)
    for comp, e in g["energy_breakdown_pj"].items():
        assert e == pytest.approx(t["energy_breakdown_pj"][comp], rel=1e-9, abs=1e-6), comp


def test_gemm_table_labels_its_own_run_time(capsys) -> None:
    assert main(["gemm", "--arch", "edge-32", "--m", "128", "--n", "3072", "--k", "768"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[2].startswith("latency") and " ms at 500 MHz" in lines[2]
    assert lines[3].startswith("energy") and " mJ " in lines[3]
    assert "elapsed" not in out and "tasim's own run time" in lines[-1]
