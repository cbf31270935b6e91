"""The learner's experience: the model answer after answering, plain words and a reading guide in text and
Markdown reports, answers in another language, empty piped input, the session summary, trends that compare like
with like, and chat logs whose speakers are recognised. Real components throughout: the bundled bank and model,
the CLI, real SQLite and real files."""
from __future__ import annotations

import io
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from rich.console import Console
from typer.testing import CliRunner

from grader.cli import app
from grader.errors import EXIT_INPUT
from grader.reports.guide import guide_entries, plural
from grader.reports.schemas import load_schema
from grader.reports.signature import format_signature
from grader.reports.terminal import print_text, signature_lines

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
LEX = ["--metrics", "keywords,rouge"]
ANSWER = "LoRA freezes W and learns a low-rank update BA; after training BA is merged into W, so no latency."
runner = CliRunner()


def cli(*args, input=None, code=0):
    result = runner.invoke(app, [str(a) for a in args], input=input)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result


def rendered(report, width: int = 100, **options) -> str:
    buffer = io.StringIO()
    print_text(report, Console(file=buffer, width=width, color_system=None, highlight=False), **options)
    return buffer.getvalue()


# --------------------------------------------------------------------------- the model answer, after answering


def test_text_report_shows_the_model_answer_and_key_points_after_the_feedback(lexical_grader):
    report = lexical_grader.grade("q09", ANSWER)
    text = rendered(report)
    question = lexical_grader.bank.get("q09")
    assert text.index("Covered:") < text.index("Model answer") < text.index("Key points")
    assert " ".join(question.reference.split()[:6]) in " ".join(text.split())
    covered = {m.concept for m in report.keywords.matched}
    missed = {m.concept for m in report.keywords.missing if not m.bonus}
    assert covered and missed
    for concept in covered:
        assert re.search(rf"✓ {re.escape(concept)}", text), concept
    for concept in missed:
        assert re.search(rf"· {re.escape(concept)}", text), concept
    assert "(essential)" in text
    assert "Model answer" not in rendered(report, model_answer=False)  # practice shows it on request


def test_markdown_report_shows_the_model_answer_after_the_answer_and_json_carries_it(tmp_path):
    out = tmp_path / "r.json"
    cli("grade", "-q", "q09", *LEX, "--answer", ANSWER, "-f", "json", "-o", out)
    data = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.validate(data, load_schema("question"))
    assert data["model_answer"]["text"].startswith("LoRA")
    assert {k["concept"] for k in data["model_answer"]["key_points"]} >= {"low-rank update", "merge for zero latency"}
    for markdown in (cli("grade", "-q", "q09", *LEX, "--answer", ANSWER, "-f", "md").stdout,
                     cli("report", out, "-f", "md").stdout):
        assert markdown.index("### Answer") < markdown.index("### Model answer") < markdown.index("Key points")
        assert "- ✓ **low-rank update** (essential)" in markdown
        assert "- ✗ **shapes and small rank**" in markdown


def test_a_report_saved_before_the_model_answer_still_renders(tmp_path):
    out = tmp_path / "old.json"
    cli("grade", "-q", "q09", *LEX, "--answer", ANSWER, "-f", "json", "-o", out)
    data = json.loads(out.read_text(encoding="utf-8"))
    del data["model_answer"]
    data["band"] = "Missing"  # the lowest band's name in older reports
    out.write_text(json.dumps(data), encoding="utf-8")
    markdown = cli("report", out, "-f", "md").stdout
    assert "Model answer" not in markdown and "(Missing)" in markdown


@pytest.mark.parametrize("spec", ["q09", "9", "explain lora"])
def test_questions_show_gives_the_model_answer_and_key_points(spec):
    text = cli("questions", "--show", spec).stdout
    assert "q09" in text and "Model answer" in text and "Key points" in text
    assert "merge for zero latency (essential)" in " ".join(text.split())
    data = json.loads(cli("questions", "--show", spec, "-f", "json").stdout)
    assert data["id"] == "q09" and data["model_answer"]["key_points"][0]["required"] is True


def test_questions_show_refuses_an_unknown_question_in_one_line():
    result = cli("questions", "--show", "q99", code=EXIT_INPUT)
    assert "no question number 99" in result.output and len(result.output.strip().splitlines()) == 1


