"""Words for numbers: the sentence a resident reads beside each indicator (es/en).

Each catalogue entry may carry a ``sentence`` template (``methodology/indicators/*.yml``);
this module fills it with the value formatted as its unit asks (shares as percentages, crime
effects on the log scale as a percentage change), the 95 % interval with the decimals its
width needs, and the count it rests on; it then adds what the interval means: a degenerate
interval is said to be one, and for an effect (``effect: true``) whether the interval
includes "no effect".

Examples
--------
>>> from territoria.report.catalogue import Indicator
>>> ind = Indicator(id="pct_unsafe_colonia", step="02_diagnostic",
...     names={"es": "Inseguridad", "en": "Feels unsafe"}, definition={"es": "d"},
...     formula="f", source="s", percent=True, unit="share",
...     sentence={"es": "De cada 100 hogares, {of100} dicen sentirse inseguros en su colonia",
...               "en": "Out of 100 households, {of100} say they feel unsafe in their area"})
>>> row = {"value": 0.78, "ci_low": 0.69, "ci_high": 0.88, "n": 93}
>>> describe(ind, row, "es")
'De cada 100 hogares, 78 dicen sentirse inseguros en su colonia (entre 69 y 88; con 93 respuestas).'
>>> value_text(ind, row, "en")
'78%'
>>> describe(ind, {"value": 1.0, "ci_low": 1.0, "ci_high": 1.0, "n": 40}, "en")
'Out of 100 households, 100 say they feel unsafe in their area (all 40 answers agree, so the interval has no width).'
"""

from __future__ import annotations

import math

from territoria.charts import digits_for
from territoria.i18n import catalogue, tr

#: Units whose "no effect" is 1 (a ratio), every other effect's is 0.
RATIO_UNITS = {"ratio"}
#: Units on the log(1 + count) scale: shown as a percentage change, exp(v) - 1.
LOG_UNITS = {"log"}
#: What the count ``n`` of an indicator counts, by unit (else answers).
N_BY_UNIT = {"log": "n_territories", "per_1000": "n_territories", "territories": "n_cases",
             "people": "n_people", "points": "n_people", "ratio": "n_cases",
             "alpha": "n_people", "agreements": "n_cases", "days": "n_cases"}

MESSAGES = catalogue(__name__)


def _t(key: str, lang: str, **kw) -> str:
    # a missing key raises in the tests; a language without the text falls back to Spanish
    return tr(MESSAGES, key, lang, **kw)


