"""Figures of a sweep (matplotlib, Agg backend; each saved as PNG, SVG and PDF).

* ``pareto``    objective y versus x, every point in grey, the 2-objective front of (x, y) coloured,
                with its staircase; one panel per model.
* ``matrix``    pairwise scatter of all objectives; the k-objective front highlighted.
* ``parallel``  parallel coordinates of 3+ objectives: one line per design point of the k-objective
                front, coloured, over the other points in grey.
* ``breakdown`` latency and energy by op kind for chosen points (default: the front), as shares of
                each point's total (``normalize``, totals written on the bars) or stacked on a log axis.
* ``heatmap``   a figure (default utilization) over array rows x cols (best over the other axes).
* ``accuracy``  a quality column (``fidelity_minilm`` or ``accuracy_published``) versus latency, one
                colour per recipe.

Conventions (what a reader of a paper figure needs):
* values are shown in display units with the unit in the label (simulator/metrics.py): ms, mJ, mm²;
* one colour per value of the colouring column across every panel of a figure and across the report's
  figures (:func:`colour_table` is computed once from all points); categories are sorted naturally,
  array shapes (``array.shape`` = ``rows x cols``) by PE count;
* every title says which front it shows (which objectives, per model or pooled) and how many points;
* axes switch to log scale when values span more than 20x, with at most ~6 labelled ticks written as
  plain numbers; coincident front points are drawn as concentric rings so none hides another.
Background points are rasterised so the vector files stay small with 10,000+ points.
Each figure is laid out once (:func:`fit`: ``tight_layout``, a legend in a right margin of its own) and
drawn once per file, without ``bbox_inches='tight'`` (which lays it out and draws it once more).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import LogNorm, Normalize  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter, NullLocator  # noqa: E402

from sweeps.pareto import pareto_front  # noqa: E402

KINDS = ("pareto", "matrix", "parallel", "breakdown", "heatmap", "accuracy")
FORMATS = (".png", ".svg", ".pdf")
SHAPE = "array.shape"  # synthetic colouring column: 'rows x cols'
# the matrix's small panels: at most ~5 labelled ticks per linear axis, minor log ticks at 2x and 5x
# (readable at 3 inches, and every tick is an artist that costs time to lay out and draw)
MATRIX_TICKS = 5
MATRIX_MINOR = (2.0, 5.0)


def label(col: str, sense: str | None = None) -> str:
    """Axis label of a column in display units (from the metric registry, simulator/metrics.py)."""
    from simulator.metrics import axis_label

    if col == SHAPE:
        return "array shape (rows x cols)"
    return axis_label(col, sense)


def shown(df: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    """A copy of ``df`` whose metric columns among ``cols`` are scaled to their display units
    (column names unchanged; fronts are unchanged by the positive scale)."""
    from simulator.metrics import METRICS, get

    out = df.copy()
    for c in dict.fromkeys(cols):
        if c in out.columns and (c in METRICS or c.startswith(("energy_", "area_"))) and \
                pd.api.types.is_numeric_dtype(out[c]):
            out[c] = get(c).to_display(out[c].astype(float))
    return out


def with_shape(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` plus the ``array.shape`` column ('64x256') when it has array rows and cols."""
    if SHAPE in df.columns or not {"array.rows", "array.cols"} <= set(df.columns):
        return df
    out = df.copy()
    r, c = out["array.rows"], out["array.cols"]
    out[SHAPE] = [f"{int(a)}x{int(b)}" if pd.notna(a) and pd.notna(b) else "" for a, b in zip(r, c)]
    return out


def _spans_decades(v: pd.Series | np.ndarray) -> bool:
    v = np.asarray(v, dtype=float)
    v = v[np.isfinite(v)]
    return len(v) > 1 and bool((v > 0).all()) and v.max() / v.min() > 20


