"""Batch grading of mock-interview transcripts: parse, match, grade in one pass, summarise a cohort.

Every answer of every transcript is graded by one ``Grader`` (one model load), a few whole transcripts at a
time, and each transcript is handed back as soon as its answers are graded so its report can be written at once:
an interruption loses at most the chunk in progress. A transcript that fails to parse is reported with its file
and line; the others are still graded. A transcript whose saved report is complete and current (same input, same
signature) need not be graded again (``grader batch --resume``).
"""
from __future__ import annotations

import glob
import hashlib
import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean

from grader.errors import GraderError, InputError
from grader.transcripts.matching import QuestionMatcher, segment
from grader.reports.model import REPORT_SCHEMA_VERSION, QuestionReport

TRANSCRIPT_SUFFIXES = (".txt", ".md", ".markdown", ".json", ".jsonl", ".csv", ".vtt", ".srt")
CHUNK = 128  # answers per grade_many call: larger batches pad less; an interruption loses at most one


def expand_inputs(paths: Iterable[str], exclude: Iterable[str | Path] = (),
                  skipped: list[tuple[Path, str]] | None = None) -> tuple[list[Path], list[GraderError]]:
    """Files as given, directories walked for transcript files, globs expanded; missing ones become errors.

    Folder walks and globs skip ``exclude`` (the output folder: its reports are not transcripts); an input given
    twice (``x``, ``dir/../x``, its absolute path) is graded once, under the first way it was given. Each file a
    folder walk passes over is appended to ``skipped`` with the reason, so the caller can list them.
    """
    found: list[Path] = []
    errors: list[GraderError] = []
    skip = [Path(os.path.realpath(p)) for p in exclude]
    skipped = skipped if skipped is not None else []

    def excluded(path: Path) -> bool:
        real = Path(os.path.realpath(path))
        return any(real == s or s in real.parents for s in skip)

    for raw in paths:
        pattern = any(c in raw for c in "*?[")
        matches = sorted(glob.glob(raw, recursive=True)) if pattern else [raw]
        if pattern and not os.path.exists(raw):
            matches = [m for m in matches if not excluded(Path(m))]
        elif pattern:  # an existing file whose name holds [ or *: the file itself
            matches = [raw]
        if not matches:
            errors.append(InputError("no file matches this pattern", path=raw))
        for item in matches:
            path = Path(item)
            if path.is_dir():
                files = []
                for p in sorted(p for p in path.rglob("*") if p.is_file()):
                    reason = "inside the output folder" if excluded(p) else _not_a_transcript(p)
                    if reason:
                        skipped.append((p, reason))
                    else:
                        files.append(p)
                if not files:
                    errors.append(InputError(f"no transcript files ({' '.join(TRANSCRIPT_SUFFIXES)}) in this "
                                             "folder", path=path))
                found.extend(files)
            elif path.exists():
                found.append(path)
            else:
                errors.append(InputError("file not found", path=path))
    unique: dict[str, Path] = {}
    for path in found:
        unique.setdefault(os.path.realpath(path), path)
    return list(unique.values()), errors


def _not_a_transcript(path: Path) -> str | None:
    """Why a folder walk passes over ``path``, or None for a transcript file."""
    name = path.name.lower()
    reasons = ((name.startswith("."), "hidden file"),
               (path.suffix.lower() not in TRANSCRIPT_SUFFIXES, f"not a transcript type ({path.suffix or 'none'})"),
               (name == "readme.md", "a README"), (name.startswith("expected"), "expected results (expected*)"),
               (name.startswith("answer-"), "a single answer (answer-*): grade it with grade --answer-file"))
    return next((why for hit, why in reasons if hit), None)


def skipped_lines(skipped: list[tuple[Path, str]], limit: int = 10) -> list[str]:
    """What a folder walk passed over, one line per file (at most ``limit``, then a count), for the terminal."""
    from grader.reports.guide import plural

    lines = [f"skipped {plural(len(skipped), 'file')} in the input folders:"] if skipped else []
    lines += [f"  {path}: {reason}" for path, reason in skipped[:limit]]
    return lines + ([f"  ... and {len(skipped) - limit} more"] if len(skipped) > limit else [])


