"""The results store: a Parquet dataset in a directory, resumable, crash-safe, duplicate-free.

Layout of ``DIR``::

    sweep.json                 the resolved spec and run metadata (written atomically)
    parts/part-<uuid>.parquet  one file per finished batch (tidy rows, see sweeps/evaluate.py)
    parts/compact-<uuid>.parquet  many parts merged into one (streamed, at most COMPACT_ROWS rows);
                               its Parquet metadata lists the parts it supersedes, which are deleted
                               (and ignored if still present)
    points.npy                 sorted uint64 ids of the points of the last completed run's spec:
                               readers show those (a store extended by an edited spec keeps the old
                               points for reuse but reports the current ones)

Total rows come first in every file, in their own row groups, so reading the totals (reports,
fronts, resume) skips the op-kind rows by their statistics.

Every file is written to a hidden ``.tmp`` name and ``os.replace``-d into place, so a ``kill -9`` at
any moment leaves either the whole batch or nothing (leftover ``.tmp`` files are swept at the next
open). A design point is finished when its ``row == "total"`` row exists; the runner only submits
points that are not finished, so a point's rows exist exactly once.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from workloads.errors import InputError

PARTS = "parts"
POINTS = "points.npy"  # sorted uint64 ids of the design points of the last completed run's spec
META_SUPERSEDES = b"tasim_supersedes"
COMPACT_ROWS = 4_000_000  # rows per merged file
SMALL_PART_ROWS = 20_000  # parts below this are merged at the end of a run


class Store:
    def __init__(self, directory: str | Path, *, create: bool = True) -> None:
        self.dir = Path(directory)
        self.parts_dir = self.dir / PARTS
        if create:
            self.parts_dir.mkdir(parents=True, exist_ok=True)
        elif not self.parts_dir.is_dir():
            raise InputError("not a tasim results directory (no parts/ folder; run `tasim sweep` first)",
                             source=str(self.dir))
        if create:
            self._cleanup()

    # ---- files -----------------------------------------------------------------------------------
    def _cleanup(self) -> None:
        for tmp in self.parts_dir.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
        for name in self._superseded():
            (self.parts_dir / name).unlink(missing_ok=True)

    def _superseded(self) -> set[str]:
        out: set[str] = set()
        for f in sorted(self.parts_dir.glob("compact-*.parquet")):
            meta = pq.read_schema(f).metadata or {}
            if META_SUPERSEDES in meta:
                out.update(json.loads(meta[META_SUPERSEDES]))
        return out

    def part_files(self) -> list[Path]:
        superseded = self._superseded()
        files = sorted(self.parts_dir.glob("part-*.parquet")) + sorted(self.parts_dir.glob("compact-*.parquet"))
        return [f for f in files if f.name not in superseded]

    def _atomic_write_table(self, table: pa.Table, name: str) -> Path:
        final = self.parts_dir / name
        tmp = self.parts_dir / f".{name}.tmp"
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, final)
        return final

    # ---- writing ---------------------------------------------------------------------------------
    def write_batch(self, df: pd.DataFrame | pa.Table) -> Path | None:
        """Append one finished batch (all its rows, or nothing if killed mid-write)."""
        if df is None or len(df) == 0:
            return None
        table = df if isinstance(df, pa.Table) else to_table(df)
        return self._atomic_write_table(table, f"part-{uuid.uuid4().hex}.parquet")

    def write_bytes(self, data: bytes) -> Path:
        """Append one finished batch already encoded as a Parquet file (by a worker): atomic rename."""
        name = f"part-{uuid.uuid4().hex}.parquet"
        tmp = self.parts_dir / f".{name}.tmp"
        tmp.write_bytes(data)
        final = self.parts_dir / name
        os.replace(tmp, final)
        return final

    def compact(self, min_parts: int = 8, max_rows: int = COMPACT_ROWS, small_rows: int = SMALL_PART_ROWS) -> None:
        """Merge small part files (< ``small_rows`` rows) into files of up to ``max_rows`` rows, streaming:
        one part in memory at a time. Large parts (big tasks of long sweeps) are left as they are.

        Crash-safe: each merged file names the parts it replaces in its Parquet metadata; those are
        deleted after it is in place, and ignored if a crash left them behind. Every part keeps its
        total rows in their own row groups, so readers of the totals skip the op-kind rows.
        """
        parts = []
        for f in self.part_files():
            if f.name.startswith("part-"):
                n = pq.ParquetFile(f).metadata.num_rows
                if n < small_rows:
                    parts.append((f, n))
        if len(parts) < min_parts:
            return
        groups: list[list[Path]] = [[]]
        rows = 0
        for f, n in parts:
            if groups[-1] and rows + n > max_rows:
                groups.append([])
                rows = 0
            groups[-1].append(f)
            rows += n
        for files in groups:
            if len(files) < 2:
                continue
            schema = unify([pq.read_schema(f) for f in files])
            meta = dict(schema.metadata or {})
            meta[META_SUPERSEDES] = json.dumps([f.name for f in files]).encode()
            name = f"compact-{uuid.uuid4().hex}.parquet"
            tmp = self.parts_dir / f".{name}.tmp"
            with pq.ParquetWriter(tmp, schema.with_metadata(meta), compression="zstd") as w:
                for f in files:
                    t = conform(pq.read_table(f), schema)
                    row = t.column("row").to_numpy(zero_copy_only=False)
                    n_tot = int((row == "total").sum())
                    if n_tot and (row[:n_tot] == "total").all():  # totals first: keep them a row group
                        w.write_table(t.slice(0, n_tot))
                        if t.num_rows > n_tot:
                            w.write_table(t.slice(n_tot))
                    else:
                        w.write_table(t)
            os.replace(tmp, self.parts_dir / name)
            for f in files:
                f.unlink(missing_ok=True)

    def write_meta(self, meta: dict[str, Any]) -> None:
        tmp = self.dir / ".sweep.json.tmp"
        tmp.write_text(json.dumps(meta, indent=2, default=str))
        os.replace(tmp, self.dir / "sweep.json")

    def read_meta(self) -> dict[str, Any]:
        p = self.dir / "sweep.json"
        return json.loads(p.read_text()) if p.exists() else {}

    # ---- reading ---------------------------------------------------------------------------------
    def finished_ids(self) -> set[str]:
        """Ids of the stored design points (strings; see :meth:`finished_ints` for large stores)."""
        out: set[str] = set()
        for t in self.scan(["point_id"], totals=True, current=False):
            out.update(t.column("point_id").to_pylist())
        return out

    def finished_ints(self) -> np.ndarray:
        """Sorted unique uint64 ids of every stored design point (a total row exists): 8 bytes a point."""
        from sweeps.plan import pid_to_int

        parts = []
        for t in self.scan(["point_id"], totals=True, current=False):
            parts.append(pid_to_int(t.column("point_id")))
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.uint64)

    def current_ints(self) -> np.ndarray | None:
        """Ids of the design points of the last completed run's spec (None: unknown, show everything)."""
        p = self.dir / POINTS
        return np.load(p) if p.exists() else None

    def write_current(self, ints: np.ndarray) -> None:
        """Record the ids of the current spec's points (``ints`` is sorted in place)."""
        tmp = self.dir / f".{POINTS}.tmp"
        ints = np.asarray(ints, dtype=np.uint64)
        ints.sort()  # in place, then drop repeats: no extra copies of a 10 M-id array
        keep = np.empty(ints.size, dtype=bool)
        if ints.size:
            keep[0] = True
            np.not_equal(ints[1:], ints[:-1], out=keep[1:])
        with open(tmp, "wb") as fh:
            np.save(fh, ints[keep])
        os.replace(tmp, self.dir / POINTS)

    def forget_current(self) -> None:
        (self.dir / POINTS).unlink(missing_ok=True)

    def scan(self, columns: list[str] | None = None, *, totals: bool = False, ok_only: bool = False,
             current: bool = True, point_ids: Any = None) -> Iterator[pa.Table]:
        """Stored rows part by part (bounded memory): only ``columns`` (those that exist), only total
        rows with ``totals``, only status ok with ``ok_only``, only points of the current spec with
        ``current`` (see :meth:`current_ints`), only ``point_ids`` (hex strings) when given."""
        from sweeps.plan import pid_to_int

        keep = self.current_ints() if current else None
        want = None if point_ids is None else pa.array(sorted(set(point_ids)), pa.string())
        for f in self.part_files():
            try:
                names = pq.read_schema(f).names
            except FileNotFoundError:  # removed by a compaction running meanwhile
                continue
            cols = None if columns is None else [c for c in dict.fromkeys(columns) if c in names]
            need = set(cols or names) | {"row", "status", "point_id"}
            read_cols = None if cols is None else [c for c in names if c in need]
            filters = [("row", "==", "total")] if totals else None
            t = pq.read_table(f, columns=read_cols, filters=filters)
            if ok_only and "status" in t.column_names:
                t = t.filter(pc.equal(t.column("status"), "ok"))
            if keep is not None and t.num_rows:
                ints = pid_to_int(t.column("point_id"))
                t = t.filter(pa.array(_member(ints, keep)))
            if want is not None and t.num_rows:
                t = t.filter(pc.is_in(t.column("point_id"), value_set=want))
            if cols is not None:
                t = t.select([c for c in cols if c in t.column_names])
            if t.num_rows:
                yield t

    def read(self, columns: list[str] | None = None, **kw: Any) -> pa.Table:
        """:meth:`scan` concatenated (columns missing in some parts are nulls there)."""
        tables = list(self.scan(columns, **kw))
        if not tables:
            return pa.table({c: pa.array([], pa.string()) for c in (columns or ["point_id", "row", "op_kind", "status", "error"])})
        schema = unify([t.schema for t in tables])
        return pa.concat_tables([conform(t, schema) for t in tables])

    def load(self, *, current: bool = True) -> pd.DataFrame:
        """Every stored row (of the current spec) as one DataFrame (small sweeps; see :meth:`scan`)."""
        t = self.read(current=current)
        return t.to_pandas()


