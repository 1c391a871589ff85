"""Validated, immutable specs built from YAML dictionaries.

Every config file in tasim (accelerator specs, compression recipes, sweep specs, zoo entries) is a
tree of frozen dataclasses. This module turns a ``yaml.safe_load`` result into such a tree, checking
types, ranges and allowed values, rejecting unknown keys, and naming the file and the dotted key in
every error. ``--set PATH=VALUE`` overrides are applied to the raw tree before validation, so they are
validated exactly like the file.

Field constraints are declared with :func:`spec_field`::

    @dataclass(frozen=True)
    class ArraySpec:
        rows: int = spec_field(32, ge=1, doc="PE rows (H)")
        dataflow: Literal["os", "ws", "is"] = spec_field("os")
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin

import yaml

from workloads.errors import InputError, show_value

T = TypeVar("T")

_MISSING = dataclasses.MISSING


# ---- limits every input passes (docs/robustness.md) ------------------------------------------------
INT_LIMIT = 2**31 - 1  # default bound of an int field: products of a few such values stay inside int64
FLOAT_LIMIT = 1e18  # default bound of |float field|
MAX_STR_CHARS = 10_000  # longest string value
MAX_FILE_BYTES = 16 * 2**20  # largest YAML file read
YAML_MAX_DEPTH = 64  # deepest nesting of YAML collections
YAML_MAX_NODES = 200_000  # YAML nodes after expanding aliases (the "billion laughs" guard)


def spec_field(
    default: Any = _MISSING,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    allow_inf: bool = False,
    doc: str = "",
    default_factory: Any = _MISSING,
) -> Any:
    """A dataclass field with validation metadata (bounds) and a one-line description.

    Numbers are always finite (``allow_inf``: ``+inf`` is allowed too, e.g. unlimited bandwidth) and
    bounded: ints by ``le`` or :data:`INT_LIMIT`, floats by ``le`` or :data:`FLOAT_LIMIT`."""
    meta = {"ge": ge, "gt": gt, "le": le, "doc": doc, "allow_inf": allow_inf}
    if default_factory is not _MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    if default is _MISSING:
        return dataclasses.field(metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def read_bytes(path: str | Path, *, limit: int = MAX_FILE_BYTES) -> bytes:
    """A file's bytes; missing, unreadable, oversized files and bad names raise a one-line InputError."""
    p = Path(path)
    try:
        if not p.is_file():
            why = "is a directory" if p.is_dir() else "no such file"
            raise InputError(f"cannot read file ({why})", source=str(path))
        size = p.stat().st_size
        if size > limit:
            raise InputError(f"file of {size:,} bytes is too large (allowed: <= {limit:,} bytes)", source=str(path))
        return p.read_bytes()
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the name
        if isinstance(exc, InputError):
            raise
        why = getattr(exc, "strerror", None) or str(exc)
        raise InputError(f"cannot read file ({why})", source=str(path)) from None


def path_exists(path: str | Path) -> bool:
    """``Path.exists`` that answers False for names the OS refuses (too long, NUL bytes)."""
    try:
        return Path(path).exists()
    except (OSError, ValueError):
        return False


def decode_text(data: bytes, *, source: str | None) -> str:
    """UTF-8 text (a BOM is skipped); invalid bytes raise a one-line InputError with their offset."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = data[exc.start:exc.start + 1].hex()
        raise InputError(f"not UTF-8 text: invalid byte 0x{bad} at byte offset {exc.start} (allowed: UTF-8)",
                         source=source) from None


def read_text(path: str | Path, *, limit: int = MAX_FILE_BYTES) -> str:
    """A file's UTF-8 text; an unreadable or non-UTF-8 file raises a one-line InputError naming it."""
    return decode_text(read_bytes(path, limit=limit), source=str(path))


class YamlLimitError(yaml.composer.ComposerError):
    """A YAML document beyond the limits (depth, alias expansion, cycles, duplicate keys)."""


