"""Zoo configs as ``transformers`` models (random weights or meta device) for the self-check and
``tasim trace``. Needs the ``trace`` extra (torch, transformers); imported lazily."""

from __future__ import annotations

from typing import Any

from workloads.errors import InputError
from workloads.modelconfig import ModelConfig


def hf_config(cfg: ModelConfig, *, layers: int | None = None) -> Any:
    """The ``transformers`` config equivalent to ``cfg`` (``layers`` overrides the depth)."""
    import transformers as tf

    L = layers or cfg.layers
    common: dict[str, Any] = {"attn_implementation": "eager"}
    a = cfg.arch
    if a == "bert":
        c = tf.BertConfig(vocab_size=cfg.vocab, hidden_size=cfg.hidden, num_hidden_layers=L,
                          num_attention_heads=cfg.heads, intermediate_size=cfg.ffn,
                          max_position_embeddings=cfg.max_positions, type_vocab_size=cfg.type_vocab,
                          hidden_act="gelu", **common)
    elif a == "distilbert":
        c = tf.DistilBertConfig(vocab_size=cfg.vocab, dim=cfg.hidden, n_layers=L, n_heads=cfg.heads,
                                hidden_dim=cfg.ffn, max_position_embeddings=cfg.max_positions,
                                activation="gelu", **common)
    elif a == "albert":
        c = tf.AlbertConfig(vocab_size=cfg.vocab, embedding_size=cfg.emb_width, hidden_size=cfg.hidden,
                            num_hidden_layers=L, num_attention_heads=cfg.heads, intermediate_size=cfg.ffn,
                            max_position_embeddings=cfg.max_positions, type_vocab_size=cfg.type_vocab,
                            num_hidden_groups=1, inner_group_num=1, hidden_act="gelu_new", **common)
    elif a == "mobilebert":
        c = tf.MobileBertConfig(vocab_size=cfg.vocab, hidden_size=cfg.hidden, num_hidden_layers=L,
                                num_attention_heads=cfg.heads, intermediate_size=cfg.ffn,
                                embedding_size=cfg.emb_width, intra_bottleneck_size=cfg.bottleneck,
                                num_feedforward_networks=cfg.num_ffn, trigram_input=cfg.trigram,
                                use_bottleneck=True, key_query_shared_bottleneck=True,
                                use_bottleneck_attention=False, normalization_type="no_norm", hidden_act="relu",
                                max_position_embeddings=cfg.max_positions, type_vocab_size=cfg.type_vocab,
                                classifier_activation=True, **common)
    elif a == "gpt2":
        c = tf.GPT2Config(vocab_size=cfg.vocab, n_positions=cfg.max_positions, n_embd=cfg.hidden, n_layer=L,
                          n_head=cfg.heads, n_inner=cfg.ffn, activation_function="gelu_new", **common)
    elif a == "opt":
        c = tf.OPTConfig(vocab_size=cfg.vocab, hidden_size=cfg.hidden, num_hidden_layers=L, ffn_dim=cfg.ffn,
                         num_attention_heads=cfg.heads, max_position_embeddings=cfg.max_positions,
                         word_embed_proj_dim=cfg.hidden, do_layer_norm_before=True, activation_function="relu",
                         **common)
    elif a == "llama":
        c = tf.LlamaConfig(vocab_size=cfg.vocab, hidden_size=cfg.hidden, intermediate_size=cfg.ffn,
                           num_hidden_layers=L, num_attention_heads=cfg.heads, num_key_value_heads=cfg.kv_heads,
                           head_dim=cfg.head_dim, max_position_embeddings=cfg.max_positions or 8192,
                           tie_word_embeddings=cfg.tie_embeddings, hidden_act="silu", **common)
    elif a in ("vit", "deit"):
        cls = tf.ViTConfig if a == "vit" else tf.DeiTConfig
        c = cls(hidden_size=cfg.hidden, num_hidden_layers=L, num_attention_heads=cfg.heads,
                intermediate_size=cfg.ffn, image_size=cfg.image_size, patch_size=cfg.patch_size,
                num_channels=cfg.channels, num_labels=cfg.num_labels, **common)
    else:  # pragma: no cover - the Literal in ModelConfig lists every arch
        raise InputError(f"no Hugging Face mapping for arch {a!r}", key="arch")
    return c


def hf_model(cfg: ModelConfig, *, layers: int | None = None, device: str = "cpu", seed: int = 0) -> Any:
    """``cfg.hf_class`` instantiated from :func:`hf_config` (random weights; ``device="meta"``: none)."""
    import torch
    import transformers as tf

    cls = getattr(tf, cfg.hf_class)
    torch.manual_seed(seed)
    with torch.device(device):
        model = cls(hf_config(cfg, layers=layers))
    return model.eval()


def example_inputs(cfg: ModelConfig, *, seq_len: int = 128, batch: int = 1, image_size: int | None = None,
                   device: str = "cpu") -> dict[str, Any]:
    """Forward kwargs for a prefill pass (decoders: ``logits_to_keep=1``, the generation convention)."""
    import torch

    if cfg.family == "vision":
        img = image_size or cfg.image_size
        kw = {"pixel_values": torch.zeros(batch, cfg.channels, img, img, device=device)}
        if img != cfg.image_size:
            kw["interpolate_pos_encoding"] = True
        return kw
    ids = torch.arange(seq_len, device=device).remainder(cfg.vocab - 1).add(1).expand(batch, seq_len).contiguous()
    kw: dict[str, Any] = {"input_ids": ids}
    if cfg.family == "decoder":
        kw["logits_to_keep"] = 1
        kw["use_cache"] = False
        # an explicit mask skips transformers' data-dependent packed-sequence check (meta tensors)
        kw["attention_mask"] = torch.ones(batch, seq_len, dtype=torch.long, device=device)
    return kw


def decode_inputs(model: Any, cfg: ModelConfig, *, context: int, batch: int = 1, device: str = "cpu") -> dict[str, Any]:
    """Forward kwargs for one decode step after ``context`` prefilled tokens (runs the prefill)."""
    import torch

    kw = example_inputs(cfg, seq_len=context, batch=batch, device=device)
    kw["use_cache"] = True
    with torch.no_grad():
        cache = model(**kw).past_key_values
    return {
        "input_ids": torch.ones(batch, 1, dtype=torch.long, device=device),
        "attention_mask": torch.ones(batch, context + 1, dtype=torch.long, device=device),
        "past_key_values": cache,
        "use_cache": True,
    }
