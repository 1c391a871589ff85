"""Transformer graphs from hyper-parameters: encoder (BERT family), decoder (GPT-2, OPT, Llama with
GQA/RoPE/SwiGLU/RMSNorm) and vision (ViT, DeiT) workloads.

Every block is emitted per layer (``L{i}.qkv`` ...) and then folded with :meth:`Workload.compact`,
so identical layers become one record with ``count`` = layers. Decode phases are one record per op
with ``steps = new_tokens`` and the KV length growing by one per step (``n_per_step`` for QK^T,
``k_per_step`` for AV). Formulas and conventions: ``docs/workloads.md``.

Attention is per-head batched GEMMs. With grouped-query attention the ``group = heads / kv_heads``
query heads that share one KV head are stacked into M: ``batch = batch_size * kv_heads`` products of
``(group * q) x kv_len`` -- the same MACs as one product per query head, with each K/V matrix an
operand once (which is how GQA saves KV-cache traffic).
"""

from __future__ import annotations

from collections.abc import Sequence

from workloads.errors import InputError
from workloads.ir import GemmOp, Op, Phase, VectorOp, Workload
from workloads.modelconfig import ModelConfig
from workloads.params import param_count

_NORM_FUNC = {"layernorm": ("layernorm", "layernorm"), "rmsnorm": ("rmsnorm", "rmsnorm"), "nonorm": ("mul", "nonorm")}
# ``func`` is the vector unit's cost class; ReLU is one compare per element (the 1-op class "add").
_ACT_FUNC = {"gelu": ("gelu", "gelu"), "relu": ("add", "relu"), "silu": ("silu", "silu")}


class _Ops:
    """Collects op records with a common phase and step count."""

    def __init__(self, phase: Phase, steps: int) -> None:
        self.ops: list[Op] = []
        self.phase = phase
        self.steps = steps

    def gemm(self, name: str, kind: str, m: int, n: int, k: int, *, layer: int = -1, batch: int = 1, count: int = 1,
             weight: bool = True, n_step: int = 0, k_step: int = 0) -> None:
        self.ops.append(GemmOp(
            name=name if layer < 0 else f"L{layer}.{name}", m=m, n=n, k=k, kind=kind, batch=batch, count=count,
            steps=self.steps, n_per_step=n_step, k_per_step=k_step, b_is_weight=weight, layer=layer,
            phase=self.phase,
        ))

    def vec(self, name: str, func: str, elements: int, *, kind: str = "", layer: int = -1, count: int = 1,
            per_step: int = 0, reduce_dim: int = 0) -> None:
        self.ops.append(VectorOp(
            name=name if layer < 0 else f"L{layer}.{name}", func=func, elements=elements, kind=kind or func,  # type: ignore[arg-type]
            count=count, steps=self.steps, elements_per_step=per_step, reduce_dim=reduce_dim, layer=layer,
            phase=self.phase,
        ))

    def norm(self, cfg: ModelConfig, name: str, elements: int, width: int, *, layer: int = -1) -> None:
        func, kind = _NORM_FUNC[cfg.norm]
        self.vec(name, func, elements, kind=kind, layer=layer, reduce_dim=width if cfg.norm != "nonorm" else 0)


MAX_SHAPE = 2**24  # largest batch, sequence, context, token count or image size (16 M)


