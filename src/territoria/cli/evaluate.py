"""``territoria evaluate``: impact (and, later, process) evaluation from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import click

from territoria.cli._common import chdir_workspace_option
from territoria.exceptions import DataError


@click.group("evaluate")
def evaluate_group():
    """Evaluate the process and its impact."""


def _read_panel(path: Path):
    import pandas as pd

    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(f"cannot read the panel ({first})", file=path,
                        rule="CSV with a header row") from None


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
    import pandas as pd

    from territoria.analysis.impact import evaluate_impact

    panel = _read_panel(panel_file)
    cov = [c.strip() for c in covariates.split(",") if c.strip()] if covariates else None
    for c in [outcome, *(cov or []), *([weights] if weights else [])]:
        if c in panel.columns:
            num = pd.to_numeric(panel[c], errors="coerce")
            bad = num.isna() & panel[c].notna()
            if bad.any():
                i = int(bad.to_numpy().nonzero()[0][0])
                raise DataError(f"value {panel[c].iloc[i]!r} is not numeric", file=panel_file,
                                row=i + 2, column=c, rule="numeric")
            panel[c] = num
    result = evaluate_impact(panel, unit, time_col, cohort, outcome, control=control,
                             weights=weights, covariates=cov, min_never=min_never)
    result["panel_file"] = str(panel_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    s = result["att_simple"]
    click.echo(
        f"ATT (simple, {control}) = {s['estimate']:.4f} "
        f"[{s['ci_low']:.4f}, {s['ci_high']:.4f}]; TWFE = {result['twfe']['estimate']:.4f}; "
        f"{result['n_units']} units x {result['n_periods']} periods -> {out_file}"
    )


def register(cli: click.Group) -> None:
    """Attach ``territoria evaluate`` to the main command."""
    from territoria.cli.evaluate_plans import add_commands

    add_commands(evaluate_group)  # evaluate run | calendar (evaluation plans)
    cli.add_command(evaluate_group)
