"""Progress history: graded attempts recorded in a local SQLite database, and their trend over time.

Recording is opt-in (``--record`` or ``GRADER_HISTORY=1``). The database (``--history-db``, else
``GRADER_HISTORY_DB``, else ``$XDG_DATA_HOME/grader/history.sqlite3``, i.e. ~/.local/share/grader/) is
versioned with ``PRAGMA user_version`` and migrated forward on open. Several processes may record at once
(two terminals, a batch and a practice session): WAL mode, a generous busy timeout and one short
``BEGIN IMMEDIATE`` transaction per recording make concurrent writers queue instead of failing or losing rows.
"""
from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from grader.errors import InputError, OutputError
from grader.reports.model import REPORT_SCHEMA_VERSION

ENABLE_ENV = "GRADER_HISTORY"
DB_ENV = "GRADER_HISTORY_DB"
CANDIDATE_ENV = "GRADER_CANDIDATE"
COMMANDS = ("grade", "practice", "batch")
BUSY_TIMEOUT_MS = 30_000
SPARKS = "▁▂▃▄▅▆▇█"

#: Schema migrations; migration i brings the database from user_version i to i + 1. Append, never edit.
MIGRATIONS = (
    """
    CREATE TABLE attempts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        recorded_at TEXT NOT NULL,
        command TEXT NOT NULL,
        candidate TEXT NOT NULL,
        question_id TEXT NOT NULL,
        score REAL NOT NULL,
        band TEXT NOT NULL,
        metrics TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL DEFAULT '',
        grader_version TEXT NOT NULL DEFAULT ''
    );
    """,
    "CREATE INDEX attempts_by_candidate_question ON attempts (candidate, question_id, recorded_at, id);",
    # How the score was made beyond the metrics: the weights file's hash (and a calibration's), so a trend
    # compares only attempts scored the same way. Empty for attempts recorded before.
    "ALTER TABLE attempts ADD COLUMN weights TEXT NOT NULL DEFAULT '';",
)
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True)
class Attempt:
    recorded_at: str
    command: str
    candidate: str
    question_id: str
    score: float
    band: str
    metrics: str = ""
    source: str = ""
    grader_version: str = ""
    id: int | None = None
    weights: str = ""  # the weights file's hash (+ a calibration's): with metrics, how the score was made

    @property
    def scoring(self) -> tuple[str, str]:
        """How the score was made: (metrics, weights); attempts compare only when this is the same."""
        return self.metrics, self.weights


