"""Sparse arrays: what a sparse operand buys on a given ``pe.sparsity`` support.

Per GEMM record this decides five numbers (docs/precision_sparsity.md):

* ``k_scale`` -- fraction of the reduction dimension K the array still streams (cycles),
* ``n_scale`` -- fraction of the output columns N computed (dynamic attention score pruning only),
* ``b_store_scale`` -- fraction of the weight elements stored and moved (bytes),
* ``b_meta_bits`` -- metadata bits per stored weight element (index / bitmap traffic),
* ``mac_gate`` -- fraction of the executed MACs that burn multiplier energy (zero operands gated).

Semantics by support:

* ``none``: every workload runs dense (stored dense, no skip, no gating).
* ``nm`` (NVIDIA 2:4-style, Mishra et al. 2021, arXiv:2104.08378): a *static weight* whose N:M
  pattern fits the array's ``nm_n:nm_m`` is stored compressed (``n/m`` of K) plus ``metadata_bits``
  per kept value (unless ``pe.nm_compressed_dram`` is false: then DRAM and SRAM move the dense
  weights); K is compressed by ``nm_n/nm_m`` (not by the weight's own, possibly lower, density:
  the hardware has fixed N:M slots), or only by ``1/pe.nm_feed_ratio`` when the dense activation
  operand cannot be fed at the sparse rate. Anything else runs dense.
* ``zero_skip`` (Cambricon-X / SparTen-style skip logic): tiles whose weights are all zero are skipped
  and not stored (``k_scale = 1 - zero_tile_fraction``), from the per-tile occupancy the workload
  carries, else from block sparsity (``1 - density`` of the blocks), else for unstructured density d
  the chance an ``H``-element K-slice is all zero, ``(1-d)**H``. Zero operands inside executed tiles
  are clock-gated: energy, not cycles (``mac_gate = d_a*d_b/(1-skip)``). Metadata: ``metadata_bits``
  per stored tile. ``pe.attention_density < 1`` adds dynamic attention sparsity (Sanger, Lu et al.,
  MICRO 2021): QK^T computes only that fraction of the score columns (``n_scale``), AV skips the pruned
  probabilities' rows of V (``k_scale``); the low-precision prediction pass that finds the kept scores is not charged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from simulator.arch import PESpec
from workloads.ir import TensorSpec


@dataclass(frozen=True)
class SparsityEffect:
    k_scale: np.ndarray
    n_scale: np.ndarray  # fraction of output columns computed (dynamic QK^T score pruning)
    b_store_scale: np.ndarray
    b_meta_bits: np.ndarray
    mac_gate: np.ndarray
    applied: np.ndarray  # bool: the array exploited the sparsity of this record


def nm_conforms(n_w: int, m_w: int, n_h: int, m_h: int) -> bool:
    """Does a weight pruned n_w:m_w fit hardware n_h:m_h slots in every group (worst case)?"""
    if n_w <= 0 or m_w <= 0:
        return False
    if m_w % m_h == 0:  # coarser groups: all n_w may land in one hardware group
        return n_w <= n_h
    if m_h % m_w == 0:  # finer groups: m_h/m_w of them share one hardware group
        return n_w * (m_h // m_w) <= n_h
    return False


def zero_tile_fraction(t: TensorSpec, rows: int) -> float:
    """Fraction of all-zero tiles of an operand (what a zero-skipping array can skip)."""
    if t.tile_occupancy is not None and len(t.tile_occupancy) > 0:
        occ = np.asarray(t.tile_occupancy, dtype=np.float64)
        return float(np.mean(occ <= 0.0))
    if t.density >= 1.0 or t.pattern == "dense":
        return 0.0
    if t.pattern == "block":
        return 1.0 - t.density
    # unstructured / N:M: chance that an H-element K-slice is all zero
    return float((1.0 - t.density) ** max(rows, 1))


def _tile_elements(t: TensorSpec, rows: int) -> int:
    if t.tile_shape is not None:
        return max(1, t.tile_shape[0] * t.tile_shape[1])
    if t.pattern == "block":
        return max(1, t.block_shape[0] * t.block_shape[1])
    return max(1, rows)


def sparsity_effects(
    a_specs: Sequence[TensorSpec], b_specs: Sequence[TensorSpec], b_is_weight: Sequence[bool], pe: PESpec, rows: int,
    kinds: Sequence[str] | None = None,
) -> SparsityEffect:
    """Vector of effects, one per GEMM record (``kinds``: op kind labels, for dynamic attention)."""
    n = len(b_specs)
    k_scale = np.ones(n)
    n_scale = np.ones(n)
    store = np.ones(n)
    meta = np.zeros(n)
    gate = np.ones(n)
    applied = np.zeros(n, dtype=bool)
    mode = pe.sparsity
    if mode == "none":
        return SparsityEffect(k_scale, n_scale, store, meta, gate, applied)
    for i, (a, b, w) in enumerate(zip(a_specs, b_specs, b_is_weight)):
        if mode == "nm":
            if w and b.pattern == "nm" and nm_conforms(b.nm_n, b.nm_m, pe.nm_n, pe.nm_m):
                ratio = pe.nm_n / pe.nm_m
                # compute: K shrinks by n/m unless the activation feed caps the speed-up (nm_feed_ratio)
                k_scale[i] = max(ratio, 1.0 / pe.nm_feed_ratio) if pe.nm_feed_ratio is not None else ratio
                if pe.nm_compressed_dram:  # kept values + index metadata are what is stored and moved
                    store[i] = ratio
                    meta[i] = pe.metadata_bits
                applied[i] = True
        else:  # zero_skip
            skip = zero_tile_fraction(b, rows)
            if not w and pe.attention_density < 1.0:  # dynamic attention sparsity (Sanger-style)
                if kinds is not None and kinds[i] == "attn_qk":
                    n_scale[i] = pe.attention_density  # only the kept scores are computed
                    applied[i] = True
                else:  # AV: pruned probabilities skip their rows of V
                    skip = 1.0 - (1.0 - skip) * pe.attention_density
            keep = max(1.0 - skip, 1e-9)
            k_scale[i] = store[i] = keep
            meta[i] = pe.metadata_bits / _tile_elements(b, rows) if skip > 0.0 else 0.0
            gate[i] = min(1.0, a.density * b.density / keep)
            applied[i] = skip > 0.0 or gate[i] < 1.0
    return SparsityEffect(k_scale, n_scale, store, meta, gate, applied)
