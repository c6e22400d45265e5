"""Tests of territoria.vocabulary (one definition of the labels of shared codes) and of the
rule that no other module defines them, or any label text, a second time."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from territoria import i18n, vocabulary
from territoria.config import CityConfig
from territoria.exceptions import ConfigError
from territoria.vocabulary import CLOSED_KINDS, FORM_LISTS, KINDS, Like, Vocabulary

SRC = Path(vocabulary.__file__).resolve().parent

#: Label texts still defined in more than one module (Spanish text): the list may only shrink;
#: a new duplicate fails; mend it by importing the one definition.
KNOWN_DUPLICATES = {
    # steps 03 and 04 raise their own missing-territory error (steps.common.require_territory
    # is the shared one: folding them in changes the message, left to the steps' factoring)
    "Falta el parámetro 'territory'",
    # report/site.py's own two copies (its annex links are being reworked at the same time)
    "Evaluaciones del programa (informes)",
    # site.py's catalogue columns and instruments.codebook (which sits below the vocabulary,
    # so cannot import it): arrived with the site's catalogue page on the same day
    "Nombre",
}


def _label_dicts() -> dict[tuple[str, str], list[str]]:
    """Every ``{"es": "...", "en": "..."}`` literal of ``src/territoria`` -> where it is."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Dict):
                continue
            texts = {k.value: v.value for k, v in zip(node.keys, node.values, strict=True)
                     if isinstance(k, ast.Constant) and k.value in ("es", "en")
                     and isinstance(v, ast.Constant) and isinstance(v.value, str)}
            if len(texts) == 2 and texts["es"].strip():
                found[(texts["es"], texts["en"])].append(
                    f"{path.relative_to(SRC)}:{node.lineno}")
    for path, line, texts in _catalogue_texts():
        if isinstance(texts.get("es"), str) and isinstance(texts.get("en"), str) \
                and texts["es"].strip():
            module = path.stem.replace(".", "/") + ".py"  # the module whose texts they are
            found[(texts["es"], texts["en"])].append(
                f"{module} -> {path.relative_to(SRC)}:{line}")
    return found


def _catalogue_texts():
    """Every entry of the modules' catalogues (``messages/*.yml``) -> (file, line, texts)."""
    for path in sorted((SRC / "messages").glob("*.yml")):
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        for _, entries in root.value:
            for key, texts in entries.value:
                if isinstance(texts, yaml.MappingNode):
                    yield path, key.start_mark.line + 1, yaml.safe_load(yaml.serialize(texts))


def test_every_kind_has_spanish_and_english_labels():
    v = Vocabulary()
    for kind in KINDS:
        for code in v.codes(kind):
            assert v.label(kind, code, "es") and v.label(kind, code, "en"), (kind, code)
    assert v.codes("agreement_status") == ("proposed", "negotiating", "agreed", "in_progress",
                                           "done", "rejected", "cancelled")
    assert v.label("meeting_kind", "security_cabinet", "es") == "Gabinete de seguridad"
    assert v.label("disability", "yes", "en") == "With a disability"


def test_the_city_declares_axes_departments_and_link_areas_in_any_language():
    city = CityConfig.model_validate({
        "name": "X", "languages": ["pt", "es"],
        "axes": [{"id": "water", "label": {"pt": "Água"}, "department": "sabesp"}],
        "departments": [{"id": "sabesp", "label": {"pt": "Companhia de água", "es": "Aguas"}}],
        "link_areas": [{"id": "youth", "label": {"pt": "Juventude"}}]})
    v = Vocabulary(city)
    assert v.label("axis", "water", "es") == "Água"  # no Spanish text: the city's first language
    assert v.label("department", "sabesp", "es") == "Aguas"
    assert v.codes("link_area") == ("youth",)
    assert v.label("link_area", "sports", "pt") == "sports"  # unknown code: as recorded
    assert v.label("sex", "female", "pt") == "Mujer"  # kit labels: city's first, then Spanish
    assert v.label_columns("department", ["sabesp", None], ("pt", "en")) == {
        "label_pt": ["Companhia de água", ""], "label_en": ["Companhia de água", ""]}


def test_a_city_that_declares_none_gets_the_forms_labels_and_any_link_area():
    city = CityConfig.model_validate({"name": "X"})
    assert vocabulary.codes("link_area", city) == ()
    assert vocabulary.label("department", "public_works", "es", city) == \
        "Obras y Desarrollo Urbano"
    assert vocabulary.label("axis", "mobility", "en", city) == "Mobility and transport"


