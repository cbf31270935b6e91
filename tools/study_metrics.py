#!/usr/bin/env python3
"""Study how well ROUGE / BERTScore (all-MiniLM-L6-v2) settings track human grades.

Development tool: reads a merged Mohler-style CSV (id, question, desired_answer, student_answer, score_avg),
computes candidate metrics for every (student answer, reference answer) pair, and reports

  1. single metrics: Pearson / Spearman with score_avg (pooled over all answers), plus the mean per-question
     Pearson ("macro r"), for BERTScore P/R/F at layers 1..6 under several idf settings, raw and rescaled with
     the baseline file, layer aggregates, ROUGE-1/2/L P/R/F (rouge_score, use_stemmer=True), lengths, and
     question-related variants;
  2. combinations: linear models (standardised OLS / sklearn LinearRegression / Ridge) over small feature sets,
     scored by the Pearson of out-of-fold predictions under GroupKFold by question id (no question is ever in
     its own training fold). The best subset is also re-selected inside each outer fold (nested CV) to give an
     estimate that is not inflated by the subset search.

Every feature is computable at run time from (question, reference, answer) alone: no question id, no
per-question statistics of grades or of other answers. The only exception is the `idf_all` setting (idf from
all student answers + references), which needs a corpus of unlabelled answers; it is reported but kept out of
the combination pool.

BERTScore results are cached per pair set / idf setting in --cache-dir (numpy .npz), so re-runs are fast.

  HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv/bin/python tools/study_metrics.py \
      --dataset /work/shared/datasets/mohler-dev.csv
"""
from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import re
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_baseline import REPO, find_model_dir, load_dataset  # noqa: E402

LAYERS = range(1, 7)


# --------------------------------------------------------------------------------------------- BERTScore
class BS:
    """One BERTScorer (all layers at once) for the whole process; idf switched per call; results cached."""

    def __init__(self, cache_dir: Path, baseline: Path | None):
        import torch

        torch.set_num_threads(2)
        import bert_score

        self.torch = torch
        self.bert_score = bert_score
        self.model_dir = find_model_dir()
        self.cache_dir = cache_dir
        cache_dir.mkdir(parents=True, exist_ok=True)
        self._scorer = None
        self.baseline = baseline
        self.calls = 0

    @property
    def scorer(self):
        if self._scorer is None:
            self._scorer = self.bert_score.BERTScorer(model_type=str(self.model_dir), num_layers=6,
                                                      all_layers=True, idf=False, lang="en", nthreads=2)
        return self._scorer

    def _key(self, *parts) -> str:
        h = hashlib.sha1()
        h.update(json.dumps([str(self.model_dir), self.bert_score.__version__, *parts]).encode())
        return h.hexdigest()[:16]

    def score(self, cands, refs, idf_sents=None, tag="x", rescale=False) -> np.ndarray:
        """Array (7 layers, N, 3=P/R/F). Empty candidates or references give 0 (bert-score would crash)."""
        key = self._key(cands, refs, idf_sents, rescale, str(self.baseline) if rescale else "")
        path = self.cache_dir / f"{tag}_{key}.npz"
        if path.is_file():
            return np.load(path)["s"]
        s = self.scorer
        ok = [i for i, (c, r) in enumerate(zip(cands, refs)) if c.strip() and r.strip()]
        # one model per process: switch idf / rescaling on the existing scorer instead of building another
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if idf_sents is not None:
                s._idf_dict = None
                s.compute_idf(idf_sents)
            s._idf = idf_sents is not None
            s._rescale_with_baseline = rescale
            if rescale:
                s.baseline_path, s.use_custom_baseline, s._baseline_vals = str(self.baseline), True, None
            P, R, F = s.score([cands[i] for i in ok], [refs[i] for i in ok], batch_size=64)
        out = np.zeros((P.shape[0], len(cands), 3), dtype=np.float64)
        out[:, ok, 0], out[:, ok, 1], out[:, ok, 2] = P.numpy(), R.numpy(), F.numpy()
        np.savez(path, s=out)
        self.calls += 1
        return out

    def score_question_zeroed(self, cands, refs, questions, idf_sents=None, tag="qz") -> np.ndarray:
        """BERTScore with the question's word pieces weighted 0 (in context: the texts are not altered).

        Other pieces get weight 1 (idf_sents=None) or their idf over idf_sents. Scored question by question,
        since bert-score holds one idf dict per scorer. A reference made only of question pieces gives 0."""
        from collections import defaultdict

        from bert_score.utils import get_idf_dict, sent_encode

        key = self._key(cands, refs, questions, idf_sents, "qzero")
        path = self.cache_dir / f"{tag}_{key}.npz"
        if path.is_file():
            return np.load(path)["s"]
        s = self.scorer
        tk = s._tokenizer
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            base = get_idf_dict(idf_sents, tk, nthreads=0) if idf_sents is not None else None
            out = np.zeros((7, len(cands), 3))
            by_q: dict[str, list[int]] = {}
            for i, q in enumerate(questions):
                by_q.setdefault(q, []).append(i)
            for q, idx in by_q.items():
                idx = [i for i in idx if cands[i].strip() and refs[i].strip()]
                if not idx:
                    continue
                d = defaultdict(base.default_factory, base) if base is not None else defaultdict(lambda: 1.0)
                d[tk.sep_token_id] = 0.0
                d[tk.cls_token_id] = 0.0
                for t in sent_encode(tk, q):
                    d[t] = 0.0
                s._idf_dict, s._idf, s._rescale_with_baseline = d, True, False
                P, R, F = s.score([cands[i] for i in idx], [refs[i] for i in idx], batch_size=64)
                out[:, idx, 0], out[:, idx, 1], out[:, idx, 2] = P.numpy(), R.numpy(), F.numpy()
        out = np.nan_to_num(out)
        np.savez(path, s=out)
        self.calls += 1
        return out

    def sentence_embeddings(self, texts, tag="emb") -> np.ndarray:
        """all-MiniLM-L6-v2 sentence embeddings (mean pooling of the last layer, L2-normalised), cached."""
        key = self._key(texts, "meanpool")
        path = self.cache_dir / f"{tag}_{key}.npz"
        if path.is_file():
            return np.load(path)["e"]
        tok, model = self.scorer._tokenizer, self.scorer._model
        embs = []
        with self.torch.no_grad():
            for i in range(0, len(texts), 64):
                batch = [t if t.strip() else "." for t in texts[i:i + 64]]
                enc = tok(batch, padding=True, truncation=True, max_length=256, return_tensors="pt")
                hid = model(**enc).last_hidden_state
                m = enc["attention_mask"].unsqueeze(-1).float()
                e = (hid * m).sum(1) / m.sum(1).clamp(min=1e-9)
                embs.append(self.torch.nn.functional.normalize(e, dim=-1).numpy())
        e = np.concatenate(embs)
        np.savez(path, e=e)
        return e


