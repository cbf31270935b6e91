"""Rubric suggestions: the phrases that make a reference answer distinctive within its bank (TF-IDF).

A starting point a mentor edits, not a rubric: it proposes concepts with weights and a formula where the
reference has one, as YAML in the bank's rubric format.
"""
from __future__ import annotations

import re

from grader.text import STOPWORDS, fold

# "lhs = rhs" up to the end of the clause: "ΔW = BA", "h = Wx + BAx", "P(x) = ∏ P(x_t | x_<t)".
# The left side is bounded (40 + 60 characters): unbounded, every start in a 30 KB run of letters rescanned the run
# (quadratic: 28 s).
_FORMULA_RE = re.compile(r"[\w'′_()|,<>∏∑Δ^{}]{1,40}(?:\([^)]{0,60}\))?\s*[=≈]\s*[^.;:]{1,60}?"
                         r"(?=\s*(?:[.;:](?:\s|$)|$|\s\())")


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*", fold(text).lower())


def _phrases(text: str) -> list[str]:
    """Candidate phrases: 1-3 word runs that neither start nor end with a function word."""
    out = []
    for chunk in re.split(r"[.,;:()\[\]\n]+", fold(text)):
        ws = [w for w in _words(chunk) if len(w) > 2 or w in ("kl", "ai", "ml")]
        for n in (1, 2, 3):
            for i in range(len(ws) - n + 1):
                gram = ws[i : i + n]
                if gram[0] in STOPWORDS or gram[-1] in STOPWORDS or len("".join(gram)) < 3:
                    continue
                out.append(" ".join(gram))
    return out


def suggest_concepts(reference: str, corpus: list[str], top: int = 6) -> list[tuple[str, float]]:
    """Top phrases of ``reference`` by TF-IDF against ``corpus`` (other references), overlaps removed."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer=_phrases, sublinear_tf=True)
    matrix = vectorizer.fit_transform([reference, *corpus])
    row = matrix[0].toarray()[0]
    names = vectorizer.get_feature_names_out()
    ranked = sorted(((row[i], names[i]) for i in row.nonzero()[0]), key=lambda x: (-x[0], -len(x[1]), x[1]))
    chosen: list[tuple[str, float]] = []
    for score, phrase in ranked:
        words = set(phrase.split())
        if any(words & set(c.split()) for c, _ in chosen):
            continue
        chosen.append((phrase, float(score)))
        if len(chosen) == top:
            break
    return chosen


def formulas_in(reference: str) -> list[str]:
    if "=" not in reference and "≈" not in reference:
        return []
    found = [m.group(0).strip(" ,") for m in _FORMULA_RE.finditer(reference)]
    return [f for f in dict.fromkeys(found) if len(f) >= 5][:3]


def rubric_snippet(question_id: str, reference: str, corpus: list[str], top: int = 6) -> str:
    """A rubric in YAML for a mentor to edit: weights 1-3 from the TF-IDF scores."""
    import yaml

    concepts = suggest_concepts(reference, corpus, top)
    best = max((s for _, s in concepts), default=1.0) or 1.0
    items = []
    for phrase, score in concepts:
        variants = [phrase] + ([phrase.replace("-", " ")] if "-" in phrase else [])
        items.append({"name": phrase, "weight": max(1.0, round(3 * score / best * 2) / 2), "synonyms": variants,
                      "hint": f"Mention {phrase}."})
    formulas = formulas_in(reference)
    if formulas:
        items.append({"name": "formula", "weight": 1.0, "synonyms": ["formula"], "formulas": formulas,
                      "hint": "Write down the key formula."})
    header = ("# Suggested by 'grader rubric suggest' (TF-IDF against the bank): edit before use -\n"
              "# merge synonyms, mark the essential concepts 'required: true', add pitfalls.\n")
    return header + yaml.safe_dump({"question": question_id, "concepts": items}, sort_keys=False,
                                   allow_unicode=True, width=100)
