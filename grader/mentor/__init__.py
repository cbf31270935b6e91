"""What a mentor adds and keeps: reviews, agreement with grader, the progress history, and their protection.

Lives here: mentor reviews in saved reports (``review``), where mentors and grader disagree
(``agreement``), the SQLite progress history and its trends (``history``), a practice session's summary
(``session``) and the guards that never let a regrade or an overwrite lose a person's work (``keep``).

May import: ``grader.reports``, ``grader.scoring`` (a calibration file's format) and the foundation modules.
"""
__all__: list[str] = []
