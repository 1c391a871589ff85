"""tasim's ``scalesim`` timing model against the REAL SCALE-Sim 3.0.0, every golden case.

``tests/data/scalesim_golden.csv`` is produced by ``scripts/scalesim_golden.py`` (which runs
``scalesim==3.0.0`` in its own venv); nothing in it is typed by hand. For each case the test rebuilds
the cfg and topology from the recorded inputs, runs them through ``simulator.scalesim.run_scalesim``
(cfg parser -> ArchSpec -> ``run_gemm(timing="scalesim")`` -> report writer), reads the written
report files back and compares them with SCALE-Sim's printed numbers.
"""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from simulator.analytical import analyze_compute
from simulator.scalesim import read_report, run_scalesim

GOLDEN = Path(__file__).parent / "data" / "scalesim_golden.csv"

# Report columns whose printed text must be IDENTICAL to SCALE-Sim's (ints, and floats to the last
# digit of Python's repr). The remaining columns (DRAM start/stop cycles, DRAM filter reads, DRAM
# ofmap writes, DRAM bandwidths, "Total Cycles (incl. prefetch)") come from SCALE-Sim's trace-replay
# memory model, which tasim does not copy (docs/scalesim.md).
EXACT_COLUMNS = [
    "Total Cycles", "Stall Cycles", "Overall Util %", "Mapping Efficiency %", "Compute Util %",
    "Avg IFMAP SRAM BW", "Avg FILTER SRAM BW", "Avg OFMAP SRAM BW",
    "SRAM IFMAP Start Cycle", "SRAM IFMAP Stop Cycle", "SRAM IFMAP Reads",
    "SRAM Filter Start Cycle", "SRAM Filter Stop Cycle", "SRAM Filter Reads",
    "SRAM OFMAP Start Cycle", "SRAM OFMAP Stop Cycle", "SRAM OFMAP Writes",
    "DRAM IFMAP Reads",
]
SPARSE_COLUMNS = ["Avg FILTER Metadata SRAM BW", "Sparsity Representation", "Original Filter Storage",
                  "New Storage (Filter+Metadata)", "Filter Metadata Storage", "Sparse Avg FILTER Metadata SRAM BW"]

# The cfg text and topology headers the golden script gave the real tool (one template, not a copy).
_spec = importlib.util.spec_from_file_location("scalesim_golden", Path(__file__).resolve().parents[1] / "scripts" / "scalesim_golden.py")
golden_script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden_script)


def _load() -> dict[int, list[dict[str, str]]]:
    cases: dict[int, list[dict[str, str]]] = {}
    with GOLDEN.open(newline="") as fh:
        for row in csv.DictReader(fh):
            cases.setdefault(int(row["case_id"]), []).append(row)
    return cases


CASES = _load()


def test_golden_file_covers_the_brief() -> None:
    rows = [r for rs in CASES.values() for r in rs]
    assert len(CASES) >= 80
    assert {r["dataflow"] for r in rows} == {"os", "ws", "is"}
    dims = {(int(r["array_rows"]), int(r["array_cols"])) for r in rows}
    assert (4, 4) in dims and (256, 256) in dims and any(h != w for h, w in dims)
    for col in ("gemm_m", "gemm_n", "gemm_k"):
        assert any(int(r[col]) == 1 for r in rows), col
        assert any(int(r[col]) % 2 == 1 and int(r[col]) > 1 for r in rows), col
    assert {"1:4", "2:4"} <= {r["nm"] for r in rows if r["sparsity_support"] == "True"}
    assert any(r["input_type"] == "conv" for r in rows)
    assert all(r["Stall Cycles"] == "0" for r in rows)


def _run_case(case_id: int, tmp_path: Path, engine: str = "analytical"):
    rows = CASES[case_id]
    first = rows[0]
    cfg = tmp_path / "case.cfg"
    cfg.write_text(golden_script.cfg_text({**first, "sparsity_support": first["sparsity_support"] == "True"}))
    topo_rows = list(dict.fromkeys(r["topology_row"] for r in rows))  # DP layers repeat their source row
    topo = tmp_path / "topo.csv"
    header = golden_script.GEMM_HEADER if first["input_type"] == "gemm" else golden_script.CONV_HEADER
    topo.write_text(header + "\n" + "\n".join(topo_rows) + "\n")
    run = run_scalesim(cfg, topo, tmp_path / "out", input_type=first["input_type"], engine=engine)
    reports = {}
    for name in ("COMPUTE_REPORT", "BANDWIDTH_REPORT", "DETAILED_ACCESS_REPORT", "SPARSE_REPORT"):
        p = run.report_dir / f"{name}.csv"
        if p.exists():
            header, values = read_report(p)
            if name == "SPARSE_REPORT":
                header = [f"Sparse {h}" if h == "Avg FILTER Metadata SRAM BW" else h for h in header]
            reports[name] = [dict(zip(header, v)) for v in values]
    got = [{k: v for rep in reports.values() for k, v in rep[i].items()} for i in range(len(rows))]
    return rows, got, run