def save(fig: plt.Figure, stem: str | Path, formats: Sequence[str] = FORMATS, *, tight: bool = True) -> list[Path]:
    """Write the figure as PNG (first), SVG and PDF next to ``stem``; ``tight=False`` when :func:`fit`
    has laid it out (``bbox_inches="tight"`` lays the figure out once more before drawing it)."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = [stem.with_suffix(f) for f in formats]
    for p in out:
        fig.savefig(p, dpi=130, bbox_inches="tight" if tight else None)
    plt.close(fig)
    return out


def legend_cols(fig: plt.Figure, entries: int, fontsize: float = 8, share: float = 0.8) -> int:
    """Columns for a legend of ``entries`` lines beside the axes, so that it stays within ``share`` of
    the figure's height (a legend taller than the figure would be cut off: :func:`fit` writes the
    canvas as it is)."""
    line_in = fontsize * 1.75 / 72  # one entry with its spacing, inches
    return max(1, math.ceil((entries + 2) * line_in / (share * fig.get_figheight())))  # + title


def fit(fig: plt.Figure, legend: Any = None, *, at_top: bool = False) -> None:
    """Lay the figure out once so that it can be written in one draw (``save(..., tight=False)``):
    ``tight_layout`` over its axes; a ``legend`` (a figure legend with ``loc='... left'``) gets a
    margin of its own at the right: the figure is widened by the legend's width (the axes keep their
    size) and the legend moved into that margin, at the height it was anchored at or, ``at_top``,
    level with the top of the axes."""
    if legend is None:
        fig.tight_layout()
    else:
        pad = 0.08  # inches between the axes' labels and the legend, and after the legend
        anchor = legend.get_bbox_to_anchor().transformed(fig.transFigure.inverted())
        axes_w = fig.get_figwidth()
        legend_w = legend.get_window_extent(fig.canvas.get_renderer()).width / fig.dpi + 2 * pad
        fig.set_figwidth(axes_w + legend_w)
        fig.tight_layout(rect=(0, 0, axes_w / (axes_w + legend_w), 1))
        y = max(ax.get_position().y1 for ax in fig.axes) if at_top else anchor.y0 + anchor.height / 2
        legend.set_bbox_to_anchor(((axes_w + pad) / (axes_w + legend_w), y), transform=fig.transFigure)
    # tight_layout leaves a placeholder layout engine behind, and savefig lays out (draws without
    # rendering) every figure that has one before drawing it: the layout is done, so none
    fig.set_layout_engine(None)


# ---- colours ---------------------------------------------------------------------------------------


def _natural_key(x: Any) -> tuple:
    if isinstance(x, str) and "x" in x and x.replace("x", "").isdigit():
        r, c = (int(p) for p in x.split("x"))
        return (0, r * c, r, "")
    if isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool):
        return (0, float(x), 0, "")
    return (1, 0, 0, str(x))


class ColourTable:
    """One colour per value of a column, fixed for a whole figure (all panels) or report."""

    def __init__(self, column: str, values: pd.Series) -> None:
        self.column = column
        v = values.dropna()
        self.numeric = bool(pd.api.types.is_numeric_dtype(v) and v.nunique() > 10)
        self.lut: dict[Any, Any] = {}
        self.mappable: Any = None
        if self.numeric:
            f = v.astype(float).to_numpy()
            norm = LogNorm(f.min(), f.max()) if _spans_decades(f) else Normalize(f.min(), f.max())
            self.mappable = plt.cm.ScalarMappable(norm=norm, cmap=plt.get_cmap("viridis"))
        else:
            cats = sorted(pd.unique(v), key=_natural_key)
            cmap = plt.get_cmap("tab10" if len(cats) <= 10 else "tab20")
            self.lut = {c: cmap(i % cmap.N) for i, c in enumerate(cats)}

    def rgba(self, values: pd.Series) -> np.ndarray:
        if self.numeric:
            return self.mappable.to_rgba(values.astype(float).to_numpy())
        return np.array([self.lut.get(x, (0.5, 0.5, 0.5, 1.0)) for x in values]).reshape(-1, 4)

    def legend(self, ax: Any, present: Sequence[Any] | None = None, **kw: Any) -> Any:
        """Legend entries for the categories (those in ``present`` when given) on ``ax`` (an axes or
        a figure), or a colour bar next to the axes ``ax``. Returns the legend (None for a colour bar)."""
        if self.numeric:
            plt.colorbar(self.mappable, ax=ax, label=label(self.column))
            return None
        keep = set(present) if present is not None else set(self.lut)
        handles = [plt.Line2D([], [], marker="o", ls="", color=c, markeredgecolor="k", label=str(k))
                   for k, c in self.lut.items() if k in keep]
        fig = ax if isinstance(ax, plt.Figure) else ax.figure
        kw.setdefault("ncols", legend_cols(fig, len(handles), kw.get("fontsize", 10)))
        return ax.legend(handles=handles, title=label(self.column), **kw)


def colour_table(df: pd.DataFrame, column: str | None) -> ColourTable | None:
    if not column or column not in df.columns:
        return None
    return ColourTable(column, df[column])


# ---- axes ------------------------------------------------------------------------------------------


def _plain(v: float, _pos: Any = None) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    if 1e3 <= a < 1e5:  # ".3g" would write 1000 as "1e+03"
        return f"{v:,.0f}"
    if 1e-3 <= a < 1e3:
        return f"{v:.3g}"
    return f"{v:.0e}".replace("e+0", "e").replace("e-0", "e-")


def _scale(ax: plt.Axes, x: Any, y: Any, *, max_labels: int = 6, minor: Sequence[float] | None = None) -> None:
    for axis, v, setter in ((ax.xaxis, x, ax.set_xscale), (ax.yaxis, y, ax.set_yscale)):
        if v is not None and _spans_decades(v):
            setter("log")
            _log_ticks(axis, v, max_labels, minor=minor)


def _log_ticks(axis: Any, values: Any, max_labels: int = 6, *, minor: Sequence[float] | None = None) -> None:
    """Readable log ticks: plain numbers, decades (plus 2x and 5x when the span is under ~2 decades),
    never more than ``max_labels`` labels; unlabelled minor ticks at ``minor`` x each decade (default:
    2..9), none between 1-2-5 major ticks."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    span = np.log10(v.max() / v.min()) if len(v) else 3.0
    if span < 1.8:
        axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0), numticks=max_labels))
        if minor is not None:
            axis.set_minor_locator(NullLocator())
    else:
        axis.set_major_locator(LogLocator(numticks=max_labels))
        if minor is not None:
            axis.set_minor_locator(LogLocator(subs=tuple(minor), numticks=12))
    axis.set_major_formatter(FuncFormatter(_plain))
    axis.set_minor_formatter(NullFormatter())


