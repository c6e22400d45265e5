"""The programme's theory of change (``evaluations/theory-of-change.yml``): load, check, draw.

Five levels (inputs, activities, outputs, outcomes, impacts); each box has a bilingual label,
the ids of the indicators that measure it and the boxes it leads to; assumptions sit between
two levels. :func:`validate` checks the structure and that each indicator id is in the
methodology catalogue or is produced by an evaluation method (ids missing from both only give
a warning while the catalogue is being completed). :func:`svg` draws the figure for the site:
boxes in columns, arrows for ``leads_to``, numbered assumption markers between columns, with
``<title>``/``<desc>`` and a text alternative (:func:`text_alternative`).

Examples
--------
>>> toc = load_toc()
>>> [lv["id"] for lv in toc["levels"]][:2]
['inputs', 'activities']
>>> s = svg(toc, "en")
>>> s.startswith("<svg") and "<title" in s and "Less crime" in s
True
"""

from __future__ import annotations

import warnings
from html import escape
from pathlib import Path

import yaml

from territoria.evaluation.plan import MESSAGES as PLAN_MESSAGES
from territoria.exceptions import PlanError
from territoria.i18n import DEFAULT_LANGUAGE, tr
from territoria.i18n import catalogue as _texts

__all__ = ["load_toc", "validate", "svg", "text_alternative", "indicator_status", "toc_path"]

LEVELS = ("inputs", "activities", "outputs", "outcomes", "impacts")
MESSAGES = _texts(__name__)
COLOURS = {"inputs": "#e8eef6", "activities": "#dcebdc", "outputs": "#fdf1d6",
           "outcomes": "#fbe3d6", "impacts": "#f3dcea"}


def toc_path() -> Path:
    """``evaluations/theory-of-change.yml`` of the kit."""
    from territoria.report.catalogue import kit_dir

    return kit_dir("evaluations") / "theory-of-change.yml"


def _fail(where, at: str, value, rule: str, lang: str, **fields):
    """Raise PlanError: ``where``'s key ``at`` has ``value``, which breaks this module's
    ``rule`` (formatted with ``fields``), one line in ``lang``."""
    raise PlanError(_has_value(where, at, value, tr(MESSAGES, rule, lang, **fields), lang))


def _has_value(where, at: str, value, rule: str, lang: str) -> str:
    return tr(PLAN_MESSAGES, "has_value", lang, where=where, at=at, value=repr(value), rule=rule)


def load_toc(path=None, *, lang: str = DEFAULT_LANGUAGE) -> dict:
    """Read and check the theory of change (structure only; see :func:`validate`).

    Raises
    ------
    PlanError
        One line naming the file, the key (box id, level, unknown target...), its value and
        the rule, in ``lang`` (Spanish by default).
    """
    p = Path(path) if path else toc_path()
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise PlanError(tr(MESSAGES, "unreadable", lang, where=p, problem=e)) from None
    if not isinstance(raw, dict):
        raise PlanError(tr(MESSAGES, "not_mapping", lang, where=p, kind=type(raw).__name__))
    for key in ("title", "levels", "boxes", "assumptions"):
        if key not in raw:
            raise PlanError(tr(PLAN_MESSAGES, "required", lang, where=p, at=key))
    levels = [lv.get("id") for lv in raw["levels"]]
    if tuple(levels) != LEVELS:
        _fail(p, "levels", levels, "levels_order", lang, levels=", ".join(LEVELS))
    ids = set()
    for i, b in enumerate(raw["boxes"]):
        for key in ("id", "level", "label", "indicators", "leads_to"):
            if key not in b:
                raise PlanError(tr(PLAN_MESSAGES, "required", lang, where=p,
                                   at=f"boxes[{i}].{key}"))
        if b["id"] in ids:
            _fail(p, f"boxes[{i}].id", b["id"], "duplicate_box", lang)
        if b["level"] not in LEVELS:
            raise PlanError(_has_value(p, f"boxes[{i}].level", b["level"], tr(
                PLAN_MESSAGES, "one_of", lang, allowed=", ".join(LEVELS)), lang))
        if not isinstance(b["label"], dict) or "es" not in b["label"]:
            _fail(p, f"boxes[{i}].label", b["label"], "needs_spanish", lang)
        ids.add(b["id"])
    rank = {lv: k for k, lv in enumerate(LEVELS)}
    level_of = {b["id"]: b["level"] for b in raw["boxes"]}
    for i, b in enumerate(raw["boxes"]):
        for j, t in enumerate(b["leads_to"] or []):
            if t not in ids:
                _fail(p, f"boxes[{i}].leads_to[{j}]", t, "no_box", lang)
            if rank[level_of[t]] < rank[b["level"]]:
                _fail(p, f"boxes[{i}].leads_to[{j}]", t, "backwards", lang)
    for i, a in enumerate(raw["assumptions"]):
        btw = a.get("between") or []
        if len(btw) != 2 or any(x not in LEVELS for x in btw) or rank[btw[1]] != rank[btw[0]] + 1:
            _fail(p, f"assumptions[{i}].between", btw, "between", lang)
    raw["_path"] = str(p)
    return raw


