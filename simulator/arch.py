"""ArchSpec: a validated, immutable description of one accelerator.

Loaded from YAML (``yaml.safe_load``; unknown keys rejected) and addressed by stable dotted paths
(``array.rows``, ``pe.native_bits``, ``dram.bandwidth_gbps`` ...), which ``--set PATH=VALUE``
overrides and sweep axes use. Every modelling coefficient is a named field here; the formulas that
consume them live in the engine modules and are documented in ``docs/``.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Literal

from simulator.levels import DramKind, Hierarchy, MemoryLevelSpec, dram_efficiency, resolve, validate_levels
from workloads.errors import InputError, show_value
from workloads.schema import apply_override, from_dict, load_yaml, parse_override, path_exists, spec_field, to_dict

Dataflow = Literal["os", "ws", "is", "auto"]
DATAFLOWS: tuple[str, ...] = ("os", "ws", "is")


@dataclass(frozen=True)
class ArraySpec:
    rows: int = spec_field(32, ge=1, le=2**16, doc="PE rows (H)")
    cols: int = spec_field(32, ge=1, le=2**16, doc="PE columns (W)")
    dataflow: Dataflow = spec_field(
        "os", doc="os (output), ws (weight) or is (input) stationary; auto: the fastest per op (docs/memory.md 9)"
    )
    freq_mhz: float = spec_field(1000.0, ge=1e-3, le=1e6, doc="array clock in MHz (1 kHz .. 1 THz)")
    count: int = spec_field(1, ge=1, le=2**16, doc="identical arrays working on independent ops/batches")
    timing: Literal["default", "scalesim"] = spec_field(
        "default", doc="default (real-array model) or scalesim (SCALE-Sim 3.0.0 exactly)"
    )
    prefetch_stationary: bool = spec_field(
        True, doc="default timing: next fold's stationary operand loads while the current fold streams"
    )
    op_overhead_cycles: float = spec_field(
        0.0, ge=0, doc="fixed cost per op instance (kernel launch / command issue); 0 on a dedicated accelerator "
        "whose sequencer overlaps op set-up (docs/calibration.md)"
    )


@dataclass(frozen=True)
class PESpec:
    native_bits: int = spec_field(8, ge=1, le=64, doc="operand width the PE multiplier is built for")
    number_kind: Literal["int", "fp", "bf"] = spec_field("int", doc="native number format")
    precision_mode: Literal["fixed", "bit_fusion", "bit_serial"] = spec_field(
        "fixed", doc="fixed: pad to native bits; bit_fusion: (native/b_a)*(native/b_w) MACs/cycle; "
        "bit_serial: cycles scale with activation bits"
    )
    min_bits: int = spec_field(2, ge=1, le=64, doc="smallest operand width the PE can fuse or serialise")
    acc_bits: int = spec_field(32, ge=1, le=64, doc="accumulator width")
    sparsity: Literal["none", "nm", "zero_skip"] = spec_field("none", doc="sparsity support of the array")
    nm_n: int = spec_field(2, ge=1, doc="N of the N:M pattern the array accelerates")
    nm_m: int = spec_field(4, ge=1, doc="M of the N:M pattern the array accelerates")
    metadata_bits: int = spec_field(2, ge=0, le=16, doc="index bits per kept value (N:M / zero-skip)")
    attention_density: float = spec_field(
        1.0, gt=0, le=1, doc="zero_skip arrays: fraction of attention scores kept by dynamic (Sanger-style) "
        "pruning; QK^T and AV work and K/V reads scale with it"
    )
    nm_feed_ratio: float | None = spec_field(
        None, ge=1, doc="nm arrays: activation-operand feed bandwidth in sparse mode / dense mode; caps the N:M "
        "compute speed-up (None: nm_m/nm_n, an array built to feed the sparse rate)"
    )
    nm_compressed_dram: bool = spec_field(
        True, doc="nm arrays: N:M weights are stored compressed (kept values + metadata) in DRAM; false: the "
        "compressed form exists only on chip and DRAM moves dense weights"
    )

    def __post_init__(self) -> None:
        if self.nm_n > self.nm_m:
            raise InputError(f"nm_n={self.nm_n} exceeds nm_m={self.nm_m} (allowed: nm_n <= nm_m)", key="pe.nm_n")


@dataclass(frozen=True)
class BufferSpec:
    ifmap_kib: float = spec_field(64.0, ge=2**-10, le=2**30, doc="input-activation SRAM, KiB")
    filter_kib: float = spec_field(64.0, ge=2**-10, le=2**30, doc="weight SRAM, KiB")
    ofmap_kib: float = spec_field(64.0, ge=2**-10, le=2**30, doc="output/partial-sum SRAM, KiB")
    unified_kib: float | None = spec_field(
        None, ge=2**-10, le=2**30, doc="if set: one buffer of this size, split by unified_split (overrides *_kib)"
    )
    unified_split: tuple[float, ...] = spec_field(
        (0.25, 0.5, 0.25), ge=0, doc="ifmap, filter, ofmap fractions of the unified buffer"
    )
    double_buffered: bool = spec_field(True, doc="prefetch the next tile while the current one computes")
    cross_op_prefetch: bool = spec_field(
        True, doc="the DMA loads the next GEMM's first weight tile during the previous GEMM's last fold"
    )
    banks: int = spec_field(1, ge=1, le=2**16, doc="SRAM banks per buffer (bank size sets energy per access)")

    def __post_init__(self) -> None:
        if len(self.unified_split) != 3 or abs(sum(self.unified_split) - 1.0) > 1e-6:
            raise InputError(
                f"{list(self.unified_split)} must be three fractions summing to 1", key="buffers.unified_split"
            )

    def sizes_bytes(self) -> tuple[int, int, int]:
        """(ifmap, filter, ofmap) capacities in bytes."""
        if self.unified_kib is not None:
            total = self.unified_kib * 1024
            return tuple(int(total * f) for f in self.unified_split)  # type: ignore[return-value]
        return int(self.ifmap_kib * 1024), int(self.filter_kib * 1024), int(self.ofmap_kib * 1024)


@dataclass(frozen=True)
class DramSpec:
    kind: DramKind = spec_field("ddr4", doc="interface; sets the default energy per bit")
    bandwidth_gbps: float | None = spec_field(
        None, ge=1e-6, allow_inf=True, doc="GB/s (1e9 bytes/s, >= 1 kB/s); .inf for unlimited; or give bytes_per_cycle"
    )
    bytes_per_cycle: float | None = spec_field(
        None, ge=1e-6, allow_inf=True, doc="bytes per array clock (>= 1e-6); alternative to bandwidth_gbps"
    )
    latency_cycles: int = spec_field(100, ge=0, le=10**9, doc="first-byte latency of a DRAM request, array cycles")
    efficiency: float | None = spec_field(
        None, gt=0, le=1, doc="achievable fraction of the peak bandwidth_gbps for streaming reads (refresh, bank "
        "turnaround, controller); None: the default of the DRAM kind (levels.DRAM_EFFICIENCY, docs/calibration.md); "
        "not applied to bytes_per_cycle, which is a sustained rate"
    )

    def __post_init__(self) -> None:
        if self.bandwidth_gbps is not None and self.bytes_per_cycle is not None:
            raise InputError(
                "give either bandwidth_gbps or bytes_per_cycle, not both", key="dram.bytes_per_cycle"
            )


@dataclass(frozen=True)
class VectorSpec:
    """Vector (SIMD) unit for the non-GEMM ops; see docs/vector.md."""

    lanes: int = spec_field(32, ge=1, le=2**20, doc="elements processed per cycle per function unit")
    freq_mhz: float | None = spec_field(None, ge=1e-3, le=1e6, doc="vector clock in MHz; default: the array clock")
    overlap_with_array: bool = spec_field(
        False, doc="vector ops run concurrently with the GEMMs (true) or serialised after them (false)"
    )
    startup_cycles: int = spec_field(16, ge=0, le=10**9, doc="pipeline fill/drain per op instance (vector clock)")
    softmax_cycles_per_element: float = spec_field(4.0, ge=0, doc="max, sub, exp, sum, div per element")
    layernorm_cycles_per_element: float = spec_field(3.0, ge=0, doc="mean, var, normalise")
    rmsnorm_cycles_per_element: float = spec_field(2.0, ge=0)
    gelu_cycles_per_element: float = spec_field(2.0, ge=0)
    silu_cycles_per_element: float = spec_field(2.0, ge=0)
    swiglu_cycles_per_element: float = spec_field(3.0, ge=0, doc="silu(gate) * up")
    add_cycles_per_element: float = spec_field(1.0, ge=0, doc="residual add")
    mul_cycles_per_element: float = spec_field(1.0, ge=0, doc="elementwise multiply (SwiGLU gate)")
    rope_cycles_per_element: float = spec_field(2.0, ge=0)
    embedding_cycles_per_element: float = spec_field(1.0, ge=0, doc="table lookup + copy")
    energy_pj_per_element_op: float = spec_field(
        1.0, ge=0, doc="45 nm energy of one element-cycle of the vector unit (fp16 mult+add ~ 1.5 pJ)"
    )
    dequant_cycles_per_element: float = spec_field(
        2.0, ge=0, doc="weight-only quantisation on a float array: convert + scale multiply per weight element"
    )
    dequant_unpack_cycles: float = spec_field(1.0, ge=0, doc="extra per element for sub-byte weights (shift/mask)")
    dequant_zero_point_cycles: float = spec_field(
        0.0, ge=0, doc="extra per element for group-wise zero points (0: folded into the scale FMA, w = q*s + (-z*s))"
    )


@dataclass(frozen=True)
class TechSpec:
    node_nm: float = spec_field(45.0, ge=0.1, le=10_000, doc="technology node; energy and area scale from 45 nm")


@dataclass(frozen=True)
class EnergySpec:
    """45 nm reference energies (Horowitz, ISSCC 2014) and scaling knobs; see docs/energy.md."""

    int_mult_8b_pj: float = spec_field(0.2, ge=0, doc="8-bit integer multiply; scales with b_a*b_w/64")
    int_add_32b_pj: float = spec_field(0.1, ge=0, doc="32-bit integer add; scales with acc_bits/32")
    register_pj_per_bit: float = spec_field(0.002, ge=0, doc="pipeline register bit moved per MAC")
    fp16_mult_pj: float = spec_field(1.1, gt=0)
    fp16_add_pj: float = spec_field(0.4, gt=0)
    fp32_mult_pj: float = spec_field(3.7, gt=0)
    fp32_add_pj: float = spec_field(0.9, gt=0)
    bit_fusion_mac_factor: float = spec_field(
        1.0, ge=0, doc="energy of a fused low-bit MAC / the bit-scaled formula (BitBrick shift-add overhead)"
    )
    bit_serial_mac_factor: float = spec_field(
        1.0, ge=0, doc="energy of a bit-serial MAC / the bit-scaled formula (serial registers, shifts)"
    )
    sram_read_pj_per_bit_coeff: float = spec_field(0.0594, ge=0, doc="pJ/bit = coeff * bank_KB**exponent")
    sram_read_exponent: float = spec_field(0.473, ge=0, le=4, doc="SRAM energy ~ bank_KB**exponent (0 .. 4)")
    sram_write_factor: float = spec_field(1.1, ge=0, doc="write energy / read energy")
    sram_max_bank_kib: float = spec_field(
        1024.0, gt=0, doc="largest SRAM macro the fit is used for; bigger buffers are built of such banks"
    )
    sram_wire_knee_kib: float = spec_field(
        16.0, gt=0, doc="bank size at which bit/word-line and H-tree wires take half of an SRAM read's energy "
        "(wire share w = sqrt(KiB) / (sqrt(KiB) + sqrt(knee)); docs/calibration.md, estimate)"
    )
    wire_node_exponent: float = spec_field(
        0.2, ge=0, doc="energy per bit-mm of on-chip wire ~ (node_nm/45)**wire_node_exponent (capacitance per mm "
        "stays; only V^2 falls: 0.9 V -> 0.75 V from 45 to 7 nm)"
    )
    dram_pj_per_bit: float | None = spec_field(None, ge=0, doc="override the per-interface default")
    dram_ddr3_pj_per_bit: float = spec_field(20.0, ge=0)
    dram_ddr4_pj_per_bit: float = spec_field(15.0, ge=0)
    dram_lpddr4_pj_per_bit: float = spec_field(8.0, ge=0)
    dram_lpddr5_pj_per_bit: float = spec_field(6.0, ge=0)
    dram_gddr5_pj_per_bit: float = spec_field(14.0, ge=0)
    dram_gddr6_pj_per_bit: float = spec_field(7.5, ge=0)
    dram_hbm2_pj_per_bit: float = spec_field(3.9, ge=0)
    dram_hbm2e_pj_per_bit: float = spec_field(3.9, ge=0)
    dram_hbm3_pj_per_bit: float = spec_field(3.5, ge=0)
    node_exponent: float = spec_field(0.567, ge=0, le=4, doc="f_E = (node_nm/45)**node_exponent")
    leakage_mw: float | None = spec_field(
        None, ge=0, doc="static (idle) power in mW; None: static_w_per_mm2 x die area (docs/calibration.md)"
    )
    static_w_per_mm2: float = spec_field(
        0.13, ge=0, doc="idle power density (leakage + clock tree + always-on control), W per mm^2 of modelled area; "
        "fitted on TPUv1 idle power (28 W, docs/calibration.md)"
    )


@dataclass(frozen=True)
class AreaSpec:
    """45 nm reference areas (Horowitz table) and overheads; see docs/energy.md. The fp references are > 0:
    other widths scale from their ratios (log-log)."""

    int_mult_8b_um2: float = spec_field(282.0, ge=0, doc="scales with b_a*b_w/64")
    int_add_32b_um2: float = spec_field(137.0, ge=0, doc="scales with acc_bits/32")
    fp16_mult_um2: float = spec_field(1640.0, gt=0)
    fp32_mult_um2: float = spec_field(7700.0, gt=0)
    fp16_add_um2: float = spec_field(1360.0, gt=0)
    fp32_add_um2: float = spec_field(4184.0, gt=0)
    array_overhead: float = spec_field(
        3.9, ge=1, doc="wiring, clock tree, placement density and operand/accumulator datapath around each PE "
        "(multiplies arithmetic + register area; fitted on NVDLA, docs/calibration.md)"
    )
    register_um2_per_bit: float = spec_field(4.5, ge=0, doc="45 nm flip-flop area per bit (NanGate45 DFF_X1 ~4.5 um^2)")
    pe_register_bits: int | None = spec_field(
        None, ge=0, doc="pipeline register bits per PE; None: by dataflow (WS: 2 weights + activation + partial "
        "sum; OS: activation + weight + accumulator; IS: 2 activations + weight + partial sum)"
    )
    fixed_mm2_45nm: float = spec_field(
        0.55, ge=0, doc="control, DMA, host/bus interface at 45 nm (logic-scaled); fitted on the NVDLA areas"
    )
    dram_phy_mm2_per_gbps: float | None = spec_field(
        None, ge=0, doc="DRAM interface (PHY + controller) area per GB/s; None: by DRAM kind (DRAM_PHY_MM2_PER_GBPS)"
    )
    bit_fusion_factor: float = spec_field(2.5, ge=1, doc="bit-flexible PE area / fixed 8b PE area")
    bit_serial_factor: float = spec_field(1.0, ge=0, doc="bit-serial PE area / fixed PE area (same native bits)")
    sparse_nm_factor: float = spec_field(1.1, ge=1, doc="PE area with N:M operand multiplexers / dense PE")
    zero_skip_factor: float = spec_field(1.1, ge=1, doc="PE area with zero detection and skip control / dense PE")
    sram_mm2_per_mb_45nm: float = spec_field(6.0, ge=0)
    sram_mm2_per_mb_28nm: float = spec_field(3.0, ge=0)
    sram_mm2_per_mb_16nm: float = spec_field(1.6, ge=0)
    sram_mm2_per_mb_7nm: float = spec_field(0.6, ge=0)
    node_exponent: float = spec_field(
        0.8, ge=0, le=4, doc="logic area ~ (node_nm/45)**node_exponent (fitted on NVDLA's 28 and 16 nm synthesis areas, "
        "which scale 0.6x between the nodes; the ideal 2.0 is far too optimistic)"
    )
    vector_lane_um2: float = spec_field(3000.0, ge=0, doc="one fp16 vector lane at 45 nm")


@dataclass(frozen=True)
class ArchSpec:
    name: str = spec_field("custom")
    description: str = spec_field("")
    source: str = spec_field("", doc="the chip or paper this design resembles")
    array: ArraySpec = spec_field(default_factory=ArraySpec)
    pe: PESpec = spec_field(default_factory=PESpec)
    buffers: BufferSpec = spec_field(default_factory=BufferSpec)
    dram: DramSpec = spec_field(default_factory=DramSpec)
    memory: tuple[MemoryLevelSpec, ...] | None = spec_field(
        None, doc="memory levels, innermost first, DRAM last (docs/memory.md 8); replaces buffers:/dram: sizes"
    )
    vector: VectorSpec = spec_field(default_factory=VectorSpec)
    tech: TechSpec = spec_field(default_factory=TechSpec)
    energy: EnergySpec = spec_field(default_factory=EnergySpec)
    area: AreaSpec = spec_field(default_factory=AreaSpec)

    #: the fields ``__post_init__`` checks: a copy that changes none of them (e.g. only ``array``) needs
    #: no re-check (``sweeps.spec.replace_path``); a new cross-field check must name its fields here
    POST_INIT_FIELDS: ClassVar[frozenset[str]] = frozenset({"memory", "buffers", "dram"})

    def __post_init__(self) -> None:
        if self.memory is None:
            return
        validate_levels(self.memory)
        b, d = self.buffers, self.dram
        default_b, default_d = BufferSpec(), DramSpec()
        for name in ("ifmap_kib", "filter_kib", "ofmap_kib", "unified_kib", "unified_split", "double_buffered", "banks"):
            if getattr(b, name) != getattr(default_b, name):
                raise InputError("give the buffers either as memory: levels or as buffers: sizes, not both",
                                 key=f"buffers.{name}")
        if d != default_d:
            raise InputError("give DRAM either as the last memory: level or as dram:, not both", key="dram")

    # ---- derived quantities -------------------------------------------------------------------
    @cached_property
    def hierarchy(self) -> Hierarchy:
        """The resolved memory levels (``simulator.levels``), from ``memory:`` or ``buffers:``/``dram:``."""
        return resolve(self)

    @property
    def dram_bytes_per_cycle(self) -> float:
        """Achievable DRAM bandwidth in bytes per array clock (peak ``bandwidth_gbps`` x
        :attr:`dram_efficiency`; a ``bytes_per_cycle`` rate is taken as given; inf when unlimited)."""
        return self.hierarchy.dram.bytes_per_cycle

    @property
    def dram_latency_cycles(self) -> float:
        """First-byte latency of a DRAM request, array cycles."""
        return self.hierarchy.dram.latency_cycles

    @property
    def dram_kind(self) -> str:
        return self.hierarchy.dram.kind

    @property
    def dram_efficiency(self) -> float:
        """Achievable fraction of the peak DRAM bandwidth (1.0 under SCALE-Sim timing, which has no such term)."""
        return dram_efficiency(self)

    @property
    def num_pes(self) -> int:
        return self.array.rows * self.array.cols * self.array.count

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    def replace(self, **overrides: Any) -> ArchSpec:
        """A new spec with dotted-path overrides, validated like a file: ``replace(**{"array.rows": 64})``."""
        data = self.to_dict()
        for path, value in overrides.items():
            data = apply_override(ArchSpec, data, path, value)
        return from_dict(ArchSpec, data, source="override")


# ---- loading ------------------------------------------------------------------------------------


def shipped_dir() -> Path:
    """Folder of the shipped YAML configs (works from a source tree and from an installed wheel)."""
    return Path(str(resources.files("arch_configs")))


def shipped_names() -> list[str]:
    return sorted(p.stem for p in shipped_dir().glob("*.yaml"))


def resolve_arch_path(name_or_path: str | Path, *, relative_to: Path | None = None) -> Path:
    """A YAML / SCALE-Sim ``.cfg`` file (``relative_to`` a referring file's folder first) or a shipped name."""
    p = Path(name_or_path)
    if relative_to is not None and not p.is_absolute() and path_exists(relative_to / p):
        return relative_to / p
    if p.suffix in (".yaml", ".yml", ".cfg") or path_exists(p):
        if not path_exists(p):
            raise InputError("no such file", source=str(p))
        return p
    candidate = shipped_dir() / f"{name_or_path}.yaml"
    if re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", str(name_or_path)) and candidate.exists():
        return candidate
    import difflib

    close = difflib.get_close_matches(str(name_or_path), shipped_names(), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise InputError(
        f"unknown accelerator {show_value(str(name_or_path))}{hint} (allowed: a YAML or SCALE-Sim .cfg file or one "
        f"of {', '.join(shipped_names())})",
        source="--arch",
    )


Overrides = list[str] | tuple[str, ...] | dict[str, Any]


def arch_from_mapping(data: Any, *, source: str, overrides: Overrides = ()) -> ArchSpec:
    """Validate a raw mapping plus overrides (``PATH=VALUE`` strings or a ``{path: value}`` mapping)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping at the top level, got {type(data).__name__}", source=source)
    items = list(overrides.items()) if isinstance(overrides, dict) else [parse_override(t) for t in overrides]
    for path, value in items:
        data = apply_override(ArchSpec, data, str(path), value)
    shown = [f"{k}={v}" for k, v in items]
    src = source if not items else f"{source} (with --set {', '.join(shown)})"
    return from_dict(ArchSpec, data, source=src)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``: mappings merge key by key, anything else replaces."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def arch_mapping(name_or_path: str | Path, *, relative_to: Path | None = None,
                 _seen: tuple[str, ...] = ()) -> tuple[dict[str, Any], str]:
    """The raw (unvalidated) mapping of an arch file with its ``base:`` chain resolved, and its source.

    ``base: NAME_OR_FILE`` names a shipped accelerator, a YAML file (relative to the file that names
    it) or a SCALE-Sim ``.cfg``; the file's other keys override it, mappings key by key. The name
    defaults to the file's stem (a variant is not its base)."""
    path = resolve_arch_path(name_or_path, relative_to=relative_to)
    key = str(path.resolve())
    if key in _seen:
        raise InputError(f"base chain loops back to {path}", source=str(path), key="base")
    if path.suffix == ".cfg":
        from simulator.scalesim.config import cfg_arch_mapping, parse_cfg

        return cfg_note(cfg_arch_mapping(parse_cfg(path), timing="default"), path), str(path)
    data = load_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping at the top level, got {type(data).__name__}", source=str(path))
    if "base" in data:
        ref = data.pop("base")
        if not isinstance(ref, str) or not ref:
            raise InputError(f"{ref!r} is not an accelerator (allowed: a shipped name or a file)", source=str(path),
                             key="base")
        try:
            base, _ = arch_mapping(ref, relative_to=path.parent, _seen=(*_seen, key))
        except InputError as exc:
            raise InputError(f"base {ref!r}: {exc}", source=str(path), key="base") from None
        base_desc = base.pop("description", "")
        base.pop("name", None)
        data = _merge(base, data)
        data.setdefault("name", path.stem)
        data.setdefault("description", f"{ref} ({base_desc}) with overrides" if base_desc else f"{ref} with overrides")
    return data, str(path)


# what a SCALE-Sim cfg does not say, and the tasim defaults that fill it in
CFG_UNSPECIFIED = ("clock (array.freq_mhz)", "technology node (tech.node_nm)", "operand bits (pe.native_bits = 8, one "
                   "1-byte word per operand)", "energy and area coefficients", "DRAM kind and latency (latency 0)",
                   "the vector unit (softmax, norms, activations)")


def cfg_note(data: dict[str, Any], path: Path) -> dict[str, Any]:
    data = dict(data)
    data["description"] = (f"translated from SCALE-Sim cfg {path.name} (array, dataflow, SRAM sizes, DRAM "
                           f"bandwidth); not in the cfg, tasim defaults: {'; '.join(CFG_UNSPECIFIED)}")
    data["name"] = path.stem
    return data


def load_arch(name_or_path: str | Path, overrides: Overrides = ()) -> ArchSpec:
    """Load a shipped config by name, a YAML file (``base:`` chains resolved) or a SCALE-Sim ``.cfg``
    by path, then apply overrides (``["array.rows=64"]`` or ``{"array.rows": 64}``)."""
    data, source = arch_mapping(name_or_path)
    return arch_from_mapping(data, source=source, overrides=overrides)


def field_of(arch: ArchSpec, path: str) -> Any:
    """Read a dotted path of a spec (``arch.array.rows`` == ``field_of(arch, "array.rows")``)."""
    obj: Any = arch
    for part in path.split("."):
        if not dataclasses.is_dataclass(obj) or not hasattr(obj, part):
            raise InputError("unknown key", key=path)
        obj = getattr(obj, part)
    return obj
