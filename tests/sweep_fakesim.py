"""A small simulate-like evaluator for sweep-engine tests (store, resume, executors, errors).

It uses the real analytical compute model on a few GEMMs per "model" so results depend on the arch
axes, and has knobs the tests need: model 'boom' raises, env TASIM_FAKESIM_SLEEP_S slows each point.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd

from simulator.analytical import analyze_compute

MODELS = {
    "tiny": [("qkv", 128, 2304, 768), ("ffn_up", 128, 3072, 768), ("ffn_down", 128, 768, 3072)],
    "small": [("qkv", 64, 1152, 384), ("ffn_up", 64, 1536, 384)],
}


def evaluate(arch, workload, engine):
    if workload.model == "boom" or (workload.model == "tiny" and arch.array.rows == 13):
        raise RuntimeError(f"simulated failure for rows={arch.array.rows}")
    sleep = float(os.environ.get("TASIM_FAKESIM_SLEEP_S", "0"))
    if sleep:
        time.sleep(sleep)
    gemms = MODELS[workload.model]
    m = np.array([g[1] for g in gemms]) * workload.seq_len // 128
    n = np.array([g[2] for g in gemms])
    k = np.array([g[3] for g in gemms])
    r = analyze_compute(m, n, k, arch.array.rows, arch.array.cols, arch.array.dataflow)
    bits = 8 if workload.recipe in ("w8a8",) else 16
    cycles = r["compute_cycles"].astype(float)
    lat = cycles / (arch.array.freq_mhz * 1e6)
    e_mac = r["macs"] * 0.2 * (bits / 8) ** 2
    e_sram = (r["sram_ifmap_reads"] + r["sram_filter_reads"]) * 0.5
    ops = pd.DataFrame({"op": [g[0] for g in gemms], "kind": [g[0] for g in gemms], "cycles": cycles,
                        "latency_s": lat, "energy_mac_pj": e_mac, "energy_sram_pj": e_sram,
                        "energy_pj": e_mac + e_sram, "macs": r["macs"].astype(float)})
    area = arch.array.rows * arch.array.cols * 0.001 * (2.5 if arch.pe.precision_mode == "bit_fusion" else 1.0)
    totals = {"cycles": float(cycles.sum()), "latency_s": float(lat.sum()), "energy_pj": float(ops.energy_pj.sum()),
              "energy_breakdown_pj": {"mac": float(e_mac.sum()), "sram": float(e_sram.sum())},
              "area_mm2": area, "macs": float(r["macs"].sum()),
              "utilization": float(r["macs"].sum() / (cycles.sum() * arch.array.rows * arch.array.cols))}
    totals["power_w"] = totals["energy_pj"] * 1e-12 / totals["latency_s"]
    return totals, ops
