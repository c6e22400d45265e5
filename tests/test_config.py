"""City configuration: validation errors are one line naming the key, the value, what is allowed."""

import os
import stat

import pytest

from territoria.config import CityConfig, Workspace, init_workspace, load_city
from territoria.exceptions import ConfigError


def write(tmp_path, text):
    p = tmp_path / "city.yml"
    p.write_text(text, encoding="utf-8")
    return p


def test_init_writes_a_valid_commented_city_file(tmp_path):
    ws = init_workspace(tmp_path / "w", name="Tláhuac")
    cfg = load_city(ws.city_file)
    assert cfg.name == "Tláhuac"
    assert cfg.default_language == "es" and cfg.min_cell_size == 5
    assert "# " in ws.city_file.read_text()  # commented for the user
    assert (ws.root / "data" / "raw").is_dir()
    mode = stat.S_IMODE(os.stat(ws.secret_path).st_mode)
    assert mode == 0o600


def test_the_consensus_threshold_is_a_documented_setting(tmp_path):
    """``agenda.agreed_min_consensus``: default 0.5, written and explained in the city.yml of
    ``territoria init``, any value in (0, 1] accepted."""
    ws = init_workspace(tmp_path / "w", name="Tláhuac")
    text = ws.city_file.read_text()
    assert "agreed_min_consensus: 0.5" in text and "agreed priority" in text
    assert load_city(ws.city_file).agenda.agreed_min_consensus == 0.5
    assert CityConfig.model_validate({"name": "X"}).agenda.agreed_min_consensus == 0.5
    p = write(tmp_path, "name: X\nagenda: {agreed_min_consensus: 1}\n")
    assert load_city(p).agenda.agreed_min_consensus == 1.0


def test_init_refuses_to_overwrite(tmp_path):
    init_workspace(tmp_path / "w")
    with pytest.raises(ConfigError, match="already a workspace"):
        init_workspace(tmp_path / "w")


@pytest.mark.parametrize("text, needles", [
    ("name: X\nmin_cell_size: -3\n", ["min_cell_size", "-3", "greater than or equal to 1"]),
    ("name: X\nlanguage: es\n", ["unknown key 'language'", "languages"]),
    ("name: X\nlanguages: [es, Frances]\n", ["languages", "'Frances'", "language code"]),
    ("name: X\naxes:\n  - {id: a, label: {es: A}, department: obras}\n"
     "departments:\n  - {id: agua, label: {es: Agua}}\n", ["axis 'a'", "obras"]),
    ("name: X\nprogramme: {remote_meetings: {start: 2020-04-01, end: 2019-01-01}}\n",
     ["programme.remote_meetings", "end must not be before start"]),
    ("name: X\ndefault_language: en\nlanguages: [es]\n", ["default_language"]),
    ("name: X\ncohorts:\n  - {id: c1, joined_on: not-a-date}\n", ["cohorts.0.joined_on", "not-a-date"]),
    ("name: X\nselection: {social_index: 0.5, weight: 2}\n", ["selection.weight", "allowed here"]),
    ("min_cell_size: 5\n", ["'name' is required"]),
    ("name: X\naxes:\n  - {id: Bad Id, label: {es: a}}\n", ["axes.0.id", "Bad Id"]),
    ("name: X\nagenda: {agreed_min_consensus: 1.5}\n",
     ["agenda.agreed_min_consensus", "1.5", "less than or equal to 1"]),
    ("name: X\nagenda: {agreed_min_consensus: 0}\n",
     ["agenda.agreed_min_consensus", "greater than 0"]),
    ("name: X\nagenda: {agreed_min_consensus: alto}\n",
     ["agenda.agreed_min_consensus", "'alto'", "valid number"]),
    ("name: X\nagenda: {agreed_min_consensus: yes}\n",
     ["agenda.agreed_min_consensus", "more than 0 and at most 1"]),
    ("name: X\nagenda: {min_consensus: 0.6}\n", ["agenda.min_consensus", "agreed_min_consensus"]),
])
def test_wrong_keys_and_values_give_one_line(tmp_path, text, needles):
    with pytest.raises(ConfigError) as e:
        load_city(write(tmp_path, text))
    msg = str(e.value)
    assert "\n" not in msg
    assert str(tmp_path / "city.yml") in msg
    for n in needles:
        assert n in msg


def test_invalid_yaml_names_the_line(tmp_path):
    with pytest.raises(ConfigError, match="line 2"):
        load_city(write(tmp_path, "name: X\n  bad: [\n"))


def test_not_a_workspace(tmp_path):
    with pytest.raises(ConfigError, match="not a workspace"):
        Workspace(tmp_path).config()


def test_labels_fall_back_to_spanish():
    cfg = CityConfig.model_validate({"name": "X", "axes": [{"id": "water", "label": {"es": "Agua"}}]})
    assert cfg.axis_label("water", "en") == "Agua"
    assert cfg.axis_label("unknown", "es") == "unknown"


def test_any_language_and_programme_defaults(tmp_path):
    """A city may publish in any language; labels fall back to its first language, and a
    city.yml without programme keys gets documented defaults, not Iztapalapa's values."""
    cfg = load_city(write(tmp_path, "name: Cidade\nlanguages: [pt, es]\n"
                                    "axes:\n  - {id: water, label: {pt: Água}}\n"))
    assert cfg.default_language == "pt"
    assert cfg.axis_label("water", "es") == "Água"
    assert cfg.programme.size is None and cfg.programme_start() is None
    assert cfg.programme.remote_meetings is None
    assert cfg.departments == [] and cfg.link_areas == []
