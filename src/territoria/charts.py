"""Charts as SVG text: light, printable, accessible, bilingual; no dependencies.

The published site draws its charts with these functions from the recorded result tables, so a
page works opened from disk, text stays selectable and both languages cost nothing; the step
notebooks show the same charts (:class:`Chart`, through ``figures`` with
``backend="svg"``), so trainers and residents see one drawing. Matplotlib figures remain
available for adjusting a chart by hand. Every chart has a ``<title>`` and ``<desc>`` (alt
text); all text is escaped. This module imports only the standard library, so ``analysis``
and ``report`` can both use it.

Examples
--------
>>> svg = bar_ci(["Agua", "Seguridad"], [0.6, 0.4], [0.5, 0.3], [0.7, 0.5],
...              title="Problemas", alt="Barras", percent=True)
>>> svg.startswith("<svg") and "<title>Problemas</title>" in svg
True
>>> "<script>" in bar_ci(["<script>"], [1], [None], [None], title="t", alt="a")
False
"""

from __future__ import annotations

import base64
import json
import math
from functools import lru_cache
from html import escape

#: Okabe & Ito (2008, "Color Universal Design") colour-blind-safe colours; their yellow,
#: too pale for a line on white, is replaced by Paul Tol's wine (ΔE ≥ 16 between any two
#: under simulated protan, deutan and tritan vision: ``tests/test_charts.py``). A chart never repeats a colour:
#: past these eight, :func:`lines` takes Paul Tol's "muted" colours, each with a dash pattern
#: so that it stays distinguishable (the site shows at most :data:`MAX_SERIES` series).
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
           "#882255"]
EXTRA = ["#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677",
         "#AA4499", "#666666"]
MAX_SERIES = len(PALETTE)


def _style(k: int) -> tuple[str, str]:
    """Colour and dash pattern of the k-th series (distinct colours for 17 series)."""
    if k < len(PALETTE):
        return PALETTE[k], ""
    k -= len(PALETTE)
    return EXTRA[k % len(EXTRA)], ' stroke-dasharray="%s"' % ("6 3", "2 2", "8 3 2 3")[
        (k // len(EXTRA) + k) % 3]


SEQ = ["#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c",
       "#08306b"]

#: Advance widths of DejaVu Sans (the site's first font; Arial is narrower) in em, for
#: measuring text before placing it; other characters count as 0.65 em (accents as their base).
_EM = {" ": .318, ".": .318, ",": .318, ":": .337, ";": .337, "-": .361, "−": .838,
       "–": .5, "—": 1.0, "%": .95, "(": .39, ")": .39, "/": .337, "'": .275, "*": .5,
       "i": .278, "j": .278, "l": .278, "f": .352, "t": .392, "r": .411, "I": .295, "J": .295,
       "m": .974, "w": .818, "M": .863, "W": .989, "s": .521, "z": .525, "c": .55}
_EM.update({d: .636 for d in "0123456789"})
_EM.update({c: .72 for c in "ABCDEFGHKLNOPQRSTUVXYZÁÉÍÓÚÑ"})


def text_width(text: str, size: float = 12) -> float:
    """Estimated width in px of ``text`` at ``size`` px in DejaVu Sans (an upper bound for
    Arial).

    >>> round(text_width("100 %", 10), 1)
    31.8
    """
    return _em_width(str(text)) * size


@lru_cache(maxsize=65536)
def _em_width(text: str) -> float:
    return sum(_char_em(ch) for ch in text)


@lru_cache(maxsize=4096)
def _char_em(ch: str) -> float:
    import unicodedata

    base = unicodedata.normalize("NFD", ch)[:1] or ch
    return _EM.get(ch, _EM.get(base, 0.72 if base.isupper() else 0.65))


def wrap(text: str, max_px: float, size: float = 12) -> list[str]:
    """Break ``text`` into lines no wider than ``max_px`` (at word boundaries; a word longer
    than a line is split). Nothing is dropped: the lines joined give the text back.

    >>> wrap("Sección territorial: Zona 13 de Iztapalapa", 120)
    ['Sección territorial:', 'Zona 13 de', 'Iztapalapa']
    """
    lines_out: list[str] = []
    cur = ""
    for word in str(text).split():
        cand = f"{cur} {word}" if cur else word
        if text_width(cand, size) <= max_px:
            cur = cand
            continue
        if cur:
            lines_out.append(cur)
        while text_width(word, size) > max_px and len(word) > 1:
            k = len(word) - 1
            while k > 1 and text_width(word[:k], size) > max_px:
                k -= 1
            lines_out.append(word[:k])
            word = word[k:]
        cur = word
    if cur or not lines_out:
        lines_out.append(cur)
    return lines_out


def _tspans(lines_, x: float, y: float, lh: float = 14) -> str:
    return "".join(f'<tspan x="{x:.1f}" y="{y + i * lh:.1f}">{escape(s)}</tspan>'
                   for i, s in enumerate(lines_))


def digits_for(low, high, percent: bool = False) -> int:
    """Decimals a value needs so that its interval ``[low, high]`` is readable: two
    significant digits of the interval's width (0 to 3 decimals; 2 when there is no
    interval, 1 for percentages).

    >>> digits_for(-0.20, 0.08), digits_for(0.69, 0.88, percent=True), digits_for(None, None)
    (2, 0, 2)
    """
    if _isnan(low) or _isnan(high) or not float(high) > float(low):
        return 1 if percent else 2
    w = (float(high) - float(low)) * (100 if percent else 1)
    return int(min(3, max(0, 1 - math.floor(math.log10(w)))))


def _fmt(v, percent=False, digits=1) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if percent:
        s = f"{100 * v:.{digits}f}"
        return (s.lstrip("-") if float(s) == 0 else s) + " %"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    s = f"{v:.{digits}f}"
    return s.lstrip("-") if float(s) == 0 else s


#: The site stylesheet's chart rules, carried inside a standalone SVG (notebooks, files).
STANDALONE_STYLE = (
    '<style>text{font-family:"DejaVu Sans",Arial,sans-serif;font-size:12px;fill:#1a1a1a}'
    ".axis{fill:#4a4a4a;font-size:11px}.sup{fill:#b35c1e}.note{fill:#4a4a4a;font-size:10px}"
    ".title{font-size:14px}"
    "</style><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>"
)


def _head(width, height, title, alt, standalone: bool = False) -> str:
    size = f'width="{width}" height="{height:.0f}"' if standalone else 'width="100%"'
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height:.0f}" '
            f'{size} role="img" aria-label="{escape(title)}" class="chart">'
            f"<title>{escape(title)}</title><desc>{escape(alt)}</desc>"
            + (STANDALONE_STYLE if standalone else ""))


