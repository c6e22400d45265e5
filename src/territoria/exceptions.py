"""The exception hierarchy of the kit.

Every error a user can cause derives from :class:`TerritoriaError`. The CLI
turns these into one-line ``error: ...`` messages with exit status 1; anything
else is a bug and shows a traceback only with ``--debug``.

Examples
--------
>>> from territoria.exceptions import ConfigError, TerritoriaError
>>> issubclass(ConfigError, TerritoriaError)
True
>>> str(DataError("bad value", file="a.csv", row=3, column="age", rule="range 0-120"))
'a.csv, row 3, column age: bad value (rule: range 0-120)'
"""

from __future__ import annotations


class TerritoriaError(Exception):
    """Base class of every error the kit raises on purpose."""


class ConfigError(TerritoriaError):
    """A workspace or city configuration is missing or invalid."""


class StoreError(TerritoriaError):
    """The DuckDB store cannot be opened, migrated or written."""


class InstrumentError(TerritoriaError):
    """An XLSForm instrument is invalid or unknown."""


class DataError(TerritoriaError, ValueError):
    """Input data breaks a rule. Carries where: file, row, column and the rule.

    Parameters
    ----------
    message : str
        What is wrong.
    file, row, column, rule : optional
        Location and broken rule; each is shown when given.
    code : str, optional
        Which error this is, for a command that says it in its user's language: the key
        of its text (and ``<code>_rule``, of its rule) in that command's catalogue, where
        ``values`` fill the placeholders. Modules that cannot read catalogues (the pure
        statistics of :mod:`territoria.analysis`) raise the English text with a code.
    values : dict, optional
        The placeholders of the coded text.
    """

    def __init__(self, message, *, file=None, row=None, column=None, rule=None, code=None,
                 values=None):
        self.message = message
        self.file = file
        self.row = row
        self.column = column
        self.rule = rule
        self.code = code
        self.values = dict(values or {})
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        text = self.message
        if self.rule:
            text += f" (rule: {self.rule})"
        return f"{', '.join(where)}: {text}" if where else text


class IngestError(DataError):
    """A file cannot be ingested at all (it is rejected whole)."""


class AnalysisError(TerritoriaError, ValueError):
    """Wrong input to a statistical function (unknown variable, bad weights...)."""


class PipelineError(TerritoriaError):
    """A step notebook or the publishing stage failed."""


class PlanError(ConfigError):
    """An evaluation plan in ``evaluations/`` is invalid."""
