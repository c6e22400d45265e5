"""City and workspace configuration: ``city.yml`` validated with pydantic, paths in one place.

A *workspace* is a folder made by ``territoria init`` (or ``territoria demo``)::

    city.yml            the city's configuration (this module validates it)
    data/raw/           input files, never modified
    territoria.duckdb   the store
    output/             executed notebooks
    site/               the published reports
    .secret             pseudonymisation key (mode 0600, never published)

Examples
--------
>>> cfg = CityConfig.model_validate({"name": "Demo", "languages": ["es", "en"]})
>>> cfg.default_language
'es'
>>> cfg.min_cell_size
5
>>> try:
...     CityConfig.model_validate({"name": "Demo", "min_cell_size": -1})
... except Exception as e:
...     print(type(e).__name__)
ValidationError
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import core_schema

from territoria.exceptions import ConfigError

CITY_FILE = "city.yml"
STORE_FILE = "territoria.duckdb"
SECRET_FILE = ".secret"
SUPPORTED_LANGUAGES = ("es", "en")  # languages of the kit's own texts; cities may add any code
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class Label(BaseModel):
    """A text in each of the city's languages (any language code: ``es``, ``en``, ``pt``...).

    At least one text is required. :meth:`get` falls back to the first text given, which is the
    city's first language when ``city.yml`` lists them in that order.

    Examples
    --------
    >>> Label(es="colonia", en="neighbourhood").get("en")
    'neighbourhood'
    >>> Label.model_validate({"pt": "bairro"}).get("es")
    'bairro'
    """

    model_config = ConfigDict(extra="allow", frozen=False)

    es: str | None = None
    en: str | None = None

    @model_validator(mode="after")
    def _one_text(self) -> Label:
        texts = self.texts()
        if not texts:
            raise ValueError("a label needs a text in at least one language")
        bad = [k for k in texts if not LANGUAGE_CODE.match(k)]
        if bad:
            raise ValueError(f"'{bad[0]}' is not a language code (e.g. es, en, pt, nah)")
        return self

    def texts(self) -> dict[str, str]:
        """The texts given, language code -> text, in the order of the file."""
        extra = self.model_extra or {}
        out = {k: v for k, v in (("es", self.es), ("en", self.en)) if v}
        out.update({k: str(v) for k, v in extra.items() if v})
        return out

    def get(self, lang: str, fallback: str | None = None) -> str:
        """Return the text in ``lang``, else in ``fallback``, else the first text given."""
        texts = self.texts()
        return texts.get(lang) or (texts.get(fallback) if fallback else None) \
            or next(iter(texts.values()))


class Name(str):
    """A proper name in ``city.yml``: one text, the same in every language, or one text per
    language (``{es: Zona 05, en: Zone 05}``). It *is* the text in the city's first language
    (a ``str``), so code that only needs one name keeps working; :meth:`get` gives the others,
    falling back to the first language.

    Examples
    --------
    >>> n = Name.of({"es": "Zona 05", "en": "Zone 05"})
    >>> n, n.get("en"), n.get("pt")
    ('Zona 05', 'Zone 05', 'Zona 05')
    >>> Name.of("Iztapalapa").get("en")
    'Iztapalapa'
    >>> Name.of({"es": "Zona 05", "en": "Zone 05"}, first="en")
    'Zone 05'
    """

    texts: dict[str, str]

    @classmethod
    def of(cls, value: str | Label | dict[str, str], first: str | None = None) -> Name:
        """A name from a text or a :class:`Label`/mapping; ``first``: the city's first language."""
        plain = str(value) if isinstance(value, str) else ""
        if isinstance(value, Name):
            texts = dict(value.texts)
        elif isinstance(value, str):
            texts = {}
        else:
            texts = (value if isinstance(value, Label) else Label.model_validate(value)).texts()
        if texts:
            plain = texts.get(first or "") or next(iter(texts.values()))
        obj = super().__new__(cls, plain)
        obj.texts = texts
        return obj

    def get(self, lang: str) -> str:
        """The name in ``lang``, else the name in the city's first language."""
        return self.texts.get(lang) or str(self)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any,
                                     handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        def make(v: Any) -> Name:
            if isinstance(v, str) and not v.strip():
                raise ValueError("a name must not be empty")
            return cls.of(v)

        return core_schema.no_info_after_validator_function(
            make, core_schema.union_schema([core_schema.str_schema(),
                                            handler.generate_schema(Label)]),
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda v: v.texts or str(v)))