def _notes(notes, y0: float, width: float = 640) -> tuple[str, float]:
    """Notes under a chart, wrapped; returns the SVG and the height used."""
    out, y = [], y0
    for t in notes or ():
        ls = wrap(str(t), width - 16, 10)
        out.append(f'<text class="note">{_tspans(ls, 8, y, 13)}</text>')
        y += 13 * len(ls)
    return "".join(out), y - y0


class Chart:
    """A chart drawn as SVG text, for notebooks and files: shows itself in Jupyter.

    The same drawing code as the published pages, so a notebook shows residents' charts,
    at a fraction of the cost of a Matplotlib figure (about 1 ms instead of 0.2 s). In
    Jupyter and in nbconvert's HTML it is an ``<img>`` whose ``alt`` is the chart's
    description; ``svg`` is a standalone SVG file (``<title>``, ``<desc>``, own styles).

    Examples
    --------
    >>> c = Chart(bar_ci(["A"], [0.5], [0.4], [0.6], title="T", alt="a", percent=True,
    ...                  standalone=True), "A: 50 %")
    >>> sorted(c._repr_mimebundle_())
    ['image/svg+xml', 'text/html', 'text/plain']
    >>> 'alt="A: 50 %"' in c._repr_html_()
    True
    """

    def __init__(self, svg: str, alt: str):
        self.svg = svg
        self.alt = alt

    def _repr_html_(self) -> str:
        data = base64.b64encode(self.svg.encode("utf-8")).decode("ascii")
        return (f'<img src="data:image/svg+xml;base64,{data}" alt="{escape(self.alt)}" '
                'style="max-width:100%;height:auto">')

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/html": self._repr_html_(), "image/svg+xml": self.svg,
                "text/plain": self.alt}

    def save(self, path) -> None:
        """Write the standalone SVG to ``path``."""
        from pathlib import Path

        Path(path).write_text(self.svg, encoding="utf-8")

    def __repr__(self) -> str:
        return f"Chart({self.alt!r})"


