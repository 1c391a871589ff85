"""Results store: resume after SIGKILL at random moments, failing points recorded, no duplicates."""

from __future__ import annotations

import io
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


# ---- compaction: a bounded number of files, streamed, crash-safe ----------------------------------------


def _parts(store: Store, n_parts: int, points: int, start: int = 0) -> None:
    """``n_parts`` parts of ``points`` design points each: a total row then two op-kind rows per point."""
    for p in range(start, start + n_parts):
        ids = [f"{p:08x}{i:08x}" for i in range(points)]
        tot = pd.DataFrame({"point_id": ids, "row": "total", "op_kind": "", "status": "ok",
                            "latency_s": np.arange(points) + p * 1e-3})
        ops = pd.DataFrame({"point_id": ids * 2, "row": "op_kind", "op_kind": ["qkv"] * points + ["ffn"] * points,
                            "status": "ok", "latency_s": np.arange(2 * points) * 0.5})
        store.write_batch(pd.concat([tot, ops], ignore_index=True))


def _rows(store: Store) -> pd.DataFrame:
    return canonical(pd.concat([pq.read_table(f).to_pandas() for f in store.part_files()], ignore_index=True))


def test_compaction_bounds_the_number_of_files_streaming(tmp_path, monkeypatch):
    store = Store(tmp_path / "s")
    _parts(store, 40, 10)  # 40 files of 30 rows, none 'small'
    before, ids = _rows(store), store.finished_ints()

    def whole_file(*a, **k):
        raise AssertionError("compaction read a whole file into memory")

    monkeypatch.setattr(pq, "read_table", whole_file)  # merged row group by row group
    store.compact(small_rows=10, max_rows=300, max_files=5)
    monkeypatch.undo()
    files = store.part_files()
    assert len(files) == 5  # 40 -> 5: as few merges as it takes (one part is left as it is)
    assert max(pq.ParquetFile(f).metadata.num_rows for f in files) <= 300
    pd.testing.assert_frame_equal(_rows(store), before)
    assert np.array_equal(store.finished_ints(), ids)
    for f in [f for f in files if f.name.startswith("compact-")]:  # totals in row groups of their own
        pf = pq.ParquetFile(f)
        kinds = [set(pf.read_row_group(i, columns=["row"]).column("row").to_pylist()) for i in range(pf.num_row_groups)]
        assert all(len(k) == 1 for k in kinds) and {"total"} in kinds
    assert sorted(store.parts_dir.glob("*.parquet")) == sorted(files)  # merged parts deleted, no .tmp left
    assert not list(store.parts_dir.glob(".*.tmp"))
    # a later run adds files: merged files are merged again while there are too many
    _parts(store, 20, 10, start=40)
    log = io.StringIO()
    store.compact(small_rows=10, max_rows=600, max_files=3, log=log, announce_rows=100)  # long work is announced
    assert len(store.part_files()) <= 3
    lines = log.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].startswith("store: merging ") and "at most 3 kept" in lines[0]
    assert lines[1].startswith("store: merged in ") and lines[1].endswith(f"{len(store.part_files())} files now")
    assert len(store.finished_ints()) == 600 and not _rows(store).duplicated(KEY).any()
    store.compact(small_rows=10, max_rows=600, max_files=3)  # nothing left to do: no file rewritten
    assert len(store.part_files()) <= 3 and len(store.finished_ints()) == 600


def test_compaction_killed_at_any_step_loses_and_duplicates_nothing(tmp_path, monkeypatch):
    store = Store(tmp_path / "s")
    _parts(store, 12, 10)
    before = _rows(store)
    # killed while writing the merged file: its .tmp is swept, the parts are untouched
    calls = {"n": 0}
    real_write = pq.ParquetWriter.write_table

    def dies(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real_write(self, *a, **k)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", dies)
    with pytest.raises(KeyboardInterrupt):
        store.compact(small_rows=10, max_rows=1000, max_files=2)
    monkeypatch.undo()
    store = Store(tmp_path / "s")
    assert len(store.part_files()) == 12 and not list(store.parts_dir.glob(".*.tmp"))
    pd.testing.assert_frame_equal(_rows(store), before)
    # killed after the merged file is in place but before the parts it replaces are deleted
    real_unlink = Path.unlink

    def no_unlink(self, *a, **k):
        if self.name.startswith("part-"):
            raise KeyboardInterrupt
        return real_unlink(self, *a, **k)

    monkeypatch.setattr(Path, "unlink", no_unlink)
    with pytest.raises(KeyboardInterrupt):
        store.compact(small_rows=10, max_rows=200, max_files=2)
    monkeypatch.undo()
    assert len(list(store.parts_dir.glob("part-*"))) == 12  # all still there, but superseded
    pd.testing.assert_frame_equal(_rows(store), before)  # readers skip them
    store.compact(small_rows=10, max_rows=1000, max_files=1)  # the merged file merged again: leftovers first deleted
    assert len(store.part_files()) == 1 and not list(store.parts_dir.glob("part-*"))
    pd.testing.assert_frame_equal(_rows(store), before)
