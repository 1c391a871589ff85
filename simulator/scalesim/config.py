"""SCALE-Sim ``.cfg`` files (3.0.0 format, and v2-style files lacking ``[layout]``/``[sparsity]``).

The file is an INI file read with :mod:`configparser` (keys are case-insensitive, ``key: value`` and
``key = value`` both work), exactly as ``scalesim/scale_config.py`` reads it. Missing optional keys
take the defaults of ``scale_config.__init__`` (SCALE-Sim's own defaults), so v2-style files work;
unknown sections or keys are rejected (a typo would otherwise silently fall back to a default).
SRAM sizes are in kilo-words; SCALE-Sim's word is 1 byte, so they are KiB.

Where tasim is stricter than SCALE-Sim (every error is a one-line :class:`InputError`):

* ``Dataflow`` must be os, ws or is (SCALE-Sim only warns, then silently simulates OS);
* ``UseRamulatorTrace = True`` and ``OptimizedMapping = true`` are refused (not modelled);
* ``Bandwidth`` must be given when ``InterfaceBandwidth = USER``.
"""

from __future__ import annotations

import configparser
import math
from dataclasses import dataclass
from pathlib import Path

from workloads.errors import InputError, show_value
from workloads.schema import INT_LIMIT, read_text

DATAFLOWS = ("os", "ws", "is")
SPARSE_REPS = ("ellpack_block", "csr", "csc")
BANDWIDTH_MODES = ("CALC", "USER")

# section -> {lower-case key: canonical spelling}; the keys SCALE-Sim 3.0.0 (and v2) read
KNOWN_KEYS: dict[str, dict[str, str]] = {
    "general": {"run_name": "run_name"},
    "architecture_presets": {
        k.lower(): k
        for k in (
            "ArrayHeight", "ArrayWidth", "IfmapSramSzkB", "FilterSramSzkB", "OfmapSramSzkB",
            "IfmapOffset", "FilterOffset", "OfmapOffset", "Dataflow", "Bandwidth",
            "ReadRequestBuffer", "WriteRequestBuffer",
            "MemoryBanks",  # v2 files: read by no 3.0.0 code, accepted and ignored
        )
    },
    "layout": {
        k.lower(): k
        for k in (
            "IfmapCustomLayout", "IfmapSRAMBankBandwidth", "IfmapSRAMBankNum", "IfmapSRAMBankPort",
            "FilterCustomLayout", "FilterSRAMBankBandwidth", "FilterSRAMBankNum", "FilterSRAMBankPort",
        )
    },
    "sparsity": {
        k.lower(): k
        for k in (
            "SparsitySupport", "SparseRep", "OptimizedMapping", "BlockSize", "RandomNumberGeneratorSeed",
            "NonZeroElems",  # commented out in 3.0.0's reader; accepted and ignored
        )
    },
    "run_presets": {k.lower(): k for k in ("InterfaceBandwidth", "UseRamulatorTrace")},
    "network_presets": {k.lower(): k for k in ("TopologyCsvLoc", "LayoutCsvLoc")},
}


@dataclass(frozen=True)
class ScaleSimConfig:
    """The fields of a SCALE-Sim cfg, with ``scale_config``'s defaults."""

    source: str = ""
    run_name: str = "scale_run"
    array_rows: int = 4
    array_cols: int = 4
    ifmap_sram_kw: int = 256
    filter_sram_kw: int = 256
    ofmap_sram_kw: int = 128
    ifmap_offset: int = 0
    filter_offset: int = 10000000
    ofmap_offset: int = 20000000
    dataflow: str = "ws"
    read_request_buffer: int = 60
    write_request_buffer: int = 60
    bandwidth_mode: str = "CALC"
    bandwidths: tuple[int, ...] = ()
    ifmap_custom_layout: bool = False
    filter_custom_layout: bool = False
    ifmap_sram_bank_bandwidth: int = 10
    ifmap_sram_bank_num: int = 10
    ifmap_sram_bank_port: int = 2
    filter_sram_bank_bandwidth: int = 10
    filter_sram_bank_num: int = 10
    filter_sram_bank_port: int = 2
    sparsity_support: bool = False
    sparse_rep: str = ""
    sparsity_block_size: int = 4
    sparsity_rand_seed: int = 40
    topology_path: str = ""

    @property
    def user_bandwidth(self) -> bool:
        return self.bandwidth_mode == "USER"

    @property
    def word_bytes(self) -> int:
        """SCALE-Sim's word size (``single_layer_sim``: ``word_size = 1``)."""
        return 1


