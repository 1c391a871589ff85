"""``tasim validate``: every published silicon figure against the model (docs/validation.md)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sweeps.cli._common import helpfmt


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="compare the model with published silicon figures (TPUv1, A100, NVDLA, Horowitz, Bit Fusion, SpAtten)",
        description="Run every validation case (simulator/validation/cases.yaml) with the shipped design files and "
        "model defaults, and print case, quantity, published, predicted, error %%, tolerance, source and whether "
        "the figure was checked in its primary source. Exit status 1 when a case leaves its tolerance.",
        epilog="Examples:\n  tasim validate\n  tasim validate --format json\n  tasim validate -o out/  "
        "# also writes out/validation.png\n  tasim validate --family decode --family sparsity",
        formatter_class=helpfmt(),
    )
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    p.add_argument("-o", "--out", metavar="DIR", help="also write DIR/validation.png (predicted vs published)")
    p.add_argument("--family", action="append", default=[], metavar="NAME",
                   help="only cases of this family (repeatable): tpuv1, power, decode, sparsity, area, energy, "
                   "bitfusion, spatten")
    p.add_argument("--cases", metavar="FILE", help="a case file instead of the shipped one (same format)")
    p.set_defaults(func=run)


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.4g}"


def run(args: argparse.Namespace) -> int:
    from simulator.validation import load_cases, run_cases
    from sweeps.cli._common import print_json
    from workloads.errors import InputError

    cases = load_cases(args.cases)
    if args.family:
        known = sorted({c.family for c in cases})
        bad = [f for f in args.family if f not in known]
        if bad:
            raise InputError(f"{bad[0]!r} is not a case family (allowed: {', '.join(known)})", key="--family")
        cases = [c for c in cases if c.family in args.family]
    out_dir = Path(args.out) if args.out else None
    if out_dir is not None and out_dir.exists() and not out_dir.is_dir():
        raise InputError("exists and is not a folder", source=str(out_dir), key="-o")
    outcomes = run_cases(cases)
    rows = [o.row() for o in outcomes]
    if args.format == "json":
        print_json(rows)
    else:
        _print_table(outcomes)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        plot_validation(outcomes, out_dir / "validation.png")
        if args.format == "table":
            print(f"wrote {out_dir / 'validation.png'}")
    return 0 if all(o.passed is not False for o in outcomes) else 1


def _print_table(outcomes: list[Any]) -> None:
    from simulator.validation import summary

    head = ("case", "quantity", "unit", "published", "predicted", "error %", "tol %", "ok", "verified", "source")
    body = []
    for o in outcomes:
        c = o.case
        ok = "pending" if o.passed is None else ("yes" if o.passed else "NO")
        err = "-" if o.error_pct is None else f"{o.error_pct:+.1f}"
        src = c.source if len(c.source) <= 60 else c.source[:57] + "..."
        body.append((c.case, c.quantity if len(c.quantity) <= 48 else c.quantity[:45] + "...", c.unit,
                     _fmt(c.published), _fmt(o.predicted), err, f"{c.tolerance_pct:g}", ok,
                     "yes" if c.verified else "no", src))
    widths = [max(len(str(r[i])) for r in (head, *body)) for i in range(len(head))]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    for r in body:
        print("  ".join(str(v).ljust(w) for v, w in zip(r, widths)))
    s = summary(outcomes)
    print(f"\n{s['within_tolerance']}/{s['evaluated']} cases within tolerance ({s['pending']} pending), "
          f"median |error| {s['median_abs_error_pct']:.1f} %")
    for fam, med in s["family_median_abs_error_pct"].items():
        print(f"  {fam:<10} median |error| {med:5.1f} %   max {s['family_max_abs_error_pct'][fam]:5.1f} %")
    for o in outcomes:
        if o.case.pending:
            print(f"pending: {o.case.case}: {o.case.pending}")


def plot_validation(outcomes: list[Any], path: Path) -> None:
    """Predicted vs published on log-log axes, one marker per case family, with each case's tolerance
    band drawn as an error bar on the published value and the +-10 % / +-25 % bands around y = x."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    done = [o for o in outcomes if o.predicted is not None and o.predicted > 0]
    fig, ax = plt.subplots(figsize=(7.5, 6.5), dpi=120)
    if done:
        lo = min(min(o.case.published, o.predicted) for o in done) / 2
        hi = max(max(o.case.published, o.predicted) for o in done) * 2
    else:
        lo, hi = 0.01, 100.0
    x = np.geomspace(lo, hi, 50)
    ax.plot(x, x, color="black", lw=1, label="predicted = published")
    ax.fill_between(x, x * 0.9, x * 1.1, color="tab:green", alpha=0.15, label="±10 %")
    ax.fill_between(x, x * 0.75, x * 1.25, color="tab:green", alpha=0.07, label="±25 %")
    markers = "osD^v<>Ph*X"
    fams = list(dict.fromkeys(o.case.family for o in done))
    for i, fam in enumerate(fams):
        sel = [o for o in done if o.case.family == fam]
        pub = np.array([o.case.published for o in sel])
        pred = np.array([o.predicted for o in sel])
        tol = np.array([o.case.tolerance_pct for o in sel]) / 100.0
        ax.vlines(pub, pub * (1 - tol), pub * (1 + tol), colors=f"C{i}", alpha=0.35, lw=3)
        failed = [o.passed is False for o in sel]
        ax.scatter(pub, pred, marker=markers[i % len(markers)], color=f"C{i}", s=36, zorder=3,
                   label=f"{fam} ({len(sel)})", edgecolors=["red" if f else "none" for f in failed])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("published value (case unit: TOPS, W, tok/s, x, mm², pJ)")
    ax.set_ylabel("tasim prediction (same unit)")
    n_ok = sum(1 for o in done if o.passed)
    ax.set_title(f"tasim validate: {n_ok}/{len(done)} cases within tolerance\n"
                 "bars: each case's tolerance band around its published value")
    ax.grid(True, which="both", alpha=0.2)
    ax.legend(loc="upper left", fontsize=8, frameon=True)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
