"""Fixtures shared by the step tests: a read-only context on the sample city, and its truth."""

import json

import pytest

from territoria.steps.common import open_context


@pytest.fixture(scope="module")
def ctx(sample_ws):
    """A read-only StepContext on the session's sample workspace."""
    c = open_context(sample_ws.root)
    yield c
    c.close()


@pytest.fixture(scope="module")
def truth(sample_ws):
    """True parameters and planted facts of the sample city (truth/params.json)."""
    return json.loads((sample_ws.root / "truth" / "params.json").read_text())


def reduce_store(src, dest, territory_ids) -> None:
    """Copy the store ``src`` into ``dest`` keeping only the rows of ``territory_ids`` (tables
    with a territory column, and repeat rows whose parent is kept); other tables whole."""
    import duckdb

    ids = ", ".join(f"'{t}'" for t in territory_ids)
    con = duckdb.connect(str(dest))
    try:
        con.execute(f"ATTACH '{src}' AS src (READ_ONLY)")
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'src' "
            "ORDER BY table_name").fetchall()]
        children = [t for t in tables if "__" in t]
        for t in [t for t in tables if "__" not in t] + children:
            cols = [r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_catalog = "
                "'src' AND table_name = ?", [t]).fetchall()]
            parent = t.split("__", 1)[0]
            if "territory_id" in cols:
                where = f"WHERE territory_id IN ({ids})"
            elif "territory" in cols:
                where = f"WHERE territory IN ({ids})"
            elif t in children and parent in tables and "_parent_uuid" in cols:
                where = f'WHERE _parent_uuid IN (SELECT _uuid FROM main."{parent}")'
            elif t.endswith("__freetext") or t.endswith("__history"):
                where = f'WHERE _uuid IN (SELECT _uuid FROM main."{parent}")' \
                    if "_uuid" in cols and parent in tables else ""
            else:
                where = ""
            con.execute(f'CREATE TABLE main."{t}" AS SELECT * FROM src."{t}" {where}')
    finally:
        con.close()


@pytest.fixture(scope="session")
def small_ws(sample_ws, tmp_path_factory):
    """A workspace of the sample city cut to four territories (two of the first cohort, two
    never in the programme, same zone): the store holds only their rows. Returns
    ``(workspace, [programme ids], [other ids])``."""
    import shutil

    from territoria.config import Workspace
    from territoria.store import Store

    with Store(sample_ws.store_path, read_only=True) as s:
        t = s.query("SELECT territory_id, zone_id, priority, cohort, joined_on FROM territories "
                    "ORDER BY territory_id")
    first = t[t["priority"].fillna(False)].sort_values(["joined_on", "territory_id"])
    zone = first["zone_id"].iloc[0]
    prog = first[first["zone_id"] == zone]["territory_id"].head(2).tolist()
    rest = t[~t["priority"].fillna(False).astype(bool)]
    others = (rest[rest["zone_id"] == zone]["territory_id"].head(2).tolist()
              or rest["territory_id"].head(2).tolist())
    root = tmp_path_factory.mktemp("small") / "ws"
    root.mkdir()
    for name in ("city.yml", ".secret"):
        shutil.copy(sample_ws.root / name, root / name)
    shutil.copytree(sample_ws.root / "surveys", root / "surveys")
    reduce_store(sample_ws.store_path, root / "territoria.duckdb", prog + others)
    return Workspace(root), prog, others
