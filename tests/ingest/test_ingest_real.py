"""Real public files (../shared/data/real): every row accounted for; totals against SOURCE.md."""

from __future__ import annotations

import shutil

import pytest

from territoria.ingest import ingest_files
from territoria.store import Store

KOBO = "kobo-export-example/paleocore-sss_artifact-form_-_all_versions_-_False_-_2022-08-01-05-36-18.csv"


@pytest.fixture
def empty_ws(tmp_path, kit):
    return kit.make_workspace(tmp_path / "real", places=False)


def test_real_kobo_export_all_rows_accounted(empty_ws, real_data, kit):
    ws = empty_ws
    (ws.root / "surveys").mkdir()
    shutil.copy(real_data / "kobo-export-example" / "artifact-kobotoolbox.xlsx", ws.root / "surveys")
    src = real_data / KOBO
    digest = kit.sha(src)
    (r,) = ingest_files(ws, [src], form="artifact-kobotoolbox")
    # 3,203 submissions (SOURCE.md of kobo-export-example)
    assert r.status == "ok" and r.rows_read == 3203
    assert r.accepted + r.quarantined == 3203
    with Store(ws.store_path, read_only=True) as s:
        t = s.table("artifact_kobotoolbox")
        q = s.table("quarantine")
    assert len(t) == r.accepted and t["_uuid"].is_unique
    assert q["row"].nunique() == r.quarantined and q["row"].between(1, 3203).all()
    # values outside the current version's choice lists (the export spans all versions)
    assert "choice in list cn9hh69" in set(q["rule"])
    assert kit.sha(src) == digest


def test_real_ids_iecm_and_cuadrantes(empty_ws, real_data):
    ws = empty_ws
    files = [real_data / "iecm-colonias" / "iztapalapa_colonias_iecm.geojson",
             real_data / "evalua-ids-ageb-2020" / "ids_ageb_2020_iztapalapa.csv",
             real_data / "ssp-cuadrantes-crimen" / "cuadrantes_iztapalapa_2013-2016.csv.gz"]
    geo, ids, cuad = ingest_files(ws, files)
    assert (geo.accepted, ids.accepted, cuad.accepted) == (293, 458, 94202)
    assert geo.quarantined == ids.quarantined == cuad.quarantined == 0
    with Store(ws.store_path, read_only=True) as s:
        terr = s.table("territories")
        si = s.table("social_index")
        cq = s.query("SELECT count(*) n, sum(count) total, count(DISTINCT cuadrante) c "
                     "FROM crime_cuadrante")
    # IECM SOURCE.md: 293 UTs, SUMPOB1 sum 1,844,597; suffixes (PBLO) 16, (BARR) 13,
    # (U HAB) 68, (AMPL) 13, (FRACC) 4, (PJE) 3
    assert len(terr) == 293 and terr["population"].sum() == 1844597
    kinds = terr["kind"].value_counts()
    assert (kinds["pueblo"], kinds["barrio"], kinds["unidad_habitacional"], kinds["ampliacion"],
            kinds["fraccionamiento"], kinds["paraje"]) == (16, 13, 68, 13, 4, 3)
    # EVALÚA SOURCE.md: 458 AGEBs, pob 1,808,698; Sin información 4 (kept, no value)
    assert si["population"].sum() == 1808698 and (si["unit_level"] == "ageb").all()
    assert si["territory_id"].isna().all()
    noinfo = si[si["stratum"] == "Sin información"]
    assert len(noinfo) == 4 and noinfo["value"].isna().all()
    # SSP SOURCE.md: 94,202 rows, 134 cuadrantes, 22,153 incidents
    assert cq.loc[0].tolist() == [94202, 22153, 134]


def test_real_gpkg_filter_and_mapping_are_explicit(empty_ws, real_data):
    gpkg = real_data / "iecm-colonias" / "colonias_iecm.gpkg"
    opts = {"where": "NOMDT = 'IZTAPALAPA'",
            "map": "territory_id=CVEUT,name=NOMUT,population=SUMPOB1"}
    (r,) = ingest_files(empty_ws, [gpkg], options=opts)
    # IECM SOURCE.md: 293 Iztapalapa UTs of the 1,814 of CDMX, SUMPOB1 1,844,597
    assert (r.status, r.rows_read, r.accepted, r.quarantined) == ("ok", 293, 293, 0)
    assert "293 of 1814" in r.message
    with Store(empty_ws.store_path, read_only=True) as s:
        t = s.table("territories")
    assert t["population"].sum() == 1844597
    assert t["geometry"].str.startswith('{"type":"MultiPolygon"').all()


def test_real_gpkg_filter_matching_nothing_lists_values(empty_ws, real_data):
    gpkg = real_data / "iecm-colonias" / "colonias_iecm.gpkg"
    (r,) = ingest_files(empty_ws, [gpkg], options={"where": "NOMDT = 'Coyoacán'"})
    assert r.status == "rejected"
    assert "matches none of the 1814" in r.message and "COYOACAN" in r.message
    assert "\n" not in r.message


def test_real_gpkg_without_filter_keeps_all_and_says_how_to_filter(empty_ws, real_data):
    """The kit never filters by the workspace's name (a different spelling silently kept
    all 1,814 units); without --where every unit is kept and the note says how to filter."""
    (r,) = ingest_files(empty_ws, [real_data / "iecm-colonias" / "colonias_iecm.gpkg"])
    assert r.rows_read == 1814 and r.accepted + r.quarantined == 1814
    assert "--where" in r.message and "NOMDT" in r.message
