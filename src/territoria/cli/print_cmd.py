"""``territoria print KIND``: paper forms for assemblies without phones or signal."""

from __future__ import annotations

from pathlib import Path

import click

from territoria.cli._common import workspace_option
from territoria.config import Workspace
from territoria.exceptions import ConfigError

_KINDS = ("assembly", "ballot", "tally", "followup")


@click.command("print")
@click.argument("kind", metavar="KIND", type=click.Choice(_KINDS))
@workspace_option
@click.option("--territory", "-t", "territory", metavar="ID", default=None,
              help="The territory (colonia) the sheet is for.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="PDF to write (default: KIND-ID.pdf here).")
@click.option("--lang", type=click.Choice(("es", "en")), default=None,
              help="Language of the sheet (default: the city's).")
def print_cmd(kind: str, ws: Workspace, territory: str | None, out: Path | None,
              lang: str | None):
    """Print a paper form as PDF: assembly (block-assembly record), ballot (the territory's
    proposals), tally (proposal x agree / disagree / pass, one page per round) or followup
    (a card per open agreement).

    Questions and choices come from the workspace's XLSForms; territory, proposals and
    agreements from the store. Form, territory, proposal and agreement ids are printed so a
    typed sheet maps back. For tally, the typing file is written too (OUT.csv.zip, the ODK
    Central layout 'territoria ingest' reads): type the counts into it and ingest it.

    \b
    Example:
      territoria print ballot -w ./iztapalapa --territory 07-003 --out boleta.pdf
      territoria print tally -w ./iztapalapa -t 07-003
    """
    from territoria.paper.render import write_pdf
    from territoria.paper.sheets import build_html
    from territoria.paper.typed import write_tally_zip
    from territoria.steps.common import open_context

    if not territory:
        raise ConfigError("give the territory the sheet is for: --territory ID (e.g. 07-003)")
    ctx = open_context(ws.root)
    try:
        html, data = build_html(ctx, kind, territory, lang or ctx.config.default_language)
    finally:
        ctx.close()
    out = out or Path(f"{kind}-{territory}.pdf")
    pages = write_pdf(html, out)
    click.echo(f"{out}  ({pages} pages)")
    if kind == "tally":
        typed = out.with_name(out.stem + ".csv.zip")
        write_tally_zip(data.instrument, territory, data.proposals.get("proposal_code", []),
                        typed)
        click.echo(f"{typed}  (typing file: fill in the counts, then 'territoria ingest')")


def register(group: click.Group) -> None:
    group.add_command(print_cmd)
