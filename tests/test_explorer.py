"""The explorer page (sweeps/explorer.py): its data, its command, and the page itself in a real browser.

The browser tests drive Debian's headless Chromium with Playwright for Python (``make test`` installs
both when missing). They skip, saying why, only when Chromium or Playwright is missing and this user
cannot install them (not root); as root a missing browser is a failure, since ``make test`` installs it.
Set ``TASIM_SCREENSHOTS=DIR`` to keep a screenshot of each state.
"""

from __future__ import annotations

import base64
import csv
import gzip
import io
import json
import os
import re
import shutil
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sweeps
from sweeps.cli import main
from sweeps.explorer import build_payload, metric_info
from sweeps.pareto import pareto_front, parse_objectives
from sweeps.summary import feasible

CHROMIUM = os.environ.get("TASIM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


# ---- the results the page is built from -------------------------------------------------------------


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory) -> Path:
    """The shipped quickstart sweep (1,440 design points), run through `tasim sweep` (which writes the page)."""
    out = tmp_path_factory.mktemp("explorer") / "quickstart"
    assert main(["sweep", "quickstart", "-o", str(out), "--quiet"]) == 0
    assert (out / "explorer.html").exists()
    return out


@pytest.fixture(scope="module")
def totals(quickstart) -> pd.DataFrame:
    return sweeps.load_totals(quickstart)


def _decode(page: str) -> tuple[dict, dict[str, np.ndarray]]:
    header = json.loads(re.search(r"<script id='tasim-header' type='application/json'>(.*?)</script>", page, re.S)
                        .group(1).replace("<\\/", "</"))
    blob = re.search(r"<script id='tasim-data' type='text/plain'>(.*?)</script>", page, re.S).group(1)
    raw = gzip.decompress(base64.b64decode(blob))
    assert len(raw) == header["raw_bytes"]
    arrays = {}
    for lay in header["layout"]:
        dt, n = np.dtype(lay["dtype"]), lay["length"]
        if lay.get("shuffle"):  # byte planes -> values
            planes = np.frombuffer(raw, dtype=np.uint8, count=n * dt.itemsize, offset=lay["offset"])
            arrays[lay["name"]] = np.ascontiguousarray(planes.reshape(dt.itemsize, n).T).view(dt).ravel()
        else:
            arrays[lay["name"]] = np.frombuffer(raw, dtype=dt, count=n, offset=lay["offset"])
    return header, arrays


def test_page_data_equal_the_store(quickstart, totals):
    page = (quickstart / "explorer.html").read_text()
    header, arrays = _decode(page)
    ids = [arrays["ids"][8 * i: 8 * i + 8].tobytes().hex() for i in range(header["n"])]
    assert header["n"] == len(totals) and sorted(ids) == sorted(totals["point_id"])
    tot = totals.set_index("point_id").loc[ids]
    cols = {c["name"]: c for c in header["columns"]}
    for name in ("latency_s", "energy_pj", "area_mm2", "fidelity_minilm"):  # bit for bit, SI units
        np.testing.assert_array_equal(arrays[f"c:{name}"], tot[name].to_numpy(dtype=float))
        assert cols[name]["role"] == "objective" and cols[name]["sense"] == ("max" if name == "fidelity_minilm" else "min")
    for name in ("array.rows", "pe.precision_mode", "recipe", "model"):
        values = cols[name]["values"]
        decoded = [values[k] for k in arrays[f"c:{name}"]]
        assert decoded == tot[name].tolist()
    # per-op-kind breakdown sums to the totals
    k = len(header["op_kinds"])
    lat = arrays["b:latency_s"].reshape(k, -1)
    np.testing.assert_allclose(np.nansum(lat, axis=0), tot["latency_s"], rtol=1e-5)
    assert cols["latency_s"]["unit"] == metric_info("latency_s").unit


def test_page_is_self_contained(quickstart):
    page = (quickstart / "explorer.html").read_text()
    assert "<script src" not in page.replace(" ", " ") and not re.search(r"<script[^>]*\ssrc=", page)
    assert not re.search(r"<link[^>]*href=", page) and not re.search(r"<img[^>]*src=['\"]?http", page)
    assert page.count("<script") == 4  # header JSON, data, plotly.js, the page's script


