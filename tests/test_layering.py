"""Structure: no import cycles, one-way layering (sweeps -> simulator -> workloads), no side effects
on import, one home per dataflow and one per-GEMM result layout."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("workloads", "simulator", "sweeps")


def _modules() -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for pkg in PACKAGES:
        for p in (ROOT / pkg).rglob("*.py"):
            parts = p.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            mods[name] = p
    return mods


def import_graph() -> dict[str, set[str]]:
    """Module -> modules it imports (module level and inside functions alike)."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        for node in ast.walk(ast.parse(p.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in mods else node.module
                           for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            graph[m].update(t for t in targets if t in mods and t != m)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


def test_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_layering_is_one_way() -> None:
    for m, deps in import_graph().items():
        top = m.split(".")[0]
        for d in deps:
            if top == "workloads":
                assert not d.startswith(("simulator", "sweeps")), (m, d)
            if top == "simulator":
                assert not d.startswith("sweeps"), (m, d)


def test_importing_the_engines_touches_no_file(tmp_path: Path) -> None:
    """No side effects on import: the numba cache refresh is an explicit call (simulator.jitcache)."""
    code = (
        "import os, sys; calls = []\n"
        "sys.addaudithook(lambda ev, args: calls.append((ev, args)) if ev in ('os.remove', 'os.unlink', "
        "'os.rename', 'shutil.rmtree') else None)\n"
        "import simulator.memory, simulator.cycle, simulator.run, simulator.jitcache\n"
        "print(len(calls))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "0"


def test_dataflow_rules_live_in_one_module() -> None:
    """Outside simulator/dataflows.py no module compares a dataflow with OS/WS/IS, except the trace
    writer's per-PE address generation and SCALE-Sim's report quirks in simulator/scalesim (documented
    exceptions in docs/README.md)."""
    allowed = {"simulator/dataflows.py", "simulator/cycle/trace.py", "simulator/scalesim/run.py"}
    for p in (ROOT / "simulator").rglob("*.py"):
        rel = p.relative_to(ROOT).as_posix()
        if rel in allowed:
            continue
        text = p.read_text()
        for pat in ("df == OS", "df == WS", "df == IS", "df != OS", "df != WS", "df != IS", 'df == "os"',
                    'df == "ws"', 'df == "is"', 'dataflow == "os"', 'dataflow == "ws"', 'dataflow == "is"'):
            assert pat not in text, (rel, pat)


def test_result_layout_constants_match_the_field_list() -> None:
    from simulator import results as R

    constants = [R.COMPUTE_CYCLES, R.STALL_CYCLES, R.TOTAL_CYCLES, R.UTILIZATION, R.COMPUTE_UTILIZATION, R.MACS,
                 R.FOLDS, R.SRAM_IFMAP_READS, R.SRAM_FILTER_READS, R.SRAM_OFMAP_WRITES, R.SRAM_OFMAP_READS,
                 R.DRAM_IFMAP_READ, R.DRAM_FILTER_READ, R.DRAM_OFMAP_READ, R.DRAM_OFMAP_WRITE, R.PEAK_IFMAP,
                 R.PEAK_FILTER, R.PEAK_OFMAP, R.LOOP_ORDER, R.PROLOGUE_CYCLES, R.PROLOGUE_BYTES,
                 R.PROLOGUE_FILTER_BYTES, R.TAIL_IDLE_CYCLES, R.TAIL_FREE_FILTER, R.BODY_FREE_FILTER,
                 R.BODY_IDLE_CYCLES, R.TAIL_FREE_IFMAP, R.DATAFLOW]
    assert constants == list(range(R.N_FIELDS))
    assert len(R.RESULT_KEYS) == R.N_FIELDS
    assert R.RESULT_KEYS[R.DRAM_IFMAP_READ] == "dram_ifmap_read_bytes"
    assert R.RESULT_KEYS[R.TAIL_FREE_IFMAP] == "tail_free_ifmap_bytes"
