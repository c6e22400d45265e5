"""The sample city: real geography, shape, determinism, planted facts written to truth/."""

import hashlib
import json

import pandas as pd
import pytest

from territoria.exceptions import ConfigError
from territoria.sample import build_sample, generate
from territoria.sample.geography import adjacency, load_territories, make_zones


def digest(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".secret"
            and p.suffix not in (".duckdb", ".lock") and "output" not in p.parts}


def test_real_geography_is_shipped():
    t = load_territories()
    assert len(t) == 293
    # population total equal to the shipped IECM layer's (SUMPOB1), see data/SOURCE.md
    assert int(t["population"].sum()) == 1_844_597
    assert t["territory_id"].is_unique and t["territory_id"].str.match(r"^07-\d{3}$").all()
    assert t["kind"].value_counts()["pueblo"] == 16
    assert t["kind"].value_counts()["unidad_habitacional"] == 68


def test_zones_are_contiguous():
    t = load_territories()
    zones, m = make_zones(t, n_zones=13, seed=20181224)
    assert len(zones) == 13 and zones["illustrative"].all()
    assert zones["name"].str.contains("ilustrativa").all()
    nb = adjacency(t)
    zone_of = dict(zip(m["territory_id"], m["zone_id"], strict=True))
    ids = t["territory_id"].tolist()
    for z in zones["zone_id"]:
        members = [i for i, tid in enumerate(ids) if zone_of[tid] == z]
        seen, stack = {members[0]}, [members[0]]
        while stack:
            i = stack.pop()
            for j in nb[i]:
                if zone_of[ids[j]] == z and j not in seen:
                    seen.add(j)
                    stack.append(j)
        isolated = [i for i in members if not nb[i]]
        assert len(seen) + len([i for i in isolated if i not in seen]) == len(members), z


def test_generate_is_deterministic_and_shaped():
    a = generate(seed=7)
    b = generate(seed=7)
    for k in ("diagnostic", "assemblies", "followup", "votes", "crime", "links", "process"):
        pd.testing.assert_frame_equal(a[k], b[k])
    c = generate(seed=8)
    assert not a["diagnostic"]["problems"].equals(c["diagnostic"]["problems"])
    prog = a["programme"]
    assert prog["priority"].sum() == 130
    assert prog.groupby("cohort").size().to_dict() == {"c1": 22, "c2": 40, "c3": 38, "c4": 30}
    assert (prog.loc[prog["cohort"] == "c1", "joined_on"] == pd.Timestamp("2018-12-24")).all()
    assert 6000 <= len(a["blocks"]) <= 7000
    assert 15000 <= len(a["links"]) <= 19000
    # the 2020 pandemic shift: virtual/hybrid assemblies appear only from March 2020
    asm = a["assemblies"]
    when = pd.to_datetime(asm["date"])
    assert (asm.loc[when < "2020-03-01", "mode"] == "in_person").all()
    mid = asm[(when >= "2020-04-01") & (when <= "2021-06-30")]
    assert (mid["mode"] != "in_person").mean() > 0.6


def test_scale_multiplies_territories():
    g = generate(seed=1, scale=2)
    assert len(g["territories"]) == 586
    assert g["programme"]["priority"].sum() == 260
    with pytest.raises(ConfigError, match="scale"):
        generate(scale=0)


def test_workspace_files_are_byte_identical_for_a_seed(sample_ws, tmp_path):
    again = build_sample(tmp_path / "again")
    assert digest(sample_ws.root) .keys() == digest(again.root).keys()
    assert digest(sample_ws.root) == digest(again.root)


def test_truth_and_shape_in_the_store(sample_ws):
    from territoria.store import Store

    facts = json.loads((sample_ws.root / "truth" / "params.json").read_text())["facts"]
    assert facts["n_territories"] == 293 and facts["n_zones"] == 13 and facts["n_programme"] == 130
    with Store(sample_ws.store_path, read_only=True) as s:
        t = s.table("territories")
        assert len(t) == 293 and t["zone_id"].nunique() == 13
        assert int(t["priority"].sum()) == 130
        assert t["population"].sum() == pytest.approx(1_844_597)
        assert 6000 <= s.count("blocks") <= 7000
        # personal data never reaches the store
        for table in s.tables():
            cols = set(s.columns(table))
            assert not cols & {"respondent_name", "phone", "address", "facilitator_name",
                               "facilitator_phone", "name_of_person", "reporter_name"}, table


def test_existing_workspace_needs_force(tmp_path):
    from territoria.config import init_workspace

    init_workspace(tmp_path / "w")
    with pytest.raises(ConfigError, match="--force"):
        build_sample(tmp_path / "w")


def test_assembly_submissions_are_sent_the_day_of_the_meeting(sample_ws):
    """The export's submission time follows the meeting (never a made-up date that, with
    enough rows, runs into the future and gets the rows quarantined at scale 10)."""
    from territoria.store import Store

    with Store(sample_ws.store_path, read_only=True) as s:
        asm = s.query('SELECT "date", _submission_time FROM assembly')
        quarantined = s.query("SELECT count(*) AS n FROM quarantine "
                              "WHERE file LIKE 'Registro_asambleas%'")["n"].iloc[0]
    assert len(asm) > 1000 and quarantined == 0
    sent = pd.to_datetime(asm["_submission_time"])
    assert (sent.dt.normalize() == pd.to_datetime(asm["date"])).all()
