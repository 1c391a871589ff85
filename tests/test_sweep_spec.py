"""Sweep spec validation: bad specs fail before any work with a one-line InputError naming the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sweeps.spec import expand_axis, load_sweep, pe_array_shapes, sweep_from_dict
from workloads.errors import InputError

GOOD = {
    "name": "t",
    "base": {"arch": "gemmini"},
    "axes": {"array.rows": [16, 32], "pe.precision_mode": ["fixed", "bit_fusion"]},
    "workloads": {"models": ["bert-base"], "seq_lens": [128]},
    "recipes": ["w8a8", "nm-2of4+w8a8"],
    "objectives": {"latency_s": "min", "edp": "min"},
    "constraints": ["area_mm2 <= 100"],
}


def spec_with(**changes):
    d = yaml.safe_load(yaml.safe_dump(GOOD))
    for k, v in changes.items():
        d[k] = v
    return d


def test_good_spec_expands_to_grid():
    s = sweep_from_dict(spec_with())
    pts = s.points()
    assert len(pts) == s.grid_size() == 2 * 2 * 2
    assert s.objectives == {"latency_s": "min", "edp_pj_s": "min"}
    assert {dict(p.axes)["array.rows"] for p in pts} == {16, 32}


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"bogus": 1}, "bogus"),
        ({"axes": {"array.rowz": [16]}}, "axes.array.rowz"),
        ({"axes": {"array.rows": [16, -4]}}, "axes.array.rows[1]"),
        ({"axes": {"pe.precision_mode": ["fixed", "quantum"]}}, "axes.pe.precision_mode[1]"),
        ({"axes": {"array.rows": []}}, "axes.array.rows"),
        ({"axes": {"array.rows": {"start": 1, "stop": 8, "stpe": 1}}}, "axes.array.rows.stpe"),
        ({"workloads": {"models": ["bert-huge"]}}, "workloads.models[0]"),
        ({"recipes": ["w3a3"]}, "recipes[0]"),
        ({"objectives": {"speed": "min"}}, "objectives.speed"),
        ({"objectives": {"latency_s": "smallest"}}, "objectives.latency_s"),
        ({"constraints": ["area_mm2 <<= 5"]}, "constraints[0]"),
        ({"constraints": ["weight_kg <= 5"]}, "constraints[0]"),
        ({"strategy": {"kind": "annealing"}}, "strategy.kind"),
        ({"strategy": {"kind": "random", "n": 0}}, "strategy.n"),
        ({"base": {"arch": "no-such-chip"}}, "base.arch"),
        ({"pe_array": {"pes": [1000], "aspect": [1]}}, "pe_array"),
        ({"workloads": {"models": ["bert-base"], "phases": ["decode"]}}, "workloads"),
    ],
)
def test_invalid_specs_name_the_key(changes, key):
    with pytest.raises(InputError) as exc:
        sweep_from_dict(spec_with(**changes))
    msg = str(exc.value)
    assert key in msg and "\n" not in msg


def test_ranges_and_pe_array():
    assert expand_axis("a", {"pow2": [16, 256]}, source=None) == [16, 32, 64, 128, 256]
    assert expand_axis("a", {"start": 8, "stop": 32, "step": 8}, source=None) == [8, 16, 24, 32]
    vals = expand_axis("a", {"start": 10.0, "stop": 1000.0, "num": 3, "log": True}, source=None)
    assert vals == pytest.approx([10.0, 100.0, 1000.0])
    assert pe_array_shapes((256, 4096), (1, 4, 0.25), source=None) == [
        (16, 16), (32, 8), (8, 32), (64, 64), (128, 32), (32, 128)]
    s = sweep_from_dict(spec_with(axes={}, pe_array={"pes": [256, 1024], "aspect": [1, 4]}))
    shapes = {(dict(p.axes)["array.rows"], dict(p.axes)["array.cols"]) for p in s.points()}
    assert shapes == {(16, 16), (32, 8), (32, 32), (64, 16)}


def test_arch_at_matches_grid_order_and_random_scales():
    s = sweep_from_dict(spec_with(axes={"array.rows": [8, 16, 32], "pe.precision_mode": ["fixed", "bit_serial"]},
                                  pe_array=None))
    assert [s.arch_at(i) for i in range(6)] == s.arch_choices()
    huge = sweep_from_dict(spec_with(axes={f"vector.{f}_cycles_per_element": list(range(1, 11)) for f in
                                           ("softmax", "layernorm", "gelu", "add", "mul", "rope", "silu", "rmsnorm")},
                                     strategy={"kind": "random", "n": 20, "seed": 0}))
    assert huge.grid_size() == 10**8 * 2
    pts = huge.points()
    assert len(pts) == 20 and len(set(pts)) == 20


def test_random_strategy_is_seeded_subset():
    s1 = sweep_from_dict(spec_with(strategy={"kind": "random", "n": 5, "seed": 3}))
    s2 = sweep_from_dict(spec_with(strategy={"kind": "random", "n": 5, "seed": 3}))
    grid = sweep_from_dict(spec_with())
    assert s1.points() == s2.points()
    assert len(s1.points()) == 5 and set(s1.points()) <= set(grid.points())


def test_shipped_specs_validate():
    for p in sorted(Path("sweeps/specs").glob("*.yaml")):
        s = load_sweep(p)
        assert s.grid_size() >= 1


def test_cli_bad_spec_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(spec_with(axes={"array.rows": [16, "big"]})))
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "sweeps.cli", "sweep", str(bad), "-o", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "axes.array.rows[1]" in r.stderr
    assert not out.exists()  # failed before any work


def test_fast_arch_build_equals_full_validation():
    from simulator.arch import ArchSpec
    from sweeps.spec import load_sweep, replace_path
    from workloads.schema import from_dict

    for spec in ("sweeps/specs/quickstart.yaml", "sweeps/specs/llm-decode.yaml"):
        s = load_sweep(spec)
        for p in s.points()[::7]:
            full = from_dict(ArchSpec, s.arch_dict(p), source="t")
            assert replace_path(s.base_arch, p.overrides()) == full
            assert full.to_dict() == s.arch_dict(p)


def test_shipped_spec_by_name_from_any_directory(tmp_path, monkeypatch):
    from sweeps.spec import load_sweep

    monkeypatch.chdir(tmp_path)
    for name in ("quickstart", "llm-decode"):
        assert load_sweep(name).spec.name == name


def test_plan_point_ids_equal_the_content_hash_of_the_full_mapping():
    """Template ids (sweeps/plan.py) are byte for byte sweeps.evaluate.point_id of the resolved arch mapping."""
    import numpy as np

    from sweeps.evaluate import point_id, tasim_build
    from sweeps.plan import Plan
    from sweeps.spec import DesignPoint

    s = sweep_from_dict({
        "name": "ids", "base": {"arch": "gemmini", "set": {"dram.kind": "lpddr4"}},
        "pe_array": {"pes": [256, 1024], "aspect": [0.25, 1]},
        "axes": {"pe.precision_mode": ["fixed", "bit_serial"], "dram.bytes_per_cycle": [16, 64.5],
                 "array.freq_mhz": [500, 1000]},
        "workloads": {"models": ["bert-base", "distilbert"], "seq_lens": [64]}, "recipes": ["w8a8", "none"],
    })
    plan = Plan(s, "analytical", tasim_build())
    archs = np.arange(plan.n_archs)
    for w, wk in enumerate(plan.workloads):
        hexes, ints = plan.point_ids(w, archs)
        for a, h, i in zip(archs, hexes, ints):
            want = point_id(s.arch_dict(DesignPoint(s.arch_at(int(a)), wk)), wk, "analytical", "")
            assert h == want and int(i) == int(want, 16)
