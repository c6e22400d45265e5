"""Write the sample city as the files a real user would have, into a workspace.

``data/raw/`` receives:

- ``catalogue/iztapalapa_ut.geojson``: the real IECM layer (simplified), with the illustrative
  ``zone_id`` of each territory; ``catalogue/zones.csv``; ``catalogue/blocks.csv``;
  ``catalogue/census_sex_age.csv``; ``catalogue/programme.csv`` (priority territories, cohort,
  join date);
- ``indices/ids_colonias_2020.csv``: the social-development index per territory in the
  EVALÚA layout and encoding (Latin-1);
- ``crime/carpetas_fgj_iztapalapa_2016_2024.csv``: crime records in the public FGJ layout
  (21 columns, ~5 % without coordinates, colonia names as typed);
- ``surveys/``: KoboToolbox exports of the kit's own instruments (CSV for flat forms, XLSX with
  one sheet per repeat group for forms with repeats, one ODK Central zip for variety);
- ``links/links_registry.csv``: the volunteer-link registry, with personal data.

``truth/`` (outside ``data/raw``) holds the true parameters and planted facts.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from territoria.sample.model import TrueParams, rng_for

MONTHS_ES = ["Enero", "Febrero", "Marzo", "Abril", "Mayo", "Junio", "Julio", "Agosto",
             "Septiembre", "Octubre", "Noviembre", "Diciembre"]

#: sample category -> (FGJ categoria_delito, typical delito texts)
FGJ_CATEGORY = {
    "homicide": ("HOMICIDIO DOLOSO", ["HOMICIDIO POR ARMA DE FUEGO", "HOMICIDIO POR ARMA BLANCA"]),
    "gun_injury": ("LESIONES DOLOSAS POR DISPARO DE ARMA DE FUEGO",
                   ["LESIONES DOLOSAS POR DISPARO DE ARMA DE FUEGO"]),
    "rape": ("VIOLACIÓN", ["VIOLACION"]),
    "robbery_pedestrian": ("ROBO A TRANSEUNTE EN VÍA PÚBLICA CON Y SIN VIOLENCIA",
                           ["ROBO A TRANSEUNTE EN VIA PUBLICA CON VIOLENCIA",
                            "ROBO A TRANSEUNTE EN VIA PUBLICA SIN VIOLENCIA",
                            "ROBO A TRANSEUNTE DE CELULAR CON VIOLENCIA"]),
    "vehicle_theft": ("ROBO DE VEHÍCULO CON Y SIN VIOLENCIA",
                      ["ROBO DE VEHICULO DE SERVICIO PARTICULAR SIN VIOLENCIA",
                       "ROBO DE VEHICULO DE SERVICIO PARTICULAR CON VIOLENCIA"]),
    "robbery_business": ("ROBO A NEGOCIO CON VIOLENCIA", ["ROBO A NEGOCIO CON VIOLENCIA",
                                                           "ROBO A REPARTIDOR CON VIOLENCIA"]),
    "burglary": ("ROBO A CASA HABITACIÓN CON VIOLENCIA", ["ROBO A CASA HABITACION CON VIOLENCIA"]),
    "robbery_transport": ("ROBO A PASAJERO A BORDO DE MICROBUS CON Y SIN VIOLENCIA",
                          ["ROBO A PASAJERO A BORDO DE MICROBUS CON VIOLENCIA",
                           "ROBO A PASAJERO A BORDO DE TRANSPORTE PÚBLICO CON VIOLENCIA"]),
}
FGJ_COLUMNS = ["anio_inicio", "mes_inicio", "fecha_inicio", "hora_inicio", "anio_hecho",
               "mes_hecho", "fecha_hecho", "hora_hecho", "delito", "categoria_delito",
               "competencia", "fiscalia", "agencia", "unidad_investigacion", "colonia_hecho",
               "colonia_catalogo", "alcaldia_hecho", "alcaldia_catalogo", "municipio_hecho",
               "latitud", "longitud"]


def write_catalogue(raw: Path, t: pd.DataFrame, zones: pd.DataFrame, blocks: pd.DataFrame,
                    census: pd.DataFrame, prog: pd.DataFrame, *,
                    layer_file: str = "iztapalapa_ut.geojson",
                    borough: str = "IZTAPALAPA") -> list[Path]:
    """Territory layer (GeoJSON with zone ids), zones, blocks, census margins, programme."""
    d = raw / "catalogue"
    d.mkdir(parents=True, exist_ok=True)
    feats = [{"type": "Feature",
              "properties": {"CVEUT": r.territory_id, "NOMUT": r.name, "NOMDT": borough,
                             "DTTOLOC": r.district, "SUMPOB1": r.population,
                             "zone_id": r.zone_id},
              "geometry": json.loads(r.geometry)} for r in t.itertuples()]
    p_geo = d / layer_file
    p_geo.write_text(json.dumps({"type": "FeatureCollection", "features": feats},
                                ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    out = [p_geo]
    for name, df in (("zones.csv", zones),
                     ("blocks.csv", blocks),
                     ("census_sex_age.csv", census),
                     ("programme.csv", prog.assign(
                         joined_on=pd.to_datetime(prog["joined_on"]).dt.date)[
                         ["territory_id", "priority", "cohort", "joined_on"]])):
        p = d / name
        df.to_csv(p, index=False, lineterminator="\n")
        out.append(p)
    return out


def write_social_index(raw: Path, t: pd.DataFrame) -> Path:
    """Social-development index per territory, EVALÚA-style columns, Latin-1."""
    d = raw / "indices"
    d.mkdir(parents=True, exist_ok=True)
    strata = pd.cut(t["social_index"], [0, 0.7, 0.8, 0.9, 0.95, 1.01],
                    labels=["Muy bajo", "Bajo", "Medio", "Alto", "Muy alto"], right=False)
    df = pd.DataFrame({"cveut": t["territory_id"], "nomut": t["name"], "alcaldia": "007",
                       "pob": t["population"].astype(int), "idsm": t["social_index"].round(4),
                       "e_idsm": strata.astype(str)})
    p = d / "ids_colonias_2020.csv"
    df.to_csv(p, index=False, encoding="latin-1", lineterminator="\n")
    return p


def fgj_records(counts: pd.DataFrame, t: pd.DataFrame, p: TrueParams,
                borough: str = "IZTAPALAPA") -> pd.DataFrame:
    """One row per incident in the FGJ 21-column layout, with points inside the territory."""
    from shapely import contains_xy
    from shapely.geometry import shape

    rng = rng_for(p.seed, "fgj")
    c = counts[counts["count"] > 0]
    rep = np.repeat(np.arange(len(c)), c["count"].to_numpy())
    inc = c.iloc[rep].reset_index(drop=True)
    n = len(inc)
    month = pd.to_datetime(inc["month"])
    day = (rng.random(n) * month.dt.days_in_month).astype(int)
    hecho = month + pd.to_timedelta(day, unit="D") + pd.to_timedelta(
        rng.integers(0, 24 * 60, n), unit="m")
    inicio = hecho + pd.to_timedelta(rng.exponential(36, n).astype(int), unit="h")
    lat = np.full(n, np.nan)
    lon = np.full(n, np.nan)
    geoms = {r.territory_id: shape(json.loads(r.geometry)) for r in t.itertuples()}
    for tid, idx in inc.groupby("territory_id").indices.items():
        g = geoms[tid]
        minx, miny, maxx, maxy = g.bounds
        need, got_x, got_y = len(idx), [], []
        while need > 0:
            k = max(64, need * 3)
            x = rng.uniform(minx, maxx, k)
            y = rng.uniform(miny, maxy, k)
            ok = contains_xy(g, x, y)
            got_x.extend(x[ok][:need])
            got_y.extend(y[ok][:need])
            need = len(idx) - len(got_x)
        lon[idx], lat[idx] = np.round(got_x, 6), np.round(got_y, 6)
    no_coord = rng.random(n) < 0.05
    lat[no_coord] = np.nan
    lon[no_coord] = np.nan
    names = t.set_index("territory_id")["name"].str.split("(").str[0].str.strip().str.title()
    colonia = inc["territory_id"].map(names).to_numpy()
    typo = rng.random(n) < 0.03
    colonia = np.where(typo, np.char.upper(colonia.astype(str)), colonia)
    cat = inc["category"].map(lambda k: FGJ_CATEGORY[k][0]).to_numpy()
    delito = np.array([FGJ_CATEGORY[k][1][int(i) % len(FGJ_CATEGORY[k][1])]
                       for k, i in zip(inc["category"], rng.integers(0, 10, n), strict=True)])
    df = pd.DataFrame({
        "anio_inicio": inicio.dt.year, "mes_inicio": [MONTHS_ES[m - 1] for m in inicio.dt.month],
        "fecha_inicio": inicio.dt.strftime("%Y-%m-%d"), "hora_inicio": inicio.dt.strftime("%H:%M:%S"),
        "anio_hecho": hecho.dt.year, "mes_hecho": [MONTHS_ES[m - 1] for m in hecho.dt.month],
        "fecha_hecho": hecho.dt.strftime("%Y-%m-%d"), "hora_hecho": hecho.dt.strftime("%H:%M:%S"),
        "delito": delito, "categoria_delito": cat, "competencia": "FUERO COMUN",
        "fiscalia": f"INVESTIGACIÓN EN {borough}",
        "agencia": [f"IZP-{i}" for i in rng.integers(1, 10, n)],
        "unidad_investigacion": [f"UI-{i}S/D" for i in rng.integers(1, 4, n)],
        "colonia_hecho": colonia, "colonia_catalogo": colonia,
        "alcaldia_hecho": borough, "alcaldia_catalogo": borough,
        "municipio_hecho": "", "latitud": lat, "longitud": lon})
    return df.sort_values(["fecha_hecho", "hora_hecho", "colonia_hecho"], kind="stable")[FGJ_COLUMNS]


def write_crime(raw: Path, counts: pd.DataFrame, t: pd.DataFrame, p: TrueParams, *,
                file_name: str = "carpetas_fgj_iztapalapa_2016_2024.csv",
                borough: str = "IZTAPALAPA") -> Path:
    d = raw / "crime"
    d.mkdir(parents=True, exist_ok=True)
    path = d / file_name
    fgj_records(counts, t, p, borough).to_csv(path, index=False, lineterminator="\n")
    return path


def write_links(raw: Path, links: pd.DataFrame) -> Path:
    d = raw / "links"
    d.mkdir(parents=True, exist_ok=True)
    p = d / "links_registry.csv"
    links.to_csv(p, index=False, lineterminator="\n")
    return p


def write_truth(root: Path, p: TrueParams, facts: dict, groups: pd.DataFrame) -> Path:
    """True parameters and planted facts (not an input: for teaching and for tests)."""
    d = root / "truth"
    d.mkdir(parents=True, exist_ok=True)
    (d / "params.json").write_text(json.dumps({"params": p.to_dict(), "facts": facts},
                                              ensure_ascii=False, indent=2, default=str),
                                   encoding="utf-8")
    groups.to_csv(d / "opinion_groups.csv", index=False, lineterminator="\n")
    (d / "README.md").write_text(
        "# Ground truth of the sample city\n\n"
        "Synthetic data: these are the true parameters and planted facts the data were\n"
        "generated from (see methodology/sample-city.md). They are not inputs of the method;\n"
        "trainers use them to check what the kit recovers.\n", encoding="utf-8")
    return d

