"""The per-GEMM input layout of both engines: one float64 row of parameters per GEMM.

Every engine input is a column, so one kernel call can evaluate GEMMs of different shapes, arrays,
dataflows, buffer sizes, bytes per element and memory links at once (ops x candidate mappings x
designs): ``P[g, M]`` ... ``P[g, LAT]``. The closed form (``memory.closed.closed_form``) and the cycle
engine (``cycle.engine.simulate_many``) read the same columns; ``param_matrix`` builds the matrix from
broadcastable arrays.

Links (docs/memory.md section 8): the inner buffer of each operand is filled from its source level
over a link of ``1 / INV_*`` bytes per array cycle (0 = free: the operand already sits in its inner
buffer, or the memory is ideal); ``INV_C`` serves the output write-back and partial-sum re-reads.
``LAT`` is the first-byte latency of the slowest link in use.
"""

from __future__ import annotations

from typing import Any

import numpy as np

M, N, K, H, W, DF, TIMING, DB, CAP_A, CAP_B, CAP_C, AB, BB, OB, INV_A, INV_B, INV_C, LAT = range(18)
N_PARAMS = 18
NAMES: tuple[str, ...] = ("m", "n", "k", "h", "w", "df", "timing", "db", "cap_a", "cap_b", "cap_c", "ab", "bb",
                          "ob", "inv_a", "inv_b", "inv_c", "lat")


def param_matrix(**cols: Any) -> np.ndarray:
    """A C-contiguous ``(G, N_PARAMS)`` matrix from one broadcastable value per column name (``NAMES``)."""
    missing = [name for name in NAMES if name not in cols]
    if missing:
        raise TypeError(f"param_matrix: missing {missing}")
    arrays = np.broadcast_arrays(*(np.atleast_1d(np.asarray(cols[name], dtype=np.float64)) for name in NAMES))
    return np.ascontiguousarray(np.stack(arrays, axis=1))
