"""``tasim simulate``: one transformer workload on one accelerator (totals + per-op table)."""

from __future__ import annotations

import argparse
import io
import sys
from typing import Any

from sweeps.cli._common import (
    add_arch_args,
    add_force_arg,
    helpfmt,
    load_arch_from_args,
    output_path,
    positive_int,
    strict_json,
    write_text_atomic,
)


def add_workload_args(p: argparse.ArgumentParser) -> None:
    """Model, shape, phase and compression arguments shared by ``simulate`` and ``compare``."""
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="zoo model (see `tasim models`), a Hugging Face id of one (bert-base-uncased, "
                                     "meta-llama/Llama-2-7b-hf) or a model YAML file")
    src.add_argument("--workload", metavar="FILE",
                     help="a workload file: traced or saved YAML/CSV/JSON (`tasim trace --out`), a SCALE-Sim "
                          "topology CSV, or a model YAML; fixed workloads keep their own shapes")
    p.add_argument("--seq-len", type=positive_int, default=None, help="sequence length (prefill; default 128)")
    p.add_argument("--batch", type=positive_int, default=1, help="batch size (default 1)")
    p.add_argument("--phase", choices=["prefill", "decode"], default="prefill")
    p.add_argument("--context", type=int, default=None, help="decode: tokens already in the KV cache")
    p.add_argument("--new-tokens", type=positive_int, default=1, help="decode: tokens generated (default 1)")
    p.add_argument("--image-size", type=positive_int, default=None, help="vision models: image size in pixels")
    p.add_argument("--compress", default=None, metavar="RECIPE",
                   help="compression recipe name or YAML file, '+'-joined to compose (e.g. nm-2of4+w8a8)")
    p.add_argument("--engine", choices=["analytical", "cycle"], default="analytical")


def build_from_args(args: argparse.Namespace) -> Any:
    from workloads.files import build_from_source

    return build_from_source(args.workload or args.model, seq_len=args.seq_len, batch=args.batch, phase=args.phase,
                             context=args.context, new_tokens=args.new_tokens, image_size=args.image_size,
                             recipe=args.compress)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate",
        help="simulate a transformer workload on an accelerator (latency, energy, area)",
        description="Simulate a whole transformer (GEMMs on the array, softmax/norms/activations on the vector "
                    "unit) and print totals and the per-op table.",
        epilog=(
            "Examples:\n"
            "  tasim simulate --arch tpuv1 --model bert-base --seq-len 128\n"
            "  tasim simulate --arch tpuv1 --model bert-base-uncased --set array.rows=64\n"
            "  tasim simulate --arch edge-32 --workload minilm-2of4.yaml    # from `tasim trace ... --out`\n"
            "  tasim simulate --arch sparse-2of4 --model bert-base --compress nm-2of4+w8a8 --format json\n"
            "  tasim simulate --arch hbm-llm --model llama2-7b --phase decode --context 2048 --new-tokens 128\n"
            "  tasim simulate --arch bitfusion --set pe.min_bits=4 --model distilbert --compress w4a8 "
            "--format csv -o ops.csv"
        ),
        formatter_class=helpfmt(),
    )
    add_arch_args(p)
    add_workload_args(p)
    p.add_argument("--format", choices=["table", "json", "csv"], default="table",
                   help="table (readable, display units), json ({'totals', 'ops'}) or csv (the per-op table); json "
                        "and csv keep the stored units named in each column (s, pJ, bytes)")
    add_force_arg(p)
    p.add_argument("-o", "--output", default=None, metavar="FILE", type=output_path,
                   help="write to FILE instead of stdout")
    p.set_defaults(func=run)


def _fmt_si(v: float, unit: str) -> str:
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "u"),
                          (1e-9, "n"), (1e-12, "p")):
        if abs(v) >= scale:
            return f"{v / scale:.4g} {prefix}{unit}"
    return f"{v:.4g} {unit}"


