"""``tasim gemm``: one GEMM on one accelerator."""

from __future__ import annotations

import argparse

from sweeps.cli._common import (
    add_arch_args,
    add_force_arg,
    check_output_dir,
    helpfmt,
    load_arch_from_args,
    output_path,
    positive_int,
    print_json,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "gemm",
        help="simulate one GEMM C(MxN) = A(MxK) . B(KxN) on an accelerator",
        description="Simulate one GEMM on an accelerator and print its latency, energy (by component), cycles,\n"
                    "utilization and traffic. The last line is tasim's own run time, not the GEMM's.",
        epilog=(
            "Examples:\n"
            "  tasim gemm --arch edge-32 --m 128 --n 3072 --k 768\n"
            "  tasim gemm --arch tpuv1 --m 512 --n 1024 --k 1024 --timing scalesim --json\n"
            "  tasim gemm --arch gemmini --set array.dataflow=os --m 64 --n 64 --k 64\n"
            "  tasim gemm --arch edge-32 --m 128 --n 3072 --k 768 --engine cycle --set dram.bandwidth_gbps=4\n"
            "  tasim gemm --arch edge-32 --m 64 --n 64 --k 64 --engine cycle --trace traces/ --a-bytes 0.5\n"
            "\n"
            "--trace DIR (cycle engine) writes IFMAP/FILTER/OFMAP_SRAM_TRACE.csv (cycle, address per port,\n"
            "-1 idle) and DRAM_TRACE.csv (start_cycle, end_cycle, operand, direction, bytes), streamed in chunks."
        ),
        formatter_class=helpfmt(),
    )
    add_arch_args(p)
    p.add_argument("--m", type=positive_int, required=True, help="rows of A and C")
    p.add_argument("--n", type=positive_int, required=True, help="columns of B and C")
    p.add_argument("--k", type=positive_int, required=True, help="reduction dimension")
    p.add_argument("--timing", choices=["default", "scalesim"], default=None, help="timing model (default: the arch's)")
    p.add_argument("--engine", choices=["analytical", "cycle"], default="analytical")
    p.add_argument("--a-bytes", type=_pos_float, default=1.0, help="bytes per element of A (ifmap), e.g. 0.5 for int4")
    p.add_argument("--b-bytes", type=_pos_float, default=1.0, help="bytes per element of B (filter)")
    p.add_argument("--out-bytes", type=_pos_float, default=1.0, help="bytes per element of C (ofmap, partial sums)")
    p.add_argument("--trace", metavar="DIR", default=None, type=output_path, help="stream per-cycle SRAM/DRAM trace CSVs to DIR (cycle engine)")
    add_force_arg(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def _pos_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"{value} is out of range (allowed: > 0)")
    return value


def run(args: argparse.Namespace) -> int:
    from sweeps.cli._common import one_shot

    one_shot(args.engine if not args.trace else "cycle")
    from simulator.gemm import run_gemm

    if args.trace:
        check_output_dir(args.trace, "--trace")
    arch = load_arch_from_args(args)
    res = run_gemm(arch, args.m, args.n, args.k, engine=args.engine, timing=args.timing, a_bytes=args.a_bytes,
                   b_bytes=args.b_bytes, out_bytes=args.out_bytes, trace_dir=args.trace)
    if args.json:
        print_json(res)
        return 0
    from simulator.metrics import get

    lat, en = get("latency_s"), get("energy_pj")
    e_tot = res["energy_pj"] or 1.0
    rows = [
        ("arch", f"{res['arch']} ({arch.array.rows}x{arch.array.cols} {res['dataflow']}, {res['timing']} timing)"),
        ("gemm", f"M={args.m} N={args.n} K={args.k}  ({res['macs']:,} MACs, {res['folds']} folds)"),
        ("latency", f"{lat.to_display(res['latency_s']):.6g} {lat.display_unit} at {arch.array.freq_mhz:g} MHz"),
        ("energy", f"{en.to_display(res['energy_pj']):.6g} {en.display_unit}  (" + ", ".join(
            f"{k} {100 * v / e_tot:.1f}%" for k, v in res["energy_breakdown_pj"].items() if v > 0) + ")"),
        ("compute cycles", f"{res['compute_cycles']:,}"),
        ("stall cycles", f"{res['stall_cycles']:,}"),
        ("total cycles", f"{res['total_cycles']:,}"),
        ("utilization", f"{100 * res['utilization']:.2f} %"),
        ("mapping efficiency", f"{100 * res['mapping_efficiency']:.2f} %"),
        ("SRAM reads", ", ".join(f"{k} {v:,}" for k, v in res["sram_reads"].items())),
        ("SRAM writes", ", ".join(f"{k} {v:,}" for k, v in res["sram_writes"].items())),
        ("DRAM read bytes", ", ".join(f"{k} {v:,}" for k, v in res["dram_read_bytes"].items())),
        ("DRAM write bytes", ", ".join(f"{k} {v:,}" for k, v in res["dram_write_bytes"].items())),
        ("peak buffer bytes", ", ".join(f"{k} {v:,}" for k, v in res["peak_buffer_bytes"].items())),
        ("engine", f"{res['engine']}"),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    print(f"\n(tasim's own run time for this simulation: {res['elapsed_s'] * 1e3:.1f} ms of wall clock)")
    return 0
