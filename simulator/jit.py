"""``njit`` for the simulator's kernels: numba's, or the plain Python function for one-shot commands.

The kernels (closed-form memory model, cycle engine, dataflow rules) are numba ``@njit(cache=True)``
functions. numba costs ~0.3 s to import and ~0.5 s to load cached kernels: fine for a sweep, most of
the time of a command that simulates one GEMM or one model in a few milliseconds. A process that runs
``use_python()`` before importing any kernel module (``tasim gemm``, ``tasim simulate`` and ``tasim
scalesim`` with the analytical engine do; or ``TASIM_JIT=0`` in the environment) gets the same
functions as plain Python: the same code, so the same figures (tests compare both modes), without
importing numba. The cycle engine always compiles (it steps every cycle).
"""

from __future__ import annotations

import os
import sys
from typing import Any

_PYTHON = os.environ.get("TASIM_JIT", "1").strip() == "0"


def use_python() -> bool:
    """Kernels defined from now on are plain Python. Returns False (and changes nothing) when a
    kernel module was already imported with numba, so one process never mixes the two."""
    global _PYTHON
    if _PYTHON:
        return True
    if any(m.startswith(("simulator.dataflows", "simulator.memory", "simulator.cycle", "simulator.batch"))
           for m in sys.modules):
        return False
    _PYTHON = True
    return True


def python_mode() -> bool:
    return _PYTHON


def njit(*args: Any, **kwargs: Any) -> Any:
    """``numba.njit`` (same arguments), or the undecorated function in Python mode."""
    if _PYTHON:
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]
        return lambda fn: fn
    from numba import njit as _njit

    return _njit(*args, **kwargs)


