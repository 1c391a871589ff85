"""Design groups: accelerators that differ only in numbers, evaluated together as arrays.

A sweep derives thousands of designs from one base by changing a few fields. Most of those fields enter
the model only as numbers -- the array shape and clock, a level's capacity, bandwidth or latency, the
per-op overhead -- while the rest (number formats, sparsity support, dataflow, array count, the
structure of the memory hierarchy, the energy and area coefficients) decides *which* formulas apply.
``group_key`` is that rest: designs with equal keys form a ``DesignGroup``, and the simulator core
(``simulator.run``) evaluates a group as arrays over (design, GEMM row) -- ``simulate`` is a group of
one, ``simulator.batch.simulate_batch`` groups a sweep's designs -- so both paths run the same code.

One home for what may vary within a group: the per-design arrays below (``DesignGroup``) and the
per-value caches of the functions that depend on them (SRAM energies, area, vector ops). A model
term that reads a new arch field either reads it here per design or the field joins ``group_key``.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from simulator.arch import ArchSpec
from simulator.levels import dram_peak_gbps

# the per-design numbers (everything else of an ArchSpec is in ``group_key``)
_ARRAY_NUMBERS = ("rows", "cols", "freq_mhz", "op_overhead_cycles")
_LEVEL_NUMBERS = ("capacity_kib", "capacity_gib", "bandwidth_gbps", "bytes_per_cycle", "latency_cycles", "efficiency")
_BUFFER_NUMBERS = ("ifmap_kib", "filter_kib", "ofmap_kib", "unified_kib")
_DRAM_NUMBERS = ("bandwidth_gbps", "bytes_per_cycle", "latency_cycles", "efficiency")


def _rest(spec: Any, numbers: tuple[str, ...]) -> tuple:
    """The fields of a (frozen dataclass) spec other than ``numbers``, as a hashable tuple."""
    return _getter(type(spec), numbers)(spec)


@functools.cache
def _getter(cls: type, numbers: tuple[str, ...]) -> Callable[[Any], tuple]:
    names = [f for f in cls.__dataclass_fields__ if f not in numbers]  # type: ignore[attr-defined]
    get = operator.attrgetter(*names)
    return get if len(names) > 1 else (lambda spec: (get(spec),))


def group_key(a: ArchSpec, memo: dict[int, tuple] | None = None) -> tuple:
    """Everything of ``a`` except the per-design numbers: array rows/cols/clock/per-op overhead, and the
    capacity, bandwidth, latency and efficiency of every memory level (``memory:`` or ``buffers:``/``dram:``).
    ``memo`` (by object identity; only while the specs are alive, e.g. within one batch) skips
    recomputing the parts of sub-specs that designs derived from one base share."""
    def part(spec: Any, numbers: tuple[str, ...]) -> tuple:
        if memo is None:
            return _rest(spec, numbers)
        hit = memo.get(id(spec))
        if hit is None:
            hit = memo[id(spec)] = _rest(spec, numbers)
        return hit

    if a.memory is None:
        mem = None
    elif memo is not None and id(a.memory) in memo:
        mem = memo[id(a.memory)]
    else:
        mem = tuple(_rest(lv, _LEVEL_NUMBERS) for lv in a.memory)
        if memo is not None:
            memo[id(a.memory)] = mem
    # a unified buffer is one level, separate buffers three: the number of levels is structure
    return (a.name, part(a.array, _ARRAY_NUMBERS), a.pe, part(a.buffers, _BUFFER_NUMBERS),
            a.buffers.unified_kib is None, part(a.dram, _DRAM_NUMBERS), mem, a.vector, a.tech, a.energy, a.area)


def _level_numbers(a: ArchSpec) -> tuple:
    """The per-design memory numbers of ``a`` (see ``DesignGroup``), from its resolved hierarchy."""
    h = a.hierarchy
    n = len(h.levels)
    return (tuple(lv.capacity_bytes for lv in h.levels), tuple(h.per_array_bpc(i) for i in range(n)),
            tuple(lv.latency_cycles for lv in h.levels), h.dram.bytes_per_cycle, h.inner_caps(), h.act_capacity(),
            dram_peak_gbps(a))


class DesignGroup:
    """Designs of one ``group_key``: ``archs[0]`` answers every structural question (which level holds
    what, dataflows, formats), the arrays below give each design's numbers (shape ``(D,)`` or
    ``(D, levels)``), and ``per_value`` evaluates an arch function once per distinct value of the
    numbers it depends on."""

    def __init__(self, archs: Sequence[ArchSpec]) -> None:
        if not archs:
            raise ValueError("a design group needs at least one design")
        self.archs = list(archs)
        a0 = self.archs[0]
        self.arch = a0
        self.hier = a0.hierarchy
        self.n = len(self.archs)
        f64 = np.float64
        self.rows = np.array([a.array.rows for a in self.archs], dtype=np.int64)
        self.cols = np.array([a.array.cols for a in self.archs], dtype=np.int64)
        self.freq_mhz = np.array([a.array.freq_mhz for a in self.archs], dtype=f64)
        self.op_overhead_cycles = np.array([a.array.op_overhead_cycles for a in self.archs], dtype=f64)
        # the memory numbers depend on the memory specs and the clock (GB/s -> bytes per cycle): designs
        # that share those spec objects (derived from one base) share one resolution
        memo: dict[tuple, tuple] = {}
        nums = []
        for a in self.archs:
            key = (id(a.memory), id(a.buffers), id(a.dram), a.array.freq_mhz)
            hit = memo.get(key)
            if hit is None:
                hit = memo[key] = _level_numbers(a)
            nums.append(hit)
        cap, bpc, lat, dram_bpc, inner, act, peak = zip(*nums)
        #: per level: capacity (bytes, per instance), bandwidth one array sees (bytes/cycle), latency (cycles)
        self.level_bytes = np.array(cap, dtype=f64)
        self.level_bpc = np.array(bpc, dtype=f64)
        self.level_latency = np.array(lat, dtype=f64)
        #: the whole chip's DRAM bandwidth (bytes/cycle, inf: unlimited) and its peak (GB/s, 0: unlimited)
        self.dram_bpc = np.array(dram_bpc, dtype=f64)
        self.dram_peak_gbps = np.array(peak, dtype=f64)
        #: per-array capacities of the inner buffers of A, B, C (bytes) and the activation level's usable bytes
        self.inner_caps = np.array(inner, dtype=f64).reshape(self.n, 3)
        self.act_capacity = np.array(act, dtype=f64)

    def per_value(self, numbers: np.ndarray, fn: Callable[[ArchSpec], Any]) -> list[Any]:
        """``[fn(arch) for arch in archs]``, calling ``fn`` once per distinct row of ``numbers`` (``(D,)`` or
        ``(D, k)``): ``numbers`` must hold every per-design number ``fn`` depends on."""
        x = np.asarray(numbers, dtype=np.float64).reshape(self.n, -1)
        if x.shape[1] == 0 or self.n == 1:
            return [fn(self.archs[0])] * self.n
        _, first, inv = np.unique(x, axis=0, return_index=True, return_inverse=True)
        vals = [fn(self.archs[int(i)]) for i in first]
        return [vals[j] for j in inv.reshape(-1)]

    # ---- what the per-value functions depend on among the per-design numbers -----------------------
    @property
    def capacity_numbers(self) -> np.ndarray:
        """SRAM energies per bit: the level capacities."""
        return self.level_bytes

    @property
    def area_numbers(self) -> np.ndarray:
        """Area (``simulator.area``) but the PE array's: level capacities and the DRAM interface's peak
        bandwidth (the array's area is ``area.array_mm2`` of each design's PE count)."""
        return np.column_stack([self.level_bytes, self.dram_peak_gbps])

    @property
    def vector_numbers(self) -> np.ndarray:
        """Vector ops (``simulator.vector``): level capacities, DRAM bandwidth per cycle and, with a
        separate vector clock, the array clock."""
        clock = self.freq_mhz if self.arch.vector.freq_mhz else np.zeros(self.n)
        return np.column_stack([self.level_bytes, self.dram_bpc, clock])

    @property
    def sparsity_numbers(self) -> np.ndarray:
        """Sparsity effects (``simulator.sparsity``): the row count under zero-skip, else nothing."""
        return self.rows if self.arch.pe.sparsity == "zero_skip" else np.zeros((self.n, 0))


def finite_or_zero(x: np.ndarray) -> np.ndarray:
    """``1 / x`` where finite and positive, else 0 (a free link)."""
    ok = np.isfinite(x)
    return np.where(ok, 1.0 / np.where(ok, x, 1.0), 0.0)


__all__ = ["DesignGroup", "finite_or_zero", "group_key"]
