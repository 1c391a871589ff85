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
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin

import yaml

from workloads.errors import InputError

T = TypeVar("T")

_MISSING = dataclasses.MISSING


def spec_field(
    default: Any = _MISSING,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    doc: str = "",
    default_factory: Any = _MISSING,
) -> Any:
    """A dataclass field with validation metadata (bounds) and a one-line description."""
    meta = {"ge": ge, "gt": gt, "le": le, "doc": doc}
    if default_factory is not _MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    if default is _MISSING:
        return dataclasses.field(metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def read_text(path: str | Path) -> str:
    """A file's text; an unreadable file raises a one-line InputError naming it."""
    try:
        return Path(path).read_text()
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror or exc})", source=str(path)) from None


def load_yaml(path: str | Path) -> Any:
    """``yaml.safe_load`` a file; unreadable or malformed files raise a one-line InputError."""
    p = Path(path)
    text = read_text(p)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"invalid YAML{where}: {problem}", source=str(p)) from None


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
    if meta is None:
        return
    ge, gt, le = meta.get("ge"), meta.get("gt"), meta.get("le")
    if ge is not None and value < ge:
        raise InputError(f"{value!r} is out of range (allowed: >= {ge})", source=source, key=key)
    if gt is not None and value <= gt:
        raise InputError(f"{value!r} is out of range (allowed: > {gt})", source=source, key=key)
    if le is not None and value > le:
        raise InputError(f"{value!r} is out of range (allowed: <= {le})", source=source, key=key)


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
        raise InputError(f"{value!r} is not valid (allowed: {_type_name(tp)})", source=source, key=key)
    if origin is Literal:
        allowed = get_args(tp)
        if isinstance(value, str) and value not in allowed and value.lower() in allowed:
            value = value.lower()
        if value not in allowed or isinstance(value, bool) != any(isinstance(a, bool) for a in allowed):
            raise InputError(
                f"{value!r} is not allowed (allowed: {', '.join(str(a) for a in allowed)})",
                source=source,
                key=key,
            )
        return value
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, source=source, prefix=key)
    if origin in (tuple, list):
        (item_tp, *_rest) = get_args(tp) or (Any,)
        if not isinstance(value, (list, tuple)):
            raise InputError(f"{value!r} is not a list", source=source, key=key)
        return tuple(_convert(item_tp, v, source, f"{key}[{i}]", meta) for i, v in enumerate(value))
    if origin is dict:
        kt, vt = get_args(tp) or (str, Any)
        if not isinstance(value, dict):
            raise InputError(f"{value!r} is not a mapping", source=source, key=key)
        return types.MappingProxyType(
            {_convert(kt, k, source, key): _convert(vt, v, source, f"{key}.{k}", meta) for k, v in value.items()}
        )
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise InputError(f"{value!r} is not a boolean (allowed: true, false)", source=source, key=key)
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            raise InputError(f"{value!r} is not an integer", source=source, key=key)
        value = int(value)
        _check_bounds(value, meta, source, key)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"{value!r} is not a number", source=source, key=key)
        value = float(value)
        _check_bounds(value, meta, source, key)
        return value
    if tp is str:
        if not isinstance(value, str):
            raise InputError(f"{value!r} is not a string", source=source, key=key)
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
        raise InputError(f"expected a mapping, got {data!r}", source=source, key=where)
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
        raise InputError(f"{text!r} is not of the form PATH=VALUE (e.g. array.rows=64)", source=source)
    path, raw = text.split("=", 1)
    path = path.strip()
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
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
    out = _deep_copy(data) if data else {}
    node = out
    i = 0
    while i < len(parts):
        part = parts[i]
        if not dataclasses.is_dataclass(tp):
            raise InputError(f"{parts[i - 1]!r} has no sub-keys", source=source, key=path)
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


def _deep_copy(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _deep_copy(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_deep_copy(v) for v in d]
    return d


def doc_of(cls: type, path: str) -> str:
    """The ``doc`` string of a dotted field path (used by ``--help`` style listings)."""
    tp: Any = cls
    f = None
    for part in path.split("."):
        f = {x.name: x for x in dataclasses.fields(tp)}[part]
        tp = _hints(tp)[part]
    return f.metadata.get("doc", "") if f is not None else ""
