"""tasim for notebooks: a thin facade over ``workloads``, ``simulator`` and ``sweeps``.

>>> import tasim
>>> r = tasim.simulate("bert-base", "tpuv1", compress="w8a8", set={"array.rows": 64})  # doctest: +SKIP
>>> r.totals["latency_s"], r.ops.head()                                               # doctest: +SKIP
>>> s = tasim.sweep("quickstart", out="results/quickstart")                           # doctest: +SKIP
>>> s.front()                                                                          # doctest: +SKIP

Nothing here models anything: every function forwards to the package that owns the concept
(docs/python.md). Importing ``tasim`` imports nothing heavy; the first call does.
"""

from __future__ import annotations

from tasim.api import SimResult, SweepResult, archs, load, load_arch, metric, models, recipes, simulate, sweep

__all__ = ["SimResult", "SweepResult", "archs", "load", "load_arch", "metric", "models", "recipes", "simulate",
           "sweep"]