def build(
    cfg: ModelConfig,
    *,
    seq_len: int | None = None,
    batch: int = 1,
    phase: str = "prefill",
    context: int | None = None,
    new_tokens: int = 1,
    image_size: int | None = None,
    layer_heads: Sequence[int] | None = None,
    layer_keep: Sequence[float] | None = None,
) -> Workload:
    """Build the workload of one forward pass (``prefill``) or ``new_tokens`` decode steps.

    ``layer_heads``: query heads kept per layer (head pruning; multiples of ``cfg.group``).
    ``layer_keep``: fraction of tokens kept per layer (token pruning; in decode it prunes the
    KV cache of each layer). Both default to the unpruned model.
    """
    if phase not in ("prefill", "decode"):
        raise InputError(f"{phase!r} is not allowed (allowed: prefill, decode)", key="phase")
    for key, value, lo in (("batch", batch, 1), ("new_tokens", new_tokens, 1), ("seq_len", seq_len, 1),
                           ("context", context, 0), ("image_size", image_size, 1)):
        if value is not None and not lo <= value <= MAX_SHAPE:
            raise InputError(f"{key}={value} (allowed: {lo} .. {MAX_SHAPE:,})", key=key)
    L = cfg.layers
    heads = tuple(layer_heads) if layer_heads is not None else (cfg.heads,) * L
    keep = tuple(layer_keep) if layer_keep is not None else (1.0,) * L
    if len(heads) != L or len(keep) != L:
        raise InputError(f"per-layer heads/keep lists need {L} entries", key="layers")
    for h in heads:
        if not (1 <= h <= cfg.heads) or h % cfg.group:
            raise InputError(f"{h} kept heads (allowed: 1..{cfg.heads}, multiple of {cfg.group})", key="heads")
    for r in keep:
        if not 0.0 < r <= 1.0:
            raise InputError(f"token keep ratio {r} (allowed: 0 < keep <= 1)", key="keep")

    if cfg.family == "vision":
        if phase != "prefill":
            raise InputError(f"{cfg.name} is a vision model (allowed phase: prefill)", key="phase")
        img = image_size or cfg.image_size
        if img < cfg.patch_size or img % cfg.patch_size:
            raise InputError(f"image_size={img} (allowed: a multiple of the patch size {cfg.patch_size})",
                             key="image_size")
        T = cfg.tokens(img)
    else:
        if image_size is not None:
            raise InputError(f"{cfg.name} is a text model (image_size not allowed)", key="image_size")
        T = seq_len if seq_len is not None else 128
        if T < 1:
            raise InputError(f"seq_len={T} (allowed: >= 1)", key="seq_len")
        img = 0
    if phase == "decode" and cfg.family != "decoder":
        raise InputError(f"{cfg.name} is an {cfg.family} model (allowed phase: prefill)", key="phase")

    if phase == "decode":
        ctx = context if context is not None else T
        if ctx < 0:
            raise InputError(f"context={ctx} (allowed: >= 0)", key="context")
        if cfg.max_positions and ctx + new_tokens > cfg.max_positions:
            raise InputError(
                f"context + new_tokens = {ctx + new_tokens} exceeds {cfg.name}'s {cfg.max_positions} positions",
                key="context",
            )
        o = _Ops("decode", new_tokens)
        q = 1
        kv0 = [min(ctx, max(1, round(ctx * r))) + 1 if ctx else 1 for r in keep]
        kv_step = 1
        toks = [1] * L
        seq_meta, ctx_meta, new_meta = ctx, ctx, new_tokens
    else:
        if cfg.max_positions and T > cfg.max_positions:
            raise InputError(f"seq_len={T} exceeds {cfg.name}'s {cfg.max_positions} positions", key="seq_len")
        o = _Ops("prefill", 1)
        toks = [max(1, round(T * r)) for r in keep]
        kv0 = list(toks)
        kv_step = 0
        seq_meta, ctx_meta, new_meta = T, 0, 0
        q = None

    B = batch
    q0 = toks[0] if q is None else 1
    _embeddings(o, cfg, B, T if q is None else 1, img)
    prev = q0
    for layer in range(L):
        ql = toks[layer] if q is None else 1
        if q is None and ql < prev:
            # SpAtten-style cascade token pruning: accumulate per-token importance from the previous
            # layer's attention probabilities (sum over heads and queries) and keep the top tokens.
            o.vec("token_score", "add", B * heads[layer - 1] * prev * prev, kind="token_score", layer=layer)
        prev = ql
        if cfg.arch == "mobilebert":
            _mobilebert_block(o, cfg, layer, B, ql, kv0[layer], kv_step, heads[layer])
        else:
            _block(o, cfg, layer, B, ql, kv0[layer], kv_step, heads[layer])
    _head(o, cfg, B, prev)

    name = f"{cfg.name}-{phase}-b{B}-" + (f"{img}px" if cfg.family == "vision" else
                                          (f"s{T}" if phase == "prefill" else f"c{ctx_meta}+{new_meta}"))
    w = Workload(
        name=name, ops=tuple(o.ops), model=cfg.name, phase=o.phase, batch=B, seq_len=seq_meta,
        params=param_count(cfg, layer_heads=heads), context=ctx_meta, new_tokens=new_meta, image_size=img,
        config=cfg,
    )
    return w.compact()


