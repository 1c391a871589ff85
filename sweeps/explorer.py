"""The interactive design-space explorer: one self-contained HTML page per results directory.

``write_explorer(DIR)`` (``tasim explore DIR``, and ``tasim sweep`` by default) reads the store and
writes ``DIR/explorer.html``: a scatter of any two objectives with the Pareto front of the pair, colour
by any axis, hover / click / compare, filters, parallel coordinates with brushing and a sortable front
table (see docs/explorer.md). Nothing is fetched at view time: plotly.js (the ``plotly`` package's
offline bundle), the page's own script and style, and the data are all inline.

The data travel as one gzip-compressed, base64-encoded binary blob (decompressed in the browser with
``DecompressionStream``) plus a small JSON header that describes it:

* ``ids``: the 16-hex-digit ``point_id`` of every stored, successfully simulated design point, as
  8 raw bytes each;
* one column per design axis and workload field that varies: categorical codes (uint8/uint16) into
  the header's value list, or float64 when a numeric axis has more than ``MAX_CATEGORIES`` values;
* one float64 column per objective in SI base units, exactly as stored (so that the page's Pareto
  fronts equal ``sweeps.pareto.pareto_front`` bit for bit);
* per op kind, latency (s) and energy (pJ) of every point as float32 (display only).

Float sections are byte-shuffled (byte plane 0 of every value, then plane 1, ...) before gzip, which
compresses floats markedly better; the page un-shuffles them.

Labels, human units and directions of the metrics come from the metric registry
(``simulator/metrics.py``); derived and expression columns are computed as ``tasim pareto`` computes
them (``sweeps.summary.with_metrics``); colours per value are the report figures' (``sweeps.plots``).
"""

from __future__ import annotations

import base64
import gzip
import html
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from sweeps.spec import parse_constraint
from sweeps.store import Store
from workloads.errors import InputError

PAGE = "explorer.html"
MAX_POINTS = 250_000  # points on a page (more: a sample plus the full fronts): 19-200 B each, at most ~50 MB
MAX_CATEGORIES = 64
WORKLOAD_COLUMNS = ("model", "seq_len", "phase", "batch", "context", "new_tokens", "image_size", "recipe")
ARCH_COLUMNS = ("arch", "engine", "array.rows", "array.cols", "array.dataflow", "array.freq_mhz",
                "pe.precision_mode", "pe.native_bits", "pe.sparsity", "dram.kind", "dram.bandwidth_gbps",
                "tech.node_nm")

# menu order after the spec's objectives (the rest of the registry follows; identical columns are dropped)
PREFERRED = ("latency_s", "energy_pj", "area_mm2", "power_w", "edp_pj_s", "tops_per_w", "effective_tops",
             "utilization", "tokens_per_s", "inferences_per_s", "energy_per_token_mj", "dram_bytes",
             "fidelity_minilm", "accuracy_published")


@dataclass(frozen=True)
class MetricInfo:
    column: str
    label: str
    header: str  # label with the human unit, as tables and axes show it
    unit: str  # human unit shown on the page
    scale: float  # human value = SI value * scale
    direction: str  # "min" | "max"


def metric_info(column: str) -> MetricInfo:
    """Label, human unit, scale and direction of a result column, from the metric registry."""
    from simulator.metrics import get

    m = get(column)
    return MetricInfo(column, m.label, m.header(), m.display_unit, float(m.scale), m.sense or "min")


# ---- reading the store ------------------------------------------------------------------------------


