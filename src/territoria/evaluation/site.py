"""Evaluation pages of the published site (``site/evaluations/``).

Joins the site's page builders (:data:`territoria.report.pages.JOINED`), so
:meth:`territoria.report.site.SiteBuilder.build` (``territoria publish``) calls :func:`build`,
and so does ``territoria evaluate run``. Reads only the aggregated evaluation tables of the store
(``evaluation_plans``, ``evaluation_questions``, ``evaluation_results``,
``evaluation_feedback``), never raw survey tables; values counting fewer people than the
plan's minimum cell are suppressed again here. Pages:

- ``evaluations/index.html``: the theory of change (figure and its text alternative) and the
  list of evaluations;
- ``evaluations/<plan>.html``: questions, answers with intervals and a chart, residents'
  reading, what the data cannot say, links to each territory's summary and to the executed
  notebooks, and the plan itself as an appendix (so the evaluation can be repeated);
- ``evaluations/<plan>/territories/<id>.html``: the printable plain-language summary of a
  territory for its community assembly (Spanish by default), with the codes residents write on
  the feedback form ``territoria_feedback``;
- ``evaluations/<plan>/notebooks/<question>.html``: the executed notebooks (technical annex),
  inside the site's page like the steps' annex pages, one language at a time
  (:mod:`territoria.evaluation.notebook_page`), with links back to the report and the city.

The templates are compiled once per publish; the summaries and notebook pages are rendered by
the site's page workers (``territoria publish -j N``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from io import StringIO
from pathlib import Path

import pandas as pd

from territoria import charts
from territoria.evaluation import notebook_page
from territoria.evaluation import toc as toc_mod
from territoria.evaluation.summary import PlanFindings
from territoria.report.pages import safe_name

__all__ = ["build"]

INDEX = """
<h1><span lang="es">Evaluaciones</span><span lang="en">Evaluations</span></h1>
<p class="lead"><span lang="es">Qué queríamos saber del programa, con qué datos y qué encontramos. Cada evaluación trae sus preguntas, las respuestas con su margen de incertidumbre, lo que los datos no pueden decir y el plan completo para repetirla.</span><span lang="en">What we wanted to know about the programme, with which data, and what we found. Each evaluation has its questions, the answers with their uncertainty, what the data cannot say and the full plan to repeat it.</span></p>
{% if plans %}
<ul>
{% for p in plans %}<li><a href="{{ p.href }}"><span lang="es">{{ p.title_es }}</span><span lang="en">{{ p.title_en }}</span></a> <span class="note">({{ p.n_territories }} <span lang="es">colonias</span><span lang="en">neighbourhoods</span> · {{ p.ran_at }})</span></li>
{% endfor %}</ul>
{% else %}<p><span lang="es">Todavía no se ha corrido ninguna evaluación (<code>territoria evaluate run evaluations/PLAN.yml</code>).</span><span lang="en">No evaluation has been run yet (<code>territoria evaluate run evaluations/PLAN.yml</code>).</span></p>{% endif %}
{% if toc %}
<h2><span lang="es">{{ toc.title_es }}</span><span lang="en">{{ toc.title_en }}</span></h2>
<p><span lang="es">Cómo se espera que el programa cambie las cosas: de los insumos a las actividades, los productos, los resultados y los impactos. Cada recuadro se mide con indicadores; los supuestos (S1…) son lo que tiene que cumplirse para pasar de una columna a la siguiente.</span><span lang="en">How the programme is expected to change things: from inputs to activities, outputs, outcomes and impacts. Each box is measured by indicators; the assumptions (A1…) are what must hold to move from one column to the next.</span></p>
<figure><div lang="es">{{ toc.svg_es|safe }}</div><div lang="en">{{ toc.svg_en|safe }}</div>
<figcaption><span lang="es">Teoría de cambio. La descripción completa está debajo.</span><span lang="en">Theory of change. The full description is below.</span></figcaption></figure>
<details><summary><span lang="es">La teoría de cambio en texto (indicadores y supuestos)</span><span lang="en">The theory of change as text (indicators and assumptions)</span></summary>
<div lang="es">{{ toc.text_es|safe }}</div><div lang="en">{{ toc.text_en|safe }}</div></details>
{% endif %}
"""

PLAN = """
<p class="note"><a href="index.html"><span lang="es">Evaluaciones</span><span lang="en">Evaluations</span></a></p>
<h1><span lang="es">{{ p.title_es }}</span><span lang="en">{{ p.title_en }}</span></h1>
{% if p.purpose_es %}<p class="lead"><span lang="es">{{ p.purpose_es }}</span><span lang="en">{{ p.purpose_en }}</span></p>{% endif %}
<p class="note"><span lang="es">{{ p.n_territories }} colonias · corrida del {{ p.ran_at }} · cifras con menos de {{ p.min_cell }} personas suprimidas</span><span lang="en">{{ p.n_territories }} neighbourhoods · run of {{ p.ran_at }} · figures with fewer than {{ p.min_cell }} people suppressed</span></p>
{% for q in questions %}
<section id="{{ q.anchor }}">
<h2><span lang="es">{{ loop.index }}. {{ q.text.es }}</span><span lang="en">{{ loop.index }}. {{ q.text.en }}</span></h2>
{% if q.failed %}<p class="badge warn"><span lang="es">No se pudo responder:</span><span lang="en">Could not be answered:</span> {{ q.error }}</p>{% else %}
<p><strong><span lang="es">Respuesta.</span><span lang="en">Answer.</span></strong> <span lang="es">{{ q.answer.es }}</span><span lang="en">{{ q.answer.en }}</span></p>
<table><thead><tr><th><span lang="es">Indicador</span><span lang="en">Indicator</span></th><th class="num"><span lang="es">Valor</span><span lang="en">Value</span></th><th class="num"><span lang="es">Intervalo 95 %</span><span lang="en">95% interval</span></th><th class="num">n</th></tr></thead><tbody>
{% for f in q.overall %}<tr><td><span lang="es">{{ f.label.es }}</span><span lang="en">{{ f.label.en }}</span>{% if f.grp %} ({{ f.grp }}){% endif %} <code class="note">{{ f.indicator }}</code></td><td class="num"><span lang="es">{{ f.es.value }}</span><span lang="en">{{ f.en.value }}</span></td><td class="num"><span lang="es">{{ f.es.ci }}{{ f.es.note }}</span><span lang="en">{{ f.en.ci }}{{ f.en.note }}</span></td><td class="num"><span lang="es">{{ f.es.n }}</span><span lang="en">{{ f.en.n }}</span></td></tr>
{% endfor %}</tbody></table>
{% if q.svg_es %}<figure><div lang="es">{{ q.svg_es|safe }}</div><div lang="en">{{ q.svg_en|safe }}</div></figure>{% endif %}
<h3><span lang="es">Lo que dicen las vecinas y los vecinos</span><span lang="en">What residents say</span></h3>
<p><span lang="es">{{ q.reading.es.head }}{% for s in q.reading.es.shares %} {{ s.label }}: {{ s.value }}.{% endfor %} {{ q.reading.es.text }}</span><span lang="en">{{ q.reading.en.head }}{% for s in q.reading.en.shares %} {{ s.label }}: {{ s.value }}.{% endfor %} {{ q.reading.en.text }}</span> <span class="note"><span lang="es">Clave del resultado:</span><span lang="en">Finding code:</span> <code>{{ q.code }}</code></span></p>
<h3><span lang="es">Lo que los datos no pueden decir</span><span lang="en">What the data cannot say</span></h3>
<p><span lang="es">{{ q.limits.es }}</span><span lang="en">{{ q.limits.en }}</span></p>
{% if q.notebook %}<p class="note"><a href="{{ q.notebook }}"><span lang="es">Cálculo completo (cuaderno ejecutado)</span><span lang="en">Full computation (executed notebook)</span></a> · <span lang="es">método</span><span lang="en">method</span> <code>{{ q.method }}</code></p>{% endif %}
{% endif %}
</section>
{% endfor %}
{% if territories %}
<h2><span lang="es">Resúmenes por colonia para la asamblea</span><span lang="en">Summaries by neighbourhood for the assembly</span></h2>
<p><span lang="es">Una hoja imprimible por colonia, en lenguaje sencillo, para leer en asamblea y recoger la opinión de las vecinas y los vecinos con el formulario <code>territoria_feedback</code>.</span><span lang="en">One printable sheet per neighbourhood, in plain language, to read at an assembly and collect residents' views with the <code>territoria_feedback</code> form.</span></p>
<ul class="cols">{% for t in territories %}<li><a href="{{ t.href }}"><span lang="es">{{ t.name.es }}</span><span lang="en">{{ t.name.en }}</span></a> <span class="note">{{ t.id }}</span></li>{% endfor %}</ul>
{% endif %}
<h2><span lang="es">Anexo: el plan de evaluación</span><span lang="en">Appendix: the evaluation plan</span></h2>
<p><span lang="es">Con este archivo (<code>evaluations/{{ p.plan }}.yml</code>) y el comando <code>territoria evaluate run evaluations/{{ p.plan }}.yml</code> la evaluación se repite con los mismos datos o con datos nuevos.</span><span lang="en">With this file (<code>evaluations/{{ p.plan }}.yml</code>) and the command <code>territoria evaluate run evaluations/{{ p.plan }}.yml</code> the evaluation can be repeated on the same or new data.</span></p>
<pre class="plan">{{ p.source_text }}</pre>
"""

TERRITORY = """
<p class="note noprint"><a href="../../{{ plan }}.html"><span lang="es">Volver a la evaluación</span><span lang="en">Back to the evaluation</span></a></p>
<h1><span lang="es">{{ t.name.es }}</span><span lang="en">{{ t.name.en }}</span></h1>
<p class="lead"><span lang="es">{{ title_es }}. Resumen para la asamblea comunitaria.</span><span lang="en">{{ title_en }}. Summary for the community assembly.</span></p>
<p><span lang="es">Estos son los resultados de la evaluación para su colonia. Cada cifra trae un rango: el valor real está muy probablemente dentro de él. Queremos saber si coinciden con lo que ustedes viven y qué los explica: anoten la <strong>clave</strong> de cada resultado en el formulario de opinión.</span><span lang="en">These are the evaluation's results for your neighbourhood. Each figure comes with a range: the true value is very probably inside it. We want to know whether they match what you experience and what explains them: write down each finding's <strong>code</strong> on the feedback form.</span></p>
{% for f in items %}
<section class="finding">
<h2><span lang="es">{{ loop.index }}. {{ f.text.es }}</span><span lang="en">{{ loop.index }}. {{ f.text.en }}</span></h2>
{% if f.local %}<p><strong><span lang="es">En su colonia:</span><span lang="en">In your neighbourhood:</span></strong></p><ul>
{% for x in f.local %}<li><span lang="es">{{ x.label.es }}: <strong>{{ x.es.value }}</strong>{% if x.es.ci %} (de {{ x.es.ci }}){% endif %}{% if x.es.n %}, con {{ x.es.n }}{% endif %}{{ x.es.note }}.</span><span lang="en">{{ x.label.en }}: <strong>{{ x.en.value }}</strong>{% if x.en.ci %} (from {{ x.en.ci }}){% endif %}{% if x.en.n %}, from {{ x.en.n }}{% endif %}{{ x.en.note }}.</span></li>
{% endfor %}</ul>{% endif %}
<p><strong><span lang="es">En todas las colonias de la evaluación:</span><span lang="en">In all the evaluation's neighbourhoods:</span></strong> <span lang="es">{{ f.answer.es }}</span><span lang="en">{{ f.answer.en }}</span></p>
<p class="note"><span lang="es">Ojo: {{ f.limits.es }}</span><span lang="en">Note: {{ f.limits.en }}</span></p>
<p><span lang="es">{{ f.reading.es.head }}{% for s in f.reading.es.shares %} {{ s.label }}: {{ s.value }}.{% endfor %} {{ f.reading.es.text }}</span><span lang="en">{{ f.reading.en.head }}{% for s in f.reading.en.shares %} {{ s.label }}: {{ s.value }}.{% endfor %} {{ f.reading.en.text }}</span></p>
<p class="code"><span lang="es">Clave del resultado:</span><span lang="en">Finding code:</span> <code>{{ f.code }}</code> — <span lang="es">¿Coincide con lo que usted vive? Sí · En parte · No · No sé</span><span lang="en">Does it match your experience? Yes · Partly · No · Don't know</span></p>
</section>
{% endfor %}
<p class="note"><span lang="es">Colonia {{ t.id }}. Las cifras con menos de {{ min_cell }} personas no se publican. Las explicaciones escritas en el formulario no se publican nunca: solo se cuenta cuántas hubo.</span><span lang="en">Neighbourhood {{ t.id }}. Figures with fewer than {{ min_cell }} people are not published. Written explanations on the form are never published: only how many there were is counted.</span></p>
"""

NOTEBOOK = """
<p class="note noprint"><a href="../../../city.html"><span lang="es">Toda la alcaldía</span><span lang="en">Whole borough</span></a> › <a href="../../index.html"><span lang="es">Evaluaciones</span><span lang="en">Evaluations</span></a> › <a href="../../{{ plan }}.html"><span lang="es">{{ title_es }}</span><span lang="en">{{ title_en }}</span></a></p>
<p class="lead"><span lang="es">Cálculo completo de la pregunta «{{ q.es }}»: el cuaderno de la evaluación tal como se ejecutó.</span><span lang="en">The full computation of the question “{{ q.en }}”: the evaluation's notebook as it ran.</span></p>
{% for lang, note in notes %}<p class="note" lang="{{ lang }}">{{ note }}</p>
{% endfor %}
<div class="notebook">
{{ body|safe }}
</div>
<p class="note noprint"><a href="../../{{ plan }}.html#{{ anchor }}"><span lang="es">Volver a la pregunta en el informe de la evaluación</span><span lang="en">Back to the question in the evaluation report</span></a></p>
"""

#: The page templates above, by name (compiled once per publish: :func:`_templates`).
TEMPLATES = {"index": INDEX, "plan": PLAN, "territory": TERRITORY, "notebook": NOTEBOOK}

_SHARE_LEVELS = {"pct_unsafe_colonia", "design_agree", "delib_agree", "impact_agree",
                 "followup_fulfilment_rate"}


def _table(store, name: str, plan: str | None = None) -> pd.DataFrame:
    if not store.has_table(name):
        return pd.DataFrame()
    if plan is None:
        return store.table(name)
    return store.table(name, where="plan = ?", params=[plan])


def _date(v) -> str:
    try:
        return pd.Timestamp(v).date().isoformat()
    except (TypeError, ValueError):
        return ""


def _resuppress(res: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """Suppress again at publication: rows counting fewer than ``min_cell`` people (the
    month and territory counts of crime methods are not people and are kept)."""
    if res.empty:
        return res
    res = res.copy()
    people = ~res["method"].isin(["its", "staggered_did"])
    small = people & res["n"].notna() & (pd.to_numeric(res["n"], errors="coerce") < min_cell)
    res.loc[small, ["value", "ci_low", "ci_high"]] = float("nan")
    res.loc[small, "suppressed"] = True
    res["territory_id"] = res["territory_id"].astype(object).where(res["territory_id"].notna(),
                                                                   None)
    return res


def _chart(detail_json: str | None, title: dict) -> tuple[str, str]:
    if not detail_json:
        return "", ""
    d = pd.read_json(StringIO(detail_json), orient="split")
    if len(d) < 2 or "estimate" not in d:
        return "", ""
    d = d[d["indicator"] != "crime_att_cs_rate"] if "indicator" in d else d
    crime = d["indicator"].astype(str).str.startswith("crime_") if "indicator" in d else False
    d = d.copy()
    for c in ("estimate", "ci_low", "ci_high"):
        d[c] = pd.to_numeric(d[c], errors="coerce")
        if isinstance(crime, pd.Series) and crime.any():
            d.loc[crime, c] = 100 * (d.loc[crime, c].map(math.exp) - 1)
    percent = bool(d["indicator"].isin(_SHARE_LEVELS).all()) if "indicator" in d else False
    likert = d["indicator"].astype(str).str.endswith(("_mean", "_change")) & ~crime \
        if "indicator" in d else None
    if likert is not None and likert.any() and not likert.all():
        return "", ""  # mixed units: the table says it better
    out = []
    for lang in ("es", "en"):
        labels = [str(x) for x in d.get(f"label_{lang}", d.iloc[:, 0])]
        vals = [None if pd.isna(v) else float(v) for v in d["estimate"]]
        lows = [None if pd.isna(v) else float(v) for v in d["ci_low"]]
        highs = [None if pd.isna(v) else float(v) for v in d["ci_high"]]
        unit = (" (% de cambio)" if lang == "es" else " (% change)") if \
            isinstance(crime, pd.Series) and crime.all() else ""
        alt = ("Barras con intervalos de 95 % de: " if lang == "es"
               else "Bars with 95% intervals of: ") + "; ".join(
            f"{lab} {'—' if v is None else f'{v:.2f}'}" for lab, v in zip(labels, vals,
                                                                          strict=True))
        out.append(charts.responsive(charts.bar_ci, labels, vals, lows, highs,
                                     title=title[lang] + unit, alt=alt, percent=percent,
                                     suffix=("" if not unit else " %" if lang == "es" else "%")))
    return out[0], out[1]


def _toc_ctx() -> dict | None:
    try:
        t = toc_mod.load_toc()
    except Exception:  # noqa: BLE001 - the kit's evaluations folder is optional on a site
        return None
    return {"title_es": t["title"]["es"], "title_en": t["title"].get("en") or t["title"]["es"],
            "svg_es": toc_mod.svg(t, "es"), "svg_en": toc_mod.svg(t, "en"),
            "text_es": toc_mod.text_alternative(t, "es"),
            "text_en": toc_mod.text_alternative(t, "en")}


def _templates(env) -> dict:
    """The page templates compiled by ``env`` (the site's Jinja environment), once."""
    return {name: env.from_string(text) for name, text in TEMPLATES.items()}


def _render(builder, path: Path, template, root: str, title: dict, **ctx) -> None:
    builder.write(path, "page.html", body=template.render(**ctx), **builder._ctx(root, title))


def _notebook_page(builder, template, path: Path, html: Path, *, plan: dict,
                   question: dict, anchor: str) -> None:
    """The executed notebook ``html`` of one question inside the site's page, one language at
    a time (:mod:`territoria.evaluation.notebook_page`)."""
    ran_in = notebook_page.run_language(html.with_suffix(".ipynb"),
                                        default=plan["language"])
    body = notebook_page.one_language(html.read_text(encoding="utf-8"), ran_in)
    hidden = notebook_page.hidden_parts(body)
    notes = [(lang, note) for lang in ("es", "en")
             if (note := notebook_page.missing_note(hidden[lang], lang))]
    title = {"es": f"Cuaderno: {question['es']} — Territoria",
             "en": f"Notebook: {question['en']} — Territoria"}
    _render(builder, path, template, "../../../", title, body=body, notes=notes,
            plan=plan["plan"], title_es=plan["title_es"], title_en=plan["title_en"],
            q=question, anchor=anchor)


def build(builder, out: Path) -> None:
    """Write the evaluation pages into ``out/evaluations`` (see the module docstring).

    The templates are compiled once; the territories' summaries and the notebooks' pages are
    rendered by the builder's page workers (``territoria publish -j N``), like the territory
    pages, and are the same byte for byte whatever the number of workers.

    Parameters
    ----------
    builder : territoria.report.site.SiteBuilder
        Gives the store, the configuration, the Jinja environment, the page context and the
        page workers (``render_pages``).
    out : Path
        The site folder being built.
    """
    store = builder.store
    tpl = _templates(builder.env)
    folder = Path(out) / "evaluations"
    plans = _table(store, "evaluation_plans")
    plan_rows = []
    for p in plans.sort_values("plan").to_dict("records") if len(plans) else []:
        plan_rows.append({"href": f"{p['plan']}.html", "title_es": p["title_es"],
                          "title_en": p["title_en"] or p["title_es"],
                          "n_territories": p["n_territories"], "ran_at": _date(p["ran_at"])})
    _render(builder, folder / "index.html", tpl["index"], "../",
            {"es": "Evaluaciones — Territoria", "en": "Evaluations — Territoria"},
            plans=plan_rows, toc=_toc_ctx())
    names = builder.territories.set_index("territory_id")["name_i18n"].to_dict()
    pages: list[tuple[str, Callable[[], None]]] = []  # (site page, what writes it)
    for p in plans.to_dict("records") if len(plans) else []:
        name = p["plan"]
        min_cell = int(p["min_cell_size"] or builder.min_cell)
        res = _resuppress(_table(store, "evaluation_results", name), min_cell)
        qs = _table(store, "evaluation_questions", name)
        fbk = _table(store, "evaluation_feedback", name)
        if len(fbk):
            fbk["territory_id"] = fbk["territory_id"].astype(object).where(
                fbk["territory_id"].notna(), None)
        nb_dir = builder.ws.output_dir / "evaluations" / name
        plan_findings = PlanFindings(res, qs, fbk, plan=name, min_cell=min_cell)
        overall = {f["question"]: f for f in plan_findings.for_territory(None)}
        pctx = {**p, "ran_at": _date(p["ran_at"]), "min_cell": min_cell,
                "title_en": p["title_en"] or p["title_es"],
                "purpose_en": p["purpose_en"] or p["purpose_es"],
                "language": (str(p.get("languages") or "es").split(",")[0] or "es")}
        q_ctx = []
        for q in qs.sort_values("position").to_dict("records"):
            text = {"es": q["text_es"], "en": q["text_en"] or q["text_es"]}
            anchor = safe_name(q["question"])
            if q["status"] != "ok":
                q_ctx.append({"text": text, "failed": True, "error": q["error"],
                              "anchor": anchor})
                continue
            f = overall[q["question"]]
            svg_es, svg_en = _chart(q["detail"], f["text"])
            html = nb_dir / f"{q['question']}.html"
            href = None
            if html.exists():
                href = f"{name}/notebooks/{safe_name(q['question'])}.html"
                pages.append((f"evaluations/{href}", partial(
                    _notebook_page, builder, tpl["notebook"], folder / href, html, plan=pctx,
                    question=text, anchor=anchor)))
            q_ctx.append({**f, "failed": False, "svg_es": svg_es, "svg_en": svg_en,
                          "notebook": href, "anchor": anchor})
        terr_ctx = []
        for tid in plan_findings.territories():
            tname = names.get(tid) or {"es": tid, "en": tid}
            href = f"{name}/territories/{safe_name(tid)}.html"
            pages.append((f"evaluations/{href}", partial(
                _territory_page, builder, tpl["territory"], folder / href, plan_findings,
                plan=pctx, territory={"id": tid, "name": tname})))
            terr_ctx.append({"id": tid, "name": tname, "href": href})
        _render(builder, folder / f"{name}.html", tpl["plan"], "../",
                {"es": f"{p['title_es']} — Territoria", "en": f"{pctx['title_en']} — Territoria"},
                p=pctx, questions=q_ctx,
                territories=sorted(terr_ctx, key=lambda t: t["name"]["es"]))
    builder.render_pages([page for page, _ in pages], lambda i: pages[i][1](),
                         label={"es": "Páginas de evaluación", "en": "Evaluation pages"})


def _territory_page(builder, template, path: Path, plan_findings: PlanFindings, *, plan: dict,
                    territory: dict) -> None:
    """The printable summary of one territory for its assembly."""
    tid, tname = territory["id"], territory["name"]
    items = plan_findings.for_territory(tid)
    _render(builder, path, template, "../../../",
            {"es": f"{tname['es']} — {plan['title_es']}",
             "en": f"{tname['en']} — {plan['title_en']}"},
            t=territory, items=items, plan=plan["plan"], title_es=plan["title_es"],
            title_en=plan["title_en"], min_cell=plan["min_cell"])