# --------------------------------------------------------------------------------------------- text helpers
def rouge_all(cands, refs):
    from rouge_score import rouge_scorer

    sc = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    out = {}
    for c, r in zip(cands, refs):
        s = sc.score(r, c)  # score(target=reference, prediction=answer)
        for k, v in s.items():
            for a, x in zip("PRF", (v.precision, v.recall, v.fmeasure)):
                out.setdefault(f"r{k[5:]}_{a}", []).append(x)  # rouge1 -> r1_P, rougeL -> rL_R ...
    return {k: np.array(v) for k, v in out.items()}


_WORD = re.compile(r"\S+")


def demote(text: str, question: str, keep_stopwords: bool = False) -> str:
    """Question demoting: drop the words of `text` that also occur in `question` (rouge_score tokenisation +
    Porter stem). With keep_stopwords, stop words (sklearn's English list) are kept, so only content words
    of the question are removed and the text stays closer to a sentence."""
    from rouge_score import tokenizers
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    tok = tokenizers.DefaultTokenizer(use_stemmer=True)
    qset = set(tok.tokenize(question))
    kept = []
    for w in _WORD.findall(text):
        toks = tok.tokenize(w)
        if toks and all(t in qset for t in toks):
            if not (keep_stopwords and all(x in ENGLISH_STOP_WORDS for x in re.findall(r"[a-z0-9]+", w.lower()))):
                continue
        kept.append(w)
    return " ".join(kept)


def ntok(text: str) -> int:
    return len(re.findall(r"[A-Za-z0-9]+", text))


# --------------------------------------------------------------------------------------------- statistics
def pear(x, y):
    from scipy.stats import pearsonr

    x = np.asarray(x, float)
    if np.ptp(x) == 0:
        return float("nan")
    return float(pearsonr(x, y)[0])


def spear(x, y):
    from scipy.stats import spearmanr

    return float(spearmanr(x, y)[0])


def macro_r(x, y, groups):
    rs = []
    if np.ptp(x) == 0:
        return float("nan")
    for g in np.unique(groups):
        m = groups == g
        # a per-question constant (e.g. reference length) has no within-question correlation; BERTScore
        # batching leaves ~1e-7 jitter on such constants, hence the tolerance
        if np.ptp(y[m]) > 0 and np.ptp(x[m]) > 1e-6:
            rs.append(np.corrcoef(x[m], y[m])[0, 1])
    return float(np.mean(rs)) if rs else float("nan")


def folds_of(groups, k=5, seed=None):
    from sklearn.model_selection import GroupKFold

    gkf = GroupKFold(n_splits=k, shuffle=seed is not None, random_state=seed)
    return list(gkf.split(np.zeros(len(groups)), groups=groups))


