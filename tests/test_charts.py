"""SVG charts: escaping, steps, reference lines, standalone charts for notebooks."""

from __future__ import annotations

import re
import xml.dom.minidom

from territoria import charts


def test_step_lines_hold_each_value_until_the_next_x():
    svg = charts.lines({"Agua": [(0, 0.0), (10, 0.5), (20, 1.0)]}, title="t", alt="a",
                       step=True, ymax=1.0, percent=True)
    d = re.search(r'<path d="([^"]+)"', svg).group(1)
    # move to the start, then horizontal-then-vertical segments only
    assert d.startswith("M") and re.fullmatch(r"M[\d. ]+(H[\d.]+V[\d.]+)+", d)
    assert ">100 %<" in svg and ">50 %<" in svg  # percent ticks on a fixed 0-1 axis


def test_negative_values_get_a_zero_line_inside_the_plot():
    svg = charts.lines({"a": [(0, -0.4), (1, 0.6)]}, title="t", alt="a")
    ys = [float(v) for v in re.findall(r'<text x="44" y="([\d.]+)"', svg)]
    assert len(ys) == 3  # bottom, top and the zero mark


def test_standalone_chart_has_its_own_size_style_and_title():
    page = charts.bar_ci(["a"], [1.0], [None], [None], title="T", alt="A")
    alone = charts.bar_ci(["a"], [1.0], [None], [None], title="T", alt="A", standalone=True)
    assert 'width="100%"' in page and "<style>" not in page
    assert re.search(r'width="640" height="\d+"', alone) and "<style>" in alone
    assert 'class="title"' in alone and 'class="title"' not in page
    for svg in (page, alone):
        xml.dom.minidom.parseString(svg)


def test_chart_escapes_its_alt_text_and_saves_a_file(tmp_path):
    c = charts.Chart(charts.bar_ci(["x"], [1.0], [None], [None], title="t", alt="a",
                                   standalone=True), 'dice "hola" <script>')
    html = c._repr_html_()
    assert "<script>" not in html and "&quot;hola&quot;" in html
    c.save(tmp_path / "c.svg")
    assert (tmp_path / "c.svg").read_text(encoding="utf-8").startswith("<svg")
