"""``territoria publish``: the static site of a workspace, built from the store.

Pages: an index to find a territory (search, filters by zone, kind and cohort; a map coloured
by a chosen indicator), one report page per territory (plain language, headline numbers with
intervals, tables and charts, es/en switch, provenance footer), the city page, the methodology
pages and the indicator catalogue, the executed notebooks as a technical annex.

Guarantees:

- only aggregated results reach the site (the ``indicators`` and ``results`` tables written
  by the step notebooks, and the territory catalogue); raw survey tables are never read here;
- indicators and table rows counting fewer than ``city.yml: min_cell_size`` people are
  suppressed again at publication, whatever the notebook did;
- every text is HTML-escaped (Jinja2 autoescape; JSON inside ``<script>`` has ``<`` escaped);
  file names are derived from ids with anything but ``[A-Za-z0-9_-]`` replaced;
- publishing is atomic: the new site is built beside the old one and swapped in at the end; a
  failure leaves the previous site intact.

Examples
--------
>>> safe_name('07-001')
'07-001'
>>> safe_name('<script>alert("x")</script>')[:20]
'_script_alert__x____'
>>> json_for_script({"a": "</script>"})
'{"a": "\\\\u003c/script>"}'
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import shutil
from importlib import resources
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from territoria import __version__, charts, vocabulary
from territoria.config import Workspace
from territoria.exceptions import PipelineError
from territoria.i18n import catalogue, tr
from territoria.progress import progress_bar
from territoria.report import annex_lang, coverage, names, words
from territoria.report.catalogue import kit_dir, load_catalogue
from territoria.report.pages import joined_builders, safe_name
from territoria.report.record import at_cut_off
from territoria.steps.common import resolve_as_of
from territoria.steps.registry import titles as step_titles
from territoria.store import Store

#: Territory kind -> (es, en) labels, from the vocabulary of shared codes.
KIND_LABELS = {k: (v["es"], v["en"]) for k, v in vocabulary.CATALOGUE["territory_kind"].items()}
STEP_TITLES = step_titles()  # step id -> (es, en), from the one step registry
MAX_TABLE_ROWS = 60
#: The "at a glance" cards of a territory page, in order (those recorded are shown).
HEADLINE = ("block_coverage", "top_problem_share", "pct_unsafe_colonia", "agenda_share_divisive",
            "followup_fulfilment_rate", "followup_overdue", "impact_agree")


def json_for_script(obj) -> str:
    """JSON safe to embed inside ``<script>`` (no ``</script>`` or ``<!--`` can appear)."""
    return json.dumps(obj, ensure_ascii=False, default=str).replace("<", "\\u003c")


def _isnum(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and not (
        isinstance(v, float) and math.isnan(v))


def fmt_number(v, *, percent=False, lang="es", digits=1) -> str:
    """Format a value for residents (percent values are shares in [0, 1])."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if percent:
        return f"{100 * v:.{digits}f} %" if lang == "es" else f"{100 * v:.{digits}f}%"
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer()):
        return f"{int(round(v)):,}"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.{2 if abs(v) < 10 else 1}f}"


