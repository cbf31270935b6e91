"""Feedback a learner can act on: what was covered, what to mention next time, what was wrong."""
from __future__ import annotations

from grader.metrics.keywords import KeywordResult

FLAG_ADVICE = {
    "empty": "No answer was given: even a partial answer earns credit.",
    "keyword-list": "The answer reads as a list of terms: explain how the ideas connect, in full sentences.",
    "restates-question": "The answer repeats the question: say what the answer is, not what was asked.",
    "missing-required": "An essential point is missing (see 'Essential' below), so the score is capped below Good.",
    "misconception": "The answer states a known misconception, which costs a share of the score.",
    "admits-not-knowing": "The answer says you don't know the point: the terms it names show recognition, not "
                          "understanding, so the score stays below an answer that explains the idea in any words.",
    "gist": "The answer gets the gist (an essential point, nothing wrong) but few specifics: add the points below.",
    "contradiction": "The answer contradicts a fact a correct answer must get right (quoted below), which costs "
                     "most of the score: the right words do not make up for a wrong claim.",
    "not-english": "The answer seems to be in {language}, but the question bank is English: this score only "
                   "measures overlap with an English model answer and is unreliable. Answer in English for a "
                   "score that means something.",
}


def build_feedback(keywords: KeywordResult | None, semantic: float | None, flags: tuple[str, ...],
                   max_missing: int = 4, contradictions: tuple = (), language: str | None = None,
                   gist: str | None = None) -> list[str]:
    """``gist``: the clause that gave the gist of an essential point in plain words, quoted as evidence."""
    lines: list[str] = [FLAG_ADVICE[f].format(language=language or "another language")
                        for f in flags if f in FLAG_ADVICE]
    if gist and "gist" in flags:
        lines.append(f"Gist: \"{gist.strip()}\" is the right idea, in general terms.")
    for c in contradictions:
        lines.append(f"Contradiction: \"{c.text.strip()}\" — but {_lower_first(c.fact)}")
    if keywords is not None:
        if keywords.matched:
            names = ", ".join(m.concept for m in keywords.matched)
            lines.append(f"Covered: {names}.")
        missing = sorted((m for m in keywords.missing if not m.bonus), key=lambda m: (not m.required, -m.weight))
        for item in missing[:max_missing]:
            advice = item.hint or f"Mention {item.concept}."
            lines.append(("Essential: " if item.required else "To add: ") + advice)
        if len(missing) > max_missing:
            rest = ", ".join(m.concept for m in missing[max_missing:])
            lines.append(f"Also worth mentioning: {rest}.")
        extras = [m.concept for m in keywords.missing if m.bonus]
        if extras:
            lines.append(f"For extra credit: {', '.join(extras)}.")
        for hit in keywords.pitfalls:
            lines.append(f"Misconception: \"{hit.text}\". {hit.explanation}".strip())
    if semantic is not None:
        if semantic >= 0.8:
            lines.append("Overall the answer says what the model answer says.")
        elif semantic >= 0.4:
            lines.append("The answer is on topic but covers only part of the model answer.")
        else:
            lines.append("The answer is far from the model answer: read it and its key points, then try again.")
    return lines


def _lower_first(text: str) -> str:
    """"The ELBO is ..." -> "the ELBO is ...", keeping acronyms and names as they are."""
    first = text.split(" ", 1)[0]
    return text[0].lower() + text[1:] if first[:1].isupper() and first[1:].islower() else text
