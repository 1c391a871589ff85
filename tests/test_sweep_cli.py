"""End to end with the real simulator: tasim sweep -> results, pareto, plot, report; nsga2 search."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import sweep_fakesim
import yaml

import sweeps
from sweeps.cli import main
from sweeps.executors import LocalExecutor
from sweeps.pareto import pareto_mask
from sweeps.runner import run_sweep
from sweeps.spec import sweep_from_dict
from workloads.errors import InputError

SMALL = {
    "name": "small",
    "description": "two arrays x two precision modes x two recipes",
    "base": {"arch": "gemmini"},
    "pe_array": {"pes": [256, 4096], "aspect": [1]},
    "axes": {"pe.precision_mode": ["fixed", "bit_fusion"]},
    "workloads": {"models": ["bert-base"], "seq_lens": [64]},
    "recipes": ["w8a8", "w4a8"],
    "objectives": {"latency_s": "min", "energy_pj": "min", "fidelity_minilm": "max"},
    "constraints": ["area_mm2 <= 100"],
}


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    spec = d / "small.yaml"
    spec.write_text(yaml.safe_dump(SMALL))
    out = d / "out"
    assert main(["sweep", str(spec), "-o", str(out), "--workers", "1", "--quiet"]) == 0
    return out


def test_sweep_writes_results_and_report(swept, capsys):
    df = sweeps.load(swept)
    tot = df[df["row"] == "total"]
    assert len(tot) == 8 and (tot["status"] == "ok").all()
    assert tot["point_id"].is_unique
    # op-kind rows add up to the totals' MACs; the tidy table carries inputs and figures
    kinds = df[df["row"] == "op_kind"].groupby("point_id")["macs"].sum()
    pd.testing.assert_series_equal(kinds.sort_index(), tot.set_index("point_id")["macs"].sort_index(),
                                   check_names=False, rtol=1e-9)
    assert {"array.rows", "pe.precision_mode", "recipe", "latency_s", "energy_pj", "edp_pj_s"} <= set(df.columns)
    assert (tot["edp_pj_s"] - tot["latency_s"] * tot["energy_pj"]).abs().max() < 1e-6 * tot["edp_pj_s"].max()
    for name in ("report.md", "report.html", "pareto.png", "sweep.json"):
        assert (swept / name).exists(), name
    assert not (swept / "pareto.svg").exists()  # vector versions are written on demand (tasim plot --kind report)
    html = (swept / "report.html").read_text()
    assert "data:image/png;base64," in html and "<img" in html and "src=\"pareto.png\"" not in html
    assert "Best point per objective" in (swept / "report.md").read_text()


def test_resume_is_a_no_op(swept, capsys):
    s = run_sweep(sweep_from_dict(SMALL), swept, executor=LocalExecutor(1), progress=False)
    assert s.evaluated == 0 and s.skipped == 8


def test_pareto_cli_matches_library(swept, capsys):
    assert main(["pareto", str(swept), "--objectives", "latency_s,energy_pj", "--csv"]) == 0
    from io import StringIO

    got = pd.read_csv(StringIO(capsys.readouterr().out))
    tot = sweeps.load_totals(swept)
    mask = pareto_mask(tot[["latency_s", "energy_pj"]].to_numpy(), ["min", "min"])
    assert set(got["point_id"]) == set(tot[mask]["point_id"])
    assert main(["pareto", str(swept), "--objectives", "latency_s,tops_per_w:max", "--by", "recipe",
                 "--hypervolume"]) == 0
    assert "hypervolume" in capsys.readouterr().out


@pytest.mark.parametrize("kind", ["pareto", "matrix", "parallel", "breakdown", "heatmap", "accuracy"])
def test_plot_kinds(swept, kind, capsys):
    assert main(["plot", str(swept), "--kind", kind, "-o", str(swept / f"k_{kind}")]) == 0
    assert (swept / f"k_{kind}.png").stat().st_size > 5000 and (swept / f"k_{kind}.svg").exists()
    assert (swept / f"k_{kind}.pdf").read_bytes().startswith(b"%PDF")


def test_results_summary(swept, capsys):
    assert main(["results", str(swept)]) == 0
    out = capsys.readouterr().out
    assert "8 design points" in out and "best latency (min)" in out and " ms " in out


def test_nsga2_uses_fewer_evaluations_and_resumes(tmp_path):
    spec = {
        "name": "search", "base": {"arch": "gemmini"},
        "axes": {"array.rows": {"pow2": [4, 256]}, "array.cols": {"pow2": [4, 256]},
                 "pe.precision_mode": ["fixed", "bit_fusion"]},
        "workloads": {"models": ["tiny"], "seq_lens": [128]}, "recipes": ["fp16", "w8a8"],
        "objectives": {"latency_s": "min", "area_mm2": "min"},
        "strategy": {"kind": "nsga2", "n": 48, "population": 12, "seed": 1},
    }
    s1 = run_sweep(sweep_from_dict(spec, evaluator=sweep_fakesim.evaluate), tmp_path / "n", executor=LocalExecutor(1), progress=False)
    grid = sweep_from_dict(spec, evaluator=sweep_fakesim.evaluate).grid_size()
    assert 0 < s1.evaluated <= 48 < grid
    s2 = run_sweep(sweep_from_dict(spec, evaluator=sweep_fakesim.evaluate), tmp_path / "n", executor=LocalExecutor(1), progress=False)
    assert s2.evaluated == 0  # same seed: the same proposals, answered from the store
    meta = json.loads((tmp_path / "n" / "sweep.json").read_text())
    assert meta["strategy"]["kind"] == "nsga2"


FAKE = {
    "name": "extend", "base": {"arch": "gemmini"},
    "axes": {"array.rows": [8, 16, 32], "array.cols": [16, 64], "pe.precision_mode": ["fixed", "bit_fusion"]},
    "workloads": {"models": ["tiny"], "seq_lens": [128]}, "recipes": ["fp16"],
    "objectives": {"latency_s": "min", "energy_pj": "min"},
}


def _canon(df: pd.DataFrame) -> pd.DataFrame:
    df = df.drop(columns=["eval_s"], errors="ignore").sort_values(["point_id", "row", "op_kind"])
    return df.reset_index(drop=True)[sorted(df.columns)]


def test_edited_spec_extends_the_sweep(tmp_path):
    out = tmp_path / "x"
    s1 = run_sweep(sweep_from_dict(FAKE, evaluator=sweep_fakesim.evaluate), out, executor=LocalExecutor(1), progress=False)
    assert s1.evaluated == 12
    more = dict(FAKE, axes=dict(FAKE["axes"], **{"array.rows": [8, 16, 32, 64]}), recipes=["fp16", "w8a8"])
    s2 = run_sweep(sweep_from_dict(more, evaluator=sweep_fakesim.evaluate), out, executor=LocalExecutor(1), progress=False)
    assert (s2.planned, s2.skipped, s2.evaluated) == (32, 12, 20)  # only the new points are simulated
    fresh = tmp_path / "fresh"
    run_sweep(sweep_from_dict(more, evaluator=sweep_fakesim.evaluate), fresh, executor=LocalExecutor(1), progress=False)
    pd.testing.assert_frame_equal(_canon(sweeps.load(out)), _canon(sweeps.load(fresh)), check_dtype=False)
    # fewer values: nothing to simulate; readers show the current spec's points, the store keeps all
    fewer = dict(FAKE, axes=dict(FAKE["axes"], **{"array.rows": [16]}))
    s3 = run_sweep(sweep_from_dict(fewer, evaluator=sweep_fakesim.evaluate), out, executor=LocalExecutor(1), progress=False)
    assert s3.evaluated == 0 and s3.skipped == 4
    assert len(sweeps.load_totals(out)) == 4
    from sweeps.store import Store

    assert len(Store(out).finished_ints()) == 32
    # a changed content hash (another base arch field) is recomputed, not reused
    other = dict(FAKE, base={"arch": "gemmini", "set": {"array.freq_mhz": 500}})
    s4 = run_sweep(sweep_from_dict(other, evaluator=sweep_fakesim.evaluate), out, executor=LocalExecutor(1), progress=False)
    assert s4.evaluated == 12 and s4.skipped == 0


def test_grid_above_the_limit_is_refused_with_a_suggestion():
    from sweeps.plan import MAX_GRID_POINTS

    huge = dict(FAKE, axes={"array.rows": {"start": 1, "stop": 1000, "step": 1},
                            "array.cols": {"start": 1, "stop": 1000, "step": 1},
                            "array.freq_mhz": {"start": 100, "stop": 1000, "num": 100},
                            "pe.precision_mode": ["fixed", "bit_fusion"]})
    with pytest.raises(InputError, match=f"200,000,000 design points, more than the limit of {MAX_GRID_POINTS:,}.*random"):
        sweep_from_dict(huge, evaluator=sweep_fakesim.evaluate)
    assert sweep_from_dict(dict(huge, strategy={"kind": "random", "n": 10}), evaluator=sweep_fakesim.evaluate).grid_size() == 200_000_000


def test_fidelity_column_is_fidelity_or_nan(swept):
    tot = sweeps.load_totals(swept)
    assert "accuracy" not in tot.columns
    assert all(math.isnan(a) or 0.0 < a <= 1.0 for a in tot["fidelity_minilm"])


def test_front_csv_is_for_people_parquet_keeps_stored_units(swept):
    import pandas as pd

    front = pd.read_csv(swept / "front.csv")
    assert "latency (ms)" in front.columns and "energy (mJ)" in front.columns and "latency_s" not in front.columns
    tot = sweeps.load_totals(swept).set_index("point_id")
    row = front.iloc[0]
    assert row["latency (ms)"] == pytest.approx(tot.loc[row["point_id"], "latency_s"] * 1e3, rel=1e-6)
    assert row["energy (mJ)"] == pytest.approx(tot.loc[row["point_id"], "energy_pj"] * 1e-9, rel=1e-6)


def test_pareto_expression_objective(swept, capsys):
    assert main(["pareto", str(swept), "--objectives", "energy_pj / macs,tokens_per_s:max", "--csv", "--raw"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split(",")[-3:] == ["energy_pj / macs", "tokens_per_s", "point_id"]
    assert main(["pareto", str(swept), "--objectives", "__import__('os').getcwd()"]) == 2
    assert "Call is not allowed" in capsys.readouterr().err


def test_llm_decode_front_over_registry_metrics_no_hand_arithmetic(tmp_path, capsys):
    spec = {
        "name": "decode", "base": {"arch": "hbm-llm"},
        "axes": {"dram.bandwidth_gbps": [400, 1600], "array.rows": [8, 32], "array.cols": [128, 512]},
        "workloads": {"models": ["llama2-7b"], "seq_lens": [256], "phases": ["decode"], "context": 256,
                      "new_tokens": 8},
        "recipes": ["fp16", "w4a16"],
        "objectives": {"tokens_per_s": "max", "energy_per_token_mj": "min", "area_mm2": "min"},
        "constraints": ["energy_pj / new_tokens <= 1e12"],
    }
    path = tmp_path / "decode.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    out = tmp_path / "out"
    assert main(["sweep", str(path), "-o", str(out), "--workers", "1", "--quiet"]) == 0
    tot = sweeps.load_totals(out)
    assert len(tot) == 16
    assert (tot["tokens_per_s"] - 8 / tot["token_latency_s"]).abs().max() < 1e-9 * tot["tokens_per_s"].max()
    assert (tot["energy_per_token_mj"] - tot["energy_pj"] * 1e-9 / 8).abs().max() < 1e-12
    front = sweeps.pareto_front(tot, {"tokens_per_s": "max", "energy_per_token_mj": "min", "area_mm2": "min"})
    csv = __import__("pandas").read_csv(out / "front.csv")
    assert len(csv) == len(front) and {"tokens/s", "energy per token (mJ)", "area (mm²)"} <= set(csv.columns)
    assert set(csv["point_id"]) == set(front["point_id"])
    assert (out / "parallel.png").exists()
    assert main(["plot", str(out), "--kind", "report"]) == 0  # vector versions on demand
    assert (out / "parallel.pdf").exists() and (out / "parallel.svg").exists()
    report = (out / "report.md").read_text()
    assert "3-objective Pareto front of tokens_per_s (max), energy_per_token_mj (min), area_mm2 (min)" in report
