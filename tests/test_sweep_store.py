"""Results store: resume after SIGKILL at random moments, failing points recorded, no duplicates."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import sweep_fakesim
import yaml

from sweeps.executors import LocalExecutor
from sweeps.runner import run_sweep
from sweeps.spec import sweep_from_dict
from sweeps.store import Store, load

TESTS = Path(__file__).resolve().parent
PLUGINS = TESTS / "plugins"  # declares the tasim.evaluators entry point "fakesim"

FAKE_SPEC = {
    "name": "fake",
    "base": {"arch": "gemmini"},
    "axes": {"array.rows": [8, 13, 16, 32, 64, 128], "array.cols": {"pow2": [8, 128]},
             "pe.precision_mode": ["fixed", "bit_fusion"]},
    "workloads": {"models": ["tiny", "small"], "seq_lens": [128, 256]},
    "recipes": ["fp16", "w8a8"],
    "objectives": {"latency_s": "min", "energy_pj": "min"},
}
KEY = ["point_id", "row", "op_kind"]


def canonical(df: pd.DataFrame) -> pd.DataFrame:
    df = df.drop(columns=["eval_s"], errors="ignore")
    df = df.sort_values(KEY).reset_index(drop=True)
    return df[sorted(df.columns)]


def reference(tmp_path: Path) -> pd.DataFrame:
    out = tmp_path / "ref"
    run_sweep(sweep_from_dict(FAKE_SPEC, evaluator=sweep_fakesim.evaluate), out, executor=LocalExecutor(1), progress=False)
    return load(out)


def test_failing_points_are_recorded(tmp_path):
    df = reference(tmp_path)
    tot = df[df["row"] == "total"]
    sweep = sweep_from_dict(FAKE_SPEC, evaluator=sweep_fakesim.evaluate)
    assert len(tot) == sweep.grid_size() == 6 * 5 * 2 * 2 * 2 * 2
    err = tot[tot["status"] == "error"]
    # rows=13 raises for model 'tiny': 5 cols x 2 modes x 2 seq x 2 recipes
    assert len(err) == 40 and (err["array.rows"] == 13).all() and (err["model"] == "tiny").all()
    assert err["error"].str.contains("simulated failure for rows=13").all()
    assert not df.duplicated(KEY).any()
    assert (df[df["row"] == "op_kind"].groupby("point_id").size() == 3).sum() > 0


def test_resume_skips_finished_points(tmp_path):
    out = tmp_path / "r"
    s1 = run_sweep(sweep_from_dict(FAKE_SPEC, evaluator=sweep_fakesim.evaluate), out, executor=LocalExecutor(1), progress=False)
    s2 = run_sweep(sweep_from_dict(FAKE_SPEC, evaluator=sweep_fakesim.evaluate), out, executor=LocalExecutor(1), progress=False)
    assert s1.evaluated == s1.planned and s2.evaluated == 0 and s2.skipped == s1.planned


def test_batches_are_written_atomically(tmp_path):
    store = Store(tmp_path / "s")
    store.write_batch(pd.DataFrame({"point_id": ["a"], "row": ["total"], "op_kind": [""], "status": ["ok"]}))
    (store.parts_dir / ".part-deadbeef.parquet.tmp").write_bytes(b"half a file")
    store = Store(tmp_path / "s")  # a new run sweeps leftovers
    assert not list(store.parts_dir.glob(".*.tmp"))
    assert store.finished_ids() == {"a"}


def _finished(out: Path) -> int:
    """Finished points, read while a sweep may be writing (files appear atomically; a compaction
    may delete one between listing and reading: retry)."""
    for _ in range(20):
        try:
            return len(Store(out, create=False).finished_ids()) if (out / "parts").is_dir() else 0
        except (FileNotFoundError, OSError):
            time.sleep(0.01)
    return 0


def _all_rows_unique(out: Path) -> None:
    store = Store(out)
    frames = [pq.read_table(f).to_pandas() for f in store.part_files()]
    df = pd.concat(frames, ignore_index=True)
    assert not df.duplicated(KEY).any(), "duplicated rows after a kill"


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume_equals_uninterrupted(tmp_path):
    ref = reference(tmp_path)
    spec_path = tmp_path / "fake.yaml"
    spec_path.write_text(yaml.safe_dump(FAKE_SPEC))
    out = tmp_path / "killed"
    env = dict(os.environ, PYTHONPATH=f"{TESTS}{os.pathsep}{PLUGINS}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
               TASIM_FAKESIM_SLEEP_S="0.01")
    cmd = [sys.executable, "-m", "sweeps.cli", "sweep", str(spec_path), "-o", str(out), "--workers", "2",
           "--no-report", "--quiet", "--evaluator", "fakesim"]
    rng = np.random.default_rng(2024)
    n_total = sweep_from_dict(FAKE_SPEC, evaluator=sweep_fakesim.evaluate).grid_size()
    kills = 0
    progress: list[int] = []
    for extra in rng.uniform(0.0, 0.6, size=4):
        before = progress[-1] if progress else 0
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             start_new_session=True)
        deadline = time.time() + 120
        while p.poll() is None and time.time() < deadline and _finished(out) <= before:
            time.sleep(0.02)  # wait until this run has stored something, then kill at a random moment
        time.sleep(extra)
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)  # the sweep and its pool workers, no chance to clean up
            kills += 1
        p.wait(timeout=60)
        _all_rows_unique(out)
        progress.append(len(Store(out).finished_ids()))
    print("finished points after each kill:", progress)
    assert kills >= 2 and any(0 < n < n_total for n in progress)
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    got = load(out)
    tot = got[got["row"] == "total"]
    assert tot["point_id"].is_unique and len(tot) == sweep_from_dict(FAKE_SPEC, evaluator=sweep_fakesim.evaluate).grid_size()
    pd.testing.assert_frame_equal(canonical(got), canonical(ref), check_dtype=False)


def test_long_work_is_visible_estimate_progress_lines_and_engine_note(tmp_path):
    """Off a terminal: periodic progress lines; cycle engine: an up-front estimate and a note when the
    analytical engine gives the same totals (the fake evaluator ignores the engine: always the same)."""
    import io

    buf = io.StringIO()
    spec = dict(FAKE_SPEC, engine="cycle")
    s = run_sweep(sweep_from_dict(spec, evaluator=sweep_fakesim.evaluate), tmp_path / "c", executor=LocalExecutor(1), log=buf, progress_every_s=0.0)
    text = buf.getvalue()
    assert s.evaluated == sweep_from_dict(spec, evaluator=sweep_fakesim.evaluate).grid_size()
    assert "more design points at ~" in text and "on local x1: about" in text
    assert "note: on the" in text and "the analytical engine gives the same totals" in text
    assert "points/min" in text and "% )" not in text and " of 480 points (" in text
    quiet = io.StringIO()
    run_sweep(sweep_from_dict(dict(spec, name="q"), evaluator=sweep_fakesim.evaluate), tmp_path / "q", executor=LocalExecutor(1), log=quiet,
              progress=False)
    assert quiet.getvalue() == ""
