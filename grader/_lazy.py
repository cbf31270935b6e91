"""Cheap imports of heavy dependencies for the lexical paths.

rouge-score does ``import nltk`` at module top, and ``nltk/__init__`` pulls in scipy.stats and most of nltk
(about 1.2 s here) although rouge-score needs only the Porter stemmer. A learner grading with
``--metrics keywords,rouge`` should not wait for that. We import ``nltk.stem.porter`` and rouge-score behind
placeholder package modules for ``nltk`` and ``nltk.stem`` (same search path, no ``__init__`` run), then remove
the placeholders so any later ``import nltk`` by someone else gets the real package.
"""
from __future__ import annotations

import importlib.util
import sys
import types
from functools import lru_cache


def _with_bare_nltk(importer):
    if "nltk" in sys.modules:  # already paid for: nothing to save
        return importer()
    spec = importlib.util.find_spec("nltk")
    if spec is None or not spec.submodule_search_locations:
        return importer()
    root = list(spec.submodule_search_locations)[0]
    placeholders = {}
    for name, path in (("nltk", root), ("nltk.stem", f"{root}/stem")):
        module = types.ModuleType(name)
        module.__path__ = [path]
        placeholders[name] = module
        sys.modules[name] = module
    try:
        return importer()
    finally:
        for name, module in placeholders.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]


@lru_cache(maxsize=1)
def rouge_scorer_module():
    """``rouge_score.rouge_scorer``, imported without running ``nltk/__init__``."""

    def load():
        from rouge_score import rouge_scorer

        return rouge_scorer

    return _with_bare_nltk(load)


@lru_cache(maxsize=1)
def porter_stemmer():
    """The Porter stemmer rouge-score uses (NLTK's extensions), without importing all of NLTK."""

    def load():
        from nltk.stem import porter

        return porter.PorterStemmer()

    return _with_bare_nltk(load)