def test_explore_command(quickstart, tmp_path, capsys):
    out = tmp_path / "sub" / "page.html"
    assert main(["explore", str(quickstart), "-o", str(out)]) == 0
    assert out.exists() and "explorer:" in capsys.readouterr().out
    assert main(["explore", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a tasim results directory" in err[0]
    assert main(["explore", str(quickstart), "-o", str(tmp_path / "x.html"), "--max-points", "100"]) == 0
    header, _ = _decode((tmp_path / "x.html").read_text())  # fronts in full, then a sample (see below)
    assert header["stored"] == 1440 and header["n"] < 1440 and "of 1,440 design points" in header["sample_note"]
    assert main(["explore", str(quickstart), "--metrics", "latency_sec"]) == 2
    assert "latency_sec" in capsys.readouterr().err


EXTEND = {
    "name": "extend-page", "base": {"arch": "gemmini"},
    "axes": {"array.rows": [8, 16, 32], "array.cols": [16, 64], "pe.precision_mode": ["fixed", "bit_fusion"]},
    "workloads": {"models": ["distilbert"], "seq_lens": [32]}, "recipes": ["fp16"],
    "objectives": {"latency_s": "min", "energy_pj": "min"}, "constraints": ["area_mm2 <= 50"],
}


def test_page_of_an_extended_sweep_shows_exactly_its_current_points(tmp_path):
    """An edited spec run in the same folder keeps the old points in the store (for reuse) but the page
    shows exactly the current spec's points (Store.current_ints), as tasim pareto ranks them."""
    from sweeps.executors import LocalExecutor
    from sweeps.plan import pid_to_int
    from sweeps.runner import run_sweep
    from sweeps.spec import sweep_from_dict
    from sweeps.store import Store

    out = tmp_path / "x"
    run_sweep(sweep_from_dict(EXTEND), out, executor=LocalExecutor(1), progress=False)
    edited = dict(EXTEND, axes=dict(EXTEND["axes"], **{"array.rows": [16, 32, 64]}), recipes=["fp16", "w8a8"])
    run_sweep(sweep_from_dict(edited), out, executor=LocalExecutor(1), progress=False)
    store = Store(out, create=False)
    current = store.current_ints()
    assert current is not None and len(current) == 24 and len(store.finished_ints()) == 28  # rows=8 points stay
    assert main(["explore", str(out), "-o", str(tmp_path / "page.html")]) == 0
    header, arrays = _decode((tmp_path / "page.html").read_text())
    ids = [arrays["ids"][i * 8:(i + 1) * 8].tobytes().hex() for i in range(header["n"])]
    assert header["n"] == header["stored"] == 24 and header["sample_note"] == ""
    assert np.array_equal(np.sort(pid_to_int(ids)), np.sort(current))
    rows = next(c for c in header["columns"] if c["name"] == "array.rows")
    assert sorted(rows["values"]) == [16, 32, 64]  # no trace of the dropped axis value
    assert len(arrays["b:latency_s"]) == len(header["op_kinds"]) * 24  # op-kind rows of those points only


def test_store_above_the_limit_gives_a_bounded_page_with_the_full_fronts(quickstart, totals, tmp_path):
    """More points than max_points: the page holds max_points of them: every point on the front of each
    pair of the spec's objectives (and constraint columns), with and without the constraints, pooled and
    per workload column or recipe, plus a uniform sample of the rest (the smallest id hashes); it says so."""
    from itertools import combinations

    from sweeps.explorer import write_explorer
    from sweeps.summary import _keyed

    path = write_explorer(quickstart, tmp_path / "page.html", max_points=400)
    header, arrays = _decode(path.read_text())
    ids = [arrays["ids"][i * 8:(i + 1) * 8].tobytes().hex() for i in range(header["n"])]
    assert header["n"] == 400 == len(set(ids)) and header["stored"] == len(totals) == 1440
    assert set(ids) <= set(totals["point_id"])
    meta = json.loads((quickstart / "sweep.json").read_text())
    objectives = dict(meta["objectives"])
    assert "area_mm2" in objectives  # the constraint column is an objective here too
    fronts: set[str] = set()
    for a, b in combinations(objectives, 2):
        for rows in (totals, feasible(totals, meta["constraints"])):
            for by in (None, "model", "recipe", ["model", "recipe"]):
                f = set(pareto_front(rows, {a: objectives[a], b: objectives[b]}, by=by)["point_id"])
                assert f <= set(ids), (a, b, by)
                fronts |= f
    assert f"{len(fronts):,} points" in header["sample_note"] and "400 of 1,440 design points" in header["sample_note"]
    rest = totals[~totals["point_id"].isin(fronts)]
    expected = set(rest.assign(_key=_keyed(rest)).nsmallest(400 - len(fronts), "_key")["point_id"])
    assert set(ids) - fronts == expected  # the uniform sample: the smallest point-id hashes
    assert len(arrays["b:latency_s"]) == len(header["op_kinds"]) * 400  # breakdowns of the shown points only
    lat = next(c for c in header["columns"] if c["name"] == "latency_s")
    assert lat["kind"] == "num"
    exact = totals.set_index("point_id").loc[ids, "latency_s"].to_numpy()
    assert np.array_equal(arrays["c:latency_s"], exact)  # values exactly as stored


def test_payload_handles_many_values_and_nan(totals):
    df = totals.copy()
    df["dram.bandwidth_gbps"] = np.linspace(1.0, 500.0, len(df))  # continuous axis -> a range filter
    df.loc[df.index[:5], "fidelity_minilm"] = np.nan
    header, blob = build_payload(df, pd.DataFrame(), {"axis_columns": ["dram.bandwidth_gbps", "array.rows"],
                                                      "objectives": {"latency_s": "min", "fidelity_minilm": "max"}})
    cols = {c["name"]: c for c in header["columns"]}
    assert cols["dram.bandwidth_gbps"]["kind"] == "num" and cols["array.rows"]["kind"] == "cat"
    assert header["op_kinds"] == [] and header["default_x"] == "latency_s" and header["default_y"] == "fidelity_minilm"
    json.dumps(header, allow_nan=False)


# ---- in a real browser ------------------------------------------------------------------------------


def _playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    missing = [w for w, ok in (("the playwright package", sync_playwright is not None),
                               (f"Chromium ({CHROMIUM})", Path(CHROMIUM).exists())) if not ok]
    if missing:
        msg = (f"browser tests need {' and '.join(missing)}: `make test` installs them "
               "(apt-get install chromium, pip install playwright)")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            pytest.fail(msg + "; running as root, so they could have been installed")
        pytest.skip(msg + "; not root, so they cannot be installed here")
    return sync_playwright


@pytest.fixture(scope="module")
def browser():
    sync_playwright = _playwright()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        b.close()


def _open(browser, path: Path, log: list | None = None):
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    if log is not None:
        page.on("console", lambda m: log.append(("console." + m.type, m.text)))
        page.on("pageerror", lambda e: log.append(("pageerror", str(e))))
        page.on("request", lambda r: log.append(("request", r.url)))
        page.on("requestfailed", lambda r: log.append(("requestfailed", r.url)))
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready='1']", state="attached", timeout=60_000)
    return page


def _shot(page, name: str) -> None:
    folder = os.environ.get("TASIM_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def page(browser, quickstart):
    pg = _open(browser, quickstart / "explorer.html")
    yield pg
    pg.close()


@pytest.fixture()
def fresh(page):
    """The shared page with filters reset and nothing selected."""
    page.click("#reset")
    page.click("#clear-selection")
    page.evaluate("tasimExplorer.setAxes('latency_s', 'area_mm2')")
    return page


def _pareto_cli(directory: Path, objectives: str, *extra: str) -> list[str]:
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(["pareto", str(directory), "--objectives", objectives, "--csv", *extra]) == 0
    return [r["point_id"] for r in csv.DictReader(io.StringIO(buf.getvalue()))]


def test_page_loads_without_console_errors_or_network(browser, quickstart):
    log: list = []
    pg = _open(browser, quickstart / "explorer.html", log)
    pg.evaluate("tasimExplorer.parcoordsDrawn()")
    pg.wait_for_timeout(300)
    _shot(pg, "01-loaded")
    errors = [e for e in log if e[0] in ("pageerror", "console.error", "requestfailed")]
    assert errors == []
    requests = [e[1] for e in log if e[0] == "request"]
    assert requests == [(quickstart / "explorer.html").as_uri()]  # the file itself, nothing else
    assert "failed" not in pg.inner_text("#summary")
    pg.close()


def test_point_count_equals_stored_rows(page, totals, quickstart):
    stored = sweeps.load(quickstart)
    assert page.evaluate("tasimExplorer.pointCount()") == int((stored["row"] == "total").sum()) == len(totals)
    meta = json.loads((quickstart / "sweep.json").read_text())
    n_feasible = len(feasible(totals, meta["constraints"]))
    assert page.evaluate("tasimExplorer.selectedCount()") == n_feasible


@pytest.mark.parametrize("x,y", [("latency_s", "area_mm2"), ("latency_s", "energy_pj"),
                                 ("energy_pj", "fidelity_minilm:max"), ("area_mm2", "tops_per_w:max"),
                                 ("fidelity_minilm:max", "power_w")])
def test_front_ids_equal_tasim_pareto(fresh, quickstart, x, y):
    js = fresh.evaluate("([x, y]) => tasimExplorer.frontIds(x, y)", [x, y])
    cli = _pareto_cli(quickstart, f"{x},{y}")
    assert len(js) == len(set(js)) and sorted(js) == sorted(cli) and len(cli) > 0
    fresh.uncheck("#use-constraints")  # without the spec's constraints == tasim pareto --all
    js_all = fresh.evaluate("([x, y]) => tasimExplorer.frontIds(x, y)", [x, y])
    assert sorted(js_all) == sorted(_pareto_cli(quickstart, f"{x},{y}", "--all"))


def test_fronts_per_group_equal_tasim_pareto_by(fresh, quickstart):
    for by in ("model", "recipe"):
        js = fresh.evaluate("([by]) => tasimExplorer.frontIds('latency_s', 'energy_pj', by)", [by])
        cli = _pareto_cli(quickstart, "latency_s,energy_pj", "--by", by)
        assert sorted(js) == sorted(cli) and len(js) > len(_pareto_cli(quickstart, "latency_s,energy_pj"))
    fresh.select_option("#front-by", "model")
    fresh.evaluate("tasimExplorer.setAxes('latency_s', 'energy_pj')")
    xs = fresh.evaluate("document.getElementById('scatter').data[1].x")
    cli = _pareto_cli(quickstart, "latency_s,energy_pj", "--by", "model")
    assert xs.count(None) == 1 and len(xs) - 1 == len(cli)  # two staircases, one gap
    assert sorted(fresh.evaluate("tasimExplorer.tableIds()")) == sorted(cli)
    _shot(fresh, "08-front-per-model")
    fresh.select_option("#front-by", "")


def test_front_drawn_in_full_and_table_sortable(fresh, quickstart, totals):
    fresh.evaluate("tasimExplorer.setAxes('latency_s', 'energy_pj')")
    cli = _pareto_cli(quickstart, "latency_s,energy_pj")
    drawn = fresh.evaluate("document.getElementById('scatter').data[1].x.length")
    assert drawn == len(cli) and sorted(fresh.evaluate("tasimExplorer.tableIds()")) == sorted(cli)
    fresh.click("#front-table th[data-sort='energy_pj']")
    ids = fresh.evaluate("tasimExplorer.tableIds()")
    e = totals.set_index("point_id").loc[ids, "energy_pj"].to_numpy()
    assert (np.diff(e) >= 0).all()
    fresh.click("#front-table th[data-sort='energy_pj']")  # again: descending
    e = totals.set_index("point_id").loc[fresh.evaluate("tasimExplorer.tableIds()"), "energy_pj"].to_numpy()
    assert (np.diff(e) <= 0).all()
    with fresh.expect_download() as dl:
        fresh.click("#export-csv")
    rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text())))
    assert sorted(r["point_id"] for r in rows) == sorted(cli)
    r0 = rows[0]
    assert float(r0["latency_s"]) == totals.set_index("point_id").loc[r0["point_id"], "latency_s"]  # SI, exact
    _shot(fresh, "02-front-table-sorted")


