"""Fuzz suite set-up: warm every engine once (imports, numba kernels compiled or loaded from the cache)
before any case is timed, so that a case's time is the input's work, not the first call's JIT."""

from __future__ import annotations

import contextlib
import io

import pytest


@pytest.fixture(scope="session", autouse=True)
def _warm_engines(tmp_path_factory):
    from sweeps.cli import main

    out = tmp_path_factory.mktemp("warm")
    for argv in (
        ["gemm", "--arch", "edge-32", "--m", "64", "--n", "64", "--k", "64", "--json"],
        ["gemm", "--arch", "edge-32", "--m", "64", "--n", "64", "--k", "64", "--engine", "cycle", "--json"],
        ["simulate", "--arch", "edge-32", "--model", "tinybert-4", "--seq-len", "8", "--format", "json"],
        ["simulate", "--arch", "hbm-llm", "--model", "opt-125m", "--phase", "decode", "--context", "8", "--format",
         "json", "--engine", "cycle"],
        ["scalesim", "--example", "-p", str(out / "ss"), "--quiet"],
        ["models", "tinybert-4", "--seq-len", "8", "--compress", "w8a8", "--json"],
    ):
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            try:
                main(argv)
            except SystemExit:
                pass
