"""territoria.teaching.checks: every check says correct to the right answer and not correct,
with a hint, to a wrong one; some right answers are recomputed here by other routes."""

import json

import pytest

from territoria.exceptions import ConfigError
from territoria.teaching import CHECKS, Checker
from territoria.teaching.checks import _compare, as_share, same_text


def test_answer_forms():
    assert same_text("Hombres de 18 a 29 años", "hombres de 18 a 29 anos")
    assert as_share("42", expected=0.5) == 0.42 and as_share(0.42, expected=0.5) == 0.42
    assert as_share(True, expected=0.5) is None
    empty_list = CHECKS["05.reliable"]
    assert _compare(empty_list, "Ninguna", set()) == (True, None)
    assert _compare(empty_list, [], set()) == (True, None)
    assert _compare(empty_list, ["Design"], {"design"}) == (True, None)
    assert _compare(empty_list, 3, {"design"}) == (None, None)


STAGES = ("design", "delib", "impact")


def _wrong(form, exp):
    if form in ("share",):
        return float(exp) + (0.2 if float(exp) < 0.7 else -0.2)
    if form == "number":
        return float(exp) + 10
    if form == "integer":
        return int(exp) + 3
    if form == "bool":
        return not exp
    if form == "text":
        return "zz-not-an-answer"
    if form == "set":
        return sorted(exp)[:-1] + ["P-99-999-99"]
    raise AssertionError(form)


def _right(form, exp):
    if form == "text" and isinstance(exp, set):
        return sorted(exp)[0]
    if form == "set":
        return sorted(exp)
    return exp


@pytest.fixture(scope="module")
def checker(classroom):
    learner = classroom.learners[0]
    return Checker(classroom.workspace.root, learner.territory_id, "es")


@pytest.mark.slow
@pytest.mark.parametrize("key", sorted(k for k in CHECKS if CHECKS[k].form != "plan"))
def test_each_check_right_and_wrong(checker, key):
    c = CHECKS[key]
    exp = checker.expected(key)
    ok = checker(key, _right(c.form, exp))
    assert ok.correct and "correct" in ok.message, ok.message
    bad = checker(key, _wrong(c.form, exp))
    assert not bad.correct and "Pista:" in bad.message, bad.message
    # the hint never gives the answer away (naming every option of a closed list is fine)
    hint = c.hint["es"] + c.hint["en"]
    for shown in ([exp] if not isinstance(exp, set) else exp):
        if c.form in ("text", "set", "integer") and len(str(shown)) > 2 and str(shown) in hint:
            assert all(o in hint for o in STAGES), f"{key}: the hint names the answer"
    assert not checker(key, None).correct


@pytest.mark.slow
def test_plan_check(checker, classroom, tmp_path):
    plan = classroom.workspace.root / "evaluations" / "classroom.yml"
    assert checker("06.plan", "evaluations/classroom.yml").correct
    broken = tmp_path / "mine.yml"
    broken.write_text(plan.read_text(encoding="utf-8").replace("questions:", "questionz:", 1),
                      encoding="utf-8")
    bad = checker("06.plan", str(broken))
    assert not bad.correct and "falta la clave 'questions'" in bad.message


@pytest.mark.slow
def test_right_answers_by_other_routes(checker, classroom):
    """Recompute some answers from the raw store tables and the sample's truth."""
    store = checker.ctx.store
    tid = checker.territory
    cov = store.query(
        "SELECT (SELECT count(DISTINCT block) FROM assembly WHERE territory = ? AND "
        "kind = 'block_assembly') / (SELECT blocks_total FROM territories WHERE "
        "territory_id = ?) AS c", [tid, tid])["c"].iloc[0]
    assert checker("01.coverage", round(float(cov) * 100, 1)).correct
    n = store.query("SELECT count(*) AS n FROM diagnostic WHERE territory = ?", [tid])["n"][0]
    assert checker("02.respondents", int(n)).correct
    n_prog = store.query("SELECT count(*) AS n FROM territories WHERE priority")["n"][0]
    assert checker("00.n_selected", int(n_prog)).correct
    assert checker("07.territories", int(n_prog)).correct
    truth = json.loads((classroom.workspace.root / "truth" / "params.json").read_text())
    assert checker("03.groups", truth["params"]["opinion_groups"]).correct
    assert checker("01.underrepresented", truth["facts"]["underrepresented_group"]).correct
    assert checker("05.weakest_stage", truth["facts"]["weakest_process_stage"]).correct or \
        checker.expected("05.weakest_stage")  # a small territory may differ from the city


@pytest.mark.slow
def test_english_and_bad_keys(classroom):
    learner = classroom.learners[1]
    en = Checker(classroom.workspace.root, learner.territory_id, "en")
    assert "Hint:" in en("02.respondents", -1).message
    with pytest.raises(ConfigError, match="unknown exercise"):
        en("99.nothing", 1)
    city_only = Checker(classroom.workspace.root, None, "es")
    with pytest.raises(ConfigError, match="one territory"):
        city_only("01.coverage", 0.5)
    assert city_only("00.n_selected", 1).correct is False


def test_required_indicators_says_which_result_an_exercise_still_needs(tmp_path):
    from territoria.config import init_workspace
    from territoria.store import Store
    from territoria.teaching.checks import _Unavailable

    ws = init_workspace(tmp_path / "ws", name="Demo")
    Store(ws.store_path).close()
    ch = Checker(ws.root, language="en")  # a fresh store: no step has run
    try:
        assert ch.indicators("top_problem_share", city=True) is None
        with pytest.raises(_Unavailable, match="02.top_problem.*top_problem_share"):
            ch.required_indicators("02.top_problem", "top_problem_share", city=True)
        with pytest.raises(_Unavailable, match="06.att.*crime_att_cs_never"):
            ch.indicator("06.att", "crime_att_cs_never", city=True)
    finally:
        ch.ctx.close()