class SiteBuilder:
    """Builds the site of one workspace into a folder."""

    def __init__(self, ws: Workspace, store: Store, *, workers: int = 1,
                 progress: bool = False):
        self.ws = ws
        self.store = store
        self.workers = workers  # processes rendering territory and annex pages
        self.progress = progress  # a bar with ETA on stderr (when it is a terminal)
        self.cfg = ws.config()
        self.min_cell = self.cfg.min_cell_size
        self.catalogue = load_catalogue()
        tdir = resources.files("territoria").joinpath("report", "templates")
        self.env = Environment(loader=FileSystemLoader(str(tdir)),
                               autoescape=select_autoescape(["html"]), trim_blocks=True,
                               lstrip_blocks=True)
        self.lang = self.cfg.default_language
        self.territories = self._territories()
        raw = (store.table("indicators") if store.has_table("indicators")
               else pd.DataFrame(columns=["territory_id", "step", "name"]))
        # step 04's figures are dated (grp = its cut-off): a territory's page shows its own,
        # a comparison of territories (the index map) takes them at one date for all
        self.as_of = resolve_as_of(SimpleNamespace(config=self.cfg))
        self.indicators = at_cut_off(raw, self.as_of, per_territory=True)
        self.city_indicators = at_cut_off(raw, self.as_of)
        self.results = (store.table("results") if store.has_table("results")
                        else pd.DataFrame(columns=["territory_id", "step", "key", "payload"]))
        self.inputs = self._inputs()
        self.run_date = dt.date.today().isoformat()
        if store.has_table("runs") and store.count("runs"):
            last = store.query("SELECT max(finished_at) AS m FROM runs")["m"].iloc[0]
            if pd.notna(last):
                self.run_date = pd.Timestamp(last).date().isoformat()
        from territoria.steps import sections

        self.sections = {s.step: s for s in sections(self.cfg)}
        self.statuses = coverage.step_statuses(store)  # (territory, step) -> what ran, missing
        self.page_errors: list[tuple[str, str]] = []  # (page, error) of pages not written
        self._index()

    # -- data ----------------------------------------------------------------------------
    def _territories(self) -> pd.DataFrame:
        other = {tab: f"{tab[0]}.names" if "names" in self.store.columns(tab) else "NULL"
                 for tab in ("territories", "zones")}  # stores made before: no names column
        t = self.store.query(
            "SELECT t.territory_id, t.name, t.kind, t.zone_id, z.name AS zone_name, "
            "t.population, t.priority, t.cohort, t.joined_on, t.geometry, "
            f"{other['territories']} AS names, {other['zones']} AS zone_names "
            "FROM territories t LEFT JOIN zones z USING (zone_id) ORDER BY t.name")
        t["file"] = t["territory_id"].map(lambda x: f"territories/{safe_name(x)}.html")
        t["name_i18n"] = [names.territory(n, j) for n, j in zip(t["name"], t["names"], strict=True)]
        t["zone_i18n"] = [names.zone(self.cfg, z, n, j) for z, n, j in
                          zip(t["zone_id"], t["zone_name"], t["zone_names"], strict=True)]
        return t

    def _inputs(self) -> list[dict]:
        if not self.store.has_table("ingest_log"):
            return []
        log = self.store.query("SELECT file, sha256, kind, rows_read, rows_accepted, "
                               "rows_quarantined, ingested_at FROM ingest_log "
                               "WHERE status = 'ok' ORDER BY ingested_at")
        return [{"file": Path(str(r.file)).name, "sha": str(r.sha256)[:12], "full": r.sha256,
                 "kind": r.kind, "read": r.rows_read, "accepted": r.rows_accepted,
                 "quarantined": r.rows_quarantined} for r in log.itertuples()]

    def _ctx(self, root: str, title: str) -> dict:
        return {"lang": self.lang, "root": root, "page_title": title, "version": __version__,
                "city": names.city(self.cfg), "run_date": self.run_date, "inputs": self.inputs,
                "min_cell": self.min_cell, "illustrative": self.cfg.illustrative_zones,
                "has_evaluations": self._has_evaluations(),
                "level_zone": names.level(self.cfg, "zone")}

    def _has_evaluations(self) -> bool:
        if not hasattr(self, "_has_eval"):  # asked by every page: once, before any fork
            self._has_eval = (self.store.has_table("evaluation_results")
                              and self.store.count("evaluation_results") > 0)
        return self._has_eval

    def _index(self) -> None:
        """Look-ups by (territory, step, key) and territory, built once."""
        self._payloads, self._metas = {}, {}
        for r in self.results.itertuples():
            tid = r.territory_id if isinstance(r.territory_id, str) else None
            self._payloads[(tid, r.step, r.key)] = r.payload
            self._metas[(tid, r.step, r.key)] = getattr(r, "meta", None)
        self._ind_by_terr = {}
        self._cards_index = {}
        ind = self.indicators.copy()
        ind["_t"] = ind["territory_id"].where(ind["territory_id"].notna(), None)
        for tid, sub in ind.groupby(ind["_t"].fillna("\x00city"), sort=False):
            self._ind_by_terr[None if tid == "\x00city" else tid] = sub.drop(columns="_t")

    def result_table(self, step: str, territory_id, key: str) -> pd.DataFrame:
        payload = self._payloads.get((territory_id, step, key))
        if payload is None:
            return pd.DataFrame()
        d = json.loads(payload)  # orient="split"; ~20x faster than pd.read_json
        return pd.DataFrame(d.get("data", []), columns=d.get("columns"))

    def result_meta(self, step: str, territory_id, key: str) -> dict:
        """The meta recorded with a result table (e.g. ``as_of``, the cut-off of its figures)."""
        meta = self._metas.get((territory_id, step, key))
        try:
            out = json.loads(meta) if isinstance(meta, str) and meta else {}
        except json.JSONDecodeError:
            return {}
        return out if isinstance(out, dict) else {}

    def indicator_rows(self, territory_id, step=None) -> pd.DataFrame:
        rows = self._ind_by_terr.get(territory_id)
        if rows is None:
            return self.indicators.iloc[0:0]
        return rows[rows["step"] == step] if step else rows

    # -- rendering pieces -------------------------------------------------------------------
    def card(self, row) -> dict:
        cat = self.catalogue.get(row["name"])
        name = ({"es": cat.name("es"), "en": cat.name("en")} if cat
                else {"es": row["name"], "en": row["name"]})
        grp = row.get("grp")
        group = {"es": "", "en": ""}
        if isinstance(grp, str) and grp:
            axis = {a.id: a.label for a in self.cfg.axes}.get(grp)
            if axis is not None:  # other groups are internal keys, never shown as names
                group = {"es": axis.get("es"), "en": axis.get("en") or axis.get("es")}
                name = {k: f"{name[k]}: {group[k]}" for k in name}
        n = row.get("n")
        n = None if n is None or (isinstance(n, float) and math.isnan(n)) or pd.isna(n) else int(n)
        suppressed = bool(row.get("suppressed")) or (n is not None and n < self.min_cell)
        value = {lang: words.value_text(cat, row, lang) for lang in ("es", "en")}
        said = {lang: words.describe(cat, {**row, "n": n, "group": group[lang]}, lang,
                                     name=name[lang]) for lang in ("es", "en")}
        if isinstance(row.get("as_of"), str) and row["as_of"]:  # a dated figure (step 04)
            said = {lang: f"{said[lang]} {self.as_of_note(row['as_of'])[lang]}"
                    for lang in ("es", "en")}
        help_ = ({"es": cat.explain("es"), "en": cat.explain("en")} if cat else None)
        return {"id": row["name"], "key": f"{row['name']}|{grp if isinstance(grp, str) else ''}",
                "percent": bool(cat.percent) if cat else False,
                "name": name, "value": value, "sentence": said, "n": n,
                "suppressed": suppressed, "min_cell": self.min_cell, "help": help_}

    def headline_cards(self, territory_id, ids) -> tuple[list[dict], list[dict]]:
        """The "at a glance" cards whose indicator passes its own quality rule (catalogue
        ``quality``: least n, widest interval, least reliability of its scale), and a note
        (es/en) for each one moved out of the headline."""
        keep, notes = [], []
        for c in self.cards_for(territory_id, ids):
            why = self._quality_failure(territory_id, c)
            if why is None:
                keep.append(c)
            else:
                notes.append({lang: f"{c['name'][lang]}: {why[lang]}" for lang in ("es", "en")})
        return keep, notes

    def _quality_failure(self, territory_id, card) -> dict | None:
        cat = self.catalogue.get(card["id"])
        q = cat.quality if cat else {}
        if not q or card["suppressed"]:
            return None
        row = next((r for r in self._cards_index.get(territory_id, {}).get(card["id"], [])), {})
        n = card["n"]
        if "min_n" in q and (n is None or n < q["min_n"]):
            return {"es": f"no va en el resumen porque se basa en {n or 0} respuestas (se "
                          f"piden al menos {q['min_n']}).",
                    "en": f"not in the summary: it rests on {n or 0} answers (at least "
                          f"{q['min_n']} are needed)."}
        lo, hi = row.get("ci_low"), row.get("ci_high")
        if "max_ci_width" in q and _isnum(lo) and _isnum(hi) and hi - lo > q["max_ci_width"]:
            return {"es": "no va en el resumen porque su intervalo es demasiado ancho para "
                          "sacar conclusiones.",
                    "en": "not in the summary: its interval is too wide to draw conclusions."}
        if "reliability" in q:
            rel = self._cards_index.get(territory_id, {}).get(q["reliability"], [])
            alpha = rel[0].get("value") if rel else None
            if not _isnum(alpha) or alpha < q.get("min_reliability", 0.7):
                shown = "sin medir" if not _isnum(alpha) else f"{alpha:.2f}"
                shown_en = "not measured" if not _isnum(alpha) else f"{alpha:.2f}"
                return {"es": "no va en el resumen porque las preguntas que lo forman no miden "
                              f"lo mismo de forma confiable aquí (confiabilidad α = {shown}; se "
                              f"pide al menos {q.get('min_reliability', 0.7)}).",
                        "en": "not in the summary: the questions behind it do not measure the "
                              f"same thing reliably here (reliability α = {shown_en}; at least "
                              f"{q.get('min_reliability', 0.7)} is needed)."}
        return None

    def cards_for(self, territory_id, ids) -> list[dict]:
        by_name = self._cards_index.get(territory_id)
        if by_name is None:
            rows = self.indicator_rows(territory_id)
            axes = {a.id for a in self.cfg.axes}
            if not rows.empty:  # subgroups go in the tables, axis-level rows stay as cards
                rows = rows[rows["grp"].isna() | rows["grp"].isin(axes)]
            by_name = {}
            for r in rows.to_dict("records"):
                by_name.setdefault(r["name"], []).append(r)
            self._cards_index[territory_id] = by_name
        return [self.card(r) for ind_id in ids for r in by_name.get(ind_id, [])]

    def _suppress_rows(self, df: pd.DataFrame) -> pd.DataFrame:
        for col in ("n", "n_respondents", "count", "n_people"):
            if col in df.columns:
                nums = pd.to_numeric(df[col], errors="coerce")
                small = nums.notna() & (nums < self.min_cell)
                if small.any():
                    df = df.copy()
                    for c in df.columns:
                        if (c != col and pd.api.types.is_numeric_dtype(df[c])
                                and not pd.api.types.is_bool_dtype(df[c])):  # NaN never in bool
                            df.loc[small, c] = float("nan")
                    if "suppressed" in df.columns:
                        df.loc[small, "suppressed"] = True
                break
        return df

    def as_of_note(self, as_of) -> dict:
        """"Cifras al corte del 31 de diciembre de 2024." (es/en): the date a dated figure is at."""
        return {lg: tr(NOTES, "as_of", lg, day=words.day(as_of, lg)) for lg in ("es", "en")}

    def render_view(self, view, df: pd.DataFrame, as_of=None) -> dict | None:
        """A view of a result table; ``as_of`` (the table's recorded cut-off date) is stated
        in its caption."""
        if df is None or df.empty:
            return None
        df = self._suppress_rows(df)
        title, caption = view.title, view.caption or None
        if as_of:
            note = self.as_of_note(as_of)
            caption = {lg: " ".join(x for x in ((caption or {}).get(lg, ""), note[lg]) if x)
                       for lg in ("es", "en")}
        if view.kind == "bar":
            svgs = {}
            sup = False
            for lang in ("es", "en"):
                lab = view.label.format(lang=lang)
                labels = df[lab] if lab in df else df.iloc[:, 0]
                vals = [None if pd.isna(v) else float(v) for v in df[view.value]]
                if "suppressed" in df.columns:
                    vals = [None if s else v for v, s in zip(vals, df["suppressed"].fillna(False), strict=True)]
                sup = sup or any(v is None for v in vals)
                lows = [None if view.low not in df or pd.isna(v) else float(v) for v in df.get(view.low, [None] * len(df))]
                highs = [None if view.high not in df or pd.isna(v) else float(v) for v in df.get(view.high, [None] * len(df))]
                alt = self._alt_bar(list(labels), vals, view, lang)
                svgs[lang] = charts.responsive(charts.bar_ci, list(labels.astype(str)), vals,
                                               lows, highs, alt=alt, percent=view.percent,
                                               title=title.get(lang, title.get("es")))
            return {"kind": "bar", "title": title, "caption": caption, "svg_es": svgs["es"],
                    "svg_en": svgs["en"], "suppressed": sup,
                    "suppressed_note": self.suppressed_note(view)}
        if view.kind == "lines":
            svgs = {}
            for lang in ("es", "en"):
                g = view.group.format(lang=lang)
                g = g if g in df else None
                series, bands, ticks, xs, note = _line_series(df, view, g)
                alt = {"es": f"Líneas por grupo: {', '.join(series)}; {len(xs)} periodos.",
                       "en": f"Lines by group: {', '.join(series)}; {len(xs)} periods."}[lang]
                if note:
                    alt += {"es": f" Se muestran {len(series)} de {note}.",
                            "en": f" Showing {len(series)} of {note}."}[lang]
                svgs[lang] = charts.responsive(
                    charts.lines, series, title=title.get(lang, title.get("es")), alt=alt,
                    x_labels=ticks, bands=bands,
                    vline=-0.5 if view.x in ("e", "event_time") else None)
            return {"kind": "lines", "title": title, "caption": caption, "svg_es": svgs["es"],
                    "svg_en": svgs["en"]}
        # table
        headers, cols = [], []
        for col, spec in (view.columns or {c: {"es": c, "en": c} for c in df.columns}).items():
            if "{lang}" in col:
                if col.format(lang="es") not in df:
                    continue
            elif col not in df:
                continue
            headers.append({"label": {"es": spec.get("es", col), "en": spec.get("en", col)},
                            "cls": "num" if spec.get("percent") or (col in df and pd.api.types.is_numeric_dtype(df[col])) else ""})
            cols.append((col, bool(spec.get("percent") or view.percent and col in (view.value, view.low, view.high))
                          or _titled_percent(spec, df.get(col))))
        total = len(df)
        rows = []
        for _, r in df.head(MAX_TABLE_ROWS).iterrows():
            cells = []
            for col, pct in cols:
                if "{lang}" in col:
                    text = {"es": _cell(r[col.format(lang="es")]), "en": _cell(r[col.format(lang="en")])}
                    cells.append({"text": text, "cls": ""})
                    continue
                v = r[col]
                if col == "zone_id" and isinstance(v, str):  # a zone by its name, not its code
                    cells.append({"text": self._zone_names().get(v, v), "cls": ""})
                    continue
                if col == "zone_name" and isinstance(v, str):  # its name in each language
                    if not hasattr(self, "_zone_by_name"):
                        self._zone_by_name = names.zone_translations(self.store, self.cfg)
                    cells.append({"text": self._zone_by_name.get(v, v), "cls": ""})
                    continue
                if col.startswith("cohort") and not _isnum(v):  # codes c1, none: their names
                    cells.append({"text": self._cohort_label(None if v in ("none", "")
                                                             else v), "cls": ""})
                    continue
                if _isnum(v):
                    cells.append({"text": fmt_number(float(v), percent=pct), "cls": "num"})
                else:
                    cells.append({"text": _cell(v), "cls": ""})
            rows.append(cells)
        return {"kind": "table", "title": title, "caption": caption, "headers": headers,
                "rows": rows, "truncated": total > MAX_TABLE_ROWS, "total": total}

    def suppressed_note(self, view) -> dict:
        """Why the chart's ``*`` bars are not published (es/en): the view's own reason (e.g.
        too few territories in a zone), else too few people; ``{min_cell}`` is the city's."""
        texts = view.suppressed_note or NOTES["suppressed_people"]
        return {lg: texts.get(lg, texts["es"]).replace("{min_cell}", str(self.min_cell))
                for lg in ("es", "en")}

    def _alt_bar(self, labels, vals, view, lang) -> str:
        pairs = [(str(lab), v) for lab, v in zip(labels, vals, strict=True) if v is not None]
        if not pairs:
            return {"es": "Sin datos publicables.", "en": "No publishable data."}[lang]
        top = max(pairs, key=lambda p: p[1])
        v = fmt_number(top[1], percent=view.percent, lang=lang)
        return {"es": f"Barras horizontales con intervalos: el valor más alto es {top[0]} ({v}).",
                "en": f"Horizontal bars with intervals: the highest value is {top[0]} ({v})."}[lang]

    def section_blocks(self, territory_id, steps) -> list[dict]:
        out = []
        for step in steps:
            sec = self.sections.get(step)
            if sec is None:
                continue
            cards = self.cards_for(territory_id, sec.indicators)
            views = [v for v in (self.render_view(
                view, self.result_table(step, territory_id, view.key),
                as_of=self.result_meta(step, territory_id, view.key).get("as_of"))
                for view in sec.views) if v]
            st = self.statuses.get((territory_id, step))
            if st and st["status"] in ("no-data", "partial"):  # say what is missing, and why
                left = {v.key: v.title for v in sec.views}
                keys = [k for k in st["missing_sections"] if k in left] if views else [None]
                views += [self.no_data_view(left.get(k, sec.title), st) for k in keys]
            if not cards and not views:
                continue
            out.append({"step": step, "title": sec.title, "intro": sec.intro, "cards": cards,
                        "views": views})
        return out

    def no_data_view(self, title: dict, status: dict) -> dict:
        """A view saying "Aún no hay datos" / "No data yet" and why (what fills it)."""
        html = {lg: (f'<span class="nodata"><strong>{_esc(coverage.STATUS_LABELS["no-data"][lg])}'
                     f"</strong>: {_esc(status.get(f'reason_{lg}') or ', '.join(status['missing']))}"
                     "</span>") for lg in ("es", "en")}
        return {"kind": "nodata", "title": title, "caption": None, "svg_es": html["es"],
                "svg_en": html["en"], "suppressed": False}

    def progress_section(self, territory_id) -> dict:
        """What exists and what comes next in the method for one territory: one row per
        territory step, its status, and what is missing (from the recorded runs)."""
        from territoria.steps.registry import STEPS

        rows = []
        for s in STEPS:
            if s.is_city:
                continue
            st = self.statuses.get((territory_id, s.id)) or {"status": "not-run", "missing": [],
                                                              "reason_es": "", "reason_en": ""}
            lab = coverage.STATUS_LABELS[st["status"]]
            why = {lg: st.get(f"reason_{lg}") or ", ".join(st["missing"]) or "—"
                   for lg in ("es", "en")}
            rows.append([{"text": {"es": s.title["es"], "en": s.title["en"]}, "cls": ""},
                         {"text": dict(lab), "cls": ""}, {"text": why, "cls": ""}])
        head = [{"label": {"es": "Paso del método", "en": "Step of the method"}, "cls": ""},
                {"label": vocabulary.texts("heading", "status"), "cls": ""},
                {"label": {"es": "Qué falta y cómo se llena", "en": "What is missing, what fills it"},
                 "cls": ""}]
        view = {"kind": "table", "title": {"es": "Lo que hay y lo que sigue",
                                           "en": "What exists and what comes next"},
                "caption": {"es": "«Aún no hay datos» no es un error: el paso se calcula cuando "
                                  "llegan los formularios o archivos indicados.",
                            "en": "“No data yet” is not an error: the step is computed when the "
                                  "forms or files named arrive."},
                "headers": head, "rows": rows, "truncated": False, "total": len(rows)}
        return {"step": "progress", "title": view["title"],
                "intro": {"es": "Qué pasos del método ya tienen datos en esta colonia y cuáles "
                                "esperan todavía sus formularios o archivos.",
                          "en": "Which steps of the method already have data for this "
                                "territory and which still wait for their forms or files."},
                "cards": [], "views": [view]}

    def build_coverage(self, out: Path) -> None:
        """``coverage.html`` and ``coverage.csv``: per territory and step, what is there."""
        from territoria.steps.registry import STEPS

        frame = coverage.coverage_frame(
            self.store, list(self.territories.sort_values("territory_id")["territory_id"]),
            [s.id for s in STEPS if not s.is_city], city_steps=[s.id for s in STEPS if s.is_city])
        coverage.write_csv(frame, out / "coverage.csv")
        names = dict(zip(self.territories["territory_id"], self.territories["name"], strict=False))
        self.write(out / "coverage.html", "page.html",
                   body=coverage.page_body(frame, names, STEP_TITLES),
                   **self._ctx("", {"es": "Cobertura de datos — Territoria",
                                    "en": "Data coverage — Territoria"}))

    # -- pages ----------------------------------------------------------------------------
    def write(self, path: Path, template: str, **ctx) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        html = self.env.get_template(template).render(**ctx)
        path.write_text(html, encoding="utf-8")

    def build(self, out: Path) -> None:
        assets = out / "assets"
        assets.mkdir(parents=True, exist_ok=True)
        for name in ("site.css", "site.js"):
            data = resources.files("territoria").joinpath("report", "static", name).read_bytes()
            (assets / name).write_bytes(data)
        self.build_locator(out)
        self.build_territories(out)
        self.build_index(out)
        self.build_city(out)
        self.build_methodology(out)
        self.build_provenance(out)
        self.build_coverage(out)
        self.build_annex(out)
        self.build_evaluations(out)

    def build_evaluations(self, out: Path) -> None:
        """The pages other packages join (:data:`territoria.report.pages.JOINED`): the
        evaluation reports, if any."""
        for build in joined_builders():
            build(self, out)

    def _kind_label(self, kind):
        es, en = KIND_LABELS.get(kind or "other", KIND_LABELS["other"])
        return {"es": es, "en": en}

    def _zone_names(self) -> dict:
        if not hasattr(self, "_zone_name_map"):
            t = self.territories.dropna(subset=["zone_id"])
            self._zone_name_map = dict(zip(t["zone_id"], t["zone_i18n"], strict=True))
        return self._zone_name_map

    def _cohort_label(self, cohort):
        if not cohort or (isinstance(cohort, float) and math.isnan(cohort)):
            return {"es": "Sin programa", "en": "Not in the programme"}
        for c in self.cfg.cohorts:
            if c.id == cohort:
                lab = c.label
                return {"es": lab.es if lab else c.id, "en": (lab.en or lab.es) if lab else c.id}
        return {"es": str(cohort), "en": str(cohort)}

    def _territory_ctx(self, r) -> dict:
        return {"territory_id": r.territory_id, "name": r.name_i18n, "zone_name": r.zone_i18n,
                "zone_id": r.zone_id, "kind": r.kind, "kind_label": self._kind_label(r.kind),
                "cohort": None if pd.isna(r.cohort) else r.cohort,
                "cohort_label": self._cohort_label(None if pd.isna(r.cohort) else r.cohort),
                "joined_on": "" if pd.isna(r.joined_on) else pd.Timestamp(r.joined_on).date().isoformat(),
                "population": fmt_number(float(r.population)) if pd.notna(r.population) else "—",
                "priority": bool(r.priority) if pd.notna(r.priority) else False}

    def build_territories(self, out: Path) -> None:
        steps = [s for s in self.sections if self.sections[s] and s not in ("00_selection", "07_synthesis")]
        headline_ids = list(HEADLINE)
        annex_map = self._annex_map()
        rows = list(self.territories.itertuples())
        self.render_pages([r.file for r in rows],
                          lambda i: self._territory_page(out, rows[i], steps, headline_ids,
                                                         annex_map),
                          label={"es": "Páginas de colonias", "en": "Territory pages"})

    def render_pages(self, pages: list[str], write_page, label: dict | None = None) -> None:
        """Call ``write_page(i)`` for each ``i`` of ``pages`` (the page names, for errors),
        in ``self.workers`` processes forked from this one (Linux; serially otherwise).
        ``label`` ({"es": ..., "en": ...}) names the progress bar.

        A page that cannot be built is reported in ``page_errors`` (in page order, as a serial
        build would) and the others are written. Forked workers inherit the loaded builder,
        write their pages themselves and only send back errors; they never use the store.
        """
        label = label or {"es": "Páginas", "en": "Pages"}
        bar = progress_bar(len(pages), enabled=self.progress, unit="page",
                           desc=label.get(self.lang, label["es"]))
        try:
            workers = min(self.workers, len(pages) // _MIN_PAGES_PER_WORKER)
            if workers > 1 and _can_fork():
                self._render_forked(pages, write_page, workers, bar)
                return
            for i, page in enumerate(pages):
                err = _write_one(write_page, i)
                if err:
                    self.page_errors.append((page, err))
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()

    def _prime_for_fork(self) -> None:
        """Fill every look-up that pages read from the store lazily: a forked worker must
        never use the parent's DuckDB connection (not fork-safe: its threads stay behind)."""
        self._has_evaluations()
        self._zone_names()
        if not hasattr(self, "_zone_by_name"):
            self._zone_by_name = names.zone_translations(self.store, self.cfg)

    def _render_forked(self, pages: list[str], write_page, workers: int, bar) -> None:
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        size = max(1, min(_MAX_CHUNK, len(pages) // (workers * 8)))
        chunks = [range(i, min(i + size, len(pages))) for i in range(0, len(pages), size)]
        self.env.get_template("territory.html")  # compiled once, before the fork
        self.env.get_template("page.html")
        self._prime_for_fork()
        _FORKED["write_page"] = write_page
        try:
            with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
                for chunk, errors in zip(chunks, pool.map(_write_chunk, chunks), strict=True):
                    self.page_errors.extend((pages[i], err) for i, err in errors)
                    if bar is not None:
                        bar.update(len(chunk))
        finally:
            _FORKED.clear()

    def _territory_page(self, out: Path, r, steps, headline_ids, annex_map) -> None:
        tctx = self._territory_ctx(r)
        secs = self.section_blocks(r.territory_id, steps)
        if tctx["priority"] or any(t == r.territory_id for t, _ in self.statuses):
            secs.insert(0, self.progress_section(r.territory_id))
        headline, headline_notes = self.headline_cards(r.territory_id, headline_ids)
        annex = [{"href": "../evaluations/index.html",
                  "title": {"es": "Evaluaciones del programa (informes)",
                            "en": "Programme evaluations (reports)"}}]
        for step in sorted(annex_map.get(r.territory_id, {})):
            es, en = STEP_TITLES.get(step, (step, step))
            annex.append({"href": "../" + annex_map[r.territory_id][step],
                          "title": {"es": es, "en": en}})
        title = {lang: f"{r.name_i18n[lang]} — Territoria" for lang in names.SITE_LANGUAGES}
        self.write(out / r.file, "territory.html", t=tctx, sections=secs, headline=headline,
                   headline_notes=headline_notes,
                   next_assembly=self.next_assembly(r.territory_id) if tctx["priority"] else None,
                   locator=self.locator(r),
                   annex=annex, **self._ctx("../", title))

    def build_index(self, out: Path) -> None:
        rows = []
        for r in self.territories.itertuples():
            d = self._territory_ctx(r)
            d["href"] = r.file
            d["has_data"] = coverage.has_field_data(self.statuses, r.territory_id)
            rows.append(d)
        zone_names = "names" if "names" in self.store.columns("zones") else "NULL AS names"
        zones = [{"zone_id": z["zone_id"], **names.zone(self.cfg, z["zone_id"], z["name"], z["names"])}
                 for z in self.store.query(f"SELECT zone_id, name, {zone_names} FROM zones "
                                           "ORDER BY zone_id").to_dict("records")]
        kinds = [{"id": k, "es": v[0], "en": v[1]} for k, v in KIND_LABELS.items()
                 if k in set(self.territories["kind"])]
        cohorts = [{"id": c.id, **self._cohort_label(c.id)} for c in self.cfg.cohorts]
        feats = [(r.territory_id, r.name, r.geometry) for r in self.territories.itertuples()
                 if isinstance(r.geometry, str) and r.geometry]
        links = {r.territory_id: r.file for r in self.territories.itertuples()}
        city, alt = names.city(self.cfg), {"es": "Mapa de unidades territoriales",
                                           "en": "Map of territorial units"}
        map_svg = names.svg_labels(charts.map_svg(feats, title=city["es"], alt=alt["es"],
                                                  ids_to_links=links), city, alt)
        self.write(out / "index.html", "index.html", rows=rows, zones=zones, kinds=kinds,
                   cohorts=cohorts, map_svg=map_svg, map_data=json_for_script(self.map_data()),
                   map_indicators=self.map_data()["indicators"],
                   **self._ctx("", {k: f"{v} — Territoria" for k, v in names.city(self.cfg).items()}))

    def map_data(self) -> dict:
        inds = {}
        pop = self.territories.set_index("territory_id")["population"]
        inds["population"] = {"name_es": "Población", "name_en": "Population",
                               "lower_is_better": False,
                               "values": {k: (None if pd.isna(v) else float(v)) for k, v in pop.items()}}
        ind = self.city_indicators  # step 04's figures at one cut-off for every territory
        terr = ind[ind["territory_id"].notna() & ind["grp"].isna()] if "grp" in ind else ind
        for name, sub in terr.groupby("name"):
            cat = self.catalogue.get(name)
            if cat is None or sub["territory_id"].nunique() < 5:
                continue
            vals = {}
            for r in sub.itertuples():
                small = pd.notna(r.n) and r.n < self.min_cell
                vals[r.territory_id] = None if (r.suppressed or small or pd.isna(r.value)) else float(r.value)
            inds[name] = {"name_es": cat.name("es"), "name_en": cat.name("en"),
                          "lower_is_better": cat.better == "lower", "values": vals}
        return {"colours": charts.SEQ[1:], "indicators": inds}

    def build_city(self, out: Path) -> None:
        steps = [s for s in ("00_selection", "06_impact", "07_synthesis", "05_process",
                             "01_network", "02_diagnostic") if s in self.sections]
        secs = self.section_blocks(None, steps)
        cards, notes = self.headline_cards(None, [i.id for i in self.catalogue.values()
                                                  if i.headline])
        tctx = {"name": names.city(self.cfg), "kind_label": names.level(self.cfg, "city"),
                "zone_name": {lang: "{} {}".format(self.store.count("zones"), word if
                                                   self.cfg.illustrative_zones else "").strip()
                              for lang, word in (("es", "(ilustrativas)"),
                                                 ("en", "(illustrative)"))},
                "population": fmt_number(float(self.territories["population"].sum())),
                "cohort": None, "priority": True}
        self.write(out / "city.html", "territory.html", t=tctx, sections=secs, headline=cards,
                   headline_notes=notes, annex=self._city_annex(),
                   **self._ctx("", {k: f"{v} — Territoria" for k, v in names.city(self.cfg).items()}))

    def build_locator(self, out: Path) -> None:
        """The city base map of every territory page's locator (``assets/locator.svg``),
        written once; each page overlays its zone and itself (:meth:`locator`)."""
        geoms = {}
        for r in self.territories.itertuples():
            if isinstance(r.geometry, str) and r.geometry:
                try:
                    geoms[r.territory_id] = json.loads(r.geometry)
                except ValueError:
                    continue
        self._loc_geoms = geoms
        self._loc_proj = charts.Projection(list(geoms.values()), width=320) if geoms else None
        if self._loc_proj is None or not self._loc_proj.height:
            self._loc_proj = None
            return
        pr = self._loc_proj
        base = "".join(f'<path d="{pr.path(g)}" fill="#e6e6e6" stroke="#fff" '
                       'stroke-width="0.4"/>' for g in geoms.values())
        (out / "assets" / "locator.svg").write_text(
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {pr.width} {pr.height}">'
            f"{base}</svg>", encoding="utf-8")
        self._zone_members = self.territories.groupby("zone_id")["territory_id"].apply(list)

    def locator(self, r) -> dict | None:
        """The territory within its zone and the city: an overlay on the base map."""
        pr = getattr(self, "_loc_proj", None)
        if pr is None or r.territory_id not in self._loc_geoms:
            return None
        zone = [t for t in self._zone_members.get(r.zone_id, []) if t != r.territory_id
                and t in self._loc_geoms]
        paths = [(pr.path(self._loc_geoms[t]), "#9ecae1") for t in zone]
        paths.append((pr.path(self._loc_geoms[r.territory_id]), "#08306b"))
        nm, zn, city = r.name_i18n, r.zone_i18n, names.city(self.cfg)
        alt = {"es": f"Mapa: {nm['es']} (azul oscuro) dentro de {zn['es']} (azul claro) y del "
                     f"resto de {city['es']} (gris).",
               "en": f"Map: {nm['en']} (dark blue) within {zn['en']} (light blue) and the rest "
                     f"of {city['en']} (grey)."}
        svg = charts.locator_svg(paths, width=pr.width, height=pr.height, title=alt["es"],
                                 alt=alt["es"])
        return {"svg": names.svg_labels(svg, alt, alt),
                "alt": alt, "width": pr.width, "height": pr.height}

    def next_assembly(self, territory_id) -> dict | None:
        """"Para la próxima asamblea": the top consensus items, the divisive ones going to
        mediation and the overdue agreements with their department and days late, from the
        recorded tables (``03_agenda: agenda, divisive``, ``04_followup: overdue``)."""
        agenda = self._suppress_rows(self.result_table("03_agenda", territory_id, "agenda"))
        divisive = self._suppress_rows(self.result_table("03_agenda", territory_id, "divisive"))
        overdue = self._suppress_rows(self.result_table("04_followup", territory_id, "overdue"))
        if agenda.empty and divisive.empty and overdue.empty:
            return None
        parts = []
        top = []
        if not agenda.empty and "status" in agenda:  # only items that pass the consensus rule
            agenda = agenda[agenda["status"] == "priority"]
        if not agenda.empty and "estimate" in agenda:
            for r in agenda.dropna(subset=["estimate"]).nlargest(3, "estimate").itertuples():
                c = f"{r.estimate:.2f}"
                top.append({lang: _item_name(getattr(r, f"label_{lang}"),
                                             getattr(r, "proposal", None), lang) + ": "
                            + (f"consenso {c} de 1" if lang == "es" else f"consensus {c} of 1")
                            for lang in ("es", "en")})
        parts.append({"title": {"es": "Lo que une a la colonia (mayor consenso)",
                                "en": "What unites the neighbourhood (highest consensus)"},
                      "items": top, "empty": {
                          "es": "Todavía ninguna propuesta tiene consenso suficiente.",
                          "en": "No proposal has enough consensus yet."}})
        div = []
        if not divisive.empty and "proposal" in divisive:
            for _, sub in divisive.groupby("proposal", sort=False):
                shares = {lang: ", ".join(
                    f"{g}: {100 * e:.0f} %" if lang == "es" else f"{g}: {100 * e:.0f}%"
                    for g, e in zip(sub[f"group_{lang}"], sub["estimate"], strict=True)
                    if pd.notna(e)) for lang in ("es", "en")}
                first = sub.iloc[0]
                name = {lang: _item_name(first[f"label_{lang}"], first["proposal"], lang)
                        for lang in ("es", "en")}
                div.append({"es": f"{name['es']} (de acuerdo: {shares['es']})"
                            if shares["es"] else name["es"],
                            "en": f"{name['en']} (agree: {shares['en']})"
                            if shares["en"] else name["en"]})
        parts.append({"title": {"es": "Lo que divide y pasa a mesa de mediación",
                                "en": "What divides and goes to mediation"},
                      "items": div[:5], "empty": {"es": "Ninguna propuesta divide a los grupos.",
                                                  "en": "No proposal divides the groups."}})
        late = []
        if not overdue.empty and "days_overdue" in overdue:
            for r in overdue.dropna(subset=["days_overdue"]).nlargest(
                    5, "days_overdue").itertuples():
                d = int(r.days_overdue)
                late.append({
                    "es": f"{r.label_es} — {r.department_es}: {d:,} días de retraso "
                          f"(vencía el {_cell(r.due_date)})",
                    "en": f"{r.label_en} — {r.department_en}: {d:,} days late "
                          f"(due {_cell(r.due_date)})"})
        n_late = 0 if overdue.empty else len(overdue)  # the table is capped: use the indicator
        rec = self.indicator_rows(territory_id, "04_followup")
        rec = rec[rec["name"] == "followup_overdue"] if len(rec) else rec
        if len(rec) and pd.notna(rec["value"].iloc[0]):
            n_late = int(rec["value"].iloc[0])
        parts.append({"title": {"es": f"Acuerdos vencidos ({n_late})",
                                "en": f"Overdue agreements ({n_late})"},
                      "items": late, "empty": {"es": "Ningún acuerdo vencido.",
                                               "en": "No overdue agreement."}})
        return {"title": {"es": "Para la próxima asamblea", "en": "For the next assembly"},
                "parts": parts}

    def _city_annex(self) -> list[dict]:
        """Links of the city page: the evaluation reports and every city-level notebook."""
        links = [{"href": "evaluations/index.html",
                  "title": {"es": "Evaluaciones del programa (informes)",
                            "en": "Programme evaluations (reports)"}}]
        city = self._annex_map().get(None, {})
        for step in sorted(city):
            es, en = STEP_TITLES.get(step, (step, step))
            links.append({"href": city[step], "title": {"es": es, "en": en}})
        return links

    def build_methodology(self, out: Path) -> None:
        import mistune

        md = mistune.create_markdown(escape=True, plugins=["table"])
        try:
            mdir = kit_dir("methodology")
        except Exception:  # noqa: BLE001 - the site still builds without it
            return
        pages = []
        intro = ""
        for p in sorted(mdir.glob("*.md")):
            if p.stem == "index":  # the method's overview opens the methodology index page
                intro = _one_language_at_a_time(md, _for_site(p.read_text(encoding="utf-8")))
                intro = re.sub(r'href="([^"#:]+)\.md(#[^"]*)?"',
                               lambda m: f'href="{m.group(1)}.html{m.group(2) or ""}"', intro)
                continue
            html = _one_language_at_a_time(md, _for_site(p.read_text(encoding="utf-8")))
            twin = p.with_name(f"{p.stem}.en.md")  # inputs.md + inputs.en.md: one page
            if twin.exists():
                html = (f'<div lang="es">{html}</div><div lang="en">'
                        f'{md(_for_site(twin.read_text(encoding="utf-8")))}</div>')
            html = re.sub(r'href="([^"#:]+)\.md(#[^"]*)?"', lambda m: f'href="{m.group(1)}.html{m.group(2) or ""}"', html)
            title = _md_title(p, twin)
            if p.stem in _ENGLISH_ONLY:  # one language only: the other gets a note
                title["es"], note = _ENGLISH_ONLY[p.stem]
                html = (f'<div lang="en">{html}</div><div lang="es"><h1>{_esc(title["es"])}'
                        f"</h1><p>{note}</p></div>")
            pages.append({"href": f"{p.stem}.html", "title": title})
            self.write(out / "methodology" / f"{p.stem}.html", "page.html", body=html,
                       **self._ctx("../", {k: f"{v} — Territoria" for k, v in title.items()}))
        cat_dir = mdir / "indicators"
        if cat_dir.is_dir():  # the machine-readable catalogue, linked from the method pages
            (out / "methodology" / "indicators").mkdir(parents=True, exist_ok=True)
            for y in sorted(cat_dir.glob("*.yml")):
                shutil.copyfile(y, out / "methodology" / "indicators" / y.name)
        rows = "".join(
            f"<tr id='{_esc(i.id)}'><td><code>{_esc(i.id)}</code></td><td><span lang='es'>{_esc(i.name('es'))}</span>"
            f"<span lang='en'>{_esc(i.name('en'))}</span></td><td><span lang='es'>{_esc(i.describe('es'))}"
            f"</span><span lang='en'>{_esc(i.describe('en'))}</span></td><td><code>{_esc(i.formula)}</code></td>"
            f"<td>{names.both(BETTER.get(i.better, {'es': i.better, 'en': i.better}))}</td><td><code>{_esc(i.notebook)}</code></td>"
            f"<td><code>{_esc(i.computed_by)}</code></td></tr>"
            for i in self.catalogue.values())
        heads = "".join(f"<th>{names.both(h)}</th>" for h in CATALOGUE_COLUMNS)
        cat_html = ("<h1><span lang='es'>Catálogo de indicadores</span><span lang='en'>Indicator "
                    f"catalogue</span></h1><table><thead><tr>{heads}</tr>"
                    "</thead><tbody>" + rows + "</tbody></table>")
        self.write(out / "methodology" / "indicators.html", "page.html", body=cat_html,
                   **self._ctx("../", {"es": "Indicadores — Territoria",
                                       "en": "Indicators — Territoria"}))
        from territoria.report import crosswalk

        self.write(out / "methodology" / "areas.html", "page.html",
                   body=crosswalk.page_html(crosswalk.crosswalks(self.store)),
                   **self._ctx("../", {k: f"{v} — Territoria" for k, v in crosswalk.TITLE.items()}))
        pages.append({"href": "areas.html", "title": crosswalk.TITLE})
        items = "".join(f"<li><a href='{_esc(p['href'])}'><span lang='es'>{_esc(p['title']['es'])}"
                        f"</span><span lang='en'>{_esc(p['title']['en'])}</span></a></li>"
                        for p in pages)
        index = (intro or "<h1><span lang='es'>Metodología</span><span lang='en'>Method</span></h1>") + (
                 "<h2><span lang='es'>Todas las páginas</span><span lang='en'>All pages</span></h2><ul>"
                 + items + "<li><a href='indicators.html'><span lang='es'>Catálogo de indicadores"
                 "</span><span lang='en'>Indicator catalogue</span></a></li></ul>")
        self.write(out / "methodology" / "index.html", "page.html", body=index,
                   **self._ctx("../", {"es": "Metodología — Territoria",
                                       "en": "Method — Territoria"}))

    def build_provenance(self, out: Path) -> None:
        rows = "".join(
            f"<tr><td><code>{_esc(i['file'])}</code></td><td><code>{_esc(i['kind'])}</code></td>"
            f"<td><code>{_esc(i['full'])}</code></td><td class='num'>{i['read']}</td>"
            f"<td class='num'>{i['accepted']}</td><td class='num'>{i['quarantined']}</td></tr>"
            for i in self.inputs)
        heads = "".join(f"<th{' class=num' if i > 2 else ''}>{names.both(h)}</th>"
                        for i, h in enumerate(PROVENANCE_COLUMNS))
        body = ("<h1><span lang='es'>Procedencia de los datos</span><span lang='en'>Data "
                "provenance</span></h1><p><span lang='es'>Archivos de entrada, su huella SHA-256 y "
                "las filas leídas, aceptadas y en cuarentena.</span><span lang='en'>Input files, "
                "their SHA-256 fingerprint and the rows read, accepted and quarantined.</span></p>"
                f"<p>Territoria {_esc(__version__)} · {_esc(self.run_date)}</p><table><thead><tr>"
                + heads + "</tr></thead><tbody>" + rows + "</tbody></table>")
        self.write(out / "provenance.html", "page.html", body=body,
                   **self._ctx("", {"es": "Procedencia — Territoria",
                                    "en": "Provenance — Territoria"}))

    def _output_file(self, output_path) -> Path:
        p = Path(str(output_path))
        if not p.is_absolute():
            p = self.ws.root / p
        return p.with_suffix(".html")

    def _annex_map(self) -> dict:
        """territory -> step -> site path of the executed notebook's HTML (from ``runs``)."""
        out: dict = {}
        if not self.store.has_table("runs"):
            return out
        runs = self.store.query("SELECT step, territory_id, output_path FROM runs WHERE "
                                "status IN ('ok', 'no-data', 'skipped') "
                                "AND output_path IS NOT NULL")
        for r in runs.itertuples():
            html = self._output_file(r.output_path)
            if html.exists():
                key = r.territory_id if isinstance(r.territory_id, str) else None
                out.setdefault(key, {})[r.step] = f"annex/{safe_name(r.step)}/{safe_name(html.stem)}.html"
        return out

    def build_annex(self, out: Path) -> None:
        if not self.store.has_table("runs"):
            return
        runs = self.store.query("SELECT DISTINCT step, output_path FROM runs WHERE "
                                "status IN ('ok', 'no-data', 'skipped') "
                                "AND output_path IS NOT NULL")
        where_names = dict(zip(self.territories["territory_id"].astype(str),
                               self.territories["name_i18n"], strict=False))
        todo = []  # (step, executed notebook's page, site page)
        for r in runs.itertuples():
            html = self._output_file(r.output_path)
            if html.exists():
                todo.append((r.step, html, out / "annex" / safe_name(r.step)
                             / f"{safe_name(html.stem)}.html"))

        def annex_page(i: int) -> None:
            # the executed notebook's body (nbconvert, inputs hidden) inside the site's
            # page: language, title, styles, navigation and provenance like every page
            step_id, html, dst = todo[i]
            step = dict(zip(("es", "en"), STEP_TITLES.get(step_id, (step_id, step_id)),
                            strict=True))
            where = where_names.get(html.stem) or names.city(self.cfg)
            body = annex_lang.one_language(html.read_text(encoding="utf-8"), step["en"])
            self.write(dst, "page.html", body=body,
                       **self._ctx("../../", {k: f"{step[k]} · {where[k]} — Territoria"
                                              for k in step}))

        self.render_pages([str(d.relative_to(out)) for _, _, d in todo], annex_page,
                          label={"es": "Anexo técnico", "en": "Technical annex"})


#: Pages per worker below which forking costs more than it saves; chunk size cap (pages
#: sent to a worker at once: small enough to share the work evenly and move the bar).
_MIN_PAGES_PER_WORKER = 8
_MAX_CHUNK = 32
#: What forked page workers call (set by the parent just before forking, cleared after).
_FORKED: dict = {}


def _can_fork() -> bool:
    """Fork without exec is safe for these libraries on Linux only (not macOS, not Windows)."""
    import multiprocessing
    import sys

    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def _write_one(write_page, i: int) -> str | None:
    """Write page ``i``; the error text if it could not be built."""
    try:
        write_page(i)
    except Exception as e:  # noqa: BLE001 - one page that cannot be built is reported
        return f"{type(e).__name__}: {e}"
    return None


def _write_chunk(indices: range) -> list[tuple[int, str]]:
    """In a forked worker: write pages ``indices``; ``(index, error)`` of those not written."""
    write_page = _FORKED["write_page"]
    return [(i, err) for i in indices if (err := _write_one(write_page, i))]


#: Column titles of the indicator catalogue and provenance pages; words of ``better``.
CATALOGUE_COLUMNS = ({"es": "Clave", "en": "Key"}, {"es": "Nombre", "en": "Name"},
                     {"es": "Definición", "en": "Definition"}, {"es": "Fórmula", "en": "Formula"},
                     {"es": "Mejor si es", "en": "Better when"},
                     {"es": "Cuaderno", "en": "Notebook"},
                     {"es": "Calculado por", "en": "Computed by"})
PROVENANCE_COLUMNS = ({"es": "Archivo", "en": "File"}, {"es": "Tipo", "en": "Kind"},
                      {"es": "Huella SHA-256", "en": "SHA-256 fingerprint"},
                      {"es": "Leídas", "en": "Read"}, {"es": "Aceptadas", "en": "Accepted"},
                      {"es": "En cuarentena", "en": "Quarantined"})
BETTER = catalogue(__name__, "BETTER")
#: Notes of the site's charts (a view may give its own: :attr:`territoria.steps.View.suppressed_note`).
NOTES = catalogue(__name__, "NOTES")


#: Lines of a methodology page for readers of the repository, who have no language switch:
#: "*English: [inputs.en.md](inputs.en.md).*", "*English below.*".
_POINTERS = re.compile(r"^\*(?:English|Español): \[[^\]]*\]\([^)]*\)\.?\*[ \t]*\n|"
                       r"^\*English below\.\*[ \t]*\n", re.M)


def _for_site(text: str) -> str:
    r"""A methodology page without the pointers to its other language (the site has a switch).

    >>> _for_site("# A\n\n*English: [a.en.md](a.en.md).*\n\nTexto.\n")
    '# A\n\n\nTexto.\n'
    """
    return _POINTERS.sub("", text)


def _md_title(page: Path, twin: Path) -> dict:
    """Title of a methodology page in each language: its first line "Uno / One" split, the
    title of its English half ("---" then "# One (English)"), or the first line of its
    English twin (``inputs.en.md``)."""
    text = page.read_text(encoding="utf-8") if page.stat().st_size else page.stem
    first = text.splitlines()[0]
    t_es, _, t_en = first.lstrip("# ").strip().partition(" / ")
    half = re.search(r"^---[ \t]*\n\s*# (.+?)(?: \(English\))?[ \t]*$", text, re.M)
    if not t_en and half:
        t_en = half.group(1).strip()
    if twin.exists() and twin.stat().st_size:
        t_en = twin.read_text(encoding="utf-8").splitlines()[0].lstrip("# ").strip()
    return {"es": t_es, "en": t_en or t_es}


#: What an agenda item without a proposal code shows in its place.
NO_PROPOSAL_CODE = {"es": "sin clave de propuesta", "en": "no proposal code"}


def _item_name(label, code, lang: str) -> str:
    """An agenda item as "name (proposal code)", always: the code is added when the label
    lacks it, and an item recorded without one says so in words.

    >>> _item_name("Reparación de fugas (P-1)", "P-1", "es"), _item_name("Alarmas", "P-2", "en")
    ('Reparación de fugas (P-1)', 'Alarmas (P-2)')
    >>> _item_name("Alarmas", None, "es")
    'Alarmas (sin clave de propuesta)'
    """
    label = "" if label is None or (isinstance(label, float) and math.isnan(label)) \
        else str(label)
    code = "" if code is None or (isinstance(code, float) and math.isnan(code)) \
        else str(code).strip()
    if not code:
        return f"{label} ({NO_PROPOSAL_CODE.get(lang, NO_PROPOSAL_CODE['es'])})"
    return label if f"({code})" in label else f"{label} ({code})"


def _titled_percent(spec: dict, values) -> bool:
    """A column whose title says it is a percentage and whose values are shares (0 to 1) is
    shown in percent, so a "% a tiempo" column never reads 0.20.

    >>> ok = _titled_percent({"es": "% a tiempo"}, pd.Series([0.2, 0.4]))
    >>> ok, _titled_percent({"es": "Personas"}, pd.Series([0.2]))
    (True, False)
    """
    title = f"{spec.get('es', '')} {spec.get('en', '')}".lower()
    if values is None or "(%)" in title or not (  # "Avance (%)" is already in percent
            "%" in title or "porcentaje" in title or "share" in title):
        return False
    nums = pd.to_numeric(values, errors="coerce").dropna()
    return bool(len(nums)) and bool(((nums >= 0) & (nums <= 1)).all())


#: Where a methodology page's English half starts ("---" then "*English.*" or "## English",
#: or "---" then the English title "# 03 · Agenda (English)").
_ENGLISH = re.compile(r"^(?:---\s*\n\s*)?(?:\*English\.\*[ \t]*|## English[ \t]*)$\n?|"
                      r"^\*English\.\*[ \t]+|^---[ \t]*\n\s*(?=# )", re.M)
#: Methodology pages written in English only (commands print their help in English; the
#: English twin of a Spanish page): their Spanish title and the note the Spanish site shows.
_ENGLISH_ONLY = {
    "cli": ("Referencia de comandos",
            "Esta página reproduce la ayuda que imprime cada comando (<code>territoria COMANDO "
            "--help</code>), que está en inglés. Para leerla, cambie el idioma con el botón de "
            "arriba."),
    "inputs.en": ("Archivos de entrada (versión en inglés)",
                  "Esta es la versión en inglés de la guía. La versión en español está en "
                  "<a href=\"inputs.html\">Archivos de entrada</a>."),
}


def _one_language_at_a_time(md, text: str) -> str:
    r"""A bilingual methodology page (Spanish, then English after a marker) as two blocks the
    language switch shows one at a time; the title "A / B" is split between them.

    >>> import mistune
    >>> html = _one_language_at_a_time(mistune.create_markdown(),
    ...                                "# Uno / One\n\nHola.\n\n---\n\n*English.*\n\nHello.\n")
    >>> html.replace("\n", "")
    '<div lang="es"><h1>Uno</h1><p>Hola.</p></div><div lang="en"><h1>One</h1><p>Hello.</p></div>'
    >>> html = _one_language_at_a_time(mistune.create_markdown(),
    ...                                "# Uno\n\nHola.\n\n---\n\n# One (English)\n\nHello.\n")
    >>> html.replace("\n", "")
    '<div lang="es"><h1>Uno</h1><p>Hola.</p></div><div lang="en"><h1>One</h1><p>Hello.</p></div>'
    """
    m = _ENGLISH.search(text)
    if m is None:
        return md(text)
    es, en = text[:m.start()].rstrip().removesuffix("---").rstrip(), text[m.end():].lstrip()
    en = re.sub(r"\A(# .*?) \(English\)[ \t]*$", r"\1", en, flags=re.M)
    first = es.splitlines()[0] if es else ""
    if first.startswith("# ") and " / " in first:
        t_es, t_en = first[2:].split(" / ", 1)
        es = f"# {t_es}" + es[len(first):]
        if not en.startswith("# "):
            en = f"# {t_en}\n\n{en}"
    return f'<div lang="es">{md(es)}</div><div lang="en">{md(en)}</div>'


def _line_series(df: pd.DataFrame, view, group):
    """Series, interval bands and x ticks of a line view: numeric x (event time, rounds)
    stays numeric, sorted as numbers; other x (months) are placed in sorted order and
    labelled. At most ``charts.MAX_SERIES`` groups, in the table's order (one colour
    each); returns (series, bands, x_labels or None, distinct x, total groups if cut)."""
    xnum = pd.to_numeric(df[view.x], errors="coerce")
    if xnum.notna().all():
        xpos = xnum.astype(float)
        xs = sorted(xpos.unique())
        ticks = None
    else:
        xs = sorted(df[view.x].astype(str).unique())
        idx = {x: i for i, x in enumerate(xs)}
        xpos = df[view.x].astype(str).map(idx).astype(float)
        ticks = {i: xs[i][:7] for i in range(0, len(xs), max(1, len(xs) // 6))}
    full = group.replace("group_", "label_") if group else None
    gcol = df[group].tolist() if group else [""] * len(df)
    if full and full != group and full in df:  # a group cut short: use its full label
        labels = df[full].tolist()
        if all(str(lb).startswith(str(g)) for g, lb in zip(gcol, labels, strict=True)):
            gcol = labels
    groups = list(dict.fromkeys(gcol))
    note = len(groups) if len(groups) > charts.MAX_SERIES else None
    keep = {g: str(g) for g in groups[:charts.MAX_SERIES]}
    ys = pd.to_numeric(df[view.y], errors="coerce").astype(float).tolist()
    has_ci = view.low in df and view.high in df
    lows = pd.to_numeric(df[view.low], errors="coerce").tolist() if has_ci else None
    highs = pd.to_numeric(df[view.high], errors="coerce").tolist() if has_ci else None
    series = {keep[g]: [] for g in keep}
    bands = {keep[g]: [] for g in keep} if has_ci else {}
    for i, (g, x) in enumerate(zip(gcol, xpos.tolist(), strict=True)):
        if g in keep:
            series[keep[g]].append((x, ys[i]))
            if has_ci:
                bands[keep[g]].append((x, lows[i], highs[i]))
    return series, bands, ticks, xs, note


def _cell(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, (pd.Timestamp, dt.date)):
        return pd.Timestamp(v).date().isoformat()
    return str(v)


def _esc(v) -> str:
    from html import escape

    return escape(str(v), quote=True)


def publish(ws: Workspace, errors: list | None = None, *, workers: int = 2,
            progress: bool = False) -> Path:
    """Build the site of ``ws`` into ``<workspace>/site`` atomically; returns its path.

    A territory page that cannot be built does not stop the others: ``errors`` (a list, if
    given) receives one ``(page, error)`` per page left out.

    Parameters
    ----------
    ws : Workspace
    errors : list, optional
        Receives ``(page, error)`` of the pages left out.
    workers : int
        Processes rendering the territory and annex pages (forked from this one on Linux;
        serial elsewhere or with 1). The site is the same byte for byte whatever the number.
    progress : bool
        A bar with ETA on stderr while pages are rendered (only if stderr is a terminal).

    Raises
    ------
    PipelineError
        No store yet, or a page worker died (e.g. out of memory); the previous site is kept.
    """
    ws.require()
    if not ws.store_path.exists():
        raise PipelineError(f"{ws.store_path}: no store yet; run 'territoria ingest' and "
                            "'territoria run' first")
    from concurrent.futures.process import BrokenProcessPool

    from territoria.report.swap import clean_leftovers, swap_in, temp_dir

    final = ws.site_dir
    clean_leftovers(ws.root)  # folders left by a killed publish
    tmp = temp_dir(ws.root)
    try:
        with Store.snapshot(ws.store_path) as store:  # a private copy: never blocks a writer
            builder = SiteBuilder(ws, store, workers=workers, progress=progress)
            try:
                builder.build(tmp)
            except BrokenProcessPool as e:
                raise PipelineError(f"a process rendering pages died ({e}); the previous "
                                    "site is kept (try fewer workers)") from None
        if errors is not None:
            errors.extend(builder.page_errors)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    swap_in(tmp, final)  # `site` is a link switched by one rename: never a moment without
    return final / "index.html"
