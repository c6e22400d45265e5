"""territoria print: every paper form of one territory as PDF (pages and ids checked on the
laid-out pages), and the typed tally sheet ingests into the store."""

import csv
import io
import math
import re
import shutil
import zipfile

import pytest
from click.testing import CliRunner

from territoria.cli import cli
from territoria.config import Workspace
from territoria.paper.render import page_texts, render
from territoria.paper.sheets import build_html
from territoria.steps.common import open_context
from territoria.store import Store


@pytest.fixture(scope="module")
def territory(sample_ws):
    with Store(sample_ws.store_path, read_only=True) as s:
        return s.query("SELECT territory_id FROM territories t WHERE priority AND EXISTS "
                       "(SELECT 1 FROM proposals p WHERE p.territory = t.territory_id) "
                       "ORDER BY territory_id LIMIT 1")["territory_id"][0]


def _open_agreements(ws, tid):
    with Store(ws.store_path, read_only=True) as s:
        return s.query(
            "WITH a AS (SELECT DISTINCT c.agreement_code FROM assembly__agreements c JOIN "
            "assembly p ON c._parent_uuid = p._uuid WHERE p.territory = ?), "
            "f AS (SELECT agreement_code, arg_max(status, update_date) AS status FROM followup "
            "GROUP BY 1) SELECT a.agreement_code FROM a LEFT JOIN f USING (agreement_code) "
            "WHERE f.status IS NULL OR f.status NOT IN ('done', 'rejected', 'cancelled') "
            "ORDER BY 1", [tid])["agreement_code"].tolist()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["assembly", "ballot", "tally", "followup"])
def test_print_every_sheet(sample_ws, territory, kind, tmp_path):
    out = tmp_path / f"{kind}.pdf"
    r = CliRunner().invoke(cli, ["print", kind, "-w", str(sample_ws.root), "--territory",
                                 territory, "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_bytes()[:5] == b"%PDF-"
    pages = int(re.search(r"\((\d+) pages\)", r.output).group(1))
    with Store(sample_ws.store_path, read_only=True) as s:
        codes = s.query("SELECT DISTINCT proposal_code FROM proposals WHERE territory = ? "
                        "ORDER BY 1", [territory])["proposal_code"].tolist()
    agreements = _open_agreements(sample_ws, territory)
    expected = {"assembly": 2, "ballot": 1, "tally": 3,
                "followup": max(1, math.ceil(len(agreements) / 2))}[kind]
    assert pages == expected
    # the ids, on the pages as laid out
    ctx = open_context(sample_ws.root)
    try:
        html, data = build_html(ctx, kind, territory, "es")
    finally:
        ctx.close()
    texts = page_texts(render(html))
    assert len(texts) == expected
    form_id = data.instrument.form_id
    for text in texts:
        assert territory in text and form_id in text
    if kind in ("ballot", "tally"):
        assert codes and all(all(c in text for c in codes) for text in texts)
    if kind == "tally":
        rounds = ("assembly", "collective", "agenda_validation")
        assert [[f"{territory} · {r}" in t for r in rounds] for t in texts] == \
            [[True, False, False], [False, True, False], [False, False, True]]
    if kind == "followup":
        assert agreements and all(any(a in t for t in texts) for a in agreements)
    if kind == "assembly":
        assert "att_female_18_29" in texts[0] and "agreement_code" in texts[1]


@pytest.mark.slow
def test_typed_tally_sheet_ingests(sample_ws, territory, tmp_path):
    from territoria.ingest.core import ingest_files

    root = tmp_path / "ws"
    shutil.copytree(sample_ws.root, root, ignore=shutil.ignore_patterns("output", "site"))
    out = tmp_path / "tally.pdf"
    r = CliRunner().invoke(cli, ["print", "tally", "-w", str(root), "-t", territory,
                                 "--out", str(out)])
    assert r.exit_code == 0, r.output
    typed = tmp_path / "tally.csv.zip"
    z = zipfile.ZipFile(typed)
    main = list(csv.reader(io.StringIO(z.read("territoria_tallies.csv").decode())))
    rep = list(csv.reader(io.StringIO(z.read("territoria_tallies-tally.csv").decode())))
    # type what the paper says: the sheet's rows in the file's order
    h, hr = main[0], rep[0]
    for i, row in enumerate(main[1:], 1):
        row[h.index("assembly_code")] = f"T-{territory}-paper-{i}"
        row[h.index("date")] = f"2024-05-0{i}"
        row[h.index("present")] = "31"
    for j, row in enumerate(rep[1:]):
        row[hr.index("n_agree")], row[hr.index("n_disagree")] = str(10 + j % 7), "4"
        row[hr.index("n_pass")] = "2"
    filled = tmp_path / "typed.csv.zip"
    with zipfile.ZipFile(filled, "w") as zo:
        for name, rows in (("territoria_tallies.csv", main),
                           ("territoria_tallies-tally.csv", rep)):
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\n").writerows(rows)
            zo.writestr(name, buf.getvalue())
    reports = ingest_files(Workspace(root), [filled])
    assert [x.status for x in reports] == ["ok"], [x.as_line() for x in reports]
    with Store(Workspace(root).store_path, read_only=True) as s:
        got = s.query("SELECT p.round, count(*) AS n, sum(t.n_agree) AS agree FROM "
                      "tallies__tally t JOIN tallies p ON t._parent_uuid = p._uuid WHERE "
                      "p.assembly_code LIKE ? GROUP BY 1 ORDER BY 1", [f"T-{territory}-paper-%"])
    n_props = len(rep[1:]) // 3
    assert got["n"].tolist() == [n_props] * 3
    assert int(got["agree"].sum()) == sum(10 + j % 7 for j in range(len(rep) - 1))


def test_print_errors_are_one_line(sample_ws, tmp_path):
    runner = CliRunner()
    r = runner.invoke(cli, ["print", "ballot", "-w", str(sample_ws.root)])
    assert r.exit_code == 1 and r.output.strip().startswith("error: give the territory")
    r = runner.invoke(cli, ["print", "ballot", "-w", str(sample_ws.root), "-t", "nope",
                            "--out", str(tmp_path / "x.pdf")])
    assert r.exit_code == 1 and "not in the store" in r.output
    assert len(r.output.strip().splitlines()) == 1
    r = runner.invoke(cli, ["print", "poster", "-w", str(sample_ws.root)])
    assert r.exit_code == 2
