"""Custom evaluators: what may replace tasim's simulator in a sweep, and how one is named.

Sweep specs are data: they never name code. An evaluator is either a Python callable given to the API
(``sweep_from_dict(spec, evaluator=fn)``) or an installed plugin, an entry point of the group
:data:`EVALUATOR_GROUP` chosen by name (``tasim sweep SPEC --evaluator NAME``). Its identity in point
ids is ``module:qualname`` of the function (the same for a callable and the entry point naming it).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from sweeps.workload_build import WorkloadKey, build_workload_cached

# An evaluator maps (ArchSpec, WorkloadKey, engine) to (totals, per-op columns): the totals dict of
# simulator.run.Result and a DataFrame or mapping of equal-length per-op columns (with ``kind``).
Evaluator = Callable[[Any, WorkloadKey, str], tuple[dict[str, Any], Any]]


def simulate_point(arch: Any, workload: WorkloadKey, engine: str) -> tuple[dict[str, Any], Any]:
    """The default evaluator: tasim's simulator on a zoo workload."""
    from simulator.run import simulate

    result = simulate(build_workload_cached(workload), arch, engine=engine)
    return dict(result.totals), result.columns


EVALUATOR_GROUP = "tasim.evaluators"  # entry-point group of installed custom evaluators


def installed_evaluators() -> dict[str, Any]:
    """Entry points of :data:`EVALUATOR_GROUP` by name (what ``tasim sweep --evaluator NAME`` accepts)."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=EVALUATOR_GROUP)}


def resolve_evaluator(evaluator: Any) -> Evaluator:
    """The simulator (``""``/None), a callable as given (Python API), or an installed entry point by name.

    A sweep spec never names code: evaluators come from the caller or from installed packages."""
    if not evaluator:
        return simulate_point
    if callable(evaluator):
        return evaluator
    return _entry_point_evaluator(str(evaluator))


@lru_cache(maxsize=16)
def _entry_point_evaluator(name: str) -> Evaluator:
    from workloads.errors import InputError, show_value

    eps = installed_evaluators()
    if name not in eps:
        raise InputError(f"{show_value(name)} is not an installed evaluator (allowed: "
                         f"{', '.join(sorted(eps)) or 'none installed'}; entry-point group {EVALUATOR_GROUP})",
                         key="--evaluator")
    try:
        fn = eps[name].load()
    except (ImportError, AttributeError) as exc:
        raise InputError(f"entry point {name} cannot be loaded ({exc})", key="--evaluator") from None
    if not callable(fn):
        raise InputError(f"entry point {name} is not callable", key="--evaluator")
    return fn


def evaluator_id(evaluator: Any) -> str:
    """What identifies an evaluator in point ids: '' (the simulator) or 'module:qualname' of the function
    (the same for a callable and for the entry point that names it). An unknown name fails here."""
    if not evaluator:
        return ""
    fn = resolve_evaluator(evaluator)
    return f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', type(fn).__name__)}"