def _steps(x_sense: str) -> str:
    """Staircase of a front sorted by x: the boundary between x_i and x_i+1 sits at y_i when x is
    minimised (best y among points at least as good in x) and at y_i+1 when x is maximised."""
    return "steps-post" if x_sense == "min" else "steps-pre"


def short(col: str) -> str:
    """The metric's label without unit ('energy per token'); the column name for other columns."""
    from simulator.metrics import METRICS, canonical

    m = METRICS.get(canonical(col))
    return m.label if m is not None else col


def _rings(ax: plt.Axes, x: np.ndarray, y: np.ndarray, colours: np.ndarray, size: float = 40) -> None:
    """Front markers; points at the same place are drawn as concentric rings (largest first)."""
    key = pd.Series(list(zip(np.round(x, 12), np.round(y, 12))))
    rank = key.groupby(key).cumcount().to_numpy()
    sizes = size * (1.0 + 1.3 * rank)
    idx = np.argsort(-sizes, kind="stable")
    ax.scatter(x[idx], y[idx], s=sizes[idx], c=colours[idx], edgecolors="k", linewidths=0.6, zorder=4)


# ---- figures ---------------------------------------------------------------------------------------


def _groups(d: pd.DataFrame, facet: str | None) -> list[tuple[Any, pd.DataFrame]]:
    if not facet or facet not in d or d[facet].nunique() <= 1:
        return [(None, d)]
    return list(d.groupby(facet, sort=True))


