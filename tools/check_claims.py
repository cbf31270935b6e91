"""Check a rubric's facts and pitfalls on its own reference and on a fixture of sentences (authoring aid).

    .venv/bin/python tools/check_claims.py q13 [q14 ...]

Prints every flag on the reference answer (there should be none), on the fixture's `correct` sentences (none)
and, for each `wrong` sentence, the kind flagged against the kind expected (tests/data/claims/qNN.yaml).
"""
from __future__ import annotations

import sys
from pathlib import Path

from grader.bank import load_bank
from grader.metrics.denials import rubric_contradictions
from grader.metrics.keywords import score_keywords
from grader.yamlio import safe_load

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "data" / "claims"


def flags(question, text: str) -> list[str]:
    """Every flag grading would raise on ``text`` under ``question``'s rubric (facts, denials, pitfalls)."""
    out = [f"{c.kind}: {c.said!r} of {c.subject!r} in {c.text!r}" for c in rubric_contradictions(question, text)]
    out += [f"pitfall: {p.pitfall} in {p.text!r}" for p in score_keywords(question.rubric, text).pitfalls]
    return out


def main(qids: list[str]) -> int:
    bank = load_bank()
    bad = 0
    for qid in qids:
        q = bank.get(qid)
        rubric = q.rubric
        print(f"== {qid}: {len(rubric.facts)} facts, {len(rubric.pitfalls)} pitfalls")
        for text in (q.reference, q.extra_reference):
            for f in flags(q, text):
                bad += 1
                print("  REFERENCE FLAGGED", f)
        path = FIXTURES / f"{qid}.yaml"
        if not path.exists():
            print("  (no fixture)")
            continue
        fixture = safe_load(path.read_text(encoding="utf-8"))
        for text in fixture.get("correct", []):
            for f in flags(q, text):
                bad += 1
                print("  CORRECT FLAGGED", repr(text), "->", f)
        for item in fixture.get("wrong", []):
            got = flags(q, item["text"])
            kinds = {g.split(":")[0] for g in got}
            ok = item["kind"] in kinds
            bad += not ok
            print(f"  {'ok  ' if ok else 'MISS'} want {item['kind']:<9} {item['text']!r} -> {got or 'nothing'}")
    print(f"{bad} problem(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
