"""``tasim compare``: the same workload on several accelerators, side by side, plus a breakdown PNG."""

from __future__ import annotations

import argparse
from typing import Any

from sweeps.cli._common import add_force_arg, check_output_file, helpfmt, output_path
from sweeps.cli.simulate import add_workload_args, build_from_args

# rows of the table, in order: metrics of the registry (simulator/metrics.py), shown in display units
ROWS: tuple[str, ...] = (
    "latency_s", "energy_pj", "area_mm2", "tops_per_w", "tops_per_mm2", "power_w", "effective_tops", "peak_tops",
    "utilization", "dram_bytes", "inferences_per_s", "energy_per_inference_mj", "tokens_per_s",
    "tokens_per_s_per_mm2", "energy_per_token_mj", "edp_pj_s",
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="compare accelerators on one workload: table with ratios and a breakdown PNG",
        description="Simulate the same workload on two or more accelerators; print a side-by-side table with "
                    "ratios against the first, and optionally write a PNG of per-op-kind latency and energy.",
        epilog=(
            "Examples:\n"
            "  tasim compare tpuv1 hbm-128 sparse-2of4 --model bert-base --compress nm-2of4+w8a8 -o cmp.png\n"
            "  tasim compare hbm-128 hbm-llm --model llama2-7b --phase decode --context 1024 --new-tokens 64\n"
            "  tasim compare edge-32 my_design.yaml --set tech.node_nm=16 --model distilbert\n"
            "  tasim compare tpuv1 edge-32 --workload minilm-traced.yaml"
        ),
        formatter_class=helpfmt(),
    )
    p.add_argument("archs", nargs="+", metavar="ARCH", help="two or more shipped names or YAML files")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                   help="override applied to every accelerator, repeatable")
    add_workload_args(p)
    p.add_argument("-o", "--output", default=None, metavar="PNG", type=output_path, help="write the breakdown figure here")
    add_force_arg(p)
    p.add_argument("--json", action="store_true", help="print the totals of every accelerator as JSON")
    p.set_defaults(func=run)


def comparison_table(results: list[Any]) -> str:
    names = [r.arch for r in results]
    header = ["metric"] + names + [f"{n}/{names[0]}" for n in names[1:]]
    rows = [header]
    from simulator.metrics import get

    for key in ROWS:
        vals = [r.totals.get(key) for r in results]
        if all(v is None for v in vals):
            continue
        m = get(key)
        cells = [m.header()] + [f"{m.to_display(v):.4g}" if v is not None else "-" for v in vals]
        base = vals[0]
        for v in vals[1:]:
            cells.append(f"{v / base:.3g}x" if (v is not None and base) else "-")
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def breakdown_figure(results: list[Any], path: str, title: str) -> None:
    """Stacked bars: latency by op kind, energy by op kind, energy by component."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = [r.arch for r in results]
    kinds_tables = [r.by_kind() for r in results]
    kinds: list[str] = []
    for t in kinds_tables:
        for k in t["kind"]:
            if k not in kinds:
                kinds.append(k)
    from simulator.metrics import get

    ml, me = get("latency_s"), get("energy_pj")
    lat = np.array([[ml.to_display(float(t.loc[t["kind"] == k, "latency_s"].sum())) for k in kinds] for t in kinds_tables])
    en = np.array([[me.to_display(float(t.loc[t["kind"] == k, "energy_pj"].sum())) for k in kinds] for t in kinds_tables])
    comps = list(results[0].totals["energy_breakdown_pj"])
    ec = np.array([[me.to_display(r.totals["energy_breakdown_pj"][c]) for c in comps] for r in results])
    cmap = plt.get_cmap("tab20")
    fig, axes = plt.subplots(1, 3, figsize=(max(12.0, 6.0 + 1.8 * len(names)), 5.2))
    x = np.arange(len(names))
    for ax, data, labels, ylabel, ttl in (
        (axes[0], lat, kinds, ml.header(), "latency by op kind"),
        (axes[1], en, kinds, me.header(), "energy by op kind"),
        (axes[2], ec, comps, me.header(), "energy by component"),
    ):
        bottom = np.zeros(len(names))
        for j, lab in enumerate(labels):
            ax.bar(x, data[:, j], bottom=bottom, color=cmap(j % 20), label=lab, width=0.6)
            bottom += data[:, j]
        ax.set_xticks(x, names, rotation=20, ha="right")
        ax.set_ylabel(ylabel)
        ax.set_title(ttl)
        ax.grid(axis="y", alpha=0.3)
    axes[1].legend(fontsize=7, ncol=1, loc="upper left", bbox_to_anchor=(1.0, 1.0), title="op kind", title_fontsize=8)
    axes[2].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), title="component", title_fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    from simulator.arch import load_arch
    from simulator.run import simulate
    from sweeps.cli._common import print_json
    from workloads.errors import InputError

    if len(args.archs) < 2:
        raise InputError("give at least two accelerators to compare", key="ARCH")
    if args.output:
        check_output_file(args.output)
    archs = [load_arch(a, args.overrides) for a in args.archs]
    wl = build_from_args(args)
    results = [simulate(wl, a, engine=args.engine) for a in archs]
    if args.json:
        print_json({r.arch: r.to_dict()["totals"] for r in results})
    else:
        print(f"workload: {wl.name}" + (f" ({wl.recipe})" if getattr(wl, "recipe", "") else ""))
        print(comparison_table(results))
    if args.output:
        breakdown_figure(results, args.output, f"{wl.name}" + (f" + {wl.recipe}" if wl.recipe else ""))
        print(f"wrote {args.output}")
    return 0
