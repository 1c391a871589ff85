"""GEMM -> systolic array mapping (the dimension rules per dataflow live in ``simulator.dataflows``).

``map_gemm`` gives spatial rows/cols, the streamed dimension and the folds of many GEMMs x arrays
at once (numpy, broadcasting); ``mapping_efficiency`` the average fraction of PEs a fold fills.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulator.dataflows import DATAFLOW_CODE, IS, OS, WS, ceil_div, dataflow_code, map_gemm

__all__ = ["DATAFLOW_CODE", "IS", "OS", "WS", "ceil_div", "cheapest", "dataflow_code", "map_gemm",
           "mapping_efficiency", "take"]


def mapping_efficiency(mp: dict[str, np.ndarray], rows: Any, cols: Any) -> np.ndarray:
    """Average fraction of PEs holding a stationary element, over all folds (0..1)."""
    h = np.asarray(rows, dtype=np.float64)
    w = np.asarray(cols, dtype=np.float64)
    return (mp["spatial_rows"] * mp["spatial_cols"]) / (mp["folds"] * h * w)


def cheapest(cands: list[dict[str, np.ndarray]], energy: list[np.ndarray] | None = None) -> np.ndarray:
    """Per row, the index of the cheapest candidate mapping: fewest total cycles; ties: least energy
    when given, else fewest link bytes, then the earlier candidate."""
    cyc = np.stack([np.asarray(c["total_cycles"], dtype=np.float64) for c in cands])
    if energy is not None:
        tie = np.stack([np.asarray(e, dtype=np.float64) for e in energy])
    else:
        tie = np.stack([np.asarray(c["dram_ifmap_read_bytes"]) + c["dram_filter_read_bytes"] + c["dram_ofmap_read_bytes"]
                        + c["dram_ofmap_write_bytes"] for c in cands])
    order = np.lexsort((np.arange(len(cands))[:, None] * np.ones_like(cyc), tie, cyc), axis=0)
    return order[0]


def take(cands: list[dict[str, np.ndarray]], idx: np.ndarray) -> dict[str, np.ndarray]:
    """Row-wise pick of ``cands[idx[g]][key][g]`` for every key."""
    rows = np.arange(idx.size)
    return {key: np.stack([np.asarray(c[key]) for c in cands])[idx, rows] for key in cands[0]}
