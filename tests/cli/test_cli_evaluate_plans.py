"""``territoria evaluate run`` from the command line: its lines in the city's language."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from territoria.cli import cli
from territoria.evaluation import runner
from territoria.evaluation.runner import EvaluationRun

PLAN = Path(__file__).resolve().parents[2] / "evaluations" / "classroom.yml"


def _run(ws):
    return CliRunner().invoke(cli, ["evaluate", "run", str(PLAN), "-w", str(ws.root)])


@pytest.mark.parametrize("language,warning,summary", [
    ("es", "aviso: sin motor rápido", "classroom: 2 preguntas respondidas, 1 con error en "),
    ("en", "warning: sin motor rápido", "classroom: 2 questions answered, 1 failed in "),
])
def test_run_speaks_the_city_s_language(city_in, monkeypatch, language, warning, summary):
    ws = city_in(language)

    def fake_run_plan(ws_, plan, **kwargs):  # the lines, not the notebooks, are tested here
        assert kwargs["language"] is None  # the notebooks keep the plan's language
        return EvaluationRun("classroom", "r1", "plain", 1.0, ok=["a", "b"],
                             failed={"c": ("ValueError: x", "out/c.ipynb")},
                             warnings=["sin motor rápido"], report=ws.root / "r.html")

    monkeypatch.setattr(runner, "run_plan", fake_run_plan)
    r = _run(ws)
    assert r.exit_code == 1  # a question failed
    assert r.stderr.strip() == warning
    out = r.stdout.splitlines()
    assert out[0].startswith(summary)
    assert out[1] == ("  - pregunta c: ValueError: x (out/c.ipynb)" if language == "es"
                      else "  - question c: ValueError: x (out/c.ipynb)")
    assert out[2].startswith("informe: " if language == "es" else "report: ")


@pytest.mark.parametrize("language,line", [
    ("es", "todavía no hay almacén de datos; primero corra 'territoria ingest'"),
    ("en", "no store yet; run 'territoria ingest' first"),
])
def test_run_error_is_one_line_in_the_city_s_language(city_in, language, line):
    ws = city_in(language)
    r = _run(ws)
    assert r.exit_code == 1
    lines = [x for x in r.output.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and lines[0].endswith(line)
