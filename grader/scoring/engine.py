"""The ``Grader``: a bank and a metric configuration, built once, that grades many answers.

Lexical metrics run per answer; BERTScore runs once per call over every pair (one model load per process,
reference encodings cached), so ``grade_many`` over a cohort costs little more than bare bert-score.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from grader.bank import Bank, Question, load_bank
from grader.scoring.combine import OFF_QUESTION_MAX_COVERAGE, Config, combine, load_config
from grader.errors import ConfigError, InputError, UnknownQuestionError
from grader.scoring.feedback import build_feedback
from grader.metrics import METRIC_NAMES
from grader.reports.model import QuestionReport
from grader.reports.signature import build_signature
from grader.text import demote, holds_answer

#: Answers longer than this are refused: about 15,000 words, far beyond any spoken answer (a pasted document
#: is a mistake, not an answer, and would take minutes to score).
MAX_ANSWER_CHARS = 100_000


def parse_metrics(spec: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"keywords,rouge"`` -> ("keywords", "rouge"), in canonical order; unknown names are an error."""
    if spec is None:
        return METRIC_NAMES
    names = [n.strip().lower() for n in (spec.split(",") if isinstance(spec, str) else spec) if n.strip()]
    unknown = [n for n in names if n not in METRIC_NAMES]
    if unknown or not names:
        raise ConfigError(f"unknown metric {', '.join(unknown) or '(none given)'}; choose from "
                          f"{', '.join(METRIC_NAMES)}", field="metrics")
    return tuple(n for n in METRIC_NAMES if n in names)


