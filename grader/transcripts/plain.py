"""Plain-text transcripts and chat logs: one labelled speaker turn per paragraph or line.
"""
from __future__ import annotations

from grader.transcripts.labels import _TS_PREFIX_RE, _accepted_labels, _label_match
from grader.transcripts.model import CANDIDATE, _Draft, _name_key

# --------------------------------------------------------------------------------------------------
# Plain text


def _parse_text(text: str, source: str) -> tuple[list[_Draft], str | None]:
    lines = text.split("\n")
    hits = [_label_match(line) for line in lines]
    first = next((h for line, h in zip(lines, hits) if line.strip()), None)
    accepted = _accepted_labels([h[0] for h in hits if h], first_is_label=first is not None)
    drafts: list[_Draft] = []
    labelled = False
    for number, (line, hit) in enumerate(zip(lines, hits), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if hit and _name_key(hit[0]) in accepted:
            labelled = True
            drafts.append(_Draft(hit[0], number, [hit[1]]))
        elif drafts:
            drafts[-1].parts.append(_TS_PREFIX_RE.sub("", stripped))
        else:
            drafts.append(_Draft(None, number, [_TS_PREFIX_RE.sub("", stripped)]))
    if not labelled:                     # no speakers at all: a practice answer on its own
        for draft in drafts:
            draft.role = CANDIDATE
    return drafts, None
