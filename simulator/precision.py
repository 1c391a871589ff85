"""Precision-scalable processing elements: how operand bits set speed, energy, area and bytes.

Three PE designs (``pe.precision_mode``; docs/precision_sparsity.md has the derivations):

* ``fixed`` -- a ``native_bits`` multiplier. Narrower operands are padded (no speed-up, native
  energy); wider ones take ``ceil(b_a/n) * ceil(b_w/n)`` passes.
* ``bit_fusion`` -- Sharma et al., ISCA 2018: a native-8b fusion unit made of 2-bit BitBricks performs
  ``(n/q_a) * (n/q_w)`` MACs per cycle, ``q`` = operand bits rounded up to a power of two and at least
  ``pe.min_bits``.
* ``bit_serial`` -- Judd et al. (Stripes), MICRO 2016: activations stream bit by bit, so a PE finishes
  ``n / b_a`` MACs per native-MAC time; weights are parallel (``ceil(b_w/n)`` passes if wider).

Throughput is expressed as ``macs_per_pe_cycle`` (p); the run module packs p products along the
reduction dimension (``K_eff = ceil(K / p)``) and scales bytes per packed element so DRAM/SRAM bytes
stay the true operand bytes.

Number formats: on an integer array a float operand runs as fixed point of the same width (an fp16
model on an int8 TPU is int16: accuracy kept, 4 passes in ``fixed`` mode); quantizing to int8 is the
``w8a8`` recipe, with its measured accuracy cost. On a float array an integer operand is widened to
the native float format. Operand bits set bytes moved and how many elements fit in SRAM.

All functions are numpy-vectorised over operand arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulator.arch import AreaSpec, EnergySpec, PESpec
from simulator.dataflows import register_bits

KIND_CODE: dict[str, int] = {"int": 0, "fp": 1, "bf": 2}
FORMATS: dict[str, tuple[str, int]] = {
    "int2": ("int", 2), "int4": ("int", 4), "int8": ("int", 8), "int16": ("int", 16),
    "fp8": ("fp", 8), "fp16": ("fp", 16), "bf16": ("bf", 16), "fp32": ("fp", 32),
}
# significand bits (incl. hidden bit) of float formats by (kind, bits): fp8 = E4M3, fp16 = E5M10,
# bf16 = E8M7, fp32 = E8M23; other widths: about half the bits.
_FP_SIG = {4: 2, 6: 3, 8: 4, 16: 11, 32: 24, 64: 53}
_BF_SIG = {16: 8}


def kind_codes(kinds: Any) -> np.ndarray:
    """'int'/'fp'/'bf' (or arrays of them) -> int codes 0/1/2."""
    arr = np.asarray(kinds)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    return np.asarray([KIND_CODE[str(k)] for k in arr.ravel()], dtype=np.int64).reshape(arr.shape)


def significand_bits(bits: Any, kind: Any) -> np.ndarray:
    """Significand width (with hidden bit) of float formats; integers: the bits themselves."""
    b = np.asarray(bits, dtype=np.int64)
    kc = kind_codes(kind)
    fp = np.vectorize(lambda x: _FP_SIG.get(int(x), max(2, int(x) // 2)), otypes=[np.int64])(b) if b.size else b
    bf = np.vectorize(lambda x: _BF_SIG.get(int(x), max(2, int(x) // 2)), otypes=[np.int64])(b) if b.size else b
    return np.where(kc == 0, b, np.where(kc == 1, fp, bf))


def operand_bits(bits: Any, kind: Any, pe: PESpec) -> np.ndarray:
    """Bits an operand has on this accelerator (stored, moved and multiplied).

    Same kind: its own bits. A float operand on an integer array runs as fixed point of the SAME
    width (fp16 -> int16: accuracy preserved, so an integer array pays passes for it; quantizing to
    fewer bits is a compression recipe with its own accuracy cost, not a silent cast). An integer
    operand on a float array is widened to the native float format.
    """
    b = np.asarray(bits, dtype=np.int64)
    kc = kind_codes(kind)
    native_kind = KIND_CODE[pe.number_kind]
    if native_kind == 0:
        return np.broadcast_to(b, np.broadcast_shapes(b.shape, kc.shape)).copy()
    same = (kc == native_kind) | ((kc > 0) & (b <= pe.native_bits))
    return np.where(same, b, pe.native_bits)


def storage_bits(bits: Any, kind: Any, pe: PESpec) -> np.ndarray:
    """Bits an operand occupies in DRAM and SRAM (what is moved).

    Like :func:`operand_bits`, except that an integer operand on a floating-point array stays packed
    at its own width until the PE (weight-only quantisation: int8/int4 weights are stored and moved as
    such and dequantised next to the array, docs/calibration.md), instead of being widened in memory.
    """
    b = np.asarray(bits, dtype=np.int64)
    kc = kind_codes(kind)
    wide = operand_bits(b, kc, pe)
    if KIND_CODE[pe.number_kind] == 0:
        return wide
    return np.where(kc == 0, np.minimum(b, wide), wide)


def dequant_cycles_per_element(bits: Any, kind: Any, group_size: Any, pe: PESpec, vector: Any) -> np.ndarray:
    """Vector-unit cycles per weight element to dequantise weight-only-quantised weights on a float array.

    ``convert + scale`` (``vector.dequant_cycles_per_element``), plus ``dequant_unpack_cycles`` for
    sub-byte weights and ``dequant_zero_point_cycles`` for group-wise zero points; 0 for weights that
    are already in the array's format (integer arrays, float weights).
    """
    b = np.asarray(bits, dtype=np.int64)
    kc = kind_codes(kind)
    g = np.asarray(group_size, dtype=np.int64)
    if KIND_CODE[pe.number_kind] == 0:
        return np.zeros(b.shape)
    c = (vector.dequant_cycles_per_element + np.where(b < 8, vector.dequant_unpack_cycles, 0.0)
         + np.where(g > 0, vector.dequant_zero_point_cycles, 0.0))
    return np.where(kc == 0, c, 0.0)


def _pow2ceil(b: np.ndarray) -> np.ndarray:
    return (2 ** np.ceil(np.log2(np.maximum(b, 1)))).astype(np.int64)


def _compute_bits(b: np.ndarray, pe: PESpec, serial: bool = False) -> np.ndarray:
    """Bit width the multiplier really works at for one operand (passes folded in)."""
    n = pe.native_bits
    passes = -(-b // n)
    mode = pe.precision_mode
    if mode == "fixed" or (mode == "bit_serial" and not serial):
        return np.where(b <= n, n, n * passes)
    if mode == "bit_fusion":
        q = _pow2ceil(np.maximum(b, pe.min_bits))
        return np.where(q <= n, q, n * (-(-q // n)))
    return np.maximum(b, pe.min_bits)  # bit_serial activation: exactly its bits


def macs_per_pe_cycle(bits_a: Any, bits_w: Any, pe: PESpec) -> np.ndarray:
    """MACs one PE completes per cycle for operand widths (after :func:`operand_bits`)."""
    ba = np.asarray(bits_a, dtype=np.int64)
    bw = np.asarray(bits_w, dtype=np.int64)
    n = pe.native_bits
    mode = pe.precision_mode
    if mode == "fixed":
        return 1.0 / ((-(-ba // n)) * (-(-bw // n)))
    if mode == "bit_fusion":
        qa = _compute_bits(ba, pe)
        qw = _compute_bits(bw, pe)
        return (n / qa) * (n / qw)  # q > n is n*passes, so n/q = 1/passes
    # bit_serial: activation bits stream serially; weights parallel at native width
    return n / np.maximum(ba, pe.min_bits) / (-(-bw // n))


def peak_macs_per_pe_cycle(pe: PESpec) -> float:
    """MACs per PE per cycle at native precision (what ``peak_tops`` reports)."""
    return 1.0


def mac_energy_pj(
    bits_a: Any, bits_w: Any, kind: Any, pe: PESpec, energy: EnergySpec, dataflow: str
) -> np.ndarray:
    """45 nm energy of one logical MAC (passes included), pJ, before node scaling.

    Integer: ``E = int_mult_8b*(c_a*c_w/64) + int_add_32b*(acc/32) + register_pj_per_bit*r``,
    ``c`` the bits the multiplier works at and ``r`` the register bits moved per MAC by the dataflow
    (WS: activation + partial sum, OS: activation + weight, IS: weight + partial sum). Float:
    multiplier ``fp16_mult*(s/11)**alpha`` with significand ``s`` and alpha fitted to Horowitz's
    fp16/fp32 multipliers; adder ``fp32_add*(acc/32)**beta`` fitted to his fp16/fp32 adders.
    """
    ba = np.asarray(bits_a, dtype=np.int64)
    bw = np.asarray(bits_w, dtype=np.int64)
    kc = np.broadcast_to(kind_codes(kind), np.broadcast_shapes(ba.shape, bw.shape))
    ca = _compute_bits(ba, pe, serial=True)
    cw = _compute_bits(bw, pe)
    acc = pe.acc_bits
    # passes for widths beyond native: each pass pays accumulate and register traffic again
    passes = np.maximum(ca // pe.native_bits, 1) * np.maximum(cw // pe.native_bits, 1)
    reg_bits = register_bits(dataflow, np.minimum(ca, pe.native_bits), np.minimum(cw, pe.native_bits), acc)
    reg = energy.register_pj_per_bit * reg_bits * passes
    int_e = energy.int_mult_8b_pj * (ca * cw / 64.0) + energy.int_add_32b_pj * (acc / 32.0) * passes + reg
    if not np.any(kc != 0):
        return _mode_factor(int_e, pe, energy)
    sa = significand_bits(np.minimum(ca, 64), np.where(kc == 0, 1, kc))
    sw = significand_bits(np.minimum(cw, 64), np.where(kc == 0, 1, kc))
    alpha = np.log(energy.fp32_mult_pj / energy.fp16_mult_pj) / np.log(24 / 11) if energy.fp16_mult_pj > 0 else 2.0
    beta = np.log(energy.fp32_add_pj / energy.fp16_add_pj) / np.log(2.0) if energy.fp16_add_pj > 0 else 1.0
    fp_mult = energy.fp16_mult_pj * (np.sqrt(sa * sw) / 11.0) ** alpha
    fp_e = fp_mult + energy.fp32_add_pj * (acc / 32.0) ** beta * passes + reg
    return _mode_factor(np.where(kc == 0, int_e, fp_e), pe, energy)


def _mode_factor(e: np.ndarray, pe: PESpec, energy: EnergySpec) -> np.ndarray:
    if pe.precision_mode == "bit_fusion":
        return e * energy.bit_fusion_mac_factor
    if pe.precision_mode == "bit_serial":
        return e * energy.bit_serial_mac_factor
    return e


def pe_area_um2(pe: PESpec, area: AreaSpec) -> float:
    """45 nm area of one PE's arithmetic (multiplier + accumulator adder), mode factor included,
    before ``array_overhead`` and node scaling."""
    n, acc = pe.native_bits, pe.acc_bits
    if pe.number_kind == "int":
        a = area.int_mult_8b_um2 * (n * n / 64.0) + area.int_add_32b_um2 * (acc / 32.0)
    else:
        s = float(significand_bits(n, pe.number_kind))
        alpha = np.log(area.fp32_mult_um2 / area.fp16_mult_um2) / np.log(24 / 11)
        beta = np.log(area.fp32_add_um2 / area.fp16_add_um2) / np.log(2.0)
        a = area.fp16_mult_um2 * (s / 11.0) ** alpha + area.fp32_add_um2 * (acc / 32.0) ** beta
    if pe.precision_mode == "bit_fusion":
        a *= area.bit_fusion_factor
    elif pe.precision_mode == "bit_serial":
        a *= area.bit_serial_factor
    if pe.sparsity == "nm":
        a *= area.sparse_nm_factor
    elif pe.sparsity == "zero_skip":
        a *= area.zero_skip_factor
    return float(a)
