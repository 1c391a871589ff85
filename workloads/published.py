"""Published quality of (zoo model, recipe) pairs, with citations: ``workloads/data/published_accuracy.yaml``.

``published(model, recipe)`` returns the row a paper reports for that pair, or ``None`` where the
table has none (then sweeps store NaN and the report lists the pair). Rows with ``metric:
perplexity`` are lower-is-better; all others are accuracies in %. ``+``-joined recipes match a row
when they are the same set of recipes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from workloads.errors import InputError
from workloads.schema import load_yaml

DATA = Path(__file__).resolve().parent / "data" / "published_accuracy.yaml"
VERIFIED = ("repository", "secondary", "unchecked")
_KEYS = {"model", "recipes", "task", "metric", "value", "source", "verified", "checked_in"}


@dataclass(frozen=True)
class Published:
    model: str
    recipes: tuple[str, ...]
    task: str
    metric: str
    value: float
    source: str
    verified: str
    checked_in: str = ""

    @property
    def is_perplexity(self) -> bool:
        return self.metric == "perplexity"

    def citation(self) -> str:
        how = {"repository": "checked in the authors' repository", "secondary": "checked in a page quoting the paper",
               "unchecked": "not re-checked"}[self.verified]
        return f"{self.task} {self.metric} {self.value:g}: {self.source} ({how})"


def _key(recipe: str) -> frozenset[str]:
    parts = frozenset(p.strip() for p in recipe.split("+") if p.strip() and p.strip() != "none")
    return parts or frozenset({"none"})


@cache
def table() -> tuple[Published, ...]:
    data = load_yaml(DATA) or {}
    rows = []
    for i, raw in enumerate(data.get("rows") or []):
        where = f"rows[{i}]"
        if not isinstance(raw, dict) or set(raw) - _KEYS or not {"model", "recipes", "value", "source"} <= set(raw):
            raise InputError(f"expected keys {', '.join(sorted(_KEYS))}", source=str(DATA), key=where)
        if raw.get("verified") not in VERIFIED:
            raise InputError(f"verified: {raw.get('verified')!r} (allowed: {', '.join(VERIFIED)})", source=str(DATA),
                             key=where)
        rows.append(Published(str(raw["model"]), tuple(str(r) for r in raw["recipes"]), str(raw["task"]),
                              str(raw["metric"]), float(raw["value"]), str(raw["source"]), str(raw["verified"]),
                              str(raw.get("checked_in", ""))))
    return tuple(rows)


def published(model: str, recipe: str) -> Published | None:
    """The published figure of ``model`` compressed by ``recipe`` (``''``/``'none'`` = uncompressed)."""
    want = _key(recipe or "none")
    for row in table():
        if row.model == model and any(_key(r) == want for r in row.recipes):
            return row
    if want == frozenset({"fp16"}):
        return published(model, "none")
    return None