class Levels(_Strict):
    """Names of the territorial levels, as residents call them."""

    city: Label = Label(es="alcaldía", en="borough")
    zone: Label = Label(es="dirección territorial", en="territorial directorate")
    territory: Label = Label(es="colonia", en="neighbourhood")
    block: Label = Label(es="manzana", en="block")


class Axis(_Strict):
    """A thematic axis of the diagnostic and the agenda.

    ``department`` is the id of the department that usually answers proposals of this axis
    (one of ``departments``); without it, proposals of the axis have no default owner.
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: Label
    department: str | None = Field(None, pattern=r"^[a-z][a-z0-9_]*$")


class Department(_Strict):
    """A government department that makes and follows up agreements."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: Label


class LinkArea(_Strict):
    """An area of action of the volunteer community links."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: Label


class Period(_Strict):
    """A period of dates, both ends included."""

    start: dt.date
    end: dt.date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end is not None and self.end < self.start:
            raise ValueError("end must not be before start")
        return self


class Programme(_Strict):
    """Facts of the programme that the steps need; each has a documented default.

    Attributes
    ----------
    start : date, optional
        When the programme started. Default: the earliest ``cohorts[].joined_on``, else the
        earliest join date recorded in the store; without either, step 00 uses all crime.
    size : int, optional
        How many territories step 00 selects. Default: the territories recorded in the
        programme, else one in ten territories (at least one).
    remote_meetings : Period, optional
        When assemblies moved to virtual or hybrid modes (in Iztapalapa: the 2020 pandemic).
        Default: none, and step 01 reports the remote share over the whole period.
    """

    start: dt.date | None = None
    size: int | None = Field(default=None, ge=1)
    remote_meetings: Period | None = None


class Cohort(_Strict):
    """Territories that joined the programme on the same date."""

    id: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    joined_on: dt.date
    label: Label | None = None


class DataSource(_Strict):
    """An input file of the workspace, relative to ``data/raw/``."""

    kind: Literal[
        "territories", "zones", "blocks", "crime", "social_index", "survey", "ledger", "other"
    ]
    path: str
    instrument: str | None = None
    description: str | None = None


#: Default of ``city.yml: agenda.agreed_min_consensus`` (methodology/03_agenda.md).
DEFAULT_AGREED_MIN_CONSENSUS = 0.5


class AgendaSettings(_Strict):
    """How step 03 judges the Local Development Agenda.

    Attributes
    ----------
    agreed_min_consensus : float
        Least group-informed consensus (0 to 1) for a proposal to be an *agreed priority*
        (it also needs every opinion group leaning to agree, and not to be divisive).
        Default 0.5: in the typical opinion group at least half effectively agree. Allowed:
        more than 0, at most 1.
    """

    agreed_min_consensus: float = Field(default=DEFAULT_AGREED_MIN_CONSENSUS, gt=0, le=1)

    @field_validator("agreed_min_consensus", mode="before")
    @classmethod
    def _a_number(cls, v: Any) -> Any:
        if isinstance(v, bool):  # YAML's yes/true would pass as 1.0
            raise ValueError("a number more than 0 and at most 1 is needed (e.g. 0.5)")
        return v


class SelectionWeights(_Strict):
    """Weights of the composite priority index (step 00)."""

    social_index: float = Field(default=0.5, ge=0)
    crime_rate: float = Field(default=0.4, ge=0)
    population: float = Field(default=0.1, ge=0)
    normalisation: Literal["minmax", "zscore", "rank"] = "minmax"


class CityConfig(_Strict):
    """The validated content of ``city.yml``.

    ``name`` and the values of ``zones`` (zone id -> name) are :class:`Name`: one text for
    every language or one per language; names missing in a language fall back to the first
    of ``languages``.
    """

    name: Name
    country: str = "MX"
    languages: list[str] = Field(default_factory=lambda: ["es", "en"])
    default_language: str = ""
    levels: Levels = Field(default_factory=Levels)
    axes: list[Axis] = Field(default_factory=list)
    departments: list[Department] = Field(default_factory=list)
    link_areas: list[LinkArea] = Field(default_factory=list)
    programme: Programme = Field(default_factory=Programme)
    cohorts: list[Cohort] = Field(default_factory=list)
    cohort_coding: Literal["first_exposed_period", "first_full_period"] = "first_exposed_period"
    min_cell_size: int = Field(5, ge=1, le=1000)
    #: Days after today a date or timestamp in an input may fall (clocks of phones and
    #: servers differ); anything later is quarantined (rule ``future_date``).
    future_tolerance_days: int = Field(1, ge=0, le=366)
    selection: SelectionWeights = Field(default_factory=SelectionWeights)
    agenda: AgendaSettings = Field(default_factory=AgendaSettings)
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    sources: list[DataSource] = Field(default_factory=list)
    illustrative_zones: bool = False
    #: Names of zones by zone id, in each language (override the names ingested).
    zones: dict[str, Name] = Field(default_factory=dict)
    seed: int | None = None

    @field_validator("languages")
    @classmethod
    def _languages_not_empty(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("at least one language is needed")
        bad = [x for x in v if not LANGUAGE_CODE.match(str(x))]
        if bad:
            raise ValueError(f"'{bad[0]}' is not a language code (e.g. es, en, pt, nah)")
        if len(set(v)) != len(v):
            raise ValueError("languages must not repeat")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> CityConfig:
        if not self.default_language:
            self.default_language = self.languages[0]
        first = self.languages[0]
        self.name = Name.of(self.name, first)
        self.zones = {k: Name.of(v, first) for k, v in self.zones.items()}
        if self.default_language not in self.languages:
            raise ValueError(
                f"default_language '{self.default_language}' must be one of languages {self.languages}"
            )
        ids = [c.id for c in self.cohorts]
        if len(set(ids)) != len(ids):
            raise ValueError("cohort ids must be unique")
        axes = [a.id for a in self.axes]
        if len(set(axes)) != len(axes):
            raise ValueError("axis ids must be unique")
        if self.period_start and self.period_end and self.period_start > self.period_end:
            raise ValueError("period_start must not be after period_end")
        for what, items in (("department", self.departments), ("link area", self.link_areas)):
            ids = [x.id for x in items]
            if len(set(ids)) != len(ids):
                raise ValueError(f"{what} ids must be unique")
        deps = {d.id for d in self.departments}
        for a in self.axes:
            if a.department and deps and a.department not in deps:
                raise ValueError(f"axis '{a.id}' names department '{a.department}', which is "
                                 f"not in departments ({', '.join(sorted(deps))})")
        return self

    def label(self, label: Label | None, lang: str, default: str = "") -> str:
        """Text of ``label`` in ``lang``, falling back to the city's default language."""
        if label is None:
            return default
        return label.get(lang, self.default_language)

    def city_name(self, lang: str) -> str:
        """The city's name in ``lang`` (``name: {es: ..., en: ...}``), else in the first
        language."""
        return self.name.get(lang)

    def zone_name(self, zone_id: str, lang: str, default: str | None = None,
                  ingested: dict[str, str] | None = None) -> str:
        """A zone's name in ``lang``: ``city.yml: zones`` first, then the names ingested
        (``ingested``: language -> name, e.g. from a ``name_en`` column), then ``default``
        (the ingested name), then the zone id.

        >>> cfg = CityConfig.model_validate({"name": "X", "zones": {"Z5": {"es": "Zona 5",
        ...                                  "en": "Zone 5"}, "Z6": "Aculco"}})
        >>> cfg.zone_name("Z5", "en"), cfg.zone_name("Z6", "en"), cfg.zone_name("Z7", "en", "Z 7")
        ('Zone 5', 'Aculco', 'Z 7')
        >>> cfg.zone_name("Z7", "en", "Zona 7", ingested={"en": "Zone 7"})
        'Zone 7'
        """
        given = self.zones.get(str(zone_id))
        if given is not None and (lang in given.texts or not given.texts):
            return given.get(lang)
        if ingested and ingested.get(lang):
            return ingested[lang]
        if given is not None:
            return given.get(lang)
        return default if default else str(zone_id)

    def programme_start(self) -> dt.date | None:
        """``programme.start``, else the earliest cohort's join date, else None."""
        if self.programme.start:
            return self.programme.start
        return min((c.joined_on for c in self.cohorts), default=None)

    def axis_department(self) -> dict[str, str]:
        """Axis id -> department id, for the axes that name one."""
        return {a.id: a.department for a in self.axes if a.department}

    def department_label(self, dep_id: str, lang: str) -> str:
        """Label of a department in ``lang`` (the id itself if the department is unknown)."""
        for d in self.departments:
            if d.id == dep_id:
                return self.label(d.label, lang)
        return dep_id

    def link_area_label(self, area_id: str, lang: str) -> str:
        """Label of a link area in ``lang`` (the id itself if unknown)."""
        for a in self.link_areas:
            if a.id == area_id:
                return self.label(a.label, lang)
        return area_id

    def axis_label(self, axis_id: str, lang: str) -> str:
        """Label of an axis in ``lang`` (the id itself if the axis is unknown)."""
        for a in self.axes:
            if a.id == axis_id:
                return self.label(a.label, lang)
        return axis_id


