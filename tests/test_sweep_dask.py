"""Dask executor: a LocalCluster on 127.0.0.1 with 2 workers, one killed mid-run -> same results as local."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import sweep_fakesim
import yaml

from sweeps.executors import LocalExecutor
from sweeps.runner import run_sweep
from sweeps.spec import sweep_from_dict
from sweeps.store import Store, load

pytest.importorskip("distributed")

TESTS = Path(__file__).resolve().parent
PLUGINS = TESTS / "plugins"  # declares the tasim.evaluators entry point "fakesim"
SPEC = {
    "name": "fake-dask",
    "base": {"arch": "gemmini"},
    "axes": {"array.rows": [8, 13, 16, 32, 64], "array.cols": {"pow2": [8, 64]},
             "pe.precision_mode": ["fixed", "bit_fusion"]},
    "workloads": {"models": ["tiny", "small"], "seq_lens": [128, 256]},
    "recipes": ["w8a8"],
    "objectives": {"latency_s": "min", "energy_pj": "min"},
}


def canonical(df: pd.DataFrame) -> pd.DataFrame:
    df = df.drop(columns=["eval_s"], errors="ignore").sort_values(["point_id", "row", "op_kind"])
    return df.reset_index(drop=True)[sorted(df.columns)]


@pytest.mark.dask
def test_dask_worker_killed_mid_run_matches_local(tmp_path, monkeypatch):
    from distributed import Client, LocalCluster

    monkeypatch.setenv("PYTHONPATH", f"{TESTS}{os.pathsep}{PLUGINS}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    monkeypatch.setenv("TASIM_FAKESIM_SLEEP_S", "0.02")
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(SPEC))
    out = tmp_path / "dask"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=50) as cluster, Client(cluster) as client:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        pids = client.run(os.getpid)
        assert all(addr.startswith("tcp://127.0.0.1:") for addr in pids)  # loopback only
        p = subprocess.Popen([sys.executable, "-m", "sweeps.cli", "sweep", str(spec_path), "-o", str(out),
                              "--scheduler", cluster.scheduler_address, "--no-report", "--quiet", "--evaluator", "fakesim"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while time.time() < deadline and p.poll() is None:  # wait until workers have delivered batches
            if out.exists() and len(Store(out, create=False).finished_ids()) > 60:
                break
            time.sleep(0.05)
        done_before = len(Store(out, create=False).finished_ids())
        victim = sorted(pids.values())[0]
        os.kill(victim, signal.SIGKILL)
        stdout, stderr = p.communicate(timeout=300)
    assert p.returncode == 0, stderr
    n = sweep_from_dict(SPEC, evaluator=sweep_fakesim.evaluate).grid_size()
    assert 0 < done_before < n, f"the kill must land mid-run ({done_before} of {n} done)"
    assert "on dask" in stdout
    got = load(out)
    monkeypatch.setenv("TASIM_FAKESIM_SLEEP_S", "0")
    run_sweep(sweep_from_dict(SPEC, evaluator=sweep_fakesim.evaluate), tmp_path / "local", executor=LocalExecutor(1), progress=False)
    ref = load(tmp_path / "local")
    assert got[got["row"] == "total"]["point_id"].is_unique and (got["row"] == "total").sum() == n
    pd.testing.assert_frame_equal(canonical(got), canonical(ref), check_dtype=False)
