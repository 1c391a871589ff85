"""``tasim models``: list the model zoo, or show one model's workload (optionally compressed)."""

from __future__ import annotations

import argparse

from sweeps.cli._common import check_output_file, helpfmt, output_path, positive_int, print_json


def _nonneg_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is out of range (allowed: >= 0)")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models",
        help="list the model zoo or show one model's workload (params, MACs, op table)",
        description=(
            "Without NAME: list the zoo models with their size and source.\n"
            "With NAME (zoo name or model YAML): build its workload and print parameters, MACs (total and by\n"
            "op kind; vision papers call MACs 'FLOPs', NLP papers use FLOPs = 2 x MACs) and the op table."
        ),
        epilog=(
            "Examples:\n"
            "  tasim models\n"
            "  tasim models bert-base --seq-len 128\n"
            "  tasim models vit-b16 --image-size 384 --json\n"
            "  tasim models llama2-7b --phase decode --context 2048 --new-tokens 2048 --compress w4a16\n"
            "  tasim models gpt2 --compress w8a8+nm-2of4 --save gpt2.yaml"
        ),
        formatter_class=helpfmt(),
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="zoo model name or model YAML file")
    p.add_argument("--seq-len", type=positive_int, default=None, help="tokens (prefill; default 128)")
    p.add_argument("--image-size", type=positive_int, default=None, help="vision input pixels (default 224)")
    p.add_argument("--batch", type=positive_int, default=1, help="batch size (default 1)")
    p.add_argument("--phase", choices=["prefill", "decode"], default="prefill",
                   help="prefill = whole forward pass; decode = --new-tokens generation steps")
    p.add_argument("--context", type=_nonneg_int, default=None, help="decode: tokens already in the KV cache")
    p.add_argument("--new-tokens", type=positive_int, default=1, help="decode: generated tokens (default 1)")
    p.add_argument("--compress", metavar="RECIPE", default=None,
                   help="compression recipe name, YAML file or '+'-joined names (see `tasim models --recipes`)")
    p.add_argument("--recipes", action="store_true", help="list the shipped compression recipes")
    p.add_argument("--save", metavar="FILE", default=None, type=output_path, help="write the workload (.yaml, .csv or .topology.csv)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def _op_rows(w) -> list[dict]:  # type: ignore[no-untyped-def]
    from workloads.formats import to_frame

    df = to_frame(w)
    cols = ["op", "name", "kind", "func", "layer", "layers", "m", "n", "k", "batch", "count", "steps",
            "n_per_step", "k_per_step", "elements", "elements_per_step", "a_bits", "b_bits", "b_density",
            "b_pattern", "macs", "total_elements"]
    sub = df[cols].astype(object)
    return sub.where(sub.notna(), None).to_dict("records")


def run(args: argparse.Namespace) -> int:
    if args.save:
        check_output_file(args.save, "--save")
    from workloads.compress import apply_recipe, list_recipes, load_recipe
    from workloads.fidelity import recipe_fidelity
    from workloads.formats import to_csv, to_frame, to_scalesim_topology, to_yaml
    from workloads.zoo import build_workload, list_models, load_model_config, param_count

    if args.recipes:
        rows = []
        for name in list_recipes():
            r = load_recipe(name)
            rows.append({"recipe": name, "minilm_cosine": recipe_fidelity(name), "description": r.description})
        if args.json:
            print_json(rows)
        else:
            for r in rows:
                fid = "   -  " if r["minilm_cosine"] is None else f"{r['minilm_cosine']:.4f}"
                print(f"{r['recipe']:<16} {fid}  {r['description']}")
        return 0
    if not args.name:
        rows = []
        for name in list_models():
            cfg = load_model_config(name)
            rows.append({"model": name, "family": cfg.family, "params": param_count(cfg), "layers": cfg.layers,
                         "hidden": cfg.hidden, "heads": cfg.heads, "kv_heads": cfg.kv_heads, "ffn": cfg.ffn,
                         "source": cfg.source})
        if args.json:
            print_json(rows)
        else:
            print(f"{'model':<13} {'family':<8} {'params':>15} {'layers':>6} {'hidden':>6} {'heads':>7} {'ffn':>6}")
            for r in rows:
                hd = f"{r['heads']}/{r['kv_heads']}" if r["kv_heads"] != r["heads"] else str(r["heads"])
                print(f"{r['model']:<13} {r['family']:<8} {r['params']:>15,} {r['layers']:>6} {r['hidden']:>6} "
                      f"{hd:>7} {r['ffn']:>6}")
        return 0

    kwargs = dict(seq_len=args.seq_len, batch=args.batch, phase=args.phase, context=args.context,
                  new_tokens=args.new_tokens, image_size=args.image_size)
    if args.compress:
        w = apply_recipe(args.name, args.compress, **kwargs)
    else:
        w = build_workload(args.name, **kwargs)
    if args.save:
        if args.save.endswith(".topology.csv"):
            to_scalesim_topology(w, args.save)
        elif args.save.endswith(".csv"):
            to_csv(w, args.save)
        else:
            to_yaml(w, args.save)
    summary = {
        "name": w.name, "model": w.model, "phase": w.phase, "batch": w.batch, "seq_len": w.seq_len,
        "context": w.context, "new_tokens": w.new_tokens, "image_size": w.image_size, "recipe": w.recipe,
        "params": w.params, "macs": w.macs, "flops_2x_macs": w.flops, "macs_by_kind": w.macs_by_kind(),
        "vector_elements_by_kind": w.vector_elements_by_kind(), "op_records": len(w.ops),
    }
    if args.json:
        summary["ops"] = _op_rows(w)
        print_json(summary)
        return 0
    print(f"{w.name}  ({w.model}{', recipe ' + w.recipe if w.recipe else ''})")
    print(f"params  {w.params:,}")
    print(f"MACs    {w.macs:,}  ({w.macs / 1e9:.3f} G MACs = {2 * w.macs / 1e9:.3f} GFLOPs at 2 FLOPs/MAC)")
    for k, v in sorted(w.macs_by_kind().items(), key=lambda kv: -kv[1]):
        print(f"  {k:<12} {v:>20,}  {100 * v / max(w.macs, 1):6.2f} %")
    df = to_frame(w)
    show = ["name", "kind", "layer", "layers", "m", "n", "k", "batch", "count", "steps", "elements", "a_bits",
            "b_bits", "b_density", "macs"]
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(df[show].to_string(index=False))
    return 0
