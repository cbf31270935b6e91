"""Correctness checks: facts, contradictions (negation / opposite / swap), term pitfalls, keyword lists by form,
reference-sentence contradictions without a rubric, and concepts recognised by meaning.

The sentences come from tests/data/claims/qNN.yaml, written for these tests from the bank's references and the
topic's common mistakes (not from any graded data set), so they exercise the mechanisms, not tuned examples.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.bank import Bank, Question, load_bank
from grader.metrics.opposites import opposites_for
from grader.metrics.reading import match_terms
from grader.metrics.reference import check_reference
from grader.metrics.form import keyword_list_shape
from grader.metrics.denials import rubric_contradictions
from grader.metrics.keywords import score_keywords
from grader.yamlio import safe_load

FIXTURES = Path(__file__).resolve().parent / "data" / "claims"
BANK = load_bank()


def flags(qid: str, text: str) -> list[str]:
    q = BANK.get(qid)
    found = [c.kind for c in rubric_contradictions(q, text)]
    return found + ["pitfall" for _ in score_keywords(q.rubric, text).pitfalls]


def fixture(qid: str) -> dict:
    return safe_load((FIXTURES / f"{qid}.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("qid", BANK.ids)
def test_every_question_has_facts_and_pitfalls(qid):
    rubric = BANK.get(qid).rubric
    assert len(rubric.facts) >= 5 and len(rubric.pitfalls) >= 3
    assert all(c.meaning for c in rubric.concepts)


@pytest.mark.parametrize("qid", BANK.ids)
def test_no_flag_on_the_reference_or_on_correct_sentences(qid):
    q = BANK.get(qid)
    for text in (q.reference, q.extra_reference, *fixture(qid)["correct"]):
        assert flags(qid, text) == [], text


def test_wrong_sentences_are_flagged_and_every_kind_is_caught():
    kinds_caught, missed, total = set(), [], 0
    for qid in BANK.ids:
        for item in fixture(qid)["wrong"]:
            total += 1
            got = flags(qid, item["text"])
            if item["kind"] in got:
                kinds_caught.add(item["kind"])
            if not got:
                missed.append((qid, item["text"]))
    assert kinds_caught == {"swap", "opposite", "negation", "pitfall", "order"}
    assert len(missed) <= total // 50, missed  # at most 2 % of the planted errors slip through


@pytest.mark.parametrize("qid, text, kind", [
    # "it" after "and" is the earlier clause's subject (top-p), not the last thing named (the temperature)
    ("q13", "Top-p sorts the tokens by probability and keeps those above the temperature cutoff, and it keeps a "
            "fixed number of tokens.", "opposite"),
    # a sentence opening with "It" carries the previous sentence's subject
    ("q08", "Full fine-tuning is expensive for a large model. It updates only a small number of parameters.",
     "opposite"),
    # a component's property the reference states ("learned codebook") is a fact about that component
    ("q18", "The codebook is not learned; it stays a set of random vectors chosen at the start.", "negation"),
    # a clause that explains the subject named before it ("works because ...") is said of that subject
    ("q07", "In-context learning works because the model takes gradient steps on the examples.", "opposite"),
])
def test_a_contradiction_reaches_its_subject(qid, text, kind):
    assert kind in flags(qid, text), text


@pytest.mark.parametrize("qid, text, kinds", [
    # a subject inside brackets closed before the phrase is an aside: nothing after it is said of it
    ("q05", "DDPMs define a fixed forward Markov chain q(x_t|x_{t-1}) = N(sqrt(1-β_t) x_{t-1}, β_t I) that "
            "gradually destroys data over T steps.", []),
    ("q10", "InstructGPT also mixed in pretraining gradients (PPO-ptx) to reduce the alignment tax.", []),
    ("q13", "Top-p (nucleus sampling) keeps a fixed number of tokens.", ["opposite", "pitfall"]),
    # the last term of a formula is not what the formula is called
    ("q04", "Training maximizes the ELBO = E_q[log p(x|z)] - KL(q(z|x) || p(z)), a lower bound on log p(x).", []),
    # an apposition after a subject: the sentence is about that subject ...
    ("q04", "The ELBO, the reconstruction term minus the KL term, is a lower bound on log p(x).", []),
    ("q04", "The ELBO, the reconstruction term minus the KL term, is an upper bound on log p(x).", ["opposite"]),
    # ... which the apposition may name again; an adverbial phrase between commas is no apposition
    ("q14", "FID, the Fréchet Inception Distance, is the mean squared error between raw pixels of real and "
            "generated images.", ["opposite"]),
    ("q09", "So for a weight matrix W, instead of learning a full delta W, LoRA learns two thin matrices B and A.", []),
    # a verb that does away with a false property denies it
    ("q10", "DPO skips the explicit reward model and trains on the preference pairs directly.", []),
    ("q10", "DPO trains an explicit reward model first.", ["opposite"]),
    # a negating prefix taken off is an opposite no lexicon lists ("non-differentiable" -> "differentiable") ...
    ("q18", "The codebook lookup is differentiable, so no special estimator is needed.", ["opposite"]),
    ("q18", "The codebook lookup is non-differentiable, so gradients are copied straight through.", []),
    # ... and a word after "how" names a dimension, not a value
    ("q13", "Temperature is a dial on how sharp those odds are: turn it down and the favourite wins.", []),
])
def test_brackets_formulas_appositions_and_dropping_verbs(qid, text, kinds):
    assert flags(qid, text) == kinds, text


@pytest.mark.parametrize("text, wrong", [
    ("Setting the temperature higher helps too, since the model is less confident.", True),
    ("Lowering the temperature reduces hallucination, while raising it makes unlikely tokens more likely.", False),
    ("A higher temperature increases randomness, so lowering it helps reduce hallucination.", False),
])
def test_a_wrong_remedy_is_a_pitfall_in_any_words(text, wrong):
    """q12's "higher temperature reduces hallucination" as its terms say it: raising it, said to help."""
    assert ("pitfall" in flags("q12", text)) is wrong, text