# --------------------------------------------------------------------------- plain words and a reading guide


def test_counts_are_plain_words():
    assert (plural(1, "misconception"), plural(2, "misconception"), plural(0, "attempt")) == (
        "1 misconception", "2 misconceptions", "0 attempts")


def test_one_misconception_is_said_in_the_singular(lexical_grader):
    report = lexical_grader.grade("q09", "LoRA adds inference latency because BA is kept separate from W.")
    assert len(report.keywords.pitfalls) == 1
    text = rendered(report)
    assert "1 misconception)" in text and "misconception(s)" not in text


def test_a_fluent_wrong_answer_is_not_yet_rather_than_missing(lexical_grader):
    report = lexical_grader.grade("q09", "LoRA is a long-range radio protocol used for sensors on farms.")
    assert report.score < 20 and report.band == "Not yet"


def test_empty_answer_shows_no_bertscore_number_and_negative_values_are_not_shown(full_grader):
    empty = full_grader.grade("q09", "")
    assert empty.bertscore.recall < 0  # what the formula gives for nothing said ...
    text = rendered(empty)
    assert "– (no answer to compare)" in text and not re.search(r"-0\.\d\d", text)  # ... is not shown
    offtopic = full_grader.grade("q09", "My favourite pizza has mushrooms and olives on a thin crust.")
    assert min(offtopic.bertscore.precision, offtopic.bertscore.recall, offtopic.bertscore.f1) < 0
    assert not re.search(r"-0\.\d\d", rendered(offtopic))


def test_every_text_and_markdown_report_has_a_reading_guide(full_grader, lexical_grader, tmp_path):
    report = full_grader.grade("q09", ANSWER)
    text = " ".join(rendered(report, width=400).split())
    assert "How to read this" in text
    for name, explanation in guide_entries("question"):
        assert f"{name} {explanation}" in text, name  # BERTScore ran: every entry is there
    lexical_text = " ".join(rendered(lexical_grader.grade("q09", ANSWER), width=400).split())
    assert "Meaning overlap" not in lexical_text and "Word overlap" in lexical_text  # only the metrics that ran
    out = tmp_path / "b"
    cli("batch", SAMPLES / "dana-lee.vtt", "-o", out, "-f", "md", *LEX)
    for name in ("dana-lee.md", "summary.md"):
        assert "## How to read this" in (out / name).read_text(encoding="utf-8"), name


@pytest.mark.parametrize("width", [40, 60, 100])
def test_the_signature_is_a_folded_footer_that_never_splits_a_part(lexical_grader, width):
    report = lexical_grader.grade("q09", ANSWER)
    lines = signature_lines(report.signature, width)
    one_line = "signature: " + format_signature(report.signature).replace("|", " ")
    assert all(len(line) <= width for line in lines) and (len(lines) > 1) == (len(one_line) > width)
    assert lines[0].startswith("signature:") and all(line.startswith("  ") for line in lines[1:])
    words = " ".join(lines).split()
    for part in format_signature(report.signature).split("|"):
        assert part in words, part  # each part whole, on one line
    text = rendered(report, width=width)
    assert all(len(line.rstrip()) <= width for line in text.splitlines())


# --------------------------------------------------------------------------- answers in another language

NOT_ENGLISH = {
    "French": "LoRA gèle les poids pré-entraînés et apprend une mise à jour de faible rang, le produit de deux "
              "petites matrices B et A. Après l'entraînement, on fusionne BA dans W, donc il n'y a pas de latence.",
    "Spanish": "LoRA congela los pesos y aprende una actualización de bajo rango como el producto de dos matrices "
               "pequeñas. Después del entrenamiento se fusiona BA en W, por lo que no hay latencia adicional.",
    "German": "LoRA friert die Gewichte ein und lernt eine Aktualisierung mit niedrigem Rang als Produkt zweier "
              "kleiner Matrizen. Nach dem Training wird BA in W eingerechnet, daher gibt es keine Latenz.",
    "Italian": "LoRA congela i pesi e impara un aggiornamento di rango basso come il prodotto di due matrici "
               "piccole. Dopo l'addestramento BA viene sommato a W, perché così non c'è latenza in più.",
    "Portuguese": "LoRA congela os pesos e aprende uma atualização de posto baixo como o produto de duas matrizes "
                  "pequenas. Depois do treino BA é somado a W, então não há latência a mais.",
    "Dutch": "LoRA bevriest de gewichten en leert een update van lage rang als het product van twee kleine "
             "matrices. Na de training wordt BA bij W opgeteld, dus er is geen extra vertraging.",
    "Cyrillic script": "LoRA замораживает веса и обучает низкоранговое обновление как произведение двух матриц.",
    "Chinese or Japanese": "LoRA 冻结预训练权重，学习一个低秩更新，即两个小矩阵的乘积。训练后把 BA 合并到 W 中，所以没有额外延迟。",
}


