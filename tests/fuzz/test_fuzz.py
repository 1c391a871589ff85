"""Fuzz suite (issue 14): hypothesis-generated bad and extreme inputs of every kind, run through the CLI
in-process; see ``fuzz_harness.py`` for what a passing case is.

Profiles: the default ``ci`` profile (a few hundred derandomised cases, about a minute on 2 cores)
runs with ``make test``; ``TASIM_FUZZ_PROFILE=long`` (``make fuzz``) runs >= 10,000 random cases and
``TASIM_FUZZ_SCALE`` multiplies the per-kind counts.
"""

from __future__ import annotations

import json
import os
import shutil
import string
from pathlib import Path

import pytest
import yaml
from fuzz_harness import check
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PROFILE = os.environ.get("TASIM_FUZZ_PROFILE", "ci")
SCALE = float(os.environ.get("TASIM_FUZZ_SCALE", "1"))
# cases per input kind: (ci, long)
COUNTS = {
    "arch_yaml": (30, 2000), "set": (40, 2200), "gemm": (40, 2200), "sweep_spec": (12, 700),
    "results": (12, 800), "scalesim": (25, 1200), "recipe": (20, 700), "model": (15, 700), "hf_config": (3, 80),
}


def cases(kind: str):
    ci, long = COUNTS[kind]
    n = max(1, int((long if PROFILE == "long" else ci) * SCALE))
    return settings(max_examples=n, deadline=None, derandomize=PROFILE != "long", database=None,
                    suppress_health_check=list(HealthCheck), print_blob=True)


# ---- value generators ------------------------------------------------------------------------------

NASTY_NUMBERS = [float("nan"), float("inf"), -float("inf"), 0, -1, 1, 2, 3, 7, 2**31 - 1, 2**31, 2**53 + 1, 2**63,
                 2**64, -(2**63), 10**30, 1e-30, 1e-300, 1e308, -1e308, 0.5, -0.5, 1.5, 1e6, 65536, 65537]
NASTY_STRINGS = ["", " ", "x", "ws", "os", "is", "int", "fp", "none", "nm", ".nan", ".inf", "1e3", "1e-6", "0x10",
                 "\x00", "é", "🙂", "a" * 300, "true", "null", "~", "[1, 2]", "{a: 1}", "&a [*a]", "*x", "!!python/object"
                 ":os.system", "${HOME}", "../../etc/passwd", "\n", "\t\r"]
scalars = st.one_of(st.sampled_from(NASTY_NUMBERS), st.sampled_from(NASTY_STRINGS), st.booleans(), st.none(),
                    st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12))
values = st.recursive(scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c,
                                                                                     max_size=4), max_leaves=8)
plausible_ints = st.integers(min_value=1, max_value=128)


def _field(cls, path: str):
    """(type, metadata) of a dotted field path of a spec dataclass, or None."""
    import dataclasses

    from workloads.schema import _hints

    tp, meta = cls, None
    for part in path.split("."):
        if not dataclasses.is_dataclass(tp):
            return None
        fields = {f.name: f for f in dataclasses.fields(tp)}
        if part not in fields:
            return None
        meta, tp = fields[part].metadata, _hints(tp)[part]
    return tp, meta


@st.composite
def plausible_value(draw, cls, path: str):
    """A value of the field's own type near and across its documented bounds (valid or just outside)."""
    import typing

    f = _field(cls, path)
    if f is None:
        return draw(scalars)
    tp, meta = f
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, getattr(__import__("types"), "UnionType", None)) and args:
        tp = args[0]
    if typing.get_origin(tp) is typing.Literal:
        return draw(st.sampled_from(list(typing.get_args(tp))))
    lo = next((meta.get(k) for k in ("ge", "gt") if meta and meta.get(k) is not None), 0)
    hi = meta.get("le") if meta and meta.get("le") is not None else None
    edges = [lo, lo * 1.0001 + 1e-9, lo - 1, hi, (hi or 0) + 1, 1, 2, 1000] if hi is not None else [lo, lo - 1, 1, 2,
                                                                                                 1000, 10**9, 2**31]
    if tp is int:
        return draw(st.one_of(st.integers(max(0, int(lo)), int(hi) if hi is not None else 10**6),
                              st.sampled_from([int(e) for e in edges if e is not None])))
    if tp is float:
        return draw(st.one_of(st.floats(min_value=float(lo), max_value=float(hi) if hi is not None else 1e9),
                              st.floats(min_value=1e-9, max_value=1e12), st.sampled_from([e for e in edges if e is not None])))
    if tp is bool:
        return draw(st.booleans())
    if tp is str:
        return draw(st.text(max_size=10))
    return draw(scalars)


