"""Markdown interview notes: headings, bold labels, Q/A lists and front matter.
"""
from __future__ import annotations

import re

from grader.transcripts.labels import (
    _accepted_labels,
    _label_match,
    _label_name,
    _label_role,
)
from grader.transcripts.model import (
    CANDIDATE,
    INTERVIEWER,
    _Draft,
    _error,
    _key,
    _name_key,
)

# --------------------------------------------------------------------------------------------------
# Markdown

_MD_HEADING_OPEN = re.compile(r"^(#{1,6})[ \t]+")


def _md_heading(s: str) -> tuple[int, str] | None:
    """(level, text) of an ATX heading ("## Q3 ##"), else None. Done by hand, not by one regex: a lazy text
    group beside optional whitespace runs backtracks quadratically on a heading of 40,000 spaces."""
    m = _MD_HEADING_OPEN.match(s)
    if not m:
        return None
    text = s[m.end():].rstrip(" \t")
    closed = text.rstrip("#")
    if closed != text and (not closed or closed[-1] in " \t"):  # a closing run of '#', after a space
        text = closed.rstrip(" \t")
    return len(m.group(1)), text
_MD_BOLD = re.compile(r"^(\*\*|__)(?P<inner>.+?)\1(?P<rest>.*)$")
_MD_FENCE = re.compile(r"^\s*(```|~~~)")
_MD_RULE = re.compile(r"^(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$")
_MD_LIST = re.compile(r"^(?:[-*+]|\d{1,3}[.)])[ \t]+")
_QLABEL_RE = re.compile(
    r"^(?P<label>(?:Q|Question)(?:[ \t]*#)?(?:[ \t]*\d+[a-z]?)?|Follow[- ]?up(?:[ \t]+question)?)"
    r"[ \t]*(?:[:.)\-–—][ \t]*|$)(?P<text>.*)$", re.I)
_QUESTION_WORDS = {
    "what", "how", "why", "when", "where", "which", "who", "whom", "whose", "can", "could", "would",
    "should", "will", "do", "does", "did", "is", "are", "was", "were", "have", "has", "tell", "explain",
    "describe", "walk", "compare", "contrast", "give", "talk", "define", "discuss", "derive", "design",
    "summarize", "summarise", "outline", "suppose", "imagine", "share", "any", "name", "list",
}


def _md_inline(text: str) -> str:
    """Markdown emphasis, code marks and links reduced to their words."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"</?(?:br|p|em|strong|b|i|u|sub|sup|span|div|code|mark)\b[^<>]*>", " ", text, flags=re.I)
    text = text.replace("**", "").replace("__", "").replace("`", "")
    text = re.sub(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])", r"\1", text)   # *create*
    text = re.sub(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])", r"\1", text)      # _but W_merged stays_
    text = re.sub(r"\\([\\`*_{}\[\]()#+\-.!>])", r"\1", text)
    return text.strip()


def _question_shaped(text: str) -> bool:
    t = text.strip().rstrip("*_`\"'”’ ").strip()
    if t.endswith("?"):
        return True
    m = re.match(r"[A-Za-z']+", t)
    return bool(m) and m.group().casefold() in _QUESTION_WORDS


def _front_matter(lines: list[str], source: str) -> tuple[dict[str, str], int]:
    """A leading ``---`` block: simple ``key: value`` fields, and the index of the first body line."""
    if not lines or lines[0].strip() != "---":
        return {}, 0
    meta: dict[str, str] = {}
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            return meta, i + 1
        m = re.match(r"^\s*([A-Za-z_][\w-]*)\s*:\s*(.*?)\s*$", lines[i])
        if m:
            meta[m.group(1).casefold()] = m.group(2).strip("'\"")
    raise _error("the front matter opened by '---' on line 1 is never closed by another '---' line",
                 source, 1)


class _MarkdownReader:
    """Headings and bold lines introduce the interviewer's questions; paragraphs after them are the
    candidate's answer; ``**Name:** text`` and ``Name: text`` lines are ordinary speaker turns."""

    def __init__(self, accepted: set[str]):
        self.accepted = accepted
        self.drafts: list[_Draft] = []
        self.cur: _Draft | None = None
        self.kind = ""          # question | answer | speaker | loose | section
        self.open = False       # a line right below (no blank line) continues the current turn
        self.blank = False

    def flush(self) -> None:
        if self.cur is not None:
            self.drafts.append(self.cur)
        self.cur = None

    def question(self, line: int, speaker: str | None, text: str, *, open_: bool,
                 role: str = INTERVIEWER) -> None:
        self.flush()
        self.cur = _Draft(speaker, line, [text] if text else [], role=role, merge=False)
        self.kind = "question" if role == INTERVIEWER else "answer"
        self.open, self.blank = open_, False

    def section(self) -> None:
        self.flush()
        self.kind, self.open, self.blank = "section", False, False

    def labelled(self, line: int, name: str, text: str) -> None:
        cur = self.cur
        if (cur is not None and cur.merge and cur.speaker is not None
                and _key(cur.speaker) == _key(name)):
            cur.parts.append(text)
        else:
            self.flush()
            self.cur = _Draft(name, line, [text] if text else [])
            qlabel = _QLABEL_RE.match(name + ":")
            self.kind = "question" if (_label_role(name) == INTERVIEWER or qlabel) else "speaker"
        self.open, self.blank = True, False

    def text(self, line: int, text: str) -> None:
        if not text:
            return
        cur = self.cur
        if cur is not None and ((self.open and not self.blank)
                                or (self.kind == "question" and not cur.parts)):
            cur.parts.append(text)
        elif cur is not None and self.kind == "question":
            self.flush()
            self.cur = _Draft(None, line, [text], role=CANDIDATE, merge=False)
            self.kind = "answer"
        elif cur is not None:
            cur.parts.append(text)
        else:
            self.cur = _Draft(None, line, [text], merge=False)
            self.kind = "loose"
        self.open, self.blank = True, False

    def heading(self, line: int, level: int, body: str) -> None:
        q = _QLABEL_RE.match(body)
        if q:
            rest = q.group("text").strip()
            self.question(line, q.group("label").strip(), rest, open_=not rest)
            return
        hit = _label_match(body)
        if hit and hit[1].strip():
            role = _label_role(hit[0]) or INTERVIEWER   # a heading asks, unless labelled an answer
            self.question(line, hit[0], hit[1].strip(), open_=False, role=role)
        elif (level >= 2 and _question_shaped(body)) or body.rstrip().endswith("?"):
            self.question(line, None, body, open_=False)
        else:
            self.section()

    def bold(self, line: int, inner: str, rest: str) -> bool:
        """Handle a line opening in bold; False when it is just emphasis inside the text."""
        inner, rest = inner.strip(), rest.strip()
        if inner.endswith(":") or rest.startswith(":"):
            label = inner.rstrip(":").strip()
            text = _md_inline(rest.lstrip(":").strip())
            q = _QLABEL_RE.match(label + ":")
            name = q.group("label").strip() if q else _label_name(label)
            if name:
                self.labelled(line, name, text)
                return True
            return False
        if rest:
            return False
        q = _QLABEL_RE.match(inner)
        if q and q.group("text").strip():
            self.question(line, q.group("label").strip(), _md_inline(q.group("text")), open_=False)
            return True
        if _question_shaped(inner):
            self.question(line, None, _md_inline(inner), open_=False)
            return True
        return False


