"""SVG charts: escaping, steps, reference lines, standalone charts for notebooks."""

from __future__ import annotations

import re
import xml.dom.minidom

import pytest

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
    ticks = {lab: float(y) for y, lab in
             re.findall(r'<text x="44" y="([\d.]+)" text-anchor="end" class="axis">([^<]+)<',
                        svg)}
    zero_line = float(re.search(r'<line x1="50" y1="([\d.]+)"', svg).group(1))
    axis_bottom = float(re.search(r'<line x1="50" y1="[\d.]+" x2="50" y2="([\d.]+)"',
                                  svg).group(1))
    assert ticks["0.0"] == pytest.approx(zero_line + 4)  # the zero mark sits on the zero line
    assert zero_line < axis_bottom  # inside the plot, above the lowest value
    assert ticks["0.5"] < ticks["0.0"]  # round values, each written where it is


def test_tick_labels_are_round_values_written_where_they_are():
    svg = charts.lines({"a": [(0, 0.0), (1, 7.0)]}, title="t", alt="a")
    labs = re.findall(r'class="axis">(\d+)</text>', svg)
    assert labs == ["0", "2", "4", "6"]


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
