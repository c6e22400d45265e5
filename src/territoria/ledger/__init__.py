"""The agreement ledger: agreements with departments and their append-only follow-up.

- :mod:`territoria.ledger.model` statuses, schemas, validation and ``state_as_of`` (pure);
- :mod:`territoria.ledger.ledger` the :class:`~territoria.ledger.ledger.Ledger` on the store and
  :func:`~territoria.ledger.ledger.sync_from_surveys`;
- :mod:`territoria.ledger.decidim` import/export in Decidim's accountability CSV layout.

This package's ``__init__`` imports only the pure model, so analysis code may use it.
"""

from territoria.ledger.model import (
    COMMITTED,
    COMMITTED_OPEN,
    SOURCE_KINDS,
    STATUSES,
    department_label,
    state_as_of,
    status_label,
)

__all__ = [
    "COMMITTED", "COMMITTED_OPEN", "SOURCE_KINDS", "STATUSES", "department_label",
    "state_as_of", "status_label",
]
