"""``territoria quarantine``: the reasons rows were rejected, and the rows to fix."""

from __future__ import annotations

from pathlib import Path

import click

from territoria.cli._common import city_language, workspace_option


@click.command("quarantine")
@click.option("--file", "file", default=None, metavar="NAME",
              help="Only this input file (its name, as listed).")
@click.option("--rule", "rule", default=None, metavar="RULE", help="Only this rule.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the rows to fix to this CSV (no personal data; codes as pseudonyms).")
@workspace_option
def quarantine_cmd(file, rule, out, ws):
    """List why rows were quarantined (counts by file and rule) and, with --out, write the
    rows to fix for the field team: each row's rules, columns and values, then the row as in
    the source file without personal columns (codes shown only as pseudonyms; cells that a
    spreadsheet would run as formulas are neutralised).

    \b
    Example:
      territoria quarantine -w ./iztapalapa
      territoria quarantine -w ./iztapalapa --rule unknown_territory --out por_corregir.csv
    """
    from territoria.i18n import tr
    from territoria.ingest.quarantine_report import (
        MESSAGES,
        format_summary,
        quarantine_summary,
        rows_to_fix,
        write_rows_csv,
    )
    from territoria.store import Store

    ws.require()
    lang = city_language(ws)
    store = Store(ws.store_path, read_only=True) if ws.store_path.exists() else Store(":memory:")
    try:
        summary = quarantine_summary(store, file=file, rule=rule, lang=lang)
        click.echo(format_summary(summary, lang))
        if out is not None:
            fix = rows_to_fix(ws, store, file=file, rule=rule, lang=lang)
            n = write_rows_csv(fix.rows, out)
            for note in fix.notes:
                click.echo(note)
            click.echo(tr(MESSAGES, "written", lang, path=out, n=n))
    finally:
        store.close()


def register(group: click.Group) -> None:
    group.add_command(quarantine_cmd)
