r"""An executed evaluation notebook as a page of the site, one language at a time.

The evaluation notebook (``notebooks/evaluation.ipynb``) writes each heading as
"Español · *English*" and, under it, its explanation in Spanish followed by the English
version as a paragraph in italics. Its messages and tables are given in both languages
(:mod:`territoria.evaluation.narration` marks them ``class="both-languages"``, each version
``lang``); any other output is in the one language it ran in (its ``language`` parameter).
In the page:

- a bilingual heading becomes two ``<span>``, marked ``lang="es"`` and ``lang="en"``;
- a paragraph wholly in italics is the English version (``lang="en"``, its italics, which
  only set it apart from the Spanish, removed); the rest of a text
  cell is Spanish (``lang="es"``), also when the cell has no English version;
- a code cell with outputs is marked with the language the notebook ran in; when some of
  its outputs are in both languages, only its other outputs are.

So the site's language switch shows one language at a time, and :func:`missing_note` says, in
the other language, what that version of the page leaves out.

Examples
--------
>>> cell = ('<div class="text_cell_render border-box-sizing rendered_html">\n'
...         '<h2 id="a">1. El plan &#183; <em>The plan</em><a class="anchor-link" href="#a">'
...         '&#182;</a></h2><p>Hola.</p>\n<p><em>Hello.</em></p>\n</div>')
>>> print(one_language(cell, "es").replace("\n", ""))  # doctest: +NORMALIZE_WHITESPACE
<div class="text_cell_render border-box-sizing rendered_html"><h2 id="a"><span
lang="es">1. El plan</span><span lang="en">1. The plan</span><a class="anchor-link"
href="#a">&#182;</a></h2><div lang="es"><p>Hola.</p></div><div lang="en"><p>Hello.</p></div></div>
>>> code = ('<div id="cell-id=b" class="cell border-box-sizing code_cell rendered">'
...         '<div class="output_area">')
>>> one_language(code, "es")  # doctest: +ELLIPSIS
'<div id="cell-id=b" class="cell border-box-sizing code_cell rendered" lang="es"><div...'
>>> hidden_parts(one_language(cell + code, "es"))
{'es': set(), 'en': {'outputs'}}
"""

from __future__ import annotations

import json
import re
from pathlib import Path

__all__ = ["one_language", "hidden_parts", "missing_note", "run_language"]

#: A text cell of nbconvert's ``basic`` template: its opening tag and its content.
_CELL = re.compile(r'(<div class="text_cell_render[^"]*">)(.*?)'
                   r'(?=</div>\s*</div>\s*</div>|</div>\s*\Z)', re.S)
#: "Español · *English*" headings, and paragraphs wholly in italics (the English versions).
_PIECE = re.compile(
    r'(?P<h><h(?P<lv>[1-6])(?P<attrs>[^>]*)>(?P<es>(?:(?!</h).)*?)\s*(?:&#183;|·)\s*'
    r'<em>(?P<en>(?:(?!</em>).)*)</em>\s*(?P<anchor><a class="anchor-link"[^>]*>.*?</a>)?'
    r'</h(?P=lv)>)|(?P<p><p><em>(?P<text>(?:(?!</em>|</p>).)*)</em></p>)', re.S)
#: The opening tag of a code cell (its outputs are in the language the notebook ran in).
_CODE = re.compile(r'(<div (?:id="[^"]*" )?class="cell [^"]*\bcode_cell\b[^"]*")(?=>)')
#: The opening tag of any cell (where a code cell ends).
_ANY_CELL = re.compile(r'<div (?:id="[^"]*" )?class="cell ')
#: One output of a code cell, and the mark of an output given in both languages
#: (:class:`territoria.evaluation.narration.Both`).
_OUTPUT = '<div class="output_area">'
_BOTH = 'class="both-languages"'
_ONLY_ES = '<div lang="es" class="es-only">'
_NUMBER = re.compile(r"\A\d+(?:\.\d+)*\.?\s+")

#: What a page in one language leaves out, said in that language (see :func:`missing_note`).
_PARTS = {
    "es": {"outputs": "los resultados de su cálculo (tablas y mensajes), porque el cuaderno "
                      "se ejecutó en inglés"},
    "en": {"outputs": "the outputs of its computation (tables and messages), because the "
                      "notebook ran in Spanish",
           "text": "the explanations of some sections"},
}
_NOTE = {
    "es": "Esta versión del cuaderno no muestra {parts}. Están solo en inglés y se muestran al "
          "cambiar la página a inglés con el botón de idioma de arriba; el informe de la "
          "evaluación da todas las respuestas en español.",
    "en": "This version of the notebook leaves out {parts}. They are in Spanish only and show "
          "when the page is switched to Spanish with the language button above; the "
          "evaluation report gives every answer in English.",
}


