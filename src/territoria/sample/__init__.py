"""The embedded sample city: Iztapalapa's real geography with synthetic activity.

:func:`build_sample` writes a complete workspace (``city.yml``, the kit's instruments in
``surveys/``, raw files in ``data/raw/`` as a real user would have them, and the ground truth
in ``truth/``). ``territoria demo`` then ingests, runs and publishes it.

The generative model and its true parameters: :mod:`territoria.sample.model` and
``methodology/sample-city.md``.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path

import pandas as pd

from territoria.config import Workspace, init_workspace, load_city
from territoria.exceptions import ConfigError
from territoria.sample import activity as act
from territoria.sample import writer as wr
from territoria.sample.geography import (
    layer_territories,
    layer_zones,
    load_territories,
    make_blocks,
    make_zones,
)
from territoria.sample.model import AXIS_DEPARTMENT, AXIS_LABELS, TrueParams

__all__ = ["build_sample", "generate", "Geography", "TrueParams"]


def _scaled_territories(terr: pd.DataFrame, scale: int) -> pd.DataFrame:
    if scale == 1:
        return terr
    copies = []
    for r in range(1, scale + 1):
        c = terr.copy()
        if r > 1:
            c["territory_id"] = c["territory_id"] + f"-R{r}"
            c["name"] = c["name"] + f" [{r}]"
        copies.append(c)
    return pd.concat(copies, ignore_index=True)


@dataclasses.dataclass(frozen=True)
class Geography:
    """Where the sample city lies: Iztapalapa's shipped layer (``path=None``) or any layer.

    Attributes
    ----------
    path : path-like or None
        A polygon layer of territories (any format and CRS); None for Iztapalapa.
    where : str, optional
        OGR SQL filter of the layer.
    mapping : str, optional
        ``territory_id=COL,name=COL[,population=COL][,zone_id=COL]``.
    name : str, optional
        The city's name (default: the borough the layer names, else the file's stem).
    """

    path: object = None
    where: str | None = None
    mapping: str | None = None
    name: str | None = None


#: Territories of the shipped Iztapalapa layer, the size the planted parameters were set for.
BASE_TERRITORIES = 293
BASE_POPULATION = 1844597.0


def params_for(terr: pd.DataFrame, base: TrueParams, zones_given: int | None = None) -> TrueParams:
    """The planted parameters, sized for a layer of ``len(terr)`` territories: cohorts keep
    their dates and proportions (each at least one territory), zones one per ~22 territories
    unless the layer gives them, links and blocks follow the population.

    >>> t = pd.DataFrame({"population": [1000.0] * 40})
    >>> p = params_for(t, TrueParams())
    >>> [c.size for c in p.cohorts], p.n_zones
    ([3, 5, 5, 4], 2)
    """
    n = len(terr)
    k = n / BASE_TERRITORIES
    sizes = [max(1, round(c.size * k)) for c in base.cohorts]
    while sum(sizes) > max(1, n - 1) and max(sizes) > 1:
        sizes[sizes.index(max(sizes))] -= 1
    popk = float(terr["population"].sum()) / BASE_POPULATION
    return dataclasses.replace(
        base, cohorts=tuple(dataclasses.replace(c, size=s) for c, s in
                            zip(base.cohorts, sizes, strict=True)),
        n_zones=zones_given or max(2, min(n // 2, round(base.n_zones * k))),
        links_total=max(20 * sum(sizes), round(base.links_total * popk)),
        blocks_total=max(3 * n, round(base.blocks_total * popk)))


def generate(seed: int = 20181224, scale: int = 1, geography: Geography | None = None) -> dict:
    """Generate every table of the sample city in memory (no files).

    Returns a dict of DataFrames and the :class:`TrueParams` under ``"params"``; with a
    ``geography``, the city lies on that layer (``"geography"`` holds its details).
    """
    if not isinstance(scale, int) or scale < 1:
        raise ConfigError(f"--scale must be a whole number >= 1, got {scale!r}")
    base = TrueParams(seed=seed)
    given = None
    if geography is not None and geography.path is not None:
        terr0 = layer_territories(geography.path, where=geography.where,
                                  mapping=geography.mapping)
        if "zone_id" in terr0:
            given = terr0["zone_id"].nunique()
        base = params_for(terr0, base, zones_given=given)
    else:
        terr0 = load_territories()
    p = dataclasses.replace(
        base, cohorts=tuple(dataclasses.replace(c, size=c.size * scale) for c in base.cohorts),
        links_total=base.links_total * scale, blocks_total=base.blocks_total * scale)
    if given:
        zones, membership0 = layer_zones(terr0)
        terr0 = terr0.drop(columns="zone_id")
    else:
        zones, membership0 = make_zones(terr0, n_zones=p.n_zones, seed=seed)
    terr = _scaled_territories(terr0, scale)
    membership = pd.DataFrame({
        "territory_id": terr["territory_id"],
        "zone_id": pd.concat([membership0["zone_id"]] * scale, ignore_index=True)})
    blocks = make_blocks(terr, total=p.blocks_total, seed=seed)
    t = act.territory_attributes(terr, membership, p)
    census = act.census_margins(t, p)
    counts, expected, prog = act.simulate_crime(t, p)
    diag = act.diagnostic_survey(t, prog, blocks, p, scale=1)
    links = act.links(t, prog, p)
    asm, agr = act.assemblies(t, prog, blocks, census, p)
    fu = act.followup_updates(agr, p)
    props, vsubs, votes, tsubs, trows, groups = act.proposals_votes(t, prog, diag, p)
    agr = act.link_agreements(agr, props, p)  # proposal_code (assembly form 2026.2)
    proc = act.process_questionnaires(t, prog, p)
    panel = act.wellbeing_panel(t, prog, p)
    return {"params": p, "territories": t, "zones": zones, "blocks": blocks, "census": census,
            "crime": counts, "crime_expected": expected, "programme": prog, "diagnostic": diag,
            "links": links, "assemblies": asm, "agreements": agr, "followup": fu,
            "proposals": props, "vote_submissions": vsubs, "votes": votes,
            "tally_submissions": tsubs, "tallies": trows, "opinion_groups": groups,
            "process": proc, "wellbeing": panel,
            "layer": {"assumed_population": bool(terr0.attrs.get("assumed_population")),
                      "borough": terr0.attrs.get("borough"), "zones_given": bool(given)}}


CITY_YML = """\
{header}
name: {name}
country: MX
languages: [es, en]
default_language: es
levels:
  city: {{es: alcaldía, en: borough}}
  zone: {{es: dirección territorial, en: territorial directorate}}
  territory: {{es: colonia, en: neighbourhood}}
  block: {{es: manzana, en: block}}
