"""`tasim models` / `tasim trace` command lines and the fidelity table reader."""

from __future__ import annotations

import json

import pytest

from sweeps.cli import main
from workloads.fidelity import fidelity_table, recipe_fidelity
from workloads.formats import from_csv, from_yaml


def test_models_lists_zoo(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["model"] for r in rows} >= {"bert-base", "llama3-8b"}
    assert next(r for r in rows if r["model"] == "llama3-8b")["kv_heads"] == 8


def test_models_json_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "bert-base", "--seq-len", "128", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["params"] == 109_482_240 and d["macs"] == sum(d["macs_by_kind"].values())
    assert sum(r["macs"] for r in d["ops"]) == d["macs"]
    assert main(["models", "llama2-7b", "--phase", "decode", "--context", "2048", "--new-tokens", "2048",
                 "--compress", "w4a16+nm-2of4", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["recipe"] == "w4a16+nm-2of4" and d["new_tokens"] == 2048


def test_models_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "bert-base", "--phase", "decode"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "allowed phase: prefill" in err
    assert main(["models", "gpt2", "--compress", "w3a3"]) == 2


def test_models_save_formats(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]

    for suffix in ("w.yaml", "w.csv", "w.topology.csv"):
        assert main(["models", "tinybert-4", "--save", str(tmp_path / suffix)]) == 0
    assert from_yaml(tmp_path / "w.yaml") == from_csv(tmp_path / "w.csv")
    assert (tmp_path / "w.topology.csv").read_text().startswith("Layer name, M, N, K,")


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for cmd in ("models", "trace"):
        with pytest.raises(SystemExit):
            main([cmd, "--help"])
        assert "Example" in capsys.readouterr().out


def test_fidelity_table_reads_committed_measurements() -> None:
    table = fidelity_table()
    for r in ("fp16", "w8a8", "w4a8", "w4a16", "nm-2of4", "prune-50", "heads-50", "tokens-spatten"):
        assert 0.0 < table[r] <= 1.0
    assert recipe_fidelity("nm-2of4+w8a8") == table["w8a8+nm-2of4"]
    assert recipe_fidelity("distil-6l") is None
    assert table["prune-30"] > table["prune-50"] > table["prune-70"]
    assert table["w8a16"] > table["w4a16"]