def _embeddings(o: _Ops, cfg: ModelConfig, B: int, T: int, img: int) -> None:
    h, e, rows = cfg.hidden, cfg.emb_width, B * T
    if cfg.family == "vision":
        P = cfg.patches(img)
        o.gemm("patch_embed", "patch_embed", B * P, h, cfg.channels * cfg.patch_size ** 2)
        o.vec("pos_add", "add", rows * h, kind="residual")
        return
    tables_e = 1  # word table at the embedding width
    tables_h = 0
    if cfg.max_positions:
        tables_h += 1
    if cfg.type_vocab:
        tables_h += 1
    if e == h:
        o.vec("embed", "embedding", rows * h * (tables_e + tables_h), kind="embedding")
        if tables_e + tables_h > 1:
            o.vec("embed_add", "add", rows * h, kind="residual", count=tables_e + tables_h - 1)
    elif cfg.arch == "albert":  # every table at width e, norm, then e -> h
        o.vec("embed", "embedding", rows * e * (tables_e + tables_h), kind="embedding")
        o.vec("embed_add", "add", rows * e, kind="residual", count=tables_e + tables_h - 1)
        o.norm(cfg, "embed_norm", rows * e, e)
        o.gemm("embed_proj", "embed_proj", rows, h, e)
        return
    else:  # MobileBERT: word table at e, trigram concat -> 3e -> h, position/type at h
        o.vec("embed_word", "embedding", rows * e, kind="embedding")
        o.gemm("embed_proj", "embed_proj", rows, h, e * (3 if cfg.trigram else 1))
        o.vec("embed_pos", "embedding", rows * h * tables_h, kind="embedding")
        o.vec("embed_add", "add", rows * h, kind="residual", count=tables_h)
    if cfg.embed_norm:
        o.norm(cfg, "embed_norm", rows * h, h)


def _attention(o: _Ops, cfg: ModelConfig, layer: int, B: int, q: int, kv: int, kv_step: int, H: int) -> None:
    hd, g = cfg.head_dim, cfg.group
    KV = H // g
    o.gemm("attn_qk", "attn_qk", g * q, kv, hd, layer=layer, batch=B * KV, weight=False, n_step=kv_step)
    o.vec("softmax", "softmax", B * H * q * kv, layer=layer, per_step=B * H * q * kv_step, reduce_dim=kv)
    o.gemm("attn_av", "attn_av", g * q, hd, kv, layer=layer, batch=B * KV, weight=False, k_step=kv_step)


