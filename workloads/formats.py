"""Workload file formats: tidy DataFrame, YAML, CSV and SCALE-Sim GEMM topology CSV.

* YAML: ``{name, model, phase, batch, seq_len, params, recipe, context, new_tokens, image_size,
  ops: [{op: gemm|vector, <fields that differ from their defaults>}]}``; loaded back through
  :func:`workloads.schema.from_dict`, so unknown keys and bad values are one-line ``InputError``s.
* CSV: :func:`to_frame` written by pandas (one row per op record); read back losslessly.
* SCALE-Sim topology: ``Layer name, M, N, K,`` rows with the trailing comma SCALE-Sim 3.0.0 expects.
  Every record is expanded into single GEMMs (``batch * count`` per step, one row set per decode
  step with that step's M, N, K), because SCALE-Sim has no repetition column.
"""

from __future__ import annotations

import dataclasses
import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from workloads.errors import InputError
from workloads.ir import GemmOp, Op, TensorSpec, VectorOp, Workload
from workloads.schema import from_dict, load_yaml, read_text, to_dict
from workloads.topology import parse_topology_text

_META = ("name", "model", "phase", "batch", "seq_len", "params", "recipe", "context", "new_tokens", "image_size")
_TENSORS = ("a", "b", "out", "x")
_STR_FIELDS = ("name", "kind", "func", "phase")
_SPEC_FIELDS = [f.name for f in dataclasses.fields(TensorSpec)]


def _op_to_dict(op: Op) -> dict[str, Any]:
    d: dict[str, Any] = {"op": "gemm" if isinstance(op, GemmOp) else "vector"}
    default = TensorSpec()
    for f in dataclasses.fields(op):
        v = getattr(op, f.name)
        if isinstance(v, TensorSpec):
            if v != default:
                d[f.name] = {k: to_dict(x) for k, x in to_dict(v).items() if getattr(default, k) != getattr(v, k)}
            continue
        if f.default is not dataclasses.MISSING and v == f.default and f.name not in ("kind",):
            continue
        d[f.name] = to_dict(v)
    return d


def workload_to_dict(w: Workload) -> dict[str, Any]:
    d: dict[str, Any] = {k: getattr(w, k) for k in _META}
    d["ops"] = [_op_to_dict(o) for o in w.ops]
    return d


def workload_from_dict(data: Any, *, source: str | None = None) -> Workload:
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping, got {type(data).__name__}", source=source)
    unknown = [k for k in data if k not in (*_META, "ops")]
    if unknown:
        raise InputError(f"unknown key (allowed: {', '.join((*_META, 'ops'))})", source=source, key=unknown[0])
    ops_raw = data.get("ops") or []
    if not isinstance(ops_raw, list):
        raise InputError("expected a list of ops", source=source, key="ops")
    ops: list[Op] = []
    for i, raw in enumerate(ops_raw):
        if not isinstance(raw, dict):
            raise InputError(f"expected a mapping, got {raw!r}", source=source, key=f"ops[{i}]")
        raw = dict(raw)
        kind = raw.pop("op", "gemm")
        if kind not in ("gemm", "vector"):
            raise InputError(f"{kind!r} is not allowed (allowed: gemm, vector)", source=source, key=f"ops[{i}].op")
        cls = GemmOp if kind == "gemm" else VectorOp
        ops.append(from_dict(cls, raw, source=source, prefix=f"ops[{i}]"))
    meta = {k: data[k] for k in _META if k in data and data[k] is not None}
    if "name" not in meta:
        meta["name"] = Path(source).stem if source else "workload"
    for k in ("batch", "seq_len", "params", "context", "new_tokens", "image_size"):
        if k in meta and (isinstance(meta[k], bool) or not isinstance(meta[k], int)):
            raise InputError(f"{meta[k]!r} is not an integer", source=source, key=k)
    if meta.get("phase", "prefill") not in ("encode", "prefill", "decode"):
        raise InputError(f"{meta['phase']!r} is not allowed (allowed: encode, prefill, decode)", source=source, key="phase")
    return Workload(ops=tuple(ops), **{k: (str(v) if k in ("name", "model", "recipe") else v) for k, v in meta.items()})


def to_yaml(w: Workload, path: str | Path | None = None) -> str:
    text = yaml.safe_dump(workload_to_dict(w), sort_keys=False, default_flow_style=None, width=120)
    if path is not None:
        Path(path).write_text(text)
    return text


def from_yaml(path: str | Path) -> Workload:
    return workload_from_dict(load_yaml(path), source=str(path))


# -- DataFrame / CSV ---------------------------------------------------------------------------

