"""Tests of territoria.steps.common: declaring a step's section from its catalogue."""

import pytest

from territoria import i18n
from territoria.steps import View, common, sections

MESSAGES = {
    "title": {"es": "Seguimiento", "en": "Follow-up"},
    "intro": {"es": "Qué se acordó.", "en": "What was agreed."},
    "v_list": {"es": "Acuerdos", "en": "Agreements"},
    "c_list": {"es": "Los {n} más recientes.", "en": "The {n} most recent."},
    "col_id": {"es": "Acuerdo", "en": "Agreement"},
    "col_due": {"es": "Para cuándo", "en": "By when"},
}


def test_texts_declares_the_section_from_catalogue_keys():
    t = common.Texts(MESSAGES)
    s = t.section("04_followup", [
        t.view("list", "table", "v_list", t("c_list", n=5),
               columns=[("agreement_id", "col_id"), ("due_date", "col_due")], percent=True),
        t.view("bars", "bar", "v_list", value="mean"),
    ], indicators=["followup_overdue"])
    assert s.step == "04_followup"
    assert s.title == MESSAGES["title"] and s.intro == MESSAGES["intro"]
    assert s.indicators == ("followup_overdue",)
    table, bars = s.views
    assert table == View(key="list", kind="table", title=MESSAGES["v_list"],
                         caption={"es": "Los 5 más recientes.", "en": "The 5 most recent."},
                         columns={"agreement_id": MESSAGES["col_id"],
                                  "due_date": MESSAGES["col_due"]}, percent=True)
    assert list(table.columns) == ["agreement_id", "due_date"]  # display order kept
    assert bars.caption == {} and bars.value == "mean" and bars.columns == {}


def test_texts_unknown_key_raises_even_outside_strict_mode():
    old = i18n.set_strict(False)
    try:
        with pytest.raises(i18n.MissingTranslation, match="col_nope"):
            common.Texts(MESSAGES).view("list", "table", "v_list", columns=[("x", "col_nope")])
    finally:
        i18n.set_strict(old)


def test_every_step_section_has_its_texts_in_both_languages():
    for s in sections():
        texts = [s.title, s.intro] + [v.title for v in s.views]
        texts += [v.caption for v in s.views if v.caption]
        texts += [h for v in s.views for h in v.columns.values()]
        for t in texts:
            assert set(t) == {"es", "en"} and all(t.values()), (s.step, t)
        assert len({v.key for v in s.views}) == len(s.views), s.step


def _impact_store(tmp_path, joined):
    """A workspace with three territories (``joined``: their join dates) and 30 months of
    crime: everything step 06 needs but what ``joined`` leaves out."""
    import pandas as pd

    from territoria.config import init_workspace
    from territoria.store import Store

    ws = init_workspace(tmp_path / "ws", name="Prueba")
    with Store(ws.store_path) as s, s.transaction():
        ids = ["T1", "T2", "T3"]
        s.append("territories", pd.DataFrame({
            "territory_id": ids, "name": ids, "population": [1000.0] * 3,
            "cohort": [None if d is None else "c1" for d in joined],
            "joined_on": pd.to_datetime(pd.Series(joined, dtype="object")).dt.date}))
        months = pd.date_range("2020-01-01", periods=30, freq="MS").date
        s.append("crime_counts", pd.DataFrame({"territory_id": "T1", "month": months,
                                               "category": "robo", "count": 3.0}))
    return ws


@pytest.mark.parametrize("joined, needles", [
    ([None, None, None], {"es": ["fecha de incorporación", "joined_on", "programme.csv"],
                          "en": ["joining date", "joined_on", "programme.csv"]}),
    (["2021-01-04", "2021-01-04", "2021-01-04"],
     {"es": ["nunca entraron", "joined_on vacíos", "programme.csv"],
      "en": ["never joined", "joined_on empty", "programme.csv"]}),
])
def test_a_table_with_rows_but_without_the_values_is_named_by_its_columns(tmp_path, joined,
                                                                           needles):
    """Step 06 without join dates said the table ``territories`` was missing; it names what
    lacks (``territories.joined_on``: join dates, or territories never joined to compare
    with) and the file that fills it, in both languages; the run's list of what is missing
    (``missing_inputs.csv``, the coverage page) says ``territories.joined_on``."""
    ws = _impact_store(tmp_path, joined)
    ctx = common.open_context(ws.root)
    try:
        chk = common.check_inputs(ctx, "06_impact")
    finally:
        ctx.close()
    assert chk.status == "no-data"
    assert chk.missing[0] == "territories.joined_on" and "territories" not in chk.missing
    for lang in ("es", "en"):
        reason = chk.message(lang)
        assert all(n in reason for n in needles[lang]), reason
        assert "territoria template programme" in reason
        assert "«territories»" not in reason and "“territories”" not in reason
    assert chk.meta()["missing"] == chk.missing
    assert "joined_on" in chk.meta()["reason_es"] and "joined_on" in chk.meta()["reason_en"]


def test_an_empty_table_is_still_named_as_missing(tmp_path):
    """Without any territory, the table itself is what is missing (not its columns)."""
    from territoria.config import init_workspace
    from territoria.store import Store

    ws = init_workspace(tmp_path / "ws", name="Vacía")
    Store(ws.store_path).close()
    ctx = common.open_context(ws.root)
    try:
        chk = common.check_inputs(ctx, "06_impact")
    finally:
        ctx.close()
    assert chk.missing[0] == "territories"
    assert "«territories»" in chk.reasons("es")[0]
