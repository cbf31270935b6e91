"""Reports: the report data model and its JSON schemas, the flat view, and one renderer per format.

Lives here: ``QuestionReport`` and JSON output (``model``), the published schemas (``schemas``), the
signature every report carries (``signature``), one flat view of any saved report (``views``), the cohort
summary built from transcript reports (``cohort``), the HTML charts' geometry (``charts``), the renderers
(``terminal``, ``text_view`` for saved reports, ``markdown``, ``html`` with its Jinja2 templates, ``csv_report``)
and the single dispatcher that imports them (``render``; renderers never import it).

May import: ``grader.metrics`` (result types only), ``grader.bank`` and the foundation modules. The report
is data: nothing here computes a score.
"""
from grader.reports.model import REPORT_SCHEMA_VERSION, QuestionReport, dumps

__all__ = ["REPORT_SCHEMA_VERSION", "QuestionReport", "dumps"]