@pytest.mark.parametrize("language", sorted(NOT_ENGLISH))
def test_another_language_is_recognised(language):
    from grader.metrics.language import detect_non_english

    assert detect_non_english(NOT_ENGLISH[language]) == language


def test_no_english_text_of_the_bank_or_the_samples_is_taken_for_another_language(bank):
    from grader.metrics.language import detect_non_english

    texts = [t for q in bank for t in (q.reference, q.question, *q.alternative_phrasings, *q.exemplars)]
    texts += [s for q in bank if q.rubric for c in q.rubric.concepts for s in (*c.statements, c.hint)]
    texts += [line for p in SAMPLES.iterdir() for line in p.read_text(encoding="utf-8").splitlines()]
    texts += ["LoRA, low rank, BA, frozen W, merge, no latency, r << d, trainable params",
              "σ(α β γ δ) ε ζ η θ ι κ λ μ ν ξ ο π ρ σ τ υ φ χ ψ ω"]
    assert len(texts) > 1000
    assert [t for t in texts if detect_non_english(t)] == []


def test_a_correct_answer_in_french_is_flagged_unreliable_not_called_a_list_of_terms(lexical_grader):
    from grader.metrics.form import keyword_list_shape

    answer = NOT_ENGLISH["French"]
    assert keyword_list_shape(answer) is not None  # no English function words: the list test alone would fire
    report = lexical_grader.grade("q09", answer)
    assert "not-english" in report.flags and "keyword-list" not in report.flags
    advice = report.feedback[0]
    assert "French" in advice and "English" in advice and "unreliable" in advice
    assert all("list of terms" not in line for line in report.feedback)
    english_list = lexical_grader.grade("q09", "LoRA, low rank, BA, frozen W, merged into W, no latency, r << d")
    assert "keyword-list" in english_list.flags and "not-english" not in english_list.flags


# --------------------------------------------------------------------------- grade with empty piped input


@pytest.mark.parametrize("args", [[], ["--answer", "-"], ["--answer-file", "-"]], ids=["piped", "dash", "file-dash"])
@pytest.mark.parametrize("stdin", ["", " \n\n"], ids=["empty", "blank"])
def test_grade_with_empty_standard_input_is_an_error(args, stdin):
    result = cli("grade", "-q", "q09", *LEX, *args, input=stdin, code=EXIT_INPUT)
    assert "standard input is empty" in result.output and len(result.output.strip().splitlines()) == 1


