"""Grading beyond one process: tables of any size streamed in bounded chunks, and the engines that grade them.

What lives here: ``tables`` (lazy row readers for CSV, JSON Lines and Parquet with the column flags),
``stream`` (the streaming scorer: one JSON line per row, in input order, with resume, and the local engine),
``ray_engine`` (the same chunks graded by Ray actors, each holding one ``Grader``), ``engines`` (one by name)
and ``extras`` (the optional dependencies, with a one-line hint when one is missing).

What it may import: the library's public entry (``from grader import Grader``), the bank and scoring packages
for what a worker needs to build a ``Grader``, ``grader.errors`` and ``grader.io``. Nothing here is imported
by the rest of grader at start-up, and Ray and pyarrow are imported only inside the functions that need them
(``grader[ray]``, ``grader[parquet]``): without them every other command works as before.
"""
from grader.scale.tables import Columns, TableRow, open_table
from grader.scale.stream import LocalEngine, ScoreSummary, score_table

__all__ = ["Columns", "LocalEngine", "ScoreSummary", "TableRow", "open_table", "score_table"]