def _read(store: Store, point_ids: Any = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(total rows of the ok points of the current spec -- what ``tasim pareto`` ranks -- and their
    op-kind rows: point_id, op_kind, latency_s, energy_pj); only ``point_ids`` when given. Streamed
    through :meth:`Store.scan` (the current spec's points, one part in memory at a time)."""
    tot = store.read(None, totals=True, ok_only=True, point_ids=point_ids).to_pandas()
    frames = []
    for t in store.scan(["point_id", "row", "op_kind", "latency_s", "energy_pj"], point_ids=point_ids):
        if "op_kind" in t.column_names:
            t = t.filter(pc.equal(t.column("row"), "op_kind"))
            frames.append(t.select([c for c in ("point_id", "op_kind", "latency_s", "energy_pj")
                                    if c in t.column_names]).to_pandas())
    ops = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return tot, ops


def _front_objectives(meta: dict[str, Any], metrics: list[str] | None) -> dict[str, str]:
    """The objectives whose pairwise fronts a sampled page carries in full: the spec's objectives, its
    constraint columns and ``--metrics`` (the menu's first entries; x and y start as the first two)."""
    out = dict(meta.get("objectives") or {"latency_s": "min", "energy_pj": "min"})
    for t in meta.get("constraints", []):
        c = parse_constraint(t, source=None, key="constraints").column
        out.setdefault(c, metric_info(c).direction)
    for c in metrics or []:
        out.setdefault(c, metric_info(c).direction)
    return out


@dataclass
class Sample:
    """A bounded view of a large store: a uniform sample plus every point of the fronts a page shows
    first (see :func:`sample_points`)."""

    ids: list[str]  # point ids: the fronts', then the sample's
    stored: int  # ok design points of the current spec in the store
    n_front: int  # points on at least one of the fronts
    objectives: dict[str, str]  # the objectives whose pairwise fronts are complete
    groups: list[str]  # the fronts are complete pooled and per value of any of these columns


def sample_points(store: Store, meta: dict[str, Any], limit: int, metrics: list[str] | None = None) -> Sample:
    """At most ``limit`` design points of the current spec (more only when the fronts alone need more):
    every point on the 2-objective Pareto front of each pair of :func:`_front_objectives`, with and
    without the spec's constraints, per combination of the workload columns and recipe (so the fronts
    pooled, per model, per recipe ... are all there), plus a uniform sample of the others (the smallest
    point-id hashes: stable whatever the order of the parts, as ``sweeps.summary`` samples the report's
    cloud). One streaming pass over the total rows in bounded memory: the front candidates are kept as
    rows (the front of everything read so far is the front of the previous front points and the next
    part), the sample as ids and hashes only."""
    from itertools import combinations

    from sweeps.pareto import pareto_mask
    from sweeps.summary import WORKLOAD_GROUP, _keyed, with_metrics

    objectives = _front_objectives(meta, metrics)
    cons = [parse_constraint(t, source=None, key="constraints") for t in meta.get("constraints", [])]
    front: pd.DataFrame | None = None
    keys = np.zeros(0, dtype=np.uint64)
    ids = np.zeros(0, dtype=object)
    stored = 0
    groups: list[str] = []
    for t in store.scan(None, totals=True, ok_only=True):
        part = with_metrics(t.to_pandas(), list(objectives))
        stored += len(part)
        keys = np.concatenate([keys, _keyed(part)])
        ids = np.concatenate([ids, part["point_id"].to_numpy(dtype=object)])
        if len(keys) > limit:
            keep = np.argpartition(keys, limit - 1)[:limit]
            keys, ids = keys[keep], ids[keep]
        both = part if front is None else pd.concat([front, part], ignore_index=True)
        groups = [c for c in WORKLOAD_GROUP + ["recipe"] if c in both.columns]
        objs = {c: v for c, v in objectives.items() if c in both.columns and pd.api.types.is_numeric_dtype(both[c])}
        ok = np.ones(len(both), dtype=bool)
        for c in cons:
            if c.column in both.columns:
                ok &= c.mask(both[c.column].to_numpy(dtype=float))
        # pareto_front(rows, {a, b}, by=groups) of every pair, on arrays: the groups are found once per part
        codes = both.groupby(groups, sort=False, dropna=False).ngroup().to_numpy() if groups else np.zeros(len(both))
        order = np.argsort(codes, kind="stable")
        members = np.split(order, np.flatnonzero(np.diff(codes[order])) + 1)
        on_front = np.zeros(len(both), dtype=bool)
        for a, b in combinations(objs, 2):
            values = np.column_stack([both[a].to_numpy(dtype=float), both[b].to_numpy(dtype=float)])
            for idx in members:
                for rows in (idx, idx[ok[idx]]):  # without and with the constraints
                    if len(rows):
                        on_front[rows[pareto_mask(values[rows], [objs[a], objs[b]])]] = True
        front = both[on_front].reset_index(drop=True)
    front_ids = [] if front is None else front["point_id"].tolist()
    rest = ~pd.Series(ids).isin(front_ids).to_numpy()  # hashed (np.isin on object arrays compares every pair)
    keys, ids = keys[rest], ids[rest]
    take = np.argsort(keys, kind="stable")[:max(0, limit - len(front_ids))]
    return Sample(front_ids + ids[take].tolist(), stored, len(front_ids), objectives, groups)


def sample_note(s: Sample) -> str:
    """What a sampled page shows, in one sentence for its header."""
    pairs = ", ".join(metric_info(c).label for c in s.objectives)
    per = f" (pooled, and per value of any of {', '.join(s.groups)})" if s.groups else ""
    return (f"a sample: {len(s.ids):,} of {s.stored:,} design points, namely every point on the Pareto front "
            f"of each pair of {pairs}{per}, with and without the constraints ({s.n_front:,} points), plus a uniform "
            "sample of the others. Other fronts (other pairs, other filters) are those of the sample.")


def _objective_columns(tot: pd.DataFrame, spec_objectives: dict[str, str], extra: list[str]) -> dict[str, str]:
    """The objective menu: the spec's objectives, the constraint columns and ``extra`` (always), then the
    ``PREFERRED`` metrics that have values, vary and are not a copy of a column already there."""
    out: dict[str, str] = {}
    seen: list[np.ndarray] = []
    for c in list(spec_objectives) + extra + list(PREFERRED):
        if c in out or c not in tot.columns or not pd.api.types.is_numeric_dtype(tot[c]):
            continue
        v = tot[c].to_numpy(dtype=float)
        must = c in spec_objectives or c in extra
        f = v[np.isfinite(v)]
        if not must and (len(f) == 0 or f.min() == f.max() or any(np.array_equal(v, w, equal_nan=True) for w in seen)):
            continue  # no values, constant, or the same numbers as a column already there (prefill token time)
        seen.append(v)
        out[c] = spec_objectives.get(c, metric_info(c).direction)
    return out


# ---- the payload ------------------------------------------------------------------------------------


def _json_value(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else None
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    return None if v is None else str(v) if not isinstance(v, (int, float)) else v


def build_payload(tot: pd.DataFrame, ops: pd.DataFrame, meta: dict[str, Any],
                  metrics: list[str] | None = None) -> tuple[dict[str, Any], bytes]:
    """(JSON header, gzip-compressed binary blob) of the page's data; ``tot`` one row per ok point."""
    from sweeps.plots import SHAPE, ColourTable, _natural_key, with_shape
    from sweeps.report import _color_axis
    from sweeps.summary import with_metrics

    spec_objs: dict[str, str] = dict(meta.get("objectives") or {})
    cons = [parse_constraint(t, source=None, key="constraints") for t in meta.get("constraints", [])]
    # derived metrics and expression objectives/constraints: computed exactly as tasim pareto does
    extra = [c.column for c in cons] + list(metrics or [])
    tot = with_metrics(tot.drop_duplicates("point_id").reset_index(drop=True), list(spec_objs) + extra)
    tot = with_shape(tot)
    n = len(tot)
    objectives = _objective_columns(tot, spec_objs, extra)
    axes = [c for c in meta.get("axis_columns", []) if c in tot.columns]
    if SHAPE in tot.columns and {"array.rows", "array.cols"} <= set(axes):
        axes.append(SHAPE)
    workload = [c for c in WORKLOAD_COLUMNS if c in tot.columns and c not in axes]
    arch = [c for c in ARCH_COLUMNS if c in tot.columns and c not in axes]

    sections: list[tuple[str, np.ndarray]] = []  # (name, array), laid out 8-byte aligned
    columns: list[dict[str, Any]] = []
    constants: dict[str, Any] = {}
    for role, cols in (("axis", axes), ("workload", workload), ("arch", arch)):
        for c in cols:
            s = tot[c]
            values = pd.unique(s.to_numpy(dtype=object))
            vals = sorted((_json_value(v) for v in values), key=lambda v: (v is None, _natural_key(v)))
            vals = list(dict.fromkeys(vals))
            if len(vals) <= 1 and role != "axis":
                constants[c] = vals[0] if vals else None
                continue
            numeric = pd.api.types.is_numeric_dtype(s)
            if numeric and len(vals) > MAX_CATEGORIES:
                sections.append((f"c:{c}", s.to_numpy(dtype=np.float64)))
                columns.append({"name": c, "role": role, "kind": "num", "label": c, "header": c, "unit": "",
                                "scale": 1.0})
                continue
            if len(vals) > 65535:
                raise InputError(f"{len(vals)} distinct values (allowed: at most 65535 for the explorer)", key=c)
            index = {v: i for i, v in enumerate(vals)}
            codes = np.fromiter((index[_json_value(v)] for v in s.to_numpy(dtype=object)), dtype=np.int64, count=n)
            dtype = np.uint8 if len(vals) <= 255 else np.uint16
            sections.append((f"c:{c}", codes.astype(dtype)))
            columns.append({"name": c, "role": role, "kind": "cat", "values": vals, "label": c,
                            "colors": _colours(c, s, vals, ColourTable)})
    for c, sense in objectives.items():
        m = metric_info(c)
        sections.append((f"c:{c}", tot[c].to_numpy(dtype=np.float64)))
        columns.append({"name": c, "role": "objective", "kind": "num", "label": m.label, "header": m.header,
                        "unit": m.unit, "scale": m.scale, "sense": sense})

    op_kinds: list[str] = []
    if len(ops) and {"latency_s", "energy_pj", "op_kind"} <= set(ops.columns):
        ops = ops[ops["point_id"].isin(tot["point_id"])]
        op_kinds = list(dict.fromkeys(ops.groupby("op_kind", sort=False)["latency_s"].sum()
                                      .sort_values(ascending=False).index.tolist()))
        pos = pd.Index(tot["point_id"]).get_indexer(ops["point_id"])
        kpos = pd.Index(op_kinds).get_indexer(ops["op_kind"])
        for q in ("latency_s", "energy_pj"):
            a = np.full((len(op_kinds), n), np.nan, dtype=np.float32)
            a[kpos, pos] = ops[q].to_numpy(dtype=np.float32)
            sections.append((f"b:{q}", a.ravel()))
    ids = np.frombuffer(b"".join(bytes.fromhex(p) if len(p) == 16 else p.encode()[:8].ljust(8, b"\0")
                                 for p in tot["point_id"]), dtype=np.uint8)
    sections.append(("ids", ids))

    layout, blobs, offset = [], [], 0
    for name, arr in sections:
        arr = np.ascontiguousarray(arr)
        shuffle = arr.dtype.kind == "f"  # byte planes (all first bytes, all second bytes, ...): gzip likes them
        buf = arr.view(np.uint8).reshape(-1, arr.itemsize).T.tobytes() if shuffle else arr.tobytes()
        layout.append({"name": name, "dtype": arr.dtype.name, "offset": offset, "length": int(arr.size),
                       "shuffle": shuffle})
        pad = (-len(buf)) % 8
        blobs.append(buf + b"\0" * pad)
        offset += len(buf) + pad
    raw = b"".join(blobs)
    constraints = [{"column": c.column, "op": c.op, "value": c.value, "text": c.text} for c in cons]
    names = list(objectives)
    header = {
        "name": meta.get("name", ""),
        "description": (meta.get("spec") or {}).get("description", ""),
        "engine": meta.get("engine", ""),
        "tasim_version": meta.get("tasim_version", ""),
        "base_arch": meta.get("base_arch", ""),
        "n": n,
        "columns": columns,
        "constants": constants,
        "op_kinds": op_kinds,
        "constraints": constraints,
        "default_x": names[0] if names else None,
        "default_y": names[1] if len(names) > 1 else (names[0] if names else None),
        "default_color": _default_color(meta, columns, _color_axis(meta, tot)),
        "layout": layout,
        "raw_bytes": len(raw),
    }
    return header, gzip.compress(raw, compresslevel=6, mtime=0)


def _colours(column: str, series: pd.Series, values: list[Any], table: Any) -> list[str]:
    """One colour per value, the same as the report's figures give it (sweeps.plots.ColourTable)."""
    from matplotlib.colors import to_hex

    ct = table(column, series)
    probe = pd.Series(values, dtype=series.dtype if pd.api.types.is_numeric_dtype(series) else object)
    return [to_hex(rgba) for rgba in ct.rgba(probe)]


def _default_color(meta: dict[str, Any], columns: list[dict[str, Any]], report_choice: str | None) -> str | None:
    """The report's colouring column when the page has it, else the first varying axis, recipe, model."""
    cats = {c["name"]: c for c in columns if c["kind"] == "cat" and len(c["values"]) > 1}
    if report_choice in cats:
        return report_choice
    for c in [*meta.get("axis_columns", []), "recipe", "model"]:
        if c in cats:
            return c
    return next(iter(cats), None)


# ---- the page ---------------------------------------------------------------------------------------


def _asset(name: str) -> str:
    return (Path(__file__).with_name(name)).read_text(encoding="utf-8")


def _plotly_js() -> str:
    try:
        from plotly.offline import get_plotlyjs
    except ImportError as exc:  # pragma: no cover - plotly is an install requirement
        raise InputError("the explorer needs the 'plotly' package (pip install plotly)", key="explore") from exc
    return get_plotlyjs()


def _inline_script(text: str) -> str:
    return text.replace("</script", "<\\/script")


def render_html(header: dict[str, Any], blob: bytes) -> str:
    """The whole page as one string (plotly.js, style, script and data inline)."""
    title = f"tasim explorer: {header.get('name', '')}"
    head_json = json.dumps(header, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return "".join([
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{html.escape(title)}</title><style>{_asset('explorer.css')}</style></head><body>",
        _asset("explorer.html"),
        f"<script id='tasim-header' type='application/json'>{head_json}</script>",
        f"<script id='tasim-data' type='text/plain'>{base64.b64encode(blob).decode('ascii')}</script>",
        f"<script>{_inline_script(_plotly_js())}</script>",
        f"<script>{_inline_script(_asset('explorer.js'))}</script>",
        "</body></html>",
    ])


def write_explorer(out_dir: str | Path, out: str | Path | None = None, metrics: list[str] | None = None,
                   max_points: int = MAX_POINTS) -> Path:
    """Write the explorer page of a results directory (default ``DIR/explorer.html``); returns its path.
    ``metrics``: more result columns or expressions for the objective menu (beyond the spec's objectives,
    its constraint columns and ``PREFERRED``). The page shows the current spec's design points; above
    ``max_points`` of them, a bounded sample that keeps the full fronts (:func:`sample_points`), and says so."""
    store = Store(out_dir, create=False)
    meta = store.read_meta()
    n = sum(t.num_rows for t in store.scan(["point_id"], totals=True, ok_only=True))
    if n == 0:
        raise InputError("no successfully simulated design points to explore", source=str(out_dir))
    if metrics:
        from simulator.metrics import check

        metrics = [check(m, store.columns(), key="--metrics") for m in metrics]
    note = ""
    if n > max_points:
        s = sample_points(store, meta, max_points, metrics)
        tot, ops = _read(store, point_ids=s.ids)
        note = sample_note(s)
    else:
        tot, ops = _read(store)
    header, blob = build_payload(tot, ops, meta, metrics)
    header["stored"] = n
    header["sample_note"] = note
    path = Path(out) if out is not None else Path(out_dir) / PAGE
    page = render_html(header, blob)
    tmp = path.with_name(f".{path.name}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path
