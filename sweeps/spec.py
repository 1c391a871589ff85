"""Sweep specs: a validated YAML description of a design-space exploration -> design points.

A spec names a base accelerator, the axes to vary (dotted ArchSpec paths with value lists or
ranges, plus an optional PE-count x aspect-ratio axis that sets ``array.rows``/``array.cols``),
the workloads (zoo models x sequence lengths x phases) crossed with compression recipes, the
objectives and constraints, and a search strategy (``grid``, ``random`` or ``nsga2``). The format
is documented in ``docs/sweeps.md``. Everything is validated before any simulation starts: every
error is a one-line :class:`InputError` naming the file and the key.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from sweeps.workload_build import WorkloadKey, build_workload_cached, content_hash, load_recipes  # noqa: F401
from workloads.errors import InputError, show_value
from workloads.schema import from_dict, load_yaml, path_exists, spec_field

# Result columns: every metric of simulator/metrics.py (the one registry: unit, direction, derivation,
# label), the workload columns and the spec's axes; objectives and constraints may also be
# arithmetic expressions of them ('energy_pj / new_tokens').
WORKLOAD_VALUE_COLUMNS: tuple[str, ...] = ("seq_len", "batch", "context", "new_tokens", "image_size")
PE_ARRAY_AXIS = "pe_array"
#: largest grid ``strategy: grid`` accepts (design points); bigger grids are refused with a suggestion
MAX_GRID_POINTS = 100_000_000  # the synthetic axis name for (PE count, aspect ratio)

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_CONSTRAINT_RE = re.compile(rf"^\s*(.+?)\s*(<=|>=|<|>|==|!=)\s*({_NUMBER})\s*$")
MAX_AXIS_VALUES = 100_000  # values one axis range may expand to
MAX_WORKLOADS = 2_000  # distinct (model, seq_len, phase, recipe) workloads, each built up front
_OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt, "==": operator.eq,
        "!=": operator.ne}


@dataclass(frozen=True)
class BaseSpec:
    arch: str = spec_field("gemmini", doc="shipped accelerator name or YAML file (relative to the spec)")
    set: dict[str, Any] = spec_field(default_factory=dict, doc="dotted-path overrides applied to the base")


@dataclass(frozen=True)
class PEArraySpec:
    pes: tuple[int, ...] = spec_field((), ge=1, doc="total PEs per array (rows * cols)")
    aspect: tuple[float, ...] = spec_field((1.0,), gt=0, doc="rows / cols ratios")


@dataclass(frozen=True)
class WorkloadSpec:
    models: tuple[str, ...] = spec_field((), doc="zoo model names, Hugging Face ids of them, or model YAML files")
    files: tuple[str, ...] = spec_field((), doc="workload files (traced/saved YAML, CSV, JSON, SCALE-Sim topology) "
                                            "or model YAML files, relative to the spec")
    seq_lens: tuple[int, ...] = spec_field((128,), ge=1, le=2**24, doc="sequence lengths (prefill) / prompt lengths")
    phases: tuple[Literal["prefill", "decode"], ...] = spec_field(("prefill",))
    batch: int = spec_field(1, ge=1, le=2**24)
    context: int | None = spec_field(None, ge=0, le=2**24, doc="decode: KV-cache length at the first new token")
    new_tokens: int = spec_field(1, ge=1, le=2**24, doc="decode: tokens generated")
    image_size: int | None = spec_field(None, ge=1, le=2**16, doc="vision models: input resolution")


@dataclass(frozen=True)
class StrategySpec:
    kind: Literal["grid", "random", "nsga2"] = spec_field("grid")
    n: int = spec_field(100, ge=1, doc="random: points drawn; nsga2: total evaluations (trials)")
    seed: int = spec_field(0, ge=0)
    population: int = spec_field(24, ge=2, doc="nsga2: population size per generation")


@dataclass(frozen=True)
class SweepSpec:
    name: str = spec_field("sweep")
    description: str = spec_field("")
    base: BaseSpec = spec_field(default_factory=BaseSpec)
    axes: dict[str, Any] = spec_field(default_factory=dict, doc="dotted arch path -> list or range")
    pe_array: PEArraySpec | None = spec_field(None, doc="PE count x aspect ratio -> array.rows/cols")
    workloads: WorkloadSpec = spec_field(default_factory=WorkloadSpec)
    recipes: tuple[str, ...] = spec_field(("none",), doc="compression recipes ('none' = uncompressed)")
    objectives: dict[str, Literal["min", "max"]] = spec_field(
        default_factory=lambda: {"latency_s": "min", "energy_pj": "min"}
    )
    constraints: tuple[str, ...] = spec_field((), doc="'COLUMN OP NUMBER', e.g. 'area_mm2 <= 100'")
    strategy: StrategySpec = spec_field(default_factory=StrategySpec)
    engine: Literal["analytical", "cycle"] = spec_field("analytical")
    color_by: str = spec_field("", doc="column colouring the front in the report's figures (default: first axis)")


@dataclass(frozen=True)
class Constraint:
    column: str
    op: str
    value: float
    text: str

    def mask(self, values: np.ndarray) -> np.ndarray:
        """True where satisfied (NaN never satisfies)."""
        v = np.asarray(values, dtype=float)
        with np.errstate(invalid="ignore"):
            return _OPS[self.op](v, self.value) & ~np.isnan(v)


@dataclass(frozen=True)
class DesignPoint:
    """An accelerator (axis values applied to the base) running one workload."""

    axes: tuple[tuple[str, Any], ...]  # (column name, value) in spec order; pe_array adds rows/cols
    workload: WorkloadKey

    def overrides(self) -> dict[str, Any]:
        return {k: v for k, v in self.axes if k != PE_ARRAY_AXIS}


def canonical_column(name: str) -> str:
    from simulator.metrics import canonical

    return canonical(name)


def parse_constraint(text: str, *, source: str | None, key: str) -> Constraint:
    m = _CONSTRAINT_RE.match(text) if len(text) < 500 else None
    if not m or not math.isfinite(float(m.group(3))):
        raise InputError(
            f"{show_value(text)} is not a constraint (allowed: 'COLUMN OP NUMBER' with OP one of <=, >=, <, >, ==, "
            "!=, NUMBER finite)",
            source=source, key=key,
        )
    return Constraint(canonical_column(m.group(1)), m.group(2), float(m.group(3)), text.strip())


def expand_axis(path: str, spec: Any, *, source: str | None) -> list[Any]:
    """A list, or a range mapping ``{start, stop, step}`` / ``{start, stop, num, log}`` / ``{pow2: [lo, hi]}``."""
    key = f"axes.{path}"
    if isinstance(spec, (list, tuple)):
        if not spec or len(spec) > MAX_AXIS_VALUES:
            raise InputError(f"{len(spec):,} values (allowed: a list of 1 to {MAX_AXIS_VALUES:,} values, or a range "
                             "mapping)", source=source, key=key)
        return list(spec)
    if not isinstance(spec, dict):
        return [spec]
    allowed = {"start", "stop", "step", "num", "log", "pow2", "integer"}
    unknown = [k for k in spec if k not in allowed]
    if unknown:
        raise InputError(f"unknown key (allowed: {', '.join(sorted(allowed))})", source=source, key=f"{key}.{unknown[0]}")
    if "pow2" in spec:
        lo_hi = spec["pow2"]
        if not (isinstance(lo_hi, list) and len(lo_hi) == 2
                and all(isinstance(x, int) and not isinstance(x, bool) and 1 <= x <= 2**62 for x in lo_hi)
                and lo_hi[0] <= lo_hi[1]):
            raise InputError(f"{show_value(lo_hi)} is not [low, high] (allowed: integers 1 <= low <= high <= 2**62)",
                             source=source, key=f"{key}.pow2")
        lo, hi = lo_hi
        out = [1 << e for e in range((lo - 1).bit_length(), hi.bit_length()) if lo <= 1 << e <= hi]
        if not out:
            raise InputError(f"{show_value(lo_hi)} holds no power of two", source=source, key=f"{key}.pow2")
        return out
    for req in ("start", "stop"):
        v = spec.get(req)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or abs(v) > 1e18:
            raise InputError(f"{show_value(v)} (allowed: a finite number)", source=source, key=f"{key}.{req}")
    start, stop = spec["start"], spec["stop"]
    if stop < start:
        raise InputError(f"stop {stop} < start {start}: an empty range (allowed: start <= stop)", source=source,
                         key=key)
    integer = spec.get("integer", isinstance(start, int) and isinstance(stop, int) and "num" not in spec)
    if not isinstance(integer, bool):
        raise InputError(f"{show_value(integer)} (allowed: true, false)", source=source, key=f"{key}.integer")
    if "step" in spec:
        step = spec["step"]
        if isinstance(step, bool) or not isinstance(step, (int, float)) or not math.isfinite(step) or step <= 0:
            raise InputError(f"{show_value(step)} is out of range (allowed: a finite number > 0)", source=source,
                             key=f"{key}.step")
        count = math.floor((stop - start) / step * (1 + 1e-12)) + 1
        if count > MAX_AXIS_VALUES:
            raise InputError(f"{count:,} values (allowed: <= {MAX_AXIS_VALUES:,} per axis)", source=source,
                             key=f"{key}.step")
        values = [start + i * step for i in range(count)]
    else:
        num = spec.get("num")
        if not isinstance(num, int) or isinstance(num, bool) or not 1 <= num <= MAX_AXIS_VALUES:
            raise InputError(f"{show_value(num)} (allowed: give step, or num from 1 to {MAX_AXIS_VALUES:,})",
                             source=source, key=f"{key}.num")
        log = spec.get("log", False)
        if not isinstance(log, bool):
            raise InputError(f"{show_value(log)} (allowed: true, false)", source=source, key=f"{key}.log")
        if log:
            if start <= 0 or stop <= 0:
                raise InputError("log ranges need start, stop > 0", source=source, key=key)
            values = list(np.geomspace(start, stop, num))
        else:
            values = list(np.linspace(start, stop, num))
    if integer:
        out = sorted({int(round(v)) for v in values})
    else:
        out = [float(round(v, 12)) for v in values]
    return out


def pe_array_shapes(pes: tuple[int, ...], aspects: tuple[float, ...], *, source: str | None) -> list[tuple[int, int]]:
    """(rows, cols) for each PE count x aspect ratio (rows/cols); rows and cols must come out integral."""
    shapes: list[tuple[int, int]] = []
    for p in pes:
        for a in aspects:
            rows = round(math.sqrt(p * a))
            cols = round(p / rows) if rows else 0
            if rows < 1 or cols < 1 or rows * cols != p:
                raise InputError(
                    f"{p} PEs with aspect {a} gives no integer rows x cols (rows={math.sqrt(p * a):.3g})",
                    source=source, key="pe_array",
                )
            if (rows, cols) not in shapes:
                shapes.append((rows, cols))
    return shapes


class Sweep:
    """A validated, expanded sweep spec: axes, workloads, objectives, constraints."""

    def __init__(self, spec: SweepSpec, *, source: str | None = None, base_dir: Path | None = None,
                 evaluator: Any = None) -> None:
        """``evaluator``: replaces the simulator (Python API only; specs are data): a callable
        ``(ArchSpec, WorkloadKey, engine) -> (totals, per-op columns)`` or the name of an installed
        ``tasim.evaluators`` entry point (see :func:`sweeps.evaluate.resolve_evaluator`)."""
        from simulator.arch import ArchSpec, load_arch
        from sweeps.evaluators import evaluator_id, resolve_evaluator
        from workloads.schema import dotted_paths

        self.spec = spec
        self.source = source
        # resolved here (an unknown entry point fails before any work); tasks carry the function itself,
        # pickled by reference, so workers need its module, not the entry-point metadata
        self.evaluator = resolve_evaluator(evaluator) if evaluator else ""
        self.evaluator_id = evaluator_id(self.evaluator)
        base_dir = base_dir or Path(".")
        self.base_dir = base_dir
        arch_ref = spec.base.arch
        if (arch_ref.endswith((".yaml", ".yml", ".cfg"))) and not Path(arch_ref).is_absolute():
            cand = base_dir / arch_ref
            arch_ref = str(cand) if path_exists(cand) else arch_ref
        try:
            self.base_arch = load_arch(arch_ref, dict(spec.base.set))
        except InputError as exc:
            raise InputError(f"base: {exc}", source=source, key="base.arch") from None
        self.base_arch_dict = self.base_arch.to_dict()
        paths = set(dotted_paths(ArchSpec)) | named_list_paths(self.base_arch)
        self.axis_values: dict[str, list[Any]] = {}
        for path, values in spec.axes.items():
            if path not in paths:
                raise InputError(
                    "unknown arch path (allowed: dotted paths such as array.rows, pe.precision_mode, "
                    "dram.bandwidth_gbps; see docs/sweeps.md)", source=source, key=f"axes.{path}",
                )
            if spec.pe_array is not None and path in ("array.rows", "array.cols"):
                raise InputError("conflicts with pe_array (which sets array.rows and array.cols)",
                                 source=source, key=f"axes.{path}")
            vals = expand_axis(path, values, source=source)
            converted = []
            for i, v in enumerate(vals):  # every value must be valid on its own
                try:
                    converted.append(get_path(self.base_arch.replace(**{path: v}), path))
                except InputError as exc:
                    raise InputError(exc.bare_message, source=source, key=f"axes.{path}[{i}]") from None
            self.axis_values[path] = _distinct(converted)  # as validated (e.g. 1000 -> 1000.0 for a float field)
        self.shapes: list[tuple[int, int]] | None = None
        if spec.pe_array is not None:
            if not spec.pe_array.pes:
                raise InputError("empty (allowed: a list of PE counts)", source=source, key="pe_array.pes")
            self.shapes = pe_array_shapes(spec.pe_array.pes, spec.pe_array.aspect, source=source)
        self._check_workloads(source)
        from simulator import metrics

        known = set(WORKLOAD_VALUE_COLUMNS) | set(self.axis_columns)
        self.objectives: dict[str, str] = {}
        for name, sense in spec.objectives.items():
            col = metrics.check(name, known, source=source, key=f"objectives.{name}")
            self.objectives[col] = sense
        if not self.objectives:
            raise InputError("no objectives (allowed: a mapping COLUMN: min|max)", source=source, key="objectives")
        self.constraints: list[Constraint] = []
        for i, text in enumerate(spec.constraints):
            c = parse_constraint(text, source=source, key=f"constraints[{i}]")
            metrics.check(c.column, known, source=source, key=f"constraints[{i}]")
            self.constraints.append(c)
        if spec.strategy.kind == "nsga2":
            try:
                import optuna  # noqa: F401
            except ImportError:
                raise InputError("nsga2 needs optuna (pip install tasim[search])", source=source,
                                 key="strategy.kind") from None
        if spec.color_by and spec.color_by not in known | {"recipe", "model", "seq_len", "phase", "array.shape"}:
            metrics.check(spec.color_by, known | {"recipe", "model", "phase", "array.shape"}, source=source,
                          key="color_by")
        check_grid_size(self)

    # ---- workloads -------------------------------------------------------------------------------
    def _check_workloads(self, source: str | None) -> None:
        w = self.spec.workloads
        if not w.models and not w.files:
            raise InputError("no models or files (allowed: zoo names, see `tasim models`, or workload files)",
                             source=source, key="workloads.models")
        if not self.spec.recipes:
            raise InputError("no recipes (allowed: a list of recipe names, e.g. [none, w8a8])", source=source,
                             key="recipes")
        if not w.seq_lens or not w.phases:
            raise InputError("empty (allowed: a non-empty list)", source=source,
                             key="workloads.seq_lens" if not w.seq_lens else "workloads.phases")
        n_wl = (len(w.models) + len(w.files)) * len(w.seq_lens) * len(w.phases) * len(self.spec.recipes)
        if n_wl > MAX_WORKLOADS:
            raise InputError(f"{n_wl:,} workloads = models x seq_lens x phases x recipes (allowed: <= {MAX_WORKLOADS:,})",
                             source=source, key="workloads")
        self._sources: list[tuple[str, str, Any]] = []  # (display name, file path or '', loaded object)
        if self.evaluator:
            self._sources = [(m, "", None) for m in w.models]
            return  # a custom evaluator decides what model names mean
        from workloads.files import is_workload_file, load_workload_file
        from workloads.zoo import resolve_model_name

        entries = [(f"workloads.models[{i}]", m) for i, m in enumerate(w.models)]
        entries += [(f"workloads.files[{i}]", f) for i, f in enumerate(w.files)]
        for key, m in entries:
            try:
                if key.startswith("workloads.files") or is_workload_file(m):
                    p = Path(m) if Path(m).is_absolute() else self.base_dir / m
                    obj = load_workload_file(p if p.exists() else Path(m))
                    name = getattr(obj, "model", "") or obj.name
                    self._sources.append((name, str((p if p.exists() else Path(m)).resolve()), obj))
                else:
                    self._sources.append((resolve_model_name(m), "", None))
            except InputError as exc:
                raise InputError(exc.bare_message, source=source, key=key) from None
        for i, r in enumerate(self.spec.recipes):
            if r in ("none", ""):
                continue
            try:
                load_recipes(r)
            except InputError as exc:
                raise InputError(exc.bare_message, source=source, key=f"recipes[{i}]") from None
            except ImportError:
                pass
        # build every workload now (cached for the run; forked workers inherit it): a model that
        # has no decode phase, a bad shape or a recipe that does not apply fails before any work
        for wk in self.workload_keys:
            try:
                build_workload_cached(wk)
            except InputError as exc:
                what = f"{wk.model} {wk.phase} seq_len={wk.seq_len} recipe={wk.recipe}"
                raise InputError(f"{what}: {exc.bare_message}", source=source, key="workloads") from None

    @property
    def workload_keys(self) -> list[WorkloadKey]:
        """Models (zoo names and model files) x seq_lens x phases x recipes; fixed workload files
        (traced, saved, topologies) x recipes at their own shape."""
        from workloads.ir import Workload

        w = self.spec.workloads
        out = []
        for name, path, obj in self._sources:
            if isinstance(obj, Workload):
                for recipe in self.spec.recipes:
                    out.append(WorkloadKey(name, obj.seq_len, obj.phase, obj.batch, obj.context, obj.new_tokens,
                                           obj.image_size, recipe, path))
                continue
            for seq, phase, recipe in itertools.product(w.seq_lens, w.phases, self.spec.recipes):
                out.append(WorkloadKey(name, seq, phase, w.batch, w.context, w.new_tokens, w.image_size, recipe, path))
        return out

    # ---- axes ------------------------------------------------------------------------------------
    @property
    def axis_columns(self) -> list[str]:
        cols = list(self.axis_values)
        if self.shapes is not None:
            cols = ["array.rows", "array.cols", *cols]
        return cols

    def _dims(self) -> list[list[tuple[tuple[str, Any], ...]]]:
        dims: list[list[tuple[tuple[str, Any], ...]]] = []
        if self.shapes is not None:
            dims.append([(("array.rows", r), ("array.cols", c)) for r, c in self.shapes])
        for path, vals in self.axis_values.items():
            dims.append([((path, v),) for v in vals])
        return dims

    def arch_choices(self) -> list[tuple[tuple[str, Any], ...]]:
        """Every arch (axis assignment) of the full grid, in a stable order (last axis fastest)."""
        return [tuple(kv for part in combo for kv in part) for combo in itertools.product(*self._dims())]

    def arch_at(self, index: int) -> tuple[tuple[str, Any], ...]:
        """The ``index``-th arch of :meth:`arch_choices` without materialising the grid."""
        dims = self._dims()
        parts = []
        for d in reversed(dims):
            index, r = divmod(index, len(d))
            parts.append(d[r])
        return tuple(kv for part in reversed(parts) for kv in part)

    def grid_size(self) -> int:
        n = len(self.shapes) if self.shapes is not None else 1
        for vals in self.axis_values.values():
            n *= len(vals)
        return n * len(self.workload_keys)

    def points(self) -> list[DesignPoint]:
        """Design points for grid/random strategies (nsga2 asks its sampler instead; see sweeps/search.py)."""
        wls = self.workload_keys
        if self.spec.strategy.kind == "random":  # sampled by index: the grid is never materialised
            rng = np.random.default_rng(self.spec.strategy.seed)
            total = self.grid_size()
            n = min(self.spec.strategy.n, total)
            idx = np.sort(rng.choice(total, size=n, replace=False))
            return [DesignPoint(self.arch_at(int(i) // len(wls)), wls[int(i) % len(wls)]) for i in idx]
        return [DesignPoint(a, w) for a in self.arch_choices() for w in wls]

    def arch_dict(self, point: DesignPoint) -> dict[str, Any]:
        """The arch mapping of a point: base plus its axis overrides (paths were validated at load)."""
        data = dict(self.base_arch_dict)
        copied: set[str] = set()
        for path, value in point.overrides().items():
            *parents, leaf = path.split(".")
            node = data
            prefix = ""
            for part in parents:
                prefix = f"{prefix}.{part}"
                if isinstance(node, list):  # a named list (memory: levels): the entry of that name
                    i = [e.get("name") for e in node].index(part)
                    if prefix not in copied:
                        node[i] = dict(node[i])
                        copied.add(prefix)
                    node = node[i]
                    continue
                if prefix not in copied:
                    node[part] = list(node[part]) if isinstance(node[part], list) else dict(node[part])
                    copied.add(prefix)
                node = node[part]
            node[leaf] = value
        return data


def check_grid_size(sweep: Sweep) -> None:
    """Refuse a grid above :data:`MAX_GRID_POINTS` with its size and what to do instead."""
    n = sweep.grid_size()
    if sweep.spec.strategy.kind == "grid" and n > MAX_GRID_POINTS:
        widest = max(sweep.axis_values.items(), key=lambda kv: len(kv[1]), default=(None, []))
        coarser = f", or a coarser grid (axes.{widest[0]} has {len(widest[1])} values)" if widest[0] else ""
        raise InputError(
            f"the grid has {n:,} design points, more than the limit of {MAX_GRID_POINTS:,} (allowed: "
            f"strategy {{kind: random, n: 1000000}} to sample it, strategy {{kind: nsga2, n: 5000}} to search "
            f"it{coarser})", source=sweep.source, key="strategy")


def _distinct(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if not any(type(v) is type(o) and v == o for o in out):
            out.append(v)
    return out


def get_path(obj: Any, path: str) -> Any:
    """The value at a dotted path; entries of a named list (``memory:`` levels) by their name."""
    for part in path.split("."):
        if isinstance(obj, tuple):
            obj = next(x for x in obj if getattr(x, "name", None) == part)
        else:
            obj = getattr(obj, part)
    return obj


def named_list_paths(arch: Any) -> set[str]:
    """Dotted paths of the named entries of an arch's lists: ``memory.unified_buffer.capacity_kib``."""
    import dataclasses

    return {f"memory.{lv.name}.{f.name}" for lv in (arch.memory or ()) for f in dataclasses.fields(lv)
            if f.name != "name"}


