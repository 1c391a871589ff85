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
import errno
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

from workloads.errors import InputError, one_line, show_value


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


# OSError numbers that are the environment's fault (exit 1), not the input's (exit 2)
ENVIRONMENT_ERRNOS = frozenset(getattr(errno, n) for n in ("ENOSPC", "EDQUOT", "EROFS", "EIO", "ENOMEM", "EMFILE",
                                                           "ENFILE", "EAGAIN") if hasattr(errno, n))


def _os_error_line(exc: OSError) -> str:
    name = exc.filename if exc.filename is not None else ""
    why = exc.strerror or type(exc).__name__
    return f"{one_line(str(name), 160)}: {why}" if name else why


# options whose value may start with '-' (``--objectives -latency_s`` maximises): joined as OPT=VALUE
DASH_VALUE_OPTIONS = ("--objectives", "--x", "--y")


def _attach_dash_values(argv: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in DASH_VALUE_OPTIONS and i + 1 < len(argv) and argv[i + 1].startswith("-") \
                and not argv[i + 1].startswith("--") and len(argv[i + 1]) > 1:
            out.append(f"{a}={argv[i + 1]}")
            i += 2
            continue
        out.append(a)
        i += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Exit status: 0 done; 2 bad input (one line on stderr: file, key, value, what is
    allowed; also unusable output paths); 1 a fault of the environment (disk full, read-only file
    system, out of memory) or an internal error; 130 interrupted. Never a traceback unless
    TASIM_DEBUG=1."""
    argv = list(sys.argv[1:] if argv is None else argv)
    bad = next((a for a in argv if "\x00" in a), None)
    if bad is not None:
        print(f"tasim: error: argument {show_value(bad)} contains a NUL byte (allowed: text)", file=sys.stderr)
        return 2
    argv = _attach_dash_values(argv)
    parser = build_parser()
    args = parser.parse_args(argv)  # usage errors: one line, SystemExit(2) (argparse's convention)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from simulator.limits import forced

    try:
        with forced(bool(getattr(args, "force", False))):
            rc = args.func(args)
    except InputError as exc:
        print(f"tasim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tasim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:
        if os.environ.get("TASIM_DEBUG"):
            raise
        if exc.errno in ENVIRONMENT_ERRNOS:
            print(f"tasim: error (environment): {_os_error_line(exc)}; finished work is kept", file=sys.stderr)
            return 1
        print(f"tasim: error: {_os_error_line(exc)} (allowed: a readable input / writable output path)",
              file=sys.stderr)
        return 2
    except MemoryError:
        print("tasim: error (environment): out of memory", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - a bug: one line, exit 1 (TASIM_DEBUG=1 shows the traceback)
        if os.environ.get("TASIM_DEBUG"):
            raise
        print(f"tasim: internal error: {type(exc).__name__}: {one_line(str(exc), 300)} "
              "(a bug: please report it; TASIM_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1
    return int(rc or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