def yaml_text(v) -> str:
    return yaml.safe_dump(v, default_flow_style=True, allow_unicode=True, width=10**6).strip().removesuffix("...")


@st.composite
def text_damage(draw, text: str) -> bytes:
    """Raw-text mutations: truncation, byte noise, duplicated lines, non-UTF-8, alias bombs, deep nesting."""
    data = text.encode()
    kind = draw(st.sampled_from(["none"] * 12 + ["truncate", "noise", "dup_line", "latin1", "bomb", "deep",
                                 "self_alias", "tabs", "bom", "empty", "list"]))
    if kind == "truncate":
        data = data[: draw(st.integers(0, max(0, len(data) - 1)))]
    elif kind == "noise":
        i = draw(st.integers(0, max(0, len(data) - 1)))
        data = data[:i] + draw(st.binary(min_size=1, max_size=4)) + data[i:]
    elif kind == "dup_line":
        lines = data.splitlines()
        if lines:
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i])
        data = b"\n".join(lines)
    elif kind == "latin1":
        data += b"\ndescription: caf\xe9\n"
    elif kind == "bomb":
        lines = ['lol: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        for i in range(1, 9):
            p, c = chr(96 + i), chr(97 + i)
            lines.append(f"{c}{c}: &{c} [" + ",".join([f"*{p}"] * 9) + "]")
        data = ("\n".join(lines) + "\ndescription: *i\n").encode()
    elif kind == "deep":
        depth = draw(st.sampled_from([70, 500, 5000]))
        data += b"\ndescription: " + b"[" * depth + b"]" * depth + b"\n"
    elif kind == "self_alias":
        data += b"\nextra: &s [*s]\n"
    elif kind == "tabs":
        data = data.replace(b"  ", b"\t")
    elif kind == "bom":
        data = b"\xef\xbb\xbf" + data
    elif kind == "empty":
        data = b""
    elif kind == "list":
        data = b"- 1\n- 2\n"
    return data


@st.composite
def mutated_mapping(draw, base: dict, paths: list[str], extra_keys: tuple[str, ...] = (), cls=None) -> dict:
    """A copy of ``base`` with a few keys set to plausible (typed, near the bounds) or nasty values, deleted,
    or unknown keys added."""
    data = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(1, 4))):
        ops = ["set", "set", "set", "delete", "unknown", "set_node"]
        if cls is not None:
            ops += ["plausible"] * 12
        op = draw(st.sampled_from(ops))
        path = draw(st.sampled_from(paths)) if paths else "x"
        parts = path.split(".")
        node = data
        for p in parts[:-1]:
            if not isinstance(node.get(p), dict):
                node[p] = {}
            node = node[p]
        if op == "set":
            node[parts[-1]] = draw(values)
        elif op == "plausible":
            node[parts[-1]] = draw(plausible_value(cls, path))
        elif op == "set_node":
            node[parts[-1]] = draw(st.sampled_from(NASTY_NUMBERS + [None, "", [], {}]))
        elif op == "delete":
            node.pop(parts[-1], None)
        else:
            node[draw(st.sampled_from(["evil", "Rows", "__class__", *extra_keys]))] = draw(values)
    return data


def write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


# ---- arch YAML -------------------------------------------------------------------------------------

