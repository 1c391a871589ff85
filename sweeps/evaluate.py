"""Evaluate design points: build (and cache) the workload, simulate it, turn the result into tidy rows.

This is the code that runs inside executor tasks. A task is a :class:`Batch` of design points; the
answer is one DataFrame with, per point, one ``row == "total"`` row (the result totals plus
every derived metric of :mod:`simulator.metrics` and the ``fidelity_minilm`` proxy of its recipe) and one ``row == "op_kind"`` row per
op kind (sums of the per-op table). A point whose simulation raises gets a single total row with
``status == "error"`` and the exception text in ``error``; the batch goes on.

Workloads are built once per (model, shape, phase, recipe) per process and reused across every
accelerator of the batch: building and compressing a transformer costs more than simulating it
analytically.
"""

from __future__ import annotations

import importlib
import json
import math
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sweeps.spec import content_hash
from sweeps.workload_build import WorkloadKey, build_workload_cached

# Arch fields every row carries (whatever the axes), so plots can always group by them.
ARCH_INFO_COLUMNS: tuple[str, ...] = (
    "array.rows", "array.cols", "array.dataflow", "array.freq_mhz", "pe.precision_mode", "pe.native_bits",
    "pe.sparsity", "dram.kind", "dram.bandwidth_gbps", "tech.node_nm",
)
WORKLOAD_COLUMNS: tuple[str, ...] = ("model", "seq_len", "phase", "batch", "context", "new_tokens", "recipe", "file")
# Per-op columns summed into op-kind rows (when the simulator reports them).
OP_SUM_COLUMNS: tuple[str, ...] = ("cycles", "stall_cycles", "latency_s", "energy_pj", "dram_bytes", "macs")

# An evaluator maps (ArchSpec, WorkloadKey, engine) to (totals, per-op columns): the totals dict of
# simulator.run.Result and a DataFrame or mapping of equal-length per-op columns (with ``kind``).
Evaluator = Callable[[Any, WorkloadKey, str], tuple[dict[str, Any], Any]]


@dataclass
class Batch:
    """One executor task: design points that share a sweep (and usually a workload)."""

    point_ids: list[str]
    arch_dicts: list[dict[str, Any]]
    workloads: list[WorkloadKey]
    axes: list[tuple[tuple[str, Any], ...]]
    engine: str
    evaluator: str = ""
    arch_name: str = ""
    base_arch: Any = None  # the validated base ArchSpec: points are built from it by replace_path
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.point_ids)


@lru_cache(maxsize=1)
def tasim_build() -> str:
    """The tasim build that keys stored results: the version plus a digest of the model sources.

    The digest covers every file that can change a simulated figure (``simulator/**/*.py``,
    ``workloads/**/*.py``, the shipped arch, zoo and recipe YAML), so results of an edited model are
    never mistaken for current ones on resume. It is computed once per process, in the process that
    plans the sweep (point ids are made there), so it is stable for a whole run.
    """
    import hashlib

    import simulator
    import workloads
    from simulator import __version__

    h = hashlib.sha256()
    roots = [Path(simulator.__file__).parent, Path(workloads.__file__).parent]
    arch_dir = Path(simulator.__file__).parent.parent / "arch_configs"
    files: list[tuple[str, Path]] = []
    for root in roots:
        files += [(f"{root.name}/{f.relative_to(root)}", f) for f in root.rglob("*") if f.suffix in (".py", ".yaml")]
    if arch_dir.is_dir():
        files += [(f"arch_configs/{f.name}", f) for f in arch_dir.glob("*.yaml")]
    for rel, f in sorted(files):
        h.update(rel.encode())
        h.update(f.read_bytes())
    return f"{__version__}+{h.hexdigest()[:12]}"


def point_id(arch_dict: dict[str, Any], workload: WorkloadKey, engine: str, evaluator: str = "") -> str:
    """Content hash of (arch, workload, recipe, engine, tasim build) -- the store's primary key."""
    wl = workload.as_dict()
    wl["recipe_content"] = _recipe_fingerprint(workload.recipe)
    if workload.file:
        wl["file_content"] = _file_fingerprint(workload.file)
    else:
        wl.pop("file", None)
    return content_hash({"arch": arch_dict, "workload": wl, "engine": engine, "version": tasim_build(),
                         "evaluator": evaluator})


@lru_cache(maxsize=256)
def _file_fingerprint(path: str) -> str:
    return content_hash(Path(path).read_bytes().hex()) if Path(path).exists() else ""


