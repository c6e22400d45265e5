"""Shared helpers of the ingest tests: a small workspace and valid survey frames built from the
instruments themselves (so a change of form changes the fixtures too)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from territoria.config import init_workspace
from territoria.instruments.xlsform import default_surveys_dir, load_instrument
from territoria.store import Store

ZONES = pd.DataFrame({"zone_id": ["DT01", "DT02"], "name": ["Aculco", "Ermita Zaragoza"]})
TERRITORIES = pd.DataFrame({"territory_id": ["07-001", "07-002", "07-003"],
                            "name": ["ACULCO (PBLO)", "ALBARRADAS (U HAB)", "AMPLIACION RICARDO FLORES MAGON"],
                            "zone_id": ["DT01", "DT01", "DT02"]})
BLOCKS = pd.DataFrame({"block_id": ["07-001-0001", "07-002-0001", "07-003-0001"],
                       "territory_id": ["07-001", "07-002", "07-003"]})


def make_workspace(root: Path, *, places: bool = True):
    ws = init_workspace(root, "Iztapalapa")
    if places:
        with Store(ws.store_path) as s, s.transaction():
            s.append("zones", ZONES)
            s.append("territories", TERRITORIES)
            s.append("blocks", BLOCKS)
    return ws


def form(name: str):
    return load_instrument(default_surveys_dir() / f"{name}.xlsx")


def valid_frame(inst, n: int, repeat=None, seed: int = 1) -> pd.DataFrame:
    """``n`` valid answers for every field of ``inst`` (main table or ``repeat``)."""
    rng = np.random.default_rng(seed)
    cols = {}
    for f in inst.fields_of(repeat):
        allowed = sorted(inst.allowed_values(f) or [])
        if f.name == "consent":
            cols[f.name] = ["yes"] * n
        elif f.name == "zone":
            cols[f.name] = ["DT01"] * n
        elif f.name == "territory":
            cols[f.name] = ["07-001"] * n
        elif f.name == "block":
            cols[f.name] = ["07-001-0001"] * n
        elif f.type == "select_one" and allowed:
            cols[f.name] = list(rng.choice(allowed, n))
        elif f.type == "select_multiple" and allowed:
            cols[f.name] = [" ".join(sorted(rng.choice(allowed, 2, replace=False))) for _ in range(n)]
        elif f.type == "integer":
            cols[f.name] = list(rng.integers(0, 10, n))
        elif f.type == "decimal":
            cols[f.name] = list(np.round(rng.uniform(0, 1, n), 3))
        elif f.type in ("date", "today"):
            cols[f.name] = ["2026-03-0" + str(1 + i % 9) for i in range(n)]
        elif f.type in ("start", "end", "datetime"):
            cols[f.name] = [f"2026-03-01T10:{i % 60:02d}:00.000-06:00" for i in range(n)]
        elif f.name in ("phone", "facilitator_phone"):
            cols[f.name] = [f"55{i:08d}" for i in range(n)]
        elif f.name.endswith("_name"):
            cols[f.name] = [f"Persona Secreta {i}" for i in range(n)]
        elif f.name == "address":
            cols[f.name] = [f"Calle Falsa {i}" for i in range(n)]
        elif f.name.endswith("_code"):
            cols[f.name] = [f"{f.name[:3].upper()}-{seed}-{i:04d}" for i in range(n)]
        elif f.name.endswith("_url"):
            cols[f.name] = [f"https://example.org/{i}" for i in range(n)]
        elif f.type == "text":
            cols[f.name] = [f"texto {i}" for i in range(n)]
        elif f.type == "calculate":
            continue
        else:
            cols[f.name] = [None] * n
    return pd.DataFrame(cols)


def snapshot(store_path: Path) -> dict:
    """Full contents of every table (sorted rows) for before/after comparisons."""
    with Store(store_path, read_only=True) as s:
        out = {}
        for t in s.tables():
            df = s.table(t)
            out[t] = sorted(map(repr, df.astype(str).itertuples(index=False)))
        return out


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def all_text(store_path: Path) -> str:
    """Every cell of every table of the store as one string (for leak checks)."""
    with Store(store_path, read_only=True) as s:
        return "\n".join(s.table(t).astype(str).to_csv(index=False) for t in s.tables())


@pytest.fixture
def kit():
    """The helpers above, as a namespace."""
    return SimpleNamespace(make_workspace=make_workspace, form=form, valid_frame=valid_frame,
                           snapshot=snapshot, sha=sha, all_text=all_text)


@pytest.fixture
def ws(tmp_path):
    """A workspace with two zones, three territories and three blocks."""
    return make_workspace(tmp_path / "ws")
