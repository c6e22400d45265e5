"""``territoria run``: execute the step notebooks (see :mod:`territoria.pipeline.runner`)."""

from __future__ import annotations

from pathlib import Path

import click

from territoria.cli._common import quiet_option, wait_option, workspace_option
from territoria.exceptions import PipelineError
from territoria.lock import waiting_for


@click.command("run")
@click.option("--territory", "-t", "territory_ids", multiple=True, metavar="ID",
              help="Run only this territory (repeatable). Default: the programme territories.")
@click.option("--all", "all_territories", is_flag=True, help="Run every territory in the store.")
@click.option("--steps", "-s", default=None, metavar="LIST",
              help="Comma-separated step ids or numbers, e.g. 00,01,02 (default: all steps).")
@click.option("--workers", "-j", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Notebooks executed at once.")
@click.option("--force", is_flag=True, help="Rerun notebooks that are up to date.")
@click.option("--engine", type=click.Choice(["auto", "fork", "inproc", "plain"]),
              default="auto", show_default=True,
              help="inproc (auto on Linux): each notebook in a fresh process forked from a "
                   "parent that imported the libraries, its cells run by papermill without a "
                   "kernel; fork: kernels forked from that parent (Linux); plain: a fresh "
                   "kernel per notebook.")
@click.option("--scheduler", default=None, metavar="SPEC",
              help="Run on Dask distributed: local:N starts a LocalCluster of N processes; "
                   "tcp://HOST:8786 uses a running scheduler (workers must see the workspace "
                   "at the same path). Default: the local pool of --workers.")
@click.option("--language", type=click.Choice(["es", "en"]), default=None,
              help="Report language (default: the city's default_language).")
@click.option("--notebooks", "notebooks_dir", type=click.Path(file_okay=False, exists=True,
                                                              path_type=Path),
              default=None, help="Folder with the NN_name.ipynb step notebooks "
                                 "(default: the kit's notebooks).")
@click.option("--keep-warm", "keep_warm", default=None, metavar="SECONDS",
              help="inproc engine: keep the warm server (the libraries imported once) for "
                   "this user's next runs until it has been unused for SECONDS; 0 stops it "
                   "with the run (default: $TERRITORIA_KEEP_WARM, else 600).")
@quiet_option
@wait_option("the run")
@workspace_option
def run_cmd(ws, territory_ids, all_territories, steps, workers, force, engine, scheduler,
            language, notebooks_dir, keep_warm, quiet, wait):
    """Execute the step notebooks for the city and its territories.

    City steps (00, 06, 07) run once; territory steps (01-05) run once per territory.
    Executed notebooks and their HTML pages go to OUTPUT/<step>/<territory>.ipynb|html;
    results are loaded into the store. Notebooks whose inputs did not change since their
    last successful run are skipped (use --force to rerun them). A failing notebook is
    reported with its cell and error, the others go on; the exit status is 1 if any failed.
    With --scheduler each notebook is one Dask task, on this machine (local:N) or on a
    cluster's workers sharing the workspace's filesystem. On Linux the warm server that
    imports the libraries once stays up for the next runs (--keep-warm); each notebook
    still runs in a fresh process of its own.

    \b
    Example:
      territoria run -w ./iztapalapa --steps 00,01,02 --workers 2
      territoria run -w ./iztapalapa --territory 07-001 --force --language en
      territoria run -w /shared/iztapalapa --scheduler tcp://10.0.0.5:8786
      territoria run -w ./iztapalapa --wait 600
    """
    if territory_ids and all_territories:
        raise PipelineError("use either --territory or --all, not both")
    territories = "all" if all_territories else (list(territory_ids) or None)
    server = None
    if scheduler:
        from territoria.pipeline.dask_engine import parse_scheduler

        parse_scheduler(scheduler)  # a bad value is one line, before anything starts
    elif ws.city_file.is_file() and ws.store_path.is_file():
        from territoria.pipeline.forkserver import keep_warm_seconds, prelaunch

        # the warm server imports the libraries while this process imports the runner,
        # reads the store and compares fingerprints (or it is already up, shared by this
        # user's runs); the run adopts it, then stops it or leaves it up
        server = prelaunch(engine, ws.output_dir / "run.log", keep_warm_seconds(keep_warm))
    from territoria.pipeline.runner import run

    with waiting_for(wait, lambda line: click.echo(line, err=True)):
        summary = run(ws, territories=territories, steps=steps, workers=workers, force=force,
                      language=language, progress=not quiet, engine=engine,
                      notebooks_dir=notebooks_dir, scheduler=scheduler, wait=wait,
                      server=server)
    for note in summary.notes:
        click.echo(note, err=True)
    click.echo(summary.format())
    if summary.failures:
        n = len(summary.failures)
        raise PipelineError(f"{n} notebook{'s' if n != 1 else ''} failed (see above)")


def register(group: click.Group) -> None:
    """Add ``run`` to the ``territoria`` command group."""
    group.add_command(run_cmd)