def indicator_status(toc: dict, catalogue: dict | None = None) -> dict[str, str]:
    """Each indicator id of the theory of change -> ``catalogue``, ``evaluation`` (produced by
    an evaluation method) or ``missing``."""
    from territoria.evaluation.plan import METHODS

    if catalogue is None:
        try:
            from territoria.report.catalogue import load_catalogue

            catalogue = load_catalogue()
        except Exception:  # noqa: BLE001 - no catalogue yet
            catalogue = {}
    produced = {i for m in METHODS.values() for i in m.indicators()}
    out = {}
    for b in toc["boxes"]:
        for ind in b["indicators"] or []:
            out[ind] = ("catalogue" if ind in catalogue else
                        "evaluation" if ind in produced else "missing")
    return out


def validate(toc: dict | None = None, catalogue: dict | None = None, *,
             strict: bool = False, lang: str = DEFAULT_LANGUAGE) -> list[str]:
    """Check the indicator ids; return (and warn about) those not found.

    Parameters
    ----------
    toc : dict, optional
        Output of :func:`load_toc` (the kit's by default).
    catalogue : dict, optional
        The methodology catalogue (:func:`territoria.report.catalogue.load_catalogue`).
    strict : bool
        Raise :class:`PlanError` instead of warning.
    lang : str
        Language of the messages (Spanish by default).
    """
    toc = toc or load_toc(lang=lang)
    status = indicator_status(toc, catalogue)
    msgs = []
    for i, b in enumerate(toc["boxes"]):
        for j, ind in enumerate(b["indicators"] or []):
            if status[ind] == "missing":
                msgs.append(_has_value(toc.get("_path") or tr(MESSAGES, "the_toc", lang),
                                       f"boxes[{i}].indicators[{j}]", ind,
                                       tr(MESSAGES, "uncatalogued", lang), lang))
    if msgs and strict:
        raise PlanError(msgs[0])
    for m in msgs:
        warnings.warn(m, UserWarning, stacklevel=2)
    return msgs


def _wrap(text: str, width: int) -> list[str]:
    words, lines, cur = text.split(), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    if cur:
        lines.append(cur)
    return lines


def _label(d: dict, lang: str) -> str:
    return d.get(lang) or d.get("es") or ""


