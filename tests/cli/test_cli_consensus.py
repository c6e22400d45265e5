"""CLI tests of ``territoria consensus``.

Real data: Pol.is "brexit-consensus" (compdemocracy/openData). Data was gathered using the
Polis software (compdemocracy.org/polis) and is sub-licensed under CC BY 4.0 with Attribution
to The Computational Democracy Project.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from click.testing import CliRunner

from territoria.cli import cli


def _run(args):
    return CliRunner().invoke(cli, args)


def test_polis_export(real_data, tmp_path):
    src = real_data / "polis" / "brexit-consensus" / "participants-votes.csv"
    out = tmp_path / "result.json"
    r = _run(["consensus", str(src), "--format", "polis", "--mode", "polis", "--out", str(out)])
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert doc["k"] == 2 and doc["polis_k"] == 2
    assert len(doc["groups"]) == 204 and sum(g is not None for g in doc["groups"].values()) == 189
    assert len(doc["statements"]) == 50
    s = doc["statements"][0]
    for key in ("id", "n_votes", "p_agree", "p_disagree", "gic", "gic_low", "gic_high",
                "divisive"):
        assert key in s
    assert s["gic_low"] <= s["gic"] <= s["gic_high"]
    assert set(doc["representative"]) == {"0", "1"}
    assert all(1 <= len(v) <= 5 for v in doc["representative"].values())


def test_kit_file_and_stdout(tmp_path):
    rng = np.random.default_rng(2)
    rows = [(f"p{i}", f"P{j}", ("agree" if rng.random() < (0.85 if (i < 15) == (j < 4)
                                                           else 0.15) else "disagree"))
            for i in range(30) for j in range(8)]
    f = tmp_path / "votes.csv"
    pd.DataFrame(rows, columns=["participant_code", "proposal_code", "vote"]).to_csv(f,
                                                                                   index=False)
    r = _run(["consensus", str(f), "--format", "kit", "--mode", "kit"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["k"] == 2 and doc["mode"] == "kit"
    groups = doc["groups"]
    assert len({groups[f"p{i}"] for i in range(15)}) == 1
    assert groups["p0"] != groups["p20"]
    assert sum(s["divisive"] for s in doc["statements"]) >= 6


def test_bad_inputs_give_one_line_errors(tmp_path):
    cases = {
        "empty.csv": ("", "polis", "the file is empty"),
        "nocol.csv": ("participant_code,vote\na,agree\n", "kit", "column 'proposal_code' is missing"),
        "badvote.csv": ("participant_code,proposal_code,vote\na,P1,maybe\n", "kit",
                        "row 2, column vote: 'maybe' is not a vote"),
        "badpolis.csv": ("participant,group-id,0\n0,0,7\n", "polis", "'7' is not a vote"),
    }
    for name, (text, fmt, msg) in cases.items():
        f = tmp_path / name
        f.write_text(text)
        r = _run(["consensus", str(f), "--format", fmt])
        assert r.exit_code == 1, name
        lines = [ln for ln in r.output.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:") and msg in lines[0], r.output
    r = _run(["consensus", str(tmp_path / "missing.csv")])
    assert r.exit_code == 1 and "file not found" in r.output