def _arch_bases():
    from simulator.arch import ArchSpec, load_arch, shipped_names
    from workloads.schema import dotted_paths

    names = shipped_names()
    return {n: load_arch(n).to_dict() for n in names}, dotted_paths(ArchSpec)


ARCHS, ARCH_PATHS = _arch_bases()


@cases("arch_yaml")
@given(data=st.data())
def test_fuzz_arch_yaml(tmp_path_factory, data):
    name = data.draw(st.sampled_from(sorted(ARCHS)))
    from simulator.arch import ArchSpec

    mapping = data.draw(mutated_mapping(ARCHS[name], ARCH_PATHS + ["array", "pe", "dram", "buffers"], cls=ArchSpec))
    raw = data.draw(text_damage(yaml_text(mapping) if data.draw(st.booleans()) else yaml.safe_dump(mapping)))
    f = write(tmp_path_factory.mktemp("arch") / "a.yaml", raw)
    cmd = data.draw(st.sampled_from(["gemm", "gemm", "archs", "simulate"]))
    if cmd == "archs":
        check("arch_yaml", ["archs", str(f)])
    elif cmd == "gemm":
        dims = [str(data.draw(plausible_ints)) for _ in range(3)]
        check("arch_yaml", ["gemm", "--arch", str(f), "--m", dims[0], "--n", dims[1], "--k", dims[2], "--json"],
              json_out=True)
    else:
        check("arch_yaml", ["simulate", "--arch", str(f), "--model", "tinybert-4", "--seq-len", "8", "--format",
                            "json"], json_out=True)


# ---- --set -----------------------------------------------------------------------------------------

@cases("set")
@given(data=st.data())
def test_fuzz_set_overrides(data):
    from simulator.arch import ArchSpec

    sets = []
    for _ in range(data.draw(st.integers(1, 3))):
        nasty = data.draw(st.integers(0, 3)) == 0
        path = data.draw(st.one_of(st.sampled_from(ARCH_PATHS), st.sampled_from(["array", "nope", "array.nope",
                                                                                   "array.rows.x", "", ".", "a..b"]),
                                   st.text(max_size=10))) if nasty else data.draw(st.sampled_from(ARCH_PATHS))
        if nasty or data.draw(st.integers(0, 4)) == 0:
            value = data.draw(st.one_of(values.map(yaml_text), st.text(max_size=20), st.sampled_from(NASTY_STRINGS)))
        else:
            value = yaml_text(data.draw(plausible_value(ArchSpec, path)))
        sep = data.draw(st.sampled_from(["=", "=", "", "=="])) if nasty else "="
        sets += ["--set", f"{path}{sep}{value}"]
    arch = data.draw(st.sampled_from(sorted(ARCHS)))
    engine = data.draw(st.sampled_from(["analytical", "analytical", "cycle"]))
    dims = [str(data.draw(plausible_ints)) for _ in range(3)]
    check("set", ["gemm", "--arch", arch, "--m", dims[0], "--n", dims[1], "--k", dims[2], "--engine", engine,
                  "--json", *sets], json_out=True)


# ---- GEMM dimensions -------------------------------------------------------------------------------

dim_text = st.one_of(plausible_ints.map(str), st.integers(-3, 2**70).map(str),
                     st.sampled_from(["0", "-1", "1e3", "abc", "", " 8", "2147483648", "9223372036854775807",
                                      "4611686018427387904", "1_000", "٣"]))
float_text = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                       st.sampled_from(["0.5", "1", "2", "0", "-1", "nan", "inf", "1e-300", "1e300", "x"]))


