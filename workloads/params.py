"""Exact parameter counts from hyper-parameters, matching the Hugging Face class in each zoo file
(``hf_class``): weights, biases, norms and embeddings; tied LM heads counted once; ALBERT's shared
block counted once. ``tests/workloads/test_workloads_selfcheck_torch.py`` checks every zoo model against
``transformers`` instantiated on the meta device."""

from __future__ import annotations

from collections.abc import Sequence

from workloads.modelconfig import ModelConfig


def _lin(k: int, n: int, bias: bool) -> int:
    return k * n + (n if bias else 0)


def _norm(cfg: ModelConfig, width: int) -> int:
    return width if cfg.norm == "rmsnorm" else 2 * width


def _block(cfg: ModelConfig, heads: int) -> int:
    h, f, hd, b = cfg.hidden, cfg.ffn, cfg.head_dim, cfg.bias
    kv = heads // cfg.group
    if cfg.arch == "mobilebert":
        t = cfg.bottleneck
        n = 2 * (_lin(h, t, b) + _norm(cfg, t))  # input + shared key/query bottlenecks
        n += 2 * _lin(t, heads * hd, b) + _lin(h, heads * hd, b)  # q, k from t; v from h
        n += _lin(heads * hd, t, b) + _norm(cfg, t)  # attention output
        n += cfg.num_ffn * (_lin(t, f, b) + _lin(f, t, b) + _norm(cfg, t))
        n += _lin(t, h, b) + _norm(cfg, h)  # output bottleneck
        return n
    n = _lin(h, heads * hd, b) + 2 * _lin(h, kv * hd, b) + _lin(heads * hd, h, b)
    n += _lin(h, f, b) * (2 if cfg.gated_ffn else 1) + _lin(f, h, b)
    n += 2 * _norm(cfg, h)
    return n


def param_count(cfg: ModelConfig, *, layer_heads: Sequence[int] | None = None) -> int:
    """Parameters of ``cfg`` (with ``layer_heads`` query heads kept per layer, if given)."""
    h, e = cfg.hidden, cfg.emb_width
    heads = list(layer_heads) if layer_heads is not None else [cfg.heads] * cfg.layers
    if cfg.share_layers:
        n = _block(cfg, max(heads))
    else:
        n = sum(_block(cfg, hl) for hl in heads)
    if cfg.family == "vision":
        T = cfg.tokens(cfg.image_size)
        n += (1 + int(cfg.distill_token)) * h + T * h  # [CLS] (+ distillation) token, positions
        n += _lin(cfg.channels * cfg.patch_size ** 2, h, True)
    else:
        n += cfg.vocab * e
        pos_w = e if cfg.arch == "albert" else h
        n += (cfg.max_positions + cfg.position_offset) * pos_w + cfg.type_vocab * pos_w
        if cfg.arch == "albert":
            n += _norm(cfg, e) + _lin(e, h, True)
        elif cfg.arch == "mobilebert":
            n += _lin(e * (3 if cfg.trigram else 1), h, True)
        if cfg.embed_norm:
            n += _norm(cfg, h if cfg.arch != "albert" else 0)
    if cfg.final_norm:
        n += _norm(cfg, h)
    if cfg.head == "pooler":
        n += _lin(h, h, True)
    elif cfg.head == "lm" and not cfg.tie_embeddings:
        n += cfg.vocab * h
    elif cfg.head == "classifier":
        n += (2 if cfg.distill_token else 1) * _lin(h, cfg.num_labels, True)
    return n