def test_hover_shows_design(fresh, totals, quickstart):
    meta = json.loads((quickstart / "sweep.json").read_text())
    pid = fresh.evaluate("tasimExplorer.frontIds()")[0]
    pos = fresh.evaluate("(id) => tasimExplorer.pointPosition(id)", pid)
    fresh.mouse.move(5, 5)  # from outside the plot: an offset start can land on a neighbour and keep its tooltip
    fresh.mouse.move(pos["x"], pos["y"], steps=4)
    fresh.wait_for_function("(id) => { const t = document.querySelector('#tooltip');"
                            " return !t.hidden && t.innerText.includes(id); }", arg=pid, timeout=10_000)
    text = fresh.inner_text("#tooltip")
    _shot(fresh, "03-hover")
    r = totals.set_index("point_id").loc[pid]
    assert pid in text
    for axis in meta["axis_columns"] + ["model", "recipe"]:
        v = r[axis]
        shown = f"{v:g}" if isinstance(v, (float, np.floating)) else str(v)
        assert re.search(rf"{re.escape(axis)}\s+{re.escape(shown)}\b", text), (axis, shown, text)
    lat_ms = f"{r['latency_s'] * 1e3:.4g}"
    assert re.search(rf"latency \(ms\)\s+{re.escape(lat_ms)}", text), text  # human units