@pytest.mark.parametrize("qid, text, kind", [
    ("q01", "Generative models learn only the decision boundary between classes.", "swap"),
    ("q13", "Top-p keeps a fixed number of candidates, no matter how the probability is spread.", "opposite"),
    ("q04", "The ELBO is an upper bound on the log-likelihood, so we train by minimising it.", "opposite"),
    ("q09", "The low-rank matrices can't be merged into W after training.", "negation"),
])
def test_each_kind_of_contradiction_is_named(qid, text, kind):
    """On errors that no dev answer of these questions makes (the dev misconceptions are other errors)."""
    assert kind in flags(qid, text)


@pytest.mark.parametrize("text", ["LoRA does not add latency at inference.",
                                  "It is a myth that LoRA adds inference latency."])
def test_a_negated_misconception_is_not_flagged(text):
    assert flags("q09", text) == []


def test_contradiction_costs_the_score_and_is_reported_with_its_fact(full_grader):
    right = ("The ELBO is a lower bound on log p(x); we maximise it. The encoder outputs mu and sigma of q(z|x), "
             "the decoder reconstructs x, the KL term pulls q towards the N(0, I) prior, and the reparameterization "
             "trick z = mu + sigma * eps lets gradients flow through the sampling.")
    wrong = right.replace("a lower bound on log p(x); we maximise it", "an upper bound on log p(x); we minimise it")
    good, bad = full_grader.grade("q04", right), full_grader.grade("q04", wrong)
    assert "contradiction" in bad.flags and "contradiction" not in good.flags
    assert bad.score < good.score / 2
    entry = bad.to_dict()["contradictions"][0]
    assert "upper bound" in entry["text"] and entry["fact"] and entry["kind"] == "opposite"
    assert any(line.startswith("Contradiction:") for line in bad.feedback)