#: Width of a chart's phone drawing: a 390 px screen less the page's margins, so its text is
#: drawn at about its own size (a 640-wide drawing shrunk to 370 px has 7 px text).
NARROW = 360


def responsive(draw, *args, narrow: int = NARROW, **kwargs) -> str:
    """A chart drawn twice, for a wide page and for a phone: ``draw(*args, **kwargs)`` and the
    same at ``width=narrow`` (labels re-wrapped and ticks re-spaced for that width, text at
    its size). The stylesheet shows ``chart-wide`` or ``chart-narrow`` by screen width
    (``site.css``); each is a whole chart with its title and description.

    >>> two = responsive(bar_ci, ["Agua"], [0.5], [0.4], [0.6], title="T", alt="a")
    >>> two.count("<svg"), 'class="chart chart-wide"' in two, 'viewBox="0 0 360 ' in two
    (2, True, True)
    """
    wide = draw(*args, **kwargs)
    small = draw(*args, **{**kwargs, "width": narrow})
    return (wide.replace('class="chart"', 'class="chart chart-wide"', 1)
            + small.replace('class="chart"', 'class="chart chart-narrow"', 1))


def _domain(vals, percent: bool, n_ticks: int, fixed_top=None) -> tuple[float, float, list]:
    """A numeric domain holding ``vals`` and zero, widened to round ticks."""
    vals = [float(v) for v in vals if not _isnan(v)]
    lo, hi = min([0.0, *vals]), max([0.0, *vals])
    if percent and lo >= 0 and hi <= 1:
        hi = 1.0 if fixed_top is None else fixed_top
    if fixed_top is not None:
        hi = fixed_top
    if not hi > lo:
        hi = lo + 1.0
    ticks = _ticks(lo, hi, n_ticks)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else (hi - lo)
    if fixed_top is None and not (percent and lo >= 0 and hi <= 1):
        lo = min(lo, math.floor(lo / step + 1e-9) * step)
        hi = max(hi, math.ceil(hi / step - 1e-9) * step)
        k0 = round(lo / step)
        ticks = [round((k0 + i) * step, 12) + 0.0 for i in range(round((hi - lo) / step) + 1)]
    return lo, hi, ticks


