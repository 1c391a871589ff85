"""Sweep reports: ``DIR/report.md`` and a self-contained ``DIR/report.html`` (figures embedded base64).

Contents: what was swept (spec), run summary, constraints, the Pareto front per workload (model, seq
length, phase) over the spec's objectives with a table, the best feasible point per objective, and
the figures of :mod:`sweeps.plots`.
"""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sweeps import plots
from sweeps.store import Store
from sweeps.summary import feasible, with_metrics  # noqa: F401  (here since the metric registry)

WORKLOAD_GROUP = ["model", "seq_len", "phase"]
MAX_TABLE_ROWS = 40
REPORT_FORMATS = (".png",)  # vector versions on demand: tasim plot DIR --kind report --formats png,svg,pdf


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


# Markdown that user text could create: code, emphasis, links/images, HTML, table cells, strike-through;
# underscores only at word edges (snake_case names stay readable: CommonMark ignores intraword ``_``)
_MD_SPECIAL = re.compile(r"([\\`*\[\]|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
_MD_LINE_START = re.compile(r"^(\s*)([#>+\-=]|\d+[.)])")


def md_escape(text: Any, *, at_line_start: bool = True) -> str:
    """User text (spec names, descriptions, objectives, model and recipe names, error messages) as inert
    Markdown on one line: HTML escaped, markup characters backslash-escaped and, for text that starts a
    line, no block syntax (heading, quote, list) at its start."""
    t = _MD_SPECIAL.sub(r"\\\1", html.escape(" ".join(str(text).split()), quote=False))

    def escape_mark(m: re.Match[str]) -> str:  # '1.' -> '1\\.', '#' -> '\\#'
        mark = m.group(2)
        return m.group(1) + (mark[:-1] + "\\" + mark[-1] if mark[0].isdigit() else "\\" + mark)

    return _MD_LINE_START.sub(escape_mark, t) if at_line_start else t


def md_fence(text: str) -> str:
    """A fence longer than any backtick run inside ``text`` (so the text cannot close it)."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def md_table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(md_escape(c, at_line_start=False) for c in cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join(md_escape(_fmt(r[c]), at_line_start=False) for c in cols) + " |")
    return "\n".join(lines)


def usable_objectives(df: pd.DataFrame, objectives: dict[str, str]) -> dict[str, str]:
    """The objectives that have values (e.g. accuracy_published is NaN where no paper reports the pair).
    ``df`` must already hold expression columns (:func:`with_metrics`)."""
    out = {k: v for k, v in objectives.items() if k in df.columns and df[k].notna().any()}
    return out or {k: v for k, v in {"latency_s": "min", "energy_pj": "min"}.items() if k in df.columns}


def analyse(out_dir: str | Path, *, cloud_cap: int | None = None) -> dict[str, Any]:
    """Everything a report shows, as data, from one streaming pass over the stored total rows
    (:mod:`sweeps.summary`; bounded memory whatever the sweep size).

    ``front``: the Pareto front (per workload when several); ``feasible``: the points figures draw (all
    feasible points, or a uniform sample of ``cloud_cap`` of them plus every front point when there
    are more: ``sampled``); ``counts``: stored / failed / feasible; ``best``: the best feasible point per
    objective; ``ranges``: per-workload objective ranges; ``heat`` / ``fastest``: the heat map's best
    point per array shape and the fastest point per recipe; ``errors``: the first failed points.
    """
    from sweeps.summary import CLOUD_CAP, summarise

    store = Store(out_dir, create=False)
    meta = store.read_meta()
    s = summarise(store, meta, cloud_cap=cloud_cap or CLOUD_CAP)
    front = s.front()
    best = [(col, sense, s.best[col]) for col, sense in s.objectives.items() if col in s.best]
    return {"meta": meta, "store": store, "feasible": s.points(), "front": front, "objectives": s.objectives,
            "group": s.group, "best": best, "errors": s.error_rows(), "sampled": s.sampled,
            "counts": {"stored": s.n_ok + s.n_err, "failed": s.n_err, "ok": s.n_ok, "feasible": s.n_feasible},
            "ranges": s.ranges, "heat": s.heat if s.heat is not None else pd.DataFrame(),
            "fastest": s.fastest if s.fastest is not None else pd.DataFrame()}


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


def published_note(meta: dict[str, Any]) -> str:
    """Which (model, recipe) pairs of the spec have a published quality figure
    (workloads/data/published_accuracy.yaml); decided from the spec, without reading the results."""
    from workloads.errors import InputError
    from workloads.published import published
    from workloads.zoo import resolve_model_name

    spec = meta.get("spec", {})
    if spec.get("evaluator"):
        return ""
    names = []
    for m in (spec.get("workloads") or {}).get("models") or []:
        try:
            names.append(resolve_model_name(str(m)))
        except InputError:
            continue
    pairs = [(m, r) for m in names for r in (spec.get("recipes") or ["none"])]
    if not pairs:
        return ""
    have = [f"{m} + {r}" for m, r in pairs if published(m, r) is not None]
    missing = [f"{m} + {r}" for m, r in pairs if published(m, r) is None]
    text = f"published quality (accuracy_published / perplexity_published): {len(have)} of {len(pairs)} (model, recipe) pairs"
    if have:
        text += " have a figure (" + "; ".join(have) + ")"
    if missing:
        text += "; no published figure (NaN, never on a front that uses it) for " + "; ".join(missing)
    return text


def front_description(a: dict[str, Any]) -> str:
    """Which front the report's table and front.csv hold (objectives; per workload or pooled)."""
    objs = ", ".join(f"{k} ({v})" for k, v in a["objectives"].items())
    scope = f"one front per workload ({', '.join(a['group'])})" if a["group"] else "pooled over all points"
    return f"{len(a['objectives'])}-objective Pareto front of {objs}, {scope}, under the constraints"


def make_figures(a: dict[str, Any], out: Path, *, formats: tuple[str, ...] = REPORT_FORMATS,
                 parallel: bool = True) -> dict[str, Path]:
    """The report's figures (PNG unless ``formats`` says more), drawn in parallel processes.

    Figures draw the feasible points of ``a`` (a uniform sample plus every front point on large
    sweeps) and the full fronts; the heat map draws the best point per array shape of all points.
    """
    meta, fea, objs = a["meta"], a["feasible"], a["objectives"]
    if len(fea) == 0 or len(objs) < 1:
        return {}
    fea = plots.with_shape(fea)
    color = _color_axis(meta, fea)
    by = a["group"]
    n = a["counts"]["feasible"]
    shown_txt = f" (showing {len(fea):,}: a uniform sample and every front point)" if a.get("sampled") else ""
    jobs: list[tuple[str, Any, tuple, dict]] = []
    if len(objs) >= 2:
        jobs.append(("pareto", plots.plot_pareto, (fea, objs, out / "pareto"),
                     {"color_by": color, "title": f"{meta.get('name', '')}: {n:,} feasible design points{shown_txt}"}))
    if len(objs) >= 3 or (len(objs) == 2 and "area_mm2" not in objs):
        extra = dict(objs)
        if "area_mm2" not in extra and "area_mm2" in fea:
            extra["area_mm2"] = "min"
        jobs.append(("matrix", plots.plot_matrix, (fea, extra, out / "objectives_matrix"), {"color_by": color, "by": by}))
    if len(objs) >= 3:
        jobs.append(("parallel", plots.plot_parallel, (fea, objs, out / "parallel"), {"color_by": color, "by": by}))
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
        rows = a["store"].read(plots.BREAKDOWN_COLUMNS, point_ids=ids).to_pandas() if "store" in a \
            else a.get("all", pd.DataFrame())
        jobs.append(("breakdown", plots.plot_breakdown, (rows, ids, out / "breakdown"),
                     {"title": f"points of the {len(objs)}-objective front" + (f" ({what})" if what else "")}))
    heat = a.get("heat")
    heat = heat if heat is not None and len(heat) else fea
    if {"array.rows", "array.cols"} <= set(heat.columns) and heat["array.rows"].nunique() * heat["array.cols"].nunique() > 1:
        jobs.append(("heatmap", plots.plot_heatmap, (heat, out / "utilization_heatmap"), {}))
    for q in ("accuracy_published", "fidelity_minilm"):
        if q in fea and fea[q].notna().any() and fea["recipe"].nunique() > 1:
            jobs.append(("accuracy", plots.plot_accuracy, (fea, out / "accuracy_vs_latency"), {"quality": q}))
            break
    for _, _, _, kw in jobs:
        kw["formats"] = formats
    return {name: paths[0] for name, paths in _draw(jobs, parallel).items()}


_JOBS: list[tuple[str, Any, tuple, dict]] = []


def _draw_one(i: int) -> tuple[str, list[Path]]:
    name, fn, args, kw = _JOBS[i]
    return name, fn(*args, **kw)


def _draw(jobs: list[tuple[str, Any, tuple, dict]], parallel: bool) -> dict[str, list[Path]]:
    """Run the figure jobs: in forked processes (figures share nothing; the data are inherited by fork,
    not pickled) when there are several and more than one core, else here."""
    import multiprocessing as mp
    import os

    global _JOBS
    workers = min(len(jobs), os.cpu_count() or 1)
    if not parallel or workers < 2 or "fork" not in mp.get_all_start_methods():
        return {name: fn(*args, **kw) for name, fn, args, kw in jobs}
    _JOBS = jobs
    order = sorted(range(len(jobs)), key=lambda i: -_COST.get(jobs[i][0], 1.0))  # longest first
    try:
        with mp.get_context("fork").Pool(workers) as pool:
            done = dict(pool.imap_unordered(_draw_one, order))
    finally:
        _JOBS = []
    return {name: done[name] for name, *_ in jobs}


_COST = {"matrix": 4.0, "breakdown": 2.0, "parallel": 1.3, "pareto": 1.2}  # relative drawing times (quickstart)


def _front_table(a: dict[str, Any]) -> pd.DataFrame:
    front = a["front"]
    meta = a["meta"]
    cols = [c for c in ["model", "seq_len", "phase", "recipe"] if c in front and front[c].nunique() > 0]
    cols += [c for c in meta.get("axis_columns", []) if c in front and c not in cols]
    cols += [c for c in a["objectives"] if c not in cols]
    cols += [c for c in ("area_mm2", "power_w", "utilization", "accuracy_published", "perplexity_published",
                         "fidelity_minilm") if c in front and c not in cols and front[c].notna().any()]
    if any(c in a["objectives"] for c in ("accuracy_published", "perplexity_published")) and "accuracy_source" in front:
        cols.append("accuracy_source")
    t = front[cols]
    if len(t) > MAX_TABLE_ROWS:
        t = t.iloc[np.linspace(0, len(t) - 1, MAX_TABLE_ROWS).astype(int)]
    return t


def write_report(out_dir: str | Path, *, formats: tuple[str, ...] = REPORT_FORMATS,
                 parallel: bool = True) -> dict[str, Path]:
    """Write figures (PNG; ``formats`` adds SVG/PDF), report.md and report.html into ``out_dir``."""
    out = Path(out_dir)
    a = analyse(out)
    meta = a["meta"]
    figs = make_figures(a, out, formats=formats, parallel=parallel)
    spec_yaml = yaml.safe_dump(meta.get("spec", {}), sort_keys=False, default_flow_style=None)
    n_tot, n_err = a["counts"]["stored"], a["counts"]["failed"]
    objs_txt = ", ".join(f"{k} ({v})" for k, v in a["objectives"].items())
    note = published_note(meta)

    def summary_lines(esc: Any) -> list[str]:  # esc: how text from specs and results is made inert
        lines = [
            f"design points stored: **{n_tot:,}** ({n_err} failed), feasible under the constraints: "
            f"**{a['counts']['feasible']:,}**, on the Pareto front: **{len(a['front']):,}**",
            f"objectives: {esc(objs_txt)}",
            f"constraints: {esc(', '.join(map(str, meta.get('constraints', []))) or 'none')}",
            f"strategy: {esc(meta.get('strategy', {}).get('kind', 'grid'))}, engine: {esc(meta.get('engine', ''))}, "
            f"base accelerator: {esc(meta.get('base_arch', ''))}, tasim {esc(meta.get('tasim_version', ''))}",
            f"front: the {esc(front_description(a))}; figures name their own fronts (a 2-D panel shows "
            "the front of its pair of objectives)",
        ]
        if note:
            lines.append(esc(note))
        return lines

    summary = ["- " + s for s in summary_lines(lambda t: md_escape(t, at_line_start=False))]
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
    errs = a["errors"][[c for c in ("point_id", "model", "recipe", "error") if c in a["errors"]]].head(10) \
        if n_err else None

    md = [f"# Sweep report: {md_escape(meta.get('name', out.name))}", "",
          md_escape(meta.get("spec", {}).get("description", "")), "", "## Summary", "", *summary, ""]
    md += ["## Best point per objective", "", md_table(best_df) if len(best_df) else "(no feasible points)", ""]
    for key, title in (("pareto", "Pareto front"), ("matrix", "Pairwise objectives"),
                       ("parallel", "Parallel coordinates of the objectives"),
                       ("breakdown", "Latency and energy by op kind (front points)"),
                       ("heatmap", "Utilization over array shape"), ("accuracy", "Quality versus latency")):
        if key in figs:
            md += [f"## {title}", "", f"![{title}]({figs[key].name})", ""]
    md += [f"## Pareto front ({len(a['front'])} points{', sampled' if len(a['front']) > MAX_TABLE_ROWS else ''})",
           "", f"The {md_escape(front_description(a))}; values in display units (front.csv holds every front point).",
           "",
           md_table(table) if len(table) else "(empty)", ""]
    if errs is not None:
        md += ["## Failed design points", "", md_table(errs), ""]
    fence = md_fence(spec_yaml)
    md += ["## Spec", "", f"{fence}yaml", spec_yaml.rstrip(), fence, ""]
    (out / "report.md").write_text("\n".join(md))

    def img(p: Path) -> str:
        return f'<img alt="{p.stem}" src="data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}">'

    h = [f"<!doctype html><html><head><meta charset='utf-8'><title>tasim sweep: {html.escape(meta.get('name', ''))}"
         "</title><style>body{font-family:system-ui,sans-serif;max-width:1250px;margin:2em auto;padding:0 1em}"
         "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
         "img{max-width:100%}pre{background:#f6f6f6;padding:1em;overflow:auto}</style></head><body>",
         f"<h1>Sweep report: {html.escape(meta.get('name', out.name))}</h1>",
         f"<p>{html.escape(meta.get('spec', {}).get('description', ''))}</p><h2>Summary</h2><ul>"]
    h += [f"<li>{s.replace('**', '')}</li>" for s in summary_lines(lambda t: html.escape(str(t)))]
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
    table = df.to_html(index=False, float_format=_fmt, na_rep="–", border=0, escape=True)
    return f'<div style="overflow-x:auto">{table}</div>'  # wide fronts scroll instead of overflowing the page


def summary_text(out_dir: str | Path) -> str:
    """A few lines for ``tasim results``: counts, per-workload ranges of the objectives, best points."""
    a = analyse(out_dir)
    meta = a["meta"]
    c = a["counts"]
    lines = [f"{meta.get('name', Path(out_dir).name)}: {c['stored']:,} design points "
             f"({c['failed']} failed), {c['feasible']:,} feasible, {len(a['front']):,} on the "
             f"{front_description(a)}"]
    from simulator.metrics import get

    ranges = a["ranges"]
    if ranges is not None and len(ranges):
        shown = pd.DataFrame({(f"{get(col).header()}", stat): get(col).to_display(ranges[(col, stat)])
                              for col, stat in ranges.columns}, index=ranges.index)
        lines.append(shown.to_string(float_format=_fmt))
    for col, sense, r in a["best"]:
        m = get(col)
        axes = ", ".join(f"{c}={_fmt(r[c])}" for c in meta.get("axis_columns", []) if c in r)
        lines.append(f"best {m.label} ({sense}): {_fmt(m.to_display(float(r[col])))} {m.display_unit}  "
                     f"[{r.get('model', '')} {r.get('recipe', '')}; {axes}]")
    if c["failed"]:
        lines.append("errors (first 5):")
        for _, r in a["errors"].head(5).iterrows():
            lines.append(f"  {r['point_id']} {r.get('model', '')} {r.get('recipe', '')}: {r['error']}")
    return "\n".join(lines)


def meta_json(out_dir: str | Path) -> str:
    return json.dumps(Store(out_dir, create=False).read_meta(), indent=2)