def test_a_comparison_with_a_number_is_read_as_words():
    """"T > 1" and "T < 1" say opposite things; a ">" between words is a list separator, "->" an arrow."""
    from grader.text import tokenize, words

    assert [t.text for t in tokenize("T > 1")] == ["t", "greater", "than", "1"]
    assert words("T<0.5") == ["t", "less", "than", "0", "5"]
    assert words("T ≥ 1") == words("T >= 1") == ["t", "greater", "than", "1"]
    assert words("encoder -> mu") == ["encoder", "mu"]
    assert words("reasoning > steps > answer") == ["reasoning", "steps", "answer"]


@pytest.mark.parametrize("text, kind", [
    ("T > 1 sharpens the distribution.", "opposite"),
    ("With T above 1 the distribution gets sharper.", "opposite"),  # a clause opening on "with" names its condition
    ("A temperature greater than 1 flattens the distribution.", None),  # "than 1" sets aside the number only
    ("With a high temperature the output becomes more random.", None),
])
def test_the_reference_notation_names_a_subject(text, kind):
    assert flags("q13", text) == ([kind] if kind else [])


# ------------------------------------------------------------------ without a rubric


REFERENCE = ["When the string is tighter, the pitch will be higher"]


@pytest.mark.parametrize("answer, contradicts", [
    ("The pitch will be lower", True),
    ("A looser string gives a lower pitch", False),  # two flips cancel
    ("The pitch will be higher", False),
    ("A tighter string gives a higher pitch", False),
])
def test_reference_sentences_are_facts_without_a_rubric(answer, contradicts):
    assert bool(check_reference(answer, REFERENCE, opposites_for())) is contradicts


@pytest.mark.parametrize("answer, references, contradicts", [
    # whether the thing is there is the claim; the words around it are the reference's business
    ("There was no gap in the circuit.", ["Terminal 1 and the positive terminal are separated by the gap"], True),
    ("There is a gap in the connection.", ["Terminals 1 and 2 are connected", "There is no gap between terminals 1 "
                                                                            "and 2"], True),
    ("There is a gap in the path.", ["The open switch creates a gap"], False),
    ("There is no gap in the path.", ["There is no gap between the terminals"], False),
    ("When there is not one already for a specific class.", ["A default constructor is created by the compiler"],
     False),
])
def test_a_thing_said_to_be_there_or_not_against_every_reference(answer, references, contradicts):
    assert bool(check_reference(answer, references, opposites_for())) is contradicts, answer


def test_negated_references_count_both_ways():
    refs = ["Terminal 1 and the positive terminal are separated by the gap",
            "Terminal 1 and the positive terminal are not connected"]
    assert check_reference("terminal 1 is connected to the positive terminal", refs, opposites_for())
    assert not check_reference("terminal 1 is not connected to the positive terminal", refs, opposites_for())


def test_a_coach_bank_without_rubric_scores_the_opposite_claim_low():
    from grader import Grader

    bank = Bank("<test>", (Question("pitch", "What happens to the pitch when the string is tightened?", "Easy",
                                    ("physics",), REFERENCE[0]),), {})
    coach = Grader(bank, metrics="rouge")
    right, wrong = coach.grade("pitch", "The pitch will be higher"), coach.grade("pitch", "The pitch will be lower")
    kept = 1 - coach.config.reference_contradiction_factor  # the documented cost without a rubric
    assert "contradiction" in wrong.flags and "contradiction" not in right.flags
    assert wrong.score < right.score * kept + 1e-6


# ------------------------------------------------------------------ pitfalls as term groups


def test_term_groups_match_in_any_order_within_a_clause_and_respect_negation():
    groups = (("lora", "low-rank adapter"), ("latency", "slower"))
    assert match_terms(groups, "At inference it is slower, because LoRA runs an extra branch.") is None  # 2 clauses
    assert match_terms(groups, "Inference gets slower with LoRA.") is not None
    assert match_terms(groups, "LoRA does not make inference slower.") is None


# ------------------------------------------------------------------ keyword lists


