"""Every result figure, defined once: name, stored unit, display unit, direction, derivation, label.

A :class:`Metric` is one column of a result (``simulate`` totals, a sweep's total rows, a Pareto
front). Primary metrics come from the simulator; *derived* metrics carry a ``formula`` over other
columns (the same safe arithmetic as user expressions) and are computed here, in one place, by
:func:`derive` (a totals mapping) or :func:`add_columns` (a DataFrame).

Units. A column keeps the unit its name carries (``latency_s`` seconds, ``energy_pj`` picojoules,
``area_mm2`` mm², ``dram_bytes`` bytes, ``energy_per_token_mj`` millijoules): that is what
``simulate``, ``Result.totals`` and the Parquet store hold, never a display-scaled copy. People see
``display_unit`` (value x ``scale``) with the unit in the header (:func:`header`,
:func:`display_frame`): ``latency (ms)``, ``energy (mJ)``.

Expressions. Anything that is not a registered name may be an arithmetic expression over known
columns, e.g. ``energy_pj / new_tokens`` or ``tokens_per_s / (area_mm2 * power_w)``: numbers,
column names (dotted arch paths such as ``array.rows`` included), ``+ - * / **``, unary minus and
the functions ``log``, ``log2``, ``log10``, ``sqrt``, ``exp``, ``abs``, ``min``, ``max``. It is
parsed with :mod:`ast` and checked node by node against that whitelist -- nothing is ``eval``'d.

API (small on purpose)::

    from simulator import metrics
    metrics.get("energy_per_token_mj")           # -> Metric (aliases: metrics.get("edp"))
    metrics.header("latency_s")                  # 'latency (ms)'
    metrics.derive(totals)                       # totals + every derived metric its inputs allow
    metrics.add_columns(df, ["energy_pj / new_tokens", "tops_per_mm2"])   # DataFrame + columns
    metrics.resolve("energy_pj / new_tokens")    # Metric of an expression (validated)
    metrics.display_frame(df, cols)              # human units, unit in each header

Adding a metric is one entry in ``_DEFS`` below (plus a test).
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np

from workloads.errors import InputError

Sense = Literal["min", "max"]


@dataclass(frozen=True)
class Metric:
    """One result column."""

    name: str  # column name; carries the stored unit
    unit: str  # unit of the stored values ('' = dimensionless)
    label: str  # what it is, for axis labels and table headers (no unit)
    sense: Sense | None = None  # which way is better (None: not an objective by nature)
    display_unit: str = ""  # unit people see
    scale: float = 1.0  # displayed value = stored value * scale
    formula: str = ""  # derived metrics: expression over other columns ('' = primary, from the simulator)
    doc: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def derived(self) -> bool:
        return bool(self.formula)

    def header(self) -> str:
        """Table / CSV header for people: ``latency (ms)``."""
        if not self.display_unit or self.label.endswith(self.display_unit) or self.label == self.display_unit:
            return self.label
        return f"{self.label} ({self.display_unit})"

    def axis_label(self, sense: str | None = None) -> str:
        """Axis label with unit and, given a sense, which way is better."""
        text = self.header()
        return f"{text}  [{'lower' if sense == 'min' else 'higher'} is better]" if sense else text

    def to_display(self, values: Any) -> Any:
        return values * self.scale if self.scale != 1.0 else values


def _m(name: str, unit: str, label: str, sense: Sense | None = None, display_unit: str | None = None,
       scale: float = 1.0, formula: str = "", doc: str = "", aliases: tuple[str, ...] = ()) -> Metric:
    return Metric(name, unit, label, sense, unit if display_unit is None else display_unit, scale, formula, doc,
                  aliases)


# Primary metrics (simulator totals; docs/sweeps.md lists them) and derived ones (formula over columns).
_DEFS: tuple[Metric, ...] = (
    _m("latency_s", "s", "latency", "min", "ms", 1e3, aliases=("latency",),
       doc="end-to-end time of the workload (all phases)"),
    _m("cycles", "cycles", "cycles", "min", doc="array clock cycles, end to end"),
    _m("gemm_cycles", "cycles", "GEMM cycles", "min", doc="cycles of the GEMMs on the array"),
    _m("vector_cycles", "cycles", "vector cycles", "min", doc="cycles of the vector ops"),
    _m("stall_cycles", "cycles", "stall cycles", "min", doc="cycles the array waits for memory"),
    _m("energy_pj", "pJ", "energy", "min", "mJ", 1e-9, aliases=("energy",), doc="total energy of the workload"),
    _m("area_mm2", "mm²", "area", "min", aliases=("area",), doc="silicon area of the accelerator"),
    _m("macs", "MACs", "MACs", None, "G", 1e-9, doc="multiply-accumulates of the workload (dense count)"),
    _m("dram_bytes", "B", "DRAM traffic", "min", "MB", 1e-6, doc="bytes read from and written to DRAM"),
    _m("spill_bytes", "B", "activation spills", "min", "MB", 1e-6,
       doc="activation bytes moved through DRAM because they did not fit on chip (docs/memory.md 8c)"),
    _m("utilization", "", "array utilization", "max", "%", 100.0,
       doc="useful MAC slots / (GEMM cycles x PEs) during GEMMs"),
    _m("peak_tops", "TOPS", "peak TOPS", "max", doc="2 x PEs x clock (one MAC = 2 ops)"),
    _m("static_power_w", "W", "static (idle) power", "min",
       doc="leakage + clock tree + always-on control: energy.leakage_mw or static_w_per_mm2 x area (docs/calibration.md)"),
    _m("inferences", "", "inferences", None, doc="inferences the workload stands for (= batch)"),
    _m("tokens", "tokens", "tokens", None,
       doc="tokens the workload stands for: decode = batch x new tokens generated, prefill = batch x sequence length"),
    _m("token_latency_s", "s", "time of the token phase", "min", "ms", 1e3,
       doc="decode: time of the decode phase (the tokens' time); prefill: latency_s"),
    # derived: one formula each, evaluated by derive() / add_columns()
    _m("power_w", "W", "average power", "min", formula="energy_pj * 1e-12 / latency_s", aliases=("power",),
       doc="energy / latency"),
    _m("effective_tops", "TOPS", "effective TOPS", "max", formula="2 * macs / latency_s / 1e12",
       doc="2 x MACs / latency (dense MACs, so sparsity speed-ups count as throughput)"),
    _m("tops_per_w", "TOPS/W", "TOPS/W", "max", formula="2 * macs / energy_pj",
       doc="2 x MACs / energy (ops per pJ = TOPS/W)"),
    _m("tops_per_mm2", "TOPS/mm²", "TOPS/mm²", "max", formula="2 * macs / latency_s / 1e12 / area_mm2",
       doc="effective TOPS / area"),
    _m("inferences_per_s", "inferences/s", "inferences/s", "max", formula="inferences / latency_s",
       doc="batch / latency"),
    _m("tokens_per_s", "tokens/s", "tokens/s", "max", formula="tokens / token_latency_s",
       doc="decode: generated tokens / decode time; prefill: processed tokens / latency"),
    _m("tokens_per_s_per_mm2", "tokens/s/mm²", "tokens/s/mm²", "max",
       formula="tokens / token_latency_s / area_mm2", doc="tokens/s / area"),
    _m("energy_per_token_mj", "mJ", "energy per token", "min", formula="energy_pj * 1e-9 / tokens",
       doc="energy / tokens (decode: per generated token; prefill: per processed token)"),
    _m("energy_per_inference_mj", "mJ", "energy per inference", "min", formula="energy_pj * 1e-9 / inferences",
       doc="energy / batch"),
    _m("edp_pj_s", "pJ·s", "energy-delay product", "min", "mJ·ms", 1e-6, formula="energy_pj * latency_s",
       aliases=("edp",), doc="energy x latency"),
    # quality columns of a sweep (looked up per recipe / model, not simulated)
    _m("fidelity_minilm", "", "MiniLM fidelity (cosine to dense)", "max",
       doc="mean cosine similarity of all-MiniLM-L6-v2 sentence embeddings, recipe vs dense (a proxy measured "
           "on MiniLM only, the same for every model; workloads/fidelity.py)"),
    _m("accuracy_published", "%", "published accuracy", "max",
       doc="the accuracy a paper reports for this (model, compression) pair (task and citation in accuracy_source); "
           "NaN where none is tabulated (workloads/data/published_accuracy.yaml)"),
    _m("perplexity_published", "", "published perplexity", "min",
       doc="the perplexity a paper reports for this (LLM, compression) pair; NaN where none is tabulated"),
)

METRICS: dict[str, Metric] = {m.name: m for m in _DEFS}
_ALIASES: dict[str, str] = {a: m.name for m in _DEFS for a in m.aliases}
# workload columns of sweep rows that expressions may use (numbers)
WORKLOAD_NUMBERS: tuple[str, ...] = ("seq_len", "batch", "context", "new_tokens", "image_size")
_COMPONENT_PREFIXES = (("energy_", "_pj", "pJ", "energy", "mJ", 1e-9), ("area_", "_mm2", "mm²", "area", "mm²", 1.0))


def canonical(name: str) -> str:
    """The registered name of ``name`` (aliases resolved; expressions normalised)."""
    name = name.strip()
    if name in METRICS:
        return name
    if name in _ALIASES:
        return _ALIASES[name]
    if _is_expression(name):
        try:
            return unparse(name)
        except InputError:
            return name  # reported (with file and key) by check()
    return name


def get(name: str) -> Metric:
    """The Metric of a registered name or alias; components (``energy_dram_pj``) and unknown plain
    columns get a generic entry; expressions are parsed and checked (see :func:`resolve`)."""
    name = canonical(name)
    if name in METRICS:
        return METRICS[name]
    for pre, suf, unit, what, dunit, scale in _COMPONENT_PREFIXES:
        if name.startswith(pre) and name.endswith(suf) and len(name) > len(pre) + len(suf):
            part = name[len(pre):-len(suf)]
            return Metric(name, unit, f"{what}: {part.replace('_', ' ')}", "min", dunit, scale)
    if _is_expression(name):
        return resolve(name)
    return Metric(name, "", name)


def header(name: str) -> str:
    return get(name).header()


def axis_label(name: str, sense: str | None = None) -> str:
    return get(name).axis_label(sense)


def names() -> list[str]:
    return list(METRICS)


def is_known(name: str, columns: Iterable[str] = ()) -> bool:
    """Whether ``name`` is a registered metric, alias, one of ``columns`` or a valid expression over those."""
    cols = set(columns)
    name = canonical(name)
    if name in METRICS or name in cols:
        return True
    if _is_expression(name):
        try:
            expr_columns(name)
        except InputError:
            return False
        return all(c in METRICS or c in cols for c in expr_columns(name))
    return False


def check(name: str, columns: Iterable[str] = (), *, key: str = "objectives", source: str | None = None) -> str:
    """Canonical name of a metric / expression, or a one-line InputError naming what is allowed."""
    cols = set(columns)
    canon = canonical(name)
    if canon in METRICS or canon in cols:
        return canon
    if _is_expression(canon):
        used = expr_columns(canon, source=source, key=key)
        bad = [c for c in used if c not in METRICS and c not in cols]
        if bad:
            raise InputError(f"unknown column {bad[0]!r} in expression {name!r} (allowed: {_allowed(cols)})",
                             source=source, key=key)
        return canon
    hint = _did_you_mean(name, list(METRICS) + list(_ALIASES) + sorted(cols))
    raise InputError(f"unknown column {name!r}{hint} (allowed: {_allowed(cols)}, or an arithmetic expression "
                     "of them such as 'energy_pj / new_tokens')", source=source, key=key)


def _allowed(cols: set[str]) -> str:
    return ", ".join(list(METRICS) + sorted(c for c in cols if c not in METRICS))


def _did_you_mean(name: str, options: Sequence[str]) -> str:
    import difflib

    if name in ("accuracy", "fidelity"):
        return " (did you mean fidelity_minilm, the MiniLM proxy, or accuracy_published?)"
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# ---- derivation ------------------------------------------------------------------------------------


def derive(totals: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``totals`` plus every derived metric whose inputs are present (and that is absent).

    Division by zero gives NaN (e.g. tokens/s of a workload of zero latency), never an exception.
    """
    out = dict(totals)
    for m in _DEFS:
        if m.derived and m.name not in out:
            cols = expr_columns(m.formula)
            if all(c in out and _is_number(out[c]) for c in cols):
                out[m.name] = float(_evaluate(m.formula, {c: float(out[c]) for c in cols}))
    return out


