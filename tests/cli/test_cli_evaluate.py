"""CLI tests of ``territoria evaluate impact``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from territoria.cli import cli

REF = Path(__file__).resolve().parents[1] / "data" / "reference"


def _run(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_impact_on_mpdta_matches_r(tmp_path):
    out = tmp_path / "res.json"
    r = _run(["evaluate", "impact", "--panel", str(REF / "mpdta.csv"), "--unit", "countyreal",
              "--time", "year", "--cohort", "first.treat", "--outcome", "lemp",
              "--control", "notyet", "--out", str(out)])
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text())
    # R did aggte(att_gt(..., control_group="notyettreated", bstrap=FALSE), "simple"):
    # -0.0397636256230437 (se 0.0120524247873419); see tests/data/reference/SOURCE_mpdta.md
    assert res["att_simple"]["estimate"] == pytest.approx(-0.0397636256230437, abs=1e-4)
    assert res["att_simple"]["se"] == pytest.approx(0.0120524247873419, abs=1e-4)
    assert set(res["twfe"]) >= {"estimate", "se", "ci_low", "ci_high"}
    assert {"g", "t", "e", "estimate", "se"} <= set(res["att_gt"][0])
    assert {"e", "estimate", "se"} <= set(res["event_study"][0])
    assert res["n_units"] == 500 and res["n_periods"] == 5 and res["control"] == "notyet"
    assert "bstrap=FALSE" in res["se_convention"]["cs"]
    assert "ATT (simple, notyet)" in r.output


def test_impact_with_covariates_and_monthly_dates(tmp_path):
    out = tmp_path / "res.json"
    r = _run(["evaluate", "impact", "--panel", str(REF / "mpdta.csv"), "--unit", "countyreal",
              "--time", "year", "--cohort", "first.treat", "--outcome", "lemp",
              "--covariates", "lpop", "--out", str(out)])
    assert r.exit_code == 0, r.output
    # R did, xformla = ~lpop, est_method = "reg", never treated: -0.0419686124215432
    assert json.loads(out.read_text())["att_simple"]["estimate"] == pytest.approx(
        -0.0419686124215432, abs=1e-4)


@pytest.mark.parametrize("edit,msg", [
    (lambda d: pd.concat([d, d.iloc[[0]]]), "filas repetidas"),
    (lambda d: d.assign(**{"first.treat": d["first.treat"].replace(2007, 2010)}),
     "queda fuera de los periodos del panel"),
    (lambda d: d.assign(lemp=d.lemp.astype(str).where(d.index != 4, "abc")), "no es un número"),
    (lambda d: d[d.year == 2004], "tiene un solo periodo"),
    (lambda d: d.assign(**{"first.treat": d["first.treat"].replace(0, 2007)}),
     "nunca tuvieron el programa"),
])
def test_bad_panels_give_one_line_error(tmp_path, edit, msg):  # outside a workspace: Spanish
    bad = tmp_path / "bad.csv"
    edit(pd.read_csv(REF / "mpdta.csv")).to_csv(bad, index=False)
    r = CliRunner().invoke(cli, ["evaluate", "impact", "--panel", str(bad), "--unit",
                                 "countyreal", "--time", "year", "--cohort", "first.treat",
                                 "--outcome", "lemp", "--out", str(tmp_path / "o.json")])
    assert r.exit_code == 1
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and msg in lines[0]
    assert not (tmp_path / "o.json").exists()


@pytest.mark.parametrize("language,done,error", [
    ("es", "500 unidades x 5 periodos -> ",
     ", fila 6, columna lemp: el valor 'abc' no es un número (regla: numérico)"),
    ("en", "500 units x 5 periods -> ",
     ", row 6, column lemp: value 'abc' is not numeric (rule: numeric)"),
])
def test_impact_speaks_the_city_s_language(tmp_path, city_in, language, done, error):
    ws = city_in(language)
    args = ["evaluate", "impact", "-w", str(ws.root), "--unit", "countyreal", "--time", "year",
            "--cohort", "first.treat", "--outcome", "lemp", "--out", "o.json"]
    r = _run([*args, "--panel", str(REF / "mpdta.csv")])
    assert r.exit_code == 0, r.output
    assert done in r.output and (ws.root / "o.json").exists()
    bad = tmp_path / "bad.csv"
    d = pd.read_csv(REF / "mpdta.csv")
    d.assign(lemp=d.lemp.astype(str).where(d.index != 4, "abc")).to_csv(bad, index=False)
    r = CliRunner().invoke(cli, [*args, "--panel", str(bad)])
    assert r.exit_code == 1
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert lines == [f"error: {bad}{error}"]


@pytest.mark.parametrize("language,line", [
    ("es", "columna first.treat: solo 0 unidades nunca tuvieron el "
           "programa (se necesitan al menos 2) (regla: suficientes unidades sin programa para "
           "comparar)"),
    ("en", "column first.treat: only 0 never-treated units (at least 2 needed) (rule: enough "
           "never-treated units for the comparison)"),
])
def test_an_analysis_error_speaks_the_city_s_language(tmp_path, city_in, language, line):
    ws = city_in(language)
    bad = tmp_path / "bad.csv"
    d = pd.read_csv(REF / "mpdta.csv")
    d.assign(**{"first.treat": d["first.treat"].replace(0, 2007)}).to_csv(bad, index=False)
    r = CliRunner().invoke(cli, ["evaluate", "impact", "-w", str(ws.root), "--panel", str(bad),
                                 "--unit", "countyreal", "--time", "year", "--cohort",
                                 "first.treat", "--outcome", "lemp", "--out", "o.json"])
    assert r.exit_code == 1
    assert r.output.strip() == f"error: {line}"


def test_a_column_not_in_the_panel_is_named(tmp_path):
    r = CliRunner().invoke(cli, ["evaluate", "impact", "--panel", str(REF / "mpdta.csv"),
                                 "--unit", "county", "--time", "year", "--cohort", "first.treat",
                                 "--outcome", "lemp", "--out", str(tmp_path / "o.json")])
    assert r.exit_code == 1
    assert r.output.startswith(f"error: {REF / 'mpdta.csv'}, columna county: la columna "
                               "'county' no está en el panel (columnas: ")
