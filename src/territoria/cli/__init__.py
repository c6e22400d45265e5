"""The ``territoria`` command: a thin layer over the library.

Library errors (:class:`territoria.exceptions.TerritoriaError`) become one-line
``error: ...`` messages with exit status 1; ``--debug`` shows the traceback instead.
Each command group lives in its own module of this package and registers itself here.
"""

from __future__ import annotations

import importlib
import sys
import traceback

import click

from territoria import __version__
from territoria.exceptions import TerritoriaError

#: Modules of this package that define commands; each exposes ``register(group)``.
COMMAND_MODULES = (
    "workspace",   # init, demo, info
    "survey",      # survey validate | codebook
    "ingest",      # ingest
    "run",         # run
    "publish",     # publish
    "consensus",   # consensus
    "evaluate",    # evaluate impact | run | calendar
    "ledger",      # ledger import | export
    "secret",      # secret show | rotate (the pseudonymisation key)
    "lab",         # lab (teaching classroom)
    "print_cmd",   # print assembly | ballot | tally | followup (paper forms)
    "template", "quarantine",  # template KIND (input files) ; quarantine (rows to fix)
    "secret",      # secret show | rotate (the pseudonymisation key)
)


class _Main(click.Group):
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


for _name in COMMAND_MODULES:
    try:
        _mod = importlib.import_module(f"territoria.cli.{_name}")
    except ModuleNotFoundError as _e:  # command module not present in this build
        if _e.name != f"territoria.cli.{_name}":
            raise
        continue
    _mod.register(cli)


def main(argv=None):
    """Console-script entry point."""
    return cli.main(args=argv, prog_name="territoria")
