"""A bank question as the judge's plain inputs (question, reference, concepts, facts, pitfalls).

Read by attribute, without importing the bank's model, so the judge keeps to its imports and any object shaped
like ``grader.bank.Question`` works. Bonus concepts are left out: the reference answer does not need them.
"""
from __future__ import annotations


def question_inputs(question) -> dict:
    """``Judge.grade``'s keyword arguments for ``question``, all but ``answer``."""
    rubric = getattr(question, "rubric", None)
    concepts, facts, pitfalls = [], [], []
    if rubric is not None:
        for concept in rubric.concepts:
            if getattr(concept, "bonus", False):
                continue
            statement = getattr(concept, "meaning", "") or (concept.statements[0] if concept.statements else "")
            concepts.append({"name": concept.name, "statement": statement, "required": bool(concept.required)})
        facts = [{"claim": fact.claim} for fact in getattr(rubric, "facts", ())]
        pitfalls = [{"name": p.name, "explanation": p.explanation} for p in getattr(rubric, "pitfalls", ())]
    return {"question": question.question, "reference": question.reference.strip(), "concepts": concepts,
            "facts": facts, "pitfalls": pitfalls}
