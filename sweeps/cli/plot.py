"""``tasim plot DIR --kind ...``: figures of a sweep (PNG and SVG)."""

from __future__ import annotations

import argparse

from sweeps.cli._common import check_output_file, helpfmt, output_path

KINDS = ("pareto", "matrix", "parallel", "breakdown", "heatmap", "accuracy", "report")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plot",
        help="plot a sweep: Pareto front, objective matrix, parallel coordinates, breakdown, heatmap, quality",
        description=(
            "Write PNG, SVG and PDF figures of a results directory (display units, unit in every label;\n"
            "one colour per value across panels). --kind report regenerates every figure plus report.md\n"
            "and report.html. Objectives may be any result column or an arithmetic expression of them."
        ),
        epilog=(
            "Examples:\n"
            "  tasim plot results/quickstart --kind pareto --x latency_s --y energy_pj --color pe.precision_mode\n"
            "  tasim plot results/quickstart --kind matrix --objectives latency_s,energy_pj,area_mm2\n"
            "  tasim plot results/quickstart --kind parallel --color array.shape\n"
            "  tasim plot results/quickstart --kind breakdown --mode log\n"
            "  tasim plot results/quickstart --kind heatmap --value utilization\n"
            "  tasim plot results/quickstart --kind breakdown --model bert-base\n"
            "  tasim plot results/quickstart --kind accuracy\n"
            "  tasim plot results/quickstart --kind report      # + SVG and PDF of every report figure"
        ),
        formatter_class=helpfmt(),
    )
    p.add_argument("dir", metavar="DIR", help="results directory")
    p.add_argument("--kind", choices=KINDS, default="pareto")
    p.add_argument("--x", default=None, help="pareto: x objective (default: the spec's first; COLUMN:max allowed)")
    p.add_argument("--y", default=None, help="pareto: y objective (default: the spec's second)")
    p.add_argument("--objectives", default=None, help="matrix: comma-separated objectives")
    p.add_argument("--color", default=None,
                   help="column that colours the front: any axis, recipe, model or array.shape (rows x cols); "
                        "default: the spec's color_by, else array.shape when rows and cols vary, else the first axis")
    p.add_argument("--mode", choices=["normalize", "log", "linear"], default="normalize",
                   help="breakdown: shares of each point's total (default), stacked on a log axis, or linear")
    p.add_argument("--quality", default=None, help="accuracy: the quality column (default accuracy_published if "
                                                   "any point has one, else fidelity_minilm)")
    p.add_argument("--value", default="utilization", help="heatmap: the column shown (best over other axes)")
    p.add_argument("--model", default=None, help="only this model's points")
    p.add_argument("--points", default=None, help="breakdown: comma-separated point_ids (default: the front)")
    p.add_argument("-o", "--out", default=None, metavar="STEM", type=output_path,
                   help="output path without suffix (default: DIR/KIND)")
    p.add_argument("--formats", default="png,svg,pdf", metavar="LIST",
                   help="figure files to write (default png,svg,pdf; `tasim sweep` writes the report's PNGs only, "
                        "`--kind report` here adds the vector versions)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from sweeps import plots
    from sweeps.pareto import check_numeric_columns, pareto_front, parse_objectives
    from sweeps.report import _color_axis, analyse, usable_objectives, with_metrics, write_report
    from workloads.errors import InputError, show_value

    formats = tuple(f".{f.strip().lstrip('.')}" for f in args.formats.split(",") if f.strip())
    bad = [f for f in formats if f not in (".png", ".svg", ".pdf")]
    if bad or not formats:
        raise InputError(f"{show_value(args.formats)} (allowed: a comma-separated list of png, svg, pdf)", key="--formats")
    if args.kind == "report":
        paths = write_report(args.dir, formats=formats)
        print(f"wrote {paths['html']} and {paths['md']}")
        return 0
    a = analyse(args.dir)  # feasible points (a uniform sample plus every front point on large sweeps)
    store, meta = a["store"], a["meta"]
    df = a["feasible"]
    if args.model:
        if args.model not in set(df["model"]):
            raise InputError(f"{show_value(args.model)} is not in this sweep (allowed: {', '.join(sorted(set(df['model'])))})",
                             key="--model")
        df = df[df["model"] == args.model]
    if len(df) == 0:
        raise InputError("no successfully simulated (and feasible) design points to plot", source=args.dir)
    wanted = dict(meta.get("objectives") or {})
    extra = [o for t in (args.x, args.y, args.objectives) if t for o in parse_objectives(t)]
    df = plots.with_shape(with_metrics(df, list(wanted) + extra))
    objs = usable_objectives(df, wanted)
    color = args.color or _color_axis(meta, df)
    if color is not None and color not in df.columns:
        raise InputError(f"unknown column {show_value(color)} (allowed: {plots.SHAPE}, recipe, model, "
                         f"{', '.join(meta.get('axis_columns', []))})", key="--color")
    stem = Path(args.out) if args.out else Path(args.dir) / args.kind
    check_output_file(f"{stem}.png", "-o")
    by = "model" if df["model"].nunique() > 1 else None
    if args.kind == "pareto":
        names = list(objs)
        x = parse_objectives(args.x) if args.x else {names[0]: objs[names[0]]}
        y = parse_objectives(args.y) if args.y else {names[1]: objs[names[1]]} if len(names) > 1 else {"energy_pj": "min"}
        if len(x) != 1 or len(y) != 1:
            raise InputError("give one column each (allowed: --x COLUMN[:max] --y COLUMN[:max])", key="--x")
        check_numeric_columns(df, [*x, *y], key="--x/--y")
        if set(x) == set(y):
            raise InputError(f"--x and --y are both {show_value(next(iter(x)))} (allowed: two different columns)",
                             key="--y")
        out = plots.plot_pareto(df, {**x, **y}, stem, color_by=color, formats=formats)
    elif args.kind in ("matrix", "parallel"):
        o = parse_objectives(args.objectives) if args.objectives else objs
        check_numeric_columns(df, o, key="--objectives")
        if len(o) < 2:
            raise InputError(f"a {args.kind} plot needs at least two columns (allowed: --objectives A,B[,C...])",
                             key="--objectives")
        draw = plots.plot_matrix if args.kind == "matrix" else plots.plot_parallel
        out = draw(df, o, stem, color_by=color, by=by, formats=formats)
    elif args.kind == "breakdown":
        if args.points:
            ids = [p.strip() for p in args.points.split(",")]
            unknown = [i for i in ids if i not in set(df["point_id"])]
            if unknown:
                raise InputError(f"{show_value(unknown[0])} is not a design point of this sweep (allowed: point_id "
                                 "values of `tasim pareto DIR --csv`)", key="--points")
        else:
            front = pareto_front(df, objs, by="model" if df["model"].nunique() > 1 else None)
            ids = front.sort_values(next(iter(objs)))["point_id"].tolist()[:12]
        out = plots.plot_breakdown(store.read(plots.BREAKDOWN_COLUMNS, point_ids=ids).to_pandas(), ids, stem, mode=args.mode,
                                   formats=formats)
    elif args.kind == "heatmap":
        check_numeric_columns(df, [args.value], key="--value")
        sense = objs.get(args.value, "max" if args.value in ("utilization", "tops_per_w", "tokens_per_s") else "min")
        out = plots.plot_heatmap(df, stem, value=args.value, sense=sense, formats=formats)
    else:
        q = args.quality or ("accuracy_published" if "accuracy_published" in df and df["accuracy_published"].notna().any()
                             else "fidelity_minilm")
        check_numeric_columns(df, [q], key="--quality")
        out = plots.plot_accuracy(df, stem, quality=q, formats=formats)
    print("wrote " + " and ".join(str(p) for p in out))
    return 0
