"""Matching what an interviewer asked to a bank question, and segmenting a transcript into exchanges.

Interviewers paraphrase, chat before and after, and ask follow-ups. Each interviewer turn is compared with
every bank question's text and alternative phrasings by TF-IDF cosine (scikit-learn), helped by how close the
candidate's reply is to each reference answer. A turn that matches nothing well enough is kept as unmatched,
never forced onto a question; a follow-up folds into the question it follows up.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from grader.bank import Bank
from grader.text import STOPWORDS, stem, words

#: A question counts as asked when its combined similarity reaches this ...
MATCH_THRESHOLD = 0.15
#: ... or, for a paraphrase that shares few words with the bank, this much when it also leads the runner-up
#: question by DISTINCT_MARGIN (chosen from a plateau: 0.08-0.13 and 0.03-0.04 all label every turn of the
#: samples and the test interviews right, with no small talk matched).
DISTINCT_THRESHOLD = 0.11
DISTINCT_MARGIN = 0.04
#: The interviewer's words must point at least this much at the question: a reply alone never makes a match.
MIN_QUESTION_SIMILARITY = 0.05
#: A turn this close to a known off-bank question ("Tell me about a time...") stays unmatched.
OFF_BANK_THRESHOLD = 0.5
#: A short probe with a follow-up cue stays with the current question unless its own words match another
#: bank question this clearly.
SHORT_PROBE_WORDS = 16
CLEAR_QUESTION_SIMILARITY = 0.5
OFF_BANK_FILE = Path(__file__).resolve().parent.parent / "data" / "offbank.txt"
QUESTION_CUES = re.compile(
    r"\?|\b(explain|describe|walk me through|tell me|talk me through|talk about|define|compare|contrast|"
    r"what|why|how|which|when|can you|could you|would you|do you|give me|name|list|outline|sketch)\b",
    re.IGNORECASE)
#: How much the candidate's reply counts next to the interviewer's wording (chosen on the samples and the
#: test interviews: paraphrases with context share few words with the bank, their answers share many).
ANSWER_WEIGHT = 0.6
FOLLOW_UP_CUES = re.compile(
    r"\b(say more|tell me more|elaborate|expand|go deeper|dig into|follow[- ]?up|why is that|why does|why would|"
    r"how come|what about|and why|can you explain why|what do you mean|for example|example of that|so why|"
    r"what happens|how exactly|concretely|more precisely|in practice|instead)\b|^\W*(so |and |but |ok,? |okay,? )?why\b",
    re.IGNORECASE)


#: A term names a topic when the question text writes it as a technical name: an acronym or mixed-case name
#: (RLHF, LoRA, VQ-VAE) or a hyphenated compound (top-p), outside parentheses. Topic tags are not used: many are
#: ordinary words ("evaluation", "reasoning") that a follow-up says without changing the subject.
_NAME_RE = re.compile(r"\b[A-Za-z]*[A-Z][A-Za-z]*[A-Z][A-Za-z]*(?:-[A-Za-z]+)*\b|\b[a-z]+(?:-[a-z]+)+\b")


def _topic_names(bank: Bank) -> dict[str, list[tuple[str, ...]]]:
    """For each question, the technical names that belong to it alone (a name shared by two questions, such as
    VAE in "VAE" and "VQ-VAE", names neither)."""
    candidates: dict[str, set[tuple[str, ...]]] = {}
    for q in bank:
        text = re.sub(r"\([^)]*\)", " ", q.question)
        found = {tuple(stem(w) for w in words(m.group(0))) for m in _NAME_RE.finditer(text)}
        candidates[q.id] = {f for f in found if f}
    texts = {q.id: [stem(w) for w in words(" ".join([q.question, *q.alternative_phrasings]))] for q in bank}
    out = {}
    for qid, names in candidates.items():
        out[qid] = sorted(n for n in names
                          if not any(_contains(texts[other], n) for other in texts if other != qid))
    return out


def _contains(stems: list[str], name: tuple[str, ...]) -> bool:
    k = len(name)
    return any(tuple(stems[i : i + k]) == name for i in range(len(stems) - k + 1))


def _analyzer(text: str) -> list[str]:
    tokens = [stem(w) for w in words(text) if w not in STOPWORDS]
    return tokens + [f"{a}_{b}" for a, b in zip(tokens, tokens[1:])]


class QuestionMatcher:
    """TF-IDF over the bank's question texts and phrasings, and over its reference answers."""

    def __init__(self, bank: Bank):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.bank = bank
        self.ids = bank.ids
        rows, owners = [], []
        for q in bank:
            for text in (q.question, *q.alternative_phrasings):
                rows.append(text)
                owners.append(q.id)
        self._owners = owners
        # Off-bank questions (small talk, behavioural) join the vocabulary so generic words ("experience",
        # "production", "why") weigh little, and serve as "none of the above" prototypes.
        off_bank = [line.strip() for line in OFF_BANK_FILE.read_text(encoding="utf-8").splitlines()
                    if line.strip() and not line.startswith("#")]
        self._q_vec = TfidfVectorizer(analyzer=_analyzer, sublinear_tf=True).fit(rows + off_bank)
        self._q_rows = self._q_vec.transform(rows)
        self._off_rows = self._q_vec.transform(off_bank)
        # What an answer to each question talks about: the reference, plus the rubric's vocabulary (synonyms,
        # formulas, hints), which covers the many ways candidates say the same thing.
        refs = [" ".join([q.question, q.reference, q.extra_reference, *q.exemplars, *self._rubric_words(q)])
                for q in bank]
        self._a_vec = TfidfVectorizer(analyzer=_analyzer, sublinear_tf=True).fit(refs)
        self._a_rows = self._a_vec.transform(refs)
        self._names = _topic_names(bank)

    def named_questions(self, text: str) -> set[str]:
        """Bank questions whose topic the text names outright ("VQ-VAE", "RLHF", "mode collapse")."""
        stems = [stem(w) for w in words(text)]
        return {qid for qid, names in self._names.items()
                if any(_contains(stems, name) for name in names)}

    @staticmethod
    def _rubric_words(question) -> list[str]:
        if question.rubric is None:
            return []
        return [text for c in question.rubric.concepts for text in (*c.synonyms, *c.formulas, c.hint)]

    def question_similarity(self, asked: str) -> dict[str, float]:
        sims = (self._q_vec.transform([asked]) @ self._q_rows.T).toarray()[0]
        best: dict[str, float] = {qid: 0.0 for qid in self.ids}
        for owner, sim in zip(self._owners, sims):
            best[owner] = max(best[owner], float(sim))
        return best

    def answer_similarity(self, answer: str) -> dict[str, float]:
        if not answer.strip():
            return {qid: 0.0 for qid in self.ids}
        sims = (self._a_vec.transform([answer]) @ self._a_rows.T).toarray()[0]
        return {qid: float(s) for qid, s in zip(self.ids, sims)}

    def off_bank_similarity(self, asked: str) -> float:
        sims = (self._q_vec.transform([asked]) @ self._off_rows.T).toarray()[0]
        return float(sims.max()) if len(sims) else 0.0

    def match(self, asked: str, answer: str = "") -> tuple[str | None, float]:
        """Best bank question for an interviewer turn (and its reply), or None below the threshold."""
        if not QUESTION_CUES.search(asked):  # a statement ("Thanks, we'll be in touch") asks nothing
            return None, 0.0
        q_sims = self.question_similarity(asked)
        a_sims = self.answer_similarity(answer)
        combined = {qid: (1 - ANSWER_WEIGHT) * q_sims[qid] + ANSWER_WEIGHT * a_sims[qid] for qid in self.ids}
        ranked = sorted(combined, key=combined.get, reverse=True)
        best = ranked[0]
        margin = combined[best] - (combined[ranked[1]] if len(ranked) > 1 else 0.0)
        strong = combined[best] >= MATCH_THRESHOLD or (
            combined[best] >= DISTINCT_THRESHOLD and margin >= DISTINCT_MARGIN)
        off_bank = self.off_bank_similarity(asked)
        if (strong and q_sims[best] >= MIN_QUESTION_SIMILARITY
                and not (off_bank >= OFF_BANK_THRESHOLD and off_bank > q_sims[best])):
            return best, round(min(1.0, combined[best] / 0.6), 3)
        return None, round(combined[best], 3)


