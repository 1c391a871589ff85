"""``tasim pareto DIR --objectives ...``: the non-dominated design points of a sweep."""

from __future__ import annotations

import argparse

from sweeps.cli._common import helpfmt


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pareto",
        help="print the Pareto front of a results directory over chosen objectives",
        description=(
            "Non-dominated design points over any result columns. Objectives are minimised unless\n"
            "written COLUMN:max (or -COLUMN). Constraints of the sweep spec apply unless --all."
        ),
        epilog=(
            "Examples:\n"
            "  tasim pareto results/quickstart --objectives latency_s,energy_pj\n"
            "  tasim pareto results/quickstart --objectives latency_s,area_mm2,fidelity_minilm:max --by model\n"
            "  tasim pareto results/decode --objectives 'tokens_per_s:max,energy_per_token_mj,area_mm2'\n"
            "  tasim pareto results/decode --objectives 'energy_pj / new_tokens,latency_s'\n"
            "  tasim pareto results/decode --objectives tokens_per_s:max,area_mm2 --csv > front.csv"
        ),
        formatter_class=helpfmt(),
    )
    p.add_argument("dir", metavar="DIR", help="results directory")
    p.add_argument("--objectives", default=None,
                   help="comma-separated columns, COLUMN:max to maximise (default: the spec's objectives)")
    p.add_argument("--by", default=None, help="comma-separated columns: one front per group (e.g. model)")
    p.add_argument("--all", action="store_true", help="ignore the spec's constraints")
    p.add_argument("--hypervolume", action="store_true", help="also print each front's hypervolume")
    p.add_argument("--csv", action="store_true", help="print the front as CSV (display units, unit in each header)")
    p.add_argument("--raw", action="store_true", help="with --csv: stored units (s, pJ, ...) and bare column names")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    import pandas as pd

    from simulator.metrics import display_frame
    from sweeps.pareto import default_reference, hypervolume, pareto_front, parse_objectives
    from sweeps.report import feasible, usable_objectives, with_metrics
    from sweeps.store import Store
    from workloads.errors import InputError

    store = Store(args.dir, create=False)
    meta = store.read_meta()
    df = store.read(None, totals=True, ok_only=True).to_pandas()  # total rows only (no op-kind rows)
    if not args.all:
        df = feasible(df, meta.get("constraints", []))
    objs = parse_objectives(args.objectives) if args.objectives else dict(meta.get("objectives") or {})
    df = with_metrics(df, list(objs))
    objs = objs if args.objectives else usable_objectives(df, objs)
    if len(df) == 0 or not objs:
        raise InputError("no successfully simulated (and feasible) design points to rank", source=args.dir)
    by = [b.strip() for b in args.by.split(",")] if args.by else None
    front = pareto_front(df, objs, by=by)
    axes = [c for c in meta.get("axis_columns", []) if c in front.columns]
    cols = list(dict.fromkeys((by or []) + ["model", "seq_len", "phase", "recipe"] + axes + list(objs)))
    cols = [c for c in cols if c in front.columns]
    if args.csv:
        out = front[cols + ["point_id"]] if args.raw else display_frame(front, cols + ["point_id"])
        out.to_csv(sys.stdout, index=False)
        return 0
    with pd.option_context("display.max_rows", 200, "display.width", 200, "display.float_format", "{:.4g}".format):
        print(display_frame(front, cols).to_string(index=False))
    print(f"{len(front)} of {len(df)} design points are non-dominated over "
          + ", ".join(f"{c} ({s})" for c, s in objs.items()))
    if args.hypervolume:
        front = with_metrics(front, list(objs))
        vals = with_metrics(df, list(objs))[list(objs)].to_numpy(dtype=float)
        ref = default_reference(vals, list(objs.values()))
        groups = front.groupby(by) if by else [("all", front)]
        for name, g in groups:
            name = ", ".join(map(str, name)) if isinstance(name, tuple) else name
            hv = hypervolume(g[list(objs)].to_numpy(dtype=float), ref, list(objs.values()))
            print(f"hypervolume {name}: {hv:.6g} (reference point {', '.join(f'{r:.4g}' for r in ref)})")
    return 0
