"""A rubric checked with the metrics against its own reference answer (``grader bank check``).

A concept none of whose phrasings occur in the reference is probably a typo; a fact or pitfall that flags the
reference would flag every correct answer. Lives in metrics, not bank, because it runs the metrics.
"""
from __future__ import annotations

from grader.bank.loading import Finding
from grader.bank.model import Question, Rubric


def rubric_warnings(question: Question, rubric: Rubric) -> list[Finding]:
    """Concepts none of whose phrasings occur in the reference: probably a typo or a rubric out of step."""
    from grader.metrics.keywords import phrase_occurs

    reference = "\n".join([question.reference, question.extra_reference, *question.exemplars])
    out = []
    for i, concept in enumerate(rubric.concepts):
        if concept.bonus:
            continue
        if not any(phrase_occurs(p, reference) for p in concept.synonyms) and not any(
            phrase_occurs(p, reference, formula=True) for p in concept.formulas
        ):
            out.append(Finding("warning", rubric.path, f"concept {concept.name!r}: no synonym or formula "
                               "occurs in the reference answer (mark it 'bonus: true' if it goes beyond the reference on purpose)",
                               question.id, f"concepts[{i}]"))
    out.extend(correctness_warnings(question, rubric, reference))
    out.extend(own_statement_warnings(question, rubric))
    out.extend(shrunk_denials(question, rubric))
    return out


def shrunk_denials(question: Question, rubric: Rubric) -> list[Finding]:
    """A `denies` phrase of several words that reads as one word: function words are skipped in matching, so
    "from people" denies every "people" and "all tokens at once" every "tokens". Write the word alone if that
    is what is meant, or a phrase with two content words."""
    from grader.metrics.reading import phrase_tokens

    out = []
    for i, fact in enumerate(rubric.facts):
        for phrase in fact.denies:
            read = phrase_tokens(phrase)
            if len(read) == 1 and len(phrase.split()) > 1:
                out.append(Finding("warning", rubric.path, f"denies {phrase!r} reads as the one word "
                                   f"{read[0].text!r} (function words are skipped): write the word alone or "
                                   "a phrase with two content words", question.id, f"facts[{i}].denies"))
    return out


def correctness_warnings(question: Question, rubric: Rubric, reference: str) -> list[Finding]:
    """Facts and pitfalls must hold on the model answer: a flag on the reference is a rubric bug."""
    from grader.metrics.claims import check_facts
    from grader.metrics.keywords import score_keywords
    from grader.metrics.opposites import opposites_for

    out = []
    context = f"{question.reference}\n{question.extra_reference}"
    for c in check_facts(rubric.facts, reference, opposites_for(rubric.opposites), context=context,
                         question=question.question):
        out.append(Finding("warning", rubric.path, f"the reference answer contradicts a fact ({c.kind}: "
                           f"{c.said!r} of {c.subject!r} in {c.text.strip()!r}): fix the fact's phrases",
                           question.id, "facts"))
    for hit in score_keywords(rubric, reference).pitfalls:
        out.append(Finding("warning", rubric.path, f"pitfall {hit.pitfall!r} fires on the reference answer "
                           f"({hit.text.strip()!r})", question.id, "pitfalls"))
    return out


def own_statement_warnings(question: Question, rubric: Rubric) -> list[Finding]:
    """The rubric's own true sentences (each fact's claim, each pitfall's explanation, each concept's statements)
    must not be flagged by its facts, denials or pitfalls: a flag on them is a phrase that will fire on correct
    answers too, the way a mentor would put them (a candidate who explains a misconception away)."""
    from grader.metrics.denials import rubric_contradictions
    from grader.metrics.keywords import score_keywords

    texts = [(f"facts[{i}].claim", f.claim) for i, f in enumerate(rubric.facts) if f.claim]
    texts += [(f"pitfalls[{i}].explanation", p.explanation) for i, p in enumerate(rubric.pitfalls) if p.explanation]
    texts += [(f"concepts[{i}].statements", m) for i, c in enumerate(rubric.concepts) for m in c.meanings]
    out = []
    for label, text in texts:
        said = [f"{c.kind}: {c.said!r} of {c.subject!r}" for c in rubric_contradictions(question, text, rubric)]
        said += [f"pitfall {hit.pitfall!r}" for hit in score_keywords(rubric, text).pitfalls]
        if said:
            out.append(Finding("warning", rubric.path, f"the rubric's own sentence {text.strip()!r} is flagged "
                               f"({'; '.join(said)}): a phrase that fires on a true statement", question.id, label))
    return out
