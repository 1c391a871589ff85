"""Compression recipes: validation, composition and each pass's effect on the workload."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workloads.compress import apply_recipe, layer_keep, list_recipes, load_recipe, recipe_from_dict
from workloads.errors import InputError
from workloads.formats import to_frame
from workloads.zoo import build_workload, param_count

SHIPPED = {"fp16", "w8a8", "w4a8", "w4a16", "nm-2of4", "prune-50", "heads-50", "tokens-spatten", "distil-6l"}


def test_shipped_recipes_load_and_apply() -> None:
    assert SHIPPED <= set(list_recipes())
    base = build_workload("bert-base")
    for name in list_recipes():
        r = load_recipe(name)
        assert r.name == name and r.description
        w = apply_recipe("bert-base", name)
        assert w.recipe == name and w != base


def test_quantize_sets_bits_per_operand() -> None:
    w = apply_recipe("gpt2", "w4a8", phase="decode", context=64, new_tokens=4)
    for g in w.gemms:
        assert g.a.bits == 8 and g.a.kind == "int"
        assert g.b.bits == (4 if g.b_is_weight else 8)
    w = apply_recipe("gpt2", "w4a16")
    assert all(g.a.bits == 16 and g.a.kind == "fp" for g in w.gemms)
    assert {g.b.bits for g in w.gemms if g.b_is_weight} == {4}
    assert all(v.x.bits == 16 for v in w.vector_ops)


def test_mixed_precision_per_layer(tmp_path: Path) -> None:
    p = tmp_path / "mixed.yaml"
    p.write_text(
        "quantize:\n"
        "  - {weights: {bits: 4}, activations: {bits: 8}}\n"
        "  - {weights: {bits: 8}, layers: [0, -1]}\n"
        "  - {weights: {bits: 16, kind: fp}, activations: {bits: 16, kind: fp}, kinds: [lm_head]}\n"
    )
    w = apply_recipe("gpt2", p).expand_layers()
    bits = {(g.layer, g.kind): g.b.bits for g in w.gemms if g.b_is_weight}
    assert bits[(0, "qkv")] == 8 and bits[(11, "ffn_down")] == 8 and bits[(5, "qkv")] == 4
    assert bits[(-1, "lm_head")] == 16
    assert apply_recipe("gpt2", p).recipe == "mixed"


def test_prune_patterns_annotate_block_weights_only() -> None:
    w = apply_recipe("bert-base", "nm-2of4")
    for g in w.gemms:
        if g.kind in ("qkv", "attn_out", "ffn_up", "ffn_down"):
            assert (g.b.pattern, g.b.nm_n, g.b.nm_m, g.b.density) == ("nm", 2, 4, 0.5)
        else:
            assert g.b.pattern == "dense"
    w = apply_recipe("bert-base", "prune-50")
    assert {g.b.density for g in w.gemms if g.kind == "ffn_up"} == {0.5}
    assert w.macs == build_workload("bert-base").macs  # dense-equivalent shapes
    blk = apply_recipe("bert-base", "block-50")
    assert {g.b.block_shape for g in blk.gemms if g.kind == "qkv"} == {(8, 8)}


def test_head_pruning_removes_heads() -> None:
    base = build_workload("bert-base")
    w = apply_recipe("bert-base", "heads-50")
    qk = next(g for g in w.gemms if g.kind == "attn_qk")
    assert qk.batch == 6
    assert w.macs_by_kind()["qkv"] == base.macs_by_kind()["qkv"] // 2
    assert w.macs_by_kind()["attn_out"] == base.macs_by_kind()["attn_out"] // 2
    assert w.macs_by_kind()["ffn_up"] == base.macs_by_kind()["ffn_up"]
    # 6 heads x 64 dims removed from q, k, v (weights + biases) and from the output projection
    assert w.params == param_count("bert-base") - 12 * (3 * (768 * 384 + 384) + 384 * 768)
    gqa = apply_recipe("llama3-8b", "heads-50")  # whole KV groups: 4 of 8 KV heads, 16 of 32 query heads
    qk = next(g for g in gqa.gemms if g.kind == "attn_qk")
    assert (qk.batch, qk.m) == (4, 4 * 128)


def test_token_pruning_cascade_shrinks_later_layers() -> None:
    assert layer_keep(12, load_recipe("tokens-spatten").tokens) == pytest.approx(
        (1, 1, 1, 0.7, 0.7, 0.7, 0.49, 0.49, 0.49, 0.343, 0.343, 0.343))
    w = apply_recipe("bert-base", "tokens-spatten").expand_layers()
    m = {g.layer: g.m for g in w.gemms if g.kind == "ffn_up"}
    assert [m[i] for i in range(12)] == [128] * 3 + [90] * 3 + [63] * 3 + [44] * 3
    assert any(v.kind == "token_score" for v in w.vector_ops)
    vit = apply_recipe("vit-b16", "tokens-spatten")
    assert vit.macs < 0.7 * build_workload("vit-b16").macs
    dec = apply_recipe("gpt2", "tokens-spatten", phase="decode", context=1000, new_tokens=2).expand_layers()
    kv = {g.layer: g.n for g in dec.gemms if g.kind == "attn_qk"}
    assert kv[0] == 1001 and kv[11] == 344  # pruned KV cache + the new token


def test_distillation_changes_the_config() -> None:
    w = apply_recipe("bert-base", "distil-6l")
    assert w.params == param_count("tinybert-6")  # 6-layer BERT-base
    assert w.macs * 2 == pytest.approx(build_workload("bert-base").macs, rel=1e-3)
    p = recipe_from_dict({"name": "to-tiny", "distill": {"student": "tinybert-4"}})
    w = apply_recipe("bert-base", p, seq_len=64)
    assert w.model == "tinybert-4" and w.seq_len == 64
    narrow = recipe_from_dict({"distill": {"hidden": 384, "heads": 6}})
    w = apply_recipe("bert-base", narrow)
    assert next(g for g in w.gemms if g.kind == "ffn_up").n == 1536


def test_recipes_compose_and_workload_targets() -> None:
    w = apply_recipe("bert-base", "w8a8+nm-2of4")
    g = next(g for g in w.gemms if g.kind == "ffn_up")
    assert (g.b.bits, g.b.pattern, g.a.bits) == (8, "nm", 8)
    assert w.recipe == "w8a8+nm-2of4"
    built = build_workload("gpt2", phase="decode", context=50, new_tokens=3)
    w1 = apply_recipe(built, "distil-6l+w8a8")  # structural: rebuilt with the workload's own arguments
    assert w1.context == 50 and w1.new_tokens == 3 and w1.config.layers == 6
    w2 = apply_recipe(apply_recipe(built, "w8a8"), "nm-2of4")
    assert w2.recipe == "w8a8+nm-2of4"
    with pytest.raises(InputError, match="both set distill"):
        load_recipe("distil-6l+distil-6l")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"prune": {"method": "nm", "n": 2, "m": 4, "colour": 1}}, "unknown key"),
        ({"prune": {"method": "random"}}, "allowed"),
        ({"prune": {"method": "nm", "n": 5, "m": 4}}, "N:M"),
        ({"prune": {"method": "unstructured", "density": 1.5}}, "range"),
        ({"quantize": {"weights": {"bits": 0}}}, "range"),
        ({"quantize": {"weights": {"bits": 8, "kind": "posit"}}}, "allowed"),
        ({"heads": {"keep": 0}}, "range"),
        ({"tokens": {}}, "stages or keep"),
        ({"distill": {}}, "student"),
    ],
)
def test_bad_recipes_are_one_line_input_errors(data: dict, match: str) -> None:
    with pytest.raises(InputError, match=match) as exc:
        recipe_from_dict(data, source="r.yaml")
    assert "\n" not in str(exc.value) and str(exc.value).startswith("r.yaml")


def test_unknown_recipe_name() -> None:
    with pytest.raises(InputError, match="unknown recipe"):
        load_recipe("w3a3")


def test_identity_recipe_and_structural_after_annotation() -> None:
    assert apply_recipe("bert-base", "none").ops == build_workload("bert-base").ops
    built = build_workload("gpt2", phase="decode", context=40, new_tokens=5, batch=2)
    later = apply_recipe(apply_recipe(built, "w8a8"), "distil-6l")
    direct = apply_recipe("gpt2", "w8a8+distil-6l", phase="decode", context=40, new_tokens=5, batch=2)
    assert later.ops == direct.ops and later.recipe == "w8a8+distil-6l"
    assert {g.b.bits for g in later.gemms if g.b_is_weight} == {8}
    vit = apply_recipe(apply_recipe(build_workload("vit-b16", image_size=384), "w4a8"), "tokens-spatten")
    assert vit.image_size == 384 and vit.macs == apply_recipe("vit-b16", "tokens-spatten", image_size=384).macs
    with pytest.raises(InputError, match="already has structural"):
        apply_recipe(apply_recipe(built, "distil-6l"), "heads-50")


ANNOTATION = ["fp16", "w8a8", "w4a8", "w4a16", "w8a16", "nm-2of4", "prune-30", "prune-50", "block-50"]


@settings(max_examples=20, deadline=None)
@given(
    parts=st.lists(st.sampled_from(ANNOTATION), min_size=1, max_size=3),
    model=st.sampled_from(["bert-base", "gpt2", "llama3-8b", "vit-b16", "mobilebert"]),
    structural=st.sampled_from(["", "heads-50", "tokens-spatten", "distil-6l"]),
)
def test_annotation_passes_keep_shapes(parts: list[str], model: str, structural: str) -> None:
    """Prune/quantize never change shapes or MACs; structural passes never add MACs; compaction is lossless."""
    base = apply_recipe(model, structural or "none", seq_len=None)
    w = apply_recipe(base, "+".join(parts))
    assert w.macs == base.macs and w.vector_elements == base.vector_elements
    assert base.macs <= build_workload(model).macs
    assert w.expand_layers().compact() == w
    df = to_frame(w)
    assert df["macs"].sum() == w.macs and (df.loc[df["op"] == "gemm", "b_density"] <= 1).all()
