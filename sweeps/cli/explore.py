"""``tasim explore DIR [-o FILE]``: the interactive explorer page of a sweep (one self-contained HTML file)."""

from __future__ import annotations

import argparse

from sweeps.cli._common import helpfmt, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explore",
        help="write an interactive, self-contained HTML explorer of a sweep (scatter, front, filters, compare)",
        description=(
            "Write one self-contained HTML page (no network access when viewed: plotly.js, script, style\n"
            "and data are inline) to explore a results directory: a scatter of any two objectives with\n"
            "their Pareto front, colour by any axis, hover/click/compare design points, filters per axis\n"
            "and objective, parallel coordinates with brushing and a sortable front table (CSV export).\n"
            "`tasim sweep` writes DIR/explorer.html by default. See docs/explorer.md."
        ),
        epilog=(
            "Examples:\n"
            "  tasim explore results/quickstart\n"
            "  tasim explore results/quickstart -o /tmp/quickstart-explorer.html\n"
            "  tasim explore results/quickstart --metrics cycles,tops_per_mm2,'energy_pj / seq_len'"
        ),
        formatter_class=helpfmt(),
    )
    p.add_argument("dir", metavar="DIR", help="results directory (written by tasim sweep)")
    p.add_argument("-o", "--out", default=None, metavar="FILE", help="output HTML file (default: DIR/explorer.html)")
    p.add_argument("--metrics", default=None, metavar="LIST",
                   help="comma-separated extra result columns or expressions for the objective menu "
                        "(the spec's objectives and the common metrics are always there)")
    p.add_argument("--max-points", type=positive_int, default=None, metavar="N",
                   help="at most this many design points on the page (default 250,000: up to ~50 MB); a larger "
                        "sweep shows every point of the Pareto fronts of its objectives plus a uniform sample")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sweeps.explorer import MAX_POINTS, write_explorer
    from sweeps.pareto import split_top_level

    metrics = [m.strip() for m in split_top_level(args.metrics) if m.strip()] if args.metrics else None
    path = write_explorer(args.dir, args.out, metrics, args.max_points or MAX_POINTS)
    print(f"explorer: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0
