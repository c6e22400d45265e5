"""Paper field forms as HTML, built from the XLSForms and the store.

Assemblies happen in streets and community halls, often without phones or signal. Each sheet
is the paper twin of an XLSForm: its questions, labels and choices come from the form
(``surveys/*.xlsx``); the territory, its proposals and its agreements come from the store.
Every sheet prints the form id and version, the territory id and, row by row, the proposal or
agreement codes, plus each question's field name in small type, so a typed or scanned sheet
maps back to the columns the kit ingests.

Kinds (:data:`KINDS`):

``assembly``
    Record of a block assembly (``territoria_assembly``): 2 pages, the meeting and its
    attendance, then the agreements table.
``ballot``
    A ballot with the territory's proposals (``territoria_votes``): one page per
    :data:`ROWS_PER_PAGE` proposals.
``tally``
    The hand count of an assembly, proposal × agree / disagree / pass (``territoria_tallies``):
    one sheet per voting round, of one page per :data:`ROWS_PER_PAGE` proposals.
``followup``
    Follow-up cards of the territory's open agreements (``territoria_followup``), two per page.

Examples
--------
>>> sorted(KINDS)
['assembly', 'ballot', 'followup', 'tally']
>>> KINDS["tally"].form
'tallies'
>>> esc("<b>&")
'&lt;b&gt;&amp;'
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from territoria import vocabulary
from territoria.exceptions import ConfigError
from territoria.i18n import catalogue, tr
from territoria.instruments.xlsform import Instrument, load_instrument

#: Agreement statuses after which no follow-up card is printed.
CLOSED = ("done", "rejected", "cancelled")
CARDS_PER_PAGE = 2
AGREEMENT_ROWS = 8
#: Proposals on one ballot or tally page (more continue on another page).
ROWS_PER_PAGE = 18


@dataclass(frozen=True)
class Kind:
    """A printable sheet: the XLSForm it mirrors (file stem in ``surveys/``)."""

    name: str
    form: str
    title: dict


KINDS = {
    "assembly": Kind("assembly", "assembly", {"es": "Registro de asamblea de manzana",
                                              "en": "Block assembly record"}),
    "ballot": Kind("ballot", "votes", {"es": "Boleta de votación de propuestas",
                                       "en": "Ballot on proposals"}),
    "tally": Kind("tally", "tallies", {"es": "Hoja de conteo de la asamblea",
                                       "en": "Assembly tally sheet"}),
    "followup": Kind("followup", "followup", {"es": "Tarjeta de seguimiento del acuerdo",
                                              "en": "Agreement follow-up card"}),
}

MESSAGES = catalogue(__name__, vocabulary=vocabulary.texts)

CSS = """
@page { size: letter; margin: 14mm 12mm 16mm 12mm;
  @bottom-left { content: string(sheetid); font-size: 8pt; color: #333; }
  @bottom-right { content: "{page_word} " counter(page) " {of_word} " counter(pages);
                  font-size: 8pt; } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 10pt; color: #000; }
.sheet-id { string-set: sheetid content(); font-family: "DejaVu Sans Mono", monospace; }
h1 { font-size: 14pt; margin: 0 0 2mm 0; }
h2 { font-size: 11pt; margin: 4mm 0 1mm 0; }
.ids { font-family: "DejaVu Sans Mono", monospace; font-size: 9pt; border: 1px solid #000;
       padding: 1.5mm 2mm; margin-bottom: 3mm; }
.q { margin: 1.8mm 0; break-inside: avoid; }
.q .label { font-weight: bold; }
.field { font-family: "DejaVu Sans Mono", monospace; font-size: 7pt; color: #444; }
.line { border-bottom: 1px solid #000; height: 7mm; }
.box { display: inline-block; width: 3.2mm; height: 3.2mm; border: 1px solid #000;
       margin: 0 1.2mm 0 3mm; vertical-align: middle; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #000; padding: 1.2mm 1.5mm; text-align: left; vertical-align: top; }
th { background: #e6e6e6; font-size: 9pt; }
td.code { font-family: "DejaVu Sans Mono", monospace; font-size: 8.5pt; white-space: nowrap; }
td.blank { height: 6mm; min-width: 16mm; }
.grid { columns: 2; column-gap: 6mm; }
.grid .q { margin: 1mm 0; }
.grid .line { height: 6mm; }
table.rows td { padding: 0.8mm 1.5mm; font-size: 9pt; }
.choices span { white-space: nowrap; }
.small { font-size: 8pt; }
.page { break-after: page; }
.page:last-child { break-after: auto; }
.card { border: 2px solid #000; padding: 2mm 3mm; margin-bottom: 4mm; break-inside: avoid; }
.card h2 { margin: 0 0 1mm 0; }
.card .ids { margin-bottom: 1mm; padding: 1mm 2mm; }
.card .q { margin: 1mm 0; }
.card .line { height: 5.5mm; }
.blocks > span { display: inline-block; min-width: 14mm; font-family: "DejaVu Sans Mono",
                 monospace; font-size: 8pt; margin: 0.4mm 0; }
"""


def esc(text) -> str:
    """HTML-escaped text (``None`` is empty)."""
    return html.escape("" if text is None else str(text), quote=True)


@dataclass
class SheetData:
    """What a sheet needs from the workspace."""

    territory: dict
    instrument: Instrument
    proposals: pd.DataFrame
    agreements: pd.DataFrame
    blocks: list
    lang: str


def load_data(ctx, kind: str, territory_id: str, lang: str,
              surveys_dir: Path | None = None) -> SheetData:
    """Read the form and the territory's data for ``kind``.

    Raises
    ------
    ConfigError
        Unknown kind; the territory is missing (a ``DataError`` from the store lookup).
    """
    if kind not in KINDS:
        raise ConfigError(f"unknown sheet '{kind}' (allowed: {', '.join(KINDS)})")
    from territoria.instruments.xlsform import default_surveys_dir

    folder = surveys_dir
    if folder is None:
        ws_forms = ctx.ws.root / "surveys"
        folder = ws_forms if (ws_forms / f"{KINDS[kind].form}.xlsx").is_file() \
            else default_surveys_dir()
    inst = load_instrument(Path(folder) / f"{KINDS[kind].form}.xlsx")
    terr = ctx.require_territory(territory_id)
    props = ctx.table("proposals", territory_id)
    if not props.empty:
        props = (props.sort_values("proposal_code").drop_duplicates("proposal_code", keep="last")
                 [["proposal_code", "axis", "title"]].reset_index(drop=True))
    agr = _open_agreements(ctx, territory_id) if kind == "followup" else pd.DataFrame()
    blocks = []
    if kind == "assembly" and ctx.store.has_table("blocks"):
        blocks = ctx.store.query("SELECT block_id FROM blocks WHERE territory_id = ? "
                                 "ORDER BY block_id", [territory_id])["block_id"].tolist()
    return SheetData(terr, inst, props, agr, blocks, lang)


def _open_agreements(ctx, territory_id: str) -> pd.DataFrame:
    """The territory's agreements whose last follow-up status is not closed."""
    agr = ctx.repeat("assembly", "agreements", territory_id)
    if agr.empty:
        return pd.DataFrame(columns=["agreement_code", "agreement_text", "department",
                                     "due_date", "status"])
    agr = agr.drop_duplicates("agreement_code", keep="last")
    fu = ctx.table("followup", territory_id)
    if not fu.empty:
        last = (fu.sort_values(["update_date", "_submission_time"])
                .drop_duplicates("agreement_code", keep="last")[["agreement_code", "status"]])
        agr = agr.merge(last, on="agreement_code", how="left")
    else:
        agr["status"] = None
    agr = agr[~agr["status"].isin(CLOSED)]
    return agr.sort_values("agreement_code").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# pieces
# ---------------------------------------------------------------------------------------------
def _choices(inst: Instrument, f, lang: str) -> str:
    opts = inst.choices.get(f.list_name, ())
    return "<div class='choices'>" + "".join(
        f"<span><span class='box'></span>{esc(c.label(lang, inst.default_language))} "
        f"<span class='field'>{esc(c.name)}</span></span> " for c in opts) + "</div>"


def _question(inst: Instrument, f, lang: str, value: str | None = None) -> str:
    label = inst.label(f, lang) or f.name
    personal = (f" <span class='small'>({esc(tr(MESSAGES, 'personal', lang))})</span>"
                if f.personal else "")
    head = (f"<div class='q'><span class='label'>{esc(label)}</span>{personal} "
            f"<span class='field'>[{esc(f.name)}]</span>")
    if value is not None:
        return head + f" <b>{esc(value)}</b></div>"
    if f.type in ("select_one", "select_multiple"):
        return head + _choices(inst, f, lang) + "</div>"
    return head + "<div class='line'></div></div>"


def _header(data: SheetData, kind: str, sheet_id: str, extra: str = "",
            level: int = 1) -> str:
    inst, t, lang = data.instrument, data.territory, data.lang
    title = tr({"t": KINDS[kind].title}, "t", lang)
    return (f"<h{level}>{esc(title)}</h{level}><div class='ids'>"
            f"{esc(tr(MESSAGES, 'territory', lang))}: <b>{esc(t['territory_id'])}</b> "
            f"{esc(t['name'])} · {esc(tr(MESSAGES, 'zone', lang))}: {esc(t.get('zone_id'))}"
            f"<br>{esc(tr(MESSAGES, 'form', lang))}: <b>{esc(inst.form_id)}</b> "
            f"v{esc(inst.version)} · <span class='sheet-id'>{esc(sheet_id)}</span>{extra}</div>")


def sheet_id(kind: str, data: SheetData, suffix: str = "") -> str:
    """The id printed at the foot of every page: form, version, territory (and suffix)."""
    parts = [data.instrument.form_id, f"v{data.instrument.version}",
             str(data.territory["territory_id"])]
    return " · ".join(parts + ([suffix] if suffix else []))


def _doc(body: str, lang: str, title: str) -> str:
    css = CSS.replace("{page_word}", tr(MESSAGES, "page", lang)).replace(
        "{of_word}", tr(MESSAGES, "of", lang))
    return (f"<!DOCTYPE html><html lang='{esc(lang)}'><head><meta charset='utf-8'>"
            f"<title>{esc(title)}</title><style>{css}</style></head><body>{body}</body></html>")


# ---------------------------------------------------------------------------------------------
# the four sheets
# ---------------------------------------------------------------------------------------------
def assembly_html(data: SheetData) -> str:
    inst, lang, t = data.instrument, data.lang, data.territory
    sid = sheet_id("assembly", data)
    main = [f for f in inst.fields_of(None) if f.type not in ("start", "end")]
    prefilled = {"territory": f"{t['territory_id']} {t['name']}", "zone": t.get("zone_id"),
                 "kind": None}
    att = [f for f in main if f.name.startswith("att_")]
    page1 = [_header(data, "assembly", sid)]
    short: list[str] = []
    wide: list[str] = []
    for f in main:
        if f in att:
            continue
        if f.name == "block":
            wide.insert(0, _question(inst, f, lang).replace(
                "<div class='line'></div>", _blocks_html(t["territory_id"], data.blocks)))
            continue
        value = prefilled.get(f.name)
        if f.name == "kind":
            value = (inst.choice_label(f.list_name or "", "block_assembly", lang)
                     + " [block_assembly]")
        (wide if f.type == "select_multiple" else short).append(_question(inst, f, lang, value))
    page1.append(f"<div class='grid'>{''.join(short)}</div>{''.join(wide)}")
    page1.append(f"<h2>{esc(tr(MESSAGES, 'attendance', lang))}</h2><table><tr>"
                 + "".join(f"<th>{esc(inst.label(f, lang))}<br><span class='field'>"
                           f"{esc(f.name)}</span></th>" for f in att[:4]) + "</tr><tr>"
                 + "<td class='blank'></td>" * len(att[:4]) + "</tr><tr>"
                 + "".join(f"<th>{esc(inst.label(f, lang))}<br><span class='field'>"
                           f"{esc(f.name)}</span></th>" for f in att[4:]) + "</tr><tr>"
                 + "<td class='blank'></td>" * len(att[4:]) + "</tr></table>")
    rep = inst.fields_of("agreements")
    dept = next((f for f in rep if f.name == "department"), None)
    page2 = [_header(data, "assembly", sid), f"<h2>{esc(tr(MESSAGES, 'agreements', lang))}</h2>",
             "<table><tr>" + "".join(f"<th>{esc(inst.label(f, lang))}<br><span class='field'>"
                                     f"{esc(f.name)}</span></th>" for f in rep) + "</tr>"
             + ("<tr>" + "<td class='blank'></td>" * len(rep) + "</tr>") * AGREEMENT_ROWS
             + "</table>"]
    if dept is not None:
        page2.append(f"<p class='small'><b>{esc(tr(MESSAGES, 'departments', lang))}:</b> "
                     + " · ".join(f"<span class='field'>{esc(c.name)}</span> "
                                  f"{esc(c.label(lang, inst.default_language))}"
                                  for c in inst.choices.get(dept.list_name, ())) + "</p>")
    body = (f"<section class='page'>{''.join(page1)}</section>"
            f"<section class='page'>{''.join(page2)}</section>")
    return _doc(body, lang, sid)


def proposal_pages(data: SheetData) -> list[pd.DataFrame]:
    """The proposals in chunks of :data:`ROWS_PER_PAGE` (one empty chunk when there are none:
    a sheet with blank rows)."""
    p = data.proposals
    if p.empty:
        return [p]
    return [p.iloc[i:i + ROWS_PER_PAGE] for i in range(0, len(p), ROWS_PER_PAGE)]


def _blocks_html(territory_id: str, blocks: list) -> str:
    """Tick boxes for the territory's blocks, printed as the part after the territory id."""
    if not blocks:
        return "<div class='line'></div>"
    prefix = f"{territory_id}-"
    tail = [b[len(prefix):] if str(b).startswith(prefix) else str(b) for b in blocks]
    return (f"<div class='blocks'><span class='field'>{esc(prefix)}…</span> " + "".join(
        f"<span><span class='box'></span>{esc(b)}</span>" for b in tail) + "</div>")


def _proposal_rows(data: SheetData, cells: str, chunk: pd.DataFrame) -> str:
    lang = data.lang
    if chunk.empty:
        return ("<tr><td colspan='9'>" + esc(tr(MESSAGES, "no_proposals", lang)) + "</td></tr>"
                + ("<tr><td class='code blank'></td><td></td>" + cells + "</tr>") * 10)
    out = []
    for _, p in chunk.iterrows():
        out.append(f"<tr><td class='code'>{esc(p['proposal_code'])}</td><td>{esc(p['title'])}"
                   f" <span class='small'>({esc(p['axis'])})</span></td>{cells}</tr>")
    return "".join(out)


def _page_suffix(i: int, n: int) -> str:
    return f" ({i + 1}/{n})" if n > 1 else ""


def ballot_html(data: SheetData) -> str:
    inst, lang = data.instrument, data.lang
    vote = next(f for f in inst.fields_of("votes") if f.name == "vote")
    opts = inst.choices.get(vote.list_name, ())
    questions = []
    for f in inst.fields_of(None):
        if f.type in ("start", "end"):
            continue
        value = (f"{data.territory['territory_id']} {data.territory['name']}"
                 if f.name == "territory" else None)
        questions.append(_question(inst, f, lang, value))
    chunks = proposal_pages(data)
    pages = []
    for i, chunk in enumerate(chunks):
        sid = sheet_id("ballot", data) + _page_suffix(i, len(chunks))
        table = ("<p class='small'>" + esc(tr(MESSAGES, "ballot_note", lang))
                 + "</p><table class='rows'><tr>"
                 f"<th>{esc(tr(MESSAGES, 'proposal', lang))} <span class='field'>proposal_code"
                 f"</span></th><th></th>"
                 + "".join(f"<th>{esc(c.label(lang, inst.default_language))} "
                           f"<span class='field'>{esc(c.name)}</span></th>" for c in opts)
                 + "</tr>"
                 + _proposal_rows(data, "<td><span class='box'></span></td>" * len(opts), chunk)
                 + "</table>")
        pages.append(f"<section class='page'>{_header(data, 'ballot', sid)}<div class='grid'>"
                     f"{''.join(questions)}</div>{table}</section>")
    return _doc("".join(pages), lang, sheet_id("ballot", data))


def tally_rounds(inst: Instrument) -> list[str]:
    """The voting rounds of the tallies form (one sheet each)."""
    f = inst.field("round")
    return [c.name for c in inst.choices.get(f.list_name, ())]


def tally_html(data: SheetData) -> str:
    inst, lang = data.instrument, data.lang
    pages = []
    rep = inst.fields_of("tally")
    counts = [f for f in rep if f.name != "proposal_code"]
    chunks = proposal_pages(data)
    for rnd in tally_rounds(inst):
        rlabel = inst.choice_label(inst.field("round").list_name or "", rnd, lang)
        questions = []
        for f in inst.fields_of(None):
            if f.type in ("start", "end"):
                continue
            value = {"territory": f"{data.territory['territory_id']} {data.territory['name']}",
                     "round": f"{rlabel} [{rnd}]"}.get(f.name)
            questions.append(_question(inst, f, lang, value))
        for i, chunk in enumerate(chunks):
            sid = sheet_id("tally", data, rnd) + _page_suffix(i, len(chunks))
            table = ("<p class='small'>" + esc(tr(MESSAGES, "tally_note", lang))
                     + "</p><table class='rows'><tr>"
                     f"<th>{esc(tr(MESSAGES, 'proposal', lang))} <span class='field'>"
                     "proposal_code</span></th><th></th>"
                     + "".join(f"<th>{esc(inst.label(f, lang))} <span class='field'>"
                               f"{esc(f.name)}</span></th>" for f in counts) + "</tr>"
                     + _proposal_rows(data, "<td class='blank'></td>" * len(counts), chunk)
                     + "</table>")
            pages.append(f"<section class='page'>{_header(data, 'tally', sid)}"
                         f"<div class='grid'>{''.join(questions)}</div>{table}</section>")
    return _doc("".join(pages), lang, sheet_id("tally", data))


def _coded(inst: Instrument, field: str, value, lang: str) -> str:
    """A choice's label with its stored name, e.g. ``Seguridad [security]``."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return "-"
    label = inst.choice_label(inst.field(field).list_name or "", str(value), lang)
    return f"{label} [{value}]" if label and label != str(value) else str(value)


def followup_html(data: SheetData) -> str:
    inst, lang = data.instrument, data.lang
    fields = [f for f in inst.fields_of(None) if f.type not in ("start", "end")
              and f.name not in ("agreement_code", "territory", "department")]
    agr = data.agreements
    rows = [None] if agr.empty else [r for _, r in agr.iterrows()]
    cards = []
    for r in rows:
        suffix = "" if r is None else str(r["agreement_code"])
        sid = sheet_id("followup", data, suffix)
        if r is None:
            what = f"<p>{esc(tr(MESSAGES, 'no_agreements', lang))}</p>" + _question(
                inst, inst.field("agreement_code"), lang)
        else:
            due = r.get("due_date")
            due = "" if due is None or pd.isna(due) else str(pd.Timestamp(due).date())
            text = str(r.get("agreement_text") or "")
            what = (f"<div class='ids'>{esc(tr(MESSAGES, 'agreement', lang))}: "
                    f"<b>{esc(r['agreement_code'])}</b> <span class='field'>[agreement_code]"
                    f"</span><br>{esc(text[:280])}<br>"
                    f"{esc(inst.label('department', lang))}: <b>"
                    f"{esc(_coded(inst, 'department', r.get('department'), lang))}</b> · "
                    f"{esc(tr(MESSAGES, 'due', lang))}: {esc(due)} · "
                    f"{esc(tr(MESSAGES, 'last_status', lang))}: "
                    f"{esc(_coded(inst, 'status', r.get('status'), lang))}</div>")
        body = "".join(_question(inst, f, lang) for f in fields)
        cards.append(f"<div class='card'>{_header(data, 'followup', sid, level=2)}{what}{body}"
                     "</div>")
    pages = ["<section class='page'>" + "".join(cards[i:i + CARDS_PER_PAGE]) + "</section>"
             for i in range(0, len(cards), CARDS_PER_PAGE)]
    return _doc("".join(pages), lang, sheet_id("followup", data))


BUILDERS = {"assembly": assembly_html, "ballot": ballot_html, "tally": tally_html,
            "followup": followup_html}


def expected_pages(kind: str, data: SheetData) -> int:
    """Pages the sheet is laid out to take (each page's content is made to fit one page)."""
    if kind == "tally":
        return len(tally_rounds(data.instrument)) * len(proposal_pages(data))
    if kind == "ballot":
        return len(proposal_pages(data))
    if kind == "followup":
        return max(1, math.ceil(len(data.agreements) / CARDS_PER_PAGE))
    return 2 if kind == "assembly" else 1


def build_html(ctx, kind: str, territory_id: str, lang: str = "es",
               surveys_dir: Path | None = None) -> tuple[str, SheetData]:
    """The sheet's HTML and the data it was built from."""
    data = load_data(ctx, kind, territory_id, lang, surveys_dir)
    return BUILDERS[kind](data), data