@cases("gemm")
@given(data=st.data())
def test_fuzz_gemm_dims(tmp_path_factory, data):
    arch = data.draw(st.sampled_from(sorted(ARCHS)))
    m, n, k = (data.draw(dim_text) for _ in range(3))
    argv = ["gemm", "--arch", arch, "--m", m, "--n", n, "--k", k, "--json"]
    if data.draw(st.booleans()):
        argv += ["--engine", data.draw(st.sampled_from(["analytical", "cycle", "spice"]))]
    if data.draw(st.booleans()):
        argv += ["--timing", data.draw(st.sampled_from(["default", "scalesim", "x"]))]
    for opt in ("--a-bytes", "--b-bytes", "--out-bytes"):
        if data.draw(st.integers(0, 3)) == 0:
            argv += [opt, data.draw(float_text)]
    if data.draw(st.integers(0, 9)) == 0:
        argv += ["--set", data.draw(st.sampled_from(["dram.bandwidth_gbps=1e-6", "dram.latency_cycles=1000000000",
                                                      "dram.bandwidth_gbps=.inf", "array.rows=65536",
                                                      "buffers.ifmap_kib=0.001", "array.freq_mhz=0.001"]))]
    if data.draw(st.integers(0, 9)) == 0:
        argv += ["--engine", "cycle", "--trace", str(tmp_path_factory.mktemp("tr") / "t")]
    check("gemm", argv, json_out=True)


# ---- sweep specs -----------------------------------------------------------------------------------

SWEEP_OK = {"name": "fz", "base": {"arch": "edge-32"}, "axes": {"array.rows": [8, 16]},
            "workloads": {"models": ["tinybert-4"], "seq_lens": [8]}, "recipes": ["none"],
            "objectives": {"latency_s": "min", "energy_pj": "min"}}
SWEEP_PATHS = ["name", "description", "base.arch", "base.set", "axes", "axes.array.cols", "pe_array", "pe_array.pes",
               "pe_array.aspect", "workloads.models", "workloads.seq_lens", "workloads.phases", "workloads.batch",
               "workloads.context", "workloads.new_tokens", "recipes", "objectives", "constraints", "strategy.kind",
               "strategy.n", "strategy.seed", "strategy.population", "engine", "color_by"]
RANGE_NUMBERS = [float("nan"), float("inf"), -float("inf"), 0, -1, 10**12, "10^12", 1e-300, True, None]


@st.composite
def axis_specs(draw):
    path = draw(st.sampled_from(["array.rows", "array.cols", "array.freq_mhz", "dram.bandwidth_gbps", "pe.native_bits",
                                 "array.dataflow", "buffers.ifmap_kib", "nope", "array"]))
    kind = draw(st.sampled_from(["list", "range_num", "range_step", "pow2", "nasty", "scalar"]))
    if kind == "list":
        spec = draw(st.lists(st.one_of(plausible_ints, scalars), min_size=0, max_size=3))
    elif kind == "range_num":
        start = draw(st.one_of(plausible_ints, st.sampled_from(RANGE_NUMBERS)))
        stop = draw(st.one_of(plausible_ints, st.sampled_from(RANGE_NUMBERS)))
        spec = {"start": start, "stop": stop, "num": draw(st.one_of(st.integers(1, 4), st.sampled_from(RANGE_NUMBERS))),
                "log": draw(st.one_of(st.booleans(), st.sampled_from(["yes", 2])))}
    elif kind == "range_step":
        start = draw(st.one_of(plausible_ints, st.sampled_from(RANGE_NUMBERS)))
        spec = {"start": start, "stop": draw(st.one_of(plausible_ints, st.sampled_from(RANGE_NUMBERS))),
                "step": draw(st.one_of(st.integers(32, 64), st.sampled_from(RANGE_NUMBERS)))}
    elif kind == "pow2":
        spec = {"pow2": draw(st.one_of(st.lists(st.one_of(plausible_ints, st.sampled_from(RANGE_NUMBERS)),
                                                 max_size=3), scalars))}
    elif kind == "scalar":
        spec = draw(scalars)
    else:
        spec = draw(values)
    return path, spec


