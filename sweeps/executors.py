"""Executors: run batches of design points locally (process pool) or on Dask distributed.

Both have the same interface: ``map_unordered(fn, tasks)`` yields ``(task_index, result)`` as tasks
finish, and ``close()``. The runner never knows which one it talks to, so a sweep runs unchanged
from a laptop (``--workers N``) to a cluster (``--scheduler tcp://HOST:PORT``) or a local Dask cluster
(``--dask-local N``, bound to 127.0.0.1 with the dashboard off: no traffic leaves loopback).

A Dask worker that dies mid-task is handled by Dask itself: its tasks are re-run elsewhere
(``retries`` covers tasks that raise for infrastructure reasons). Simulation errors never reach the
executor: ``evaluate_batch`` records them as rows.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from workloads.errors import InputError


class LocalExecutor:
    """A process pool of ``workers`` processes (``workers == 1``: run in this process)."""

    kind = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None

    def describe(self) -> str:
        return f"local x{self.workers}"

    def map_unordered(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        if self.workers == 1 or len(tasks) <= 1:
            for i, t in enumerate(tasks):
                yield i, fn(t)
            return
        if self._pool is None:
            methods = mp.get_all_start_methods()
            ctx = mp.get_context("fork" if "fork" in methods else "spawn")
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
        pending: dict[Future, int] = {}
        it = iter(enumerate(tasks))
        max_in_flight = 2 * self.workers
        for i, t in it:
            pending[self._pool.submit(fn, t)] = i
            if len(pending) >= max_in_flight:
                break
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                i = pending.pop(f)
                yield i, f.result()
                nxt = next(it, None)
                if nxt is not None:
                    pending[self._pool.submit(fn, nxt[1])] = nxt[0]

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

    def map_unordered(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        from distributed import as_completed

        futures = [self.client.submit(fn, t, pure=False, retries=3) for t in tasks]
        index = {f.key: i for i, f in enumerate(futures)}
        for f in as_completed(futures):
            i = index[f.key]
            yield i, f.result()
            f.release()

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(workers: int | None = None, scheduler: str | None = None, dask_local: int | None = None) -> Any:
    if scheduler and dask_local:
        raise InputError("give --scheduler or --dask-local, not both", key="--dask-local")
    if scheduler or dask_local:
        return DaskExecutor(scheduler, dask_local)
    return LocalExecutor(workers)
