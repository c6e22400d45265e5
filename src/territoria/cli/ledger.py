"""``territoria ledger``: the agreement ledger (import/export in Decidim's CSV layout, status,
sync from the survey forms)."""

from __future__ import annotations

from pathlib import Path

import click

from territoria.cli._common import workspace_option
from territoria.exceptions import DataError


def _status_map(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    out = {}
    for part in text.split(","):
        if "=" not in part:
            raise DataError(f"status map entry '{part}' is not ID=STATUS",
                            column="--status-map", rule="ID=STATUS,ID=STATUS")
        k, v = part.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _open(ws, *, write: bool):
    from territoria.store import Store

    ws.require()
    if not write and not ws.store_path.exists():
        return Store(":memory:")  # nothing stored yet: an empty, throw-away ledger
    return Store(ws.store_path, read_only=not write)


@click.group("ledger")
def ledger_group():
    """Agreements with departments and their follow-up."""


@ledger_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and report; change nothing.")
@click.option("--strict", is_flag=True, help="Import nothing if any row has an error.")
@click.option("--status-map", default=None, metavar="ID=STATUS,...",
              help="Translate Decidim numeric status ids, e.g. 1=agreed,2=in_progress,3=done.")
@click.option("--update-date", default=None, metavar="YYYY-MM-DD",
              help="Date of the follow-up for rows without update_date (default today).")
@workspace_option
def import_cmd(file, dry_run, strict, status_map, update_date, ws):
    """Import an accountability CSV (Decidim layout) into the ledger.

    Example: territoria ledger import resultados.csv --dry-run -w ./iztapalapa
    """
    from territoria.ledger.decidim import apply_import, plan_import, read_decidim_csv
    from territoria.ledger.ledger import Ledger

    with _open(ws, write=not dry_run) as store:
        led = Ledger(store)
        plan = plan_import(led, read_decidim_csv(file), status_map=_status_map(status_map),
                           update_date=update_date, file=file.name)
        for rec in plan.report.to_dict("records"):
            where = f"row {rec['row']}" + (f", column {rec['column']}" if rec["column"] else "")
            msg = f": {rec['message']}" if rec["message"] else ""
            click.echo(f"{file.name}, {where} [{rec['id']}] {rec['action']}{msg}")
        summ = ", ".join(f"{k} {v}" for k, v in sorted(plan.summary().items()))
        if dry_run:
            click.echo(f"dry run: {plan.n_rows} rows ({summ}); nothing written")
        else:
            na, nu = apply_import(led, plan, strict=strict)
            click.echo(f"imported {plan.n_rows} rows ({summ}): {na} agreement versions, "
                       f"{nu} updates written")
    if plan.n_errors:
        click.echo(f"error: {plan.n_errors} row(s) with errors"
                   + ("" if dry_run else " were skipped"), err=True)
        click.get_current_context().exit(1)


@ledger_group.command("export")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--locale", default=None, metavar="es,en",
              help="Locales of title/description columns (default: all present).")
@click.option("--as-of", default=None, metavar="YYYY-MM-DD", help="State at this date.")
@click.option("--status-map", default=None, metavar="ID=STATUS,...",
              help="Write Decidim numeric status ids instead of status keys.")
@click.option("--include-free-text", is_flag=True,
              help="Also write free text typed in the forms (the follow-up's reason).")
@workspace_option
def export_cmd(out, locale, as_of, status_map, include_free_text, ws):
    """Export the ledger as an accountability CSV (Decidim layout, plus our columns).

    Example: territoria ledger export acuerdos.csv --locale es,en -w ./iztapalapa
    """
    from territoria.ledger.decidim import export_decidim, write_decidim_csv
    from territoria.ledger.ledger import Ledger, require_ledger

    locales = [x.strip() for x in locale.split(",") if x.strip()] if locale else None
    with _open(ws, write=False) as store:
        require_ledger(store)
        df = export_decidim(Ledger(store), as_of=as_of, locales=locales,
                            status_map=_status_map(status_map))
    write_decidim_csv(df, out, free_text=include_free_text)
    click.echo(f"wrote {len(df)} agreements to {out}")


@ledger_group.command("status")
@click.option("--as-of", default=None, metavar="YYYY-MM-DD", help="Date (default today).")
@click.option("--territory", default=None, help="Only this territory id.")
@click.option("--lang", default="es", type=click.Choice(["es", "en"]), show_default=True)
@workspace_option
def status_cmd(as_of, territory, lang, ws):
    """Where the agreements stand on a date: counts by status, fulfilment, overdue list.

    Example: territoria ledger status --as-of 2024-06-30 -w ./iztapalapa
    """
    from territoria.analysis.followup import fulfilment_rate, on_time_rate, overdue
    from territoria.ledger.ledger import Ledger, require_ledger
    from territoria.ledger.model import STATUSES, department_label, status_label

    with _open(ws, write=False) as store:
        require_ledger(store)
        st = Ledger(store).state_as_of(as_of)
    if territory:
        st = st[st["territory_id"].astype(str) == territory]
    day = st["as_of"].iloc[0].date() if len(st) else as_of or "today"
    click.echo(f"{len(st)} agreements as of {day}")
    counts = st["status"].value_counts()
    for s in STATUSES:
        if counts.get(s, 0):
            click.echo(f"  {status_label(s, lang)}: {counts[s]}")
    if not len(st):
        return
    f = fulfilment_rate(st).iloc[0]
    o = on_time_rate(st).iloc[0]
    if f["n"]:
        click.echo(f"fulfilment {f['k']}/{f['n']} = {100 * f['rate']:.1f}% "
                   f"(95% CI {100 * f['ci_low']:.1f}-{100 * f['ci_high']:.1f})")
    if o["n"]:
        click.echo(f"on time {o['k']}/{o['n']} = {100 * o['rate']:.1f}% "
                   f"(95% CI {100 * o['ci_low']:.1f}-{100 * o['ci_high']:.1f})")
    od = overdue(st)
    click.echo(f"overdue: {len(od)}")
    for rec in od.to_dict("records"):
        click.echo(f"  {rec['agreement_id']}  {department_label(rec.get('department'), lang)}  "
                   f"due {pd_date(rec['due_date'])}  {rec['days_overdue']} days")


def pd_date(v) -> str:
    import pandas as pd

    return "" if v is None or pd.isna(v) else pd.Timestamp(v).strftime("%Y-%m-%d")


@ledger_group.command("sync")
@workspace_option
def sync_cmd(ws):
    """Build or extend the ledger from the ingested assembly and follow-up forms.

    Example: territoria ledger sync -w ./iztapalapa
    """
    from territoria.ledger.ledger import sync_from_surveys

    with _open(ws, write=True) as store:
        rep = sync_from_surveys(store)
    counts = rep["action"].value_counts().to_dict()
    for rec in rep[rep["action"] == "error"].to_dict("records"):
        click.echo(f"{rec['table']}, row {rec['row']} [{rec['agreement_id']}]: {rec['message']}",
                   err=True)
    click.echo("synced: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                             or "nothing new"))


def register(group: click.Group) -> None:
    """Add ``ledger`` to the main command group."""
    group.add_command(ledger_group)