def recording_enabled(flag: bool) -> bool:
    """``--record`` or ``GRADER_HISTORY`` set to 1/true/yes/on."""
    return flag or os.environ.get(ENABLE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def default_db_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or (
        os.environ.get("LOCALAPPDATA") if os.name == "nt" else None) or Path.home() / ".local" / "share"
    return Path(base) / "grader" / "history.sqlite3"


def resolve_db_path(path: str | Path | None = None) -> Path:
    """``--history-db`` wins, then ``GRADER_HISTORY_DB``, then the user's data folder."""
    chosen = path or os.environ.get(DB_ENV) or None
    return Path(chosen).expanduser() if chosen else default_db_path()


def default_candidate() -> str:
    """Who is practising: ``GRADER_CANDIDATE``, else the login name."""
    name = os.environ.get(CANDIDATE_ENV, "").strip()
    if name:
        return name
    try:
        import getpass

        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return "me"


class History:
    """An open history database (a context manager); every method is one short transaction."""

    def __init__(self, path: str | Path | None = None, *, create: bool = True):
        self.path = resolve_db_path(path)
        if not create and not self.path.exists():
            raise InputError("no history database here yet; record attempts with --record or GRADER_HISTORY=1",
                             path=self.path)
        if self.path.is_dir():
            raise InputError("is a directory, expected a history database file", path=self.path)
        existed = self.path.exists()
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            else:  # reading needs no write access and changes nothing (no WAL switch, no migration)
                from urllib.parse import quote

                uri = f"file:{quote(str(self.path.resolve()))}?mode=ro"
                self.conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:  # reading (create=False) is bad input; recording, bad output
            raise (OutputError if create else InputError)(f"cannot open the history database: {exc}",
                                                          path=self.path) from None
        try:
            self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if create:
                self._retry(lambda: self.conn.execute("PRAGMA journal_mode = WAL").fetchone())
                self.conn.execute("PRAGMA synchronous = NORMAL")
                self._migrate()
            elif self._version() > SCHEMA_VERSION:
                raise InputError(f"history database schema version {self._version()} is newer than this grader "
                                 f"understands ({SCHEMA_VERSION}); upgrade grader", path=self.path)
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            if create and not existed:  # a new database that could not be set up (disk full): leave nothing
                for suffix in ("", "-wal", "-shm", "-journal"):
                    try:
                        Path(str(self.path) + suffix).unlink()
                    except OSError:
                        pass
                raise OutputError(f"cannot create the history database: {exc}", path=self.path) from None
            raise InputError(f"not a usable history database: {exc}", path=self.path) from None
        except InputError:
            self.conn.close()
            raise

    def __enter__(self) -> "History":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    def _retry(self, action, attempts: int = 20):
        """Run ``action``; a lock that outlasts the busy timeout (rare, e.g. switching to WAL) is retried."""
        for n in range(attempts):
            try:
                return action()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc) or n == attempts - 1:
                    raise
                time.sleep(0.05 * (n + 1))
        return None  # pragma: no cover

    def _version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        if self._version() == SCHEMA_VERSION:
            return
        if self._version() > SCHEMA_VERSION:
            raise InputError(f"history database schema version {self._version()} is newer than this grader "
                             f"understands ({SCHEMA_VERSION}); upgrade grader", path=self.path)

        def migrate() -> None:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                current = self._version()  # another process may have migrated while we waited
                for step in range(current, SCHEMA_VERSION):
                    for statement in MIGRATIONS[step].split(";"):
                        if statement.strip():
                            self.conn.execute(statement)
                    self.conn.execute(f"PRAGMA user_version = {step + 1}")
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise

        self._retry(migrate)

    def record(self, attempts: Iterable[Attempt]) -> int:
        """Insert attempts in one short transaction; returns how many were written."""
        rows = [(a.recorded_at, a.command, a.candidate, a.question_id, float(a.score), a.band, a.metrics,
                 a.source, a.grader_version, a.weights) for a in attempts]
        if not rows:
            return 0

        def insert() -> None:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self.conn.executemany(
                    "INSERT INTO attempts (recorded_at, command, candidate, question_id, score, band, metrics, "
                    "source, grader_version, weights) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise

        try:
            self._retry(insert)
        except sqlite3.Error as exc:
            raise OutputError(f"cannot record in the history database: {exc}", path=self.path) from None
        return len(rows)

    def _weights_column(self) -> str:
        """``weights``, or an empty text where a database opened read-only was never migrated to hold it."""
        return "weights" if self._version() >= 3 else "''"

    def question_ids(self) -> list[str]:
        """The question ids attempts were recorded for."""
        try:
            return [row[0] for row in self.conn.execute("SELECT DISTINCT question_id FROM attempts ORDER BY 1")]
        except sqlite3.Error as exc:
            raise InputError(f"cannot read the history database: {exc}", path=self.path) from None

    def attempts(self, candidate: str | None = None, question_id: str | None = None) -> list[Attempt]:
        """Recorded attempts in the order they were made, optionally for one candidate and/or question."""
        where, params = [], []
        if candidate is not None:
            where.append("candidate = ? COLLATE NOCASE")
            params.append(candidate)
        if question_id is not None:
            where.append("question_id = ? COLLATE NOCASE")
            params.append(question_id)
        sql = ("SELECT recorded_at, command, candidate, question_id, score, band, metrics, source, grader_version, "
               f"id, {self._weights_column()} FROM attempts" + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY recorded_at, id")
        try:
            rows = self.conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:  # a damaged page, a table of another layout
            raise InputError(f"cannot read the history database: {exc}", path=self.path) from None
        out = []
        for row in rows:
            attempt = Attempt(*row)
            if isinstance(attempt.score, bool) or not isinstance(attempt.score, (int, float)) \
                    or not 0 <= attempt.score <= 100:
                raise InputError(f"attempt {attempt.id} has score {str(attempt.score)[:40]!r}, not a number "
                                 "in 0-100 (the database was edited or damaged)", path=self.path)
            if not all(isinstance(v, str) for v in (attempt.recorded_at, attempt.candidate, attempt.question_id)):
                raise InputError(f"attempt {attempt.id} is damaged (a text field holds another type)", path=self.path)
            out.append(attempt)
        return out


def attempts_from_reports(reports: Iterable[tuple[str | None, dict]], command: str, *, recorded_at: str,
                          source: str = "") -> list[Attempt]:
    """Attempts from (candidate, report dict) pairs: a question report or a transcript answer entry."""
    if command not in COMMANDS:
        raise ValueError(f"unknown command {command!r}; expected one of {', '.join(COMMANDS)}")
    out = []
    for candidate, data in reports:
        if data.get("score") is None or not data.get("question_id"):
            continue
        signature = data.get("signature") or {}
        out.append(Attempt(recorded_at, command, candidate or default_candidate(), data["question_id"],
                           data["score"], data.get("band") or "", "+".join(signature.get("metrics", ())),
                           source, signature.get("grader", ""), weights=weights_key(signature)))
    return out


def weights_key(signature: dict) -> str:
    """The weights part of a report's signature as one short text: the weights file's hash, and a calibration's
    checksum after a '+' when one was used."""
    weights = signature.get("weights") or {}
    calibration = weights.get("calibration") or {}
    key = str(weights.get("sha256") or "")
    return key + (f"+{str(calibration.get('checksum') or '')[:16]}" if calibration else "")


def record_reports(reports: Iterable[tuple[str | None, dict]], command: str, *, db: str | Path | None = None,
                   source: str = "", now: str | None = None) -> tuple[Path, int]:
    """Record graded answers; returns the database path and how many attempts were written."""
    from grader.clock import utc_now

    attempts = attempts_from_reports(reports, command, recorded_at=utc_now(now), source=source)
    with History(db) as history:
        return history.path, history.record(attempts)


# --------------------------------------------------------------------------- trend


def slope(values: list[float]) -> float | None:
    """Least-squares slope of the values against the attempt number 0, 1, 2...; None for fewer than two."""
    n = len(values)
    if n < 2:
        return None
    mean_x = (n - 1) / 2
    mean_y = sum(values) / n
    sxx = sum((i - mean_x) ** 2 for i in range(n))
    return sum((i - mean_x) * (y - mean_y) for i, y in enumerate(values)) / sxx


def sparkline(values: list[float], top: float = 100.0) -> str:
    """One block per value on the fixed 0-100 scale (so two sparklines compare), ▁ lowest to █ highest."""
    return "".join(SPARKS[min(len(SPARKS) - 1, max(0, int(v / top * len(SPARKS))))] for v in values)


def scoring_label(metrics: str, weights: str) -> str:
    """How a score was made, in a few words: "keywords+rouge, weights f7d7f04d" ("weights not recorded" for
    attempts recorded before grader kept them)."""
    if not weights:
        how = "weights not recorded"
    else:
        how = f"weights {weights[:8]}" + (" with a calibration" if "+" in weights else "")
    return f"{metrics or 'metrics not recorded'}, {how}"


def summarize(attempts: list[Attempt], database: str | Path, candidate: str | None = None,
              question_id: str | None = None) -> dict:
    """The history data model (schema: grader/data/schemas/history.schema.json): attempts and one series per
    candidate, question and way of scoring (metrics and weights), with its trend.

    Scores made with other metrics or weights are on other scales (an answer graded with keywords and ROUGE only
    and the same answer graded with BERTScore differ by tens of points), so a trend never mixes them: each way
    of scoring is a series of its own, and ``notes`` says where one question was scored several ways.
    """
    groups: dict[tuple[str, str, tuple[str, str]], list[Attempt]] = {}
    for a in attempts:
        groups.setdefault((a.candidate, a.question_id, a.scoring), []).append(a)
    ways: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for who, qid, scoring in groups:
        ways.setdefault((who, qid), []).append(scoring)
    series = []
    for (who, qid, scoring), items in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1],
                                                                            kv[1][0].recorded_at, kv[1][0].id or 0)):
        scores = [a.score for a in items]
        trend = slope(scores)
        series.append({"candidate": who, "question_id": qid, "n": len(scores), "scores": scores,
                       "first": scores[0], "last": scores[-1], "best": max(scores),
                       "slope": None if trend is None else round(trend, 4), "sparkline": sparkline(scores),
                       "metrics": scoring[0], "weights": scoring[1], "scoring": scoring_label(*scoring)})
    notes = [f"{who} / {qid}: scored {len(scorings)} ways ({'; '.join(scoring_label(*w) for w in scorings)}); "
             "each has its own trend, since scores made differently do not compare"
             for (who, qid), scorings in sorted(ways.items()) if len(scorings) > 1]
    return {"schema_version": REPORT_SCHEMA_VERSION, "database": str(database),
            "filters": {"candidate": candidate, "question_id": question_id},
            "attempts": [asdict(a) for a in attempts], "series": series, "notes": notes}


def resolve_question_filter(spec: str | None, recorded: list[str], bank_loader) -> str | None:
    """The question id ``history -q`` means: a recorded id as written (any case), else whatever ``grade -q``
    accepts (an id, a number such as 9, a piece of the question's text) resolved in the bank ``bank_loader()``
    returns. Errors are those of ``grade -q``."""
    if spec is None:
        return None
    by_case = {qid.casefold(): qid for qid in recorded}
    if spec.strip().casefold() in by_case:
        return by_case[spec.strip().casefold()]
    from grader.bank.resolve import resolve_question

    return resolve_question(bank_loader(), spec)