axes:
{axes}
departments:
  - {{id: security, label: {{es: Seguridad Ciudadana, en: Public Safety}}}}
  - {{id: public_works, label: {{es: Obras y Desarrollo Urbano, en: Public Works}}}}
  - {{id: water_utility, label: {{es: Sistema de Aguas, en: Water Utility}}}}
  - {{id: health, label: {{es: Salud, en: Health}}}}
  - {{id: social_development, label: {{es: Desarrollo Social, en: Social Development}}}}
  - {{id: environment, label: {{es: Medio Ambiente, en: Environment}}}}
  - {{id: mobility, label: {{es: Movilidad, en: Mobility}}}}
  - {{id: culture, label: {{es: Cultura, en: Culture}}}}
  - {{id: government, label: {{es: Gobierno, en: Government}}}}
  - {{id: legal_affairs, label: {{es: Asuntos Jurídicos, en: Legal Affairs}}}}
link_areas:
  - {{id: peace_wellbeing, label: {{es: Paz y bienestar, en: Peace and wellbeing}}}}
  - {{id: health, label: {{es: Salud, en: Health}}}}
  - {{id: civil_protection, label: {{es: Protección civil, en: Civil protection}}}}
  - {{id: women, label: {{es: Mujeres, en: Women}}}}
  - {{id: youth, label: {{es: Juventudes, en: Youth}}}}
  - {{id: children, label: {{es: Niñas y niños, en: Children}}}}
  - {{id: older_adults, label: {{es: Personas mayores, en: Older adults}}}}
programme:
  start: {programme_start}
  size: {programme_size}
  remote_meetings: {{start: 2020-04-01, end: 2021-12-31}}
cohorts:
{cohorts}
cohort_coding: first_exposed_period
min_cell_size: 5
selection: {{social_index: 0.5, crime_rate: 0.4, population: 0.1, normalisation: minmax}}
period_start: {start}
period_end: {end}
illustrative_zones: {illustrative}
seed: {seed}
sources:
  - {{kind: territories, path: catalogue/{layer_file}, description: {layer_note}}}
  - {{kind: zones, path: catalogue/zones.csv, description: {zones_note}}}
  - {{kind: blocks, path: catalogue/blocks.csv}}
  - {{kind: other, path: catalogue/census_sex_age.csv, description: adult population by sex and age group}}
  - {{kind: other, path: catalogue/programme.csv, description: priority territories and cohorts}}
  - {{kind: social_index, path: indices/ids_colonias_2020.csv}}
  - {{kind: crime, path: crime/{crime_file}}}
  - {{kind: other, path: links/links_registry.csv, description: volunteer community links}}
"""


HEADER_IZTAPALAPA = """\
# city.yml of the SAMPLE CITY: Iztapalapa's real territorial units (IECM) with synthetic
# activity. The 13 zones are ILLUSTRATIVE: the official membership of the Direcciones
# Territoriales is not public. See truth/README.md and methodology/sample-city.md."""

