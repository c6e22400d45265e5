r"""The executed notebooks of the technical annex, one language at a time.

The step notebooks write each explanation in Spanish, followed by its English version in a
quote that starts with "*English:*". In the annex page, the Spanish part of each text cell is
marked ``lang="es"`` and the English quote becomes a block marked ``lang="en"``, so the site's
language switch shows one of them. The notebook's title gets its English name (the step's
title); a section heading is written in both languages, the English in italics after a middle
dot (``## 1. Cobertura de manzanas · *Block coverage*``), and each part is marked with its
language (the number, "1.", goes to both).

The outputs of the code already hold every language (:mod:`territoria.bilingual`, written by
:mod:`territoria.steps.display`), the notebook's own shown and the others hidden:
:func:`one_language` lifts that ``hidden``, so the switch chooses those too.

Examples
--------
>>> cell = ('<div class="text_cell_render border-box-sizing rendered_html">\n'
...         '<h1 id="a">03 · Agenda<a class="anchor-link" href="#a">¶</a></h1><p>Hola.</p>\n'
...         '<blockquote>\n<p><em>English:</em> Hello.</p>\n</blockquote>\n</div>')
>>> print(one_language(cell, "03 · Agenda"))  # doctest: +NORMALIZE_WHITESPACE
<div class="text_cell_render border-box-sizing rendered_html">
<h1 id="a"><span lang="es">03 · Agenda</span><span lang="en">03 · Agenda</span><a
class="anchor-link" href="#a">¶</a></h1><div lang="es"><p>Hola.</p>
</div><div lang="en">
<p>Hello.</p>
</div>
</div>

A quote may hold both versions (a note, then its English):

>>> cell = ('<div class="text_cell_render border-box-sizing rendered_html">\n'
...         '<blockquote><p><strong>Nota.</strong> Hola.</p>\n<p><em>English:</em> Hello.</p>'
...         '</blockquote>\n</div>')
>>> print(one_language(cell))  # doctest: +NORMALIZE_WHITESPACE
<div class="text_cell_render border-box-sizing rendered_html"><blockquote><div
lang="es"><p><strong>Nota.</strong> Hola.</p>
</div><div lang="en">
<p>Hello.</p>
</div></blockquote>
</div>
"""

from __future__ import annotations

import re
from html import escape

from territoria.bilingual import unhide

#: A text cell of nbconvert's classic template: its opening tag and its content.
_CELL = re.compile(r'(<div class="text_cell_render[^"]*">)(.*?)'
                   r'(?=</div>\s*</div>\s*</div>|</div>\s*\Z)', re.S)
_QUOTE = re.compile(r"<blockquote>(.*?)</blockquote>", re.S)
#: Where the English version starts: a paragraph opening with "*English:*".
_ENGLISH = re.compile(r"<p><em>English:</em>\s*")
_TITLE = re.compile(r"\A\s*<h1([^>]*)>(.*?)(<a class=\"anchor-link\".*?</a>)?</h1>", re.S)
#: A heading in both languages: "Spanish · <em>English</em>", then nbconvert's anchor.
_HEADING = re.compile(r"<(h[1-6])([^>]*)>((?:(?!</h[1-6]>).)*?) (?:&#183;|·) <em>((?:(?!</h[1-6]>).)*?)"
                      r"</em>\s*(<a class=\"anchor-link\"[^>]*>.*?</a>)?</\1>", re.S)
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)*\.?)\s")


def _heading(m: re.Match) -> str:
    """A heading in both languages: each part in a ``span`` marked with its language."""
    tag, attrs, es, en, anchor = m.groups()
    number = _NUMBER.match(es)
    if number and not _NUMBER.match(en):
        en = f"{number.group(1)} {en}"
    return (f'<{tag}{attrs}><span lang="es">{es.strip()}</span><span lang="en">{en.strip()}'
            f'</span>{anchor or ""}</{tag}>')


def _spanish(html: str) -> str:
    """Spanish text marked ``lang="es"``; the headings in both languages stay outside it."""
    out, pos = [], 0
    for m in _HEADING.finditer(html):
        if html[pos:m.start()].strip():
            out.append(f'<div lang="es">{html[pos:m.start()].strip()}\n</div>')
        out.append(_heading(m))
        pos = m.end()
    if html[pos:].strip():
        out.append(f'<div lang="es">{html[pos:].strip()}\n</div>')
    return "".join(out)


def _quote(inner: str) -> str:
    """A quote holding an English version: Spanish before it, English from it on."""
    m = _ENGLISH.search(inner)
    if m is None:
        return _spanish(f"<blockquote>{inner}</blockquote>")
    english = f'<div lang="en">\n<p>{inner[m.end():].strip()}\n</div>'
    before = inner[:m.start()]
    return f"<blockquote>{_spanish(before)}{english}</blockquote>" if before.strip() else english


def one_language(html: str, title_en: str | None = None) -> str:
    """``html`` (an executed notebook's body) with each text cell's Spanish part marked
    ``lang="es"``, its English version (from "*English:*" on, in a quote) marked
    ``lang="en"`` and its headings in both languages split; cells without an English version
    stay as they are. The outputs' versions in other languages are no longer hidden (the
    site's switch chooses). ``title_en``: the English title given to the notebook's first
    heading."""

    def cell(m: re.Match) -> str:
        opening, body = m.group(1), m.group(2)
        if not _ENGLISH.search(body) and not _HEADING.search(body):
            return m.group(0)
        head = ""
        t = _TITLE.match(body)
        if t is not None:
            en = escape(title_en) if title_en else t.group(2)
            head = (f'\n<h1{t.group(1)}><span lang="es">{t.group(2)}</span><span lang="en">{en}'
                    f'</span>{t.group(3) or ""}</h1>')
            body = body[t.end():]
        out, pos = [], 0
        for q in _QUOTE.finditer(body):
            out.append(_spanish(body[pos:q.start()]))
            out.append(_quote(q.group(1)) if _ENGLISH.search(q.group(1)) else
                       _spanish(q.group(0)))
            pos = q.end()
        out.append(_spanish(body[pos:]))
        return opening + head + "".join(out) + "\n"

    return _CELL.sub(cell, unhide(html))