def svg(toc: dict | None = None, lang: str = "es") -> str:
    """The theory of change as an accessible SVG figure in ``lang``.

    Boxes are columns by level, arrows follow ``leads_to``; circled numbers between columns
    refer to the assumptions (listed by :func:`text_alternative`). Text is escaped.
    """
    toc = toc or load_toc()
    col_w, gap, top, line_h, pad = 180, 46, 46, 15, 8
    chars = 24
    boxes = {lv: [b for b in toc["boxes"] if b["level"] == lv] for lv in LEVELS}
    pos: dict[str, tuple[float, float, float, float]] = {}
    heights = []
    for k, lv in enumerate(LEVELS):
        y = top
        x = 10 + k * (col_w + gap)
        for b in boxes[lv]:
            lines = _wrap(_label(b["label"], lang), chars)
            h = pad * 2 + line_h * len(lines)
            pos[b["id"]] = (x, y, col_w, h)
            y += h + 14
        heights.append(y)
    width = 10 + len(LEVELS) * (col_w + gap) - gap + 10
    height = max(heights) + 10
    title = _label(toc["title"], lang)
    desc = text_alternative(toc, lang, plain=True)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="100%" role="img" aria-labelledby="toc-title-{lang} toc-desc-{lang}" '
           f'class="chart toc">',
           f'<title id="toc-title-{lang}">{escape(title)}</title>',
           f'<desc id="toc-desc-{lang}">{escape(desc)}</desc>',
           '<defs><marker id="toc-arrow-' + lang + '" viewBox="0 0 10 10" refX="9" refY="5" '
           'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
           '<path d="M0,0 L10,5 L0,10 z" fill="#5a5a5a"/></marker></defs>']
    for k, lv in enumerate(toc["levels"]):
        x = 10 + k * (col_w + gap)
        out.append(f'<text x="{x + col_w / 2}" y="24" text-anchor="middle" font-weight="bold">'
                   f'{escape(_label(lv["label"], lang))}</text>')
    for b in toc["boxes"]:
        x0, y0, w0, h0 = pos[b["id"]]
        for t in b["leads_to"] or []:
            x1, y1, _, h1 = pos[t]
            sx, sy, ex, ey = x0 + w0, y0 + h0 / 2, x1 - 2, y1 + h1 / 2
            mx = (sx + ex) / 2
            out.append(f'<path d="M{sx:.0f},{sy:.0f} C{mx:.0f},{sy:.0f} {mx:.0f},{ey:.0f} '
                       f'{ex:.0f},{ey:.0f}" fill="none" stroke="#8a8a8a" stroke-width="1" '
                       f'marker-end="url(#toc-arrow-{lang})"/>')
    for b in toc["boxes"]:
        x, y, w, h = pos[b["id"]]
        n_ind = len(b["indicators"] or [])
        out.append(f'<g><rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" '
                   f'fill="{COLOURS[b["level"]]}" stroke="#4a4a4a" stroke-width="1"/>')
        for i, line in enumerate(_wrap(_label(b["label"], lang), chars)):
            out.append(f'<text x="{x + pad}" y="{y + pad + line_h * (i + 1) - 3}">'
                       f'{escape(line)}</text>')
        if n_ind:
            out.append(f'<text x="{x + w - 4}" y="{y + h - 3}" text-anchor="end" class="axis">'
                       f'{n_ind} ind.</text>')
        out.append("</g>")
    for i, a in enumerate(toc["assumptions"], start=1):
        k = LEVELS.index(a["between"][0])
        cx = 10 + k * (col_w + gap) + col_w + gap / 2
        cy = height - 22
        out.append(f'<circle cx="{cx}" cy="{cy}" r="11" fill="#ffffff" stroke="#0b5394" '
                   f'stroke-width="2"/><text x="{cx}" y="{cy + 4}" text-anchor="middle" '
                   f'font-weight="bold">{escape(_label({"es": "S", "en": "A"}, lang))}{i}</text>')
    out.append("</svg>")
    return "".join(out)


def text_alternative(toc: dict | None = None, lang: str = "es", *, plain: bool = False) -> str:
    """The figure in words: each level's boxes with their indicators, and the assumptions.

    ``plain=True`` gives one paragraph (the SVG's ``<desc>``); otherwise HTML lists.
    """
    toc = toc or load_toc()
    names = {lv["id"]: _label(lv["label"], lang) for lv in toc["levels"]}
    if plain:
        parts = [f"{names[lv]}: " + "; ".join(_label(b["label"], lang) for b in toc["boxes"]
                                               if b["level"] == lv) for lv in LEVELS]
        return ". ".join(parts) + "."
    label_by_id = {b["id"]: _label(b["label"], lang) for b in toc["boxes"]}
    html = []
    for lv in LEVELS:
        html.append(f"<h3>{escape(names[lv])}</h3><ul>")
        for b in toc["boxes"]:
            if b["level"] != lv:
                continue
            inds = ", ".join(f"<code>{escape(i)}</code>" for i in b["indicators"] or []) or \
                ("sin indicador todavía" if lang == "es" else "no indicator yet")
            to = ", ".join(escape(label_by_id[t]) for t in b["leads_to"] or [])
            arrow = (f" → {to}" if to else "")
            html.append(f"<li><strong>{escape(_label(b['label'], lang))}</strong>{arrow}"
                        f"<br><span class='note'>{'Indicadores' if lang == 'es' else 'Indicators'}"
                        f": {inds}</span></li>")
        html.append("</ul>")
    head = "Supuestos" if lang == "es" else "Assumptions"
    mark = "S" if lang == "es" else "A"
    html.append(f"<h3>{head}</h3><ul>")
    for i, a in enumerate(toc["assumptions"], start=1):
        html.append(f"<li><strong>{mark}{i}</strong> {escape(names[a['between'][0]])} → "
                    f"{escape(names[a['between'][1]])}: {escape(_label(a['text'], lang))}</li>")
    html.append("</ul>")
    return "".join(html)
