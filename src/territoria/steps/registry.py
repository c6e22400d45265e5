"""The step registry: one declaration of each step of the method.

Each :class:`Step` says its id, scope (``city``: once; ``territory``: once per territory), the
module that computes it, its notebook, its title (es/en) and its **inputs**: the store tables it
reads, the columns it needs, the minimum rows, and which form or file fills each table (with
the ``territoria template`` / ``ingest`` command to run). The runner
(:mod:`territoria.pipeline.steps`), the site's titles, the kernel preload and the step package
(:mod:`territoria.steps`) all derive from :data:`STEPS`; nothing else lists the steps.

An input is *required* (without it nothing of the step can be computed: the notebook ends
with the status ``no-data``) or *optional* (the sections listed in ``sections`` are marked
"no data yet" and the others are computed). :func:`territoria.steps.common.check_inputs`
checks them before any computation.

This module imports nothing but the standard library, so every layer may read it.

Examples
--------
>>> [s.id for s in STEPS][:3]
['00_selection', '01_network', '02_diagnostic']
>>> step_by_id("02_diagnostic").module
'territoria.steps.s02_diagnostic'
>>> [i.table for i in step_by_id("03_agenda").inputs if i.required]
['territories', 'proposals', 'votes', 'votes__votes']
>>> SOURCES["diagnostic"].command
'territoria ingest -w . <export of the form territoria_diagnostic>'
>>> sorted(input_tables())[:4]
['agreement_updates', 'agreements', 'assembly', 'assembly__agreements']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Source:
    """What fills a store table: a survey form or a file, and the command that loads it.

    Attributes
    ----------
    what : dict
        ``{"es": ..., "en": ...}``: the form or file, as a person in the unit names it.
    command : str
        What to run (``territoria template KIND``, then ``territoria ingest``).
    """

    what: dict
    command: str


def _form(form: str, es: str, en: str) -> Source:
    return Source({"es": f"el formulario «{es}» ({form})", "en": f"the form “{en}” ({form})"},
                  f"territoria ingest -w . <export of the form {form}>")


def _file(kind: str, es: str, en: str) -> Source:
    return Source({"es": f"el archivo de {es}", "en": f"the {en} file"},
                  f"territoria template {kind} && territoria ingest -w . <{kind} file>")


#: Store table -> what fills it.
SOURCES: dict[str, Source] = {
    "territories": _file("territories", "territorios (capa de colonias)",
                         "territories (neighbourhood layer)"),
    "zones": _file("zones", "zonas (direcciones territoriales)", "zones"),
    "programme": _file("programme", "programa (colonias, etapas y fechas de entrada)",
                       "programme (territories, cohorts and joining dates)"),
    "blocks": _file("blocks", "manzanas", "blocks"),
    "census_margins": _file("census", "población por sexo y edad (censo)",
                            "population by sex and age (census)"),
    "social_index": _file("social_index", "índice de desarrollo social",
                          "social-development index"),
    "crime_counts": _file("crime", "delitos (carpetas de investigación)",
                          "crime records"),
    "links": _file("links", "enlaces comunitarios", "community links"),
    "diagnostic": _form("territoria_diagnostic", "Diagnóstico participativo",
                        "Participatory diagnostic"),
    "assembly": _form("territoria_assembly", "Registro de asambleas", "Assembly record"),
    "assembly__agreements": _form("territoria_assembly", "Registro de asambleas (acuerdos)",
                                  "Assembly record (agreements)"),
    "proposals": _form("territoria_proposals", "Propuestas", "Proposals"),
    "votes": _form("territoria_votes", "Votaciones", "Votes"),
    "votes__votes": _form("territoria_votes", "Votaciones (votos)", "Votes (each vote)"),
    "tallies": _form("territoria_tallies", "Conteos de asamblea", "Assembly tallies"),
    "tallies__tally": _form("territoria_tallies", "Conteos de asamblea (conteo)",
                            "Assembly tallies (counts)"),
    "followup": _form("territoria_followup", "Seguimiento de acuerdos",
                      "Follow-up of agreements"),
    "process": _form("territoria_process", "Evaluación del proceso",
                     "Process questionnaire"),
    "wellbeing": _form("territoria_wellbeing", "Panel de bienestar", "Wellbeing panel"),
    "agreements": Source({"es": "el registro de acuerdos", "en": "the agreements ledger"},
                         "territoria ledger sync -w ."),
    "agreement_updates": Source({"es": "el registro de acuerdos (avances)",
                                 "en": "the agreements ledger (updates)"},
                                "territoria ledger sync -w ."),
    "indicators": Source({"es": "los resultados de los pasos 01 a 06",
                          "en": "the results of steps 01 to 06"},
                         "territoria run -w . --steps 01,02,03,04,05,06"),
}


@dataclass(frozen=True)
class Input:
    """One store table a step reads.

    Attributes
    ----------
    table : str
        Store table.
    columns : tuple of str
        Columns the step needs (all must be present).
    min_rows : int
        Rows needed (of the territory, for a territory step when ``territory_column`` is set).
    territory_column : str or None
        Column holding the territory id; None: rows are counted over the whole table.
    required : bool
        True: without it the step ends ``no-data``; False: the ``sections`` are marked.
    sections : tuple of str
        Result tables (view keys) that need this input (optional inputs).
    where : str, optional
        SQL condition on the rows that count (e.g. territories never in the programme).
    count : str, optional
        SQL aggregate counted instead of rows (e.g. ``count(DISTINCT month)``).
    fills : str, optional
        Key of :data:`SOURCES` when another file than the table's own fills these rows.
    rows_are : dict, optional
        ``{"es": ..., "en": ...}``: what the counted rows are, when ``where`` is set.
    city_wide : bool or tuple of str
        Territory steps: the step also reads *other* territories' rows of this table (its
        comparisons with the programme or the city). True: every column; a tuple: only these
        columns. False: only the territory's own rows and rows of no territory. The runner's
        up-to-date check follows it (:mod:`territoria.pipeline.fingerprint`): a change in
        another territory's rows reruns the step only through a city-wide read.
    about : tuple of str
        With ``where``: the columns whose values the condition asks for. When the table has
        rows but too few meet the condition, what is missing is these columns
        (``territories.joined_on``), not the table.
    lacks : dict, optional
        With ``about``: ``{"es": ..., "en": ...}``, what is lacking then, in plain words,
        and which file or column fills it (``{rows}`` and ``{min_rows}`` may be used).
    """

    table: str
    columns: tuple[str, ...] = ()
    min_rows: int = 1
    territory_column: str | None = "territory"
    required: bool = True
    sections: tuple[str, ...] = ()
    where: str | None = None
    rows_are: dict | None = None
    count: str | None = None
    fills: str | None = None
    city_wide: bool | tuple[str, ...] = False
    about: tuple[str, ...] = ()
    lacks: dict | None = None

    @property
    def matters(self) -> bool:
        """A missing input matters when it is required or some section needs it; an optional
        input with no sections only enriches the step (e.g. the ledger beside the forms)."""
        return self.required or bool(self.sections)

    @property
    def source(self) -> Source:
        """What fills the table (``fills`` names another source, e.g. the programme file
        for the territories' joining dates)."""
        return SOURCES[self.fills or self.table]


@dataclass(frozen=True)
class Step:
    """One methodology step: its notebook, its module and its inputs.

    Attributes
    ----------
    id : str
        ``NN_name``, also the notebook's file stem and the output folder name.
    scope : {"city", "territory"}
        Run once, or once per territory.
    title : dict
        ``{"es": ..., "en": ...}``.
    module : str
        Dotted path of the step module (``territoria.steps.sNN_name``).
    inputs : tuple of Input
    reads_results : tuple of str
        Ids of the earlier steps whose *recorded results* (``indicators`` and result tables,
        collected into the store by the runner) this step reads. The runner records those
        steps before it starts this one; steps that read none of each other's results run
        together in one batch (:func:`batches`). Their results are also part of the step's
        fingerprint (:mod:`territoria.pipeline.fingerprint`): results of a step it does not
        read never make it out of date.
    """

    id: str
    scope: str
    title: dict
    module: str = ""
    inputs: tuple[Input, ...] = ()
    reads_results: tuple[str, ...] = ()

    @property
    def number(self) -> str:
        return self.id.split("_", 1)[0]

    @property
    def is_city(self) -> bool:
        return self.scope == "city"

    @property
    def notebook(self) -> str:
        """File name of the step's notebook."""
        return f"{self.id}.ipynb"


_T = "territory_id"
#: Every territory step needs its territory in the catalogue.
_TERRITORY = Input("territories", ("territory_id", "name", "population"), territory_column=_T)
#: ... and shows it with its zone's name and its social index
#: (:meth:`territoria.steps.common.StepContext.territories`).
_CATALOGUE = (Input("zones", ("zone_id", "name"), 1, None, required=False),
              Input("social_index", ("territory_id", "value"), territory_column=_T,
                    required=False))
#: Step 06 without join dates: what lacks and what fills it (the programme file).
_NO_JOIN_DATES = {
    "es": "ninguna colonia tiene fecha de incorporación al programa (joined_on) ni cohorte con "
          "fecha (cohort): sin ellas no hay un antes y un después que comparar; cárguelas con "
          "el archivo de programa (programme.csv, con territory_id, priority, cohort y "
          "joined_on; las cohortes se declaran en city.yml)",
    "en": "no territory has a programme joining date (joined_on) nor a dated cohort (cohort): "
          "without them there is no before and after to compare; load them with the programme "
          "file (programme.csv, with territory_id, priority, cohort and joined_on; cohorts are "
          "declared in city.yml)"}
#: ... and without territories that never joined (the comparison group).
_NO_COMPARISON = {
    "es": "hay {rows} colonias que nunca entraron al programa (joined_on vacío) y se necesitan "
          "al menos {min_rows} para compararlas con las que sí entraron: en el archivo de "
          "programa (programme.csv), las colonias que no han entrado van con cohort y "
          "joined_on vacíos",
    "en": "{rows} territories never joined the programme (joined_on empty) and at least "
          "{min_rows} are needed to compare with those that joined: in the programme file "
          "(programme.csv), territories that have not joined have cohort and joined_on empty"}

STEPS: tuple[Step, ...] = (
    Step("00_selection", "city",
         {"es": "Selección de territorios", "en": "Territorial selection"},
         "territoria.steps.s00_selection", (
             Input("territories", ("territory_id", "population"), 2, None),
             Input("crime_counts", ("territory_id", "month", "count"), 1, None),
             Input("social_index", ("territory_id", "value"), 1, None, required=False),
             Input("zones", ("zone_id", "name"), 1, None, required=False),
         )),
    Step("01_network", "territory",
         {"es": "Red y asambleas", "en": "Network and assemblies"},
         "territoria.steps.s01_network", (
             # block coverage of the programme; attendance and census of every territory met
             replace(_TERRITORY, city_wide=("territory_id", "priority")), *_CATALOGUE,
             Input("assembly", ("territory", "kind", "mode", "date", "block"), city_wide=True),
             Input("blocks", ("block_id", "territory_id"), territory_column=_T, required=False,
                   sections=("coverage",), city_wide=("block_id", "territory_id")),
             Input("links", ("territory_id", "area"), territory_column=_T, required=False,
                   sections=("links",)),
             Input("census_margins", ("territory_id", "sex", "age_group", "population"),
                   territory_column=_T, required=False,
                   sections=("representation",), city_wide=True),
             Input("process", ("participant_code", "territory", "moment"), required=False,
                   sections=("repeat",)),
             Input("votes", ("participant_code", "territory", "round"), required=False,
                   sections=("repeat",)),
         )),
    Step("02_diagnostic", "territory",
         {"es": "Diagnóstico participativo", "en": "Participatory diagnostic"},
         "territoria.steps.s02_diagnostic", (
             # the city's weighted diagnostic beside the territory's: every territory surveyed
             replace(_TERRITORY, city_wide=True), *_CATALOGUE,
             Input("diagnostic", ("territory", "block", "sex", "age_group", "problems"),
                   city_wide=True),
             Input("blocks", ("block_id", "territory_id"), territory_column=_T, city_wide=True),
             Input("census_margins", ("territory_id", "sex", "age_group", "population"),
                   territory_column=_T, city_wide=True),
         )),
    Step("03_agenda", "territory",
         {"es": "Agenda y consensos", "en": "Agenda and consensus"},
         "territoria.steps.s03_agenda", (
             _TERRITORY, *_CATALOGUE,
             Input("proposals", ("proposal_code", "territory", "axis", "title")),
             Input("votes", ("participant_code", "territory", "round")),
             Input("votes__votes", ("proposal_code", "vote"), territory_column=None),
             Input("tallies", ("assembly_code", "territory", "round"), required=False,
                   sections=("trajectory",)),
             Input("tallies__tally", ("proposal_code", "n_agree", "n_disagree"),
                   territory_column=None, required=False, sections=("trajectory",)),
             Input("diagnostic", ("territory", "problem_1"), required=False,
                   sections=("axes",)),
         )),
    Step("04_followup", "territory",
         {"es": "Seguimiento de acuerdos", "en": "Follow-up of agreements"},
         "territoria.steps.s04_followup", (
             _TERRITORY, *_CATALOGUE,
             Input("assembly", ("territory", "assembly_code", "date")),
             Input("assembly__agreements", ("agreement_code", "department", "due_date"),
                   territory_column=None),
             Input("followup", ("agreement_code", "territory", "update_date", "status"),
                   required=False, sections=("time_to_fulfilment", "overdue")),
             Input("agreements", ("agreement_id", "territory_id"), territory_column=_T,
                   required=False),
             Input("agreement_updates", ("agreement_id",), territory_column=None,
                   required=False),
         ), reads_results=("03_agenda",)),  # the agenda's ranks and departments
    Step("05_process", "territory",
         {"es": "Evaluación del proceso", "en": "Process evaluation"},
         "territoria.steps.s05_process", (
             _TERRITORY, *_CATALOGUE,
             Input("process", ("participant_code", "territory", "moment")),
             Input("assembly", ("territory", "date"), required=False, sections=()),
             Input("assembly__agreements", ("agreement_code",), territory_column=None,
                   required=False),
             Input("followup", ("agreement_code", "territory", "status"), required=False,
                   city_wide=("agreement_code", "status")),
         )),
    Step("06_impact", "city",
         {"es": "Evaluación de impacto", "en": "Impact evaluation"},
         "territoria.steps.s06_impact", (
             Input("territories", ("territory_id", "population", "joined_on"), 1, None,
                   where="joined_on IS NOT NULL", fills="programme",
                   rows_are={"es": "colonias con fecha de entrada al programa",
                             "en": "territories with a programme joining date"},
                   about=("joined_on",), lacks=_NO_JOIN_DATES),
             Input("territories", ("territory_id", "population", "joined_on"), 2, None,
                   where="joined_on IS NULL", fills="programme",
                   rows_are={"es": "colonias que nunca entraron al programa (comparación)",
                             "en": "territories never in the programme (comparison)"},
                   about=("joined_on",), lacks=_NO_COMPARISON),
             Input("crime_counts", ("territory_id", "month", "count"), 24, None,
                   count="count(DISTINCT month)",
                   rows_are={"es": "meses con delitos registrados",
                             "en": "months with crime records"}),
             Input("wellbeing", ("respondent_code", "territory", "wave"), 2, None,
                   required=False, sections=("wellbeing", "power"),
                   count="count(DISTINCT wave)",
                   rows_are={"es": "rondas del panel: antes y después",
                             "en": "panel waves: before and after"}),
         )),
    Step("07_synthesis", "city",
         {"es": "Síntesis de la alcaldía", "en": "Borough synthesis"},
         "territoria.steps.s07_synthesis", (
             Input("indicators", ("territory_id", "name", "value"), 1, None,
                   where="territory_id IS NOT NULL",
                   rows_are={"es": "indicadores de colonias (pasos 01 a 05)",
                             "en": "territory indicators (steps 01 to 05)"}),
             Input("process", ("territory",), 1, None, required=False,
                   sections=("process_comparison",)),
         ), reads_results=("00_selection", "01_network", "02_diagnostic", "03_agenda",
                           "04_followup", "05_process", "06_impact")),
)

#: Step id -> step.
BY_ID: dict[str, Step] = {s.id: s for s in STEPS}


def batches(steps: Iterable[Step]) -> list[list[Step]]:
    """``steps`` (in execution order) cut where a step reads the results of one before it.

    The steps of one batch read none of each other's results, so the runner executes all
    their notebooks together and records them once; the next batch starts after that.

    Examples
    --------
    >>> [[s.number for s in b] for b in batches(STEPS)]
    [['00', '01', '02', '03'], ['04', '05', '06'], ['07']]
    >>> [[s.number for s in b] for b in batches([BY_ID["04_followup"], BY_ID["05_process"]])]
    [['04', '05']]
    """
    out: list[list[Step]] = []
    for step in steps:
        if out and not set(step.reads_results) & {s.id for s in out[-1]}:
            out[-1].append(step)
        else:
            out.append([step])
    return out


def step_by_id(step_id: str) -> Step:
    """The registered step with this exact id (``KeyError`` naming the allowed ids)."""
    try:
        return BY_ID[step_id]
    except KeyError:
        raise KeyError(f"unknown step '{step_id}' (allowed: {', '.join(BY_ID)})") from None


def input_tables() -> set[str]:
    """Every store table some step reads."""
    return {i.table for s in STEPS for i in s.inputs}


def step_modules() -> dict[str, str]:
    """Step id -> module path, in step order."""
    return {s.id: s.module for s in STEPS}


def titles() -> dict[str, tuple[str, str]]:
    """Step id -> (Spanish title, English title), in step order (for the site)."""
    return {s.id: (s.title["es"], s.title["en"]) for s in STEPS}
