"""Workspace commands: ``init``, ``demo``, ``info``."""

from __future__ import annotations

import time
from pathlib import Path

import click

from territoria.cli._common import workspace_option
from territoria.config import Workspace, init_workspace


@click.command("init")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path), required=False)
@click.option("--workspace", "-w", "ws_path", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="The workspace to create (same as PATH).")
@click.option("--name", help="Name of the city (default: the folder's name).")
@click.option("--force", is_flag=True, help="Overwrite city.yml if the folder is a workspace.")
def init_cmd(path: Path | None, ws_path: Path | None, name: str | None, force: bool):
    """Create an empty workspace with a commented city.yml.

    \b
    Example:
      territoria init ./mi-alcaldia --name "Tláhuac"
    """
    path = path or ws_path
    if path is None:
        raise click.UsageError("give the workspace folder: territoria init PATH (or -w PATH)")
    ws = init_workspace(path, name=name, force=force)
    click.echo(f"workspace created: {ws.root}")
    click.echo(f"  edit {ws.city_file}, put your files in {ws.raw_dir}, then 'territoria ingest'")


@click.command("demo")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path), default="demo-workspace")
@click.option("--workspace", "-w", "ws_path", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="The workspace to build (same as PATH).")
@click.option("--seed", type=int, default=20181224, show_default=True, help="Random seed.")
@click.option("--scale", type=click.IntRange(1, 100), default=1, show_default=True,
              help="Multiply territories and respondents (benchmarks).")
@click.option("--force", is_flag=True, help="Rebuild the workspace if it exists.")
@click.option("--stages", default="sample,ingest,run,publish", show_default=True,
              help="Comma-separated stages to do: sample, ingest, run, publish.")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Notebooks executed at once, and processes rendering the site's pages.")
@click.option("--scheduler", default=None, metavar="SPEC",
              help="Run the steps on Dask distributed (as 'territoria run --scheduler'): "
                   "local:N starts a LocalCluster of N processes; tcp://HOST:8786 uses a "
                   "running scheduler.")
@click.option("--geography", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Put the sample city on this territory layer (GeoPackage, "
                                 "GeoJSON, Shapefile; any CRS) instead of Iztapalapa's.")
@click.option("--where", default=None, metavar="SQL",
              help="OGR SQL filter of --geography, e.g. \"NOMDT = 'COYOACAN'\".")
@click.option("--map", "mapping", default=None, metavar="FIELD=COLUMN,...",
              help="Columns of --geography: territory_id, name[, population, zone_id, kind].")
@click.option("--name", "city_name", default=None,
              help="Name of the city on --geography (default: the borough the layer names).")
def demo_cmd(path: Path, ws_path: Path | None, seed: int, scale: int, force: bool, stages: str,
             workers: int, scheduler: str | None, geography: Path | None, where: str | None,
             mapping: str | None, city_name: str | None):
    """Build the sample city (real geography, synthetic activity) and carry out the whole
    method on it: ingest, run every step, publish the site.

    The default is Iztapalapa; with --geography the same synthetic activity and planted
    truths are generated on another city's layer, so a city can train and test before it
    has field data (zones are grown from the layer when it has none; cohorts keep their
    proportions).

    \b
    Example:
      territoria demo ./iztapalapa --force
      territoria demo ./bench --scale 3 --stages sample,ingest
      territoria demo ./cdmx10 --scale 10 --scheduler local:2
      territoria demo ./coyoacan --geography colonias_iecm.gpkg \\
          --where "NOMDT = 'COYOACAN'" --map territory_id=CVEUT,name=NOMUT,population=SUMPOB1
    """
    from territoria import demo as demo_mod
    from territoria.sample import Geography

    path = ws_path or path
    if (where or mapping or city_name) and geography is None:
        raise click.UsageError("--where, --map and --name apply to --geography")
    geo = Geography(geography, where, mapping, city_name) if geography else None
    wanted = [s.strip() for s in stages.split(",") if s.strip()]
    if scheduler:
        from territoria.pipeline.dask_engine import parse_scheduler

        parse_scheduler(scheduler)  # a bad value is one line, before the sample is built
    result = demo_mod.run_demo(path, seed=seed, scale=scale, force=force, stages=wanted,
                               workers=workers, echo=click.echo, geography=geo,
                               scheduler=scheduler, progress=True)
    click.echo("")
    for stage, secs in result["timings"].items():
        click.echo(f"  {stage:<10} {secs:7.1f} s")
    click.echo(f"workspace: {result['workspace']}")
    if result.get("site"):
        click.echo(f"site: {result['site']}")
    if result.get("failed"):
        raise SystemExit(1)


#: Seconds ``info`` retries while a writer holds the store before saying who it is.
INFO_WAIT = 5.0


@click.command("info")
@workspace_option
def info_cmd(ws: Workspace):
    """Show the workspace: city, store tables and their row counts.

    \b
    Example:
      territoria info -w ./iztapalapa
    """
    from territoria.store import Store

    cfg = ws.config()
    click.echo(f"city: {cfg.name}  languages: {', '.join(cfg.languages)}  "
               f"min cell: {cfg.min_cell_size}")
    if not ws.store_path.exists():
        click.echo("store: (empty; run 'territoria ingest')")
        return
    from territoria.lock import WorkspaceBusy

    try:  # a reader never makes a writer fail: short retries, then say who is writing
        s = Store(ws.store_path, read_only=True, wait=INFO_WAIT)
    except WorkspaceBusy as e:
        click.echo(f"store: {e}")
        return
    with s:
        for t in s.tables():
            click.echo(f"  {t:<32} {s.count(t):>10,}")


def register(group: click.Group) -> None:
    for cmd in (init_cmd, demo_cmd, info_cmd):
        group.add_command(cmd)


__all__ = ["register", "time"]
