"""The ``tasim`` command line.

Each sub-command is a module in this package exposing ``register(subparsers)``, which adds its parser
and sets ``func=run``. Modules are discovered automatically, so adding a command means adding one
file. Command modules import heavy dependencies (numba, pandas, torch) inside ``run`` so that
``tasim --help`` stays fast.

Bad input raises :class:`workloads.errors.InputError`; ``main`` prints it as one line on stderr and
exits with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from workloads.errors import InputError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse's own convention)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from simulator import __version__

    parser = _Parser(
        prog="tasim",
        description="tasim: transformer-accelerator simulator and design-space explorer.",
        epilog="Example: tasim gemm --arch edge-32 --m 128 --n 3072 --k 768",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tasim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        rc = args.func(args)
    except InputError as exc:
        print(f"tasim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tasim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return int(rc or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
