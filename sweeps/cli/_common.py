"""Argument helpers shared by the sub-commands."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from workloads.errors import show_value

MAX_CLI_INT = 2**62  # integer arguments stay inside int64; the models check their products


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
        raise argparse.ArgumentTypeError(f"{show_value(text)} is not an integer") from None
    if not 1 <= value <= MAX_CLI_INT:
        raise argparse.ArgumentTypeError(f"{show_value(value)} is out of range (allowed: 1 .. 2**62)")
    return value


def strict_json(obj: Any) -> str:
    """Strict JSON (RFC 8259): non-finite numbers, which it cannot hold, become ``null`` (so
    unlimited DRAM bandwidth, ``dram_bytes_per_cycle`` = inf, is ``null``; see docs/robustness.md)."""
    return json.dumps(_finite(obj), indent=2, default=_json_default, allow_nan=False)


def _finite(o: Any) -> Any:
    import math

    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    if type(o).__module__ == "numpy":
        return _finite(_json_default(o))
    return o


def print_json(obj: Any, out: Any = None) -> None:
    """Write ``obj`` as strict JSON (see :func:`strict_json`) to ``out`` (default stdout)."""
    out = out or sys.stdout
    out.write(strict_json(obj) + "\n")


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.bool_):
        return bool(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def helpfmt() -> type[argparse.HelpFormatter]:
    return argparse.RawDescriptionHelpFormatter


def output_path(text: str) -> str:
    """argparse type of an output file or folder: non-empty, no NUL, every name <= 255 bytes."""
    if not text or not text.strip():
        raise argparse.ArgumentTypeError("empty path (allowed: a file or folder name)")
    if "\x00" in text:
        raise argparse.ArgumentTypeError(f"{show_value(text)} contains a NUL byte")
    if any(len(part.encode()) > 255 for part in text.split("/")):
        raise argparse.ArgumentTypeError(f"{show_value(text)} has a name longer than 255 bytes")
    if len(text.encode()) > 4000:
        raise argparse.ArgumentTypeError(f"{show_value(text)} is longer than 4000 bytes")
    return text


def add_force_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true",
                   help="run even when the up-front work estimate exceeds the documented limits "
                        "(cycle engine cycles, SCALE-Sim memory; see docs/robustness.md)")


def write_text_atomic(path: str, text: str) -> None:
    """Write a whole output file or nothing (temporary name, then rename); OSErrors propagate to
    ``main`` (bad path: exit 2; disk full: exit 1) and leave no partial file behind."""
    import os

    p = check_output_file(path)
    tmp = p.with_name(f".{p.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(text)
        os.replace(tmp, p)
    finally:
        if tmp.exists():
            tmp.unlink()


def check_output_file(path: str, key: str = "-o") -> Any:
    """The Path of an output file that can be written: its folder exists, it is not a folder."""
    from pathlib import Path

    from workloads.errors import InputError

    p = Path(path)
    if p.is_dir() or path.endswith("/"):
        raise InputError("is a directory (allowed: a file name)", source=path, key=key)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"folder {show_value(str(parent))} does not exist (allowed: a file in an existing folder)",
                         source=path, key=key)
    return p


def check_output_dir(path: str, key: str = "-o") -> None:
    """An output folder: absent (it is created) or a folder, never an existing file."""
    from pathlib import Path

    from workloads.errors import InputError

    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputError("is a file (allowed: a folder, created if missing)", source=path, key=key)
    for parent in p.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{show_value(str(parent))} is a file (allowed: a folder path)", source=path, key=key)
            break