HEADER_LAYER = """\
# city.yml of a SAMPLE CITY on the real layer {layer} with synthetic activity (the same
# planted truths as the Iztapalapa sample, sized for {n} territories). {zones}
# See truth/README.md and methodology/sample-city.md."""


def _slug(text: str) -> str:
    import re
    import unicodedata

    t = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", t).strip("_") or "ciudad"


def sample_names(g: dict, geography: Geography | None) -> dict:
    """City name and file names of a sample: Iztapalapa's, or derived from the layer."""
    if geography is None or geography.path is None:
        return {"name": "Iztapalapa (ciudad de ejemplo)", "name_en": "Iztapalapa (sample city)",
                "short": "Iztapalapa",
                "borough": "IZTAPALAPA", "layer_file": "iztapalapa_ut.geojson",
                "crime_file": "carpetas_fgj_iztapalapa_2016_2024.csv",
                "header": HEADER_IZTAPALAPA, "layer_note": "IECM territorial units (real)"}
    lay = g.get("layer", {})
    short = geography.name or (lay.get("borough") or "").title() or Path(str(geography.path)).stem
    slug = _slug(short)
    zones = ("Zones come from the layer." if lay.get("zones_given") else
             "Its zones are ILLUSTRATIVE (grown from the layer).")
    return {"name": f"{short} (ciudad de ejemplo)", "name_en": f"{short} (sample city)",
            "short": short,
            "borough": (lay.get("borough") or short).upper(),
            "layer_file": f"{slug}_territories.geojson",
            "crime_file": f"carpetas_fgj_{slug}_2016_2024.csv",
            "header": HEADER_LAYER.format(layer=Path(str(geography.path)).name,
                                          n=len(g["territories"]), zones=zones),
            "layer_note": f"territorial units of {Path(str(geography.path)).name} (real)"}


def _city_yml(p: TrueParams, names: dict | None = None, zones_given: bool = False) -> str:
    names = names or sample_names({}, None)
    axes = "\n".join(f"  - {{id: {k}, label: {{es: {v[0]}, en: {v[1]}}}, "
                     f"department: {AXIS_DEPARTMENT[k]}}}" for k, v in AXIS_LABELS.items())
    cohorts = "\n".join(
        f"  - {{id: {c.id}, joined_on: {c.joined_on.isoformat()}, "
        f"label: {{es: {c.label_es}, en: {c.label_en}}}}}" for c in p.cohorts)
    first = min(c.joined_on for c in p.cohorts)
    return CITY_YML.format(header=names["header"], name="{es: %s, en: %s}" % (
                               yaml_text(names["name"]),
                               yaml_text(names.get("name_en", names["name"]))),
                           layer_file=names["layer_file"], crime_file=names["crime_file"],
                           layer_note=yaml_text(names["layer_note"]),
                           zones_note="zones of the layer" if zones_given else
                           "illustrative zones",
                           illustrative="false" if zones_given else "true",
                           axes=axes, cohorts=cohorts, start=p.start.isoformat(),
                           programme_start=first.replace(day=1).isoformat(),
                           programme_size=sum(c.size for c in p.cohorts),
                           end=p.end.isoformat(), seed=p.seed)


def planted_facts(g: dict) -> dict:
    """Facts the kit should recover (written to ``truth/params.json``)."""
    p = g["params"]
    prog = g["programme"]
    return {
        "n_territories": int(len(g["territories"])),
        "n_zones": int(len(g["zones"])),
        "n_programme": int(prog["priority"].sum()),
        "n_blocks": int(len(g["blocks"])),
        "population_total": float(g["territories"]["population"].sum()),
        "dominant_water_territory": act.dominant_water_territory(g["territories"], prog),
        "underrepresented_group": "male|18_29",
        "weakest_process_stage": min(p.process_stage_means, key=p.process_stage_means.get),
        "crime_effect_log": p.crime_effect_log,
        "cohort_sizes": prog.dropna(subset=["cohort"]).groupby("cohort").size().to_dict(),
        "programme_territories": sorted(prog.loc[prog["priority"], "territory_id"].tolist()),
    }


