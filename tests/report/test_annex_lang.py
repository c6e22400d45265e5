"""Tests of territoria.report.annex_lang: an executed notebook's page, one language at a time
(text cells split at their English quote, headings in both languages split, the outputs'
hidden versions lifted so the site's switch chooses)."""

from __future__ import annotations

from territoria.bilingual import blocks
from territoria.report.annex_lang import one_language

TEXT = ('<div class="text_cell_render border-box-sizing rendered_html">\n{}\n</div>\n'
        '</div>\n</div>')


def test_a_heading_in_both_languages_is_split_and_keeps_its_number_and_anchor():
    cell = TEXT.format('<h2 id="x">2. ¿Quién lo dice? &#183; <em>Who says so?</em>'
                       '<a class="anchor-link" href="#x">&#182;</a></h2><p>Texto.</p>\n'
                       '<blockquote>\n<p><em>English:</em> Text.</p>\n</blockquote>')
    out = one_language(cell)
    assert ('<h2 id="x"><span lang="es">2. ¿Quién lo dice?</span><span lang="en">2. Who says '
            'so?</span><a class="anchor-link" href="#x">&#182;</a></h2>') in out
    assert '<div lang="es"><p>Texto.</p>' in out and '<div lang="en">\n<p>Text.</p>' in out
    assert out.index("</h2>") < out.index('<div lang="es">')  # the heading is not Spanish only


def test_a_cell_with_a_bilingual_heading_and_no_english_quote_is_split_too():
    cell = TEXT.format("<h3>Resultado · <em>Result</em></h3><p>Solo código.</p>")
    out = one_language(cell)
    assert '<span lang="es">Resultado</span><span lang="en">Result</span>' in out
    assert '<div lang="es"><p>Solo código.</p>' in out


def test_a_heading_with_a_middle_dot_but_no_english_stays_as_it_is():
    cell = TEXT.format("<h2>Paso 02 · Diagnóstico</h2><p>Hola.</p>")
    assert one_language(cell) == cell


def test_the_outputs_other_languages_are_no_longer_hidden_on_the_site():
    output = ('<div class="output_html rendered_html output_subarea ">'
              + blocks({"es": "<p>Hogares</p>", "en": "<p>Households</p>"}, "es") + "</div>")
    out = one_language(output)
    assert "hidden" not in out
    assert '<div class="territoria-lang" lang="en"><p>Households</p></div>' in out
    other = '<div lang="en" hidden="hidden">Not ours</div>'  # only the kit's blocks
    assert one_language(other) == other
