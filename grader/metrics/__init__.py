"""The metrics grader combines. Each is a module with a small scoring object; heavy ones load lazily.

Names used on the command line (``--metrics``): keywords, rouge, bertscore.

Lives here: the lexical metrics (``keywords``, ``rouge``), BERTScore with the bundled encoder (``bertscore``,
``encoder``, ``cache``), and the correctness checks: reading clauses (``reading``), opposites, facts and
contradictions (``claims``, ``reference``), concepts by meaning (``meaning``), keyword lists by form
(``form``); ``selfcheck`` runs them over a rubric's own reference for ``grader bank check``.

May import: ``grader.bank`` (rubric types) and the foundation modules; never scoring, reports or the CLI.
"""
METRIC_NAMES = ("keywords", "rouge", "bertscore")

__all__ = ["METRIC_NAMES"]