#: Report stems a transcript report may not take: batch writes these files itself.
RESERVED_NAMES = ("summary", "answers")


def _slug(name: str) -> str:
    """A candidate's name as part of a file name: letters of any script and digits, runs of others as '-'."""
    return re.sub(r"[\W_]+", "-", name.casefold()).strip("-") or "candidate"


def assign_report_names(results: list["TranscriptResult"]) -> None:
    """A unique file stem per transcript report, in input order (the same inputs give the same names).

    The input's file name, with a short hash of its path when two inputs share a name, plus the candidate when a
    file held several; names never collide (compared case-insensitively, as on macOS and Windows) and never
    take a name batch writes itself (summary, answers): a later one gets -2, -3...
    """
    stems: dict[str, list[str]] = {}
    for t in results:
        stems.setdefault(Path(t.path).stem.casefold(), [])
        if t.path not in stems[Path(t.path).stem.casefold()]:
            stems[Path(t.path).stem.casefold()].append(t.path)
    taken = {name.casefold() for name in RESERVED_NAMES}
    for t in results:
        stem = Path(t.path).stem or "transcript"
        if len(stems[stem.casefold()]) > 1:
            stem = f"{stem}-{hashlib.sha256(t.path.encode('utf-8', 'surrogatepass')).hexdigest()[:6]}"
        if t.split:
            stem = f"{stem}-{_slug(t.candidate or '')}"
        name, n = stem, 1
        while name.casefold() in taken:
            n += 1
            name = f"{stem}-{n}"
        taken.add(name.casefold())
        t.name = name


