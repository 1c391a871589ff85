"""Operator IR: what a transformer asks of an accelerator, with no hardware knowledge.

A :class:`Workload` is an ordered tuple of op records. Each record is a :class:`GemmOp` or a
:class:`VectorOp` and stands for ``count`` identical instances (48 identical projections are one
record with ``count=48``) repeated over ``steps`` decode steps whose sizes grow linearly
(``n + s * n_per_step`` for step ``s`` in ``0..steps-1``), so Llama-2-7B with 2048 decode steps is a
few dozen records, not a million objects.

GEMM convention: ``out(M x N) = a(M x K) . b(K x N)``, ``batch`` independent such products (heads x
batch for attention), each ``count`` times per step. ``b_is_weight`` says whether ``b`` is a static
weight (can be pruned/quantized offline, read from DRAM once per use) or a dynamic activation
(QK^T, AV).

Every operand carries a :class:`TensorSpec`: bits, number kind, density, sparsity pattern and
optionally a per-tile occupancy (fraction of non-zeros in each tile of ``tile_shape``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np

from workloads.errors import InputError

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

    def __post_init__(self) -> None:
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
    layer: int = -1  # -1: not tied to one layer (or `count` layers folded together)
    phase: Phase = "prefill"

    def __post_init__(self) -> None:
        for f in ("m", "n", "k", "batch", "count", "steps"):
            if getattr(self, f) < 1:
                raise InputError(f"{f}={getattr(self, f)} (allowed: >= 1)", key=f"{self.name}.{f}")

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

    def __post_init__(self) -> None:
        if self.func not in VECTOR_FUNCS:
            raise InputError(f"{self.func!r} (allowed: {', '.join(VECTOR_FUNCS)})", key=f"{self.name}.func")
        if self.elements < 1 or self.count < 1 or self.steps < 1:
            raise InputError("elements, count and steps must be >= 1", key=self.name)
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
    """An ordered set of op records plus what it was built from."""

    name: str
    ops: tuple[Op, ...]
    model: str = ""
    phase: Phase = "prefill"
    batch: int = 1
    seq_len: int = 0
    params: int = 0  # model parameters (weights), for reports
    recipe: str = ""  # compression recipe(s) applied, '+'-joined

    @property
    def gemms(self) -> tuple[GemmOp, ...]:
        return tuple(o for o in self.ops if isinstance(o, GemmOp))

    @property
    def vector_ops(self) -> tuple[VectorOp, ...]:
        return tuple(o for o in self.ops if isinstance(o, VectorOp))

    @property
    def macs(self) -> int:
        return sum(g.macs for g in self.gemms)

    def macs_by_kind(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for g in self.gemms:
            out[g.kind] = out.get(g.kind, 0) + g.macs
        return out

    def with_(self, **changes: object) -> Workload:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