@st.composite
def sweep_specs(draw):
    from sweeps.spec import SweepSpec

    if draw(st.integers(0, 2)) == 0:
        spec = json.loads(json.dumps(SWEEP_OK))
    else:
        spec = draw(mutated_mapping(SWEEP_OK, SWEEP_PATHS, extra_keys=("evaluator",), cls=SweepSpec))
    if draw(st.booleans()):
        path, ax = draw(axis_specs())
        spec["axes"] = {path: ax}
    if draw(st.integers(0, 3)) == 0:
        spec["constraints"] = draw(st.lists(st.one_of(st.text(max_size=20), st.sampled_from(
            ["area_mm2 <= 1.2.3", "latency_s < nan", "area_mm2 <= 100", "nope > 1", "latency_s <= -inf",
             "area_mm2 <= 1e400", "x" * 600])), max_size=2))
    if draw(st.integers(0, 3)) == 0:
        spec["recipes"] = draw(st.lists(st.sampled_from(["none", "w8a8", "+", "w8a8++", "nm-2of4+w8a8", "", "x",
                                                         "../x.yaml", "fp16"]), max_size=2))
    if draw(st.integers(0, 4)) == 0:
        spec["strategy"] = {"kind": draw(st.sampled_from(["grid", "random", "nsga2", "x"])),
                            "n": draw(st.one_of(st.integers(1, 6), st.sampled_from(RANGE_NUMBERS))),
                            "population": draw(st.sampled_from([2, 4, 1, 0]))}
    return spec


@cases("sweep_spec")
@given(data=st.data())
def test_fuzz_sweep_specs(tmp_path_factory, data):
    spec = data.draw(sweep_specs())
    d = tmp_path_factory.mktemp("sweep")
    raw = data.draw(text_damage(yaml.safe_dump(spec, allow_unicode=True)))
    f = write(d / "spec.yaml", raw)
    argv = ["sweep", str(f), "-o", str(d / "out"), "--workers", "1", "--quiet"]
    if data.draw(st.integers(0, 5)):
        argv.append("--no-report")
    check("sweep_spec", argv)


# ---- results folders -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def results_dir(tmp_path_factory):
    from sweeps.cli import main

    d = tmp_path_factory.mktemp("res")
    spec = dict(SWEEP_OK, axes={"array.rows": [8, 16, 32]}, recipes=["none", "w8a8"])
    (d / "spec.yaml").write_text(yaml.safe_dump(spec))
    assert main(["sweep", str(d / "spec.yaml"), "-o", str(d / "out"), "--workers", "1", "--quiet"]) == 0
    return d


@st.composite
def damage_ops(draw):
    return draw(st.lists(st.sampled_from(["truncate", "garbage", "empty", "duplicate", "foreign_types",
                                          "foreign_cols", "meta_bad_json", "meta_list", "meta_dir", "meta_missing",
                                          "meta_wrong_types", "parts_missing", "compact_bad", "tmp_leftover",
                                          "parts_file"]), min_size=0, max_size=3))