class _Reader:
    def __init__(self, cp: configparser.ConfigParser, source: str) -> None:
        self.cp = cp
        self.source = source

    def raw(self, section: str, key: str) -> str | None:
        if not self.cp.has_section(section) or not self.cp.has_option(section, key):
            return None
        return self.cp.get(section, key, raw=True).strip()

    def _err(self, section: str, key: str, value: str, allowed: str) -> InputError:
        return InputError(f"{show_value(value)} is not allowed (allowed: {allowed})", source=self.source, key=f"[{section}] {key}")

    def integer(self, section: str, key: str, default: int, *, lo: int = 1) -> int:
        text = self.raw(section, key)
        if text is None:
            return default
        try:
            value = int(text) if len(text) < 40 else None
        except ValueError:
            value = None
        if value is None or not lo <= value <= INT_LIMIT:
            raise self._err(section, key, text, f"an integer >= {lo} and <= {INT_LIMIT}")
        return value

    def boolean(self, section: str, key: str, default: bool, *, strict_true_false: bool = False) -> bool:
        text = self.raw(section, key)
        if text is None:
            return default
        low = text.lower()
        if strict_true_false:  # SCALE-Sim compares .lower() == 'true'
            if low in ("true", "false"):
                return low == "true"
            raise self._err(section, key, text, "true, false")
        if low in configparser.ConfigParser.BOOLEAN_STATES:
            return configparser.ConfigParser.BOOLEAN_STATES[low]
        raise self._err(section, key, text, "true, false (or yes/no, on/off, 1/0)")

    def choice(self, section: str, key: str, default: str, allowed: tuple[str, ...], *, fold_case: bool = True) -> str:
        text = self.raw(section, key)
        if text is None:
            return default
        value = text.strip().strip('"').strip()
        for a in allowed:
            if value == a or (fold_case and value.lower() == a.lower()):
                return a
        raise self._err(section, key, text, ", ".join(allowed))


def parse_cfg_text(text: str, *, source: str = "<cfg>") -> ScaleSimConfig:
    """Parse the text of a SCALE-Sim cfg (see the module docstring for the rules)."""
    cp = configparser.ConfigParser()
    try:
        cp.read_string(text, source=source)
    except configparser.Error as exc:
        msg = " ".join(str(exc).split())
        raise InputError(f"not a valid SCALE-Sim cfg (INI) file: {msg}", source=source) from None
    for section in cp.sections():
        if section not in KNOWN_KEYS:
            raise InputError(
                f"unknown section [{section}] (allowed: {', '.join(f'[{s}]' for s in KNOWN_KEYS)})", source=source
            )
        for key in cp.options(section):
            if key not in KNOWN_KEYS[section]:
                allowed = ", ".join(KNOWN_KEYS[section].values())
                raise InputError(f"unknown key (allowed: {allowed})", source=source, key=f"[{section}] {key}")
    for section, key in (("architecture_presets", "ArrayHeight"), ("architecture_presets", "ArrayWidth"),
                         ("architecture_presets", "Dataflow")):
        if not cp.has_option(section, key):
            raise InputError("missing (required by SCALE-Sim; no default)", source=source, key=f"[{section}] {key}")

    r = _Reader(cp, source)
    d = ScaleSimConfig()
    ap, lay, sp, rp = "architecture_presets", "layout", "sparsity", "run_presets"

    run_name = r.raw("general", "run_name")
    if run_name is not None:
        run_name = run_name.strip().strip('"').strip()
        if (not run_name or "/" in run_name or "\\" in run_name or run_name in (".", "..")
                or not run_name.isprintable() or len(run_name.encode()) > 200):
            raise InputError(f"{show_value(run_name)} is not allowed (allowed: a non-empty printable name of at most "
                             "200 bytes without path separators)", source=source, key="[general] run_name")

    mode = r.choice(rp, "InterfaceBandwidth", d.bandwidth_mode, BANDWIDTH_MODES, fold_case=False)
    bandwidths: tuple[int, ...] = ()
    text = r.raw(ap, "Bandwidth")
    if text is None and mode == "USER":
        raise InputError("missing (required when [run_presets] InterfaceBandwidth = USER)",
                         source=source, key=f"[{ap}] Bandwidth")
    if text is not None:  # validated even where the mode ignores it (a typo is still a typo)
        try:
            values = tuple(int(x.strip()) for x in text.split(","))
        except ValueError:
            values = ()
        if not values or min(values) < 1 or max(values) > INT_LIMIT:
            raise InputError(f"{show_value(text)} is not allowed (allowed: comma-separated integers from 1 to "
                             f"{INT_LIMIT}, words/cycle)", source=source, key=f"[{ap}] Bandwidth")
        bandwidths = values if mode == "USER" else ()
    if r.boolean(rp, "UseRamulatorTrace", False, strict_true_false=True):
        raise InputError("'True' is not supported by tasim (allowed: False)", source=source,
                         key=f"[{rp}] UseRamulatorTrace")

    sparsity_support = r.boolean(sp, "SparsitySupport", False, strict_true_false=True)
    sparse_rep = r.choice(sp, "SparseRep", "ellpack_block", SPARSE_REPS, fold_case=False)  # checked even if unused
    optimized = r.boolean(sp, "OptimizedMapping", False, strict_true_false=True)
    if not sparsity_support:
        sparse_rep = ""
    elif optimized:
        raise InputError("'true' is not supported by tasim (allowed: false)", source=source,
                         key=f"[{sp}] OptimizedMapping")

    topo = r.raw("network_presets", "TopologyCsvLoc") or ""
    cfg = ScaleSimConfig(
        source=source,
        run_name=run_name or d.run_name,
        array_rows=r.integer(ap, "ArrayHeight", d.array_rows),
        array_cols=r.integer(ap, "ArrayWidth", d.array_cols),
        ifmap_sram_kw=r.integer(ap, "IfmapSramSzkB", d.ifmap_sram_kw),
        filter_sram_kw=r.integer(ap, "FilterSramSzkB", d.filter_sram_kw),
        ofmap_sram_kw=r.integer(ap, "OfmapSramSzkB", d.ofmap_sram_kw),
        ifmap_offset=r.integer(ap, "IfmapOffset", d.ifmap_offset, lo=0),
        filter_offset=r.integer(ap, "FilterOffset", d.filter_offset, lo=0),
        ofmap_offset=r.integer(ap, "OfmapOffset", d.ofmap_offset, lo=0),
        dataflow=r.choice(ap, "Dataflow", d.dataflow, DATAFLOWS),
        read_request_buffer=r.integer(ap, "ReadRequestBuffer", d.read_request_buffer),
        write_request_buffer=r.integer(ap, "WriteRequestBuffer", d.write_request_buffer),
        bandwidth_mode=mode,
        bandwidths=bandwidths,
        ifmap_custom_layout=r.boolean(lay, "IfmapCustomLayout", d.ifmap_custom_layout),
        filter_custom_layout=r.boolean(lay, "FilterCustomLayout", d.filter_custom_layout),
        ifmap_sram_bank_bandwidth=r.integer(lay, "IfmapSRAMBankBandwidth", d.ifmap_sram_bank_bandwidth),
        ifmap_sram_bank_num=r.integer(lay, "IfmapSRAMBankNum", d.ifmap_sram_bank_num),
        ifmap_sram_bank_port=r.integer(lay, "IfmapSRAMBankPort", d.ifmap_sram_bank_port),
        filter_sram_bank_bandwidth=r.integer(lay, "FilterSRAMBankBandwidth", d.filter_sram_bank_bandwidth),
        filter_sram_bank_num=r.integer(lay, "FilterSRAMBankNum", d.filter_sram_bank_num),
        filter_sram_bank_port=r.integer(lay, "FilterSRAMBankPort", d.filter_sram_bank_port),
        sparsity_support=sparsity_support,
        sparse_rep=sparse_rep,
        sparsity_block_size=r.integer(sp, "BlockSize", d.sparsity_block_size),
        sparsity_rand_seed=r.integer(sp, "RandomNumberGeneratorSeed", d.sparsity_rand_seed, lo=0),
        topology_path=topo.strip('"'),
    )
    return cfg


