"""The vote primitives shared by Pol.is mode and the kit's consensus (territoria.analysis.votes)."""

from __future__ import annotations

import pandas as pd
import pytest

from territoria.analysis import consensus, polis, votes
from territoria.exceptions import DataError


@pytest.mark.parametrize("name", ["normalise_votes", "vote_counts", "group_consensus",
                                  "polis_gic", "group_table", "jeffreys_interval"])
def test_polis_and_consensus_use_the_same_primitives(name):
    assert getattr(polis, name) is getattr(votes, name) is getattr(consensus, name)


def test_find_column_prefers_the_given_name_then_the_aliases():
    df = pd.DataFrame({"proposal_code": ["P1"], "statement": ["S1"]})
    assert votes.find_column(df, None, votes.PROPOSAL_ALIASES, "proposal") == "proposal_code"
    assert votes.find_column(df, "statement", votes.PROPOSAL_ALIASES, "proposal") == "statement"
    with pytest.raises(DataError, match="column 'nope' is missing"):
        votes.find_column(df, "nope", votes.PROPOSAL_ALIASES, "proposal")
    with pytest.raises(DataError, match="no participant column"):
        votes.find_column(df, None, votes.PARTICIPANT_ALIASES, "participant")


def test_vote_arrays_are_proposals_by_groups():
    c = pd.DataFrame({"proposal": ["P2", "P1", "P1"], "group": ["g", "g", "h"],
                      "n_agree": [1, 2, 3], "n_disagree": [0, 1, 0], "n_pass": [0, 0, 4]})
    props, groups, a, d, p = votes.vote_arrays(c)
    assert props == ["P1", "P2"] and groups == ["g", "h"]
    assert a.tolist() == [[2, 3], [1, 0]] and p.tolist() == [[0, 4], [0, 0]]
