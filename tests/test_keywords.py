"""Keyword rubric matching: forgiving like a human reader, strict about misconceptions."""
from __future__ import annotations

import pytest

from grader.bank import Concept, Pitfall, Rubric
from grader.metrics.keywords import phrase_occurs, score_keywords


def rubric(*concepts: Concept, pitfalls: tuple[Pitfall, ...] = ()) -> Rubric:
    return Rubric("t01", concepts, pitfalls)


@pytest.mark.parametrize("phrase,text", [
    ("nucleus sampling", "We use NUCLEUS-Sampling here."),            # case, hyphen
    ("top-p", "sampling with top p is common"),                       # hyphen vs space
    ("top p", "Top-P sampling"),
    ("denoise", "the network learns denoising"),                      # stemming
    ("discriminator", "the discriminater says fake"),                 # typo in a long word
    ("reparameterization trick", "the reparametrisation trick"),      # spelling variant
    ("kl divergence", "minimise the KL-divergence!"),                 # punctuation
])
def test_phrases_match_like_a_reader(phrase, text):
    assert phrase_occurs(phrase, text)


@pytest.mark.parametrize("phrase,text", [
    ("kl divergence", "we use a kd tree"),
    ("top-k", "top-p sampling"),              # short words carry no typo tolerance
    ("mode collapse", "the model collapsed into one mode later"),   # order matters
    # a prefix makes another word, often the opposite, though only two letters differ: never a typo
    ("unconditional prediction", "the conditional prediction"),
    ("asymmetric", "KL is symmetric"),
    ("unidirectional", "a bidirectional encoder"),
    ("unsupervised", "supervised fine-tuning"),
])
def test_phrases_do_not_match_loosely(phrase, text):
    assert not phrase_occurs(phrase, text)


@pytest.mark.parametrize("formula,text", [
    ("W' = W + BA", "we get W′=W+BA after merging"),
    ("W' = W + BA", "w' = w + ba"),
    ("B∈R^{d×r}", "B in R^{d x r}"),
    ("r << d", "with r ≪ d"),
    ("softmax(logits/T)", "softmax( logits / T )"),
    ("μ, σ", "outputs mu , sigma"),
    ("ΔW = BA", "delta W = BA"),
])
def test_formulas_match_across_spacing_and_unicode(formula, text):
    assert phrase_occurs(formula, text, formula=True)


def test_coverage_weights_and_spans():
    r = rubric(Concept("low rank", 3, ("low-rank",)), Concept("merge", 1, ("merge",)),
               Concept("frozen", 1, ("frozen",)))
    answer = "LoRA learns a Low-Rank update and we merge it."
    result = score_keywords(r, answer)
    assert result.coverage == pytest.approx(4 / 5)
    assert [m.concept for m in result.matched] == ["low rank", "merge"]
    assert [m.concept for m in result.missing] == ["frozen"]
    first = result.matched[0]
    assert answer[first.start:first.end] == first.text == "Low-Rank"


def test_bonus_concepts_give_credit_but_are_not_owed():
    r = rubric(Concept("a", 1, ("alpha",)), Concept("b", 1, ("beta",), bonus=True))
    assert score_keywords(r, "alpha").coverage == 1.0
    assert score_keywords(r, "beta").coverage == 1.0  # bonus can make up for a missed concept
    assert score_keywords(r, "nothing").coverage == 0.0


LATENCY = Pitfall("latency", ("lora adds inference latency", "lora adds latency"), 0.2, "Merged, so none.")


@pytest.mark.parametrize("answer,fires", [
    ("LoRA adds latency at inference.", True),
    ("LoRA adds some extra inference latency.", True),
    ("LoRA does not add latency.", False),
    ("LoRA doesn't add inference latency because BA is merged.", False),
    ("It is a myth that LoRA adds latency.", False),
    ("There is no latency. LoRA adds latency only if you do not merge.", True),
    ("LoRA adds nothing at inference; latency is unchanged.", False),
])
def test_pitfalls_respect_negation(answer, fires):
    r = rubric(Concept("merge", 1, ("merge",)), pitfalls=(LATENCY,))
    result = score_keywords(r, answer)
    assert bool(result.pitfalls) is fires
    if fires:
        assert result.pitfalls[0].pitfall == "latency"


@pytest.mark.parametrize("answer,fires", [
    ("It generates the whole sequence at once.", True),
    ("It generates the whole sequence one token at a time.", False),  # "at once" is part of the claim
])
def test_a_pattern_s_short_words_are_part_of_it(answer, fires):
    at_once = Pitfall("at once", ("generates the whole sequence at once",), 0.2, "One token per step.")
    assert bool(score_keywords(rubric(Concept("tokens", 1, ("token",)), pitfalls=(at_once,)), answer).pitfalls) is fires


@pytest.mark.parametrize("answer,fires", [
    ("The U-Net is trained to add noise to the image.", True),
    # the words between a pattern's words stay in one clause: a colon or semicolon ends it
    ("Training is simple: add known noise to a clean image and predict it.", False),
    ("The model is trained; add noise later.", False),
])
def test_a_pattern_does_not_reach_across_a_colon(answer, fires):
    learns_noise = Pitfall("adds noise", ("trained to add noise",), 0.2, "The forward process is fixed.")
    assert bool(score_keywords(rubric(Concept("noise", 1, ("noise",)), pitfalls=(learns_noise,)), answer).pitfalls) \
        is fires


def test_pitfall_penalty_reduces_coverage_not_below_zero():
    r = rubric(Concept("merge", 1, ("merge",)), pitfalls=(LATENCY,))
    assert score_keywords(r, "we merge, but LoRA adds latency").coverage == pytest.approx(0.8)
    assert score_keywords(r, "LoRA adds latency").coverage == 0.0


@pytest.mark.parametrize("answer", ["", "   ", "!!!", "🙂🙂", "\u200b\u200b"])
def test_degenerate_answers(answer):
    r = rubric(Concept("merge", 1, ("merge",)), pitfalls=(LATENCY,))
    result = score_keywords(r, answer)
    assert result.coverage == 0.0 and not result.matched and not result.pitfalls