def bar_ci(labels, values, lows, highs, *, title: str, alt: str, percent: bool = False,
           width: int = 640, xlabel: str = "", highlight=None, ref: float | None = None,
           notes=(), standalone: bool = False, suffix: str = "") -> str:
    """Horizontal bars (in the given order) with interval whiskers; None values are left out
    of the drawing and labelled as suppressed.

    The value axis is numeric, holds zero and every interval, and has round ticks; labels
    are measured and wrapped (never cut); each value is written in its own column at the
    right, with the decimals its interval needs (:func:`digits_for`), so nothing is drawn
    over a label. ``ref`` draws a dashed vertical line at that value (e.g. 1 for ratios),
    ``notes`` are short lines printed under the chart, ``standalone`` gives the SVG its own
    size and styles (for a file or a notebook rather than a page with the site's stylesheet),
    ``suffix`` is the unit written after each value and tick (e.g. " %" for values already
    in percent).

    >>> svg = bar_ci(["Efecto"], [-0.06], [-0.20], [0.08], title="t", alt="a")
    >>> 'class="val">-0.06<' in svg
    True
    """
    labels = [str(lab) for lab in labels]
    values, lows, highs = list(values), list(lows), list(highs)
    head, dy = _caption_title(title, standalone, width)
    wrapped = [wrap(lab, 0.38 * width, 12) for lab in labels]
    lab_w = max((text_width(s, 12) for w in wrapped for s in w), default=0.0)
    left = 8 + lab_w + 10
    texts = [_fmt(v, percent, digits_for(lo, hi, percent)) + suffix if not _isnan(v) else "*"
             for v, lo, hi in zip(values, lows, highs, strict=True)]
    val_w = max((text_width(t, 12) for t in texts), default=0.0) + 16
    x0, x1 = left, width - val_w - 8
    dom = list(values) + list(lows) + list(highs) + ([ref] if ref is not None else [])
    lo_d, hi_d, ticks = _domain(dom, percent, max(2, int((x1 - x0) / 80)))
    span = hi_d - lo_d

    def sx(v):
        return x0 + (float(v) - lo_d) / span * (x1 - x0)

    top = 10 + dy
    heights = [max(26.0, 14 * len(w) + 10) for w in wrapped]
    base = top + sum(heights)
    out = [head]
    for t in ticks:  # grid and tick labels
        out.append(f'<line x1="{sx(t):.1f}" y1="{top}" x2="{sx(t):.1f}" y2="{base:.1f}" '
                   'stroke="#e3e3e3"/>')
        out.append(f'<text x="{sx(t):.1f}" y="{base + 14:.1f}" text-anchor="middle" '
                   f'class="axis">{escape(_tick(t, percent, _step(ticks)) + suffix)}</text>')
    y = top
    for i, (ls, v, lo, hi, h) in enumerate(zip(wrapped, values, lows, highs, heights,
                                                strict=True)):
        yc = y + h / 2
        out.append(f'<text text-anchor="end" class="lab">'
                   f'{_tspans(ls, left - 10, yc + 4 - 7 * (len(ls) - 1))}</text>')
        if _isnan(v):
            out.append(f'<text x="{sx(0) + 4:.1f}" y="{yc + 4:.1f}" class="sup">*</text>')
        else:
            colour = PALETTE[1] if highlight is not None and i == highlight else PALETTE[0]
            a, b = sorted((sx(0), sx(v)))
            out.append(f'<rect x="{a:.1f}" y="{yc - 8:.1f}" width="{max(1.0, b - a):.1f}" '
                       f'height="16" fill="{colour}" fill-opacity="0.85"/>')
            if not _isnan(lo) and not _isnan(hi):
                xa, xb = sx(lo), sx(hi)
                out.append(f'<path d="M{xa:.1f} {yc:.1f}H{xb:.1f}M{xa:.1f} {yc - 5:.1f}'
                           f'V{yc + 5:.1f}M{xb:.1f} {yc - 5:.1f}V{yc + 5:.1f}" '
                           'stroke="#1a1a1a" stroke-width="1.5" fill="none"/>')
            out.append(f'<text x="{width - 8}" y="{yc + 4:.1f}" text-anchor="end" '
                       f'class="val">{escape(texts[i])}</text>')
        y += h
    out.append(f'<line x1="{sx(0):.1f}" y1="{top}" x2="{sx(0):.1f}" y2="{base:.1f}" '
               'stroke="#444"/>')
    if ref is not None and not _isnan(ref):
        out.append(f'<line x1="{sx(ref):.1f}" y1="{top}" x2="{sx(ref):.1f}" y2="{base:.1f}" '
                   f'stroke="{PALETTE[1]}" stroke-dasharray="4 3"/>')
    yb = base + 20
    if xlabel:
        ls = wrap(xlabel, width - x0 - 8, 11)
        out.append(f'<text class="axis">{_tspans(ls, x0, yb + 10, 13)}</text>')
        yb += 13 * len(ls) + 4
    svg_notes, h_notes = _notes(notes, yb + 10, width)
    out.append(svg_notes)
    height = yb + h_notes + 6
    return _head(width, height, title, alt, standalone) + "".join(out) + "</svg>"


def _isnan(v) -> bool:
    try:
        return v is None or math.isnan(float(v))
    except (TypeError, ValueError):
        return False


def _ticks(low: float, high: float, n: int = 4) -> list[float]:
    """About ``n`` round tick values (multiples of 1, 2 or 5 x 10^k) from ``low`` to ``high``,
    zero included when it is inside.

    >>> _ticks(0, 7.7), _ticks(-0.4, 0.66), _ticks(0, 1)
    ([0.0, 2.0, 4.0, 6.0], [0.0, 0.5], [0.0, 0.5, 1.0])
    """
    span = high - low
    if not span > 0:
        return [low]
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(low / step - 1e-9)
    out = []
    k = first
    while k * step <= high + 1e-9 * step:
        out.append(round(k * step, 12) + 0.0)
        k += 1
    return out


def _tick(v: float, percent: bool, step: float) -> str:
    """A tick label with as many decimals as the distance between ticks needs.

    >>> [_tick(v, False, 0.05) for v in (-0.15, 0.1)], _tick(0.25, True, 0.05)
    (['-0.15', '0.10'], '25 %')
    """
    scaled = step * (100 if percent else 1)
    digits = 0 if not scaled > 0 else max(0, -math.floor(math.log10(scaled) + 1e-9))
    return _fmt(v, percent, digits=digits)


