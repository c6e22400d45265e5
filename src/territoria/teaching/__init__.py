"""Teaching the method: classrooms of learner notebooks and exercises with self-checks.

- :mod:`territoria.teaching.classroom`: ``territoria lab`` builds a classroom workspace and
  writes each learner's copies of the notebooks with their parameters filled in;
- :mod:`territoria.teaching.checks`: ``check("01.coverage", answer)`` says whether an
  exercise's answer is right, with a hint, using the sample city's known truth and the kit's
  stored results (answers are computed when checked, never written in a notebook).
"""

from territoria.teaching.checks import CHECKS, Checker, CheckResult

__all__ = ["Checker", "CheckResult", "CHECKS"]
