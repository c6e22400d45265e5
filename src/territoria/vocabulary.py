"""One vocabulary: the labels of the codes every module shares, in the city's languages.

A *code* is a stored value (``female``, ``18_29``, ``water_utility``, ``in_person``...); its
*label* is what a resident reads. Labels come from one place per kind of code, first found wins:

1. ``city.yml`` for what a city sets: ``axes``, ``departments``, ``link_areas`` (any language
   code; a text missing in a language falls back to the city's first language);
2. the instruments' choice lists (``surveys/src/_choices.yml`` and a form's own lists), in
   Spanish and English: sex, age group, axis, department, meeting kind and mode, agreement
   status, proposal round;
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
from typing import TYPE_CHECKING, Any, NamedTuple

import yaml

from territoria.exceptions import ConfigError
from territoria.i18n import tr

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
    "heading", "run_status", "geo_level", "process_stage", "iap2_level", "mechanism",
    "ensu_place", "wellbeing", "yes_no"})


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
    "run_status": {  # status of a step's notebook for a territory (runner, coverage page)
        "ok": {"es": "Completo", "en": "Complete"},
        "partial": {"es": "Parcial", "en": "Partial"},
        "no-data": {"es": "Aún no hay datos", "en": "No data yet"},
        "failed": {"es": "Con error", "en": "Failed"},
        "not-run": {"es": "Sin calcular", "en": "Not computed"},
    },
    "heading": HEADINGS,  # type: ignore[dict-item]
}

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
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as e:
            raise ConfigError(f"{path}: cannot read the choice lists ({e})") from None
        lists = doc if source == "_choices" else (doc.get("choices") or {})
        out[source] = {name: dict(_options(items)) for name, items in lists.items()}
    return out


@functools.lru_cache(maxsize=16)
def _questions(form: str) -> dict[str, dict[str, str]]:
    path = _sources_dir() / f"{form}.yml"
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
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
