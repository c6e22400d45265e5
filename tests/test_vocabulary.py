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
from territoria.vocabulary import CATALOGUE, FORM_LISTS, KINDS, Vocabulary

SRC = Path(vocabulary.__file__).resolve().parent

#: Label texts defined in more than one module when this test was written (Spanish text).
#: The list may only shrink: a new duplicate fails; mend it by importing the one definition.
KNOWN_DUPLICATES = {
    "% cumplido", "% de acuerdo", "Acuerdo", "Acuerdos cumplidos", "Alcaldía", "Avance (%)",
    "Colectivo de planeación", "Colonia", "Colonias", "Consenso entre grupos", "Cumplidos",
    "Cómo va", "Desde", "Diagnóstico participativo", "Dirección territorial",
    "Dónde se acordó", "Esta colonia", "Fecha del acuerdo", "Grupo", "Hasta",
    "Indicador", "Lugar", "No", "Para cuándo", "Participación / población", "Personas",
    "Porcentaje", "Propuesta", "Quién se comprometió", "Qué se acordó", "Ronda",
    "Satisfacción con la vida (0 a 10)", "Seguimiento de acuerdos", "Sí", "Valor", "Votos",
    "no", "sí", "Falta el parámetro 'territory'",
    # added by work in progress on the same day (paper forms, data coverage, crosswalk pages)
    "Acuerdos", "Aún no hay datos", "Eje", "Estado", "Evaluaciones del programa (informes)",
    "Fuente", "Zona",
}


#: Modules another issue is reworking (the statistics layer, issue 20): their copies of
#: vocabulary labels go when their labels move to steps/.
PENDING = ("analysis/process_eval.py", "analysis/consensus.py")


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


def test_no_module_redefines_a_vocabulary_label():
    """The labels of shared codes live in the vocabulary (forms' lists and its catalogue)."""
    served = {(t["es"], t["en"]) for kind in KINDS for t in
              (vocabulary.choice_lists()[FORM_LISTS[kind][0]][FORM_LISTS[kind][1]].values()
               if kind in FORM_LISTS else CATALOGUE.get(kind, {}).values())}
    where = _label_dicts()
    again = {pair: [w for w in places if not w.startswith(("vocabulary.py", *PENDING))]
             for pair, places in where.items() if pair in served}
    again = {p: w for p, w in again.items() if w}
    assert not again, f"labels of shared codes defined outside territoria.vocabulary: {again}"


def test_no_label_text_is_defined_twice():
    """An AST scan of src/: the same {es, en} label in two places is one definition too many."""
    twice = {pair: places for pair, places in _label_dicts().items() if len(places) > 1}
    new = {p: w for p, w in twice.items() if p[0] not in KNOWN_DUPLICATES}
    assert not new, f"label texts defined twice (import the one definition instead): {new}"
