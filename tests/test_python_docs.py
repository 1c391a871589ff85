"""docs/python.md is a worked notebook session: run every ``python`` block in order, in one namespace."""

from __future__ import annotations

import os
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "python.md"


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_python_session_runs(tmp_path, capsys):
    code = blocks()
    assert len(code) >= 6
    ns: dict = {"__name__": "__docs__"}
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for i, block in enumerate(code):
            exec(compile(block, f"{DOC.name}[block {i + 1}]", "exec"), ns)  # noqa: S102 - our own docs
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    assert "tokens/s" in out and "design points" in out
    assert (tmp_path / "results" / "notebook-decode" / "pareto.pdf").exists()
    page = ns["s"]._repr_html_()
    assert "Pareto front" in page and "tokens/s" in page and "energy per token (mJ)" in page


def test_result_objects_display_as_html():
    import tasim

    r = tasim.simulate("distilbert", "edge-32", seq_len=32)
    page = r._repr_html_()
    assert "latency (ms)" in page and "energy (mJ)" in page and "by op kind" in page
    assert "SimResult distilbert" in repr(r)
