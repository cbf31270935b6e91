"""Our metric implementations against the reference implementations they wrap, and their edge cases."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from grader.metrics.rouge import RougeMetric

PAIRS = [
    ("LoRA factorises the weight update into two low-rank matrices.",
     "LoRA learns a low rank update BA and merges it into the weights after training."),
    ("Temperature divides the logits before the softmax; top-p samples from the nucleus.",
     "Temperature scaling divides logits by T. Top-p keeps the smallest set with cumulative probability p."),
    ("no idea", "The discriminator distinguishes real from fake samples."),
]


@pytest.mark.parametrize("answer,reference", PAIRS)
def test_rouge_equals_rouge_score_on_plain_text(answer, reference):
    from rouge_score import rouge_scorer

    ours = RougeMetric().score(answer, [reference])
    theirs = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True).score(reference, answer)
    for kind in ("rouge1", "rouge2", "rougeL"):
        mine, ref = getattr(ours, kind), theirs[kind]
        assert mine.precision == pytest.approx(ref.precision, abs=1e-5)
        assert mine.recall == pytest.approx(ref.recall, abs=1e-5)
        assert mine.f1 == pytest.approx(ref.fmeasure, abs=1e-5)


def test_rouge_keeps_greek_letters_and_symbols():
    from rouge_score import rouge_scorer

    reference = "Simplified loss: predict added noise ε. P(x) = ∏ P(x_t | x_<t)"
    answer = "the network predicts the noise ε and P(x) = ∏ P(x_t | x_<t)"
    ours = RougeMetric().score(answer, [reference]).rouge1.recall
    default = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True).score(reference, answer)["rouge1"].recall
    assert ours > default  # ε and ∏ count as words for us, vanish for the default tokenizer
    assert RougeMetric().score("epsilon", ["ε"]).rouge1.f1 == 1.0


def test_rouge_multi_reference_takes_the_best():
    metric = RougeMetric()
    one = metric.score("the cat sat", ["a dog ran"]).rouge1.f1
    best = metric.score("the cat sat", ["a dog ran", "the cat sat"]).rouge1.f1
    assert one < best == 1.0


@pytest.fixture(scope="module")
def bert(full_grader):
    return full_grader.bert


@pytest.mark.parametrize("idf", [False, True])
def test_bertscore_equals_bert_score(bert, idf):
    """Same model and layer, same idf: our windowed implementation equals BERTScorer.score on short texts."""
    from bert_score import BERTScorer

    from grader.metrics.bertscore import BertScoreMetric, model_dir

    refs = [r for _, r in PAIRS]
    cands = [a for a, _ in PAIRS]
    ours = BertScoreMetric(layer=bert.layer, idf=idf, idf_sentences=refs, baseline=None)
    mine = ours.score_many(cands, [[r] for r in refs])
    scorer = BERTScorer(model_type=str(model_dir()), num_layers=bert.layer, idf=idf,
                        idf_sents=refs if idf else None)
    P, R, F = scorer.score(cands, refs)
    for m, p, r, f in zip(mine, P.tolist(), R.tolist(), F.tolist()):
        assert m.precision == pytest.approx(p, abs=1e-5)
        assert m.recall == pytest.approx(r, abs=1e-5)
        assert m.f1 == pytest.approx(f, abs=1e-5)


def test_rescaling_uses_the_shipped_baseline(bert):
    from grader.metrics.bertscore import BASELINE_DIR, read_baseline

    b = read_baseline(BASELINE_DIR / "all-MiniLM-L6-v2.tsv", bert.layer)
    assert bert.baseline == b
    assert all(0 < v < 1 for v in b)
    same = bert.score_many(["Reference text about diffusion."], [["Reference text about diffusion."]])[0]
    assert same.f1 == pytest.approx(1.0, abs=1e-5)


def test_long_answers_are_scored_whole(bert):
    """Content after the 512-token window still counts: a key sentence at the end raises recall."""
    reference = "The reparameterization trick writes z as mu plus sigma times epsilon so gradients flow."
    filler = "Let me think about how to structure this answer for a moment. " * 60
    tail = "The reparameterization trick writes z = mu + sigma * epsilon, so gradients flow through sampling."
    with_tail = bert.score_many([filler + tail], [[reference]])[0]
    without = bert.score_many([filler], [[reference]])[0]
    tokens = len(bert._tokenizer.encode(filler + tail))
    assert tokens > 600
    assert with_tail.recall > without.recall + 0.2


def test_empty_answer_gives_zero_raw_scores(bert):
    raw = bert._rescale((0.0, 0.0, 0.0))
    assert bert.score_many([""], [["Some reference."]])[0].f1 == pytest.approx(raw[2])


HEAVY = ("torch", "transformers", "bert_score", "nltk")


def _heavy_modules_after_grade(tmp_path, *options: str) -> tuple[list[str], list[str]]:
    """In a fresh process, `grader grade -q q09 OPTIONS`: the heavy modules it imported and the metrics reported."""
    code = ("import json, sys; from grader.cli import app; "
            "from typer.testing import CliRunner; "
            f"r = CliRunner().invoke(app, ['grade', '-q', 'q09', *{list(options)!r}, '--format', 'json', "
            "'--answer', 'LoRA learns a low-rank update BA.']); "
            "assert r.exit_code == 0, r.output; "
            f"print(json.dumps([[m for m in {HEAVY!r} if m in sys.modules], sorted(json.loads(r.stdout)['metrics'])]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    heavy, metrics = json.loads(out.stdout.strip().splitlines()[-1])
    return heavy, metrics


def test_lexical_grading_never_imports_torch(tmp_path):
    """`grader grade --metrics keywords,rouge` must not import torch, transformers, bert_score or nltk."""
    heavy, metrics = _heavy_modules_after_grade(tmp_path, "--metrics", "keywords,rouge")
    assert heavy == [] and "bertscore" not in metrics


def test_grading_with_bertscore_never_imports_transformers(tmp_path):
    """The full grade path loads the model with torch alone (see grader/metrics/encoder.py)."""
    heavy, metrics = _heavy_modules_after_grade(tmp_path)
    assert heavy == ["torch"] and "bertscore" in metrics


def test_model_is_loaded_once_per_process(bank):
    from grader.scoring.engine import Grader
    from grader.metrics import bertscore

    first = Grader(bank)
    first.grade("q01", "Generative models learn P(X).")
    loads = bertscore.MODEL_LOADS
    second = Grader(bank)
    second.grade_many([("q02", "GANs and VAEs"), ("q03", "A generator and a discriminator.")])
    assert bertscore.MODEL_LOADS == loads >= 1


REFS = ["The generator maps noise to samples; the discriminator tells real from fake.",
        "Top-p keeps the smallest set of tokens whose cumulative probability reaches p."]


def _metric(layer):
    from grader.metrics.bertscore import BertScoreMetric

    return BertScoreMetric(layer=layer, idf=True, idf_sentences=REFS)


def test_cache_hit_skips_reference_encoding(bert, tmp_path, monkeypatch):
    from grader.metrics import bertscore

    monkeypatch.setenv("GRADER_CACHE_DIR", str(tmp_path))
    first = _metric(bert.layer)
    assert first.warm(REFS) is False  # miss: encoded and stored
    before = bertscore.TEXTS_ENCODED
    second = _metric(bert.layer)
    assert second.warm(REFS) is True
    assert bertscore.TEXTS_ENCODED == before  # nothing run through the model
    answer = ["A generator and a discriminator compete."]
    from_cache = second.score_many(answer, [[REFS[0]]])
    assert bertscore.TEXTS_ENCODED == before + 1  # only the answer
    assert from_cache == first.score_many(answer, [[REFS[0]]])  # cached encodings score identically


@pytest.mark.parametrize("damage", ["garbage", "truncate", "flip"])
def test_corrupt_cache_is_rebuilt_not_trusted(bert, tmp_path, monkeypatch, damage):
    from grader.metrics import bertscore

    monkeypatch.setenv("GRADER_CACHE_DIR", str(tmp_path))
    _metric(bert.layer).warm(REFS)
    (path,) = tmp_path.glob("refs-*.npz")
    raw = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"not a cache file")
    elif damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    else:  # same size, one byte of an array changed: only the checksum can tell
        middle = len(raw) // 2
        path.write_bytes(raw[:middle] + bytes([raw[middle] ^ 0xFF]) + raw[middle + 1 :])
    before = bertscore.TEXTS_ENCODED
    rebuilt = _metric(bert.layer)
    assert rebuilt.warm(REFS) is False
    assert bertscore.TEXTS_ENCODED == before + len(REFS)
    assert _metric(bert.layer).warm(REFS) is True  # the rebuilt file is good again


def test_unwritable_cache_does_not_stop_grading(bert, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("GRADER_CACHE_DIR", str(blocker / "cache"))
    metric = _metric(bert.layer)
    assert metric.warm(REFS) is False
    assert metric.score_many(["noise to samples"], [[REFS[0]]])[0].recall > 0
