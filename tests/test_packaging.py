"""The wheel ships the data folders, so `pip install .` from elsewhere finds the shipped configs."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_contains_shipped_configs(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("tasim-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"arch_configs/{p.name}" for p in (ROOT / "arch_configs").glob("*.yaml")}
    assert shipped and shipped <= names
    for pkg in ("simulator/__init__.py", "workloads/__init__.py", "sweeps/__init__.py", "sweeps/cli/__init__.py",
                "sweeps/explorer.js", "sweeps/explorer.css", "sweeps/explorer.html"):
        assert pkg in names
    for folder in ("workloads/zoo", "workloads/recipes", "sweeps/specs"):
        src = {f"{folder}/{p.name}" for p in (ROOT / folder).glob("*.yaml")}
        assert src <= names, f"{folder} files missing from the wheel"
    entry = [n for n in names if n.endswith("entry_points.txt")]
    assert entry


def test_console_script_help_runs() -> None:
    out = subprocess.run([sys.executable, "-m", "sweeps.cli", "--help"], capture_output=True, text=True, cwd="/")
    assert out.returncode == 0 and "tasim" in out.stdout