def add_columns(df: Any, wanted: Iterable[str] = ()) -> Any:
    """``df`` (a pandas DataFrame) with every derived metric its columns allow and every expression
    in ``wanted`` added as a column (named by its canonical text). Returns a new frame when columns
    are added; unknown names raise InputError."""
    add: dict[str, np.ndarray] = {}
    present = set(df.columns)

    def col(c: str) -> np.ndarray:
        return add[c] if c in add else np.asarray(df[c], dtype=np.float64)

    for m in _DEFS:
        if m.derived and m.name not in present:
            cols = expr_columns(m.formula)
            if all(c in present or c in add for c in cols):
                add[m.name] = _evaluate(m.formula, {c: col(c) for c in cols})
    for name in wanted:
        canon = check(name, present | set(add), key="objectives")
        if canon not in present and canon not in add:
            cols = expr_columns(canon)
            add[canon] = _evaluate(canon, {c: col(c) for c in cols})
    if not add:
        return df
    new = df.copy()
    for k, v in add.items():
        new[k] = np.broadcast_to(v, (len(df),)) if np.ndim(v) == 0 else v
    return new


def evaluate(expression: str, values: Mapping[str, Any]) -> Any:
    """Value of a metric name or expression given its input columns (scalars or numpy arrays)."""
    canon = canonical(expression)
    if canon in values:
        return values[canon]
    m = METRICS.get(canon)
    text = m.formula if m is not None and m.derived else canon
    cols = expr_columns(text)
    if canon in cols:  # a stored column (or a plain name) that the values do not hold: nothing derives it
        raise InputError(f"column {canon!r} is not in the results (present: {', '.join(sorted(values)) or 'none'})",
                         key="expression")
    return _evaluate(text, {c: values[c] if c in values else evaluate(c, values) for c in cols})