class Grader:
    """Grades answers against a bank. Build once; call ``grade`` or ``grade_many`` as often as needed."""

    def __init__(self, bank: Bank | None = None, metrics: str | Sequence[str] | None = None,
                 config: Config | None = None, device: str = "cpu", judge=None, judge_concurrency: int = 1):
        """``judge``: a ``grader.judge.Judge`` (``--judge``), asked once per ``grade_many`` for every answer, on
        ``judge_concurrency`` threads; ``on_judged(done, total)`` may be set to follow each call's progress."""
        from grader.metrics.bertscore import DEVICES

        self.bank = bank if bank is not None else load_bank()
        self.metrics = parse_metrics(metrics)
        self.config = config if config is not None else load_config()
        if device not in DEVICES:
            raise ConfigError(f"unknown device {device!r}; choose {', '.join(DEVICES)}", field="--device")
        #: As asked ("auto", "cpu", "cuda"); ``device`` is what it resolves to (torch is asked only when the model
        #: is needed, so lexical grading never imports it).
        self.device_request = device
        self._device = None
        self._rouge = None
        self._bert = None
        self._sentences = None
        self._signature = None
        self.judge = judge
        self.judge_concurrency = judge_concurrency
        self.on_judged = None
        if judge is not None:
            from grader.scoring.judging import load_settings

            self.judge_settings, self._judge_source = load_settings(self.config)

    # ------------------------------------------------------------------ metric objects (lazy)

    @property
    def rouge(self):
        if self._rouge is None:
            from grader.metrics.rouge import RougeMetric

            self._rouge = RougeMetric()
        return self._rouge

    @property
    def device(self) -> str:
        """Where the model runs: "cpu" or "cuda" (``auto`` is CUDA when torch sees a device)."""
        if self._device is None:
            from grader.metrics.bertscore import resolve_device

            self._device = resolve_device(self.device_request)
        return self._device

    @property
    def bert(self):
        if self._bert is None:
            from grader.metrics.bertscore import BertScoreMetric

            self._bert = BertScoreMetric(
                layer=self.config.bertscore_layer, idf=self.config.bertscore_idf,
                idf_sentences=[q.reference for q in self.bank], baseline=self.config.bertscore_baseline,
                device=self.device)
            # Every reference (own-question and off-question checks use them all), from the disk cache.
            self._bert.warm(self._reference_texts())
        return self._bert

    def _reference_texts(self) -> list[str]:
        """Every bank reference, and its question-demoted form when that feature counts."""
        texts = [r for q in self.bank for r in self.references(q)]
        if self.config.uses_feature("reference_demoted_bertscore_recall"):
            texts += [d for q in self.bank for d in self._demoted_references(q, self.references(q))]
        return texts

    @property
    def signature(self) -> dict:
        """How reports are computed. Built once per configuration (library versions are looked up on disk)."""
        key = (id(self.config), self.metrics)
        if self._signature is None or self._signature[0] != key:
            self._signature = (key, self._build_signature())
        if self.judge is not None:  # the server's model id is known once connected: not cached
            from grader.scoring.judging import signature

            return {**self._signature[1], "judge": signature(self.judge, self.judge_settings, self._judge_source)}
        return self._signature[1]

    def _build_signature(self) -> dict:
        sigs = {}
        if "rouge" in self.metrics:
            from grader.metrics.rouge import SIGNATURE

            sigs["rouge"] = SIGNATURE
        if "bertscore" in self.metrics:
            sigs["bertscore"] = self.bert.signature
        if "keywords" in self.metrics:
            sigs["keywords"] = {"matching": "stem+synonyms+typos+formulas", "negation_aware_pitfalls": True}
        return build_signature(self.bank, self.config, self.metrics, sigs)

    # ------------------------------------------------------------------ grading

    def question(self, question_id: str) -> Question:
        if question_id not in self.bank:
            from grader.bank.resolve import closest_ids

            hint = closest_ids(self.bank, question_id)
            raise UnknownQuestionError(f"unknown question id {question_id!r}"
                                       + (f"; did you mean {', '.join(hint)}?" if hint else ""),
                                       field="question")
        return self.bank.get(question_id)

    @staticmethod
    def _demoted_references(question: Question, references: list[str]) -> list[str]:
        if holds_answer(question.question, references):
            return list(references)
        return [demote(r, question.question) or r for r in references]

    @staticmethod
    def _demoting(question: Question, references: list[str]) -> str:
        """The text whose words the demoted recall discounts: the question, unless it holds an answer."""
        return "" if holds_answer(question.question, references) else question.question

    @staticmethod
    def references(question: Question) -> list[str]:
        return [question.reference, *question.exemplars]

    def grade(self, question_id: str, answer: str) -> QuestionReport:
        return self.grade_many([(question_id, answer)])[0]

    def prepare(self) -> None:
        """Load the model and have every bank reference encoded now, before the first chunk of a long run: a
        broken worker fails at start, and no chunk's rate pays for the model's load. The engines of
        ``grader.scale`` call it. (References are encoded alone, so their bits do not depend on when.)"""
        if "bertscore" in self.metrics:
            self.bert.encode(self._reference_texts())

    def grade_many(self, pairs: Iterable[tuple[str, str]],
                   extra_references: Sequence[Sequence[str]] | None = None,
                   progress=None) -> list[QuestionReport]:
        """Grade (question id, answer) pairs; BERTScore for all of them in one batched pass.

        ``extra_references`` (one list per pair) adds accepted answers for that pair only, on top of the
        question's reference and exemplars: ``grader evaluate --exemplars`` uses it. Pass the whole batch in
        one call: texts are sorted by length across it, so padding is least (in chunks of 64, 1,418 Mohler
        answers took 15 s; in one call, 8 s). ``progress(done, total)`` follows the model batches.
        """
        pairs = list(pairs)
        if extra_references is not None and len(extra_references) != len(pairs):
            raise ValueError(f"{len(pairs)} pairs but {len(extra_references)} lists of extra references")
        questions = [self.question(qid) for qid, _ in pairs]
        answers = []
        for (qid, answer), _ in zip(pairs, questions):
            if not isinstance(answer, str):
                raise TypeError(f"answer for {qid} must be str, got {type(answer).__name__}")
            if len(answer) > MAX_ANSWER_CHARS:
                raise InputError(f"answer is {len(answer):,} characters; the limit is {MAX_ANSWER_CHARS:,}",
                                 field=qid)
            try:
                answer.encode("utf-8")
            except UnicodeEncodeError as exc:  # a lone surrogate: no report holding it could be saved
                raise InputError(f"answer is not valid Unicode text (a lone surrogate at character {exc.start})",
                                 field=qid) from None
            answers.append(answer)
        references = [self.references(q) + list(extra_references[i] if extra_references else ())
                      for i, q in enumerate(questions)]
        berts = [None] * len(pairs)
        closer: list[tuple[str, float] | None] = [None] * len(pairs)
        if "bertscore" in self.metrics and pairs:
            berts = self.bert.score_many(answers, references, keep=True,
                                         questions=[self._demoting(q, refs) for q, refs in zip(questions, references)],
                                         progress=progress)
            if self.config.uses_feature("reference_demoted_bertscore_recall"):
                # The answer as encoded above against references re-encoded without the question's words:
                # only the (few, cached) references cost a model pass.
                reference_demoted = self.bert.score_many(
                    answers, [self._demoted_references(q, refs) for q, refs in zip(questions, references)],
                    keep=True)
                berts = [dataclasses.replace(b, reference_demoted_recall=d.recall)
                         for b, d in zip(berts, reference_demoted)]
        keywords, gists = self._keywords(questions, answers)
        if "bertscore" in self.metrics and pairs:
            closer = self._closer_questions(questions, answers, berts, keywords)
            self.bert.forget([a for a in answers if a not in {r for refs in references for r in refs}])
        judged = self._judged(questions, answers)
        signature = self.signature
        return [self._report(q, a, refs, bert, other, signature, kw, judge, gist)
                for q, a, refs, bert, other, kw, judge, gist
                in zip(questions, answers, references, berts, closer, keywords, judged, gists)]

    def _judged(self, questions: list[Question], answers: list[str]) -> list:
        """Per answer, what ``combine`` needs of the judge: (verdict, settings, reply format), or None."""
        if self.judge is None or not answers:
            return [None] * len(answers)
        from grader.scoring.judging import judge_answers

        done = [0]

        def judged(_index, _verdict) -> None:
            done[0] += 1
            if self.on_judged is not None:
                self.on_judged(done[0], len(answers))

        verdicts = judge_answers(self.judge, questions, answers, concurrency=self.judge_concurrency,
                                 on_done=judged)
        fmt = self.judge.signature()["response_format"]
        return [(v, self.judge_settings, fmt) for v in verdicts]

    def _keywords(self, questions: list[Question], answers: list[str]) -> tuple[list, list]:
        """Rubric results for every pair, and for each the clause that gives the gist of an essential point
        when no essential point is covered (or None); the concepts missed by words are looked for by meaning,
        with every answer's clauses embedded in one batched model pass (one pass per answer cost more than
        BERTScore)."""
        gists = [None] * len(answers)
        if "keywords" not in self.metrics:
            return [None] * len(answers), gists
        from grader.metrics.keywords import score_keywords, with_meaning_matches

        results = [score_keywords(q.rubric, a) if q.rubric is not None else None for q, a in zip(questions, answers)]
        if "bertscore" not in self.metrics:
            return results, gists
        from grader.metrics.meaning import clauses, gist_clause, match_by_meaning

        todo = [i for i, r in enumerate(results) if r is not None and r.missing and answers[i].strip()]
        spans = {i: clauses(answers[i]) for i in todo}
        self.sentences.embed([text for i in todo for text, _, _ in spans[i]])  # one batched pass, cached
        for i in todo:
            missed = {m.concept for m in results[i].missing}
            concepts = [c for c in questions[i].rubric.concepts if c.name in missed]
            matches = match_by_meaning(self.sentences, answers[i], concepts, self.config.meaning_threshold,
                                       spans[i])
            results[i] = with_meaning_matches(questions[i].rubric, results[i], matches)
            if any(m.required for m in results[i].missing):
                gists[i] = gist_clause(self.sentences, answers[i], questions[i].rubric.concepts,
                                       questions[i].question, self.config.gist_threshold, spans[i])
        self.sentences.forget([text for i in todo for text, _, _ in spans[i]])  # memory stays flat over a batch
        return results, gists

    def _closer_questions(self, questions, answers, berts, keywords) -> list[tuple[str, float] | None]:
        """For each answer, another bank question whose reference it matches clearly better (BERTScore F1), or
        whose topic is clearly closer (``_topic_margins``)."""
        margin = self.config.off_question_margin
        others = [q for q in self.bank if q.reference.strip()]
        if margin <= 0 or len(others) < 2:
            return [None] * len(answers)
        # The guard needs a rubric whose coverage is under a half (it never fires otherwise): only those
        # answers are compared, which spares a good answer (and a cold ``grader grade``) the comparisons.
        gated = [i for i, (q, kw) in enumerate(zip(questions, keywords))
                 if q.rubric is not None and kw is not None and kw.coverage < OFF_QUESTION_MAX_COVERAGE]
        if not gated:
            return [None] * len(answers)
        flat_answers = [answers[i] for i in gated for _ in others]
        flat_refs = [[o.reference] for _ in gated for o in others]
        scores = self.bert.score_many(flat_answers, flat_refs, keep=True)
        rows = {i: scores[k * len(others) : (k + 1) * len(others)] for k, i in enumerate(gated)}
        topics = self._topic_margins([questions[i] for i in gated], [answers[i] for i in gated], others)
        position = {i: k for k, i in enumerate(gated)}
        out = []
        for i, (question, bert) in enumerate(zip(questions, berts)):
            if i not in rows:
                out.append(None)
                continue
            row = rows[i]
            best = max(((s.f1, o.id) for s, o in zip(row, others) if o.id != question.id), default=None)
            if best and best[0] > bert.f1 + margin:
                out.append((best[1], best[0]))
            else:
                out.append(topics.get(position[i]))
        return out

    def _topic_margins(self, questions, answers, others) -> dict[int, tuple[str, float]]:
        """Answers whose topic is clearly another question's: the whole answer's sentence embedding is closer,
        by ``off_topic_margin``, to another question (its text and reference) than to its own.

        Why a second signal: BERTScore F1 matches word pieces, and a short answer to another question shares
        few with either reference (an answer about autoregressive models, asked about evaluation, was within
        the F1 margin); a sentence embedding follows the topic. On the dev and blind tiers the answers to the
        question asked are at most 0.23 closer to another question, the answers to other questions at least 0.26
        (all 20 on dev, 19 of 20 blind): hence ``off_topic_margin: 0.25`` (tools/README.md)."""
        margin = self.config.off_topic_margin
        if margin <= 0 or not answers:
            return {}
        topics = self.sentences.embed([f"{o.question}\n{o.reference}" for o in others])
        texts = [a for a in answers if a.strip()]
        sims = self.sentences.embed(texts) @ topics.T if texts else None
        self.sentences.forget(texts)
        out, row = {}, 0
        for k, (question, answer) in enumerate(zip(questions, answers)):
            if not answer.strip():
                continue
            values = sims[row].tolist()
            row += 1
            own = next((v for v, o in zip(values, others) if o.id == question.id), None)
            best = max(((v, o.id) for v, o in zip(values, others) if o.id != question.id), default=None)
            if own is not None and best is not None and best[0] - own >= margin:
                out[k] = (best[1], best[0])
        return out

    @property
    def sentences(self):
        """Sentence embeddings for concepts recognised by meaning (the BERTScore model, loaded once)."""
        if self._sentences is None:
            from grader.metrics.meaning import SentenceEncoder

            self._sentences = SentenceEncoder(device=self.device)
        return self._sentences

    def contradictions(self, question: Question, answer: str, references: list[str]) -> tuple:
        """Clauses of the answer that contradict the rubric's facts, or the reference sentences without them."""
        from grader.metrics.opposites import opposites_for
        from grader.metrics.reference import check_reference

        rubric = question.rubric
        if rubric is not None and rubric.facts:
            from grader.metrics.denials import rubric_contradictions

            return tuple(rubric_contradictions(question, answer))
        opposites = opposites_for(rubric.opposites if rubric is not None else ())
        return tuple(check_reference(answer, references, opposites, question=question.question))

    def _report(self, question: Question, answer: str, references: list[str], bert, closer,
                signature: dict, keywords, judge=None, gist=None) -> QuestionReport:
        # The facts are the question's own references; extra ones (other candidates' answers, --exemplars) vouch
        # for similarity only: loosely worded, as facts they cost Mohler 0.02 Pearson.
        contradictions = self.contradictions(question, answer, self.references(question))
        rouge = self.rouge.score(answer, references) if "rouge" in self.metrics else None
        demoted: dict[str, float] = {}
        if bert is not None and bert.demoted_recall is not None:
            demoted["demoted_bertscore_recall"] = bert.demoted_recall
        if bert is not None and bert.reference_demoted_recall is not None:
            demoted["reference_demoted_bertscore_recall"] = bert.reference_demoted_recall
        if rouge is not None and self.config.uses_feature("demoted_rouge1_recall"):
            demoted["demoted_rouge1_recall"] = self.rouge.score(
                demote(answer, question.question), [demote(r, question.question) for r in references]).rouge1.recall
        combined = combine(self.config, question.question, answer, keywords, rouge, bert, demoted,
                           closer_question=closer[0] if closer else None, contradictions=contradictions,
                           judge=judge, gist=gist is not None, references=tuple(references))
        feedback = build_feedback(keywords, combined.semantic, combined.flags, contradictions=contradictions,
                                  language=combined.language, gist=gist.text if gist is not None else None)
        if closer and "off-question" in combined.flags:
            feedback.insert(0, f"This answer fits {closer[0]} ({self.bank.get(closer[0]).question}) better than "
                               "the question asked: answer the question asked.")
        return QuestionReport(question.id, question.question, answer, combined.score, combined.band, keywords,
                              rouge, bert, combined.semantic, combined.flags, tuple(feedback), signature,
                              {k: round(v, 6) for k, v in demoted.items()}, contradictions,
                              question.reference.strip(), key_points(question), combined.judge)


def key_points(question: Question) -> tuple:
    """The rubric's concepts (not the extra-credit ones) as points a learner can read after answering."""
    from grader.reports.model import KeyPoint

    if question.rubric is None:
        return ()
    return tuple(KeyPoint(c.name, c.meaning or c.name, c.required) for c in question.rubric.concepts if not c.bonus)
