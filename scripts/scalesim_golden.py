#!/usr/bin/env python3
"""Regenerate ``tests/data/scalesim_golden.csv`` by running the REAL SCALE-Sim 3.0.0.

Usage (from the repository root, any Python >= 3.10)::

    python scripts/scalesim_golden.py            # creates .venv-scalesim if missing, runs ~100 cases
    python scripts/scalesim_golden.py --jobs 2   # two worker processes
    python scripts/scalesim_golden.py --list     # print the cases, run nothing

The script creates its own virtual environment ``.venv-scalesim`` with ``scalesim==3.0.0`` and
``numpy<2.4`` (SCALE-Sim 3.0.0 does not run on numpy 2.4), then re-executes itself inside it as a
worker. Every case writes a SCALE-Sim ``.cfg`` (all sections of the 3.0.0 format,
``InterfaceBandwidth: CALC`` so runs are stall-free), a topology CSV and an empty layout file, runs
``scalesim.scale_sim.scalesim`` on them and copies the figures of ``COMPUTE_REPORT.csv``,
``BANDWIDTH_REPORT.csv``, ``DETAILED_ACCESS_REPORT.csv`` (and ``SPARSE_REPORT.csv``) verbatim, as the
text SCALE-Sim printed, into one CSV row per (case, layer). Columns named after SCALE-Sim's report
headers hold SCALE-Sim's numbers; the other columns are the inputs (cfg fields, topology row,
GEMM-equivalent M, N, K). Nothing in the output is typed by hand.

Cases: OS/WS/IS; arrays 4x4 .. 256x256, non-square; odd M, N, K including 1; conv layers (strides
that do not divide the input, non-square inputs and filters, a depth-wise 'DP' layer); a multi-layer
topology; layer-wise N:M sparsity 1:4 and 2:4 (ellpack_block, csr, csc). Sizes are chosen so the
whole run takes a few minutes on two cores.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-scalesim"
REQUIREMENTS = ["scalesim==3.0.0", "numpy<2.4"]
OUT_DEFAULT = ROOT / "tests" / "data" / "scalesim_golden.csv"

# ---- the cases ---------------------------------------------------------------------------------

# (array rows, array cols, M, N, K): dense GEMMs, run under all three dataflows.
GEMM_SHAPES: list[tuple[int, int, int, int, int]] = [
    (4, 4, 1, 1, 1),
    (4, 4, 5, 3, 1),
    (4, 4, 9, 1, 3),
    (4, 4, 1, 7, 5),
    (8, 8, 17, 13, 11),
    (8, 8, 64, 64, 64),
    (16, 16, 33, 65, 17),
    (16, 16, 100, 31, 47),
    (32, 32, 127, 129, 3),
    (32, 32, 3, 200, 9),
    (8, 16, 31, 9, 257),
    (16, 4, 45, 23, 19),
    (4, 32, 23, 45, 19),
    (12, 20, 50, 70, 30),
    (6, 10, 13, 29, 61),
    (64, 64, 200, 100, 70),
    (128, 128, 300, 130, 129),
    (256, 256, 257, 64, 100),
    (128, 256, 130, 300, 40),
    (64, 16, 1, 1000, 1),
]

# (array rows, array cols, name, ifmap h, ifmap w, filter h, filter w, channels, filters, stride)
CONV_LAYERS: list[tuple[int, int, str, int, int, int, int, int, int, int]] = [
    (8, 8, "conv3x3", 9, 9, 3, 3, 3, 8, 1),
    (16, 16, "conv3x3_s2", 11, 11, 3, 3, 4, 20, 2),
    (32, 32, "pointwise", 7, 7, 1, 1, 32, 48, 1),
    (8, 16, "conv3x3_s4", 10, 10, 3, 3, 2, 6, 4),
    (64, 64, "conv5x3_rect", 12, 15, 5, 3, 3, 70, 1),
]

# (nm, sparse representation, array rows, array cols, kind, dims): layer-wise N:M sparsity.
SPARSE_CASES: list[tuple[str, str, int, int, str, tuple[int, ...]]] = [
    ("1:4", "ellpack_block", 8, 8, "gemm", (20, 12, 18)),
    ("2:4", "csr", 16, 16, "gemm", (33, 40, 30)),
    ("2:4", "ellpack_block", 4, 4, "gemm", (7, 5, 6)),
    ("1:4", "csc", 32, 32, "gemm", (50, 64, 65)),
    ("2:4", "ellpack_block", 8, 8, "conv", (9, 9, 3, 3, 3, 8, 1)),
    ("1:1", "ellpack_block", 8, 8, "gemm", (19, 11, 13)),
]

RANDOM_GEMMS_PER_DATAFLOW = 15  # extra seeded random GEMMs per dataflow (odd sizes, odd arrays)
ARRAY_CHOICES = [(4, 4), (8, 8), (16, 16), (32, 32), (5, 7), (9, 3), (16, 32), (32, 8), (24, 40), (64, 64), (128, 32)]


def random_gemms(seed: int = 2026) -> list[tuple[int, int, int, int, int]]:
    """Seeded random (rows, cols, M, N, K), re-drawn until the run stays small (< 30k simulated lines)."""
    import random

    rng = random.Random(seed)
    out = []
    while len(out) < RANDOM_GEMMS_PER_DATAFLOW:
        h, w = rng.choice(ARRAY_CHOICES)
        m, n, k = (rng.choice([1, rng.randint(2, 40), rng.randint(41, 400)]) for _ in range(3))
        worst = max(
            -(-m // h) * -(-n // w) * (h + w + k),
            -(-k // h) * -(-n // w) * (2 * h + w + m),
            -(-k // h) * -(-m // w) * (2 * h + w + n),
        )
        if worst < 30000:
            out.append((h, w, m, n, k))
    return out


SRAM_KW = [(64, 64, 32), (256, 256, 128), (1024, 1024, 512)]  # ifmap, filter, ofmap kilo-words


def build_cases() -> list[dict]:
    cases: list[dict] = []

    def add(**kw: object) -> None:
        kw["case_id"] = len(cases)
        sram = SRAM_KW[len(cases) % len(SRAM_KW)]
        kw.setdefault("ifmap_sram_kw", sram[0])
        kw.setdefault("filter_sram_kw", sram[1])
        kw.setdefault("ofmap_sram_kw", sram[2])
        kw.setdefault("sparsity_support", False)
        kw.setdefault("sparse_rep", "")
        cases.append(kw)

    for df in ("os", "ws", "is"):
        for h, w, m, n, k in GEMM_SHAPES:
            add(input_type="gemm", dataflow=df, array_rows=h, array_cols=w, layers=[gemm_layer(f"g{m}x{n}x{k}", m, n, k)])
        for h, w, m, n, k in random_gemms():
            add(input_type="gemm", dataflow=df, array_rows=h, array_cols=w, layers=[gemm_layer(f"r{m}x{n}x{k}", m, n, k)])
        for h, w, name, ih, iw, fh, fw, c, f, s in CONV_LAYERS:
            add(input_type="conv", dataflow=df, array_rows=h, array_cols=w,
                layers=[conv_layer(name, ih, iw, fh, fw, c, f, s)])
        for nm, rep, h, w, kind, dims in SPARSE_CASES:
            if kind == "gemm":
                m, n, k = dims
                layer = gemm_layer(f"sp{m}x{n}x{k}", m, n, k, nm=None if nm == "1:1" else nm)
            else:
                layer = conv_layer("spconv", *dims, nm=nm)
            add(input_type=kind, dataflow=df, array_rows=h, array_cols=w, layers=[layer],
                sparsity_support=True, sparse_rep=rep)
        # a multi-layer GEMM topology (a tiny attention block) and a depth-wise conv layer
        add(input_type="gemm", dataflow=df, array_rows=8, array_cols=16,
            layers=[gemm_layer("qkv", 16, 96, 32), gemm_layer("scores", 16, 16, 8), gemm_layer("proj", 16, 32, 32)])
        add(input_type="conv", dataflow=df, array_rows=8, array_cols=8,
            layers=[conv_layer("DPconv", 6, 6, 3, 3, 3, 1, 1)])
    return cases


def gemm_layer(name: str, m: int, n: int, k: int, nm: str | None = None) -> dict:
    return {"name": name, "m": m, "n": n, "k": k, "nm": nm or ""}


def conv_layer(name: str, ih: int, iw: int, fh: int, fw: int, c: int, f: int, s: int, nm: str | None = None) -> dict:
    return {"name": name, "ifmap_h": ih, "ifmap_w": iw, "filter_h": fh, "filter_w": fw,
            "channels": c, "num_filters": f, "stride": s, "nm": nm or ""}


def topology_row(input_type: str, layer: dict) -> str:
    if input_type == "gemm":
        fields = [layer["name"], layer["m"], layer["n"], layer["k"]]
    else:
        fields = [layer["name"], layer["ifmap_h"], layer["ifmap_w"], layer["filter_h"], layer["filter_w"],
                  layer["channels"], layer["num_filters"], layer["stride"]]
    if layer["nm"]:
        fields.append(layer["nm"])
    return ", ".join(str(x) for x in fields) + ","


GEMM_HEADER = "Layer, M, N, K,"
CONV_HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,"


def cfg_text(case: dict) -> str:
    sparse = case["sparsity_support"]
    return f"""[general]
