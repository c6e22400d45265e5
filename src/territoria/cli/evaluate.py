"""``territoria evaluate``: impact (and, later, process) evaluation from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import click

from territoria.cli import _common
from territoria.cli._common import chdir_workspace_option
from territoria.exceptions import DataError
from territoria.i18n import DEFAULT_LANGUAGE, catalogue, tr

MESSAGES = catalogue(__name__)


@click.group("evaluate")
def evaluate_group():
    """Evaluate the process and its impact."""


def city_language(root: Path | None = None) -> str:
    """The default language of the city whose workspace is ``root`` (default: the current
    folder, where ``--workspace`` moved), for the command's own lines; Spanish outside a
    workspace or when its ``city.yml`` cannot say."""
    from territoria.config import Workspace

    return _common.city_language(Workspace(root or Path.cwd()))


class LocatedError(DataError):
    """A :class:`DataError` whose place words (row, column, rule) are in ``lang``: the
    one-line ``error: file, row, column: what (rule: ...)`` in the city's language."""

    def __init__(self, error: DataError, lang: str):
        self.lang = lang
        message, rule = error.message, error.rule
        if error.code and error.code in MESSAGES:  # a coded error (territoria.analysis)
            message = tr(MESSAGES, error.code, lang, **error.values)
            if rule and f"{error.code}_rule" in MESSAGES:
                rule = tr(MESSAGES, f"{error.code}_rule", lang)
        super().__init__(message, file=error.file, row=error.row, column=error.column,
                         rule=rule, code=error.code, values=error.values)

    def __str__(self) -> str:
        lang = getattr(self, "lang", DEFAULT_LANGUAGE)  # set before DataError formats itself
        where = [str(self.file)] if self.file is not None else []
        if self.row is not None:
            where.append(tr(MESSAGES, "row", lang, row=self.row))
        if self.column is not None:
            where.append(tr(MESSAGES, "column", lang, column=self.column))
        text = self.message
        if self.rule:
            text = tr(MESSAGES, "rule", lang, text=text, rule=self.rule)
        return f"{', '.join(where)}: {text}" if where else text


def _read_panel(path: Path, lang: str):
    import pandas as pd

    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise LocatedError(DataError(tr(MESSAGES, "cannot_read", lang, why=first), file=path,
                                     rule=tr(MESSAGES, "rule_csv", lang)), lang) from None


@evaluate_group.command("impact")
@chdir_workspace_option
@click.option("--panel", "panel_file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Long panel CSV: one row per unit and period.")
@click.option("--unit", required=True, help="Unit column (e.g. territory_id).")
@click.option("--time", "time_col", required=True, help="Period column (number or ISO date).")
@click.option("--cohort", required=True,
              help="First exposed period of each unit; 0 or empty = never treated.")
@click.option("--outcome", required=True, help="Numeric outcome column.")
@click.option("--control", type=click.Choice(["never", "notyet"]), default="never",
              show_default=True, help="Comparison units: never treated or not yet treated.")
@click.option("--weights", default=None, help="Unit weight column (constant within unit).")
@click.option("--covariates", default=None, metavar="COL,...",
              help="Covariates for outcome regression (values at each unit's first period).")
@click.option("--min-never", default=2, show_default=True, type=int,
              help="Fewest never-treated units accepted.")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="JSON file to write.")
def impact_cmd(panel_file, unit, time_col, cohort, outcome, control, weights, covariates,
               min_never, out_file):
    """Staggered difference-in-differences (Callaway & Sant'Anna, with TWFE for reference).

    Example: territoria evaluate impact --panel crime.csv --unit territory_id --time month
    --cohort cohort --outcome log_crime --control notyet --out impact.json
    """
    lang = city_language()
    try:
        result = _impact(panel_file, unit, time_col, cohort, outcome, control, weights,
                         covariates, min_never, lang)
    except DataError as e:
        raise (e if isinstance(e, LocatedError) else LocatedError(e, lang)) from None
    result["panel_file"] = str(panel_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    s = result["att_simple"]
    click.echo(tr(MESSAGES, "impact_done", lang, control=control, estimate=s["estimate"],
                  ci_low=s["ci_low"], ci_high=s["ci_high"], twfe=result["twfe"]["estimate"],
                  units=result["n_units"], periods=result["n_periods"], out=out_file))


def _impact(panel_file, unit, time_col, cohort, outcome, control, weights, covariates,
            min_never, lang) -> dict:
    import pandas as pd

    from territoria.analysis.impact import evaluate_impact

    panel = _read_panel(panel_file, lang)
    cov = [c.strip() for c in covariates.split(",") if c.strip()] if covariates else None
    for c in [unit, time_col, cohort, outcome, *([weights] if weights else []), *(cov or [])]:
        if c not in panel.columns:
            raise DataError(tr(MESSAGES, "not_a_column", lang, column=c,
                               columns=", ".join(map(str, panel.columns))),
                            file=panel_file, column=c)
    for c in [outcome, *(cov or []), *([weights] if weights else [])]:
        if c in panel.columns:
            num = pd.to_numeric(panel[c], errors="coerce")
            bad = num.isna() & panel[c].notna()
            if bad.any():
                i = int(bad.to_numpy().nonzero()[0][0])
                raise DataError(tr(MESSAGES, "not_numeric", lang, value=panel[c].iloc[i]),
                                file=panel_file, row=i + 2, column=c,
                                rule=tr(MESSAGES, "rule_numeric", lang))
            panel[c] = num
    return evaluate_impact(panel, unit, time_col, cohort, outcome, control=control,
                           weights=weights, covariates=cov, min_never=min_never)


def register(cli: click.Group) -> None:
    """Attach ``territoria evaluate`` to the main command."""
    from territoria.cli.evaluate_plans import add_commands

    add_commands(evaluate_group)  # evaluate run | calendar (evaluation plans)
    cli.add_command(evaluate_group)