class _SafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with limits: nesting depth, duplicate keys (with their line)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if not self.check_event(yaml.AliasEvent):
            self._depth += 1
            if self._depth > YAML_MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise YamlLimitError(
                    None, None, f"nesting deeper than {YAML_MAX_DEPTH} levels (allowed: <= {YAML_MAX_DEPTH})", mark)
            try:
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = self.construct_object(key_node)
                try:
                    first = seen.get(key)
                except TypeError:
                    continue
                if first is not None:
                    raise YamlLimitError(
                        None, None, f"duplicate key {show_value(key)} (first at line {first}; allowed: each key once)",
                        key_node.start_mark)
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


# YAML 1.2 floats without a dot (1e-6, 1E+9), which YAML 1.1 (PyYAML) reads as strings
_SafeLoader.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_SafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789"))


def _check_graph(node: Any) -> None:
    """Reject alias cycles and documents whose alias expansion exceeds :data:`YAML_MAX_NODES`."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(n: Any) -> int:
        i = id(n)
        if i in sizes:
            return sizes[i]
        if i in active:
            raise YamlLimitError(None, None, "an alias refers to its own anchor (allowed: no cycles)",
                                              n.start_mark)
        active.add(i)
        total = 1
        if isinstance(n, yaml.SequenceNode):
            total += sum(size(c) for c in n.value)
        elif isinstance(n, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in n.value)
        active.discard(i)
        if total > YAML_MAX_NODES:
            raise YamlLimitError(
                None, None, f"more than {YAML_MAX_NODES:,} values once aliases are expanded "
                f"(allowed: <= {YAML_MAX_NODES:,})", n.start_mark)
        sizes[i] = total
        return total

    size(node)


def _safe_load(text: str) -> Any:
    loader = _SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_graph(node)
        return loader.construct_document(node)
    except RecursionError:
        raise YamlLimitError(None, None, f"nested too deeply (allowed: <= {YAML_MAX_DEPTH} levels)", None) from None
    except (ValueError, OverflowError) as exc:  # e.g. an integer of more than 4300 digits
        raise YamlLimitError(None, None, f"a value cannot be read ({str(exc).split(';')[0]})", None) from None
    finally:
        loader.dispose()


def parse_yaml(text: str, *, source: str | None) -> Any:
    """``yaml.safe_load`` with the limits above; malformed YAML raises a one-line InputError."""
    try:
        return _safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"invalid YAML{where}: {problem}", source=source) from None


def load_yaml(path: str | Path) -> Any:
    """Read and parse a YAML file (UTF-8, limits above); every problem is a one-line InputError."""
    return parse_yaml(read_text(path), source=str(path))


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp))
    if tp is type(None):
        return "null"
    if origin in (tuple, list):
        args = get_args(tp)
        return f"a list of {_type_name(args[0])}" if args else "a list"
    if origin is dict:
        return "a mapping"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return getattr(tp, "__name__", str(tp))


def _check_bounds(value: Any, meta: Any, source: str | None, key: str) -> None:
    meta = meta or {}
    ge, gt, le = meta.get("ge"), meta.get("gt"), meta.get("le")
    if ge is not None and value < ge:
        raise InputError(f"{show_value(value)} is out of range (allowed: >= {ge})", source=source, key=key)
    if gt is not None and value <= gt:
        raise InputError(f"{show_value(value)} is out of range (allowed: > {gt})", source=source, key=key)
    if le is not None and value > le:
        raise InputError(f"{show_value(value)} is out of range (allowed: <= {le})", source=source, key=key)


def _check_number(value: Any, tp: type, meta: Any, source: str | None, key: str) -> Any:
    """A finite (or, where allowed, +inf) number inside the field's bounds and the default limits."""
    meta = meta or {}
    if isinstance(value, float) and not math.isfinite(value):
        if not (value == math.inf and meta.get("allow_inf")):
            allowed = "a finite number or .inf" if meta.get("allow_inf") else "a finite number"
            raise InputError(f"{show_value(value)} is not allowed (allowed: {allowed})", source=source, key=key)
        _check_bounds(value, meta, source, key)
        return value
    if tp is int:
        if int(value) != value:
            raise InputError(f"{show_value(value)} is not an integer", source=source, key=key)
        value = int(value)
        hi = meta.get("le") if meta.get("le") is not None else INT_LIMIT
        if abs(value) > INT_LIMIT and (meta.get("le") is None or value > hi):
            raise InputError(f"{show_value(value)} is out of range (allowed: <= {hi})", source=source, key=key)
    else:
        value = float(value)
        if abs(value) > FLOAT_LIMIT and meta.get("le") is None:
            raise InputError(f"{show_value(value)} is out of range (allowed: |x| <= {FLOAT_LIMIT:g})",
                             source=source, key=key)
    _check_bounds(value, meta, source, key)
    return value