def plot_pareto(
    df: pd.DataFrame,
    objectives: Mapping[str, str],
    stem: str | Path,
    *,
    color_by: str | None = None,
    facet: str | None = "model",
    title: str = "",
    formats: Sequence[str] = FORMATS,
) -> list[Path]:
    """Scatter of the first two objectives with the Pareto staircase of that pair, front coloured by
    ``color_by`` (one colour per value across the panels)."""
    (x, sx), (y, sy) = list(objectives.items())[:2]
    d = shown(with_shape(df).dropna(subset=[x, y]), [x, y] + ([color_by] if color_by else []))
    groups = _groups(d, facet)
    n = len(groups)
    fig, axes = plt.subplots(1, n, figsize=(6.4 * n, 5.2), squeeze=False)
    colours = colour_table(d, color_by)
    on_front: list = []
    for ax, (name, g) in zip(axes[0], groups):
        ax.scatter(g[x], g[y], s=5, c="0.75", alpha=0.5, lw=0, rasterized=True, label=f"all points ({len(g):,})")
        front = pareto_front(g, {x: sx, y: sy}).sort_values(x)
        if colours:
            on_front += list(front[color_by].dropna())
        ax.plot(front[x], front[y], drawstyle=_steps(sx), color="k", lw=1.2, zorder=3, label="Pareto front")
        rgba = colours.rgba(front[color_by]) if colours else np.tile(matplotlib.colors.to_rgba("tab:red"), (len(front), 1))
        _rings(ax, front[x].to_numpy(float), front[y].to_numpy(float), rgba)
        _scale(ax, g[x], g[y])
        ax.set_xlabel(label(x, sx))
        ax.set_ylabel(label(y, sy))
        ax.grid(True, which="major", alpha=0.3)
        ax.set_title(("" if name is None else f"{name}\n") + f"front of this pair: {len(front)} points", fontsize=10)
        ax.legend(fontsize=8, loc="lower right" if sy == "max" else "upper right", framealpha=0.85)
    legend = None
    if colours and colours.numeric:
        colours.legend(axes[0, -1])
    elif colours:  # the values on some panel's front, in the colours every panel uses
        legend = colours.legend(fig, list(dict.fromkeys(on_front)), fontsize=8, loc="upper left",
                                bbox_to_anchor=(1.0, 1.0), title_fontsize=8)
    per = facet if n > 1 else None
    fig.suptitle((f"{title}\n" if title else "") + f"2-objective Pareto front of {short(x)} ({sx}) vs "
                 f"{short(y)} ({sy}), " + (f"one per {per}" if per else "pooled"), fontsize=11)
    fit(fig, legend, at_top=True)
    return save(fig, stem, formats, tight=False)


def plot_matrix(df: pd.DataFrame, objectives: Mapping[str, str], stem: str | Path, *, color_by: str | None = None,
                formats: Sequence[str] = FORMATS, by: str | Sequence[str] | None = None) -> list[Path]:
    """Pairwise objective scatter matrix: the k-objective front (per ``by`` group when given) coloured,
    the rest grey; histograms on the diagonal."""
    cols = [c for c in objectives if c in df.columns]
    d = shown(with_shape(df).dropna(subset=cols), cols)
    k = len(cols)
    fig, axes = plt.subplots(k, k, figsize=(3.1 * k + 1, 3.0 * k), squeeze=False)
    front = pareto_front(d, {c: objectives[c] for c in cols}, by=by)
    colours = colour_table(d, color_by)
    rgba = colours.rgba(front[color_by]) if colours else "tab:red"
    for i, yc in enumerate(cols):
        for j, xc in enumerate(cols):
            ax = axes[i, j]
            if i == j:
                v = d[xc].astype(float)
                # one filled outline, not 40 bars (same picture: the bars have no edges and touch)
                if _spans_decades(v):
                    ax.hist(v, bins=np.geomspace(v.min(), v.max(), 40), color="0.5", histtype="stepfilled")
                    ax.set_xscale("log")
                    _log_ticks(ax.xaxis, v, 4, minor=MATRIX_MINOR)
                else:
                    ax.hist(v, bins=40, color="0.5", histtype="stepfilled")
                    ax.xaxis.set_major_locator(MaxNLocator(MATRIX_TICKS, steps=[1, 2, 2.5, 5, 10]))
                ax.set_title(f"histogram: {label(xc)}", fontsize=8)
                ax.set_yticks([])
            else:
                ax.scatter(d[xc], d[yc], s=3, c="0.75", lw=0, alpha=0.5, rasterized=True)
                ax.scatter(front[xc], front[yc], s=12, c=rgba, edgecolors="k", linewidths=0.3)
                _scale(ax, d[xc], d[yc], max_labels=4, minor=MATRIX_MINOR)
                for axis, v in ((ax.xaxis, d[xc]), (ax.yaxis, d[yc])):
                    if not _spans_decades(v):
                        axis.set_major_locator(MaxNLocator(MATRIX_TICKS, steps=[1, 2, 2.5, 5, 10]))
            if i == k - 1:
                ax.set_xlabel(label(xc), fontsize=8)
            if j == (1 if i == 0 else 0) and i != j:
                ax.set_ylabel(label(yc), fontsize=8)
            ax.tick_params(labelsize=7)
            plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
    scope = f"per {', '.join([by] if isinstance(by, str) else by)}" if by else "pooled"
    fig.suptitle(f"{len(d):,} design points; coloured: the {k}-objective Pareto front ({scope}) of "
                 + ", ".join(f"{short(c)} ({objectives[c]})" for c in cols) + f", {len(front)} points", fontsize=10)
    return _finish(fig, stem, formats, colours, front)


