"""Area model (docs/energy.md): PE array + SRAM + vector unit, scaled to ``tech.node_nm``.

* array: ``rows * cols * count * pe_area_um2 * array_overhead * (node/45)**node_exponent``, where
  ``pe_area_um2`` is multiplier + accumulator adder at 45 nm (Horowitz table: 8b mult 282 um^2,
  32b add 137 um^2, fp16 mult 1640, fp32 mult 7700, fp16 add 1360, fp32 add 4184) times the precision
  mode factor (bit fusion 2.5x) and the sparse-support factor.
* SRAM: total buffer MiB * (mm^2 per MB at the node), log-log interpolated between the 45/28/16/7 nm
  table points (6.0 / 3.0 / 1.6 / 0.6 mm^2 per MB), extrapolated from the nearest segment; with
  ``memory:`` levels every on-chip level counts (private ones once per array) unless it gives
  ``area_mm2``. DRAM is off chip.
* vector: ``lanes * vector_lane_um2 * (node/45)**node_exponent``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulator.arch import ArchSpec
from simulator.dataflows import NAMES as DATAFLOW_NAMES
from simulator.dataflows import pe_register_bits as dataflow_pe_register_bits
from simulator.levels import DRAM_PHY_MM2_PER_GBPS, dram_peak_gbps
from simulator.precision import pe_area_um2


def sram_mm2_per_mb(arch: ArchSpec) -> float:
    a = arch.area
    nodes = np.array([7.0, 16.0, 28.0, 45.0])
    vals = np.array([a.sram_mm2_per_mb_7nm, a.sram_mm2_per_mb_16nm, a.sram_mm2_per_mb_28nm, a.sram_mm2_per_mb_45nm])
    x = np.log(arch.tech.node_nm)
    lx, lv = np.log(nodes), np.log(np.maximum(vals, 1e-12))
    i = int(np.clip(np.searchsorted(lx, x) - 1, 0, len(lx) - 2))
    slope = (lv[i + 1] - lv[i]) / (lx[i + 1] - lx[i])
    return float(np.exp(lv[i] + slope * (x - lx[i])))


def logic_scale(arch: ArchSpec) -> float:
    return (arch.tech.node_nm / 45.0) ** arch.area.node_exponent


def pe_register_bits(arch: ArchSpec) -> int:
    """Pipeline register bits per PE (``area.pe_register_bits`` or the dataflow's default,
    :func:`simulator.dataflows.pe_register_bits`)."""
    if arch.area.pe_register_bits is not None:
        return int(arch.area.pe_register_bits)
    n = arch.pe.native_bits
    # an `auto` array can run every dataflow: it carries the registers of the most demanding one
    dfs = DATAFLOW_NAMES if arch.array.dataflow == "auto" else (arch.array.dataflow,)
    return int(max(dataflow_pe_register_bits(d, n, n, arch.pe.acc_bits) for d in dfs))


def fixed_mm2(arch: ArchSpec) -> float:
    """Blocks that do not scale with the array: control, DMA and bus interface (logic-scaled from 45 nm)
    plus the DRAM interface (PHY + controller, per GB/s of peak bandwidth by DRAM kind)."""
    a = arch.area
    kind = arch.dram_kind
    phy_per = (a.dram_phy_mm2_per_gbps if a.dram_phy_mm2_per_gbps is not None
               else DRAM_PHY_MM2_PER_GBPS.get(kind, 0.0))
    return a.fixed_mm2_45nm * logic_scale(arch) + phy_per * dram_peak_gbps(arch)


def array_mm2(arch: ArchSpec, num_pes: Any) -> Any:
    """Area of ``num_pes`` PEs of ``arch`` (a number, or an array of PE counts: one per design of a group)."""
    s = logic_scale(arch)
    pe_um2 = pe_area_um2(arch.pe, arch.area) + pe_register_bits(arch) * arch.area.register_um2_per_bit
    return num_pes * pe_um2 * arch.area.array_overhead * s * 1e-6


def area_breakdown_mm2(arch: ArchSpec) -> dict[str, float]:
    """``{"array", "sram", "vector", "fixed", "total"}`` in mm^2.

    PE = (multiplier + accumulator adder + pipeline registers) x ``array_overhead`` x logic scale;
    fixed = control/DMA/interface + DRAM PHY (docs/energy.md, docs/calibration.md).
    """
    s = logic_scale(arch)
    array = array_mm2(arch, arch.num_pes)
    h = arch.hierarchy
    if h.legacy:
        sram = sum(arch.buffers.sizes_bytes()) * arch.array.count / 2**20 * sram_mm2_per_mb(arch)
    else:  # every on-chip level: its area override, else its MiB at the node (private levels per array)
        sram = sum((lv.area_mm2 if lv.area_mm2 is not None else lv.capacity_bytes / 2**20 * sram_mm2_per_mb(arch))
                   * (1 if lv.shared else arch.array.count) for lv in h.on_chip)
    vector = arch.vector.lanes * arch.area.vector_lane_um2 * s * 1e-6
    fixed = fixed_mm2(arch)
    return {"array": array, "sram": sram, "vector": vector, "fixed": fixed, "total": array + sram + vector + fixed}


def area_mm2(arch: ArchSpec) -> float:
    return area_breakdown_mm2(arch)["total"]