def _step(ticks: list) -> float:
    return ticks[1] - ticks[0] if len(ticks) > 1 else abs(ticks[0]) or 1.0


def _caption_title(title: str, standalone: bool, width: int = 640) -> tuple[str, int]:
    """A standalone chart prints its title on top (a page shows it as a heading)."""
    if not standalone or not title:
        return "", 0
    ls = wrap(title, width - 16, 14)
    return (f'<text class="title" font-weight="bold">{_tspans(ls, 8, 17, 17)}</text>',
            9 + 17 * len(ls))


def lines(series: dict, *, title: str, alt: str, ylabel: str = "", width: int = 640,
          height: int = 260, x_labels=None, step: bool = False, ymax: float | None = None,
          percent: bool = False, xlabel: str = "", notes=(), standalone: bool = False,
          bands: dict | None = None, vline: float | None = None) -> str:
    """Lines by group on numeric axes: ``series`` maps a (translated) group label to a list
    of (x, y), x any number (negative too: event time); points are drawn in x order.

    ``x_labels`` maps some x values to tick labels (else round numeric ticks); labels that
    would overlap are skipped. ``step`` draws steps (a value holds until the next x, as in a
    Kaplan-Meier curve), ``ymax`` fixes the top of the y axis, ``percent`` labels y values
    (shares 0-1) as %, ``ylabel`` is printed above the y axis and ``xlabel`` under the x axis,
    ``bands`` maps a group label to (x, low, high) points drawn as a light interval band
    (for one or two series; more would blur each other),
    ``vline`` draws a dashed vertical line at that x (e.g. the start of the programme),
    ``notes`` are lines under the chart, ``standalone`` as in :func:`bar_ci` (and prints the
    title). The legend goes under the plot, wrapped; every series has its own colour
    (:func:`_style`).

    >>> svg = lines({"a": [(2, 1.0), (-4, 0.0), (0, 0.5)]}, title="t", alt="a")
    >>> [t for t in ("-4", "-2", "0", "2") if f">{t}</text>" in svg]
    ['-4', '-2', '0', '2']
    """
    head, dy = _caption_title(title, standalone, width)
    pts_by = {name: sorted(((float(x), float(y)) for x, y in pts if not _isnan(y)),
                           key=lambda p: p[0]) for name, pts in series.items()}
    xs = [x for pts in pts_by.values() for x, _ in pts]
    ys = [y for pts in pts_by.values() for _, y in pts]
    band_ys = [v for b in (bands or {}).values() for _, lo, hi in b for v in (lo, hi)
               if not _isnan(v)]
    if not xs:
        return (_head(width, 40 + dy, title, alt, standalone) + head
                + f'<text x="8" y="{24 + dy}">—</text></svg>')
    xmin, xmax = min(xs), max(xs)
    if not xmax > xmin:
        xmin, xmax = xmin - 1, xmax + 1
    ylow, ytop, yticks = _domain(ys + band_ys, percent, 4, fixed_top=ymax)
    ylab_w = max(text_width(_tick(t, percent, _step(yticks)), 11) for t in yticks)
    left, right = 10 + ylab_w + 8, 16
    ylab_lines = wrap(ylabel, width - 16, 11) if ylabel else []
    top = 10 + dy + 13 * len(ylab_lines) + (4 if ylab_lines else 0)
    base = top + (height - 40)
    sx = (width - left - right) / (xmax - xmin)
    sy = (base - top) / (ytop - ylow)

    def px(v):
        return left + (v - xmin) * sx

    def py(v):
        return base - (v - ylow) * sy

    out = [head]
    for ly, s in enumerate(ylab_lines):
        out.append(f'<text x="8" y="{10 + dy + 11 + 13 * ly}" class="axis">{escape(s)}</text>')
    for yv in yticks:  # round values, each written where it is
        out.append(f'<line x1="{left}" y1="{py(yv):.1f}" x2="{width - right}" y2="{py(yv):.1f}" '
                   'stroke="#e3e3e3"/>')
        out.append(f'<text x="{left - 6:.1f}" y="{py(yv) + 4:.1f}" text-anchor="end" '
                   f'class="axis">{escape(_tick(yv, percent, _step(yticks)))}</text>')
    if ylow < 0 < ytop:
        out.append(f'<line x1="{left}" y1="{py(0):.1f}" x2="{width - right}" y2="{py(0):.1f}" '
                   'stroke="#444"/>')
    out.append(f'<line x1="{left}" y1="{base:.1f}" x2="{width - right}" y2="{base:.1f}" '
               'stroke="#444"/>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{base:.1f}" stroke="#444"/>')
    if x_labels:
        xt = sorted((float(k), str(v)) for k, v in x_labels.items() if xmin <= float(k) <= xmax)
    else:
        n_x = max(2, int((width - left - right) / 45))
        xt = [(t, f"{t:,.0f}" if float(t).is_integer() else f"{t:g}")
              for t in _ticks(xmin, xmax, n_x)]
    last_end = -1e9
    for xv, lab in xt:  # a label at an edge is aligned inward; one that would overlap the
        w = text_width(lab, 11)  # previous label is skipped
        a = min(max(2.0, px(xv) - w / 2), width - 2 - w)
        if a < last_end + 6:
            continue
        last_end = a + w
        out.append(f'<line x1="{px(xv):.1f}" y1="{base:.1f}" x2="{px(xv):.1f}" '
                   f'y2="{base + 4:.1f}" stroke="#444"/>')
        out.append(f'<text x="{a + w / 2:.1f}" y="{base + 16:.1f}" text-anchor="middle" '
                   f'class="axis">{escape(lab)}</text>')
    if vline is not None and xmin <= vline <= xmax:
        out.append(f'<line x1="{px(vline):.1f}" y1="{top}" x2="{px(vline):.1f}" '
                   f'y2="{base:.1f}" stroke="#4a4a4a" stroke-dasharray="4 3"/>')
    names = list(pts_by)
    for k, name in enumerate(names if len(names) <= 2 else ()):  # more bands would blur
        b = sorted((bands or {}).get(name, ()), key=lambda p: p[0])
        b = [(float(x), float(lo), float(hi)) for x, lo, hi in b
             if not (_isnan(lo) or _isnan(hi))]
        if len(b) > 1:
            d = ("M" + "L".join(f"{px(x):.1f} {py(hi):.1f}" for x, _, hi in b)
                 + "L" + "L".join(f"{px(x):.1f} {py(lo):.1f}" for x, lo, _ in reversed(b))
                 + "Z")
            out.append(f'<path d="{d}" fill="{_style(k)[0]}" fill-opacity="0.15" '
                       'stroke="none"/>')
    for k, name in enumerate(names):
        pts = pts_by[name]
        if not pts:
            continue
        if step:
            d = "".join(f"M{px(x):.1f} {py(y):.1f}" if i == 0 else
                        f"H{px(x):.1f}V{py(y):.1f}" for i, (x, y) in enumerate(pts))
        else:
            d = " ".join(f"{'M' if i == 0 else 'L'}{px(x):.1f} {py(y):.1f}"
                         for i, (x, y) in enumerate(pts))
        colour, dash = _style(k)
        out.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="2"{dash} '
                   f'data-series="{escape(str(name))}"/>')
        if len(pts) == 1:
            out.append(f'<circle cx="{px(pts[0][0]):.1f}" cy="{py(pts[0][1]):.1f}" r="3" '
                       f'fill="{colour}"/>')
    yb = base + 22
    if xlabel:
        ls = wrap(xlabel, width - 16, 11)
        out.append(f'<text text-anchor="middle" class="axis">'
                   f'{_tspans(ls, (left + width - right) / 2, yb + 10, 13)}</text>')
        yb += 13 * len(ls) + 2
    if len(names) > 1 or (names and names[0]):  # legend: wrapped entries, flowing in rows
        x, row_h, yb = 8.0, 0.0, yb + 6
        for k, name in enumerate(names):
            ls = wrap(str(name), width - 40, 12)
            w = 22 + max(text_width(s, 12) for s in ls) + 14
            if x > 8 and x + w > width - 4:
                x, yb, row_h = 8.0, yb + row_h, 0.0
            colour, dash = _style(k)
            out.append(f'<line x1="{x:.1f}" y1="{yb + 8:.1f}" x2="{x + 16:.1f}" '
                       f'y2="{yb + 8:.1f}" stroke="{colour}" stroke-width="3"{dash}/>'
                       f'<text class="lab">{_tspans(ls, x + 22, yb + 12)}</text>')
            x += w
            row_h = max(row_h, 14.0 * len(ls) + 4)
        yb += row_h
    svg_notes, h_notes = _notes(notes, yb + 10, width)
    out.append(svg_notes)
    total_h = yb + h_notes + 6
    return _head(width, total_h, title, alt, standalone) + "".join(out) + "</svg>"


