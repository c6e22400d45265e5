"""``territoria publish``: the static site of the workspace."""

from __future__ import annotations

import time

import click

from territoria.cli._common import city_language, quiet_option, wait_option, workspace_option
from territoria.config import Workspace
from territoria.i18n import catalogue, tr
from territoria.lock import waiting_for

MESSAGES = catalogue(__name__)


@click.command("publish")
@click.option("--workers", "-j", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Processes rendering the territory and annex pages (the site is the same "
                   "with any number).")
@quiet_option
@wait_option("publish")
@workspace_option
def publish_cmd(ws: Workspace, workers: int, quiet: bool, wait: float):
    """Publish the site (site/ in the workspace): an index with search, filters and a map,
    one report per territory (es/en), the city page and the methodology. Atomic: a failed
    publish leaves the previous site as it was.

    \b
    Example:
      territoria publish -w ./iztapalapa
      territoria publish -w ./cdmx --workers 4
      xdg-open ./iztapalapa/site/index.html
    """
    from territoria.report.site import publish

    t = time.perf_counter()
    errors: list = []
    with waiting_for(wait, lambda line: click.echo(line, err=True)):
        index = publish(ws, errors=errors, workers=workers, progress=not quiet)
    lang = city_language(ws)
    for page, error in errors:  # the other pages were written
        click.echo(tr(MESSAGES, "not_written", lang, page=page, error=error), err=True)
    click.echo(tr(MESSAGES, "published", lang, seconds=time.perf_counter() - t, index=index))


def register(group: click.Group) -> None:
    group.add_command(publish_cmd)