def _check(case_id: int, tmp_path: Path, engine: str) -> None:
    expected, got, run = _run_case(case_id, tmp_path, engine)
    assert len(got) == len(expected) == len(run.layers)
    sparse = expected[0]["sparsity_support"] == "True"
    for exp, out, layer, row in zip(expected, got, run.layers, run.rows):
        assert layer.name == exp["layer_name"]
        assert (layer.gemm_m, layer.gemm_n, layer.gemm_k) == (int(exp["gemm_m"]), int(exp["gemm_n"]), int(exp["gemm_k"]))
        assert out["Stall Cycles"] == "0"
        for col in EXACT_COLUMNS + (SPARSE_COLUMNS if sparse else []):
            assert out[col] == exp[col], (col, out[col], exp[col])
        # the columns tasim estimates itself are still present and sane
        assert int(out["Total Cycles (incl. prefetch)"]) >= int(out["Total Cycles"])
        assert int(out["DRAM Filter Reads"]) == int(exp["gemm_n"]) * row["gemm_k_eff"]


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_matches_scalesim(case_id: int, tmp_path: Path) -> None:
    _check(case_id, tmp_path, "analytical")


# the cycle engine (simulator/cycle) behind the same reader/writer: a spread of cases by default,
# every case in the slow run
CYCLE_FAST = sorted(CASES)[::12]


@pytest.mark.parametrize("case_id", CYCLE_FAST)
def test_cycle_engine_matches_scalesim(case_id: int, tmp_path: Path) -> None:
    _check(case_id, tmp_path, "cycle")


@pytest.mark.slow
@pytest.mark.parametrize("case_id", [c for c in sorted(CASES) if c not in CYCLE_FAST])
def test_cycle_engine_matches_scalesim_all(case_id: int, tmp_path: Path) -> None:
    _check(case_id, tmp_path, "cycle")


def test_analytical_vectorised_matches_golden() -> None:
    """The vectorised core alone (one call for every dense golden layer) gives SCALE-Sim's numbers."""
    rows = [r for rs in CASES.values() for r in rs if r["sparsity_support"] == "False"]
    col = {c: np.array([int(r[c]) for r in rows]) for c in ("gemm_m", "gemm_n", "gemm_k", "array_rows", "array_cols")}
    df = np.array([r["dataflow"] for r in rows])
    out = analyze_compute(col["gemm_m"], col["gemm_n"], col["gemm_k"], col["array_rows"], col["array_cols"], df,
                          scalesim=True)
    np.testing.assert_array_equal(out["compute_cycles"], [int(r["Total Cycles"]) for r in rows])
    np.testing.assert_array_equal(out["sram_ifmap_reads"], [int(r["SRAM IFMAP Reads"]) for r in rows])
    np.testing.assert_array_equal(out["sram_filter_reads"], [int(r["SRAM Filter Reads"]) for r in rows])
    np.testing.assert_allclose(100 * out["mapping_efficiency"], [float(r["Mapping Efficiency %"]) for r in rows],
                               rtol=0, atol=1e-9)
    np.testing.assert_allclose(100 * out["utilization"], [float(r["Overall Util %"]) for r in rows], rtol=1e-12)
    # SCALE-Sim's OS ofmap counter adds H + W per fold; the physical count is M*N (WS/IS: M*N per K-fold)
    extra = np.where(df == "os", out["folds"] * (col["array_rows"] + col["array_cols"]), 0)
    np.testing.assert_array_equal(out["sram_ofmap_writes"] + extra, [int(r["SRAM OFMAP Writes"]) for r in rows])


SCALESIM_VENV_PY = Path(__file__).resolve().parents[1] / ".venv-scalesim" / "bin" / "python"


@pytest.mark.scalesim
@pytest.mark.skipif(not SCALESIM_VENV_PY.exists(), reason="needs .venv-scalesim (python scripts/scalesim_golden.py)")
def test_golden_rows_are_reproduced_by_the_real_tool(tmp_path: Path) -> None:
    """Re-run a few golden cases through the real SCALE-Sim: the committed rows come out unchanged."""
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[1] / "scripts" / "scalesim_golden.py"
    ids = [0, 27, 60, 100, 143]
    out = tmp_path / "g.csv"
    subprocess.run([sys.executable, str(script), "--out", str(out), "--only", *map(str, ids)], check=True,
                   capture_output=True)
    with out.open(newline="") as fh:
        fresh = list(csv.DictReader(fh))
    committed = [r for i in ids for r in CASES[i]]
    assert len(fresh) == len(committed)
    for a, b in zip(fresh, committed):
        assert {k: v for k, v in a.items() if v != ""} == {k: v for k, v in b.items() if v != ""}
