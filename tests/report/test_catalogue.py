"""The indicator catalogue: every file passes the schema; cut texts are caught."""

import pytest
import yaml

from territoria.exceptions import ConfigError
from territoria.report.catalogue import check_entry, kit_dir, load_catalogue

ENTRY = ("indicators:\n  - id: links_per_1000\n    step: 01_network\n"
         "    name: {{es: Enlaces por cada mil habitantes, en: {en}}}\n"
         "    definition: {{es: Enlaces, en: Links}}\n    formula: f\n    source: s\n")


def test_kit_catalogue_passes_its_schema():
    cat = load_catalogue()
    assert len(cat) > 50
    for p in sorted((kit_dir("methodology") / "indicators").glob("*.yml")):
        for e in yaml.safe_load(p.read_text(encoding="utf-8"))["indicators"]:
            check_entry(e, p.name, p.stem)
            assert cat[e["id"]].name("en") == e["name"]["en"]


def test_every_name_is_whole_and_distinct():
    cat = load_catalogue().values()
    for lang in ("es", "en"):
        names = [i.name(lang) for i in cat]
        assert len(set(names)) == len(names), sorted(n for n in names if names.count(n) > 1)
        assert not [n for n in names if n.startswith('"') or n.rstrip().endswith(("1", ","))]


def test_an_unquoted_comma_is_reported_with_file_entry_and_key(tmp_path):
    bad = tmp_path / "01_network.yml"
    bad.write_text(ENTRY.format(en="Links per 1,000 inhabitants"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"01_network.yml: indicator links_per_1000: key "
                                          r"'name'.*quote it"):
        load_catalogue(str(tmp_path))
    bad.write_text(ENTRY.format(en='"Links per 1,000 inhabitants"'), encoding="utf-8")
    assert load_catalogue(str(tmp_path))["links_per_1000"].name("en") == \
        "Links per 1,000 inhabitants"


@pytest.mark.parametrize("key, value, rule", [
    ("better", "more", "allowed: higher, lower, neutral"),
    ("headline", "yes", "true or false"),
    ("sentence", {"es": "{valor} hogares"}, "placeholders"),
    ("quality", {"min_n": "30"}, "min_n"),
])
def test_schema_names_the_broken_rule(key, value, rule):
    e = {"id": "x", "step": "01_network", "name": {"es": "a", "en": "b"},
         "definition": {"es": "d"}, "formula": "f", "source": "s", key: value}
    with pytest.raises(ConfigError, match=rule):
        check_entry(e, "f.yml", "01_network")