@dataclass
class TranscriptResult:
    source: str
    candidate: str | None
    format: str
    exchanges: list
    unmatched: list[dict]
    reports: dict[int, QuestionReport] = field(default_factory=dict)  # exchange index -> report
    input_sha256: str = ""
    saved: dict | None = None  # the report of an earlier run, complete and current: not graded again
    path: str = ""  # the input file as given (``source`` adds ``#candidate`` when the file held several)
    split: bool = False  # one of several candidates of one file
    name: str = ""  # the report's file stem (assign_report_names)
    truncated: dict[int, int] = field(default_factory=dict)  # exchange index -> length of an over-long answer

    def graded_text(self, index: int, answer: str) -> str:
        """The text graded for an answer: an answer over the grader's limit (turns joined, a runaway caption
        file) is graded on its first part, cut at a space, and the report says so (``truncated_from``)."""
        from grader.scoring.engine import MAX_ANSWER_CHARS

        if len(answer) <= MAX_ANSWER_CHARS:
            return answer
        self.truncated[index] = len(answer)
        cut = answer.rfind(" ", 0, MAX_ANSWER_CHARS + 1)
        return answer[: cut if cut > MAX_ANSWER_CHARS // 2 else MAX_ANSWER_CHARS]

    @property
    def overall_score(self) -> float | None:
        if self.saved is not None:
            return self.saved.get("overall_score")
        scores = [r.score for r in self.reports.values()]
        return round(mean(scores), 2) if scores else None

    @property
    def pending(self) -> list[tuple[int, object]]:
        """(exchange index, exchange) of the answers still to grade."""
        if self.saved is not None:
            return []
        return [(i, ex) for i, ex in enumerate(self.exchanges) if ex.question_id and i not in self.reports]

    def to_dict(self, signature: dict) -> dict:
        if self.saved is not None:
            return self.saved
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
            if index in self.truncated:
                entry["truncated_from"] = self.truncated[index]
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

    def summary(self, topics: dict[str, tuple[str, ...]] | None = None) -> dict:
        """The cohort summary (grader.reports.cohort) of the transcripts as graded, without files or reviews."""
        from grader.reports.cohort import summarise

        return summarise([t.to_dict(self.signature) for t in self.transcripts],
                         failed=[f.one_line() for f in self.failures], signature=self.signature, topics=topics)


def run_batch(paths: Iterable[str], grader, input_format: str | None = None, candidate: str | None = None,
              progress: Callable[[str, int, int], None] | None = None) -> BatchResult:
    """Parse and grade every transcript; ``progress(stage, done, total)`` is called as work proceeds."""
    files, failures = expand_inputs(paths)
    return grade_files(files, grader, failures=failures, input_format=input_format, candidate=candidate,
                       progress=progress)


def is_current(saved: dict, transcript: TranscriptResult, signature: dict) -> bool:
    """Whether a saved transcript report still stands: same input bytes, same signature (grader, metrics,
    weights, bank, libraries), and the same parse (source, candidate, format, questions and answers)."""
    import json

    try:
        same_answers = [(a.get("question_id"), a.get("answer")) for a in saved["answers"]] == [
            (ex.question_id, ex.answer) for ex in transcript.exchanges]
        return (same_answers and saved.get("input_sha256") == transcript.input_sha256
                and saved.get("source") == transcript.source and saved.get("candidate") == transcript.candidate
                and saved.get("format") == transcript.format
                and saved.get("signature") == json.loads(json.dumps(signature))
                and all(a.get("score") is not None for a in saved["answers"] if a.get("question_id")))
    except (KeyError, TypeError, AttributeError):
        return False


def split_by_candidate(transcript) -> list:
    """One transcript per candidate when a file holds several (a cohort CSV with a ``candidate`` column).

    Each part keeps its candidate's answers and the interviewer turns just before them; the report's
    ``source`` is then ``file#Candidate Name``. A file with one candidate (or one named with --candidate)
    is returned as it is.
    """
    import dataclasses

    speakers = list(dict.fromkeys(t.speaker for t in transcript.turns if t.role == "candidate" and t.speaker))
    if transcript.candidate is not None or len(speakers) < 2:
        return [transcript]
    parts = []
    for name in speakers:
        turns, pending = [], []
        for turn in transcript.turns:
            if turn.role == "candidate":
                if turn.speaker == name:
                    turns += [*pending, turn]
                pending = []
            else:
                pending.append(turn)
        parts.append(dataclasses.replace(transcript, turns=tuple(turns), candidate=name))
    return parts


#: Grades chunks of groups (one group of (question id, answer) pairs per transcript), in order: a group's reports
#: or its ``GroupFailure`` (``grader.scoring.isolation.grade_groups`` on each chunk, here or on Ray workers).
GradeChunks = Callable[[Iterator[list[list[tuple[str, str]]]]], Iterable[list]]


def _apply(chunk: list[TranscriptResult], graded: list, failures: list[GraderError]) -> None:
    """Put a chunk's reports on its transcripts; one whose answers could not be graded becomes a failure naming
    the answer at fault (file and line)."""
    from grader.scoring.isolation import GroupFailure

    for t, outcome in zip([t for t in chunk if t.pending], graded):
        pending = t.pending
        if isinstance(outcome, GroupFailure):
            if outcome.index is None:  # pragma: no cover - grading failed only together
                failures.append(InputError("its answers could not be graded", path=t.path))
            else:
                ex = pending[outcome.index][1]
                failures.append(InputError(f"answer to {ex.question_id}: {outcome.message}", path=t.path,
                                           line=ex.line))
            continue
        for (index, _), report in zip(pending, outcome):
            t.reports[index] = report


def _grade_results(results: list[TranscriptResult], grader, failures: list[GraderError], progress, on_graded,
                   grade_chunks: GradeChunks | None) -> None:
    """Grade the transcripts a few whole ones per chunk (CHUNK answers), in input order; failed ones leave
    ``results``. The chunks are the same whoever grades them, so the reports are too."""
    from grader.scoring.isolation import grade_groups

    total = sum(len(t.pending) for t in results)
    done = 0
    chunks: deque = deque()

    def work():
        queue = list(results)
        while queue:
            chunk = [queue.pop(0)]
            while queue and sum(len(t.pending) for t in chunk) < CHUNK:
                chunk.append(queue.pop(0))
            chunks.append(chunk)
            yield [[(ex.question_id, t.graded_text(i, ex.answer)) for i, ex in t.pending] for t in chunk if t.pending]

    grade = grade_chunks or (lambda many: (grade_groups(grader, groups) if groups else [] for groups in many))
    for graded in grade(work()):
        chunk = chunks.popleft()
        jobs = sum(len(t.pending) for t in chunk)
        _apply(chunk, graded, failures)
        if jobs:
            done += jobs
            if progress:
                progress("grade", done, total)
        failed = {id(t) for t in chunk if t.pending}
        if failed:
            results[:] = [t for t in results if id(t) not in failed]
        for t in chunk:
            if id(t) not in failed and on_graded:
                on_graded(t)


def grade_files(files: list[Path], grader, *, failures: list[GraderError] | None = None,
                input_format: str | None = None, candidate: str | None = None,
                progress: Callable[[str, int, int], None] | None = None,
                saved: Callable[[TranscriptResult], dict | None] | None = None,
                on_graded: Callable[[TranscriptResult], None] | None = None,
                grade_chunks: GradeChunks | None = None) -> BatchResult:
    """Parse every file, then grade transcript by transcript (a few whole transcripts per ``grade_many``).

    ``saved(transcript)`` may return the report of an earlier run; when it :func:`is_current`, the transcript
    is not graded again. ``on_graded(transcript)`` is called as soon as a transcript is fully graded (or taken
    from its saved report), in input order, so the caller can write its report before the next chunk.
    ``failures`` is appended to as files fail, so a caller still holds them if the batch is interrupted.
    ``grade_chunks`` grades the chunks elsewhere (Ray workers); by default ``grader`` grades them here.
    """
    from grader.transcripts import read_transcript
    from grader.transcripts.labels import require_questions

    failures = failures if failures is not None else []
    matcher = QuestionMatcher(grader.bank)
    results: list[TranscriptResult] = []
    for n, path in enumerate(files, 1):
        try:
            transcript = read_transcript(path, input_format=input_format, candidate=candidate)
            require_questions(transcript)  # no speakers found is an error, never "0 answers graded"
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        except GraderError as exc:
            failures.append(exc)
            continue
        except OSError as exc:
            failures.append(InputError(f"cannot read: {exc.strerror or exc}", path=path))
            continue
        if not any(turn.role == "candidate" for turn in transcript.turns):
            failures.append(InputError("no candidate answers: every turn is the interviewer's (name the candidate "
                                       "with --candidate if the speakers were not told apart)", path=path, line=1))
            continue
        parts = split_by_candidate(transcript)
        for part in parts:
            exchanges, unmatched = segment(part, matcher)
            source = str(path) if len(parts) == 1 else f"{path}#{part.candidate}"
            results.append(TranscriptResult(source, part.candidate, part.format, exchanges, unmatched,
                                            input_sha256=digest, path=str(path), split=len(parts) > 1))
        if progress:
            progress("parse", n, len(files))
    assign_report_names(results)
    signature = grader.signature
    if saved is not None:
        for t in results:
            previous = saved(t)
            if previous is not None and is_current(previous, t, signature):
                t.saved = previous
    _grade_results(results, grader, failures, progress, on_graded, grade_chunks)
    return BatchResult(results, failures, signature)


class ReportFolder:
    """Where a batch writes: one report per transcript as soon as it is graded, then the cohort summary.

    The JSON report is written whatever ``fmt`` is (another format goes beside it): mentors review the JSON, and
    ``--resume`` reads it, so a batch in any format can be reviewed and finished.

    Writing keeps what people made: a mentor's review saved in the earlier report (even while this batch runs)
    is carried onto the unchanged answer or kept under ``orphaned_reviews``. A report that cannot be written is
    a failure of that transcript only, except a full disk, which stops the batch (exit 6).
    """

    def __init__(self, output_dir: Path, fmt: str, grader, failures: list[GraderError]):
        from grader.reports.views import bank_topics

        self.output_dir, self.fmt, self.grader, self.failures = Path(output_dir), fmt, grader, failures
        self.topics = bank_topics(grader.bank)
        self.finished: list[TranscriptResult] = []  # on disk: graded now, or kept from an earlier run
        self.written: dict[int, dict] = {}  # id(transcript) -> its report as written (reviews carried over)
        self.unwritten: set[int] = set()  # id(transcript) of reports that could not be written
        self.carried = {"on_answers": 0, "orphaned": 0}

    def saved(self, t: TranscriptResult) -> dict | None:
        """The earlier run's report of this transcript, or None (absent, damaged, not a transcript report)."""
        from grader.reports.schemas import load_report

        path = self.output_dir / f"{t.name}.json"
        if not path.is_file():
            return None
        try:
            return load_report(path, kinds=("transcript",))[1]
        except GraderError:
            return None

    def render(self, kind: str, data: dict) -> str:
        from grader.reports.markdown import transcript_markdown
        from grader.reports.model import dumps
        from grader.reports.render import render

        if self.fmt == "json":
            return dumps(data)
        if self.fmt == "md" and kind == "transcript":
            return transcript_markdown(data)
        return render(kind, data, self.fmt, self.topics)

    def _ensure_folder(self) -> None:
        """Create the output folder itself (never missing folders above it: a typo makes no tree)."""
        from grader.errors import OutputError

        try:
            self.output_dir.mkdir(exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create the folder: {exc.strerror or exc}", path=self.output_dir) from None

    def _write_files(self, t: TranscriptResult) -> dict:
        """The transcript's JSON report (always: review and --resume read it) and, for another --format, that
        rendering beside it; returns the report as written, mentor reviews carried over."""
        from grader.io import locked, write_atomic
        from grader.mentor.keep import carry_reviews, read_existing
        from grader.reports.model import dumps

        data = t.saved
        if data is None:
            json_path = self.output_dir / f"{t.name}.json"
            with locked(json_path):  # a mentor's review saved meanwhile is read back, not overwritten
                data, on_answers, orphaned = carry_reviews("transcript", read_existing(json_path),
                                                           t.to_dict(self.grader.signature))
                write_atomic(json_path, dumps(data))
            self.carried["on_answers"] += on_answers
            self.carried["orphaned"] += orphaned
        if self.fmt != "json":
            write_atomic(self.output_dir / f"{t.name}.{self.fmt}", self.render("transcript", data))
        return data

    def write(self, t: TranscriptResult) -> None:
        """Write one transcript's report (``on_graded`` of :func:`grade_files`)."""
        from grader.errors import OutputError
        from grader.io import WHOLE_RUN_ERRNOS

        self._ensure_folder()
        try:
            data = self._write_files(t)
        except OutputError as exc:  # this report only (its path is a folder, its name too long...)
            if exc.errno in WHOLE_RUN_ERRNOS:  # a full disk fails every report: stop here (exit 6)
                raise
            self.unwritten.add(id(t))
            self.failures.append(OutputError(f"the report of {t.source} was not written: {exc.message}",
                                             path=exc.path or self.output_dir / f"{t.name}.{self.fmt}"))
            return
        if t.saved is None:
            self.written[id(t)] = data
        self.finished.append(t)

    def write_summary(self, result: BatchResult) -> None:
        """summary.json and summary.md always; summary.html or answers.csv with those formats."""
        from grader.io import write_atomic
        from grader.reports.cohort import summarise
        from grader.reports.markdown import summary_markdown
        from grader.reports.model import dumps

        self._ensure_folder()
        result.transcripts[:] = [t for t in result.transcripts if id(t) not in self.unwritten]
        reports = [self.written.get(id(t)) or t.to_dict(result.signature) for t in result.transcripts]
        summary = summarise(reports, failed=[f.one_line() for f in result.failures], signature=result.signature,
                            files=[f"{t.name}.json" if (self.output_dir / f"{t.name}.json").is_file() else None
                                   for t in result.transcripts], topics=self.topics)
        summary["report_format"] = self.fmt  # the transcript reports' format beside their JSON (for links)
        write_atomic(self.output_dir / "summary.json", dumps(summary))
        write_atomic(self.output_dir / "summary.md", summary_markdown(summary))
        if self.fmt == "html":
            write_atomic(self.output_dir / "summary.html", self.render("summary", summary))
        elif self.fmt == "csv":
            from grader.reports.csv_report import answers_csv
            from grader.reports.views import answer_rows, orphan_rows

            write_atomic(self.output_dir / "answers.csv", answers_csv(r for d in reports for r in (
                *answer_rows("transcript", d, self.topics), *orphan_rows(d, self.topics))))
