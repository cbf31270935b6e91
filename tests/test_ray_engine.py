"""The Ray engine on a real local Ray runtime (ray.init(num_cpus=2), two workers): the same files as the local
engine, byte for byte. Skipped, with the reason, where Ray (grader[ray]) is not installed."""
from __future__ import annotations

import csv
import logging
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'grader[ray]')")

from grader.scale import LocalEngine, open_table, score_table  # noqa: E402
from grader.scale.ray_engine import RayEngine  # noqa: E402
from grader.scale.stream import signature_path  # noqa: E402


@pytest.fixture(scope="module")
def ray_runtime():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    yield ray
    ray.shutdown()


def table_rows(bank, n: int) -> list[list[str]]:
    """n distinct rows: every reference (whole, its first sentence, its first half, hedged, padded) answering every
    question, with a few bad rows among them."""
    questions = list(bank)
    rows = []
    for i in range(n):
        question, source = questions[i % 20], questions[(i // 20) % 20].reference.strip()
        words = source.split()
        answer = [source, source.split(". ")[0], " ".join(words[: len(words) // 2]), f"I think {source}",
                  f"{source} That is all I know about it."][(i // 400) % 5]
        rows.append([f"r{i}", question.id, answer])
    rows[7] = ["r7", "q99", "no such question"]
    rows[n * 3 // 5] = [f"r{n * 3 // 5}", "q05", " "]
    return rows


def test_score_on_ray_writes_the_local_engine_files_byte_for_byte(ray_runtime, tmp_path, bank, full_grader):
    path = tmp_path / "table.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["id", "question_id", "answer"], *table_rows(bank, 2000)])
    local = score_table(open_table(path), tmp_path / "local.jsonl", LocalEngine(full_grader))
    engine = RayEngine(full_grader, workers=2)
    try:
        assert engine.workers == 2
        on_ray = score_table(open_table(path), tmp_path / "ray.jsonl", engine)
    finally:
        engine.close()
    assert (on_ray.written, on_ray.errors) == (local.written, local.errors) == (2000, 2)
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    assert signature_path(tmp_path / "ray.jsonl").read_bytes() == signature_path(tmp_path / "local.jsonl").read_bytes()


def write_transcripts(folder: Path, bank, n: int = 20) -> Path:
    """n mock interviews of three questions each (asked in the bank's words, answered with other questions'
    references, whole or in part), as plain-text transcripts."""
    questions = list(bank)
    folder.mkdir()
    for k in range(n):
        lines = [f"Mock interview {k}", ""]
        for j in range(3):
            asked, source = questions[(3 * k + j) % 20], questions[(7 * k + 5 * j) % 20].reference.split()
            answer = " ".join(source[: len(source) // (1 + (k + j) % 3)])
            lines += [f"Interviewer: {asked.question}", f"Candidate {k}: {answer}", ""]
        (folder / f"candidate-{k:02d}.txt").write_text("\n".join(lines), encoding="utf-8")
    return folder


def test_batch_on_ray_writes_the_local_engine_files_byte_for_byte(ray_runtime, tmp_path, bank, full_grader):
    from grader.batch import ReportFolder, expand_inputs, grade_files

    inputs = write_transcripts(tmp_path / "cohort", bank)
    outputs = {}
    for name in ("local", "ray"):
        runner = LocalEngine(full_grader) if name == "local" else RayEngine(full_grader, workers=2)
        try:
            files, failures = expand_inputs([str(inputs)])
            folder = ReportFolder(tmp_path / name, "json", runner.view(), failures)
            result = grade_files(files, runner.view(), failures=failures, on_graded=folder.write,
                                 grade_chunks=runner.grade_chunks)
            folder.write_summary(result)
        finally:
            runner.close()
        assert len(result.transcripts) == 20 and not result.failures
        outputs[name] = {p.name: p.read_bytes() for p in sorted((tmp_path / name).iterdir())}
    assert len(outputs["local"]) == 22  # 20 reports, summary.json, summary.md
    assert outputs["ray"] == outputs["local"]


def test_a_worker_count_below_one_is_refused(ray_runtime, full_grader):
    from grader.scale.extras import OptionError

    with pytest.raises(OptionError, match="1 or more"):
        RayEngine(full_grader, workers=0)


def test_the_commands_run_on_ray(ray_runtime, tmp_path, bank):
    """grader score and grader batch with --engine ray (on the test's runtime): the local engine's files."""
    from typer.testing import CliRunner

    from grader.cli import app

    path = tmp_path / "table.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["id", "question_id", "answer"], *table_rows(bank, 300)])
    inputs = write_transcripts(tmp_path / "cohort", bank, n=6)
    lexical = ["--metrics", "keywords,rouge"]
    runner = CliRunner()
    for engine in ([], ["--engine", "ray", "--workers", "2"]):
        name = "ray" if engine else "local"
        scored = runner.invoke(app, ["score", str(path), "-o", str(tmp_path / f"{name}.jsonl"), *lexical, *engine])
        assert scored.exit_code == 1 and "298 rows graded, 2 could not be" in scored.output, scored.output
        batch = runner.invoke(app, ["batch", str(inputs), "-o", str(tmp_path / f"{name}-reports"), *lexical, *engine])
        assert batch.exit_code == 0, batch.output
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    for report in sorted((tmp_path / "local-reports").iterdir()):
        assert (tmp_path / "ray-reports" / report.name).read_bytes() == report.read_bytes(), report.name