def _parse_markdown(text: str, source: str) -> tuple[list[_Draft], str | None]:
    lines = text.split("\n")
    meta, start = _front_matter(lines, source)
    body = [(number, line) for number, line in enumerate(lines, start=1) if number > start]

    plain: list[str] = []                        # first pass: plain "Name:" labels, for the count rule
    bold: list[str] = []
    first_is_label = None
    in_fence = False
    for _, line in body:
        if _MD_FENCE.match(line):
            in_fence = not in_fence
            continue
        s = _MD_LIST.sub("", re.sub(r"^(?:>[ \t]?)+", "", line.strip()).strip())
        if in_fence or not s or _md_heading(s):
            continue
        mb = _MD_BOLD.match(s)
        if mb and (mb.group("inner").strip().endswith(":") or mb.group("rest").strip().startswith(":")):
            name = _label_name(mb.group("inner").strip().rstrip(":"))
            if name:
                bold.append(name)
            continue
        hit = _label_match(s)
        if first_is_label is None:
            first_is_label = hit is not None
        if hit:
            plain.append(hit[0])
    reader = _MarkdownReader(_accepted_labels(plain, bold, bool(first_is_label)))

    in_fence = in_comment = False
    for number, line in body:
        if _MD_FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            reader.text(number, line.strip())
            continue
        s = line.strip()
        if in_comment or s.startswith("<!--"):
            in_comment = "-->" not in s
            continue
        if not s or _MD_RULE.match(s):
            reader.blank = True
            continue
        s = re.sub(r"^(?:>[ \t]?)+", "", s).strip()
        if not s:
            reader.blank = True
            continue
        mh = _md_heading(s)
        if mh:
            reader.heading(number, mh[0], _md_inline(mh[1]))
            continue
        s = _MD_LIST.sub("", s)
        mb = _MD_BOLD.match(s)
        if mb and reader.bold(number, mb.group("inner"), mb.group("rest")):
            continue
        hit = _label_match(_md_inline(s))
        if hit and _name_key(hit[0]) in reader.accepted:
            reader.labelled(number, hit[0], hit[1].strip())
            continue
        reader.text(number, _md_inline(s))
    reader.flush()
    drafts = reader.drafts
    if not any(d.speaker is not None or d.role is not None for d in drafts):
        for draft in drafts:             # no questions and no speakers: a practice answer on its own
            draft.role = CANDIDATE
    return drafts, meta.get("candidate") or None
