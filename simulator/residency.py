"""Residency between ops: where each GEMM's operands come from and where its output goes.

The rule (docs/memory.md section 8), per GEMM record, with whole tensors per layer iteration (all
``batch x count / layers`` products of the record, e.g. every head):

* activations live in the activation level ``L`` (``Hierarchy.act_level``: the innermost on-chip level
  holding ifmap and ofmap, shared by the arrays or with one array) of usable capacity ``cap``;
* an op keeps its output on chip when its live set fits: ``A + C (+ B when B is an activation) <= cap``;
  otherwise the output spills to DRAM (reported per op);
* a GEMM reads A on chip when the op just before it (workload order; a vector op or a GEMM) kept its
  output there; otherwise from DRAM (the first op's input always comes from DRAM, and a GEMM that is
  the workload's last op writes its result to DRAM);
* a B that is an activation (K^T, V of attention) is on chip when the live set with it fits; the KV
  cache of decoding (a B that grows per step) is on chip when the whole cache of all layers fits the
  KV level (``Hierarchy.kv_level``) next to the largest activation live set when they share a level;
* weights come from DRAM; when an on-chip level outside the inner filter buffer may hold weights
  (``Hierarchy.weight_level``) and one product's B fits it (next to the largest activation live set
  when it is also the activation level), re-fetches come from that level and DRAM sends the weight once.

Source codes per operand: ``IN_PLACE`` (already in its inner buffer: no transfer), ``DRAM``, or the index
of the on-chip level the link reads from / writes to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

IN_PLACE = -2
DRAM = -1


@dataclass(frozen=True)
class Residency:
    """Per design and engine row (``(D, R)`` arrays): the source level of A and B and the sink of C
    (codes above); per design: whether the KV cache stays on chip and its bytes."""

    a_src: np.ndarray
    b_src: np.ndarray
    c_dst: np.ndarray
    kv_on_chip: np.ndarray
    kv_bytes: np.ndarray


def _level_code(i: int | None, inner: int) -> int:
    if i is None:
        return DRAM
    return IN_PLACE if i == inner else i


def _kv_bytes(gemms: Any, r: np.ndarray, b_prod: np.ndarray) -> np.ndarray:
    """Per design: bytes of the whole KV cache (every B that grows per decode step, at its last step)."""
    kv_total = np.zeros(b_prod.shape[0])
    for i, g in enumerate(gemms):
        if (not g.b_is_weight) and (g.n_per_step > 0 or g.k_per_step > 0):
            rows = np.nonzero(r == i)[0]
            kv_total = kv_total + b_prod[:, rows].max(axis=1) * g.batch * g.count
    return kv_total


def residency(prep: Any, group: Any, a_prod: np.ndarray, b_prod: np.ndarray, c_prod: np.ndarray,
              vector_live: np.ndarray) -> Residency:
    """Sources per design and engine row (``prep``: the prepared workload of ``simulator.run``; ``group``:
    a ``simulator.group.DesignGroup`` -- the structure of its hierarchy, each design's capacities;
    ``*_prod``: ``(D, R)`` bytes of one product's A, B, C per row; ``vector_live``: per vector record,
    the bytes of its inputs and output per layer iteration)."""
    hier = group.hier
    gemms = prep.gemms
    r = prep.rec
    n_d, n_rows = a_prod.shape
    act = hier.act_level
    if act is None and hier.kv_level is None and hier.weight_level() is None:  # e.g. buffers:/dram: designs
        dram = np.full((n_d, n_rows), DRAM, dtype=np.int64)
        return Residency(dram, dram, dram, np.zeros(n_d, dtype=bool), _kv_bytes(gemms, r, b_prod))
    cap = group.act_capacity[:, None]  # (D, 1)
    per_it = np.array([g.batch * g.count / g.layers for g in gemms], dtype=np.float64)[r]
    weight = np.array([g.b_is_weight for g in gemms], dtype=bool)[r]
    grows_b = np.array([(not g.b_is_weight) and (g.n_per_step > 0 or g.k_per_step > 0) for g in gemms],
                       dtype=bool)[r]
    a_it, b_it, c_it = a_prod * per_it, b_prod * per_it, c_prod * per_it
    b_act = ~weight & ~grows_b
    live_row = a_it + c_it + np.where(b_act, b_it, 0.0)
    ng = len(gemms)
    live_rec = np.zeros((n_d, ng))
    np.maximum.at(live_rec, (np.arange(n_d)[:, None], r[None, :]), live_row)
    kept_g = live_rec <= cap if act is not None else np.zeros((n_d, ng), dtype=bool)
    kept_v = vector_live[None, :] <= cap if act is not None else np.zeros((n_d, vector_live.size), dtype=bool)
    # A on chip when the op before kept its output there
    a_on_rec = np.zeros((n_d, ng), dtype=bool)
    prev: tuple[str, int] | None = None
    for kind, i in prep.order:
        if kind == "g" and prev is not None:
            a_on_rec[:, i] = kept_g[:, prev[1]] if prev[0] == "g" else kept_v[:, prev[1]]
        prev = (kind, i)
    largest = np.maximum(live_rec.max(axis=1, initial=0.0), float(vector_live.max(initial=0.0)))
    # KV cache: the whole cache of all layers at the last step, next to the activations if they share
    kv_total = _kv_bytes(gemms, r, b_prod)
    kvl = hier.kv_level
    if kvl is not None:
        kv_cap = group.act_capacity - largest if kvl == act else group.level_bytes[:, kvl]
        kv_on = (kv_total > 0) & (kv_total <= kv_cap)
    else:
        kv_on = np.zeros(n_d, dtype=bool)

    a_code_on = _level_code(act, hier.inner("ifmap"))
    c_code_on = _level_code(act, hier.inner("ofmap"))
    b_code_act = _level_code(act, hier.inner("filter"))
    a_src = np.where(a_on_rec[:, r], a_code_on, DRAM) if act is not None else np.full((n_d, n_rows), DRAM)
    c_dst = np.where(live_row <= cap, c_code_on, DRAM) if act is not None else np.full((n_d, n_rows), DRAM)
    if prep.order and prep.order[-1][0] == "g":  # the workload's result leaves the chip
        c_dst = np.where(r == prep.order[-1][1], DRAM, c_dst)
    b_src = np.full((n_d, n_rows), DRAM)
    if act is not None:
        b_src = np.where(b_act & (live_row <= cap), b_code_act, b_src)
    if kvl is not None:
        b_src = np.where(kv_on[:, None] & grows_b, _level_code(kvl, hier.inner("filter")), b_src)
    wl = hier.weight_level()
    if wl is not None:  # one product's weights stay there (next to the largest activation live set if shared)
        room = group.act_capacity - largest if wl == act else group.level_bytes[:, wl]
        b_src = np.where(weight & (b_prod <= room[:, None]), wl, b_src)
    return Residency(a_src.astype(np.int64), b_src.astype(np.int64), c_dst.astype(np.int64), kv_on, kv_total)