@pytest.mark.parametrize("text", [
    "temperature softmax(logits/T) T<1 sharp T>1 flat greedy top-k top-p nucleus cumulative probability renormalize",
    "encoder -> mu, sigma; decoder; latent z ~ N(0, I); ELBO; KL(q(z|x) || p(z)); reparameterization",
    "zero-shot, few-shot, chain-of-thought, role prompting, system prompts, delimiters",
    "- generator\n- discriminator\n- minimax game\n- mode collapse\n- Wasserstein loss",
    "Key ideas: retrieval, embeddings, vector database, chunking, reranking, grounding",
    "• FID • Inception Score • precision • recall • BLEU • perplexity",
    "forward noising → reverse denoising → U-Net → epsilon prediction → DDPM → sampling steps",
    "Key points: generator = maps noise z to a fake image; discriminator = real vs fake score D(x); minimax "
    "objective; non-saturating loss; mode collapse; Wasserstein distance",  # notes after a lead-in
])
def test_keyword_lists_are_recognised_whatever_the_punctuation(text):
    assert keyword_list_shape(text) is not None


@pytest.mark.parametrize("text", [
    "Temperature divides the logits before the softmax: below one it sharpens the distribution, above one it "
    "flattens it. Top-k keeps the k most likely tokens; top-p keeps the smallest set reaching probability p.",
    "Common techniques are zero-shot prompting, where you only give instructions; few-shot prompting, where you "
    "include a few examples; and chain-of-thought, where you ask the model to reason step by step.",
    "Key ideas: the generator maps random noise to fake images; the discriminator learns to tell real from fake; "
    "both are trained together in a minimax game; at equilibrium the fakes look real.",
])
def test_prose_is_not_a_keyword_list(text):
    assert keyword_list_shape(text) is None


def test_every_reference_answer_is_not_penalised_as_a_list(full_grader):
    for q in BANK:
        assert "keyword-list" not in full_grader.grade(q.id, q.reference).flags, q.id


# ------------------------------------------------------------------ meaning


def test_a_concept_said_in_plain_words_is_covered_by_meaning(full_grader):
    spoken = ("So um the idea is you keep the big pretrained weight matrix frozen, and you only learn two skinny "
              "matrices, B and A, and their product is the change to the weights. After training you just add "
              "that product into the original weights, so at serving time it costs exactly the same as before.")
    report = full_grader.grade("q09", spoken)
    via = {m.concept: m.via for m in report.keywords.matched}
    assert "meaning" in via.values()
    assert "missing-required" not in report.flags


def test_evaluate_reads_jsonl_with_several_references(tmp_path):
    from typer.testing import CliRunner

    from grader.cli import app

    rows = [
        {"qid": "s1", "question": "What happens to the pitch when the string is tightened?",
         "refs": "When the string is tighter, the pitch will be higher || The pitch goes up", "answer": a, "grade": g}
        for a, g in [("The pitch will be higher", 5), ("The pitch goes up", 5), ("The pitch will be lower", 1),
                     ("It gets lower", 1)]]
    path = tmp_path / "graded.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["evaluate", "--dataset", str(path), "--id-col", "qid", "--reference-col",
                                      "refs", "--answer-col", "answer", "--score-col", "grade", "--references-sep",
                                      " || ", "--metrics", "rouge", "--format", "json",
                                      "--predictions", str(tmp_path / "p.csv")])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output[result.output.index("{"):])
    assert data["n"] == 4
    import csv

    scores = [float(r["score"]) for r in csv.DictReader((tmp_path / "p.csv").open(encoding="utf-8"))]
    assert min(scores[:2]) > 90  # "goes up" is graded against the second reference, not only the first
    assert max(scores[2:]) < min(scores[:2])  # "lower" contradicts the first


@pytest.mark.parametrize("fmt", ["text", "md", "html", "csv", "json"])
def test_every_report_format_quotes_the_clause_and_states_the_fact(fmt):
    from typer.testing import CliRunner

    from grader.cli import app

    result = CliRunner().invoke(app, ["grade", "-q", "q04", "--metrics", "keywords,rouge", "-f", fmt, "--answer",
                                      "The ELBO is an upper bound on the log-likelihood, so we train by minimising it."])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "The ELBO is an upper bound on the log-likelihood" in out
    assert "lower bound on log p(x)" in out  # the fact, from the rubric


