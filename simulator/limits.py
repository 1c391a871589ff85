"""Work and range limits: what the engines refuse up front instead of overflowing or running for hours.

Every count the models compute (MACs, bytes, cycles) is held in int64 somewhere, so each must stay
below :data:`INT64_SAFE` (2**62, a factor 2 of headroom for sums of a few such terms). Two engines
cost time or memory in proportion to their input, so they estimate it first and refuse above a
documented limit unless forced (``--force`` on the CLI, :func:`forced` in Python):

* the cycle engine steps every cycle: its work is the analytical estimate of total cycles (compute,
  stalls, DRAM latency), limited to :data:`CYCLE_ENGINE_MAX_CYCLES`;
* the SCALE-Sim path builds per-layer masks of the input feature map and of (pixel x window element)
  pairs: their bytes are limited to :data:`SCALESIM_MAX_BYTES`.

See ``docs/robustness.md``.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterable, Iterator
from typing import Any

from workloads.errors import InputError

INT64_SAFE = 2**62
CYCLE_ENGINE_MAX_CYCLES = 10**8  # ~1.5 s of the numba cycle loop on one core (about 80 M cycles/s)
TRACE_MAX_VALUES = 2 * 10**7  # --trace writes, per cycle, one address per SRAM port (rows + cols): ~100 MB
SCALESIM_MAX_BYTES = 512 * 2**20  # masks per layer (~1 s to fill at this size)

_FORCE: contextvars.ContextVar[bool] = contextvars.ContextVar("tasim_force_limits", default=False)


@contextlib.contextmanager
def forced(on: bool = True) -> Iterator[None]:
    """Within this block the work limits (not the int64 ranges) are lifted."""
    token = _FORCE.set(on)
    try:
        yield
    finally:
        _FORCE.reset(token)


def is_forced() -> bool:
    return _FORCE.get()


def check_int64(what: str, value: float, *, key: str | None = None, hint: str = "") -> None:
    """Refuse a count that does not fit int64 with headroom (the products the models compute)."""
    if not (value < INT64_SAFE):  # also catches NaN
        raise InputError(f"{what} = {value:.4g} is out of range (allowed: < 2**62 = {INT64_SAFE:.4g}){hint}", key=key)


def check_gemm_dims(m: Any, n: Any, k: Any, *, batch: Any = 1, bytes_per_element: float = 1.0,
                    key: str | None = None) -> None:
    """M*N*K (x batch) MACs and the operand bytes of GEMMs must fit int64."""
    import numpy as np

    for name, arr in (("M", m), ("N", n), ("K", k), ("batch", batch)):
        a = np.asarray(arr, dtype=float)
        if a.size and (not np.all(np.isfinite(a)) or a.min() < 1):
            raise InputError(f"GEMM {name} = {a.min():.4g} is out of range (allowed: >= 1)", key=key)
    mf, nf, kf, bf = (np.asarray(x, dtype=float) for x in (m, n, k, batch))
    macs = float(np.max(mf * nf * kf * bf, initial=0.0))
    check_int64("GEMM M*N*K MACs", macs, key=key)
    biggest = float(np.max(np.maximum(np.maximum(mf * kf, kf * nf), mf * nf) * bf, initial=0.0))
    check_int64("GEMM operand bytes", biggest * max(1.0, bytes_per_element), key=key)


def check_cycle_work(total_cycles: Iterable[float] | float, *, what: str = "the cycle engine") -> None:
    """Refuse a cycle-engine run whose analytical cycle estimate exceeds the limit (unless forced)."""
    import numpy as np

    est = float(np.sum(np.asarray(total_cycles, dtype=float)))
    check_int64("estimated cycles", est, key="--engine",
                hint=" (DRAM bandwidth or latency too extreme for this workload)")
    if est > CYCLE_ENGINE_MAX_CYCLES and not is_forced():
        raise InputError(
            f"{what} would step about {est:.3g} cycles, above the limit of {CYCLE_ENGINE_MAX_CYCLES:.3g} "
            "(allowed: a smaller workload, --engine analytical, or --force to run anyway)", key="--engine")


def check_trace_work(total_cycles: float, ports: int) -> None:
    """Refuse per-cycle traces of more than :data:`TRACE_MAX_VALUES` addresses (cycles x SRAM ports)
    unless forced: they are files on disk and take as long to write."""
    values = float(total_cycles) * max(1, ports)
    if values > TRACE_MAX_VALUES and not is_forced():
        raise InputError(f"a per-cycle trace of about {total_cycles:.3g} cycles x {ports} ports = {values:.3g} "
                         f"addresses is above the limit of {TRACE_MAX_VALUES:.3g} (allowed: a smaller GEMM or "
                         "array, or --force to write it anyway)", key="--trace")


def scalesim_layer_bytes(layer: Any) -> float:
    """Bytes of the largest temporary array the SCALE-Sim path builds for a layer (masks, index grids)."""
    gemm_rows = layer.filter_h == 1 and layer.filter_w == layer.ifmap_w and layer.channels == 1 and layer.stride_h == 1
    fmap = 0.0 if gemm_rows else float(layer.ifmap_h) * layer.ifmap_w * max(1, layer.channels)  # bool input mask
    holes = (layer.ifmap_h - layer.filter_h) % layer.stride_h or (layer.ifmap_w - layer.filter_w) % layer.stride_w
    pairs = float(layer.gemm_m) * layer.gemm_k if holes else 0.0  # (pixel x element) validity + int64 indices
    return max(fmap, 17.0 * pairs, 8.0 * layer.gemm_k)


def check_scalesim_memory(layers: Iterable[Any], *, source: str | None = None) -> None:
    """Refuse topologies whose per-layer masks exceed :data:`SCALESIM_MAX_BYTES` (unless forced)."""
    for layer in layers:
        need = scalesim_layer_bytes(layer)
        check_int64(f"layer {layer.name}: GEMM M*N*K MACs", float(layer.gemm_m) * layer.gemm_n * layer.gemm_k)
        if need > SCALESIM_MAX_BYTES and not is_forced():
            raise InputError(
                f"layer {layer.name!s:.40}: needs about {need / 2**30:.3g} GiB of working memory, above the limit of "
                f"{SCALESIM_MAX_BYTES / 2**30:g} GiB (allowed: smaller layers, or --force to run anyway)",
                source=source)


# figures every result has: never NaN (derived metrics may be NaN where they do not apply, e.g.
# energy per token of a prefill, and are written as null in JSON)
CORE_FIGURES = frozenset({"cycles", "latency_s", "energy_pj", "area_mm2", "macs", "dram_bytes", "utilization",
                          "compute_cycles", "stall_cycles", "total_cycles", "gemm_cycles", "vector_cycles",
                          "power_w", "peak_tops", "effective_tops"})


def check_finite_totals(totals: dict[str, Any], *, what: str = "result") -> None:
    """Every numeric figure of a result is finite (core figures) or NaN (a metric that does not apply),
    never infinite or negative, and utilizations are <= 1.

    A violation is a model bug or an input outside what the model covers; either way nothing
    nonsensical is printed with exit status 0."""
    for key, v in totals.items():
        if isinstance(v, dict):
            check_finite_totals(v, what=what)
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        fv = float(v)
        if key in ("dram_bytes_per_cycle", "bytes_per_cycle") and fv == math.inf:
            continue  # unlimited bandwidth
        if math.isnan(fv) and key not in CORE_FIGURES:
            continue
        if not math.isfinite(fv) or fv < 0 or (key.endswith("utilization") and fv > 1.0 + 1e-9):
            raise InputError(f"{what}: {key} = {fv:.4g} is outside what the model covers "
                             "(inputs too extreme; allowed: finite, non-negative figures, utilization <= 1)")
