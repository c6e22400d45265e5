"""The ``territoria`` group imports only the module of the command it runs (territoria.cli)."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

import territoria
import territoria.cli
from territoria.cli import COMMANDS, _LazyCommands, cli, registered_by

#: Run in a fresh interpreter, so the imports of the other tests do not count.
RUN_HELP = """
import json, sys
from territoria.cli import main
try:
    main(["run", "--help"])
except SystemExit as e:
    code = e.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _modules_with_register() -> set[str]:
    found = set()
    for info in pkgutil.iter_modules(territoria.cli.__path__):
        if hasattr(importlib.import_module(f"territoria.cli.{info.name}"), "register"):
            found.add(info.name)
    return found


def test_map_names_exactly_the_commands_each_module_registers():
    modules = _modules_with_register()
    assert set(COMMANDS.values()) == modules
    for module in sorted(modules):
        mapped = {name for name, m in COMMANDS.items() if m == module}
        assert set(registered_by(module)) == mapped, module


def test_run_imports_neither_ingest_nor_pandas_nor_other_commands():
    env = dict(os.environ, PYTHONPATH=str(Path(territoria.__file__).parents[1]))
    out = subprocess.run([sys.executable, "-c", RUN_HELP], env=env, capture_output=True,
                         text=True, check=True).stdout
    result = json.loads(out.splitlines()[-1])
    assert result["code"] == 0 and "Usage: territoria run" in out
    modules = set(result["modules"])
    assert "territoria.cli.run" in modules
    heavy = {m for m in modules
             if m.split(".")[0] in {"pandas", "numpy"} or m.startswith("territoria.ingest")}
    assert not heavy
    commands = {m.rsplit(".", 1)[1] for m in modules if m.startswith("territoria.cli.")}
    assert commands & set(COMMANDS.values()) == {"run"}


def test_help_lists_every_command_with_its_short_help():
    out = CliRunner().invoke(cli, ["--help"], terminal_width=200).output
    listed = dict(re.findall(r"^  ([a-z]+)\s+(\S.*)$", out.split("Commands:")[1], flags=re.M))
    assert set(listed) == set(COMMANDS)
    for name, short in listed.items():
        full = cli.get_command(click.Context(cli), name).get_short_help_str(1000)
        assert full.startswith(short.removesuffix("...")), name


def test_a_mistyped_command_still_gets_a_suggestion():
    r = CliRunner().invoke(cli, ["rn"])
    assert r.exit_code == 2 and "Did you mean 'run'?" in r.output


def test_a_module_missing_from_the_build_leaves_its_commands_out():
    commands = _LazyCommands({"ghost": "no_such_module", "run": "run"})
    assert list(commands) == ["run"]
    assert commands.get("ghost") is None and commands["run"].name == "run"



def test_a_closed_pipe_ends_quietly():
    """``territoria info | head -1``: the reader went away; no "unexpected
    BrokenPipeError ... bug in territoria" line, status 1."""
    import click
    from click.testing import CliRunner

    from territoria.cli import _Main

    @click.group(cls=_Main)
    def group():
        pass

    @group.command("talk")
    def talk():
        raise BrokenPipeError(32, "Broken pipe")

    r = CliRunner().invoke(group, ["talk"])
    assert r.exit_code == 1
    assert "bug" not in r.output and "error" not in r.output
