"""The fuzz harness: run the ``tasim`` CLI in-process on one generated input and judge the outcome.

A case passes when it ends in either

* exit 0 with sane output: JSON that a strict parser accepts (no NaN/Infinity), every number finite,
  counts and figures non-negative, utilizations <= 1; text without ``nan``/``inf`` figures; or
* exit 2 with exactly one line on stderr that starts with ``tasim`` (bad input, named);

and never with a traceback, an exception escaping ``main``, an "internal error", exit 1, or more than
:data:`CASE_LIMIT_S` seconds (a hang). Every case is recorded (``TASIM_FUZZ_REPORT=FILE`` appends one JSON
line per case) so ``make fuzz`` can print the campaign's figures.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import signal
import time
from typing import Any

# a case running longer is a hang (the campaign used 20 s); cases above SLOW_S are listed by
# the summary (first calls compile numba kernels: a few seconds on a loaded 2-core machine)
CASE_LIMIT_S = float(os.environ.get("TASIM_FUZZ_CASE_LIMIT_S", "20"))
SLOW_S = 5.0
_NONFINITE_TEXT = re.compile(r"(?<![\w.])[-+]?(nan|inf|infinity)(?![\w])", re.IGNORECASE)
# keys whose values may legitimately be negative or above 1 (none so far; kept explicit)
_SIGNED_KEYS: frozenset[str] = frozenset()


class CaseTimeout(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise CaseTimeout()


def _strict_constant(name: str) -> Any:
    raise ValueError(f"non-strict JSON constant {name}")


def check_json_numbers(obj: Any, path: str = "") -> str | None:
    """Why a parsed JSON value holds an out-of-range number (None when all are fine)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            why = check_json_numbers(v, f"{path}.{k}")
            if why:
                return why
        return None
    if isinstance(obj, list):
        for i, v in enumerate(obj):
            why = check_json_numbers(v, f"{path}[{i}]")
            if why:
                return why
        return None
    if isinstance(obj, bool) or not isinstance(obj, (int, float)):
        return None
    if not math.isfinite(obj):
        return f"{path} = {obj}"
    key = path.rsplit(".", 1)[-1]
    if obj < 0 and key not in _SIGNED_KEYS and not key.startswith("layer"):
        return f"{path} = {obj} < 0"
    if "utilization" in key and obj > 1 + 1e-9:
        return f"{path} = {obj} > 1"
    return None


def run_cli(argv: list[str]) -> dict[str, Any]:
    """Run ``tasim ARGV`` in this process; returns the outcome (see :func:`judge`)."""
    from sweeps.cli import main

    out, err = io.StringIO(), io.StringIO()
    exc_text = ""
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, CASE_LIMIT_S * 2)  # a hard stop; judge() uses CASE_LIMIT_S
    t0 = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc: Any = main(list(argv))
            except SystemExit as e:
                rc = e.code if isinstance(e.code, int) else 2
    except CaseTimeout:
        rc = "timeout"
    except BaseException as e:  # noqa: BLE001 - an exception escaping main is a finding
        rc = "exception"
        exc_text = f"{type(e).__name__}: {e}"[:500]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    return {"argv": argv, "rc": rc, "out": out.getvalue(), "err": err.getvalue(), "exc": exc_text,
            "seconds": time.perf_counter() - t0}


def judge(r: dict[str, Any], *, json_out: bool = False) -> str | None:
    """The finding of a case (None if it passed): traceback, hang, nonfinite, bad-error, bad-exit."""
    if r["rc"] == "timeout" or r["seconds"] > CASE_LIMIT_S:
        return f"hang: {r['seconds']:.1f} s"
    if r["rc"] == "exception" or "Traceback" in r["err"] or "internal error" in r["err"]:
        return f"traceback: {r['exc'] or r['err'].strip()[-300:]}"
    if r["rc"] == 2:
        lines = [ln for ln in r["err"].splitlines() if ln.strip() and not ln.startswith("tasim: warning:")]
        if len(lines) != 1 or not lines[0].startswith("tasim") or len(lines[0]) > 1200:
            return f"bad-error: {r['err'][:300]!r}"
        return None
    if r["rc"] != 0:
        return f"bad-exit {r['rc']}: {r['err'][:300]!r}"
    if json_out:
        try:
            data = json.loads(r["out"], parse_constant=_strict_constant)
        except ValueError as e:
            return f"nonfinite: not strict JSON ({e})"
        why = check_json_numbers(data)
        if why:
            return f"nonfinite: {why}"
    elif _NONFINITE_TEXT.search(r["out"]):
        m = _NONFINITE_TEXT.search(r["out"])
        return f"nonfinite: {r['out'][max(0, m.start() - 60):m.end() + 20]!r}"
    return None


def record(kind: str, r: dict[str, Any], finding: str | None) -> None:
    path = os.environ.get("TASIM_FUZZ_REPORT")
    if not path:
        return
    with open(path, "a") as fh:
        fh.write(json.dumps({"kind": kind, "rc": str(r["rc"]), "seconds": round(r["seconds"], 4),
                             "finding": finding, "argv": [a[:200] for a in r["argv"]],
                             "err": r["err"][-300:]}) + "\n")


def check(kind: str, argv: list[str], *, json_out: bool = False) -> dict[str, Any]:
    """Run, judge, record, and fail the test on a finding."""
    r = run_cli(argv)
    finding = judge(r, json_out=json_out)
    record(kind, r, finding)
    assert finding is None, f"{kind}: tasim {' '.join(a[:80] for a in argv)}\n -> {finding}"
    return r
