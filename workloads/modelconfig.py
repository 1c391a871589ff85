"""ModelConfig: the hyper-parameters of one transformer, as read from a zoo YAML file.

Field names follow the papers (hidden, layers, heads, ffn); the Hugging Face names are given in
``docs/workloads.md``. Derived values (``head_dim``, ``kv_heads``, ``tokens``) are properties, so a
config stays a plain frozen record that :func:`workloads.schema.from_dict` validates.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from workloads.errors import InputError
from workloads.schema import spec_field

Family = Literal["encoder", "decoder", "vision"]
Arch = Literal["bert", "distilbert", "albert", "mobilebert", "gpt2", "opt", "llama", "vit", "deit"]


@dataclass(frozen=True)
class ModelConfig:
    name: str = spec_field(doc="zoo name (file stem)")
    family: Family = spec_field(doc="encoder (BERT-like), decoder (causal LM) or vision (ViT/DeiT)")
    arch: Arch = spec_field(doc="graph variant; also selects the Hugging Face class for the self-check")
    hidden: int = spec_field(ge=1, le=2**20, doc="model width d (HF hidden_size / n_embd / dim)")
    layers: int = spec_field(ge=1, le=1024, doc="transformer blocks")
    heads: int = spec_field(ge=1, le=2**14, doc="attention (query) heads")
    ffn: int = spec_field(ge=1, le=2**22, doc="FFN inner width (intermediate_size / n_inner / hidden_dim)")
    source: str = spec_field("", doc="where the numbers come from (HF config URL, paper)")
    hf_class: str = spec_field("", doc="transformers class used by the self-check (e.g. BertModel)")
    kv_heads: int = spec_field(0, ge=0, le=2**14, doc="key/value heads (GQA); 0 in YAML = heads (resolved on load)")
    head_dim: int = spec_field(0, ge=0, le=2**16, doc="per-head width; 0 in YAML = attention width / heads (resolved)")
    vocab: int = spec_field(0, ge=0, le=2**24, doc="vocabulary size (0 for vision)")
    max_positions: int = spec_field(0, ge=0, le=2**24, doc="learned position table rows (0: none / RoPE)")
    position_offset: int = spec_field(0, ge=0, doc="extra position rows (OPT: 2)")
    type_vocab: int = spec_field(0, ge=0, doc="token-type (segment) embeddings")
    embedding_size: int = spec_field(0, ge=0, le=2**20, doc="factorised embedding width (ALBERT, MobileBERT); 0 = hidden")
    act: Literal["gelu", "relu", "silu"] = spec_field("gelu", doc="FFN activation")
    gated_ffn: bool = spec_field(False, doc="SwiGLU: act(x W_gate) * (x W_up), then W_down")
    norm: Literal["layernorm", "rmsnorm", "nonorm"] = spec_field("layernorm")
    pre_norm: bool = spec_field(False, doc="pre-LN blocks (GPT-2, OPT, Llama, ViT) vs post-LN (BERT)")
    embed_norm: bool = spec_field(True, doc="a norm right after the embeddings (BERT family)")
    final_norm: bool = spec_field(False, doc="a norm after the last block (pre-LN models)")
    rope: bool = spec_field(False, doc="rotary position embedding on q and k")
    bias: bool = spec_field(True, doc="linear layers carry biases")
    tie_embeddings: bool = spec_field(True, doc="LM head shares the token embedding")
    head: Literal["none", "pooler", "lm", "classifier"] = spec_field("none", doc="task head built")
    num_labels: int = spec_field(0, ge=0, doc="classifier outputs (vision: 1000)")
    share_layers: bool = spec_field(False, doc="ALBERT: one set of block weights for all layers")
    image_size: int = spec_field(0, ge=0, le=2**16, doc="default input resolution (vision)")
    patch_size: int = spec_field(0, ge=0, le=2**16)
    channels: int = spec_field(3, ge=1, le=2**16)
    distill_token: bool = spec_field(False, doc="DeiT distillation token + second classifier")
    bottleneck: int = spec_field(0, ge=0, le=2**20, doc="MobileBERT intra-block bottleneck width")
    num_ffn: int = spec_field(1, ge=1, le=64, doc="MobileBERT stacked FFNs per block")
    trigram: bool = spec_field(False, doc="MobileBERT trigram embedding transformation")

    def __post_init__(self) -> None:
        if not self.kv_heads:
            object.__setattr__(self, "kv_heads", self.heads)
        if self.heads % self.kv_heads:
            raise InputError(f"heads={self.heads} not a multiple of kv_heads={self.kv_heads}", key="kv_heads")
        if not self.head_dim:
            if self.attn_width % self.heads:
                raise InputError(f"hidden={self.hidden} not divisible by heads={self.heads}", key="heads")
            object.__setattr__(self, "head_dim", self.attn_width // self.heads)
        if self.family == "vision" and not (self.image_size and self.patch_size):
            raise InputError("vision models need image_size and patch_size", key="patch_size")
        if self.family != "vision" and not self.vocab:
            raise InputError("text models need vocab", key="vocab")

    @property
    def attn_width(self) -> int:
        """Width the attention works in (MobileBERT: the bottleneck)."""
        return self.bottleneck or self.hidden

    @property
    def group(self) -> int:
        """Query heads per KV head (1 without GQA)."""
        return self.heads // self.kv_heads

    @property
    def emb_width(self) -> int:
        return self.embedding_size or self.hidden

    def patches(self, image_size: int) -> int:
        return (image_size // self.patch_size) ** 2

    def tokens(self, image_size: int) -> int:
        """Vision: sequence length = patches + [CLS] (+ distillation token)."""
        return self.patches(image_size) + 1 + int(self.distill_token)

    def with_(self, **changes: object) -> ModelConfig:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
