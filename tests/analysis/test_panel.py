"""Tests of territoria.analysis.panel (paired change, mixed ANOVA)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from territoria.analysis.panel import dz_ci, mixed_anova, paired_change, partial_eta2_ci
from territoria.exceptions import AnalysisError, DataError

# R datasets::sleep (Cushny & Peebles): extra sleep of 10 patients under two drugs.
SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


@pytest.fixture
def sleep():
    return pd.DataFrame({"id": list(range(10)) * 2, "drug": ["1"] * 10 + ["2"] * 10,
                         "extra": SLEEP_1 + SLEEP_2})


def test_paired_t_matches_r_sleep(sleep):
    r = paired_change(sleep, "id", "drug", "extra", pre="2", post="1").iloc[0]
    # R: with(sleep, t.test(extra[group == 1], extra[group == 2], paired = TRUE))
    # t = -4.0621, df = 9, p-value = 0.002833, 95 % CI -2.4598858 -0.7001142, mean diff -1.58
    assert r["t"] == pytest.approx(-4.0621, abs=1e-4)
    assert r["df"] == 9
    assert r["p_val"] == pytest.approx(0.002833, abs=1e-6)
    assert r["diff"] == pytest.approx(-1.58, abs=1e-12)
    assert r["diff_ci_low"] == pytest.approx(-2.4598858, abs=1e-6)
    assert r["diff_ci_high"] == pytest.approx(-0.7001142, abs=1e-6)
    # d_z = -1.58 / sd(diff) = -1.58 / 1.229995 (R: sd(extra[1:10] - extra[11:20]))
    assert r["dz"] == pytest.approx(-1.58 / 1.229995, abs=1e-5)
    # R: with(sleep, wilcox.test(extra[group == 1], extra[group == 2], paired = TRUE))
    # V = 0, p-value = 0.009091 (normal approximation: ties and a zero difference)
    assert r["wilcoxon_p"] == pytest.approx(0.009091, abs=1e-6)


def test_dz_ci_inverts_noncentral_t():
    t, n = -4.0621, 10
    lo, hi = dz_ci(t, n)
    assert stats.nct.cdf(t, n - 1, lo * np.sqrt(n)) == pytest.approx(0.975, abs=1e-8)
    assert stats.nct.cdf(t, n - 1, hi * np.sqrt(n)) == pytest.approx(0.025, abs=1e-8)
    assert lo < t / np.sqrt(n) < hi


def test_by_group_and_listwise(sleep):
    d = pd.concat([sleep.assign(terr="A"), sleep.assign(terr="B")])
    d = d[~((d.terr == "B") & (d.id == 0) & (d.drug == "1"))]  # drop one moment
    r = paired_change(d, "id", "drug", ["extra"], pre="2", post="1", by="terr")
    assert r["terr"].tolist() == ["A", "B"]
    assert r["n"].tolist() == [10, 9]


def test_errors(sleep):
    with pytest.raises(DataError, match="moment 'start' not found"):
        paired_change(sleep, "id", "drug", "extra", pre="start", post="1")
    with pytest.raises(DataError, match="appears twice"):
        paired_change(pd.concat([sleep, sleep.iloc[[0]]]), "id", "drug", "extra",
                      pre="1", post="2")
    with pytest.raises(AnalysisError, match="column 'nope'"):
        paired_change(sleep, "id", "drug", "nope")


def test_mixed_anova_identities():
    rng = np.random.default_rng(3)
    n = 30
    g = np.repeat(["yes", "no"], n // 2)
    pre = rng.normal(5, 1, n)
    post = pre + rng.normal(0.3, 0.8, n) + 0.6 * (g == "yes")
    d = pd.DataFrame({"id": np.tile(np.arange(n), 2), "wave": ["pre"] * n + ["post"] * n,
                      "grp": np.tile(g, 2), "y": np.r_[pre, post]})
    a = mixed_anova(d, "y", "wave", "id", "grp").set_index("source")
    diff = post - pre
    # Interaction F = squared pooled-variance t test of the differences between groups.
    t_int = stats.ttest_ind(diff[g == "yes"], diff[g == "no"]).statistic
    assert a.loc["Interaction", "F"] == pytest.approx(t_int ** 2, rel=1e-8)
    # Between F = squared t test of each subject's mean over the two waves.
    m = (pre + post) / 2
    t_b = stats.ttest_ind(m[g == "yes"], m[g == "no"]).statistic
    assert a.loc["grp", "F"] == pytest.approx(t_b ** 2, rel=1e-8)
    lo, hi = a.loc["Interaction", ["np2_ci_low", "np2_ci_high"]]
    assert lo <= a.loc["Interaction", "np2"] <= hi


def test_partial_eta2_ci_bounds():
    F, d1, d2 = 5.051709, 1, 58
    lo, hi = partial_eta2_ci(F, d1, d2)
    lam_hi = hi * (d1 + d2 + 1) / (1 - hi)
    assert stats.ncf.cdf(F, d1, d2, lam_hi) == pytest.approx(0.025, abs=1e-8)
    assert partial_eta2_ci(0.1, 1, 58)[0] == 0.0


@pytest.mark.parametrize("df1,df2", [(1, 20), (1, 58), (3, 200), (2, 5000), (1, 3)])
def test_ncf_cdf_large_lambda_form_agrees_with_scipy_where_both_work(df1, df2, monkeypatch):
    from territoria.analysis import panel

    lam = 1e7  # the switch point; scipy is still finite and accurate here
    monkeypatch.setattr(panel, "NCF_LARGE_LAMBDA", 0.0)
    for q in (0.025, 0.5, 0.975):
        f = stats.ncf.ppf(q, df1, df2, lam)
        assert panel.ncf_cdf(f, df1, df2, lam) == pytest.approx(
            stats.ncf.cdf(f, df1, df2, lam), abs=1e-8)


@pytest.mark.parametrize("F,df1,df2", [(1e8, 1, 58), (1e10, 1, 20), (1e12, 1, 20),
                                       (1e9, 1, 100_000)])
def test_partial_eta2_ci_very_large_F(F, df1, df2):
    from territoria.analysis.panel import ncf_cdf

    lo, hi = partial_eta2_ci(F, df1, df2)
    np2 = F * df1 / (F * df1 + df2)
    assert 0 < lo < np2 < hi < 1
    lam = lambda e: e * (df1 + df2 + 1) / (1 - e)  # noqa: E731
    assert ncf_cdf(F, df1, df2, lam(lo)) == pytest.approx(0.975, abs=1e-6)
    assert ncf_cdf(F, df1, df2, lam(hi)) == pytest.approx(0.025, abs=1e-6)
    assert partial_eta2_ci(np.inf, df1, df2) == (1.0, 1.0)


def test_scipy_ncf_fails_where_the_bound_search_goes():
    # the reason for ncf_cdf: the first bracket of F = 1e10 (1, 20 df) is lambda = 4e10
    assert np.isnan(stats.ncf.cdf(1e10, 1, 20, 4e10))


def _other_codes(d: pd.DataFrame, col: str, seed: int) -> pd.DataFrame:
    """The same rows under other subject codes (another workspace's pseudonyms), shuffled."""
    rng = np.random.default_rng(seed)
    old = d[col].unique()
    new = dict(zip(old, (f"p_{x:016x}" for x in rng.integers(0, 2 ** 62, len(old))),
                   strict=True))
    return d.assign(**{col: d[col].map(new)}).sample(frac=1, random_state=seed)


def test_bit_identical_whatever_the_subject_codes():
    # Pseudonyms depend on the workspace's secret; they must not change a result's last bit
    # (they used to: pivot orders the pairs by code, and the sums add in that order).
    rng = np.random.default_rng(5)
    n = 40
    pre = rng.integers(3, 16, n) / 3  # means of three 1-5 items, as pe_rep_scale
    post = np.clip(pre + rng.integers(-2, 5, n) / 3, 1, 5)
    d = pd.DataFrame({"id": np.tile(np.arange(n), 2), "wave": ["pre"] * n + ["post"] * n,
                      "grp": np.tile(np.repeat(["a", "b"], n // 2), 2), "y": np.r_[pre, post]})
    change = paired_change(d, "id", "wave", "y")
    by = paired_change(d, "id", "wave", "y", by="grp")
    aov = mixed_anova(d, "y", "wave", "id", "grp")
    for seed in range(4):
        o = _other_codes(d, "id", seed)
        pd.testing.assert_frame_equal(paired_change(o, "id", "wave", "y"), change,
                                      check_exact=True)
        pd.testing.assert_frame_equal(paired_change(o, "id", "wave", "y", by="grp"), by,
                                      check_exact=True)
        pd.testing.assert_frame_equal(mixed_anova(o, "y", "wave", "id", "grp"), aov,
                                      check_exact=True)
