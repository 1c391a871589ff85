"""Self-check against ``transformers`` (offline, random weights / meta device): exact parameter
counts, and GEMM shapes + MACs equal to a dispatch-level recording of the real forward pass."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from workloads.tracing import gemm_signature, trace_module  # noqa: E402
from workloads.tracing.hf import decode_inputs, example_inputs, hf_model  # noqa: E402
from workloads.zoo import build_workload, list_models, load_model_config, param_count  # noqa: E402

pytestmark = pytest.mark.torch
MODELS = list_models()


@pytest.mark.parametrize("name", MODELS)
def test_param_count_matches_transformers_exactly(name: str) -> None:
    cfg = load_model_config(name)
    model = hf_model(cfg, device="meta")  # full size, no memory
    assert sum(p.numel() for p in model.parameters()) == param_count(name)


@pytest.mark.parametrize("name", MODELS)
def test_full_forward_gemms_match_dispatch_recording(name: str) -> None:
    """Full depth on the meta device: every GEMM shape and the total MACs of the real forward pass."""
    cfg = load_model_config(name)
    traced = trace_module(hf_model(cfg, device="meta"), **example_inputs(cfg, seq_len=128, device="meta"))
    built = build_workload(name, seq_len=128)
    assert traced.macs == built.macs
    assert traced.macs_by_kind() == built.macs_by_kind()
    assert gemm_signature(traced) == gemm_signature(built)
    assert traced.params == built.params


@pytest.mark.parametrize(("name", "kwargs"), [
    ("bert-base", dict(seq_len=77, batch=3)),
    ("mobilebert", dict(seq_len=50, batch=2)),
    ("vit-b16", dict(image_size=384, batch=2)),
    ("deit-s", dict(image_size=160)),
    ("llama3-8b", dict(seq_len=33, batch=2)),
])
def test_other_shapes_real_tensors(name: str, kwargs: dict) -> None:
    """Two layers with real random weights on the CPU, other batch / sequence / image sizes."""
    cfg = load_model_config(name).with_(layers=2)
    if cfg.vocab:
        cfg = cfg.with_(vocab=1000)  # a 128k x 4096 random embedding would dominate the test time
    if cfg.hidden > 1024:  # same structure (GQA 4:1, SwiGLU, RoPE), narrower: random init is slow
        cfg = cfg.with_(hidden=512, heads=8, kv_heads=2, head_dim=64, ffn=1376)
    traced = trace_module(hf_model(cfg), **example_inputs(cfg, **kwargs))
    built = build_workload(cfg, **kwargs)
    assert gemm_signature(traced) == gemm_signature(built) and traced.macs == built.macs


@pytest.mark.parametrize("name", ["gpt2", "opt-125m", "llama2-7b", "llama3-8b"])
def test_decode_step_matches_kv_cache_forward(name: str) -> None:
    cfg = load_model_config(name)
    model = hf_model(cfg, device="meta")
    traced = trace_module(model, **decode_inputs(model, cfg, context=100, batch=2, device="meta"))
    built = build_workload(name, phase="decode", context=100, new_tokens=1, batch=2)
    assert gemm_signature(traced) == gemm_signature(built) and traced.macs == built.macs


def test_vector_op_tallies_match_where_defined_alike() -> None:
    cfg = load_model_config("bert-base")
    traced = trace_module(hf_model(cfg, device="meta"), **example_inputs(cfg, device="meta"))
    t, b = traced.vector_elements_by_kind(), build_workload("bert-base").vector_elements_by_kind()
    for kind in ("embedding", "softmax", "layernorm", "gelu", "residual", "tanh"):
        assert t[kind] == b[kind], kind