def _member(ints: np.ndarray, keep: np.ndarray) -> np.ndarray:
    if keep.size == 0:
        return np.zeros(ints.size, dtype=bool)
    pos = np.minimum(np.searchsorted(keep, ints), keep.size - 1)
    return keep[pos] == ints


def unify(schemas: list[pa.Schema]) -> pa.Schema:
    """One schema for parts written by different batches: union of columns, nulls promoted, and
    int/float conflicts widened to float64."""
    fields: dict[str, pa.DataType] = {}
    for s in schemas:
        for f in s:
            old = fields.get(f.name)
            if old is None or pa.types.is_null(old):
                fields[f.name] = f.type
            elif pa.types.is_null(f.type) or old == f.type:
                continue
            elif (pa.types.is_integer(old) or pa.types.is_floating(old)) and (
                    pa.types.is_integer(f.type) or pa.types.is_floating(f.type)):
                fields[f.name] = pa.float64()
            else:
                fields[f.name] = pa.string()
    return pa.schema([pa.field(k, v) for k, v in fields.items()])


def conform(t: pa.Table, schema: pa.Schema) -> pa.Table:
    """``t`` with exactly ``schema``'s columns (missing ones null) and types."""
    cols = []
    for f in schema:
        if f.name in t.column_names:
            c = t.column(f.name)
            cols.append(c if c.type == f.type else c.cast(f.type))
        else:
            cols.append(pa.nulls(t.num_rows, f.type))
    return pa.Table.from_arrays(cols, schema=schema.remove_metadata())


