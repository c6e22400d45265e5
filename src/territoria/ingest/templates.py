"""One specification per kind of input file, and the template files written from it.

Each :class:`Spec` says, for one kind of file the kit reads, its exact header, one example
row, and per column: required or not, type, allowed values and meaning (Spanish and English).
``territoria template KIND`` writes from it ``KIND.csv`` (header + example row),
``KIND.schema.csv`` (one row per column) and ``KIND.md`` (the same in prose, es and en);
polygon kinds also get ``KIND.geojson``. The input guide (``methodology/inputs.md``) and the
tests use the same specs, so a change here shows up everywhere.

Allowed values come from where the readers take them (sex, age groups and territory kinds
from :mod:`territoria.vocabulary`, the personal columns of the link registry from
:mod:`territoria.ingest.tables`); the test suite ingests every template into a fresh
workspace to check the rest against the readers.

Examples
--------
>>> spec("census").header()
['territory_id', 'sex', 'age_group', 'population']
>>> spec("census").column("sex").allowed
('female', 'male')
>>> [c.name for c in spec("blocks").columns if c.required == "yes"]
['block_id', 'territory_id']
>>> spec("nonsense")
Traceback (most recent call last):
...
territoria.exceptions.ConfigError: unknown template kind 'nonsense' (allowed: territories, \
zones, blocks, census, programme, links, social_index, crime, crime_by_area, areas, all)
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from territoria import vocabulary
from territoria.exceptions import ConfigError
from territoria.i18n import catalogue, tr
from territoria.ingest.tables import LINK_PERSONAL

SEXES = vocabulary.codes("sex")
AGE_GROUPS = vocabulary.codes("age_group")

#: Column types and how they are written.
TYPES = catalogue(__name__, "TYPES")

REQUIRED = {  # "sí" / "no" in running text: the vocabulary's yes_no, lower case
    **{c: {lg: t.lower() for lg, t in vocabulary.texts("yes_no", c).items()} for c in ("yes", "no")},
    "header": {"es": "la columna sí, el valor puede ir vacío",
               "en": "the column yes, its value may be empty"},
    "conditional": {"es": "condicional", "en": "conditional"},
}

MESSAGES = catalogue(__name__)

#: Text of an example polygon (it is not the real boundary of any place).
_POLY_NOTE = {"es": "Polígono de ejemplo: no es el límite real de ningún lugar.",
              "en": "Example polygon: it is not the real boundary of any place."}


@dataclass(frozen=True)
class Column:
    """One column of an input file.

    Attributes
    ----------
    name : str
        Exact header (lower case).
    required : {'yes', 'no', 'header', 'conditional'}
        ``yes``: an empty value sends the row to quarantine; ``no``: may be empty or absent;
        ``header``: the column must be in the header (the file is recognised by it) but its
        value may be empty; ``conditional``: required unless another column says it (see
        ``meaning``).
    type : str
        A key of :data:`TYPES`.
    example : str
        The value of the example row.
    meaning : dict
        ``{"es": ..., "en": ...}``.
    allowed : tuple of str
        Closed list of allowed values (empty: any value of the type).
    allowed_note : dict, optional
        Allowed values described in words (e.g. ids declared in ``city.yml``).
    """

    name: str
    required: str
    type: str
    example: str
    meaning: dict
    allowed: tuple = ()
    allowed_note: dict | None = None

    def allowed_text(self, lang: str) -> str:
        """Allowed values in words (empty when any value of the type is allowed)."""
        parts = []
        if self.allowed:
            parts.append(", ".join(self.allowed))
        if self.allowed_note:
            parts.append(tr({"x": self.allowed_note}, "x", lang))
        return "; ".join(parts)


@dataclass(frozen=True)
class Spec:
    """Everything a planner needs to produce one kind of input file."""

    kind: str
    title: dict
    source: dict
    command: str
    columns: tuple
    notes: dict = field(default_factory=dict)
    polygon: bool = False
    geojson_ring: tuple = ()

    def header(self) -> list[str]:
        """The exact header of the CSV."""
        return [c.name for c in self.columns]

    def example(self) -> list[str]:
        """The example row, in header order."""
        return [c.example for c in self.columns]

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise ConfigError(f"template {self.kind} has no column '{name}'")

    def files(self) -> list[str]:
        """Names of the files :func:`write_template` writes for this kind."""
        out = [f"{self.kind}.csv", f"{self.kind}.schema.csv", f"{self.kind}.md"]
        if self.polygon:
            out.insert(1, f"{self.kind}.geojson")
        return out


def _m(es: str, en: str) -> dict:
    return {"es": es, "en": en}


# A square of about 1 km around a point of Iztapalapa (lon, lat, EPSG:4326), and a smaller
# square inside it: the example territory and the example source area.
_TERRITORY_RING = ((-99.100, 19.360), (-99.090, 19.360), (-99.090, 19.370), (-99.100, 19.370),
                   (-99.100, 19.360))
_AREA_RING = ((-99.098, 19.362), (-99.092, 19.362), (-99.092, 19.368), (-99.098, 19.368),
              (-99.098, 19.362))
_TERRITORY, _ZONE, _AREA = "07-001", "DT01", "0900700010010"
_KINDS_OF_TERRITORY = vocabulary.codes("territory_kind")
_STRATA = ("Muy bajo", "Bajo", "Medio", "Alto", "Muy alto", "Sin información")

_TERRITORY_ID = Column(
    "territory_id", "yes", "text", _TERRITORY,
    _m("Clave del territorio, tal como está en el catálogo de territorios (en la CDMX, la CVEUT "
       "del IECM).",
       "Key of the territory, as in the territory catalogue (in Mexico City, the IECM CVEUT)."),
    allowed_note=_m("una clave del catálogo de territorios ya ingerido",
                    "a key of the territory catalogue already ingested"))

SPECS: dict[str, Spec] = {}


def _add(s: Spec) -> None:
    SPECS[s.kind] = s


_add(Spec(
    "territories",
    _m("Territorios (colonias, barrios, pueblos, unidades habitacionales)",
       "Territories (colonias, barrios, pueblos, housing estates)"),
    _m("IECM, Marco Geográfico de Participación Ciudadana (capa de colonias y pueblos, CVEUT, "
       "NOMUT, SUMPOB1). Fuera de la CDMX: la capa de secciones o colonias del instituto electoral "
       "del estado, o la lista propia del municipio.",
       "IECM, Marco Geográfico de Participación Ciudadana (colonias and pueblos layer, CVEUT, "
       "NOMUT, SUMPOB1). Outside Mexico City: the state electoral institute's layer of "
       "sections or colonias, or the municipality's own list."),
    "territoria ingest -w WS territories.geojson",
    (
        Column("territory_id", "yes", "text", _TERRITORY,
               _m("Clave única del territorio (en la capa del IECM: CVEUT).",
                  "Unique key of the territory (in the IECM layer: CVEUT).")),
        Column("name", "yes", "text", "ACULCO (PBLO)",
               _m("Nombre como lo conocen las vecinas y los vecinos (IECM: NOMUT).",
                  "Name as residents know it (IECM: NOMUT).")),
        Column("name_en", "no", "text", "Aculco",
               _m("Nombre en inglés, solo si lo tiene (los nombres de colonias son nombres "
                  "propios: sin la columna se muestran igual en todos los idiomas). Otro idioma "
                  "de city.yml: name_<código>. Las columnas zone_name y zone_name_en nombran la "
                  "zona si no hay archivo de zonas.",
                  "Name in English, only when it has one (names of colonias are proper names: "
                  "without the column they are shown the same in every language). Another "
                  "language of city.yml: name_<code>. Columns zone_name and zone_name_en name the "
                  "zone when there is no zones file.")),
        Column("kind", "no", "text", "pueblo",
               _m("Tipo de territorio; si la columna no viene, se deduce del sufijo del nombre "
                  "((PBLO), (BARR), (U HAB)...), y sin sufijo es colonia.",
                  "Kind of territory; when the column is absent, it is taken from the name "
                  "suffix ((PBLO), (BARR), (U HAB)...), colonia when there is none."),
               allowed_note=_m("valores usuales: " + ", ".join(_KINDS_OF_TERRITORY),
                               "usual values: " + ", ".join(_KINDS_OF_TERRITORY))),
        Column("zone_id", "no", "text", _ZONE,
               _m("Zona (dirección territorial) a la que pertenece; una clave del archivo de "
                  "zonas.",
                  "Zone (territorial directorate) it belongs to; a key of the zones file.")),
        Column("population", "no", "number", "5210",
               _m("Habitantes (IECM: SUMPOB1, suma del Censo 2020 por manzana).",
                  "Residents (IECM: SUMPOB1, Censo 2020 summed by block).")),
        Column("households", "no", "number", "1430",
               _m("Hogares (Censo 2020, TOTHOG sumado por manzana).",
                  "Households (Census 2020, TOTHOG summed by block).")),
    ),
    notes=_m(
        "Una fila por territorio; una clave repetida, un nombre vacío o una geometría vacía o "
        "inválida van a cuarentena. Volver a ingerir un territorio actualiza sólo las columnas "
        "que trae el archivo (no borra prioridad, cohorte ni geometría). Una zone_id que no "
        "existe se agrega a las zonas. La plantilla CSV no lleva polígonos: sin ellos "
        "los delitos se asignan por nombre de colonia y no hay interpolación de áreas; use la "
        "capa (territories.geojson, GeoPackage o Shapefile). Una capa con otros nombres de "
        "columna se lee con --where y --map, p. ej. "
        "territoria ingest -w WS colonias_iecm.gpkg --where \"NOMDT = 'COYOACAN'\" "
        "--map territory_id=CVEUT,name=NOMUT,population=SUMPOB1 (y zone_id=COLUMNA si la capa "
        "trae zonas; también zone_name, kind, households); la capa puede venir en cualquier "
        "proyección. Una capa de varias alcaldías sin --where se acepta completa: el kit nunca "
        "filtra por el nombre del espacio de trabajo.",
        "One row per territory; a repeated key, an empty name or an empty or invalid geometry "
        "are quarantined. Ingesting a territory again updates only the columns the file "
        "carries (priority, cohort and geometry stay). An unknown zone_id is added to the "
        "zones. The CSV template has no polygons: without them crime is "
        "assigned by colonia name and there is no areal interpolation; use the layer "
        "(territories.geojson, GeoPackage or Shapefile). A layer with other column names is "
        "read with --where and --map, e.g. "
        "territoria ingest -w WS colonias_iecm.gpkg --where \"NOMDT = 'COYOACAN'\" "
        "--map territory_id=CVEUT,name=NOMUT,population=SUMPOB1 (and zone_id=COLUMN when the "
        "layer has zones; also zone_name, kind, households); the layer may be in any "
        "projection. A layer of several boroughs without --where is accepted whole: the kit "
        "never filters by the workspace's name."),
    polygon=True, geojson_ring=_TERRITORY_RING,
))

_add(Spec(
    "zones",
    _m("Zonas (direcciones territoriales)", "Zones (territorial directorates)"),
    _m("La alcaldía o el municipio: la lista de sus direcciones territoriales (no hay fuente "
       "abierta para Iztapalapa). Sin zonas oficiales, cualquier agrupación de trabajo.",
       "The borough or municipality: its list of territorial directorates (there is no open "
       "source for Iztapalapa). Without official zones, any working grouping."),
    "territoria ingest -w WS zones.csv",
    (
        Column("zone_id", "yes", "text", _ZONE,
               _m("Clave única de la zona; la usan territories.zone_id y los formularios.",
                  "Unique key of the zone; used by territories.zone_id and the forms.")),
        Column("name", "yes", "text", "Aculco",
               _m("Nombre de la zona.", "Name of the zone.")),
        Column("name_en", "no", "text", "Aculco",
               _m("Nombre de la zona en inglés, el que muestra el sitio en inglés; vacío o sin "
                  "la columna, el mismo nombre en todos los idiomas. Otro idioma de city.yml: "
                  "name_<código> (name_pt). city.yml: zones también puede nombrar cada zona "
                  "por idioma (`{es: Zona 05, en: Zone 05}`) y manda sobre este archivo.",
                  "Name of the zone in English, shown on the English site; empty or without "
                  "the column, the same name in every language. Another language of city.yml: "
                  "name_<code> (name_pt). city.yml: zones may also name each zone per language "
                  "(`{es: Zona 05, en: Zone 05}`) and wins over this file.")),
    ),
    notes=_m("Puede ingerirse antes o después de los territorios; una zona que los territorios "
             "nombran y no está aquí se agrega con su clave como nombre (corríjalo ingiriendo "
             "este archivo). Una clave repetida va a cuarentena (duplicate_id).",
             "It may be ingested before or after the territories; a zone the territories name "
             "that is not here is added with its key as name (fix it by ingesting this file). "
             "A repeated key is quarantined (duplicate_id)."),
))

_add(Spec(
    "blocks",
    _m("Manzanas", "Blocks"),
    _m("INEGI, Marco Geoestadístico (manzanas, CVEGEO) y Censo de Población y Vivienda 2020 "
       "(POBTOT por manzana), asignadas a su territorio. Fuera de la CDMX igual: INEGI cubre "
       "todo el país.",
       "INEGI, Marco Geoestadístico (blocks, CVEGEO) and the 2020 Population and Housing Census "
       "(POBTOT by block), each assigned to its territory. The same elsewhere: INEGI covers "
       "the whole country."),
    "territoria ingest -w WS blocks.csv",
    (
        Column("block_id", "yes", "text", "07-001-0001",
               _m("Clave única de la manzana (la que usan los formularios).",
                  "Unique key of the block (the one the forms use).")),
        _TERRITORY_ID,
        Column("population", "no", "integer", "120",
               _m("Habitantes de la manzana (Censo 2020, POBTOT).",
                  "Residents of the block (Census 2020, POBTOT).")),
        Column("lon", "no", "number", "-99.0905",
               _m("Longitud de un punto dentro de la manzana (grados, EPSG:4326). Con lat y "
                  "population, los datos publicados por AGEB o cuadrante se reparten entre "
                  "colonias según la población y no solo según la superficie.",
                  "Longitude of a point inside the block (degrees, EPSG:4326). With lat and "
                  "population, data published by AGEB or quadrant are shared among "
                  "territories by population rather than by area alone.")),
        Column("lat", "no", "number", "19.3555",
               _m("Latitud del mismo punto (grados, EPSG:4326).",
                  "Latitude of the same point (degrees, EPSG:4326).")),
    ),
    notes=_m("Una territory_id desconocida va a cuarentena (unknown_territory); una block_id "
             "vacía o repetida también (required_unique). El número de manzanas de cada "
             "territorio se calcula de este archivo.",
             "An unknown territory_id is quarantined (unknown_territory); so is an empty or "
             "repeated block_id (required_unique). Each territory's number of blocks is "
             "computed from this file."),
))

_add(Spec(
    "census",
    _m("Márgenes del censo por sexo y edad", "Census margins by sex and age"),
    _m("INEGI, Censo 2020 (resultados por AGEB y manzana: población por sexo y grupos de edad), "
       "sumados por territorio. Sirven para ponderar las encuestas.",
       "INEGI, Census 2020 (results by AGEB and block: population by sex and age groups), "
       "summed by territory. Used to weight the surveys."),
    "territoria ingest -w WS census.csv",
    (
        _TERRITORY_ID,
        Column("sex", "yes", "text", "female", _m("Sexo.", "Sex."), allowed=SEXES),
        Column("age_group", "yes", "text", "30_44", _m("Grupo de edad (18 años y más).",
                                                         "Age group (18 and over)."),
               allowed=AGE_GROUPS),
        Column("population", "yes", "number", "610",
               _m("Personas del territorio en esa celda.",
                  "People of the territory in that cell.")),
    ),
    notes=_m("Una fila por territorio, sexo y grupo de edad (8 por territorio); una celda "
             "repetida va a cuarentena (duplicate_cell). Volver a ingerir un territorio "
             "reemplaza sus celdas.",
             "One row per territory, sex and age group (8 per territory); a repeated cell is "
             "quarantined (duplicate_cell). Ingesting a territory again replaces its cells."),
))

_add(Spec(
    "programme",
    _m("Programa: territorios prioritarios y cohortes", "Programme: priority territories and "
                                                         "cohorts"),
    _m("El equipo del programa: qué territorios entran y en qué fecha (cohorte). Las cohortes "
       "se declaran en city.yml (cohorts: id y joined_on).",
       "The programme team: which territories join and when (cohort). Cohorts are declared in "
       "city.yml (cohorts: id and joined_on)."),
    "territoria ingest -w WS programme.csv",
    (
        _TERRITORY_ID,
        Column("priority", "header", "boolean", "true",
               _m("¿Es territorio prioritario del programa? Vacío cuenta como no.",
                  "Is it a priority territory of the programme? Empty counts as no.")),
        Column("cohort", "header", "text", "c1",
               _m("Cohorte en la que entró; vacía si no ha entrado.",
                  "Cohort it joined; empty if it has not joined."),
               allowed_note=_m("un id de cohorts en city.yml (si city.yml declara cohortes)",
                               "an id of cohorts in city.yml (when city.yml declares cohorts)")),
        Column("joined_on", "conditional", "date", "2024-01-15",
               _m("Fecha en que entró al programa; obligatoria si hay cohorte.",
                  "Date it joined the programme; required when there is a cohort.")),
    ),
    notes=_m("Las cuatro columnas deben estar en el encabezado (así se reconoce el archivo). "
             "Actualiza territorios ya ingeridos (no crea territorios). Una territory_id "
             "repetida va a cuarentena (duplicate_id); una cohorte no declarada también "
             "(cohort_in_city_yml).",
             "The four columns must be in the header (that is how the file is recognised). "
             "Updates territories already ingested (it creates none). A repeated territory_id "
             "is quarantined (duplicate_id); so is an undeclared cohort (cohort_in_city_yml)."),
))

_add(Spec(
    "links",
    _m("Registro de enlaces comunitarios voluntarios", "Registry of volunteer community links"),
    _m("El registro propio del programa (no es dato abierto). Los datos personales se quitan "
       "al ingerir.",
       "The programme's own registry (not open data). Personal data are removed at ingest."),
    "territoria ingest -w WS links.csv",
    (
        Column("link_code", "yes", "text", "L-0001",
               _m("Código único del enlace; se guarda seudonimizado (clave de .secret).",
                  "Unique code of the link; stored pseudonymised (key in .secret).")),
        Column("territory", "yes", "text", _TERRITORY,
               _m("Territorio donde actúa (clave del catálogo).",
                  "Territory where the link acts (catalogue key)."),
               allowed_note=_TERRITORY_ID.allowed_note),
        Column("area", "yes", "text", "health",
               _m("Área de acción del enlace.", "Area of action of the link."),
               allowed_note=_m("un id de link_areas en city.yml (si no declara ninguna, "
                               "cualquier código)",
                               "an id of link_areas in city.yml (when it declares none, any "
                               "code)")),
        Column("sex", "no", "text", "female", _m("Sexo.", "Sex."), allowed=SEXES),
        Column("age_group", "no", "text", "45_59", _m("Grupo de edad.", "Age group."),
               allowed=AGE_GROUPS),
        Column("joined_on", "no", "date", "2024-02-01",
               _m("Fecha de alta como enlace.", "Date the link joined.")),
        *(Column(c, "no", "text", ex, _m(
            "Dato personal: se puede traer, pero se descarta al ingerir y nunca se guarda.",
            "Personal data: it may be present, but it is dropped at ingest and never stored."))
          for c, ex in zip(LINK_PERSONAL, ("Nombre Apellido", "5500000000", "Calle 1 #2",
                                           "enlace@example.org", "XEXX010101HNEXXXA4"),
                           strict=False)),
    ),
    notes=_m("Un link_code vacío o repetido va a cuarentena (required_unique).",
             "An empty or repeated link_code is quarantined (required_unique)."),
))

_add(Spec(
    "social_index",
    _m("Índice de desarrollo social por área", "Social-development index by area"),
    _m("EVALÚA CDMX, Índice de Desarrollo Social (IDS-CDMX 2020) por AGEB (folio_ageb, idsm, "
       "e_idsm, pob) o por manzana (folio_mza), con los polígonos de AGEB o manzana del Marco "
       "Geoestadístico de INEGI. Fuera de la CDMX: el índice de rezago social de CONEVAL o el "
       "grado de marginación de CONAPO por AGEB.",
       "EVALÚA CDMX, Social Development Index (IDS-CDMX 2020) by AGEB (folio_ageb, idsm, "
       "e_idsm, pob) or by block (folio_mza), with INEGI's Marco Geoestadístico AGEB or block "
       "polygons. Outside Mexico City: CONEVAL's social lag index or CONAPO's marginalisation "
       "degree by AGEB."),
    "territoria ingest -w WS social_index.csv --kind social_index --areas areas.geojson "
    "--areas-key area_id",
    (
        Column("area_id", "yes", "text", _AREA,
               _m("Clave del área, la misma que en la capa de áreas (--areas-key). En el "
                  "archivo de EVALÚA: folio_ageb (AGEB, 13 caracteres) o folio_mza.",
                  "Key of the area, the same as in the areas layer (--areas-key). In the "
                  "EVALÚA file: folio_ageb (AGEB, 13 characters) or folio_mza.")),
        Column("value", "conditional", "number", "0.78",
               _m("Valor del índice (EVALÚA: idsm, de 0 a 1); puede ir vacío sólo si el "
                  "estrato es 'Sin información'.",
                  "Value of the index (EVALÚA: idsm, 0 to 1); may be empty only when the "
                  "stratum is 'Sin información'.")),
        Column("stratum", "no", "text", "Medio",
               _m("Estrato (EVALÚA: e_idsm); 'Sin información' marca un área sin dato.",
                  "Stratum (EVALÚA: e_idsm); 'Sin información' marks an area without data."),
               allowed_note=_m("EVALÚA: " + ", ".join(_STRATA), "EVALÚA: " + ", ".join(_STRATA))),
        Column("population", "no", "number", "2543",
               _m("Habitantes del área (EVALÚA: pob).", "Residents of the area (EVALÚA: pob).")),
    ),
    notes=_m("El índice se lleva a los territorios como promedio ponderado por la población "
             "de las manzanas (si están en el almacén con población) o por la superficie del "
             "traslape. Si la columna clave se llama distinto en la capa y en el archivo: "
             "--areas-key CLAVE_CAPA=CLAVE_ARCHIVO (EVALÚA con AGEB de INEGI: "
             "--areas-key CVEGEO=folio_ageb). Una clave repetida va a cuarentena "
             "(duplicate_id). El archivo de EVALÚA viene en Latin-1: se detecta solo. Un "
             "índice ya calculado por territorio se ingiere sin --areas, con territory_id en "
             "vez de area_id.",
             "The index is brought to territories as a mean weighted by block population "
             "(when blocks with population are in the store) or by overlap area. When the key "
             "column has different names in the layer and the file: "
             "--areas-key LAYER_KEY=FILE_KEY (EVALÚA with INEGI AGEBs: "
             "--areas-key CVEGEO=folio_ageb). A repeated key is quarantined (duplicate_id). "
             "The EVALÚA file is Latin-1: this is detected. An index already computed by "
             "territory is ingested without --areas, with territory_id instead of area_id."),
))

_FGJ_NOTE = _m("Columna del archivo de la FGJ; se lee pero no se usa.",
               "Column of the FGJ file; read but not used.")


def _fgj_unused(*columns) -> tuple:
    """Columns of the FGJ file that are read but not used, from ``(name, type, example)``."""
    return tuple(Column(name, "no", kind, example, _FGJ_NOTE) for name, kind, example in columns)


_add(Spec(
    "crime",
    _m("Carpetas de investigación (FGJ CDMX), un registro por carpeta",
       "Criminal investigation files (FGJ CDMX), one record per file"),
    _m("FGJ CDMX, carpetas de investigación (datos.cdmx.gob.mx, carpetasFGJ_acumulado_*.csv, "
       "21 columnas; también el formato 2016-2020 con ao_hechos y el XLSX de transparencia). "
       "Fuera de la CDMX: la fiscalía del estado, si publica registros con coordenadas; si sólo "
       "hay conteos por área, use crime_by_area.",
       "FGJ CDMX, criminal investigation files (datos.cdmx.gob.mx, carpetasFGJ_acumulado_*.csv, "
       "21 columns; also the 2016-2020 layout with ao_hechos and the transparency XLSX). "
       "Outside Mexico City: the state prosecutor's office, if it publishes records with "
       "coordinates; if there are only counts by area, use crime_by_area."),
    "territoria ingest -w WS crime.csv",
    (
        *_fgj_unused(("anio_inicio", "integer", "2024"), ("mes_inicio", "text", "Marzo"),
                     ("fecha_inicio", "date", "2024-03-02"), ("hora_inicio", "time", "10:15:00")),
        Column("anio_hecho", "conditional", "integer", "2024",
               _m("Año de los hechos; se usa con mes_hecho si fecha_hecho falta.",
                  "Year of the facts; used with mes_hecho when fecha_hecho is missing.")),
        Column("mes_hecho", "conditional", "text", "Marzo",
               _m("Mes de los hechos (número o nombre en español).",
                  "Month of the facts (number or Spanish name).")),
        Column("fecha_hecho", "conditional", "date", "2024-03-01",
               _m("Fecha de los hechos (AAAA-MM-DD o dd/mm/aaaa): da el mes del conteo. "
                  "Obligatoria si faltan anio_hecho y mes_hecho.",
                  "Date of the facts (YYYY-MM-DD or dd/mm/yyyy): gives the month counted. "
                  "Required when anio_hecho and mes_hecho are missing.")),
        *_fgj_unused(("hora_hecho", "time", "21:30:00")),
        Column("delito", "conditional", "text",
               "ROBO A TRANSEUNTE EN VIA PUBLICA CON VIOLENCIA",
               _m("Delito; es la categoría si categoria_delito está vacía.",
                  "Offence; it is the category when categoria_delito is empty.")),
        Column("categoria_delito", "conditional", "text",
               "ROBO A TRANSEUNTE EN VIA PUBLICA CON Y SIN VIOLENCIA",
               _m("Categoría que se cuenta. Sin ella ni delito, el registro va a cuarentena.",
                  "Category counted. Without it or delito, the record is quarantined.")),
        *_fgj_unused(("competencia", "text", "FUERO COMUN"),
                     ("fiscalia", "text", "INVESTIGACION EN IZTAPALAPA"),
                     ("agencia", "text", "IZP-6"), ("unidad_investigacion", "text", "UI-1CD")),
        Column("colonia_hecho", "conditional", "text", "ACULCO",
               _m("Colonia de los hechos; sólo se usa si no hay coordenadas válidas.",
                  "Colonia of the facts; used only when there are no valid coordinates.")),
        Column("colonia_catalogo", "conditional", "text", "Aculco",
               _m("Colonia del catálogo de la FGJ; preferida a colonia_hecho.",
                  "Colonia of the FGJ catalogue; preferred to colonia_hecho.")),
        Column("alcaldia_hecho", "conditional", "text", "IZTAPALAPA",
               _m("Alcaldía de los hechos; necesaria en el archivo de toda la ciudad, para "
                  "quedarse con las filas de la alcaldía propia.",
                  "Borough of the facts; needed in the city-wide file, to keep the rows of the "
                  "city's own borough.")),
        *_fgj_unused(("alcaldia_catalogo", "text", "IZTAPALAPA"), ("municipio_hecho", "text", "")),
        Column("latitud", "conditional", "number", "19.365",
               _m("Latitud (grados, WGS84). El territorio es el polígono que contiene el punto.",
                  "Latitude (degrees, WGS84). The territory is the polygon holding the point.")),
        Column("longitud", "conditional", "number", "-99.095",
               _m("Longitud (grados, WGS84, negativa en México).",
                  "Longitude (degrees, WGS84, negative in Mexico).")),
    ),
    notes=_m("Cada registro necesita un mes (fecha_hecho, o anio_hecho y mes_hecho), una "
             "categoría (categoria_delito o delito) y un territorio: el que contiene su punto "
             "(latitud, longitud) o, sólo si no tiene coordenadas, el de nombre igual a su colonia. "
             "Si no, va a cuarentena (date, required, territory_not_matched). Si la capa de "
             "territorios dijo su alcaldía (NOMDT), los registros de otras alcaldías van a "
             "cuarentena (outside_city). Se cuenta por territorio, mes y categoría.",
             "Each record needs a month (fecha_hecho, or anio_hecho and mes_hecho), a category "
             "(categoria_delito or delito) and a territory: the one holding its point "
             "(latitud, longitud) or, only when it has no coordinates, the one whose name equals "
             "its colonia. Otherwise it is quarantined (date, required, territory_not_matched). "
             "When the territory layer gave its borough (NOMDT), records of other boroughs are "
             "quarantined (outside_city). Counts are by territory, month and category."),
))

_add(Spec(
    "crime_by_area",
    _m("Delitos contados por área y mes", "Crime counted by area and month"),
    _m("SSC/SSP CDMX, incidencia por cuadrante de policía y mes (con la capa de cuadrantes). "
       "Fuera de la CDMX: conteos de la policía municipal por sector o cuadrante, con su capa "
       "de polígonos.",
       "SSC/SSP Mexico City, incidence by police quadrant and month (with the quadrants "
       "layer). Elsewhere: municipal police counts by sector or quadrant, with their polygon "
       "layer."),
    "territoria ingest -w WS crime_by_area.csv --kind crime --areas areas.geojson "
    "--areas-key area_id",
    (
        Column("area_id", "yes", "text", _AREA,
               _m("Clave del área (cuadrante, sector...), la misma que en la capa de áreas "
                  "(--areas-key). En el archivo de la SSP: cuadrante.",
                  "Key of the area (quadrant, sector...), the same as in the areas layer "
                  "(--areas-key). In the SSP file: cuadrante.")),
        Column("month", "yes", "date", "2024-03-01",
               _m("Mes contado: primer día del mes, AAAA-MM-DD (SSP: date).",
                  "Month counted: first day of the month, YYYY-MM-DD (SSP: date).")),
        Column("category", "yes", "text", "ROBO A TRANSEUNTE",
               _m("Categoría del delito (SSP: crime).", "Crime category (SSP: crime).")),
        Column("count", "yes", "integer", "3",
               _m("Número de delitos en el área, el mes y la categoría (ceros incluidos).",
                  "Number of crimes in the area, month and category (zeros included).")),
    ),
    notes=_m("Los conteos se reparten entre los territorios según el traslape (o la población "
             "de las manzanas) y su total se conserva, salvo la parte de un área que cae fuera "
             "de todo territorio (se informa). Una fila repetida (área, mes, categoría) va a "
             "cuarentena. Volver a ingerir celdas las reemplaza, nunca las suma. Claves con "
             "nombres distintos: --areas-key CLAVE_CAPA=CLAVE_ARCHIVO.",
             "Counts are shared among territories by overlap (or block population) and their "
             "total is kept, except the part of an area outside every territory (reported). "
             "A repeated row (area, month, category) is quarantined. Ingesting cells again "
             "replaces them, never adds to them. Different key names: "
             "--areas-key LAYER_KEY=FILE_KEY."),
))

_add(Spec(
    "areas",
    _m("Capa de áreas de origen (AGEB, manzanas, cuadrantes)",
       "Layer of source areas (AGEBs, blocks, quadrants)"),
    _m("INEGI, Marco Geoestadístico (AGEB urbanas 09a, manzanas 09m; clave CVEGEO, en Lambert "
       "conforme cónica EPSG:6372); SSC CDMX, capa de cuadrantes (datos.cdmx.gob.mx). Fuera de "
       "la CDMX: el Marco Geoestadístico del estado, o la capa de sectores de la policía.",
       "INEGI, Marco Geoestadístico (urban AGEBs 09a, blocks 09m; key CVEGEO, in Lambert "
       "conformal conic EPSG:6372); SSC Mexico City, quadrants layer (datos.cdmx.gob.mx). "
       "Elsewhere: the state's Marco Geoestadístico, or the police sectors layer."),
    "--areas areas.geojson --areas-key area_id  (con/with --kind social_index | --kind crime)",
    (
        Column("area_id", "yes", "text", _AREA,
               _m("Clave única del área, la que lleva el archivo de datos (--areas-key nombra "
                  "la columna; INEGI: CVEGEO).",
                  "Unique key of the area, the one the data file carries (--areas-key names "
                  "the column; INEGI: CVEGEO).")),
        Column("name", "no", "text", "AGEB 001-0",
               _m("Nombre o descripción (opcional).", "Name or description (optional).")),
    ),
    notes=_m("No se ingiere sola: acompaña a un índice o a conteos de delitos por área. Capa de "
             "polígonos en GeoPackage, GeoJSON o Shapefile, en cualquier proyección.",
             "It is not ingested alone: it goes with an index or crime counts by area. Polygon "
             "layer in GeoPackage, GeoJSON or Shapefile, in any projection."),
    polygon=True, geojson_ring=_AREA_RING,
))

#: Every kind, in the order a new city ingests them.
KINDS = tuple(SPECS)


def spec(kind: str) -> Spec:
    """The specification of one kind of input file.

    Raises
    ------
    ConfigError
        For an unknown kind (the message lists the allowed ones).
    """
    if kind not in SPECS:
        raise ConfigError(f"unknown template kind '{kind}' (allowed: {', '.join(KINDS)}, all)")
    return SPECS[kind]


def _csv_text(rows) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerows(rows)
    return buf.getvalue()


def template_csv(kind: str) -> str:
    """The template CSV of ``kind``: exact header and one example row.

    >>> print(template_csv("zones"), end="")
    zone_id,name,name_en
    DT01,Aculco,Aculco
    """
    s = spec(kind)
    return _csv_text([s.header(), s.example()])


def schema_csv(kind: str) -> str:
    """One row per column: ``column, required, type, example, allowed_es, allowed_en,
    meaning_es, meaning_en`` (``required``: yes, no, header or conditional; ``type``: a key of
    :data:`TYPES`).

    >>> print(schema_csv("census").splitlines()[2])
    sex,yes,text,female,"female, male","female, male",Sexo.,Sex.
    """
    s = spec(kind)
    rows = [["column", "required", "type", "example", "allowed_es", "allowed_en", "meaning_es",
             "meaning_en"]]
    rows += [[c.name, c.required, c.type, c.example, c.allowed_text("es"), c.allowed_text("en"),
              c.meaning["es"], c.meaning["en"]] for c in s.columns]
    return _csv_text(rows)


def template_geojson(kind: str) -> str:
    """A FeatureCollection with the example row as properties and an example polygon."""
    s = spec(kind)
    if not s.polygon:
        raise ConfigError(f"template {kind} is a table, not a polygon layer")
    props = {}
    for c in s.columns:
        props[c.name] = (float(c.example) if c.type in ("number", "integer") and c.example
                         else c.example)
    feature = {"type": "Feature", "properties": props,
               "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in s.geojson_ring]]}}
    return json.dumps({"type": "FeatureCollection", "features": [feature]}, ensure_ascii=False,
                      indent=1) + "\n"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def spec_markdown(kind: str, lang: str = "es", *, heading: str = "##") -> str:
    """The description of one kind in Markdown (title, source, command, columns, rules).

    >>> print(spec_markdown("zones", "en").splitlines()[0])
    ## Zones (territorial directorates) (`zones`)
    """
    s = spec(kind)
    t = lambda d: tr({"x": d}, "x", lang)  # noqa: E731
    lines = [f"{heading} {t(s.title)} (`{kind}`)", "",
             f"**{tr(MESSAGES, 'source', lang)}.** {t(s.source)}", "",
             f"**{tr(MESSAGES, 'command', lang)}:** `{s.command}`", "",
             tr(MESSAGES, "files", lang, files=", ".join(f"`{f}`" for f in s.files())), ""]
    head = [tr(MESSAGES, k, lang) for k in ("column", "required", "type", "allowed", "example",
                                            "meaning")]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in s.columns:
        lines.append("| " + " | ".join(_cell(x) for x in (
            f"`{c.name}`", t(REQUIRED[c.required]), t(TYPES[c.type]), c.allowed_text(lang),
            f"`{c.example}`" if c.example else "", t(c.meaning))) + " |")
    if s.notes:
        lines += ["", f"**{tr(MESSAGES, 'notes', lang)}.** {t(s.notes)}"]
    if s.polygon:
        lines += ["", t(_POLY_NOTE)]
    return "\n".join(lines) + "\n"


def write_template(kind: str, out_dir, *, force: bool = False, lang: str = "es") -> list[Path]:
    """Write the template files of ``kind`` (or of every kind for ``'all'``) into ``out_dir``.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    ConfigError
        For an unknown kind, or when a file exists and ``force`` is false (nothing is
        written then).

    Examples
    --------
    >>> import tempfile
    >>> [p.name for p in write_template("zones", tempfile.mkdtemp())]
    ['zones.csv', 'zones.schema.csv', 'zones.md']
    """
    kinds = list(KINDS) if kind == "all" else [spec(kind).kind]
    out = Path(out_dir)
    contents: list[tuple[Path, str]] = []
    for k in kinds:
        s = SPECS[k]
        md = spec_markdown(k, "es", heading="#") + "\n---\n\n" + spec_markdown(k, "en",
                                                                                heading="#")
        files = {f"{k}.csv": template_csv(k), f"{k}.schema.csv": schema_csv(k), f"{k}.md": md}
        if s.polygon:
            files[f"{k}.geojson"] = template_geojson(k)
        contents += [(out / name, files[name]) for name in s.files()]
    if not force:
        for p, _ in contents:
            if p.exists():
                raise ConfigError(tr(MESSAGES, "exists", lang, path=p))
    out.mkdir(parents=True, exist_ok=True)
    for p, text in contents:
        p.write_text(text, encoding="utf-8")
    return [p for p, _ in contents]


#: A generated region of the input guide: between two Markdown link-reference definitions, which
#: render as nothing on the published site.
_REGION = re.compile(r"(\[template:(?P<kind>[a-z_]+)\]: #\n)(?P<body>.*?)(\n\[/template:(?P=kind)\]: #)",
                     re.S)


def guide_regions(text: str) -> dict[str, str]:
    """The generated regions of an input guide: ``{kind: text between the markers}``.

    >>> guide_regions("a\\n\\n[template:zones]: #\\nX\\n\\n[/template:zones]: #\\n")
    {'zones': 'X\\n'}
    """
    return {m["kind"]: m["body"] for m in _REGION.finditer(text)}


def update_guide(path, lang: str) -> bool:
    """Rewrite the generated regions of an input guide (``methodology/inputs*.md``) from the
    specs; returns True when the file changed.

    Each region sits between ``[template:KIND]: #`` and ``[/template:KIND]: #`` and holds
    :func:`spec_markdown` of that kind (level-3 heading). Run it after changing a spec::

        python -c "from territoria.ingest.templates import update_guide as u; \\
            u('methodology/inputs.md', 'es'); u('methodology/inputs.en.md', 'en')"
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    new = _REGION.sub(lambda m: m.group(1) + spec_markdown(m["kind"], lang, heading="###")
                      + m.group(4), text)
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text