def oof_ols(X, y, folds, ridge=0.0):
    """Out-of-fold predictions of OLS with intercept (= sklearn LinearRegression; standardising the features
    does not change OLS predictions). Rank-deficient sets are solved by least squares (min-norm)."""
    return FoldGram(X, y, folds).predict(list(range(X.shape[1])))


class FoldGram:
    """Per-fold Gram matrices of a feature pool, so that OLS on any subset costs a tiny solve (subset search)."""

    def __init__(self, X, y, folds):
        self.X1 = np.c_[np.ones(len(y)), X]
        self.n = len(y)
        self.parts = []
        for tr, te in folds:
            Xt = self.X1[tr]
            self.parts.append((te, Xt.T @ Xt, Xt.T @ y[tr]))

    def predict(self, idx):
        cols = [0] + [i + 1 for i in idx]
        pred = np.empty(self.n)
        for te, G, b in self.parts:
            w = np.linalg.lstsq(G[np.ix_(cols, cols)], b[cols], rcond=None)[0]
            pred[te] = self.X1[np.ix_(te, cols)] @ w
        return pred

    def scores_many(self, subsets, y, chunk=4000):
        """(OOF Pearson, OOF Pearson of predictions clipped to 0-5) for many equal-size subsets, vectorised.
        A 1e-9 relative ridge keeps exactly collinear sets (e.g. log_len, ref_log_len, log_len_ratio) solvable."""
        subsets = np.asarray(subsets, dtype=int)
        m, k = subsets.shape
        cols = np.c_[np.zeros(m, dtype=int), subsets + 1]
        out_r, out_c = np.empty(m), np.empty(m)
        yc = y - y.mean()
        for a in range(0, m, chunk):
            c = cols[a:a + chunk]
            pred = np.empty((len(c), self.n))
            for te, G, b in self.parts:
                Gs = G[c[:, :, None], c[:, None, :]]
                Gs = Gs + 1e-9 * np.trace(Gs, axis1=1, axis2=2)[:, None, None] * np.eye(k + 1)
                w = np.linalg.solve(Gs, b[c][..., None])[..., 0]
                pred[:, te] = np.einsum("tmk,mk->mt", self.X1[te][:, c], w)
            for out, pr in ((out_r, pred), (out_c, np.clip(pred, 0, 5))):
                pc = pr - pr.mean(1, keepdims=True)
                den = np.sqrt((pc ** 2).sum(1) * (yc ** 2).sum())
                out[a:a + chunk] = np.where(den > 0, pc @ yc / np.where(den > 0, den, 1), np.nan)
        return out_r, out_c


def oof_sklearn(model, X, y, folds):
    from sklearn.base import clone

    pred = np.empty(len(y))
    for tr, te in folds:
        m = clone(model).fit(X[tr], y[tr])
        pred[te] = m.predict(X[te])
    return pred


