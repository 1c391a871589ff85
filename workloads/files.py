"""Workloads from files: one loader for every format a user may hand to ``--workload`` or a spec.

``load_workload_file(path)`` returns either a :class:`~workloads.ir.Workload` (fixed shapes: a traced
or saved workload) or a :class:`~workloads.modelconfig.ModelConfig` (a model YAML: shapes come from
``seq_len`` / ``phase`` / ``batch`` at build time). Formats, detected from the suffix and content:

* ``.yaml`` / ``.yml``: a workload (``to_yaml``/``tasim trace --out``; has ``ops:``) or a model config
  (zoo format: ``family``, ``hidden``, ``layers`` ...);
* ``.json``: a workload mapping (``Workload.to_dict()``);
* ``.csv``: tasim's per-op CSV (``to_csv``; ``# key: value`` lines, ``op``/``kind`` columns) or a
  SCALE-Sim topology (``Layer name, M, N, K,`` GEMM rows or conv rows).

:func:`build_from_source` turns a zoo name, Hugging Face id or file into a workload at a shape.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from workloads.errors import InputError
from workloads.ir import Workload
from workloads.modelconfig import ModelConfig
from workloads.schema import from_dict, load_yaml, read_text

SUFFIXES = (".yaml", ".yml", ".json", ".csv")


def is_workload_file(text: str | Path) -> bool:
    return Path(text).suffix.lower() in SUFFIXES


def load_workload_file(path: str | Path) -> Workload | ModelConfig:
    """A workload or a model config from a file (format detected; one-line InputError otherwise)."""
    from workloads import formats

    p = Path(path)
    if not p.exists():
        raise InputError("no such file", source=str(p))
    suffix = p.suffix.lower()
    if suffix in (".yaml", ".yml"):
        data = load_yaml(p)
        if isinstance(data, dict) and "ops" in data:
            return formats.workload_from_dict(data, source=str(p))
        if isinstance(data, dict) and ("family" in data or "hidden" in data):
            return from_dict(ModelConfig, data, source=str(p))
        raise InputError("neither a workload (no 'ops:' list) nor a model config (no 'family:'/'hidden:'); "
                         "write one with `tasim trace --out` or `tasim models NAME --save`", source=str(p))
    if suffix == ".json":
        try:
            data = json.loads(read_text(p))
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON at line {exc.lineno}: {exc.msg}", source=str(p)) from None
        return formats.workload_from_dict(data, source=str(p))
    if suffix == ".csv":
        text = read_text(p)
        first = next((ln for ln in text.splitlines() if ln.strip()), "")
        if first.startswith("# ") or first.split(",")[0].strip() == "op":
            return formats.from_csv(p)
        return formats.from_scalesim_topology(p)
    raise InputError(f"unknown workload format {p.suffix!r} (allowed: {', '.join(SUFFIXES)})", source=str(p))


def build_from_source(source: str | Path | ModelConfig | Workload, *, seq_len: int | None = None, batch: int = 1,
                      phase: str = "prefill", context: int | None = None, new_tokens: int = 1,
                      image_size: int | None = None, recipe: str | None = None) -> Workload:
    """The workload of a zoo name, Hugging Face id, model YAML, workload file or object, compressed by
    ``recipe``. Shape arguments apply to models; a fixed workload (traced, topology) keeps its own."""
    from workloads.zoo import build_workload

    obj: Any = source
    if isinstance(source, (str, Path)) and is_workload_file(source):
        obj = load_workload_file(source)
    if isinstance(obj, Workload):
        w = obj
    else:
        w = build_workload(obj, seq_len=seq_len, batch=batch, phase=phase, context=context if phase == "decode"
                           else None, new_tokens=new_tokens if phase == "decode" else 1, image_size=image_size)
    if recipe and recipe != "none":
        from workloads.compress import apply_recipe

        w = apply_recipe(w, recipe)
    return w