def _format_validation_error(err: ValidationError, source: str) -> str:
    """One line naming the key, the value and what is allowed."""
    e = err.errors()[0]
    key = ".".join(str(p) for p in e.get("loc", ())) or "(top level)"
    value = e.get("input")
    msg = e.get("msg", "invalid")
    if e.get("type") == "extra_forbidden":
        allowed = _allowed_keys_at(e.get("loc", ()))
        return f"{source}: unknown key '{key}' (allowed here: {', '.join(allowed)})"
    if e.get("type") == "missing":
        return f"{source}: key '{key}' is required"
    shown = repr(value) if not isinstance(value, dict) else "{...}"
    if len(shown) > 60:
        shown = shown[:57] + "..."
    more = f" (+{len(err.errors()) - 1} more problems)" if len(err.errors()) > 1 else ""
    return f"{source}: key '{key}' has value {shown}: {msg}{more}"


def _allowed_keys_at(loc: tuple[int | str, ...]) -> list[str]:
    model: type[BaseModel] = CityConfig
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            break
        ann = field.annotation
        inner = getattr(ann, "__args__", None)
        candidates = [ann, *(inner or ())]
        for c in candidates:
            if isinstance(c, type) and issubclass(c, BaseModel):
                model = c
                break
    return sorted(model.model_fields)


