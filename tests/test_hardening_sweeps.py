"""Issue 14, sweeps: bad results stores, spec-as-data, sweep spec ranges, pareto/plot arguments, disk
full, Markdown escaping, and the private Dask cluster (TLS, no dashboard)."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sweep_fakesim
import yaml

from sweeps.cli import main
from sweeps.executors import LocalExecutor
from sweeps.runner import run_sweep
from sweeps.spec import sweep_from_dict
from sweeps.store import Store, load
from workloads.errors import InputError

SPEC = {"name": "fake", "base": {"arch": "gemmini"}, "axes": {"array.rows": [8, 16, 32, 64]},
        "workloads": {"models": ["tiny"], "seq_lens": [128]}, "recipes": ["w8a8"],
        "objectives": {"latency_s": "min", "energy_pj": "min"}}


def fake(spec=None):
    return sweep_from_dict(spec or SPEC, evaluator=sweep_fakesim.evaluate)


def sweep_into(out: Path, spec=None):
    # one point per batch: several part files to corrupt
    return run_sweep(fake(spec), out, executor=LocalExecutor(1), progress=False, min_task_s=0, target_task_s=0)


def totals(out: Path):
    df = load(out)
    return df[df["row"] == "total"]


def one_line(err: str) -> None:
    assert "Traceback" not in err and len(err.strip().splitlines()) >= 1
    for line in err.strip().splitlines():
        assert line.startswith("tasim"), err


# 4. corrupted, duplicated and foreign parts; malformed sweep.json
@pytest.fixture
def damaged(tmp_path):
    out = tmp_path / "r"
    sweep_into(out)
    parts = sorted((out / "parts").glob("part-*.parquet"))
    assert len(parts) >= 2
    lost = int((pq.read_table(parts[0]).column("row").to_numpy(zero_copy_only=False) == "total").sum())
    data = parts[0].read_bytes()
    parts[0].write_bytes(data[: len(data) // 2])  # truncated
    shutil.copy(parts[1], out / "parts" / "part-copy.parquet")  # duplicated
    pq.write_table(pa.table({"point_id": ["x" * 16], "row": ["total"], "status": ["ok"], "seq_len": [1.5]}),
                   out / "parts" / "part-foreign.parquet")  # foreign schema: would turn ints into floats
    (out / "parts" / "part-garbage.parquet").write_bytes(b"\x00garbage" * 10)
    return out, parts[0].name, lost


@pytest.mark.parametrize("argv", [["results"], ["results", "--csv"], ["pareto"], ["plot", "--kind", "pareto"]])
def test_read_commands_name_bad_parts_and_go_on(damaged, capsys, argv):
    out, bad, _ = damaged
    extra = ["-o", str(out / "fig")] if argv[0] == "plot" else []
    rc = main([argv[0], str(out), *argv[1:], *extra])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    one_line(captured.err)
    assert bad in captured.err and "part-foreign.parquet" in captured.err and "part-garbage" in captured.err
    assert (out / "parts" / bad).exists()  # reading commands never move files


def test_resume_quarantines_and_resimulates(damaged, capsys):
    out, bad, lost = damaged
    ids_before = set(totals(out)["point_id"])
    assert len(ids_before) == 4 - lost  # points of the truncated part are lost; the copy is collapsed
    s = sweep_into(out)
    err = capsys.readouterr().err
    one_line(err)
    assert s.evaluated == lost and s.skipped == 4 - lost
    q = {p.name for p in (out / "quarantine").iterdir()}
    assert {bad, "part-foreign.parquet", "part-garbage.parquet"} <= q
    t = totals(out)
    assert len(t) == 4 and t["point_id"].is_unique
    assert t["seq_len"].dtype.kind == "i"  # no foreign floats


@pytest.mark.parametrize("meta", ["[1, 2", "[1, 2]", "\xff\xfe", None])
def test_malformed_sweep_json(tmp_path, capsys, meta):
    out = tmp_path / "r"
    sweep_into(out)
    p = out / "sweep.json"
    p.unlink()
    if meta is None:
        p.mkdir()
    else:
        p.write_bytes(meta.encode("latin-1"))
    assert main(["results", str(out)]) == 0
    err = capsys.readouterr().err
    one_line(err)
    assert "sweep.json" in err
    s = sweep_into(out)
    assert s.skipped == 4 and (out / "sweep.json").is_file()


def test_duplicates_collapse_on_load(tmp_path):
    out = tmp_path / "r"
    sweep_into(out)
    for f in list((out / "parts").glob("*.parquet")):
        shutil.copy(f, f.with_name(f"part-dup{f.name[5:]}"))
    assert len(totals(out)) == 4


# 5. disk full: one line, exit 1, finished points kept
def test_disk_full_during_sweep(tmp_path, monkeypatch, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    out = tmp_path / "r"
    real = Store.write_bytes
    calls = {"n": 0}

    def full(self, data):
        calls["n"] += 1
        if calls["n"] > 1:
            raise OSError(errno.ENOSPC, "No space left on device", str(self.parts_dir / "part-x.parquet"))
        return real(self, data)

    monkeypatch.setattr(Store, "write_bytes", full)
    monkeypatch.syspath_prepend(str(Path(__file__).parent / "plugins"))  # the fakesim entry point
    rc = main(["sweep", str(spec), "-o", str(out), "--workers", "1", "--quiet", "--no-report", "--evaluator", "fakesim"])
    err = capsys.readouterr().err
    assert rc == 1 and len(err.strip().splitlines()) == 1 and "No space left" in err and "kept" in err
    kept = set(totals(out)["point_id"])
    assert 1 <= len(kept) < 4  # the first batch was written before the disk filled, and is kept
    monkeypatch.undo()  # space again
    s = sweep_into(out)  # space again: the run resumes, the kept points are not simulated twice
    assert s.skipped == len(kept) and len(totals(out)) == 4


# 7. sweep specs
@pytest.mark.parametrize("change, needle", [
    ({"constraints": ["area_mm2 <= 1.2.3"]}, "constraints[0]"),
    ({"constraints": ["area_mm2 <= nan"]}, "constraints[0]"),
    ({"axes": {"array.rows": {"start": 8, "stop": 64, "step": float("nan")}}}, "step"),
    ({"axes": {"array.rows": {"start": 8, "stop": float("inf"), "step": 1}}}, "stop"),
    ({"axes": {"array.rows": {"start": 8, "stop": 64, "num": 10**12}}}, "num"),
    ({"axes": {"array.rows": {"start": 8, "stop": 64, "num": "10^12"}}}, "num"),
    ({"axes": {"array.rows": {"start": 1, "stop": 10**12, "step": 1}}}, "step"),
    ({"axes": {"array.rows": {"start": 10, "stop": 1}}}, "empty range"),
    ({"axes": {"array.rows": {"pow2": [64, 8]}}}, "pow2"),
    ({"axes": {"array.rows": {"pow2": [5, 7]}}}, "no power of two"),
    ({"recipes": []}, "recipes"),
    ({"recipes": ["+"]}, "recipes[0]"),
    ({"axes": {f"vector.{k}_cycles_per_element": list(range(1, 40)) for k in ("softmax", "gelu", "add", "mul",
                                                                                "rope", "silu")}}, "design points"),
    ({"evaluator": "os:system"}, "evaluator"),
])
def test_bad_sweep_specs(change, needle):
    real = {**SPEC, "workloads": {"models": ["tinybert-4"], "seq_lens": [16]}}
    with pytest.raises(InputError) as e:
        sweep_from_dict({**real, **change})
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_spec_evaluator_key_is_refused_on_the_cli(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump({**SPEC, "evaluator": "os:system"}))
    rc = main(["sweep", str(spec), "-o", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert rc == 2 and "evaluator: unknown key" in err and not (tmp_path / "r").exists()
    spec.write_text(yaml.safe_dump(SPEC))
    rc = main(["sweep", str(spec), "-o", str(tmp_path / "r"), "--evaluator", "os:system"])
    assert rc == 2 and "not an installed evaluator" in capsys.readouterr().err


def _other_evaluator(arch, wl, engine):
    return sweep_fakesim.evaluate(arch, wl, engine)


def test_evaluator_is_part_of_point_identity(tmp_path):
    from sweeps.evaluators import evaluator_id

    assert evaluator_id(sweep_fakesim.evaluate) == "sweep_fakesim:evaluate" != evaluator_id(_other_evaluator)
    sweep_into(tmp_path / "a")
    run_sweep(sweep_from_dict(SPEC, evaluator=_other_evaluator), tmp_path / "b", executor=LocalExecutor(1),
              progress=False)
    assert set(totals(tmp_path / "a")["point_id"]).isdisjoint(totals(tmp_path / "b")["point_id"])


# 8. pareto / plot arguments
@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    out = tmp_path_factory.mktemp("sw") / "r"
    sweep_into(out)
    return out


@pytest.mark.parametrize("argv", [
    ["pareto", "--objectives", "model"], ["pareto", "--objectives", "nope"], ["pareto", "--objectives", ","],
    ["pareto", "--objectives", "latency_s:up"], ["plot", "--x", "nope"], ["plot", "--x", "latency_s", "--y", "latency_s"],
    ["plot", "--x", "model"], ["plot", "--kind", "heatmap", "--value", "model"], ["plot", "--kind", "matrix",
                                                                                  "--objectives", "latency_s"],
    ["plot", "--kind", "breakdown", "--points", "nope"], ["pareto", "--by", "nope"],
])
def test_bad_pareto_and_plot_arguments(swept, capsys, argv):
    extra = ["-o", str(swept.parent / "fig")] if argv[0] == "plot" else []
    rc = main([argv[0], str(swept), *argv[1:], *extra])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    one_line(err)


def test_maximise_with_a_leading_minus(swept, capsys):
    assert main(["pareto", str(swept), "--objectives", "-latency_s", "--csv"]) == 0
    front = capsys.readouterr().out.strip().splitlines()
    assert len(front) == 2  # the slowest single point maximises latency


# 18. Markdown escaping
def test_report_escapes_spec_text(tmp_path):
    out = tmp_path / "r"
    nasty = "<script>alert(1)</script> [x](javascript:alert(1)) | ``` # *bold*"
    sweep_into(out, {**SPEC, "description": nasty, "name": "n|a*m`e"})
    from sweeps.report import write_report

    md = write_report(out)["md"].read_text()
    body = md.split("## Spec")[0]  # the spec itself is verbatim inside a code fence
    assert "<script>" not in body and "[x](javascript" not in body and "\\[x\\](javascript" in body
    assert "\\|" in body and "\\*bold\\*" in body
    spec_part = md.split("## Spec")[1]
    fence = spec_part.strip().splitlines()[0]
    assert fence.startswith("````")  # longer than the ``` inside the description
    html = (out / "report.html").read_text()
    assert "<script>" not in html


# 17. private Dask cluster
@pytest.mark.dask
def test_dask_local_is_tls_loopback_without_pages():
    pytest.importorskip("distributed")
    pytest.importorskip("cryptography")
    import urllib.error
    import urllib.request

    from distributed import Client

    from sweeps.executors import DaskExecutor

    ex = DaskExecutor(local_workers=1)
    try:
        assert ex.address.startswith("tls://127.0.0.1:")
        with pytest.raises(Exception):  # noqa: B017 - no credentials, no connection
            Client(ex.address, timeout="3s")
        http = ex._cluster.scheduler.http_server
        ports = [s.getsockname() for s in http._sockets.values()]
        assert ports and all(host == "127.0.0.1" and port != 8787 for host, port, *_ in ports)
        for path in ("/status", "/health", "/info/main/workers.html", "/metrics"):
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(f"http://127.0.0.1:{ports[0][1]}{path}", timeout=5)
            assert e.value.code == 404
        import operator

        assert sorted(ex.map_unordered(operator.add, [1, 2], 10)) == [11, 12]
    finally:
        ex.close()


def test_security_file_is_validated(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump({**SPEC, "workloads": {"models": ["tinybert-4"], "seq_lens": [16]}}))
    sec = tmp_path / "sec.yaml"
    sec.write_text("ca_file: ca.pem\ncert: me.pem\nevil: 1\n")
    for argv, needle in (
        (["--scheduler", "tls://127.0.0.1:1"], "--security"),
        (["--scheduler", "tls://127.0.0.1:1", "--security", str(sec)], "evil"),
        (["--dask-local", "1", "--security", str(sec)], "--security"),
        (["--scheduler", "http://x"], "--scheduler"),
    ):
        rc = main(["sweep", str(spec), "-o", str(tmp_path / "r"), *argv])
        err = capsys.readouterr().err
        assert rc == 2 and needle in err, err
    sec.write_text("ca_file: ca.pem\ncert: me.pem\n")
    rc = main(["sweep", str(spec), "-o", str(tmp_path / "r"), "--scheduler", "tls://127.0.0.1:1", "--security",
               str(sec)])
    assert rc == 2 and "no such file" in capsys.readouterr().err
