"""tasim vs the real SCALE-Sim 3.0.0 on the same layers: wall times and the ratio (prints; no assertions).

Reference point (issue 2): SCALE-Sim needs minutes for BERT-base FFN1 (M=128, K=768, N=3072) on a
32x32 OS array; ``tasim scalesim`` should answer the same run in well under 0.1 s.

SCALE-Sim runs through its own command line (``python -m scalesim.scale``, as a user runs it; it
always writes its traces) in ``.venv-scalesim`` (create it with ``python scripts/scalesim_golden.py``),
in a subprocess. tasim is timed twice: the whole ``tasim scalesim`` command in a subprocess
(interpreter start-up and imports included) and ``run_scalesim`` in-process (parse + simulate +
write reports, best of several). Both write their reports; the Total Cycles are compared.

    .venv/bin/python benchmarks/bench_scalesim.py            # BERT-base FFN1 (SCALE-Sim: minutes)
    .venv/bin/python benchmarks/bench_scalesim.py --quick    # a small layer (SCALE-Sim: seconds)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCALESIM_PY = ROOT / ".venv-scalesim" / "bin" / "python"

LAYERS = {
    "full": ("bert_ffn1", 128, 3072, 768),  # name, M, N, K
    "quick": ("bert_head_proj", 64, 256, 256),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a small layer (M=64, N=256, K=256) instead of FFN1")
    ap.add_argument("--array", type=int, default=32, help="square array side (default 32)")
    ap.add_argument("--dataflow", choices=["os", "ws", "is"], default="os")
    ap.add_argument("--skip-scalesim", action="store_true", help="time tasim only")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from simulator.scalesim import example_path, read_report, run_scalesim

    name, m, n, k = LAYERS["quick" if args.quick else "full"]
    cfg_text = Path(example_path("scale.cfg")).read_text()
    cfg_text = (cfg_text.replace("ArrayHeight:    32", f"ArrayHeight:    {args.array}")
                .replace("ArrayWidth:     32", f"ArrayWidth:     {args.array}")
                .replace("Dataflow : os", f"Dataflow : {args.dataflow}")
                .replace("run_name = bert_base_os32", f"run_name = {name}"))
    print(f"layer {name}: M={m} N={n} K={k} on a {args.array}x{args.array} {args.dataflow.upper()} array "
          "(InterfaceBandwidth = CALC)")
    with tempfile.TemporaryDirectory(prefix="bench_scalesim") as tmp:
        d = Path(tmp)
        cfg = d / "bench.cfg"
        cfg.write_text(cfg_text)
        topo = d / "topo.csv"
        topo.write_text(f"Layer, M, N, K,\n{name}, {m}, {n}, {k},\n")
        layout = d / "layout.csv"
        layout.write_text("Layer name,\n")

        # tasim, whole command in a fresh interpreter
        cmd = [sys.executable, "-m", "sweeps.cli", "scalesim", "-c", str(cfg), "-t", str(topo), "-l", str(layout),
               "-i", "gemm", "-p", str(d / "tasim"), "--quiet"]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        tasim_cmd_s = time.perf_counter() - t0
        # tasim, in-process (parse, simulate, write the three reports)
        best = float("inf")
        for _ in range(20):
            t0 = time.perf_counter()
            res = run_scalesim(cfg, topo, d / "tasim", input_type="gemm", layout_path=layout)
            best = min(best, time.perf_counter() - t0)
        tasim_cycles = res.rows[0]["Total Cycles"]
        print(f"  tasim scalesim, in-process (parse + simulate + reports): {best * 1e3:9.3f} ms")
        print(f"  tasim scalesim, whole command incl. Python start-up:      {tasim_cmd_s * 1e3:9.1f} ms")
        print(f"  tasim Total Cycles: {tasim_cycles:,}")

        if args.skip_scalesim:
            return 0
        if not SCALESIM_PY.exists():
            print(f"  SCALE-Sim: skipped ({SCALESIM_PY} missing; run `python scripts/scalesim_golden.py` to create it)")
            return 0
        cmd = [str(SCALESIM_PY), "-m", "scalesim.scale", "-c", str(cfg), "-t", str(topo), "-l", str(layout),
               "-p", str(d / "scalesim"), "-i", "gemm"]
        print(f"  running SCALE-Sim 3.0.0 ({' '.join(cmd[1:4])} ...) ...", flush=True)
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        scalesim_s = time.perf_counter() - t0
        header, rows = read_report(d / "scalesim" / name / "COMPUTE_REPORT.csv")
        ss_cycles = int(dict(zip(header, rows[0]))["Total Cycles"])
        print(f"  SCALE-Sim 3.0.0, whole command:                           {scalesim_s:9.2f} s")
        print(f"  SCALE-Sim Total Cycles: {ss_cycles:,}  ({'equal' if ss_cycles == tasim_cycles else 'DIFFERENT'})")
        print(f"  speed-up: {scalesim_s / best:,.0f}x in-process, {scalesim_s / tasim_cmd_s:,.2f}x command vs command")
    return 0


if __name__ == "__main__":
    sys.exit(main())
