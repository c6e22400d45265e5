"""``territoria survey``: check XLSForm instruments, print their codebooks, rebuild the kit's forms."""

from __future__ import annotations

from pathlib import Path

import click

from territoria.cli._common import chdir_workspace_option
from territoria.exceptions import InstrumentError


@click.group("survey")
def survey_group():
    """Survey instruments (XLSForms): validate, codebook, build."""


@survey_group.command("validate")
@chdir_workspace_option
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--no-kit-rules", is_flag=True,
              help="Only pyxform's rules (for forms made outside the kit, e.g. in KoboToolbox).")
def validate_cmd(files, no_kit_rules):
    """Validate XLSForms offline with pyxform (no Java) and the kit's rules.

    Prints one OK line per valid form (form id, version, field counts) or one error line
    naming file, sheet, row and field. Exit status 1 if any form has an error.

    \b
    Example:
      territoria survey validate surveys/*.xlsx
    """
    from territoria.instruments.validate import validate_xlsform

    n_bad = 0
    for f in files:
        try:
            res = validate_xlsform(f, kit_rules=not no_kit_rules)
        except InstrumentError as e:
            n_bad += 1
            click.echo(f"error: {e}", err=True)
            continue
        click.echo(f"OK {f}: {res.summary()}")
        for w in res.warnings:
            click.echo(f"warning: {f}: {' '.join(w.split())}", err=True)
    if n_bad:
        click.echo(f"{n_bad} of {len(files)} form(s) have errors", err=True)
        click.get_current_context().exit(1)


@survey_group.command("codebook")
@chdir_workspace_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["md", "html"]), default="md", show_default=True,
              help="Markdown or a self-contained HTML page.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write here instead of printing.")
@click.option("--lang", type=click.Choice(["es", "en"]), default="es", show_default=True,
              help="Language of the headings (questions are always shown in both).")
def codebook_cmd(file, fmt, out, lang):
    """Codebook of an XLSForm: every field with its question in Spanish and English, type,
    choices, relevance, constraint, required and privacy marks.

    \b
    Example:
      territoria survey codebook surveys/diagnostic.xlsx --format html --out diagnostic.html
    """
    from territoria.instruments.codebook import codebook_html, codebook_markdown, write_codebook
    from territoria.instruments.xlsform import load_instrument

    inst = load_instrument(file)
    if out is not None:
        write_codebook(inst, out, fmt, lang)
        click.echo(f"wrote {out}")
    else:
        click.echo(codebook_markdown(inst, lang) if fmt == "md" else codebook_html(inst, lang), nl=False)


@survey_group.command("build")
@chdir_workspace_option
@click.option("--check", is_flag=True, help="Only report kit forms whose .xlsx is out of date.")
@click.option("--src", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Folder of YAML sources (default: the kit's surveys/src).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write the files (default: WS/surveys in a workspace, else the "
                   "parent of --src).")
@click.option("--kit", is_flag=True,
              help="Build the kit's own forms even inside a workspace (for kit maintainers).")
def build_cmd(check, src, out, kit):
    """Build the XLSForms (.xlsx) from their YAML sources (surveys/src/*.yml).

    In a workspace (-w WS, or run inside one), writes the city's forms into WS/surveys/:
    one column per language of city.yml, the city's axes, departments and link areas,
    its names of the levels, and the media files zones.csv, territories.csv and blocks.csv
    of the cascading place questions (from the store: ingest the territories first).
    Upload each .xlsx with the three .csv files as its media to KoboToolbox or ODK Central.
    Outside a workspace (or with --kit), rebuilds the kit's own forms.

    \b
    Example:
      territoria survey build -w my-city
      territoria survey build --kit --check
    """
    from territoria.config import Workspace
    from territoria.instruments.build import build_all, check_all

    ws = Workspace(".")
    if ws.exists() and not kit:
        if check:
            raise InstrumentError("--check compares the kit's forms with their sources; "
                                  "add --kit, or drop --check to build the city's forms")
        from territoria.instruments.city_forms import build_city_forms

        for p in build_city_forms(ws, out_dir=out, src_dir=src):
            click.echo(f"wrote {p}")
        click.echo("upload each .xlsx with zones.csv, territories.csv and blocks.csv as its "
                   "media files")
        return

    if check:
        stale = check_all(src, out)
        if stale:
            raise InstrumentError(
                f"out of date: {', '.join(stale)} (run 'territoria survey build')")
        click.echo("all forms are in sync with their sources")
        return
    for p in build_all(src, out):
        click.echo(f"wrote {p}")


def register(group: click.Group) -> None:
    """Attach ``survey`` to the main command group."""
    group.add_command(survey_group)
