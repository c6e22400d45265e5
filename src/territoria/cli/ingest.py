"""``territoria ingest FILE...``: load raw files into the workspace's store."""

from __future__ import annotations

from pathlib import Path

import click

from territoria.cli._common import quiet_option, workspace_option
from territoria.ingest.core import KINDS, ingest_files, total_line
from territoria.lock import DEFAULT_WAIT, set_default_wait


def _language(ws) -> str:
    return ws.config().default_language  # a broken city.yml stops ingest like every command


@click.command("ingest")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(("auto", *KINDS)), default="auto", show_default=True,
              help="What the files are (detected from the name and header when auto).")
@click.option("--form", "form", metavar="ID[@VER]", default=None,
              help="Survey form (and version) for exports that do not say it.")
@click.option("--dry-run", is_flag=True, help="Check and report; write nothing.")
@click.option("--replace", is_flag=True,
              help="Each file replaces its whole source: stored rows it does not carry are "
                   "moved to the history table (default: add new rows, update changed ones).")
@click.option("--wait", "wait", type=click.FloatRange(0), default=DEFAULT_WAIT,
              show_default=True, metavar="S",
              help="Seconds to wait while another command writes to the workspace.")
@click.option("--where", default=None, metavar="SQL",
              help="Keep only the features of a layer that match this OGR SQL filter, "
                   "e.g. \"NOMDT = 'COYOACAN'\".")
@click.option("--map", "mapping", default=None, metavar="FIELD=COLUMN,...",
              help="Which column of a layer holds each field: territory_id, name, population, "
                   "zone_id, zone_name, kind, households.")
@click.option("--repair", is_flag=True,
              help="Repair invalid polygons (make_valid) instead of quarantining them.")
@click.option("--areas", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Polygon layer of the areas the data are published by "
                                 "(AGEB, police quadrant...): values are interpolated to "
                                 "territories.")
@click.option("--areas-key", default=None, metavar="KEY[=FILEKEY]",
              help="Column of --areas that identifies each area (and, after =, the column "
                   "of the data file that holds it when the names differ).")
@quiet_option
@workspace_option
def ingest_cmd(files, kind, form, dry_run, replace, wait, where, mapping, repair, areas,
               areas_key, quiet, ws):
    """Validate FILES and store them (surveys, crime, social index, territories).

    Bad rows go to quarantine with the reason; a file that cannot be read is rejected
    whole and leaves the store unchanged. A corrected file or a cumulative re-export adds
    its new rows, replaces the changed ones (older versions kept in <table>__history) and
    leaves identical ones. Prints one line per file as soon as it is stored, then a total;
    exits with status 1 if any file was rejected. On a terminal a bar shows the bytes done
    and the time left.

    \b
    Example:
      territoria ingest -w ./iztapalapa data/raw/surveys/*.csv --dry-run
      territoria ingest -w ./iztapalapa export.csv --form territoria_diagnostic@2026.1
      territoria ingest -w ./iztapalapa kobo-2026-05.csv --replace --wait 300
      territoria ingest -w ./coyoacan colonias_iecm.gpkg --where "NOMDT = 'COYOACAN'" \\
          --map territory_id=CVEUT,name=NOMUT,population=SUMPOB1
      territoria ingest -w ./coyoacan ids_ageb_2020.csv --kind social_index \\
          --areas ageb.geojson --areas-key cvegeo=folio_ageb
      territoria ingest -w ./coyoacan cuadrantes.csv.gz --kind crime \\
          --areas cuadrantes.geojson --areas-key cuadrante
    """
    if areas is not None and not areas_key:
        raise click.UsageError("--areas needs --areas-key (the column that identifies each area)")
    ws.require()
    lang = _language(ws)
    set_default_wait(wait)

    from territoria.progress import FilesProgress

    bar = FilesProgress(files, enabled=not quiet, desc="Archivos" if lang == "es" else "Files")

    def show(r):
        bar.done(r.as_line(lang), err=r.status == "rejected", echo=click.echo)

    options = {"replace": replace, "where": where, "map": mapping, "repair": repair,
               "areas": str(areas) if areas else None, "areas_key": areas_key}
    options = {k: v for k, v in options.items() if v}
    kwargs = {"options": options} if options else {}
    try:
        reports = ingest_files(ws, files, kind=None if kind == "auto" else kind, form=form,
                               dry_run=dry_run, on_report=show, **kwargs)
    finally:
        set_default_wait(None)
        bar.close()
    click.echo(total_line(reports, lang))
    if any(r.status == "rejected" for r in reports):
        click.get_current_context().exit(1)


def register(group: click.Group) -> None:
    group.add_command(ingest_cmd)
