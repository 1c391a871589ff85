"""GEMM -> systolic array mapping (the dimension rules per dataflow live in ``simulator.dataflows``).

``map_gemm`` gives spatial rows/cols, the streamed dimension and the folds of many GEMMs x arrays
at once (numpy, broadcasting); ``mapping_efficiency`` the average fraction of PEs a fold fills.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulator.dataflows import DATAFLOW_CODE, IS, OS, WS, ceil_div, dataflow_code, map_gemm

__all__ = ["DATAFLOW_CODE", "IS", "OS", "WS", "ceil_div", "dataflow_code", "map_gemm", "mapping_efficiency"]


def mapping_efficiency(mp: dict[str, np.ndarray], rows: Any, cols: Any) -> np.ndarray:
    """Average fraction of PEs holding a stationary element, over all folds (0..1)."""
    h = np.asarray(rows, dtype=np.float64)
    w = np.asarray(cols, dtype=np.float64)
    return (mp["spatial_rows"] * mp["spatial_cols"]) / (mp["folds"] * h * w)
