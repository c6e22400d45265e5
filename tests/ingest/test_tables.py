"""Tests of territoria.ingest.tables: blocks, census margins, programme and community links,
each checked row by row (bad rows quarantined with their rule), link areas from city.yml."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from territoria.config import init_workspace
from territoria.ingest.core import ingest_files
from territoria.ingest.tables import table_kind
from territoria.store import Store


@pytest.fixture
def ws(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    with Store(ws.store_path) as s, s.transaction():
        s.append("territories", pd.DataFrame({"territory_id": ["T1", "T2"],
                                              "name": ["Uno", "Dos"], "zone_id": ["Z", "Z"]}))
    return ws


def _csv(ws, name, text):
    p = ws.raw_dir / name
    p.write_text(text, encoding="utf-8")
    return p


def _quarantine(ws):
    with Store(ws.store_path, read_only=True) as s:
        return s.query("SELECT * FROM quarantine")


def test_table_kind_from_the_header():
    assert table_kind(["link_code", "Territory", "area"]) == "links"
    assert table_kind(["territory_id", "sex", "age_group", "population"]) == "census"
    assert table_kind(["block_id", "territory_id"]) == "blocks"
    assert table_kind(["x", "y"]) is None


def test_blocks_and_census(ws):
    blocks = _csv(ws, "blocks.csv", "block_id,territory_id,population\nB1,T1,10\nB2,T9,5\n"
                                     "B3,T2,1.5\nB4,T2,\n")
    census = _csv(ws, "census.csv", "territory_id,sex,age_group,population\nT1,female,18_29,100\n"
                                     "T1,other,18_29,3\nT2,male,60_plus,-1\n")
    rb, rc = ingest_files(ws, [blocks, census])
    assert (rb.status, rb.accepted, rb.quarantined) == ("ok", 2, 2)
    assert (rc.status, rc.accepted, rc.quarantined) == ("ok", 1, 2)
    q = _quarantine(ws)
    assert {"unknown_territory", "integer"} <= set(q["rule"])
    with Store(ws.store_path, read_only=True) as s:
        assert s.query("SELECT block_id FROM blocks ORDER BY 1")["block_id"].tolist() == ["B1", "B4"]
        assert s.query("SELECT population FROM census_margins")["population"].tolist() == [100.0]


def test_links_accept_only_the_citys_areas(ws):
    links = "link_code,territory,area,sex,age_group\nL1,T1,youth,female,18_29\n" \
            "L2,T1,sports,male,30_44\nL3,T2,youth,x,30_44\n"
    r = ingest_files(ws, [_csv(ws, "links.csv", links)])[0]
    assert (r.accepted, r.quarantined) == (2, 1)  # no areas declared: any area code is accepted
    assert set(_quarantine(ws)["rule"]) == {"choice:female|male"}
    cfg = yaml.safe_load(ws.city_file.read_text(encoding="utf-8"))
    cfg["link_areas"] = [{"id": "youth", "label": {"es": "Juventudes"}}]
    ws.city_file.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    r = ingest_files(ws, [_csv(ws, "links2.csv", links.replace("L", "M"))])[0]
    assert (r.accepted, r.quarantined) == (1, 2)
    assert "choice:youth" in set(_quarantine(ws)["rule"])
    with Store(ws.store_path, read_only=True) as s:
        codes = s.query("SELECT link_code FROM links")["link_code"].tolist()
    assert codes and not any(c in ("L1", "L2", "M1") for c in codes)  # pseudonymised


def test_programme_marks_priority_and_cohorts(ws):
    prog = _csv(ws, "programme.csv", "territory_id,priority,cohort,joined_on\n"
                                      "T1,sí,c1,2024-01-15\nT2,maybe,,\n")
    r = ingest_files(ws, [prog])[0]
    assert (r.accepted, r.quarantined) == (1, 1)
    with Store(ws.store_path, read_only=True) as s:
        t = s.query("SELECT territory_id, priority, cohort FROM territories ORDER BY 1")
    assert t["priority"].tolist() == [True, False]
    assert t["cohort"].iloc[0] == "c1" and pd.isna(t["cohort"].iloc[1])
