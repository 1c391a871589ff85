"""``tasim results DIR``: summarise a sweep's results directory."""

from __future__ import annotations

import argparse

from sweeps.cli._common import helpfmt


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "results",
        help="summarise a sweep results directory (points, errors, objective ranges, best points)",
        description="Print a summary of a results directory written by `tasim sweep`.",
        epilog=(
            "Examples:\n"
            "  tasim results results/quickstart\n"
            "  tasim results results/quickstart --csv > all_points.csv   # one row per design point"
        ),
        formatter_class=helpfmt(),
    )
    p.add_argument("dir", metavar="DIR", help="results directory")
    p.add_argument("--csv", action="store_true", help="print the per-point totals as CSV instead")
    p.add_argument("--all-rows", action="store_true", help="with --csv: include the per-op-kind rows too")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from sweeps.report import summary_text
    from sweeps.store import load

    if args.csv:
        df = load(args.dir)
        if not args.all_rows:
            df = df[df["row"] == "total"]
        df.to_csv(sys.stdout, index=False)
        return 0
    print(summary_text(args.dir))
    return 0
