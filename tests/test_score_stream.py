"""Streaming table grading (grader/scale): lazy readers, one line per row in input order, bad rows as error lines,
resume and interruption. Real graders throughout: the lexical one where only the streaming is under test, the
full one (the bundled model) where scores are compared."""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from grader.errors import InputError, OutputError
from grader.scale import Columns, LocalEngine, open_table, score_table
from grader.scale.stream import MAX_ANSWER_CHARS, signature_path

REPO = Path(__file__).resolve().parent.parent
LORA = ("LoRA freezes W and learns a low-rank update BA with r << d; after training BA is merged into W, so there "
        "is no extra latency.")


def write_csv(path: Path, rows: list[list[str]], header=("id", "question_id", "answer"), encoding="utf-8") -> Path:
    with open(path, "w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, records: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def bank_rows(bank, n: int) -> list[list[str]]:
    """n rows: every bank reference answering every question in turn (real, varied answers)."""
    questions = list(bank)
    return [[f"row-{i}", questions[i % len(questions)].id, questions[(i * 7) % len(questions)].reference]
            for i in range(n)]


def read_lines(path: Path) -> list[dict]:
    """The output's lines, each checked against the published schema (and its signature file against its own)."""
    import jsonschema

    schemas = REPO / "grader" / "data" / "schemas"
    line_schema = jsonschema.Draft202012Validator(json.loads((schemas / "score-line.schema.json").read_text()))
    sidecar = json.loads(signature_path(path).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(json.loads((schemas / "score-signature.schema.json").read_text())).validate(sidecar)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for line in lines:
        line_schema.validate(line)
    return lines


# --------------------------------------------------------------------------- readers


def test_the_three_formats_read_the_same_rows(tmp_path):
    rows = [["a1", "q09", LORA], ["a2", "q13", "Top-p keeps the smallest set of tokens."], ["a3", "q01", "x,\"y\"\nz"]]
    tables = [write_csv(tmp_path / "t.csv", rows),
              write_jsonl(tmp_path / "t.jsonl", [dict(zip(("id", "question_id", "answer"), r)) for r in rows])]
    pa = pytest.importorskip("pyarrow", reason="pyarrow (grader[parquet]) is not installed")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({k: [r[i] for r in rows] for i, k in enumerate(("id", "question_id", "answer"))}),
                   tmp_path / "t.parquet", row_group_size=2)
    tables.append(tmp_path / "t.parquet")
    for path in tables:
        got = [(r.id, r.question_id, r.answer, r.problem) for r in open_table(path).rows()]
        assert got == [(*r, None) for r in rows], path
        assert open_table(path).count() == 3


def test_column_flags_name_other_columns(tmp_path):
    path = write_csv(tmp_path / "t.csv", [["q09", LORA, "7"]], header=("qid", "text", "key"))
    row = next(open_table(path, Columns(id="key", question="qid", answer="text")).rows())
    assert (row.id, row.question_id, row.answer) == ("7", "q09", LORA)


def test_utf16_and_bom_tables_are_read(tmp_path):
    for name, encoding in (("bom.csv", "utf-8-sig"), ("u16.csv", "utf-16")):
        path = write_csv(tmp_path / name, [["a", "q09", "café"]], encoding=encoding)
        assert [(r.id, r.answer) for r in open_table(path).rows()] == [("a", "café")]


def test_a_bad_row_is_handed_on_with_its_reason_and_the_next_rows_are_read(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"id,question_id,answer\n"
                     b"a,q09,fine\n"
                     b"b,q09,caf\xe9\n"  # Latin-1, not UTF-8
                     b"c,q09\n"  # a field short
                     b"d,q09,nul \x00 here\n"
                     b'e,q09,"bad"quote\n'
                     b"f,q09,also fine\n")
    rows = list(open_table(path).rows())
    assert [(r.id, r.line) for r in rows] == [("a", 2), ("b", 3), ("c", 4), ("d", 5), (None, 6), ("f", 7)]
    assert rows[0].problem is None and rows[5].problem is None
    assert "not valid UTF-8 (byte 0xe9)" in rows[1].problem
    assert "2 fields but the header has 3" in rows[2].problem
    assert "NUL" in rows[3].problem and "malformed CSV" in rows[4].problem


def test_jsonl_rows_that_do_not_parse_are_handed_on(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"id": 1, "question_id": "q09", "answer": "a"}\n'
                    "{not json\n"
                    "[1, 2]\n"
                    '{"id": "x", "question_id": "q09"}\n'
                    '{"id": "y", "question_id": "q09", "answer": ["a", "list"]}\n'
                    "\n"
                    '{"id": "z", "question_id": "q09", "answer": "\\ud800"}\n', encoding="utf-8")
    rows = list(open_table(path).rows())
    assert [(r.line, r.id) for r in rows] == [(1, "1"), (2, None), (3, None), (4, "x"), (5, "y"), (7, "z")]
    assert [r.problem is None for r in rows] == [True, False, False, False, False, False]
    assert "not valid JSON" in rows[1].problem and "JSON object" in rows[2].problem
    assert "missing key 'answer'" in rows[3].problem and "expected text" in rows[4].problem
    assert "lone surrogate" in rows[5].problem