def _text_cell(m: re.Match) -> str:
    opening, body = m.group(1), m.group(2)
    out: list[str] = []
    spanish: list[str] = []
    pos = 0

    def flush() -> None:
        text = "".join(spanish).strip()
        if text:
            out.append(_ONLY_ES + text + "</div>")
        spanish.clear()

    for p in _PIECE.finditer(body):
        spanish.append(body[pos:p.start()])
        pos = p.end()
        if p.group("h"):
            flush()
            es, en = p["es"].strip(), p["en"].strip()
            number = _NUMBER.match(es)
            if number and not _NUMBER.match(en):  # "2. El cálculo · *The computation*"
                en = number.group(0) + en
            out.append(f'<h{p["lv"]}{p["attrs"]}><span lang="es">{es}</span>'
                       f'<span lang="en">{en}</span>{p["anchor"] or ""}'
                       f'</h{p["lv"]}>')
        else:
            flush()
            out.append(f'<div lang="en"><p>{p["text"]}</p></div>')  # no longer set apart
    spanish.append(body[pos:])
    flush()
    html = "".join(out)  # a cell with an English version has no "Spanish only" part
    if '<div lang="en">' in html:
        html = html.replace(_ONLY_ES, '<div lang="es">')
    return opening + html + "\n"


def _code_cell(cell: str, ran_in: str) -> str:
    """One code cell: marked ``lang=ran_in`` as a whole, or, when some of its outputs are
    given in both languages, each of its other outputs."""
    if _OUTPUT not in cell:  # no output (the parameters): nothing in any language
        return cell
    if _BOTH not in cell:
        return _CODE.sub(rf'\1 lang="{ran_in}"', cell, count=1)
    head, *outputs = cell.split(_OUTPUT)
    marked = _OUTPUT[:-1] + f' lang="{ran_in}">'
    return head + "".join((_OUTPUT if _BOTH in o else marked) + o for o in outputs)


def one_language(html: str, ran_in: str = "es") -> str:
    """``html`` (an executed evaluation notebook's body, nbconvert ``basic`` template) with its
    text marked by language and its outputs marked ``lang=ran_in``, but those given in both
    languages (see the module notes).
    """
    html = _CELL.sub(_text_cell, html)
    cells = [m.start() for m in _ANY_CELL.finditer(html)]
    pieces = [html[a:b] for a, b in zip([0, *cells], [*cells, len(html)], strict=True)]
    return "".join(_code_cell(p, ran_in) if _CODE.match(p) else p for p in pieces)


def hidden_parts(html: str) -> dict[str, set[str]]:
    """For each page language, what :func:`one_language`'s ``html`` hides in it:
    ``"outputs"`` (code cells with output in the other language), ``"text"`` (Spanish-only
    explanations, hidden in English)."""
    out: dict[str, set[str]] = {"es": set(), "en": set()}
    if "output_wrapper" in html or "output_area" in html:
        for m in re.finditer(r'(?:\bcode_cell\b[^"]*|output_area)" lang="(es|en)"', html):
            out["en" if m.group(1) == "es" else "es"].add("outputs")
    if _ONLY_ES in html:
        out["en"].add("text")
    return out


def missing_note(parts: set[str], lang: str) -> str:
    """The sentence, in ``lang``, saying what that language's page leaves out (empty if
    nothing).

    >>> missing_note({"outputs"}, "en")[:60]
    'This version of the notebook leaves out the outputs of its c'
    >>> missing_note(set(), "es")
    ''
    """
    said = [_PARTS[lang][k] for k in ("text", "outputs") if k in parts and k in _PARTS[lang]]
    if not said:
        return ""
    joined = said[0] if len(said) == 1 else f"{said[0]} {'y' if lang == 'es' else 'and'} " \
        f"{said[1]}"
    return _NOTE[lang].format(parts=joined)


def run_language(notebook: Path, default: str = "es") -> str:
    """The ``language`` parameter an executed notebook ran with (papermill's metadata), or
    ``default`` when the notebook or the parameter is missing."""
    try:
        meta = json.loads(Path(notebook).read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError):
        return default
    lang = (meta.get("papermill") or {}).get("parameters", {}).get("language")
    return lang if lang in ("es", "en") else default
