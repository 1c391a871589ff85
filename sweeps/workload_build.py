"""Workloads of a sweep: the key of one workload and its construction (cached per process).

Shared by the spec (which builds every workload up front to fail early) and the evaluator; neither
imports the other for it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class WorkloadKey:
    """One workload to build: a zoo model at a shape and phase, compressed by a recipe."""

    model: str
    seq_len: int
    phase: str
    batch: int
    context: int | None
    new_tokens: int
    image_size: int | None
    recipe: str
    file: str = ""  # a workload or model file (absolute path); ``model`` is then its display name

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "seq_len": self.seq_len, "phase": self.phase, "batch": self.batch,
                "context": self.context, "new_tokens": self.new_tokens, "image_size": self.image_size,
                "recipe": self.recipe, "file": self.file}



def load_recipes(text: str) -> Any:
    """Validate a recipe name / YAML path / '+'-joined names ('none' -> None)."""
    from workloads.compress import load_recipe

    if text in ("", "none"):
        return None
    return load_recipe(text)


@lru_cache(maxsize=256)
def build_workload_cached(key: WorkloadKey) -> Any:
    """The (compressed) workload of a key, built once per process."""
    from workloads.compress import apply_recipe
    from workloads.zoo import build_workload

    if key.file:
        from workloads.files import build_from_source

        return build_from_source(key.file, seq_len=key.seq_len, batch=key.batch, phase=key.phase,
                                 context=key.context, new_tokens=key.new_tokens, image_size=key.image_size,
                                 recipe=key.recipe)
    kwargs: dict[str, Any] = {"seq_len": key.seq_len, "batch": key.batch, "phase": key.phase}
    if key.phase == "decode":
        kwargs["context"] = key.context
        kwargs["new_tokens"] = key.new_tokens
    if key.image_size is not None:
        kwargs["image_size"] = key.image_size
    if key.recipe in ("", "none"):
        return build_workload(key.model, **kwargs)
    return apply_recipe(key.model, key.recipe, **kwargs)


def identity(key: WorkloadKey) -> dict[str, Any]:
    """The workload part of a point id: the key, with the content of recipe and workload files."""
    wl = key.as_dict()
    wl["recipe_content"] = recipe_fingerprint(key.recipe)
    if key.file:
        wl["file_content"] = file_fingerprint(key.file)
    else:
        wl.pop("file", None)
    return wl


@lru_cache(maxsize=256)
def file_fingerprint(path: str) -> str:
    return content_hash(Path(path).read_bytes().hex()) if Path(path).exists() else ""


@lru_cache(maxsize=256)
def recipe_fingerprint(recipe: str) -> str:
    """A recipe as it enters a point id: shipped names as they are, YAML files by their content."""
    parts = []
    for name in recipe.split("+"):
        p = Path(name)
        if p.suffix in (".yaml", ".yml") and p.exists():
            parts.append(content_hash(p.read_text()))
        else:
            parts.append(name)
    return "+".join(parts)


def content_hash(obj: Any) -> str:
    """A stable 16-hex-digit hash of a JSON-able object (sorted keys, floats by repr)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
