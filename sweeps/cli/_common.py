"""Argument helpers shared by the sub-commands."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_arch_args(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    p.add_argument(
        "--arch",
        required=required,
        metavar="NAME_OR_FILE",
        help="shipped accelerator name (see `tasim archs`), a YAML file (may start from `base: NAME_OR_FILE` "
             "and override fields) or a SCALE-Sim .cfg (translated; the table notes what it does not specify)",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override a field by dotted path, repeatable (e.g. --set array.rows=64 --set pe.native_bits=4)",
    )


def one_shot(engine: str) -> None:
    """A command that simulates a few GEMMs once: with the analytical engine, run the kernels as plain
    Python (``simulator.jit``) instead of importing numba and loading compiled kernels (~0.8 s of
    start-up for milliseconds of work). Call before importing simulator modules."""
    if engine == "analytical":
        from simulator.jit import use_python

        use_python()


def load_arch_from_args(args: argparse.Namespace) -> Any:
    from simulator.arch import load_arch

    return load_arch(args.arch, args.overrides)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is out of range (allowed: >= 1)")
    return value


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, default=_json_default)
    sys.stdout.write("\n")


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def helpfmt() -> type[argparse.HelpFormatter]:
    return argparse.RawDescriptionHelpFormatter
