"""Tests of territoria.bilingual: an output's versions side by side, the notebook's language
shown, the others hidden in a notebook and lifted on the site."""

from __future__ import annotations

from territoria.bilingual import CLASS, Versions, blocks, markdown_blocks, shown, unhide

PARTS = {"es": "<b>Hola</b>", "en": "<b>Hello</b>"}


def test_the_notebooks_language_is_shown_the_others_hidden_with_a_value():
    html = blocks(PARTS, "en")
    assert html == (f'<div class="{CLASS}" lang="es" hidden="hidden"><b>Hola</b></div>'
                    f'<div class="{CLASS}" lang="en"><b>Hello</b></div>')
    # a language without a version (a city publishing in pt) shows the Spanish one
    assert shown(PARTS, "pt") == "es" and 'lang="es">' in blocks(PARTS, "pt")


def test_unhide_lifts_only_the_kits_blocks():
    html = blocks(PARTS, "es") + '<p lang="en" hidden="hidden">other</p>'
    out = unhide(html)
    assert f'<div class="{CLASS}" lang="en"><b>Hello</b></div>' in out
    assert out.endswith('<p lang="en" hidden="hidden">other</p>')


def test_markdown_versions_stay_markdown_inside_their_blocks():
    out = Versions({"es": "- **uno**", "en": "- **one**"}, {"es": "uno", "en": "one"}, "es",
                   markdown=True)
    bundle = out._repr_mimebundle_()
    assert set(bundle) == {"text/markdown", "text/plain"} and bundle["text/plain"] == "uno"
    assert f'<div class="{CLASS}" lang="en" hidden="hidden">\n\n- **one**\n\n</div>' in (
        bundle["text/markdown"])
    assert markdown_blocks({"es": "a"}, "es") == f'<div class="{CLASS}" lang="es">\n\na\n\n</div>'


def test_plain_text_is_the_notebooks_language_only():
    out = Versions(PARTS, {"es": "Hola", "en": "Hello"}, "es", tag="p")
    assert repr(out) == "Hola" and str(out) == "Hola"
    assert out._repr_mimebundle_()["text/html"].startswith(f'<p class="{CLASS}" lang="es">')
