"""Executors: run batches of design points locally (process pool) or on Dask distributed.

Both have the same interface: ``start(ctx)`` sends the run's shared context to the workers once,
``map_unordered(fn, tasks, ctx)`` yields ``fn(task, ctx)`` results as tasks finish (tasks are consumed
lazily, a bounded number in flight), and ``close()``. The runner never knows which one it talks to, so a sweep runs unchanged
from a laptop (``--workers N``) to a cluster (``--scheduler tls://HOST:PORT --security FILE``) or a
local Dask cluster (``--dask-local N``).

``--dask-local`` is private to the sweep: every listener is bound to 127.0.0.1 (no traffic leaves
loopback), all connections use TLS with temporary credentials made for this run
(``distributed.security.Security.temporary()``: a fresh CA and key that only this process and its
workers hold, so no other local process can connect and run code), and the dashboard is off: Dask
always opens an HTTP listener, which tasim binds to a random loopback port with no routes (every
request is 404); the workers open none.

A Dask worker that dies mid-task is handled by Dask itself: its tasks are re-run elsewhere
(``retries`` covers tasks that raise for infrastructure reasons). Simulation errors never reach the
executor: ``sweeps.evaluate.run_task`` records them as rows.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workloads.errors import InputError, one_line, show_value
from workloads.schema import from_dict, load_yaml, path_exists, spec_field

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

    def __init__(self, address: str | None = None, local_workers: int | None = None,
                 security_file: str | None = None) -> None:
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError:
            raise InputError("Dask is not installed (pip install tasim[dist])", key="--scheduler") from None
        self._cluster = None
        self._ctx: Any = None
        self._ctx_future: Any = None
        if address:
            if not re.fullmatch(r"(tcp|tls)://[\w.\-\[\]:]{1,200}", address):
                raise InputError(f"{show_value(address)} is not a scheduler address (allowed: tls://HOST:PORT with "
                                 "--security FILE, or tcp://HOST:PORT)", key="--scheduler")
            security = load_security(security_file) if security_file else None
            if address.startswith("tls://") and security is None:
                raise InputError("a tls:// scheduler needs credentials (allowed: --security FILE)", key="--security")
            try:
                self.client = Client(address, timeout="20s", security=security)
            except (OSError, TimeoutError, ValueError, TypeError) as exc:
                raise InputError(f"cannot reach a Dask scheduler at {address} ({one_line(str(exc), 200)})",
                                 key="--scheduler") from None
        else:
            if security_file:
                raise InputError("--security is for --scheduler (--dask-local makes its own credentials)",
                                 key="--security")
            try:
                from distributed.security import Security

                security = Security.temporary()
            except ImportError:
                raise InputError("--dask-local needs the cryptography package for TLS (pip install tasim[dist])",
                                 key="--dask-local") from None
            n = max(1, local_workers or 2)
            with dask.config.set(NO_HTTP_ROUTES):
                self._cluster = LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                    dashboard_address="127.0.0.1:0", worker_dashboard_address=None, protocol="tls://",
                    security=security, silence_logs=40, scheduler_kwargs={"dashboard": False},
                )
            self.client = Client(self._cluster, security=security)
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


def make_executor(workers: int | None = None, scheduler: str | None = None, dask_local: int | None = None,
                  security: str | None = None) -> Any:
    if scheduler and dask_local:
        raise InputError("give --scheduler or --dask-local, not both", key="--dask-local")
    if security and not scheduler:
        raise InputError("--security is for --scheduler (allowed: --scheduler ADDR --security FILE)",
                         key="--security")
    if scheduler or dask_local:
        return DaskExecutor(scheduler, dask_local, security)
    return LocalExecutor(workers)


# Dask's HTTP listeners serve nothing (the dashboard and the /health, /metrics ... pages are off)
NO_HTTP_ROUTES = {"distributed.scheduler.http.routes": [], "distributed.worker.http.routes": []}


@dataclass(frozen=True)
class SecuritySpec:
    """``--security FILE``: the TLS credentials of this client for a ``tls://`` scheduler (PEM files;
    relative paths are relative to FILE)."""

    ca_file: str = spec_field(doc="the cluster's CA certificate")
    cert: str = spec_field(doc="this client's certificate")
    key: str = spec_field("", doc="this client's private key (if not in cert)")


def load_security(path: str) -> Any:
    """A ``distributed.security.Security`` from a validated YAML file (see :class:`SecuritySpec`)."""
    from distributed.security import Security

    spec = from_dict(SecuritySpec, load_yaml(path), source=path)
    base = Path(path).parent
    files = {}
    for name in ("ca_file", "cert", "key"):
        value = getattr(spec, name)
        if not value:
            continue
        p = Path(value) if Path(value).is_absolute() else base / value
        if not path_exists(p) or not p.is_file():
            raise InputError(f"no such file {show_value(str(p))}", source=path, key=name)
        files[name] = str(p)
    return Security(tls_ca_file=files["ca_file"], tls_client_cert=files["cert"],
                    tls_client_key=files.get("key"), require_encryption=True)