@pytest.mark.parametrize("name,content,message,line", [
    ("empty.csv", b"", "empty file", 1),
    ("cols.csv", b"id,question,answer\n1,q09,x\n", "--question-col 'question_id'", 1),
    ("binary.csv", None, "looks binary", 1),  # a spreadsheet (a zip archive) saved under a .csv name
    ("quote.csv", b'id,question_id,answer\n1,q09,"never closed\n2,q09,x\n', "never closed", 2),
    ("first.jsonl", b'{"id": 1, "answer": "x"}\n', "--question-col 'question_id'", 1),
    ("table.txt", b"id,question_id,answer\n", "unknown table type '.txt'", None),
])
def test_a_table_that_cannot_be_read_is_one_located_error(tmp_path, name, content, message, line):
    path = tmp_path / name
    if content is None:
        import zipfile

        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("xl/worksheets/sheet1.xml", "<row><c>id</c><c>answer</c></row>" * 50)
    else:
        path.write_bytes(content)
    with pytest.raises(InputError) as info:
        list(open_table(path).rows())
    assert message in info.value.message and info.value.path == str(path) and info.value.line == line


def test_missing_folder_and_pipe_are_refused_at_once(tmp_path):
    (tmp_path / "dir.csv").mkdir()
    os.mkfifo(tmp_path / "pipe.csv")  # nothing ever writes to it: reading would wait forever
    for name, message in (("nope.csv", "file not found"), ("dir.csv", "directory"), ("pipe.csv", "named pipe")):
        with pytest.raises(InputError, match=message):
            list(open_table(tmp_path / name).rows())


# --------------------------------------------------------------------------- streaming


@pytest.fixture()
def lexical_engine(lexical_grader):
    return LocalEngine(lexical_grader, chunk_size=8)


