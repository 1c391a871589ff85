"""Issue 14: every reproduction of the fuzz campaign, as a test (one line, exit 2; or a sane exit 0).

The numbered comments are the root causes of the issue. In-process CLI calls (``main``) keep it fast.
"""

from __future__ import annotations

import json
import math

import pytest
import yaml

from sweeps.cli import main
from workloads.errors import InputError
from workloads.schema import YAML_MAX_NODES, parse_override, parse_yaml

GEMM = ["gemm", "--arch", "edge-32", "--m", "64", "--n", "64", "--k", "64"]


def run(capsys, *argv):
    try:
        rc = main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        rc = exc.code
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line_error(rc, err, *needles):
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tasim"), err
    assert "Traceback" not in err
    for n in needles:
        assert n in err, (n, err)


# 1. NaN and inf pass range checks
@pytest.mark.parametrize("override", ["array.rows=.nan", "array.freq_mhz=.nan", "array.freq_mhz=.inf",
                                      "array.freq_mhz=-.inf", "vector.lanes=.nan", "energy.leakage_mw=.nan",
                                      "buffers.ifmap_kib=.inf"])
def test_non_finite_values_are_refused(capsys, override):
    rc, _, err = run(capsys, *GEMM, "--set", override)
    assert_one_line_error(rc, err, override.split("=")[0], "finite")


def test_unlimited_bandwidth_is_the_one_documented_infinity(capsys):
    rc, out, _ = run(capsys, *GEMM, "--set", "dram.bandwidth_gbps=.inf", "--json")
    assert rc == 0
    assert json.loads(out)["dram_bytes_per_cycle"] is None  # 14. strict JSON: unlimited is null


# 2. 64-bit overflow
def test_gemm_products_beyond_int64_are_refused(capsys):
    rc, _, err = run(capsys, "gemm", "--arch", "edge-32", "--m", "2147483648", "--n", "2147483648",
                     "--k", "2147483648")
    assert_one_line_error(rc, err, "M*N*K", "2**62")


def test_tiny_bandwidth_is_out_of_range_not_negative_cycles(capsys):
    rc, _, err = run(capsys, *GEMM, "--set", "dram.bandwidth_gbps=1.0e-30")
    assert_one_line_error(rc, err, "dram.bandwidth_gbps", ">= 1e-06")
    rc, out, _ = run(capsys, *GEMM, "--set", "dram.bandwidth_gbps=1.0e-6", "--json")
    r = json.loads(out)
    assert rc == 0 and r["total_cycles"] > 0 and 0 < r["utilization"] <= 1


@pytest.mark.parametrize("value", ["9223372036854775808", "1e30", "-1e300", "123456789012345678901234567890"])
def test_huge_ints_are_out_of_range(capsys, value):
    rc, _, err = run(capsys, *GEMM, "--set", f"array.rows={value}")
    assert_one_line_error(rc, err, "array.rows")


def test_huge_cli_ints_are_refused(capsys):
    rc, _, err = run(capsys, "gemm", "--arch", "edge-32", "--m", "9" * 30, "--n", "2", "--k", "2")
    assert_one_line_error(rc, err, "--m")


# 3. billion laughs
def _bomb() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\ndescription: *i\n"


def test_alias_bomb_is_refused_fast(tmp_path, capsys):
    f = tmp_path / "bomb.yaml"
    f.write_text(_bomb())
    assert len(f.read_bytes()) < 700
    rc, _, err = run(capsys, "archs", str(f))
    assert_one_line_error(rc, err, "bomb.yaml", f"{YAML_MAX_NODES:,}")


def test_moderate_aliases_still_work():
    assert parse_yaml("base: &b {rows: 8}\narray: *b\nother: {<<: *b, cols: 4}\n", source=None) == {
        "base": {"rows": 8}, "array": {"rows": 8}, "other": {"rows": 8, "cols": 4}}


# 6. encodings, duplicate keys, deep nesting, self-referencing aliases
def test_non_utf8_file_names_the_offset(tmp_path, capsys):
    f = tmp_path / "latin1.yaml"
    f.write_bytes(b"name: caf\xe9\n")
    rc, _, err = run(capsys, "archs", str(f))
    assert_one_line_error(rc, err, "latin1.yaml", "UTF-8", "offset 9")