def _finish(fig: plt.Figure, stem: str | Path, formats: Sequence[str], colours: ColourTable | None,
            front: pd.DataFrame) -> list[Path]:
    """Legend of the front's colours at the right, layout, files: a category legend gets its own margin
    (:func:`fit`, one draw per file); a colour bar takes its room from the axes (laid out as before)."""
    if colours is not None and colours.numeric:
        fig.tight_layout()
        _fig_legend(fig, colours, front)
        return save(fig, stem, formats)
    fit(fig, _fig_legend(fig, colours, front) if colours is not None else None)
    return save(fig, stem, formats, tight=False)


def _fig_legend(fig: plt.Figure, colours: ColourTable, front: pd.DataFrame) -> Any:
    if colours.numeric:
        fig.colorbar(colours.mappable, ax=fig.axes, label=label(colours.column), shrink=0.6)
        return None
    present = set(pd.unique(front[colours.column].dropna()))
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, markeredgecolor="k", label=str(k))
               for k, c in colours.lut.items() if k in present]
    handles.append(plt.Line2D([], [], marker="o", ls="", color="0.75", label="not on the front"))
    return fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8,
                      title=label(colours.column), title_fontsize=8, ncols=legend_cols(fig, len(handles)))


def plot_parallel(df: pd.DataFrame, objectives: Mapping[str, str], stem: str | Path, *, color_by: str | None = None,
                  by: str | Sequence[str] | None = None, max_background: int = 2000,
                  formats: Sequence[str] = FORMATS) -> list[Path]:
    """Parallel coordinates of k >= 2 objectives: each axis in display units (log where values span
    more than 20x), oriented so that up is better; front lines coloured, other points grey."""
    cols = [c for c in objectives if c in df.columns]
    d = shown(with_shape(df).dropna(subset=cols), cols).reset_index(drop=True)
    front = pareto_front(d, {c: objectives[c] for c in cols}, by=by)
    k = len(cols)
    z = np.zeros((len(d), k))
    ticks = []
    for j, c in enumerate(cols):
        v = d[c].to_numpy(float)
        log = _spans_decades(v)
        t = np.log10(v) if log else v
        lo, hi = float(np.nanmin(t)), float(np.nanmax(t))
        span = hi - lo if hi > lo else 1.0
        u = (t - lo) / span
        if objectives[c] == "min":  # up is better
            u = 1.0 - u
        z[:, j] = u
        vals = [lo + f * span for f in (0.0, 0.5, 1.0)]
        shown_vals = [10 ** x if log else x for x in vals]
        pos = [1.0 - f if objectives[c] == "min" else f for f in (0.0, 0.5, 1.0)]
        ticks.append((pos, [_plain(s) for s in shown_vals], log))
    fig, ax = plt.subplots(figsize=(2.2 * k + 3, 5.0))
    xs = np.arange(k)
    rest = np.setdiff1d(np.arange(len(d)), front.index.to_numpy())
    if len(rest) > max_background:
        rest = np.random.default_rng(0).choice(rest, max_background, replace=False)
    from matplotlib.collections import LineCollection

    # one collection per layer (not one artist per point): same picture, a fraction of the drawing time
    if len(rest):
        ax.add_collection(LineCollection([np.column_stack([xs, z[i]]) for i in rest], colors="0.8", linewidths=0.4,
                                         alpha=0.5, rasterized=True))
    colours = colour_table(d, color_by)
    rgba = colours.rgba(front[color_by]) if colours else np.tile(matplotlib.colors.to_rgba("tab:red"), (len(front), 1))
    if len(front):
        rgba = np.array(rgba, dtype=float)
        rgba[:, 3] = 0.9
        ax.add_collection(LineCollection([np.column_stack([xs, z[i]]) for i in front.index], colors=rgba,
                                         linewidths=1.4))
    for j, (pos, labels_, _log) in enumerate(ticks):
        ax.axvline(j, color="k", lw=0.8)
        for p, t in zip(pos, labels_):
            ax.text(j + 0.04, p, t, fontsize=7, va="center")
    ax.set_xticks(xs, [label(c) + ("\n(log)" if ticks[j][2] else "") + f"\n{objectives[c]}" for j, c in enumerate(cols)],
                  fontsize=8)
    ax.set_yticks([])
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlim(-0.2, k - 0.6)
    ax.set_ylabel("better  →")
    scope = f"per {', '.join([by] if isinstance(by, str) else by)}" if by else "pooled"
    ax.set_title(f"{k}-objective Pareto front ({scope}): {len(front)} of {len(d):,} points coloured", fontsize=10)
    return _finish(fig, stem, formats, colours, front)


