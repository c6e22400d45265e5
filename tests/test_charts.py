"""SVG charts: numeric axes, labels inside the box, one colour per series, escaping, steps,
reference lines, standalone charts for notebooks."""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET

import pytest

from territoria import charts

NS = "{http://www.w3.org/2000/svg}"


def parse(svg):
    root = ET.fromstring(svg)
    _, _, w, h = (float(v) for v in root.get("viewBox").split())
    return root, w, h


def texts(root):
    """(text, x_left, x_right, y, class) for every line of text, widths estimated."""
    out = []
    for t in root.iter(f"{NS}text"):
        spans = list(t.iter(f"{NS}tspan")) or [t]
        for s in spans:
            x, y = float(s.get("x", t.get("x"))), float(s.get("y", t.get("y")))
            size = {"axis": 11, "note": 10, "title": 14}.get(t.get("class"), 12)
            w = charts.text_width(s.text or "", size)
            anchor = t.get("text-anchor", "start")
            left = x - w if anchor == "end" else x - w / 2 if anchor == "middle" else x
            out.append((s.text or "", left, left + w, y, t.get("class")))
    return out


def assert_inside(svg):
    root, w, h = parse(svg)
    for text, a, b, y, _ in texts(root):
        assert a >= 0 and b <= w, (text, a, b, w)
        assert 10 <= y <= h, (text, y, h)


def axis_ticks(root):
    """Tick labels of the bottom axis (same y, the most common) as (x, number)."""
    ticks = [(x_l, y, txt) for txt, x_l, _, y, cls in texts(root) if cls == "axis"]
    by_y = {}
    for x, y, txt in ticks:
        by_y.setdefault(y, []).append((x, txt))
    return by_y


def number(txt):
    return float(txt.replace("%", "").replace(",", "").strip())


def test_event_study_axis_is_numeric_and_lines_go_forward():
    # the case: event times arrive in string order "-1, -4, 0, 14, 2, 3, 9"
    pts = [(-1, 0.01), (-4, 0.02), (0, -0.05), (14, -0.08), (2, -0.06), (3, -0.07), (9, -0.1)]
    svg = charts.lines({"Efecto": pts}, title="t", alt="a", vline=-0.5,
                       bands={"Efecto": [(x, y - 0.05, y + 0.05) for x, y in pts]})
    root, _, _ = parse(svg)
    path = next(p for p in root.iter(f"{NS}path") if p.get("data-series") == "Efecto")
    xs = [float(v) for v in re.findall(r"[ML]([\d.]+) ", path.get("d"))]
    assert xs == sorted(xs) and len(xs) == 7  # drawn left to right, no zig-zag
    rows = axis_ticks(root)
    bottom = max(rows)  # the x axis is the lowest row of tick labels
    xt = sorted(rows[bottom])
    values = [number(t) for _, t in xt]
    assert values == sorted(values) and values[0] <= -4 + 2 and values[-1] >= 14 - 5
    assert len(set(values)) == len(values)
    assert_inside(svg)


def test_y_ticks_increase_upwards_and_are_written_where_they_are():
    svg = charts.lines({"a": [(0, -0.4), (1, 0.6)]}, title="t", alt="a")
    root, _, _ = parse(svg)
    left_ticks = [(y, number(txt)) for txt, _, _, y, cls in texts(root)
                  if cls == "axis" and txt and y < max(axis_ticks(root))]
    left_ticks.sort()
    vals = [v for _, v in left_ticks]
    assert vals == sorted(vals, reverse=True)  # higher on the page = larger value
    assert 0.0 in vals and min(vals) <= -0.4 and max(vals) >= 0.6


def test_step_lines_hold_each_value_until_the_next_x():
    svg = charts.lines({"Agua": [(0, 0.0), (10, 0.5), (20, 1.0)]}, title="t", alt="a",
                       step=True, ymax=1.0, percent=True)
    d = re.search(r'<path d="([^"]+)" fill="none"', svg).group(1)
    # move to the start, then horizontal-then-vertical segments only
    assert d.startswith("M") and re.fullmatch(r"M[\d. ]+(H[\d.]+V[\d.]+)+", d)
    assert ">100 %<" in svg and ">50 %<" in svg  # percent ticks on a fixed 0-1 axis


def test_tick_labels_carry_the_decimals_their_spacing_needs():
    svg = charts.bar_ci(["a"], [-0.06], [-0.20], [0.08], title="t", alt="a")
    labs = [t for t, *_ in texts(parse(svg)[0]) if re.fullmatch(r"-?\d+\.\d+", t)]
    ticks = labs[:-1]  # the last number is the bar's value
    assert len(set(ticks)) == len(ticks), ticks  # no two ticks written the same
    assert [number(t) for t in ticks] == sorted(number(t) for t in ticks)


def test_bar_value_has_the_precision_of_its_interval_and_nothing_covers_labels():
    long = "Sección territorial: Zona 13, con un nombre larguísimo que no cabe en una línea"
    svg = charts.bar_ci([long, "Efecto en delitos"], [-0.06, 0.3], [-0.20, 0.1],
                        [0.08, 0.5], title="t", alt="a", ref=0.0, notes=["nota " * 40])
    root, _, _ = parse(svg)
    assert 'class="val">-0.06<' in svg  # not "-0.1"
    rects = [r for r in root.iter(f"{NS}rect")]
    assert len(rects) == 2 and all(float(r.get("width")) > 5 for r in rects)  # bars shown
    labels = [t for t in texts(root) if t[4] == "lab"]
    assert " ".join(t[0] for t in labels[:-1]) == long  # wrapped, nothing cut
    label_right = max(t[2] for t in labels)
    whiskers = [p for p in root.iter(f"{NS}path")]
    xs = [float(v) for p in whiskers for v in re.findall(r"[MH]([\d.]+)", p.get("d"))]
    values = [t for t in texts(root) if t[4] == "val"]
    assert min(xs) > label_right  # error bars never over labels
    assert max(xs) < min(t[1] for t in values)  # nor over the values
    assert min(float(r.get("x")) for r in rects) > label_right
    assert_inside(svg)


