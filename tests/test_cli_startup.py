"""One-shot commands run the kernels as plain Python (simulator/jit.py: no numba import) and print
exactly what the compiled kernels print."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(args: list[str], jit: str, *, importtime: bool = False) -> subprocess.CompletedProcess:
    env = dict(os.environ, TASIM_JIT=jit, PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    cmd = [sys.executable] + (["-X", "importtime"] if importtime else []) + ["-m", "sweeps.cli", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=True)


CASES = [
    ["gemm", "--arch", "edge-32", "--m", "128", "--n", "3072", "--k", "768", "--json"],
    ["gemm", "--arch", "tpuv1", "--m", "512", "--n", "1024", "--k", "1024", "--timing", "scalesim", "--json"],
    ["gemm", "--arch", "gemmini", "--set", "array.dataflow=os", "--set", "buffers.double_buffered=false",
     "--m", "200", "--n", "77", "--k", "1000", "--a-bytes", "0.5", "--json"],
    ["simulate", "--arch", "tpuv1", "--model", "bert-base", "--seq-len", "64", "--compress", "w8a8", "--format", "json"],
    ["simulate", "--arch", "hbm-llm", "--model", "gpt2", "--phase", "decode", "--context", "64", "--new-tokens", "4",
     "--format", "csv"],
]


@pytest.mark.parametrize("args", CASES, ids=lambda a: " ".join(a[:3]))
def test_python_kernels_print_what_compiled_kernels_print(args):
    def strip(text: str) -> str:  # the run's own wall time differs
        return "\n".join(line for line in text.splitlines() if "elapsed" not in line)

    assert strip(_run(args, "0").stdout) == strip(_run(args, "1").stdout)


def test_scalesim_reports_identical_in_python_mode(tmp_path):
    for jit in ("0", "1"):
        _run(["scalesim", "--example", "-p", str(tmp_path / jit), "--quiet"], jit)
    a = sorted((tmp_path / "0").rglob("*.csv"))
    b = sorted((tmp_path / "1").rglob("*.csv"))
    assert [p.name for p in a] == [p.name for p in b] and a
    for x, y in zip(a, b):
        assert x.read_text() == y.read_text(), x.name


def _imports_numba(stderr: str) -> bool:
    return any(line.split("|")[-1].strip() == "numba" for line in stderr.splitlines() if "|" in line)


def test_one_shot_commands_do_not_import_numba():
    for args in (CASES[0], ["scalesim", "--example", "-p", "/tmp/tasim-startup-test", "--quiet"], CASES[3]):
        err = _run(args, "1", importtime=True).stderr
        assert not _imports_numba(err), args[0]
    err = _run(["gemm", "--arch", "edge-32", "--m", "16", "--n", "16", "--k", "16", "--engine", "cycle"], "1",
               importtime=True).stderr
    assert _imports_numba(err)  # the cycle engine compiles


def test_simulate_output_without_pandas_equals_result_methods():
    import io
    import math

    import pandas as pd

    from simulator.arch import load_arch
    from simulator.run import simulate
    from sweeps.cli.simulate import ops_csv, ops_table, result_dict
    from workloads.zoo import build_workload

    res = simulate(build_workload("gpt2", seq_len=16, phase="decode", context=32, new_tokens=4), load_arch("hbm-llm"))
    want, got = res.to_dict(), result_dict(res)
    assert list(got["totals"]) == list(want["totals"]) and len(got["ops"]) == len(want["ops"])
    for a, b in zip(got["ops"], want["ops"]):
        assert list(a) == list(b)
        for k in a:
            assert a[k] == b[k] or (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k]))
            assert type(a[k]) is type(b[k]), k
    buf = io.StringIO()
    ops_csv(res, buf)
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(buf.getvalue())),
                                  pd.read_csv(io.StringIO(res.ops.to_csv(index=False))))
    table = ops_table(res).splitlines()
    # the table is for people: display units, the unit in each header (simulator/metrics.py)
    for header in ("op", "kind", "count", "MACs (G)", "cycles", "stall cycles", "latency (ms)", "energy (mJ)",
                   "DRAM traffic (MB)", "activation spills (MB)", "array utilization (%)", "dataflow", "array_split"):
        assert header in table[0]
    assert len(table) == len(res.ops) + 1
