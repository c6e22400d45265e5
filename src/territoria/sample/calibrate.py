"""Build the sample city's package data from the real sources (run by maintainers, not users).

Two files in ``territoria/data/`` come from real public data (see ``territoria/data/SOURCE.md``):

- ``iztapalapa_ut.geojson``: the 293 IECM territorial units of Iztapalapa (CVEUT, NOMUT,
  DTTOLOC, SUMPOB1) with geometry simplified to about 10 m and 5 decimals;
- ``crime_calibration.csv``: per crime category, the mean monthly count for the whole
  alcaldía and 12 month-of-year factors, from the SSP-DF cuadrante counts 2013-01..2015-12.

Regenerate with::

    python -m territoria.sample.calibrate ../shared/data/real territoria/data

Examples
--------
>>> kind_from_name("ACULCO (PBLO)")
'pueblo'
>>> kind_from_name("JOSE MA MORELOS Y PAVON (U HAB)")
'unidad_habitacional'
>>> kind_from_name("SAN MIGUEL TEOTONGO SECC ACORRALADO")
'colonia'
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pandas as pd

from territoria.ingest.names import KIND_SUFFIXES  # NOMUT suffix -> kind of territory

#: SSP crime names -> the sample's categories (FGJ-like ``categoria_delito``).
CRIME_CATEGORIES = {
    "HOMICIDIO DOLOSO": "homicide",
    "LESIONES POR ARMA DE FUEGO": "gun_injury",
    "VIOLACION": "rape",
    "ROBO A TRANSEUNTE C.V.": "robbery_pedestrian",
    "ROBO A TRANSEUNTE S.V.": "robbery_pedestrian",
    "ROBO A CUENTAHABIENTE C.V.": "robbery_pedestrian",
    "ROBO DE VEHICULO AUTOMOTOR C.V.": "vehicle_theft",
    "ROBO DE VEHICULO AUTOMOTOR S.V.": "vehicle_theft",
    "ROBO A NEGOCIO C.V.": "robbery_business",
    "ROBO A REPARTIDOR C.V.": "robbery_business",
    "ROBO A REPARTIDOR S.V.": "robbery_business",
    "ROBO A TRANSPORTISTA C.V.": "robbery_business",
    "ROBO A TRANSPORTISTA S.V.": "robbery_business",
    "ROBO A CASA HABITACION C.V.": "burglary",
    "ROBO A BORDO DE MICROBUS C.V.": "robbery_transport",
    "ROBO A BORDO DE MICROBUS S.V.": "robbery_transport",
    "ROBO A BORDO DE TAXI C.V.": "robbery_transport",
    "ROBO A BORDO DE METRO C.V.": "robbery_transport",
    "ROBO A BORDO DE METRO S.V.": "robbery_transport",
}


def kind_from_name(name: str) -> str:
    """Kind of territorial unit parsed from the IECM name suffix."""
    m = re.search(r"\(([^)]+)\)\s*$", name or "")
    if m:
        return KIND_SUFFIXES.get(m.group(1).strip().upper(), "other")
    return "colonia"


def simplify_layer(src: Path, dst: Path, tolerance: float = 0.0001) -> int:
    """Write the simplified Iztapalapa layer; returns the number of features."""
    from shapely.geometry import mapping, shape

    data = json.loads(Path(src).read_text(encoding="utf-8"))
    feats = []
    for f in sorted(data["features"], key=lambda f: f["properties"]["CVEUT"]):
        geom = shape(f["geometry"]).simplify(tolerance, preserve_topology=True)
        gj = mapping(geom)
        gj = json.loads(json.dumps(gj), parse_float=lambda x: round(float(x), 5))
        p = f["properties"]
        feats.append({"type": "Feature", "properties": {
            "CVEUT": p["CVEUT"], "NOMUT": p["NOMUT"], "DTTOLOC": p["DTTOLOC"],
            "SUMPOB1": p["SUMPOB1"]}, "geometry": gj})
    out = {"type": "FeatureCollection",
           "name": "iztapalapa_ut (IECM, simplified; see SOURCE.md)", "features": feats}
    Path(dst).write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")),
                         encoding="utf-8")
    return len(feats)


def crime_calibration(ssp_csv: Path) -> pd.DataFrame:
    """Mean monthly count per category for the alcaldía and month-of-year factors.

    Uses the 36 complete months 2013-01..2015-12 (January 2016 is incomplete in the source).
    """
    df = pd.read_csv(ssp_csv, usecols=["crime", "date", "count"])
    df["date"] = pd.to_datetime(df["date"])
    df = df[df["date"] < "2016-01-01"]
    df["category"] = df["crime"].map(CRIME_CATEGORIES)
    monthly = df.groupby(["category", "date"], as_index=False)["count"].sum()
    monthly["moy"] = monthly["date"].dt.month
    rows = []
    for cat, g in monthly.groupby("category"):
        mean = g["count"].mean()
        by_moy = g.groupby("moy")["count"].mean() / mean
        # shrink month factors towards 1 (few events per month make them noisy)
        w = min(1.0, mean / 200.0)
        fac = 1 + w * (by_moy - 1)
        rows.append({"category": cat, "monthly_mean": round(mean, 3),
                     **{f"m{m:02d}": round(float(fac.get(m, 1.0)), 4) for m in range(1, 13)}})
    return pd.DataFrame(rows).sort_values("category").reset_index(drop=True)


def main(argv=None) -> int:  # pragma: no cover - maintainer script
    argv = argv or sys.argv[1:]
    real, out = Path(argv[0]), Path(argv[1])
    n = simplify_layer(real / "iecm-colonias" / "iztapalapa_colonias_iecm.geojson",
                       out / "iztapalapa_ut.geojson")
    cal = crime_calibration(real / "ssp-cuadrantes-crimen" / "cuadrantes_iztapalapa_2013-2016.csv.gz")
    cal.to_csv(out / "crime_calibration.csv", index=False, lineterminator="\n")
    print(f"{n} territories, {len(cal)} crime categories written to {out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())


__all__ = ["kind_from_name", "simplify_layer", "crime_calibration", "CRIME_CATEGORIES",
           "KIND_SUFFIXES"]
