"""methodology/cli.md is generated from --help (territoria.cli.reference): it must not drift."""

from __future__ import annotations

from territoria.cli import cli, reference


def test_cli_reference_page_matches_the_commands():
    page = reference.default_path().read_text(encoding="utf-8")
    assert page == reference.render(), (
        "methodology/cli.md is out of date: run 'python -m territoria.cli.reference'")


def test_every_command_has_a_section_with_its_usage():
    page = reference.render()
    for name in cli.list_commands(None):
        assert f"\n## territoria {name}\n" in page, name
        assert f"Usage: territoria {name}" in page, name
    assert "  -h, --help" in page


def test_check_mode_reports_drift(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "cli.md"
    stale.write_text("# old\n", encoding="utf-8")
    monkeypatch.setattr(reference, "default_path", lambda: stale)
    assert reference.main(["--check"]) == 1
    assert reference.main([]) == 0 and reference.main(["--check"]) == 0
    assert "matches" in capsys.readouterr().out
