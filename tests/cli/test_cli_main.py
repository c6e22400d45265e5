"""The CLI frame: help with examples, version, one-line errors, --debug."""

import re

from click.testing import CliRunner

from territoria import __version__
from territoria.cli import cli


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_help_lists_every_command_with_an_example():
    r = run("--help")
    assert r.exit_code == 0
    names = re.findall(r"^  ([a-z][a-z-]*)\s", r.output.split("Commands:")[1], flags=re.M)
    for must in ("init", "demo", "ingest", "run", "publish", "survey", "consensus", "evaluate",
                 "ledger", "info"):
        assert must in names, must
    for name in names:
        sub = run(name, "--help")
        assert sub.exit_code == 0
        if "Commands:" in sub.output:
            for child in re.findall(r"^  ([a-z][a-z-]*)\s", sub.output.split("Commands:")[1],
                                    flags=re.M):
                assert "Example" in run(name, child, "--help").output, f"{name} {child}"
        else:
            assert "Example" in sub.output, name


def test_version():
    r = run("--version")
    assert __version__ in r.output


def test_library_error_is_one_line_exit_1(tmp_path):
    r = CliRunner().invoke(cli, ["info", "-w", str(tmp_path)])
    assert r.exit_code == 1
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "not a workspace" in lines[0]
    assert "Traceback" not in r.output


def test_debug_shows_the_traceback(tmp_path):
    r = CliRunner().invoke(cli, ["--debug", "info", "-w", str(tmp_path)])
    assert r.exit_code == 1
    assert "Traceback" in r.output


def test_init_and_info(tmp_path):
    r = run("init", str(tmp_path / "w"), "--name", "Tláhuac")
    assert r.exit_code == 0 and "workspace created" in r.output
    r = run("info", "-w", str(tmp_path / "w"))
    assert "Tláhuac" in r.output


def test_every_command_takes_workspace():
    r = run("--help")
    names = re.findall(r"^  ([a-z][a-z-]*)\s", r.output.split("Commands:")[1], flags=re.M)
    for name in names:
        sub = run(name, "--help")
        if "Commands:" in sub.output:
            for child in re.findall(r"^  ([a-z][a-z-]*)\s", sub.output.split("Commands:")[1],
                                    flags=re.M):
                assert "--workspace" in run(name, child, "--help").output, f"{name} {child}"
        else:
            assert "--workspace" in sub.output, name


def test_workspace_option_on_file_commands_works_like_git_C(tmp_path, repo_root):
    import os
    import shutil

    shutil.copy(repo_root / "surveys" / "tallies.xlsx", tmp_path / "form.xlsx")
    here = os.getcwd()
    r = run("survey", "validate", "-w", str(tmp_path), "form.xlsx")
    assert r.exit_code == 0 and "territoria_tallies" in r.output
    assert os.getcwd() == here  # the working folder is restored
