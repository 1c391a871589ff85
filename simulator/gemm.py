"""One GEMM on one accelerator: the API behind ``tasim gemm`` (and ``tasim scalesim`` per layer).

``run_gemm`` returns a plain nested dict (JSON-ready) with the figures of the compute model (mapping,
cycles, utilization, SRAM accesses) and of the memory model (stalls, DRAM traffic per operand, peak
buffer occupancy), from either engine: ``analytical`` (``simulator.memory.analyze_gemms``, closed form)
or ``cycle`` (``simulator.cycle.simulate_gemms``, cycle by cycle). ``GemmResult`` wraps it for the
Python API (``GemmResult.run(...).to_frame()``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.arch import ArchSpec
from simulator.dataflows import NAMES as DATAFLOW_NAMES
from simulator.limits import check_finite_totals
from simulator.mapping import map_gemm, mapping_efficiency
from workloads.errors import InputError

ENGINES = ("analytical", "cycle")
TIMINGS = ("default", "scalesim")


def _num(x: Any) -> int | float:
    v = float(x)
    return int(v) if v.is_integer() else v


def run_gemm(
    arch: ArchSpec,
    m: int,
    n: int,
    k: int,
    *,
    engine: str = "analytical",
    timing: str | None = None,
    a_bytes: float = 1.0,
    b_bytes: float = 1.0,
    out_bytes: float = 1.0,
    trace_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Simulate ``C(MxN) = A(MxK) . B(KxN)`` on ``arch``; returns a JSON-ready dict.

    ``a_bytes``/``b_bytes``/``out_bytes``: bytes per element of A (ifmap), B (filter), C (ofmap and
    partial sums). ``trace_dir`` (cycle engine only) streams per-cycle SRAM and DRAM trace CSVs there.
    """
    if engine not in ENGINES:
        raise InputError(f"{engine!r} is not allowed (allowed: {', '.join(ENGINES)})", key="--engine")
    timing = timing or arch.array.timing
    if timing not in TIMINGS:
        raise InputError(f"{timing!r} is not allowed (allowed: {', '.join(TIMINGS)})", key="--timing")
    if trace_dir is not None and engine != "cycle":
        raise InputError("traces come from the cycle engine (allowed: --engine cycle)", key="--trace")
    for name, v in (("m", m), ("n", n), ("k", k)):
        if int(v) < 1:
            raise InputError(f"{v!r} is out of range (allowed: >= 1)", key=f"--{name}")
    a = arch.array
    t0 = time.perf_counter()
    if engine == "cycle":
        from simulator.cycle import simulate_gemms

        if trace_dir is not None:
            from simulator.limits import check_trace_work
            from simulator.memory import analyze_gemms

            est = analyze_gemms(m, n, k, arch, a_bytes=a_bytes, b_bytes=b_bytes, out_bytes=out_bytes, timing=timing)
            check_trace_work(float(est["total_cycles"][0]), arch.array.rows + arch.array.cols)

        r = simulate_gemms(m, n, k, arch, a_bytes=a_bytes, b_bytes=b_bytes, out_bytes=out_bytes, timing=timing,
                           trace_dir=trace_dir)
    else:
        from simulator.memory import analyze_gemms

        r = analyze_gemms(m, n, k, arch, a_bytes=a_bytes, b_bytes=b_bytes, out_bytes=out_bytes, timing=timing)
    elapsed = time.perf_counter() - t0
    v = {key: val[0].item() for key, val in r.items()}
    dataflow = DATAFLOW_NAMES[int(v["dataflow"])]  # the chosen one under array.dataflow: auto
    energy = _energy_pj(arch, r, a_bytes=a_bytes, b_bytes=b_bytes, freq_hz=a.freq_mhz * 1e6,
                        dataflow=dataflow)
    mp = map_gemm(m, n, k, a.rows, a.cols, dataflow)
    out = {
        "arch": arch.name,
        "gemm": {"m": int(m), "n": int(n), "k": int(k)},
        "dataflow": dataflow,
        "timing": timing,
        "engine": engine,
        "bytes_per_element": {"a": a_bytes, "b": b_bytes, "out": out_bytes},
        "folds": int(v["folds"]),
        "compute_cycles": int(v["compute_cycles"]),
        "stall_cycles": int(v["stall_cycles"]),
        "total_cycles": int(v["total_cycles"]),
        "macs": int(v["macs"]),
        "utilization": float(v["utilization"]),
        "compute_utilization": float(v["compute_utilization"]),
        "mapping_efficiency": float(mapping_efficiency(mp, a.rows, a.cols)),
        "sram_reads": {"ifmap": int(v["sram_ifmap_reads"]), "filter": int(v["sram_filter_reads"]),
                       "ofmap": int(v["sram_ofmap_reads"])},
        "sram_writes": {"ofmap": int(v["sram_ofmap_writes"])},
        "dram_read_bytes": {"ifmap": _num(v["dram_ifmap_read_bytes"]), "filter": _num(v["dram_filter_read_bytes"]),
                            "ofmap": _num(v["dram_ofmap_read_bytes"])},
        "dram_write_bytes": {"ofmap": _num(v["dram_ofmap_write_bytes"])},
        "peak_buffer_bytes": {"ifmap": _num(v["peak_ifmap_bytes"]), "filter": _num(v["peak_filter_bytes"]),
                              "ofmap": _num(v["peak_ofmap_bytes"])},
        "dram_bytes_per_cycle": arch.dram_bytes_per_cycle,
        "latency_s": int(v["total_cycles"]) / (a.freq_mhz * 1e6),
        "energy_pj": sum(energy.values()),
        "energy_breakdown_pj": energy,
        "elapsed_s": elapsed,  # the simulator's own run time (wall clock), not the GEMM's
    }
    check_finite_totals(out, what=f"GEMM {m}x{n}x{k}")
    return out