@lru_cache(maxsize=256)
def _recipe_fingerprint(recipe: str) -> str:
    parts = []
    for name in recipe.split("+"):
        p = Path(name)
        if p.suffix in (".yaml", ".yml") and p.exists():
            parts.append(content_hash(p.read_text()))
        else:
            parts.append(name)
    return "+".join(parts)


# ---- workload construction -------------------------------------------------------------------------


@lru_cache(maxsize=64)
def recipe_fidelity_minilm(recipe: str) -> float:
    """The MiniLM fidelity proxy of a recipe (1.0 uncompressed; NaN if not measured)."""
    if recipe in ("", "none"):
        return 1.0
    try:
        from workloads.fidelity import recipe_fidelity
    except ImportError:
        return math.nan
    try:
        value = recipe_fidelity(recipe)
    except Exception:  # noqa: BLE001 - an unmeasured recipe has no accuracy, it is not a failed point
        return math.nan
    return math.nan if value is None else float(value)


def quality_columns(wl: WorkloadKey) -> dict[str, float]:
    """Quality figures of a workload that are looked up, not simulated (docs/sweeps.md)."""
    return {"fidelity_minilm": recipe_fidelity_minilm(wl.recipe)}


def simulate_point(arch: Any, workload: WorkloadKey, engine: str) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """The default evaluator: tasim's simulator on a zoo workload."""
    from simulator.run import simulate

    result = simulate(build_workload_cached(workload), arch, engine=engine)
    return dict(result.totals), result.columns


@lru_cache(maxsize=16)
def resolve_evaluator(path: str) -> Evaluator:
    if not path:
        return simulate_point
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


# ---- rows ------------------------------------------------------------------------------------------


