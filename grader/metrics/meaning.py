"""Concepts recognised by meaning: a clause of the answer that says a concept in other words covers it.

A rubric's synonyms cannot list every way a person says a thing ("squash it into a smaller space" for
"compress to a latent space"; "W plus B times A" for W' = W + BA). Each clause of the answer is embedded with
the bundled all-MiniLM-L6-v2 as sentence-transformers does (mean of the last layer over the word pieces,
unit length) and compared with the concept's statement; the best clause above the threshold covers the
concept and is shown as evidence. The model is the one BERTScore already loaded, so this costs one short
forward pass per clause and nothing at start-up.
"""
from __future__ import annotations

from dataclasses import dataclass

from grader.metrics.reading import Reading

#: Sentence embeddings use the model's last layer (all-MiniLM-L6-v2 was trained to be pooled there).
LAYER = 6
#: A clause longer than this many word pieces is cut: statements are one sentence.
MAX_PIECES = 128
#: Clauses shorter than this many words say too little to stand for a concept.
MIN_WORDS = 3
#: A sentence longer than this is read clause by clause instead of whole (a long sentence says several
#: things; a short one says one, and embedding its clauses too only costs time).
LONG_SENTENCE_WORDS = 20


@dataclass(frozen=True)
class MeaningMatch:
    concept: str
    similarity: float
    text: str
    start: int
    end: int


def clauses(answer: str) -> list[tuple[str, int, int]]:
    """Sentences of the answer, long ones as their clauses: (text, start, end), unique."""
    reading = Reading.of(answer)
    out: dict[tuple[int, int], str] = {}
    sentence_words: dict[int, int] = {}
    for t in reading.tokens:
        sentence_words[t.sentence] = sentence_words.get(t.sentence, 0) + 1
    for by in ("sentence", "clause"):
        keys = [t.sentence for t in reading.tokens] if by == "sentence" else reading.clause
        start = 0
        for k in range(1, len(keys) + 1):
            if k == len(keys) or keys[k] != keys[start]:
                long_sentence = sentence_words[reading.tokens[start].sentence] > LONG_SENTENCE_WORDS
                if k - start >= MIN_WORDS and (by == "sentence") != long_sentence:
                    lo, hi = reading.tokens[start].start, reading.tokens[k - 1].end
                    out[(lo, hi)] = answer[lo:hi]
                start = k
    return [(text, lo, hi) for (lo, hi), text in sorted(out.items())]


class SentenceEncoder:
    """Unit-length sentence embeddings from the bundled model, cached by text."""

    def __init__(self, batch_size: int | None = None, device: str = "cpu"):
        self.device = device
        self.batch_size = batch_size or {"cpu": 64, "cuda": 512}[device]
        self._cache: dict[str, object] = {}

    def embed(self, texts: list[str]):
        """A [len(texts), dim] tensor of unit vectors (encodes only the texts not cached)."""
        import torch

        from grader.metrics.bertscore import _load_model

        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if todo:
            tokenizer, model = _load_model(LAYER, self.device)
            encoded = [[tokenizer.cls_token_id, *tokenizer.encode(t.strip())[: MAX_PIECES - 2], tokenizer.sep_token_id]
                       for t in todo]
            with torch.no_grad():
                for batch in _buckets(sorted(range(len(todo)), key=lambda k: -len(encoded[k])),
                                      [len(e) for e in encoded], self.batch_size):
                    length = max(len(encoded[k]) for k in batch)
                    ids = torch.full((len(batch), length), tokenizer.pad_token_id, dtype=torch.long)
                    mask = torch.zeros((len(batch), length), dtype=torch.long)
                    for row, k in enumerate(batch):
                        ids[row, : len(encoded[k])] = torch.tensor(encoded[k])
                        mask[row, : len(encoded[k])] = 1
                    hidden = model(ids, mask)
                    weights = mask.unsqueeze(-1).to(hidden.dtype)
                    pooled = (hidden * weights).sum(1) / weights.sum(1).clamp_min(1e-9)
                    pooled = pooled / pooled.norm(dim=-1, keepdim=True).clamp_min(1e-12)
                    for row, k in enumerate(batch):
                        self._cache[todo[k]] = pooled[row]
        if not texts:
            return torch.zeros((0, 384))
        return torch.stack([self._cache[t] for t in texts])

    def forget(self, texts) -> None:
        for text in texts:
            self._cache.pop(text, None)


