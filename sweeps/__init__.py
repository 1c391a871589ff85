"""tasim's explorer: sweep specs, executors, results store, Pareto fronts, plots, reports and the CLI.

>>> import sweeps
>>> df = sweeps.load("results/quickstart")          # doctest: +SKIP
>>> front = sweeps.pareto_front(df[df.row == "total"], {"latency_s": "min", "energy_pj": "min"})  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

__all__ = ["load", "load_totals", "load_sweep", "run_sweep", "pareto_front", "pareto_mask", "hypervolume"]


def __getattr__(name: str) -> Any:  # lazy: `import sweeps` (and `tasim --help`) stays fast
    if name in ("load", "load_totals"):
        from sweeps import store

        return getattr(store, name)
    if name == "load_sweep":
        from sweeps.spec import load_sweep

        return load_sweep
    if name == "run_sweep":
        from sweeps.runner import run_sweep

        return run_sweep
    if name in ("pareto_front", "pareto_mask", "hypervolume"):
        from sweeps import pareto

        return getattr(pareto, name)
    raise AttributeError(f"module 'sweeps' has no attribute {name!r}")
