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