def test_click_opens_breakdown_and_two_selections_show_ratio(fresh, totals):
    front = fresh.evaluate("tasimExplorer.frontIds()")
    a, b = front[0], front[-1]
    pos = fresh.evaluate("(id) => tasimExplorer.pointPosition(id)", a)
    fresh.mouse.move(5, 5)  # from outside the plot (see test_hover_shows_design)
    fresh.mouse.move(pos["x"], pos["y"], steps=4)
    fresh.wait_for_function("(id) => { const t = document.querySelector('#tooltip');"
                            " return !t.hidden && t.innerText.includes(id); }", arg=a, timeout=10_000)
    fresh.mouse.down()  # a click on the point itself
    fresh.mouse.up()
    fresh.wait_for_selector("#detail table.breakdown", timeout=10_000)
    assert a in fresh.inner_text("#detail")
    kinds = fresh.eval_on_selector_all("#detail table.breakdown tbody tr", "rs => rs.map(r => r.cells[0].textContent)")
    assert {"qkv", "ffn_up", "softmax"} <= set(kinds)
    _shot(fresh, "04-detail")
    fresh.click(f"#front-table tr[data-id='{b}']")  # the second one from the table
    assert fresh.evaluate("tasimExplorer.selection()") == [a, b]
    t = totals.set_index("point_id")
    for col in ("latency_s", "energy_pj", "area_mm2"):
        ratio = t.loc[b, col] / t.loc[a, col]
        cell = fresh.inner_text(f"#compare-table tr[data-objective='{col}'] td.ratio")
        assert cell.startswith("×") and float(cell[1:].replace(",", "")) == pytest.approx(ratio, rel=5e-4), (col, cell)
    # a is the front's fastest point, b its smallest: b is better in area and worse in latency
    assert "better" in fresh.get_attribute("#compare-table tr[data-objective='area_mm2'] td.ratio", "class")
    assert "worse" in fresh.get_attribute("#compare-table tr[data-objective='latency_s'] td.ratio", "class")
    _shot(fresh, "05-compare")


