"""``tasim sweep``: run (or resume) a design-space sweep from a YAML spec, then write plots and a report."""

from __future__ import annotations

import argparse

from sweeps.cli._common import add_force_arg, check_output_dir, helpfmt, output_path, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep",
        help="run a design-space sweep from a YAML spec (resumable), write results, Pareto plot and report",
        description=(
            "Run every design point of a sweep spec (see docs/sweeps.md) and store tidy results in a\n"
            "Parquet dataset under -o DIR. Re-running the same command resumes: finished points are\n"
            "skipped. Afterwards DIR holds pareto.png/.svg, report.md, a self-contained report.html and\n"
            "the interactive explorer.html (see tasim explore)."
        ),
        epilog=(
            "Examples:\n"
            "  tasim sweep sweeps/specs/quickstart.yaml -o results/quickstart\n"
            "  tasim sweep sweeps/specs/llm-decode.yaml -o results/decode --workers 2\n"
            "  tasim sweep my.yaml -o results/big --dask-local 4\n"
            "  tasim sweep quickstart --workload minilm-traced.yaml -o results/minilm\n"
            "  tasim sweep my.yaml -o results/big --scheduler tls://127.0.0.1:8786 --security creds.yaml"
        ),
        formatter_class=helpfmt(),
    )
    p.add_argument("spec", help="sweep YAML file, or a shipped spec by name (quickstart, llm-decode)")
    p.add_argument("-o", "--out", required=True, metavar="DIR", type=output_path, help="results directory (created; resumed if present)")
    p.add_argument("--workers", type=positive_int, default=None, help="local worker processes (default: all cores)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--scheduler", metavar="ADDR",
                   help="run on a Dask scheduler: tls://HOST:PORT with --security FILE (or an unauthenticated tcp://)")
    g.add_argument("--dask-local", type=positive_int, metavar="N",
                   help="start a private Dask LocalCluster of N workers on 127.0.0.1 (TLS with temporary "
                        "credentials, no dashboard) and run on it")
    p.add_argument("--security", metavar="FILE", default=None,
                   help="with --scheduler: YAML naming PEM files ca_file, cert[, key] of this client")
    p.add_argument("--engine", choices=["analytical", "cycle"], default=None, help="override the spec's engine")
    p.add_argument("--workload", action="append", default=[], metavar="FILE",
                   help="workload file (traced/saved YAML, CSV, JSON, SCALE-Sim topology, model YAML), repeatable: "
                        "replaces the spec's models and files")
    p.add_argument("--no-report", action="store_true", help="skip plots, report and explorer page")
    p.add_argument("--no-explorer", action="store_true", help="skip the interactive explorer page")
    p.add_argument("--evaluator", metavar="NAME", default=None,
                   help="replace the simulator by an installed evaluator plugin (entry-point group tasim.evaluators); "
                        "specs never name code")
    add_force_arg(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sweeps.executors import make_executor
    from sweeps.runner import run_sweep
    from sweeps.spec import load_sweep

    check_output_dir(args.out)
    sweep = load_sweep(args.spec, workload_files=tuple(args.workload), evaluator=args.evaluator)  # validates everything before any work starts
    executor = make_executor(args.workers, args.scheduler, args.dask_local, args.security)
    try:
        summary = run_sweep(sweep, args.out, executor=executor, engine=args.engine,
                            progress=False if args.quiet else None)
    finally:
        executor.close()
    print(summary.line(), flush=True)
    if not args.no_report:
        from sweeps.report import write_report

        paths = write_report(args.out)
        plot = f"; Pareto plot: {paths['pareto']}" if paths["pareto"].exists() else "; no Pareto plot: no feasible points"
        print(f"report: {paths['html']}  (markdown: {paths['md']}{plot})")
        if not args.no_explorer:
            from sweeps.explorer import write_explorer
            from workloads.errors import InputError

            try:
                print(f"explorer: {write_explorer(args.out)}")
            except InputError as exc:  # e.g. every point failed: the sweep itself still succeeded
                print(f"no explorer page: {exc}")
    return 0
