"""Executed notebooks to HTML pages (the site's technical annex), fast and accessible.

nbconvert's ``HTMLExporter`` renders the template, then parses the whole page again with
BeautifulSoup only to add ``alt`` to images that lack it and ``tabindex="0"`` to outputs
(so a keyboard can scroll them). On the kit's notebooks that second pass is about 60 % of
the conversion (0.09 of 0.15 s a page, 653 pages a run). :class:`NotebookHTMLExporter`
renders the same template and makes the same two changes with two regular expressions on
the markup nbconvert's own templates write. If nbconvert's internals ever change under it,
it falls back to the stock conversion.

Examples
--------
>>> accessible('<div class="jp-OutputArea-output x"><img src="a.png"></div>')
'<div class="jp-OutputArea-output x" tabindex="0"><img alt="No description has been provided for this image" src="a.png"></div>'
>>> accessible('<img alt="Mapa" src="m.png">')
'<img alt="Mapa" src="m.png">'
"""

from __future__ import annotations

import re
from typing import Any

from nbconvert import HTMLExporter
from nbformat import NotebookNode

#: What nbconvert writes for an image without a description (kept for the same pages).
MISSING_ALT = "No description has been provided for this image"

_IMG_NO_ALT = re.compile(r"<img(?![^>]*\salt=)(?=[\s>/])", re.IGNORECASE)
_FOCUSABLE = re.compile(
    r'(<div\b[^>]*\bclass="[^"]*\b(?:jp-OutputArea-output|jp-Cell-inputWrapper)\b[^"]*")'
    r'(?![^>]*\stabindex=)')


def accessible(html: str) -> str:
    """``alt`` on images without one and ``tabindex="0"`` on outputs, as nbconvert does."""
    html = _IMG_NO_ALT.sub(f'<img alt="{MISSING_ALT}"', html)
    return _FOCUSABLE.sub(r'\1 tabindex="0"', html)


#: Markdown with the constructs the step notebooks use (headings, emphasis, lists, links,
#: tables, code, quotes, math), rendered once in the warm server so that the regular
#: expressions the Markdown parser compiles are in every forked notebook's cache.
WARM_MARKDOWN = """# Título · *Title*

Texto con **negritas**, *cursivas*, `código` y un [enlace](https://example.org); $x^2$.

1. uno
2. dos

- a
- b

| col | val |
|---|---|
| a | 1 |

> nota

```python
x = 1
```
"""


class NotebookHTMLExporter(HTMLExporter):
    """``HTMLExporter`` without the BeautifulSoup re-parse (see the module notes), and
    without validating the notebook again after each preprocessor: the notebook was
    validated when papermill wrote it, and nbconvert's own preprocessors keep it valid
    (the checks cost ~12 % of a page)."""

    def _validate_preprocessor(self, nbc: NotebookNode, preprocessor: Any) -> None:
        return None

    # nbconvert's base Exporter annotates the page as a NotebookNode; HTMLExporter's is a str
    def from_notebook_node(  # type: ignore[override]
            self, nb: NotebookNode, resources: dict[str, Any] | None = None,
            **kw: Any) -> tuple[str, dict[str, Any]]:
        try:
            from nbconvert.exporters.templateexporter import TemplateExporter
            from nbconvert.filters.highlight import Highlight2HTML
            from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            highlight = self.filters.get("highlight_code",
                                         Highlight2HTML(pygments_lexer=lexer, parent=self))
            resources = self._init_resources(resources)
            data_type = WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self,
                                              resources=resources)
            self.register_filter("highlight_code", highlight)
            self.register_filter("filter_data_type", data_type)
            html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        except (ImportError, AttributeError, TypeError):  # nbconvert changed: the stock path
            return super().from_notebook_node(nb, resources, **kw)
        return accessible(html), resources
