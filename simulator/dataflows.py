"""Every rule that depends on the dataflow, in one place (OS / WS / IS; add a new one here).

For a GEMM  A(M x K) . B(K x N) = C(M x N)  on an H x W array (SCALE-Sim's conventions):

| dataflow | array rows <- | array cols <- | streamed T | stationary | A tile | B tile | C tile | C accumulates over row folds |
|----------|---------------|---------------|------------|------------|--------|--------|--------|------------------------------|
| os       | M             | N             | K          | C          | rows x K | K x cols | rows x cols | no |
| ws       | K             | N             | M          | B          | M x rows | rows x cols | M x cols | yes (K folds) |
| is       | K             | M             | N          | A          | cols x rows | rows x N | cols x N | yes (K folds) |

What lives here (and nowhere else): the dimension mapping (``geometry`` for the kernels, ``map_gemm``
vectorised), the tiles a fold needs and what they change with (``tile_elems``, ``deps``), whether
partial sums accumulate over row folds (``accumulates``), which fold-loop orders are legal
(``free_loop_order``), SCALE-Sim's per-fold cycles and SRAM counts (``scalesim_fold_cycles``,
``sram_accesses``), the per-cycle wavefront of a fold (``event_length``, ``wavefront_counts``), the
SRAM ports per operand (``ports``), the register bits a MAC moves (``register_bits``, for MAC
energy) and the functional mode's operand roles (``functional_roles``).
The numba kernels take the integer code; adding a dataflow means a new code in ``NAMES`` and a branch
in each function below, plus its tests (docs/README.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulator.jit import njit

OS, WS, IS = 0, 1, 2
#: dataflow names, index = code
NAMES: tuple[str, ...] = ("os", "ws", "is")
DATAFLOW_CODE: dict[str, int] = {name: code for code, name in enumerate(NAMES)}
#: timing-model codes shared by the kernels (docs/timing.md)
T_SCALESIM, T_PREFETCH, T_SERIAL = 0, 1, 2


def dataflow_code(dataflow: Any) -> np.ndarray:
    """'os'/'ws'/'is' (or an array of them, or codes 0/1/2) -> int64 codes."""
    arr = np.asarray(dataflow)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.ndim == 0:
        return np.asarray(DATAFLOW_CODE[str(arr.item()).lower()], dtype=np.int64)
    # one dictionary look-up per distinct name, then a vectorised gather
    names, inverse = np.unique(arr, return_inverse=True)
    codes = np.asarray([DATAFLOW_CODE[str(d).lower()] for d in names], dtype=np.int64)
    return codes[inverse].reshape(arr.shape)


# ---- scalar rules for the numba kernels (closed form, cycle engine, traces) -------------------------


@njit(cache=True)
def geometry(m: int, n: int, k: int, h: int, w: int, df: int) -> tuple[int, int, int, int, int]:
    """(spatial rows, spatial cols, streamed T, row folds, col folds) -- same as ``map_gemm``."""
    if df == OS:
        sr, sc, t = m, n, k
    elif df == WS:
        sr, sc, t = k, n, m
    else:
        sr, sc, t = k, m, n
    return sr, sc, t, (sr + h - 1) // h, (sc + w - 1) // w


@njit(cache=True)
def tile_elems(df: int, m: int, n: int, k: int, rows: int, cols: int) -> tuple[int, int, int]:
    """Elements of the A, B and C tiles of a fold using ``rows`` x ``cols`` PEs."""
    if df == OS:
        return rows * k, k * cols, rows * cols
    if df == WS:
        return m * rows, rows * cols, m * cols
    return cols * rows, rows * n, cols * n


@njit(cache=True)
def accumulates(df: int) -> bool:
    """True when the output accumulates partial sums over the row (K) folds (WS, IS)."""
    return df != OS


@njit(cache=True)
def free_loop_order(df: int) -> bool:
    """True when either fold loop may run outer (OS: no partial sums); else the K folds run inner."""
    return df == OS


@njit(cache=True)
def deps(df: int, lp: int) -> tuple[int, int]:
    """What the A and B tiles change with: 0 the outer fold index only, 1 the inner only, 2 both."""
    on_i = 0 if lp == 0 else 1  # a tile that changes with the row fold i only
    on_j = 1 - on_i
    if df == OS:
        return on_i, on_j
    if df == WS:
        return on_i, 2
    return 2, on_i


@njit(cache=True)
def scalesim_fold_cycles(h: int, w: int, t: int, df: int) -> int:
    """SCALE-Sim 3.0.0's cycles per fold: ``H + W + T - 2`` (OS) or ``2H + W + T - 2`` (WS/IS)."""
    stream = h + w + t - 2
    return stream if df == OS else stream + h