def replace_path(obj: Any, overrides: dict[str, Any]) -> Any:
    """Nested ``dataclasses.replace`` by dotted paths (values must already be validated/converted);
    ``__post_init__`` checks still run."""
    groups: dict[str, dict[str, Any]] = {}
    direct: dict[str, Any] = {}
    for path, value in overrides.items():
        head, _, rest = path.partition(".")
        if rest:
            groups.setdefault(head, {})[rest] = value
        else:
            direct[head] = value
    for head, sub in groups.items():
        target = obj[[getattr(x, "name", None) for x in obj].index(head)] if isinstance(obj, tuple) \
            else getattr(obj, head)
        direct[head] = replace_path(target, sub)
    if isinstance(obj, tuple):  # a named list (memory: levels): replace the named entries
        return tuple(direct.get(getattr(x, "name", None), x) for x in obj)
    return _replace(obj, direct) if direct else obj


def _replace(obj: Any, changes: dict[str, Any]) -> Any:
    """``dataclasses.replace`` for the frozen spec dataclasses, ~10x faster: copy the instance dict
    (without the values cached by ``functools.cached_property``, which belong to the old instance), set
    the changed fields, run ``__post_init__`` (its checks). Falls back to ``dataclasses.replace`` for
    classes without an instance dict and for unknown fields."""
    import dataclasses

    cls = type(obj)
    fields, cached = _init_fields(cls)
    if not hasattr(obj, "__dict__") or not fields.issuperset(changes):
        return dataclasses.replace(obj, **changes)  # (unknown fields: raises its own error)
    new = object.__new__(cls)
    d = new.__dict__
    d.update(obj.__dict__)
    for name in cached:
        d.pop(name, None)
    d.update(changes)
    post = getattr(new, "__post_init__", None)
    checked = getattr(cls, "POST_INIT_FIELDS", None)  # the fields its checks read, where a class says so
    if post is not None and (checked is None or not checked.isdisjoint(changes)):
        post()
    return new


