"""The reader registry (territoria.ingest.base) and the kit's readers listed in ingest.core."""

from __future__ import annotations

import errno

import pytest

from territoria.exceptions import IngestError
from territoria.ingest import core, crime, survey, tables, territories
from territoria.ingest.base import FileContext, Outcome, ReaderRegistry


def _reader(ctx):
    return Outcome("x", "t", 1, 1)


def test_registry_keeps_registration_order_and_refuses_a_kind_twice():
    reg = ReaderRegistry()
    reg.register("b", _reader)
    reg.register("a", _reader)
    assert reg.kinds() == ("b", "a") and reg.get("a") is _reader
    with pytest.raises(IngestError, match="already has a reader"):
        reg.register("a", _reader)


def test_unknown_kind_names_the_allowed_ones():
    reg = ReaderRegistry()
    reg.register("csv", _reader)
    with pytest.raises(IngestError) as e:
        reg.get("xls")
    assert e.value.rule == "unknown_kind" and "allowed: auto, csv" in str(e.value)


def test_core_lists_every_kind_once_in_the_order_the_cli_shows():
    assert core.KINDS == ("kobo", "odk", "crime", "crime_cuadrante", "social_index",
                          "territories", "blocks", "census", "programme", "links")
    assert core.READERS.kinds() == core.KINDS
    assert core.READERS.get("crime") is crime.ingest_crime
    assert core.READERS.get("territories") is territories.ingest_territories
    kobo = core.READERS.get("kobo")
    assert kobo.func is survey.ingest_survey and kobo.keywords == {"kind": "kobo"}


def test_core_reexports_the_reader_contract():
    assert core.FileContext is FileContext and core.Outcome is Outcome


def test_table_readers_are_looked_up_when_the_file_is_read(monkeypatch):
    def full(ctx):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setitem(tables.READERS, "census", full)
    with pytest.raises(OSError, match="No space"):
        core.READERS.get("census")(None)