def _block(o: _Ops, cfg: ModelConfig, layer: int, B: int, q: int, kv: int, kv_step: int, H: int) -> None:
    h, f, hd = cfg.hidden, cfg.ffn, cfg.head_dim
    R = B * q
    KV = H // cfg.group
    if cfg.pre_norm:
        o.norm(cfg, "attn_norm", R * h, h, layer=layer)
    o.gemm("qkv", "qkv", R, (H + 2 * KV) * hd, h, layer=layer)
    if cfg.rope:
        o.vec("rope", "rope", R * (H + KV) * hd, layer=layer)
    _attention(o, cfg, layer, B, q, kv, kv_step, H)
    o.gemm("attn_out", "attn_out", R, h, H * hd, layer=layer)
    o.vec("attn_residual", "add", R * h, kind="residual", layer=layer)
    o.norm(cfg, "attn_norm" if not cfg.pre_norm else "ffn_norm", R * h, h, layer=layer)
    o.gemm("ffn_up", "ffn_up", R, f, h, layer=layer)
    if cfg.gated_ffn:
        o.gemm("ffn_gate", "ffn_gate", R, f, h, layer=layer)
    func, kind = _ACT_FUNC[cfg.act]
    o.vec("ffn_act", func, R * f, kind=kind, layer=layer)
    if cfg.gated_ffn:
        o.vec("ffn_gate_mul", "mul", R * f, kind="swiglu_mul", layer=layer)
    o.gemm("ffn_down", "ffn_down", R, h, f, layer=layer)
    o.vec("ffn_residual", "add", R * h, kind="residual", layer=layer)
    if not cfg.pre_norm:
        o.norm(cfg, "ffn_norm", R * h, h, layer=layer)


def _mobilebert_block(o: _Ops, cfg: ModelConfig, layer: int, B: int, q: int, kv: int, kv_step: int, H: int) -> None:
    """MobileBERT (HF ``MobileBertLayer``, key/query-shared bottleneck, no bottleneck attention)."""
    h, t, f, hd = cfg.hidden, cfg.bottleneck, cfg.ffn, cfg.head_dim
    R = B * q
    # input bottleneck (residual path) and the shared key/query bottleneck: h -> t, NoNorm
    o.gemm("bottleneck_in", "bottleneck", R, t, h, layer=layer, count=2)
    o.norm(cfg, "bottleneck_norm", R * t, t, layer=layer)
    o.norm(cfg, "bottleneck_norm2", R * t, t, layer=layer)
    o.gemm("qk", "qkv", R, H * hd, t, layer=layer, count=2)
    o.gemm("v", "qkv", R, H * hd, h, layer=layer)
    _attention(o, cfg, layer, B, q, kv, kv_step, H)
    o.gemm("attn_out", "attn_out", R, t, H * hd, layer=layer)
    o.vec("attn_residual", "add", R * t, kind="residual", layer=layer)
    o.norm(cfg, "attn_norm", R * t, t, layer=layer)
    n = cfg.num_ffn
    o.gemm("ffn_up", "ffn_up", R, f, t, layer=layer, count=n)
    func, kind = _ACT_FUNC[cfg.act]
    o.vec("ffn_act", func, R * f, kind=kind, layer=layer, count=n)
    o.gemm("ffn_down", "ffn_down", R, t, f, layer=layer, count=n)
    o.vec("ffn_residual", "add", R * t, kind="residual", layer=layer, count=n)
    o.vec("ffn_norm", "mul", R * t, kind="nonorm", layer=layer, count=n)
    o.gemm("bottleneck_out", "bottleneck", R, h, t, layer=layer)
    o.vec("out_residual", "add", R * h, kind="residual", layer=layer)
    o.norm(cfg, "out_norm", R * h, h, layer=layer)


def _head(o: _Ops, cfg: ModelConfig, B: int, T: int) -> None:
    h = cfg.hidden
    if cfg.final_norm:
        o.norm(cfg, "final_norm", B * T * h, h)
    if cfg.head == "pooler":
        o.gemm("pooler", "pooler", B, h, h)
        o.vec("pooler_tanh", "gelu", B * h, kind="tanh")  # tanh: same cost class as GELU
    elif cfg.head == "lm":
        # generation: logits of the last position only (prefill) / of the new token (decode)
        o.gemm("lm_head", "lm_head", B, cfg.vocab, h)
    elif cfg.head == "classifier":
        n = 2 if cfg.distill_token else 1
        o.gemm("classifier", "classifier", B, cfg.num_labels, h, count=n)
        if n == 2:
            o.vec("classifier_avg", "add", B * cfg.num_labels, kind="residual")
