"""Shared pieces of the command-line interface: the workspace option and error handling."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from territoria.config import Workspace


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


def echo_err(msg: str) -> None:
    click.echo(msg, err=True)


def is_tty() -> bool:
    return sys.stderr.isatty()
