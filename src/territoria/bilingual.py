"""One output, every language: the versions of a notebook output side by side, the notebook's
language shown, the others hidden until the site's language switch asks for them.

A step notebook runs in one language (its ``language`` parameter), and its executed copy
becomes a page of the site's technical annex, which has a language switch (es, en). So the
kit's display helpers (:mod:`territoria.steps.display`) write each version of an output in
its own element marked ``lang``, with the class :data:`CLASS`; the versions of the other
languages also carry ``hidden="hidden"``:

- in JupyterLab the reader sees the notebook's language only: its HTML sanitizer keeps
  ``lang``, ``class`` and ``hidden`` on every element of an untrusted output (``hidden`` with
  a value: sanitize-html drops an empty ``hidden``, which it lists among its non-boolean
  attributes), and trusted outputs are not sanitized;
  nbconvert, VS Code and the classic notebook honour ``hidden`` as any browser does;
- on the site (languages :data:`territoria.i18n.LANGUAGES`), :func:`unhide` removes those ``hidden`` attributes and the stylesheet shows the
  switch's language: ``html[data-lang="es"] [lang="en"] {display: none}`` (``site.css``).

The plain-text version of an output (a terminal, ``jupyter console``) is the notebook's
language only.

Examples
--------
>>> print(blocks({"es": "Hola", "en": "Hello"}, "es", tag="p"))
<p class="territoria-lang" lang="es">Hola</p><p class="territoria-lang" lang="en" hidden="hidden">Hello</p>
>>> unhide(blocks({"es": "Hola", "en": "Hello"}, "en", tag="p"))
'<p class="territoria-lang" lang="es">Hola</p><p class="territoria-lang" lang="en">Hello</p>'
>>> Versions({"es": "<b>Hola</b>", "en": "<b>Hello</b>"}, {"es": "Hola", "en": "Hello"}, "en")
Hello
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from territoria.i18n import LANGUAGES

__all__ = ["LANGUAGES", "CLASS", "shown", "blocks", "markdown_blocks", "unhide", "Versions"]

#: Class of the elements holding one language's version of an output.
CLASS = "territoria-lang"
_HIDDEN = ' hidden="hidden"'
_UNHIDE = re.compile(r'(<[a-z]+ class="' + CLASS + r'" lang="[A-Za-z0-9_-]+")' + _HIDDEN + ">")


def shown(parts: Mapping[str, object], lang: str) -> str:
    """The version shown for a notebook in ``lang``: its own, else the first (Spanish)."""
    return lang if lang in parts else next(iter(parts))


def blocks(parts: Mapping[str, str], lang: str, tag: str = "div") -> str:
    """Each language's HTML in a ``tag`` marked with its ``lang``; all but ``lang``'s hidden.

    Parameters
    ----------
    parts : mapping of str to str
        Language -> HTML of that version (already escaped).
    lang : str
        The notebook's language.
    tag : str
        ``div`` for blocks, ``p`` for a sentence, ``span`` inside a line.
    """
    keep = shown(parts, lang)
    return "".join(f'<{tag} class="{CLASS}" lang="{lg}"{"" if lg == keep else _HIDDEN}>'
                   f"{html}</{tag}>" for lg, html in parts.items())


def markdown_blocks(parts: Mapping[str, str], lang: str) -> str:
    """:func:`blocks` for Markdown texts: the blank lines around each text keep it Markdown
    inside its ``div`` (CommonMark's HTML blocks end at a blank line)."""
    keep = shown(parts, lang)
    return "\n".join(f'<div class="{CLASS}" lang="{lg}"{"" if lg == keep else _HIDDEN}>\n\n'
                     f"{text}\n\n</div>" for lg, text in parts.items())


def unhide(html: str) -> str:
    """``html`` with the versions written by :func:`blocks` no longer hidden, for a page whose
    stylesheet shows one language (the site)."""
    return _UNHIDE.sub(r"\1>", html)


class Versions:
    """An output in every language, for IPython's ``display``: HTML of all the versions
    (:func:`blocks`) and the plain text of the notebook's language.

    Parameters
    ----------
    html, text : mapping of str to str
        Language -> HTML (escaped), language -> plain text.
    lang : str
        The notebook's language.
    markdown : bool
        ``html`` holds Markdown texts (``text/markdown`` instead of ``text/html``).
    tag : str
        The element of each version (:func:`blocks`).
    """

    def __init__(self, html: Mapping[str, str], text: Mapping[str, str], lang: str, *,
                 markdown: bool = False, tag: str = "div"):
        self.html, self.text, self.lang = dict(html), dict(text), lang
        self.markdown, self.tag = markdown, tag

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        if self.markdown:
            return {"text/markdown": markdown_blocks(self.html, self.lang),
                    "text/plain": str(self)}
        return {"text/html": blocks(self.html, self.lang, self.tag), "text/plain": str(self)}

    def __str__(self) -> str:
        return self.text[shown(self.text, self.lang)]

    def __repr__(self) -> str:
        return str(self)