def display_frame(df: Any, columns: Sequence[str] | None = None) -> Any:
    """A copy of ``df[columns]`` for people: metric columns scaled to display units, headers with the unit
    (``latency (ms)``); other columns (model, axes) unchanged."""
    import pandas as pd

    cols = list(columns) if columns is not None else list(df.columns)
    out = {}
    for c in cols:
        m = get(c) if (c in METRICS or c in _ALIASES or _is_metric_like(c)) else None
        if m is not None and pd.api.types.is_numeric_dtype(df[c]):
            out[m.header() if m.header() != c else c] = m.to_display(df[c].astype(float))
        else:
            out[c] = df[c]
    return pd.DataFrame(out, index=df.index)


def _is_metric_like(c: str) -> bool:
    return any(c.startswith(p) and c.endswith(s) for p, s, *_ in _COMPONENT_PREFIXES)


def _finite(v: Any) -> bool:
    try:
        return math.isfinite(float(v))
    except OverflowError:
        return False


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


# ---- safe expressions -----------------------------------------------------------------------------

_BINOPS = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.true_divide,
           ast.Pow: np.power}
_FUNCS = {"log": np.log, "log2": np.log2, "log10": np.log10, "sqrt": np.sqrt, "exp": np.exp, "abs": np.abs,
          "min": np.minimum, "max": np.maximum}