# --------------------------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--baseline", default=str(REPO / "grader/data/baselines/all-MiniLM-L6-v2.tsv"))
    ap.add_argument("--cache-dir", default="/tmp/grader_study_cache")
    ap.add_argument("--out", default=str(REPO / "tools/study_results.md"))
    ap.add_argument("--max-subset", type=int, default=4, help="largest feature subset searched")
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args(argv)
    t0 = time.time()
    import pandas as pd

    rows = load_dataset(args.dataset)
    y = np.array([float(r["score_avg"]) for r in rows])
    groups = np.array([r["id"] for r in rows])
    ans = [r["student_answer"] for r in rows]
    ref = [r["desired_answer"] for r in rows]
    qst = [r["question"] for r in rows]
    uq = list(dict.fromkeys(groups))
    refs50 = [ref[list(groups).index(q)] for q in uq]
    qs50 = [qst[list(groups).index(q)] for q in uq]
    baseline = Path(args.baseline)
    base = pd.read_csv(baseline).set_index("LAYER")[["P", "R", "F"]].to_numpy() if baseline.is_file() else None
    bs = BS(Path(args.cache_dir), baseline if baseline.is_file() else None)

    idf_sets = {"noidf": None, "idf_ref": refs50, "idf_bank": refs50 + qs50, "idf_all": refs50 + ans}
    S = {k: bs.score(ans, ref, v, tag=f"ar_{k}") for k, v in idf_sets.items()}

    # demoted texts (question words removed from answer and reference)
    ans_d = [demote(a, q) for a, q in zip(ans, qst)]
    ref_d = [demote(r, q) for r, q in zip(ref, qst)]
    n_empty = sum(not a.strip() for a in ans_d)
    refs50_d = [demote(r, q) for r, q in zip(refs50, qs50)]
    Sd = {k: bs.score(ans_d, ref_d, v, tag=f"dq_{k}") for k, v in
          {"noidf": None, "idf_ref": refs50_d}.items()}
    ans_c = [demote(a, q, keep_stopwords=True) for a, q in zip(ans, qst)]
    ref_c = [demote(r, q, keep_stopwords=True) for r, q in zip(ref, qst)]
    n_empty_c = sum(not a.strip() for a in ans_c)
    refs50_c = [demote(r, q, keep_stopwords=True) for r, q in zip(refs50, qs50)]
    Sc = {k: bs.score(ans_c, ref_c, v, tag=f"dqc_{k}") for k, v in
          {"noidf": None, "idf_ref": refs50_c}.items()}
    Sz = {k: bs.score_question_zeroed(ans, ref, qst, v, tag=f"qz_{k}") for k, v in
          {"noidf": None, "idf_ref": refs50}.items()}
    # answer vs question (question as the reference) and reference vs question (per-question constant)
    Sq = {k: bs.score(ans, qst, v, tag=f"aq_{k}") for k, v in {"noidf": None, "idf_ref": refs50}.items()}
    Srq = bs.score(ref, qst, None, tag="rq_noidf")

    # ---------------------------------------------------------------- features
    feats: dict[str, np.ndarray] = {}
    for k, s in S.items():
        for L in range(0, 7):
            for j, m in enumerate("PRF"):
                feats[f"bs{m}_L{L}_{k}"] = s[L, :, j]
        for j, m in enumerate("PRF"):
            feats[f"bs{m}_mean456_{k}"] = s[4:7, :, j].mean(0)
            feats[f"bs{m}_max1-6_{k}"] = s[1:7, :, j].max(0)
            feats[f"bs{m}_mean1-6_{k}"] = s[1:7, :, j].mean(0)
    # hybrid: recall weighted by reference idf, precision unweighted
    for L in LAYERS:
        p, r = S["noidf"][L, :, 0], S["idf_ref"][L, :, 1]
        feats[f"bsF_L{L}_Pnoidf_Ridfref"] = 2 * p * r / (p + r)
    for k, s in Sd.items():
        for L in LAYERS:
            for j, m in enumerate("PRF"):
                feats[f"dq_bs{m}_L{L}_{k}"] = s[L, :, j]
    for k, s in Sc.items():
        for L in LAYERS:
            for j, m in enumerate("PRF"):
                feats[f"dqc_bs{m}_L{L}_{k}"] = s[L, :, j]
    for k, s in Sz.items():
        for L in LAYERS:
            for j, m in enumerate("PRF"):
                feats[f"qz_bs{m}_L{L}_{k}"] = s[L, :, j]
    for k, s in Sq.items():
        for L in LAYERS:
            for j, m in enumerate("PRF"):
                feats[f"q_bs{m}_L{L}_{k}"] = s[L, :, j]
                feats[f"sub_bs{m}_L{L}_{k}"] = S[k][L, :, j] - s[L, :, j]
    for L in LAYERS:
        feats[f"rq_bsF_L{L}"] = Srq[L, :, 2]
    rg = rouge_all(ans, ref)
    feats.update(rg)
    feats.update({f"dq_{k}": v for k, v in rouge_all(ans_d, ref_d).items()})
    feats.update({f"dqc_{k}": v for k, v in rouge_all(ans_c, ref_c).items()})
    feats.update({f"q_{k}": v for k, v in rouge_all(ans, qst).items()})
    la = np.array([ntok(a) for a in ans], float)
    lr = np.array([ntok(r) for r in ref], float)
    feats["log_len"] = np.log1p(la)
    feats["log_len_ratio"] = np.log1p(la) - np.log1p(lr)
    feats["ref_log_len"] = np.log1p(lr)
    feats["len_ratio_capped"] = np.minimum(la / np.maximum(lr, 1), 1.0)
    E = bs.sentence_embeddings(ans, "emb_ans")
    Er = bs.sentence_embeddings(ref, "emb_ref")
    Eq = bs.sentence_embeddings(qst, "emb_q")
    Ed = bs.sentence_embeddings(ans_d, "emb_ansd")
    Erd = bs.sentence_embeddings(ref_d, "emb_refd")
    feats["sbert_cos"] = (E * Er).sum(1)
    feats["q_sbert_cos"] = (E * Eq).sum(1)
    feats["sub_sbert_cos"] = feats["sbert_cos"] - feats["q_sbert_cos"]
    feats["dq_sbert_cos"] = np.where([bool(a.strip()) for a in ans_d], (Ed * Erd).sum(1), 0.0)
    feats["rq_sbert_cos"] = (Er * Eq).sum(1)

    # ---------------------------------------------------------------- rescaling check
    rescale_notes = []
    if base is not None:
        Sr = bs.score(ans, ref, None, tag="ar_noidf_resc", rescale=True)  # bert-score's own rescaling
        manual = (S["noidf"] - base[:, None, :]) / (1 - base[:, None, :])
        rescale_notes.append(f"max |bert-score rescaled - manual (x-b)/(1-b)| over layers 0-6, P/R/F: "
                             f"{np.abs(Sr - manual).max():.2e}")
        dr = max(abs(pear(Sr[L, :, j], y) - pear(S["noidf"][L, :, j], y)) for L in LAYERS for j in range(3))
        ds = max(abs(spear(Sr[L, :, j], y) - spear(S["noidf"][L, :, j], y)) for L in LAYERS for j in range(3))
        rescale_notes.append(f"max |Pearson(rescaled) - Pearson(raw)| = {dr:.2e}; Spearman: {ds:.2e} "
                             "(rescaling is affine per layer, so single-metric correlations are unchanged)")
        for L in LAYERS:
            for j, m in enumerate("PRF"):
                feats[f"bs{m}_L{L}_noidf_resc"] = Sr[L, :, j]
        rel = S["noidf"][:, :, 2].mean(1)
        rescale_notes.append("mean raw F of the true (answer, own reference) pairs per layer 0..6: "
                             + ", ".join(f"{v:.3f}" for v in rel) + "; baseline F: "
                             + ", ".join(f"{v:.3f}" for v in base[:, 2]))
        rescale_notes.append("mean rescaled F of the true pairs per layer 0..6: "
                             + ", ".join(f"{v:.3f}" for v in Sr[:, :, 2].mean(1)))

    # ---------------------------------------------------------------- single metrics
    single = []
    for name, x in feats.items():
        single.append((name, pear(x, y), spear(x, y), macro_r(x, y, groups)))
    single_df = pd.DataFrame(single, columns=["metric", "pearson", "spearman", "macro_r"]).set_index("metric")

    lines: list[str] = []
    P = lines.append
    P("# Metric study: ROUGE / BERTScore (all-MiniLM-L6-v2) vs human grades")
    P("")
    P("Command (from the repository root):")
    P("")
    P("```")
    P("HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv/bin/python tools/study_metrics.py "
      f"--dataset {args.dataset}" + ("" if args.max_subset == 4 else f" --max-subset {args.max_subset}")
      + ("" if args.folds == 5 else f" --folds {args.folds}"))
    P("```")
    P("")
    P(f"Data: {len(rows)} answers, {len(uq)} questions; gold = score_avg (0-5). Human inter-grader Pearson "
      f"(score_me vs score_other) = {pear(np.array([float(r['score_me']) for r in rows]), np.array([float(r['score_other']) for r in rows])):.3f}.")
    P("Pearson / Spearman are pooled over all answers; macro_r = mean of per-question Pearson. "
      "BERTScore: candidate = student answer, reference = desired answer; layer 0 = embedding output.")
    P("idf settings: `noidf`; `idf_ref` = idf from the 50 reference answers; `idf_bank` = references + question "
      "texts; `idf_all` = references + all 1,418 student answers (transductive; needs unlabelled answers).")
    P(f"`dq_` = question demoting (answer and reference words that occur in the question removed; {n_empty} answers "
      f"become empty and score 0); `dqc_` = the same but only content words removed (stop words kept; "
      f"{n_empty_c} empty); `qz_` = BERTScore on the unaltered texts with the question's word pieces weighted 0 "
      "(`qz_..._idf_ref`: other pieces weighted by idf over the 50 references); `q_` = answer scored against the question text; `sub_` = answer-vs-reference "
      "minus answer-vs-question; `rq_` = reference vs question (a per-question constant computable at run time); "
      "`sbert_cos` = cosine of mean-pooled all-MiniLM-L6-v2 sentence embeddings (same model, not part of the "
      "current metric set).")
    P("")
    if rescale_notes:
        P("## Rescaling check")
        P("")
        for n in rescale_notes:
            P(f"* {n}")
        P("")

    def grid(kind_fmt, title):
        P(f"### {title}")
        P("")
        P("| layer | " + " | ".join(f"{m} r / rho" for m in "PRF") + " |")
        P("|---|---|---|---|")
        for L in LAYERS:
            cells = []
            for m in "PRF":
                n = kind_fmt.format(m=m, L=L)
                cells.append(f"{single_df.loc[n, 'pearson']:.3f} / {single_df.loc[n, 'spearman']:.3f}")
            P(f"| {L} | " + " | ".join(cells) + " |")
        P("")

    P("## 1. Single metrics")
    P("")
    for k in idf_sets:
        grid("bs{m}_L{L}_" + k, f"BERTScore, {k} (Pearson / Spearman)")
    grid("dq_bs{m}_L{L}_noidf", "BERTScore on question-demoted texts, noidf")
    grid("dq_bs{m}_L{L}_idf_ref", "BERTScore on question-demoted texts, idf from demoted references")
    grid("dqc_bs{m}_L{L}_noidf", "BERTScore on content-word-demoted texts, noidf")
    grid("dqc_bs{m}_L{L}_idf_ref", "BERTScore on content-word-demoted texts, idf from demoted references")
    grid("qz_bs{m}_L{L}_noidf", "BERTScore, question word pieces weighted 0, others 1")
    grid("qz_bs{m}_L{L}_idf_ref", "BERTScore, question word pieces weighted 0, others idf_ref")
    grid("sub_bs{m}_L{L}_noidf", "BERTScore(answer, reference) - BERTScore(answer, question), noidf")
    P("### Other single metrics")
    P("")
    other = [n for n in single_df.index if not re.match(r"(dq_|dqc_|qz_|sub_|q_)?bs[PRF]_L\d_", n)]
    P("| metric | Pearson | Spearman | macro_r |")
    P("|---|---|---|---|")
    for n in sorted(other, key=lambda n: -abs(single_df.loc[n, "pearson"])):
        d = single_df.loc[n]
        P(f"| {n} | {d.pearson:.3f} | {d.spearman:.3f} | {d.macro_r:.3f} |")
    P("")
    P("### Top 25 single metrics overall (by Pearson)")
    P("")
    P("| metric | Pearson | Spearman | macro_r |")
    P("|---|---|---|---|")
    for n, d in single_df.sort_values("pearson", ascending=False).head(25).iterrows():
        P(f"| {n} | {d.pearson:.3f} | {d.spearman:.3f} | {d.macro_r:.3f} |")
    P("")

    # ---------------------------------------------------------------- combinations
    folds = folds_of(groups, args.folds)
    pool = [
        "bsR_L6_noidf", "bsF_L6_noidf", "bsP_L6_noidf", "bsR_L6_idf_ref", "bsF_L6_idf_ref", "bsR_L6_idf_bank",
        "bsR_L4_noidf", "bsR_L5_idf_ref", "bsR_mean456_idf_ref", "bsR_max1-6_noidf",
        "r1_R", "r1_F", "r1_P", "r2_R", "rL_R", "rL_F",
        "dq_bsR_L6_noidf", "dq_bsR_L6_idf_ref", "dq_r1_R", "dq_sbert_cos",
        "dqc_bsR_L6_noidf", "dqc_bsR_L6_idf_ref", "dqc_bsR_L4_idf_ref", "dqc_bsF_L6_idf_ref", "dqc_r1_R",
        "qz_bsR_L6_idf_ref", "qz_bsR_L4_idf_ref", "qz_bsR_L6_noidf",
        "log_len", "log_len_ratio", "len_ratio_capped", "ref_log_len",
        "q_bsR_L6_noidf", "q_sbert_cos", "rq_bsF_L6", "rq_sbert_cos", "sbert_cos",
    ]
    pool = [p for p in pool if p in feats]
    Xall = np.c_[[feats[p] for p in pool]].T
    grams: dict[int, FoldGram] = {}

    def cvr(cols, fl=folds):
        """(OOF Pearson, OOF Pearson with predictions clipped to the 0-5 grade range)."""
        if id(fl) not in grams:
            grams[id(fl)] = FoldGram(Xall, y, fl)
        p = grams[id(fl)].predict([pool.index(c) for c in cols])
        return pear(p, y), pear(np.clip(p, 0, 5), y)

    P("## 2. Combinations (linear, GroupKFold by question)")
    P("")
    P(f"OOF r = Pearson of out-of-fold predictions, {args.folds}-fold GroupKFold by question id (unshuffled); "
      "`clip` = the same predictions clipped to the grade range 0-5 (a fixed, run-time-computable step: the "
      "linear fit overshoots 5 for good answers, and the gold scale saturates at 5); `rep` = mean ± sd of OOF r "
      "over 10 shuffled GroupKFold splits; `LOQO` = leave-one-question-out OOF r (clip in brackets). Model: "
      "OLS with intercept (= sklearn LinearRegression; standardising does not change its predictions).")
    P("")
    logo = [(np.where(groups != g)[0], np.where(groups == g)[0]) for g in uq]
    reps = [folds_of(groups, args.folds, seed=s) for s in range(10)]

    def row(name, cols):
        r5, c5 = cvr(cols)
        rr = [cvr(cols, f)[0] for f in reps]
        rl, cl = cvr(cols, logo)
        P(f"| {name} | {', '.join(cols)} | {r5:.3f} | {c5:.3f} | {np.mean(rr):.3f} ± {np.std(rr):.3f} "
          f"| {rl:.3f} ({cl:.3f}) |")

    head = "| set | features | OOF r | clip | rep | LOQO (clip) |\n|---|---|---|---|---|---|"
    P("### Hand-picked sets")
    P("")
    P(head)
    hand = {
        "BS R only": ["bsR_L6_idf_ref"],
        "BS R + F": ["bsR_L6_idf_ref", "bsF_L6_idf_ref"],
        "BS R + ROUGE-1 R": ["bsR_L6_idf_ref", "r1_R"],
        "BS R + ROUGE-1 R + len": ["bsR_L6_idf_ref", "r1_R", "log_len"],
        "BS R,F + R1 R,F + RL R + R2 R": ["bsR_L6_idf_ref", "bsF_L6_idf_ref", "r1_R", "r1_F", "rL_R", "r2_R"],
        "... + log_len": ["bsR_L6_idf_ref", "bsF_L6_idf_ref", "r1_R", "r1_F", "rL_R", "r2_R", "log_len"],
        "noidf BS R + R1 R + len": ["bsR_L6_noidf", "r1_R", "log_len"],
        "BS R + len": ["bsR_L6_idf_ref", "log_len"],
        "BS R + len ratio": ["bsR_L6_idf_ref", "log_len_ratio"],
        "BS R + ref len": ["bsR_L6_idf_ref", "ref_log_len"],
        "BS R + q-sim": ["bsR_L6_idf_ref", "q_bsR_L6_noidf"],
        "max over layers R (noidf)": ["bsR_max1-6_noidf"],
        "mean L4-6 R (idf_ref)": ["bsR_mean456_idf_ref"],
        "question-zeroed BS R": ["qz_bsR_L6_idf_ref"],
        "demoted BS R (all q words)": ["dq_bsR_L6_idf_ref"],
        "demoted BS R (content words)": ["dqc_bsR_L6_idf_ref"],
        "demoted BS R + R1": ["dq_bsR_L6_idf_ref", "dq_r1_R"],
        "BS R + demoted BS R": ["bsR_L6_idf_ref", "dq_bsR_L6_idf_ref"],
        "BS R + content-demoted BS R": ["bsR_L6_idf_ref", "dqc_bsR_L6_idf_ref"],
        "BS R mean456 + content-demoted BS R": ["bsR_mean456_idf_ref", "dqc_bsR_L6_idf_ref"],
        "BS R + question-zeroed BS R": ["bsR_L6_idf_ref", "qz_bsR_L6_idf_ref"],
        "sbert cos": ["sbert_cos"],
        "sbert cos + BS R": ["sbert_cos", "bsR_L6_idf_ref"],
    }
    for n, c in hand.items():
        if all(x in pool for x in c):
            row(n, c)
    P("")

    # exhaustive subset search
    results = []
    fg = FoldGram(Xall, y, folds)
    for k in range(1, args.max_subset + 1):
        combos = list(itertools.combinations(range(len(pool)), k))
        rs, cs = fg.scores_many(combos, y)
        results += [(r, c, tuple(pool[i] for i in cb)) for r, c, cb in zip(rs, cs, combos)]
    no_sbert = [t for t in results if not any("sbert" in c for c in t[2])]
    P(f"### Exhaustive search over subsets of size 1..{args.max_subset} of {len(pool)} pooled features "
      f"({len(results)} subsets)")
    P("")
    P("Pool: " + ", ".join(f"`{p}`" for p in pool))
    P("")
    for title, res in (("all features", results),
                       ("without sentence-embedding features (ROUGE/BERTScore/length/question only)", no_sbert)):
        for crit, key in (("OOF r", 0), ("clip", 1)):
            res_s = sorted(res, key=lambda t: -t[key])
            P(f"Top 8 by {crit}, {title}:")
            P("")
            P(head)
            for i, (_, _, cols) in enumerate(res_s[:8]):
                row(f"#{i + 1}", list(cols))
            P("")
            for k in range(1, args.max_subset + 1):
                best = next(t for t in res_s if len(t[2]) == k)
                P(f"* best size {k} by {crit}: {best[0]:.3f} (clip {best[1]:.3f}) {', '.join(best[2])}")
            P("")

    # nested CV: choose the subset on the training questions only
    def nested(cands, key):
        pred = np.empty(len(y))
        chosen = []
        by_k: dict[int, list] = {}
        for cols in cands:
            by_k.setdefault(len(cols), []).append(cols)
        for tr, te in folds:
            inner = FoldGram(Xall[tr], y[tr], folds_of(groups[tr], 4))
            best, bc = -1, None
            for k, cl in by_k.items():
                sc = inner.scores_many([[pool.index(c) for c in cols] for cols in cl], y[tr])[key]
                i = int(np.nanargmax(sc))
                if sc[i] > best:
                    best, bc = sc[i], cl[i]
            pred[te] = FoldGram(Xall, y, [(tr, te)]).predict([pool.index(c) for c in bc])[te]
            chosen.append(bc)
        return pear(pred, y), pear(np.clip(pred, 0, 5), y), chosen

    P("### Nested CV (subset chosen inside each outer fold on its training questions, 4-fold inner)")
    P("")
    for title, res in (("all features", results), ("without sentence embeddings", no_sbert)):
        for crit, key in (("OOF r", 0), ("clip", 1)):
            r, c, chosen = nested([t[2] for t in res], key)
            P(f"* {title}, selected by {crit}: nested OOF r = {r:.3f}, clipped = {c:.3f}; chosen per fold: "
              + "; ".join("[" + ", ".join(x) + "]" for x in chosen))
    P("")

    # sklearn models on the best sets; coefficients
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import LinearRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    P("### sklearn models and fitted coefficients (fitted on all 1,418 answers)")
    P("")
    P("Raw coefficients are on the raw 0-1 metric values (BERTScore not baseline-rescaled, ROUGE as returned); "
      "prediction = intercept + sum(coef * metric), then clipped to 0-5.")
    P("")
    best_all = sorted(results, key=lambda t: -t[0])[0][2]
    best_ns = sorted(no_sbert, key=lambda t: -t[0])[0][2]
    sets = {"best (all)": list(best_all)}
    if best_ns != best_all:
        sets["best (no sentence embeddings)"] = list(best_ns)
    sets.update({
        "recommended simple: BS R + content-demoted BS R (both L6, idf_ref)":
            ["bsR_L6_idf_ref", "dqc_bsR_L6_idf_ref"],
        "BS R mean L4-6 + content-demoted BS R": ["bsR_mean456_idf_ref", "dqc_bsR_L6_idf_ref"],
        "question-zeroed BS R alone": ["qz_bsR_L6_idf_ref"],
        "simple: BS R idf_ref + ROUGE-1 R + log_len": ["bsR_L6_idf_ref", "r1_R", "log_len"],
        "six metrics": ["bsR_L6_idf_ref", "bsF_L6_idf_ref", "r1_R", "r1_F", "rL_R", "r2_R"],
    })
    for si, (sname, cols) in enumerate(sets.items()):
        idx = [pool.index(c) for c in cols]
        X = Xall[:, idx]
        P(f"**{sname}**: {', '.join(cols)}")
        P("")
        P("| model | OOF r | OOF rho | OOF r, clipped 0-5 |")
        P("|---|---|---|---|")
        models = [("LinearRegression", LinearRegression()),
                  ("Ridge(alpha=1, standardised)", make_pipeline(StandardScaler(), Ridge(1.0))),
                  ("Ridge(alpha=10, standardised)", make_pipeline(StandardScaler(), Ridge(10.0)))]
        if si < 3:  # a non-linear reference point for the first sets only (slow on 2 cores)
            models.append(("HistGradientBoosting, depth 3 (non-linear reference)",
                           HistGradientBoostingRegressor(max_depth=3, max_iter=100, learning_rate=0.05,
                                                         random_state=0)))
        for mname, model in models:
            p = oof_sklearn(model, X, y, folds)
            P(f"| {mname} | {pear(p, y):.3f} | {spear(p, y):.3f} | {pear(np.clip(p, 0, 5), y):.3f} |")
        if len(cols) > 1:
            avg = X.mean(1)
            P(f"| unweighted mean of the features (no fit) | {pear(avg, y):.3f} | {spear(avg, y):.3f} | |")
        lr = LinearRegression().fit(X, y)
        zs = make_pipeline(StandardScaler(), LinearRegression()).fit(X, y)
        P("")
        P("| feature | mean | sd | raw coef (grade points per unit) | standardised coef (per sd) | "
          "share of standardised weight |")
        P("|---|---|---|---|---|---|")
        zc = zs[-1].coef_
        for c, m, s_, rc, z in zip(cols, X.mean(0), X.std(0), lr.coef_, zc):
            P(f"| {c} | {m:.3f} | {s_:.3f} | {rc:+.3f} | {z:+.3f} | {z / np.abs(zc).sum():+.2f} |")
        P(f"| intercept | | | {lr.intercept_:+.3f} | {zs[-1].intercept_:+.3f} | |")
        P("")
        co = np.array([LinearRegression().fit(X[tr], y[tr]).coef_ for tr, _ in folds])
        P("Raw coefficients per training fold: "
          + "; ".join("[" + ", ".join(f"{v:+.2f}" for v in c) + "]" for c in co))
        m6 = [re.match(r"(?:dqc?_|qz_)?bs([PRF])_L(\d)_", c) for c in cols]
        if base is not None and all(m6):
            # same model on baseline-rescaled inputs: raw = b + (1 - b) * resc
            bb = np.array([base[int(m.group(2)), "PRF".index(m.group(1))] for m in m6])
            P("")
            P("Same fit expressed on baseline-rescaled BERTScore inputs ((x - b) / (1 - b), this baseline file): "
              + ", ".join(f"{c}: {rc * (1 - b_):+.3f}" for c, rc, b_ in zip(cols, lr.coef_, bb))
              + f"; intercept {lr.intercept_ + float((lr.coef_ * bb).sum()):+.3f}")
        P("")

    P(f"_Runtime {time.time() - t0:.0f}s; BERTScore passes computed this run (others from cache "
      f"{args.cache_dir}): {bs.calls}._")
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
