"""Charts for the published site as inline SVG: light, printable, accessible, bilingual.

Matplotlib figures serve the notebooks (trainers); the site draws its charts as SVG text from
the recorded result tables, so a page works opened from disk, text stays selectable and both
languages cost nothing. Every chart has a ``<title>`` and ``<desc>`` (alt text) and a caption.
All text is escaped.

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

import json
import math
from html import escape

PALETTE = ["#1b6ca8", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d6a9f", "#2e4057",
           "#b35c1e"]
SEQ = ["#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c",
       "#08306b"]


def _fmt(v, percent=False, digits=1) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if percent:
        return f"{100 * v:.{digits}f} %"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def _head(width, height, title, alt) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="100%" role="img" aria-label="{escape(title)}" class="chart">'
            f"<title>{escape(title)}</title><desc>{escape(alt)}</desc>")


def bar_ci(labels, values, lows, highs, *, title: str, alt: str, percent: bool = False,
           width: int = 640, xlabel: str = "", highlight=None) -> str:
    """Horizontal bars (in the given order) with interval whiskers; None values are left out
    of the drawing and labelled as suppressed."""
    n = len(labels)
    row = 28
    longest = max((len(str(lab)) for lab in labels), default=10)
    left = int(min(360, max(120, 7.2 * longest + 16)))
    top = 10
    height = top + n * row + 40
    vals = [v for v in list(values) + list(highs) if v is not None and not _isnan(v)]
    vmax = max(vals) if vals else 1.0
    vmax = 1.0 if percent and vmax <= 1 else vmax * 1.08 or 1.0
    scale = max(40.0, width - left - 70) / vmax
    out = [_head(width, height, title, alt)]
    for i, (lab, v, lo, hi) in enumerate(zip(labels, values, lows, highs, strict=True)):
        y = top + i * row
        colour = PALETTE[1] if highlight is not None and i == highlight else PALETTE[0]
        out.append(f'<text x="{left - 8}" y="{y + 18}" text-anchor="end" class="lab">'
                   f"{escape(str(lab))}</text>")
        if v is None or _isnan(v):
            out.append(f'<text x="{left + 4}" y="{y + 18}" class="sup">*</text>')
            continue
        w = max(1.0, v * scale)
        out.append(f'<rect x="{left}" y="{y + 5}" width="{w:.1f}" height="{row - 10}" '
                   f'fill="{colour}"/>')
        if lo is not None and hi is not None and not _isnan(lo) and not _isnan(hi):
            x1, x2 = left + lo * scale, left + hi * scale
            yc = y + row / 2
            out.append(f'<path d="M{x1:.1f} {yc}H{x2:.1f}M{x1:.1f} {yc - 5}V{yc + 5}'
                       f'M{x2:.1f} {yc - 5}V{yc + 5}" stroke="#222" stroke-width="1.5"/>')
        out.append(f'<text x="{left + max(w, (hi or 0) * scale if hi is not None and not _isnan(hi) else 0) + 6:.1f}" '
                   f'y="{y + 18}" class="val">{escape(_fmt(v, percent))}</text>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + n * row}" stroke="#444"/>')
    if xlabel:
        out.append(f'<text x="{left}" y="{height - 10}" class="axis">{escape(xlabel)}</text>')
    out.append("</svg>")
    return "".join(out)


def _isnan(v) -> bool:
    try:
        return v is None or math.isnan(float(v))
    except (TypeError, ValueError):
        return False


def lines(series: dict, *, title: str, alt: str, ylabel: str = "", width: int = 640,
          height: int = 260, x_labels=None) -> str:
    """Lines by group: ``series`` maps a (translated) group label to a list of (x, y) with x
    an index 0..n-1; ``x_labels`` maps some indices to tick labels."""
    left, right, top, bottom = 50, 120, 10, 40
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts if not _isnan(y)]
    if not xs or not ys:
        return _head(width, 40, title, alt) + '<text x="8" y="24">—</text></svg>'
    xmax = max(xs) or 1
    ymax = max(ys) * 1.1 or 1
    sx = (width - left - right) / xmax
    sy = (height - top - bottom) / ymax
    out = [_head(width, height, title, alt)]
    base = height - bottom
    out.append(f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="#444"/>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{base}" stroke="#444"/>')
    for frac in (0.5, 1.0):
        yv = ymax / 1.1 * frac
        y = base - yv * sy
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">'
                   f"{escape(_fmt(yv, digits=0))}</text>")
    for xi, lab in (x_labels or {}).items():
        out.append(f'<text x="{left + xi * sx:.1f}" y="{base + 16}" text-anchor="middle" '
                   f'class="axis">{escape(str(lab))}</text>')
    for k, (name, pts) in enumerate(series.items()):
        c = PALETTE[k % len(PALETTE)]
        d = " ".join(f"{'M' if i == 0 else 'L'}{left + x * sx:.1f} {base - y * sy:.1f}"
                     for i, (x, y) in enumerate(p for p in pts if not _isnan(p[1])))
        out.append(f'<path d="{d}" fill="none" stroke="{c}" stroke-width="2"/>')
        out.append(f'<rect x="{width - right + 10}" y="{top + 18 * k}" width="12" height="12" '
                   f'fill="{c}"/><text x="{width - right + 26}" y="{top + 18 * k + 11}" '
                   f'class="lab">{escape(str(name))}</text>')
    if ylabel:
        out.append(f'<text x="{left}" y="{height - 6}" class="axis">{escape(ylabel)}</text>')
    out.append("</svg>")
    return "".join(out)


def _rings(geom: dict):
    t = geom.get("type")
    if t == "Polygon":
        yield from geom["coordinates"]
    elif t == "MultiPolygon":
        for poly in geom["coordinates"]:
            yield from poly


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
    for fid, name, g in geoms:
        d = "".join(
            "M" + "L".join(f"{(x - minx) * k * s:.1f} {(maxy - y) * s:.1f}" for x, y in ring) + "Z"
            for ring in _rings(g))
        path = (f'<path d="{d}" data-id="{escape(str(fid))}" fill="#ddd" stroke="#fff" '
                f'stroke-width="0.6"><title>{escape(str(name))}</title></path>')
        if ids_to_links and fid in ids_to_links:
            path = f'<a href="{escape(ids_to_links[fid])}">{path}</a>'
        out.append(path)
    out.append("</svg>")
    return "".join(out)
