"""Sweep reports: ``DIR/report.md`` and a self-contained ``DIR/report.html`` (figures embedded base64).

Contents: what was swept (spec), run summary, constraints, the Pareto front per workload (model, seq
length, phase) over the spec's objectives with a table, the best feasible point per objective, and
the figures of :mod:`sweeps.plots`.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sweeps import plots
from sweeps.pareto import pareto_front
from sweeps.spec import parse_constraint
from sweeps.store import Store

WORKLOAD_GROUP = ["model", "seq_len", "phase"]
MAX_TABLE_ROWS = 40


def _fmt(v: Any) -> str:
    """Numbers for people: 4 significant digits, no exponent between 1e-3 and 1e6."""
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            return "–"
        if v == 0:
            return "0"
        a = abs(v)
        return f"{v:.4g}" if 1e-3 <= a < 1e6 else f"{v:.3e}"
    return str(v)


def md_table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join(_fmt(r[c]) for c in cols) + " |")
    return "\n".join(lines)


def usable_objectives(df: pd.DataFrame, objectives: dict[str, str]) -> dict[str, str]:
    """The objectives that have values (e.g. accuracy_published is NaN where no paper reports the pair).
    ``df`` must already hold expression columns (:func:`with_metrics`)."""
    out = {k: v for k, v in objectives.items() if k in df.columns and df[k].notna().any()}
    return out or {k: v for k, v in {"latency_s": "min", "energy_pj": "min"}.items() if k in df.columns}


def with_metrics(df: pd.DataFrame, names: Any = ()) -> pd.DataFrame:
    """``df`` plus every derived metric its columns allow and the expression columns ``names``
    (simulator/metrics.py); names that cannot be computed from these rows are skipped."""
    from simulator.metrics import add_columns, is_known

    return add_columns(df, [n for n in names if n not in df.columns and is_known(n, df.columns)])


def feasible(df: pd.DataFrame, constraints: list[str]) -> pd.DataFrame:
    mask = np.ones(len(df), dtype=bool)
    parsed = [parse_constraint(text, source=None, key="constraints") for text in constraints]
    df = with_metrics(df, [c.column for c in parsed])
    for c in parsed:
        if c.column in df.columns:
            mask &= c.mask(df[c.column].to_numpy(dtype=float))
    return df[mask]


def analyse(out_dir: str | Path) -> dict[str, Any]:
    """Everything a report shows, as data: totals, feasible set, fronts, best points."""
    store = Store(out_dir, create=False)
    meta = store.read_meta()
    df = store.load()
    tot = df[df["row"] == "total"] if len(df) else df
    ok = tot[tot["status"] == "ok"] if len(tot) else tot
    errors = tot[tot["status"] == "error"] if len(tot) else tot
    objectives: dict[str, str] = meta.get("objectives") or {"latency_s": "min", "energy_pj": "min"}
    ok = with_metrics(ok, list(objectives))
    objectives = usable_objectives(ok, objectives)
    fea = feasible(ok, meta.get("constraints", []))
    group = [c for c in WORKLOAD_GROUP if c in fea.columns and fea[c].nunique() > 1] or None
    front = pareto_front(fea, objectives, by=group) if len(fea) and objectives else fea.iloc[0:0]
    best = []
    for col, sense in objectives.items():
        if fea[col].notna().any():
            i = fea[col].idxmin() if sense == "min" else fea[col].idxmax()
            best.append((col, sense, fea.loc[i]))
    return {"meta": meta, "all": df, "totals": ok, "errors": errors, "feasible": fea, "front": front,
            "objectives": objectives, "group": group, "best": best}


def _color_axis(meta: dict[str, Any], df: pd.DataFrame) -> str | None:
    """The spec's ``color_by``; else the array shape (rows x cols) when both vary, else the first axis
    that varies, else the recipe."""
    chosen = meta.get("spec", {}).get("color_by")
    if chosen and (chosen in df.columns or chosen == plots.SHAPE):
        return chosen
    axes = meta.get("axis_columns", [])
    if {"array.rows", "array.cols"} <= set(axes) or (
            {"array.rows", "array.cols"} <= set(df.columns) and df["array.rows"].nunique() > 1
            and df["array.cols"].nunique() > 1):
        return plots.SHAPE
    for c in axes + ["recipe", "pe.precision_mode"]:
        if c in df.columns and df[c].nunique() > 1:
            return c
    return None


def front_description(a: dict[str, Any]) -> str:
    """Which front the report's table and front.csv hold (objectives; per workload or pooled)."""
    objs = ", ".join(f"{k} ({v})" for k, v in a["objectives"].items())
    scope = f"one front per workload ({', '.join(a['group'])})" if a["group"] else "pooled over all points"
    return f"{len(a['objectives'])}-objective Pareto front of {objs}, {scope}, under the constraints"


