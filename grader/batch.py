"""Batch grading of mock-interview transcripts: parse, match, grade in one pass, summarise a cohort.

Every answer of every transcript is graded by one ``Grader`` (one model load), in chunks so a progress bar
can follow. A transcript that fails to parse is reported with its file and line; the others are still graded.
"""
from __future__ import annotations

import glob
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean

from grader.errors import GraderError, InputError
from grader.matching import QuestionMatcher, segment
from grader.report import REPORT_SCHEMA_VERSION, QuestionReport

TRANSCRIPT_SUFFIXES = (".txt", ".md", ".markdown", ".json", ".jsonl", ".csv", ".vtt", ".srt")
CHUNK = 16  # answers graded per progress step


def expand_inputs(paths: Iterable[str]) -> tuple[list[Path], list[GraderError]]:
    """Files as given, directories walked for transcript files, globs expanded; missing ones become errors."""
    found: list[Path] = []
    errors: list[GraderError] = []
    for raw in paths:
        matches = sorted(glob.glob(raw, recursive=True)) if any(c in raw for c in "*?[") else [raw]
        if not matches:
            errors.append(InputError("no file matches this pattern", path=raw))
        for item in matches:
            path = Path(item)
            if path.is_dir():
                files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TRANSCRIPT_SUFFIXES
                               and not p.name.startswith(".") and p.name.lower() not in ("readme.md",)
                               and not p.name.lower().startswith(("expected", "answer-")))
                found.extend(files)
            elif path.exists():
                found.append(path)
            else:
                errors.append(InputError("file not found", path=path))
    unique = list(dict.fromkeys(found))
    return unique, errors


@dataclass
class TranscriptResult:
    source: str
    candidate: str | None
    format: str
    exchanges: list
    unmatched: list[dict]
    reports: dict[int, QuestionReport] = field(default_factory=dict)  # exchange index -> report
    input_sha256: str = ""

    @property
    def overall_score(self) -> float | None:
        scores = [r.score for r in self.reports.values()]
        return round(mean(scores), 2) if scores else None

    def to_dict(self, signature: dict) -> dict:
        answers = []
        for index, ex in enumerate(self.exchanges):
            entry = {"question_id": ex.question_id, "asked": ex.asked, "line": ex.line,
                     "match_confidence": ex.confidence, "follow_ups": list(ex.follow_ups), "answer": ex.answer}
            report = self.reports.get(index)
            if report is not None:
                data = report.to_dict()
                for key in ("schema_version", "answer", "signature", "question_id"):
                    data.pop(key, None)
                entry.update(data)
            else:
                entry.update({"score": None, "band": None})
            answers.append(entry)
        covered = sorted({ex.question_id for ex in self.exchanges if ex.question_id})
        return {"schema_version": REPORT_SCHEMA_VERSION, "source": self.source, "candidate": self.candidate,
                "format": self.format, "input_sha256": self.input_sha256, "overall_score": self.overall_score,
                "questions_covered": covered, "answers": answers, "unmatched": self.unmatched,
                "signature": signature}


@dataclass
class BatchResult:
    transcripts: list[TranscriptResult]
    failures: list[GraderError]
    signature: dict

    def summary(self) -> dict:
        per_question: dict[str, list[float]] = {}
        per_candidate = []
        for t in self.transcripts:
            for index, report in t.reports.items():
                per_question.setdefault(report.question_id, []).append(report.score)
            per_candidate.append({"candidate": t.candidate, "source": t.source, "overall_score": t.overall_score,
                                  "answers_graded": len(t.reports), "unmatched_turns": len(t.unmatched)})
        questions = {qid: {"n": len(v), "mean": round(mean(v), 2), "min": min(v), "max": max(v)}
                     for qid, v in sorted(per_question.items())}
        return {"schema_version": REPORT_SCHEMA_VERSION, "transcripts": len(self.transcripts),
                "failed": [f.one_line() for f in self.failures], "per_question": questions,
                "per_candidate": per_candidate, "signature": self.signature}


def run_batch(paths: Iterable[str], grader, input_format: str | None = None, candidate: str | None = None,
              progress: Callable[[str, int, int], None] | None = None) -> BatchResult:
    """Parse and grade every transcript; ``progress(stage, done, total)`` is called as work proceeds."""
    from grader.transcripts import read_transcript

    files, failures = expand_inputs(paths)
    matcher = QuestionMatcher(grader.bank)
    results: list[TranscriptResult] = []
    for n, path in enumerate(files, 1):
        try:
            transcript = read_transcript(path, input_format=input_format, candidate=candidate)
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        except GraderError as exc:
            failures.append(exc)
            continue
        except OSError as exc:
            failures.append(InputError(f"cannot read: {exc.strerror or exc}", path=path))
            continue
        exchanges, unmatched = segment(transcript, matcher)
        results.append(TranscriptResult(str(path), transcript.candidate, transcript.format, exchanges, unmatched,
                                        input_sha256=digest))
        if progress:
            progress("parse", n, len(files))
    jobs = [(t, i, ex) for t in results for i, ex in enumerate(t.exchanges) if ex.question_id]
    for start in range(0, len(jobs), CHUNK):
        chunk = jobs[start : start + CHUNK]
        reports = grader.grade_many([(ex.question_id, ex.answer) for _, _, ex in chunk])
        for (t, i, _), report in zip(chunk, reports):
            t.reports[i] = report
        if progress:
            progress("grade", min(start + CHUNK, len(jobs)), len(jobs))
    return BatchResult(results, failures, grader.signature)
