"""Executors: run batches of design points locally (process pool) or on Dask distributed.

Both have the same interface: ``start(ctx)`` sends the run's shared context to the workers once,
``map_unordered(fn, tasks, ctx)`` yields ``fn(task, ctx)`` results as tasks finish (tasks are consumed
lazily, a bounded number in flight), and ``close()``. The runner never knows which one it talks to, so a sweep runs unchanged
from a laptop (``--workers N``) to a cluster (``--scheduler tcp://HOST:PORT``) or a local Dask cluster
(``--dask-local N``, bound to 127.0.0.1 with the dashboard off: no traffic leaves loopback).

A Dask worker that dies mid-task is handled by Dask itself: its tasks are re-run elsewhere
(``retries`` covers tasks that raise for infrastructure reasons). Simulation errors never reach the
executor: ``sweeps.evaluate.run_task`` records them as rows.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from workloads.errors import InputError

_CTX: Any = None  # the run's shared context in a pool worker (set by the initializer, once)


def _init_worker(ctx: Any) -> None:
    global _CTX
    _CTX = ctx


def _call(fn: Callable[[Any, Any], Any], task: Any) -> Any:
    return fn(task, _CTX)


class LocalExecutor:
    """A process pool of ``workers`` processes (``workers == 1``: run in this process).

    ``start(ctx)`` hands the run's shared context (plan, finished ids) to the workers once, through
    the pool initializer; with ``fork`` the workers also inherit everything the driver already warmed
    (imports, numba kernels, built workloads), so they start hot.
    """

    kind = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None
        self._ctx: Any = None

    def describe(self) -> str:
        return f"local x{self.workers}"

    def start(self, ctx: Any) -> None:
        if self._pool is not None and ctx is not self._ctx:
            self.close()
        self._ctx = ctx

    def map_unordered(self, fn: Callable[[Any, Any], Any], tasks: Iterable[Any], ctx: Any = None) -> Iterator[Any]:
        """``fn(task, ctx)`` for every task, results as they finish (at most 2 tasks per worker queued)."""
        if ctx is not None and ctx is not self._ctx:
            self.start(ctx)
        it = iter(tasks)
        if self.workers == 1:
            for t in it:
                yield fn(t, self._ctx)
            return
        if self._pool is None:
            methods = mp.get_all_start_methods()
            mpctx = mp.get_context("fork" if "fork" in methods else "spawn")
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=mpctx,
                                             initializer=_init_worker, initargs=(self._ctx,))
        pending: set[Future] = set()
        max_in_flight = 2 * self.workers
        for t in it:
            pending.add(self._pool.submit(_call, fn, t))
            if len(pending) >= max_in_flight:
                break
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                yield f.result()
                nxt = next(it, None)
                if nxt is not None:
                    pending.add(self._pool.submit(_call, fn, nxt))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskExecutor:
    """Dask distributed: an existing scheduler (``address``) or a LocalCluster of ``local_workers``."""

    kind = "dask"

    def __init__(self, address: str | None = None, local_workers: int | None = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise InputError("Dask is not installed (pip install tasim[dist])", key="--scheduler") from None
        self._cluster = None
        self._ctx: Any = None
        self._ctx_future: Any = None
        if address:
            if not address.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
                raise InputError(f"{address!r} is not a scheduler address (allowed: tcp://HOST:PORT)",
                                 key="--scheduler")
            try:
                self.client = Client(address, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise InputError(f"cannot reach a Dask scheduler at {address} ({exc})".splitlines()[0],
                                 key="--scheduler") from None
        else:
            n = max(1, local_workers or 2)
            self._cluster = LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, protocol="tcp://", silence_logs=40,
            )
            self.client = Client(self._cluster)
        self.address = self.client.scheduler.address

    @property
    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info(n_workers=-1).get("workers", {})))

    def describe(self) -> str:
        return f"dask x{self.workers} @ {self.address}"

    def start(self, ctx: Any) -> None:
        """Send the run's shared context to every worker once (scatter, broadcast) and warm each worker
        (imports, numba kernels, the plan's workloads built) before the first task."""
        from sweeps.evaluate import warm

        if ctx is self._ctx:
            return
        self._ctx = ctx
        self._ctx_future = self.client.scatter(ctx, broadcast=True, hash=False)
        try:
            self.client.run(warm, ctx)
        except Exception:  # noqa: BLE001 - warming is an optimisation; tasks warm themselves
            pass

    def map_unordered(self, fn: Callable[[Any, Any], Any], tasks: Iterable[Any], ctx: Any = None) -> Iterator[Any]:
        """``fn(task, ctx)`` on the workers, results as they finish; at most 3 tasks per worker in flight
        (tasks are produced lazily: a 10 M-point grid is never a list of futures)."""
        from distributed import as_completed

        if ctx is not None:
            self.start(ctx)
        it = iter(tasks)
        window = 3 * self.workers
        ac = as_completed()
        for t in it:
            ac.add(self.client.submit(fn, t, self._ctx_future, pure=False, retries=3))
            if ac.count() >= window:
                break
        for f in ac:
            result = f.result()
            f.release()
            nxt = next(it, None)
            if nxt is not None:
                ac.add(self.client.submit(fn, nxt, self._ctx_future, pure=False, retries=3))
            yield result

    def close(self) -> None:
        if self._ctx_future is not None:
            try:
                self._ctx_future.release()
            except Exception:  # noqa: BLE001
                pass
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(workers: int | None = None, scheduler: str | None = None, dask_local: int | None = None) -> Any:
    if scheduler and dask_local:
        raise InputError("give --scheduler or --dask-local, not both", key="--dask-local")
    if scheduler or dask_local:
        return DaskExecutor(scheduler, dask_local)
    return LocalExecutor(workers)
