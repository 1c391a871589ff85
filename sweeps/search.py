"""Multi-objective search (NSGA-II through optuna) over a sweep's axes.

One study per (model, sequence length, phase): the arch axes, the PE-array shape and the compression
recipe are categorical parameters; the objectives are the spec's objectives; constraints become
optuna constraint values (``<= 0`` feasible). Each generation (``population`` trials) is evaluated as
one round of batches through the same executor and store as a grid sweep, so it is resumable too:
with a fixed seed the sampler proposes the same points again and their results come from the store.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from sweeps.spec import PE_ARRAY_AXIS, Constraint, Sweep


def _constraint_value(c: Constraint, v: float) -> float:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return 1.0
    if c.op in ("<=", "<"):
        return v - c.value
    if c.op in (">=", ">"):
        return c.value - v
    if c.op == "==":
        return abs(v - c.value)
    return 0.0 if v != c.value else 1.0


def run_nsga2(sweep: Sweep, runner: Any) -> tuple[int, int]:
    """Run the search; returns (design points asked, points whose results were already stored)."""
    import numpy as np
    import optuna
    from optuna.samplers import NSGAIISampler
    from optuna.trial import TrialState

    from sweeps.plan import Task
    from sweeps.progress import Progress

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    st = sweep.spec.strategy
    from sweeps.report import with_metrics

    plan = runner.plan
    objectives = list(sweep.objectives.items())
    directions = ["minimize" if s == "min" else "maximize" for _, s in objectives]
    wanted = [c for c, _ in objectives] + [c.column for c in sweep.constraints]  # names or expressions
    known: dict[str, dict[str, Any]] = {}

    def learn(table: Any) -> None:
        df = with_metrics(table.to_pandas(), wanted)
        cols = [c for c in dict.fromkeys(["point_id", "status", *wanted]) if c in df.columns]
        for rec in df[cols].to_dict("records"):
            known[rec["point_id"]] = rec

    for t in runner.store.scan(None, totals=True, current=False):
        learn(t)
    groups: dict[tuple, list[int]] = {}
    for wi, wk in enumerate(plan.workloads):
        groups.setdefault((wk.model, wk.seq_len, wk.phase), []).append(wi)
    total = st.n * len(groups)
    bar = Progress(total, sweep.spec.name, runner.progress_enabled, runner.progress_every_s)
    asked = skipped = 0
    try:
        for gi, wis in enumerate(groups.values()):
            sampler = NSGAIISampler(population_size=st.population, seed=st.seed + gi)
            study = optuna.create_study(directions=directions, sampler=sampler)
            done = 0
            while done < st.n:
                trials = [study.ask() for _ in range(min(st.population, st.n - done))]
                points = [_suggest(t, sweep, plan, wis) for t in trials]
                pid_of = [plan.point_ids(w, np.array([a], dtype=np.int64))[0][0] for w, a in points]
                todo: dict[str, tuple[int, int]] = {}
                for pid, p in zip(pid_of, points):
                    if pid not in known:
                        todo.setdefault(pid, p)
                distinct = len(set(pid_of))
                skipped += distinct - len(todo)
                asked += distinct
                if todo:
                    by_w: dict[int, list[int]] = {}
                    for w, a in todo.values():
                        by_w.setdefault(w, []).append(a)
                    chunk = max(1, -(-len(todo) // max(1, runner.executor.workers)))
                    tasks = [Task(i, w, np.array(sorted(archs[j:j + chunk]), dtype=np.int64))
                             for i, (w, archs) in enumerate(by_w.items()) for j in range(0, len(archs), chunk)]
                    runner.run_tasks(tasks, bar, on_result=lambda r: learn(r.totals) if r.totals is not None else None)
                bar.update(len(trials) - len(todo))
                for t, pid in zip(trials, pid_of):
                    rec = known.get(pid)
                    vals = [rec.get(c) if rec else None for c, _ in objectives]
                    if rec is None or rec.get("status") != "ok" or any(_bad(v) for v in vals):
                        study.tell(t, state=TrialState.FAIL)
                        continue
                    for ci, c in enumerate(sweep.constraints):  # <= 0 feasible (optuna's convention)
                        t.set_constraint(f"c{ci}", _constraint_value(c, rec.get(c.column)))
                    study.tell(t, [float(v) for v in vals])
                done += len(trials)
    finally:
        bar.close()
    return asked, skipped


def _bad(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or pd.isna(v)


def _suggest(trial: Any, sweep: Sweep, plan: Any, wis: list[int]) -> tuple[int, int]:
    """A trial's (workload index, arch index) in the plan: one categorical parameter per dimension."""
    digits: list[int] = []
    dims = plan.dims
    d = 0
    if sweep.shapes is not None:
        labels = [f"{r}x{c}" for r, c in sweep.shapes]
        digits.append(labels.index(trial.suggest_categorical(PE_ARRAY_AXIS, labels)))
        d = 1
    for path, vals in sweep.axis_values.items():
        digits.append(vals.index(trial.suggest_categorical(path, vals)) if len(vals) > 1 else 0)
        d += 1
    assert d == len(dims)
    arch = 0
    for dg, size in zip(digits, plan.sizes.tolist()):
        arch = arch * size + dg
    if len(wis) > 1:
        recipes = [plan.workloads[w].recipe for w in wis]
        w = wis[recipes.index(trial.suggest_categorical("recipe", recipes))]
    else:
        w = wis[0]
    return w, arch
