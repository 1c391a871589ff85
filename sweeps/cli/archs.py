"""``tasim archs [NAME]``: list the shipped accelerators, or print one resolved."""

from __future__ import annotations

import argparse

from sweeps.cli._common import helpfmt


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "archs",
        help="list shipped accelerator configs, or print one resolved",
        description="List shipped accelerator configs (one per line), or print one fully resolved as YAML, followed\n"
        "by its resolved memory hierarchy (levels innermost first, where activations and the KV cache stay).",
        epilog="Examples:\n  tasim archs\n  tasim archs tpuv1\n  tasim archs edge-32 --set array.rows=64",
        formatter_class=helpfmt(),
    )
    p.add_argument("name", nargs="?", help="shipped name or YAML file to resolve")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import yaml

    from simulator.arch import load_arch, shipped_names

    if not args.name:
        for name in shipped_names():
            arch = load_arch(name)
            a = arch.array
            print(f"{name:<14} {a.rows}x{a.cols} {a.dataflow} {arch.pe.native_bits}b {arch.description}")
        return 0
    arch = load_arch(args.name, args.overrides)
    data = arch.to_dict()
    if arch.memory is not None:  # the levels replace buffers:/dram: (their defaults would mislead)
        data.pop("dram", None)
        data["buffers"] = {k: v for k, v in data["buffers"].items() if k == "cross_op_prefetch"}
    else:
        data.pop("memory", None)
    print(yaml.safe_dump(data, sort_keys=False).rstrip())
    print("\n".join("# " + line for line in arch.hierarchy.table(arch.array.freq_mhz)))
    return 0