@njit(cache=True)
def output_stream_cycles(h: int, w: int, t: int, df: int, timing: int) -> int:
    """Cycles at the end of the last fold's window during which its finished output rows leave the
    array, one row per cycle (docs/memory.md section 4c; ``memory.tiles.last_store``): the last ``T`` cycles of ``2H + W + T - 2``
    (WS/IS: row ``m`` is complete ``2H + W - 2 + m`` cycles in), the last ``H`` (OS: the drain).
    0 under SCALE-Sim timing, which writes the last fold's outputs after its window."""
    if timing == T_SCALESIM:
        return 0
    return h if df == OS else t


@njit(cache=True)
def event_length(h: int, w: int, t: int, df: int, timing: int) -> int:
    """Cycles from a fold's first SRAM access to its last (full array: idle PEs still clock)."""
    if df == OS and timing == T_SCALESIM:
        return h + w + t - 2  # last MAC of PE (H-1, W-1); SCALE-Sim does not drain
    return 2 * h + w + t - 2  # OS: + H drain cycles; WS/IS: H preload cycles + skew + H-row psum path


@njit(cache=True)
def _band(e: int, n: int, t: int) -> int:
    """#{r in [0, n) : 0 <= e - r < t} -- lanes of an n-wide skewed edge active at cycle e."""
    lo = max(0, e - t + 1)
    hi = min(n - 1, e)
    return hi - lo + 1 if hi >= lo else 0


@njit(cache=True)
def _antidiag(s: int, r: int, c: int) -> int:
    """#{(i, j) in [0, r) x [0, c) : i + j = s}."""
    lo = max(0, s - c + 1)
    hi = min(r - 1, s)
    return hi - lo + 1 if hi >= lo else 0


@njit(cache=True)
def _diag(d: int, r: int, c: int) -> int:
    """#{(i, j) in [0, r) x [0, c) : j - i = d}."""
    lo = max(0, -d)
    hi = min(r - 1, c - 1 - d)
    return hi - lo + 1 if hi >= lo else 0


@njit(cache=True)
def wavefront_counts(e: int, rows: int, cols: int, h: int, t: int, df: int, timing: int) -> tuple[int, int, int]:
    """(ifmap reads, filter reads, ofmap writes) in local cycle e of a fold using rows x cols PEs.

    OS: row r reads A[r, e - r], column c reads B[e - c, c]; PE (r, c) finishes at r + c + T - 1
    and (default timing) its output leaves the bottom edge at c - r + T + 2H - 2 (column shift-out).
    WS/IS: the stationary tile shifts in one row per cycle (last row first), during cycles [0, rows)
    in every column (``scalesim`` / serial timing) or, pipelined (``T_PREFETCH``), during
    [c, c + rows) in column c: the load follows the column skew so that it never overwrites a weight
    the fold two back still uses (docs/timing.md); then row r reads its streamed element s at
    H + s + r; the partial sum of s leaves column c at H + s + (H - 1) + c.
    """
    if df == OS:
        ifm = _band(e, rows, t)
        fil = _band(e, cols, t)
        if timing == T_SCALESIM:
            ofm = _antidiag(e - t + 1, rows, cols)
        else:
            ofm = _diag(e - t - 2 * h + 2, rows, cols)
        return ifm, fil, ofm
    if timing == T_PREFETCH:
        pre = _band(e, cols, rows)
    else:
        pre = cols if 0 <= e < rows else 0
    stream = _band(e - h, rows, t) if e >= h else 0
    ofm = _antidiag(e - 2 * h + 1, t, cols)
    if df == WS:
        return stream, pre, ofm
    return pre, stream, ofm


@njit(cache=True)
def ports(which: int, df: int, h: int, w: int) -> int:
    """SRAM ports of buffer ``which`` (0 ifmap, 1 filter, 2 ofmap): one per array edge lane it feeds."""
    if which == 2:
        return w
    if df == OS:
        return h if which == 0 else w
    if df == IS:
        return w if which == 0 else h
    return h if which == 0 else w


# ---- vectorised rules (numpy, broadcasting over GEMMs x arrays) -------------------------------------