def _rings(geom: dict):
    t = geom.get("type")
    if t == "Polygon":
        yield from geom["coordinates"]
    elif t == "MultiPolygon":
        for poly in geom["coordinates"]:
            yield from poly


class Projection:
    """Longitude/latitude to SVG coordinates for a set of features (equirectangular, scaled
    by the cosine of the mean latitude), so several layers drawn apart line up.

    >>> sq = {"type": "Polygon", "coordinates": [[[-99, 19], [-99, 19.1], [-98.9, 19.1],
    ...                                           [-99, 19]]]}
    >>> pr = Projection([sq], width=100)
    >>> pr.height, pr.path(sq)[:16]
    (105, 'M0.0 105.8L0.0 0')
    """

    def __init__(self, geoms, width: int = 640):
        xs = [x for g in geoms for ring in _rings(g) for x, _ in ring]
        ys = [y for g in geoms for ring in _rings(g) for _, y in ring]
        self.width = width
        if not xs:
            self.height = 0
            return
        self.minx, self.maxy = min(xs), max(ys)
        self.k = math.cos(math.radians((min(ys) + max(ys)) / 2))
        w = (max(xs) - self.minx) * self.k or 1.0
        self.s = width / w
        self.height = int(width * (max(ys) - min(ys)) / w)

    def path(self, geom) -> str:
        return "".join(
            "M" + "L".join(f"{(x - self.minx) * self.k * self.s:.1f} "
                           f"{(self.maxy - y) * self.s:.1f}" for x, y in ring) + "Z"
            for ring in _rings(geom))