def test_a_vague_but_correct_answer_ranks_above_a_list_and_a_wrong_answer(full_grader):
    vague = "A diffusion model learns to remove noise step by step, so it can start from pure noise and turn it into an image."
    listed = "forward process, Gaussian noise, T steps, reverse denoising, U-Net, epsilon prediction, DDPM, variational bound"
    wrong = ("The forward process is learned by a neural network, while the reverse process is fixed and just adds "
             "Gaussian noise to the image.")
    v, k, w = (full_grader.grade("q05", a) for a in (vague, listed, wrong))
    assert v.score >= full_grader.config.gist_floor and not {"misconception", "contradiction"} & set(v.flags)
    assert "keyword-list" in k.flags and "contradiction" in w.flags
    assert v.score > k.score and v.score > w.score


def test_the_gist_floor_lifts_a_plain_answer_that_states_an_essential_point(full_grader):
    plain = "It learns how to take the noise back out of a picture, one small step after another."
    report = full_grader.grade("q05", plain)
    assert "gist" in report.flags and report.score == full_grader.config.gist_floor


# ------------------------------------------------------------------ what a clause does not claim


@pytest.mark.parametrize("qid, text", [
    # a negation stays in its own list item when the next item has a word of its own
    ("q02", "GANs: adversarial training, no explicit likelihood, prone to mode collapse."),
    # "versus" names one side of a contrast, it denies neither side
    ("q14", "Precision and recall separate fidelity versus coverage of the real distribution."),
    # the object of a comparison names the other thing, it is not said of the subject
    ("q04", "The KL term pulls the approximate posterior close to a standard normal."),
    # the whole the question asks about owns what its parts do
    ("q11", "RAG embeds the query, retrieves the top-k passages and adds them to the prompt."),
    # sampling is the learned reverse process at work: what it does there is said of it too
    ("q05", "At generation time you start from random noise and denoise it step by step into an image."),
    # a relative clause ends at its comma: what it names is neither the main clause's subject nor in its terms
    ("q07", "Unlike fine-tuning, which takes gradient steps on thousands of examples, few-shot prompting only "
            "shows the examples in the prompt."),
    ("q11", "The first RAG system, which combined a dense retriever with a seq2seq generator, answers by first "
            "fetching passages and then writing."),
    # "static" in plain speech is the noise itself, not the opposite of "learned"
    ("q05", "You keep sprinkling static on a photo until it is all static, and a network learns to clean it up."),
])
def test_sentences_that_claim_no_contradiction(qid, text):
    assert flags(qid, text) == [], text


def test_a_negation_runs_over_a_list_of_bare_items():
    from grader.metrics.reading import Reading, find_all, phrase_tokens

    reading = Reading.of("LoRA adds no latency, memory or compute at inference.")
    [(first, last, own)] = find_all(phrase_tokens("memory"), reading)
    assert reading.negated(first, last, own)
    reading = Reading.of("It has no likelihood, prone to mode collapse.")
    [(first, last, own)] = find_all(phrase_tokens("mode collapse"), reading)
    assert not reading.negated(first, last, own)


# ------------------------------------------------------------------ the topic, the gist, another question


@pytest.mark.parametrize("qid, text", [
    ("q19", "The model does not write out any intermediate steps; it simply answers faster."),
    ("q17", "The method does not extrapolate at all; it just uses the prompt."),
    # "Constitutional AI" names the topic, not the constitution inside it; RLHF is named later, in its own clause
    ("q20", "Constitutional AI trains the model on its own revisions. No reinforcement learning is used at any "
            "stage, which is why it is cheaper than RLHF."),
    ("q20", "Constitutional AI trains the model on its own revisions. There is no reinforcement learning "
            "involved; the principles replace the human labels of RLHF."),
])
def test_a_sentence_that_names_no_subject_is_about_the_question_s_topic(qid, text):
    """No subject named: what it negates of the topic's own facts is a negation of the topic."""
    assert flags(qid, text) == ["negation"], text


