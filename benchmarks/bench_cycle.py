"""Cycle-level engine speed: tasim's numba engine vs the real SCALE-Sim 3.0.0 (prints; no assertions).

1. BERT-base FFN1 (M=128, K=768, N=3072) on a 32x32 OS array, memory model on (1 MiB scratchpads,
   10 bytes/cycle DRAM, as SCALE-Sim's example cfg with ``InterfaceBandwidth: USER``), warm JIT;
   SCALE-Sim 3.0.0 runs the same layer in the same session (its own command line, CALC mode as the
   reference measurement; ``--quick`` uses a small layer for it and quotes the 285 s reference).
2. All GEMMs of one BERT-base forward pass at sequence 512 on a 128x128 array (hbm-128), warm:
   once as one call (identical shapes simulated once) and once GEMM by GEMM (every GEMM simulated).
3. Cold start: JIT compile in a fresh process with an empty numba cache, then a second process that
   loads the on-disk cache.
4. Functional mode: PE-updates per second (real int8 values moved through the PEs), per dataflow.

    .venv/bin/python benchmarks/bench_cycle.py           # full (SCALE-Sim FFN1 alone takes ~5 minutes)
    .venv/bin/python benchmarks/bench_cycle.py --quick   # SCALE-Sim on a small layer only
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SCALESIM_PY = ROOT / ".venv-scalesim" / "bin" / "python"
SCALESIM_FFN1_REFERENCE_S = 285.0  # DESIGN.md section 6, measured on this machine

COLD_SNIPPET = """
import time, numpy as np
t0 = time.perf_counter()
from simulator.arch import load_arch
from simulator.cycle import simulate_gemms, functional_gemm
from simulator.memory import analyze_gemms
t1 = time.perf_counter()
arch = load_arch("edge-32")
simulate_gemms(128, 3072, 768, arch)
analyze_gemms(128, 3072, 768, arch)
functional_gemm(np.ones((4, 4), np.int8), np.ones((4, 4), np.int8), arch)
t2 = time.perf_counter()
print(f"{t1 - t0:.3f} {t2 - t1:.3f}")
"""


def best_of(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bert_gemms(seq: int = 512, layers: int = 12, d: int = 768, heads: int = 12, ffn: int = 3072) -> np.ndarray:
    """(M, N, K) of every GEMM of a BERT-base forward pass (Q, K, V, attention per head, out, FFN)."""
    dh = d // heads
    per_layer = [(seq, d, d)] * 3 + [(seq, seq, dh)] * heads + [(seq, dh, seq)] * heads
    per_layer += [(seq, d, d), (seq, ffn, d), (seq, d, ffn)]
    return np.array(per_layer * layers, dtype=np.int64)


def run_scalesim(m: int, n: int, k: int) -> tuple[float, int] | None:
    if not SCALESIM_PY.exists():
        return None
    from simulator.scalesim import example_path, read_report

    with tempfile.TemporaryDirectory(prefix="bench_cycle") as tmp:
        d = Path(tmp)
        cfg = d / "bench.cfg"
        cfg.write_text(Path(example_path("scale.cfg")).read_text().replace("run_name = bert_base_os32",
                                                                           "run_name = layer"))
        (d / "topo.csv").write_text(f"Layer, M, N, K,\nlayer, {m}, {n}, {k},\n")
        (d / "layout.csv").write_text("Layer name,\n")
        cmd = [str(SCALESIM_PY), "-m", "scalesim.scale", "-c", str(cfg), "-t", str(d / "topo.csv"), "-l",
               str(d / "layout.csv"), "-p", str(d / "out"), "-i", "gemm"]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        header, rows = read_report(d / "out" / "layer" / "COMPUTE_REPORT.csv")
        return wall, int(dict(zip(header, rows[0]))["Total Cycles"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="SCALE-Sim on a small layer only (seconds, not minutes)")
    ap.add_argument("--skip-scalesim", action="store_true", help="do not run SCALE-Sim at all")
    args = ap.parse_args()

    from simulator.arch import load_arch
    from simulator.cycle import functional_gemm, simulate_gemms
    from simulator.memory import analyze_gemms

    print("tasim cycle-level engine benchmark (one core, warm JIT unless stated)\n")
    # ---- 1. FFN1 on 32x32 OS with memory
    ffn1 = (128, 3072, 768)
    arch32 = load_arch("edge-32", ["buffers.ifmap_kib=1024", "buffers.filter_kib=1024", "buffers.ofmap_kib=1024",
                                   "dram.bandwidth_gbps=5.0", "dram.latency_cycles=0"])  # 10 B/cycle at 500 MHz
    simulate_gemms(*ffn1, arch32)
    t_ffn1 = best_of(lambda: simulate_gemms(*ffn1, arch32), 7)
    r = simulate_gemms(*ffn1, arch32)
    cyc = int(r["total_cycles"][0])
    print("1. BERT-base FFN1 (M=128 K=768 N=3072), 32x32 OS, 1 MiB SRAMs, 10 B/cycle DRAM, memory model on")
    print(f"   tasim cycle engine: {t_ffn1 * 1e3:8.3f} ms  ({cyc:,} cycles, {int(r['stall_cycles'][0]):,} stall; "
          f"{cyc / t_ffn1 / 1e6:,.0f} M simulated cycles/s)")
    t_ana = best_of(lambda: analyze_gemms(*ffn1, arch32), 7)
    print(f"   tasim analytical:   {t_ana * 1e3:8.3f} ms  (same totals: "
          f"{int(analyze_gemms(*ffn1, arch32)['total_cycles'][0]) == cyc})")
    ss = None
    if not args.skip_scalesim:
        shape = (64, 256, 256) if args.quick else ffn1
        print(f"   running SCALE-Sim 3.0.0 on M={shape[0]} N={shape[1]} K={shape[2]} (its example cfg) ...", flush=True)
        ss = run_scalesim(*shape)
        if ss is None:
            print("   SCALE-Sim: skipped (.venv-scalesim missing)")
        else:
            t_small = best_of(lambda: simulate_gemms(*shape, arch32), 7)
            if shape == ffn1:
                t_ffn1 = min(t_ffn1, t_small)
            print(f"   SCALE-Sim 3.0.0:    {ss[0]:8.2f} s   ({ss[1]:,} cycles, CALC; tasim's scalesim-timing compute: "
                  f"{int(simulate_gemms(*shape, arch32, timing='scalesim')['compute_cycles'][0]):,})  "
                  f"vs tasim {t_small * 1e3:.3f} ms: {ss[0] / t_small:,.0f}x")
    ref = ss[0] if (ss is not None and not args.quick) else SCALESIM_FFN1_REFERENCE_S
    label = "measured now" if (ss is not None and not args.quick) else "DESIGN.md reference"
    print(f"   FFN1 speed-up vs SCALE-Sim ({ref:.0f} s, {label}): {ref / t_ffn1:,.0f}x  (target >= 1,000x)\n")

    # ---- 2. BERT-base forward, seq 512, 128x128
    arch128 = load_arch("hbm-128")
    g = bert_gemms()
    m, n, k = g[:, 0], g[:, 1], g[:, 2]
    simulate_gemms(m, n, k, arch128)
    t_one = best_of(lambda: simulate_gemms(m, n, k, arch128), 3)
    t_each = best_of(lambda: [simulate_gemms(int(a), int(b), int(c), arch128) for a, b, c in g], 1)
    rb = simulate_gemms(m, n, k, arch128)
    tot = int(rb["total_cycles"].sum())
    print(f"2. BERT-base forward pass, seq 512: {len(g)} GEMMs ({len(np.unique(g, axis=0))} distinct shapes) on hbm-128 "
          "(128x128 WS, HBM2E)")
    print(f"   one call (distinct shapes once): {t_one * 1e3:8.2f} ms")
    print(f"   GEMM by GEMM (all simulated):     {t_each * 1e3:8.2f} ms  ({tot:,} cycles, "
          f"{int(rb['stall_cycles'].sum()):,} stall; {tot / t_each / 1e6:,.0f} M simulated cycles/s)  (target < 2 s)\n")

    # ---- 3. cold start
    with tempfile.TemporaryDirectory(prefix="numba_cache") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(ROOT))
        out = []
        for _ in range(2):
            res = subprocess.run([sys.executable, "-c", COLD_SNIPPET], env=env, cwd=ROOT, capture_output=True,
                                 text=True, check=True)
            out.append([float(x) for x in res.stdout.split()])
    print("3. start-up (fresh processes, empty numba cache dir, then the same cache)")
    print(f"   cold: import {out[0][0]:.2f} s + first calls (JIT compile) {out[0][1]:.2f} s  (target < 15 s)")
    print(f"   second process: import {out[1][0]:.2f} s + first calls (cache load) {out[1][1]:.2f} s\n")

    # ---- 4. functional mode
    print("4. functional mode (int8 values through the PEs, exact int64 result), 512x512x512 on 32x32")
    rng = np.random.default_rng(0)
    a = rng.integers(-128, 128, (512, 512)).astype(np.int8)
    b = rng.integers(-128, 128, (512, 512)).astype(np.int8)
    ref_c = a.astype(np.int64) @ b
    # default timing: all folds pipelined on one array, hazard-checked; scalesim timing: fold by fold
    for timing in ("default", "scalesim"):
        for df in ("os", "ws", "is"):
            arch = load_arch("edge-32", [f"array.dataflow={df}"])
            functional_gemm(a[:8, :8], b[:8, :8], arch, timing=timing)
            c, st = functional_gemm(a, b, arch, timing=timing)
            extra = f", hazards {st['functional_hazards']}" if timing == "default" else ""
            print(f"   {df} {timing:8s}: {st['pe_updates_per_s'] / 1e6:8.0f} M PE-updates/s  "
                  f"({st['pe_updates'] / 1e6:,.0f} M updates in {st['elapsed_s']:.3f} s, "
                  f"exact: {bool(np.array_equal(c, ref_c))}{extra})  (target >= 300 M/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
