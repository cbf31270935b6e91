"""The bundled BERT encoder and its WordPiece tokenizer, without importing transformers.

Why: a learner grading one answer waits for every import. ``import transformers`` plus its BERT modelling code
and ``from_pretrained`` cost about 3 s here, twice ``import torch``. What BERTScore needs of the model is the
hidden states of layer ``num_layers`` for a batch of word-piece ids: embeddings, then post-norm transformer
layers. That is the ~50 lines of torch below, reading the weights straight from ``model.safetensors``.

It is the forward pass of transformers' ``BertModel`` in eval mode (absolute positions, token type 0, exact GELU,
no dropout), cut to ``num_layers`` as ``bert_score.utils.get_model`` cuts it. The tokenizer is HF ``tokenizers``
reading the model's ``tokenizer.json`` (the same normaliser and vocabulary as the slow ``BertTokenizer``
bert-score uses). tests/test_encoder.py checks both against bert-score's own loading: hidden states to 1e-4 and
identical word-piece ids, and tests/test_metrics.py checks the scores against ``BERTScorer.score``.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from grader.errors import ConfigError

#: The only architecture this encoder reproduces; anything else is refused rather than silently mis-run.
SUPPORTED = {"model_type": "bert", "hidden_act": "gelu", "position_embedding_type": "absolute"}


def read_config(path: Path) -> dict:
    """The model's config.json, checked to describe a BERT this module can run."""
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the model config ({exc})", path=path / "config.json") from None
    for key, expected in SUPPORTED.items():
        if config.get(key, expected) != expected:
            raise ConfigError(f"{key} is {config.get(key)!r}; the built-in encoder runs only {expected!r}",
                              path=path / "config.json")
    return config


class WordPieceTokenizer:
    """``encode(text)`` -> word-piece ids without [CLS]/[SEP], as ``BertTokenizer.encode(add_special_tokens=False)``."""

    def __init__(self, path: Path):
        from tokenizers import Tokenizer

        try:
            self._tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        except Exception as exc:  # tokenizers raises its own Exception subclass for unreadable files
            raise ConfigError(f"cannot read the tokenizer ({exc})", path=path / "tokenizer.json") from None
        # tokenizer.json ships sentence-transformers' settings (truncate and pad to 128): BERTScore wants neither,
        # long texts are windowed by the caller.
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self.cls_token_id = self._tokenizer.token_to_id("[CLS]")
        self.sep_token_id = self._tokenizer.token_to_id("[SEP]")
        self.pad_token_id = self._tokenizer.token_to_id("[PAD]")
        if None in (self.cls_token_id, self.sep_token_id, self.pad_token_id):
            raise ConfigError("the tokenizer has no [CLS], [SEP] or [PAD] token", path=path / "tokenizer.json")

    def encode(self, text: str) -> list[int]:
        return self._tokenizer.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self._tokenizer.encode_batch(texts, add_special_tokens=False)]


class BertEncoder:
    """Hidden states of layer ``num_layers`` of a BERT checkpoint, for batches of padded word-piece ids."""

    def __init__(self, path: Path, num_layers: int):
        import torch
        from safetensors import safe_open

        config = read_config(path)
        if not 1 <= num_layers <= config["num_hidden_layers"]:
            raise ConfigError(f"the model has layers 1..{config['num_hidden_layers']}, got {num_layers}",
                              field="bertscore.layer")
        self.device = "cpu"
        self.heads = config["num_attention_heads"]
        self.eps = config.get("layer_norm_eps", 1e-12)
        self.hidden = config["hidden_size"]
        self.max_positions = config["max_position_embeddings"]
        try:
            with safe_open(str(path / "model.safetensors"), framework="pt") as weights:
                prefix = "bert." if "bert.embeddings.word_embeddings.weight" in weights.keys() else ""

                def get(name: str) -> torch.Tensor:
                    return weights.get_tensor(prefix + name)

                def weight_and_bias(module: str) -> tuple[torch.Tensor, torch.Tensor]:
                    return get(f"{module}.weight"), get(f"{module}.bias")

                self.word = get("embeddings.word_embeddings.weight")
                self.position = get("embeddings.position_embeddings.weight")
                self.token_type = get("embeddings.token_type_embeddings.weight")[0]
                self.norm = weight_and_bias("embeddings.LayerNorm")
                self.layers = []
                for i in range(num_layers):
                    p = f"encoder.layer.{i}."
                    q, k, v = (weight_and_bias(p + f"attention.self.{n}") for n in ("query", "key", "value"))
                    self.layers.append({
                        # Query, key and value as one matrix: one matmul instead of three.
                        "qkv": (torch.cat([q[0], k[0], v[0]]), torch.cat([q[1], k[1], v[1]])),
                        "attn_out": weight_and_bias(p + "attention.output.dense"),
                        "attn_norm": weight_and_bias(p + "attention.output.LayerNorm"),
                        "inter": weight_and_bias(p + "intermediate.dense"),
                        "out": weight_and_bias(p + "output.dense"),
                        "out_norm": weight_and_bias(p + "output.LayerNorm"),
                    })
        except ConfigError:
            raise
        except Exception as exc:  # safetensors raises SafetensorError, OSError or KeyError for a broken file
            raise ConfigError(f"cannot read the model weights ({exc})", path=path / "model.safetensors") from None

    def to(self, device: str) -> "BertEncoder":
        """Move the weights to ``device`` ("cpu", "cuda"); inputs follow them and outputs come back to the CPU."""
        if device != self.device:
            def move(value):
                if isinstance(value, (tuple, list)):
                    return type(value)(move(v) for v in value)
                return value.to(device)

            for name in ("word", "position", "token_type", "norm"):
                setattr(self, name, move(getattr(self, name)))
            self.layers = [{k: move(v) for k, v in layer.items()} for layer in self.layers]
            self.device = device
        return self

    def __call__(self, ids, mask):
        """``ids`` and ``mask`` are [batch, length] long tensors (mask 1 for real tokens); returns [batch, length, hidden]
        on the CPU, wherever the model runs."""
        if self.device != "cpu":
            return self._forward(ids.to(self.device), mask.to(self.device)).cpu()
        return self._forward(ids, mask)

    def _forward(self, ids, mask):
        import torch
        import torch.nn.functional as F

        batch, length = ids.shape
        if length > self.max_positions:
            raise ValueError(f"{length} tokens exceed the model's {self.max_positions} positions")
        # Padding keys get no attention: a [batch, 1, 1, length] boolean mask broadcast over heads and queries.
        attend = mask.bool()[:, None, None, :]
        head_dim = self.hidden // self.heads
        with torch.no_grad():
            h = F.embedding(ids, self.word) + self.position[:length] + self.token_type
            h = F.layer_norm(h, (self.hidden,), *self.norm, eps=self.eps)
            for layer in self.layers:
                qkv = F.linear(h, *layer["qkv"]).view(batch, length, 3, self.heads, head_dim).permute(2, 0, 3, 1, 4)
                context = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=attend,
                                                         scale=1 / math.sqrt(head_dim))
                context = context.transpose(1, 2).reshape(batch, length, self.hidden)
                h = F.layer_norm(F.linear(context, *layer["attn_out"]) + h, (self.hidden,), *layer["attn_norm"],
                                 eps=self.eps)
                inner = F.gelu(F.linear(h, *layer["inter"]))
                h = F.layer_norm(F.linear(inner, *layer["out"]) + h, (self.hidden,), *layer["out_norm"], eps=self.eps)
        return h