def _convert(tp: Any, value: Any, source: str | None, key: str, meta: Any = None) -> Any:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, source, key, meta)
            except InputError as exc:
                errors.append(exc)
        if len(errors) == 1:
            raise errors[0]
        raise InputError(f"{show_value(value)} is not valid (allowed: {_type_name(tp)})", source=source, key=key)
    if origin is Literal:
        allowed = get_args(tp)
        if isinstance(value, str) and value not in allowed and value.lower() in allowed:
            value = value.lower()
        if value not in allowed or isinstance(value, bool) != any(isinstance(a, bool) for a in allowed):
            raise InputError(
                f"{show_value(value)} is not allowed (allowed: {', '.join(str(a) for a in allowed)})",
                source=source,
                key=key,
            )
        return value
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, source=source, prefix=key)
    if origin in (tuple, list):
        (item_tp, *_rest) = get_args(tp) or (Any,)
        if not isinstance(value, (list, tuple)):
            raise InputError(f"{show_value(value)} is not a list", source=source, key=key)
        return tuple(_convert(item_tp, v, source, f"{key}[{i}]", meta) for i, v in enumerate(value))
    if origin is dict:
        kt, vt = get_args(tp) or (str, Any)
        if not isinstance(value, dict):
            raise InputError(f"{show_value(value)} is not a mapping", source=source, key=key)
        return types.MappingProxyType(
            {_convert(kt, k, source, key): _convert(vt, v, source, f"{key}.{k}", meta) for k, v in value.items()}
        )
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise InputError(f"{show_value(value)} is not a boolean (allowed: true, false)", source=source, key=key)
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"{show_value(value)} is not an integer", source=source, key=key)
        return _check_number(value, int, meta, source, key)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"{show_value(value)} is not a number", source=source, key=key)
        return _check_number(value, float, meta, source, key)
    if tp is str:
        if not isinstance(value, str):
            raise InputError(f"{show_value(value)} is not a string", source=source, key=key)
        if len(value) > MAX_STR_CHARS:
            raise InputError(f"a string of {len(value):,} characters is too long (allowed: <= {MAX_STR_CHARS:,})",
                             source=source, key=key)
        return value
    raise TypeError(f"schema: unsupported field type {tp!r} at {key}")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """Resolved field types of a spec class (cached: classes do not change, and resolving string
    annotations costs ~0.3 ms per class, which dominated validating an ArchSpec in sweeps)."""
    return typing.get_type_hints(cls)


def field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def from_dict(cls: type[T], data: Any, *, source: str | None = None, prefix: str = "") -> T:
    """Build and validate a frozen dataclass tree from a plain mapping."""
    where = prefix or "(top level)"
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping, got {show_value(data)}", source=source, key=where)
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [k for k in data if k not in fields]
    if unknown:
        key = f"{prefix}.{unknown[0]}" if prefix else str(unknown[0])
        raise InputError(
            f"unknown key (allowed: {', '.join(fields)})",
            source=source,
            key=key,
        )
    kwargs = {}
    for name, f in fields.items():
        key = f"{prefix}.{name}" if prefix else name
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], source, key, f.metadata)
        elif f.default is _MISSING and f.default_factory is _MISSING:
            if dataclasses.is_dataclass(hints[name]):
                kwargs[name] = from_dict(hints[name], {}, source=source, prefix=key)
            else:
                raise InputError("missing required key", source=source, key=key)
    try:
        return cls(**kwargs)
    except InputError as exc:
        if exc.source is None and source is not None:
            raise InputError(exc.bare_message, source=source, key=exc.key) from None
        raise
    except (TypeError, ValueError) as exc:
        raise InputError(str(exc), source=source, key=where) from None


