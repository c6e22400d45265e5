"""Shared pieces of the command-line interface: the workspace option and error handling."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import click

from territoria.config import Workspace
from territoria.exceptions import ConfigError

#: The language of a command's own lines when the workspace's city.yml cannot say.
FALLBACK_LANGUAGE = "es"


def city_language(ws: Workspace) -> str:
    """The city's ``default_language`` for a command's own lines: Spanish outside a
    workspace or when ``city.yml`` cannot be read (the command that needs it reports that).

    >>> city_language(Workspace("/nonexistent-workspace"))
    'es'
    """
    if not ws.city_file.is_file():
        return FALLBACK_LANGUAGE
    try:
        return ws.config().default_language
    except (ConfigError, OSError):
        return FALLBACK_LANGUAGE


def workspace_option(func):
    """Add ``--workspace/-w PATH`` (default: the current directory) and pass a Workspace."""

    @click.option(
        "--workspace", "-w", "workspace", type=click.Path(file_okay=False, path_type=Path),
        default=Path("."), show_default="current directory", help="Workspace folder.",
    )
    @functools.wraps(func)
    def wrapper(*args, workspace: Path, **kwargs):
        return func(*args, ws=Workspace(workspace), **kwargs)

    return wrapper


def quiet_option(func):
    """``--quiet/-q``: no progress bar (:mod:`territoria.progress`; none off a terminal)."""
    return click.option("--quiet", "-q", is_flag=True, help="No progress bar.")(func)


def wait_option(who: str):
    """``--wait SECONDS`` (default :data:`territoria.lock.DEFAULT_WAIT`) for a command that
    waits while another writes to the workspace; ``who`` names it in the help ("publish")."""
    from territoria.lock import DEFAULT_WAIT

    return click.option("--wait", "wait", type=click.FloatRange(0), default=DEFAULT_WAIT,
                        show_default=True, metavar="SECONDS",
                        help="Seconds to wait while another command writes to the workspace "
                             f"(a line says who; then {who} goes on, or stops with an error).")


def echo_err(msg: str) -> None:
    click.echo(msg, err=True)


def is_tty() -> bool:
    return sys.stderr.isatty()


def _enter_workspace(ctx: click.Context, _param, value):
    if value is None:
        return None
    path = Path(value)
    if not path.is_dir():
        raise click.BadParameter(f"{path} is not a folder", param_hint="'--workspace'")
    old = os.getcwd()
    os.chdir(path)
    ctx.call_on_close(lambda: os.chdir(old))
    return path


def chdir_workspace_option(func):
    """``--workspace/-w PATH`` for commands that work on files: like ``git -C``, relative file
    paths given to the command are read and written inside that folder (default: here)."""
    return click.option(
        "--workspace", "-w", "workspace", type=click.Path(file_okay=False, path_type=Path),
        default=None, is_eager=True, expose_value=False, callback=_enter_workspace,
        help="Workspace folder; relative paths are taken from there (default: current directory).",
    )(func)
