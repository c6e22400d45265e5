"""Evaluation designs: theory of change, evaluation plans, their execution and reports.

An evaluator writes a plan as a YAML file in ``evaluations/`` (:mod:`.plan`); ``territoria
evaluate run PLAN`` executes each of its questions with the parameterised notebook
``notebooks/evaluation.ipynb`` (:mod:`.runner`, :mod:`.methods`), records the answers in the
store table ``evaluation_results`` and publishes a report under ``site/evaluations/``
(:mod:`.site`), with a plain-language page per territory for the community assembly
(:mod:`.summary`) and a feedback form whose answers come back into the next edition
(:mod:`.feedback`). ``territoria evaluate calendar PLAN`` says what to collect when
(:mod:`.calendar`). The programme's theory of change is :mod:`.toc`.
"""
