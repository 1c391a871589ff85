"""The facade's functions and result objects (see tasim/__init__.py and docs/python.md)."""

from __future__ import annotations

import html
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

Overrides = Mapping[str, Any] | None


# ---- accelerators, models, recipes, metrics --------------------------------------------------------


def load_arch(name_or_file: Any, set: Overrides = None) -> Any:  # noqa: A002 - the documented keyword
    """An ``ArchSpec``: shipped name, YAML file (``base:`` allowed), SCALE-Sim ``.cfg``, or an ArchSpec,
    with dotted-path overrides ``set={"array.rows": 64, "pe.native_bits": 4}``."""
    from simulator.arch import ArchSpec
    from simulator.arch import load_arch as _load

    if isinstance(name_or_file, ArchSpec):
        return name_or_file.replace(**dict(set or {})) if set else name_or_file
    return _load(str(name_or_file), dict(set or {}))


def archs() -> list[str]:
    """Shipped accelerator names."""
    from simulator.arch import shipped_names

    return shipped_names()


def models() -> list[str]:
    """Zoo model names (Hugging Face ids of them work too, e.g. ``bert-base-uncased``)."""
    from workloads.zoo import list_models

    return list_models()


def recipes() -> list[str]:
    """Shipped compression recipes (compose them with '+', e.g. ``nm-2of4+w8a8``)."""
    from workloads.compress import list_recipes

    return list_recipes()


def metric(name: str) -> Any:
    """The registry entry of a result column or expression (unit, display unit, direction, formula)."""
    from simulator.metrics import get

    return get(name)