#: libyaml's safe loader when PyYAML was built with it (the same documents, ~6x faster: every
#: notebook reads city.yml), else the pure-Python one.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_city(path: str | os.PathLike[str]) -> CityConfig:
    """Read and validate a ``city.yml``.

    Raises
    ------
    ConfigError
        With one line naming the file, the key, the value and what is allowed.
    """
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: not found (is this a workspace? run 'territoria init PATH')")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)  # noqa: S506
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not a text file (byte 0x{e.object[e.start]:02x} at offset "
                          f"{e.start} is not UTF-8); restore city.yml") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot be read ({e.strerror or e})") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(e, 'problem', e)})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys, got {type(raw).__name__}")
    try:
        return CityConfig.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(_format_validation_error(e, str(path))) from None


def shown_path(path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None) -> str:
    """``path`` as it may be shown to readers: relative to the workspace ``root`` when inside
    it, else relative to the kit (``evaluations/crime_impact.yml``), else its file name; never
    a folder of the machine that ran it (pages and notebooks are published).

    Examples
    --------
    >>> shown_path("/srv/ws/output/evaluations/p/q.results.json", "/srv/ws")
    'output/evaluations/p/q.results.json'
    >>> shown_path(Path(__file__).parents[2] / "evaluations" / "process.yml")
    'evaluations/process.yml'
    >>> shown_path("/srv/plans/mine.yml", "/srv/ws")
    'mine.yml'
    """
    p = Path(path).resolve()
    package = Path(__file__).resolve().parent
    bases = [Path(root).resolve()] if root is not None else []
    bases.append(package / "data")  # an installed kit: territoria/data/evaluations/...
    if (package.parent.parent / "pyproject.toml").is_file():  # a source checkout
        bases.append(package.parent.parent)
    bases.append(package.parent)
    for base in bases:
        if p.is_relative_to(base):
            return p.relative_to(base).as_posix()
    return p.name