def to_table(df: pd.DataFrame) -> pa.Table:
    """A batch DataFrame as a Parquet-ready Arrow table (done in the workers, off the writer's path)."""
    return pa.Table.from_pandas(_normalise(df), preserve_index=False)


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    """Make object columns Parquet-friendly: all-None -> float NaN, mixed numbers -> float, else str."""
    df = df.copy()
    for c in df.columns:
        s = df[c]
        if s.dtype != object:
            continue
        non_null = s.dropna()
        if len(non_null) == 0:
            df[c] = s.astype(float)
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in non_null):
            df[c] = pd.to_numeric(s, errors="coerce").astype(float)
        elif all(isinstance(v, bool) for v in non_null):
            df[c] = s.astype("boolean")
        else:
            df[c] = s.map(lambda v: None if v is None or (isinstance(v, float) and v != v) else str(v))
    return df


def load(directory: str | Path) -> pd.DataFrame:
    """All rows of a results directory as one tidy DataFrame (``row`` is 'total' or 'op_kind')."""
    return Store(directory, create=False).load()


def load_totals(directory: str | Path, *, ok_only: bool = True, columns: list[str] | None = None) -> pd.DataFrame:
    """One row per design point (the totals rows), by default only the ones that simulated fine;
    ``columns`` reads only those (large sweeps)."""
    t = Store(directory, create=False).read(columns, totals=True, ok_only=ok_only)
    return t.to_pandas().reset_index(drop=True)
