"""Operator IR: what a transformer asks of an accelerator, with no hardware knowledge.

A :class:`Workload` is an ordered tuple of op records. Each record is a :class:`GemmOp` or a
:class:`VectorOp` and stands for ``count`` identical instances (48 identical projections are one
record with ``count=48``) repeated over ``steps`` decode steps whose sizes grow linearly
(``n + s * n_per_step`` for step ``s`` in ``0..steps-1``), so Llama-2-7B with 2048 decode steps is a
few dozen records, not a million objects. A record that folds identical blocks of consecutive
layers has ``layer`` = the first of them and ``layers`` = how many (``count`` includes them);
:meth:`Workload.expand_layers` and :meth:`Workload.compact` convert losslessly between the forms.

GEMM convention: ``out(M x N) = a(M x K) . b(K x N)``, ``batch`` independent such products (KV heads x
batch for attention; with GQA the query heads sharing a KV head are stacked into M), each
``count`` times per step. ``b_is_weight`` says whether ``b`` is a static
weight (can be pruned/quantized offline, read from DRAM once per use) or a dynamic activation
(QK^T, AV).

Every operand carries a :class:`TensorSpec`: bits, number kind, density, sparsity pattern and
optionally a per-tile occupancy (fraction of non-zeros in each tile of ``tile_shape``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from workloads.errors import InputError

if TYPE_CHECKING:
    pass

NumberKind = Literal["int", "fp", "bf"]
SparsityPattern = Literal["dense", "unstructured", "nm", "block"]
Phase = Literal["encode", "prefill", "decode"]
VectorFunc = Literal[
    "softmax", "layernorm", "rmsnorm", "gelu", "silu", "swiglu", "add", "mul", "rope", "embedding"
]
VECTOR_FUNCS: tuple[str, ...] = (
    "softmax", "layernorm", "rmsnorm", "gelu", "silu", "swiglu", "add", "mul", "rope", "embedding",
)


@dataclass(frozen=True)
class TensorSpec:
    """Numeric format and sparsity of one operand."""

    bits: int = 16
    kind: NumberKind = "fp"
    density: float = 1.0
    pattern: SparsityPattern = "dense"
    nm_n: int = 0
    nm_m: int = 0
    block_shape: tuple[int, int] = (1, 1)
    tile_shape: tuple[int, int] | None = None
    tile_occupancy: tuple[float, ...] | None = None
    group_size: int = 0  # quantised weights: elements along K sharing one scale (0: one per output channel)
    scale_bits: int = 16  # bits stored per scale group (16: fp16 scale; 32: fp16 scale + zero point)

    def __post_init__(self) -> None:
        if self.group_size < 0 or not 0 <= self.scale_bits <= 64:
            raise InputError(f"group_size={self.group_size}, scale_bits={self.scale_bits} (allowed: group_size >= 0, "
                             "scale_bits 0..64)", key="group_size")
        if not 1 <= self.bits <= 64:
            raise InputError(f"bits={self.bits} out of range (allowed: 1..64)", key="bits")
        if not 0.0 <= self.density <= 1.0:
            raise InputError(f"density={self.density} out of range (allowed: 0..1)", key="density")
        if self.pattern == "nm" and not (0 < self.nm_n <= self.nm_m):
            raise InputError(f"N:M pattern needs 0 < n <= m, got {self.nm_n}:{self.nm_m}", key="nm")
        if (self.tile_occupancy is None) != (self.tile_shape is None):
            raise InputError("tile_occupancy and tile_shape go together", key="tile_occupancy")

    @property
    def bytes_per_element(self) -> float:
        return self.bits / 8.0

    @property
    def is_sparse(self) -> bool:
        return self.pattern != "dense" and self.density < 1.0

    def with_(self, **changes: object) -> TensorSpec:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class GemmOp:
    """``batch`` products out(M x N) = a(M x K) . b(K x N), ``count`` times per step."""

    name: str
    m: int
    n: int
    k: int
    kind: str = "gemm"  # op kind label: qkv, attn_qk, attn_av, attn_out, ffn_up, ffn_down, lm_head, ...
    batch: int = 1
    count: int = 1
    steps: int = 1
    m_per_step: int = 0
    n_per_step: int = 0
    k_per_step: int = 0
    a: TensorSpec = TensorSpec()
    b: TensorSpec = TensorSpec()
    out: TensorSpec = TensorSpec()
    b_is_weight: bool = True
    layer: int = -1  # first layer covered; -1: not tied to a layer (embedding, LM head)
    phase: Phase = "prefill"
    layers: int = 1  # consecutive layers folded into this record (count includes them)
    a_elems: int = 0  # distinct elements of A per product when fewer than m * k: a convolution's input
    # feature map (ifmap h x w x channels), of which A is the implicit im2col view; 0: m * k

    def __post_init__(self) -> None:
        if self.a_elems < 0:
            raise InputError(f"a_elems={self.a_elems} is out of range (allowed: >= 0)", key=self.name)
        for f in ("m", "n", "k", "batch", "count", "steps", "layers"):
            if getattr(self, f) < 1:
                raise InputError(f"{f}={getattr(self, f)} (allowed: >= 1)", key=f"{self.name}.{f}")
        if self.count % self.layers:
            raise InputError(f"count={self.count} is not a multiple of layers={self.layers}", key=self.name)

    def dims(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-step (M, N, K) arrays, length ``steps``."""
        s = np.arange(self.steps, dtype=np.int64)
        return (self.m + s * self.m_per_step, self.n + s * self.n_per_step, self.k + s * self.k_per_step)

    @property
    def instances(self) -> int:
        """How many single GEMMs this record stands for over all steps."""
        return self.batch * self.count * self.steps

    @property
    def macs(self) -> int:
        m, n, k = self.dims()
        return int((m * n * k).sum()) * self.batch * self.count

    @property
    def weight_params(self) -> int:
        """Parameters of the static weight (0 for activation x activation GEMMs)."""
        return self.k * self.n * self.batch * self.count if self.b_is_weight else 0

    def with_(self, **changes: object) -> GemmOp:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class VectorOp:
    """An elementwise/reduction op over ``elements`` elements, ``count`` times per step."""

    name: str
    func: VectorFunc
    elements: int
    kind: str = ""  # op kind label; defaults to func
    count: int = 1
    steps: int = 1
    elements_per_step: int = 0
    x: TensorSpec = TensorSpec()
    reduce_dim: int = 0  # length of the reduced axis (softmax row, layernorm hidden), 0 if elementwise
    layer: int = -1
    phase: Phase = "prefill"
    layers: int = 1  # consecutive layers folded into this record (count includes them)

    def __post_init__(self) -> None:
        if self.func not in VECTOR_FUNCS:
            raise InputError(f"{self.func!r} (allowed: {', '.join(VECTOR_FUNCS)})", key=f"{self.name}.func")
        if self.elements < 1 or self.count < 1 or self.steps < 1 or self.layers < 1:
            raise InputError("elements, count, steps and layers must be >= 1", key=self.name)
        if self.count % self.layers:
            raise InputError(f"count={self.count} is not a multiple of layers={self.layers}", key=self.name)
        if not self.kind:
            object.__setattr__(self, "kind", self.func)

    @property
    def total_elements(self) -> int:
        s = self.steps
        return (self.elements * s + self.elements_per_step * s * (s - 1) // 2) * self.count

    def with_(self, **changes: object) -> VectorOp:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


Op = GemmOp | VectorOp


@dataclass(frozen=True)
class Workload:
    """An ordered set of op records plus what it was built from.

    ``context``, ``new_tokens`` and ``image_size`` record the build arguments (0: not applicable);
    ``config`` keeps the :class:`workloads.zoo.ModelConfig` it was built from (not serialised, not
    compared) so that structural compression passes can rebuild it.
    """

    name: str
    ops: tuple[Op, ...]
    model: str = ""
    phase: Phase = "prefill"
    batch: int = 1
    seq_len: int = 0
    params: int = 0  # model parameters (weights), for reports
    recipe: str = ""  # compression recipe(s) applied, '+'-joined
    context: int = 0  # decode: tokens already in the KV cache
    new_tokens: int = 0  # decode: generated tokens (steps)
    image_size: int = 0  # vision models: input resolution in pixels
    config: object = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def gemms(self) -> tuple[GemmOp, ...]:
        return tuple(o for o in self.ops if isinstance(o, GemmOp))

    @property
    def vector_ops(self) -> tuple[VectorOp, ...]:
        return tuple(o for o in self.ops if isinstance(o, VectorOp))

    @property
    def macs(self) -> int:
        return sum(g.macs for g in self.gemms)

    @property
    def flops(self) -> int:
        """NLP/LLM convention: 2 x MACs (vision papers call MACs "FLOPs"; see docs/workloads.md)."""
        return 2 * self.macs

    @property
    def vector_elements(self) -> int:
        return sum(v.total_elements for v in self.vector_ops)

    def macs_by_kind(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for g in self.gemms:
            out[g.kind] = out.get(g.kind, 0) + g.macs
        return out

    def vector_elements_by_kind(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for v in self.vector_ops:
            out[v.kind] = out.get(v.kind, 0) + v.total_elements
        return out

    def with_(self, **changes: object) -> Workload:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def map_ops(self, fn: Callable[[Op], Op]) -> Workload:
        """A new workload with ``fn`` applied to every op record."""
        return self.with_(ops=tuple(fn(o) for o in self.ops))

    def expand_layers(self) -> Workload:
        """Split records that fold several layers into one record per layer (``layers == 1``)."""
        out: list[Op] = []
        for o in self.ops:
            if o.layers == 1:
                out.append(o)
                continue
            per = o.count // o.layers
            first = max(o.layer, 0)
            out.extend(o.with_(layer=first + i, layers=1, count=per) for i in range(o.layers))
        return self.with_(ops=tuple(out))

    def compact(self) -> Workload:
        """Fold per-layer records that differ only in their layer index into one record.

        Records are grouped by everything except ``name``, ``layer``, ``layers`` and ``count``;
        a group whose layers form one contiguous run with the same per-layer count becomes one
        record (``layer`` = first layer, ``layers`` = run length). Order follows first appearance.
        """
        groups: dict[object, list[Op]] = {}
        order: list[object] = []
        for o in self.ops:
            if o.layer < 0:
                key: object = ("solo", len(order))
            else:
                key = (type(o), o.with_(name=_strip_layer(o.name), layer=0, layers=1, count=1), o.count // o.layers)
            if key not in groups:
                groups[key] = []
                order.append(key)
            groups[key].append(o)
        out: list[Op] = []
        for key in order:
            recs = groups[key]
            if len(recs) == 1:
                out.append(recs[0])
                continue
            layer_list = sorted(lay for r in recs for lay in range(r.layer, r.layer + r.layers))
            contiguous = layer_list == list(range(layer_list[0], layer_list[0] + len(layer_list)))
            if not contiguous:
                out.extend(recs)
                continue
            base = min(recs, key=lambda r: r.layer)
            name = _strip_layer(base.name)
            out.append(
                base.with_(name=name, layer=layer_list[0], layers=len(layer_list), count=sum(r.count for r in recs))
            )
        return self.with_(ops=tuple(out))


def _strip_layer(name: str) -> str:
    """``L3.qkv`` -> ``qkv`` (the builders' per-layer naming)."""
    if name.startswith("L") and "." in name and name[1 : name.index(".")].isdigit():
        return name[name.index(".") + 1 :]
    return name
