"""The model zoo: one YAML file per model (hyper-parameters + source) and the public entry points.

>>> from workloads.zoo import build_workload
>>> w = build_workload("bert-base", seq_len=128)
>>> round(w.macs / 1e9, 2)
11.17
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from workloads.builders import build
from workloads.errors import InputError, show_value
from workloads.ir import Workload
from workloads.modelconfig import ModelConfig
from workloads.params import param_count as _param_count
from workloads.schema import from_dict, load_yaml, path_exists

ZOO_DIR = Path(__file__).resolve().parent

__all__ = ["ModelConfig", "ZOO_DIR", "build_workload", "hf_aliases", "list_models", "load_model_config", "param_count",
           "resolve_model_name"]


def list_models() -> list[str]:
    """Zoo model names (file stems of ``workloads/zoo/*.yaml``), sorted."""
    return sorted(p.stem for p in ZOO_DIR.glob("*.yaml"))


@cache
def _load(path: str) -> ModelConfig:
    cfg = from_dict(ModelConfig, load_yaml(path), source=path)
    if cfg.name != Path(path).stem:
        raise InputError(f"name {cfg.name!r} differs from the file name", source=path, key="name")
    return cfg


_HF_URL = re.compile(r"huggingface\.co/([\w.-]+)/([\w.-]+)/")


@cache
def hf_aliases() -> dict[str, str]:
    """Hugging Face ids (lower case) -> zoo name, read from each zoo file's ``source`` config URL:
    the full id (``google-bert/bert-base-uncased``) and the legacy id without the organisation
    (``bert-base-uncased``), which the Hub itself redirects."""
    out: dict[str, str] = {}
    for name in list_models():
        m = _HF_URL.search(_load(str(ZOO_DIR / f"{name}.yaml")).source)
        if m:
            org, repo = m.group(1), m.group(2)
            out.setdefault(f"{org}/{repo}".lower(), name)
            out.setdefault(repo.lower(), name)
    return out


def resolve_model_name(name: str) -> str:
    """The zoo name of a zoo name or a Hugging Face id; unknown names get a 'did you mean'."""
    if re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", name) and (ZOO_DIR / f"{name}.yaml").exists():
        return name
    alias = hf_aliases().get(name.lower())
    if alias:
        return alias
    import difflib

    options = list_models() + sorted(hf_aliases())
    close = difflib.get_close_matches(name.lower(), [o.lower() for o in options], n=2, cutoff=0.6)
    close_names = [options[[o.lower() for o in options].index(c)] for c in close]
    hint = f" (did you mean {' or '.join(repr(c) for c in close_names)}?)" if close_names else ""
    raise InputError(f"unknown model {show_value(name)}{hint} (allowed: {', '.join(list_models())}, a Hugging Face id of "
                     "one of them, or a model/workload file)", key="model")


def load_model_config(name: str) -> ModelConfig:
    """A zoo model by name or Hugging Face id (``bert-base-uncased``, ``meta-llama/Llama-2-7b-hf``),
    or a model YAML file by path."""
    if isinstance(name, ModelConfig):
        return name
    p = Path(name)
    if p.suffix in (".yaml", ".yml") and path_exists(p):
        return from_dict(ModelConfig, load_yaml(p), source=str(p))
    return _load(str(ZOO_DIR / f"{resolve_model_name(str(name))}.yaml"))


def build_workload(
    model: str | ModelConfig,
    *,
    seq_len: int | None = None,
    batch: int = 1,
    phase: str = "prefill",
    context: int | None = None,
    new_tokens: int = 1,
    image_size: int | None = None,
) -> Workload:
    """The workload of ``model`` (zoo name, YAML path or :class:`ModelConfig`).

    ``phase="prefill"``: the whole forward pass over ``seq_len`` tokens (default 128; vision models
    use ``image_size``, default the config's 224). ``phase="decode"`` (decoders only): ``new_tokens``
    generation steps starting with ``context`` tokens in the KV cache (default ``seq_len``, i.e. 128).
    """
    cfg = load_model_config(model) if not isinstance(model, ModelConfig) else model
    return build(cfg, seq_len=seq_len, batch=batch, phase=phase, context=context, new_tokens=new_tokens,
                 image_size=image_size)


def param_count(model: str | ModelConfig) -> int:
    """Exact parameter count of the Hugging Face class named in the zoo file (``hf_class``)."""
    cfg = load_model_config(model) if not isinstance(model, ModelConfig) else model
    return _param_count(cfg)