_ARITY = {"min": 2, "max": 2}


_PLAIN = re.compile(r"[A-Za-z_][\w.]*")


def _is_expression(text: str) -> bool:
    """Anything but a plain (dotted) column name is an expression."""
    return not _PLAIN.fullmatch(text.strip())


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


MAX_EXPRESSION_CHARS = 400


@lru_cache(maxsize=512)
def _parse(text: str) -> ast.Expression:
    if len(text) > MAX_EXPRESSION_CHARS:
        raise InputError(f"expression longer than {MAX_EXPRESSION_CHARS} characters", key="expression")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise InputError(f"{text!r} is not an arithmetic expression ({exc.msg})", key="expression") from None
    for node in ast.walk(tree):
        ok = isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Load, ast.Name, ast.Attribute,
                               ast.Call, ast.USub, ast.UAdd, *_BINOPS))
        if isinstance(node, ast.Constant):
            ok = _is_number(node.value) and _finite(node.value)
        if isinstance(node, ast.Call):
            ok = (isinstance(node.func, ast.Name) and node.func.id in _FUNCS and not node.keywords
                  and len(node.args) == _ARITY.get(node.func.id, 1))
        if isinstance(node, ast.Attribute):
            ok = _dotted(node) is not None
        if not ok:
            what = type(node).__name__
            raise InputError(f"{what} is not allowed in {text!r} (allowed: numbers, column names, + - * / **, "
                             f"unary -, {', '.join(_FUNCS)})", key="expression")
    return tree


