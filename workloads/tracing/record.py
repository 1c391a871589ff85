"""Dispatch-level recording of a PyTorch forward pass into a Workload (see package docstring)."""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

from workloads.ir import GemmOp, Op, TensorSpec, VectorOp, Workload

_LAYER_RE = re.compile(r"(?:^|\.)(?:layer|layers|h|block|blocks)\.(\d+)(?:\.|$)")

# module-path patterns -> op kind (first match wins; matched against the path with the layer prefix removed)
_KIND_RULES: tuple[tuple[str, str], ...] = (
    (r"bottleneck\.(input|attention)\.dense$|output\.bottleneck\.dense$", "bottleneck"),
    (r"(^|\.)(query|key|value|q_proj|k_proj|v_proj|q_lin|k_lin|v_lin|qkv|c_attn)$", "qkv"),
    (r"attention\.output\.dense$|attention\.dense$|(^|\.)(o_proj|out_proj|out_lin)$|attn\.c_proj$", "attn_out"),
    (r"(^|\.)gate_proj$", "ffn_gate"),
    (r"intermediate\.dense$|(^|\.)(fc1|c_fc|up_proj|lin1|ffn)$", "ffn_up"),
    (r"(^|\.)output\.dense$|(^|\.)(fc2|down_proj|lin2|ffn_output)$|mlp\.c_proj$", "ffn_down"),
    (r"(^|\.)lm_head$", "lm_head"),
    (r"(^|\.)pooler(\.dense)?$", "pooler"),
    (r"(^|\.)(classifier|cls_classifier|distillation_classifier)$", "classifier"),
    (r"patch_embeddings(\.projection)?$", "patch_embed"),
    (r"embedding_hidden_mapping_in$|embedding_transformation$", "embed_proj"),
)
_GEMM_OPS = {"mm", "addmm", "bmm", "baddbmm", "convolution"}
# leaf modules recorded as one vector op (their inner aten ops are not recorded separately)
_VECTOR_MODULES: tuple[tuple[str, str, str], ...] = (
    ("RMSNorm", "rmsnorm", "rmsnorm"),
    ("NoNorm", "mul", "nonorm"),
    ("LayerNorm", "layernorm", "layernorm"),
    ("GELU", "gelu", "gelu"),
    ("SiLU", "silu", "silu"),
    ("ReLU", "add", "relu"),
    ("Tanh", "gelu", "tanh"),
)
_VECTOR_ATEN = {
    "_softmax": ("softmax", "softmax"), "softmax": ("softmax", "softmax"),
    "native_layer_norm": ("layernorm", "layernorm"), "gelu": ("gelu", "gelu"), "silu": ("silu", "silu"),
    "relu": ("add", "relu"), "tanh": ("gelu", "tanh"), "add": ("add", "add"), "mul": ("mul", "mul"),
    "embedding": ("embedding", "embedding"),
}


def op_kind(path: str) -> str:
    for pattern, kind in _KIND_RULES:
        if re.search(pattern, path):
            return kind
    return "gemm"


def _split_layer(path: str) -> tuple[int, str]:
    m = _LAYER_RE.search(path)
    if not m:
        return -1, path
    return int(m.group(1)), path[m.end():] if m.end() < len(path) else path


def _dtype_spec(t: Any) -> TensorSpec:
    import torch

    if t.dtype in (torch.int8, torch.uint8, torch.qint8, torch.quint8):
        return TensorSpec(bits=8, kind="int")
    if t.dtype == torch.bfloat16:
        return TensorSpec(bits=16, kind="bf")
    if t.is_floating_point():
        return TensorSpec(bits=t.element_size() * 8, kind="fp")
    return TensorSpec(bits=t.element_size() * 8, kind="int")


def _levels_bits(t: Any, per_row: bool) -> int | None:
    """Bits of a symmetrically fake-quantised tensor (per row / per tensor), else ``None``.

    A tensor is on a b-bit grid when every value is an integer multiple of ``amax / (2^(b-1) - 1)``
    (the scale of symmetric round-to-nearest quantisation); the smallest such b in 2..8 is returned.
    Random floating-point data never passes (tolerance 1e-3 of a step, 64 rows sampled).
    """
    import torch

    x = t.detach()
    if x.is_meta or x.numel() < 64:
        return None
    x = x.reshape(x.shape[0], -1) if per_row and x.dim() >= 2 else x.reshape(1, -1)
    x = x[: min(64, x.shape[0])].float()
    amax = x.abs().amax(dim=1, keepdim=True)
    if bool((amax == 0).all()):
        return None
    amax = torch.where(amax == 0, torch.ones_like(amax), amax)
    for bits in range(2, 9):
        r = x / (amax / (2 ** (bits - 1) - 1))
        if bool(((r - r.round()).abs() < 1e-3).all()):
            return bits
    return None