class Workspace:
    """Paths of a workspace in one place.

    Parameters
    ----------
    root : path-like
        The workspace folder.

    Examples
    --------
    >>> ws = Workspace("/tmp/x")
    >>> ws.store_path.name
    'territoria.duckdb'
    """

    def __init__(self, root: str | os.PathLike[str] = ".") -> None:
        self.root = Path(root).resolve()

    @property
    def city_file(self) -> Path:
        return self.root / CITY_FILE

    @property
    def raw_dir(self) -> Path:
        return self.root / "data" / "raw"

    @property
    def store_path(self) -> Path:
        return self.root / STORE_FILE

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    @property
    def site_dir(self) -> Path:
        return self.root / "site"

    @property
    def secret_path(self) -> Path:
        return self.root / SECRET_FILE

    def exists(self) -> bool:
        return self.city_file.exists()

    def shown(self, path: str | os.PathLike[str]) -> str:
        """``path`` relative to this workspace (or the kit), for messages that get published
        (:func:`shown_path`)."""
        return shown_path(path, self.root)

    def require(self) -> Workspace:
        """Raise :class:`ConfigError` unless this folder is a workspace."""
        if not self.exists():
            raise ConfigError(
                f"{self.root}: not a workspace (no {CITY_FILE}); "
                "create one with 'territoria init PATH' or 'territoria demo PATH'"
            )
        return self

    def config(self) -> CityConfig:
        """The validated city configuration."""
        return load_city(self.require().city_file)

    def secret(self) -> bytes:
        """The pseudonymisation key, created (mode 0600) on first use; a key readable by
        others is set back to 0600 with a warning (see :mod:`territoria.secret`)."""
        from territoria.secret import new_key, read_key

        p = self.secret_path
        return read_key(p) if p.exists() else new_key(p)

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"


