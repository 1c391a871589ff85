"""Memory levels: the arch spec's ``memory:`` list (innermost -> DRAM) and its resolved form.

One home for the memory-level concept (docs/memory.md section 8): ``MemoryLevelSpec`` is what a YAML
file writes, ``resolve`` turns an accelerator's ``memory:`` list -- or its legacy ``buffers:`` /
``dram:`` keys, the two-level special case -- into a ``Hierarchy`` of ``Level`` records in SI units
(bytes, bytes per array cycle), and the ``Hierarchy`` answers what the engines and the residency rule
ask: the inner buffer of each operand, the level activations and the KV cache stay in, the link each
operand is fetched over, and a printable table. Adding a level to a design is a YAML entry; a new
kind of level behaviour is a change here.

Tensor classes a level may hold: ``ifmap`` (GEMM input activations, A), ``filter`` (weights, B),
``ofmap`` (outputs and partial sums, C) and ``kv`` (the KV cache of decoding).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from workloads.errors import InputError
from workloads.schema import spec_field

Tensor = Literal["ifmap", "filter", "ofmap", "kv"]
TENSORS: tuple[str, ...] = ("ifmap", "filter", "ofmap", "kv")
DramKind = Literal["ddr3", "ddr4", "lpddr4", "lpddr5", "gddr5", "gddr6", "hbm2", "hbm2e", "hbm3"]

# Achievable fraction of peak DRAM bandwidth for long streaming reads, by interface (docs/calibration.md).
# DDR/LPDDR/GDDR: refresh (~4 %), activate/precharge and read-write turnaround leave ~90 % for sequential
# streams; HBM: 0.75 fitted to Llama-2-7B fp16 decode on A100-80GB (gpt-fast: 1397 GB/s of 2039 GB/s,
# i.e. 0.685 of peak overall; 0.75 once the per-op overhead of that design is charged separately).
DRAM_EFFICIENCY: dict[str, float] = {
    "ddr3": 0.9, "ddr4": 0.9, "lpddr4": 0.9, "lpddr5": 0.9, "gddr5": 0.9, "gddr6": 0.9,
    "hbm2": 0.75, "hbm2e": 0.75, "hbm3": 0.75,
}

# DRAM interface area (PHY + controller) per GB/s of peak bandwidth, mm^2 (docs/calibration.md; estimates):
# a DDR3/4 x64 channel (~17 GB/s) needs ~5 mm^2 of PHY + controller at 28 nm (TPUv1's two DDR3 channels
# take ~3 % of its die); an HBM2 stack PHY (~300-460 GB/s) is ~10-15 mm^2; LPDDR and GDDR in between.
DRAM_PHY_MM2_PER_GBPS: dict[str, float] = {
    "ddr3": 0.3, "ddr4": 0.25, "lpddr4": 0.15, "lpddr5": 0.12, "gddr5": 0.06, "gddr6": 0.05,
    "hbm2": 0.03, "hbm2e": 0.025, "hbm3": 0.02,
}
LevelKind = Literal["sram", "ddr3", "ddr4", "lpddr4", "lpddr5", "gddr5", "gddr6", "hbm2", "hbm2e", "hbm3"]
#: default split of a level that is the innermost buffer of several operands (ifmap, filter, ofmap)
DEFAULT_SPLIT: tuple[float, float, float] = (0.25, 0.5, 0.25)


@dataclass(frozen=True)
class MemoryLevelSpec:
    """One memory level as written in an arch YAML (``memory:`` list, innermost first, DRAM last)."""

    name: str = spec_field(doc="level name, unique within the design")
    kind: LevelKind = spec_field("sram", doc="sram (on chip) or the DRAM interface of the last level")
    capacity_kib: float | None = spec_field(None, ge=2**-10, le=2**40,
                                            doc="capacity in KiB (per instance, 1 B .. 1 PiB); null: unbounded")
    capacity_gib: float | None = spec_field(None, ge=2**-30, le=2**20,
                                            doc="capacity in GiB (DRAM); alternative to capacity_kib")
    holds: tuple[Tensor, ...] = spec_field(
        ("ifmap", "filter", "ofmap", "kv"), doc="tensor classes this level may hold (ifmap, filter, ofmap, kv)"
    )
    split: tuple[float, ...] | None = spec_field(
        None, ge=0, doc="ifmap, filter, ofmap fractions where this level is the innermost buffer of several "
        "operands (default 0.25, 0.5, 0.25 over the operands it serves)"
    )
    bandwidth_gbps: float | None = spec_field(None, ge=1e-6, doc="GB/s (1e9 B/s) per port (>= 1 kB/s); null: unlimited")
    bytes_per_cycle: float | None = spec_field(None, ge=1e-6, doc="bytes per array clock per port; alternative")
    ports: int = spec_field(1, ge=1, le=2**16, doc="independent ports, each with the bandwidth above")
    efficiency: float | None = spec_field(
        None, gt=0, le=1, doc="DRAM level: achievable fraction of the peak bandwidth_gbps (None: DRAM_EFFICIENCY of "
        "the kind); not applied to bytes_per_cycle or to SRAM levels")
    latency_cycles: int = spec_field(0, ge=0, le=10**9, doc="first-byte latency of a request to this level, array cycles")
    double_buffered: bool = spec_field(True, doc="tiles of the next fold load while the current one computes")
    shared: bool = spec_field(False, doc="one instance shared by all arrays (true) or one per array (false)")
    banks: int = spec_field(1, ge=1, le=2**16, doc="SRAM banks (bank size sets the energy per access)")
    read_pj_per_bit: float | None = spec_field(None, ge=0, doc="read energy per bit; default: size/node model "
                                               "(sram) or the interface's pJ/bit (DRAM)")
    area_mm2: float | None = spec_field(None, ge=0, doc="area of one instance; default: mm^2/MB at the node "
                                        "(sram), 0 off chip (DRAM)")

    def __post_init__(self) -> None:
        if not self.name:
            raise InputError("a memory level needs a name", key="memory.name")
        if self.capacity_kib is not None and self.capacity_gib is not None:
            raise InputError("give either capacity_kib or capacity_gib, not both", key=f"memory.{self.name}")
        if self.bandwidth_gbps is not None and self.bytes_per_cycle is not None:
            raise InputError("give either bandwidth_gbps or bytes_per_cycle, not both", key=f"memory.{self.name}")
        if self.split is not None and (len(self.split) != 3 or abs(sum(self.split) - 1.0) > 1e-6):
            raise InputError(f"{list(self.split)} must be three fractions summing to 1",
                             key=f"memory.{self.name}.split")
        if not self.holds:
            raise InputError("a level must hold at least one tensor class", key=f"memory.{self.name}.holds")


@dataclass(frozen=True)
class Level:
    """A resolved level: SI units, bandwidth in bytes per array cycle (all ports; inf = unlimited)."""

    name: str
    capacity_bytes: float  # per instance; inf = unbounded
    holds: tuple[str, ...]
    bytes_per_cycle: float
    latency_cycles: float
    double_buffered: bool
    shared: bool
    dram: bool
    kind: str
    banks: int
    split: tuple[float, float, float]
    read_pj_per_bit: float | None
    area_mm2: float | None

    def holds_all(self, *tensors: str) -> bool:
        return all(t in self.holds for t in tensors)


@dataclass(frozen=True)
class Hierarchy:
    """The resolved memory levels of one design, innermost first, DRAM last."""

    levels: tuple[Level, ...]
    count: int  # arrays
    legacy: bool  # resolved from buffers:/dram: (the two-level special case)

    # ---- structure -----------------------------------------------------------------------------
    @property
    def dram(self) -> Level:
        return self.levels[-1]

    @property
    def on_chip(self) -> tuple[Level, ...]:
        return self.levels[:-1]

    def inner(self, tensor: str) -> int:
        """Index of the innermost level holding ``tensor``."""
        for i, lv in enumerate(self.levels):
            if tensor in lv.holds:
                return i
        return len(self.levels) - 1

    def inner_caps(self) -> tuple[float, float, float]:
        """Per-array capacities (bytes) of the inner buffers of A (ifmap), B (filter), C (ofmap)."""
        caps = []
        for x, tensor in enumerate(("ifmap", "filter", "ofmap")):
            i = self.inner(tensor)
            lv = self.levels[i]
            served = [t for t in ("ifmap", "filter", "ofmap") if self.inner(t) == i]
            fr = lv.split[x] / sum(lv.split[("ifmap", "filter", "ofmap").index(t)] for t in served)
            cap = lv.capacity_bytes * fr
            if lv.shared and self.count > 1:
                cap /= self.count
            caps.append(float(math.floor(cap)) if math.isfinite(cap) else cap)
        return caps[0], caps[1], caps[2]

    @property
    def double_buffered(self) -> bool:
        """Tiles double-buffered: every inner operand buffer is."""
        return all(self.levels[self.inner(t)].double_buffered for t in ("ifmap", "filter", "ofmap"))

    def per_array_bpc(self, i: int) -> float:
        """Bandwidth of level ``i`` seen by one array (a shared level's is divided among the arrays)."""
        lv = self.levels[i]
        return lv.bytes_per_cycle / self.count if lv.shared else lv.bytes_per_cycle

    @property
    def act_level(self) -> int | None:
        """The level producer outputs stay in for their consumers: the innermost on-chip level holding
        both ifmap and ofmap, shared by the arrays (or any, with one array); None: none exists."""
        for i, lv in enumerate(self.on_chip):
            if lv.holds_all("ifmap", "ofmap") and (lv.shared or self.count == 1):
                return i
        return None

    def act_capacity(self) -> float:
        """Bytes of the activation level usable for resident activations (0 without one): the level's
        capacity less the share it gives to the weight tiles when it is also the inner filter buffer."""
        i = self.act_level
        if i is None:
            return 0.0
        lv = self.levels[i]
        if self.inner("filter") == i:
            served = [t for t in ("ifmap", "filter", "ofmap") if self.inner(t) == i]
            tot = sum(lv.split[("ifmap", "filter", "ofmap").index(t)] for t in served)
            return lv.capacity_bytes * (1.0 - lv.split[1] / tot)
        return lv.capacity_bytes

    @property
    def kv_level(self) -> int | None:
        """The innermost on-chip level that may hold the KV cache (shared, or with one array)."""
        for i, lv in enumerate(self.on_chip):
            if "kv" in lv.holds and (lv.shared or self.count == 1):
                return i
        return None

    def weight_level(self) -> int | None:
        """The innermost on-chip level outside the inner filter buffer that may hold whole weight
        operands (their re-fetches then come from it; DRAM sends each weight once)."""
        fi = self.inner("filter")
        for i in range(fi + 1, len(self.levels) - 1):
            if "filter" in self.levels[i].holds:
                return i
        return None

    def sram_bytes(self) -> float:
        """Total on-chip capacity (private levels once per array)."""
        return sum(lv.capacity_bytes * (1 if lv.shared else self.count) for lv in self.on_chip
                   if math.isfinite(lv.capacity_bytes))

    # ---- printing ------------------------------------------------------------------------------
    def table(self, freq_mhz: float) -> list[str]:
        """Human-readable lines (``tasim archs NAME``)."""
        def cap(b: float) -> str:
            if not math.isfinite(b):
                return "unbounded"
            for unit, div in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
                if b >= div:
                    return f"{b / div:g} {unit}"
            return f"{b:g} B"

        def bw(b: float) -> str:
            return "unlimited" if not math.isfinite(b) else f"{b:g} B/cycle = {b * freq_mhz * 1e6 / 1e9:g} GB/s"

        caps = self.inner_caps()
        lines = [f"memory hierarchy ({'from buffers:/dram:' if self.legacy else 'memory:'}, innermost first; "
                 f"{self.count} array{'s' if self.count > 1 else ''})"]
        lines.append(f"  {'level':<18} {'capacity':>12} {'holds':<26} {'bandwidth':<30} {'latency':>8}  sharing")
        for lv in self.levels:
            share = "DRAM" if lv.dram else ("shared" if lv.shared else "per array")
            db = "" if lv.dram else (", double-buffered" if lv.double_buffered else ", single-buffered")
            lines.append(f"  {lv.name:<18} {cap(lv.capacity_bytes):>12} {','.join(lv.holds):<26} "
                         f"{bw(lv.bytes_per_cycle):<30} {lv.latency_cycles:>8g}  {share}{db}")
        act = self.act_level
        kv = self.kv_level
        lines.append(f"  inner buffers per array: ifmap {cap(caps[0])}, filter {cap(caps[1])}, ofmap {cap(caps[2])}")
        lines.append("  activations stay in: " + (f"{self.levels[act].name} ({cap(self.act_capacity())})"
                                                  if act is not None else "- (every op reads and writes DRAM)"))
        lines.append("  KV cache on chip in: " + (self.levels[kv].name if kv is not None else "- (DRAM)"))
        return lines


# ---- resolution ---------------------------------------------------------------------------------


def _bpc(bandwidth_gbps: float | None, bytes_per_cycle: float | None, freq_mhz: float, ports: int = 1) -> float:
    if bytes_per_cycle is not None:
        return float(bytes_per_cycle) * ports
    if bandwidth_gbps is None or math.isinf(bandwidth_gbps):
        return math.inf
    return float(bandwidth_gbps) * 1e3 / freq_mhz * ports


def _dram_spec(arch: Any) -> Any:
    """The DRAM level as written: the last ``memory:`` entry, or ``dram:``."""
    return arch.memory[-1] if arch.memory is not None else arch.dram


def dram_efficiency(arch: Any) -> float:
    """Achievable fraction of the peak DRAM bandwidth: the level's ``efficiency`` or the kind's default
    (:data:`DRAM_EFFICIENCY`); 1.0 under SCALE-Sim timing, which has no such term (docs/calibration.md)."""
    if arch.array.timing == "scalesim":
        return 1.0
    d = _dram_spec(arch)
    if d.efficiency is not None:
        return float(d.efficiency)
    return DRAM_EFFICIENCY.get(str(d.kind), 1.0)


def dram_peak_gbps(arch: Any) -> float:
    """Peak DRAM bandwidth in GB/s (0 when unlimited or unspecified)."""
    d = _dram_spec(arch)
    ports = getattr(d, "ports", 1)
    if d.bandwidth_gbps is not None:
        return float(d.bandwidth_gbps) * ports if math.isfinite(d.bandwidth_gbps) else 0.0
    if d.bytes_per_cycle is not None:  # .inf (unlimited) as for bandwidth_gbps: no finite peak, no PHY area
        return float(d.bytes_per_cycle) * ports * arch.array.freq_mhz * 1e-3 if math.isfinite(d.bytes_per_cycle) else 0.0
    return 0.0


def _dram_bpc(arch: Any, d: Any, ports: int = 1) -> float:
    """Achievable DRAM bytes per cycle: a peak ``bandwidth_gbps`` x efficiency; ``bytes_per_cycle`` as given."""
    bpc = _bpc(d.bandwidth_gbps, d.bytes_per_cycle, arch.array.freq_mhz, ports)
    return bpc * dram_efficiency(arch) if d.bytes_per_cycle is None else bpc


def resolve(arch: Any) -> Hierarchy:
    """The hierarchy of an ``ArchSpec`` (its ``memory:`` list, or ``buffers:``/``dram:``)."""
    freq = arch.array.freq_mhz
    count = arch.array.count
    if arch.memory is None:
        b, d = arch.buffers, arch.dram
        dram = Level("dram", math.inf, TENSORS, _dram_bpc(arch, d),
                     float(d.latency_cycles), True, True, True, d.kind, 1, DEFAULT_SPLIT, None, None)
        if b.unified_kib is not None:
            split = tuple(float(x) for x in b.unified_split)
            on = [Level("unified_buffer", b.unified_kib * 1024, ("ifmap", "filter", "ofmap"), math.inf, 0.0,
                        b.double_buffered, False, False, "sram", b.banks, split, None, None)]  # type: ignore[arg-type]
        else:
            on = [Level(f"{t}_buffer", kib * 1024, (t,), math.inf, 0.0, b.double_buffered, False, False, "sram",
                        b.banks, DEFAULT_SPLIT, None, None)
                  for t, kib in (("ifmap", b.ifmap_kib), ("filter", b.filter_kib), ("ofmap", b.ofmap_kib))]
        return Hierarchy((*on, dram), count, True)
    levels = []
    for spec in arch.memory:
        if spec.capacity_gib is not None:
            cap = spec.capacity_gib * 2**30
        elif spec.capacity_kib is not None:
            cap = spec.capacity_kib * 1024
        else:
            cap = math.inf
        split = tuple(float(x) for x in (spec.split or DEFAULT_SPLIT))
        bpc = (_dram_bpc(arch, spec, spec.ports) if spec.kind != "sram"
               else _bpc(spec.bandwidth_gbps, spec.bytes_per_cycle, freq, spec.ports))
        levels.append(Level(spec.name, cap, tuple(spec.holds), bpc,
                            float(spec.latency_cycles), spec.double_buffered, spec.shared, spec.kind != "sram",
                            spec.kind, spec.banks, split, spec.read_pj_per_bit, spec.area_mm2))  # type: ignore[arg-type]
    return Hierarchy(tuple(levels), count, False)


def validate_levels(levels: tuple[MemoryLevelSpec, ...]) -> None:
    """Structural checks of a ``memory:`` list (one-line errors naming the level)."""
    if len(levels) < 2:
        raise InputError("needs at least one on-chip level and the DRAM level (innermost first, DRAM last)",
                         key="memory")
    names = [lv.name for lv in levels]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise InputError(f"level name {dup!r} appears twice (allowed: unique names)", key="memory")
    if levels[-1].kind == "sram":
        raise InputError(f"the last level {levels[-1].name!r} must be DRAM (allowed kinds: "
                         "ddr3, ddr4, lpddr4, lpddr5, gddr5, gddr6, hbm2, hbm2e, hbm3)", key=f"memory.{levels[-1].name}.kind")
    for lv in levels[:-1]:
        if lv.kind != "sram":
            raise InputError(f"{lv.kind!r} is not allowed before the last level (allowed: sram)",
                             key=f"memory.{lv.name}.kind")
    for t in ("ifmap", "filter", "ofmap"):
        if t not in levels[-1].holds:
            raise InputError(f"the DRAM level must hold {t} (it backs every tensor)", key=f"memory.{levels[-1].name}.holds")
        if not any(t in lv.holds for lv in levels[:-1]):
            raise InputError(f"no on-chip level holds {t} (every operand needs an inner buffer)", key="memory")