def to_dict(obj: Any) -> Any:
    """The inverse of :func:`from_dict`: plain dicts, lists and scalars (YAML/JSON friendly)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (tuple, list)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, (dict, types.MappingProxyType)):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def dotted_paths(cls: type, prefix: str = "") -> list[str]:
    """Every leaf field of a spec class as a dotted path (``array.rows``, ...)."""
    out = []
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        path = f"{prefix}.{f.name}" if prefix else f.name
        if dataclasses.is_dataclass(hints[f.name]):
            out.extend(dotted_paths(hints[f.name], path))
        else:
            out.append(path)
    return out


def parse_override(text: str, *, source: str = "--set") -> tuple[str, Any]:
    """Split ``PATH=VALUE``; VALUE is parsed as YAML (``true``, ``8``, ``2.5``, ``ws``)."""
    if "=" not in text:
        raise InputError(f"{show_value(text)} is not of the form PATH=VALUE (e.g. array.rows=64)", source=source)
    path, raw = text.split("=", 1)
    path = path.strip()
    try:
        value = _safe_load(raw) if raw.strip() else ""
    except YamlLimitError as exc:
        raise InputError(f"invalid YAML value: {exc.problem}", source=source, key=path) from None
    except yaml.YAMLError:
        value = raw  # not YAML: the text itself (validated as a string, or rejected, by the field)
    return path, value


def _named_list_item(tp: Any) -> Any:
    """The element dataclass of a ``tuple[Spec, ...]`` (or ``| None``) field whose items have a ``name``."""
    args = [a for a in get_args(tp) if a is not type(None)] if get_origin(tp) in (typing.Union, types.UnionType) \
        else [tp]
    for a in args:
        if get_origin(a) in (tuple, list):
            item = (get_args(a) or (None,))[0]
            if dataclasses.is_dataclass(item) and "name" in field_names(item):
                return item
    return None


def apply_override(cls: type, data: dict, path: str, value: Any, *, source: str = "--set") -> dict:
    """Set ``path`` in the raw mapping ``data`` (a copy is returned), checking the path exists.

    A list of named entries (``memory:`` levels) is addressed by the entry's name:
    ``memory.unified_buffer.capacity_kib``.
    """
    parts = path.split(".")
    tp: Any = cls
    out = deep_copy(data) if data else {}
    node = out
    i = 0
    while i < len(parts):
        part = parts[i]
        if not dataclasses.is_dataclass(tp):
            raise InputError(f"{show_value(parts[i - 1])} has no sub-keys", source=source, key=path)
        hints = _hints(tp)
        if part not in hints:
            here = ".".join(parts[:i])
            allowed = ", ".join(f"{here + '.' if here else ''}{n}" for n in field_names(tp))
            raise InputError(f"unknown key (allowed: {allowed})", source=source, key=path)
        tp = hints[part]
        if i == len(parts) - 1:
            node[part] = value
            break
        item = _named_list_item(tp)
        if item is not None:
            entries = node.get(part)
            names = [e.get("name") for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
            if parts[i + 1] not in names:
                raise InputError(f"no entry named {parts[i + 1]!r} (allowed: {', '.join(map(str, names)) or 'none'})",
                                 source=source, key=path)
            node = entries[names.index(parts[i + 1])]
            tp = item
            if i + 2 >= len(parts):
                raise InputError("name a field of the entry (e.g. capacity_kib)", source=source, key=path)
            i += 2
            continue
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
        i += 1
    return out


def deep_copy(d: Any) -> Any:
    """A copy of nested dicts and lists (leaves shared: they are immutable scalars and strings)."""
    if isinstance(d, dict):
        return {k: deep_copy(v) for k, v in d.items()}
    if isinstance(d, list):
        return [deep_copy(v) for v in d]
    return d


def doc_of(cls: type, path: str) -> str:
    """The ``doc`` string of a dotted field path (used by ``--help`` style listings)."""
    tp: Any = cls
    f = None
    for part in path.split("."):
        f = {x.name: x for x in dataclasses.fields(tp)}[part]
        tp = _hints(tp)[part]
    return f.metadata.get("doc", "") if f is not None else ""
