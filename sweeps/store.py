"""The results store: a Parquet dataset in a directory, resumable, crash-safe, duplicate-free.

Layout of ``DIR``::

    sweep.json                 the resolved spec and run metadata (written atomically)
    parts/part-<uuid>.parquet  one file per finished batch (tidy rows, see sweeps/evaluate.py)
    parts/compact-<uuid>.parquet  many parts merged into one; its Parquet metadata lists the parts
                               it supersedes, which are deleted (and ignored if still present)

Every file is written to a hidden ``.tmp`` name and ``os.replace``-d into place, so a ``kill -9`` at
any moment leaves either the whole batch or nothing (leftover ``.tmp`` files are swept at the next
open). A design point is finished when its ``row == "total"`` row exists; the runner only submits
points that are not finished, so a point's rows exist exactly once.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from workloads.errors import InputError

PARTS = "parts"
META_SUPERSEDES = b"tasim_supersedes"


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

    def compact(self, min_parts: int = 8) -> None:
        """Merge small part files into one (crash-safe: the merged file names what it replaces)."""
        parts = [f for f in self.part_files() if f.name.startswith("part-")]
        if len(parts) < min_parts:
            return
        df = pd.concat([pq.read_table(f).to_pandas() for f in parts], ignore_index=True)
        table = pa.Table.from_pandas(_normalise(df), preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta[META_SUPERSEDES] = json.dumps([f.name for f in parts]).encode()
        table = table.replace_schema_metadata(meta)
        self._atomic_write_table(table, f"compact-{uuid.uuid4().hex}.parquet")
        for f in parts:
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
        done: set[str] = set()
        for f in self.part_files():
            t = pq.read_table(f, columns=["point_id", "row"])
            ids = t.column("point_id").to_numpy(zero_copy_only=False)
            rows = t.column("row").to_numpy(zero_copy_only=False)
            done.update(ids[rows == "total"].tolist())
        return done

    def load(self) -> pd.DataFrame:
        files = self.part_files()
        if not files:
            return pd.DataFrame(columns=["point_id", "row", "op_kind", "status", "error"])
        frames = [pq.read_table(f).to_pandas() for f in files]
        frames = [f for f in frames if len(f)]
        df = pd.concat(frames, ignore_index=True) if frames else frames[0]
        return df


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


def load_totals(directory: str | Path, *, ok_only: bool = True) -> pd.DataFrame:
    """One row per design point (the totals rows), by default only the ones that simulated fine."""
    df = load(directory)
    df = df[df["row"] == "total"]
    if ok_only and "status" in df.columns:
        df = df[df["status"] == "ok"]
    return df.reset_index(drop=True)