def apply_damage(out: Path, ops: list[str], seed: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts = sorted((out / "parts").glob("*.parquet")) if (out / "parts").is_dir() else []
    pick = parts[seed % len(parts)] if parts else None
    for op in ops:
        if op == "truncate" and pick and pick.exists():
            b = pick.read_bytes()
            pick.write_bytes(b[: (seed % max(1, len(b)))])
        elif op == "garbage" and (out / "parts").is_dir():
            (out / "parts" / "part-garbage.parquet").write_bytes(bytes(range(256)) * 3)
        elif op == "empty" and pick and pick.exists():
            pick.write_bytes(b"")
        elif op == "duplicate" and pick and pick.exists():
            shutil.copy(pick, out / "parts" / "part-dup.parquet")
        elif op == "foreign_types" and (out / "parts").is_dir():
            pq.write_table(pa.table({"point_id": [1.5], "row": ["total"], "status": ["ok"]}),
                           out / "parts" / "part-ft.parquet")
        elif op == "foreign_cols" and (out / "parts").is_dir():
            pq.write_table(pa.table({"point_id": ["a"], "row": ["total"], "status": ["ok"], "latency_s": ["fast"],
                                     "model": [3]}), out / "parts" / "part-fc.parquet")
        elif op.startswith("meta_"):
            p = out / "sweep.json"
            if p.is_dir():
                continue
            p.unlink(missing_ok=True)
            if op == "meta_bad_json":
                p.write_text('{"objectives": ')
            elif op == "meta_list":
                p.write_text("[1, 2, 3]")
            elif op == "meta_dir":
                p.mkdir()
            elif op == "meta_wrong_types":
                p.write_text(json.dumps({"objectives": ["x"], "constraints": "area_mm2 <", "axis_columns": 7,
                                         "spec": [], "strategy": "grid", "name": 5}))
        elif op == "parts_missing" and (out / "parts").is_dir():
            shutil.rmtree(out / "parts")
        elif op == "compact_bad" and (out / "parts").is_dir():
            pq.write_table(pa.table({"point_id": ["a"], "row": ["total"], "status": ["ok"]}).replace_schema_metadata(
                {b"tasim_supersedes": b"{not json"}), out / "parts" / "compact-bad.parquet")
        elif op == "tmp_leftover" and (out / "parts").is_dir():
            (out / "parts" / ".part-x.parquet.tmp").write_bytes(b"half")
        elif op == "parts_file" and (out / "parts").is_dir():
            shutil.rmtree(out / "parts")
            (out / "parts").write_text("not a folder")


objective_text = st.one_of(st.sampled_from(["latency_s", "energy_pj,area_mm2", "model", "-latency_s", "latency_s:max",
                                            "latency_s:up", ",", "", "nope", "latency_s,latency_s", "recipe",
                                            "-", "point_id", "accuracy:max,latency_s", "array.rows"]),
                           st.text(max_size=12))


@cases("results")
@given(data=st.data())
def test_fuzz_results_folders(results_dir, tmp_path_factory, data):
    d = tmp_path_factory.mktemp("dmg")
    out = d / "out"
    shutil.copytree(results_dir / "out", out)
    apply_damage(out, data.draw(damage_ops()), data.draw(st.integers(0, 10**6)))
    cmd = data.draw(st.sampled_from(["results", "results_csv", "pareto", "pareto", "plot", "resume"]))
    if cmd == "results":
        argv = ["results", str(out)]
    elif cmd == "results_csv":
        argv = ["results", str(out), "--csv"] + (["--all-rows"] if data.draw(st.booleans()) else [])
    elif cmd == "pareto":
        argv = ["pareto", str(out)]
        if data.draw(st.booleans()):
            argv += ["--objectives", data.draw(objective_text)]
        if data.draw(st.integers(0, 3)) == 0:
            argv += ["--by", data.draw(st.sampled_from(["model", "recipe", "nope", "array.rows", ""]))]
        argv += data.draw(st.sampled_from([[], ["--all"], ["--hypervolume"], ["--csv"]]))
    elif cmd == "plot":
        kind = data.draw(st.sampled_from(["pareto", "matrix", "breakdown", "heatmap", "accuracy"]))
        argv = ["plot", str(out), "--kind", kind, "-o", str(d / "fig")]
        for opt in ("--x", "--y", "--objectives", "--color", "--value", "--points", "--model"):
            if data.draw(st.integers(0, 4)) == 0:
                argv += [opt, data.draw(objective_text)]
    else:
        argv = ["sweep", str(results_dir / "spec.yaml"), "-o", str(out), "--workers", "1", "--quiet", "--no-report"]
    check("results", argv)


# ---- SCALE-Sim cfg and topology --------------------------------------------------------------------

def _example(name: str) -> str:
    from simulator.scalesim import example_path

    return Path(example_path(name)).read_text()


CFG_TEXT = _example("scale.cfg")
CFG_KEYS = [ln.split(":")[0].split("=")[0].strip() for ln in CFG_TEXT.splitlines()
            if ln.strip() and not ln.startswith(("#", "["))]
cfg_values = st.one_of(st.integers(1, 64).map(str), st.integers(1, 64).map(str), st.sampled_from(["0", "-1", "1", "32", "2147483648", "99999999999999999999999", "nan", "inf",
                                        "ws", "WS", "os", "xs", "true", "True", "yes", "USER", "CALC", "csr", "",
                                        "1,2,x", "10,0", "a/b", "..", "\x00", "é" * 300, "1e3", "8"]),
                       st.integers(-5, 2**40).map(str), st.text(alphabet=string.printable, max_size=12))


@st.composite
def cfg_texts(draw):
    lines = CFG_TEXT.splitlines()
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2, 4]))):
        op = draw(st.sampled_from(["set", "set", "set", "delete", "unknown", "dup_section", "garbage"]))
        if op == "set":
            key = draw(st.sampled_from(CFG_KEYS))
            lines = [f"{key} = {draw(cfg_values)}" if ln.split(":")[0].split("=")[0].strip() == key else ln
                     for ln in lines]
        elif op == "delete":
            key = draw(st.sampled_from(CFG_KEYS))
            lines = [ln for ln in lines if ln.split(":")[0].split("=")[0].strip() != key]
        elif op == "unknown":
            lines.append(draw(st.sampled_from(["Evil = 1", "[evil]", "[sparsity]\nSparseRep = csr"])))
        elif op == "dup_section":
            lines.append("[general]\nrun_name = again")
        else:
            lines.insert(draw(st.integers(0, len(lines))), draw(st.text(max_size=20)))
    return "\n".join(lines) + "\n"