def ceil_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return -(-a // b)


def map_gemm(m: Any, n: Any, k: Any, rows: Any, cols: Any, dataflow: Any) -> dict[str, np.ndarray]:
    """Spatial/temporal mapping of GEMMs onto arrays (vectorised, broadcasting).

    Returns int64 arrays: ``spatial_rows`` (S_R), ``spatial_cols`` (S_C), ``streamed`` (T),
    ``row_folds`` = ceil(S_R/H), ``col_folds`` = ceil(S_C/W), ``folds`` = row_folds * col_folds.
    """
    m, n, k, h, w, df = np.broadcast_arrays(
        np.asarray(m, dtype=np.int64),
        np.asarray(n, dtype=np.int64),
        np.asarray(k, dtype=np.int64),
        np.asarray(rows, dtype=np.int64),
        np.asarray(cols, dtype=np.int64),
        dataflow_code(dataflow),
    )
    is_os = df == OS
    is_ws = df == WS
    sr = np.where(is_os, m, k)
    sc = np.where(is_os | is_ws, n, m)
    t = np.where(is_os, k, np.where(is_ws, m, n))
    row_folds = ceil_div(sr, h)
    col_folds = ceil_div(sc, w)
    return {
        "spatial_rows": sr,
        "spatial_cols": sc,
        "streamed": t,
        "row_folds": row_folds,
        "col_folds": col_folds,
        "folds": row_folds * col_folds,
    }


def scalesim_fold_cycles_v(h: np.ndarray, w: np.ndarray, t: np.ndarray, df: np.ndarray) -> np.ndarray:
    """Vectorised ``scalesim_fold_cycles``."""
    stream = h + w + t - 2
    return np.where(df == OS, stream, stream + h)


def sram_accesses(
    m: Any, n: Any, k: Any, mp: dict[str, np.ndarray], dataflow: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ifmap reads, filter reads, ofmap writes) in elements, SCALE-Sim's counting: the streamed
    operand is re-read once per fold of the other spatial dimension, the stationary one once."""
    m = np.asarray(m, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    k = np.asarray(k, dtype=np.int64)
    df = dataflow_code(dataflow)
    a = m * k
    b = k * n
    c = m * n
    rf, cf = mp["row_folds"], mp["col_folds"]
    ifmap = np.where(df == IS, a, a * cf)
    filt = np.where(df == OS, b * rf, np.where(df == WS, b, b * cf))
    ofmap = np.where(df == OS, c, c * rf)
    return ifmap, filt, ofmap


def psum_rereads(m: np.ndarray, n: np.ndarray, row_folds: np.ndarray, df: Any) -> np.ndarray:
    """SRAM partial-sum re-reads in elements: ``(row folds - 1) x M x N`` where outputs accumulate."""
    acc = dataflow_code(df) != OS
    return np.where(acc, m * n * (np.asarray(row_folds) - 1), 0).astype(np.int64)


def streamed_dim(df: int, m: int, n: int, k: int) -> int:
    """T of one GEMM (scalar)."""
    return k if df == OS else (m if df == WS else n)


def register_bits(df: Any, act_bits: Any, wt_bits: Any, acc_bits: Any) -> np.ndarray:
    """Register bits a MAC moves between PEs: the two operands that travel through the array (OS:
    activation + weight; WS: activation + partial sum; IS: weight + partial sum). Vectorised."""
    d = dataflow_code(df)
    a, w, acc = (np.asarray(x) for x in (act_bits, wt_bits, acc_bits))
    return np.where(d == WS, a + acc, np.where(d == IS, w + acc, a + w))


def pe_register_bits(df: Any, act_bits: Any, wt_bits: Any, acc_bits: Any) -> np.ndarray:
    """Register bits a PE *holds* (area): the pipeline registers of the two moving operands
    (:func:`register_bits`) plus the stationary one: OS the accumulator, WS the weight and IS the
    input, both double-buffered so the next fold's value loads while the current one is used."""
    d = dataflow_code(df)
    a, w, acc = (np.asarray(x) for x in (act_bits, wt_bits, acc_bits))
    return register_bits(df, a, w, acc) + np.where(d == WS, 2 * w, np.where(d == IS, 2 * a, acc))


def functional_roles(df: int) -> tuple[str, bool]:
    """How the functional mode runs a dataflow: (kernel ``"os"`` or ``"ws"``, transpose the problem).

    IS is WS on the transposed problem: C^T = B^T A^T (A^T stationary, B^T streamed); the kernel's
    ifmap/filter read counters are swapped back afterwards.
    """
    if df == OS:
        return "os", False
    return "ws", df == IS
