"""Model zoo and builders: published parameter counts, MAC figures, decode/GQA invariants."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workloads.errors import InputError
from workloads.zoo import build_workload, list_models, load_model_config, param_count

EXPECTED = [
    "albert-base", "bert-base", "bert-large", "deit-b", "deit-b-distilled", "deit-s", "deit-s-distilled", "deit-ti",
    "deit-ti-distilled", "distilbert", "gpt2", "gpt2-large",
    "gpt2-medium", "gpt2-xl", "llama2-7b", "llama3-8b", "minilm-l6", "mobilebert", "opt-1.3b", "opt-125m",
    "tinybert-4", "tinybert-6", "vit-b16", "vit-l16",
]

# Parameter counts published on the Hugging Face model cards / by `model.num_parameters()`.
PUBLISHED_PARAMS = {
    "bert-base": 109_482_240,
    "bert-large": 335_141_888,
    "distilbert": 66_362_880,
    "albert-base": 11_683_584,
    "gpt2": 124_439_808,
    "gpt2-medium": 354_823_168,
    "gpt2-large": 774_030_080,
    "gpt2-xl": 1_557_611_200,
    "opt-125m": 125_239_296,
    "llama2-7b": 6_738_415_616,
    "llama3-8b": 8_030_261_248,
    "vit-b16": 86_567_656,
}


def test_zoo_lists_every_model() -> None:
    assert list_models() == sorted(EXPECTED)
    for name in EXPECTED:
        cfg = load_model_config(name)
        assert cfg.name == name and cfg.source


@pytest.mark.parametrize("name", sorted(PUBLISHED_PARAMS))
def test_published_param_counts(name: str) -> None:
    assert param_count(name) == PUBLISHED_PARAMS[name]
    assert build_workload(name).params == PUBLISHED_PARAMS[name]


def test_bert_base_macs_and_breakdown() -> None:
    w = build_workload("bert-base", seq_len=128)
    encoder = w.macs - w.macs_by_kind()["pooler"]
    # 12 * (4 S h^2 + 2 S^2 h + 2 S h f) with S=128, h=768, f=3072
    assert encoder == 12 * (4 * 128 * 768 * 768 + 2 * 128 * 128 * 768 + 2 * 128 * 768 * 3072) == 11_173_625_856
    share = {k: v / encoder for k, v in w.macs_by_kind().items()}
    assert share["ffn_up"] + share["ffn_down"] == pytest.approx(0.65, abs=0.005)
    assert share["qkv"] == pytest.approx(0.24, abs=0.005)
    assert share["attn_out"] == pytest.approx(0.08, abs=0.005)
    assert share["attn_qk"] + share["attn_av"] == pytest.approx(0.027, abs=0.001)


def test_vit_b16_macs() -> None:
    w = build_workload("vit-b16")
    assert w.macs / 1e9 == pytest.approx(17.56, abs=0.01)
    assert w.seq_len == 197 and w.image_size == 224
    assert w.macs_by_kind()["patch_embed"] == 196 * 768 * 3 * 16 * 16
    deit = build_workload("deit-b-distilled")
    assert deit.seq_len == 198  # [CLS] + distillation token
    assert build_workload("deit-b").seq_len == 197  # the original DeiT: [CLS] only, as ViT
    assert build_workload("vit-b16", image_size=384).seq_len == 577


def test_vector_ops_cover_every_block_op() -> None:
    w = build_workload("llama2-7b", seq_len=64)
    kinds = w.vector_elements_by_kind()
    for k in ("embedding", "rmsnorm", "rope", "softmax", "silu", "swiglu_mul", "residual"):
        assert kinds[k] > 0
    assert kinds["softmax"] == 32 * 32 * 64 * 64
    assert kinds["silu"] == 32 * 64 * 11008
    b = build_workload("bert-base").vector_elements_by_kind()
    assert b["gelu"] == 12 * 128 * 3072 and b["layernorm"] == 25 * 128 * 768


@settings(max_examples=15, deadline=None)
@given(ctx=st.integers(0, 300), n=st.integers(1, 40), batch=st.integers(1, 3))
def test_decode_steps_equal_single_steps(ctx: int, n: int, batch: int) -> None:
    """A compact n-step decode has the MACs and vector elements of n one-step decodes."""
    model = "llama3-8b" if ctx % 2 else "gpt2"
    w = build_workload(model, phase="decode", context=ctx, new_tokens=n, batch=batch)
    singles = [build_workload(model, phase="decode", context=ctx + i, new_tokens=1, batch=batch) for i in range(n)]
    assert w.macs == sum(s.macs for s in singles)
    assert w.vector_elements == sum(s.vector_elements for s in singles)
    assert w.macs_by_kind() == {k: sum(s.macs_by_kind()[k] for s in singles) for k in w.macs_by_kind()}


def test_gqa_shares_kv_heads() -> None:
    w = build_workload("llama3-8b", phase="decode", context=1000, new_tokens=1)
    qk = next(g for g in w.gemms if g.kind == "attn_qk")
    assert (qk.batch, qk.m, qk.n, qk.k) == (8, 4, 1001, 128)  # 8 KV heads, 4 query heads stacked
    qkv = next(g for g in w.gemms if g.kind == "qkv")
    assert qkv.n == (32 + 2 * 8) * 128
    mha = build_workload("llama2-7b", phase="decode", context=1000, new_tokens=1)
    assert w.macs_by_kind()["attn_qk"] == mha.macs_by_kind()["attn_qk"]  # same MACs, 4x fewer K operands


def test_prefill_decode_lm_head_last_token_only() -> None:
    w = build_workload("gpt2", seq_len=100, batch=2)
    (lm,) = [g for g in w.gemms if g.kind == "lm_head"]
    assert (lm.m, lm.n, lm.k) == (2, 50257, 768)


def test_layers_fold_into_compact_records() -> None:
    w = build_workload("gpt2-xl")
    qkv = [g for g in w.gemms if g.kind == "qkv"]
    assert len(qkv) == 1 and qkv[0].count == 48 and qkv[0].layers == 48
    e = w.expand_layers()
    assert len(e.ops) > len(w.ops) and e.macs == w.macs and e.vector_elements == w.vector_elements
    assert e.compact().ops == w.ops


def test_llama_2048_prefill_and_decode_are_compact() -> None:
    pre = build_workload("llama2-7b", seq_len=2048)
    dec = build_workload("llama2-7b", phase="decode", context=2048, new_tokens=2048)
    assert len(pre.ops) < 40 and len(dec.ops) < 40
    # decode attention MACs: 32 layers * 32 heads * 128 * 2 * sum_{s=0}^{2047} (2049 + s)
    s = sum(2049 + i for i in range(2048))
    assert dec.macs_by_kind()["attn_qk"] == 32 * 32 * 128 * s == dec.macs_by_kind()["attn_av"]


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(model="bert-base", phase="decode"),
        dict(model="vit-b16", image_size=230),
        dict(model="bert-base", seq_len=513),
        dict(model="gpt2", phase="decode", context=1000, new_tokens=100),
        dict(model="nope"),
        dict(model="gpt2", batch=0),
        dict(model="gpt2", phase="train"),
    ],
)
def test_bad_build_arguments_are_input_errors(kwargs: dict) -> None:
    model = kwargs.pop("model")
    with pytest.raises(InputError):
        build_workload(model, **kwargs)


def test_model_yaml_files_are_validated(tmp_path) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "tiny.yaml"
    good.write_text("name: tiny\nfamily: decoder\narch: llama\nhidden: 256\nlayers: 2\nheads: 8\nkv_heads: 2\n"
                    "ffn: 512\nvocab: 1000\ngated_ffn: true\nnorm: rmsnorm\npre_norm: true\nembed_norm: false\n"
                    "final_norm: true\nrope: true\nbias: false\ntie_embeddings: false\nhead: lm\n")
    w = build_workload(str(good), phase="decode", context=10, new_tokens=4)
    assert w.model == "tiny" and w.params == param_count(str(good))
    # 2 x (q 256x256 + k,v 256x64 + o 256x256 + 3 x 256x512 + 2 norms) + emb + final norm + head
    assert w.params == 2 * (2 * 256 * 256 + 2 * 256 * 64 + 3 * 256 * 512 + 2 * 256) + 2 * 1000 * 256 + 256
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text() + "colour: red\n")
    with pytest.raises(InputError, match=r"bad.yaml: colour: unknown key"):
        build_workload(str(bad))
    bad.write_text(good.read_text().replace("kv_heads: 2", "kv_heads: 3"))
    with pytest.raises(InputError, match="kv_heads"):
        build_workload(str(bad))


def test_deit_names_are_the_original_models_distilled_ones_have_their_own():
    """DeiT paper (Touvron et al., ICML 2021), Table 1: DeiT-Ti 5M, DeiT-S 22M, DeiT-B 86M parameters for the
    original models; the Hugging Face checkpoints facebook/deit-*-patch16-224 are ViTForImageClassification
    (counts equal `transformers`, tests/workloads/test_workloads_selfcheck_torch.py); the distilled variants
    (distillation token, two heads) are DeiTForImageClassificationWithTeacher."""
    assert param_count("deit-s") == 22_050_664 and param_count("deit-s-distilled") == 22_436_432
    assert param_count("deit-ti") == 5_717_416 and param_count("deit-ti-distilled") == 5_910_800
    assert param_count("deit-b") == 86_567_656 and param_count("deit-b-distilled") == 87_338_192
    assert not load_model_config("deit-s").distill_token and load_model_config("deit-s-distilled").distill_token
    assert load_model_config("facebook/deit-small-patch16-224").name == "deit-s"
    assert load_model_config("facebook/deit-small-distilled-patch16-224").name == "deit-s-distilled"
    assert round(build_workload("deit-s").macs / 1e9, 1) == 4.6  # the paper's "4.6 GFLOPs" (MACs)