topo_int = st.one_of(st.integers(1, 40), st.integers(-3, 2**45), st.sampled_from(["x", "", "1.5", "nan", "2:4", "0"]))


@st.composite
def topo_row(draw, n: int) -> list[str]:
    """Mostly plausible rows (small positive sizes), sometimes nasty ones."""
    clean = draw(st.integers(0, 3)) > 0
    return [str(draw(st.integers(1, 40) if clean else topo_int)) for _ in range(n)]


@st.composite
def topologies(draw, gemm: bool):
    if gemm:
        header = "Layer, M, N, K,"
        rows = [[draw(st.text(alphabet=string.ascii_letters, min_size=1, max_size=6))] + draw(topo_row(3))
                for _ in range(draw(st.integers(1, 3)))]
    else:
        header = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,"
        rows = [[draw(st.text(alphabet=string.ascii_letters, min_size=1, max_size=6))] + draw(topo_row(7))
                for _ in range(draw(st.integers(1, 3)))]
    if draw(st.integers(0, 5)) == 0:
        rows.append([draw(st.text(max_size=10))])
    return header + "\n" + "\n".join(", ".join(r) + "," for r in rows) + "\n"


@cases("scalesim")
@given(data=st.data())
def test_fuzz_scalesim_inputs(tmp_path_factory, data):
    d = tmp_path_factory.mktemp("ss")
    gemm = data.draw(st.booleans())
    cfg = write(d / "s.cfg", data.draw(text_damage(data.draw(cfg_texts()))))
    topo = write(d / "t.csv", data.draw(topologies(gemm)))
    argv = ["scalesim", "-c", str(cfg), "-t", str(topo), "-p", str(d / "out"), "--quiet"]
    if gemm:
        argv += ["-i", "gemm"]
    argv += data.draw(st.sampled_from([[], ["--timing", "default"], ["--engine", "cycle"]]))
    check("scalesim", argv)


# ---- recipes ---------------------------------------------------------------------------------------

def _recipes():
    from workloads.compress import RECIPE_DIR

    return {p.stem: yaml.safe_load(p.read_text()) for p in sorted(RECIPE_DIR.glob("*.yaml"))}


RECIPES = _recipes()
RECIPE_PATHS = ["name", "quantize", "prune", "heads", "heads.keep", "tokens", "tokens.keep", "tokens.stages",
                "distill", "distill.layers", "distill.hidden", "distill.heads", "distill.student", "distill.layer_ratio"]