def make_figures(a: dict[str, Any], out: Path) -> dict[str, Path]:
    figs: dict[str, Path] = {}
    meta, fea, objs = a["meta"], a["feasible"], a["objectives"]
    if len(fea) == 0 or len(objs) < 1:
        return figs
    fea = plots.with_shape(fea)
    color = _color_axis(meta, fea)
    by = a["group"]
    if len(objs) >= 2:
        figs["pareto"] = plots.plot_pareto(fea, objs, out / "pareto", color_by=color,
                                           title=f"{meta.get('name', '')}: {len(fea):,} feasible design points")[0]
    if len(objs) >= 3 or (len(objs) == 2 and "area_mm2" not in objs):
        extra = dict(objs)
        if "area_mm2" not in extra and "area_mm2" in fea:
            extra["area_mm2"] = "min"
        figs["matrix"] = plots.plot_matrix(fea, extra, out / "objectives_matrix", color_by=color, by=by)[0]
    if len(objs) >= 3:
        figs["parallel"] = plots.plot_parallel(fea, objs, out / "parallel", color_by=color, by=by)[0]
    front = a["front"]
    if len(front):
        first = front
        if a["group"]:
            key = tuple(front.iloc[0][c] for c in a["group"])
            first = front[np.all([front[c] == k for c, k in zip(a["group"], key)], axis=0)]
        ids = first.sort_values(next(iter(objs)))["point_id"].tolist()
        if len(ids) > 12:
            ids = [ids[int(i)] for i in np.linspace(0, len(ids) - 1, 12)]
        what = ", ".join(f"{c}={first.iloc[0][c]}" for c in (a["group"] or []))
        figs["breakdown"] = plots.plot_breakdown(
            a["all"], ids, out / "breakdown",
            title=f"points of the {len(objs)}-objective front" + (f" ({what})" if what else ""))[0]
    if {"array.rows", "array.cols"} <= set(fea.columns) and fea["array.rows"].nunique() * fea["array.cols"].nunique() > 1:
        figs["heatmap"] = plots.plot_heatmap(fea, out / "utilization_heatmap")[0]
    for q in ("accuracy_published", "fidelity_minilm"):
        if q in fea and fea[q].notna().any() and fea["recipe"].nunique() > 1:
            figs["accuracy"] = plots.plot_accuracy(fea, out / "accuracy_vs_latency", quality=q)[0]
            break
    return figs


def _front_table(a: dict[str, Any]) -> pd.DataFrame:
    front = a["front"]
    meta = a["meta"]
    cols = [c for c in ["model", "seq_len", "phase", "recipe"] if c in front and front[c].nunique() > 0]
    cols += [c for c in meta.get("axis_columns", []) if c in front and c not in cols]
    cols += [c for c in a["objectives"] if c not in cols]
    cols += [c for c in ("area_mm2", "power_w", "utilization", "accuracy_published", "fidelity_minilm")
             if c in front and c not in cols]
    t = front[cols]
    if len(t) > MAX_TABLE_ROWS:
        t = t.iloc[np.linspace(0, len(t) - 1, MAX_TABLE_ROWS).astype(int)]
    return t