def _scalar(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


def total_row(totals: dict[str, Any], quality: dict[str, float]) -> dict[str, Any]:
    """One flat total row: totals (breakdowns as ``energy_<c>_pj`` / ``area_<c>_mm2`` columns), the
    derived metrics of :mod:`simulator.metrics` (for evaluators that do not add them) and ``quality``
    (``fidelity_minilm``, ...)."""
    from simulator.metrics import derive

    row: dict[str, Any] = {}
    for k, v in totals.items():
        if isinstance(v, dict):
            if k == "energy_breakdown_pj":
                for comp, e in v.items():
                    row[f"energy_{comp}_pj"] = float(e)
            elif k == "area_breakdown_mm2":
                for comp, a in v.items():
                    row[f"area_{comp}_mm2"] = float(a)
            continue
        v = _scalar(v)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            row[k] = float(v)
        elif isinstance(v, (str, bool)):
            row[k] = v
    row = derive(row)
    row.update(quality)
    return row


@lru_cache(maxsize=256)
def _kind_codes(kinds: tuple[str, ...]) -> tuple[np.ndarray, tuple[str, ...]]:
    uniq = tuple(sorted(set(kinds)))
    pos = {k: i for i, k in enumerate(uniq)}
    return np.array([pos[k] for k in kinds], dtype=np.int64), uniq


def op_kind_sums(ops: Any) -> tuple[tuple[str, ...], list[str], np.ndarray]:
    """(op kinds, summed columns, sums[kind, column]) of a per-op table (DataFrame or column mapping)."""
    if ops is None or "kind" not in ops or len(ops["kind"]) == 0:
        return (), [], np.zeros((0, 0))
    names = list(ops.columns) if isinstance(ops, pd.DataFrame) else list(ops)
    cols = [c for c in names if c in OP_SUM_COLUMNS or (c.startswith("energy_") and c.endswith("_pj"))]
    codes, kinds = _kind_codes(tuple(ops["kind"]))
    values = np.stack([np.asarray(ops[c], dtype=float) for c in cols], axis=1) if cols else np.zeros((len(codes), 0))
    values = np.where(np.isnan(values), 0.0, values)
    sums = np.zeros((len(kinds), len(cols)))
    np.add.at(sums, codes, values)
    return kinds, cols, sums


def op_kind_rows(ops: Any) -> list[dict[str, Any]]:
    """Sum the per-op table (DataFrame or mapping of columns) by op kind (numeric figures only)."""
    kinds, cols, sums = op_kind_sums(ops)
    return [{"op_kind": k, **dict(zip(cols, sums[i].tolist()))} for i, k in enumerate(kinds)]


_ARCH_CACHE: dict[Any, Any] = {}


def arch_for_point(batch: Batch, arch_dict: dict[str, Any], axes: tuple[tuple[str, Any], ...]) -> Any:
    """The ArchSpec of a point, built once per distinct arch per process.

    Fast path: nested ``dataclasses.replace`` of the validated base with the (validated) axis values;
    fallback (custom batches, unhashable values): full validation of the arch mapping.
    """
    from simulator.arch import ArchSpec
    from sweeps.spec import PE_ARRAY_AXIS, replace_path
    from workloads.schema import from_dict

    overrides = {k: v for k, v in axes if k != PE_ARRAY_AXIS}
    try:
        key: Any = (batch.base_arch, tuple(sorted(overrides.items()))) if batch.base_arch is not None else None
        hash(key)
    except TypeError:
        key = None
    if key is None:
        key = json.dumps(arch_dict, sort_keys=True, default=str)
    arch = _ARCH_CACHE.get(key)
    if arch is None:
        if len(_ARCH_CACHE) > 4096:
            _ARCH_CACHE.clear()
        if batch.base_arch is not None and not isinstance(key, str):
            arch = replace_path(batch.base_arch, overrides)
        else:
            arch = from_dict(ArchSpec, arch_dict, source="design point")
        _ARCH_CACHE[key] = arch
    return arch


def evaluate_batch(batch: Batch) -> pd.DataFrame:
    """Run every point of a batch; never raises for a failing point (it is recorded as an error row).

    Built column-wise: one totals row per point, then the op-kind rows of all points at once.
    """
    evaluator = resolve_evaluator(batch.evaluator)
    bases: list[dict[str, Any]] = []
    totals: list[dict[str, Any]] = []
    kind_parts: list[tuple[int, tuple[str, ...], list[str], np.ndarray]] = []
    for pid, arch_dict, wl, axes in zip(batch.point_ids, batch.arch_dicts, batch.workloads, batch.axes):
        base: dict[str, Any] = {"point_id": pid}
        base.update({k: v for k, v in wl.as_dict().items() if k in WORKLOAD_COLUMNS})
        base["engine"] = batch.engine
        base["arch"] = batch.arch_name
        for col in ARCH_INFO_COLUMNS:
            base[col] = _dotted_get(arch_dict, col)
        for col, v in axes:
            base[col] = v
        t0 = time.perf_counter()
        try:
            arch = arch_for_point(batch, arch_dict, axes)
            tot, ops = evaluator(arch, wl, batch.engine)
            row = total_row(tot, quality_columns(wl))
            kinds, cols, sums = op_kind_sums(ops)
        except Exception as exc:  # noqa: BLE001 - recorded, the sweep goes on
            msg = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else _last_frame(exc)
            bases.append(base)
            totals.append({"row": "total", "op_kind": "", "status": "error", "error": msg[:500]})
            continue
        row.update(row="total", op_kind="", status="ok", error="", eval_s=time.perf_counter() - t0)
        if kinds:
            kind_parts.append((len(bases), kinds, cols, sums))
        bases.append(base)
        totals.append(row)
    base_df = pd.DataFrame(bases)
    frames = [pd.concat([base_df, pd.DataFrame(totals)], axis=1)]
    for cols, group in _group_by_columns(kind_parts):
        rep = np.concatenate([np.full(len(k), i) for i, k, _, _ in group])
        kdf = base_df.iloc[rep].reset_index(drop=True)
        kdf["row"] = "op_kind"
        kdf["op_kind"] = [k for _, kinds, _, _ in group for k in kinds]
        kdf["status"] = "ok"
        kdf["error"] = ""
        sums = np.concatenate([s for _, _, _, s in group], axis=0)
        kdf = pd.concat([kdf, pd.DataFrame(sums, columns=list(cols))], axis=1)
        frames.append(kdf)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _group_by_columns(parts: list) -> list[tuple[tuple[str, ...], list]]:
    groups: dict[tuple[str, ...], list] = {}
    for p in parts:
        groups.setdefault(tuple(p[2]), []).append(p)
    return list(groups.items())


def evaluate_batch_table(batch: Batch) -> Any:
    """:func:`evaluate_batch` as an Arrow table ready for the store (what executor tasks return)."""
    from sweeps.store import to_table

    return to_table(evaluate_batch(batch))


def _last_frame(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
    return f"{type(exc).__name__}{where}"


def _dotted_get(d: dict[str, Any], path: str) -> Any:
    node: Any = d
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node
