"""Energy model: per-component energy of GEMMs from access counts (docs/energy.md).

Components (the keys of every breakdown, in this order): ``mac``, ``sram_ifmap``, ``sram_filter``,
``sram_ofmap``, ``dram``, ``vector``, ``leakage``.

* MAC: ``macs_executed * E_mac(bits, kind, dataflow) * mac_gate * f_E`` (:func:`precision.mac_energy_pj`).
* SRAM: ``bits read * e_read + bits written * e_read * sram_write_factor`` per buffer, with
  ``e_read = sram_read_pj_per_bit_coeff * bank_KB**sram_read_exponent * f_SRAM(bank, node)`` (Horowitz: 8 KB, 64-bit
  read = 10 pJ; 32 KB = 20 pJ; 1 MB = 100 pJ) and ``bank_KB = min(buffer_KiB / banks, sram_max_bank_kib)``.
  DRAM fills are SRAM writes; ofmap (accumulator) accesses are ``acc_bits`` wide.
* DRAM: ``bytes * 8 * pJ/bit`` of the interface (``dram.kind``), not node-scaled.
* leakage (static): ``static power * latency``, static power = ``leakage_mw`` or ``static_w_per_mm2 * area``.
* ``f_E = (node_nm / 45) ** node_exponent``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulator.arch import ArchSpec
from simulator.area import area_breakdown_mm2, sram_mm2_per_mb

COMPONENTS: tuple[str, ...] = ("mac", "sram_ifmap", "sram_filter", "sram_ofmap", "dram", "vector", "leakage")


def node_factor(arch: ArchSpec) -> float:
    """f_E: energy of the same circuit at ``tech.node_nm`` relative to 45 nm."""
    return (arch.tech.node_nm / 45.0) ** arch.energy.node_exponent


def dram_pj_per_bit(arch: ArchSpec) -> float:
    """Energy per DRAM bit of the interface (``energy.dram_pj_per_bit`` or the DRAM level's
    ``read_pj_per_bit`` override the kind's default)."""
    if arch.energy.dram_pj_per_bit is not None:
        return float(arch.energy.dram_pj_per_bit)
    if arch.hierarchy.dram.read_pj_per_bit is not None:
        return float(arch.hierarchy.dram.read_pj_per_bit)
    return float(getattr(arch.energy, f"dram_{arch.dram_kind}_pj_per_bit"))


_dram_pj_per_bit = dram_pj_per_bit


def sram_node_factor(bank_kib: float, arch: ArchSpec) -> float:
    """SRAM read energy at ``tech.node_nm`` relative to 45 nm, by bank size (docs/calibration.md).

    A read is periphery (decoders, sense amplifiers: logic, scales with ``f_E``) plus wires (bit/word
    lines and the H-tree, whose length ~ sqrt(bank area)): the wire share ``w = sqrt(S) / (sqrt(S) +
    sqrt(knee))`` grows with the bank size S, and wire energy scales with the linear dimension of the
    array (``sqrt`` of the SRAM mm^2-per-MB ratio) times ``(node/45)**wire_node_exponent`` (V^2 only).
    Small banks therefore scale like logic, large ones like wires.
    """
    e = arch.energy
    f_e = node_factor(arch)
    w = np.sqrt(bank_kib) / (np.sqrt(bank_kib) + np.sqrt(e.sram_wire_knee_kib))
    ref = arch.area.sram_mm2_per_mb_45nm
    density = sram_mm2_per_mb(arch) / ref if ref > 0 else 1.0
    f_wire = np.sqrt(density) * (arch.tech.node_nm / 45.0) ** e.wire_node_exponent
    return float((1.0 - w) * f_e + w * f_wire)


def sram_read_pj_per_bit(buffer_bytes: float, arch: ArchSpec, banks: int | None = None) -> float:
    """Read energy per bit of one buffer at the arch's node (bank size from ``banks``, default
    ``buffers.banks``): the 45 nm Horowitz fit ``coeff * bank_KB**exponent`` times :func:`sram_node_factor`."""
    e = arch.energy
    nb = arch.buffers.banks if banks is None else banks
    bank_kib = min(max(buffer_bytes / 1024.0 / nb, 1e-3), e.sram_max_bank_kib)
    return e.sram_read_pj_per_bit_coeff * bank_kib**e.sram_read_exponent * sram_node_factor(bank_kib, arch)


def level_read_pj_per_bit(arch: ArchSpec, i: int) -> float:
    """Read energy per bit of memory level ``i`` of the hierarchy (its override, else the SRAM model
    at its size; the DRAM level: ``dram_pj_per_bit``)."""
    lv = arch.hierarchy.levels[i]
    if lv.dram:
        return dram_pj_per_bit(arch)
    if lv.read_pj_per_bit is not None:
        return float(lv.read_pj_per_bit)
    return sram_read_pj_per_bit(lv.capacity_bytes, arch, lv.banks)


def buffer_read_pj_per_bit(arch: ArchSpec) -> tuple[float, float, float]:
    """(ifmap, filter, ofmap) read energy per bit of the operands' inner buffers."""
    h = arch.hierarchy
    if h.legacy:
        ifm, fil, ofm = arch.buffers.sizes_bytes()
        return sram_read_pj_per_bit(ifm, arch), sram_read_pj_per_bit(fil, arch), sram_read_pj_per_bit(ofm, arch)
    return (level_read_pj_per_bit(arch, h.inner("ifmap")), level_read_pj_per_bit(arch, h.inner("filter")),
            level_read_pj_per_bit(arch, h.inner("ofmap")))


def gemm_energy_pj(
    arch: ArchSpec,
    res: dict[str, np.ndarray],
    *,
    macs_executed: np.ndarray,
    mac_pj: np.ndarray,
    a_bits: np.ndarray,
    b_bits: np.ndarray,
    dram_bytes: np.ndarray,
    read_pj_per_bit: tuple[Any, Any, Any] | None = None,
    dram_pj_per_bit: float | None = None,
) -> dict[str, np.ndarray]:
    """Energy of one instance of each GEMM row, per component (pJ arrays).

    ``res`` is the engine answer (SRAM access counts in elements of the streamed K_eff grid, DRAM bytes);
    ``a_bits``/``b_bits`` are bits per such element (packing and compression folded in);
    ``mac_pj`` the node-scaled, gated energy per executed MAC. ``read_pj_per_bit`` (ifmap, filter, ofmap:
    numbers or arrays broadcasting over the rows, e.g. one per design of a group) and ``dram_pj_per_bit``
    default to the arch's :func:`buffer_read_pj_per_bit` and :func:`dram_pj_per_bit`.
    """
    e_if, e_fil, e_of = buffer_read_pj_per_bit(arch) if read_pj_per_bit is None else read_pj_per_bit
    e_dram = _dram_pj_per_bit(arch) if dram_pj_per_bit is None else dram_pj_per_bit
    wf = arch.energy.sram_write_factor
    acc = arch.pe.acc_bits
    fill_a = res["dram_ifmap_read_bytes"] * 8.0
    fill_b = res["dram_filter_read_bytes"] * 8.0
    of_reads = res.get("sram_ofmap_reads", 0.0)
    return {
        "mac": macs_executed * mac_pj,
        "sram_ifmap": (res["sram_ifmap_reads"] * a_bits + fill_a * wf) * e_if,
        "sram_filter": (res["sram_filter_reads"] * b_bits + fill_b * wf) * e_fil,
        "sram_ofmap": (res["sram_ofmap_writes"] * acc * wf + of_reads * acc) * e_of,
        "dram": dram_bytes * 8.0 * e_dram,
    }


def static_power_w(arch: ArchSpec, area_mm2: float) -> float:
    """Idle (static) power: ``energy.leakage_mw`` when set, else ``static_w_per_mm2 x area`` (leakage, clock
    tree and always-on control scale with the silicon that is powered; docs/calibration.md)."""
    if arch.energy.leakage_mw is not None:
        return arch.energy.leakage_mw * 1e-3
    return arch.energy.static_w_per_mm2 * area_mm2


def leakage_pj(arch: ArchSpec, latency_s: float, area_mm2: float | None = None) -> float:
    """Static energy over ``latency_s`` (W * s = 1e12 pJ); ``area_mm2`` defaults to the arch's modelled area."""
    if area_mm2 is None:
        area_mm2 = area_breakdown_mm2(arch)["total"]
    return static_power_w(arch, area_mm2) * 1e12 * latency_s
