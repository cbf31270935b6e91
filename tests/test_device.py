"""--device: the encoder on a GPU gives the CPU's scores to 1e-4, and says so in the signature. The comparison runs
where torch sees a CUDA device and is skipped, with the reason, elsewhere; what a CPU-only machine can check (auto
is the CPU, cuda is refused in one line) runs everywhere."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
CUDA = torch.cuda.is_available()
ANSWERS = [
    ("q09", "LoRA freezes W and learns a low-rank update BA with r << d; after training BA is merged into W, so "
            "there is no extra latency."),
    ("q13", "Temperature divides the logits before the softmax; top-p keeps the smallest set of tokens whose "
            "probability mass reaches p, and top-k keeps the k most likely."),
    ("q01", "A generative model learns the joint distribution P(X, Y) and can sample new data; a discriminative "
            "model learns P(Y | X), the decision boundary."),
    ("q05", "I am not sure."),
]


def metric_values(report) -> list[float]:
    b = report.bertscore
    values = [report.score / 100, report.semantic or 0.0, b.precision, b.recall, b.f1]  # all on a 0-1 scale
    values += [report.keywords.coverage] if report.keywords is not None else []
    return values + [v for _, v in sorted(report.demoted.items())]


@pytest.mark.skipif(not CUDA, reason="no CUDA device: torch.cuda.is_available() is False on this machine")
def test_scores_on_cuda_equal_the_cpu_scores(bank, full_grader):
    from grader.scoring.engine import Grader

    pairs = [(q.id, other.reference) for q in list(bank)[:10] for other in list(bank)[:4]] + ANSWERS
    on_gpu = Grader(bank, device="cuda")
    assert on_gpu.device == "cuda" and on_gpu.signature["bertscore"]["device"] == "cuda"
    for cpu, gpu in zip(full_grader.grade_many(pairs), on_gpu.grade_many(pairs), strict=True):
        assert metric_values(gpu) == pytest.approx(metric_values(cpu), abs=1e-4), (cpu.question_id, cpu.answer[:40])


def test_auto_is_the_cpu_without_a_gpu_and_the_signature_names_the_device(bank):
    from grader.scoring.engine import Grader

    grader = Grader(bank, device="auto")
    assert grader.device == ("cuda" if CUDA else "cpu")
    assert grader.signature["bertscore"]["device"] == grader.device


@pytest.mark.skipif(CUDA, reason="this machine has a CUDA device, so --device cuda is not refused")
def test_cuda_without_a_gpu_is_a_configuration_error(bank):
    from grader.errors import ConfigError
    from grader.scoring.engine import Grader

    with pytest.raises(ConfigError, match="no CUDA device") as caught:
        Grader(bank, device="cuda").grade("q09", ANSWERS[0][1])
    assert caught.value.exit_code == 5 and "[--device]" in caught.value.one_line()
