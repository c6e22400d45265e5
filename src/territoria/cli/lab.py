"""``territoria lab``: a classroom of learner notebooks, opened in JupyterLab."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import click

from territoria.exceptions import ConfigError


def jupyter_lab_command(notebook_dir: Path, *, port: int | None = None,
                        no_browser: bool = False) -> list[str]:
    """The command that opens JupyterLab on ``notebook_dir``.

    Raises
    ------
    ConfigError
        JupyterLab is not installed (with the command that installs it).
    """
    try:
        import jupyterlab  # noqa: F401
    except ModuleNotFoundError:
        raise ConfigError("JupyterLab is not installed: run 'make lab' or "
                          "pip install 'territoria[lab]'; or use --prepare-only") from None
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={notebook_dir}"]
    if port:
        cmd.append(f"--port={port}")
    if no_browser:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and lab machines run as root
        cmd.append("--allow-root")
    return cmd


@click.command("lab")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path),
                default="demo-workspace")
@click.option("--workspace", "-w", "ws_path", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="The classroom workspace (same as PATH).")
@click.option("--territory", "-t", "territories", multiple=True, metavar="ID",
              help="Territory of the learners, in order (repeat for several); the rest are "
                   "chosen among programme territories.")
@click.option("--learners", "-n", type=int, default=1, show_default=True,
              help="Number of learners: one folder and one territory each.")
@click.option("--language", type=click.Choice(["es", "en"]), default=None,
              help="Language of the notebooks (default: the city's).")
@click.option("--prepare-only", is_flag=True,
              help="Write the classroom (WS/classroom/learner-N/) and start nothing.")
@click.option("--port", type=int, default=None, help="Port of JupyterLab.")
@click.option("--no-browser", is_flag=True, help="Start JupyterLab without opening a browser.")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Notebooks run at once when the steps must run first.")
@click.option("--answer-key", "answer_key", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Also write the trainer's answer key (CSV: learner, "
                                 "territory, exercise, answer). Keep it away from learners.")
def lab_cmd(path: Path, ws_path: Path | None, territories: tuple[str, ...], learners: int,
            language: str | None, prepare_only: bool, port: int | None, no_browser: bool,
            workers: int, answer_key: Path | None):
    """Prepare a classroom and open it in JupyterLab (teaching).

    Builds the sample city in PATH if it is not a workspace yet (any workspace is reused),
    runs the steps for the learners' territories if needed, and writes, for each learner,
    copies of the step notebooks and the exercises with their parameters filled in
    (PATH/classroom/learner-N/). Then opens JupyterLab on PATH/classroom.

    \b
    Example:
      territoria lab ./aula --learners 12 --prepare-only
      territoria lab ./iztapalapa --territory 07-010
      territoria lab ./aula -n 12 --prepare-only --answer-key clave-respuestas.csv
    """
    from territoria.teaching.classroom import build_classroom

    path = ws_path or path
    if learners < len(territories):
        learners = len(territories)
    room = build_classroom(path, territories=territories, learners=learners, language=language,
                           workers=workers, echo=click.echo)
    click.echo(f"classroom: {room.root} ({len(room.learners)} learners, "
               f"{len(room.notebooks())} notebooks)")
    if answer_key is not None:
        from territoria.teaching.checks import write_answer_key

        write_answer_key(room, answer_key)
        click.echo(f"answer key: {answer_key}")
    if prepare_only:
        return
    cmd = jupyter_lab_command(room.root, port=port, no_browser=no_browser)
    if shutil.which(cmd[0]) is None:  # pragma: no cover - sys.executable always exists
        raise ConfigError(f"cannot start {cmd[0]}")
    raise SystemExit(subprocess.call(cmd))


def register(group: click.Group) -> None:
    group.add_command(lab_cmd)
