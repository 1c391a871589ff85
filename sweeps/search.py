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

from sweeps.spec import PE_ARRAY_AXIS, Constraint, DesignPoint, Sweep, WorkloadKey


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
    import optuna
    from optuna.samplers import NSGAIISampler
    from optuna.trial import TrialState

    from sweeps.progress import Progress

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    st = sweep.spec.strategy
    from sweeps.report import with_metrics

    objectives = list(sweep.objectives.items())
    directions = ["minimize" if s == "min" else "maximize" for _, s in objectives]
    store = runner.store
    known: dict[str, dict[str, Any]] = {}
    df = store.load()
    if len(df):
        for rec in df[df["row"] == "total"].to_dict("records"):
            known[rec["point_id"]] = rec
    groups: dict[tuple, list[WorkloadKey]] = {}
    for wk in sweep.workload_keys:
        groups.setdefault((wk.model, wk.seq_len, wk.phase), []).append(wk)
    total = st.n * len(groups)
    bar = Progress(total, sweep.spec.name, runner.progress_enabled)
    asked = skipped = 0
    try:
        for gi, wks in enumerate(groups.values()):
            sampler = NSGAIISampler(population_size=st.population, seed=st.seed + gi)
            study = optuna.create_study(directions=directions, sampler=sampler)
            done = 0
            while done < st.n:
                trials = [study.ask() for _ in range(min(st.population, st.n - done))]
                points = [_suggest(t, sweep, wks) for t in trials]
                planned = runner.plan(points)
                pid_of = [runner.plan([p])[0].pid for p in points]
                todo = [p for p in planned if p.pid not in known]
                skipped += len(planned) - len(todo)
                asked += len(planned)
                if todo:
                    runner.evaluate(todo, bar)
                    new = store.load()
                    new = new[(new["row"] == "total") & new["point_id"].isin({p.pid for p in todo})]
                    new = with_metrics(new, [c for c, _ in objectives] + [c.column for c in sweep.constraints])
                    for rec in new.to_dict("records"):
                        known[rec["point_id"]] = rec
                bar.update(len(planned) - len(todo))
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


def _suggest(trial: Any, sweep: Sweep, wks: list[WorkloadKey]) -> DesignPoint:
    axes: list[tuple[str, Any]] = []
    if sweep.shapes is not None:
        labels = [f"{r}x{c}" for r, c in sweep.shapes]
        i = labels.index(trial.suggest_categorical(PE_ARRAY_AXIS, labels))
        axes += [("array.rows", sweep.shapes[i][0]), ("array.cols", sweep.shapes[i][1])]
    for path, vals in sweep.axis_values.items():
        axes.append((path, trial.suggest_categorical(path, vals) if len(vals) > 1 else vals[0]))
    if len(wks) > 1:
        recipes = [w.recipe for w in wks]
        wk = wks[recipes.index(trial.suggest_categorical("recipe", recipes))]
    else:
        wk = wks[0]
    return DesignPoint(tuple(axes), wk)