def to_frame(w: Workload) -> pd.DataFrame:
    """One row per op record: identity, shape, repetition, per-operand format and totals.

    Columns: ``op`` (gemm|vector), ``name``, ``kind``, ``func``, ``layer``, ``layers``, ``phase``,
    ``m n k batch count steps m_per_step n_per_step k_per_step a_elems b_is_weight``, ``elements
    elements_per_step reduce_dim``, ``{a,b,out,x}_{bits,kind,density,pattern,nm_n,nm_m,block_shape,
    tile_shape,tile_occupancy}``, ``macs`` (GEMMs), ``total_elements`` (vector ops),
    ``weight_params``. Shapes of the other op type are 0; missing tensors are empty.
    """
    rows = []
    for o in w.ops:
        r: dict[str, Any] = {"op": "gemm" if isinstance(o, GemmOp) else "vector"}
        for f in dataclasses.fields(o):
            v = getattr(o, f.name)
            if isinstance(v, TensorSpec):
                for sf in _SPEC_FIELDS:
                    r[f"{f.name}_{sf}"] = _cell(getattr(v, sf))
            else:
                r[f.name] = v
        if isinstance(o, GemmOp):
            r["macs"] = o.macs
            r["weight_params"] = o.weight_params
            r["total_elements"] = 0
        else:
            r["macs"] = 0
            r["weight_params"] = 0
            r["total_elements"] = o.total_elements
        rows.append(r)
    cols = [
        "op", "name", "kind", "func", "layer", "layers", "phase", "m", "n", "k", "batch", "count", "steps",
        "m_per_step", "n_per_step", "k_per_step", "a_elems", "b_is_weight", "elements", "elements_per_step",
        "reduce_dim", *[f"{t}_{sf}" for t in _TENSORS for sf in _SPEC_FIELDS], "macs", "weight_params",
        "total_elements",
    ]
    df = pd.DataFrame(rows, columns=cols)
    ints = ["layer", "layers", "m", "n", "k", "batch", "count", "steps", "m_per_step", "n_per_step", "k_per_step",
            "a_elems", "elements", "elements_per_step", "reduce_dim", "macs", "weight_params", "total_elements"]
    df[ints] = df[ints].fillna(0).astype("int64")
    for t in _TENSORS:
        df[f"{t}_bits"] = df[f"{t}_bits"].fillna(0).astype("int64")
        df[f"{t}_group_size"] = df[f"{t}_group_size"].fillna(0).astype("int64")
        df[f"{t}_scale_bits"] = df[f"{t}_scale_bits"].fillna(16).astype("int64")
    df["b_is_weight"] = df["b_is_weight"].fillna(False).astype(bool)
    for c in ("func",):
        df[c] = df[c].fillna("")
    return df


def _cell(v: Any) -> Any:
    if isinstance(v, tuple):
        return " ".join(repr(x) if isinstance(x, float) else str(x) for x in v)
    return v


def to_csv(w: Workload, path: str | Path | None = None) -> str:
    """CSV of :func:`to_frame` preceded by ``# key: value`` lines carrying the workload metadata."""
    buf = io.StringIO()
    for k in _META:
        buf.write(f"# {k}: {getattr(w, k)}\n")
    to_frame(w).to_csv(buf, index=False)
    text = buf.getvalue()
    if path is not None:
        Path(path).write_text(text)
    return text


def from_csv(path: str | Path) -> Workload:
    p = Path(path)
    text = read_text(p)
    meta: dict[str, Any] = {}
    body = []
    for line in text.splitlines(keepends=True):
        if line.startswith("# ") and ":" in line and not body:
            k, v = line[2:].split(":", 1)
            meta[k.strip()] = yaml.safe_load(v.strip()) if v.strip() else ""
        else:
            body.append(line)
    try:
        df = pd.read_csv(io.StringIO("".join(body)), keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"invalid CSV: {exc}", source=str(p)) from None
    return frame_to_workload(df, meta, source=str(p))


