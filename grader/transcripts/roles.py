"""Who is the candidate: roles from labels, a declared name, or the shape of the conversation.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from grader.transcripts.labels import _label_role
from grader.transcripts.model import (
    CANDIDATE,
    INTERVIEWER,
    Turn,
    _collapse,
    _Draft,
    _error,
    _key,
    _name_key,
)

# Roles --------------------------------------------------------------------------------------------


def detect_roles(turns: Sequence[Turn], candidate: str | None = None,
                 source: str = "<string>") -> tuple[tuple[Turn, ...], str | None]:
    """Give every speaker a role and return the turns with the candidate's name.

    ``candidate`` names the candidate explicitly (matched case-insensitively; an unknown name is an
    error listing the speakers). Otherwise labels decide (Interviewer/Q vs Candidate/A), and among
    unlabelled speakers the candidate is the one with longer turns that asks fewer questions.
    """
    return _assign_roles(list(turns), candidate, None, source)


def _assign_roles(turns: list[Turn], candidate: str | None, declared: str | None,
                  source: str) -> tuple[tuple[Turn, ...], str | None]:
    names: dict[str, str] = {}
    preset: dict[str, str] = {}
    for turn in turns:
        if turn.speaker is None:
            continue
        k = _name_key(turn.speaker)
        names.setdefault(k, turn.speaker)
        if turn.role and k not in preset:
            preset[k] = turn.role
    roles: dict[str, str] = {}
    chosen: str | None = None
    if candidate is not None and candidate.strip():
        k = _match_name(candidate, names)
        if k is not None:
            roles = {other: (CANDIDATE if other == k else INTERVIEWER) for other in names}
            chosen = names[k]
        elif names and not _has_labelled_candidate(turns, names, preset):
            found = ", ".join(names.values())
            raise _error(f"candidate '{_collapse(candidate)}' is not a speaker in this transcript "
                         f"(speakers found: {found})", source)
        else:
            chosen = _collapse(candidate)
    if not roles:
        hinted = _match_name(declared, names) if declared else None
        for k, name in names.items():
            role = preset.get(k) or _label_role(name)
            if role:
                roles[k] = role
        if hinted is not None and hinted not in roles:
            roles[hinted] = CANDIDATE
        unknown = [k for k in names if k not in roles]
        if unknown and CANDIDATE not in roles.values():
            roles[max(unknown, key=lambda k: _candidate_score(turns, k))] = CANDIDATE
        for k in unknown:
            roles.setdefault(k, INTERVIEWER)
    out = tuple(replace(t, role=roles.get(_key(t.speaker), t.role)) if t.speaker is not None else t
                for t in turns)
    if chosen is None:
        chosen = declared.strip() if declared and declared.strip() else None
    if chosen is None:
        cands = [k for k in names if roles.get(k) == CANDIDATE and _label_role(names[k]) is None]
        chosen = names[cands[0]] if len(cands) == 1 else None
    return out, chosen


def _has_labelled_candidate(turns: list[Turn], names: dict[str, str], preset: dict[str, str]) -> bool:
    """True when the candidate is known without a name (structure or a "Candidate:" label)."""
    if any(t.speaker is None and t.role == CANDIDATE for t in turns):
        return True
    return any(preset.get(k) == CANDIDATE or _label_role(n) == CANDIDATE for k, n in names.items())


def _match_name(given: str | None, names: dict[str, str]) -> str | None:
    """Key of the speaker ``given`` names: exactly, else the one speaker sharing all its words."""
    if not given or not given.strip():
        return None
    g = _name_key(given)
    if g in names:
        return g
    gw = set(g.split())
    hits = [k for k in names if _label_role(k) is None and (gw <= set(k.split()) or set(k.split()) <= gw)]
    return hits[0] if len(hits) == 1 else None


def _candidate_score(turns: list[Turn], key: str) -> tuple[float, float, int]:
    """Candidates talk longer and ask fewer questions than interviewers."""
    mine = [t for t in turns if _key(t.speaker) == key]
    words = [len(t.text.split()) for t in mine]
    mean = sum(words) / len(words)
    asks = sum(1 for t in mine if "?" in t.text) / len(mine)
    return (mean * (1.0 - asks), mean, sum(words))


def _select_pairs(drafts: list[_Draft], candidate: str, source: str) -> list[_Draft]:
    """In a cohort sheet (a candidate per row) keep only the named candidate's pairs."""
    answers = {_name_key(d.speaker): d.speaker for d in drafts
               if d.pair is not None and d.role == CANDIDATE and d.speaker}
    if not answers:
        return drafts
    k = _match_name(candidate, answers)
    if k is None:
        raise _error(f"candidate '{_collapse(candidate)}' has no answers in this transcript "
                     f"(candidates found: {', '.join(answers.values())})", source)
    keep = {d.pair for d in drafts if d.pair is not None and d.role == CANDIDATE and _key(d.speaker) == k}
    return [d for d in drafts if d.pair is None or d.pair in keep]
