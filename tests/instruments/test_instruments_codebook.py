"""Codebooks: both languages side by side, every form text escaped."""

from __future__ import annotations

import html.parser

import pytest

from territoria.exceptions import InstrumentError
from territoria.instruments.codebook import codebook_html, codebook_markdown, write_codebook
from territoria.instruments.xlsform import default_surveys_dir, load_instrument

EVIL = '<script>alert("x")</script>'


@pytest.fixture
def evil_form(tmp_path, make_form):
    p = make_form(
        tmp_path / "evil.xlsx",
        [["select_one yes_no", "q1", f"Pregunta {EVIL} | tubo", "Question \"quoted\" & 'single'",
          "yes"],
         ["text", "q2", "Dos\nlíneas", "Two `ticks`", None]],
        choices=[["yes_no", "yes", "<b>Sí</b>", "Yes"], ["yes_no", "no", "No", "No <img src=x>"]],
        settings=[["form_title", "form_id", "version", "default_language"],
                  [f"Título {EVIL}", "territoria_evil", "1", "Español (es)"]])
    return load_instrument(p)


class _Collector(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_html_escapes_everything(evil_form):
    page = codebook_html(evil_form)
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "&#x27;single&#x27;" in page
    p = _Collector()
    p.feed(page)
    assert "script" not in p.tags and "img" not in p.tags and "b" not in p.tags
    text = "".join(p.text)
    assert EVIL in text and "No <img src=x>" in text  # shown as text, never run


def test_markdown_escapes_tables(evil_form):
    md = codebook_markdown(evil_form)
    row = next(line for line in md.splitlines() if "`q1`" in line)
    assert "&lt;script&gt;" in row and "<script" not in md
    assert "\\| tubo" in row  # a pipe in a label does not break the table
    assert row.count(" | ") == 9  # ten columns
    row2 = next(line for line in md.splitlines() if "`q2`" in line)
    assert "Dos<br>líneas" in row2 and "Two \\`ticks\\`" in row2
    assert "dato personal" in row and "dato personal" not in row2


def test_codebook_of_kit_form_both_languages():
    inst = load_instrument(default_surveys_dir() / "assembly.xlsx")
    md = codebook_markdown(inst, lang="en")
    assert md.startswith("# Codebook: Registro de asamblea o mesa de trabajo / Record of an assembly")
    assert "## Table of repeat 'agreements' (table `assembly__agreements`)" in md
    row = next(line for line in md.splitlines() if "`kind`" in line)
    assert "Tipo de reunión | Kind of meeting" in row
    assert "`security_cabinet` = Gabinete de seguridad / Security cabinet" in row
    row = next(line for line in md.splitlines() if "`block`" in line)
    assert "`${kind} = 'block_assembly'`" in row and "territory=${territory}" in row
    es = codebook_markdown(inst)
    assert "| Sección | Nombre | Tipo | Pregunta (español) | Pregunta (inglés) |" in es


def test_write_codebook(tmp_path):
    inst = load_instrument(default_surveys_dir() / "votes.xlsx")
    p = write_codebook(inst, tmp_path / "out" / "votes.html", "html", "en")
    assert p.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    with pytest.raises(InstrumentError, match="format must be 'md' or 'html'"):
        write_codebook(inst, tmp_path / "x.pdf", "pdf")
