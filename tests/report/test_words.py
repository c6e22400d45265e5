"""Words for numbers: intervals, effects, degenerate intervals, units."""

import math

import pytest

from territoria.report import words
from territoria.report.catalogue import Indicator, load_catalogue


def ind(**kw):
    base = dict(id="x", step="06_impact", names={"es": "Efecto", "en": "Effect"},
                definition={"es": "d"}, formula="f", source="s")
    return Indicator(**{**base, **kw})


@pytest.mark.parametrize("lo, hi, says", [(-0.20, 0.08, "includes_null"),
                                          (-0.20, -0.02, "excludes_null")])
def test_an_effect_says_whether_its_interval_includes_no_effect(lo, hi, says):
    e = ind(unit="log", effect=True)
    for lang in ("es", "en"):
        text = words.describe(e, {"value": -0.06, "ci_low": lo, "ci_high": hi, "n": 293}, lang)
        first = words.MESSAGES[says][lang].split("{")[0]
        assert first in text, text
        other = "excludes_null" if says == "includes_null" else "includes_null"
        assert words.MESSAGES[other][lang].split("{")[0] not in text


def test_log_effects_read_as_percentage_changes_with_their_unit():
    e = ind(unit="log", effect=True)
    row = {"value": -0.06, "ci_low": -0.15, "ci_high": 0.03, "n": 293}
    pct = 100 * (math.exp(-0.06) - 1)  # -5.8 %
    assert words.value_text(e, row, "es") == f"{pct:.0f} %"
    text = words.describe(e, row, "es")
    assert "14 % menos" in text and "3 % más" in text and "293 colonias" in text


def test_a_degenerate_interval_is_said_to_be_one():
    share = ind(percent=True, unit="share")
    row = {"value": 1.0, "ci_low": 1.0, "ci_high": 1.0, "n": 93}
    assert words.value_text(share, row, "es") == "100 %"
    text = words.describe(share, row, "es")
    assert "93" in text and "no tiene ancho" in text and "entre" not in text


def test_a_change_of_a_share_is_in_points_and_a_ratio_compares_with_one():
    change = ind(percent=True, unit="share", effect=True)
    assert words.value_text(change, {"value": -0.092, "ci_low": -0.107, "ci_high": -0.078},
                            "en") == "-9.2 points"
    ratio = ind(unit="ratio", effect=True)
    text = words.describe(ratio, {"value": 0.6, "ci_low": 0.4, "ci_high": 0.9}, "es")
    assert "el 1" in text and "no incluye" in text


def test_every_template_of_the_catalogue_fills_in_both_languages():
    row = {"value": 0.42, "ci_low": 0.30, "ci_high": 0.55, "n": 120}
    for i in load_catalogue().values():
        for lang in ("es", "en"):
            text = words.describe(i, row, lang)
            assert "{" not in text and text.endswith("."), (i.id, lang, text)
            if i.sentence:  # a sentence, not "name: value"
                assert text.startswith(i.sentence[lang].split("{")[0]), (i.id, lang, text)


def test_a_missing_key_raises_in_tests_and_a_city_language_falls_back_to_spanish():
    from territoria.i18n import MissingTranslation

    with pytest.raises(MissingTranslation):
        words._t("not_a_key", "es")
    row = {"value": 0.78, "ci_low": 0.69, "ci_high": 0.88, "n": 93}
    # a city publishing in Portuguese: the kit's sentences fall back to Spanish, never break
    text = words.describe(ind(percent=True, unit="share"), row, "pt")
    assert "entre 69" in text and "con 93 respuestas" in text, text
