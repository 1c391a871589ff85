"""Tracer on real tensors: weight statistics read back from the weights, MiniLM end to end."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from workloads.formats import from_csv, from_yaml  # noqa: E402
from workloads.tracing import trace_module, weight_spec, weight_summary  # noqa: E402

pytestmark = pytest.mark.torch


def test_weight_spec_dense_fp32() -> None:
    w = torch.randn(64, 32)
    s = weight_spec(w)
    assert (s.bits, s.kind, s.density, s.pattern) == (32, "fp", 1.0, "dense")
    assert weight_spec(w.half().float()).bits == 16


def test_weight_spec_detects_nm_and_occupancy() -> None:
    torch.manual_seed(0)
    w = torch.randn(64, 48)  # K x N
    g = w.abs().reshape(16, 4, 48)
    keep = torch.zeros_like(g, dtype=torch.bool).scatter_(1, g.topk(2, dim=1).indices, True)
    w24 = w * keep.reshape(64, 48)
    s = weight_spec(w24, tile_shape=(32, 32))
    assert (s.pattern, s.nm_n, s.nm_m, s.density) == ("nm", 2, 4, 0.5)
    assert s.tile_shape == (32, 32) and len(s.tile_occupancy) == 2 * 2
    assert s.tile_occupancy == pytest.approx((0.5, 0.5, 0.5, 0.5))
    w[:, :10] = 0.0
    w[5, 20] = 0.0
    s = weight_spec(w, tile_shape=(32, 32))
    assert s.pattern == "unstructured"
    assert s.tile_occupancy[0] == pytest.approx(1 - (32 * 10 + 1) / (32 * 32))
    assert s.tile_occupancy[1] == 1.0  # the partial 32 x 16 tile is measured on its real extent


def test_weight_spec_detects_blocks_and_quantisation_grids() -> None:
    torch.manual_seed(1)
    w = torch.randn(64, 64)
    mask = (torch.rand(8, 8) > 0.5).repeat_interleave(8, 0).repeat_interleave(8, 1)
    s = weight_spec(w * mask)
    assert s.pattern == "block" and s.block_shape == (8, 8)
    for bits in (4, 8):
        qmax = 2 ** (bits - 1) - 1
        scale = w.abs().amax(0, keepdim=True) / qmax  # per output channel (columns of K x N)
        q = torch.round(w / scale) * scale
        spec = weight_spec(q)
        assert (spec.bits, spec.kind) == (bits, "int")
    assert weight_spec(torch.randint(-3, 4, (64, 64), dtype=torch.int8)).bits == 8


def test_trace_small_module_labels_ops() -> None:
    class Block(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = torch.nn.Linear(16, 64)
            self.fc2 = torch.nn.Linear(64, 16)
            self.act = torch.nn.GELU()

        def forward(self, x):  # type: ignore[no-untyped-def]
            return x + self.fc2(self.act(self.fc1(x)))

    w = trace_module(Block(), torch.randn(2, 5, 16))
    kinds = {g.kind: (g.m, g.n, g.k) for g in w.gemms}
    assert kinds == {"ffn_up": (10, 64, 16), "ffn_down": (10, 16, 64)}
    assert w.vector_elements_by_kind()["gelu"] == 10 * 64
    assert w.macs == 10 * 64 * 16 * 2 and w.params == 16 * 64 + 64 + 64 * 16 + 16


@pytest.fixture(scope="module")
def minilm():  # type: ignore[no-untyped-def]
    from workloads.tracing.minilm import load_minilm

    return load_minilm()


def test_minilm_real_weights_trace(minilm) -> None:  # type: ignore[no-untyped-def]
    from workloads.tracing.minilm import SENTENCES, compress_minilm, tokenize
    from workloads.zoo import build_workload

    model, tok = minilm
    inputs = tokenize(tok, ["a b c d e f"] * 2)
    dense = trace_module(model, **inputs)
    seq = inputs["input_ids"].shape[1]
    assert dense.macs == build_workload("minilm-l6", seq_len=seq, batch=2).macs
    assert dense.params == 22_713_216
    assert len(SENTENCES) >= 64 and len(set(SENTENCES)) == len(SENTENCES)
    comp, _ = compress_minilm(model, "w8a8+nm-2of4")
    w = trace_module(comp, **inputs, tile_shape=(32, 32))
    s = weight_summary(w)
    assert s["weight_patterns"] == ["nm"] and s["weight_bits"] == ["int8"] and s["activation_bits"] == ["int8"]
    assert s["weight_density"] == pytest.approx(0.5, abs=0.01)
    pooler = next(g for g in w.gemms if g.kind == "pooler")
    assert pooler.b.pattern != "nm" and pooler.b.density > 0.95  # excluded from pruning (int8 rounding only)
    heads = compress_minilm(model, "heads-50")[0]
    out = heads.encoder.layer[0].attention.output.dense.weight
    zero_heads = sum(bool((out[:, j * 32:(j + 1) * 32] == 0).all()) for j in range(12))
    assert zero_heads == 6


def test_minilm_fidelity_orders_compression_strength(minilm) -> None:  # type: ignore[no-untyped-def]
    from workloads.tracing.minilm import embed, fidelity

    model, tok = minilm
    ref = embed(model, tok)
    assert fidelity(model, tok, "fp16", reference=ref)["cosine"] > 0.9999
    c = {r: fidelity(model, tok, r, reference=ref)["cosine"] for r in ("prune-30", "prune-50", "prune-70")}
    assert 1 > c["prune-30"] > c["prune-50"] > c["prune-70"] > 0
    assert fidelity(model, tok, "distil-6l", reference=ref) is None
    tok_pruned = fidelity(model, tok, "tokens-spatten", reference=ref)["cosine"]
    assert 0.3 < tok_pruned < 0.999


def test_trace_cli_writes_loadable_workloads(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import json

    from sweeps.cli import main
    from workloads.zoo import build_workload, load_model_config

    out = tmp_path / "bert1.yaml"
    assert main(["trace", "bert-base", "--layers", "1", "--seq-len", "16", "--out", str(out), "--json"]) == 2
    assert "--random-weights" in capsys.readouterr().err  # random weights only when asked for
    assert main(["trace", "bert-base", "--random-weights", "--layers", "1", "--seq-len", "16", "--out", str(out),
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    w = from_yaml(out)
    built = build_workload(load_model_config("bert-base").with_(layers=1), seq_len=16)
    assert w.macs == summary["macs"] == built.macs and w.params == built.params
    out = tmp_path / "m.csv"
    assert main(["trace", "minilm-real", "--compress", "nm-2of4", "--tile", "32", "32", "--seq-len", "32",
                 "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["weight_patterns"] == ["nm"] and summary["macs"] == build_workload("minilm-l6", seq_len=32).macs
    g = next(g for g in from_csv(out).gemms if g.kind == "ffn_down")
    assert g.b.tile_shape == (32, 32) and len(g.b.tile_occupancy) == (1536 // 32) * (384 // 32)
    assert main(["trace", "gpt2", "--meta", "--compress", "w8a8"]) == 2
