"""Tests of territoria.analysis.power against published sample sizes."""

from __future__ import annotations

import math

import pytest

from territoria.analysis.power import detectable_change, sample_size
from territoria.exceptions import AnalysisError


def test_two_sample_t_matches_pwr():
    # R pwr vignette: pwr.t.test(d = 0.5, power = 0.80, sig.level = 0.05) -> n = 63.76561
    # (Cohen 1988, Table 2.4.1: n = 64 per group)
    r = sample_size("mean", change=0.5, sd=1.0).iloc[0]
    assert r["n_srs"] == pytest.approx(63.76561, abs=1e-4)
    assert r["n_per_round"] == 64 and r["n_total"] == 128


def test_proportions_match_cohen_table():
    # Cohen (1988), Table 6.4.1: h = 0.20, two-sided alpha = .05, power = .80 -> n = 392;
    # normal formula 2 ((z_.975 + z_.80) / h)^2 = 392.44
    p1 = 0.5
    p2 = math.sin(math.asin(math.sqrt(p1)) + 0.1) ** 2  # h = 0.2 exactly
    r = sample_size("proportion", baseline=p1, change=p2 - p1).iloc[0]
    assert r["effect_size"] == pytest.approx(0.2, abs=1e-12)
    assert r["n_srs"] == pytest.approx(392.443, abs=1e-3)
    assert r["n_per_round"] == 393


def test_design_effect_and_paired():
    a = sample_size("proportion", baseline=0.6, change=-0.1).iloc[0]
    b = sample_size("proportion", baseline=0.6, change=-0.1, deff=2.0).iloc[0]
    assert b["n_per_round"] == math.ceil(a["n_srs"] * 2)
    # paired with correlation 0.5: d_z = d, one-sample t; R pwr.t.test(d=0.5, type="paired")
    # gives n = 33.36713 pairs
    p = sample_size("mean", change=0.5, sd=1.0, paired=True, correlation=0.5).iloc[0]
    assert p["n_srs"] == pytest.approx(33.36713, abs=1e-4)
    assert p["n_total"] == p["n_per_round"] == 34


def test_detectable_change_inverts_sample_size():
    n = sample_size("mean", change=0.3, sd=2.0).iloc[0]["n_srs"]
    assert detectable_change("mean", n, sd=2.0) == pytest.approx(0.3, rel=1e-6)
    p = detectable_change("proportion", 392.443, baseline=0.5)
    assert p == pytest.approx(math.sin(math.asin(math.sqrt(0.5)) + 0.1) ** 2 - 0.5, abs=1e-5)


@pytest.mark.parametrize("kw,msg", [
    ({"kind": "mean", "change": 0.5}, "needs sd"),
    ({"kind": "proportion", "baseline": 0.95, "change": 0.1}, "proportions in"),
    ({"kind": "mean", "change": 0.5, "sd": 1, "deff": 0.5}, "design effect"),
    ({"kind": "ratio"}, "kind 'ratio'"),
])
def test_errors(kw, msg):
    with pytest.raises(AnalysisError, match=msg):
        sample_size(**kw)
