"""Design points planned lazily, by index: a sweep is a grid index space, never a list in memory.

A :class:`Plan` is what a worker needs to turn an index into a design point and a point id: the
validated base :class:`~simulator.arch.ArchSpec`, the axis values (one "dimension" per axis, or per
PE-array shape), the workload keys, the engine and the evaluator. It is small and picklable; tasks
carry only ``(workload index, arch indices)``.

Design point ``i`` of the grid is workload ``i % W`` on arch ``i // W`` (W workloads, the last axis
varying fastest), exactly the order of :meth:`sweeps.spec.Sweep.arch_choices`. Tasks group arch
indices of ONE workload, so a worker builds that workload once and evaluates its designs together.

Point ids (:func:`sweeps.evaluate.point_id`: a SHA-256 content hash of the resolved arch mapping, the
workload key, the engine, the evaluator and the tasim build) are computed from a JSON *template*: the
canonical JSON text of a point with a placeholder at every axis leaf, filled in with the precomputed
JSON of the axis values. The text (and so the id) is byte-for-byte the one ``content_hash`` of the
full mapping gives, at ~5 us per point instead of building and serialising a dict per point.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from sweeps.spec import MAX_GRID_POINTS  # noqa: F401  (re-exported: the grid limit)
from workloads.schema import deep_copy

_SENTINEL_RE = re.compile(r'"\\u0000(\d+)\\u0000"')


def _json(v: Any) -> str:
    return json.dumps(v, sort_keys=True, separators=(",", ":"), default=str)


def _set_leaf(d: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path in a copy-on-write arch mapping; a named list (``memory:`` levels) is entered
    by the entry's name (``memory.unified_buffer.capacity_kib``)."""
    *parents, leaf = path.split(".")
    node: Any = d
    for part in parents:
        if isinstance(node, list):
            i = [e.get("name") if isinstance(e, dict) else None for e in node].index(part)
            node[i] = dict(node[i])
            node = node[i]
        else:
            node[part] = list(node[part]) if isinstance(node[part], list) else dict(node[part])
            node = node[part]
    node[leaf] = value


def pid_to_int(pids: Any) -> np.ndarray:
    """16-hex-digit point ids (strings, or an Arrow string array) -> uint64 (vectorised, no Python loop)."""
    import pyarrow as pa

    if isinstance(pids, (pa.ChunkedArray, pa.Array)):
        chunks = pids.chunks if isinstance(pids, pa.ChunkedArray) else [pids]
        return np.concatenate([_arrow_hex(c) for c in chunks]) if chunks else np.zeros(0, np.uint64)
    return np.array([_one(str(p)) for p in pids], dtype=np.uint64)


def _one(p: str) -> int:
    """A 16-hex-digit id as an int; any other string (not a tasim id) to a stable 64-bit hash."""
    if len(p) == 16:
        try:
            return int(p, 16)
        except ValueError:
            pass
    return int.from_bytes(hashlib.sha256(p.encode()).digest()[:8], "big")


