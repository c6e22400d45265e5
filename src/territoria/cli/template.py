"""``territoria template KIND``: example input files with their exact header and rules."""

from __future__ import annotations

from pathlib import Path

import click

from territoria.ingest.templates import KINDS, SPECS, write_template

_HELP = """Write a template of KIND: KIND.csv (exact header and one example row),
KIND.schema.csv and KIND.md (per column: required or not, type, allowed values, meaning, in
es and en); polygon layers also get KIND.geojson. Where each file comes from and how to
ingest it: methodology/inputs.md (es), methodology/inputs.en.md (en).

\b
KIND:
{kinds}
  all               every kind above

\b
Example:
  territoria template programme --out plantillas/
  territoria template all --out plantillas/
"""


def _kinds_help() -> str:
    return "\n".join(f"  {k:<17} {SPECS[k].title['en']}" for k in KINDS)


@click.command("template", help=_HELP.format(kinds=_kinds_help()),
               short_help="Write template input files (header, example row, rules).")
@click.argument("kind", metavar="KIND", type=click.Choice((*KINDS, "all")))
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default="current directory", help="Folder to write the files into.")
@click.option("--force", is_flag=True, help="Replace files that already exist.")
@click.option("--lang", type=click.Choice(("es", "en")), default="es", show_default=True,
              help="Language of the messages.")
def template_cmd(kind, out, force, lang):
    for p in write_template(kind, out, force=force, lang=lang):
        click.echo(str(p))


def register(group: click.Group) -> None:
    group.add_command(template_cmd)
