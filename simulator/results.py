"""The ONE per-GEMM result layout shared by both engines (closed form and cycle level).

Both engines fill a float64 matrix ``out[g, column]`` whose columns are ``GEMM_FIELDS`` (in this
order); the numba kernels address columns by the integer constants below (module globals, frozen at
compile time), and ``to_dict`` turns the matrix into the public dict of 1-D arrays (integers as
int64, bytes and ratios as float64). Adding a per-GEMM figure: one entry in ``GEMM_FIELDS`` and one
constant here, then both kernels write it (tests/test_cycle.py compares every field).
"""

from __future__ import annotations

import numpy as np

#: (name, kind): "i" reported as int64, "f" as float64
GEMM_FIELDS: tuple[tuple[str, str], ...] = (
    ("compute_cycles", "i"),
    ("stall_cycles", "i"),
    ("total_cycles", "i"),
    ("utilization", "f"),
    ("compute_utilization", "f"),
    ("macs", "i"),
    ("folds", "i"),
    ("sram_ifmap_reads", "i"),
    ("sram_filter_reads", "i"),
    ("sram_ofmap_writes", "i"),
    ("sram_ofmap_reads", "i"),
    ("dram_ifmap_read_bytes", "f"),
    ("dram_filter_read_bytes", "f"),
    ("dram_ofmap_read_bytes", "f"),
    ("dram_ofmap_write_bytes", "f"),
    ("peak_ifmap_bytes", "f"),
    ("peak_filter_bytes", "f"),
    ("peak_ofmap_bytes", "f"),
    ("loop_order", "i"),
    ("prologue_cycles", "i"),
    ("prologue_bytes", "f"),
    ("prologue_filter_bytes", "f"),
    ("tail_idle_cycles", "i"),
    ("tail_free_filter_bytes", "f"),
    ("body_free_filter_bytes", "f"),
    ("body_idle_cycles", "i"),
    ("tail_free_ifmap_bytes", "f"),
    ("dataflow", "i"),
)
#: keys of the per-GEMM result dictionaries (both engines), in column order
RESULT_KEYS: tuple[str, ...] = tuple(name for name, _ in GEMM_FIELDS)
N_FIELDS = len(GEMM_FIELDS)

# column constants (the kernels use these; test_layout_constants checks them against GEMM_FIELDS)
COMPUTE_CYCLES, STALL_CYCLES, TOTAL_CYCLES, UTILIZATION, COMPUTE_UTILIZATION, MACS, FOLDS = range(7)
SRAM_IFMAP_READS, SRAM_FILTER_READS, SRAM_OFMAP_WRITES, SRAM_OFMAP_READS = range(7, 11)
DRAM_IFMAP_READ, DRAM_FILTER_READ, DRAM_OFMAP_READ, DRAM_OFMAP_WRITE = range(11, 15)
PEAK_IFMAP, PEAK_FILTER, PEAK_OFMAP, LOOP_ORDER = range(15, 19)
PROLOGUE_CYCLES, PROLOGUE_BYTES, PROLOGUE_FILTER_BYTES, TAIL_IDLE_CYCLES = range(19, 23)
TAIL_FREE_FILTER, BODY_FREE_FILTER, BODY_IDLE_CYCLES, TAIL_FREE_IFMAP = range(23, 27)
DATAFLOW = 27  # the dataflow code the GEMM ran with (simulator.dataflows.NAMES)
#: the cross-op prefetch figures (a contiguous block, ``memory.crossop.cross_op_figures`` order)
CROSS_OP_FIRST = PROLOGUE_CYCLES


def new_matrix(n: int) -> np.ndarray:
    """A zeroed result matrix for ``n`` GEMMs."""
    return np.zeros((n, N_FIELDS))


def finish(out: np.ndarray, m: np.ndarray, n: np.ndarray, k: np.ndarray, pes: float) -> None:
    """Fill the columns derived the same way by both engines: MACs and the two utilizations."""
    macs = m * n * k
    out[:, MACS] = macs
    out[:, UTILIZATION] = macs / (np.maximum(out[:, TOTAL_CYCLES], 1) * pes)
    out[:, COMPUTE_UTILIZATION] = macs / (np.maximum(out[:, COMPUTE_CYCLES], 1) * pes)


def to_dict(out: np.ndarray) -> dict[str, np.ndarray]:
    """The public per-GEMM dict (``RESULT_KEYS``) from a result matrix."""
    res: dict[str, np.ndarray] = {}
    for x, (name, kind) in enumerate(GEMM_FIELDS):
        col = out[:, x]
        res[name] = col.astype(np.int64) if kind == "i" else col.copy()
    return res
