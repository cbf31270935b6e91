"""Shared fixtures. The BERTScore model is real and loads once per test session."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Tests never touch the user's cache of reference encodings.
os.environ["GRADER_CACHE_DIR"] = __import__("tempfile").mkdtemp(prefix="grader-test-cache-")

REPO = Path(__file__).resolve().parent.parent
SEED = REPO.parent / "shared" / "seed" / "genai-interview-20-questions.txt"


@pytest.fixture(scope="session")
def bank():
    from grader.bank import load_bank

    return load_bank()


@pytest.fixture(scope="session")
def full_grader(bank):
    """A Grader with every metric; its model loads on first use, once for the whole session."""
    from grader.scoring.engine import Grader

    return Grader(bank)


@pytest.fixture(scope="session")
def lexical_grader(bank):
    from grader.scoring.engine import Grader

    return Grader(bank, metrics="keywords,rouge")


@pytest.fixture()
def bank_copy(tmp_path):
    """A writable copy of the bundled bank, to break in tests."""
    import shutil

    from grader.bank import bundled_bank_dir

    src = bundled_bank_dir()
    dst = tmp_path / "bank"
    shutil.copytree(src / "references", dst / "references")
    shutil.copytree(src / "rubrics", dst / "rubrics")
    return dst


# Property-based tests (tests/test_robustness.py): fixed example counts so the suite stays bounded in time;
# derandomised in CI (env CI set) so a run is reproducible. HYPOTHESIS_PROFILE=fuzz explores far more locally.
from hypothesis import HealthCheck, settings  # noqa: E402

_HYPOTHESIS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("ci", max_examples=60, derandomize=True, database=None, print_blob=True, **_HYPOTHESIS)
settings.register_profile("dev", max_examples=60, **_HYPOTHESIS)
settings.register_profile("fuzz", max_examples=2000, **_HYPOTHESIS)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))