def test_filter_removes_points_from_scatter_and_table(fresh, totals, quickstart):
    meta = json.loads((quickstart / "sweep.json").read_text())
    before = fresh.evaluate("document.getElementById('scatter').data[0].x.length")
    fresh.uncheck("#filter-groups input[data-col='recipe'][data-k='2']")  # recipe values sorted: ... w4a8 ...
    dropped = fresh.evaluate("document.querySelector(\"#filter-groups input[data-col='recipe'][data-k='2']\")"
                             ".parentElement.textContent").split()[0]
    fea = feasible(totals, meta["constraints"])
    keep = fea[fea["recipe"] != dropped]
    after = fresh.evaluate("document.getElementById('scatter').data[0].x.length")
    assert before == len(fea) and after == len(keep) < before
    assert sorted(fresh.evaluate("tasimExplorer.visibleIds()")) == sorted(keep["point_id"])
    table = fresh.evaluate("tasimExplorer.tableIds()")
    expected = pareto_front(keep, parse_objectives("latency_s,area_mm2"))["point_id"]
    assert sorted(table) == sorted(expected) and not set(table) & set(fea.loc[fea["recipe"] == dropped, "point_id"])
    _shot(fresh, "06-filter-recipe")
    # an objective range (typed in human units) narrows the same selection
    fresh.fill("#filter-groups input[data-range='latency_s'][data-end='1']", "5")
    fresh.evaluate("document.querySelector(\"#filter-groups input[data-range='latency_s'][data-end='1']\").dispatchEvent(new Event('change'))")
    keep2 = keep[keep["latency_s"] <= 5e-3]
    assert fresh.evaluate("document.getElementById('scatter').data[0].x.length") == len(keep2)