def test_one_line_per_row_in_input_order_and_bad_rows_as_errors(tmp_path, bank, lexical_grader, lexical_engine):
    rows = bank_rows(bank, 30)
    rows[3] = ["bad-q", "q99", LORA]
    rows[9] = ["empty", "q09", "   "]
    rows[17] = ["long", "q09", "word " * (MAX_ANSWER_CHARS // 5 + 1)]
    rows[25] = ["", "q09", LORA]
    path = write_csv(tmp_path / "t.csv", rows)
    summary = score_table(open_table(path), tmp_path / "out.jsonl", lexical_engine)
    lines = read_lines(tmp_path / "out.jsonl")
    assert [line["id"] for line in lines] == [r[0] for r in rows]
    physical = path.read_text(encoding="utf-8").splitlines()  # answers span several lines: each row names its first
    assert all(physical[line["line"] - 1].startswith(f"{line['id']},") for line in lines)
    errors = {line["id"]: line["error"] for line in lines if "error" in line}
    assert set(errors) == {"bad-q", "empty", "long", ""}
    assert "unknown question id 'q99'" in errors["bad-q"] and errors["empty"] == "empty answer"
    assert "limit is 100,000" in errors["long"] and errors[""] == "empty id"
    assert (summary.written, summary.graded, summary.errors) == (30, 26, 4)
    good = [r for r in rows if r[0] not in errors and r[0]]
    expected = lexical_grader.grade_many([(q, a) for _, q, a in good])
    graded = [line for line in lines if "error" not in line]
    for line, report in zip(graded, expected):
        data = report.to_dict()
        assert (line["question_id"], line["score"], line["band"]) == (data["question_id"], data["score"], data["band"])
        assert {k: line[k] for k in data if k != "signature"} == {k: v for k, v in data.items() if k != "signature"}
    sidecar = json.loads(signature_path(tmp_path / "out.jsonl").read_text(encoding="utf-8"))
    assert sidecar["signature"] == json.loads(json.dumps(lexical_grader.signature))
    assert {line["signature_sha256"] for line in graded} == {sidecar["signature_sha256"]}


def test_an_existing_output_is_neither_replaced_nor_mixed_without_being_asked(tmp_path, bank, lexical_engine):
    path = write_csv(tmp_path / "t.csv", bank_rows(bank, 10))
    out = tmp_path / "out.jsonl"
    score_table(open_table(path), out, lexical_engine)
    first = out.read_bytes()
    with pytest.raises(OutputError, match="--resume continues it, --force replaces it"):
        score_table(open_table(path), out, lexical_engine)
    assert out.read_bytes() == first
    score_table(open_table(path), out, lexical_engine, force=True)
    assert out.read_bytes() == first
    other = write_csv(tmp_path / "other.csv", [[f"x{i}", "q09", LORA] for i in range(10)])
    with pytest.raises(OutputError, match="another table"):
        score_table(open_table(other), out, lexical_engine, resume=True)
    assert out.read_bytes() == first


def _interrupt_after(chunks: int):
    calls = []

    def progress(done, total):
        calls.append(done)
        if len(calls) > chunks:  # the first call comes before any chunk
            raise KeyboardInterrupt

    return progress


def test_ctrl_c_keeps_every_finished_chunk_and_resume_writes_the_same_file(tmp_path, bank, lexical_engine):
    path = write_csv(tmp_path / "t.csv", bank_rows(bank, 37))
    whole = tmp_path / "whole.jsonl"
    score_table(open_table(path), whole, lexical_engine)
    out = tmp_path / "out.jsonl"
    with pytest.raises(KeyboardInterrupt):
        score_table(open_table(path), out, lexical_engine, progress=_interrupt_after(2))
    assert len(read_lines(out)) == 16  # two chunks of 8, every line whole
    with open(out, "ab") as fh:  # a torn line, as a kill in the middle of a write would leave
        fh.write(b'{"id":"row-16","line":18,"schema')
    summary = score_table(open_table(path), out, lexical_engine, resume=True)
    assert (summary.resumed, summary.written, summary.graded) == (16, 37, 21)
    assert out.read_bytes() == whole.read_bytes()
    again = score_table(open_table(path), out, lexical_engine, resume=True)
    assert (again.resumed, again.graded) == (37, 0) and out.read_bytes() == whole.read_bytes()


def test_resume_refuses_an_output_graded_another_way(tmp_path, bank, full_grader, lexical_engine):
    path = write_csv(tmp_path / "t.csv", bank_rows(bank, 10))
    out = tmp_path / "out.jsonl"
    with pytest.raises(KeyboardInterrupt):
        score_table(open_table(path), out, lexical_engine, progress=_interrupt_after(1))
    with pytest.raises(OutputError, match="another signature"):
        score_table(open_table(path), out, LocalEngine(full_grader, chunk_size=8), resume=True)
    with pytest.raises(OutputError, match="chunks of 8"):
        score_table(open_table(path), out, LocalEngine(lexical_engine.grader, chunk_size=4), resume=True)
    signature_path(out).unlink()
    with pytest.raises(OutputError, match="is missing"):
        score_table(open_table(path), out, lexical_engine, resume=True)


@pytest.mark.parametrize("name", ["score-line", "score-signature"])
def test_the_score_schemas_are_valid_and_refuse_a_broken_line(name):
    import jsonschema

    schema = json.loads((REPO / "grader" / "data" / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["schema_version"] == {"const": 1} and schema["$id"].endswith(f"{name}.schema.json")
    broken = {"score-line": {"id": "a", "line": 2, "error": "x", "score": 50},  # an error line with a score
              "score-signature": {"schema_version": 1, "signature_sha256": "abc", "chunk_size": 0, "signature": {}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(broken[name])


def test_a_table_that_breaks_off_is_refused_before_any_grading(tmp_path, bank, lexical_engine):
    """The rows are counted first (for the progress bar), so a table unreadable from some line on is one located
    error before any work, not a half-written output."""
    path = write_csv(tmp_path / "t.csv", bank_rows(bank, 20))
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('row-20,q09,"a quote never closed\nrow-21,q09,swallowed\n')
    with pytest.raises(InputError, match="never closed") as caught:
        score_table(open_table(path), tmp_path / "out.jsonl", lexical_engine)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[caught.value.line - 1].startswith("row-20,") and not (tmp_path / "out.jsonl").exists()


def test_a_table_with_no_rows_is_an_error(tmp_path, lexical_engine):
    path = write_csv(tmp_path / "t.csv", [])
    with pytest.raises(InputError, match="no data rows"):
        score_table(open_table(path), tmp_path / "out.jsonl", lexical_engine)


def test_full_metrics_lines_carry_the_reports_of_grade_many_on_the_same_chunks(tmp_path, bank, full_grader):
    rows = bank_rows(bank, 12)
    path = write_csv(tmp_path / "t.csv", rows)
    score_table(open_table(path), tmp_path / "out.jsonl", LocalEngine(full_grader, chunk_size=6))
    lines = read_lines(tmp_path / "out.jsonl")
    expected = [r.to_dict() for k in (0, 6) for r in full_grader.grade_many([(q, a) for _, q, a in rows[k:k + 6]])]
    for line, data in zip(lines, expected, strict=True):
        assert "bertscore" in line["metrics"] and line["score"] == data["score"]
        assert {k: line[k] for k in data if k != "signature"} == {k: v for k, v in data.items() if k != "signature"}


# --------------------------------------------------------------------------- the command


def run_cli(args: list[str], *, block: tuple[str, ...] = (), cwd: Path | None = None):
    """``grader ARGS`` in a fresh interpreter; ``block``: modules made unimportable there, as if not installed."""
    import subprocess
    import sys

    code = ("import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in block)
            + "from grader.cli import main\nsys.argv = ['grader', *sys.argv[1:]]\nmain()\n")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd or REPO,
                          timeout=600)


def test_score_command_writes_lines_says_what_failed_and_exits_1(tmp_path, bank):
    rows = bank_rows(bank, 5) + [["bad", "q99", LORA]]
    path = write_csv(tmp_path / "t.csv", rows)
    done = run_cli(["score", str(path), "-o", str(tmp_path / "out.jsonl"), "--metrics", "keywords,rouge"])
    assert done.returncode == 1, done.stderr
    line = next(n for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text.startswith("bad,"))
    assert f"error: {path}:{line}: unknown question id 'q99'" in done.stderr and "Traceback" not in done.stderr
    assert "5 rows graded, 1 could not be" in done.stderr
    assert [line.get("error") is None for line in read_lines(tmp_path / "out.jsonl")] == [True] * 5 + [False]
    again = run_cli(["score", str(path), "-o", str(tmp_path / "out.jsonl"), "--metrics", "keywords,rouge"])
    assert again.returncode == 6 and "--resume continues it, --force replaces it" in again.stderr


def test_cold_start_imports_neither_ray_nor_pyarrow_nor_the_scale_package():
    import subprocess
    import sys

    code = ("import sys, grader.cli; print(sorted(m for m in ('ray', 'pyarrow', 'torch', 'grader.scale') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_without_the_extras_every_command_works_and_ray_or_parquet_say_how_to_install(tmp_path, bank):
    path = write_csv(tmp_path / "t.csv", bank_rows(bank, 2))
    (tmp_path / "t.parquet").write_bytes(b"PAR1")
    block = ("ray", "pyarrow")
    assert run_cli(["--help"], block=block).returncode == 0
    graded = run_cli(["score", str(path), "-o", str(tmp_path / "a.jsonl"), "--metrics", "keywords,rouge"], block=block)
    assert graded.returncode == 0, graded.stderr
    batch = run_cli(["batch", "samples", "-o", str(tmp_path / "reports"), "--metrics", "keywords,rouge"], block=block)
    assert batch.returncode == 0, batch.stderr
    for args, extra in ((["score", str(path), "-o", str(tmp_path / "b.jsonl"), "--engine", "ray"], "ray"),
                        (["batch", "samples", "-o", str(tmp_path / "r2"), "--engine", "ray"], "ray"),
                        (["score", str(tmp_path / "t.parquet"), "-o", str(tmp_path / "c.jsonl")], "parquet")):
        done = run_cli([*args, "--metrics", "keywords,rouge"], block=block)
        errors = [line for line in done.stderr.splitlines() if line.strip()]
        assert done.returncode == 2 and len(errors) == 1, done.stderr
        assert f"pip install 'grader[{extra}]'" in errors[0] and "Traceback" not in done.stderr


def test_an_unknown_device_engine_or_a_missing_gpu_is_one_line(tmp_path, bank):
    import torch

    path = write_csv(tmp_path / "t.csv", bank_rows(bank, 2))
    out = str(tmp_path / "o.jsonl")
    cases = [(["--engine", "spark"], 2, "[--engine]"), (["--workers", "2"], 2, "for --engine ray"),
             (["--device", "tpu"], 5, "[--device]"), (["--chunk-size", "0"], 2, "[--chunk-size]")]
    if not torch.cuda.is_available():
        cases.append((["--device", "cuda"], 5, "no CUDA device"))
    for extra, code, names in cases:
        done = run_cli(["score", str(path), "-o", out, *extra])
        errors = [line for line in done.stderr.splitlines() if line.strip()]
        assert done.returncode == code and len(errors) == 1 and names in errors[0], (extra, done.stderr)