def parse_cfg(path: str | Path) -> ScaleSimConfig:
    """Read and validate a SCALE-Sim ``.cfg`` file."""
    return parse_cfg_text(read_text(path), source=str(path))


def cfg_arch_mapping(cfg: ScaleSimConfig, *, timing: str = "scalesim") -> dict[str, object]:
    """The tasim ArchSpec mapping of a SCALE-Sim cfg (validated by ``simulator.arch.arch_from_mapping``;
    ``simulator.scalesim.run.cfg_to_arch`` returns the ArchSpec).

    Array H x W and dataflow as given; SRAM kilo-words -> KiB (1-byte words); double-buffered
    (SCALE-Sim's scratchpads are); DRAM bandwidth: unlimited for ``CALC`` (SCALE-Sim sizes the
    interface so nothing stalls), the first ``Bandwidth`` value in words(=bytes)/cycle for ``USER``;
    ``pe.native_bits = 8`` (one word per operand). N:M sparsity is applied per layer by the caller
    (K compressed as SCALE-Sim's operand matrices do), so ``pe.sparsity`` stays ``none`` here.
    """
    dram: dict[str, object] = {"latency_cycles": 0}
    if cfg.user_bandwidth:
        dram["bytes_per_cycle"] = float(cfg.bandwidths[0] * cfg.word_bytes)
    else:
        dram["bandwidth_gbps"] = math.inf
    return {
        "name": cfg.run_name,
        "description": f"from SCALE-Sim cfg {cfg.source}",
        "array": {"rows": cfg.array_rows, "cols": cfg.array_cols, "dataflow": cfg.dataflow, "timing": timing},
        "pe": {"native_bits": 8, "sparsity": "none"},
        "buffers": {
            "ifmap_kib": float(cfg.ifmap_sram_kw * cfg.word_bytes),
            "filter_kib": float(cfg.filter_sram_kw * cfg.word_bytes),
            "ofmap_kib": float(cfg.ofmap_sram_kw * cfg.word_bytes),
            "double_buffered": True,
        },
        "dram": dram,
    }