def test_grade_from_dev_null_exits_3_in_a_real_process(tmp_path):
    done = subprocess.run([sys.executable, "-m", "grader", "grade", "-q", "q09", *LEX], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == EXIT_INPUT, done.stderr
    assert "<stdin>: no answer given" in done.stderr and not done.stdout


# --------------------------------------------------------------------------- the practice session summary


def test_session_summary_lists_tries_and_what_to_review_next(lexical_grader):
    from grader.mentor.session import Session

    session = Session()
    assert session.add(lexical_grader.grade("q09", "LoRA learns a low-rank update.")) is None
    change = session.add(lexical_grader.grade("q09", ANSWER))
    first, second = (a.score for a in session.attempts)
    assert change == round(second - first, 2) and change > 0
    session.add(lexical_grader.grade("q13", "Temperature divides the logits before the softmax."))
    session.unused.append("a second thought, never graded")
    summary = session.summary()
    assert summary["attempts"] == 3 and [q["question_id"] for q in summary["questions"]] == ["q09", "q13"]
    assert summary["questions"][0]["scores"] == [first, second]
    review = summary["review_next"]
    assert [r["question_id"] for r in review] == sorted(
        (q["question_id"] for q in summary["questions"] if q["best"] < 70), key=lambda qid: next(
            q["best"] for q in summary["questions"] if q["question_id"] == qid))
    assert all(r["points"] for r in review)
    assert summary["unused"] == ["a second thought, never graded"]


def test_practice_ends_an_answer_with_a_dot_and_keeps_paragraphs():
    """Piped: two paragraphs, the end mark, the model answer on request, then quit with a summary."""
    result = cli("practice", "-q", "q09", *LEX,
                 input="LoRA freezes W.\n\nAfter training BA is merged into W, so no latency.\n.\nm\nq\n")
    first = result.output.split("What next?")[0]
    assert "merge for zero latency" in first  # from the second paragraph: the blank line did not cut the answer
    assert "Model answer" in result.output.split("What next?")[1]
    assert "Practice over: 1 attempt at 1 question." in result.output


def test_practice_opens_the_editor_on_request_and_keeps_a_failed_editors_text(tmp_path, monkeypatch):
    editor = tmp_path / "editor.sh"
    editor.write_text('printf "\\nAfter training BA is merged into W, so no latency.\\n" >> "$1"\n', encoding="utf-8")
    monkeypatch.setenv("EDITOR", f"sh {editor}")
    monkeypatch.delenv("VISUAL", raising=False)
    result = cli("practice", "-q", "q09", *LEX, input="LoRA freezes W.\n:edit\nq\n")
    assert "merge for zero latency" in result.output.split("What next?")[0]
    failing = tmp_path / "fail.sh"
    failing.write_text('echo "my careful paragraph" >> "$1"\nexit 1\n', encoding="utf-8")
    monkeypatch.setenv("EDITOR", f"sh {failing}")
    result = cli("practice", "-q", "q09", *LEX, input="LoRA freezes W.\n:edit\n.\nq\n")
    kept = re.search(r"what you wrote is kept in (\S+);", " ".join(result.output.split()))
    assert kept, result.output
    assert "my careful paragraph" in Path(kept.group(1)).read_text(encoding="utf-8")
    Path(kept.group(1)).unlink()


# --------------------------------------------------------------------------- history: like with like


def _record(db: Path, answer: str, metrics: str, qid: str = "q09"):
    cli("grade", "-q", qid, "--metrics", metrics, "--answer", answer, "--record", "--history-db", db)


def test_trends_compare_only_attempts_scored_the_same_way(tmp_path):
    db = tmp_path / "h.sqlite3"
    for answer in ("LoRA learns a low-rank update.", ANSWER):
        _record(db, answer, "keywords,rouge")
    _record(db, "LoRA.", "keywords")  # another way of scoring, far lower
    result = cli("history", "-q", "q09", "--history-db", db, "-f", "json")
    data = json.loads(result.stdout)
    jsonschema.validate(data, load_schema("history"))
    by_way = {s["metrics"]: s for s in data["series"]}
    assert set(by_way) == {"keywords+rouge", "keywords"}
    lexical = by_way["keywords+rouge"]
    assert lexical["n"] == 2 and lexical["slope"] == pytest.approx(lexical["scores"][1] - lexical["scores"][0], abs=1e-3)
    assert by_way["keywords"]["n"] == 1 and by_way["keywords"]["slope"] is None
    assert all(a["weights"] for a in data["attempts"])
    assert len(data["notes"]) == 1 and "scored 2 ways" in data["notes"][0]
    text = " ".join(cli("history", "-q", "q09", "--history-db", db).stdout.split())
    assert "scored 2 ways" in text and "each has its own trend" in text


@pytest.mark.parametrize("spec", ["q09", "Q09", "9", "q9", "#9", "explain lora"])
def test_history_question_takes_what_grade_takes(tmp_path, spec):
    db = tmp_path / "h.sqlite3"
    _record(db, ANSWER, "keywords,rouge")
    _record(db, "Temperature divides the logits.", "keywords,rouge", qid="q13")
    data = json.loads(cli("history", "-q", spec, "--history-db", db, "-f", "json").stdout)
    assert {a["question_id"] for a in data["attempts"]} == {"q09"}


def test_history_question_unknown_is_one_line(tmp_path):
    db = tmp_path / "h.sqlite3"
    _record(db, ANSWER, "keywords,rouge")
    result = cli("history", "-q", "77", "--history-db", db, code=EXIT_INPUT)
    assert "no question number 77" in result.output


def test_an_older_history_reads_and_migrates(tmp_path):
    from grader.mentor.history import MIGRATIONS

    db = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(db)
    for statement in MIGRATIONS[:2]:
        conn.executescript(statement)
    conn.execute("PRAGMA user_version = 2")
    conn.execute("INSERT INTO attempts (recorded_at, command, candidate, question_id, score, band, metrics) "
                 "VALUES ('2025-01-01T00:00:00Z', 'grade', 'Kim', 'q09', 40, 'Weak', 'keywords+rouge')")
    conn.commit()
    conn.close()
    data = json.loads(cli("history", "--history-db", db, "-f", "json").stdout)  # read-only: not migrated
    assert data["attempts"][0]["weights"] == "" and "weights not recorded" in data["series"][0]["scoring"]
    result = cli("grade", "-q", "q09", *LEX, "--answer", ANSWER, "--record", "--history-db", db)
    assert "recorded 1 attempt in" in result.output  # not "1 attempt(s)"
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


# --------------------------------------------------------------------------- chat logs

CHAT_LOGS = {
    "lower-case": ("bob: hi lee, ready?\nlee: sure\nbob: What is LoRA and why does it add no inference latency?\n"
                   "lee: it freezes W and learns a low-rank update BA, merged into W after training.\n",
                   ["bob", "lee"]),
    "handles": ("sam_k: hey! quick one: what is top-p sampling?\ndana99: it samples from the smallest set of "
                "tokens whose probability reaches p.\nsam_k: thanks\n", ["sam_k", "dana99"]),
    "irc": ("[10:01] <sam> what is top-p sampling?\n[10:02] <@dana_l> the smallest set of tokens whose mass "
            "reaches p\n<sam> thanks\n", ["sam", "dana_l"]),
    "stamped": ("[10:01] bob: What is LoRA?\n[10:02:30] lee_w: a low-rank update BA merged into W\n"
                "[2024-05-01 10:03] bob: thanks\n", ["bob", "lee_w"]),
}


@pytest.mark.parametrize("name", sorted(CHAT_LOGS))
def test_chat_log_speakers_are_recognised(name):
    from grader.transcripts import parse_transcript_text

    text, speakers = CHAT_LOGS[name]
    transcript = parse_transcript_text(text, "text", source=f"{name}.txt")
    assert list(transcript.speakers) == speakers
    assert [t.role for t in transcript.turns] == ["interviewer", "candidate"] * (len(transcript.turns) // 2) + (
        ["interviewer"] if len(transcript.turns) % 2 else [])


def test_batch_grades_chat_logs_and_refuses_a_file_without_speakers(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "lee.txt").write_text(CHAT_LOGS["lower-case"][0], encoding="utf-8")
    (logs / "notes.txt").write_text("LoRA freezes W.\nIt learns BA and merges it after training.\n", encoding="utf-8")
    (logs / "slides.pdf").write_bytes(b"%PDF-1.4")
    (logs / "README.md").write_text("# logs\n", encoding="utf-8")
    result = runner.invoke(app, ["batch", str(logs), "-o", str(tmp_path / "out"), *LEX])
    output = " ".join(result.output.split())
    assert result.exit_code == 1, result.output  # one graded, one refused
    assert "lee.txt: lee, 1 answer graded" in output
    assert f"{logs / 'notes.txt'}:1: no speaker labels recognised" in output
    assert "labels tried: 'Dana Lee:', 'bob:', 'lee_w:', '[10:02] Name:', '<nick>' (IRC)" in output
    assert "skipped 2 files in the input folders:" in output
    assert f"{logs / 'slides.pdf'}: not a transcript type (.pdf)" in output
    assert f"{logs / 'README.md'}: a README" in output
    alone = runner.invoke(app, ["batch", str(logs / "notes.txt"), "-o", str(tmp_path / "out2"), *LEX])
    assert alone.exit_code == EXIT_INPUT and "0 answers graded" not in alone.output
