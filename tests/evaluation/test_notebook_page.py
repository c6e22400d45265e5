"""An executed evaluation notebook's body, one language at a time
(:mod:`territoria.evaluation.notebook_page`)."""

from __future__ import annotations

import json

import pytest

from territoria.evaluation.notebook_page import (
    hidden_parts,
    missing_note,
    one_language,
    run_language,
)

OPEN = '<div class="text_cell_render border-box-sizing rendered_html">\n'
CLOSE = "\n</div>\n</div>\n</div>\n"


def cell(body: str) -> str:
    return ('<div id="cell-id=1" class="cell border-box-sizing text_cell rendered">'
            '<div class="inner_cell">\n' + OPEN + body + CLOSE)


def test_a_bilingual_heading_and_its_italic_english_paragraph():
    html = one_language(cell('<h2 id="x">3. La respuesta &#183; <em>The answer</em><a '
                             'class="anchor-link" href="#x">&#182;</a></h2><p>Leemos el '
                             '<code>intervalo</code>.</p>\n<p><em>We read the <strong>interval'
                             '</strong>.</em></p>'), "es")
    assert ('<h2 id="x"><span lang="es">3. La respuesta</span><span lang="en">3. The answer'
            '</span><a class="anchor-link" href="#x">&#182;</a></h2>') in html
    assert '<div lang="es"><p>Leemos el <code>intervalo</code>.</p></div>' in html
    assert '<div lang="en"><p>We read the <strong>interval</strong>.</p></div>' in html
    assert hidden_parts(html) == {"es": set(), "en": set()}


def test_a_cell_without_english_is_marked_spanish_only():
    html = one_language(cell('<h2 id="y">5. Guardar &#183; <em>Save</em></h2><p>Se guarda.</p>'
                             '<ul><li>uno</li></ul>'), "es")
    assert '<div lang="es" class="es-only"><p>Se guarda.</p><ul><li>uno</li></ul></div>' in html
    assert hidden_parts(html) == {"es": set(), "en": {"text"}}


def test_a_spanish_paragraph_with_emphasis_is_not_taken_for_english():
    html = one_language(cell("<p><em>Nota</em>: vea la <em>tabla</em></p>"), "es")
    assert '<div lang="es" class="es-only"><p><em>Nota</em>: vea la <em>tabla</em></p>' in html
    assert 'lang="en"' not in html


def test_a_heading_without_english_stays_in_the_spanish_part():
    html = one_language(cell("<h3>Notas</h3><p>Hola.</p>\n<p><em>Hello.</em></p>"), "es")
    assert '<div lang="es"><h3>Notas</h3><p>Hola.</p></div><div lang="en">' in html


@pytest.mark.parametrize("ran_in, hidden_in", [("es", "en"), ("en", "es")])
def test_outputs_are_marked_with_the_language_the_notebook_ran_in(ran_in, hidden_in):
    code = ('<div id="cell-id=2" class="cell border-box-sizing code_cell rendered">\n'
            '<div class="output_wrapper"><div class="output"><div class="output_area">'
            "<pre>x</pre></div></div></div>\n</div>")
    html = one_language(code, ran_in)
    assert f'code_cell rendered" lang="{ran_in}">' in html
    assert hidden_parts(html)[hidden_in] == {"outputs"}
    assert missing_note({"outputs"}, hidden_in)


def test_the_note_names_what_is_left_out_in_its_own_language():
    en = missing_note({"outputs", "text"}, "en")
    assert en.startswith("This version of the notebook leaves out the explanations of some "
                         "sections and the outputs of its computation")
    es = missing_note({"outputs"}, "es")
    assert es.startswith("Esta versión del cuaderno no muestra los resultados de su cálculo")
    assert missing_note({"text"}, "es") == ""  # Spanish explanations are never hidden in es


def test_run_language_comes_from_papermill_parameters(tmp_path):
    nb = tmp_path / "q.ipynb"
    nb.write_text(json.dumps({"metadata": {"papermill": {"parameters": {"language": "en"}}}}),
                  encoding="utf-8")
    assert run_language(nb) == "en"
    nb.write_text(json.dumps({"metadata": {}}), encoding="utf-8")
    assert run_language(nb, default="es") == "es"
    assert run_language(tmp_path / "missing.ipynb", default="en") == "en"
    nb.write_text("{not json", encoding="utf-8")
    assert run_language(nb) == "es"


def test_outputs_in_both_languages_show_in_each_and_the_others_in_the_run_language():
    from territoria.evaluation.narration import Both

    both = Both({"es": "<p>Resultado guardado</p>", "en": "<p>Result saved</p>"}, "x")
    code = ('<div id="cell-id=2" class="cell border-box-sizing code_cell rendered">\n'
            '<div class="output_wrapper"><div class="output">'
            f'<div class="output_area"><div class="output_html">{both._repr_html_()}</div></div>'
            '<div class="output_area"><pre>tabla</pre></div></div></div>\n</div>\n'
            '<div id="cell-id=3" class="cell border-box-sizing code_cell rendered">\n'
            '<div class="output_wrapper"><div class="output">'
            f'<div class="output_area"><div class="output_html">{both._repr_html_()}</div></div>'
            '</div></div>\n</div>')
    html = one_language(code, "es")
    assert 'code_cell rendered">' in html and 'code_cell rendered" lang=' not in html
    assert html.count('<div class="output_area">') == 2  # the outputs in both languages
    assert '<div class="output_area" lang="es"><pre>tabla</pre>' in html
    assert '<div lang="en"><p>Result saved</p></div>' in html
    assert hidden_parts(html) == {"es": set(), "en": {"outputs"}}
    only_both = one_language(code[code.index('<div id="cell-id=3"'):], "es")
    assert hidden_parts(only_both) == {"es": set(), "en": set()}


def test_a_code_cell_without_outputs_hides_nothing():
    params = ('<div id="cell-id=p" class="cell border-box-sizing code_cell rendered '
              'celltag_parameters">\n</div>\n')
    html = one_language(params, "es")
    assert html == params and hidden_parts(html) == {"es": set(), "en": set()}
