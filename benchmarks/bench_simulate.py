"""Speed of ``simulator.run.simulate`` on whole transformers (prints figures; no assertions).

Targets (issue 5): BERT-base seq 128 with energy, analytical, < 50 ms warm; Llama-2-7B prefill 2048 +
decode 2048, analytical, < 1 s; cycle engine BERT-base seq 512 < 5 s.

    .venv/bin/python benchmarks/bench_simulate.py [--quick]
"""

from __future__ import annotations

import argparse
import time


def _time(fn, repeat: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return first, best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, skip the cycle engine")
    args = ap.parse_args()
    rep = 3 if args.quick else 20

    from simulator.arch import load_arch
    from simulator.run import simulate, simulate_totals
    from workloads.zoo import build_workload

    rows = []
    bert = build_workload("bert-base", seq_len=128)
    arch = load_arch("hbm-128")
    first, warm = _time(lambda: simulate(bert, arch).ops, rep)
    rows.append(("BERT-base s128, simulate + per-op table", first, warm, 0.050))
    first, warm = _time(lambda: simulate_totals(bert, arch), rep)
    rows.append(("BERT-base s128, simulate_totals", first, warm, 0.050))
    for name in ("tpuv1", "sparse-2of4", "bitfusion", "hbm-llm"):
        a = load_arch(name)
        first, warm = _time(lambda a=a: simulate(bert, a).ops, rep)
        rows.append((f"BERT-base s128 on {name}", first, warm, 0.050))

    t0 = time.perf_counter()
    pre = build_workload("llama2-7b", seq_len=2048)
    dec = build_workload("llama2-7b", phase="decode", context=2048, new_tokens=2048)
    build_s = time.perf_counter() - t0
    llm = load_arch("hbm-llm")
    first, warm = _time(lambda: (simulate(pre, llm).ops, simulate(dec, llm).ops), max(1, rep // 4))
    rows.append(("Llama-2-7B prefill 2048 + decode 2048 (simulate both)", first, warm, 1.0))

    if not args.quick:
        b512 = build_workload("bert-base", seq_len=512)
        a128 = load_arch("hbm-128")
        first, warm = _time(lambda: simulate(b512, a128, engine="cycle").ops, 1)
        rows.append(("BERT-base s512, cycle engine", first, warm, 5.0))

    w = max(len(r[0]) for r in rows)
    print(f"{'case':<{w}}  {'first (s)':>10}  {'warm (s)':>10}  {'target (s)':>10}  {'target/warm':>11}")
    for name, f, wm, target in rows:
        print(f"{name:<{w}}  {f:10.4f}  {wm:10.4f}  {target:10.3f}  {target / wm:10.1f}x")
    print(f"(building the two Llama-2-7B workloads: {build_s:.3f} s)")


if __name__ == "__main__":
    main()