@dataclass
class Exchange:
    """One bank question (or an unmatched interviewer turn) and everything the candidate said to it."""

    question_id: str | None
    asked: str
    line: int
    confidence: float
    answer_parts: list[str] = field(default_factory=list)
    follow_ups: list[str] = field(default_factory=list)

    @property
    def answer(self) -> str:
        return "\n\n".join(p for p in self.answer_parts if p.strip())


def segment(transcript, matcher: QuestionMatcher) -> tuple[list[Exchange], list[dict]]:
    """Exchanges in the order asked (repeated questions joined) and the turns left unmatched."""
    turns = list(transcript.turns)
    exchanges: list[Exchange] = []
    by_question: dict[str, Exchange] = {}
    unmatched: list[dict] = []
    current: Exchange | None = None  # the matched exchange replies attach to
    i = 0
    while i < len(turns):
        turn = turns[i]
        if turn.role != "interviewer":
            # Candidate speech with no question before it (introductions) or after small talk.
            if current is not None:
                current.answer_parts.append(turn.text)
            else:
                unmatched.append({"line": turn.line, "speaker": turn.speaker, "role": turn.role, "text": turn.text})
            i += 1
            continue
        reply_turns = []
        j = i + 1
        while j < len(turns) and turns[j].role != "interviewer":
            reply_turns.append(turns[j])
            j += 1
        reply = "\n".join(t.text for t in reply_turns)
        qid, confidence = matcher.match(turn.text, reply)
        named = matcher.named_questions(turn.text) if QUESTION_CUES.search(turn.text) else set()
        if current is not None and named and current.question_id not in named and len(named) == 1:
            # "VQ-VAE: what is it, and why do people use it?" during the VAE question names another bank topic:
            # a new question, however short, never a follow-up of the current one.
            qid, confidence = next(iter(named)), max(confidence, 0.5)
            named_new = True
        else:
            named_new = False
        if (not named_new and qid is not None and current is not None and qid != current.question_id
                and FOLLOW_UP_CUES.search(turn.text)
                and (_reply_prefers_parent(reply, current, qid, matcher)
                     or (len(words(turn.text)) <= SHORT_PROBE_WORDS
                         and matcher.question_similarity(turn.text)[qid] < CLEAR_QUESTION_SIMILARITY))):
            # "Why not just fine-tune instead?" probes the current question; it does not ask another one
            # unless it plainly reads as that other bank question.
            qid, probe = None, True
        else:
            probe = False
        if qid is None and current is not None and (probe or _is_follow_up(turn.text, reply, current, matcher)):
            current.follow_ups.append(turn.text)
            current.answer_parts.extend(t.text for t in reply_turns)
        elif qid is None:
            current = None
            unmatched.append({"line": turn.line, "speaker": turn.speaker, "role": turn.role, "text": turn.text,
                              "reply": reply, "confidence": confidence})
            exchanges.append(Exchange(None, turn.text, turn.line, confidence, [t.text for t in reply_turns]))
        elif qid in by_question:  # asked again: join the answers
            current = by_question[qid]
            current.follow_ups.append(turn.text)
            current.answer_parts.extend(t.text for t in reply_turns)
        else:
            current = Exchange(qid, turn.text, turn.line, confidence, [t.text for t in reply_turns])
            by_question[qid] = current
            exchanges.append(current)
        i = j
    return exchanges, unmatched


def _is_follow_up(asked: str, reply: str, parent: Exchange, matcher: QuestionMatcher) -> bool:
    """A short probe on the same topic: cue words or shared vocabulary, and a reply about the same question."""
    topical = matcher.answer_similarity(asked).get(parent.question_id, 0.0)
    reply_topical = matcher.answer_similarity(reply).get(parent.question_id, 0.0) if reply else 0.0
    cue = bool(FOLLOW_UP_CUES.search(asked))
    # "Why would changing the distance measure help with that?": a cue that points back at the last answer is a
    # follow-up whatever its words share with the bank.
    points_back = bool(_POINTS_BACK.search(asked))
    return (cue and (points_back or topical >= 0.03 or reply_topical >= 0.08)) \
        or (topical >= 0.12 and reply_topical >= 0.05)


_POINTS_BACK = re.compile(r"\b(that|this|it|those|these|them)\W*$", re.IGNORECASE)


def _reply_prefers_parent(reply: str, parent: Exchange, other: str, matcher: QuestionMatcher) -> bool:
    sims = matcher.answer_similarity(reply)
    return sims.get(parent.question_id, 0.0) >= sims.get(other, 0.0)