# the stored columns plot_breakdown reads (rows of the chosen points: totals for labels, op kinds for bars)
BREAKDOWN_COLUMNS = ["point_id", "row", "op_kind", "latency_s", "energy_pj", "model", "array.rows", "array.cols",
                     "pe.precision_mode", "recipe"]


def plot_breakdown(df_all: pd.DataFrame, point_ids: Sequence[str], stem: str | Path, *, max_points: int = 16,
                   mode: str = "normalize", title: str = "", formats: Sequence[str] = FORMATS) -> list[Path]:
    """Latency and energy by op kind for the given design points (at most ``max_points``).

    ``mode='normalize'``: each bar is 100 % of its point's total (the total is written above the bar),
    so fast designs are as readable as slow ones; ``mode='log'``: stacked absolute values on a log axis
    (each segment's height in decades is proportional to its share); ``mode='linear'``: stacked absolute."""
    from simulator.metrics import get

    ids = list(dict.fromkeys(point_ids))[:max_points]
    tot = df_all[(df_all["row"] == "total") & df_all["point_id"].isin(ids)].set_index("point_id")
    kinds = df_all[(df_all["row"] == "op_kind") & df_all["point_id"].isin(ids)]
    ids = [i for i in ids if i in tot.index]
    fig, axes = plt.subplots(1, 2, figsize=(max(9, 0.75 * len(ids) + 6), 5.4))
    all_kinds = list(kinds.groupby("op_kind")["energy_pj"].sum().sort_values(ascending=False).index) \
        if "energy_pj" in kinds else []
    cmap = plt.get_cmap("tab20")
    kind_colour = {kd: cmap(i % 20) for i, kd in enumerate(all_kinds)}
    for ax, metric in ((axes[0], "latency_s"), (axes[1], "energy_pj")):
        if metric not in kinds.columns or not ids:
            ax.set_axis_off()
            continue
        m = get(metric)
        piv = kinds.pivot_table(index="point_id", columns="op_kind", values=metric, aggfunc="sum")
        piv = piv.reindex(ids).reindex(columns=all_kinds).fillna(0.0) * m.scale
        totals = piv.sum(axis=1).to_numpy()
        data = piv.div(np.where(totals > 0, totals, 1.0), axis=0) * 100 if mode == "normalize" else piv
        bottom = np.zeros(len(data))
        for kd in data.columns:
            vals = data[kd].to_numpy()
            ax.bar(range(len(data)), vals, bottom=bottom, color=kind_colour[kd], label=kd, width=0.8)
            bottom += vals
        if mode == "normalize":
            ax.set_ylim(0, 112)
            for i, t in enumerate(totals):
                ax.text(i, 101, _plain(t), ha="center", va="bottom", fontsize=6, rotation=90)
            ax.set_ylabel(f"share of each point's {m.label} (%)\n(total in {m.display_unit} above each bar)")
        else:
            if mode == "log":
                ax.set_yscale("log")
                pos = piv.to_numpy()[piv.to_numpy() > 0]
                if len(pos):
                    ax.set_ylim(pos.min() * 0.5, totals.max() * 2)
            ax.set_ylabel(m.header())
        ax.set_xticks(range(len(data)))
        ax.set_xticklabels([_point_label(tot.loc[i]) for i in ids], rotation=60, ha="right", fontsize=7)
        ax.set_title(f"{m.label} by op kind" + (" (normalised)" if mode == "normalize" else f" ({mode})"))
        ax.grid(True, axis="y", alpha=0.3)
    handles, labels_ = axes[0].get_legend_handles_labels()
    legend = fig.legend(handles, labels_, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8,
                        title="op kind", ncols=legend_cols(fig, len(handles))) if handles else None
    if title:
        fig.suptitle(title, fontsize=10)
    fit(fig, legend)
    return save(fig, stem, formats, tight=False)


