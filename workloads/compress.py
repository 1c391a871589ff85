"""Compression passes over workloads, driven by small YAML recipes.

A recipe (``workloads/recipes/NAME.yaml`` or any file) is validated by
:func:`workloads.schema.from_dict` into a :class:`Recipe`; unknown keys are rejected. Recipes compose
with ``+`` (``"w8a8+nm-2of4"``): their passes are concatenated (structural passes may appear at most
once per composition). Passes run in a fixed order:

1. ``distill``  -- the student config: a zoo model, or fewer layers / narrower hidden / ffn / heads
2. ``heads``    -- attention-head pruning: heads really removed (QKV and output widths, attention
                   batch, softmax elements, parameters); GQA prunes whole KV groups
3. ``tokens``   -- token pruning, a cascade keep-ratio schedule over depth (SpAtten / DynamicViT):
                   later layers see fewer tokens (M, and the KV length, shrink); in decode the KV
                   cache of each layer is pruned by the same ratio
4. ``prune``    -- weight sparsity annotations on the static weight operands: unstructured density,
                   N:M (e.g. 2:4) or block sparsity; shapes stay dense-equivalent, ``TensorSpec``
                   says what hardware may skip
5. ``quantize`` -- bits and number kind of weights, activations (GEMM inputs/outputs), the KV cache
                   (the K and V operands of attention) and optionally vector-op inputs; a list of
                   entries with ``layers``/``kinds`` filters gives per-layer mixed precision (later
                   entries win)

Passes 1-3 change the model and rebuild it; 4-5 annotate tensors. Semantics: ``docs/compression.md``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from workloads.errors import InputError, show_value
from workloads.ir import GemmOp, Op, TensorSpec, VectorOp, Workload
from workloads.modelconfig import ModelConfig
from workloads.schema import from_dict, load_yaml, path_exists, spec_field

RECIPE_DIR = Path(__file__).resolve().parent / "recipes"
NO_RECIPE = ("", "none", "dense")  # accepted everywhere a recipe is: the identity (no passes)

# GEMM kinds whose static weight the prune pass touches by default (embeddings, LM head, pooler,
# classifier and patch embedding are left dense, as in the pruning literature).
DEFAULT_PRUNE_KINDS = ("qkv", "attn_out", "ffn_up", "ffn_gate", "ffn_down", "bottleneck")


@dataclass(frozen=True)
class NumFormat:
    bits: int = spec_field(ge=1, le=64, doc="bits per element")
    kind: Literal["int", "fp", "bf"] = spec_field("int", doc="integer, IEEE float or bfloat")
    group_size: int = spec_field(0, ge=0, doc="weights: elements along K sharing one scale (0: per output channel)")
    scale_bits: int = spec_field(16, ge=0, le=64, doc="weights: bits stored per scale group (32: fp16 scale + zero)")


@dataclass(frozen=True)
class QuantizePass:
    weights: NumFormat | None = spec_field(None, doc="static weight operands")
    activations: NumFormat | None = spec_field(None, doc="GEMM activation inputs and outputs")
    kv_cache: NumFormat | None = spec_field(None, doc="K and V operands of attention (default: activations)")
    vector: NumFormat | None = spec_field(None, doc="inputs of vector ops (softmax, norms...); default unchanged")
    layers: tuple[int, ...] = spec_field((), doc="layer indices (negative from the end); empty = all ops")
    kinds: tuple[str, ...] = spec_field((), doc="op kinds (qkv, ffn_up, lm_head...); empty = all")


@dataclass(frozen=True)
class PrunePass:
    method: Literal["unstructured", "nm", "block"] = spec_field(doc="sparsity pattern of the kept weights")
    density: float = spec_field(1.0, gt=0, le=1, doc="kept fraction (unstructured, block)")
    n: int = spec_field(0, ge=0, doc="N of N:M (kept per group)")
    m: int = spec_field(0, ge=0, doc="M of N:M (group size along K)")
    block: tuple[int, ...] = spec_field((1, 1), ge=1, doc="block rows, cols (block method)")
    layers: tuple[int, ...] = spec_field((), doc="layer indices; empty = all")
    kinds: tuple[str, ...] = spec_field(DEFAULT_PRUNE_KINDS, doc="GEMM kinds whose weights are pruned")


@dataclass(frozen=True)
class HeadPrunePass:
    keep: float = spec_field(gt=0, le=1, doc="fraction of attention heads kept per layer")
    layers: tuple[int, ...] = spec_field((), doc="layers pruned; empty = all")


@dataclass(frozen=True)
class TokenStage:
    at: float = spec_field(ge=0, le=1, doc="depth fraction where the stage starts (layer = ceil(at * layers))")
    keep: float = spec_field(gt=0, le=1, doc="fraction of the remaining tokens kept from that layer on")


@dataclass(frozen=True)
class TokenPrunePass:
    stages: tuple[TokenStage, ...] = spec_field((), doc="cascade: each stage multiplies the kept fraction")
    keep: tuple[float, ...] = spec_field((), doc="explicit per-layer kept fraction (overrides stages)")


@dataclass(frozen=True)
class DistillPass:
    student: str = spec_field("", doc="zoo model used as the student (overrides the rest)")
    layers: int = spec_field(0, ge=0, le=1024, doc="student layers (as model configs: <= 1024)")
    layer_ratio: float = spec_field(0.0, ge=0, le=1, doc="student layers as a fraction of the teacher's")
    hidden: int = spec_field(0, ge=0, le=2**20, doc="student hidden width")
    ffn: int = spec_field(0, ge=0, le=2**22, doc="student FFN width")
    heads: int = spec_field(0, ge=0, le=2**14, doc="student heads")


@dataclass(frozen=True)
class Recipe:
    name: str = spec_field("", doc="recipe name ('+'-joined when composed)")
    description: str = spec_field("")
    distill: DistillPass | None = spec_field(None)
    heads: HeadPrunePass | None = spec_field(None)
    tokens: TokenPrunePass | None = spec_field(None)
    prune: tuple[PrunePass, ...] = spec_field(())
    quantize: tuple[QuantizePass, ...] = spec_field(())

    @property
    def structural(self) -> bool:
        """Whether the recipe changes the model graph (needs a rebuild from the config)."""
        return bool(self.distill or self.heads or self.tokens)

    def __add__(self, other: Recipe) -> Recipe:
        for f in ("distill", "heads", "tokens"):
            if getattr(self, f) is not None and getattr(other, f) is not None:
                raise InputError(f"recipes {self.name!r} and {other.name!r} both set {f}", key=f)
        return Recipe(
            name="+".join(x for x in (self.name, other.name) if x),
            description="; ".join(x for x in (self.description, other.description) if x),
            distill=self.distill or other.distill,
            heads=self.heads or other.heads,
            tokens=self.tokens or other.tokens,
            prune=self.prune + other.prune,
            quantize=self.quantize + other.quantize,
        )


def list_recipes() -> list[str]:
    """Shipped recipe names (``workloads/recipes/*.yaml``)."""
    return sorted(p.stem for p in RECIPE_DIR.glob("*.yaml"))


def recipe_from_dict(data: object, *, source: str | None = None, name: str = "") -> Recipe:
    if isinstance(data, dict):
        data = dict(data)
        for key in ("prune", "quantize"):  # a single pass may be written as a mapping
            if isinstance(data.get(key), dict):
                data[key] = [data[key]]
    r = from_dict(Recipe, data, source=source)
    for i, p in enumerate(r.prune):
        where = f"prune[{i}]"
        if p.method == "nm" and not (0 < p.n <= p.m):
            raise InputError(f"N:M needs 0 < n <= m, got {p.n}:{p.m}", source=source, key=where)
        if p.method == "block" and len(p.block) != 2:
            raise InputError(f"block needs [rows, cols], got {list(p.block)}", source=source, key=where)
        if p.method != "nm" and p.density >= 1.0:
            raise InputError(f"density={p.density} prunes nothing (allowed: 0 < density < 1)", source=source,
                             key=f"{where}.density")
    if r.tokens is not None and not (r.tokens.stages or r.tokens.keep):
        raise InputError("token pruning needs stages or keep", source=source, key="tokens")
    if r.distill is not None:
        d = r.distill
        if not (d.student or d.layers or d.layer_ratio or d.hidden or d.ffn or d.heads):
            raise InputError("distill needs a student or a smaller dimension", source=source, key="distill")
    if not r.name and name:
        r = dataclasses.replace(r, name=name)
    return r


def load_recipe(name: str | Path | Recipe) -> Recipe:
    """A shipped recipe name, a YAML path, or several joined by ``+`` (``"w8a8+nm-2of4"``)."""
    if isinstance(name, Recipe):
        return name
    text = str(name)
    if text.strip().lower() in NO_RECIPE:
        return Recipe()
    p = Path(text)
    if p.suffix in (".yaml", ".yml") and path_exists(p):
        return recipe_from_dict(load_yaml(p), source=str(p), name=p.stem)
    if "+" in text:
        if any(not part.strip() for part in text.split("+")):
            raise InputError(f"{show_value(text)} has an empty part (allowed: NAME or NAME+NAME, e.g. w8a8+nm-2of4)",
                             key="recipe")
        parts = [load_recipe(part.strip()) for part in text.split("+")]
        out = parts[0]
        for r in parts[1:]:
            out = out + r
        return out
    path = RECIPE_DIR / f"{text}.yaml"
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", text) or not path.exists():
        if p.suffix in (".yaml", ".yml"):
            raise InputError("no such recipe file", source=text, key="recipe")
        raise InputError(
            f"unknown recipe {show_value(text)} (allowed: {', '.join(list_recipes())}, a YAML file, or '+'-joined)",
            key="recipe",
        )
    return recipe_from_dict(load_yaml(path), source=str(path), name=text)


# -- structural passes -----------------------------------------------------------------------

def student_config(cfg: ModelConfig, d: DistillPass) -> ModelConfig:
    """The distillation student of ``cfg``."""
    if d.student:
        from workloads.zoo import load_model_config

        student = load_model_config(d.student)
        if student.family != cfg.family:
            raise InputError(f"student {student.name} is a {student.family} model, teacher {cfg.name} a {cfg.family}",
                             key="distill.student")
        return student
    layers = d.layers or (max(1, round(cfg.layers * d.layer_ratio)) if d.layer_ratio else cfg.layers)
    hidden = d.hidden or cfg.hidden
    heads = d.heads or cfg.heads
    kv = cfg.kv_heads if cfg.kv_heads != cfg.heads else heads
    if heads % kv:
        kv = heads
    changes: dict[str, object] = dict(name=f"{cfg.name}~distil", layers=layers, hidden=hidden, heads=heads,
                                      kv_heads=kv, ffn=d.ffn or (cfg.ffn * hidden // cfg.hidden),
                                      head_dim=0 if (d.hidden or d.heads) else cfg.head_dim)
    if cfg.bottleneck and d.hidden:
        changes["bottleneck"] = cfg.bottleneck * hidden // cfg.hidden
    try:
        return cfg.with_(**changes)
    except InputError as exc:
        raise InputError(f"student config invalid: {exc.bare_message}", key="distill") from None


def _layer_set(layers: Sequence[int], n_layers: int) -> set[int]:
    out = set()
    for i in layers:
        j = i + n_layers if i < 0 else i
        if not 0 <= j < n_layers:
            raise InputError(f"layer {i} out of range (allowed: -{n_layers}..{n_layers - 1})", key="layers")
        out.add(j)
    return out


def layer_heads(cfg: ModelConfig, p: HeadPrunePass) -> tuple[int, ...]:
    """Query heads kept per layer: whole KV groups, at least one."""
    chosen = _layer_set(p.layers, cfg.layers) if p.layers else set(range(cfg.layers))
    kept_kv = max(1, round(cfg.kv_heads * p.keep))
    return tuple(kept_kv * cfg.group if i in chosen else cfg.heads for i in range(cfg.layers))


def layer_keep(n_layers: int, p: TokenPrunePass) -> tuple[float, ...]:
    """Kept-token fraction per layer (cumulative product of the stages reached)."""
    if p.keep:
        if len(p.keep) == n_layers:
            return tuple(p.keep)
        # resample a schedule written for another depth by relative position
        return tuple(p.keep[min(len(p.keep) - 1, (i * len(p.keep)) // n_layers)] for i in range(n_layers))
    out = []
    for i in range(n_layers):
        r = 1.0
        for s in p.stages:
            start = -(-int(round(s.at * n_layers * 1e6)) // 1_000_000)  # ceil(at * layers), float-safe
            if i >= start:
                r *= s.keep
        out.append(r)
    return tuple(out)


# -- annotation passes -----------------------------------------------------------------------

def _match(op: Op, layers: set[int] | None, kinds: Sequence[str]) -> bool:
    if kinds and op.kind not in kinds:
        return False
    if layers is not None and op.layer not in layers:
        return False
    return True


def prune_pass(w: Workload, p: PrunePass, n_layers: int) -> Workload:
    layers = _layer_set(p.layers, n_layers) if p.layers else None
    if p.method == "nm":
        spec = dict(pattern="nm", nm_n=p.n, nm_m=p.m, density=p.n / p.m)
    elif p.method == "block":
        spec = dict(pattern="block", density=p.density, block_shape=(p.block[0], p.block[1]))
    else:
        spec = dict(pattern="unstructured", density=p.density)

    def f(op: Op) -> Op:
        if isinstance(op, GemmOp) and op.b_is_weight and _match(op, layers, p.kinds):
            return op.with_(b=op.b.with_(tile_shape=None, tile_occupancy=None, **spec))
        return op

    return w.map_ops(f)


def quantize_pass(w: Workload, q: QuantizePass, n_layers: int) -> Workload:
    layers = _layer_set(q.layers, n_layers) if q.layers else None

    def fmt(t: TensorSpec, nf: NumFormat | None) -> TensorSpec:
        if nf is None:
            return t
        if nf.group_size or nf.scale_bits != 16:
            return t.with_(bits=nf.bits, kind=nf.kind, group_size=nf.group_size, scale_bits=nf.scale_bits)
        return t.with_(bits=nf.bits, kind=nf.kind)

    kv = q.kv_cache or q.activations

    def f(op: Op) -> Op:
        if not _match(op, layers, q.kinds):
            return op
        if isinstance(op, VectorOp):
            return op.with_(x=fmt(op.x, q.vector))
        if op.b_is_weight:
            return op.with_(a=fmt(op.a, q.activations), b=fmt(op.b, q.weights), out=fmt(op.out, q.activations))
        if op.kind == "attn_av":  # probabilities x V (V from the cache)
            return op.with_(a=fmt(op.a, q.activations), b=fmt(op.b, kv), out=fmt(op.out, q.activations))
        if op.kind == "attn_qk":  # Q x K^T (K from the cache)
            return op.with_(a=fmt(op.a, q.activations), b=fmt(op.b, kv), out=fmt(op.out, q.activations))
        return op.with_(a=fmt(op.a, q.activations), b=fmt(op.b, q.activations), out=fmt(op.out, q.activations))

    return w.map_ops(f)


# -- entry point -----------------------------------------------------------------------------

def _build_args(w: Workload) -> dict[str, object]:
    """The build_workload keyword arguments a workload was built with."""
    vision = bool(w.image_size)
    return dict(
        seq_len=(w.seq_len or None) if w.phase != "decode" and not vision else None,
        batch=w.batch, phase=w.phase,
        context=w.context if w.phase == "decode" else None,
        new_tokens=max(1, w.new_tokens), image_size=w.image_size or None,
    )


def apply_recipe(
    target: Workload | ModelConfig | str,
    recipe: str | Path | Recipe,
    *,
    seq_len: int | None = None,
    batch: int = 1,
    phase: str = "prefill",
    context: int | None = None,
    new_tokens: int = 1,
    image_size: int | None = None,
) -> Workload:
    """Compress a model or a workload with ``recipe`` (name, path, ``+``-joined names or Recipe).

    ``recipe`` may be ``""`` / ``"none"`` / ``"dense"``: no passes (the model's own workload).
    ``target`` is either

    * a zoo name / YAML path / :class:`ModelConfig`: the workload is built with the keyword
      arguments (same meaning and defaults as :func:`workloads.zoo.build_workload`) from the
      distilled / head-pruned / token-pruned config, then annotated; or
    * a :class:`Workload`: annotation-only recipes (prune, quantize) apply to it directly (also to
      traced workloads); structural recipes rebuild it from ``workload.config`` (or its zoo
      ``model`` name) with the workload's own build arguments, and the keyword arguments are ignored.
      A structural recipe on an already-annotated workload is recomposed (earlier recipe first,
      then this one) and rebuilt, so no annotation is lost.

    The result's ``recipe`` field lists the applied recipe names ('+'-joined, appended to any
    earlier ones) and ``params`` is the compressed model's parameter count (pruned weights are still
    counted as parameters; their density is in the op tensors).
    """
    from workloads.builders import build
    from workloads.zoo import load_model_config

    r = load_recipe(recipe)
    if isinstance(target, Workload) and target.recipe and r.structural:
        # a structural pass must come before the annotations already applied: recompose and rebuild
        prior = load_recipe(target.recipe)
        base = target.config if isinstance(target.config, ModelConfig) and not prior.structural else None
        if base is None and not prior.structural and target.model:
            base = load_model_config(target.model)
        if base is None:
            raise InputError(
                f"workload {target.name!r} already has structural recipe {target.recipe!r}; "
                f"apply {target.recipe + '+' + r.name!r} to the model instead",
                key="recipe",
            )
        out = apply_recipe(base, prior + r, **_build_args(target))
        return out.with_(name=target.name)
    if isinstance(target, Workload):
        w0 = target
        cfg = target.config if isinstance(target.config, ModelConfig) else None
        if r.structural:
            if cfg is None:
                if not target.model:
                    raise InputError(f"recipe {r.name!r} changes the model; workload {target.name!r} has no config",
                                     key="recipe")
                cfg = load_model_config(target.model)
            kwargs = _build_args(target)
        n_layers = cfg.layers if cfg is not None else 1 + max((o.layer + o.layers - 1 for o in target.ops), default=0)
    else:
        cfg = load_model_config(target) if not isinstance(target, ModelConfig) else target
        kwargs = dict(seq_len=seq_len, batch=batch, phase=phase, context=context, new_tokens=new_tokens,
                      image_size=image_size)
        w0 = None
    if w0 is None or r.structural:
        assert cfg is not None
        if r.distill is not None:
            cfg = student_config(cfg, r.distill)
        heads = layer_heads(cfg, r.heads) if r.heads is not None else None
        keep = layer_keep(cfg.layers, r.tokens) if r.tokens is not None else None
        w = build(cfg, layer_heads=heads, layer_keep=keep, **kwargs)  # type: ignore[arg-type]
        if w0 is not None:
            w = w.with_(name=w0.name)
        n_layers = cfg.layers
    else:
        w = w0
    if r.prune or r.quantize:
        w = w.expand_layers()
        for p in r.prune:
            w = prune_pass(w, p, n_layers)
        for q in r.quantize:
            w = quantize_pass(w, q, n_layers)
        w = w.compact()
    prior = w0.recipe if w0 is not None else ""
    return w.with_(recipe="+".join(x for x in (prior, r.name) if x))