def write_surveys(raw: Path, g: dict, instruments: dict) -> list[Path]:
    """KoboToolbox (and one ODK Central) exports of the kit's instruments."""
    from territoria.instruments import exports as ex
    from territoria.instruments.xlsform import find_instrument

    d = raw / "surveys"
    d.mkdir(parents=True, exist_ok=True)
    stamp = "2025-01-15-09-30-00"
    out = []

    def inst(form_id):
        return find_instrument(instruments, form_id)

    def date_cols(df, cols):
        df = df.copy()
        for c in cols:
            if c in df:
                df[c] = pd.to_datetime(df[c]).dt.strftime("%Y-%m-%d")
        return df

    flat = [("territoria_diagnostic", g["diagnostic"], "Diagnostico_participativo"),
            ("territoria_proposals", g["proposals"].drop(columns=["_kind"]), "Propuestas"),
            ("territoria_followup", date_cols(g["followup"], ["update_date"]), "Seguimiento_acuerdos"),
            ("territoria_process", g["process"], "Evaluacion_proceso"),
            ("territoria_wellbeing", g["wellbeing"], "Panel_bienestar")]
    for form_id, df, title in flat:
        i = inst(form_id)
        p = d / f"{title}_-_all_versions_-_False_-_{stamp}.csv"
        ex.write_kobo_csv(i, df, p)
        out.append(p)
    asm = date_cols(g["assemblies"], ["date"])
    # sent the evening of the meeting: without it the export would number submissions 7 min
    # apart from a fixed day, which runs into the future past ~69,000 rows (scale 10)
    asm["_submission_time"] = (pd.to_datetime(asm["date"]) + pd.Timedelta(hours=20)
                               + pd.to_timedelta(asm.groupby("date").cumcount() % 180,
                                                 unit="min"))
    agr = date_cols(g["agreements"].drop(columns=["_made_on", "_axis", "territory"]), ["due_date"])
    p = d / f"Registro_asambleas_-_all_versions_-_False_-_{stamp}.xlsx"
    ex.write_kobo_xlsx(inst("territoria_assembly"), asm, {"agreements": agr}, p)
    out.append(p)
    p = d / "territoria_votes.csv.zip"
    ex.write_odk_zip(inst("territoria_votes"), g["vote_submissions"], {"votes": g["votes"]}, p)
    out.append(p)
    p = d / "territoria_tallies.csv.zip"
    ex.write_odk_zip(inst("territoria_tallies"), date_cols(g["tally_submissions"], ["date"]),
                     {"tally": g["tallies"]}, p)
    out.append(p)
    return out


def yaml_text(text: str) -> str:
    """A YAML scalar for ``text`` (quoted when needed)."""
    import yaml

    return yaml.safe_dump(str(text), allow_unicode=True, width=1000).strip().removesuffix(
        "...").strip()


def build_sample(root, *, seed: int = 20181224, scale: int = 1, force: bool = False,
                 timings: dict | None = None, geography: Geography | None = None) -> Workspace:
    """Write the sample city into a new workspace at ``root``.

    Parameters
    ----------
    root : path-like
        The workspace folder (created).
    seed : int
        Seed of every random draw; the same seed gives byte-identical files.
    scale : int
        Multiplies territories and respondents (for benchmarks).
    force : bool
        Overwrite an existing workspace.
    geography : Geography, optional
        Another city's territory layer (default: Iztapalapa's shipped layer).
    """
    from territoria.instruments.xlsform import default_surveys_dir, load_instruments

    t0 = time.perf_counter()
    root = Path(root)
    ws = Workspace(root)
    if ws.exists() and not force:
        raise ConfigError(f"{ws.root}: already a workspace; use --force to rebuild the sample")
    if ws.exists() and force:
        for sub in ("data", "output", "site", "truth", "surveys"):
            shutil.rmtree(ws.root / sub, ignore_errors=True)
        ws.store_path.unlink(missing_ok=True)
    g = generate(seed=seed, scale=scale, geography=geography)
    names = sample_names(g, geography)
    init_workspace(root, name=names["short"], force=True)
    if timings is not None:
        timings["generate"] = time.perf_counter() - t0
    ws.city_file.write_text(_city_yml(g["params"], names, g["layer"]["zones_given"]),
                            encoding="utf-8")
    load_city(ws.city_file)
    surveys = ws.root / "surveys"
    surveys.mkdir(exist_ok=True)
    for f in sorted(default_surveys_dir().glob("*.xlsx")):
        shutil.copyfile(f, surveys / f.name)
    instruments = load_instruments(surveys)
    raw = ws.raw_dir
    t = g["territories"].merge(
        g["programme"][["territory_id"]], on="territory_id")
    wr.write_catalogue(raw, t, g["zones"], g["blocks"], g["census"], g["programme"],
                       layer_file=names["layer_file"], borough=names["borough"])
    wr.write_social_index(raw, t)
    wr.write_crime(raw, g["crime"], t, g["params"], file_name=names["crime_file"],
                   borough=names["borough"])
    wr.write_links(raw, g["links"])
    write_surveys(raw, g, instruments)
    wr.write_truth(ws.root, g["params"], planted_facts(g), g["opinion_groups"])
    if timings is not None:
        timings["write"] = time.perf_counter() - t0 - timings["generate"]
    return ws