def test_duplicate_keys_name_both_lines(tmp_path, capsys):
    f = tmp_path / "dup.yaml"
    f.write_text("array:\n  rows: 8\n  cols: 8\n  rows: 16\n")
    rc, _, err = run(capsys, "archs", str(f))
    assert_one_line_error(rc, err, "dup.yaml", "line 4", "duplicate key 'rows'", "first at line 2")


def test_deep_nesting_and_self_alias(tmp_path, capsys):
    f = tmp_path / "deep.yaml"
    f.write_text("description: " + "[" * 5000 + "]" * 5000 + "\n")
    rc, _, err = run(capsys, "archs", str(f))
    assert_one_line_error(rc, err, "deep.yaml", "nesting deeper")
    rc, _, err = run(capsys, *GEMM, "--set", "description=&a [*a]")
    assert_one_line_error(rc, err, "own anchor")
    rc, _, err = run(capsys, *GEMM, "--set", "description=" + "[" * 5000)
    assert_one_line_error(rc, err, "description")


def test_override_parsing_limits():
    with pytest.raises(InputError, match="own anchor"):
        parse_override("a=&x {b: *x}")
    assert parse_override("array.rows=[[") == ("array.rows", "[[")  # not YAML: the text, rejected by the field


def test_yaml_12_exponent_floats():
    assert parse_yaml("a: 1e-6\nb: 2E+3\n", source=None) == {"a": 1e-6, "b": 2000.0}


# 9, 10. unwritable outputs and over-long / NUL names
@pytest.mark.parametrize("out", ["", "/nonexistent-dir/x.json", "{tmp}", "{tmp}/" + "x" * 300])
def test_unwritable_outputs(tmp_path, capsys, out):
    out = out.format(tmp=tmp_path)
    rc, _, err = run(capsys, "simulate", "--arch", "edge-32", "--model", "tinybert-4", "--seq-len", "16",
                     "-o", out)
    assert_one_line_error(rc, err)
    assert list(tmp_path.iterdir()) == []  # nothing half-written


# the same output checks on every command that writes a file (file-valued options)
FILE_WRITERS = {
    "compare": ["compare", "edge-32", "gemmini", "--model", "tinybert-4", "--seq-len", "16", "-o"],
    "models": ["models", "tinybert-4", "--save"],
    "trace": ["trace", "tinybert-4", "--out"],
}


@pytest.mark.parametrize("command", sorted(FILE_WRITERS))
@pytest.mark.parametrize("out", ["", "/nonexistent-dir/x.png", "{tmp}", "{tmp}/" + "x" * 300 + ".png"])
def test_unwritable_outputs_on_every_file_writer(tmp_path, capsys, command, out):
    argv = [a.format(tmp=tmp_path) for a in FILE_WRITERS[command]] + [out.format(tmp=tmp_path)]
    rc, _, err = run(capsys, *argv)
    assert_one_line_error(rc, err)
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_long_and_nul_names(capsys):
    rc, _, err = run(capsys, "archs", "a" * 300)
    assert_one_line_error(rc, err)
    assert len(err) < 700
    rc, _, err = run(capsys, "archs", "edge\x0032")
    assert_one_line_error(rc, err, "NUL")
    rc, _, err = run(capsys, "simulate", "--arch", "edge-32", "--model", "b" * 300)
    assert_one_line_error(rc, err, "unknown model")


# 11. recipe strings
@pytest.mark.parametrize("recipe", ["+", "w8a8++", "+w8a8", "w8a8+ +nm-2of4", "../../etc/passwd"])
def test_bad_recipe_strings(capsys, recipe):
    rc, _, err = run(capsys, "simulate", "--arch", "edge-32", "--model", "tinybert-4", "--seq-len", "16",
                     "--compress", recipe)
    assert_one_line_error(rc, err, "recipe")


# 13. work estimates
def test_cycle_engine_refuses_hours_of_work_unless_forced(capsys):
    rc, _, err = run(capsys, "gemm", "--arch", "edge-32", "--m", "1000000000000", "--n", "64", "--k", "64",
                     "--engine", "cycle")
    assert_one_line_error(rc, err, "--force")
    rc, _, err = run(capsys, *GEMM, "--engine", "cycle", "--set", "dram.latency_cycles=1e30")
    assert_one_line_error(rc, err, "dram.latency_cycles")


