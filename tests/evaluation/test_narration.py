"""What the evaluation notebook says (:mod:`territoria.evaluation.narration`): every message
and table in Spanish and English, files named relative to the workspace or the kit."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from territoria.config import shown_path
from territoria.evaluation import narration
from territoria.evaluation.methods import QuestionResult
from territoria.evaluation.plan import load_plan, plan_warnings

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src" / "territoria"


@pytest.fixture
def result() -> QuestionResult:
    r = QuestionResult("perceived_safety", "baseline", "baseline",
                       answer={"es": "Al inicio, 77 % se sentía inseguro.",
                               "en": "At the start, 77 % felt unsafe."},
                       limits={"es": "Describe el punto de partida, no un cambio.",
                               "en": "It describes the starting point, not a change."},
                       detail=pd.DataFrame({"indicator": ["pct_unsafe_colonia"],
                                            "label_es": ["Se sienten inseguros"],
                                            "label_en": ["Feel unsafe"], "estimate": [0.77],
                                            "ci_low": [0.76], "ci_high": [0.78], "n": [9677]},
                                           index=[4]))
    r.add("pct_unsafe_colonia", 0.77, ci_low=0.76, ci_high=0.78, n=9677)
    r.add("pct_unsafe_colonia", 0.83, ci_low=0.63, ci_high=0.93, n=23, territory_id="07-003",
          min_cell=5)
    r.add("pct_unsafe_colonia", 0.5, n=3, territory_id="07-004", min_cell=5)
    return r


def _versions(b: narration.Both) -> tuple[str, str]:
    html = b._repr_html_()
    assert html.startswith('<div class="both-languages"><div lang="es">')
    es, en = html.split('<div lang="en">')
    return es, en


def test_shown_paths_never_name_the_machines_folders(tmp_path):
    ws = tmp_path / "ws"
    assert shown_path(ws / "output" / "x.results.json", ws) == "output/x.results.json"
    assert shown_path(REPO / "evaluations" / "process.yml", ws) == "evaluations/process.yml"
    assert shown_path(PACKAGE / "messages" / "lock.yml") == "src/territoria/messages/lock.yml"
    assert shown_path(tmp_path / "elsewhere" / "mine.yml", ws) == "mine.yml"


def test_the_plan_says_each_part_in_both_languages_and_names_the_file_in_the_kit(monkeypatch):
    from territoria.report import catalogue

    monkeypatch.setattr(catalogue, "load_catalogue", lambda: {"pct_unsafe_colonia": object()})
    plan = load_plan(REPO / "evaluations" / "perceived_safety.yml")
    assert plan.where == "evaluations/perceived_safety.yml"
    es, en = _versions(narration.the_plan(plan, "baseline", "es"))
    assert "Método: <code>baseline</code>" in es and "Method: <code>baseline</code>" in en
    assert "Se sienten inseguros en su colonia (<code>pct_unsafe_colonia</code>)" in es
    assert "Feel unsafe in their neighbourhood (<code>pct_unsafe_colonia</code>)" in en
    # the warnings of this question only, naming the plan's file in the kit
    assert es.count("Aviso: el indicador") == 2 and en.count("Warning: the indicator") == 2
    assert ("(<code>evaluations/perceived_safety.yml</code>, key "
            "<code>questions[0].indicators[1]</code>)") in en
    assert "questions[2]" not in es + en
    for text in (es, en, *plan_warnings(plan)):
        assert str(REPO) not in text
    assert narration.the_plan(plan, "baseline", "en").text.startswith("Do residents feel safer?")


def test_tables_and_answers_in_both_languages(result):
    es, en = _versions(narration.detail(result, "en"))
    assert "Estimación" in es and "Estimate" in en and "Estimate" not in es
    assert "77.0 %" in es and "77.0%" in en  # a share is shown as a percentage
    assert ">4<" not in es + en  # no row number
    es, en = _versions(narration.the_answer(result, "es"))
    assert "77 % se sentía inseguro" in es and "At the start, 77 % felt unsafe." in en
    assert "not a change" in en and "not a change" not in es
    count, table = narration.by_territory(result, "es")
    assert count.text == ("Colonias con resultado propio: 2; cifras que no se publican por "
                          "tener menos personas que el mínimo: 1.")
    es, en = _versions(table)
    assert "Feel unsafe in their neighbourhood" in en and "83%" in en and "83 %" in es
    assert "pct_unsafe_colonia" not in es + en  # indicators by name, not by code


def test_a_method_without_territories_gives_only_the_count():
    r = QuestionResult("p", "q", "staggered_did")
    r.add("crime_att_cs_never", -0.1, ci_low=-0.2, ci_high=0.0, n=108)
    shown = narration.by_territory(r, "en")
    assert len(shown) == 1 and shown[0].text.startswith("Neighbourhoods with a result of their "
                                                        "own: 0;")


def test_the_results_file_is_named_inside_the_workspace(tmp_path):
    saved = tmp_path / "ws" / "output" / "evaluations" / "p" / "q.results.json"
    es, en = _versions(narration.saved(saved, tmp_path / "ws", "es"))
    assert "<code>output/evaluations/p/q.results.json</code>" in es
    assert en.startswith("<p>Result saved to <code>output/evaluations/p/q.results.json")
    assert str(tmp_path) not in es + en


def test_say_prints_the_notebooks_language_outside_jupyter(capsys, tmp_path):
    narration.say(narration.saved(tmp_path / "a.json", tmp_path, "en"))
    assert capsys.readouterr().out == "Result saved to a.json\n"
