"""SCALE-Sim file compatibility: cfg (3.0.0 and v2-style), topologies, layouts, reports, CLI errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.scalesim import (
    cfg_to_arch,
    example_path,
    parse_cfg,
    parse_cfg_text,
    parse_topology_text,
    read_report,
    run_scalesim,
)
from simulator.scalesim.reports import COMPUTE_HEADER, DETAILED_HEADER
from sweeps.cli import main
from workloads.errors import InputError
from workloads.topology import Layer

GOLDEN = Path(__file__).parent / "data" / "scalesim_golden.csv"

V3_CFG = Path(example_path("scale.cfg")).read_text()

# A v2-style file as SCALE-Sim 2.x shipped them: no [layout], no [sparsity], no request buffers,
# a MemoryBanks key and no UseRamulatorTrace.
V2_CFG = """[general]
run_name = v2_run

[architecture_presets]
ArrayHeight:    32
ArrayWidth:     32
IfmapSramSzkB:    1024
FilterSramSzkB:   1024
OfmapSramSzkB:    1024
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Dataflow : os
Bandwidth : 10
MemoryBanks: 1

[run_presets]
InterfaceBandwidth: CALC
"""

GEMM_TOPO = "Layer, M, N, K,\nffn1, 128, 3072, 768,\nodd, 7, 1, 13,\n"


def write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text)
    return p


# ---- cfg ---------------------------------------------------------------------------------------


def test_v3_cfg_fields() -> None:
    cfg = parse_cfg(example_path("scale.cfg"))
    assert (cfg.run_name, cfg.array_rows, cfg.array_cols, cfg.dataflow) == ("bert_base_os32", 32, 32, "os")
    assert (cfg.ifmap_sram_kw, cfg.filter_sram_kw, cfg.ofmap_sram_kw) == (1024, 1024, 1024)
    assert cfg.bandwidth_mode == "CALC" and not cfg.sparsity_support
    assert (cfg.read_request_buffer, cfg.write_request_buffer) == (32, 32)


def test_v2_cfg_takes_scalesim_defaults() -> None:
    cfg = parse_cfg_text(V2_CFG, source="v2.cfg")
    # scale_config.__init__ defaults for everything the file does not set
    assert (cfg.read_request_buffer, cfg.write_request_buffer) == (60, 60)
    assert not cfg.ifmap_custom_layout and not cfg.filter_custom_layout
    assert (cfg.ifmap_sram_bank_num, cfg.ifmap_sram_bank_port, cfg.ifmap_sram_bank_bandwidth) == (10, 2, 10)
    assert not cfg.sparsity_support and cfg.sparsity_block_size == 4 and cfg.sparsity_rand_seed == 40
    assert cfg.array_rows == 32 and cfg.dataflow == "os"


def test_v2_and_v3_cfgs_give_identical_reports(tmp_path: Path) -> None:
    topo = write(tmp_path, "t.csv", GEMM_TOPO)
    v3 = V3_CFG.replace("bert_base_os32", "v2_run")
    a = run_scalesim(write(tmp_path, "a.cfg", v3), topo, tmp_path / "a", input_type="gemm")
    b = run_scalesim(write(tmp_path, "b.cfg", V2_CFG), topo, tmp_path / "b", input_type="gemm")
    for name in ("COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv"):
        assert (a.report_dir / name).read_text() == (b.report_dir / name).read_text()


def test_cfg_to_arch() -> None:
    cfg = parse_cfg_text(V2_CFG.replace("Dataflow : os", "Dataflow : ws").replace("CALC", "USER")
                         .replace("Bandwidth : 10", "Bandwidth : 16, 32"))
    arch = cfg_to_arch(cfg)
    assert (arch.array.rows, arch.array.cols, arch.array.dataflow, arch.array.timing) == (32, 32, "ws", "scalesim")
    assert arch.buffers.sizes_bytes() == (1024 * 1024,) * 3
    assert arch.dram.bytes_per_cycle == 16.0  # first Bandwidth value, words (1 byte) per cycle
    calc = cfg_to_arch(parse_cfg_text(V2_CFG), timing="default")
    assert calc.dram_bytes_per_cycle == float("inf") and calc.array.timing == "default"


def test_cfg_keys_are_case_insensitive_and_dataflow_case_folded() -> None:
    text = V2_CFG.replace("ArrayHeight", "arrayheight").replace("Dataflow : os", "DATAFLOW : IS")
    cfg = parse_cfg_text(text)
    assert cfg.array_rows == 32 and cfg.dataflow == "is"


@pytest.mark.parametrize(
    ("old", "new", "must_name"),
    [
        ("Dataflow : os", "Dataflow : xs", ["[architecture_presets] Dataflow", "'xs'", "os, ws, is"]),
        ("ArrayHeight:    32", "ArrayHeight:    0", ["[architecture_presets] ArrayHeight", "'0'", ">= 1"]),
        ("ArrayWidth:     32", "ArrayWidth:     3x", ["[architecture_presets] ArrayWidth", "'3x'", "integer"]),
        ("IfmapSramSzkB:    1024", "IfmapSramSzkB:    -5", ["IfmapSramSzkB", "'-5'"]),
        ("MemoryBanks: 1", "MemoryBankz: 1", ["[architecture_presets] memorybankz", "unknown key", "ArrayHeight"]),
        ("[run_presets]", "[run_prezets]", ["unknown section [run_prezets]", "[run_presets]"]),
        ("InterfaceBandwidth: CALC", "InterfaceBandwidth: FAST", ["InterfaceBandwidth", "'FAST'", "CALC, USER"]),
        ("InterfaceBandwidth: CALC\n", "InterfaceBandwidth: USER\n", ["Bandwidth", "missing", "USER"]),
        ("ArrayHeight:    32\n", "", ["[architecture_presets] ArrayHeight", "missing"]),
        ("run_name = v2_run", "run_name = a/b", ["[general] run_name", "'a/b'", "path separators"]),
    ],
)
def test_bad_cfg_is_one_line_input_error(tmp_path: Path, capsys, old: str, new: str, must_name: list[str]) -> None:
    assert old in V2_CFG
    if new == "InterfaceBandwidth: USER\n":
        text = V2_CFG.replace("Bandwidth : 10\n", "").replace(old, new)
    else:
        text = V2_CFG.replace(old, new)
    cfg = write(tmp_path, "bad.cfg", text)
    topo = write(tmp_path, "t.csv", GEMM_TOPO)
    rc = main(["scalesim", "-c", str(cfg), "-t", str(topo), "-i", "gemm", "-p", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(cfg) in err
    for part in must_name:
        assert part in err, (part, err)
    assert not (tmp_path / "out").exists()  # nothing written


def test_sparsity_section_validated() -> None:
    base = V3_CFG.replace("SparsitySupport : false", "SparsitySupport : true")
    assert parse_cfg_text(base).sparse_rep == "ellpack_block"
    with pytest.raises(InputError, match=r"\[sparsity\] SparseRep: 'coo' is not allowed \(allowed: ellpack_block, csr, csc\)"):
        parse_cfg_text(base.replace("SparseRep : ellpack_block", "SparseRep : coo"))
    with pytest.raises(InputError, match="OptimizedMapping.*allowed: false"):
        parse_cfg_text(base.replace("OptimizedMapping : false", "OptimizedMapping : true"))
    with pytest.raises(InputError, match="SparsitySupport: 'maybe'.*true, false"):
        parse_cfg_text(V3_CFG.replace("SparsitySupport : false", "SparsitySupport : maybe"))


def test_broken_ini_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a valid SCALE-Sim cfg"):
        parse_cfg_text("ArrayHeight: 3\n", source="x.cfg")
    with pytest.raises(InputError, match="cannot read file"):
        parse_cfg(tmp_path / "nope.cfg")


# ---- topology ----------------------------------------------------------------------------------


def test_gemm_topology_rows() -> None:
    layers = parse_topology_text("Layer, M, N, K,\n\nq, 128, 768, 64,\nodd, 7, 1, 13\nsp, 9, 5, 30, 2:4,\n", "gemm")
    assert [(lay.name, lay.gemm_m, lay.gemm_n, lay.gemm_k) for lay in layers] == [
        ("q", 128, 768, 64), ("odd", 7, 1, 13), ("sp", 9, 5, 30)]
    # SCALE-Sim's GEMM -> conv mapping: ifmap M x K, filter 1 x K, 1 channel, N filters, stride 1
    q = layers[0]
    assert (q.ifmap_h, q.ifmap_w, q.filter_h, q.filter_w, q.channels, q.num_filters, q.stride_h) == (128, 64, 1, 64, 1, 768, 1)
    assert (layers[2].nm_n, layers[2].nm_m) == (2, 4)
    assert layers[2].sparse_k(True) == 16 and layers[2].sparse_k(False) == 30


def test_conv_topology_rows_and_dp_expansion() -> None:
    text = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
            "c1, 11, 13, 3, 5, 4, 20, 2,\nDPc2, 6, 6, 3, 3, 3, 1, 1,\nsp, 9, 9, 3, 3, 3, 8, 1, 1:4,\n")
    layers = parse_topology_text(text, "conv")
    c1 = layers[0]
    assert (c1.ofmap_h, c1.ofmap_w) == (5, 5)  # ceil((11-3+2)/2), ceil((13-5+2)/2)
    assert (c1.gemm_m, c1.gemm_n, c1.gemm_k) == (25, 20, 60)
    assert [lay.name for lay in layers[1:4]] == ["DPc2Channel_0", "DPc2Channel_1", "DPc2Channel_2"]
    assert all(lay.channels == 1 for lay in layers[1:4])
    assert (layers[4].nm_n, layers[4].nm_m, layers[4].sparse_k(True)) == (1, 4, 7)


@pytest.mark.parametrize(
    ("kind", "row", "must_name"),
    [
        ("gemm", "a, 1, 2,", ["line 2", "3 fields", "M, N, K"]),
        ("gemm", "a, 1, 2, x,", ["line 2 K", "'x'", "integer >= 1"]),
        ("gemm", "a, 0, 2, 3,", ["line 2 M", "'0'"]),
        ("gemm", "a, 4, 2, 3, 3:2,", ["line 2 N:M", "'3:2'", "1 <= N <= M"]),
        ("gemm", "a, 4, 2, 3, 2-4,", ["N:M", "'2-4'"]),
        ("conv", "c, 3, 3, 5, 1, 1, 1, 1,", ["filter height 5 exceeds ifmap height 3"]),
        ("conv", "c, 3, 3, 1, 1, 1, 1,", ["7 fields", "stride"]),
    ],
)
def test_bad_topology(tmp_path: Path, capsys, kind: str, row: str, must_name: list[str]) -> None:
    topo = write(tmp_path, "bad.csv", "header,\n" + row + "\n")
    rc = main(["scalesim", "-c", example_path("scale.cfg"), "-t", str(topo), "-i", kind, "-p", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and str(topo) in err
    for part in must_name:
        assert part in err, (part, err)
    assert not (tmp_path / "o").exists()


def test_empty_topology_and_bad_input_type(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no layers"):
        parse_topology_text("Layer, M, N, K,\n\n", "gemm")
    with pytest.raises(SystemExit) as exc:
        main(["scalesim", "-c", "x", "-t", "y", "-i", "mnk", "-p", str(tmp_path)])
    assert exc.value.code == 2


@settings(max_examples=60, deadline=None)
@given(k=st.integers(1, 200), m=st.integers(1, 8), data=st.data())
def test_sparse_k_counts_kept_pattern_rows(k: int, m: int, data) -> None:
    """K' equals the rows kept by SCALE-Sim's pattern (first n of every m), trailing zeros trimmed."""
    n = data.draw(st.integers(1, m))
    lay = Layer("x", 4, k, 1, k, 1, 3, 1, 1, n, m)
    pattern = [1 if i % m < n else 0 for i in range(k)]
    assert lay.sparse_k(True) == sum(pattern)


# ---- layout ------------------------------------------------------------------------------------


def test_layout_file_is_validated(tmp_path: Path) -> None:
    topo = write(tmp_path, "t.csv", GEMM_TOPO)
    good = write(tmp_path, "layout.csv", "Layer name, a, b,\nffn1, 1, 2,\n")
    run_scalesim(example_path("scale.cfg"), topo, None, input_type="gemm", layout_path=good)
    bad = write(tmp_path, "bad_layout.csv", "Layer name, a,\nffn1, one,\n")
    with pytest.raises(InputError, match="bad_layout.csv: line 2"):
        run_scalesim(example_path("scale.cfg"), topo, None, input_type="gemm", layout_path=bad)


# ---- reports -----------------------------------------------------------------------------------


def test_report_headers_are_scalesims(tmp_path: Path) -> None:
    run = run_scalesim(example_path("scale.cfg"), write(tmp_path, "t.csv", GEMM_TOPO), tmp_path, input_type="gemm")
    compute = (run.report_dir / "COMPUTE_REPORT.csv").read_text().splitlines(keepends=True)
    assert compute[0] == COMPUTE_HEADER
    assert compute[0] == ("LayerID, Total Cycles (incl. prefetch), Total Cycles, Stall Cycles, Overall Util %, "
                          "Mapping Efficiency %, Compute Util %,\n")
    assert compute[1].startswith("0, ") and compute[1].endswith(",\n")
    assert (run.report_dir / "DETAILED_ACCESS_REPORT.csv").read_text().startswith(DETAILED_HEADER)
    # the golden CSV's report columns were copied from the real reports' headers: same names, same order
    golden_cols = GOLDEN.read_text().splitlines()[0].split(",")
    for name in ("COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv"):
        header, rows = read_report(run.report_dir / name)
        assert header[0] == "LayerID" and len(rows) == 2
        positions = [golden_cols.index(h) for h in header[1:]]
        assert positions == sorted(positions)
    assert not list(run.report_dir.glob(".*"))  # no temporary files left behind


def test_reports_replace_previous_run_atomically(tmp_path: Path) -> None:
    topo = write(tmp_path, "t.csv", GEMM_TOPO)
    first = run_scalesim(example_path("scale.cfg"), topo, tmp_path, input_type="gemm")
    before = (first.report_dir / "COMPUTE_REPORT.csv").read_text()
    bad = write(tmp_path, "bad.csv", "Layer, M, N, K,\nx, 1, 1,\n")
    with pytest.raises(InputError):
        run_scalesim(example_path("scale.cfg"), bad, tmp_path, input_type="gemm")
    assert (first.report_dir / "COMPUTE_REPORT.csv").read_text() == before  # untouched by the failed run
    run_scalesim(example_path("scale.cfg"), write(tmp_path, "t2.csv", "Layer, M, N, K,\ny, 2, 2, 2,\n"), tmp_path,
                 input_type="gemm")
    assert (first.report_dir / "COMPUTE_REPORT.csv").read_text().count("\n") == 2


def test_sparse_run_writes_sparse_report(tmp_path: Path) -> None:
    cfg = write(tmp_path, "s.cfg", V3_CFG.replace("SparsitySupport : false", "SparsitySupport : true"))
    run = run_scalesim(cfg, write(tmp_path, "t.csv", "Layer, M, N, K,\na, 20, 12, 18, 1:4,\n"), tmp_path, input_type="gemm")
    header, rows = read_report(run.report_dir / "SPARSE_REPORT.csv")
    assert header[:2] == ["LayerID", "Sparsity Representation"] and rows[0][1] == "ellpack_block"
    bw_header, _ = read_report(run.report_dir / "BANDWIDTH_REPORT.csv")
    assert "Avg FILTER Metadata SRAM BW" in bw_header
    # the N:M column is ignored without SparsitySupport, as in SCALE-Sim
    dense = run_scalesim(example_path("scale.cfg"), tmp_path / "t.csv", None, input_type="gemm")
    assert dense.rows[0]["gemm_k_eff"] == 18 and run.rows[0]["gemm_k_eff"] == 5


def test_engine_and_timing_are_passed_to_run_gemm(tmp_path: Path, monkeypatch) -> None:
    import simulator.scalesim.run as ssrun

    seen = []
    real = ssrun.run_gemm

    def spy(arch, m, n, k, *, engine, timing):
        seen.append((m, n, k, engine, timing))
        return real(arch, m, n, k, engine="analytical", timing=timing)

    monkeypatch.setattr(ssrun, "run_gemm", spy)
    run_scalesim(example_path("scale.cfg"), write(tmp_path, "t.csv", GEMM_TOPO), None, input_type="gemm",
                 engine="cycle", timing="default")
    assert seen == [(128, 3072, 768, "cycle", "default"), (7, 1, 13, "cycle", "default")]


def test_default_timing_differs_where_documented(tmp_path: Path) -> None:
    topo = write(tmp_path, "t.csv", GEMM_TOPO)
    ss = run_scalesim(example_path("scale.cfg"), topo, None, input_type="gemm", timing="scalesim")
    de = run_scalesim(example_path("scale.cfg"), topo, None, input_type="gemm", timing="default")
    # docs/timing.md, 32x32 OS: SCALE-Sim F * (H + W + T - 2) - 1; default (pipelined folds, the output
    # drain paid once) (F - 1) * max(T, H) + 2H + W + T - 2. FFN1 (F = 384, T = 768): the default does
    # not pay the skew in every fold, 295,006 < 318,719; the one-fold layer (T = 13) pays the drain.
    assert [a["Total Cycles"] for a in ss.rows] == [384 * (32 + 32 + 768 - 2) - 1, 32 + 32 + 13 - 2 - 1]
    assert [b["Total Cycles"] for b in de.rows] == [383 * 768 + 64 + 32 + 768 - 2, 64 + 32 + 13 - 2]
    for a, b in zip(ss.rows, de.rows):
        assert b["SRAM IFMAP Reads"] == a["SRAM IFMAP Reads"]
        assert b["SRAM OFMAP Writes"] < a["SRAM OFMAP Writes"]  # no H+W-per-fold counter artefact


# ---- CLI ---------------------------------------------------------------------------------------


def test_cli_example_and_help(tmp_path: Path, capsys) -> None:
    assert main(["scalesim", "--example", "-p", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "ffn1" in out and "318,719" in out
    _, rows = read_report(tmp_path / "bert_base_os32" / "COMPUTE_REPORT.csv")
    assert len(rows) == 30
    with pytest.raises(SystemExit) as exc:
        main(["scalesim", "--help"])
    assert exc.value.code == 0
    assert "Example" in capsys.readouterr().out


def test_cli_conv_example(tmp_path: Path, capsys) -> None:
    rc = main(["scalesim", "-c", example_path("scale.cfg"), "-t", example_path("conv_small.csv"),
               "-p", str(tmp_path), "--quiet"])
    assert rc == 0
    _, rows = read_report(tmp_path / "bert_base_os32" / "COMPUTE_REPORT.csv")
    assert len(rows) == 8  # 5 rows, the DP layer expanded into 4 channels


def test_topology_from_cfg_network_presets(tmp_path: Path, capsys) -> None:
    topo = write(tmp_path, "t.csv", GEMM_TOPO)
    cfg = write(tmp_path, "c.cfg", V2_CFG + f'\n[network_presets]\nTopologyCsvLoc: "{topo}"\n')
    run = run_scalesim(cfg, None, None, input_type="gemm")
    assert [lay.name for lay in run.layers] == ["ffn1", "odd"]
    rc = main(["scalesim", "-c", str(write(tmp_path, "n.cfg", V2_CFG)), "-i", "gemm", "-p", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and "-t: missing" in err and "TopologyCsvLoc" in err


@settings(max_examples=60, deadline=None)
@given(ih=st.integers(1, 12), iw=st.integers(1, 12), data=st.data())
def test_unique_ifmap_words_brute_force(ih: int, iw: int, data) -> None:
    """Distinct ifmap addresses of a conv layer (what SCALE-Sim's DRAM reads count) vs a plain loop."""
    from simulator.scalesim.run import unique_ifmap_words

    fh, fw = data.draw(st.integers(1, ih)), data.draw(st.integers(1, iw))
    ch, stride = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    m = data.draw(st.integers(1, 4))
    n = data.draw(st.integers(1, m))
    lay = Layer("x", ih, iw, fh, fw, ch, 3, stride, stride, n, m)
    for sparse in (False, True):
        seen = set()
        for p in range(lay.gemm_m):
            orow, ocol = divmod(p, lay.ofmap_w)
            for j in range(lay.gemm_k):
                if sparse and j % m >= n:
                    continue
                r, rest = divmod(j, fw * ch)
                c, k = divmod(rest, ch)
                if orow * stride + r < ih and ocol * stride + c < iw:
                    seen.add((orow * stride + r, ocol * stride + c, k))
        assert unique_ifmap_words(lay, sparse) == len(seen)
