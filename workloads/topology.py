"""SCALE-Sim topology CSVs (conv and GEMM) and layout CSVs: the one reader, used by `tasim scalesim`
and by `workloads.formats.from_scalesim_topology`. No hardware knowledge: layers and their GEMM shapes.

Rules of ``scalesim/topology_utils.py`` (3.0.0), reproduced:

* the first line is a header and is skipped; blank lines are skipped;
* rows end with a trailing comma (SCALE-Sim drops the last field, ``row.split(',')[:-1]``); tasim also
  accepts a row without it;
* GEMM rows: ``name, M, N, K[, N:M],`` -> a conv layer of ifmap M x K, filter 1 x K, 1 channel,
  N filters, stride 1 (so ofmap pixels = M, window = K);
* conv rows: ``name, ifmap h, ifmap w, filter h, filter w, channels, num filters, stride[, N:M],``
  (one stride for both directions); filter h/w may not exceed ifmap h/w;
* a conv layer whose name contains ``DP`` is depth-wise: it becomes one layer per channel, named
  ``<name>Channel_<i>``, each with 1 channel;
* the optional ``N:M`` column is the layer's structured sparsity (default ``1:1``, dense). It only
  takes effect when the cfg has ``SparsitySupport = true``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workloads.errors import InputError, show_value
from workloads.schema import INT_LIMIT, read_text

INPUT_TYPES = ("conv", "gemm")
GEMM_HEADER = "Layer, M, N, K,"
CONV_HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,"


@dataclass(frozen=True)
class Layer:
    """One SCALE-Sim layer (after depth-wise expansion), conv form."""

    name: str
    ifmap_h: int
    ifmap_w: int
    filter_h: int
    filter_w: int
    channels: int
    num_filters: int
    stride_h: int
    stride_w: int
    nm_n: int = 1
    nm_m: int = 1

    @property
    def ofmap_h(self) -> int:
        return -(-(self.ifmap_h - self.filter_h + self.stride_h) // self.stride_h)

    @property
    def ofmap_w(self) -> int:
        return -(-(self.ifmap_w - self.filter_w + self.stride_w) // self.stride_w)

    @property
    def gemm_m(self) -> int:
        """Output pixels per filter (SCALE-Sim's ofmap rows)."""
        return self.ofmap_h * self.ofmap_w

    @property
    def gemm_n(self) -> int:
        return self.num_filters

    @property
    def gemm_k(self) -> int:
        """Convolution window (reduction length), dense."""
        return self.filter_h * self.filter_w * self.channels

    @property
    def macs(self) -> int:
        return self.gemm_m * self.gemm_n * self.gemm_k

    def sparse_k(self, sparsity_support: bool) -> int:
        """K after SCALE-Sim's N:M filter compression (``operand_matrix.create_filter_matrix``).

        Every block of ``m`` rows keeps its first ``n``; a last partial block of ``r`` rows keeps
        ``min(n, r)``: ``K' = (K // m) * n + min(n, K % m)`` -- not ``ceil(K * n / m)`` (K=6, 2:4
        gives 4, not 3). Without sparsity support the column is ignored, as SCALE-Sim does.
        """
        k = self.gemm_k
        if not sparsity_support:
            return k
        return (k // self.nm_m) * self.nm_n + min(self.nm_n, k % self.nm_m)


def _fields(row: str) -> list[str]:
    parts = [p.strip() for p in row.split(",")]
    if parts and parts[-1] == "":
        parts = parts[:-1]
    return parts


def _int(text: str, *, source: str, key: str, lo: int = 1) -> int:
    try:
        value = int(text) if len(text) < 40 else None
    except ValueError:
        value = None
    if value is None or not lo <= value <= INT_LIMIT:
        raise InputError(f"{show_value(text)} is not allowed (allowed: an integer >= {lo} and <= {INT_LIMIT})",
                         source=source, key=key)
    return value


def _nm(text: str, *, source: str, key: str) -> tuple[int, int]:
    parts = text.split(":")
    ok = len(parts) == 2 and all(p.strip().isdigit() for p in parts)
    if ok:
        n, m = int(parts[0]), int(parts[1])
        ok = 1 <= n <= m
    if not ok:
        raise InputError(f"{text!r} is not allowed (allowed: N:M with 1 <= N <= M, e.g. 2:4)", source=source, key=key)
    return n, m


GEMM_COLUMNS = ("name", "M", "N", "K", "N:M")
CONV_COLUMNS = ("name", "ifmap height", "ifmap width", "filter height", "filter width", "channels",
                "num filters", "stride", "N:M")


def parse_topology_text(text: str, input_type: str, *, source: str = "<topology>") -> list[Layer]:
    """Layers of a SCALE-Sim topology (see the module docstring)."""
    if input_type not in INPUT_TYPES:
        raise InputError(f"{input_type!r} is not allowed (allowed: {', '.join(INPUT_TYPES)})", key="-i")
    layers: list[Layer] = []
    lines = text.splitlines()
    for lineno, line in enumerate(lines[1:], start=2):
        row = line.strip()
        if not row:
            continue
        f = _fields(row)
        where = f"line {lineno}"
        cols = GEMM_COLUMNS if input_type == "gemm" else CONV_COLUMNS
        need = len(cols) - 1
        if not need <= len(f) <= len(cols):
            raise InputError(
                f"{row!r} has {len(f)} fields (allowed: {need} or {need + 1}: {', '.join(cols)}, with a trailing comma)",
                source=source, key=where,
            )
        name = f[0]
        if not name:
            raise InputError("empty layer name (allowed: any non-empty text)", source=source, key=f"{where} name")
        nums = [_int(v, source=source, key=f"{where} {c}") for v, c in zip(f[1:need], cols[1:need])]
        n_, m_ = _nm(f[need], source=source, key=f"{where} N:M") if len(f) > need else (1, 1)
        if input_type == "gemm":
            m, n, k = nums
            layers.append(Layer(name, m, k, 1, k, 1, n, 1, 1, n_, m_))
            continue
        ih, iw, fh, fw, ch, nf, stride = nums
        if fh > ih:
            raise InputError(f"filter height {fh} exceeds ifmap height {ih} (allowed: <= {ih})",
                             source=source, key=f"{where} filter height")
        if fw > iw:
            raise InputError(f"filter width {fw} exceeds ifmap width {iw} (allowed: <= {iw})",
                             source=source, key=f"{where} filter width")
        if "DP" in name:
            for c in range(ch):
                layers.append(Layer(f"{name}Channel_{c}", ih, iw, fh, fw, 1, nf, stride, stride, n_, m_))
        else:
            layers.append(Layer(name, ih, iw, fh, fw, ch, nf, stride, stride, n_, m_))
    if not layers:
        raise InputError("no layers (allowed: a header line followed by one row per layer)", source=source)
    return layers


def parse_topology(path: str | Path, input_type: str) -> list[Layer]:
    return parse_topology_text(read_text(path), input_type, source=str(path))


def parse_layout(path: str | Path) -> int:
    """Validate a SCALE-Sim layout CSV (header + rows ``name, int, int, ...,``); returns the row count.

    Layouts only change SCALE-Sim's SRAM bank modelling and the USER-mode prefetch order, neither of
    which affects the compute report; tasim reads them for compatibility and does not use them.
    """
    p = Path(path)
    lines = read_text(p).splitlines()
    rows = 0
    for lineno, line in enumerate(lines[1:], start=2):
        f = _fields(line.strip())
        if not f:
            continue
        for v in f[1:]:
            _int(v, source=str(p), key=f"line {lineno}", lo=0)
        rows += 1
    return rows