def _point_label(row: pd.Series) -> str:
    parts = [str(row.get("model", ""))]
    if pd.notna(row.get("array.rows")):
        parts.append(f"{int(row['array.rows'])}x{int(row['array.cols'])}")
    for c in ("pe.precision_mode", "recipe"):
        if c in row and pd.notna(row[c]):
            parts.append(str(row[c]))
    return " ".join(p for p in parts if p)


def plot_heatmap(df: pd.DataFrame, stem: str | Path, *, value: str = "utilization", sense: str = "max",
                 facet: str | None = "model", formats: Sequence[str] = FORMATS) -> list[Path]:
    """``value`` over array rows x cols (best over every other axis), one panel per ``facet`` value."""
    d = shown(df.dropna(subset=[value, "array.rows", "array.cols"]), [value])
    groups = _groups(d, facet)
    fig, axes = plt.subplots(1, len(groups), figsize=(5.4 * len(groups), 4.6), squeeze=False)
    for ax, (name, g) in zip(axes[0], groups):
        piv = g.pivot_table(index="array.rows", columns="array.cols", values=value,
                            aggfunc="max" if sense == "max" else "min").sort_index().sort_index(axis=1)
        data = piv.to_numpy(dtype=float)
        norm = LogNorm() if _spans_decades(data.ravel()[np.isfinite(data.ravel())]) else None
        im = ax.imshow(data, origin="lower", cmap="viridis", norm=norm, aspect="auto")
        ax.set_xticks(range(piv.shape[1]), [str(int(c)) for c in piv.columns])
        ax.set_yticks(range(piv.shape[0]), [str(int(r)) for r in piv.index])
        ax.set_xlabel("array cols (W)")
        ax.set_ylabel("array rows (H)")
        if data.size <= 100:
            for (i, j), v in np.ndenumerate(data):
                if np.isfinite(v):
                    ax.text(j, i, _plain(float(f"{v:.2g}")), ha="center", va="center", fontsize=7,
                            color="w" if (norm is None and v < np.nanmean(data)) else "k")
        fig.colorbar(im, ax=ax, label=f"{label(value)}, {'best' if sense else ''} over other axes")
        ax.set_title(f"{name}" if name is not None else label(value))
    fit(fig)
    return save(fig, stem, formats, tight=False)


def plot_accuracy(df: pd.DataFrame, stem: str | Path, *, x: str = "latency_s", quality: str = "fidelity_minilm",
                  facet: str | None = "model", formats: Sequence[str] = FORMATS) -> list[Path]:
    """A quality column versus latency: every point per recipe, the per-recipe fastest marked, the
    2-objective front of (x min, quality max)."""
    d = shown(df.dropna(subset=[x, quality]), [x, quality]) if quality in df else df.iloc[0:0]
    groups = _groups(d, facet) if len(d) else [(None, d)]
    fig, axes = plt.subplots(1, len(groups), figsize=(6.4 * len(groups), 4.8), squeeze=False)
    colours = colour_table(d, "recipe") if len(d) else None
    for ax, (name, g) in zip(axes[0], groups):
        if g.empty or colours is None:
            ax.text(0.5, 0.5, f"no {label(quality)} figures for these points", ha="center", transform=ax.transAxes)
            ax.set_axis_off()
            continue
        ax.scatter(g[x], g[quality], s=6, c=colours.rgba(g["recipe"]), alpha=0.35, lw=0, rasterized=True)
        best = g.loc[g.groupby("recipe")[x].idxmin()]
        for _, r in best.iterrows():
            ax.scatter([r[x]], [r[quality]], s=80, color=colours.lut[r["recipe"]], edgecolors="k", zorder=4,
                       label=f"{r['recipe']}: fastest {_plain(r[x])}")
        front = pareto_front(g, {x: "min", quality: "max"}).sort_values(x)
        ax.plot(front[x], front[quality], drawstyle=_steps("min"), color="k", lw=1,
                label=f"front of this pair ({len(front)})")
        _scale(ax, g[x], None)
        ax.set_xlabel(label(x, "min"))
        ax.set_ylabel(label(quality, "max"))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="lower right", framealpha=0.9)
        ax.set_title(("" if name is None else f"{name}: ") + f"{label(quality)} vs {label(x)}", fontsize=10)
    fit(fig)
    return save(fig, stem, formats, tight=False)
