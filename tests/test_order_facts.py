"""Order facts: two steps the answer must not put the wrong way round, read from ordering cues.

The sentences here are written for these tests (none is a dev-tier answer): each cue form in both directions,
on questions whose rubric states an order derived from the reference.
"""
from __future__ import annotations

import pytest

from grader.bank import load_bank
from grader.metrics.claims import check_facts
from grader.metrics.opposites import opposites_for

BANK = load_bank()


def kinds(qid: str, answer: str) -> list[str]:
    rubric = BANK.get(qid).rubric
    return [c.kind for c in check_facts(rubric.facts, answer, opposites_for(rubric.opposites))]


@pytest.mark.parametrize("qid, answer", [
    ("q11", "The LLM writes an answer first and then the system searches the index for passages to cite."),
    ("q11", "It generates a response, and only after that does it retrieve documents to back it up."),
    ("q11", "After generating a draft, RAG retrieves the most similar chunks from the vector store."),
    ("q19", "The model gives its final answer and then explains the steps that led there."),
    ("q20", "The model revises its output first, then critiques the revision against the principles."),
    ("q10", "PPO tunes the policy first, and then the reward model is trained on the rollouts."),
    ("q16", "The VAE decoder decodes the latent before the U-Net denoises it."),
    ("q09", "You merge BA into W, then train A and B."),
    ("q07", "With chain of thought the model gives the final answer first and then explains its reasoning steps."),
    ("q10", "We do PPO before SFT."),
    ("q10", "PPO is run first and then supervised fine-tuning polishes the result."),
])
def test_a_reversed_order_is_a_contradiction(qid, answer):
    assert "order" in kinds(qid, answer), answer


@pytest.mark.parametrize("qid, answer", [
    ("q11", "RAG retrieves relevant passages and then generates the answer conditioned on them."),
    ("q11", "Before generating, the system searches the corpus for the most relevant chunks."),
    ("q11", "The generator writes the answer after the retriever has fetched the top passages."),
    ("q11", "Retrieval-augmented generation first retrieves documents, then generates."),
    ("q19", "Let's think step by step makes the model reason through intermediate steps before the final answer."),
    ("q20", "The model critiques its own draft, then revises it."),
    ("q10", "After SFT, a reward model is trained on human comparisons, and PPO then optimises the policy."),
    ("q16", "The U-Net denoises in latent space and the VAE decoder then decodes the result to pixels."),
    ("q09", "LoRA makes training cheaper, and after merging inference is as fast as the base model."),
    ("q09", "After training you merge BA into W, so there is no extra latency."),
    ("q11", "It does not generate before it retrieves."),
])
def test_the_right_order_or_no_ordering_claim_is_not_flagged(qid, answer):
    assert "order" not in kinds(qid, answer), answer


def test_every_reference_keeps_its_own_order():
    for question in BANK:
        rubric = question.rubric
        if rubric is None:
            continue
        found = check_facts(rubric.facts, question.reference, opposites_for(rubric.opposites))
        assert not [c for c in found if c.kind == "order"], (question.id, found)


def test_an_order_fact_needs_both_steps(tmp_path):
    import shutil

    from grader.bank import inspect_bank

    bank = tmp_path / "bank"
    shutil.copytree(BANK.root + "/references", bank / "references")
    (bank / "rubrics").mkdir()
    (bank / "rubrics" / "q11.yaml").write_text(
        "question: q11\nconcepts:\n  - name: retrieval\n    synonyms: [retrieve]\n"
        "facts:\n  - claim: retrieve first\n    first: [retrieve]\n", encoding="utf-8")
    loaded, findings = inspect_bank(bank)
    assert loaded is None
    assert any("first and then" in f.message and f.field and "then" in f.field for f in findings), findings


@pytest.mark.parametrize("answer", [
    "After training you merge the update into the base weights once, so inference costs nothing extra.",
    "Then we fold BA into W and serve the merged matrix.",
])
def test_a_subject_named_by_a_verb_takes_an_object_not_a_property(answer):
    """"you merge the update": the update is what is merged, not what the merge is (no swap)."""
    assert kinds("q09", answer) == [], answer


def test_the_bundled_practice_answer_has_no_contradiction():
    from pathlib import Path

    from grader import Grader

    text = (Path(__file__).resolve().parents[1] / "samples" / "answer-lora.txt").read_text(encoding="utf-8")
    report = Grader(metrics="keywords,rouge").grade("q09", text)
    assert not report.contradictions and report.score >= 70, (report.score, report.contradictions)


# ------------------------------------------------------------------ a step ranked first, across sentences


@pytest.mark.parametrize("qid, answer", [
    ("q11", "The LLM first writes a draft answer from what it knows. That draft is embedded and used to search "
            "the vector store for supporting passages."),
    ("q19", "The model states the answer first. Afterwards it explains its reasoning step by step."),
    ("q09", "You first merge BA into W. Training A and B happens on the merged weights."),
    ("q20", "Initially the model revises its draft. It critiques the new version against the principles."),
    # ranked first in words: "the first thing you do is ...", "you start by ..."
    ("q11", "The first thing the system does is generate a draft answer. That draft is used to retrieve passages."),
    ("q19", "You start by stating the final answer. After that the model lays out its reasoning step by step."),
    # a step named as a "part" of the method, as people say it
    ("q20", "You start with the RL part, using AI feedback on pairs of responses. Later comes the supervised part, "
            "where the model revises its answers."),
])
def test_a_later_step_ranked_first_in_another_sentence_is_reversed(qid, answer):
    assert "order" in kinds(qid, answer), answer


@pytest.mark.parametrize("qid, answer", [
    ("q11", "RAG first retrieves documents. The model then generates an answer grounded in them."),
    ("q11", "Its first answer is generated from the retrieved passages."),  # an ordinal, not a rank
    ("q19", "Chain-of-thought asks for the reasoning before the final answer; the first answer token comes last."),
    ("q09", "First you train A and B. You merge BA into W once training is done."),
    ("q20", "First the model critiques its own output against the constitution, then it revises it."),
    ("q11", "The first thing the system does is retrieve passages. It then generates the answer from them."),
    ("q19", "You start by asking for the reasoning steps. The final answer comes at the end."),
    ("q20", "You start with the supervised part, where the model revises its answers. Later comes the RL part."),
])
def test_a_step_ranked_first_in_its_right_place_is_not_flagged(qid, answer):
    assert "order" not in kinds(qid, answer), answer
