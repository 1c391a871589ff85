"""``tasim scalesim``: run a SCALE-Sim 3.0.0 cfg + topology and write SCALE-Sim's reports."""

from __future__ import annotations

import argparse

from sweeps.cli._common import add_force_arg, check_output_dir, helpfmt, output_path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "scalesim",
        help="run a SCALE-Sim 3.0.0 cfg + topology, write COMPUTE/BANDWIDTH/DETAILED_ACCESS reports",
        description=(
            "Read a SCALE-Sim 3.0.0 (or v2-style) .cfg and a conv or GEMM topology CSV, simulate every\n"
            "layer with tasim and write OUTDIR/<run_name>/COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and\n"
            "DETAILED_ACCESS_REPORT.csv (plus SPARSE_REPORT.csv with sparsity) in SCALE-Sim's format.\n"
            "With --timing scalesim (the default here) Total Cycles, Stall Cycles, Overall Util %,\n"
            "Mapping Efficiency %, Compute Util % and the SRAM columns equal SCALE-Sim's for stall-free\n"
            "(InterfaceBandwidth = CALC) runs; see docs/scalesim.md."
        ),
        epilog=(
            "Examples (the shipped example files live in simulator/scalesim/examples/):\n"
            "  tasim scalesim -c simulator/scalesim/examples/scale.cfg \\\n"
            "      -t simulator/scalesim/examples/bert_base_layer_gemm.csv -i gemm -p results/scalesim\n"
            "  tasim scalesim -c simulator/scalesim/examples/scale.cfg \\\n"
            "      -t simulator/scalesim/examples/conv_small.csv -p results/scalesim --timing default\n"
            "  tasim scalesim --example -p results/scalesim     # the BERT-base example, no paths needed"
        ),
        formatter_class=helpfmt(),
    )
    p.add_argument("-c", dest="cfg", metavar="CFG", help="SCALE-Sim .cfg file")
    p.add_argument("-t", dest="topology", metavar="TOPOLOGY", help="topology CSV (conv rows, or GEMM rows with -i gemm); default: the cfg's TopologyCsvLoc")
    p.add_argument("-l", dest="layout", metavar="LAYOUT", default=None,
                   help="layout CSV (validated; does not change the compute figures)")
    p.add_argument("-p", dest="outdir", metavar="OUTDIR", required=True, type=output_path, help="report folder (OUTDIR/<run_name>/)")
    p.add_argument("-i", dest="input_type", choices=["gemm", "conv"], default="conv",
                   help="topology kind: conv (SCALE-Sim's default) or gemm (name, M, N, K rows)")
    p.add_argument("--engine", choices=["analytical", "cycle"], default="analytical",
                   help="tasim engine (default: analytical)")
    p.add_argument("--timing", choices=["scalesim", "default"], default="scalesim",
                   help="scalesim: SCALE-Sim 3.0.0's counting (default here); default: tasim's real-array model")
    p.add_argument("--example", action="store_true",
                   help="use the shipped example cfg and BERT-base GEMM topology (overrides -c/-t/-i)")
    add_force_arg(p)
    p.add_argument("--quiet", action="store_true", help="print only the report folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sweeps.cli._common import one_shot

    one_shot(args.engine)
    from simulator.scalesim import run_scalesim
    from workloads.errors import InputError

    if args.example:
        from simulator.scalesim import example_path

        args.cfg, args.topology, args.input_type = example_path("scale.cfg"), example_path(
            "bert_base_layer_gemm.csv"), "gemm"
    check_output_dir(args.outdir, "-p")
    if not args.cfg:
        raise InputError("missing (allowed: a SCALE-Sim .cfg file, or --example)", key="-c")
    res = run_scalesim(args.cfg, args.topology, args.outdir, input_type=args.input_type, layout_path=args.layout,
                       engine=args.engine, timing=args.timing)
    if not args.quiet:
        a = res.arch.array
        print(f"{res.cfg.run_name}: {a.rows}x{a.cols} {a.dataflow.upper()}, {len(res.layers)} layers, "
              f"{args.timing} timing, {args.engine} engine, simulated in {res.elapsed_s * 1e3:.2f} ms")
        width = max(len(layer.name) for layer in res.layers)
        print(f"  {'layer':<{width}}  {'M':>7} {'N':>7} {'K':>7}  {'total cycles':>14}  {'util %':>7}  {'map eff %':>9}")
        for layer, row in zip(res.layers, res.rows):
            print(f"  {layer.name:<{width}}  {row['gemm_m']:>7} {row['gemm_n']:>7} {row['gemm_k_eff']:>7}  "
                  f"{row['Total Cycles']:>14,}  {row['Overall Util %']:>7.2f}  {row['Mapping Efficiency %']:>9.2f}")
        print(f"  total {sum(r['Total Cycles'] for r in res.rows):,} cycles")
    print(f"reports: {res.report_dir}")
    return 0
