"""One vocabulary: the labels of the codes every module shares, in the city's languages.

A *code* is a stored value (``female``, ``18_29``, ``water_utility``, ``in_person``...); its
*label* is what a resident reads. Labels come from one place per kind of code, first found wins:

1. ``city.yml`` for what a city sets: ``axes``, ``departments``, ``link_areas`` (any language
   code; a text missing in a language falls back to the city's first language);
2. the instruments' choice lists (``surveys/src/_choices.yml`` and a form's own lists), in
   Spanish and English: sex, age group, axis, department, meeting kind and mode, agreement
   status, proposal round, moment of the process questionnaire;
3. :data:`CATALOGUE` below, for codes no form asks for (territory kind, disability groups), for
   the forms a sentence needs ("Mujeres de 18 a 29 años"), for the codes the statistics layer
   returns (:mod:`territoria.analysis` returns codes and numbers; ``steps/`` label them here)
   and for :data:`HEADINGS`, the table headings and words the steps, the site and the printed
   sheets share.

An entry may be :class:`Like` another kind's code: labelled as that code, defined once.

A language the source lacks falls back to the city's first language, then to the kit's Spanish.
A code the vocabulary does not know is shown as it was recorded (a city may add departments,
link areas or territory kinds without touching code), except in the kit's own closed lists
(:data:`CLOSED_KINDS`: headings, run statuses...), where an unknown code is a slip of the
code: it raises :class:`territoria.i18n.MissingTranslation` in the test suite. Nothing else in
the kit defines these labels: modules call :func:`label` (:func:`texts` for a
``{"es": ..., "en": ...}`` header) or a :class:`Vocabulary` built from the workspace's city.

Examples
--------
>>> label("sex", "female", "en")
'Female'
>>> label("sex_group", "female", "es")
'Mujeres'
>>> label("meeting_mode", "hybrid", "es")
'Híbrida'
>>> label("department", "alcaldia_x")  # unknown code: shown as recorded
'alcaldia_x'
>>> from territoria.config import CityConfig
>>> city = CityConfig.model_validate({"name": "X", "languages": ["pt", "es"],
...     "link_areas": [{"id": "youth", "label": {"pt": "Juventude", "es": "Juventudes"}}]})
>>> v = Vocabulary(city)
>>> v.label("link_area", "youth", "es"), v.label("link_area", "youth", "nah")
('Juventudes', 'Juventude')
>>> v.label("sex", "male", "pt")  # the kit has no Portuguese: the city's first language, then es
'Hombre'
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, cast

import yaml

from territoria.exceptions import ConfigError
from territoria.i18n import tr

#: The C YAML loader when libyaml is installed (about 10x faster than the pure-Python one).
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

if TYPE_CHECKING:  # pragma: no cover
    from territoria.config import CityConfig

__all__ = [
    "CATALOGUE",
    "CLOSED_KINDS",
    "HEADINGS",
    "Like",
    "FORM_LISTS",
    "CITY_LISTS",
    "KINDS",
    "KIT_LANGUAGE",
    "Vocabulary",
    "label",
    "labels",
    "texts",
    "codes",
    "label_columns",
    "code_texts",
    "COLUMNS",
    "column_label",
    "choice_lists",
    "question",
]

#: The kit's own language: every kit label has a Spanish text.
KIT_LANGUAGE = "es"

#: Kind of code -> (instrument source, choice list) that labels it.
FORM_LISTS: dict[str, tuple[str, str]] = {
    "sex": ("_choices", "sex"),
    "age_group": ("_choices", "age_group"),
    "axis": ("_choices", "axis"),
    "department": ("_choices", "department"),
    "proposal_round": ("_choices", "proposal_round"),
    "yes_no": ("_choices", "yes_no"),
    "meeting_kind": ("assembly", "assembly_kind"),
    "meeting_mode": ("assembly", "assembly_mode"),
    "agreement_status": ("followup", "agreement_status"),
    "process_moment": ("process", "moment"),
}

#: Kind of code -> the ``city.yml`` list that declares it (and overrides the forms' labels).
CITY_LISTS: dict[str, str] = {"axis": "axes", "department": "departments",
                              "link_area": "link_areas"}


#: Table headings and words shared by the steps, the site and the printed sheets: one
#: definition each (``texts("heading", "from")`` for a view's column header).
HEADINGS: dict[str, dict[str, str]] = {
    "agreement": {"es": "Acuerdo", "en": "Agreement"},
    "agreements": {"es": "Acuerdos", "en": "Agreements"},
    "axis": {"es": "Eje", "en": "Axis"},
    "from": {"es": "Desde", "en": "From"},  # lower bound of an interval
    "to": {"es": "Hasta", "en": "To"},  # upper bound of an interval
    "group": {"es": "Grupo", "en": "Group"},
    "people": {"es": "Personas", "en": "People"},
    "percentage": {"es": "Porcentaje", "en": "Percentage"},
    "proposal": {"es": "Propuesta", "en": "Proposal"},
    "rank": {"es": "Lugar", "en": "Rank"},
    "source": {"es": "Fuente", "en": "Source"},
    "status": {"es": "Estado", "en": "Status"},
    "territory": {"es": "Colonia", "en": "Territory"},
    "territories": {"es": "Colonias", "en": "Neighbourhoods"},
    "this_territory": {"es": "Esta colonia", "en": "This neighbourhood"},
    "value": {"es": "Valor", "en": "Value"},
    "zone": {"es": "Zona", "en": "Zone"},
}

#: The kit's own closed lists: a code missing from them is a slip of the code, not data
#: (it raises in the test suite, see :func:`territoria.i18n.set_strict`).
CLOSED_KINDS: frozenset[str] = frozenset({
    "heading", "column", "run_status", "geo_level", "process_stage", "iap2_level",
    "mechanism", "ensu_place", "wellbeing", "yes_no", "poststratum", "anova_source",
    "cohort_coding"})


class Like(NamedTuple):
    """A catalogue entry labelled as ``code`` of ``kind`` (one definition for both).

    >>> label("mechanism", "security_cabinet", "en")  # Like("meeting_kind", "security_cabinet")
    'Security cabinet'
    """

    kind: str
    code: str


#: Codes that no form asks for, and the forms a sentence needs. ``sex_group`` and
#: ``age_phrase`` compose group names ("Mujeres de 18 a 29 años").
CATALOGUE: dict[str, dict[str, dict[str, str] | Like]] = {
    "sex_group": {
        "female": {"es": "Mujeres", "en": "Women"},
        "male": {"es": "Hombres", "en": "Men"},
    },
    "age_phrase": {
        "18_29": {"es": "de 18 a 29 años", "en": "aged 18–29"},
        "30_44": {"es": "de 30 a 44 años", "en": "aged 30–44"},
        "45_59": {"es": "de 45 a 59 años", "en": "aged 45–59"},
        "60_plus": {"es": "de 60 años y más", "en": "aged 60 and over"},
    },
    "disability": {
        "yes": {"es": "Con discapacidad", "en": "With a disability"},
        "no": {"es": "Sin discapacidad", "en": "Without a disability"},
    },
    "territory_kind": {
        "colonia": {"es": "Colonia", "en": "Neighbourhood (colonia)"},
        "pueblo": {"es": "Pueblo originario", "en": "Original village (pueblo)"},
        "barrio": {"es": "Barrio", "en": "Barrio"},
        "unidad_habitacional": {"es": "Unidad habitacional", "en": "Housing estate"},
        "ampliacion": {"es": "Ampliación", "en": "Extension (ampliación)"},
        "fraccionamiento": {"es": "Fraccionamiento", "en": "Housing development"},
        "paraje": {"es": "Paraje", "en": "Paraje"},
        "other": {"es": "Otro", "en": "Other"},
    },
    # -- codes the statistics layer returns (territoria.analysis); steps/ label them -------
    "ensu_place": {  # the twelve ENSU places (BP1_2_01..12), analysis.diagnostic.ENSU_PLACES
        "home": {"es": "Su casa", "en": "Home"},
        "work": {"es": "Su trabajo", "en": "Work"},
        "streets": {"es": "Las calles que usa habitualmente", "en": "Streets you usually use"},
        "school": {"es": "La escuela", "en": "School"},
        "market": {"es": "El mercado", "en": "Market"},
        "shopping_centre": {"es": "El centro comercial", "en": "Shopping centre"},
        "bank": {"es": "El banco", "en": "Bank"},
        "street_atm": {"es": "El cajero automático en la vía pública",
                       "en": "Street cash machine (ATM)"},
        "public_transport": {"es": "El transporte público", "en": "Public transport"},
        "car": {"es": "El automóvil", "en": "Car"},
        "highway": {"es": "La carretera", "en": "Highway"},
        "park": {"es": "El parque o centro recreativo", "en": "Park or recreation centre"},
    },
    "geo_level": {  # a territory, its zone, the whole city (analysis.diagnostic levels)
        "territory": {"es": "Colonia", "en": "Neighbourhood"},
        "zone": {"es": "Dirección territorial", "en": "Territorial directorate"},
        "city": {"es": "Alcaldía", "en": "Borough"},
    },
    "process_stage": {  # OECD stages of a deliberative process (analysis.process_eval.STAGES)
        "design": {"es": "Diseño del proceso", "en": "Process design"},
        "delib": {"es": "Experiencia deliberativa", "en": "Deliberative experience"},
        "impact": {"es": "Camino al impacto", "en": "Pathways to impact"},
    },
    "iap2_level": {  # IAP2 spectrum of public participation (analysis.process_eval.IAP2_LEVELS)
        "inform": {"es": "Informar", "en": "Inform"},
        "consult": {"es": "Consultar", "en": "Consult"},
        "involve": {"es": "Involucrar", "en": "Involve"},
        "collaborate": {"es": "Colaborar", "en": "Collaborate"},
        "empower": {"es": "Decidir (empoderar)", "en": "Empower"},
    },
    "mechanism": {  # participation mechanisms placed on the IAP2 spectrum
        "block_assembly": Like("meeting_kind", "block_assembly"),
        "territorial_assembly": Like("meeting_kind", "territorial_assembly"),
        "working_table": Like("meeting_kind", "working_table"),
        "security_cabinet": Like("meeting_kind", "security_cabinet"),
        "planning_collective": Like("proposal_round", "collective"),
        "agenda_validation": {"es": "Validación de la Agenda", "en": "Agenda validation"},
    },
    "consensus_round": {  # rounds of the consensus trajectory (analysis.consensus.ROUND_ORDER)
        "assembly": {"es": "Asamblea", "en": "Assembly"},
        "collective": Like("proposal_round", "collective"),
        "agenda_validation": {"es": "Validación de la agenda", "en": "Agenda validation"},
    },
    "wellbeing": {  # wellbeing outcomes of the impact evaluation
        "life_satisfaction": {"es": "Satisfacción con la vida (0 a 10)",
                              "en": "Life satisfaction (0 to 10)"},
    },
    "poststratum": {  # how step 02 adjusts the survey to the census (s02_diagnostic._ps_cells)
        "sex_age": {"es": "por sexo y grupo de edad", "en": "by sex and age group"},
        "sex": {"es": "solo por sexo", "en": "by sex only"},
        "total": {"es": "al total de personas adultas de la colonia",
                  "en": "to the neighbourhood's adult total"},
        "none": {"es": "ninguno (no hay datos del censo)", "en": "none (no census data)"},
    },
    "anova_source": {  # rows of the mixed ANOVA of wellbeing (analysis.panel.mixed_anova)
        "cohort": {"es": "Etapa en que entró la colonia", "en": "Joining cohort"},
        "wave": {"es": "Levantamiento (antes y después)", "en": "Survey wave (before and after)"},
        "Interaction": {"es": "Interacción (etapa × levantamiento)",
                        "en": "Interaction (cohort × survey wave)"},
    },
    "cohort_coding": {  # city.yml: cohort_coding, the month a territory counts as joined
        "first_exposed_period": {"es": "el primer mes con el programa, aunque sea en parte",
                                 "en": "the first month with the programme, even in part"},
        "first_full_period": {"es": "el primer mes completo con el programa",
                              "en": "the first full month with the programme"},
    },
    "run_status": {  # status of a step's notebook for a territory (runner, coverage page)
        "ok": {"es": "Completo", "en": "Complete"},
        "partial": {"es": "Parcial", "en": "Partial"},
        "no-data": {"es": "Aún no hay datos", "en": "No data yet"},
        "failed": {"es": "Con error", "en": "Failed"},
        "not-run": {"es": "Sin calcular", "en": "Not computed"},
    },
    "heading": HEADINGS,  # type: ignore[dict-item]
}

# -- column names of result tables --------------------------------------------------------
# The headers a reader sees above a result table in a notebook and its annex page
# (territoria.steps.display): one per column code of the steps' frames. Language columns
# (label_es, department_es...) are named by their base code (label, department). Columns a
# step already names for its site views keep that one definition (steps.display.STEP_COLUMNS).
COLUMNS: dict[str, dict[str, str]] = {
    # general
    "label": {"es": "Concepto", "en": "Item"},
    "ci": {"es": "IC 95 %", "en": "95% CI"},
    "value": HEADINGS["value"],
    "n": {"es": "Casos (n)", "en": "Cases (n)"},
    "k": {"es": "Cuántos cumplen", "en": "How many meet it"},
    "mean": {"es": "Promedio", "en": "Mean"},
    "std": {"es": "Desviación estándar", "en": "Standard deviation"},
    "se": {"es": "Error estándar", "en": "Standard error"},
    "count": {"es": "Con dato", "en": "With a value"},
    "min": {"es": "Mínimo", "en": "Minimum"},
    "max": {"es": "Máximo", "en": "Maximum"},
    "25%": {"es": "Percentil 25", "en": "25th percentile"},
    "50%": {"es": "Mediana", "en": "Median"},
    "75%": {"es": "Percentil 75", "en": "75th percentile"},
    "indicator": {"es": "Indicador", "en": "Indicator"},
    "grp": {"es": "Grupo o fecha de corte", "en": "Group or cut-off date"},
    "group": HEADINGS["group"],
    "rank": HEADINGS["rank"],
    "level": {"es": "Nivel", "en": "Level"},
    "source": HEADINGS["source"],
    "share": {"es": "Proporción", "en": "Share"},
    "year": {"es": "Año", "en": "Year"},
    "date": {"es": "Fecha", "en": "Date"},
    "territory_id": {"es": "Clave de la colonia", "en": "Neighbourhood code"},
    "zone_id": cast("dict[str, str]", CATALOGUE["geo_level"]["zone"]),
    "zone_name": {"es": "Dirección territorial (nombre)", "en": "Territorial directorate (name)"},
    "territories": HEADINGS["territories"],
    "n_territories": {"es": "Número de colonias", "en": "Number of neighbourhoods"},
    "p": {"es": "Valor p", "en": "p-value"},
    "p_holm": {"es": "Valor p (Holm)", "en": "p-value (Holm)"},
    "t": {"es": "Estadístico t", "en": "t statistic"},
    "diff": {"es": "Diferencia", "en": "Difference"},
    # 00 selection
    "crime_rate": {"es": "Delitos por 1,000 habitantes", "en": "Crimes per 1,000 residents"},
    "w_social_index": {"es": "Peso del desarrollo social", "en": "Weight of social development"},
    "w_crime_rate": {"es": "Peso de los delitos", "en": "Weight of crime"},
    "w_population": {"es": "Peso de la población", "en": "Weight of population"},
    "rank_corr": {"es": "Correlación de lugares", "en": "Rank correlation"},
    # 01 network
    "blocks_covered": {"es": "Manzanas con asamblea", "en": "Blocks with an assembly"},
    "blocks_total": {"es": "Manzanas en total", "en": "Blocks in all"},
    "assemblies": {"es": "Reuniones", "en": "Meetings"},
    "attendance": {"es": "Asistencia total", "en": "Total attendance"},
    "women": {"es": "Mujeres (proporción)", "en": "Women (share)"},
    "links": {"es": "Vínculos", "en": "Links"},
    "per_1000": {"es": "Por cada 1,000 habitantes", "en": "Per 1,000 residents"},
    "participants": {"es": "Participantes", "en": "Participants"},
    "ratio": {"es": "Participación / población", "en": "Participation / population"},
    "D": {"es": "Índice de disimilitud", "en": "Dissimilarity index"},
    "units": {"es": "Unidades", "en": "Units"},
    "occasions": {"es": "Ocasiones", "en": "Occasions"},
    "repeat": {"es": "Vuelven a participar", "en": "Take part again"},
    # 02 diagnostic
    "tier": {"es": "Nivel de prioridad", "en": "Priority tier"},
    "axis_a": {"es": "Eje A", "en": "Axis A"},
    "axis_b": {"es": "Eje B", "en": "Axis B"},
    "different": {"es": "Diferencia clara", "en": "Clear difference"},
    # 03 agenda
    "axis": HEADINGS["axis"],
    "proposal": HEADINGS["proposal"],
    "n_top": {"es": "Entre las primeras", "en": "Among the first"},
    "borda_score": {"es": "Puntaje Borda", "en": "Borda score"},
    "n_ballots": {"es": "Boletas", "en": "Ballots"},
    "n_votes": {"es": "Votos", "en": "Votes"},
    "gdc": {"es": "Diferencia entre grupos", "en": "Difference between groups"},
    "divisive_sex": {"es": "¿Divide a mujeres y hombres?", "en": "Divides women and men?"},
    "divisive_age_group": {"es": "¿Divide por edad?", "en": "Divides by age?"},
    "p_divisive": {"es": "Probabilidad de que divida", "en": "Probability it divides"},
    "rule_a": {"es": "Regla A", "en": "Rule A"},
    "rule_b": {"es": "Regla B", "en": "Rule B"},
    "jaccard": {"es": "Índice de Jaccard", "en": "Jaccard index"},
    "kendall_tau": {"es": "Tau de Kendall", "en": "Kendall's tau"},
    "round": {"es": "Ronda", "en": "Round"},
    "p_increase": {"es": "Probabilidad de que haya subido", "en": "Probability it rose"},
    # 04 follow-up
    "table": {"es": "Tabla", "en": "Table"},
    "row": {"es": "Fila", "en": "Row"},
    "message": {"es": "Problema encontrado", "en": "Problem found"},
    "agreement_id": {"es": "Clave del acuerdo", "en": "Agreement code"},
    "due_date": {"es": "Para cuándo", "en": "By when"},
    "progress": {"es": "Avance (%)", "en": "Progress (%)"},
    "n_done": {"es": "Cumplidos", "en": "Fulfilled"},
    "n_known": {"es": "Con plazo conocido", "en": "With a known deadline"},
    "on_time": {"es": "A tiempo (proporción)", "en": "On time (share)"},
    "n_in_progress": {"es": "Acuerdos en proceso", "en": "Agreements in progress"},
    "n_cancelled": {"es": "Cancelados", "en": "Cancelled"},
    "n_rejected": {"es": "Rechazados", "en": "Rejected"},
    "events": {"es": "Cumplidos en el periodo", "en": "Fulfilled in the period"},
    "censored": {"es": "Aún abiertos", "en": "Still open"},
    "computable": {"es": "¿Se puede calcular?", "en": "Computable?"},
    "meeting": {"es": "Dónde se acordó", "en": "Where it was agreed"},
    "assembly_code": {"es": "Clave de la reunión", "en": "Meeting code"},
    "committed_date": {"es": "Fecha del acuerdo", "en": "Agreed on"},
    # 05 process
    "alpha": {"es": "Alfa de Cronbach", "en": "Cronbach's alpha"},
    "reliable": {"es": "¿Confiable (alfa ≥ 0.7)?", "en": "Reliable (alpha ≥ 0.7)?"},
    "r_item_rest": {"es": "Correlación con las demás", "en": "Correlation with the rest"},
    "alpha_if_deleted": {"es": "Alfa sin esta pregunta", "en": "Alpha without this item"},
    "mean_pre": {"es": "Promedio al inicio", "en": "Mean at the start"},
    "mean_post": {"es": "Promedio al final", "en": "Mean at the end"},
    "dz": {"es": "Tamaño del efecto (dz)", "en": "Effect size (dz)"},
    "assemblies_with_agreement": {"es": "Reuniones con acuerdos", "en": "Meetings with agreements"},
    "agreements": HEADINGS["agreements"],
    "agreements_followed": {"es": "Acuerdos con seguimiento", "en": "Agreements followed up"},
    "agreements_signed": {"es": "Acuerdos firmados", "en": "Agreements signed"},
    "agreements_recorded": {"es": "Acuerdos registrados al corte",
                            "en": "Agreements recorded by the cut-off"},
    "moment": {"es": "Momento", "en": "Moment"},
    # 06 impact
    "shift_months": {"es": "Meses de desfase", "en": "Months shifted"},
    "crimes": {"es": "Delitos", "en": "Crimes"},
    "month_index": {"es": "Mes número", "en": "Month number"},
    "log_crimes": {"es": "Logaritmo de (delitos + 1)", "en": "Log of (crimes + 1)"},
    "cohort_month": {"es": "Mes de entrada de su etapa", "en": "Joining month of its wave"},
    "cohort_t": {"es": "Número del mes de entrada", "en": "Number of the joining month"},
    "programme": {"es": "En el programa ese mes", "en": "In the programme that month"},
    "coding": {"es": "Cómo se fecha la entrada", "en": "How joining is dated"},
    "F": {"es": "Estadístico F", "en": "F statistic"},
    "np2": {"es": "Eta cuadrada parcial", "en": "Partial eta squared"},
    "baseline": {"es": "Nivel de partida", "en": "Baseline"},
    # 07 synthesis
    "n_behind": {"es": "Indicadores rezagados", "en": "Indicators lagging"},
    "behind": {"es": "Cuáles", "en": "Which ones"},
    "mean_norm": {"es": "Promedio en escala 0 a 1", "en": "Mean on a 0 to 1 scale"},
    "min_norm": {"es": "Mínimo en escala 0 a 1", "en": "Minimum on a 0 to 1 scale"},
    "weakest_territory": {"es": "Colonia más baja", "en": "Lowest neighbourhood"},
    "n_weak": {"es": "Colonias bajas", "en": "Neighbourhoods low"},
    "stage_mean_norm": {"es": "Promedio de esa parte", "en": "Mean of that part"},
    "weakest_stage": {"es": "¿Parte más débil?", "en": "Weakest part?"},
}
COLUMNS["sd"] = COLUMNS["std"]
COLUMNS["alpha_cronbach"] = COLUMNS["alpha"]
COLUMNS["p_value"] = COLUMNS["p_val"] = COLUMNS["p"]
COLUMNS["territory"] = COLUMNS["territory_id"]
COLUMNS["rate"] = COLUMNS["crime_rate"]
#: ``texts("column", code)``: a step's header that is also a result column's name is this one.
CATALOGUE["column"] = cast("dict[str, dict[str, str] | Like]", COLUMNS)


def column_label(code: str, lang: str = KIT_LANGUAGE) -> str | None:
    """The header of a result table's column ``code`` in ``lang`` (None when unknown).

    >>> column_label("blocks_covered", "en"), column_label("nope")
    ('Blocks with an assembly', None)
    """
    texts = COLUMNS.get(code)
    if not texts:
        return None
    return texts.get(lang) or texts[KIT_LANGUAGE]


# -- end of column names ------------------------------------------------------------------

#: Every kind of code the vocabulary serves.
KINDS: tuple[str, ...] = tuple(dict.fromkeys([*FORM_LISTS, *CITY_LISTS, *CATALOGUE]))


def _sources_dir() -> Path:
    from territoria.instruments.xlsform import default_surveys_dir

    return default_surveys_dir() / "src"


@functools.lru_cache(maxsize=4)
def choice_lists(src_dir: str | None = None) -> dict[str, dict[str, dict[str, dict[str, str]]]]:
    """The instruments' choice lists: source -> list -> code -> {language: text}.

    Read once from the YAML sources of the forms (``_choices.yml`` and each ``<form>.yml``).

    >>> choice_lists()["_choices"]["sex"]["male"]
    {'es': 'Hombre', 'en': 'Male'}
    """
    folder = Path(src_dir) if src_dir else _sources_dir()
    out: dict[str, dict[str, dict[str, dict[str, str]]]] = {}
    for source in sorted({s for s, _ in FORM_LISTS.values()}):
        path = folder / f"{source}.yml"
        try:
            doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or {}
        except (OSError, yaml.YAMLError) as e:
            raise ConfigError(f"{path}: cannot read the choice lists ({e})") from None
        lists = doc if source == "_choices" else (doc.get("choices") or {})
        out[source] = {name: dict(_options(items)) for name, items in lists.items()}
    return out


def warm_cache() -> None:
    """Read the forms' choice lists now: the pipeline's fork server calls this once, so each
    notebook it forks finds them read."""
    choice_lists()
    _kit()


@functools.lru_cache(maxsize=16)
def _questions(form: str) -> dict[str, dict[str, str]]:
    path = _sources_dir() / f"{form}.yml"
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"{path}: cannot read the form ({e})") from None
    return {str(r["name"]): {k: str(v) for k, v in (r.get("label") or {}).items()}
            for r in doc.get("survey") or [] if isinstance(r, dict) and r.get("name")}


def question(form: str, field: str, lang: str = KIT_LANGUAGE) -> str:
    """The question a form asks for ``field`` (its label in ``surveys/src/<form>.yml``), so
    reports quote the instrument instead of re-typing it; an unknown field shows its name.

    >>> question("process", "pe_rep_efficacy", "en")
    'People like me can influence the decisions of the borough government.'
    >>> question("process", "pe_not_asked")
    'pe_not_asked'
    """
    texts = _questions(form).get(field)
    if not texts:
        return field
    return texts.get(lang) or texts.get(KIT_LANGUAGE) or next(iter(texts.values()))


def _options(items: Any) -> Iterable[tuple[str, dict[str, str]]]:
    for item in items or []:
        if isinstance(item, list):
            yield str(item[0]), {"es": str(item[1]), "en": str(item[2])}
        else:
            texts = {k: str(v) for k, v in item.items() if k in ("es", "en")}
            yield str(item["name"]), texts


def _missing(code: Any) -> bool:
    return code is None or (isinstance(code, float) and math.isnan(code)) \
        or (isinstance(code, str) and not code.strip())


class Vocabulary:
    """Labels of the shared codes for one city (or the kit's defaults without one).

    Parameters
    ----------
    city : CityConfig, optional
        The workspace's ``city.yml``. Without it, the forms' labels in Spanish and English.

    Examples
    --------
    >>> v = Vocabulary()
    >>> v.label("agreement_status", "in_progress", "es")
    'En proceso'
    >>> v.codes("meeting_mode")
    ('in_person', 'virtual', 'hybrid')
    >>> v.label("territory_kind", None, "es")
    ''
    """

    def __init__(self, city: CityConfig | None = None):
        self.city = city
        self.languages: list[str] = list(city.languages) if city else ["es", "en"]
        self.first_language: str = city.default_language if city else KIT_LANGUAGE

    def _entries(self, kind: str) -> Mapping[str, Mapping[str, str]]:
        if kind not in KINDS:
            raise ConfigError(f"'{kind}' is not a kind of code of the vocabulary "
                              f"(known: {', '.join(KINDS)})")
        if self.city is not None and kind in CITY_LISTS:
            declared = getattr(self.city, CITY_LISTS[kind])
            if declared:
                return {x.id: x.label.texts() for x in declared}
        if kind in FORM_LISTS:
            source, name = FORM_LISTS[kind]
            return choice_lists()[source][name]
        return {code: (self._entries(e.kind).get(e.code) or {KIT_LANGUAGE: e.code})
                if isinstance(e, Like) else e for code, e in CATALOGUE.get(kind, {}).items()}

    def codes(self, kind: str) -> tuple[str, ...]:
        """The known codes of ``kind``, in their declared order (empty: any code is accepted)."""
        return tuple(self._entries(kind))

    def label(self, kind: str, code: Any, lang: str | None = None) -> str:
        """The label of ``code`` in ``lang``: else the city's first language, else Spanish,
        else the code itself ('' for a missing code)."""
        if _missing(code):
            return ""
        texts = self._entries(kind).get(str(code))
        if not texts:
            # a closed list's unknown code raises in the tests (strict i18n), else shows as is
            return tr({}, str(code)) if kind in CLOSED_KINDS else str(code)
        lang = lang or self.first_language
        return (texts.get(lang) or texts.get(self.first_language) or texts.get(KIT_LANGUAGE)
                or next(iter(texts.values())))

    def labels(self, kind: str, codes: Iterable[Any], lang: str | None = None) -> list[str]:
        """:meth:`label` of each code."""
        return [self.label(kind, c, lang) for c in codes]

    def texts(self, kind: str, code: Any) -> dict[str, str]:
        """``{language: label}`` of ``code`` in the kit's and the city's languages (the shape
        of a view's title or column header).

        >>> Vocabulary().texts("heading", "from")
        {'es': 'Desde', 'en': 'From'}
        """
        return {lg: self.label(kind, code, lg) for lg in dict.fromkeys(["es", "en",
                                                                        *self.languages])}

    def label_columns(self, kind: str, codes: Iterable[Any],
                      languages: Iterable[str] = ("es", "en"),
                      prefix: str = "label") -> dict[str, list[str]]:
        """``{"<prefix>_<lang>": [labels]}`` for each language, to ``DataFrame.assign``."""
        codes = list(codes)
        return {f"{prefix}_{lg}": self.labels(kind, codes, lg) for lg in languages}

    def group_label(self, sex: str, age_group: str, lang: str | None = None) -> str:
        """Name of a sex x age group ("Mujeres de 18 a 29 años").

        >>> Vocabulary().group_label("female", "18_29", "en")
        'Women aged 18–29'
        """
        return f"{self.label('sex_group', sex, lang)} {self.label('age_phrase', age_group, lang)}"


@functools.lru_cache(maxsize=1)
def _kit() -> Vocabulary:
    return Vocabulary()


def label(kind: str, code: Any, lang: str = KIT_LANGUAGE, city: CityConfig | None = None) -> str:
    """Label of ``code`` (a value of ``kind``) in ``lang``; see :class:`Vocabulary`."""
    return (Vocabulary(city) if city is not None else _kit()).label(kind, code, lang)


def labels(kind: str, codes: Iterable[Any], lang: str = KIT_LANGUAGE,
           city: CityConfig | None = None) -> list[str]:
    """:func:`label` of each code."""
    return (Vocabulary(city) if city is not None else _kit()).labels(kind, codes, lang)


def texts(kind: str, code: Any, city: CityConfig | None = None) -> dict[str, str]:
    """``{language: label}`` of ``code``; see :meth:`Vocabulary.texts`.

    >>> texts("geo_level", "city")
    {'es': 'Alcaldía', 'en': 'Borough'}
    """
    return (Vocabulary(city) if city is not None else _kit()).texts(kind, code)


def codes(kind: str, city: CityConfig | None = None) -> tuple[str, ...]:
    """The known codes of ``kind`` (empty when a city declares none: any code is accepted).

    >>> codes("link_area")
    ()
    >>> codes("sex")
    ('female', 'male')
    """
    return (Vocabulary(city) if city is not None else _kit()).codes(kind)


def label_columns(kind: str, codes: Iterable[Any], languages: Iterable[str] = ("es", "en"),
                  city: CityConfig | None = None, prefix: str = "label") -> dict[str, list[str]]:
    """``{"label_es": [...], "label_en": [...]}`` for ``codes``; see :meth:`Vocabulary.label_columns`."""
    v = Vocabulary(city) if city is not None else _kit()
    return v.label_columns(kind, codes, languages, prefix)


def code_texts(kind: str, city: CityConfig | None = None) -> dict[str, dict[str, str]]:
    """Every known code of ``kind`` -> ``{language: label}`` (:meth:`Vocabulary.texts`): what
    :func:`territoria.steps.display.show` takes as ``labels=`` for a column of such codes.

    >>> code_texts("anova_source")["wave"]["en"]
    'Survey wave (before and after)'
    """
    v = Vocabulary(city) if city is not None else _kit()
    return {code: v.texts(kind, code) for code in v.codes(kind)}