@pytest.mark.parametrize("qid, text, kinds", [
    # "it" does not stand for a subject named in the plural: it is the question's topic
    ("q18", "Standard VAEs have a continuous latent, so it cannot be discrete.", ["negation"]),
    ("q18", "Standard VAEs have a continuous latent, but it is discrete here.", []),
    # a clause that opens on a condition of its own is a new case, not said of the subject before it
    ("q13", "T = 1 leaves the distribution as it is, and if you raise it above one it flattens.", []),
    # ... while a singular subject is carried as before
    ("q04", "We maximise the ELBO, so it is an upper bound on the likelihood.", ["opposite"]),
])
def test_it_does_not_stand_for_a_plural_subject(qid, text, kinds):
    assert flags(qid, text) == kinds, text


@pytest.mark.parametrize("qid, text", [
    ("q19", "Before the final answer it writes out intermediate steps, not after it."),  # negates when, not what
    ("q17", "It trains one network without a separate classifier, combines conditional and unconditional "
            "predictions at sampling time."),  # the negator stays in its list item
    # an answer that names no subject of the question may be about another topic altogether
    ("q20", "It replaces classifier guidance, which needed a separate classifier."),
    ("q17", "Guidance replaces the older approach, which needed a separate classifier."),
    # a clause about another thing ("the older method", "previous approaches") is not about the topic
    ("q17", "Classifier-free guidance mixes conditional and unconditional predictions; it is simpler because the "
            "older method needed a separate classifier."),
    ("q17", "Classifier-free guidance mixes conditional and unconditional predictions. Previous approaches needed "
            "a separate classifier."),
])
def test_a_topic_sentence_without_a_negated_fact_is_not_flagged(qid, text):
    assert flags(qid, text) == [], text


@pytest.mark.parametrize("qid, answer", [
    ("q12", "Sometimes the model just invents things that sound right, and you can cut that down by giving it "
            "real documents to work from."),
    ("q14", "You look at how good the outputs are with some numbers, and you also ask people which outputs they "
            "prefer."),
    # no word of the rubric at all: 0.38 close to an essential concept (meaning.gist_threshold)
    ("q12", "It invents things because it always wants to give some answer; giving it real pages to read from "
            "cuts that down."),
])
def test_an_answer_in_general_words_gets_the_gist_and_the_clause_is_quoted(full_grader, answer, qid):
    report = full_grader.grade(qid, answer)
    assert "gist" in report.flags and report.score >= full_grader.config.gist_floor
    quoted = [f for f in report.feedback if f.startswith("Gist:")]
    assert len(quoted) == 1 and quoted[0].split('"')[1] in answer


def test_an_answer_that_only_names_the_topic_gets_no_gist(full_grader):
    report = full_grader.grade("q07", "Prompt engineering? I have heard the term, no idea what it means.")
    assert "gist" not in report.flags and report.score < full_grader.config.gist_floor


@pytest.mark.parametrize("asked, answered, answer", [
    ("q14", "q09 q08", "LoRA keeps the pretrained weights frozen and trains two small low-rank matrices whose product "
                   "is added to each weight matrix; after training the product can be merged back in."),
    ("q03", "q13", "Temperature divides the logits before the softmax: below one it sharpens the distribution, "
                   "above one it flattens it, and top-p keeps the smallest set of tokens whose probability "
                   "reaches p."),
])
def test_an_answer_to_another_bank_question_scores_the_cap_and_names_that_question(full_grader, asked, answered,
                                                                                   answer):
    report = full_grader.grade(asked, answer)
    assert "off-question" in report.flags and report.score <= full_grader.config.off_question_cap
    assert any(f"fits {qid} " in f for f in report.feedback for qid in answered.split())  # LoRA is a PEFT method
    own = full_grader.grade(answered.split()[0], answer)  # the same answer, asked the question it answers
    assert "off-question" not in own.flags and not own.contradictions and own.score >= full_grader.config.gist_floor


def test_a_phrase_in_a_second_predicate_is_not_said_of_the_first_predicate_s_object():
    # "small low-rank" is said of the matrices LoRA trains, not of the weights it keeps frozen
    assert flags("q09", "LoRA keeps the pretrained weights frozen and trains two small low-rank matrices.") == []


