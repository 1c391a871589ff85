"""Workload IR formats: DataFrame, YAML and CSV round trips, SCALE-Sim topology export/import."""

from __future__ import annotations

from pathlib import Path

import pytest

from workloads.compress import apply_recipe
from workloads.errors import InputError
from workloads.formats import (
    from_csv,
    from_scalesim_topology,
    from_yaml,
    to_csv,
    to_frame,
    to_scalesim_topology,
    to_yaml,
)
from workloads.ir import GemmOp, TensorSpec, VectorOp, Workload
from workloads.zoo import build_workload


@pytest.fixture(scope="module")
def rich() -> Workload:
    """Decode steps, GQA, mixed bits and sparsity: every field a round trip must keep."""
    w = apply_recipe("llama3-8b", "w4a8+nm-2of4", phase="decode", context=100, new_tokens=7, batch=2)
    occ = GemmOp("occ", 4, 8, 16, b=TensorSpec(bits=4, kind="int", density=0.5, pattern="unstructured",
                                                tile_shape=(2, 4), tile_occupancy=(0.25, 0.5, 0.75, 1.0)))
    return w.with_(ops=w.ops + (occ,))


def test_frame_is_tidy(rich: Workload) -> None:
    df = to_frame(rich)
    assert len(df) == len(rich.ops)
    assert df["macs"].sum() == rich.macs
    assert df["total_elements"].sum() == rich.vector_elements
    assert set(df["op"]) == {"gemm", "vector"}
    g = df[df["kind"] == "qkv"].iloc[0]
    assert (g["b_bits"], g["b_pattern"], g["b_nm_n"], g["b_nm_m"], g["a_bits"]) == (4, "nm", 2, 4, 8)
    assert df.groupby("kind")["macs"].sum().to_dict()["attn_qk"] == rich.macs_by_kind()["attn_qk"]


def test_yaml_round_trip(rich: Workload, tmp_path: Path) -> None:
    p = tmp_path / "w.yaml"
    to_yaml(rich, p)
    back = from_yaml(p)
    assert back == rich


def test_csv_round_trip(rich: Workload, tmp_path: Path) -> None:
    p = tmp_path / "w.csv"
    to_csv(rich, p)
    back = from_csv(p)
    assert back == rich


def test_yaml_rejects_unknown_keys(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\nops:\n  - {op: gemm, name: a, m: 1, n: 2, k: 3, colour: red}\n")
    with pytest.raises(InputError, match=r"bad.yaml: ops\[0\].colour: unknown key"):
        from_yaml(p)
    p.write_text("name: x\nops:\n  - {op: vector, name: a, func: tanh, elements: 3}\n")
    with pytest.raises(InputError, match="allowed"):
        from_yaml(p)


def test_scalesim_topology_export_expands_instances(tmp_path: Path) -> None:
    w = Workload("t", (
        GemmOp("proj", m=128, n=768, k=768, count=2),
        GemmOp("qk", m=1, n=10, k=64, batch=3, steps=2, n_per_step=1, b_is_weight=False),
        VectorOp("sm", "softmax", 100),
    ))
    text = to_scalesim_topology(w, tmp_path / "t.csv")
    lines = text.splitlines()
    assert lines[0] == "Layer name, M, N, K,"
    assert lines[1:3] == ["proj.i0, 128, 768, 768,", "proj.i1, 128, 768, 768,"]
    assert lines[3] == "qk.s0.i0, 1, 10, 64," and lines[-1] == "qk.s1.i2, 1, 11, 64,"
    assert len(lines) == 1 + 2 + 6
    back = from_scalesim_topology(tmp_path / "t.csv")
    assert back.macs == w.macs and all(line.endswith(",") for line in lines)


def test_scalesim_topology_reads_conv_rows(tmp_path: Path) -> None:
    p = tmp_path / "conv.csv"
    p.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
                 "Conv1, 224, 224, 16, 16, 3, 768, 16,\n")
    (g,) = from_scalesim_topology(p).gemms
    assert (g.m, g.n, g.k) == (196, 768, 768)  # ViT-B/16 patch embedding as im2col


def test_topology_refuses_huge_expansions() -> None:
    w = build_workload("llama2-7b", phase="decode", context=10, new_tokens=2048)
    with pytest.raises(InputError, match="max_rows"):
        to_scalesim_topology(w)


def test_topology_sparsity_column_round_trip(tmp_path: Path) -> None:
    w = apply_recipe("tinybert-4", "nm-2of4", seq_len=32)
    to_scalesim_topology(w, tmp_path / "s.csv", sparsity=True)
    lines = (tmp_path / "s.csv").read_text().splitlines()
    assert lines[1].endswith(", 2:4,") and lines[-1].endswith(", 1:1,")  # qkv pruned, pooler dense
    back = from_scalesim_topology(tmp_path / "s.csv")
    assert back.macs == w.macs
    assert {g.b.pattern for g in back.gemms} == {"nm", "dense"}


@pytest.mark.scalesim
def test_scalesim_reads_our_topologies(tmp_path: Path) -> None:
    """SCALE-Sim 3.0.0's own topology reader accepts both exports (reference venv, if present)."""
    import subprocess

    py = Path(__file__).resolve().parents[2] / ".venv-scalesim" / "bin" / "python"
    if not py.exists():
        pytest.skip("no .venv-scalesim")
    w = apply_recipe("tinybert-4", "nm-2of4", seq_len=32)
    to_scalesim_topology(w, tmp_path / "a.csv")
    to_scalesim_topology(w, tmp_path / "b.csv", sparsity=True)
    code = (
        "import sys\nfrom scalesim.topology_utils import topologies\n"
        "for f in sys.argv[1:]:\n"
        "    t = topologies(); t.load_arrays(f, mnk_inputs=True)\n"
        "    print(t.num_layers, sum(r[1] * r[2] * r[6] for r in t.topo_arrays), t.topo_arrays[0][-2:])\n"
    )
    out = subprocess.run([str(py), "-c", code, str(tmp_path / "a.csv"), str(tmp_path / "b.csv")],
                         capture_output=True, text=True, check=True).stdout.split("\n")
    n = sum(g.instances for g in w.gemms)
    assert out[0] == f"{n} {w.macs} [1, 1]"  # SCALE-Sim stores M, K, ..., N: M*K*N per row
    assert out[1] == f"{n} {w.macs} [2, 4]"
