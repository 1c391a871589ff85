"""Run a SCALE-Sim cfg + topology through tasim and write SCALE-Sim's reports.

Each layer becomes one GEMM (M = ofmap pixels, N = filters, K = window, K compressed for N:M
sparsity exactly as SCALE-Sim's operand matrices do) evaluated by
:func:`simulator.gemm.run_gemm` with the chosen engine and timing model. The report figures are
then derived the way ``scalesim/single_layer_sim.py: calc_report_data`` derives them; which columns
equal SCALE-Sim's to the unit and which are tasim's own estimates is listed in ``docs/scalesim.md``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.arch import ArchSpec, arch_from_mapping
from simulator.gemm import run_gemm
from simulator.limits import check_scalesim_memory
from simulator.mapping import map_gemm
from simulator.scalesim.config import ScaleSimConfig, cfg_arch_mapping, parse_cfg
from simulator.scalesim.reports import report_texts, write_atomically
from workloads.errors import InputError
from workloads.topology import Layer, parse_layout, parse_topology

READ_HIT_LATENCY = 1  # SCALE-Sim's read buffers serve a hit one cycle after the request
CALC_READ_WORDS_PER_CYCLE = 10  # single_layer_sim: "The number 10 elems per cycle is arbitrary" (CALC mode)
ACTIVE_BUF_FRAC = 0.5  # single_layer_sim: half of each scratchpad is the active (working) set


@dataclass
class ScaleSimRun:
    """Result of :func:`run_scalesim`: the report folder, per-layer figures and the time spent."""

    report_dir: Path | None
    layers: list[Layer]
    rows: list[dict[str, Any]]
    arch: ArchSpec
    cfg: ScaleSimConfig
    elapsed_s: float
    files: list[Path] = field(default_factory=list)


def _fold_sizes(h: int, w: int, sr: int, sc: int, rf: int, cf: int) -> tuple[Any, Any]:
    """Rows used per row-fold and columns used per column-fold (int64 arrays)."""
    import numpy as np

    ru = np.full(rf, h, dtype=np.int64)
    ru[-1] = sr - (rf - 1) * h
    cu = np.full(cf, w, dtype=np.int64)
    cu[-1] = sc - (cf - 1) * w
    return ru, cu


def _scalesim_mean(per_fold: Any) -> float:
    """``sum(list) / len(list)`` exactly as CPython 3.11 computes it (left-to-right double adds).

    ``np.cumsum`` accumulates sequentially (unlike ``np.sum``'s pairwise sum), so its last element is
    bit-identical to SCALE-Sim's ``sum(self.mapping_efficiency_per_fold)``.
    """
    import numpy as np

    return float(np.cumsum(per_fold)[-1]) / len(per_fold)


def _sram_window(df: str, h: int, w: int, t: int, sr: int, sc: int, rf: int, cf: int, fold_lines: int) -> dict[str, int]:
    """First/last demand line of each operand that carries a real address, SCALE-Sim's fold layout.

    Folds run column-fold outer, row-fold inner; fold f starts at line f * fold_lines. ``ru``/``cu``
    are the rows/columns of the array used by a fold (partial folds use fewer). Derived from the
    demand matrices of ``systolic_compute_{os,ws,is}.py`` (padding, flips, skews and gaps).
    """
    ru0 = min(h, sr)
    ru_last = sr - (rf - 1) * h
    cu_last = sc - (cf - 1) * w
    last = (rf * cf - 1) * fold_lines
    if df == "os":
        return {"ifmap": (0, last + ru_last - 1 + t - 1), "filter": (0, last + cu_last - 1 + t - 1),
                "ofmap": (t - 1 + h - ru0, last + t - 1 + h - 1 + cu_last - 1)}
    if df == "ws":
        return {"ifmap": (h, last + h + ru_last - 1 + t - 1), "filter": (h - ru0, last + h - 1),
                "ofmap": (2 * h - 1, last + 2 * h - 1 + cu_last - 1 + t - 1)}
    return {"ifmap": (h - ru0, last + h - 1), "filter": (h, last + h + ru_last - 1 + t - 1),
            "ofmap": (2 * h - 1, last + 2 * h - 1 + cu_last - 1 + t - 1)}


def _ifmap_valid(layer: Layer, pixels: Any, elems: Any) -> Any:
    """Which (output pixel, window element) ifmap operands exist (``operand_matrix.calc_ifmap_elem_addr``).

    A window that runs past the input (stride not dividing ``ifmap - filter``) reads address -1.
    """
    import numpy as np

    orow, ocol = np.divmod(np.asarray(pixels)[:, None], layer.ofmap_w)
    c_row, rest = np.divmod(np.asarray(elems)[None, :], layer.filter_w * layer.channels)
    c_col = rest // layer.channels
    return (c_row + orow * layer.stride_h < layer.ifmap_h) & (c_col + ocol * layer.stride_w < layer.ifmap_w)


def _ifmap_lines_with_holes(cfg: ScaleSimConfig, layer: Layer, k_eff: int, h: int, sr: int, rf: int,
                            cf: int, fold_lines: int, t: int) -> tuple[int, int]:
    """(first, last) ifmap demand line when some conv windows overrun the input (their reads are -1)."""
    import numpy as np

    m = layer.gemm_m
    kept = np.arange(layer.gemm_k)
    if cfg.sparsity_support:
        kept = kept[kept % layer.nm_m < layer.nm_n]  # columns surviving N:M compression
    last = (rf * cf - 1) * fold_lines
    df = cfg.dataflow
    if df == "os":  # fold: pixels on rows (skewed by pixel), window streamed
        pix = np.arange((rf - 1) * h, m)
        c, j = np.nonzero(_ifmap_valid(layer, pix, kept))
        return 0, last + int((c + j).max())
    if df == "ws":  # fold: window elements on rows (skewed by element), pixels streamed after an H gap
        el = np.arange((rf - 1) * h, sr)
        tt, c = np.nonzero(_ifmap_valid(layer, np.arange(m), kept[el]))
        return h, last + h + int((tt + c).max())
    # is: window elements x pixels stationary, rows flipped, no skew
    col0 = np.arange(0, min(cfg.array_cols, m))
    col_last = np.arange((cf - 1) * cfg.array_cols, m)
    first_rows = np.nonzero(_ifmap_valid(layer, col0, kept[: min(h, sr)]).any(axis=0))[0]
    last_rows = np.nonzero(_ifmap_valid(layer, col_last, kept[(rf - 1) * h: sr]).any(axis=0))[0]
    return h - 1 - int(first_rows.max()), last + h - 1 - int(last_rows.min())


def unique_ifmap_words(layer: Layer, sparsity_support: bool) -> int:
    """Distinct ifmap elements the layer reads: what DRAM must deliver at least once.

    For a convolution the GEMM view (M x K, im2col) repeats each input pixel up to filter_h*filter_w
    times; SCALE-Sim's DRAM traffic counts addresses, so overlapping windows are fetched once and
    pixels no window touches (stride > filter) are not fetched at all. With N:M sparsity only the
    window elements kept by the compression are read.
    """
    import numpy as np

    oh, ow, s_h, s_w = layer.ofmap_h, layer.ofmap_w, layer.stride_h, layer.stride_w
    elems = np.arange(layer.gemm_k)
    if sparsity_support:
        elems = elems[elems % layer.nm_m < layer.nm_n]
    if layer.filter_h == 1 and layer.filter_w == layer.ifmap_w and layer.channels == 1 and s_h == 1:
        return layer.ifmap_h * len(elems)  # GEMM rows: every (row, element) is distinct
    if len(elems) == layer.gemm_k:  # dense: every channel of every window offset
        mask2d = np.zeros((layer.ifmap_h, layer.ifmap_w), dtype=bool)
        for r in range(layer.filter_h):
            for c in range(layer.filter_w):
                mask2d[r: r + oh * s_h: s_h, c: c + ow * s_w: s_w] = True
        return int(mask2d.sum()) * layer.channels
    mask = np.zeros((layer.ifmap_h, layer.ifmap_w, layer.channels), dtype=bool)
    c_row, rest = np.divmod(elems, layer.filter_w * layer.channels)
    c_col, ch = np.divmod(rest, layer.channels)
    offset = c_row * layer.filter_w + c_col
    for off in np.unique(offset).tolist():  # one strided slice per window offset, its kept channels
        r, c = divmod(off, layer.filter_w)
        mask[r: r + oh * s_h: s_h, c: c + ow * s_w: s_w, ch[offset == off]] = True
    return int(mask.sum())


def _sparse_storage(cfg: ScaleSimConfig, layer: Layer, k_eff: int) -> tuple[Any, Any, Any]:
    """(original, new, metadata) filter storage of SCALE-Sim's compression (``compute/compression.py``)."""
    k, n = layer.gemm_k, layer.gemm_n
    nnz = k_eff * n  # ones of the N:M pattern matrix (K x N)
    if cfg.sparse_rep == "csr":
        return k * n, 2 * nnz + (k + 1), nnz + k + 1
    if cfg.sparse_rep == "csc":
        return k * n, 2 * nnz + (n + 1), nnz + n + 1
    metadata = (k_eff * n * math.ceil(math.log2(layer.nm_m))) / 32
    return k * n, k_eff * n + metadata, metadata


def layer_figures(cfg: ScaleSimConfig, arch: ArchSpec, layer: Layer, *, engine: str, timing: str) -> dict[str, Any]:
    """All report values of one layer, keyed by SCALE-Sim's column names."""
    h, w, df = cfg.array_rows, cfg.array_cols, cfg.dataflow
    m, n, k = layer.gemm_m, layer.gemm_n, layer.gemm_k
    k_eff = layer.sparse_k(cfg.sparsity_support)
    res = run_gemm(arch, m, n, k_eff, engine=engine, timing=timing)
    mp = {key: int(v) for key, v in map_gemm(m, n, k_eff, h, w, df).items()}
    sr, sc, t, rf, cf, folds = (mp[c] for c in ("spatial_rows", "spatial_cols", "streamed", "row_folds",
                                                  "col_folds", "folds"))
    total = int(res["total_cycles"])
    stall = int(res["stall_cycles"])
    compute = int(res["compute_cycles"])
    denom = max(total, 1)
    scalesim = timing == "scalesim"

    overall_util = (m * n * k * 100) / (denom * (h * w))  # SCALE-Sim: dense MACs / reported cycles
    if scalesim:
        # SCALE-Sim averages per-fold floats (column folds outer, row folds inner); replicate the order so
        # the printed digits match. Compute util: used*T / (H*W*cycles_this_fold), its per-fold count.
        ru, cu = _fold_sizes(h, w, sr, sc, rf, cf)
        used = (cu[:, None] * ru[None, :]).ravel()
        fold_cycles = t + h + w - 2 if df == "os" else 2 * h + 2 * w + t - 3
        mapping_eff = _scalesim_mean(used / (h * w)) * 100
        compute_util = _scalesim_mean((used * t) / (h * w * fold_cycles)) * 100
    else:
        mapping_eff = float(res["mapping_efficiency"]) * 100
        compute_util = (sr * sc * t) / (max(compute, 1) * h * w) * 100

    ifmap_reads: Any = int(res["sram_reads"]["ifmap"])
    filter_reads = int(res["sram_reads"]["filter"])
    ofmap_writes = int(res["sram_writes"]["ofmap"])
    if scalesim and df == "os":
        ofmap_writes += folds * (h + w)  # systolic_compute_os counts H + W extra writes per fold
    if scalesim and cfg.sparsity_support and df == "ws":
        # systolic_compute_ws adds T * rows_used * (M/N) per fold: a float, summed fold by fold
        import numpy as np

        ru, _ = _fold_sizes(h, w, sr, sc, rf, cf)
        per_fold = np.tile(t * ru, cf) * (layer.nm_m / layer.nm_n)
        ifmap_reads = float(np.cumsum(per_fold)[-1])

    # SRAM windows: SCALE-Sim's demand-line layout; under the default model the tail moves with the total
    fold_lines = t + h + w - 2 if df == "os" else 2 * h + w + t - 2
    win = _sram_window(df, h, w, t, sr, sc, rf, cf, fold_lines)
    if (layer.ifmap_h - layer.filter_h) % layer.stride_h or (layer.ifmap_w - layer.filter_w) % layer.stride_w:
        win["ifmap"] = _ifmap_lines_with_holes(cfg, layer, k_eff, h, sr, rf, cf, fold_lines, t)
    shift = 0 if scalesim else (compute - (folds * fold_lines - 1))
    sram_if = (float(win["ifmap"][0] + READ_HIT_LATENCY), float(win["ifmap"][1] + READ_HIT_LATENCY + shift + stall))
    sram_fl = (float(win["filter"][0] + READ_HIT_LATENCY), float(win["filter"][1] + READ_HIT_LATENCY + shift + stall))
    sram_of = (float(win["ofmap"][0]), float(win["ofmap"][1] + shift + stall))

    # DRAM: tasim's ideal double-buffer estimate (not SCALE-Sim's trace replay), see docs/scalesim.md
    wb = cfg.word_bytes
    if_words = unique_ifmap_words(layer, cfg.sparsity_support)
    fl_words = int(res["dram_read_bytes"]["filter"]) // wb
    of_words = int(res["dram_write_bytes"]["ofmap"]) // wb
    bw_rd = cfg.bandwidths[0] if cfg.user_bandwidth else CALC_READ_WORDS_PER_CYCLE
    bw_wr = cfg.bandwidths[0] if cfg.user_bandwidth else w
    half_if = cfg.ifmap_sram_kw * 1024 // wb * ACTIVE_BUF_FRAC
    half_fl = cfg.filter_sram_kw * 1024 // wb * ACTIVE_BUF_FRAC
    half_of = cfg.ofmap_sram_kw * 1024 // wb * ACTIVE_BUF_FRAC

    def read_window(words: int, half: float, sram_stop: float) -> tuple[float, float]:
        start = -float(math.ceil(min(words, half) / bw_rd))
        return start, (-1.0 if words <= half else sram_stop)

    dram_if = read_window(if_words, half_if, sram_if[1])
    dram_fl = read_window(fl_words, half_fl, sram_fl[1])
    of_start = float(total) if of_words <= half_of else sram_of[0]
    dram_of = (of_start, float(total + math.ceil(min(of_words, half_of) / bw_wr) - 1))
    overall = int(dram_of[1] - min(dram_if[0], dram_fl[0]))

    row: dict[str, Any] = {
        "Total Cycles (incl. prefetch)": overall,
        "Total Cycles": total,
        "Stall Cycles": stall,
        "Overall Util %": overall_util,
        "Mapping Efficiency %": mapping_eff,
        "Compute Util %": compute_util,
        "Avg IFMAP SRAM BW": ifmap_reads / denom,
        "Avg FILTER SRAM BW": filter_reads / denom,
        "Avg OFMAP SRAM BW": ofmap_writes / denom,
        "Avg IFMAP DRAM BW": if_words / (dram_if[1] - dram_if[0] + 1),
        "Avg FILTER DRAM BW": fl_words / (dram_fl[1] - dram_fl[0] + 1),
        "Avg OFMAP DRAM BW": of_words / (dram_of[1] - dram_of[0] + 1),
        "SRAM IFMAP Start Cycle": sram_if[0], "SRAM IFMAP Stop Cycle": sram_if[1], "SRAM IFMAP Reads": ifmap_reads,
        "SRAM Filter Start Cycle": sram_fl[0], "SRAM Filter Stop Cycle": sram_fl[1],
        "SRAM Filter Reads": filter_reads,
        "SRAM OFMAP Start Cycle": sram_of[0], "SRAM OFMAP Stop Cycle": sram_of[1], "SRAM OFMAP Writes": ofmap_writes,
        "DRAM IFMAP Start Cycle": dram_if[0], "DRAM IFMAP Stop Cycle": dram_if[1], "DRAM IFMAP Reads": if_words,
        "DRAM Filter Start Cycle": dram_fl[0], "DRAM Filter Stop Cycle": dram_fl[1], "DRAM Filter Reads": fl_words,
        "DRAM OFMAP Start Cycle": dram_of[0], "DRAM OFMAP Stop Cycle": dram_of[1], "DRAM OFMAP Writes": of_words,
        # not SCALE-Sim report columns: the GEMM actually simulated
        "gemm_m": m, "gemm_n": n, "gemm_k": k, "gemm_k_eff": k_eff, "folds": folds,
    }
    if cfg.sparsity_support:
        orig, new, meta = _sparse_storage(cfg, layer, k_eff)
        row.update({
            "Original Filter Storage": orig, "New Storage (Filter+Metadata)": new, "Filter Metadata Storage": meta,
            "Avg FILTER Metadata SRAM BW": meta / denom,
        })
    return row


def cfg_to_arch(cfg: ScaleSimConfig, *, timing: str = "scalesim", overrides: tuple[str, ...] = ()) -> ArchSpec:
    """The tasim ArchSpec of a SCALE-Sim cfg (:func:`simulator.scalesim.config.cfg_arch_mapping`)."""
    return arch_from_mapping(cfg_arch_mapping(cfg, timing=timing), source=cfg.source or "<cfg>",
                             overrides=list(overrides))


def run_scalesim(
    cfg_path: str | Path,
    topology_path: str | Path | None,
    outdir: str | Path | None,
    *,
    input_type: str = "conv",
    layout_path: str | Path | None = None,
    engine: str = "analytical",
    timing: str = "scalesim",
    overrides: tuple[str, ...] = (),
) -> ScaleSimRun:
    """Read a SCALE-Sim cfg and topology, simulate every layer, write ``outdir/<run_name>/*.csv``.

    ``input_type`` is ``conv`` (SCALE-Sim's default) or ``gemm``. With ``outdir=None`` nothing is
    written (the figures are still returned). Without ``topology_path`` the cfg's
    ``[network_presets] TopologyCsvLoc`` is used, as SCALE-Sim does. Everything is validated before
    anything is written.
    """
    cfg = parse_cfg(cfg_path)
    if topology_path is None:
        if not cfg.topology_path:
            raise InputError("missing (allowed: a topology CSV, or [network_presets] TopologyCsvLoc in the cfg)",
                             key="-t")
        topology_path = cfg.topology_path
    layers = parse_topology(topology_path, input_type)
    check_scalesim_memory(layers, source=str(topology_path))  # refuse ~TiB masks before allocating them
    if layout_path is not None:
        parse_layout(layout_path)
    if timing not in ("scalesim", "default"):
        raise InputError(f"{timing!r} is not allowed (allowed: scalesim, default)", key="--timing")
    arch = cfg_to_arch(cfg, timing=timing, overrides=overrides)
    t0 = time.perf_counter()
    rows = [layer_figures(cfg, arch, layer, engine=engine, timing=timing) for layer in layers]
    elapsed = time.perf_counter() - t0
    run = ScaleSimRun(None, layers, rows, arch, cfg, elapsed)
    if outdir is not None:
        folder = Path(outdir) / cfg.run_name
        texts = report_texts(rows, sparsity=cfg.sparsity_support, sparse_rep=cfg.sparse_rep)
        run.files = write_atomically(folder, texts)
        run.report_dir = folder
    return run
