"""Notebook pages: the fast exporter writes what nbconvert's HTMLExporter writes."""

from __future__ import annotations

import base64
import copy

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbconvert import HTMLExporter

from territoria.charts import Chart, bar_ci
from territoria.pipeline.html import MISSING_ALT, NotebookHTMLExporter, accessible

PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000" "1f15c4890000000d49444154"
    "789c6360000002000001e221bc330000000049454e44ae426082")).decode()


def notebook():
    nb = nbformat.v4.new_notebook()
    chart = Chart(bar_ci(["Agua"], [0.5], [0.4], [0.6], title="Problemas", alt="Agua 50 %",
                         percent=True, standalone=True), "Agua: 50 % <de las personas>")
    code = nbformat.v4.new_code_cell("x")
    code.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="07-001 Colonia & <Centro>\n"),
        nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "fig"}),
        nbformat.v4.new_output("display_data", data=chart._repr_mimebundle_()),
        nbformat.v4.new_output("execute_result", execution_count=1, data={
            "text/html": "<table><tr><td>1</td></tr></table>", "text/plain": "1"}),
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("# Título\n\nTexto con *énfasis*."), code,
                nbformat.v4.new_code_cell("y")]
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    return nb


def elements(html):
    soup = BeautifulSoup(html, "html.parser")
    return [(t.name, sorted((k, " ".join(v) if isinstance(v, list) else v)
                            for k, v in t.attrs.items()), t.string)
            for t in soup.find_all(True)]


@pytest.mark.parametrize(("template", "exclude_input"),
                         [("basic", True), ("basic", False), ("lab", False)])
def test_same_page_as_nbconvert(template, exclude_input):
    kw = dict(template_name=template, exclude_input=exclude_input, exclude_input_prompt=True,
              exclude_output_prompt=True)
    nb = notebook()
    stock, _ = HTMLExporter(**kw).from_notebook_node(copy.deepcopy(nb))
    fast, _ = NotebookHTMLExporter(**kw).from_notebook_node(copy.deepcopy(nb))
    assert elements(fast) == elements(stock)
    soup = BeautifulSoup(fast, "html.parser")
    alts = [img["alt"] for img in soup.find_all("img")]
    assert alts == [MISSING_ALT, "Agua: 50 % <de las personas>"]  # the chart keeps its own
    if template == "lab":  # outputs and inputs focusable, as nbconvert makes them
        assert len(soup.select("div.jp-OutputArea-output[tabindex='0']")) == 4
        assert len(soup.select("div.jp-Cell-inputWrapper[tabindex='0']")) == 3


def test_accessible_leaves_described_and_focusable_markup_alone():
    html = '<div class="jp-OutputArea-output" tabindex="0"><img alt="a" src="x"></div>'
    assert accessible(html) == html