def test_force_lifts_the_work_limit(monkeypatch, capsys):
    import simulator.limits as limits

    monkeypatch.setattr(limits, "CYCLE_ENGINE_MAX_CYCLES", 10)
    rc, _, err = run(capsys, *GEMM, "--engine", "cycle")
    assert_one_line_error(rc, err, "--force")
    rc, out, _ = run(capsys, *GEMM, "--engine", "cycle", "--force", "--json")
    assert rc == 0 and json.loads(out)["total_cycles"] > 10


# 14. strict JSON everywhere
def test_json_outputs_are_strict(capsys):
    for argv in (GEMM + ["--json"], ["simulate", "--arch", "edge-32", "--model", "tinybert-4", "--seq-len", "16",
                                     "--format", "json", "--set", "dram.bandwidth_gbps=.inf"]):
        rc, out, _ = run(capsys, *argv)
        assert rc == 0

        def bad(c):
            raise ValueError(c)

        json.loads(out, parse_constant=bad)  # no NaN / Infinity tokens


def test_messages_cap_huge_values(capsys):
    rc, _, err = run(capsys, *GEMM, "--set", "array.rows=" + "9" * 5000)
    assert_one_line_error(rc, err)
    assert len(err) < 900


def test_finite_results_for_extreme_but_valid_designs(capsys):
    for s in ("array.freq_mhz=0.001", "array.freq_mhz=1e6", "buffers.ifmap_kib=0.0009765625",
              "dram.bytes_per_cycle=1e-6", "array.rows=65536"):
        rc, out, err = run(capsys, *GEMM, "--set", s, "--json")
        if rc == 0:
            r = json.loads(out)
            assert r["total_cycles"] >= r["compute_cycles"] >= 1 and 0 < r["utilization"] <= 1
            assert math.isfinite(r["latency_s"])
        else:
            assert_one_line_error(rc, err)


def test_yaml_docs_round_trip_for_shipped_archs():
    from simulator.arch import load_arch, shipped_names

    for name in shipped_names():
        arch = load_arch(name)
        assert yaml.safe_load(yaml.safe_dump(arch.to_dict()))["name"] == arch.name


def test_auto_dataflow_gemm_and_energy(capsys):
    rc, out, err = run(capsys, *GEMM, "--set", "array.dataflow=auto", "--json")
    assert rc == 0, err
    r = json.loads(out)
    assert r["dataflow"] in ("os", "ws", "is") and r["energy_pj"] > 0


def test_recipe_student_sizes_are_bounded(tmp_path, capsys):
    f = tmp_path / "big.yaml"
    f.write_text("name: big\ndistill: {layers: 100000}\n")  # built layer by layer: an 18 s case in the fuzz run
    rc, _, err = run(capsys, "models", "deit-ti", "--seq-len", "8", "--compress", str(f), "--json")
    assert_one_line_error(rc, err, "distill.layers", "<= 1024")


@pytest.mark.torch
def test_hf_config_trace_reads_the_named_file_and_bert_meta_works(tmp_path, capsys):
    pytest.importorskip("transformers")
    good = {"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
            "intermediate_size": 64, "vocab_size": 100, "max_position_embeddings": 64}
    (tmp_path / "config.json").write_text(json.dumps(good))
    (tmp_path / "other.json").write_text(json.dumps(dict(good, hidden_size=33)))  # 33 % 2 heads != 0
    rc, out, err = run(capsys, "trace", str(tmp_path / "config.json"), "--meta", "--seq-len", "8", "--json")
    assert rc == 0, err  # BERT on the meta device (transformers inspects the mask's values: retried without)
    assert json.loads(out)["macs"] > 0
    rc, _, err = run(capsys, "trace", str(tmp_path / "other.json"), "--meta", "--seq-len", "8", "--json")
    assert_one_line_error(rc, err, "other.json")  # this file, not config.json next to it
    (tmp_path / "zero.json").write_text(json.dumps(dict(good, hidden_size=0)))
    rc, _, err = run(capsys, "trace", str(tmp_path / "zero.json"), "--meta", "--seq-len", "8")
    assert_one_line_error(rc, err, "hidden_size")