def locator_svg(paths, *, width: int, height: int, title: str, alt: str) -> str:
    """A locator layer: ``paths`` is a list of (SVG path d, fill colour) drawn over a base
    map of the same :class:`Projection` (a territory within its zone and the city)."""
    out = [_head(width, height, title, alt).replace('class="chart"', 'class="chart locmap"')]
    out += [f'<path d="{d}" fill="{fill}" stroke="#fff" stroke-width="0.6"/>'
            for d, fill in paths]
    out.append("</svg>")
    return "".join(out)


def map_svg(features, *, title: str, alt: str, width: int = 640, ids_to_links=None) -> str:
    """A map of territories: ``features`` is a list of (id, name, GeoJSON geometry text).

    Polygons get ``data-id`` so the page's script colours them by the chosen indicator; each
    carries a ``<title>`` with its name, and a link to its report when given.
    """
    geoms = [(fid, name, json.loads(g) if isinstance(g, str) else g) for fid, name, g in features]
    xs = [x for _, _, g in geoms for ring in _rings(g) for x, _ in ring]
    ys = [y for _, _, g in geoms for ring in _rings(g) for _, y in ring]
    if not xs:
        return ""
    minx, maxx, miny, maxy = min(xs), max(xs), min(ys), max(ys)
    k = math.cos(math.radians((miny + maxy) / 2))
    w = (maxx - minx) * k
    h = maxy - miny
    height = int(width * h / w)
    s = width / w
    out = [_head(width, height, title, alt).replace('class="chart"', 'class="chart map"')]
    if ids_to_links:  # links inside: a group of named links, not one image (WCAG 4.1.2)
        out[0] = out[0].replace('role="img"', 'role="group"', 1)
    for fid, name, g in geoms:
        d = "".join(
            "M" + "L".join(f"{(x - minx) * k * s:.1f} {(maxy - y) * s:.1f}" for x, y in ring) + "Z"
            for ring in _rings(g))
        path = (f'<path d="{d}" data-id="{escape(str(fid))}" fill="#ddd" stroke="#fff" '
                f'stroke-width="0.6"><title>{escape(str(name))}</title></path>')
        if ids_to_links and fid in ids_to_links:
            path = (f'<a href="{escape(ids_to_links[fid])}" aria-label="{escape(str(name))}">'
                    f'{path}</a>')
        out.append(path)
    out.append("</svg>")
    return "".join(out)
