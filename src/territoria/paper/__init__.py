"""Paper-first field materials: printable forms built from the XLSForms and the store.

:mod:`territoria.paper.sheets` builds the HTML of each sheet (assembly record, ballot, tally
sheet, follow-up card), :mod:`territoria.paper.render` lays it out with WeasyPrint and
:mod:`territoria.paper.typed` writes the typing file of a tally sheet (an ODK Central
``.csv.zip`` export, which ``territoria ingest`` reads).
"""

from territoria.paper.sheets import KINDS, build_html, expected_pages

__all__ = ["KINDS", "build_html", "expected_pages"]
