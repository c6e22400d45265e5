"""FGJ crime records: point in polygon, name matching, unmatched quarantine, both layouts."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from territoria.config import init_workspace
from territoria.ingest import ingest_files
from territoria.ingest.names import normalize_name, territory_kind
from territoria.store import Store


def _square(x0, y0):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x0 + 1, y0], [x0 + 1, y0 + 1],
                                                [x0, y0 + 1], [x0, y0]]]}


@pytest.fixture
def geo_ws(tmp_path):
    ws = init_workspace(tmp_path / "w", "Iztapalapa")
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"CVEUT": "07-001", "NOMUT": "ACULCO (PBLO)",
                                           "SUMPOB1": 100.0}, "geometry": _square(0, 0)},
        {"type": "Feature", "properties": {"CVEUT": "07-002", "NOMUT": "JOSE MA MORELOS Y PAVON (U HAB)",
                                           "SUMPOB1": 50.0}, "geometry": _square(1, 0)},
    ]}
    p = tmp_path / "t.geojson"
    p.write_text(json.dumps(fc))
    (r,) = ingest_files(ws, [p])
    assert r.accepted == 2
    return ws


def test_acumulado_layout(geo_ws, tmp_path):
    rows = pd.DataFrame({
        "anio_hecho": ["2024", "2024", "2024", "2024", "2024", "2024"],
        "mes_hecho": ["Enero"] * 6,
        "fecha_hecho": ["2024-01-05", "2024-01-20", "2024-02-01", "2024-01-07", "", "2024-01-09"],
        "delito": ["ROBO A TRANSEUNTE"] * 6,
        "categoria_delito": ["Robo a transeúnte", "Robo a transeúnte", "Robo a transeúnte",
                             "Delito de bajo impacto", "Delito de bajo impacto", "Delito de bajo impacto"],
        "colonia_catalogo": ["", "", "", "José Ma. Morelos y Pavón", "Aculco", "Narvarte Oriente"],
        "alcaldia_hecho": ["IZTAPALAPA"] * 6,
        "latitud": ["0.5", "0.5", "0.5", "", "", ""],
        "longitud": ["0.5", "1.5", "0.5", "", "", ""],
    })
    p = tmp_path / "carpetasFGJ_acumulado_2025_01.csv"
    rows.to_csv(p, index=False)
    (r,) = ingest_files(geo_ws, [p])
    assert (r.kind, r.rows_read, r.accepted, r.quarantined) == ("crime", 6, 5, 1)
    with Store(geo_ws.store_path, read_only=True) as s:
        c = s.query("SELECT territory_id, strftime(month, '%Y-%m') m, category, count FROM "
                    "crime_counts ORDER BY 1, 2, 3")
        q = s.table("quarantine")
    assert c.values.tolist() == [
        ["07-001", "2024-01", "DELITO DE BAJO IMPACTO", 1],   # by name, year+month fallback
        ["07-001", "2024-01", "ROBO A TRANSEÚNTE", 1],         # point
        ["07-001", "2024-02", "ROBO A TRANSEÚNTE", 1],
        ["07-002", "2024-01", "DELITO DE BAJO IMPACTO", 1],   # by normalised name
        ["07-002", "2024-01", "ROBO A TRANSEÚNTE", 1],         # point in the 2nd square
    ]
    assert q[["row", "value", "rule"]].values.tolist() == [[6, "Narvarte Oriente",
                                                          "territory_not_matched"]]


def test_ckan_layout(geo_ws, tmp_path):
    rows = pd.DataFrame({
        "_id": [1, 2, 3], "ao_hechos": ["2019", "2019", "2019"],
        "mes_hechos": ["Octubre"] * 3,
        "fecha_hechos": ["2019-10-07 14:00:00", "fecha rota", "2019-10-09 10:00:00"],
        "delito": ["ROBO DE CELULAR"] * 3, "categoria_delito": ["DELITO DE BAJO IMPACTO"] * 3,
        "colonia_hechos": ["ACULCO", "ACULCO", "ACULCO"], "alcaldia_hechos": ["IZTAPALAPA"] * 3,
        "longitud": ["5.0", "", "1.2"], "latitud": ["5.0", "", "0.2"],
    })
    p = tmp_path / "carpetas-2019.csv"
    rows.to_csv(p, index=False, sep=";")
    (r,) = ingest_files(geo_ws, [p])
    # row 1: a point outside every territory is quarantined, never name-matched;
    # row 2: no coordinates, its colonia's name matches, its date comes from ao/mes
    assert (r.accepted, r.quarantined) == (2, 1)
    with Store(geo_ws.store_path, read_only=True) as s:
        c = s.query("SELECT territory_id, count FROM crime_counts ORDER BY 1")
        q = s.table("quarantine")
    assert c.values.tolist() == [["07-001", 1], ["07-002", 1]]
    assert q[["row", "rule"]].values.tolist() == [[1, "territory_not_matched"]]


def test_city_wide_file_keeps_the_city_boroughs(tmp_path):
    """The FGJ file covers all of Mexico City: rows of other boroughs are quarantined as
    outside_city (never name-matched into a colonia of this borough with the same name)."""
    ws = init_workspace(tmp_path / "w", "Coyoacán")
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"CVEUT": "03-001", "NOMUT": "CENTRO",
                                           "NOMDT": "COYOACAN"}, "geometry": _square(0, 0)}]}
    layer = tmp_path / "c.geojson"
    layer.write_text(json.dumps(fc))
    ingest_files(ws, [layer])
    rows = pd.DataFrame({
        "fecha_hecho": ["2024-01-05", "2024-01-06", "2024-01-07"],
        "delito": ["ROBO"] * 3, "categoria_delito": ["ROBO"] * 3,
        "colonia_hecho": ["CENTRO", "CENTRO", "CENTRO"],
        "alcaldia_hecho": ["COYOACAN", "CUAUHTEMOC", "Coyoacán"],
        "latitud": ["", "", "0.5"], "longitud": ["", "", "0.5"]})
    p = tmp_path / "carpetasFGJ_acumulado_2025_01.csv"
    rows.to_csv(p, index=False)
    (r,) = ingest_files(ws, [p])
    assert (r.accepted, r.quarantined) == (2, 1)
    with Store(ws.store_path, read_only=True) as s:
        q = s.table("quarantine")
        n = s.query("SELECT sum(count) FROM crime_counts").iloc[0, 0]
    assert n == 2
    assert q[["row", "value", "rule"]].values.tolist() == [[2, "CUAUHTEMOC", "outside_city"]]


def test_names_and_kinds():
    assert normalize_name("Santa Martha Acatitla Norte") == normalize_name("SANTA MARTHA ACATITLA NORTE")
    assert normalize_name("JOSE MA MORELOS Y PAVON (U HAB)") == "JOSE MA MORELOS Y PAVON"
    assert [territory_kind(x) for x in ("A (BARR)", "B (U HAB)", "C (AMPL)", "D (FRACC)", "E")] == [
        "barrio", "unidad_habitacional", "ampliacion", "fraccionamiento", "colonia"]