@lru_cache(maxsize=512)
def _columns_of(text: str) -> tuple[str, ...]:
    tree = _parse(text)
    funcs = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    out: list[str] = []

    def visit(node: ast.AST) -> None:
        if id(node) in funcs:
            return
        if isinstance(node, (ast.Attribute, ast.Name)):
            name = _dotted(node)
            if name is not None and name not in out:
                out.append(name)
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return tuple(out)


def expr_columns(text: str, *, source: str | None = None, key: str = "expression") -> tuple[str, ...]:
    """The column names an expression uses (validated; InputError otherwise)."""
    try:
        return tuple(_canon_col(c) for c in _columns_of(text))
    except InputError as exc:
        raise InputError(exc.bare_message, source=source, key=key) from None


def _canon_col(c: str) -> str:
    return _ALIASES.get(c, c)


def unparse(text: str) -> str:
    """Canonical text of an expression (spacing normalised), used as its column name."""
    return ast.unparse(_parse(text))


def resolve(text: str) -> Metric:
    """The Metric of a name or expression (expressions: unit unknown, label = the expression)."""
    canon = canonical(text)
    if canon in METRICS:
        return METRICS[canon]
    expr_columns(canon)
    return Metric(canon, "", canon, None, "", 1.0, formula=canon, doc="user expression")


def _evaluate(text: str, values: Mapping[str, Any]) -> Any:
    tree = _parse(text)

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, (ast.Name, ast.Attribute)):
            name = _canon_col(_dotted(node) or "")
            if name not in values:
                raise InputError(f"unknown column {name!r} in {text!r}", key="expression")
            return np.asarray(values[name], dtype=np.float64)
        if isinstance(node, ast.BinOp):
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Call):
            return _FUNCS[node.func.id](*(ev(a) for a in node.args))  # type: ignore[attr-defined]
        raise InputError(f"{type(node).__name__} is not allowed", key="expression")  # pragma: no cover

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = ev(tree)
    out = np.where(np.isfinite(out), out, np.nan) if np.ndim(out) else (float(out) if math.isfinite(out) else math.nan)
    return out
