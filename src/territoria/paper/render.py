"""HTML to PDF with WeasyPrint, and the text laid out on each page (to check ids).

Examples
--------
>>> doc = render("<p>AC-07-003-0001</p>")
>>> len(doc.pages), "AC-07-003-0001" in page_texts(doc)[0]
(1, True)
"""

from __future__ import annotations

import logging
from pathlib import Path


def render(html: str, base_url: str | None = None):
    """Lay out ``html`` with WeasyPrint; returns its ``Document`` (``.pages``, ``.write_pdf``)."""
    import weasyprint

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return weasyprint.HTML(string=html, base_url=base_url).render()


def write_pdf(html: str, out: str | Path) -> int:
    """Write the PDF of ``html`` to ``out``; returns its number of pages."""
    doc = render(html)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    doc.write_pdf(str(out))
    return len(doc.pages)


def page_texts(doc) -> list[str]:
    """The text WeasyPrint placed on each page (running headers and footers excluded)."""
    out = []
    for page in doc.pages:
        parts: list[str] = []
        stack = [page._page_box]
        while stack:
            box = stack.pop()
            text = getattr(box, "text", None)
            if isinstance(text, str):
                parts.append(text)
            stack.extend(reversed(list(getattr(box, "children", ()) or ())))
        out.append(" ".join(parts))
    return out
