"""The report's streaming summary (sweeps/summary.py) equals the in-memory computation on the full
table; with a small cloud it samples the points but keeps every front point, best point and count."""

from __future__ import annotations

import numpy as np
import pandas as pd
import sweep_fakesim

import sweeps
from sweeps.executors import LocalExecutor
from sweeps.pareto import pareto_front
from sweeps.report import analyse, feasible
from sweeps.runner import run_sweep
from sweeps.spec import sweep_from_dict
from sweeps.store import Store
from sweeps.summary import summarise

SPEC = {
    "name": "summary", "base": {"arch": "gemmini"},
    "axes": {"array.rows": [8, 13, 16, 32, 64, 128], "array.cols": {"pow2": [8, 128]},
             "pe.precision_mode": ["fixed", "bit_fusion"]},
    "workloads": {"models": ["tiny", "small"], "seq_lens": [128, 256]}, "recipes": ["fp16", "w8a8"],
    "objectives": {"latency_s": "min", "energy_pj": "min", "area_mm2": "min"},
    "constraints": ["area_mm2 <= 10"],
}


def test_streaming_summary_equals_full_table(tmp_path, monkeypatch):
    monkeypatch.setattr(Store, "compact", lambda self, *a, **k: None)  # keep the many small parts
    out = tmp_path / "s"
    run_sweep(sweep_from_dict(SPEC, evaluator=sweep_fakesim.evaluate), out, executor=LocalExecutor(1), progress=False, target_task_s=0.0,
              min_task_s=0.0)  # many small parts
    store = Store(out, create=False)
    assert len(store.part_files()) > 1
    tot = sweeps.load_totals(out)
    fea = feasible(tot, SPEC["constraints"])
    objs = SPEC["objectives"]
    by = ["model", "seq_len"]
    want = pareto_front(fea, objs, by=by)
    for cap in (10_000, 25):
        s = summarise(store, store.read_meta(), cloud_cap=cap)
        assert s.n_feasible == len(fea) and s.n_err == 40 and s.n_ok == len(tot)
        assert set(s.front()["point_id"]) == set(want["point_id"])
        assert s.group == by
        pts = s.points()
        assert set(want["point_id"]) <= set(pts["point_id"]) <= set(fea["point_id"])
        assert (len(pts) == len(fea)) == (cap >= len(fea))
        for col in objs:
            assert s.best[col][col] == fea[col].min()
        heat = fea.groupby(["model", "array.rows", "array.cols"])["utilization"].max()
        got = s.heat.set_index(["model", "array.rows", "array.cols"])["utilization"].sort_index()
        pd.testing.assert_series_equal(got, heat.sort_index(), check_names=False)
        rng = s.ranges[("latency_s", "min")].sort_index()
        ref = fea.groupby(["model", "seq_len", "phase", "recipe"])["latency_s"].min().sort_index()
        np.testing.assert_array_equal(rng.to_numpy(), ref.to_numpy())
    a = analyse(out, cloud_cap=25)
    assert a["sampled"] and a["counts"]["feasible"] == len(fea) and len(a["front"]) == len(want)