def _arrow_hex(chunk: Any) -> np.ndarray:
    import pyarrow as pa

    n = len(chunk)
    if n == 0:
        return np.zeros(0, np.uint64)
    if chunk.null_count or not pa.types.is_string(chunk.type):
        return pid_to_int([str(x) for x in chunk.to_pylist() if x is not None])
    if chunk.offset:
        chunk = pa.concat_arrays([chunk])  # a slice: copy so the buffers start at the first value
    offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32)[:n + 1]
    if not np.all(np.diff(offsets) == 16):
        return pid_to_int(chunk.to_pylist())
    data = np.frombuffer(chunk.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    try:
        return _hex_bytes(data.reshape(n, 16))
    except ValueError:
        return pid_to_int(chunk.to_pylist())


_HEX = np.full(256, 255, dtype=np.uint8)
_HEX[np.frombuffer(b"0123456789", np.uint8)] = np.arange(10)
_HEX[np.frombuffer(b"abcdef", np.uint8)] = np.arange(10, 16)
_HEX[np.frombuffer(b"ABCDEF", np.uint8)] = np.arange(10, 16)


def _hex_bytes(b: np.ndarray) -> np.ndarray:
    nib = _HEX[b].astype(np.uint64)
    if (nib > 15).any():
        raise ValueError("point ids must be 16 hex digits")
    out = np.zeros(len(b), dtype=np.uint64)
    for j in range(16):
        out = (out << np.uint64(4)) | nib[:, j]
    return out


def int_to_pid(x: int) -> str:
    return f"{int(x):016x}"


@dataclass
class Task:
    """One executor task: arch indices of one workload (sorted), ``index`` for bookkeeping."""

    index: int
    workload: int
    archs: np.ndarray

    def __len__(self) -> int:
        return int(self.archs.size)


class Plan:
    """Index space of a sweep (see the module docstring); picklable, a few KiB."""

    def __init__(self, sweep: Any, engine: str, build: str) -> None:
        from sweeps.workload_build import identity

        self.name = sweep.spec.name
        self.engine = engine
        self.evaluator = sweep.evaluator  # '' or the evaluator function (pickled by reference into tasks)
        self.evaluator_id = sweep.evaluator_id
        self.build = build
        self.base_arch = sweep.base_arch
        self.arch_name = sweep.base_arch.name
        self.axis_columns = list(sweep.axis_columns)
        self.dims: list[list[tuple[tuple[str, Any], ...]]] = sweep._dims()
        self.sizes = np.array([len(d) for d in self.dims], dtype=np.int64)
        self.n_archs = int(np.prod(self.sizes)) if len(self.dims) else 1
        self.workloads = list(sweep.workload_keys)
        self.n_workloads = len(self.workloads)
        # pid templates: one per workload; placeholders numbered by (dim, leaf)
        leaves = [(d, j, path) for d, dim in enumerate(self.dims) for j, (path, _) in enumerate(dim[0])]
        base = sweep.base_arch_dict
        arch_t = deep_copy(base)
        for s, (_, _, path) in enumerate(leaves):
            _set_leaf(arch_t, path, f"\x00{s}\x00")
        self._leaf_dim = [(d, j) for d, j, _ in leaves]
        self._frag = [[[_json(v) for _, v in combo] for combo in dim] for dim in self.dims]
        self._templates: list[tuple[list[str], list[int]]] = []
        for wk in self.workloads:
            wl = identity(wk)
            text = _json({"arch": arch_t, "workload": wl, "engine": engine, "version": build,
                          "evaluator": self.evaluator_id})
            pieces = _SENTINEL_RE.split(text)
            self._templates.append((pieces[0::2], [int(x) for x in pieces[1::2]]))

    # ---- indices -----------------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return self.n_archs * self.n_workloads

    def digits(self, archs: np.ndarray) -> np.ndarray:
        """(n, n_dims) position in every dimension of each arch index."""
        if not len(self.dims):
            return np.zeros((len(archs), 0), dtype=np.int64)
        return np.stack(np.unravel_index(np.asarray(archs, dtype=np.int64), tuple(self.sizes)), axis=1)

    def axes_of(self, digits: np.ndarray) -> tuple[tuple[str, Any], ...]:
        return tuple(kv for d, r in enumerate(digits) for kv in self.dims[d][int(r)])

    def overrides(self, digits: np.ndarray) -> dict[str, Any]:
        return dict(self.axes_of(digits))

    # ---- ids -----------------------------------------------------------------------------------------
    def point_ids(self, workload: int, archs: np.ndarray) -> tuple[list[str], np.ndarray]:
        """Hex ids and their uint64 values of design points (workload, arch index)."""
        parts, slots = self._templates[workload]
        frag, leaf_dim = self._frag, self._leaf_dim
        digs = self.digits(archs).tolist()
        hexes: list[str] = []
        ints = np.empty(len(digs), dtype=np.uint64)
        sha = hashlib.sha256
        for i, dg in enumerate(digs):
            buf = [parts[0]]
            for s, p in zip(slots, parts[1:]):
                d, j = leaf_dim[s]
                buf.append(frag[d][dg[d]][j])
                buf.append(p)
            h = sha("".join(buf).encode()).hexdigest()[:16]
            hexes.append(h)
            ints[i] = int(h, 16)
        return hexes, ints

    # ---- tasks ---------------------------------------------------------------------------------------
    def tasks(self, arch_indices: np.ndarray | None, size: int, workloads: list[int] | None = None) -> Iterator[Task]:
        """Tasks of at most ``size`` designs: workload-major, arch indices ascending (lazy for grids)."""
        ws = range(self.n_workloads) if workloads is None else workloads
        k = 0
        for w in ws:
            if arch_indices is None:
                for a0 in range(0, self.n_archs, size):
                    yield Task(k, w, np.arange(a0, min(a0 + size, self.n_archs), dtype=np.int64))
                    k += 1
            else:
                for a0 in range(0, len(arch_indices), size):
                    yield Task(k, w, np.asarray(arch_indices[a0:a0 + size], dtype=np.int64))
                    k += 1




def random_indices(total: int, n: int, seed: int) -> np.ndarray:
    """``n`` distinct indices of ``range(total)`` drawn with ``seed``, sorted (the grid is never built)."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(total, size=min(n, total), replace=False)).astype(np.int64)
