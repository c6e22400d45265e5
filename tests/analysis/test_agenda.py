"""Tests of territoria.analysis.agenda (the Local Development Agenda)."""

from __future__ import annotations

import pandas as pd
import pytest

from territoria.analysis.agenda import agenda_to_csv, build_agenda
from territoria.exceptions import DataError

ST = pd.DataFrame({"proposal": ["P1", "P2", "P3"], "gic": [0.41, 0.72, 0.55],
                   "gic_low": [0.30, 0.60, 0.45], "gic_high": [0.52, 0.80, 0.66],
                   "n_votes": [40, 38, 35], "divisive": [True, False, False]})
PR = pd.DataFrame({"proposal_code": ["P1", "P2", "P3", "P4"],
                   "axis": ["security", "water", "water", "health"],
                   "title": ["Luminarias", "Fugas", "Pipas", "Centro de salud"],
                   "department": ["", "", "", "health"], "horizon": ["", "", "short", ""]})


OWNERS = {"security": "security", "water": "water_utility", "health": "health"}


def test_build_agenda_ranks_and_fills():
    ag = build_agenda(ST, PR, departments=OWNERS)
    assert ag["proposal"].tolist() == ["P2", "P3", "P1", "P4"]
    assert ag["rank"].tolist() == [1, 2, 3, 4]
    assert ag.set_index("proposal")["rank_in_axis"].to_dict() == {"P2": 1, "P3": 2, "P1": 1,
                                                                   "P4": 1}
    r = ag.set_index("proposal")
    assert r.loc["P1", "status"] == "mediation" and r.loc["P4", "status"] == "no_votes"
    assert r.loc["P3", "horizon"] == "short"  # from the proposals, not the axis default
    assert r.loc["P2", "horizon"] == "long" and r.loc["P2", "department"] == "water_utility"
    assert build_agenda(ST, PR, horizons={"water": "medium"}).set_index("proposal").loc[
        "P2", "horizon"] == "medium"
    assert len(build_agenda(ST, PR, top=2)) == 2
    # a city that declares no owner per axis: the department stays empty
    assert build_agenda(ST, PR).set_index("proposal")["department"].isna().to_dict() == {
        "P1": True, "P2": True, "P3": True, "P4": False}
    with pytest.raises(DataError, match="horizon 'soon'"):
        build_agenda(ST, PR.assign(horizon="soon"))
    with pytest.raises(DataError, match="axis"):
        build_agenda(ST, PR.drop(columns="axis"))


def test_agenda_csv(tmp_path):
    ag = build_agenda(ST, PR, departments=OWNERS)
    p = agenda_to_csv(ag, tmp_path / "a" / "agenda.csv")
    back = pd.read_csv(p)
    assert back["proposal"].tolist() == ag["proposal"].tolist()
    assert back["gic_low"].iloc[0] == pytest.approx(0.60)