def totals_table(res: Any, arch: Any) -> str:
    t = res.totals
    b = t["energy_breakdown_pj"]
    e = t["energy_pj"] or 1.0
    rows = [
        ("accelerator", f"{arch.name}: {arch.array.rows}x{arch.array.cols}"
                        f"{' x' + str(arch.array.count) if arch.array.count > 1 else ''} {arch.array.dataflow}, "
                        f"{arch.pe.native_bits}b {arch.pe.number_kind} {arch.pe.precision_mode}, sparsity "
                        f"{arch.pe.sparsity}, {arch.tech.node_nm:g} nm"),
        ("workload", res.workload),
        ("latency", _fmt_si(t["latency_s"], "s") + f"  ({t['cycles']:,.0f} cycles; GEMM {t['gemm_cycles']:,.0f},"
                                                 f" vector {t['vector_cycles']:,.0f}, stalls {t['stall_cycles']:,.0f})"),
        ("energy", _fmt_si(t["energy_pj"] * 1e-12, "J") + "  (" + ", ".join(
            f"{k} {100 * v / e:.1f}%" for k, v in b.items() if v > 0) + ")"),
        ("area", f"{t['area_mm2']:.3f} mm^2  (" + ", ".join(
            f"{k} {v:.3f}" for k, v in t["area_breakdown_mm2"].items()) + ")"),
        ("MACs", f"{t['macs']:,.0f}"),
        ("DRAM traffic", _fmt_si(t["dram_bytes"], "B")),
        ("utilization", f"{100 * t['utilization']:.2f} % of the array during GEMMs"),
        ("peak / effective", f"{t['peak_tops']:.2f} / {t['effective_tops']:.3f} TOPS (2 ops per MAC)"),
        ("efficiency", f"{t['tops_per_w']:.3f} TOPS/W, {t['tops_per_mm2']:.4g} TOPS/mm^2, {t['power_w']:.3f} W"),
        ("throughput", f"{t['inferences_per_s']:.4g} inferences/s, {t['tokens_per_s']:.4g} tokens/s "
                       f"({'generated' if 'decode' in set(res.columns['phase']) else 'processed'}), "
                       f"{t['tokens_per_s_per_mm2']:.4g} tokens/s/mm^2"),
        ("per inference", _fmt_si(t["energy_per_inference_mj"] * 1e-3, "J") + " per inference, "
                          + _fmt_si(t["energy_per_token_mj"] * 1e-3, "J") + " per token"),
    ]
    if arch.description.startswith("translated from SCALE-Sim"):
        rows.insert(1, ("note", arch.description))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


OPS_SHOWN = ["op", "kind", "count", "macs", "cycles", "stall_cycles", "latency_s", "energy_pj", "dram_bytes",
             "spill_bytes", "utilization", "dataflow", "array_split"]


def _op_records(res: Any) -> tuple[list[str], list[list[Any]]]:
    """The per-op table (``Result.ops``'s columns and rows) from the result's columns, without pandas
    (importing it costs more than simulating a model)."""
    from simulator.run import _OP_COLUMNS

    cols = list(_OP_COLUMNS)
    data = [res.columns[c] for c in cols]
    n = len(data[0]) if data else 0
    return cols, [[_py(col[i]) for col in data] for i in range(n)]


def _py(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _py(x) for k, x in v.items()}
    item = getattr(v, "item", None)
    return item() if item is not None and not isinstance(v, (str, bytes)) else v


def result_dict(res: Any) -> dict[str, Any]:
    """``Result.to_dict()`` (totals and one record per op), without pandas."""
    cols, rows = _op_records(res)
    return {"totals": {k: _py(v) for k, v in res.totals.items()}, "ops": [dict(zip(cols, r)) for r in rows]}


def ops_table(res: Any) -> str:
    """Fixed-width table of the main per-op columns for people: display units with the unit in each
    header (simulator/metrics.py), numbers to 4 significant digits."""
    from simulator.metrics import METRICS, get

    cols, rows = _op_records(res)
    idx = [cols.index(c) for c in OPS_SHOWN]
    metric = [get(c) if c in METRICS else None for c in OPS_SHOWN]

    def cell(v: Any, m: Any) -> str:
        if m is not None and isinstance(v, (int, float)):
            v = float(m.to_display(v))
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    table = [[m.header() if m is not None else c for c, m in zip(OPS_SHOWN, metric)]]
    table += [[cell(r[i], m) for i, m in zip(idx, metric)] for r in rows]
    widths = [max(len(r[j]) for r in table) for j in range(len(OPS_SHOWN))]
    return "\n".join(" ".join(c.rjust(w) for c, w in zip(r, widths)) for r in table)


def ops_csv(res: Any, out: Any) -> None:
    """The per-op table as CSV (``Result.ops.to_csv(index=False)``), without pandas."""
    import csv

    cols, rows = _op_records(res)
    w = csv.writer(out, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow(["" if isinstance(v, float) and v != v else v for v in r])


def run(args: argparse.Namespace) -> int:
    from sweeps.cli._common import one_shot

    one_shot(args.engine)
    from simulator.run import simulate

    arch = load_arch_from_args(args)
    wl = build_from_args(args)
    res = simulate(wl, arch, engine=args.engine)
    if args.format == "json":
        text = strict_json(result_dict(res)) + "\n"
    elif args.format == "csv":
        buf = io.StringIO()
        ops_csv(res, buf)
        text = buf.getvalue()
    else:
        text = totals_table(res, arch) + "\n\n" + ops_table(res) + "\n"
    if args.output:
        write_text_atomic(args.output, text)
    else:
        sys.stdout.write(text)
    return 0