def _table_html(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>"
                   f"{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _fmt(v: float) -> str:
    return f"{v:,.4g}" if abs(v) < 1e6 else f"{v:.4e}"


# ---- one simulation --------------------------------------------------------------------------------

HEADLINE = ("latency_s", "energy_pj", "area_mm2", "power_w", "tops_per_w", "tops_per_mm2", "utilization",
            "inferences_per_s", "tokens_per_s", "energy_per_inference_mj", "energy_per_token_mj", "dram_bytes")


class SimResult:
    """One workload on one accelerator: ``.totals`` (stored units: s, pJ, mm²...), ``.ops`` (the tidy
    per-op DataFrame), ``.by_kind()``, ``.summary()`` (display units), and an HTML display."""

    def __init__(self, result: Any, arch: Any, workload: Any) -> None:
        self.result = result
        self.arch = arch
        self.workload = workload

    @property
    def totals(self) -> dict[str, Any]:
        return self.result.totals

    @property
    def ops(self) -> Any:
        return self.result.ops

    def by_kind(self) -> Any:
        return self.result.by_kind()

    def __getitem__(self, name: str) -> Any:
        """A total or a metric expression: ``r["energy_pj / tokens"]``."""
        from simulator.metrics import evaluate

        return evaluate(name, self.totals)

    def summary(self) -> Any:
        """The headline metrics as a DataFrame in display units (metric, value, unit)."""
        import pandas as pd

        from simulator.metrics import get

        rows = []
        for name in HEADLINE:
            if name in self.totals:
                m = get(name)
                rows.append({"metric": m.label, "value": m.to_display(float(self.totals[name])),
                             "unit": m.display_unit, "column": name})
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        t = self.totals
        return (f"<SimResult {self.workload.name} on {self.arch.name}: latency {t['latency_s'] * 1e3:.4g} ms, "
                f"energy {t['energy_pj'] * 1e-9:.4g} mJ, area {t['area_mm2']:.4g} mm²>")

    def _repr_html_(self) -> str:
        a = self.arch.array
        head = [("accelerator", f"{self.arch.name}: {a.rows}x{a.cols} {a.dataflow}, {self.arch.pe.native_bits}b "
                                f"{self.arch.pe.precision_mode}, {self.arch.tech.node_nm:g} nm"),
                ("workload", f"{self.workload.name}" + (f" ({self.workload.recipe})" if self.workload.recipe else ""))]
        head += [(f"{r.metric} ({r.unit})" if r.unit else r.metric, _fmt(r.value)) for r in self.summary().itertuples()]
        kinds = self.by_kind()[["kind", "latency_s", "energy_pj", "macs"]].copy()
        kinds["latency (ms)"] = kinds.pop("latency_s") * 1e3
        kinds["energy (mJ)"] = kinds.pop("energy_pj") * 1e-9
        kinds["G MACs"] = kinds.pop("macs") * 1e-9
        return _table_html(head) + "<p>by op kind</p>" + kinds.to_html(index=False, float_format=_fmt, border=0)


def _workload(model: Any, *, compress: str | None, seq_len: int | None, batch: int, phase: str,
              context: int | None, new_tokens: int, image_size: int | None) -> Any:
    from workloads.files import build_from_source

    return build_from_source(model, seq_len=seq_len, batch=batch, phase=phase, context=context,
                             new_tokens=new_tokens, image_size=image_size, recipe=compress)


def simulate(model: Any, arch: Any, *, compress: str | None = None, set: Overrides = None,  # noqa: A002
             seq_len: int | None = None, batch: int = 1, phase: str = "prefill", context: int | None = None,
             new_tokens: int = 1, image_size: int | None = None, engine: str = "analytical") -> SimResult:
    """Simulate ``model`` (zoo name, Hugging Face id, model/workload file, ``Workload`` or ``ModelConfig``)
    on ``arch`` (name, file or ``ArchSpec``) with dotted-path overrides ``set`` and recipe ``compress``."""
    from simulator.run import simulate as _simulate

    a = load_arch(arch, set)
    w = _workload(model, compress=compress, seq_len=seq_len, batch=batch, phase=phase, context=context,
                  new_tokens=new_tokens, image_size=image_size)
    return SimResult(_simulate(w, a, engine=engine), a, w)


# ---- sweeps ---------------------------------------------------------------------------------------


class SweepResult:
    """A results directory: ``.totals`` (one row per design point, stored units), ``.rows`` (every row),
    ``.front(objectives=None, by=None)``, ``.plot(kind, ...)``, ``.report()`` and an HTML display."""

    def __init__(self, out_dir: str | Path, summary: Any = None) -> None:
        self.dir = Path(out_dir).resolve()
        self.run_summary = summary

    @property
    def meta(self) -> dict[str, Any]:
        from sweeps.store import Store

        return Store(self.dir, create=False).read_meta()

    @property
    def rows(self) -> Any:
        from sweeps.store import load

        return load(self.dir)

    @property
    def totals(self) -> Any:
        from sweeps.report import with_metrics
        from sweeps.store import load_totals

        return with_metrics(load_totals(self.dir), list(self.meta.get("objectives") or {}))

    @property
    def objectives(self) -> dict[str, str]:
        return dict(self.meta.get("objectives") or {})

    def front(self, objectives: Any = None, *, by: Any = "auto", feasible: bool = True, display: bool = False) -> Any:
        """The Pareto front over ``objectives`` (default: the spec's; names, expressions, 'COL:max'),
        per workload when ``by='auto'`` and the sweep has several, under the spec's constraints.
        ``display=True`` returns display units with the unit in each header."""
        from simulator.metrics import display_frame
        from sweeps.pareto import pareto_front, parse_objectives
        from sweeps.report import WORKLOAD_GROUP
        from sweeps.report import feasible as _feasible

        df = self.totals
        if feasible:
            df = _feasible(df, self.meta.get("constraints", []))
        objs = parse_objectives(objectives) if objectives is not None else self.objectives
        if by == "auto":
            by = [c for c in WORKLOAD_GROUP if c in df.columns and df[c].nunique() > 1] or None
        front = pareto_front(df, objs, by=by)
        if not display:
            return front
        lead = [c for c in ["model", "seq_len", "phase", "recipe"] + self.meta.get("axis_columns", [])
                if c in front.columns]
        return display_frame(front, list(dict.fromkeys(lead + list(objs))))

    def plot(self, kind: str = "pareto", stem: str | Path | None = None, **kwargs: Any) -> Path:
        """Write one figure (PNG, SVG, PDF) with ``tasim plot``'s logic; returns the PNG path."""
        from sweeps.cli import main

        stem = Path(stem) if stem else self.dir / kind
        argv = ["plot", str(self.dir), "--kind", kind, "-o", str(stem)]
        for k, v in kwargs.items():
            argv += [f"--{k.replace('_', '-')}", str(v)]
        if main(argv) != 0:
            raise RuntimeError(f"tasim plot {kind} failed (see the message above)")
        return stem.with_suffix(".png")

    def report(self) -> Path:
        from sweeps.report import write_report

        return write_report(self.dir)["html"]

    def __repr__(self) -> str:
        return f"<SweepResult {self.meta.get('name', '')} in {self.dir}: {len(self.totals):,} design points>"

    def _repr_html_(self) -> str:
        meta = self.meta
        front = self.front(display=True)
        rows = [("sweep", str(meta.get("name", ""))), ("results", str(self.dir)),
                ("design points", f"{len(self.totals):,}"),
                ("objectives", ", ".join(f"{k} ({v})" for k, v in self.objectives.items())),
                ("constraints", ", ".join(meta.get("constraints", [])) or "none"),
                ("Pareto front", f"{len(front)} points")]
        return _table_html(rows) + front.head(20).to_html(index=False, float_format=_fmt, border=0)


def sweep(spec: Any, out: str | Path | None = None, *, workers: int = 1, engine: str | None = None,
          progress: bool = False, report: bool = True) -> SweepResult:
    """Run (or resume) a sweep: ``spec`` is a YAML path, a shipped spec name ('quickstart') or a dict
    in the spec format (docs/sweeps.md). ``out`` defaults to a new temporary directory."""
    from sweeps.executors import make_executor
    from sweeps.runner import run_sweep
    from sweeps.spec import load_sweep, sweep_from_dict

    sw = sweep_from_dict(dict(spec), source="<dict>") if isinstance(spec, Mapping) else load_sweep(str(spec))
    out_dir = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="tasim-sweep-"))
    executor = make_executor(workers, None, None)
    try:
        summary = run_sweep(sw, out_dir, executor=executor, engine=engine, progress=progress)
    finally:
        executor.close()
    if report:
        from sweeps.report import write_report

        write_report(out_dir)
    return SweepResult(out_dir, summary)


def load(out_dir: str | Path) -> SweepResult:
    """An existing results directory (``tasim sweep -o DIR``)."""
    from sweeps.store import Store

    Store(out_dir, create=False)  # refuses a directory that holds no sweep
    return SweepResult(out_dir)