def _narrow_float(t: Any, spec: TensorSpec) -> TensorSpec:
    """fp32 values that are all exactly fp16 (or bf16) numbers are reported as 16-bit."""
    import torch

    if t.is_meta or t.dtype != torch.float32 or t.numel() == 0:
        return spec
    if torch.equal(t.half().float(), t):
        return spec.with_(bits=16, kind="fp")
    if torch.equal(t.bfloat16().float(), t):
        return spec.with_(bits=16, kind="bf")
    return spec


def weight_spec(w_kn: Any, *, tile_shape: tuple[int, int] | None = None, nm: tuple[int, int] = (2, 4)) -> TensorSpec:
    """TensorSpec of a real weight given as a K x N tensor (reduction dim first).

    ``density`` = non-zero fraction; ``pattern`` = ``nm`` if every group of ``nm[1]`` consecutive
    K elements of each output column has at most ``nm[0]`` non-zeros (and some zeros exist), ``block``
    if all zeros fall in whole 8x8 (then 4x4) blocks, else ``unstructured`` (``dense`` if no zeros);
    ``tile_occupancy`` = non-zero fraction of each ``tile_shape`` (K rows x N cols) tile, row-major;
    bits/kind from the dtype, or from the distinct levels per output channel for fake-quantised
    float weights.
    """
    import torch

    w = w_kn.detach()
    base = _dtype_spec(w)
    bits = _levels_bits(w.t(), per_row=True) if w.is_floating_point() else None
    if bits is not None:
        base = base.with_(bits=bits, kind="int")
    else:
        base = _narrow_float(w, base)
    if w.is_meta:
        return base
    nz = w != 0
    density = float(nz.float().mean())
    spec = base.with_(density=density)
    if density < 1.0:
        K, N = w.shape
        n, m = nm
        pattern = "unstructured"
        if K % m == 0 and int(nz.reshape(K // m, m, N).sum(1).max()) <= n:
            spec = spec.with_(pattern="nm", nm_n=n, nm_m=m)
            pattern = "nm"
        if pattern == "unstructured":
            for b in (8, 4):
                if K % b == 0 and N % b == 0:
                    blocks = nz.reshape(K // b, b, N // b, b).any(3).any(1)
                    if int(blocks.sum()) * b * b == int(nz.sum()) or float(blocks.float().mean()) <= density * 1.0001:
                        if not bool(blocks.all()):
                            spec = spec.with_(pattern="block", block_shape=(b, b))
                            pattern = "block"
                            break
        if pattern == "unstructured":
            spec = spec.with_(pattern="unstructured")
    if tile_shape is not None:
        tr, tc = tile_shape
        K, N = w.shape
        pad = torch.zeros((math.ceil(K / tr) * tr, math.ceil(N / tc) * tc), dtype=torch.float32)
        pad[:K, :N] = nz.float()
        cnt = pad.reshape(pad.shape[0] // tr, tr, pad.shape[1] // tc, tc).sum((1, 3))
        # occupancy relative to the real (unpadded) extent of each tile
        rows = torch.full((cnt.shape[0],), float(tr))
        rows[-1] = K - tr * (cnt.shape[0] - 1)
        cols = torch.full((cnt.shape[1],), float(tc))
        cols[-1] = N - tc * (cnt.shape[1] - 1)
        occ = (cnt / (rows[:, None] * cols[None, :])).flatten()
        spec = spec.with_(tile_shape=(tr, tc), tile_occupancy=tuple(round(float(v), 6) for v in occ))
    return spec


def trace_module(
    module: Any,
    *args: Any,
    name: str = "",
    model: str = "",
    tile_shape: tuple[int, int] | None = None,
    read_activation_bits: bool = True,
    compact: bool = True,
    **kwargs: Any,
) -> Workload:
    """Run ``module(*args, **kwargs)`` under a recording dispatch mode and return its workload.

    GEMM operands: ``b`` is a static weight when the issuing module is a Linear / Conv1D / Conv2d
    (its TensorSpec is measured with :func:`weight_spec` from the real weight, ``tile_shape`` giving
    per-tile occupancy); otherwise both operands are activations (attention QK^T and AV, whose kind
    is set by call order inside the attention module). Works on meta tensors (shapes only).
    """
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    stack: list[tuple[str, Any, dict]] = []
    ops: list[Op] = []
    weight_cache: dict[int, TensorSpec] = {}
    names = {id(m): n for n, m in module.named_modules()}

    def pre_hook(mod: Any, _inp: Any) -> None:
        stack.append((names.get(id(mod), ""), mod, {"bmm": 0}))

    def post_hook(mod: Any, _inp: Any, out: Any) -> None:
        path, _m, _ = stack.pop()
        cls = type(mod).__name__
        if not _is_vector_leaf(cls) or in_vector_leaf():
            return
        t = out[0] if isinstance(out, tuple) else out
        if not isinstance(t, torch.Tensor):
            return
        func, kind = _vector_class(cls)
        layer, rel = _split_layer(path)
        reduce_dim = int(t.shape[-1]) if func in ("layernorm", "rmsnorm") else 0
        ops.append(VectorOp(name=_opname(layer, rel or path), func=func, elements=int(t.numel()), kind=kind,
                            x=_dtype_spec(t), reduce_dim=reduce_dim, layer=layer))

    def in_vector_leaf() -> bool:
        return any(_is_vector_leaf(type(m).__name__) for _p, m, _c in stack)

    class Recorder(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            opname = func.overloadpacket.__name__
            try:
                if opname in _GEMM_OPS:
                    _record_gemm(opname, args, out)
                elif opname in _VECTOR_ATEN and not in_vector_leaf():
                    _record_vector(opname, args, out)
            except Exception as exc:  # pragma: no cover - a recorder bug must not hide the model's result
                raise RuntimeError(f"tracing {opname} failed: {exc}") from exc
            return out

    def _current() -> tuple[str, Any, dict]:
        return stack[-1] if stack else ("", module, {"bmm": 0})

    def _record_gemm(opname: str, a: tuple, out: Any) -> None:
        path, mod, counters = _current()
        layer, rel = _split_layer(path)
        cls = type(mod).__name__
        if opname == "convolution":
            x, wt = a[0], a[1]
            groups = int(a[8])
            n_img = int(x.shape[0])
            out_px = int(math.prod(out.shape[2:]))
            m, n, k = n_img * out_px, int(wt.shape[0]) // groups, int(math.prod(wt.shape[1:]))
            batch = groups
            b_spec = _wspec(wt, lambda t: t.reshape(t.shape[0], -1).t())
            ops.append(GemmOp(name=_opname(layer, rel), m=m, n=n, k=k, kind=op_kind(path), batch=batch,
                              a=_aspec(x), b=b_spec, out=_dtype_spec(out), layer=layer))
            return
        if opname in ("addmm", "baddbmm"):
            x, w = a[1], a[2]
        else:
            x, w = a[0], a[1]
        if opname in ("mm", "addmm"):
            batch, (m, k), n = 1, x.shape, int(w.shape[1])
        else:
            batch, m, k, n = int(x.shape[0]), int(x.shape[1]), int(x.shape[2]), int(w.shape[2])
        is_weight = opname in ("mm", "addmm") and cls in ("Linear", "Conv1D", "NonDynamicallyQuantizableLinear")
        if is_weight:
            param = mod.weight
            # nn.Linear stores N x K, GPT-2's Conv1D K x N
            b_spec = _wspec(param, (lambda t: t) if cls == "Conv1D" else (lambda t: t.t()))
            kind = op_kind(path)
            ops.append(GemmOp(name=_opname(layer, rel), m=int(m), n=n, k=int(k), kind=kind, batch=batch,
                              a=_aspec(x), b=b_spec, out=_dtype_spec(out), layer=layer))
        else:
            counters["bmm"] += 1
            kind = {1: "attn_qk", 2: "attn_av"}.get(counters["bmm"], "bmm") if opname in ("bmm", "baddbmm") else "mm"
            ops.append(GemmOp(name=_opname(layer, f"{rel}.{kind}" if rel else kind), m=int(m), n=n, k=int(k),
                              kind=kind, batch=batch, a=_aspec(x), b=_aspec(w), out=_dtype_spec(out),
                              b_is_weight=False, layer=layer))

    def _record_vector(opname: str, a: tuple, out: Any) -> None:
        path, _mod, _ = _current()
        layer, rel = _split_layer(path)
        func, kind = _VECTOR_ATEN[opname]
        t = out[0] if isinstance(out, tuple) else out
        if not isinstance(t, torch.Tensor) or (func != "embedding" and not t.is_floating_point()):
            return
        if opname == "add" and not (isinstance(a[1], torch.Tensor) and a[1].shape == a[0].shape):
            kind = "add_bcast"  # mask / bias broadcasts
        elif opname == "add":
            kind = "residual"
        reduce_dim = int(t.shape[-1]) if func in ("softmax", "layernorm") else 0
        ops.append(VectorOp(name=_opname(layer, f"{rel}.{opname}" if rel else opname), func=func,  # type: ignore[arg-type]
                            elements=max(1, int(t.numel())), kind=kind, x=_dtype_spec(a[0] if func != "embedding" else t),
                            reduce_dim=reduce_dim, layer=layer))

    def _wspec(param: Any, to_kn: Any) -> TensorSpec:
        key = id(param)
        if key not in weight_cache:
            weight_cache[key] = weight_spec(to_kn(param), tile_shape=tile_shape)
        return weight_cache[key]

    def _aspec(x: Any) -> TensorSpec:
        spec = _dtype_spec(x)
        if read_activation_bits and x.is_floating_point() and not x.is_meta:
            bits = _levels_bits(x, per_row=False)
            spec = spec.with_(bits=bits, kind="int") if bits is not None else _narrow_float(x, spec)
        return spec

    handles = []
    for mod in module.modules():
        handles.append(mod.register_forward_pre_hook(pre_hook))
        handles.append(mod.register_forward_hook(post_hook))
    try:
        with torch.no_grad(), Recorder():
            module(*args, **kwargs)
    finally:
        for h in handles:
            h.remove()
    n_params = sum(p.numel() for p in module.parameters())
    w = Workload(name=name or type(module).__name__, ops=tuple(ops), model=model, params=int(n_params))
    return w.compact() if compact else w


def _is_vector_leaf(cls: str) -> bool:
    return any(key in cls for key, _f, _k in _VECTOR_MODULES) or cls.endswith("GELUActivation")


def _vector_class(cls: str) -> tuple[str, str]:
    for key, func, kind in _VECTOR_MODULES:
        if key in cls:
            return func, kind
    return "gelu", "gelu"


def _opname(layer: int, rel: str) -> str:
    return f"L{layer}.{rel}" if layer >= 0 else rel


def weight_summary(w: Workload, kinds: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Parameter-weighted density, sparsity patterns and bit widths of a traced workload's weights."""
    from workloads.compress import DEFAULT_PRUNE_KINDS

    kinds = kinds or DEFAULT_PRUNE_KINDS
    gs = [g for g in w.gemms if g.b_is_weight and g.kind in kinds]
    total = sum(g.weight_params for g in gs) or 1
    return {
        "weight_density": round(sum(g.b.density * g.weight_params for g in gs) / total, 6),
        "weight_patterns": sorted({g.b.pattern for g in gs}),
        "weight_bits": sorted({f"{g.b.kind}{g.b.bits}" for g in gs}),
        "activation_bits": sorted({f"{g.a.kind}{g.a.bits}" for g in gs}),
    }


def gemm_signature(w: Workload) -> dict[tuple, int]:
    """Shape signature that is equal for a built and a traced workload of the same model.

    Weight GEMMs: ``(kind, m, k) -> sum of n`` (fused and separate q/k/v projections agree);
    activation GEMMs: ``(kind, n, k) -> sum of batch * m`` (GQA's stacked query heads and
    ``repeat_kv``'s per-head products agree). Counts and steps are multiplied in.
    """
    sig: Counter = Counter()
    for g in w.gemms:
        ms, ns, ks = g.dims()
        for m, n, k in zip(ms.tolist(), ns.tolist(), ks.tolist()):
            if g.b_is_weight:
                sig[(g.kind, m, k)] += n * g.batch * g.count
            else:
                sig[(g.kind, n, k)] += m * g.batch * g.count
    return dict(sig)
