"""Templates against the readers: every template file, ingested into a fresh workspace in the
order a new city follows, is accepted without quarantine; a blank required value is
quarantined, a blank optional one is not; a value outside a closed list is quarantined."""

from __future__ import annotations

import csv
import json

import pytest

from territoria.config import init_workspace
from territoria.ingest.core import ingest_files
from territoria.ingest.templates import KINDS, SPECS, schema_csv, spec, write_template
from territoria.store import Store

#: Kinds ingested with the current readers, in the order of the new-city path.
ORDER = ("zones", "territories", "blocks", "census", "programme", "links", "crime")
#: Kinds published by area, ingested with the areas layer (``--kind`` they are read as).
AREA_KINDS = {"social_index": "social_index", "crime_by_area": "crime"}


def _file(kind: str, folder):
    return folder / (f"{kind}.geojson" if kind == "territories" else f"{kind}.csv")


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    """A fresh workspace with every current-reader template ingested (and the reports)."""
    root = tmp_path_factory.mktemp("tpl")
    folder = root / "templates"
    write_template("all", folder)
    ws = init_workspace(root / "ws", "Iztapalapa")
    reports = {k: ingest_files(ws, [_file(k, folder)])[0] for k in ORDER}
    return ws, folder, reports


def test_all_writes_every_kind_with_exact_header(tmp_path):
    written = write_template("all", tmp_path)
    assert sorted(p.name for p in written) == sorted(f for k in KINDS for f in SPECS[k].files())
    for k in KINDS:
        with open(tmp_path / f"{k}.csv", encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        assert rows == [spec(k).header(), spec(k).example()]
        with open(tmp_path / f"{k}.schema.csv", encoding="utf-8", newline="") as fh:
            schema = list(csv.DictReader(fh))
        assert [r["column"] for r in schema] == spec(k).header()
        assert all(r["required"] in ("yes", "no", "header", "conditional") for r in schema)
        assert all(r["meaning_es"] and r["meaning_en"] for r in schema)
        md = (tmp_path / f"{k}.md").read_text(encoding="utf-8")
        assert md.count("| columna |") == 1 and md.count("| column |") == 1
        for c in spec(k).columns:
            assert md.count(f"`{c.name}`") >= 2, (k, c.name)  # in the es and the en table


def test_polygon_templates_are_valid_geojson(tmp_path):
    import shapely

    write_template("all", tmp_path)
    for k in ("territories", "areas"):
        fc = json.loads((tmp_path / f"{k}.geojson").read_text(encoding="utf-8"))
        (feat,) = fc["features"]
        assert list(feat["properties"]) == spec(k).header()
        assert shapely.from_geojson(json.dumps(feat["geometry"])).is_valid
    terr = shapely.from_geojson(json.dumps(json.loads(
        (tmp_path / "territories.geojson").read_text())["features"][0]["geometry"]))
    area = shapely.from_geojson(json.dumps(json.loads(
        (tmp_path / "areas.geojson").read_text())["features"][0]["geometry"]))
    assert terr.contains(area)  # the example area falls in the example territory
    point = shapely.Point(float(spec("crime").column("longitud").example),
                          float(spec("crime").column("latitud").example))
    assert terr.contains(point)


def test_existing_file_is_not_overwritten(tmp_path):
    from territoria.exceptions import ConfigError

    (tmp_path / "zones.csv").write_text("mine\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="ya existe"):
        write_template("zones", tmp_path)
    assert (tmp_path / "zones.csv").read_text(encoding="utf-8") == "mine\n"
    assert not (tmp_path / "zones.md").exists()  # nothing written at all
    write_template("zones", tmp_path, force=True)
    assert (tmp_path / "zones.csv").read_text(encoding="utf-8").startswith("zone_id,name")


@pytest.mark.parametrize("kind", ORDER)
def test_template_ingests_without_quarantine(ingested, kind):
    _, _, reports = ingested
    r = reports[kind]
    assert r.status == "ok", r.as_line("en")
    assert (r.rows_read, r.accepted, r.quarantined) == (1, 1, 0), r.as_line("en")


def test_ingested_templates_land_where_the_steps_read(ingested):
    ws, _, _ = ingested
    with Store(ws.store_path, read_only=True) as s:
        t = s.query("SELECT * FROM territories").to_dict("records")
        assert len(t) == 1 and t[0]["territory_id"] == "07-001" and t[0]["zone_id"] == "DT01"
        assert t[0]["priority"] and t[0]["cohort"] == "c1" and t[0]["geometry"]
        assert t[0]["blocks_total"] == 1
        crime = s.query("SELECT territory_id, month, count FROM crime_counts")
        assert crime.to_dict("records") == [
            {"territory_id": "07-001", "month": crime["month"].iloc[0], "count": 1}]
        assert str(crime["month"].iloc[0])[:7] == "2024-03"
        links = s.query("SELECT * FROM links")
        assert set(links.columns).isdisjoint({"name", "phone", "address", "email", "curp"})
        assert links["link_code"].iloc[0].startswith("p_")


def test_territory_csv_template_ingests_too(ingested, tmp_path):
    ws, folder, _ = ingested
    (r,) = ingest_files(ws, [folder / "territories.csv"], dry_run=True)
    assert (r.status, r.accepted, r.quarantined) == ("dry_run", 1, 0), r.as_line("en")


def _ingest_variant(ws, folder, kind, p):
    if kind in AREA_KINDS:
        return ingest_files(ws, [p], dry_run=True, kind=AREA_KINDS[kind], options={
            "areas": str(folder / "areas.geojson"), "areas_key": "area_id"})
    return ingest_files(ws, [p], dry_run=True)


def _variants():
    """(kind, column, required) for every column whose example is not empty."""
    for k in (*ORDER, *AREA_KINDS):
        for c in spec(k).columns:
            if c.required in ("yes", "no", "header") and c.example:
                yield pytest.param(k, c.name, c.required, id=f"{k}-{c.name}")


def _write_variant(kind, folder, tmp_path, column, value):
    s = spec(kind)
    if kind == "territories":
        fc = json.loads((folder / "territories.geojson").read_text(encoding="utf-8"))
        fc["features"][0]["properties"][column] = value
        p = tmp_path / "territories.geojson"
        p.write_text(json.dumps(fc), encoding="utf-8")
        return p
    row = [value if c.name == column else c.example for c in s.columns]
    p = tmp_path / f"{kind}.csv"
    with open(p, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([s.header(), row])
    return p


@pytest.mark.parametrize(("kind", "column", "required"), list(_variants()))
def test_blank_value_follows_required(ingested, tmp_path, kind, column, required):
    ws, folder, _ = ingested
    p = _write_variant(kind, folder, tmp_path, column, "")
    (r,) = _ingest_variant(ws, folder, kind, p)
    assert r.status == "dry_run", r.as_line("en")
    expected = (0, 1) if required == "yes" else (1, 0)
    assert (r.accepted, r.quarantined) == expected, (
        f"{kind}.{column} is documented required={required}: " + r.as_line("en"))


def _closed():
    for k in ORDER:
        for c in spec(k).columns:
            if c.allowed:
                yield pytest.param(k, c.name, id=f"{k}-{c.name}")


@pytest.mark.parametrize(("kind", "column"), list(_closed()))
def test_value_outside_allowed_is_quarantined(ingested, tmp_path, kind, column):
    ws, folder, _ = ingested
    p = _write_variant(kind, folder, tmp_path, column, "not_a_choice")
    (r,) = ingest_files(ws, [p], dry_run=True)
    assert (r.accepted, r.quarantined) == (0, 1), r.as_line("en")


@pytest.mark.parametrize("kind", AREA_KINDS)
def test_area_templates_ingest_with_their_areas(ingested, tmp_path, kind):
    import shutil

    from territoria.config import Workspace

    ws, folder, _ = ingested
    root = tmp_path / "ws"
    shutil.copytree(ws.root, root)
    (r,) = ingest_files(Workspace(root), [folder / f"{kind}.csv"], kind=AREA_KINDS[kind],
                        options={"areas": str(folder / "areas.geojson"), "areas_key": "area_id"})
    assert (r.status, r.rows_read, r.accepted, r.quarantined) == ("ok", 1, 1, 0), r.as_line("en")
    with Store(Workspace(root).store_path, read_only=True) as s:
        if kind == "social_index":
            got = s.query("SELECT social_index FROM territories")["social_index"].tolist()
            assert got == [pytest.approx(float(spec(kind).column("value").example))]
        else:  # the example area lies inside the example territory: all of its count lands
            got = s.query("SELECT sum(count) AS n FROM crime_counts WHERE source LIKE 'areas:%'")
            assert got["n"].iloc[0] == pytest.approx(float(spec(kind).column("count").example))


@pytest.mark.parametrize("kind", AREA_KINDS)
def test_area_templates_ingest_with_the_documented_command(ingested, tmp_path, kind):
    import shutil

    from click.testing import CliRunner

    from territoria.cli import cli

    ws, folder, _ = ingested
    root = tmp_path / "ws"
    shutil.copytree(ws.root, root)
    res = CliRunner().invoke(cli, ["ingest", "-w", str(root), str(folder / f"{kind}.csv"),
                                   "--kind", AREA_KINDS[kind], "--areas",
                                   str(folder / "areas.geojson"), "--areas-key", "area_id"])
    assert res.exit_code == 0, res.output
    assert "aceptadas 1" in res.output and "en cuarentena 0" in res.output, res.output


def test_schema_csv_lists_allowed_values_of_readers():
    from territoria.ingest.tables import AGE_GROUPS, SEXES

    rows = list(csv.DictReader(schema_csv("census").splitlines()))
    by = {r["column"]: r for r in rows}
    assert set(by["sex"]["allowed_en"].split(", ")) == SEXES
    assert set(by["age_group"]["allowed_es"].split(", ")) == AGE_GROUPS


#: Optional columns whose absence the current reader does not yet accept (found by this test).
ABSENT_NOT_ACCEPTED: dict = {}


def _optional():
    for k in (*ORDER, *AREA_KINDS):
        for c in spec(k).columns:
            if c.required == "no":
                marks = ()
                if (k, c.name) in ABSENT_NOT_ACCEPTED:
                    marks = pytest.mark.xfail(strict=False, reason=ABSENT_NOT_ACCEPTED[(k, c.name)])
                yield pytest.param(k, c.name, id=f"{k}-{c.name}", marks=marks)


@pytest.mark.parametrize(("kind", "column"), list(_optional()))
def test_optional_column_may_be_absent(ingested, tmp_path, kind, column):
    ws, folder, _ = ingested
    s = spec(kind)
    if kind == "territories":
        fc = json.loads((folder / "territories.geojson").read_text(encoding="utf-8"))
        del fc["features"][0]["properties"][column]
        p = tmp_path / "territories.geojson"
        p.write_text(json.dumps(fc), encoding="utf-8")
    else:
        keep = [c for c in s.columns if c.name != column]
        p = tmp_path / f"{kind}.csv"
        with open(p, "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows([[c.name for c in keep], [c.example for c in keep]])
    (r,) = _ingest_variant(ws, folder, kind, p)
    assert (r.status, r.accepted, r.quarantined) == ("dry_run", 1, 0), r.as_line("en")


# ---------------------------------------------------------------------------------------------
# the input guide (methodology/inputs.md, inputs.en.md) says what the specs say
# ---------------------------------------------------------------------------------------------
GUIDES = {"es": "inputs.md", "en": "inputs.en.md"}
#: Options the guide documents (issue 13) that other sessions are wiring into the CLI.
PENDING_OPTIONS: set = set()


@pytest.mark.parametrize("lang", GUIDES)
def test_guide_tables_are_generated_from_the_specs(repo_root, lang):
    from territoria.ingest.templates import guide_regions, spec_markdown

    text = (repo_root / "methodology" / GUIDES[lang]).read_text(encoding="utf-8")
    regions = guide_regions(text)
    assert sorted(regions) == sorted(KINDS)
    for k in KINDS:
        assert regions[k] == spec_markdown(k, lang, heading="###"), (
            f"{GUIDES[lang]}: region {k} is out of date; run territoria.ingest.templates."
            "update_guide")


def test_guide_is_linked_from_the_method_index(repo_root):
    index = (repo_root / "methodology" / "index.md").read_text(encoding="utf-8")
    assert "(inputs.md)" in index and "(inputs.en.md)" in index


def _guide_commands(repo_root):
    import re
    import shlex

    from territoria.cli import cli

    found = []
    for name in GUIDES.values():
        text = (repo_root / "methodology" / name).read_text(encoding="utf-8")
        for cmd in re.findall(r"`(territoria [^`]+)`", text):
            words = shlex.split(cmd)[1:]
            group, path = cli, []
            while words and hasattr(group, "commands") and words[0] in group.commands:
                group = group.commands[words[0]]
                path.append(words.pop(0))
            assert path, f"{name}: unknown command in `{cmd}`"
            opts = {o for p in group.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
            for w in words:
                if w.startswith("-") and w != "-":
                    found.append((name, cmd, " ".join(path), w, w in opts))
    return found


def test_guide_commands_exist(repo_root):
    missing = [(n, c, w) for n, c, p, w, ok in _guide_commands(repo_root)
               if not ok and (p, w) not in PENDING_OPTIONS]
    assert not missing


def test_guide_pending_options_exist(repo_root):
    missing = sorted({(p, w) for _n, _c, p, w, ok in _guide_commands(repo_root) if not ok})
    assert not missing