def test_an_answer_that_gets_this_question_wrong_is_not_called_an_answer_to_another():
    from grader.scoring.combine import combine, load_config

    config, q = load_config(), BANK.get("q19")
    wrong = "Chain of thought is when you chain several prompts together, each one feeding the next."
    vague = "It is a prompting thing people use with chat models."
    for answer, expected in ((wrong, "misconception"), (vague, "off-question")):
        keywords = score_keywords(q.rubric, answer)
        assert keywords.coverage < 0.5
        # as if the answer's topic were clearly another question's (prompt chaining is a prompt-engineering idea)
        flags_ = combine(config, q.question, answer, keywords, None, None, closer_question="q07").flags
        other = ({"misconception", "off-question"} - {expected}).pop()
        assert expected in flags_ and other not in flags_, (answer, flags_)


@pytest.mark.parametrize("qid, answer", [
    ("q12", "Hallucination? I think the model just makes stuff up that sounds true, but honestly I have no idea why."),
    ("q05", "I think it turns noise into a picture step by step, but I do not really know how."),
])
def test_a_short_answer_that_admits_not_knowing_gets_no_gist(full_grader, qid, answer):
    report = full_grader.grade(qid, answer)
    assert "gist" not in report.flags and report.score < full_grader.config.gist_floor


@pytest.mark.parametrize("qid, answer", [
    ("q17", "It mixes a conditional and an unconditional prediction with a guidance scale, but I don't know how "
            "the training works."),
    ("q11", "You retrieve documents and add them to the prompt, I think, but honestly I have no idea when to use it."),
])
def test_an_admission_scores_below_the_gist_floor_whatever_terms_it_names(full_grader, qid, answer):
    """Terms recognised, the point not known: capped (its terms alone would score above the cap)."""
    report = full_grader.grade(qid, answer)
    assert "admits-not-knowing" in report.flags and "gist" not in report.flags
    assert report.score <= full_grader.config.admission_cap < full_grader.config.gist_floor


def test_a_list_of_the_reference_s_own_terms_is_still_a_list(full_grader):
    """A list that drops the reference's verbs and keeps its terms is close to it in ROUGE-L (about 0.8): still
    recognition, not understanding. The reference itself, a list for q03, q08 and q14, is not penalised."""
    terms = ("full fine-tuning · all weights · costly · catastrophic forgetting · PEFT · adapters · prefix tuning · "
             "LoRA · low-rank matrices · freeze W · train BA · memory · multi-task serving")
    report = full_grader.grade("q08", terms)
    assert report.rouge.rougeL.f1 >= 0.7 and "keyword-list" in report.flags
    assert "keyword-list" not in full_grader.grade("q08", BANK.get("q08").reference).flags


def test_an_admission_is_the_speaker_s_and_the_answer_is_short():
    from grader.metrics.form import admits_not_knowing

    assert admits_not_knowing("RAG? Haven't come across that term, sorry. I'd have to look it up.")
    assert admits_not_knowing("I'm not sure, maybe something with noise?")
    assert admits_not_knowing("Diffusion? I'm honestly not confident about the details, sorry.")
    assert admits_not_knowing("It adds noise, I think, but I genuinely couldn't walk you through the rest.")
    # the model not knowing is a claim about the model, not an admission
    assert admits_not_knowing("It makes things up because the model doesn't know what is true.") is None
    long_answer = ("Temperature divides the logits before the softmax, top-k keeps the k most likely tokens and "
                   "top-p the smallest set whose probability reaches p; I'm not sure which default the API uses, "
                   "but lower temperature makes the output more focused and higher more varied.")
    assert admits_not_knowing(long_answer) is None


def test_an_admission_of_not_knowing_is_not_called_an_answer_to_another_question():
    from grader.scoring.combine import combine, load_config

    config, q = load_config(), BANK.get("q19")
    for answer, off in (("I'm not sure. I think it's when you chain prompts, so each one feeds the next?", False),
                        ("I think it's when you chain prompts, so each one feeds the next?", True)):
        keywords = score_keywords(q.rubric, answer)
        flags_ = combine(config, q.question, answer, keywords, None, None, closer_question="q07").flags
        assert ("off-question" in flags_) is off, (answer, flags_)