def test_parallel_coordinates_brushing_filters_the_selection(fresh, totals, quickstart):
    meta = json.loads((quickstart / "sweep.json").read_text())
    fresh.evaluate("tasimExplorer.parcoordsDrawn()")
    dims = fresh.evaluate("document.getElementById('parcoords').data[0].dimensions.map(d => d.label)")
    k = dims.index("energy (mJ)")
    # a brush on the energy axis (log10 of mJ there), as the plot's own drag would emit it
    fresh.evaluate(f"Plotly.restyle('parcoords', {{'dimensions[{k}].constraintrange': [[[1, 2]]]}})")
    fea = feasible(totals, meta["constraints"])
    e_mj = fea["energy_pj"] * 1e-9
    inside = fea[(e_mj >= 10 ** 1 * (1 - 1e-12)) & (e_mj <= 10 ** 2 * (1 + 1e-12))]
    assert abs(fresh.evaluate("tasimExplorer.selectedCount()") - len(inside)) == 0
    lo = fresh.input_value("#filter-groups input[data-range='energy_pj'][data-end='0']")
    assert float(lo) == pytest.approx(10.0)
    _shot(fresh, "07-brush")


def test_sampled_page_in_the_browser_keeps_the_full_fronts(browser, quickstart, tmp_path):
    from sweeps.explorer import write_explorer

    log: list = []
    pg = _open(browser, write_explorer(quickstart, tmp_path / "sampled.html", max_points=400), log)
    assert pg.evaluate("tasimExplorer.pointCount()") == 400 and pg.evaluate("tasimExplorer.storedCount()") == 1440
    note = pg.inner_text("#sample-note")
    assert pg.is_visible("#sample-note") and "400 of 1,440 design points" in note and "uniform sample" in note
    for x, y in (("latency_s", "area_mm2"), ("energy_pj", "fidelity_minilm:max")):
        assert sorted(pg.evaluate("([x, y]) => tasimExplorer.frontIds(x, y)", [x, y])) == sorted(
            _pareto_cli(quickstart, f"{x},{y}"))  # the front of the whole store, though the page holds a sample
        js = pg.evaluate("([x, y]) => tasimExplorer.frontIds(x, y, 'model')", [x, y])
        assert sorted(js) == sorted(_pareto_cli(quickstart, f"{x},{y}", "--by", "model"))
    _shot(pg, "10-sampled-page")
    assert [e for e in log if e[0] in ("pageerror", "console.error", "requestfailed")] == []
    pg.close()
