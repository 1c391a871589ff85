"""SCALE-Sim 3.0.0 report files, byte-compatible headers and number formatting.

SCALE-Sim (``scalesim/simulator.py: generate_reports``) writes one line per layer: ``LayerID`` and the
values joined by ``", "``, each printed with Python's ``str`` (ints as ``123``, floats as ``repr``,
e.g. ``1.0`` or ``92.5304108007367``), with a trailing comma. The header strings below are copied
from that function, including the sparse variants and the trailing ``", "`` of SPARSE_REPORT.

Files are written to temporary names in the run folder first and renamed into place only when
every file is complete, so a failed run never leaves a half-written report.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

COMPUTE_COLUMNS = ["Total Cycles (incl. prefetch)", "Total Cycles", "Stall Cycles", "Overall Util %",
                   "Mapping Efficiency %", "Compute Util %"]
BANDWIDTH_COLUMNS = ["Avg IFMAP SRAM BW", "Avg FILTER SRAM BW", "Avg OFMAP SRAM BW", "Avg IFMAP DRAM BW",
                     "Avg FILTER DRAM BW", "Avg OFMAP DRAM BW"]
BANDWIDTH_COLUMNS_SPARSE = ["Avg IFMAP SRAM BW", "Avg FILTER SRAM BW", "Avg FILTER Metadata SRAM BW",
                            "Avg OFMAP SRAM BW", "Avg IFMAP DRAM BW", "Avg FILTER DRAM BW", "Avg OFMAP DRAM BW"]
DETAILED_COLUMNS = [
    f"{mem} {op} {what}"
    for mem in ("SRAM", "DRAM")
    for op, verb in (("IFMAP", "Reads"), ("Filter", "Reads"), ("OFMAP", "Writes"))
    for what in ("Start Cycle", "Stop Cycle", verb)
]
SPARSE_COLUMNS = ["Original Filter Storage", "New Storage (Filter+Metadata)", "Filter Metadata Storage",
                  "Avg FILTER Metadata SRAM BW"]

COMPUTE_HEADER = ("LayerID, Total Cycles (incl. prefetch), Total Cycles, Stall Cycles, Overall Util %, "
                  "Mapping Efficiency %, Compute Util %,\n")
BANDWIDTH_HEADER = ("LayerID, Avg IFMAP SRAM BW, Avg FILTER SRAM BW, Avg OFMAP SRAM BW, "
                    "Avg IFMAP DRAM BW, Avg FILTER DRAM BW, Avg OFMAP DRAM BW,\n")
BANDWIDTH_HEADER_SPARSE = ("LayerID, Avg IFMAP SRAM BW, Avg FILTER SRAM BW, Avg FILTER Metadata SRAM BW, "
                           "Avg OFMAP SRAM BW, Avg IFMAP DRAM BW, Avg FILTER DRAM BW, Avg OFMAP DRAM BW,\n")
DETAILED_HEADER = "LayerID, " + ", ".join(DETAILED_COLUMNS) + ",\n"
SPARSE_HEADER = ("LayerID, Sparsity Representation, Original Filter Storage, New Storage (Filter+Metadata), "
                 "Filter Metadata Storage, Avg FILTER Metadata SRAM BW, \n")

assert DETAILED_HEADER == (
    "LayerID, SRAM IFMAP Start Cycle, SRAM IFMAP Stop Cycle, SRAM IFMAP Reads, SRAM Filter Start Cycle, "
    "SRAM Filter Stop Cycle, SRAM Filter Reads, SRAM OFMAP Start Cycle, SRAM OFMAP Stop Cycle, SRAM OFMAP Writes, "
    "DRAM IFMAP Start Cycle, DRAM IFMAP Stop Cycle, DRAM IFMAP Reads, DRAM Filter Start Cycle, "
    "DRAM Filter Stop Cycle, DRAM Filter Reads, DRAM OFMAP Start Cycle, DRAM OFMAP Stop Cycle, DRAM OFMAP Writes,\n"
)


def _line(lid: int, values: Sequence[Any], prefix: str = "") -> str:
    return f"{lid}, {prefix}" + ", ".join(str(v) for v in values) + ",\n"


def report_texts(rows: Sequence[dict[str, Any]], *, sparsity: bool, sparse_rep: str = "") -> dict[str, str]:
    """File name -> full text of each report, from per-layer dicts keyed by SCALE-Sim column names."""
    bw_cols = BANDWIDTH_COLUMNS_SPARSE if sparsity else BANDWIDTH_COLUMNS
    texts = {
        "COMPUTE_REPORT.csv": COMPUTE_HEADER + "".join(_line(i, [r[c] for c in COMPUTE_COLUMNS]) for i, r in enumerate(rows)),
        "BANDWIDTH_REPORT.csv": (BANDWIDTH_HEADER_SPARSE if sparsity else BANDWIDTH_HEADER)
        + "".join(_line(i, [r[c] for c in bw_cols]) for i, r in enumerate(rows)),
        "DETAILED_ACCESS_REPORT.csv": DETAILED_HEADER
        + "".join(_line(i, [r[c] for c in DETAILED_COLUMNS]) for i, r in enumerate(rows)),
    }
    if sparsity:
        texts["SPARSE_REPORT.csv"] = SPARSE_HEADER + "".join(
            _line(i, [r[c] for c in SPARSE_COLUMNS], prefix=f"{sparse_rep}, ") for i, r in enumerate(rows)
        )
    return texts


def write_atomically(folder: Path, texts: dict[str, str]) -> list[Path]:
    """Write every file to a temporary name in ``folder``, then rename them all into place."""
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[str, Path]] = []
    try:
        for name, text in texts.items():
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
            staged.append((tmp, folder / name))
    except BaseException:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise
    for tmp, final in staged:
        os.replace(tmp, final)
    return [final for _, final in staged]


def read_report(path: str | Path) -> tuple[list[str], list[list[str]]]:
    """(header names, rows of value strings) of a SCALE-Sim style report, LayerID column included."""
    lines = [ln for ln in Path(path).read_text().splitlines() if ln.strip()]
    header = [h.strip() for h in lines[0].rstrip().rstrip(",").split(",")]
    rows = [[v.strip() for v in ln.rstrip().rstrip(",").split(",")] for ln in lines[1:]]
    return header, rows