def test_an_opposite_that_is_a_function_word_is_not_dropped_from_the_phrase():
    # "lower bound" flipped to "same bound" would match as "bound" ("same" is a function word): not a flip
    assert flags("q02", "VAEs, which squash the data into a hidden space and decode it back, with that variational "
                        "bound thing.") == []
    assert flags("q04", "The ELBO is an upper bound on the log-likelihood.") == ["opposite"]


@pytest.mark.parametrize("text", [
    "Key ideas: zero-shot, few-shot, in-context examples, chain-of-thought, role prompting, system prompt, delimiters",
    "* Inception Score (IS)\n* FID\n* precision/recall\n* perplexity\n* BLEU\n* human evaluation\n* LLM-as-a-judge",
])
def test_hyphenated_terms_and_acronyms_are_list_items_not_prose(text):
    assert keyword_list_shape(text) is not None


@pytest.mark.parametrize("apostrophe", ["'", "\u2019", "\u2018"])
def test_a_negation_with_a_typographic_apostrophe_is_a_negation(apostrophe):
    from grader.text import tokenize

    assert [t.text for t in tokenize(f"LoRA doesn{apostrophe}t add latency")] == ["lora", "doesnt", "add", "latency"]
    assert flags("q09", f"BA can{apostrophe}t be merged into W after training.") == ["negation"]


def test_a_double_quote_for_an_apostrophe_keeps_the_negation_one_word():
    from grader.text import tokenize

    assert [t.text for t in tokenize('the bulbs aren"t in the same path')][:2] == ["the", "bulbs"]
    assert "arent" in [t.text for t in tokenize('the bulbs aren"t in the same path')]
    assert [t.text for t in tokenize('he said "that" twice')] == ["he", "said", "that", "twice"]


def test_a_stated_misconception_takes_a_complete_answer_down_to_a_vague_but_correct_one(full_grader):
    """misconception_factor: the median pitfall penalty (0.15) takes a perfect answer to the gist floor."""
    answer = BANK.get("q01").reference + " It follows that a generative model can never be used for classification."
    report = full_grader.grade("q01", answer)
    assert [p.penalty for p in report.keywords.pitfalls] == [0.15]
    assert report.score <= full_grader.config.gist_floor


@pytest.mark.parametrize("qid, text", [
    # a belief called a mistake is neither claimed nor denied
    ("q05", "A common mistake is to think the network learns both directions, noising and denoising. Actually the "
            "forward process is fixed."),
    ("q06", "A common mistake is to think autoregressive models are slow to train because they process one token "
            "at a time. Actually training is parallel."),
    # the negation of an opening "since" clause ends at its comma
    ("q18", "Since the argmin lookup has no gradient, a straight-through estimator copies gradients from the "
            "decoder to the encoder."),
    # ... and before a phrase that is the subject of its own verb
    ("q18", "You avoid the problem where the decoder ignores the code, the reconstructions are sharp."),
    # "1" is not the "1" of "1/2"
    ("q03", "At the equilibrium the generated distribution matches the data and D outputs 1/2 everywhere."),
])
def test_what_a_sentence_disowns_or_a_negation_does_not_reach_is_not_flagged(qid, text):
    assert flags(qid, text) == [], text


def test_a_negation_carries_through_want_to():
    """ "don't want to train a separate classifier" denies the classifier, as "don't train" would."""
    assert flags("q17", "With classifier-free guidance you don't want to train a separate classifier.") == []
    assert flags("q17", "Classifier-free guidance trains a separate classifier on noisy images.") != []


def test_confident_and_uncertain_are_opposites():
    """A lexicon pair (grader/data/opposites.yaml), not a q14 phrase: the flip follows from the fact's "confident"."""
    assert "opposite" in flags("q14", "The Inception Score is high when the classifier is uncertain about each "
                                      "generated image.")
    assert flags("q14", "The Inception Score is high when the classifier is confident about each generated image.") == []