def frame_to_workload(df: pd.DataFrame, meta: dict[str, Any] | None = None, *, source: str | None = None) -> Workload:
    """Inverse of :func:`to_frame` (derived columns such as ``macs`` are ignored)."""
    ops = []
    for i, row in enumerate(df.to_dict("records")):
        kind = row.get("op", "gemm")
        cls = GemmOp if kind == "gemm" else VectorOp
        d: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.type in ("TensorSpec",) or f.name in _TENSORS:
                spec = {}
                for sf in _SPEC_FIELDS:
                    v = row.get(f"{f.name}_{sf}", "")
                    if v == "" or (isinstance(v, float) and math.isnan(v)):
                        continue
                    if sf in ("bits", "nm_n", "nm_m", "group_size", "scale_bits"):
                        v = int(float(v))
                    elif sf == "density":
                        v = float(v)
                    elif sf in ("block_shape", "tile_shape"):
                        v = [int(x) for x in str(v).split()]
                    elif sf == "tile_occupancy":
                        v = [float(x) for x in str(v).split()]
                    spec[sf] = v
                d[f.name] = spec
            elif f.name in row and row[f.name] != "":
                v = row[f.name]
                v = v.item() if isinstance(v, np.generic) else v
                if isinstance(v, str) and f.name not in _STR_FIELDS:
                    v = yaml.safe_load(v)
                d[f.name] = v
        for k in ("b_is_weight",):
            if k in d and isinstance(d[k], str):
                d[k] = d[k] == "True"
        ops.append(from_dict(cls, d, source=source, prefix=f"row {i + 1}"))
    data = dict(meta or {})
    data["ops"] = []
    w = workload_from_dict(data, source=source)
    return w.with_(ops=tuple(ops))


# -- SCALE-Sim topology ------------------------------------------------------------------------

def to_scalesim_topology(w: Workload, path: str | Path | None = None, *, max_rows: int = 200_000,
                         sparsity: bool = False) -> str:
    """SCALE-Sim 3.0.0 GEMM topology: ``Layer name, M, N, K,`` then one row per single GEMM.

    A record with ``batch * count`` instances over ``steps`` steps becomes ``batch*count*steps``
    rows named ``{name}.s{step}.i{instance}`` (suffixes only where needed). Raises ``InputError``
    above ``max_rows`` rows (a 2048-step decode is better simulated by tasim's own engines).
    ``sparsity=True`` adds SCALE-Sim's optional fifth column, the layer's N:M ratio (``2:4`` for
    N:M-pruned weights, ``1:1`` otherwise).
    """
    total = sum(g.instances for g in w.gemms)
    if total > max_rows:
        raise InputError(
            f"{total} single GEMMs exceed max_rows={max_rows} (use fewer decode steps or a larger max_rows)",
            key="topology",
        )
    lines = ["Layer name, M, N, K," + (" Sparsity," if sparsity else "")]
    for g in w.gemms:
        ratio = ""
        if sparsity:
            ratio = f" {g.b.nm_n}:{g.b.nm_m}," if g.b.pattern == "nm" else " 1:1,"
        ms, ns, ks = g.dims()
        reps = g.batch * g.count
        base = g.name.replace(",", "_").replace(" ", "_")
        for s in range(g.steps):
            step = f".s{s}" if g.steps > 1 else ""
            for i in range(reps):
                inst = f".i{i}" if reps > 1 else ""
                lines.append(f"{base}{step}{inst}, {ms[s]}, {ns[s]}, {ks[s]},{ratio}")
    text = "\n".join(lines) + "\n"
    if path is not None:
        Path(path).write_text(text)
    return text


def from_scalesim_topology(path: str | Path, *, name: str | None = None, input_type: str | None = None) -> Workload:
    """Read a SCALE-Sim topology CSV with :mod:`workloads.topology` (the reader ``tasim scalesim`` uses).

    GEMM rows (``name, M, N, K[, N:M],``) or conv rows (``name, ifmap h, ifmap w, filter h, filter w,
    channels, filters, stride[, N:M],``, im2col GEMMs with M = output pixels, N = filters, K = filter h *
    filter w * channels, depth-wise ``DP`` layers split per channel, as SCALE-Sim does). ``input_type``
    (``gemm``/``conv``) is detected from the first data row when not given. An ``N:M`` column other
    than ``1:1`` marks the weights N:M-sparse (dense K kept; the simulator applies the compression).
    """
    p = Path(path)
    text = read_text(p)
    if input_type is None:
        rows = [ln for ln in text.splitlines()[1:] if ln.strip()]
        fields = [c for c in rows[0].split(",") if c.strip()] if rows else []
        input_type = "gemm" if len(fields) in (4, 5) else "conv"
    ops = []
    for layer in parse_topology_text(text, input_type, source=str(p)):
        b = TensorSpec()
        if layer.nm_n != layer.nm_m:
            b = TensorSpec(pattern="nm", nm_n=layer.nm_n, nm_m=layer.nm_m, density=layer.nm_n / layer.nm_m)
        conv = input_type == "conv"  # A is the implicit im2col view of the input feature map
        ops.append(GemmOp(name=layer.name, m=layer.gemm_m, n=layer.gemm_n, k=layer.gemm_k, kind="gemm",
                          b=b, a_elems=layer.ifmap_h * layer.ifmap_w * layer.channels if conv else 0))
    return Workload(name=name or p.stem, ops=tuple(ops), model=p.stem)