def test_every_label_is_inside_the_box_for_long_legends_and_titles():
    series = {f"Propuesta {i}: " + "muy " * (3 * i) + "larga": [(0, i / 10), (1, i / 9)]
              for i in range(8)}
    for standalone in (False, True):
        svg = charts.lines(series, title="Un título " * 12, alt="a", ylabel="Consenso " * 10,
                           xlabel="Ronda", notes=["n " * 200], standalone=standalone)
        assert_inside(svg)


def test_one_colour_per_series():
    series = {f"g{i}": [(0, i), (1, i + 1)] for i in range(12)}
    svg = charts.lines(series, title="t", alt="a")
    root, _, _ = parse(svg)
    strokes = [p.get("stroke") for p in root.iter(f"{NS}path") if p.get("data-series")]
    assert len(strokes) == 12 and len(set(strokes)) == 12


def _lab(hex_colour, m=None):
    """CIELAB (D65) of an sRGB colour, optionally through a colour-vision simulation matrix."""
    def lin(c):
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    v = [lin(int(hex_colour[i:i + 2], 16)) for i in (1, 3, 5)]
    if m:
        v = [min(1.0, max(0.0, sum(m[i][j] * v[j] for j in range(3)))) for i in range(3)]
    r, g, b = v
    x, y, z = (0.4124 * r + 0.3576 * g + 0.1805 * b, 0.2126 * r + 0.7152 * g + 0.0722 * b,
               0.0193 * r + 0.1192 * g + 0.9505 * b)

    def f(t):
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    return (116 * f(y) - 16, 500 * (f(x / 0.95047) - f(y)), 200 * (f(y) - f(z / 1.08883)))


# Machado, Oliveira & Fernandes (2009), "A physiologically-based model for simulation of
# color vision deficiency", IEEE TVCG 15(6), Table 1, severity 1.0.
PROTAN = [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
          [-0.003882, -0.048116, 1.051998]]
DEUTAN = [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
          [-0.011820, 0.042940, 0.968881]]
TRITAN = [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
          [0.004733, 0.691367, 0.303900]]


@pytest.mark.parametrize("vision", [None, PROTAN, DEUTAN, TRITAN],
                         ids=["typical", "protan", "deutan", "tritan"])
def test_palette_stays_distinct_under_colour_blindness(vision):
    labs = [_lab(c, vision) for c in charts.PALETTE]
    worst = min(math.dist(a, b) for a, b in itertools.combinations(labs, 2))
    assert worst > 12  # CIE76 ΔE; ~2.3 is a just-noticeable difference


def test_standalone_chart_has_its_own_size_style_and_title():
    page = charts.bar_ci(["a"], [1.0], [None], [None], title="T", alt="A")
    alone = charts.bar_ci(["a"], [1.0], [None], [None], title="T", alt="A", standalone=True)
    assert 'width="100%"' in page and "<style>" not in page
    assert re.search(r'width="640" height="\d+"', alone) and "<style>" in alone
    assert 'class="title"' in alone and 'class="title"' not in page
    for svg in (page, alone):
        ET.fromstring(svg)


def test_chart_escapes_its_alt_text_and_saves_a_file(tmp_path):
    c = charts.Chart(charts.bar_ci(["x"], [1.0], [None], [None], title="t", alt="a",
                                   standalone=True), 'dice "hola" <script>')
    html = c._repr_html_()
    assert "<script>" not in html and "&quot;hola&quot;" in html
    c.save(tmp_path / "c.svg")
    assert (tmp_path / "c.svg").read_text(encoding="utf-8").startswith("<svg")


def test_responsive_draws_the_chart_for_a_page_and_for_a_phone():
    """Two whole drawings (title, description, labels inside each viewBox): the phone one at
    :data:`charts.NARROW` px wide, its long labels wrapped for that width."""
    labels = ["Todas las colonias del programa", "Esta colonia", "Sección territorial: Zona 13"]
    two = charts.responsive(charts.bar_ci, labels, [0.72, 0.70, 0.5], [0.57, 0.69, 0.4],
                            [0.83, 0.71, 0.6], title="Manzanas", alt="Barras", percent=True)
    wide, narrow = (s + "</svg>" for s in two.split("</svg>")[:2])
    assert 'class="chart chart-wide"' in wide and 'class="chart chart-narrow"' in narrow
    assert parse(wide)[1] == 640 and parse(narrow)[1] == charts.NARROW
    for svg in (wide, narrow):
        assert_inside(svg)
        assert "<title>Manzanas</title>" in svg and "<desc>Barras</desc>" in svg
    assert len(parse(narrow)[0].findall(f".//{NS}tspan")) > len(parse(wide)[0].findall(
        f".//{NS}tspan"))  # the phone drawing wraps the labels it cannot fit on one line
    series = {"A": [(0, 1.0), (1, 2.0)], "B": [(0, 2.0), (1, 1.0)]}
    lines2 = charts.responsive(charts.lines, series, title="t", alt="a")
    assert lines2.count("<svg") == 2 and f'viewBox="0 0 {charts.NARROW} ' in lines2