@cases("recipe")
@given(data=st.data())
def test_fuzz_recipes(tmp_path_factory, data):
    if data.draw(st.booleans()):
        parts = data.draw(st.lists(st.one_of(st.sampled_from(sorted(RECIPES) + ["", " ", "none", "x", "w8a8"]),
                                             st.text(max_size=8)), min_size=0, max_size=3))
        recipe = "+".join(parts)
    else:
        base = RECIPES[data.draw(st.sampled_from(sorted(RECIPES)))]
        mapping = data.draw(mutated_mapping(base, RECIPE_PATHS))
        recipe = str(write(tmp_path_factory.mktemp("rc") / "r.yaml", data.draw(text_damage(yaml.safe_dump(mapping)))))
    model = data.draw(st.sampled_from(["tinybert-4", "opt-125m", "deit-ti"]))
    argv = ["models", model, "--seq-len", "8", "--compress", recipe, "--json"]
    if model == "opt-125m" and data.draw(st.booleans()):
        argv += ["--phase", "decode", "--context", str(data.draw(st.integers(0, 64)))]
    check("recipe", argv, json_out=True)


# ---- model YAML ------------------------------------------------------------------------------------

def _zoo(name: str) -> dict:
    from workloads.zoo import ZOO_DIR

    return yaml.safe_load((ZOO_DIR / f"{name}.yaml").read_text())


ZOO = {n: _zoo(n) for n in ("tinybert-4", "opt-125m", "deit-ti", "llama2-7b")}
MODEL_PATHS = ["hidden", "layers", "heads", "ffn", "kv_heads", "head_dim", "vocab", "max_positions", "family", "arch",
               "image_size", "patch_size", "channels", "act", "norm", "head", "num_labels", "bottleneck", "num_ffn",
               "embedding_size", "gated_ffn", "rope"]


@cases("model")
@given(data=st.data())
def test_fuzz_model_yaml(tmp_path_factory, data):
    name = data.draw(st.sampled_from(sorted(ZOO)))
    base = dict(ZOO[name], layers=min(ZOO[name]["layers"], 2))
    from workloads.modelconfig import ModelConfig

    mapping = data.draw(mutated_mapping(base, MODEL_PATHS, cls=ModelConfig))
    f = write(tmp_path_factory.mktemp("md") / "m.yaml", data.draw(text_damage(yaml.safe_dump(mapping))))
    seq = data.draw(st.sampled_from(["8", "1", "0", "2147483648", "x"]))
    if data.draw(st.booleans()):
        check("model", ["models", str(f), "--seq-len", seq, "--json"], json_out=True)
    else:
        check("model", ["simulate", "--arch", "edge-32", "--model", str(f), "--seq-len", seq, "--format", "json"],
              json_out=True)


# ---- Hugging Face configs --------------------------------------------------------------------------

HF_BASE = {
    "bert": {"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
             "intermediate_size": 64, "vocab_size": 100, "max_position_embeddings": 64},
    "gpt2": {"model_type": "gpt2", "n_embd": 32, "n_layer": 1, "n_head": 2, "vocab_size": 100, "n_positions": 64},
}


@pytest.mark.torch
@cases("hf_config")
@given(data=st.data())
def test_fuzz_hf_configs(tmp_path_factory, data):
    pytest.importorskip("transformers")
    base = HF_BASE[data.draw(st.sampled_from(sorted(HF_BASE)))]
    mapping = data.draw(mutated_mapping(base, [k for k in base if k != "model_type"] + ["model_type"]))
    d = tmp_path_factory.mktemp("hf")
    raw = json.dumps(mapping, default=str) if data.draw(st.integers(0, 5)) else data.draw(st.text(max_size=30))
    name = data.draw(st.sampled_from(["config.json", "other.json"]))
    f = write(d / name, raw)
    meta = ["--meta"] if data.draw(st.integers(0, 3)) else []
    check("hf_config", ["trace", str(f), *meta, "--seq-len", "8", "--json"], json_out=True)
