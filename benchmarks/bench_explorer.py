"""The explorer page at 100,000 design points: file size, bytes per point, time to interactive in Chromium.

    python benchmarks/bench_explorer.py            # real 100,800-point sweep, synthetic worst case, libraries
    python benchmarks/bench_explorer.py --quick    # real 20,160-point sweep only
    python benchmarks/bench_explorer.py --compare-only

Pages measured: the quickstart (1,440 design points); a real sweep of 100,800 points (the quickstart
spec with two more axes, ``array.freq_mhz`` x 7 and ``buffers.filter_kib`` x 10; ``--quick``: x 2 x 7
= 20,160), run with ``tasim sweep``; and (full run) a synthetic worst case for size: the quickstart's
rows repeated over ``array.freq_mhz`` x 7 and ``dram.bandwidth_gbps`` x 10 with every objective
jittered (seeded, log-normal, sigma 0.1) so that the floats barely compress, each copy with its own
``point_id`` and per-op-kind rows, written through ``sweeps.store.Store``.

Prints: ``tasim explore`` wall time, the page's size and its bytes per design point (data only and
with plotly.js), and in headless Chromium (Debian's, driven by Playwright) the median over 3 loads of
the time from navigation start to *interactive* (the page's ready mark -- scatter and front drawn,
every handler bound -- and then the first scripted interaction, selecting a point, answered), to the
parallel coordinates drawn (they draw when scrolled into view; forced here), of a filter update and of
a hover (mouse move to tooltip shown).
Target (issue 12): interactive within 3 s at 100,000 points. Nothing is asserted.

``--compare`` (default on the full run): a 100,000-point WebGL scatter page written by each candidate
library's own Python API with its JavaScript inline -- plotly (``Figure.write_html(include_plotlyjs=
True)``, scattergl) and Bokeh (``file_html(..., INLINE)``, ``output_backend="webgl"``) -- size and
time to first render, each median over 3 loads.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sweeps.cli import main as tasim  # noqa: E402
from sweeps.explorer import write_explorer  # noqa: E402
from sweeps.store import Store, load  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FREQS = [400.0, 600.0, 800.0, 1000.0, 1200.0, 1400.0, 1600.0]
BWS = [12.8, 19.2, 25.6, 34.1, 51.2, 68.3, 102.4, 136.5, 204.8, 409.6]
OBJ = ["latency_s", "energy_pj", "area_mm2", "power_w", "edp_pj_s", "tops_per_w", "effective_tops",
       "utilization", "inferences_per_s", "dram_bytes", "cycles"]


def real_spec(tmp: Path, quick: bool) -> Path:
    import yaml

    spec = yaml.safe_load((ROOT / "sweeps" / "specs" / "quickstart.yaml").read_text())
    spec["name"] = "quickstart-large"
    spec["axes"]["array.freq_mhz"] = [400, 1000] if quick else FREQS
    spec["axes"]["buffers.filter_kib"] = [32, 48, 64, 96, 128, 256, 512] if quick else \
        [32, 48, 64, 96, 128, 192, 256, 384, 512, 1024]
    path = tmp / "large.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def make_store(base: Path, out: Path, reps: int) -> int:
    """Repeat the base sweep's rows ``reps`` times over two extra axes; returns the number of points."""
    df = load(base)
    meta = json.loads((base / "sweep.json").read_text())
    rng = np.random.default_rng(0)
    store = Store(out)
    n = 0
    for r in range(reps):
        f, bw = FREQS[r % len(FREQS)], BWS[(r // len(FREQS)) % len(BWS)]
        d = df.copy()
        pids = d["point_id"].unique()
        new = {p: hashlib.blake2b(f"{p}-{r}".encode(), digest_size=8).hexdigest() for p in pids}
        jitter = {p: np.exp(rng.normal(0.0, 0.1, size=len(OBJ))) for p in pids}
        d["point_id"] = d["point_id"].map(new)
        j = np.stack([jitter[p] for p in df["point_id"]])
        for k, c in enumerate(OBJ):
            if c in d:
                d[c] = d[c] * j[:, k] * ((1000.0 / f) if c in ("latency_s", "edp_pj_s") else 1.0)
        d["array.freq_mhz"] = f
        d["dram.bandwidth_gbps"] = bw
        store.write_batch(d)
        n += len(pids)
    store.compact(min_parts=2)
    meta["axis_columns"] = list(meta.get("axis_columns", [])) + ["array.freq_mhz", "dram.bandwidth_gbps"]
    meta["name"] = f"{meta.get('name', 'sweep')} x{reps} (synthetic, {n:,} points)"
    store.write_meta(meta)
    return n


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def measure_page(browser, path: Path, loads: int = 3) -> dict[str, float]:
    ready, pc, filt, hover, wall = [], [], [], [], []
    for _ in range(loads):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        t0 = time.perf_counter()
        page.goto(path.as_uri(), timeout=120_000)
        page.wait_for_selector("body[data-ready='1']", state="attached", timeout=120_000)
        wall.append(time.perf_counter() - t0)
        # interactive: the first scripted interaction (select a front point) has been answered; this
        # waits for the main thread, so it is later than the page's own "ready" mark when work is pending
        ready.append(page.evaluate("""async () => { const id = tasimExplorer.frontIds()[0];
            await tasimExplorer.select(id); return performance.now() / 1e3; }"""))
        page.evaluate("tasimExplorer.parcoordsDrawn()")
        t = page.evaluate("tasimExplorer.timings()")
        pc.append((t["start"] + t.get("parcoords", float("nan"))) / 1e3)
        filt.append(page.evaluate("""async () => { const t = performance.now();
            const lat = tasimExplorer.frontIds('latency_s', 'energy_pj').length;  // keep the engine honest
            await tasimExplorer.setRange('latency_s', null, 0.01); return (performance.now() - t) / 1e3 + 0 * lat; }"""))
        page.evaluate("tasimExplorer.setRange('latency_s', null, null)")
        pid = page.evaluate("tasimExplorer.frontIds()")[0]
        pos = page.evaluate("(id) => tasimExplorer.pointPosition(id)", pid)
        page.mouse.move(pos["x"] + 25, pos["y"] + 25)
        t1 = time.perf_counter()
        page.mouse.move(pos["x"], pos["y"])
        page.wait_for_selector("#tooltip:not([hidden])", timeout=30_000)
        hover.append(time.perf_counter() - t1)
        if errors:
            print(f"  page errors: {errors[:3]}")
        page.close()
    return {"interactive_s": _median(ready), "parcoords_s": _median(pc), "filter_s": _median(filt),
            "hover_s": _median(hover), "wall_s": _median(wall)}


def compare_libraries(browser, n: int, tmp: Path, loads: int = 3) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.lognormal(size=n), rng.lognormal(size=n)
    codes = rng.integers(0, 7, n)
    palette = np.array(["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"])
    pages = {}
    import plotly
    import plotly.graph_objects as go

    fig = go.Figure(go.Scattergl(x=x, y=y, mode="markers", marker={"color": palette[codes], "size": 3}))
    fig.update_layout(xaxis_type="log", yaxis_type="log", width=900, height=500)
    p = tmp / "plotly.html"
    fig.write_html(p, include_plotlyjs=True, full_html=True)
    pages[f"plotly {plotly.__version__} (scattergl)"] = (p, "window.Plotly && document.querySelector('.js-plotly-plot') "
                                                           "&& document.querySelector('.js-plotly-plot')._fullLayout "
                                                           "&& document.querySelector('.js-plotly-plot')._fullLayout._size")
    try:
        import bokeh
        from bokeh.embed import file_html
        from bokeh.models import ColumnDataSource
        from bokeh.plotting import figure
        from bokeh.resources import INLINE

        src = ColumnDataSource({"x": x, "y": y, "c": palette[codes]})
        f = figure(output_backend="webgl", x_axis_type="log", y_axis_type="log", width=900, height=500)
        f.scatter("x", "y", color="c", source=src, size=3)
        p = tmp / "bokeh.html"
        p.write_text(file_html(f, INLINE, "bokeh"))
        pages[f"bokeh {bokeh.__version__} (webgl)"] = (p, "window.__bkIdle === true")
    except ImportError:
        print("  bokeh is not installed: its row is skipped (pip install bokeh)")
    print(f"== plotting libraries, one {n:,}-point WebGL scatter written by each library's own Python API, JS inline")
    print(f"{'library':34s} {'file MB':>8s} {'B/point':>8s} {'first render s':>15s}")
    for name, (path, ready_expr) in pages.items():
        times = []
        for _ in range(loads):
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.add_init_script("window.__bkIdle = false; const _l = console.info; console.info = function (...a) {"
                                 " if (a.map(String).join(' ').includes('document idle')) window.__bkIdle = true; return _l.apply(console, a); };")
            page.goto(path.as_uri(), timeout=120_000)
            page.wait_for_function(ready_expr, polling="raf", timeout=120_000)
            page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
            times.append(page.evaluate("performance.now()") / 1e3)
            page.close()
        size = path.stat().st_size
        print(f"{name:34s} {size / 1e6:8.2f} {size / n:8.1f} {_median(times):15.2f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a real 20,160-point sweep only, no library comparison")
    ap.add_argument("--compare-only", action="store_true", help="only the plotting-library comparison")
    ap.add_argument("--keep", metavar="DIR", default=None, help="keep the real large sweep's results directory here")
    args = ap.parse_args()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("bench_explorer: needs the playwright package and Debian's chromium (make test installs both); skipped")
        return 0
    if not Path(CHROMIUM).exists():
        print(f"bench_explorer: no Chromium at {CHROMIUM} (apt-get install chromium); skipped")
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="bench_explorer_"))
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
            if not args.compare_only:
                base = tmp / "quickstart"
                t0 = time.perf_counter()
                assert tasim(["sweep", "quickstart", "-o", str(base), "--quiet", "--no-report"]) == 0
                print(f"quickstart sweep: {time.perf_counter() - t0:.1f} s")
                large = Path(args.keep) if args.keep else tmp / "large"
                t0 = time.perf_counter()
                assert tasim(["sweep", str(real_spec(tmp, args.quick)), "-o", str(large), "--quiet", "--no-report"]) == 0
                print(f"real sweep: {time.perf_counter() - t0:.1f} s")
                pages = [("quickstart", base), ("real sweep", large)]
                if not args.quick:
                    t0 = time.perf_counter()
                    n = make_store(base, tmp / "synthetic", 70)
                    print(f"synthetic worst case: {n:,} design points in {time.perf_counter() - t0:.1f} s")
                    pages.append(("synthetic worst case", tmp / "synthetic"))
                for label, d in pages:
                    t0 = time.perf_counter()
                    page = write_explorer(d)
                    dt = time.perf_counter() - t0
                    html = page.read_text()
                    blob = html.split("<script id='tasim-data' type='text/plain'>", 1)[1].split("</script>", 1)[0]
                    header = html.split("<script id='tasim-header' type='application/json'>", 1)[1].split("</script>", 1)[0]
                    pts = json.loads(header.replace("<\\/", "</"))["n"]
                    size = page.stat().st_size
                    m = measure_page(browser, page)
                    print(f"== explorer, {label} ({pts:,} points): tasim explore {dt:.2f} s; page {size / 1e6:.2f} MB = "
                          f"{size / pts:,.0f} B/point with plotly.js, data {len(blob) + len(header):,} B = "
                          f"{(len(blob) + len(header)) / pts:.1f} B/point")
                    print(f"   Chromium (median of 3 loads): interactive {m['interactive_s']:.2f} s "
                          f"(target < 3 s: {'met' if m['interactive_s'] < 3 else 'NOT met'}), parallel coordinates "
                          f"{m['parcoords_s']:.2f} s, filter update {m['filter_s'] * 1e3:.0f} ms, hover "
                          f"{m['hover_s'] * 1e3:.0f} ms, wall to ready {m['wall_s']:.2f} s")
                # a sweep larger than the page limit: a bounded sample that keeps the full fronts
                n_large = sum(t.num_rows for t in Store(large, create=False).scan(["point_id"], totals=True, ok_only=True))
                limit = n_large // 5
                t0 = time.perf_counter()
                page = write_explorer(large, tmp / "sampled.html", max_points=limit)
                dt = time.perf_counter() - t0
                header = json.loads(page.read_text().split("<script id='tasim-header' type='application/json'>", 1)[1]
                                    .split("</script>", 1)[0].replace("<\\/", "</"))
                m = measure_page(browser, page)
                print(f"== explorer, real sweep above the limit (--max-points {limit:,} of {n_large:,}): tasim explore "
                      f"{dt:.2f} s (one streaming pass: fronts + sample); page {page.stat().st_size / 1e6:.2f} MB, "
                      f"{header['n']:,} points; Chromium interactive {m['interactive_s']:.2f} s")
                print(f"   {header['sample_note']}")
            if args.compare_only or not args.quick:
                compare_libraries(browser, 100_000, tmp)
            browser.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
