"""Combination of metric results into a 0-100 score, a band, and guards against gaming.

The weights live in ``grader/data/weights.yaml`` (data, not code); ``load_config`` validates them when they
are read, so a bad edit fails at start-up with the field named, not halfway through a batch.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.errors import ConfigError
from grader.yamlio import safe_load
from grader.metrics.bertscore import BertScoreResult
from grader.metrics.form import admits_not_knowing, keyword_list_shape
from grader.metrics.keywords import KeywordResult
from grader.metrics.language import detect_non_english
from grader.metrics.rouge import RougeResult
from grader.text import STOPWORDS, holds_answer, tokenize

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "data" / "weights.yaml"
SEMANTIC_FEATURES = ("bertscore_precision", "bertscore_recall", "bertscore_f1", "rouge1_precision",
                     "rouge1_recall", "rouge1_f1", "rouge2_recall", "rouge2_f1", "rougeL_recall", "rougeL_f1",
                     "demoted_bertscore_recall", "reference_demoted_bertscore_recall", "demoted_rouge1_recall")


@dataclass(frozen=True)
class Config:
    keyword_weight: float
    semantic_features: dict[str, float]
    semantic_floor: float
    semantic_ceiling: float
    lexical_features: dict[str, float]
    lexical_floor: float
    lexical_ceiling: float
    bertscore_layer: int
    bertscore_idf: bool
    bertscore_baseline: str
    bands: tuple[tuple[str, float], ...]
    keyword_list_factor: float
    question_copy_cap: float
    missing_required_cap: float
    misconception_factor: float
    off_question_margin: float
    off_question_cap: float
    contradiction_factor: float = 0.5
    reference_contradiction_factor: float = 0.3
    gist_floor: float = 0.0
    gist_min_semantic: float = 1.0
    #: Where the stretched similarity stops being linear and bends towards 1 (1.0: a hard clip at the ceiling).
    semantic_knee: float = 1.0
    meaning_threshold: float = 0.5
    #: A clause at least this close (cosine) to an essential concept gives the gist (``meaning.gist_clause``).
    gist_threshold: float = 1.0
    #: Sentence-embedding margin by which another question (its text and reference) must be closer to the
    #: whole answer for the answer to be off-question; 0 turns this signal off.
    off_topic_margin: float = 0.0
    #: A short answer that admits not knowing scores at most this (100: no cap).
    admission_cap: float = 100.0
    #: A list of terms at least this close (ROUGE-L F1) to the reference is the reference's own notes, not gaming.
    list_reference_f1: float = 0.8
    path: str = ""
    digest: str = field(default="", compare=False)
    calibration: Any = None  # grader.calibration.Calibration: replaces the semantic weights when set
    compute_features: tuple[str, ...] = ()  # computed even when unweighted (calibration needs them all)
    #: The weights file's own ``judge:`` section (weight, disagreement_margin), used only with ``--judge``;
    #: without one, grader/data/judge.yaml (grader/scoring/judging.py).
    judge: Any = field(default=None, compare=False)

    def band(self, score: float) -> str:
        for name, threshold in self.bands:
            if score >= threshold:
                return name
        return self.bands[-1][0]

    def uses_feature(self, name: str) -> bool:
        """Whether ``name`` counts in the score (costly optional features are computed only then)."""
        if name in self.compute_features:
            return True
        if self.calibration is not None:
            return name in self.calibration.features
        return self.semantic_features.get(name, 0) > 0 or self.lexical_features.get(name, 0) > 0

    @property
    def signature(self) -> dict:
        out = {"file": Path(self.path).name, "sha256": self.digest, "keyword_weight": self.keyword_weight,
               "semantic": dict(self.semantic_features), "floor": self.semantic_floor,
               "ceiling": self.semantic_ceiling}
        if self.semantic_knee < 1.0:
            out["knee"] = self.semantic_knee
        if self.calibration is not None:
            out["calibration"] = self.calibration.signature
        return out


def _read_weights_file(path: Path) -> tuple[bytes, dict]:
    """The file's bytes (for the digest) and its YAML mapping; every failure a ConfigError naming the line."""
    import yaml

    from grader.io import read_bytes_limited

    try:
        raw = read_bytes_limited(path, 1024 * 1024)
    except FileNotFoundError:
        raise ConfigError("weights file not found", path=path) from None
    except OSError as exc:
        raise ConfigError(f"cannot read weights file: {exc.strerror or exc}", path=path) from None
    try:
        data = safe_load(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError("weights file is not valid UTF-8", path=path, line=line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if isinstance(exc, yaml.constructor.ConstructorError):  # safe_load met a tag such as !!python/object
            problem = f"YAML tags are not allowed (plain YAML only): {problem}"
        raise ConfigError(f"weights file is not valid YAML: {problem}", path=path,
                          line=mark.line + 1 if mark is not None else None) from None
    if not isinstance(data, dict):
        raise ConfigError("weights file must be a YAML mapping", path=path)
    return raw, data


def _lexical_fallback(lexical, num, path: Path) -> tuple[dict[str, float], float, float]:
    """The ROUGE-only combination used when BERTScore is not among the metrics: weights, floor, ceiling."""
    if not isinstance(lexical, dict) or not isinstance(lexical.get("features"), dict) or not lexical["features"]:
        raise ConfigError("must give features, floor and ceiling for grading without BERTScore", path=path,
                          field="lexical_fallback")
    lexical_weights = {}
    for name in lexical["features"]:
        if name not in SEMANTIC_FEATURES or name.startswith(("bertscore", "demoted_bertscore")):
            raise ConfigError(f"{name!r} is not a ROUGE feature", path=path, field="lexical_fallback.features")
        lexical_weights[name] = num(lexical["features"], name, f"lexical_fallback.features.{name}")
    lexical_floor = num(lexical, "floor", "lexical_fallback.floor", -1.0, 1.0)
    lexical_ceiling = num(lexical, "ceiling", "lexical_fallback.ceiling", -1.0, 1.0)
    if lexical_ceiling <= lexical_floor or sum(lexical_weights.values()) <= 0:
        raise ConfigError("ceiling must be above floor and weights not all zero", path=path,
                          field="lexical_fallback")
    return lexical_weights, lexical_floor, lexical_ceiling


#: Guards a weights file may leave out: (key in the file, Config field, upper bound). Left out, a guard keeps the
#: Config default (off, or what grader did before it was added), so older weights files still read the same.
_OPTIONAL_GUARDS = (("off_topic_margin", "off_topic_margin", 2), ("admission_cap", "admission_cap", 100),
                    ("keyword_list_reference_f1", "list_reference_f1", 1))


def _optional_guards(guards: dict, num) -> dict:
    return {field: num(guards, key, f"guards.{key}", 0, hi) for key, field, hi in _OPTIONAL_GUARDS if key in guards}


def load_config(path: str | Path | None = None) -> Config:
    """Read and validate a weights file; errors name the file and the field."""
    path = Path(path) if path else DEFAULT_CONFIG
    raw, data = _read_weights_file(path)

    def num(container: dict, key: str, where: str, lo: float = 0.0, hi: float | None = None) -> float:
        value = container.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"must be a number, got {value!r}", path=path, field=where)
        if value < lo or (hi is not None and value > hi):
            raise ConfigError(f"must be between {lo:g} and {hi if hi is not None else 'inf'}, got {value}",
                              path=path, field=where)
        return float(value)

    if data.get("version") != 1:
        raise ConfigError(f"unsupported version {data.get('version')!r} (this grader reads version 1)",
                          path=path, field="version")
    features = data.get("semantic_features")
    if not isinstance(features, dict) or not features:
        raise ConfigError("must map feature names to weights", path=path, field="semantic_features")
    for name in features:
        if name not in SEMANTIC_FEATURES:
            raise ConfigError(f"unknown feature {name!r} (known: {', '.join(SEMANTIC_FEATURES)})",
                              path=path, field="semantic_features")
    weights = {k: num(features, k, f"semantic_features.{k}") for k in features}
    if sum(weights.values()) <= 0:
        raise ConfigError("weights must not all be zero", path=path, field="semantic_features")
    floor = num(data, "semantic_floor", "semantic_floor", -1.0, 1.0)
    ceiling = num(data, "semantic_ceiling", "semantic_ceiling", -1.0, 1.0)
    if ceiling <= floor:
        raise ConfigError(f"must be above semantic_floor ({floor})", path=path, field="semantic_ceiling")
    bs = data.get("bertscore") or {}
    layer = bs.get("layer")
    if not isinstance(layer, int) or isinstance(layer, bool) or not 1 <= layer <= 6:
        raise ConfigError(f"must be an integer 1..6, got {layer!r}", path=path, field="bertscore.layer")
    bands_raw = data.get("bands")
    if not isinstance(bands_raw, dict) or not bands_raw:
        raise ConfigError("must map band names to score thresholds", path=path, field="bands")
    bands = tuple(sorted(((str(k), num(bands_raw, k, f"bands.{k}", 0, 100)) for k in bands_raw),
                         key=lambda b: -b[1]))
    guards = data.get("guards") or {}
    total = sum(weights.values())
    lexical_weights, lexical_floor, lexical_ceiling = _lexical_fallback(data.get("lexical_fallback"), num, path)
    if data.get("judge") is not None:  # checked now (a bad edit fails at start-up); the judge loads only then
        from grader.judge import judge_settings

        judge_settings(data["judge"], path=path)
    return Config(
        keyword_weight=num(data, "keyword_weight", "keyword_weight", 0.0, 1.0),
        semantic_features={k: v / total for k, v in weights.items()},
        semantic_floor=floor,
        semantic_ceiling=ceiling,
        lexical_features=lexical_weights,
        lexical_floor=lexical_floor,
        lexical_ceiling=lexical_ceiling,
        bertscore_layer=layer,
        bertscore_idf=bool(bs.get("idf", True)),
        bertscore_baseline=str(bs.get("baseline", "all-MiniLM-L6-v2.tsv")),
        bands=bands,
        keyword_list_factor=num(guards, "keyword_list_factor", "guards.keyword_list_factor", 0, 1),
        question_copy_cap=num(guards, "question_copy_cap", "guards.question_copy_cap", 0, 100),
        missing_required_cap=num(guards, "missing_required_cap", "guards.missing_required_cap", 0, 100),
        misconception_factor=num(guards, "misconception_factor", "guards.misconception_factor", 0, 10),
        off_question_margin=num(guards, "off_question_margin", "guards.off_question_margin", 0, 2),
        off_question_cap=num(guards, "off_question_cap", "guards.off_question_cap", 0, 100),
        contradiction_factor=num(guards, "contradiction_factor", "guards.contradiction_factor", 0, 1),
        reference_contradiction_factor=num(guards, "reference_contradiction_factor",
                                           "guards.reference_contradiction_factor", 0, 1),
        meaning_threshold=num(data.get("meaning") or {}, "concept_threshold", "meaning.concept_threshold", 0, 1),
        semantic_knee=num(data, "semantic_knee", "semantic_knee", 0.0, 1.0) if "semantic_knee" in data else 1.0,
        gist_floor=num(guards, "gist_floor", "guards.gist_floor", 0, 100),
        gist_min_semantic=num(guards, "gist_min_semantic", "guards.gist_min_semantic", 0, 1),
        gist_threshold=(num(data.get("meaning") or {}, "gist_threshold", "meaning.gist_threshold", 0, 1)
                        if "gist_threshold" in (data.get("meaning") or {}) else 1.0),
        **_optional_guards(guards, num),
        path=str(path),
        digest=hashlib.sha256(raw).hexdigest()[:16],
        judge=data.get("judge"),
    )


# --------------------------------------------------------------------------- features


def semantic_feature_values(rouge: RougeResult | None, bert: BertScoreResult | None,
                            demoted: dict[str, float] | None = None) -> dict[str, float]:
    """The candidate features, each kept within [-1, 1]; absent metrics give no features."""
    values: dict[str, float] = dict(demoted or {})
    if bert is not None:
        values.update(bertscore_precision=bert.precision, bertscore_recall=bert.recall, bertscore_f1=bert.f1)
    if rouge is not None:
        for kind in ("rouge1", "rouge2", "rougeL"):
            prf = getattr(rouge, kind)
            values.update({f"{kind}_precision": prf.precision, f"{kind}_recall": prf.recall,
                           f"{kind}_f1": prf.f1})
    # Not clipped at 0: rescaled BERTScore is negative for answers less similar than unrelated text, and
    # those grades of "worse than unrelated" still carry signal (clipping cost 0.03 Pearson on Mohler).
    return {k: min(1.0, max(-1.0, v)) for k, v in values.items()}


def semantic_score(config: Config, values: dict[str, float]) -> float | None:
    """Weighted mean of the configured features that are present, stretched between floor and ceiling.

    Without BERTScore (``--metrics keywords,rouge``) the lexical fallback features and anchors are used.

    With a calibration, its fitted model (on the human scale, divided by the top grade) is used instead.
    """
    if config.calibration is not None:
        return config.calibration.semantic(values) if values else None
    for features, floor, ceiling in ((config.semantic_features, config.semantic_floor, config.semantic_ceiling),
                                     (config.lexical_features, config.lexical_floor, config.lexical_ceiling)):
        used = {k: w for k, w in features.items() if k in values and w > 0}
        if used:
            mean = sum(values[k] * w for k, w in used.items()) / sum(used.values())
            return soft_ceiling((mean - floor) / (ceiling - floor), config.semantic_knee)
    return None


def soft_ceiling(stretched: float, knee: float) -> float:
    """``stretched`` kept within [0, 1]: linear up to ``knee``, then bending smoothly towards 1 (same slope at
    the knee, never reaching it) instead of clipping at the ceiling.

    Why: with a hard clip, every answer above the ceiling scores exactly 100, and so do many that state the
    reference's words with one claim reversed (36 % of SemEval-2013 Beetle's contradictory answers, 74 % of its
    correct ones). Above the ceiling the similarity still orders them (AUC 0.71 among those tied answers), and a
    tie throws that order away; the bend keeps it, and leaves every score below the knee as it was."""
    if stretched <= knee or knee >= 1.0:
        return min(1.0, max(0.0, stretched))
    room = 1.0 - knee
    return knee + room * (1.0 - math.exp(-(stretched - knee) / room))


# --------------------------------------------------------------------------- guards


def restates_question(answer: str, question: str, references: tuple[str, ...] = ()) -> bool:
    """Nothing but the question said back: every content word of the answer is one of the question's.

    Not when a reference answer is itself made of the question's words: a question that sets out the evidence
    ("... was clear with nothing on the bottom. What evidence does Jim have ...?") is answered by picking the
    right part of it back out ("the mixtures are all clear")."""
    answer_words = [t.stem for t in tokenize(answer) if t.text not in STOPWORDS]
    if not answer_words:
        return False
    question_words = {t.stem for t in tokenize(question)}
    return all(w in question_words for w in answer_words) and not holds_answer(question, references)


@dataclass(frozen=True)
class Combined:
    score: float
    band: str
    flags: tuple[str, ...]
    keywords: float | None  # keyword coverage after guards
    semantic: float | None
    language: str | None = None  # the language the answer seems written in, when clearly not English
    judge: dict | None = None  # the LLM judge's block for the report (grader.scoring.judging.apply_judge)


#: An answer whose rubric coverage is at least this is never off-question: the rubric vouches for it.
OFF_QUESTION_MAX_COVERAGE = 0.5


def combine(config: Config, question: str, answer: str, keywords: KeywordResult | None,
            rouge: RougeResult | None, bert: BertScoreResult | None,
            demoted: dict[str, float] | None = None, closer_question: str | None = None,
            contradictions: tuple = (), judge=None, gist: bool = False, references: tuple = ()) -> Combined:
    """Score 0-100 from whatever metrics ran, with the guards applied and recorded as flags. ``gist``: a clause
    is close in meaning to an essential concept (``meaning.gist_clause``), if not close enough to cover it.
    ``judge`` (the LLM judge's verdict and settings, with ``--judge``) is mixed in before the guards, so caps and
    penalties still apply; its flags come after the guards'."""
    flags: list[str] = []
    semantic = semantic_score(config, semantic_feature_values(rouge, bert, demoted))
    coverage = keywords.coverage if keywords is not None else None
    # A bare list of terms is not an answer (recall-based similarity rewards it too); one that follows the
    # reference's own wording (telegraphic notes like the reference itself) is not gaming.
    close_to_reference = rouge is not None and rouge.rougeL.f1 >= config.list_reference_f1
    # An answer in another language has no English function words either: it is not a list of terms, and its
    # score (against an English bank) is flagged as unreliable instead of penalised.
    language = detect_non_english(answer)
    keyword_list = (bool(answer.strip()) and not close_to_reference and language is None
                    and keyword_list_shape(answer) is not None)
    if coverage is not None and semantic is not None:
        base = config.keyword_weight * coverage + (1 - config.keyword_weight) * semantic
    else:
        base = next((v for v in (coverage, semantic) if v is not None), 0.0)
    score, judged = _judged(100.0 * base, judge)
    if keywords is not None and any(m.required for m in keywords.missing):
        # The rubric gates the score: an answer that misses an essential point is at best Weak, however
        # similar it sounds (a VQ-VAE description is close to a VAE one, yet does not explain the ELBO).
        if score > config.missing_required_cap:
            flags.append("missing-required")
            score = config.missing_required_cap
    if keywords is not None and keywords.pitfalls:
        # A stated misconception costs twice: off the rubric coverage, and a share of the whole score
        # (misconception_factor x penalty), because a mentor marks a confidently wrong answer below a vague
        # but correct one.
        flags.append("misconception")
        score *= max(0.0, 1.0 - config.misconception_factor * sum(p.penalty for p in keywords.pitfalls))
    if contradictions:
        # A claim that contradicts a fact the answer must get right: the vocabulary around it earns little.
        # Each contradicting clause keeps (1 - factor) of the score.
        # Without a rubric the facts are the reference's own sentences, read with less certainty: a lighter cost.
        flags.append("contradiction")
        for c in contradictions:
            from_rubric = bool(c.subject) or c.kind == "order"
            score *= 1.0 - (config.contradiction_factor if from_rubric else config.reference_contradiction_factor)
    admits = admits_not_knowing(answer) is not None
    score = _gist_or_admission(config, score, flags, semantic, keywords, contradictions, gist, admits)
    if not answer.strip():
        flags.append("empty")
        score = 0.0
    if (closer_question is not None and keywords is not None and keywords.coverage < OFF_QUESTION_MAX_COVERAGE
            and not keywords.pitfalls and not contradictions and not admits):
        # An answer to a different question (its reference or topic fits clearly better, this rubric does not
        # vouch for it) is not an answer to this one; flagged even at 0, so the feedback names that question.
        # One that gets this question wrong is about it (its error is the feedback); an admission of not knowing
        # answers no question. Without a rubric the guard stays off (on Mohler, where neighbouring questions
        # share vocabulary, it cost 0.02 Pearson).
        flags.append("off-question")
        score = min(score, config.off_question_cap)
    if keyword_list:
        flags.append("keyword-list")
        score *= config.keyword_list_factor
    if restates_question(answer, question, references):
        flags.append("restates-question")
        score = min(score, config.question_copy_cap)
    if language is not None:
        flags.append("not-english")
    if judged is not None:
        flags += list(dict.fromkeys(f["flag"] for f in judged["flags"]))
    score = round(min(100.0, max(0.0, score)), 2)
    rounded = [None if v is None else round(v, 6) for v in (coverage, semantic)]
    return Combined(score, config.band(score), tuple(flags), *rounded, language, judged)


def _gist_or_admission(config: Config, score: float, flags: list[str], semantic, keywords, contradictions,
                       gist: bool, admits: bool) -> float:
    """The score after the gist floor and the admission cap (their flags appended to ``flags``)."""
    states_essential = (semantic is not None and semantic >= config.gist_min_semantic
                        and keywords is not None and any(m.required for m in keywords.matched))
    if (keywords is not None and not keywords.pitfalls and not contradictions and score < config.gist_floor
            and (states_essential or gist) and not admits):
        # A plain, honest answer that states an essential point (in any words) and nothing wrong has the gist:
        # a mentor marks it Partial at least, above a list of terms or a fluent wrong answer. A short answer in
        # general terms is far from a long reference, so a clause close in meaning to an essential concept is
        # enough. The guards after it (empty, off-question, list, restated question) still apply.
        flags.append("gist")
        return config.gist_floor
    if admits and score > config.admission_cap:
        # "I've heard 'think step by step', but I don't know why it would help": a term recognised, the point
        # not known. A mentor marks it below an honest answer in general terms (the gist floor).
        flags.append("admits-not-knowing")
        return config.admission_cap
    return score


def _judged(score: float, judge) -> tuple[float, dict | None]:
    """``judge`` = (verdict, settings[, response format]) or None: the score with the judge's share, its block."""
    if judge is None:
        return score, None
    from grader.scoring.judging import apply_judge

    return apply_judge(score, *judge)
