"""``territoria consensus FILE``: opinion groups and consensus from a vote file.

Reads a Pol.is ``participants-votes.csv`` export (``--format polis``) or the kit's long CSV
``participant_code,proposal_code,vote`` (``--format kit``, vote agree/disagree/pass), finds
opinion groups (``--mode polis``: Pol.is's own math; ``--mode kit``: the kit's variant) and
writes a JSON summary: ``k``, ``groups`` (participant -> group, null outside the
in-conversation rule), ``statements`` (``id, n_votes, p_agree, p_disagree, gic, gic_low,
gic_high, divisive`` and more), ``representative`` (per group) and ``consensus``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import click
import numpy as np
import pandas as pd

from territoria.cli._common import chdir_workspace_option
from territoria.exceptions import DataError

KIT_COLUMNS = ("participant_code", "proposal_code", "vote")
KIT_VOTES = ("agree", "disagree", "pass")


def read_kit_votes(path: Path) -> pd.DataFrame:
    """Read the kit's long vote CSV, with one-line errors naming file, row and column."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise DataError("the file is empty", file=path) from None
    for c in KIT_COLUMNS:
        if c not in df.columns:
            raise DataError(f"column '{c}' is missing", file=path, column=c,
                            rule="kit vote files have participant_code,proposal_code,vote")
    if df.empty:
        raise DataError("the file has no votes", file=path)
    v = df["vote"].str.strip().str.lower()
    bad = ~v.isin(KIT_VOTES + ("",))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"'{df['vote'].iloc[i]}' is not a vote", file=path, row=i + 2,
                        column="vote", rule="agree, disagree or pass")
    for c in ("participant_code", "proposal_code"):
        empty = df[c].str.strip() == ""
        if empty.any():
            i = int(np.flatnonzero(empty.to_numpy())[0])
            raise DataError(f"empty {c}", file=path, row=i + 2, column=c,
                            rule="every vote names a participant and a proposal")
    df["vote"] = v
    df = df.loc[df["vote"] != ""]
    if df.empty:
        raise DataError("the file has no votes (every vote is empty)", file=path,
                        column="vote")
    return df


def _clean(x):
    """JSON-safe scalars (NaN -> null, numpy -> Python)."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if x is pd.NA or x is None:
        return None
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return None if math.isnan(float(x)) else float(x)
    return x


def consensus_json(result, *, source: str, fmt: str, polis_groups=None) -> dict:
    """Build the JSON document from a :class:`territoria.analysis.polis.PolisResult`."""
    parts = result.participants
    st = result.statements.rename(columns={"proposal": "id"})
    keep = ["id", "n_votes", "n_agree", "n_disagree", "n_pass", "p_agree", "p_disagree",
            "p_agree_low", "p_agree_high", "gic", "gic_low", "gic_high", "gic_method",
            "gic_kit", "gic_kit_low", "gic_kit_high", "gic_polis", "gic_polis_low",
            "gic_polis_high", "gdc", "gdc_low", "gdc_high", "divisive", "p_divisive",
            "extremity"]
    statements = [{k: r[k] for k in keep if k in st.columns} for _, r in st.iterrows()]
    reps = {}
    for g, sub in result.repness.groupby("group"):
        reps[str(int(g))] = sub.drop(columns="group").rename(
            columns={"proposal": "id"}).to_dict("records")
    cons = {d: result.consensus.loc[result.consensus["direction"] == d]
            .drop(columns="direction").rename(columns={"proposal": "id"}).to_dict("records")
            for d in ("agree", "disagree")}
    doc = {
        "source": source, "format": fmt, "mode": result.mode, "k": result.k,
        "n_participants": int(len(parts)), "n_in_conv": int(parts["in_conv"].sum()),
        "groups": {p: (None if pd.isna(g) else int(g))
                   for p, g in zip(parts["participant"], parts["group"], strict=True)},
        "group_sizes": {str(int(g)): int(n) for g, n in
                        parts["group"].dropna().value_counts().sort_index().items()},
        "silhouettes": {str(k): v for k, v in result.silhouettes.items()},
        "statements": statements,
        "representative": reps,
        "consensus": cons,
        "method": {
            "polis_reference": "compdemocracy/polis math/src/polismath/math/"
                               "{pca,clusters,conversation,repness}.clj",
            "gic_kit": "geometric mean over groups of p_agree*(1-p_disagree), "
                       "Dirichlet(1/2,1/2,1/2) prior, 90% posterior interval",
            "gic_polis": "product over groups of (A+1)/(S+2)",
        },
    }
    if polis_groups is not None and polis_groups.notna().any():
        doc["polis_k"] = int(polis_groups.dropna().nunique())
    return _clean(doc)


def register(group: click.Group) -> None:
    """Add the ``consensus`` command to the CLI."""

    @group.command("consensus")
    @chdir_workspace_option
    @click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
    @click.option("--format", "fmt", type=click.Choice(["polis", "kit"]), default="polis",
                  show_default=True, help="polis: participants-votes.csv; kit: long CSV.")
    @click.option("--mode", type=click.Choice(["polis", "kit"]), default="polis",
                  show_default=True, help="Opinion-group method.")
    @click.option("--out", "out", type=click.Path(path_type=Path, dir_okay=False),
                  default=None, help="Write the JSON here (default: standard output).")
    @click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
    def consensus_cmd(file: Path, fmt: str, mode: str, out: Path | None, seed: int):
        """Opinion groups and consensus from a vote FILE (Pol.is export or kit CSV).

        \b
        Example:
          territoria consensus participants-votes.csv --format polis --mode polis --out result.json
          territoria consensus votes.csv --format kit --mode kit --out result.json
        """
        from territoria.analysis.polis import analyse, read_polis_participants_votes

        if not file.is_file():
            raise DataError("file not found", file=file)
        polis_groups = None
        if fmt == "polis":
            votes, polis_groups = read_polis_participants_votes(file)
            if votes.empty:
                raise DataError("the file has no votes", file=file)
        else:
            votes = read_kit_votes(file)
        result = analyse(votes, mode=mode, seed=seed)
        doc = consensus_json(result, source=str(file), fmt=fmt, polis_groups=polis_groups)
        text = json.dumps(doc, ensure_ascii=False, indent=1)
        if out is None:
            click.echo(text)
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
            n_div = sum(1 for s in doc["statements"] if s.get("divisive"))
            click.echo(f"{doc['n_participants']} participants, {doc['n_in_conv']} in the "
                       f"analysis, {doc['k']} opinion groups, {len(doc['statements'])} "
                       f"statements ({n_div} divisive) -> {out}", err=True)
