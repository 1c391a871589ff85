"""The metric registry (simulator/metrics.py): definitions, derivation, safe expressions, display units."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import metrics
from simulator.arch import load_arch
from simulator.run import simulate
from workloads.errors import InputError
from workloads.zoo import build_workload

ISSUE_METRICS = ("energy_per_token_mj", "energy_per_inference_mj", "tokens_per_s", "tokens_per_s_per_mm2",
                 "inferences_per_s", "tops_per_w", "tops_per_mm2", "edp_pj_s")


def test_every_metric_is_defined_once_with_unit_label_and_sense():
    names = [m.name for m in metrics._DEFS]
    assert len(names) == len(set(names))
    for name in ISSUE_METRICS:
        m = metrics.get(name)
        assert m.derived and m.label and m.sense in ("min", "max")
        assert set(metrics.expr_columns(m.formula)) <= set(metrics.METRICS)
    assert metrics.get("edp") is metrics.get("edp_pj_s")
    assert metrics.header("latency_s") == "latency (ms)" and metrics.header("energy_pj") == "energy (mJ)"
    assert metrics.header("tops_per_w") == "TOPS/W"
    assert metrics.header("energy_dram_pj") == "energy: dram (mJ)"


def test_simulate_totals_carry_derived_metrics_by_their_formulas():
    arch = load_arch("hbm-llm")
    w = build_workload("gpt2", phase="decode", context=128, new_tokens=8)
    t = simulate(w, arch).totals
    assert t["tokens"] == 8 and t["inferences"] == 1
    assert t["tokens_per_s"] == pytest.approx(8 / t["token_latency_s"])
    assert t["energy_per_token_mj"] == pytest.approx(t["energy_pj"] * 1e-9 / 8)
    assert t["energy_per_inference_mj"] == pytest.approx(t["energy_pj"] * 1e-9)
    assert t["tops_per_w"] == pytest.approx(2 * t["macs"] / t["energy_pj"])
    assert t["tops_per_mm2"] == pytest.approx(t["effective_tops"] / t["area_mm2"])
    assert t["tokens_per_s_per_mm2"] == pytest.approx(t["tokens_per_s"] / t["area_mm2"])
    assert t["edp_pj_s"] == pytest.approx(t["energy_pj"] * t["latency_s"])
    assert t["power_w"] == pytest.approx(t["energy_pj"] * 1e-12 / t["latency_s"])
    pre = simulate(build_workload("bert-base", seq_len=64, batch=2), arch).totals
    assert pre["tokens"] == 128 and pre["inferences"] == 2
    assert pre["inferences_per_s"] == pytest.approx(2 / pre["latency_s"])
    assert pre["tokens_per_s"] == pytest.approx(128 / pre["latency_s"])


def test_derive_never_divides_by_zero_into_an_exception():
    out = metrics.derive({"energy_pj": 1.0, "latency_s": 0.0, "macs": 1.0, "inferences": 0.0, "tokens": 1.0,
                          "token_latency_s": 0.0, "area_mm2": 1.0})
    assert math.isnan(out["power_w"]) and math.isnan(out["energy_per_inference_mj"])
    assert "tokens_per_s" in out and math.isnan(out["tokens_per_s"])


def test_expressions_are_arithmetic_over_known_columns():
    df = pd.DataFrame({"energy_pj": [4e9, 8e9], "new_tokens": [4, 16], "array.rows": [16, 64],
                       "latency_s": [1.0, 2.0], "macs": [1e9, 1e9]})
    out = metrics.add_columns(df, ["energy_pj/new_tokens", "log2(array.rows) * 2", "max(latency_s, 1.5)"])
    assert list(out["energy_pj / new_tokens"]) == [1e9, 5e8]
    assert list(out["log2(array.rows) * 2"]) == [8.0, 12.0]
    assert list(out["max(latency_s, 1.5)"]) == [1.5, 2.0]
    assert "power_w" in out and "edp_pj_s" in out  # derived ones come for free
    assert metrics.canonical("energy_pj/new_tokens") == "energy_pj / new_tokens"
    assert metrics.evaluate("energy_per_token_mj", {"energy_pj": 2e9, "tokens": 4}) == pytest.approx(0.5)


@pytest.mark.parametrize("text", [
    "__import__('os').system('true')", "energy_pj.__class__", "(lambda: 1)()", "energy_pj[0]", "'a' * 3",
    "energy_pj if 1 else 2", "open('x')", "latency_s @ 2", "max(1)", "[latency_s]", "energy_pj < 3",
    "f'{latency_s}'", "latency_s; 1",
])
def test_expressions_reject_anything_but_arithmetic(text):
    with pytest.raises(InputError) as exc:
        metrics.check(text, {"energy_pj"}, key="objectives")
    assert "\n" not in str(exc.value)


def test_unknown_names_suggest_and_old_accuracy_is_explained():
    with pytest.raises(InputError, match="did you mean 'tokens_per_s'"):
        metrics.check("tokens_per_sec")
    with pytest.raises(InputError, match="fidelity_minilm.*accuracy_published"):
        metrics.check("accuracy")
    with pytest.raises(InputError, match="unknown column 'watts'"):
        metrics.check("energy_pj / watts")


@pytest.mark.parametrize("text", ["cycles", "area_mm2 * 2", "(dram_bytes)", "macs / latency_s"])
def test_evaluating_a_stored_column_that_is_absent_is_an_input_error(text):
    # regression: a stored (non-derived) column missing from the values recursed without end
    cols = {"energy_pj": np.array([1.0, 2.0]), "latency_s": np.array([0.5, 0.0])}
    with pytest.raises(InputError, match="not in the results"):
        metrics.evaluate(metrics.check(text, set(cols)), cols)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="abelnrgy_pjs0123456789.+-*/()%, <>=[]'\"", max_size=30))
def test_fuzzed_expressions_raise_inputerror_or_evaluate(text):
    cols = {"energy_pj": np.array([1.0, 2.0]), "latency_s": np.array([0.5, 0.0])}
    try:
        name = metrics.check(text, set(cols))
    except InputError:
        return
    if name in cols:
        return
    v = metrics.evaluate(name, cols)
    assert np.shape(v) in ((), (2,))


def test_display_frame_scales_to_human_units_with_unit_in_header():
    df = pd.DataFrame({"model": ["m"], "latency_s": [0.002], "energy_pj": [3e9], "area_mm2": [5.0],
                       "utilization": [0.5], "energy_dram_pj": [1e9]})
    out = metrics.display_frame(df)
    assert list(out.columns) == ["model", "latency (ms)", "energy (mJ)", "area (mm²)", "array utilization (%)",
                                 "energy: dram (mJ)"]
    assert out.iloc[0].tolist() == ["m", 2.0, 3.0, 5.0, 50.0, 1.0]
    assert df["latency_s"].iloc[0] == 0.002  # the stored frame is untouched


def test_published_accuracy_rows_carry_citations_and_say_where_none_exists():
    from workloads.published import published, table

    assert all(r.source and r.verified in ("repository", "secondary", "unchecked") for r in table())
    q8 = published("bert-base", "w8a8")
    assert q8 is not None and q8.value == 87.74 and "Q8BERT" in q8.source and not q8.is_perplexity
    assert published("bert-base", "none").value == 88.5 and published("bert-base", "fp16").value == 88.5
    awq = published("llama2-7b", "w4a16")
    assert awq.is_perplexity and awq.value == 5.60 and published("llama2-7b", "fp16").value == 5.47
    assert published("deit-s", "none").value == 79.9 and published("deit-s-distilled", "none").value == 81.2
    assert published("bert-base", "prune-70") is None and published("gpt2", "none") is None
    for model, f1, em in (("tinybert-4", 82.1, "72.7"), ("tinybert-6", 87.5, "79.7")):
        tb = published(model, "none")
        assert tb is not None and tb.value == f1 and published(model, "fp16") is tb
        assert (tb.task, tb.metric) == ("SQuAD v1.1 dev", "F1") and not tb.is_perplexity
        assert "TinyBERT" in tb.source and "EMNLP 2020" in tb.source and em in tb.source
        assert tb.verified == "secondary" and "nn_pruning" in tb.checked_in and "TinyBERT" in tb.citation()
    assert published("tinybert-4", "w8a8") is None and published("tinybert-6", "prune-50") is None
    # one recipe, one row: no two rows of a model claim the same recipe (GPTQ's 5.69 would collide with AWQ's w4a16)
    claimed = [(r.model, r.recipes[i]) for r in table() for i in range(len(r.recipes))]
    assert len(claimed) == len(set(claimed))
    # one task and metric per model, so a model's figures compare with each other
    by_model: dict = {}
    for r in table():
        by_model.setdefault(r.model, set()).add((r.task, r.metric))
    assert all(len(v) == 1 for v in by_model.values())


def test_sweep_uses_published_accuracy_and_reports_missing_pairs(tmp_path):
    import yaml

    import sweeps
    from sweeps.cli import main

    spec = {"name": "acc", "base": {"arch": "edge-32"}, "axes": {"array.rows": [16, 32]},
            "workloads": {"models": ["bert-base"], "seq_lens": [64]}, "recipes": ["none", "w8a8", "prune-70"],
            "objectives": {"latency_s": "min", "accuracy_published": "max"}}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    assert main(["sweep", str(tmp_path / "s.yaml"), "-o", str(tmp_path / "o"), "--workers", "1", "--quiet"]) == 0
    tot = sweeps.load_totals(tmp_path / "o")
    acc = tot.groupby("recipe")["accuracy_published"].first()
    assert acc["none"] == 88.5 and acc["w8a8"] == 87.74 and math.isnan(acc["prune-70"])
    assert "Q8BERT" in tot[tot.recipe == "w8a8"]["accuracy_source"].iloc[0]
    report = (tmp_path / "o" / "report.md").read_text()
    assert "2 of 3 (model, recipe) pairs" in report and "no published figure" in report and "bert-base + prune-70" in report
