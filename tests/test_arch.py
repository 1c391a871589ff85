"""ArchSpec loading, validation and overrides."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from simulator.arch import ArchSpec, load_arch, shipped_names
from sweeps.cli import main
from workloads.errors import InputError
from workloads.schema import dotted_paths

REQUIRED_PATHS = [
    "array.rows", "array.cols", "array.dataflow", "array.freq_mhz", "pe.native_bits", "pe.precision_mode",
    "pe.sparsity", "buffers.ifmap_kib", "buffers.filter_kib", "buffers.ofmap_kib", "dram.bandwidth_gbps",
    "dram.latency_cycles", "tech.node_nm",
]


def test_shipped_configs_load():
    names = shipped_names()
    for required in ("tpuv1", "gemmini", "edge-32", "hbm-128"):
        assert required in names
    for name in names:
        arch = load_arch(name)
        assert arch.name == name


def test_tpuv1_figures():
    arch = load_arch("tpuv1")
    assert (arch.array.rows, arch.array.cols, arch.array.dataflow) == (256, 256, "ws")
    assert arch.array.freq_mhz == 700
    levels = {lv.name: lv for lv in arch.hierarchy.levels}
    assert levels["unified_buffer"].capacity_bytes == 24 * 2**20  # memory: levels (tests/test_levels.py)
    assert arch.dram_kind == "ddr3"
    assert math.isclose(arch.dram_bytes_per_cycle, 34e9 / 700e6 * 0.9)  # DDR3 achievable fraction (calibration.md)


def test_stable_dotted_paths():
    paths = dotted_paths(ArchSpec)
    for p in REQUIRED_PATHS:
        assert p in paths


def test_overrides_validated_like_file():
    arch = load_arch("edge-32", ["array.rows=64", "array.dataflow=ws", "pe.native_bits=4"])
    assert (arch.array.rows, arch.array.dataflow, arch.pe.native_bits) == (64, "ws", 4)
    with pytest.raises(InputError, match="array.dataflow.*allowed: os, ws, is"):
        load_arch("edge-32", ["array.dataflow=xs"])
    with pytest.raises(InputError, match="array.rows.*>= 1"):
        load_arch("edge-32", ["array.rows=0"])
    with pytest.raises(InputError, match="unknown key"):
        load_arch("edge-32", ["array.bogus=1"])


def test_unknown_key_in_file_names_file_and_key(tmp_path: Path):
    f = tmp_path / "bad.yaml"
    f.write_text("array:\n  rows: 8\n  colls: 8\n")
    with pytest.raises(InputError) as ei:
        load_arch(f)
    msg = str(ei.value)
    assert str(f) in msg and "array.colls" in msg and "allowed" in msg and "\n" not in msg


def test_replace_and_roundtrip():
    arch = load_arch("gemmini")
    big = arch.replace(**{"array.rows": 32, "array.cols": 32})
    assert big.array.rows == 32 and arch.array.rows == 16
    from workloads.schema import from_dict

    assert from_dict(ArchSpec, arch.to_dict()) == arch


@pytest.mark.parametrize(
    "argv",
    [
        ["gemm", "--arch", "nope", "--m", "1", "--n", "1", "--k", "1"],
        ["gemm", "--arch", "edge-32", "--set", "dram.kind=sdram", "--m", "1", "--n", "1", "--k", "1"],
        ["archs", "edge-32", "--set", "buffers.ifmap_kib=-3"],
    ],
)
def test_cli_bad_input_exit_2_one_line(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tasim: error:") and "\n" not in err and "Traceback" not in err


def test_cli_archs_lists(capsys):
    assert main(["archs"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(shipped_names())


def test_base_inheritance_chains_and_overrides(tmp_path):
    (tmp_path / "v.yaml").write_text("base: tpuv1\narray: {rows: 64}\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "w.yaml").write_text("base: ../v.yaml\nname: w\npe: {native_bits: 4}\n")
    tpu = load_arch("tpuv1")
    w = load_arch(tmp_path / "sub" / "w.yaml", {"array.cols": 128})
    assert (w.name, w.array.rows, w.array.cols, w.pe.native_bits) == ("w", 64, 128, 4)
    # everything not overridden is the base's, nested mappings merge key by key
    assert w.array.dataflow == tpu.array.dataflow and w.array.freq_mhz == tpu.array.freq_mhz
    assert w.buffers == tpu.buffers and w.dram == tpu.dram and w.pe.number_kind == tpu.pe.number_kind
    assert load_arch(tmp_path / "v.yaml").name == "v"
    assert load_arch("tpuv1", ["array.rows=64"]) == load_arch("tpuv1", {"array.rows": 64})


@pytest.mark.parametrize("text,match", [
    ("base: no-such-chip\n", "did you mean|unknown accelerator"),
    ("base: loop.yaml\n", "loops back"),
    ("base: [tpuv1]\n", "not an accelerator"),
    ("base: tpuv1\narray: {rowz: 3}\n", "array.rowz"),
])
def test_base_errors_are_one_line(tmp_path, text, match):
    f = tmp_path / "loop.yaml"
    f.write_text(text)
    with pytest.raises(InputError, match=match) as exc:
        load_arch(f)
    assert "\n" not in str(exc.value)


def test_scalesim_cfg_as_arch_is_translated_with_a_note(capsys):
    from simulator.scalesim.config import parse_cfg

    cfg_path = Path(__file__).resolve().parents[1] / "simulator" / "scalesim" / "examples" / "scale.cfg"
    cfg = parse_cfg(cfg_path)
    a = load_arch(cfg_path)
    assert (a.array.rows, a.array.cols, a.array.dataflow) == (cfg.array_rows, cfg.array_cols, cfg.dataflow)
    assert a.buffers.ifmap_kib == cfg.ifmap_sram_kw and a.array.timing == "default"
    assert "not in the cfg" in a.description and "tech.node_nm" in a.description
    assert main(["simulate", "--arch", str(cfg_path), "--model", "distilbert", "--seq-len", "32"]) == 0
    out = capsys.readouterr().out
    assert "note" in out and "translated from SCALE-Sim cfg" in out
