"""Measured quality proxy of compression recipes: mean cosine similarity of all-MiniLM-L6-v2
sentence embeddings (compressed vs dense) over a built-in sentence set.

The numbers are produced by ``scripts/minilm_fidelity.py`` (real weights, offline) and committed as
``workloads/data/minilm_fidelity.yaml``; this module only reads that file, so it needs no torch.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from workloads.schema import load_yaml

DATA = Path(__file__).resolve().parent / "data" / "minilm_fidelity.yaml"


@cache
def _table() -> dict[str, float]:
    if not DATA.exists():
        return {}
    data = load_yaml(DATA) or {}
    return {str(k): float(v["cosine"]) for k, v in (data.get("recipes") or {}).items()}


def recipe_fidelity(recipe_name: str) -> float | None:
    """Mean cosine similarity to the dense model for ``recipe_name`` ('+'-joined compositions are
    looked up as written, then with their parts sorted); ``None`` where it was not measured."""
    table = _table()
    if recipe_name in table:
        return table[recipe_name]
    if "+" in recipe_name:
        parts = sorted(p.strip() for p in recipe_name.split("+"))
        for k, v in table.items():
            if sorted(k.split("+")) == parts:
                return v
    return None


def fidelity_table() -> dict[str, float]:
    """Every measured recipe and its mean cosine similarity."""
    return dict(_table())
