"""The ``territoria`` command: a thin layer over the library.

Library errors (:class:`territoria.exceptions.TerritoriaError`) become one-line
``error: ...`` messages with exit status 1; ``--debug`` shows the traceback instead.
Each command group lives in its own module of this package, which exposes ``register(group)``;
:data:`COMMANDS` says which module registers which command, and a module is imported only
when one of its commands is asked for (Click's "lazily loading subcommands"): ``territoria
run`` does not pay for ``ingest``'s or ``consensus``'s imports. ``territoria --help`` lists
every command, so it imports them all.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Iterator, MutableMapping

import click

from territoria import __version__
from territoria.exceptions import TerritoriaError

#: Each command of ``territoria`` -> the module of this package whose ``register(group)`` adds it
#: (tests/cli/test_cli_lazy.py fails when this map and the modules' ``register`` disagree).
COMMANDS = {
    "init": "workspace", "demo": "workspace", "info": "workspace",
    "survey": "survey",            # survey validate | codebook | build
    "ingest": "ingest",
    "run": "run",
    "publish": "publish",
    "consensus": "consensus",
    "evaluate": "evaluate",        # evaluate impact | run | calendar
    "ledger": "ledger",            # ledger import | export | status | sync
    "secret": "secret",            # secret show | rotate (the pseudonymisation key)
    "lab": "lab",                  # the teaching classroom
    "print": "print_cmd",          # print assembly | ballot | tally | followup (paper forms)
    "template": "template",        # template KIND (input files)
    "quarantine": "quarantine",    # rows to fix
}


def _present(module: str) -> bool:
    """Whether ``territoria.cli.<module>`` is part of this build (found without importing it)."""
    return importlib.util.find_spec(f"territoria.cli.{module}") is not None


def registered_by(module: str) -> dict[str, click.Command]:
    """The commands ``territoria.cli.<module>`` registers, by name (importing the module).

    Empty when the module is not part of this build; an import error inside the module is raised.
    """
    try:
        mod = importlib.import_module(f"territoria.cli.{module}")
    except ModuleNotFoundError as e:  # command module not present in this build
        if e.name != f"territoria.cli.{module}":
            raise
        return {}
    scratch = click.Group()
    mod.register(scratch)
    return dict(scratch.commands)


class _LazyCommands(MutableMapping):
    """The ``commands`` of the ``territoria`` group: name -> command, the command's module
    imported the first time one of its commands is looked up.

    :class:`click.Group` reads ``commands`` in ``get_command`` (one name), ``list_commands``
    (the names) and its "Did you mean" suggestions, so all three stay lazy, as do callers that
    read ``cli.commands`` themselves (overriding only ``get_command`` and ``list_commands``, as
    Click's docs show, would leave ``commands`` empty). Names come from :data:`COMMANDS` (those
    whose module is in the build) and from ``add_command``.
    """

    def __init__(self, modules: dict[str, str]):
        self._modules = modules
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded and name in self._modules:
            for cmd_name, cmd in registered_by(self._modules[name]).items():
                self._loaded.setdefault(cmd_name, cmd)
        return self._loaded[name]

    def __setitem__(self, name: str, cmd: click.Command) -> None:
        self._loaded[name] = cmd

    def __delitem__(self, name: str) -> None:
        del self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        known = [n for n, m in self._modules.items() if n not in self._loaded and _present(m)]
        return iter([*self._loaded, *known])

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _Main(click.Group):
    """The top group: errors as one line (see the module), commands loaded on demand."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.commands = _LazyCommands(COMMANDS)

    def invoke(self, ctx):
        debug = "--debug" in sys.argv or ctx.params.get("debug")
        try:
            return super().invoke(ctx)
        except TerritoriaError as e:
            if debug:
                traceback.print_exc()
            click.echo(f"error: {e}", err=True)
            ctx.exit(1)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            ctx.exit(130)
        except BrokenPipeError:  # `territoria info | head`: the reader has gone, say nothing
            with contextlib.suppress(OSError):  # (Python's recipe: stdout to /dev/null)
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(1)
        except Exception as e:  # a bug: say so briefly unless --debug
            if debug:
                raise
            first = str(e).splitlines()[0] if str(e) else ""
            click.echo(
                f"error: unexpected {type(e).__name__}: {first} "
                "(this is a bug in territoria; rerun with --debug and report it)",
                err=True,
            )
            ctx.exit(1)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="territoria")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def cli(ctx, debug):
    """Territoria: carry out, teach and evaluate territorial participatory planning.

    \b
    Quick start:
      territoria demo ./iztapalapa      # sample city on real Iztapalapa geography
      territoria run -w ./iztapalapa --all
      territoria publish -w ./iztapalapa
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main(argv=None):
    """Console-script entry point."""
    return cli.main(args=argv, prog_name="territoria")
