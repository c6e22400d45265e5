"""``territoria template KIND``: example input files with their exact header and rules."""

from __future__ import annotations

from pathlib import Path

import click

from territoria.cli._common import workspace_option
from territoria.ingest.templates import KINDS, SPECS, write_template

_HELP = """Write a template of KIND: KIND.csv (exact header and one example row),
KIND.schema.csv and KIND.md (per column: required or not, type, allowed values, meaning, in
es and en); polygon layers also get KIND.geojson. Where each file comes from and how to
ingest it: methodology/inputs.md (es), methodology/inputs.en.md (en).

\b
KIND:
{kinds}
  all               every kind above

Inside a workspace (-w), the files go to its templates/ folder unless --out says
otherwise, and the messages follow the city's language.

\b
Example:
  territoria template programme --out plantillas/
  territoria template all -w ./coyoacan
"""


def _kinds_help() -> str:
    return "\n".join(f"  {k:<17} {SPECS[k].title['en']}" for k in KINDS)


@click.command("template", help=_HELP.format(kinds=_kinds_help()),
               short_help="Write template input files (header, example row, rules).")
@click.argument("kind", metavar="KIND", type=click.Choice((*KINDS, "all")))
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              show_default="WS/templates in a workspace, else the current directory",
              help="Folder to write the files into.")
@click.option("--force", is_flag=True, help="Replace files that already exist.")
@click.option("--lang", type=click.Choice(("es", "en")), default=None,
              show_default="the city's language, else es", help="Language of the messages.")
@workspace_option
def template_cmd(kind, out, force, lang, ws):
    in_ws = ws.exists()
    if lang is None:
        city_lang = ws.config().default_language if in_ws else "es"
        lang = city_lang if city_lang in ("es", "en") else "es"
    if out is None:
        out = ws.root / "templates" if in_ws else Path(".")
    for p in write_template(kind, out, force=force, lang=lang):
        click.echo(str(p))


def register(group: click.Group) -> None:
    group.add_command(template_cmd)
