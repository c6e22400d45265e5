"""``territoria evaluate run|calendar``: evaluation plans from the command line.

The commands join the ``evaluate`` group of :mod:`territoria.cli.evaluate` (its ``register``
calls :func:`add_commands`).
"""

from __future__ import annotations

from pathlib import Path

import click

from territoria.cli._common import city_language, workspace_option
from territoria.i18n import catalogue, tr

MESSAGES = catalogue("territoria.cli.evaluate")  # the evaluate group's texts, one file



_PLAN = click.Path(exists=False, dir_okay=False, path_type=Path)


@click.command("run")
@click.argument("plan_file", metavar="PLAN", type=_PLAN)
@click.option("--workers", "-j", default=2, show_default=True, type=int,
              help="Questions executed at once.")
@click.option("--engine", type=click.Choice(["auto", "fork", "plain"]), default="auto",
              show_default=True, help="Warm forked kernels (Linux) or fresh ones.")
@click.option("--lang", "language", type=click.Choice(["es", "en"]), default=None,
              help="Language of the notebooks (default: the plan's first language).")
@click.option("--no-publish", is_flag=True, help="Record the results but do not rebuild "
              "the evaluation pages of the site.")
@workspace_option
def run_cmd(plan_file, workers, engine, language, no_publish, ws):
    """Execute an evaluation plan (evaluations/NAME.yml) and publish its report.

    Each question runs notebooks/evaluation.ipynb with the plan's parameters; results go to
    the store (table evaluation_results) and the report to site/evaluations/NAME.html, with
    one plain-language page per territory for its community assembly.

    \b
    Example:
      territoria evaluate run evaluations/crime_impact.yml -w ./iztapalapa
    """
    from territoria.evaluation.runner import run_plan

    ws.require()
    lang = city_language(ws)
    summary = run_plan(ws, plan_file, workers=workers, engine=engine, language=language,
                       publish=not no_publish)
    for w in summary.warnings:
        click.echo(tr(MESSAGES, "warning", lang, text=w), err=True)
    click.echo(summary.format(lang))
    if summary.failed:
        click.get_current_context().exit(1)


@click.command("calendar")
@click.argument("plan_file", metavar="PLAN", type=_PLAN)
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Also write the per-territory calendar as CSV.")
@click.option("--lang", "language", type=click.Choice(["es", "en"]), default=None,
              help="Language of the round labels (default: the city's).")
@workspace_option
def calendar_cmd(plan_file, out_file, language, ws):
    """What data to collect when (baseline, follow-up rounds), and how many respondents each
    round needs per territory (power analysis).

    \b
    Example:
      territoria evaluate calendar evaluations/perceived_safety.yml -w ./iztapalapa
    """
    import warnings

    from territoria.evaluation.calendar import calendar, summarise
    from territoria.evaluation.plan import check_plan, load_plan
    from territoria.steps.common import open_context

    ws.require()
    plan = load_plan(plan_file, lang=city_language(ws))
    ctx = open_context(ws.root)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check_plan(plan, ctx.store, ctx.config)
        cal = calendar(ctx, plan, lang=city_language(ws))
        lang = language or ctx.config.default_language
    finally:
        ctx.close()
    s = summarise(cal)
    click.echo(tr(MESSAGES, "calendar_head", lang))
    for r in s.itertuples():
        dates = r.first if r.first == r.last else f"{r.first}..{r.last}"
        if r.n_min is None or r.n_min != r.n_min:  # administrative data: no sample
            n = total = "-"
        else:
            n = f"{int(r.n_min)}" if r.n_min == r.n_max else f"{int(r.n_min)}-{int(r.n_max)}"
            total = f"{int(r.n_total)}"
        lab = r.label_es if lang == "es" else r.label_en
        click.echo(f"{r.round} ({lab}) | {r.cohort} | {r.instrument} | {dates} | "
                   f"{r.territories} | {n} | {total}")
    if out_file is not None:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        from territoria.safe_export import write_csv  # no cell may run as a formula

        write_csv(cal, out_file)
        click.echo(tr(MESSAGES, "written", lang, path=out_file))


def add_commands(group: click.Group) -> None:
    """Add ``run`` and ``calendar`` to the ``evaluate`` group."""
    group.add_command(run_cmd)
    group.add_command(calendar_cmd)
