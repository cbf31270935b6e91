"""Denied concepts (grader/metrics/denials.py): a concept the reference relies on, said to be not needed, not
used or no help. The sentences are written for these tests from the bank's references, one per form of denial;
none is a dev answer."""
from __future__ import annotations

import pytest

from grader.bank import load_bank
from grader.metrics.denials import check_denials

BANK = load_bank()


def denials(qid: str, text: str) -> list:
    q = BANK.get(qid)
    return check_denials(q.rubric.concepts, text, f"{q.reference}\n{q.extra_reference}", q.question)


@pytest.mark.parametrize("qid, text", [
    ("q04", "You don't actually need the reparameterization trick; autograd handles the sampling."),  # need
    ("q16", "It does not use classifier-free guidance; the prompt works through cross-attention."),  # use
    ("q15", "Switching to a Wasserstein loss doesn't really help with mode collapse."),  # no help
    ("q10", "RLHF skips supervised fine-tuning and goes straight to PPO."),  # skip
    ("q04", "No reparameterization trick is needed, since sampling is differentiable."),  # passive
    ("q17", "You do not need to train with dropped conditions; any conditional model will do."),  # need to <verb>
    ("q08", "PEFT doesn't help with multi-task serving, since each task needs its own model."),
    ("q18", "No straight-through estimator or other gradient trick is needed, the lookup is differentiable."),
    ("q04", "The reparameterization trick is not really needed; gradients pass through the sampling anyway."),
])
def test_a_concept_said_to_be_not_needed_not_used_or_no_help_is_denied(qid, text):
    found = denials(qid, text)
    assert [c.kind for c in found] == ["negation"], text
    assert found[0].text in text and found[0].fact  # the clause quoted, the concept's statement as the fact


@pytest.mark.parametrize("qid, text", [
    # scoped: true where it is said
    ("q04", "You don't need the reparameterization trick at inference, only to train the encoder."),
    ("q17", "Unlike classifier guidance, CFG doesn't need a separate classifier."),
    ("q08", "PEFT reduces GPU memory because you don't need optimizer state for the frozen weights."),
    ("q11", "The retrieved passages are never used to update the model's weights."),
    # said of something else than the question's topic
    ("q08", "The frozen weights need no optimizer states, so PEFT saves memory."),
    # the reference itself says it is not needed
    ("q11", "RAG does not require retraining when the documents change."),
    # reported to be corrected, not claimed
    ("q04", "A common mistake is to think you don't need the reparameterization trick."),
    ("q15", "People often think a Wasserstein loss doesn't help with mode collapse, but it does."),
    # the negator is another verb's ("avoid posterior collapse"), not the working verb's
    ("q18", "Discrete latents avoid posterior collapse and work well with a powerful autoregressive prior."),
    # a partial denial
    ("q15", "A Wasserstein loss doesn't fully solve mode collapse on its own."),
    # aimed at something the question does not ask about: a scoped claim, not a denial of the concept
    ("q13", "Temperature has no effect on greedy decoding, because the argmax doesn't change."),
    ("q18", "The commitment loss doesn't prevent posterior collapse; it keeps the encoder outputs near their codes."),
])
def test_a_scoped_reported_or_true_denial_is_not_flagged(qid, text):
    assert denials(qid, text) == [], text


@pytest.mark.parametrize("qid", BANK.ids)
def test_no_denial_on_the_reference_answers(qid):
    q = BANK.get(qid)
    for text in (q.reference, q.extra_reference):
        assert denials(qid, text) == [], text


def test_a_denial_costs_the_score_and_is_reported(full_grader):
    answer = ("Stable Diffusion runs the diffusion process in the latent space of a VAE, with a U-Net denoiser "
              "and a CLIP text encoder whose embeddings enter through cross-attention. It does not use "
              "classifier-free guidance; prompt adherence comes from cross-attention alone.")
    wrong = full_grader.grade("q16", answer)
    right = full_grader.grade("q16", answer.replace("It does not use classifier-free guidance; prompt adherence "
                                                    "comes from cross-attention alone.",
                                                    "Classifier-free guidance strengthens prompt adherence."))
    assert "contradiction" in wrong.flags and "contradiction" not in right.flags
    assert wrong.score < right.score - 30
    assert any("classifier-free guidance" in c.said for c in wrong.contradictions)
