"""The vector (SIMD) unit: softmax, layernorm, rmsnorm, GELU, SiLU, SwiGLU, adds, muls, RoPE, embedding.

Model (docs/vector.md), per op instance of ``e`` elements (``e = elements + s * elements_per_step``
at decode step ``s``):

* compute: ``ceil(e / lanes) * cycles_per_element(func) + startup_cycles`` vector-clock cycles,
  converted to array cycles by ``array.freq_mhz / vector.freq_mhz``. Never zero.
* operand traffic: ``inputs(func) + 1`` tensors of ``e`` elements at the operand's bits move between
  the vector unit and the on-chip output buffer (SRAM energy at the ofmap bank). When they do not fit
  in the ofmap buffer they spill to DRAM (read inputs, write output). ``embedding`` gathers its rows
  from the DRAM table (``e`` elements read).
* time: ``max(compute, dram_bytes / dram_bytes_per_cycle)`` (double-buffered streaming).
* energy: ``e * cycles_per_element * energy_pj_per_element_op * f_E`` + SRAM + DRAM.

Whether vector time overlaps GEMM time is decided in ``run.py`` from ``vector.overlap_with_array``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from simulator.arch import ArchSpec
from simulator.energy import dram_pj_per_bit, level_read_pj_per_bit, node_factor, sram_read_pj_per_bit
from workloads.ir import VectorOp

# tensors read per element (written: one)
INPUTS: dict[str, int] = {
    "softmax": 1, "layernorm": 1, "rmsnorm": 1, "gelu": 1, "silu": 1, "swiglu": 2, "add": 2, "mul": 2,
    "rope": 1, "embedding": 0,
}


def cycles_per_element(arch: ArchSpec, func: str) -> float:
    return float(getattr(arch.vector, f"{func}_cycles_per_element"))


def analyze_vector_ops(ops: Sequence[VectorOp], arch: ArchSpec) -> dict[str, np.ndarray]:
    """Per-record totals (over ``count`` and ``steps``): ``cycles`` (array clock), ``elements``,
    ``dram_bytes``, ``sram_bytes`` and energies ``energy_vector_pj``, ``energy_sram_ofmap_pj``,
    ``energy_dram_pj``."""
    n = len(ops)
    if n == 0:
        z = np.zeros(0)
        return {k: z for k in ("cycles", "elements", "dram_bytes", "spill_bytes", "sram_bytes", "energy_vector_pj",
                               "energy_sram_ofmap_pj", "energy_dram_pj")}
    v = arch.vector
    steps = np.array([o.steps for o in ops], dtype=np.int64)
    rec = np.repeat(np.arange(n), steps)
    base = np.array([o.elements for o in ops], dtype=np.float64)
    per = np.array([o.elements_per_step for o in ops], dtype=np.float64)
    offs = np.cumsum(steps) - steps
    s = np.arange(rec.size) - offs[rec]
    e = base[rec] + s * per[rec]  # elements of one instance at each step
    count = np.array([o.count for o in ops], dtype=np.float64)
    cpe = np.array([cycles_per_element(arch, o.func) for o in ops])
    nin = np.array([INPUTS[o.func] for o in ops], dtype=np.float64)
    is_emb = np.array([o.func == "embedding" for o in ops])
    nbytes = np.array([o.x.bits / 8.0 for o in ops])

    clock = arch.array.freq_mhz / (v.freq_mhz or arch.array.freq_mhz)
    comp = (np.ceil(e / v.lanes) * cpe[rec] + v.startup_cycles) * clock
    tensor_bytes = e * nbytes[rec]
    sram_bytes = tensor_bytes * (nin[rec] + 1.0)
    hier = arch.hierarchy
    act = hier.act_level
    # the vector unit works on activations where they stay (the activation level, docs/memory.md 8),
    # else in the output buffer; an instance whose inputs + output do not fit streams through DRAM
    ofmap_cap = hier.act_capacity() if act is not None else hier.inner_caps()[2]
    spill = sram_bytes > ofmap_cap
    dram = np.where(is_emb[rec], tensor_bytes, np.where(spill, sram_bytes, 0.0))
    bpc = arch.dram_bytes_per_cycle
    mem = dram / bpc if np.isfinite(bpc) else np.zeros_like(dram)
    cyc = np.maximum(comp, mem)

    def per_record(x: np.ndarray) -> np.ndarray:
        return np.bincount(rec, weights=x, minlength=n) * count

    elements = per_record(e)
    fe = node_factor(arch)
    e_of = sram_read_pj_per_bit(ofmap_cap, arch) if hier.legacy else level_read_pj_per_bit(
        arch, act if act is not None else hier.inner("ofmap"))
    wf = arch.energy.sram_write_factor
    sram_b = per_record(sram_bytes)
    out_b = per_record(tensor_bytes)  # the written tensor
    dram_b = per_record(dram)
    return {
        "cycles": per_record(cyc),
        "elements": elements,
        "dram_bytes": dram_b,
        "spill_bytes": per_record(np.where(is_emb[rec], 0.0, dram)),
        "sram_bytes": sram_b,
        "energy_vector_pj": elements * cpe * v.energy_pj_per_element_op * fe,
        "energy_sram_ofmap_pj": ((sram_b - out_b) * 8.0 + out_b * 8.0 * wf) * e_of,
        "energy_dram_pj": dram_b * 8.0 * dram_pj_per_bit(arch),
    }