def _energy_pj(arch: ArchSpec, r: dict[str, Any], *, a_bytes: float, b_bytes: float, freq_hz: float,
               dataflow: str | None = None) -> dict[str, float]:
    """Energy of the GEMM by component, with the coefficients ``simulate`` uses (docs/energy.md): integer
    operands of ``8 * bytes`` bits on the arch's PEs, no sparsity, leakage over the GEMM's latency."""
    import numpy as np

    from simulator.energy import gemm_energy_pj, leakage_pj, node_factor
    from simulator.precision import KIND_CODE, mac_energy_pj, operand_bits

    pe = arch.pe
    kind = np.array([KIND_CODE["int"]])
    a_bits = operand_bits(np.array([max(1, round(8 * a_bytes))]), kind, pe)
    b_bits = operand_bits(np.array([max(1, round(8 * b_bytes))]), kind, pe)
    # the dataflow the GEMM ran with (array.dataflow: auto chooses one per GEMM)
    mac_pj = mac_energy_pj(a_bits, b_bits, KIND_CODE[pe.number_kind], pe, arch.energy, dataflow or arch.array.dataflow)
    dram = sum(np.asarray(r[k], dtype=np.float64) for k in ("dram_ifmap_read_bytes", "dram_filter_read_bytes",
                                                             "dram_ofmap_read_bytes", "dram_ofmap_write_bytes"))
    e = gemm_energy_pj(arch, r, macs_executed=np.asarray(r["macs"], dtype=np.float64),
                       mac_pj=mac_pj * node_factor(arch), a_bits=a_bytes * 8.0, b_bits=b_bytes * 8.0, dram_bytes=dram)
    out = {c: float(np.asarray(v).sum()) for c, v in e.items()}
    out["leakage"] = leakage_pj(arch, float(np.asarray(r["total_cycles"])[0]) / freq_hz)
    return out


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, val in d.items():
        name = f"{prefix}{key}"
        if isinstance(val, dict):
            out.update(_flatten(val, f"{name}_"))
        else:
            out[name] = val
    return out


@dataclass(frozen=True)
class GemmResult:
    """One simulated GEMM (the dict of ``run_gemm``) with a tidy-table view."""

    data: dict[str, Any]

    @classmethod
    def run(cls, arch: ArchSpec, m: int, n: int, k: int, **kwargs: Any) -> GemmResult:
        """``run_gemm(arch, m, n, k, **kwargs)`` wrapped."""
        return cls(run_gemm(arch, m, n, k, **kwargs))

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)

    def to_frame(self) -> Any:
        """One-row pandas DataFrame with flat columns (``dram_read_bytes_ifmap``, ``gemm_m`` ...)."""
        import pandas as pd

        flat = _flatten(self.data)
        flat["dram_bytes"] = sum(self.data["dram_read_bytes"].values()) + sum(self.data["dram_write_bytes"].values())
        return pd.DataFrame([flat])
