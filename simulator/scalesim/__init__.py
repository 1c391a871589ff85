"""SCALE-Sim 3.0.0 compatibility: read its ``.cfg`` and topology files, write its reports.

``run_scalesim(cfg, topology, outdir, input_type=...)`` is the API behind ``tasim scalesim``; see
``docs/scalesim.md`` for the compatibility surface and ``docs/timing.md`` for the timing models.
"""

from pathlib import Path

from simulator.scalesim.config import ScaleSimConfig, cfg_arch_mapping, parse_cfg, parse_cfg_text
from simulator.scalesim.reports import read_report, report_texts
from simulator.scalesim.run import ScaleSimRun, cfg_to_arch, layer_figures, run_scalesim
from workloads.topology import Layer, parse_layout, parse_topology, parse_topology_text


def example_path(name: str) -> str:
    """Path of a shipped example file (``scale.cfg``, ``bert_base_layer_gemm.csv``, ``conv_small.csv``)."""
    from importlib import resources

    from workloads.errors import InputError

    folder = Path(str(resources.files("simulator.scalesim"))) / "examples"
    path = folder / name
    if not path.is_file():
        names = ", ".join(sorted(p.name for p in folder.iterdir() if p.is_file()))
        raise InputError(f"no example {name!r} (allowed: {names})", key="example")
    return str(path)


__all__ = [
    "example_path",
    "Layer",
    "ScaleSimConfig",
    "ScaleSimRun",
    "cfg_arch_mapping",
    "cfg_to_arch",
    "layer_figures",
    "parse_cfg",
    "parse_cfg_text",
    "parse_layout",
    "parse_topology",
    "parse_topology_text",
    "read_report",
    "report_texts",
    "run_scalesim",
]