def write_report(out_dir: str | Path) -> dict[str, Path]:
    """Write figures, report.md and report.html into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    a = analyse(out)
    meta = a["meta"]
    figs = make_figures(a, out)
    spec_yaml = yaml.safe_dump(meta.get("spec", {}), sort_keys=False, default_flow_style=None)
    n_tot, n_err = len(a["totals"]) + len(a["errors"]), len(a["errors"])
    objs_txt = ", ".join(f"{k} ({v})" for k, v in a["objectives"].items())
    summary = [
        f"- design points stored: **{n_tot:,}** ({n_err} failed), feasible under the constraints: "
        f"**{len(a['feasible']):,}**, on the Pareto front: **{len(a['front']):,}**",
        f"- objectives: {objs_txt}",
        f"- constraints: {', '.join(meta.get('constraints', [])) or 'none'}",
        f"- strategy: {meta.get('strategy', {}).get('kind', 'grid')}, engine: {meta.get('engine', '')}, "
        f"base accelerator: {meta.get('base_arch', '')}, tasim {meta.get('tasim_version', '')}",
    ]
    summary.append(f"- front: the {front_description(a)}; figures name their own fronts (a 2-D panel shows "
                   "the front of its pair of objectives)")
    best_rows = []
    for col, sense, r in a["best"]:
        from simulator.metrics import get

        m = get(col)
        best_rows.append({"objective": f"{m.label} ({sense})", "value": _fmt(m.to_display(float(r[col]))),
                          "unit": m.display_unit, "model": r.get("model", ""),
                          "recipe": r.get("recipe", ""),
                          "design": ", ".join(f"{c}={_fmt(r[c])}" for c in meta.get("axis_columns", []) if c in r)})
    best_df = pd.DataFrame(best_rows)
    from simulator.metrics import display_frame

    table = display_frame(_front_table(a))
    errs = a["errors"][["point_id", "model", "recipe", "error"]].head(10) if n_err else None

    md = [f"# Sweep report: {meta.get('name', out.name)}", "", meta.get("spec", {}).get("description", ""), "",
          "## Summary", "", *summary, ""]
    md += ["## Best point per objective", "", md_table(best_df) if len(best_df) else "(no feasible points)", ""]
    for key, title in (("pareto", "Pareto front"), ("matrix", "Pairwise objectives"),
                       ("parallel", "Parallel coordinates of the objectives"),
                       ("breakdown", "Latency and energy by op kind (front points)"),
                       ("heatmap", "Utilization over array shape"), ("accuracy", "Quality versus latency")):
        if key in figs:
            md += [f"## {title}", "", f"![{title}]({figs[key].name})", ""]
    md += [f"## Pareto front ({len(a['front'])} points{', sampled' if len(a['front']) > MAX_TABLE_ROWS else ''})",
           "", f"The {front_description(a)}; values in display units (front.csv holds every front point).", "",
           md_table(table) if len(table) else "(empty)", ""]
    if errs is not None:
        md += ["## Failed design points", "", md_table(errs), ""]
    md += ["## Spec", "", "```yaml", spec_yaml.rstrip(), "```", ""]
    (out / "report.md").write_text("\n".join(md))

    def img(p: Path) -> str:
        return f'<img alt="{p.stem}" src="data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}">'

    h = [f"<!doctype html><html><head><meta charset='utf-8'><title>tasim sweep: {html.escape(meta.get('name', ''))}"
         "</title><style>body{font-family:system-ui,sans-serif;max-width:1250px;margin:2em auto;padding:0 1em}"
         "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
         "img{max-width:100%}pre{background:#f6f6f6;padding:1em;overflow:auto}</style></head><body>",
         f"<h1>Sweep report: {html.escape(meta.get('name', out.name))}</h1>",
         f"<p>{html.escape(meta.get('spec', {}).get('description', ''))}</p><h2>Summary</h2><ul>"]
    h += [f"<li>{html.escape(s[2:]).replace('**', '')}</li>" for s in summary]
    h += ["</ul><h2>Best point per objective</h2>", _html_table(best_df)]
    for key, title in (("pareto", "Pareto front"), ("matrix", "Pairwise objectives"),
                       ("parallel", "Parallel coordinates of the objectives"),
                       ("breakdown", "Latency and energy by op kind (front points)"),
                       ("heatmap", "Utilization over array shape"), ("accuracy", "Quality versus latency")):
        if key in figs:
            h += [f"<h2>{title}</h2>", img(figs[key])]
    h += [f"<h2>Pareto front ({len(a['front'])} points)</h2>",
          f"<p>The {html.escape(front_description(a))}; values in display units.</p>", _html_table(table)]
    if errs is not None:
        h += ["<h2>Failed design points</h2>", _html_table(errs)]
    h += ["<h2>Spec</h2>", f"<pre>{html.escape(spec_yaml)}</pre>", "</body></html>"]
    (out / "report.html").write_text("\n".join(h))
    (out / "front.csv").write_text(front_csv(a))
    return {"md": out / "report.md", "html": out / "report.html", "pareto": figs.get("pareto", out / "pareto.png"),
            **{f"fig_{k}": v for k, v in figs.items()}}


def front_csv(a: dict[str, Any]) -> str:
    """The front for people: workload, axes and every metric in display units, unit in the header."""
    from simulator.metrics import METRICS, display_frame

    front = a["front"]
    lead = [c for c in ["model", "seq_len", "phase", "batch", "new_tokens", "recipe"] + a["meta"].get("axis_columns", [])
            if c in front.columns]
    figures = list(dict.fromkeys([c for c in a["objectives"] if c in front.columns]
                                 + [c for c in METRICS if c in front.columns]))
    return display_frame(front, list(dict.fromkeys(lead + figures + ["point_id"]))).to_csv(index=False)


def _html_table(df: pd.DataFrame) -> str:
    if df is None or len(df) == 0:
        return "<p>(empty)</p>"
    return df.to_html(index=False, float_format=_fmt, na_rep="–", border=0, escape=True)


def summary_text(out_dir: str | Path) -> str:
    """A few lines for ``tasim results``: counts, per-workload ranges of the objectives, best points."""
    a = analyse(out_dir)
    meta = a["meta"]
    lines = [f"{meta.get('name', Path(out_dir).name)}: {len(a['totals']) + len(a['errors']):,} design points "
             f"({len(a['errors'])} failed), {len(a['feasible']):,} feasible, {len(a['front']):,} on the "
             f"{front_description(a)}"]
    from simulator.metrics import display_frame, get

    if len(a["totals"]):
        cols = [c for c in a["objectives"]] + [c for c in ("area_mm2",) if c not in a["objectives"]]
        keys = [c for c in WORKLOAD_GROUP + ["recipe"] if c in a["totals"]]
        shown = display_frame(a["totals"], keys + cols)
        desc = shown.groupby(keys)[[c for c in shown.columns if c not in keys]].agg(["min", "max"])
        lines.append(desc.to_string(float_format=_fmt))
    for col, sense, r in a["best"]:
        m = get(col)
        axes = ", ".join(f"{c}={_fmt(r[c])}" for c in meta.get("axis_columns", []) if c in r)
        lines.append(f"best {m.label} ({sense}): {_fmt(m.to_display(float(r[col])))} {m.display_unit}  "
                     f"[{r.get('model', '')} {r.get('recipe', '')}; {axes}]")
    if len(a["errors"]):
        lines.append("errors (first 5):")
        for _, r in a["errors"].head(5).iterrows():
            lines.append(f"  {r['point_id']} {r.get('model', '')} {r.get('recipe', '')}: {r['error']}")
    return "\n".join(lines)


def meta_json(out_dir: str | Path) -> str:
    return json.dumps(Store(out_dir, create=False).read_meta(), indent=2)
