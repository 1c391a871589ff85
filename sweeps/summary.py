"""What a report needs from a results store, computed part by part in bounded memory.

One pass over the total rows of the store (``Store.scan``: one Parquet part in memory at a time)
keeps, under the spec's constraints:

* counts (stored, failed, feasible) and the first failed points;
* the Pareto front per workload group, maintained incrementally: the front of (front so far ∪ the
  next part) is the front of everything read so far (a point dominated within a subset is dominated
  in the whole set, and the front of the whole is a subset of the union of partial fronts);
* a uniform sample of the feasible points (the ``cloud_cap`` points with the smallest point-id
  hash: a stable sample whatever the order of the parts), drawn grey behind the fronts in figures;
* the best point per objective, per-workload ranges of the objectives, the best utilization per
  array shape (the heat map) and the fastest point per recipe (the quality figure).

Small sweeps (at most ``cloud_cap`` feasible points) are summarised exactly: the cloud is every point.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sweeps.pareto import pareto_front
from sweeps.spec import parse_constraint

CLOUD_CAP = 20_000  # feasible points drawn in figures (plus every front point)
WORKLOAD_GROUP = ["model", "seq_len", "phase"]


def with_metrics(df: pd.DataFrame, names: Any = ()) -> pd.DataFrame:
    """``df`` plus every derived metric its columns allow and the expression columns ``names``
    (simulator/metrics.py); names that cannot be computed from these rows are skipped."""
    from simulator.metrics import add_columns, is_known

    return add_columns(df, [n for n in names if n not in df.columns and is_known(n, df.columns)])


def feasible(df: pd.DataFrame, constraints: list[str]) -> pd.DataFrame:
    mask = np.ones(len(df), dtype=bool)
    parsed = [parse_constraint(text, source=None, key="constraints") for text in constraints]
    df = with_metrics(df, [c.column for c in parsed])
    for c in parsed:
        if c.column in df.columns:
            mask &= c.mask(df[c.column].to_numpy(dtype=float))
    return df[mask]


def _keyed(df: pd.DataFrame) -> np.ndarray:
    from sweeps.plan import pid_to_int

    return pid_to_int(df["point_id"].astype(str).tolist())


class StoreSummary:
    """Streaming summary of the total rows (see the module docstring)."""

    def __init__(self, objectives: dict[str, str], constraints: list[str], *, cloud_cap: int = CLOUD_CAP) -> None:
        self.objectives_spec = dict(objectives)
        self.constraints = list(constraints)
        self.cloud_cap = cloud_cap
        self.n_ok = self.n_err = self.n_feasible = 0
        self.errors: list[pd.DataFrame] = []
        self.front_parts: pd.DataFrame | None = None
        self.cloud: pd.DataFrame | None = None
        self.best: dict[str, pd.Series] = {}
        self.ranges: pd.DataFrame | None = None
        self.heat: pd.DataFrame | None = None
        self.fastest: pd.DataFrame | None = None
        self.varying: dict[str, set] = {c: set() for c in WORKLOAD_GROUP + ["recipe"]}
        self.objectives: dict[str, str] = {}
        self._has_values: set[str] = set()

    # ---- one part ------------------------------------------------------------------------------------
    def add(self, tot: pd.DataFrame) -> None:
        err = tot[tot["status"] == "error"] if "status" in tot else tot.iloc[0:0]
        ok = tot[tot["status"] == "ok"] if "status" in tot else tot
        self.n_err += len(err)
        if len(err) and sum(len(e) for e in self.errors) < 10:
            self.errors.append(err.head(10))
        self.n_ok += len(ok)
        if not len(ok):
            return
        ok = with_metrics(ok, list(self.objectives_spec))
        for c in self.objectives_spec:
            if c in ok.columns and ok[c].notna().any():
                self._has_values.add(c)
        for c in self.varying:
            if c in ok.columns:
                self.varying[c].update(pd.unique(ok[c]).tolist())
        fea = feasible(ok, self.constraints)
        self.n_feasible += len(fea)
        if not len(fea):
            return
        objs = {k: v for k, v in self.objectives_spec.items() if k in fea.columns}
        if objs:
            both = fea if self.front_parts is None else pd.concat([self.front_parts, fea], ignore_index=True)
            by = [c for c in WORKLOAD_GROUP if c in both.columns] or None
            self.front_parts = pareto_front(both, objs, by=by).reset_index(drop=True)
            for col, sense in objs.items():
                v = fea[col]
                if v.notna().any():
                    i = v.idxmin() if sense == "min" else v.idxmax()
                    old = self.best.get(col)
                    new = fea.loc[i]
                    if old is None or (new[col] < old[col] if sense == "min" else new[col] > old[col]):
                        self.best[col] = new
            keys = [c for c in WORKLOAD_GROUP + ["recipe"] if c in fea.columns]
            cols = list(objs) + [c for c in ("area_mm2",) if c not in objs and c in fea.columns]
            agg = fea.groupby(keys, dropna=False)[cols].agg(["min", "max"])
            self.ranges = agg if self.ranges is None else _merge_ranges(self.ranges, agg)
        cloud = fea.assign(_key=_keyed(fea))
        cloud = cloud if self.cloud is None else pd.concat([self.cloud, cloud], ignore_index=True)
        if len(cloud) > self.cloud_cap:
            cloud = cloud.nsmallest(self.cloud_cap, "_key")
        self.cloud = cloud.reset_index(drop=True)
        if {"array.rows", "array.cols", "utilization"} <= set(fea.columns):
            hk = [c for c in ("model", "array.rows", "array.cols") if c in fea.columns]
            h = fea.loc[fea.groupby(hk, dropna=False)["utilization"].idxmax().dropna()]
            h = h if self.heat is None else pd.concat([self.heat, h], ignore_index=True)
            self.heat = h.loc[h.groupby(hk, dropna=False)["utilization"].idxmax().dropna()].reset_index(drop=True)
        if {"recipe", "latency_s"} <= set(fea.columns):
            fk = [c for c in ("model", "recipe") if c in fea.columns]
            f = fea.loc[fea.groupby(fk, dropna=False)["latency_s"].idxmin().dropna()]
            f = f if self.fastest is None else pd.concat([self.fastest, f], ignore_index=True)
            self.fastest = f.loc[f.groupby(fk, dropna=False)["latency_s"].idxmin().dropna()].reset_index(drop=True)

    # ---- results -------------------------------------------------------------------------------------
    def finish(self) -> None:
        self.objectives = {k: v for k, v in self.objectives_spec.items() if k in self._has_values} or {
            "latency_s": "min", "energy_pj": "min"}
        self.group = [c for c in WORKLOAD_GROUP if len(self.varying.get(c, ())) > 1] or None

    @property
    def sampled(self) -> bool:
        return self.n_feasible > self.cloud_cap

    def front(self) -> pd.DataFrame:
        if self.front_parts is None:
            return pd.DataFrame()
        sort = (self.group or []) + [next(iter(self.objectives))]
        sort = [c for c in sort if c in self.front_parts.columns]
        return self.front_parts.sort_values(sort, kind="stable").drop(columns=["_key"], errors="ignore")

    def points(self) -> pd.DataFrame:
        """What figures draw: the cloud plus every front point (and the fastest point per recipe)."""
        parts = [p for p in (self.cloud, self.front_parts, self.fastest) if p is not None and len(p)]
        if not parts:
            return pd.DataFrame()
        df = pd.concat(parts, ignore_index=True).drop_duplicates("point_id")
        return df.drop(columns=["_key"], errors="ignore").reset_index(drop=True)

    def error_rows(self) -> pd.DataFrame:
        return pd.concat(self.errors, ignore_index=True).head(10) if self.errors else pd.DataFrame()


def _merge_ranges(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    both = pd.concat([a, b])
    out = {}
    for col, stat in both.columns:
        g = both[(col, stat)].groupby(level=list(range(both.index.nlevels)), dropna=False)
        out[(col, stat)] = g.min() if stat == "min" else g.max()
    return pd.DataFrame(out)


def usable_objectives(store: Any, objectives: dict[str, str]) -> dict[str, str]:
    """The objectives with at least one value among the ok total rows (e.g. accuracy_published is NaN
    where no paper reports the pair): a pass over only the columns they need."""
    from simulator.metrics import expr_columns
    need: set[str] = {"status"}
    for name in objectives:
        try:
            need.update(expr_columns(name))
        except Exception:  # noqa: BLE001 - a plain stored column
            need.add(name)
        need.add(name)
    seen: set[str] = set()
    for t in store.scan(sorted(need), totals=True, ok_only=True):
        df = with_metrics(t.to_pandas(), list(objectives))
        seen.update(c for c in objectives if c in df.columns and df[c].notna().any())
        if len(seen) == len(objectives):
            break
    usable = {k: v for k, v in objectives.items() if k in seen}
    return usable or {"latency_s": "min", "energy_pj": "min"}


def summarise(store: Any, meta: dict[str, Any], *, cloud_cap: int = CLOUD_CAP) -> StoreSummary:
    """Scan the store's total rows (current spec's points) into a :class:`StoreSummary`."""
    objectives = usable_objectives(store, meta.get("objectives") or {"latency_s": "min", "energy_pj": "min"})
    s = StoreSummary(objectives, meta.get("constraints", []), cloud_cap=cloud_cap)
    for t in store.scan(None, totals=True):
        s.add(t.to_pandas())
    s.finish()
    return s
