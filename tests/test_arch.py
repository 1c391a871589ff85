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
    assert arch.buffers.ifmap_kib == 24 * 1024
    assert arch.dram.kind == "ddr3" and arch.dram.bandwidth_gbps == 34
    assert math.isclose(arch.dram_bytes_per_cycle, 34e9 / 700e6)


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
