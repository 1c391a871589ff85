"""Figures of a sweep (matplotlib, Agg backend; each saved as PNG and SVG).

* ``pareto``    objective y versus x, every point in grey, the front coloured by an axis, with its
                staircase; one panel per model.
* ``matrix``    pairwise scatter of all objectives, front highlighted.
* ``breakdown`` stacked latency and energy by op kind for chosen points (default: the front).
* ``heatmap``   a figure (default utilization) over array rows x cols (best over the other axes).
* ``accuracy``  fidelity proxy (accuracy) versus latency, one colour per compression recipe.

Axes switch to log scale when the values span more than a decade. Background points are rasterised
so the SVGs stay small with 10,000+ points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import LogNorm, Normalize  # noqa: E402

from sweeps.pareto import pareto_front  # noqa: E402

KINDS = ("pareto", "matrix", "breakdown", "heatmap", "accuracy")
LABELS = {
    "latency_s": "latency (s)", "energy_pj": "energy (pJ)", "area_mm2": "area (mm²)", "edp_pj_s": "EDP (pJ·s)",
    "tokens_per_s": "tokens/s", "inferences_per_s": "inferences/s", "power_w": "power (W)",
    "tops_per_w": "TOPS/W", "utilization": "array utilization (0..1)", "accuracy": "accuracy (MiniLM fidelity, cosine)",
    "cycles": "cycles", "dram_bytes": "DRAM traffic (bytes)", "array.rows": "array rows", "array.cols": "array cols",
}


def label(col: str, sense: str | None = None) -> str:
    text = LABELS.get(col, col)
    return f"{text}  [{'lower' if sense == 'min' else 'higher'} is better]" if sense else text


def _spans_decades(v: pd.Series | np.ndarray) -> bool:
    v = np.asarray(v, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    return len(v) > 1 and v.max() / v.min() > 20 and (np.asarray(v) > 0).all()


def save(fig: plt.Figure, stem: str | Path) -> list[Path]:
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    fig.savefig(out[0], dpi=130, bbox_inches="tight")
    fig.savefig(out[1], bbox_inches="tight")
    plt.close(fig)
    return out


def _colours(values: pd.Series) -> tuple[np.ndarray, object, dict]:
    """(RGBA per row, a mappable or None, legend handles {label: colour}) for categorical or numeric values."""
    vals = values.to_numpy()
    numeric = pd.api.types.is_numeric_dtype(values) and values.nunique() > 8
    if numeric:
        v = values.astype(float).to_numpy()
        norm = LogNorm(np.nanmin(v), np.nanmax(v)) if _spans_decades(v) else Normalize(np.nanmin(v), np.nanmax(v))
        cmap = plt.get_cmap("viridis")
        sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
        return sm.to_rgba(v), sm, {}
    cats = list(dict.fromkeys(sorted(pd.unique(vals), key=lambda x: (str(type(x)), x))))
    cmap = plt.get_cmap("tab10" if len(cats) <= 10 else "tab20")
    lut = {c: cmap(i % cmap.N) for i, c in enumerate(cats)}
    return np.array([lut[x] for x in vals]), None, lut


def _steps(x_sense: str) -> str:
    """Staircase of a front sorted by x: the boundary between x_i and x_i+1 sits at y_i when x is
    minimised (best y among points at least as good in x) and at y_i+1 when x is maximised."""
    return "steps-post" if x_sense == "min" else "steps-pre"


def _scale(ax: plt.Axes, x: pd.Series, y: pd.Series) -> None:
    if _spans_decades(x):
        ax.set_xscale("log")
        _log_ticks(ax.xaxis, x)
    if _spans_decades(y):
        ax.set_yscale("log")
        _log_ticks(ax.yaxis, y)


def _log_ticks(axis: object, values: pd.Series) -> None:
    """Log axis tick labels: decades only when the data span >= 2.5 decades, else also 2x and 5x."""
    from matplotlib.ticker import LogFormatterSciNotation, LogLocator, NullFormatter

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if len(v) and np.log10(v.max() / v.min()) < 2.5:
        axis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
        axis.set_minor_formatter(LogFormatterSciNotation(labelOnlyBase=False, minor_thresholds=(10, 10)))
    else:
        axis.set_minor_formatter(NullFormatter())


def plot_pareto(
    df: pd.DataFrame,
    objectives: Mapping[str, str],
    stem: str | Path,
    *,
    color_by: str | None = None,
    facet: str | None = "model",
    title: str = "",
) -> list[Path]:
    """Scatter of the first two objectives with the Pareto staircase, front coloured by ``color_by``."""
    (x, sx), (y, sy) = list(objectives.items())[:2]
    d = df.dropna(subset=[x, y])
    groups = [(None, d)] if not facet or facet not in d or d[facet].nunique() <= 1 else list(d.groupby(facet, sort=True))
    n = len(groups)
    fig, axes = plt.subplots(1, n, figsize=(6.2 * n, 5.0), squeeze=False)
    color_by = color_by if color_by in d.columns else None
    for ax, (name, g) in zip(axes[0], groups):
        ax.scatter(g[x], g[y], s=5, c="0.75", alpha=0.5, lw=0, rasterized=True, label=f"all points ({len(g):,})")
        front = pareto_front(g, {x: sx, y: sy}).sort_values(x)
        ax.plot(front[x], front[y], drawstyle=_steps(sx), color="k", lw=1.2, zorder=3, label="Pareto front")
        if color_by:
            rgba, sm, lut = _colours(front[color_by])
            ax.scatter(front[x], front[y], s=38, c=rgba, edgecolors="k", linewidths=0.6, zorder=4)
            if sm is not None:
                fig.colorbar(sm, ax=ax, label=label(color_by))
            else:
                for cat, col in lut.items():
                    ax.scatter([], [], s=38, color=col, edgecolors="k", linewidths=0.6, label=f"{color_by} = {cat}")
        else:
            ax.scatter(front[x], front[y], s=38, c="tab:red", edgecolors="k", linewidths=0.6, zorder=4)
        _scale(ax, g[x], g[y])
        ax.set_xlabel(label(x, sx))
        ax.set_ylabel(label(y, sy))
        ax.grid(True, which="major", alpha=0.3)
        ax.set_title(f"{name} — {len(front)} Pareto points" if name is not None else f"{len(front)} Pareto points")
        ax.legend(fontsize=8, loc="best", framealpha=0.85)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save(fig, stem)


def plot_matrix(df: pd.DataFrame, objectives: Mapping[str, str], stem: str | Path, *, color_by: str | None = None) -> list[Path]:
    """Pairwise objective scatter matrix (front points coloured, the rest grey; histograms on the diagonal)."""
    cols = [c for c in objectives if c in df.columns]
    d = df.dropna(subset=cols)
    k = len(cols)
    fig, axes = plt.subplots(k, k, figsize=(2.9 * k + 1, 2.9 * k), squeeze=False)
    front = pareto_front(d, {c: objectives[c] for c in cols})
    lut: dict = {}
    if color_by in d.columns:
        rgba, _, lut = _colours(front[color_by])
    else:
        rgba = "tab:red"
    for i, yc in enumerate(cols):
        for j, xc in enumerate(cols):
            ax = axes[i, j]
            if i == j:
                v = d[xc].astype(float)
                if _spans_decades(v):
                    ax.hist(np.log10(v[v > 0]), bins=40, color="0.5")
                    ax.set_title(f"histogram of log10 {label(xc)}", fontsize=8)
                else:
                    ax.hist(v, bins=40, color="0.5")
                    ax.set_title(f"histogram of {label(xc)}", fontsize=8)
                ax.set_yticks([])
            else:
                ax.scatter(d[xc], d[yc], s=3, c="0.75", lw=0, alpha=0.5, rasterized=True)
                ax.scatter(front[xc], front[yc], s=12, c=rgba, edgecolors="k", linewidths=0.3)
                _scale(ax, d[xc], d[yc])
                ax.set_xlabel(label(xc), fontsize=8)
                ax.set_ylabel(label(yc), fontsize=8)
            ax.tick_params(labelsize=7)
    if lut:
        handles = [plt.Line2D([], [], marker="o", ls="", color=c, markeredgecolor="k", label=f"{color_by} = {k}")
                   for k, c in lut.items()]
        handles.append(plt.Line2D([], [], marker="o", ls="", color="0.75", label="not on the front"))
        fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    fig.suptitle(f"pairwise objectives: {len(d):,} points, {len(front)} on the {k}-objective front"
                 + (f" (coloured by {color_by})" if color_by in d.columns else ""))
    fig.tight_layout()
    return save(fig, stem)


def plot_breakdown(df_all: pd.DataFrame, point_ids: Sequence[str], stem: str | Path, *, max_points: int = 16) -> list[Path]:
    """Stacked latency and energy by op kind for the given design points (at most ``max_points``)."""
    ids = list(dict.fromkeys(point_ids))[:max_points]
    tot = df_all[(df_all["row"] == "total") & df_all["point_id"].isin(ids)].set_index("point_id")
    kinds = df_all[(df_all["row"] == "op_kind") & df_all["point_id"].isin(ids)]
    ids = [i for i in ids if i in tot.index]
    fig, axes = plt.subplots(1, 2, figsize=(max(9, 0.75 * len(ids) + 6), 5.2))
    for ax, metric, unit in ((axes[0], "latency_s", "latency (s)"), (axes[1], "energy_pj", "energy (pJ)")):
        if metric not in kinds.columns or not ids:
            ax.set_axis_off()
            continue
        piv = kinds.pivot_table(index="point_id", columns="op_kind", values=metric, aggfunc="sum").reindex(ids).fillna(0)
        piv = piv[piv.sum().sort_values(ascending=False).index]
        bottom = np.zeros(len(piv))
        cmap = plt.get_cmap("tab20")
        for i, kind in enumerate(piv.columns):
            ax.bar(range(len(piv)), piv[kind].to_numpy(), bottom=bottom, color=cmap(i % 20), label=kind, width=0.8)
            bottom += piv[kind].to_numpy()
        ax.set_xticks(range(len(piv)))
        ax.set_xticklabels([_point_label(tot.loc[i]) for i in ids], rotation=60, ha="right", fontsize=7)
        ax.set_ylabel(unit)
        ax.set_title(f"{metric.split('_')[0]} by op kind")
        ax.grid(True, axis="y", alpha=0.3)
    handles, labels_ = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels_, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, title="op kind")
    fig.tight_layout()
    return save(fig, stem)


def _point_label(row: pd.Series) -> str:
    parts = [str(row.get("model", ""))]
    if pd.notna(row.get("array.rows")):
        parts.append(f"{int(row['array.rows'])}x{int(row['array.cols'])}")
    for c in ("pe.precision_mode", "recipe"):
        if c in row and pd.notna(row[c]):
            parts.append(str(row[c]))
    return " ".join(p for p in parts if p)


def plot_heatmap(df: pd.DataFrame, stem: str | Path, *, value: str = "utilization", sense: str = "max",
                 facet: str | None = "model") -> list[Path]:
    """``value`` over array rows x cols (best over every other axis), one panel per ``facet`` value."""
    d = df.dropna(subset=[value, "array.rows", "array.cols"])
    groups = [(None, d)] if not facet or facet not in d or d[facet].nunique() <= 1 else list(d.groupby(facet))
    fig, axes = plt.subplots(1, len(groups), figsize=(5.4 * len(groups), 4.6), squeeze=False)
    for ax, (name, g) in zip(axes[0], groups):
        piv = g.pivot_table(index="array.rows", columns="array.cols", values=value,
                            aggfunc="max" if sense == "max" else "min").sort_index().sort_index(axis=1)
        data = piv.to_numpy(dtype=float)
        norm = LogNorm() if _spans_decades(data.ravel()) else None
        im = ax.imshow(data, origin="lower", cmap="viridis", norm=norm, aspect="auto")
        ax.set_xticks(range(piv.shape[1]), [str(int(c)) for c in piv.columns])
        ax.set_yticks(range(piv.shape[0]), [str(int(r)) for r in piv.index])
        ax.set_xlabel("array cols (W)")
        ax.set_ylabel("array rows (H)")
        if data.size <= 100:
            for (i, j), v in np.ndenumerate(data):
                if np.isfinite(v):
                    ax.text(j, i, f"{v:.2g}", ha="center", va="center", fontsize=7,
                            color="w" if (norm is None and v < np.nanmean(data)) else "k")
        fig.colorbar(im, ax=ax, label=f"{label(value)} ({'best' if sense else ''} over other axes)")
        ax.set_title(f"{name}" if name is not None else value)
    fig.tight_layout()
    return save(fig, stem)


def plot_accuracy(df: pd.DataFrame, stem: str | Path, *, x: str = "latency_s", facet: str | None = "model") -> list[Path]:
    """Accuracy (fidelity proxy) versus latency: every point per recipe, the per-recipe best marked."""
    d = df.dropna(subset=[x, "accuracy"]) if "accuracy" in df else df.iloc[0:0]
    groups = [(None, d)] if not facet or facet not in d or d[facet].nunique() <= 1 else list(d.groupby(facet))
    fig, axes = plt.subplots(1, max(1, len(groups)), figsize=(6.2 * max(1, len(groups)), 4.8), squeeze=False)
    for ax, (name, g) in zip(axes[0], groups):
        if g.empty:
            ax.text(0.5, 0.5, "no accuracy figures (recipes without a measured fidelity)", ha="center",
                    transform=ax.transAxes)
            continue
        rgba, _, lut = _colours(g["recipe"])
        ax.scatter(g[x], g["accuracy"], s=6, c=rgba, alpha=0.35, lw=0, rasterized=True)
        best = g.loc[g.groupby("recipe")[x].idxmin()]
        for _, r in best.iterrows():
            ax.scatter([r[x]], [r["accuracy"]], s=80, color=lut[r["recipe"]], edgecolors="k", zorder=4,
                       label=f"{r['recipe']}: fastest {r[x]:.3g} s")
        front = pareto_front(g, {x: "min", "accuracy": "max"}).sort_values(x)
        ax.plot(front[x], front["accuracy"], drawstyle=_steps("min"), color="k", lw=1, label="Pareto front")
        _scale(ax, g[x], g["accuracy"])
        ax.set_xlabel(label(x, "min"))
        ax.set_ylabel(label("accuracy", "max"))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="center right", framealpha=0.9)
        ax.set_title(f"{name}: accuracy vs latency per recipe" if name is not None else "accuracy vs latency per recipe")
    fig.tight_layout()
    return save(fig, stem)