def test_unknown_kind_raises():
    with pytest.raises(ConfigError, match="not a kind of code"):
        vocabulary.label("colour", "red")


def test_the_forms_and_the_vocabulary_agree_on_codes():
    lists = vocabulary.choice_lists()
    for kind, (source, name) in FORM_LISTS.items():
        assert vocabulary.codes(kind) == tuple(lists[source][name]), kind


def test_question_quotes_the_form():
    assert vocabulary.question("process", "pe_rep_understanding", "es").startswith(
        "Entiendo bien los problemas")


def test_strict_translations_in_tests():
    with pytest.raises(i18n.MissingTranslation):
        i18n.tr({"a": {"es": "A"}}, "b", "es")
    assert i18n.tr({"a": {"es": "A"}}, "a", "nah") == "A"


def test_closed_lists_raise_on_an_unknown_code_in_tests():
    """Headings, run statuses... are the kit's own lists: a code missing there is a slip."""
    assert {"heading", "run_status", "yes_no"} <= CLOSED_KINDS
    with pytest.raises(i18n.MissingTranslation):
        vocabulary.label("heading", "frm", "es")
    with pytest.raises(i18n.MissingTranslation):
        vocabulary.texts("run_status", "skipped")
    old = i18n.set_strict(False)
    try:  # outside the tests a page never breaks: the code shows as recorded
        assert vocabulary.label("heading", "frm", "es") == "frm"
    finally:
        i18n.set_strict(old)
    assert vocabulary.label("department", "alcaldia_x") == "alcaldia_x"  # open: data may add


def test_like_entries_share_one_definition():
    v = Vocabulary()
    assert v.texts("mechanism", "security_cabinet") == v.texts("meeting_kind", "security_cabinet")
    assert v.texts("mechanism", "planning_collective") == \
        v.texts("proposal_round", "collective") == v.texts("consensus_round", "collective")
    assert v.codes("mechanism")[-1] == "agenda_validation"
    assert Like("sex", "female") == ("sex", "female")
    assert vocabulary.texts("heading", "from") == {"es": "Desde", "en": "From"}
    city = CityConfig.model_validate({"name": "X", "languages": ["pt", "es"]})
    assert vocabulary.texts("geo_level", "city", city) == {"es": "Alcaldía", "en": "Borough",
                                                            "pt": "Alcaldía"}


def _literal_lookups():
    """Every ``vocabulary.<label|labels|texts|label_columns>("kind", "code"...)`` call of
    src/ with literal arguments -> where it is."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "vocabulary"
                    and node.func.attr in ("label", "texts") and len(node.args) >= 2
                    and all(isinstance(a, ast.Constant) for a in node.args[:2])):
                found.append((node.args[0].value, node.args[1].value,
                              f"{path.relative_to(SRC)}:{node.lineno}"))
    for path, line, texts in _catalogue_texts():  # catalogue entries {vocabulary: kind/code}
        if isinstance(texts.get("vocabulary"), str):
            found.append((*texts["vocabulary"].split("/", 1), f"{path.relative_to(SRC)}:{line}"))
    return found


def test_every_literal_lookup_names_a_known_code():
    """Module-level lookups run at import, before the tests turn strict mode on: check them."""
    v = Vocabulary()
    calls = _literal_lookups()
    assert len(calls) > 40  # the steps' headings, the sheets', the coverage page's...
    unknown = [c for c in calls if c[1] not in v.codes(c[0])]
    assert not unknown, f"vocabulary lookups of unknown codes: {unknown}"


def test_no_module_redefines_a_vocabulary_label():
    """The labels of shared codes live in the vocabulary (forms' lists and its catalogue)."""
    v = Vocabulary()
    served = {(t["es"], t["en"]) for kind in KINDS for t in (v.texts(kind, c)
                                                             for c in v.codes(kind))}
    where = _label_dicts()
    again = {pair: [w for w in places if not w.startswith("vocabulary.py")]
             for pair, places in where.items() if pair in served}
    again = {p: w for p, w in again.items() if w}
    assert not again, f"labels of shared codes defined outside territoria.vocabulary: {again}"


def test_no_label_text_is_defined_twice():
    """An AST scan of src/: the same {es, en} label in two places is one definition too many."""
    twice = {pair: places for pair, places in _label_dicts().items() if len(places) > 1}
    new = {p: w for p, w in twice.items() if p[0] not in KNOWN_DUPLICATES}
    assert not new, f"label texts defined twice (import the one definition instead): {new}"
