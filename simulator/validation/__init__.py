"""Validation against published silicon: the data behind ``tasim validate`` (docs/validation.md).

The suite is data shipped with the package: ``cases.yaml`` lists every case (published quantity, unit,
value, source, whether the value was checked in the primary source, the arch and workload files, the
tolerance and why); ``workloads/`` holds the workload files the cases name. Each case is predicted with
the shipped design file and the model defaults only: a case may ``set`` fields that *describe the
configuration* the source measured (array size, buffer size, node), never a calibration coefficient.

A case's ``measure`` says how the prediction is obtained:

* ``{metric: NAME}`` -- a total of :func:`simulator.run.simulate` (``effective_tops``, ``tokens_per_s``,
  ``power_w``, ``static_power_w``, ``area_mm2``, ``peak_tops``, ``dram_bytes``, ``latency_s`` ...) or
  ``compute_cycles`` (GEMM cycles without memory stalls);
  ``kinds: [...]`` sums that column over the named op kinds instead.
* ``{metric: NAME, baseline: {...}, ratio: baseline/case | case/baseline}`` -- a ratio of the metric
  between the case and a baseline that differs in workload / recipe / ``set`` (speed-ups, reductions).
* ``{model: NAME, ...}`` -- an energy-model quantity per operation (:data:`MODEL_QUANTITIES`).

``pending: REASON`` marks a case the model cannot evaluate yet: it is reported, never counted.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from workloads.errors import InputError

JSON_KEYS: tuple[str, ...] = ("case", "quantity", "unit", "published", "predicted", "error_pct", "tolerance_pct",
                              "source", "verified")
_CASE_KEYS = {"case", "family", "quantity", "unit", "published", "source", "verified", "tolerance_pct", "why",
              "arch", "set", "workload", "measure", "pending", "note"}
_WORKLOAD_KEYS = {"file", "model", "recipe", "phase", "batch", "seq_len", "context", "new_tokens", "image_size"}
_MEASURE_KEYS = {"metric", "kinds", "baseline", "ratio", "model", "bits", "kind", "kib"}


@dataclass(frozen=True)
class Case:
    case: str
    family: str
    quantity: str
    unit: str
    published: float
    source: str
    verified: bool
    tolerance_pct: float
    why: str
    arch: str
    measure: dict[str, Any]
    set: tuple[str, ...] = ()
    workload: dict[str, Any] = field(default_factory=dict)
    pending: str = ""
    note: str = ""


@dataclass(frozen=True)
class Outcome:
    case: Case
    predicted: float | None

    @property
    def error_pct(self) -> float | None:
        if self.predicted is None:
            return None
        return 100.0 * (self.predicted - self.case.published) / self.case.published

    @property
    def passed(self) -> bool | None:
        e = self.error_pct
        return None if e is None else abs(e) <= self.case.tolerance_pct

    def row(self) -> dict[str, Any]:
        c = self.case
        e = self.error_pct
        return {"case": c.case, "quantity": c.quantity, "unit": c.unit, "published": c.published,
                "predicted": None if self.predicted is None else float(self.predicted),
                "error_pct": None if e is None else float(e), "tolerance_pct": c.tolerance_pct,
                "source": c.source, "verified": c.verified}


def _data_dir() -> Path:
    return Path(str(resources.files("simulator.validation")))


def _check_keys(d: Any, allowed: set[str], where: str, source: str) -> dict[str, Any]:
    if not isinstance(d, dict):
        raise InputError(f"expected a mapping, got {type(d).__name__}", source=source, key=where)
    bad = sorted(set(d) - allowed)
    if bad:
        raise InputError(f"unknown key (allowed: {', '.join(sorted(allowed))})", source=source, key=f"{where}.{bad[0]}")
    return d


def load_cases(path: str | Path | None = None) -> list[Case]:
    """Read and validate the case list (default: the shipped ``cases.yaml``)."""
    from workloads.schema import load_yaml

    p = Path(path) if path is not None else _data_dir() / "cases.yaml"
    raw = load_yaml(p)
    src = str(p)
    if not isinstance(raw, list) or not raw:
        raise InputError("expected a non-empty list of cases", source=src)
    out: list[Case] = []
    seen: set[str] = set()
    for i, d in enumerate(raw):
        d = _check_keys(d, _CASE_KEYS, f"[{i}]", src)
        name = str(d.get("case", ""))
        for k in ("case", "family", "quantity", "unit", "published", "source", "verified", "tolerance_pct", "why",
                  "arch", "measure"):
            if k not in d:
                raise InputError("missing key", source=src, key=f"{name or i}.{k}")
        if name in seen:
            raise InputError("duplicate case name", source=src, key=name)
        seen.add(name)
        pub = d["published"]
        if isinstance(pub, bool) or not isinstance(pub, (int, float)) or not math.isfinite(pub) or pub <= 0:
            raise InputError(f"{pub!r} (allowed: a finite number > 0)", source=src, key=f"{name}.published")
        tol = d["tolerance_pct"]
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 < tol <= 100:
            raise InputError(f"{tol!r} (allowed: 0 < tolerance_pct <= 100)", source=src, key=f"{name}.tolerance_pct")
        if not isinstance(d["verified"], bool):
            raise InputError(f"{d['verified']!r} (allowed: true, false)", source=src, key=f"{name}.verified")
        _check_keys(d["measure"], _MEASURE_KEYS, f"{name}.measure", src)
        wl = _check_keys(d.get("workload") or {}, _WORKLOAD_KEYS, f"{name}.workload", src)
        base = d["measure"].get("baseline")
        if base is not None:
            _check_keys(base, _WORKLOAD_KEYS | {"set"}, f"{name}.measure.baseline", src)
        out.append(Case(case=name, family=str(d["family"]), quantity=str(d["quantity"]), unit=str(d["unit"]),
                        published=float(pub), source=str(d["source"]), verified=d["verified"],
                        tolerance_pct=float(tol), why=str(d["why"]), arch=str(d["arch"]), measure=dict(d["measure"]),
                        set=tuple(str(s) for s in d.get("set") or ()), workload=dict(wl),
                        pending=str(d.get("pending") or ""), note=str(d.get("note") or "")))
    return out


# ---- model quantities (energy per operation at the arch's node) -------------------------------------


def _model_quantity(name: str, arch: Any, m: dict[str, Any]) -> float:
    import numpy as np

    from simulator.energy import dram_pj_per_bit, node_factor, sram_read_pj_per_bit
    from simulator.precision import significand_bits

    e = arch.energy
    fe = node_factor(arch)
    bits = int(m.get("bits", 8))
    if name == "int_mult_pj":
        return e.int_mult_8b_pj * bits * bits / 64.0 * fe
    if name == "int_add_pj":
        return e.int_add_32b_pj * bits / 32.0 * fe
    if name in ("fp_mult_pj", "fp_add_pj"):
        s = float(significand_bits(bits, m.get("kind", "fp")))
        if name == "fp_mult_pj":
            alpha = np.log(e.fp32_mult_pj / e.fp16_mult_pj) / np.log(24 / 11)
            return float(e.fp16_mult_pj * (s / 11.0) ** alpha * fe)
        beta = np.log(e.fp32_add_pj / e.fp16_add_pj) / np.log(2.0)
        return float(e.fp32_add_pj * (bits / 32.0) ** beta * fe)
    if name == "sram_read_pj":  # one read of `bits` bits from a `kib` KiB array
        kib = float(m["kib"])
        return sram_read_pj_per_bit(kib * 1024.0, arch.replace(**{"buffers.banks": 1})) * bits
    if name == "dram_access_pj":
        return dram_pj_per_bit(arch) * bits
    raise InputError(f"{name!r} (allowed: {', '.join(MODEL_QUANTITIES)})", key="measure.model")


MODEL_QUANTITIES: tuple[str, ...] = ("int_mult_pj", "int_add_pj", "fp_mult_pj", "fp_add_pj", "sram_read_pj",
                                     "dram_access_pj")


# ---- running ----------------------------------------------------------------------------------------


@cache
def _workload(spec: tuple[tuple[str, Any], ...]) -> Any:
    from workloads.compress import apply_recipe
    from workloads.formats import from_yaml

    d = dict(spec)
    recipe = d.pop("recipe", "")
    if "file" in d:
        w = from_yaml(_data_dir() / "workloads" / str(d.pop("file")))
        return apply_recipe(w, recipe) if recipe else w
    model = d.pop("model")
    return apply_recipe(model, recipe, **d)


def _arch(name: str, sets: tuple[str, ...]) -> Any:
    from simulator.arch import load_arch

    return load_arch(name, list(sets))


def _metric(arch: Any, wl: dict[str, Any], m: dict[str, Any]) -> float:
    from simulator.run import simulate, simulate_totals

    w = _workload(tuple(sorted(wl.items())))
    metric = str(m["metric"])
    if m.get("kinds"):
        ops = simulate(w, arch).ops
        sel = ops["kind"].isin(list(m["kinds"]))
        return float(ops.loc[sel, metric].sum())
    t = simulate_totals(w, arch)
    t["compute_cycles"] = t["gemm_cycles"] - t["stall_cycles"]  # array busy time, memory stalls excluded
    if metric not in t:
        raise InputError(f"{metric!r} is not a result total (allowed: {', '.join(sorted(t))})", key="measure.metric")
    return float(t[metric])


def predict(c: Case) -> float | None:
    """The model's value for one case (None for a pending case)."""
    if c.pending:
        return None
    m = c.measure
    arch = _arch(c.arch, c.set)
    if "model" in m:
        return _model_quantity(str(m["model"]), arch, m)
    value = _metric(arch, c.workload, m)
    base = m.get("baseline")
    if base is None:
        return value
    base = dict(base)
    bsets = tuple(base.pop("set", ()) or ())
    bwl = {**c.workload, **base}
    if "file" in base and "model" in bwl:
        bwl.pop("model")
    b_arch = _arch(c.arch, c.set + bsets) if bsets else arch
    b_value = _metric(b_arch, bwl, m)
    if m.get("ratio", "baseline/case") == "baseline/case":
        return b_value / value
    return value / b_value


def run_cases(cases: list[Case] | None = None) -> list[Outcome]:
    cases = load_cases() if cases is None else cases
    return [Outcome(c, predict(c)) for c in cases]


def summary(outcomes: list[Outcome]) -> dict[str, Any]:
    """Counts, median |error| and per-family median |error| over evaluated cases."""
    done = [o for o in outcomes if o.predicted is not None]
    errs = [abs(o.error_pct) for o in done if o.error_pct is not None]
    fam: dict[str, list[float]] = {}
    for o in done:
        fam.setdefault(o.case.family, []).append(abs(o.error_pct or 0.0))
    return {
        "cases": len(outcomes), "evaluated": len(done), "pending": len(outcomes) - len(done),
        "within_tolerance": sum(1 for o in done if o.passed),
        "median_abs_error_pct": statistics.median(errs) if errs else 0.0,
        "family_median_abs_error_pct": {k: statistics.median(v) for k, v in fam.items()},
        "family_max_abs_error_pct": {k: max(v) for k, v in fam.items()},
    }