def _num(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _plain(v: float, digits: int, lang: str) -> str:
    s = f"{v:,.{digits}f}"
    if float(f"{v:.{digits}f}") == 0:
        s = s.lstrip("-")
    return s.replace(",", " ") if lang == "es" and abs(v) >= 10000 else s


def _pct_change(v: float, digits: int, lang: str) -> str:
    x = 100 * (math.exp(v) - 1)
    shown = _plain(abs(x), digits, lang)
    if float(shown.replace(" ", "").replace(",", "")) == 0:
        return _t("same", lang)
    return _t("fewer" if x < 0 else "more", lang, x=shown)


def parts(ind, row: dict, lang: str) -> dict:
    """The pieces a template may use: value, low, high, n, of100, of100_low, of100_high (and,
    for log units, the same as percentage changes), each formatted for ``lang``."""
    v, lo, hi = (_num(row.get(k)) for k in ("value", "ci_low", "ci_high"))
    n = _num(row.get("n"))
    pct = bool(getattr(ind, "percent", False))
    log = getattr(ind, "unit", "") in LOG_UNITS
    d = digits_for(lo, hi, pct)
    exact = v is not None and (lo is None or hi is None or hi - lo <= 1e-12)
    if exact and abs((100 if pct else 1) * v - round((100 if pct else 1) * v)) < 1e-9:
        d = 0  # a whole number without an interval to size its decimals
    out = {"n": "—" if n is None else f"{int(n):,}", "group": row.get("group", "")}
    for key, x in (("value", v), ("low", lo), ("high", hi)):
        k100 = "of100" if key == "value" else f"of100_{key}"
        if x is None:
            out[key] = out[k100] = "—"
            continue
        if pct:
            p = _plain(100 * x, d, lang)
            out[key] = f"{p} %" if lang == "es" else f"{p}%"
            out[k100] = p
        elif log:
            out[key] = _pct_change(x, max(0, d - 2), lang)
            out[k100] = out[key]
        else:
            out[key] = out[k100] = _plain(x, d, lang)
    return out


def value_text(ind, row: dict, lang: str) -> str:
    """The value as a card shows it: a percentage for shares, a percentage change for log
    effects, else the number with the decimals its interval needs."""
    if ind is None:
        v = _num(row.get("value"))
        return "—" if v is None else _plain(v, 0 if float(v).is_integer() else 2, lang)
    p = parts(ind, row, lang)
    if getattr(ind, "unit", "") in LOG_UNITS:
        v = _num(row.get("value"))
        if v is None:
            return "—"
        x = 100 * (math.exp(v) - 1)
        d = max(0, digits_for(_num(row.get("ci_low")), _num(row.get("ci_high"))) - 2)
        s = _plain(x, d, lang)
        return (f"{s} %" if lang == "es" else f"{s}%") if s.startswith("-") or s == "0" \
            else (f"+{s} %" if lang == "es" else f"+{s}%")
    if getattr(ind, "effect", False) and getattr(ind, "percent", False) and p["of100"] != "—":
        return _t("points", lang, x=p["of100"])  # a change of a share: percentage points
    return p["value"]


def describe(ind, row: dict, lang: str, *, name: str | None = None) -> str:
    """One or two sentences for a resident: the template (or the name and value), the
    interval and the count in words, and for an effect whether the interval includes no
    effect."""
    p = parts(ind, row, lang)
    tmpl = (getattr(ind, "sentence", {}) or {}).get(lang) if ind is not None else None
    label = name or (ind.name(lang) if ind is not None else "")
    main = (tmpl or _t("generic", lang, name="{name}", value="{value}")).format(
        name=label, **p).strip().rstrip(".")
    lo, hi = _num(row.get("ci_low")), _num(row.get("ci_high"))
    noun = N_BY_UNIT.get(getattr(ind, "unit", ""), "n")
    clauses = []
    if lo is not None and hi is not None:
        if hi - lo <= 1e-12:
            clauses.append(_t("degenerate", lang, n=p["n"]) if p["n"] != "—"
                           else _t("degenerate_no_n", lang))
        else:
            bare = tmpl is not None and "{of100}" in tmpl  # "78 de cada 100": "entre 69 y 88"
            clauses.append(_t("interval", lang, low=p["of100_low" if bare else "low"],
                              high=p["of100_high" if bare else "high"]))
            if p["n"] != "—" and "{n}" not in (tmpl or ""):
                clauses.append(_t(noun, lang, n=p["n"]))
    elif p["n"] != "—" and "{n}" not in (tmpl or ""):
        clauses.append(_t(noun, lang, n=p["n"]))
    text = main + (f" ({'; '.join(clauses)})" if clauses else "") + "."
    if getattr(ind, "effect", False) and lo is not None and hi is not None \
            and hi > lo:
        null = 1.0 if getattr(ind, "unit", "") in RATIO_UNITS else 0.0
        which = "null_one" if null == 1.0 else "null_zero"
        key = "includes_null" if lo <= null <= hi else "excludes_null"
        text += " " + _t(key, lang, null=_t(which, lang))
    return text


def day(value, lang: str) -> str:
    """A date as residents write it: ``31 de diciembre de 2024``, ``31 December 2024``; the
    text as given when it is not a date.

    >>> day("2024-12-31", "es"), day("2024-12-31", "en")
    ('31 de diciembre de 2024', '31 December 2024')
    """
    from babel.dates import format_date

    try:
        when = _as_date(value)
    except (TypeError, ValueError):
        return str(value)
    return format_date(when, format="long", locale="es_MX" if lang == "es" else "en_GB")


def _as_date(value):
    """``value`` as a :class:`datetime.date` (ISO text, date or timestamp)."""
    import datetime as dt

    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip()[:10])
