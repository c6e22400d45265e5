"""Tests of territoria.i18n: the modules' catalogues read from territoria/messages/*.yml."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import string
from pathlib import Path

import pytest
import yaml

from territoria import i18n, vocabulary
from territoria.exceptions import ConfigError

SRC = Path(i18n.__file__).resolve().parent
ROOT = SRC.parents[1]
FILES = sorted(i18n.MESSAGES_DIR.glob("*.yml"))


def _read(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _fields(text: str | list[str]) -> set[str]:
    """The names of a text's ``{placeholders}`` (``{n:,}`` -> ``n``)."""
    texts = text if isinstance(text, list) else [text]
    return {f.split(".")[0].split("[")[0] for t in texts
            for _, f, _, _ in string.Formatter().parse(t) if f is not None}


def _tool():
    spec = importlib.util.spec_from_file_location("catalogues_tool", ROOT / "tools" /
                                                  "catalogues.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_are_catalogue_files():
    assert len(FILES) >= 30
    assert i18n.catalogue_path("territoria.steps.s01_network") == \
        i18n.MESSAGES_DIR / "steps.s01_network.yml"
    # pytest's importlib mode may name a module from the repository root
    assert i18n.catalogue_path("src.territoria.lock").name == "lock.yml"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_key_has_spanish_and_english_and_the_same_placeholders(path):
    data = _read(path)
    assert data and all(isinstance(v, dict) and v for v in data.values()), path.name
    for name, entries in data.items():
        for key, texts in entries.items():
            assert isinstance(key, str), f"{path.name}: {name}: key {key!r} (quote it in YAML)"
            if texts is None:  # given by the module: checked on the module's attribute below
                continue
            if set(texts) == {"vocabulary"}:  # a label of the vocabulary, which must know it
                kind, code = texts["vocabulary"].split("/", 1)
                assert code in vocabulary.codes(kind), f"{path.name}: {name}: {key}"
                continue
            where = f"{path.name}: {name}: {key}"
            missing = {"es", "en"} - {lg for lg, t in texts.items() if t}
            assert not missing, f"{where}: no text in {', '.join(sorted(missing))}"
            fields = {lg: _fields(t) for lg, t in texts.items()}
            assert len({frozenset(f) for f in fields.values()}) == 1, \
                f"{where}: placeholders differ between languages: {fields}"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_catalogue_file_belongs_to_a_module_that_reads_it(path):
    module = importlib.import_module(f"territoria.{path.stem}")
    for name, entries in _read(path).items():
        assert hasattr(module, name), f"{path.name}: territoria.{path.stem} has no {name}"
        value = getattr(module, name)
        assert list(value)[:len(entries)] == list(entries), f"{path.name}: {name}: key order"
        for key, texts in entries.items():
            if texts is None:  # the module gives it: still a text in es and en
                assert value[key].get("es") and value[key].get("en"), (path.name, name, key)
            elif set(texts) == {"vocabulary"}:
                assert value[key] == vocabulary.texts(*texts["vocabulary"].split("/", 1)), \
                    (path.name, name, key)
            else:
                assert value[key] == texts, (path.name, name, key)


def test_no_catalogue_is_left_as_a_python_literal():
    """New texts go to messages/*.yml: ``python tools/catalogues.py`` moves a literal there
    (it names, and leaves, a dict it cannot move: one built with ``**`` or computed keys)."""
    tool = _tool()
    left = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel in tool.KEEP:
            continue
        found, _ = tool.find(ast.parse(path.read_text(encoding="utf-8")))
        left += [f"{rel}: {name}" for _, name, _ in found]
    assert not left, f"catalogue literals in Python (run tools/catalogues.py): {left}"


def test_the_tool_writes_what_the_loader_reads(tmp_path, monkeypatch):
    tool = _tool()
    pkg = tmp_path / "territoria"
    (pkg / "steps").mkdir(parents=True)
    py = pkg / "steps" / "demo.py"
    py.write_text(
        'from territoria.i18n import tr\n\nX = 1\n'
        'MESSAGES = {\n'
        '    "title": STEP_TITLE,  # from the registry\n'
        '    # counts\n'
        '    "n": {"es": "{n:,} personas", "en": "{n:,} people"},\n'
        '    "no": {"es": "No: «ñ»", "en": "No"},\n'
        '    "col_low": vocabulary.texts("heading", "from"),\n'
        '}\n'
        'FORMS = {"a": {"es": "uno", "en": "one"}, "b": {"es": "dos", "en": "two"}}\n'
        'MORE = {**FORMS, "c": {"es": "tres", "en": "three"}, "d": {"es": "4", "en": "4"}}\n',
        encoding="utf-8")
    monkeypatch.setattr(tool, "PKG", pkg)
    monkeypatch.setattr(tool, "OUT", pkg / "messages")
    moved, skipped = tool.convert(py, write=True)
    assert moved == ["MESSAGES", "FORMS"] and skipped == ["MORE (line 12): a key is not a string literal (or a ** spread)"]
    code = py.read_text(encoding="utf-8")
    assert "from territoria.i18n import catalogue, tr\n" in code
    assert ("MESSAGES = catalogue(__name__, vocabulary=vocabulary.texts, title=STEP_TITLE)\n"
            in code)
    assert 'FORMS = catalogue(__name__, "FORMS")\n' in code
    text = (pkg / "messages" / "steps.demo.yml").read_text(encoding="utf-8")
    assert "  # counts\n  n:\n" in text and "title: null  # given by the module: STEP_TITLE" in text
    data = yaml.safe_load(text)
    assert list(data["MESSAGES"]) == ["title", "n", "no", "col_low"]
    assert data["MESSAGES"]["col_low"] == {"vocabulary": "heading/from"}
    assert data["MESSAGES"]["no"] == {"es": "No: «ñ»", "en": "No"}  # 'no' stays a string key
    assert tool.convert(py, write=True)[0] == []  # nothing left to move
    assert 'MORE = {**FORMS, "c"' in py.read_text(encoding="utf-8")


def test_catalogue_fills_the_entries_the_module_gives(tmp_path, monkeypatch):
    (tmp_path / "x.yml").write_text(
        "MESSAGES:\n  title: null\n  a:\n    es: A {n}\n    en: A {n}\n"
        "OTHER:\n  'no':\n    es: 'no'\n    en: 'no'\n", encoding="utf-8")
    monkeypatch.setattr(i18n, "MESSAGES_DIR", tmp_path)
    title = {"es": "Título", "en": "Title"}
    got = i18n.catalogue("territoria.x", title=title)
    assert list(got) == ["title", "a"] and got["title"] is title
    assert i18n.tr(got, "a", "en", n=2) == "A 2"
    assert i18n.catalogue("territoria.x", "OTHER") == {"no": {"es": "no", "en": "no"}}
    got["b"] = title  # a fresh dict each time: the cached file is not changed
    assert "b" not in i18n.catalogue("territoria.x", title=title)
    with pytest.raises(ConfigError, match="differ"):
        i18n.catalogue("territoria.x")
    with pytest.raises(ConfigError, match="differ"):
        i18n.catalogue("territoria.x", title=title, extra=title)
    with pytest.raises(ConfigError, match="no catalogue NOPE"):
        i18n.catalogue("territoria.x", "NOPE")
    (tmp_path / "v.yml").write_text("MESSAGES:\n  low:\n    vocabulary: heading/from\n",
                                    encoding="utf-8")
    assert i18n.catalogue("territoria.v", vocabulary=vocabulary.texts) == {
        "low": {"es": "Desde", "en": "From"}}
    with pytest.raises(ConfigError, match="pass vocabulary="):
        i18n.catalogue("territoria.v")
    with pytest.raises(ConfigError, match="no catalogue file"):
        i18n.catalogue("territoria.nowhere")


def test_a_malformed_catalogue_file_is_named(tmp_path, monkeypatch):
    (tmp_path / "bad.yml").write_text("MESSAGES:\n  a: just a text\n", encoding="utf-8")
    monkeypatch.setattr(i18n, "MESSAGES_DIR", tmp_path)
    with pytest.raises(ConfigError, match="bad.yml: MESSAGES: 'a'"):
        i18n.catalogue("territoria.bad")