def _buckets(order: list[int], lengths: list[int], size: int) -> list[list[int]]:
    """Batches of texts of similar length (longest first): a new batch starts when a text is under 70 % of the
    batch's longest, so padding stays small (one 46-word clause padded four short ones to twice their cost)."""
    batches: list[list[int]] = []
    for k in order:
        if not batches or len(batches[-1]) >= size or lengths[k] < 0.7 * lengths[batches[-1][0]]:
            batches.append([])
        batches[-1].append(k)
    return batches


def match_by_meaning(encoder: SentenceEncoder, answer: str, concepts, threshold: float,
                     spans: list[tuple[str, int, int]] | None = None) -> list[MeaningMatch]:
    """For each concept (with a ``meaning`` sentence), the answer clause closest in meaning, if above threshold.

    ``spans``: the answer's ``clauses`` when the caller has them (and has embedded them in a batch)."""
    wanted = [c for c in concepts if c.meanings]
    spans = clauses(answer) if spans is None else spans
    if not wanted or not spans:
        return []
    statements = [m for c in wanted for m in c.meanings]
    sims = encoder.embed([s[0] for s in spans]) @ encoder.embed(statements).T
    per_concept, column = [], 0
    for concept in wanted:  # clause x concept: the best statement of each concept
        per_concept.append(sims[:, column : column + len(concept.meanings)].max(dim=1).values)
        column += len(concept.meanings)
    # A clause is evidence for one concept only (the closest): sentence embeddings follow the topic, so one
    # clause about VAEs is "close" to several VAE concepts at once. Best pairs first.
    pairs = sorted(((float(per_concept[j][i]), i, j) for j in range(len(wanted)) for i in range(len(spans))),
                   reverse=True)
    out, used_clauses, done = [], set(), set()
    for value, i, j in pairs:
        if value < threshold:
            break
        if i in used_clauses or j in done:
            continue
        used_clauses.add(i)
        done.add(j)
        text, start, end = spans[i]
        out.append(MeaningMatch(wanted[j].name, round(value, 4), text, start, end))
    return out


#: A clause that gives the gist must say at least this many content words beyond the question's own: "LoRA...
#: I've heard the phrase" is near the concept only because it names the topic.
GIST_MIN_NEW_WORDS = 4


def gist_clause(encoder: SentenceEncoder, answer: str, concepts, question: str, threshold: float,
                spans: list[tuple[str, int, int]] | None = None) -> MeaningMatch | None:
    """The clause of the answer closest to an essential concept, if at least ``threshold`` close and saying
    something beyond the question's words: the evidence that a vague answer gets the gist.

    The threshold is lower than the one that counts a concept as covered: "writing good prompts so you get
    better answers" is the essence of "designing the input to steer the output" (0.41) without its specifics,
    which is what a Partial answer is. Only the gist floor uses it; coverage does not."""
    from grader.text import STOPWORDS, tokenize

    wanted = [c for c in concepts if c.required and c.meanings]
    spans = clauses(answer) if spans is None else spans
    asked = {t.stem for t in tokenize(question)}

    def new_words(text: str) -> int:
        return len({t.stem for t in tokenize(text) if t.text not in STOPWORDS and t.stem not in asked})

    spans = [s for s in spans if new_words(s[0]) >= GIST_MIN_NEW_WORDS]
    if not wanted or not spans:
        return None
    statements = [(c.name, m) for c in wanted for m in c.meanings]
    sims = encoder.embed([s[0] for s in spans]) @ encoder.embed([m for _, m in statements]).T
    value, flat = sims.flatten().max(dim=0)
    if float(value) < threshold:
        return None
    i, j = divmod(int(flat), len(statements))
    text, start, end = spans[i]
    return MeaningMatch(statements[j][0], round(float(value), 4), text, start, end)