@functools.cache
def _init_fields(cls: type) -> tuple[frozenset[str], tuple[str, ...]]:
    """Init fields of a dataclass and the names of its cached properties (dropped from a copy)."""
    import dataclasses

    cached = tuple(k for c in cls.__mro__ for k, v in vars(c).items() if isinstance(v, functools.cached_property))
    return frozenset(f.name for f in dataclasses.fields(cls) if f.init), cached


def load_sweep(path: str | Path, *, workload_files: tuple[str, ...] = (), evaluator: Any = None) -> Sweep:
    """Read and fully validate a sweep YAML file, or a shipped spec by name (no simulation here).

    ``workload_files`` (``tasim sweep --workload FILE``) replace the spec's models and files;
    ``evaluator`` as in :class:`Sweep` (never part of the data)."""
    p = Path(path)
    shipped = Path(__file__).parent / "specs" / f"{path}.yaml"
    if not path_exists(p) and p.suffix not in (".yaml", ".yml") and re.fullmatch(r"[\w.-]{1,100}", str(path)) \
            and shipped.exists():
        p = shipped
    data = load_yaml(p)
    if workload_files and isinstance(data, dict) and isinstance(data.get("workloads") or {}, dict):
        wl = dict(data.get("workloads") or {})
        wl["models"] = []
        wl["files"] = [str(Path(f).resolve()) for f in workload_files]
        data = dict(data, workloads=wl)
    spec = from_dict(SweepSpec, data, source=str(p))
    return Sweep(spec, source=str(p), base_dir=p.parent, evaluator=evaluator)


def sweep_from_dict(data: dict[str, Any], *, source: str = "<spec>", evaluator: Any = None) -> Sweep:
    """A Sweep from a spec mapping; ``evaluator`` as in :class:`Sweep` (never part of the data)."""
    spec = from_dict(SweepSpec, data, source=source)
    return Sweep(spec, source=source, evaluator=evaluator)