CITY_TEMPLATE = """\
# city.yml: configuration of a Territoria workspace.
# Every key is checked when a command runs; a wrong key or value gives one line
# naming the key, the value and what is allowed.

# Name of the city (alcaldía, municipio...) as residents know it: one name for every language,
# or one per language, e.g. name: {{es: Coyoacán, en: Coyoacán}} (missing -> first language).
name: {name}
country: MX

# Languages of the published reports and forms (any language codes: es, en, pt, nah...);
# the first one is the default, and any label missing in a language falls back to it.
languages: [es, en]
default_language: es

# How residents call each territorial level (Spanish required, English optional).
levels:
  city: {{es: alcaldía, en: borough}}
  zone: {{es: dirección territorial, en: territorial directorate}}
  territory: {{es: colonia, en: neighbourhood}}
  block: {{es: manzana, en: block}}

# Thematic axes of the diagnostic and the Local Development Agenda.
axes:
  - {{id: security, label: {{es: Seguridad y convivencia, en: Safety and coexistence}}}}
  - {{id: services, label: {{es: Servicios urbanos, en: Urban services}}}}
  - {{id: water, label: {{es: Agua, en: Water}}}}
  - {{id: health, label: {{es: Salud, en: Health}}}}
  - {{id: education_culture, label: {{es: Educación y cultura, en: Education and culture}}}}
  - {{id: economy, label: {{es: Economía y empleo, en: Economy and jobs}}}}
  - {{id: environment, label: {{es: Medio ambiente, en: Environment}}}}
  - {{id: mobility, label: {{es: Movilidad, en: Mobility}}}}

# Departments that make and follow up agreements. Each axis above may name the one that
# usually answers its proposals, e.g. {{id: water, label: {{...}}, department: water_utility}}.
# Default: none declared (agreements keep the department code they were recorded with).
departments: []
#  - {{id: public_works, label: {{es: Obras y Servicios, en: Public Works}}}}

# Areas of action of the volunteer community links. Default: none declared (any area code
# is accepted and shown as recorded).
link_areas: []
#  - {{id: health, label: {{es: Salud, en: Health}}}}

# Facts of the programme. Defaults: start = the earliest cohort's join date; size = the
# territories recorded in the programme, else one in ten; remote_meetings = none.
programme: {{}}
#  start: 2024-01-01
#  size: 40
#  remote_meetings: {{start: 2020-04-01, end: 2021-12-31}}

# Programme cohorts: territories that joined on the same date. Default: none (membership and
# join dates then come from the programme file, see 'territoria template programme').
cohorts: []
#  - {{id: c1, joined_on: 2024-01-15, label: {{es: Primera etapa, en: First wave}}}}

# The join date is coded as the first exposed period (recommended) or the first
# full period after joining; the choice changes impact estimates.
cohort_coding: first_exposed_period

# Published tables and charts suppress any cell counting fewer people than this.
min_cell_size: 5

# Days after today a date in an input file may fall (device clocks differ); later dates
# are quarantined as impossible.
future_tolerance_days: 1

# Weights of the composite priority index (step 00); normalisation: minmax|zscore|rank.
selection:
  social_index: 0.5
  crime_rate: 0.4
  population: 0.1
  normalisation: minmax

# The agenda's consensus rule (step 03): a proposal is an agreed priority when its consensus
# across opinion groups (0 to 1) is at least agreed_min_consensus and every opinion group has
# more votes for it than against it. Default 0.5 (in the typical group, at least half agree);
# allowed: more than 0, at most 1.
agenda:
  agreed_min_consensus: 0.5

# Names of the zones in each language, by zone id (they win over the names of the zones
# file, which may also carry a name_en column). Default: the names ingested.
zones: {{}}
#  DT05: {{es: Zona 05, en: Zone 05}}

# Input files, relative to data/raw/. kind: territories|zones|blocks|crime|social_index|survey|ledger|other
sources: []
"""


def init_workspace(root: str | os.PathLike[str], name: str | None = None, *, force: bool = False) -> Workspace:
    """Create an empty workspace with a commented ``city.yml``.

    Raises
    ------
    ConfigError
        If the folder already holds a workspace and ``force`` is false.
    """
    ws = Workspace(root)
    if ws.exists() and not force:
        raise ConfigError(f"{ws.root}: already a workspace ({CITY_FILE} exists); use --force")
    for d in (ws.root, ws.raw_dir, ws.output_dir):
        d.mkdir(parents=True, exist_ok=True)
    city_name = name or ws.root.name
    ws.city_file.write_text(CITY_TEMPLATE.format(name=yaml.safe_dump(city_name).strip().removesuffix("...").strip()), encoding="utf-8")
    load_city(ws.city_file)
    ws.secret()
    return ws