run_name = case{case['case_id']}

[architecture_presets]
ArrayHeight:    {case['array_rows']}
ArrayWidth:     {case['array_cols']}
IfmapSramSzkB:    {case['ifmap_sram_kw']}
FilterSramSzkB:   {case['filter_sram_kw']}
OfmapSramSzkB:    {case['ofmap_sram_kw']}
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Dataflow : {case['dataflow']}
Bandwidth : 10
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport : {'true' if sparse else 'false'}
SparseRep : {case['sparse_rep'] or 'ellpack_block'}
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""


def gemm_equivalent(input_type: str, layer: dict) -> tuple[int, int, int]:
    """Dense GEMM-equivalent (M, N, K) exactly as SCALE-Sim's topology_utils derives it."""
    if input_type == "gemm":
        return layer["m"], layer["n"], layer["k"]
    s = layer["stride"]
    oh = -(-(layer["ifmap_h"] - layer["filter_h"] + s) // s)
    ow = -(-(layer["ifmap_w"] - layer["filter_w"] + s) // s)
    return oh * ow, layer["num_filters"], layer["filter_h"] * layer["filter_w"] * layer["channels"]


def expand_layers(input_type: str, layers: list[dict]) -> list[tuple[dict, dict]]:
    """(simulated layer, topology layer): SCALE-Sim splits a conv layer named '*DP*' per channel."""
    out = []
    for layer in layers:
        if input_type == "conv" and "DP" in layer["name"]:
            for ch in range(layer["channels"]):
                out.append((dict(layer, name=f"{layer['name']}Channel_{ch}", channels=1), layer))
        else:
            out.append((layer, layer))
    return out


INPUT_COLUMNS = [
    "case_id", "layer_id", "input_type", "dataflow", "array_rows", "array_cols",
    "ifmap_sram_kw", "filter_sram_kw", "ofmap_sram_kw", "sparsity_support", "sparse_rep",
    "topology_row", "layer_name", "nm", "gemm_m", "gemm_n", "gemm_k",
]


# ---- worker (runs inside .venv-scalesim) -------------------------------------------------------


def read_report(path: Path) -> tuple[list[str], list[list[str]]]:
    lines = [ln.rstrip("\n") for ln in path.read_text().splitlines() if ln.strip()]
    header = [h.strip() for h in lines[0].rstrip(",").split(",")]
    rows = [[v.strip() for v in ln.rstrip(",").split(",")] for ln in lines[1:]]
    return header, rows


def run_case(case: dict) -> list[dict]:
    import contextlib
    import io

    from scalesim.scale_sim import scalesim

    with tempfile.TemporaryDirectory(prefix="ssgold") as tmp:
        d = Path(tmp)
        (d / "case.cfg").write_text(cfg_text(case))
        header = GEMM_HEADER if case["input_type"] == "gemm" else CONV_HEADER
        rows = [topology_row(case["input_type"], layer) for layer in case["layers"]]
        (d / "topo.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
        (d / "layout.csv").write_text("Layer name,\n")
        with contextlib.redirect_stdout(io.StringIO()):
            sim = scalesim(save_disk_space=True, verbose=False, config=str(d / "case.cfg"),
                           topology=str(d / "topo.csv"), layout=str(d / "layout.csv"),
                           input_type_gemm=case["input_type"] == "gemm")
            sim.run_scale(top_path=str(d / "out"))
        rep = d / "out" / f"case{case['case_id']}"
        reports = {}
        for name in ("COMPUTE_REPORT", "BANDWIDTH_REPORT", "DETAILED_ACCESS_REPORT", "SPARSE_REPORT"):
            p = rep / f"{name}.csv"
            if p.exists():
                reports[name] = read_report(p)
    # one row per layer after SCALE-Sim's DP expansion
    out = []
    for lid, (layer, orig) in enumerate(expand_layers(case["input_type"], case["layers"])):
        m, n, k = gemm_equivalent(case["input_type"], layer)
        row = {
            "case_id": case["case_id"], "layer_id": lid, "input_type": case["input_type"],
            "dataflow": case["dataflow"], "array_rows": case["array_rows"], "array_cols": case["array_cols"],
            "ifmap_sram_kw": case["ifmap_sram_kw"], "filter_sram_kw": case["filter_sram_kw"],
            "ofmap_sram_kw": case["ofmap_sram_kw"], "sparsity_support": case["sparsity_support"],
            "sparse_rep": case["sparse_rep"], "topology_row": topology_row(case["input_type"], orig), "layer_name": layer["name"],
            "nm": layer["nm"], "gemm_m": m, "gemm_n": n, "gemm_k": k,
        }
        for name, (header, rows) in reports.items():
            values = rows[lid]
            for h, v in zip(header, values):
                if h == "LayerID":
                    assert int(v) == lid
                    continue
                if name == "SPARSE_REPORT" and h == "Avg FILTER Metadata SRAM BW":
                    h = "Sparse Avg FILTER Metadata SRAM BW"
                row[h] = v
        out.append(row)
    return out


def worker(out: Path, jobs: int, only: list[int] | None) -> int:
    import multiprocessing as mp

    cases = build_cases()
    if only:
        cases = [c for c in cases if c["case_id"] in only]
    t0 = time.perf_counter()
    rows: list[dict] = []
    if jobs > 1:
        with mp.Pool(jobs) as pool:
            for i, res in enumerate(pool.imap(run_case, cases)):
                rows.extend(res)
                print(f"  case {cases[i]['case_id']:3d} done ({time.perf_counter() - t0:6.1f} s)", flush=True)
    else:
        for case in cases:
            rows.extend(run_case(case))
            print(f"  case {case['case_id']:3d} done ({time.perf_counter() - t0:6.1f} s)", flush=True)
    columns = list(INPUT_COLUMNS)
    for r in rows:
        for key in r:
            if key not in columns:
                columns.append(key)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".golden", suffix=".csv")
    with os.fdopen(fd, "w", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=columns, restval="")
        wr.writeheader()
        wr.writerows(rows)
    os.replace(tmp, out)
    print(f"wrote {len(rows)} rows ({len(cases)} cases) to {out} in {time.perf_counter() - t0:.1f} s")
    return 0


# ---- driver ------------------------------------------------------------------------------------


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv() -> Path:
    py = venv_python()
    check = "import importlib.metadata as m; assert m.version('scalesim') == '3.0.0'; import numpy, scalesim"
    if py.exists() and subprocess.run([str(py), "-c", check], capture_output=True).returncode == 0:
        return py
    print(f"creating {VENV} with {' '.join(REQUIREMENTS)}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", *REQUIREMENTS], check=True)
    return py


def in_scalesim_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Run the real SCALE-Sim 3.0.0 on the golden cases and write the golden CSV.",
        epilog="Example: python scripts/scalesim_golden.py --jobs 2",
    )
    ap.add_argument("--out", type=Path, default=OUT_DEFAULT, help="output CSV (default: %(default)s)")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (default: 1)")
    ap.add_argument("--only", type=int, nargs="*", help="run only these case ids (for debugging)")
    ap.add_argument("--list", action="store_true", help="print the cases and exit")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.list:
        for c in build_cases():
            rows = " | ".join(topology_row(c["input_type"], lay) for lay in c["layers"])
            print(f"{c['case_id']:3d} {c['dataflow']} {c['array_rows']}x{c['array_cols']} "
                  f"{'sparse ' + c['sparse_rep'] if c['sparsity_support'] else ''} {rows}")
        return 0
    if args.worker or in_scalesim_venv():
        return worker(args.out.resolve(), args.jobs, args.only)
    py = ensure_venv()
    cmd = [str(py), str(Path(__file__).resolve()), "--worker", "--out", str(args.out.resolve()),
           "--jobs", str(args.jobs)]
    if args.only:
        cmd += ["--only", *map(str, args.only)]
    return subprocess.run(cmd).returncode


if __name__ == "__main__":
    sys.exit(main())
