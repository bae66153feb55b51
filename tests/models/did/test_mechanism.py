"""Mechanism analysis: heterogeneity, mediation and moderation on simulated staggered DID panels.

Cases covered
-------------
Heterogeneity
- split-sample estimates and SEs equal pyfixest run on each group (1e-8) and
  the coefficients equal an explicit-dummy numpy least squares;
- the pooled interaction model equals pyfixest's own ``did:C(g)`` encoding
  (coefficients, clustered SEs, the z-test from its vcov);
- group-specific effects are recovered and the difference test rejects when
  they differ, and keeps the null with equal effects over a few seeds;
- three numeric groups: Wald χ² equals b'V⁻¹b from pyfixest, df = 2, and is
  invariant to the reference group;
- shuffled rows and string ids give the same numbers; a cluster column other
  than the id;
- errors: missing column, time-varying group (names the unit), group without
  treated units and group with one unit (name the group), single group,
  unknown reference, non-0/1 treatment, missing values, repeated rows,
  non-numeric outcome, repeated roles, time-invariant control.
Mediation
- a, b, c, c' and SEs equal pyfixest (1e-8); c = c' + a·b (OLS identity);
- a·b recovers the truth; Sobel se equals sqrt(b²se_a² + a²se_b²);
- the fast two-way least squares equals pyfixest (balanced and unbalanced)
  and explicit dummies to 1e-8; one bootstrap draw equals pyfixest on the
  resampled panel with duplicated units relabelled (clusters nesting units
  and clusters splitting units);
- bootstrap CI covers the truth, is identical with the same seed, differs
  with another; progress is called once per draw; boot=0 skips it;
- failed draws warn; errors: negative boot, no treated unit, time-invariant
  mediator.
Moderation
- interaction and marginal effects recover the truth; they equal the delta
  method on pyfixest's uncentred fit (1e-8) and do not depend on ``center``;
- treatment × moderator variant (treatment never centred);
- errors: neither/both focal variables, constant moderator, non-0/1 treatment.
All: inputs unchanged; markdown and LaTeX tables have one row per term.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
from scipy import stats

from spillmap.errors import (
    CollinearityError,
    MissingColumnError,
    PanelShapeError,
    SpillmapWarning,
)
from spillmap.models.did._heterogeneity import HeterogeneityResult, heterogeneity
from spillmap.models.did._mediation import MediationResult, _twoway_ols, mediation
from spillmap.models.did._moderation import ModerationResult, moderation

#: Same estimator, same data: only floating-point and demeaning round-off.
RTOL_SAME = 1e-8
YEARS = np.arange(2010, 2018)


def _pf(fml: str, df: pd.DataFrame, cluster: str = "id"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(fml, data=df, vcov={"CRV1": cluster}, demeaner=pf.MapDemeaner(fixef_tol=1e-12))


def dummy_ols(df: pd.DataFrame, y: str, x: list[str], id_col: str = "id", time_col: str = "year") -> np.ndarray:
    """Slopes on ``x`` from least squares with explicit unit and year dummies."""
    units = pd.get_dummies(df[id_col], dtype=float).to_numpy()
    years = pd.get_dummies(df[time_col], dtype=float).to_numpy()[:, 1:]
    design = np.column_stack([df[x].to_numpy(dtype=float), units, years])
    return np.linalg.lstsq(design, df[y].to_numpy(dtype=float), rcond=None)[0][: len(x)]


def staggered(rng: np.random.Generator, n: int, share: float = 0.6) -> np.ndarray:
    """Adoption year per unit (2013–2016) for ``share`` of units; 9999 = never."""
    adopt = rng.choice(np.arange(2013, 2017), size=n)
    return np.where(rng.random(n) < share, adopt, 9999)


def simulate_groups(seed: int, tau: dict, n: int = 200) -> pd.DataFrame:
    """y = τ_g·did + 0.5·x1 + α_i + γ_t + ε, groups assigned cyclically to units."""
    rng = np.random.default_rng(seed)
    t = len(YEARS)
    labels = list(tau)
    group = np.array([labels[i % len(labels)] for i in range(n)], dtype=object)
    ids = np.repeat(np.arange(n), t)
    year = np.tile(YEARS, n)
    did = (year >= staggered(rng, n)[ids]).astype(float)
    x1 = rng.normal(size=n * t)
    effect = np.array([tau[g] for g in group])[ids]
    y = effect * did + 0.5 * x1 + rng.normal(size=n)[ids] + 0.2 * (year - 2010) + rng.normal(size=n * t)
    return pd.DataFrame({"id": ids, "year": year, "y": y, "did": did, "x1": x1, "g": group[ids]})


A, B, DIRECT = 0.8, 0.5, 0.3


def simulate_mediation(seed: int, n: int = 200, share: float = 0.6) -> pd.DataFrame:
    """m = a·did + 0.3·x1 + FE + e;  y = c'·did + b·m + 0.5·x1 + FE + u."""
    rng = np.random.default_rng(seed)
    t = len(YEARS)
    ids = np.repeat(np.arange(n), t)
    year = np.tile(YEARS, n)
    did = (year >= staggered(rng, n, share)[ids]).astype(float)
    x1 = rng.normal(size=n * t)
    m = A * did + 0.3 * x1 + rng.normal(size=n)[ids] + 0.1 * (year - 2010) + rng.normal(size=n * t)
    y = DIRECT * did + B * m + 0.5 * x1 + rng.normal(size=n)[ids] - 0.1 * (year - 2010) + rng.normal(size=n * t)
    return pd.DataFrame({"id": ids, "year": year, "y": y, "m": m, "did": did, "x1": x1})


BX, BM, BXM = 0.5, 0.3, 0.4


def simulate_moderation(seed: int, n: int = 200) -> pd.DataFrame:
    """y = 0.5·x + 0.3·m + 0.4·x·m (+ 0.6·did·m) + FE + ε with m of mean 1."""
    rng = np.random.default_rng(seed)
    t = len(YEARS)
    ids = np.repeat(np.arange(n), t)
    year = np.tile(YEARS, n)
    did = (year >= staggered(rng, n)[ids]).astype(float)
    x = rng.normal(size=n * t) + rng.normal(size=n)[ids]
    m = 1.0 + rng.normal(size=n * t)
    z = rng.normal(size=n * t)
    fe = rng.normal(size=n)[ids] + 0.1 * (year - 2010)
    y = BX * x + BM * m + BXM * x * m + 0.2 * z + fe + rng.normal(size=n * t)
    y2 = 1.0 * did + BM * m + 0.6 * did * m + 0.2 * z + fe + rng.normal(size=n * t)
    return pd.DataFrame({"id": ids, "year": year, "y": y, "y2": y2, "x": x, "m": m, "z": z, "did": did})


@pytest.fixture(scope="module")
def two_groups() -> pd.DataFrame:
    return simulate_groups(1, {"a": 1.0, "b": 2.0})


@pytest.fixture(scope="module")
def het(two_groups) -> HeterogeneityResult:
    return heterogeneity(two_groups, "y", controls=["x1"], group_col="g", id_col="id", time_col="year")


@pytest.fixture(scope="module")
def med_panel() -> pd.DataFrame:
    return simulate_mediation(3)


@pytest.fixture(scope="module")
def med(med_panel) -> MediationResult:
    return mediation(med_panel, "y", "m", controls=["x1"], id_col="id", time_col="year", boot=200, seed=11)


@pytest.fixture(scope="module")
def mod_panel() -> pd.DataFrame:
    return simulate_moderation(5)


def _row(frame: pd.DataFrame, term: str) -> pd.Series:
    return frame.loc[frame["term"] == term].iloc[0]


# --------------------------------------------------------------------------- heterogeneity


def test_split_sample_matches_pyfixest_and_dummies(two_groups, het):
    for g in ("a", "b"):
        sub = two_groups[two_groups["g"] == g]
        fit = _pf("y ~ did + x1 | id + year", sub)
        row = het.split.set_index("group").loc[g]
        np.testing.assert_allclose(row["estimate"], fit.coef()["did"], rtol=RTOL_SAME)
        np.testing.assert_allclose(row["se"], fit.se()["did"], rtol=RTOL_SAME)
        np.testing.assert_allclose(row["p_value"], fit.pvalue()["did"], rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(row["estimate"], dummy_ols(sub, "y", ["did", "x1"])[0], rtol=RTOL_SAME)
        assert row["n_units"] == 100 and row["n_obs"] == 800
        assert row["n_treated"] == sub.groupby("id")["did"].max().sum()


def test_interaction_matches_pyfixest_encoding(two_groups, het):
    fit = _pf("y ~ did + did:C(g) + x1 | id + year", two_groups)
    names = list(fit.coef().index)
    inter = next(n for n in names if n.startswith("did:"))
    got = het.interaction.set_index("term")
    for ours, theirs in (("did", "did"), ("did:g[b]", inter), ("x1", "x1")):
        np.testing.assert_allclose(got.loc[ours, "estimate"], fit.coef()[theirs], rtol=RTOL_SAME)
        np.testing.assert_allclose(got.loc[ours, "se"], fit.se()[theirs], rtol=RTOL_SAME)
    z = fit.coef()[inter] / fit.se()[inter]
    assert het.test.kind == "z" and het.test.df == 1
    np.testing.assert_allclose(het.test.statistic, z, rtol=RTOL_SAME)
    np.testing.assert_allclose(het.test.p_value, 2 * stats.norm.sf(abs(z)), rtol=1e-6)
    ref = dummy_ols(two_groups.assign(i=two_groups["did"] * (two_groups["g"] == "b")), "y", ["did", "i", "x1"])
    np.testing.assert_allclose(got["estimate"].to_numpy(), ref, rtol=RTOL_SAME)


def test_recovers_group_effects_and_rejects(het):
    split = het.split.set_index("group")
    for g, truth in (("a", 1.0), ("b", 2.0)):
        assert abs(split.loc[g, "estimate"] - truth) < 4 * split.loc[g, "se"]
    diff = _row(het.interaction, "did:g[b]")
    assert abs(diff["estimate"] - 1.0) < 4 * diff["se"]
    assert het.test.p_value < 0.001
    assert het.reference == "a" and het.groups == ("a", "b")


def test_equal_effects_keep_the_null():
    p_values = [
        heterogeneity(simulate_groups(seed, {"a": 1.5, "b": 1.5}), "y", controls=["x1"], group_col="g",
                      id_col="id", time_col="year").test.p_value
        for seed in range(20, 26)
    ]
    assert sum(p < 0.05 for p in p_values) <= 1, p_values


def test_three_numeric_groups_wald():
    df = simulate_groups(7, {1: 1.0, 2: 1.0, 3: 2.5})
    res = heterogeneity(df, "y", controls=["x1"], group_col="g", id_col="id", time_col="year")
    assert res.test.kind == "wald" and res.test.df == 2 and res.reference == 1
    fit = _pf("y ~ did + did:C(g) + x1 | id + year", df)
    inter = [n for n in fit.coef().index if n.startswith("did:")]
    b = fit.coef()[inter].to_numpy()
    idx = [list(fit.coef().index).index(n) for n in inter]
    v = fit._vcov[np.ix_(idx, idx)]
    wald = b @ np.linalg.solve(v, b)
    np.testing.assert_allclose(res.test.statistic, wald, rtol=RTOL_SAME)
    np.testing.assert_allclose(res.test.p_value, stats.chi2.sf(wald, 2), rtol=1e-6, atol=1e-300)
    assert res.test.p_value < 0.001
    other = heterogeneity(df, "y", controls=["x1"], group_col="g", id_col="id", time_col="year", reference=3)
    assert other.reference == 3
    assert list(other.interaction["term"][:3]) == ["did", "did:g[1]", "did:g[2]"]
    np.testing.assert_allclose(other.test.statistic, res.test.statistic, rtol=1e-6)
    np.testing.assert_allclose(res.split["estimate"], other.split["estimate"], rtol=RTOL_SAME)


def test_shuffled_rows_string_ids_and_cluster_column(two_groups, het):
    df = two_groups.sample(frac=1.0, random_state=0).assign(id=lambda d: "u" + d["id"].astype(str))
    res = heterogeneity(df, "y", controls=["x1"], group_col="g", id_col="id", time_col="year")
    np.testing.assert_allclose(res.split["estimate"], het.split["estimate"], rtol=RTOL_SAME)
    np.testing.assert_allclose(res.interaction["se"], het.interaction["se"], rtol=RTOL_SAME)
    region = df.assign(region=df["id"].str[-1])  # 10 clusters nesting the units
    res = heterogeneity(region, "y", controls=["x1"], group_col="g", id_col="id", time_col="year",
                        cluster="region")
    fit = _pf("y ~ did + did:C(g) + x1 | id + year", region, cluster="region")
    np.testing.assert_allclose(res.interaction["se"].iloc[0], fit.se()["did"], rtol=RTOL_SAME)
    assert res.n_clusters == 10


def _het_error(df, match, exc=PanelShapeError, **kwargs):
    args = dict(controls=["x1"], group_col="g", id_col="id", time_col="year")
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        heterogeneity(df, "y", **args)


def test_heterogeneity_errors(two_groups):
    df = two_groups
    _het_error(df, r"no column 'gg'.*Check the spelling", MissingColumnError, group_col="gg")
    moved = df.copy()
    moved.loc[(moved["id"] == 4) & (moved["year"] == 2017), "g"] = "b"
    _het_error(moved, r"changes over time within 1 unit\(s\) \(4\)")
    never = df.copy()
    never.loc[never["g"] == "b", "did"] = 0.0
    _het_error(never, r"Group 'b' of 'g' has no treated unit")
    lonely = df.copy()
    lonely.loc[lonely["id"] == 0, "g"] = "c"
    _het_error(lonely, r"Group 'c' of 'g' has 1 unit")
    _het_error(df.assign(g="a"), r"single value \('a'\)")
    _het_error(df, r"reference='z' is not a value of 'g'", reference="z")
    _het_error(df.assign(did=df["did"] * 2), r"'did' must hold 0/1")
    holed = df.copy()
    holed.loc[5, "x1"] = np.nan
    _het_error(holed, r"missing or infinite values: 'x1' 1 row\(s\); e\.g\. at \(unit, period\) \(0, 2015\)")
    _het_error(pd.concat([df, df.iloc[[3]]]), r"1 \(unit, period\) pair\(s\).*\(0, 2013\)")
    _het_error(df.assign(y=df["y"].astype(str)), r"'y' are not numeric")
    _het_error(df, r"'did' are given in more than one role", controls=["did"])
    _het_error(df.assign(w=df["id"] * 1.0), r"'w' is constant within units", CollinearityError, controls=["w"])


# --------------------------------------------------------------------------- mediation


def test_mediation_steps_match_pyfixest(med_panel, med):
    total = _pf("y ~ did + x1 | id + year", med_panel)
    step_a = _pf("m ~ did + x1 | id + year", med_panel)
    step_b = _pf("y ~ did + m + x1 | id + year", med_panel)
    table = med.to_frame().set_index("term")
    for term, fit, name in (("total", total, "did"), ("a", step_a, "did"), ("b", step_b, "m"),
                            ("direct", step_b, "did")):
        np.testing.assert_allclose(table.loc[term, "estimate"], fit.coef()[name], rtol=RTOL_SAME)
        np.testing.assert_allclose(table.loc[term, "se"], fit.se()[name], rtol=RTOL_SAME)
    a, b = step_a.coef()["did"], step_b.coef()["m"]
    sobel = np.sqrt(b**2 * step_a.se()["did"] ** 2 + a**2 * step_b.se()["m"] ** 2)
    np.testing.assert_allclose(med.indirect, a * b, rtol=RTOL_SAME)
    np.testing.assert_allclose(med.sobel_se, sobel, rtol=RTOL_SAME)
    np.testing.assert_allclose(med.sobel_z, a * b / sobel, rtol=RTOL_SAME)
    np.testing.assert_allclose(med.sobel_p, 2 * stats.norm.sf(abs(a * b / sobel)), rtol=1e-6, atol=1e-300)
    np.testing.assert_allclose(med.total, med.direct + med.indirect, rtol=1e-9)  # OLS identity c = c' + ab
    np.testing.assert_allclose(med.proportion, a * b / total.coef()["did"], rtol=RTOL_SAME)
    np.testing.assert_allclose(med.steps["outcome"]["t"], step_b.tstat().to_numpy(), rtol=1e-6)


def test_mediation_recovers_truth(med):
    assert abs(med.a - A) < 4 * _row(med.table, "a")["se"]
    assert abs(med.b - B) < 4 * _row(med.table, "b")["se"]
    assert abs(med.direct - DIRECT) < 4 * _row(med.table, "direct")["se"]
    assert abs(med.indirect - A * B) < 4 * med.sobel_se
    lo, hi = med.boot_ci
    assert lo < A * B < hi and lo < med.indirect < hi
    prop = _row(med.table, "proportion")
    assert prop["ci_low"] < A * B / (A * B + DIRECT) < prop["ci_high"]
    bt = _row(med.table, "indirect_bt")
    assert (bt["ci_low"], bt["ci_high"]) == med.boot_ci
    np.testing.assert_allclose(bt["se"], np.std(med.indirect_draws, ddof=1), rtol=1e-12)
    assert 0.5 < bt["se"] / med.sobel_se < 2.0
    assert med.boot == 200 and med.boot_failed == 0 and np.isfinite(med.indirect_draws).all()


@pytest.mark.parametrize("drop", [False, True])
def test_fast_path_matches_pyfixest(med_panel, drop):
    df = med_panel
    if drop:  # unbalanced: drop ~10 % of rows at random
        df = df.sample(frac=0.9, random_state=1).reset_index(drop=True)
    unit, n_units = pd.factorize(df["id"])
    time, n_times = pd.factorize(df["year"])
    got = _twoway_ols(df["y"].to_numpy(), df[["did", "m", "x1"]].to_numpy(), unit, time, len(n_units), len(n_times))
    fit = _pf("y ~ did + m + x1 | id + year", df)
    np.testing.assert_allclose(got, fit.coef()[["did", "m", "x1"]].to_numpy(), rtol=RTOL_SAME)
    np.testing.assert_allclose(got, dummy_ols(df, "y", ["did", "m", "x1"]), rtol=RTOL_SAME)
    assert _twoway_ols(df["y"].to_numpy(), df[["did", "did"]].to_numpy(), unit, time,
                       len(n_units), len(n_times)) is None


@pytest.mark.parametrize("nested", [True, False])
def test_one_bootstrap_draw_equals_pyfixest_on_resample(med_panel, nested):
    """Clusters are numbered by first appearance; draw r picks rng.integers(0, G, G).

    With clusters that split units (not nested), each drawn copy of a unit must
    be a distinct unit; merging them would change the fixed effects.
    """
    seed = 5
    df = med_panel.assign(half=med_panel["id"] * 2 + (med_panel["year"] >= 2014))
    cluster = "id" if nested else "half"
    res = mediation(df, "y", "m", controls=["x1"], id_col="id", time_col="year", boot=1, seed=seed,
                    cluster=cluster)
    order = pd.unique(df[cluster])
    picks = np.random.default_rng(seed).integers(0, len(order), size=len(order))
    parts = [df[df[cluster] == order[p]].assign(id=lambda d, k=k: d["id"] + 1000 * k) for k, p in enumerate(picks)]
    sample = pd.concat(parts, ignore_index=True)
    a = _pf("m ~ did + x1 | id + year", sample).coef()["did"]
    b = _pf("y ~ did + m + x1 | id + year", sample).coef()["m"]
    np.testing.assert_allclose(res.indirect_draws[0], a * b, rtol=RTOL_SAME)


def test_bootstrap_reproducible_and_seeded(med_panel, med):
    again = mediation(med_panel, "y", "m", controls=["x1"], id_col="id", time_col="year", boot=200, seed=11)
    assert np.array_equal(again.indirect_draws, med.indirect_draws)
    assert again.boot_ci == med.boot_ci
    pd.testing.assert_frame_equal(again.to_frame(), med.to_frame())
    other = mediation(med_panel, "y", "m", controls=["x1"], id_col="id", time_col="year", boot=200, seed=12)
    assert not np.array_equal(other.indirect_draws, med.indirect_draws)
    assert other.boot_ci != med.boot_ci
    gen = mediation(med_panel, "y", "m", controls=["x1"], id_col="id", time_col="year", boot=200,
                    seed=np.random.default_rng(11))
    assert np.array_equal(gen.indirect_draws, med.indirect_draws)


def test_progress_and_no_bootstrap(med_panel):
    calls: list[int] = []
    mediation(med_panel, "y", "m", id_col="id", time_col="year", boot=7, seed=0, progress=calls.append)
    assert calls == list(range(1, 8))
    res = mediation(med_panel, "y", "m", id_col="id", time_col="year", boot=0)
    assert "indirect_bt" not in set(res.table["term"])
    assert np.isnan(res.boot_ci).all() and res.indirect_draws.shape == (0,)
    assert list(res.to_frame().columns) == ["term", "estimate", "se", "z", "p_value", "ci_low", "ci_high"]


def test_failed_draws_warn():
    df = simulate_mediation(9, n=30, share=0.0)
    df.loc[df["id"] == 0, "did"] = (df.loc[df["id"] == 0, "year"] >= 2014).astype(float)
    with pytest.warns(SpillmapWarning, match=r"of 40 bootstrap draws could not be estimated"):
        res = mediation(df, "y", "m", id_col="id", time_col="year", boot=40, seed=2)
    assert 0 < res.boot_failed < 40
    assert np.isnan(res.indirect_draws).sum() == res.boot_failed


def test_mediation_errors(med_panel):
    df = med_panel
    with pytest.raises(PanelShapeError, match=r"boot must be a non-negative integer.*-1"):
        mediation(df, "y", "m", id_col="id", time_col="year", boot=-1)
    with pytest.raises(PanelShapeError, match=r"'did' is 0 on every row"):
        mediation(df.assign(did=0.0), "y", "m", id_col="id", time_col="year", boot=0)
    with pytest.raises(CollinearityError, match=r"Step 3.*'m' is constant within units"):
        mediation(df.assign(m=df["id"] * 0.5), "y", "m", id_col="id", time_col="year", boot=0)
    with pytest.raises(MissingColumnError, match=r"no column 'med'"):
        mediation(df, "y", "med", id_col="id", time_col="year", boot=0)


# --------------------------------------------------------------------------- moderation


def _delta_me(fit, focal: str, inter: str, values) -> tuple[np.ndarray, np.ndarray]:
    names = list(fit.coef().index)
    i, j = names.index(focal), names.index(inter)
    est, se = [], []
    for v in values:
        g = np.zeros(len(names))
        g[i], g[j] = 1.0, v
        est.append(g @ fit.coef().to_numpy())
        se.append(np.sqrt(g @ fit._vcov @ g))
    return np.array(est), np.array(se)


@pytest.mark.parametrize("center", [True, False])
def test_moderation_matches_delta_method_and_truth(mod_panel, center):
    res = moderation(mod_panel, "y", "m", by="x", controls=["z"], id_col="id", time_col="year", center=center)
    fit = _pf("y ~ x + m + x:m + z | id + year", mod_panel)
    row = _row(res.coefficients, "m:x")
    np.testing.assert_allclose(row["estimate"], fit.coef()["x:m"], rtol=RTOL_SAME)
    np.testing.assert_allclose(row["se"], fit.se()["x:m"], rtol=RTOL_SAME)
    mean, sd = mod_panel["m"].mean(), mod_panel["m"].std()
    values = [mean - sd, mean, mean + sd]
    est, se = _delta_me(fit, "x", "x:m", values)
    np.testing.assert_allclose(res.marginal["value"], values, rtol=1e-12)
    np.testing.assert_allclose(res.marginal["estimate"], est, rtol=RTOL_SAME)
    np.testing.assert_allclose(res.marginal["se"], se, rtol=RTOL_SAME)
    truth = BX + BXM * np.array(values)
    assert (np.abs(res.marginal["estimate"] - truth) < 4 * res.marginal["se"]).all()
    assert abs(res.interaction - BXM) < 4 * row["se"]
    assert res.interaction_term == "m:x" and list(res.marginal["at"]) == ["mean-1sd", "mean", "mean+1sd"]
    if center:  # main effect of x is its marginal effect at the moderator's mean
        np.testing.assert_allclose(_row(res.coefficients, "x")["estimate"], est[1], rtol=RTOL_SAME)
    else:
        np.testing.assert_allclose(_row(res.coefficients, "m")["estimate"], fit.coef()["m"], rtol=RTOL_SAME)


def test_moderation_treatment(mod_panel):
    res = moderation(mod_panel, "y2", "m", treatment="did", controls=["z"], id_col="id", time_col="year")
    assert res.interaction_term == "did:m" and res.focal_is_treatment
    fit = _pf("y2 ~ did + m + did:m + z | id + year", mod_panel)
    np.testing.assert_allclose(res.interaction, fit.coef()["did:m"], rtol=RTOL_SAME)
    est, se = _delta_me(fit, "did", "did:m", res.marginal["value"])
    np.testing.assert_allclose(res.marginal["estimate"], est, rtol=RTOL_SAME)
    np.testing.assert_allclose(res.marginal["se"], se, rtol=RTOL_SAME)
    # treatment is not centred: the moderator's main effect is its effect among untreated rows
    raw = _pf("y2 ~ did + m + did:m + z | id + year",
              mod_panel.assign(m=mod_panel["m"] - mod_panel["m"].mean()))
    np.testing.assert_allclose(_row(res.coefficients, "m")["estimate"], raw.coef()["m"], rtol=RTOL_SAME)
    assert abs(res.interaction - 0.6) < 4 * _row(res.coefficients, "did:m")["se"]


def test_moderation_errors(mod_panel):
    kw = dict(id_col="id", time_col="year")
    with pytest.raises(PanelShapeError, match=r"exactly one focal variable.*by=None, treatment=None"):
        moderation(mod_panel, "y", "m", **kw)
    with pytest.raises(PanelShapeError, match=r"exactly one focal variable.*by='x', treatment='did'"):
        moderation(mod_panel, "y", "m", by="x", treatment="did", **kw)
    with pytest.raises(PanelShapeError, match=r"Moderator 'm' is constant"):
        moderation(mod_panel.assign(m=2.0), "y", "m", by="x", **kw)
    with pytest.raises(PanelShapeError, match=r"'x' must hold 0/1"):
        moderation(mod_panel, "y", "m", treatment="x", **kw)


# --------------------------------------------------------------------------- all


def test_inputs_unchanged_and_tables(two_groups, med_panel, mod_panel):
    frames = {k: v.copy(deep=True) for k, v in
              {"g": two_groups, "med": med_panel, "mod": mod_panel}.items()}
    het = heterogeneity(two_groups, "y", controls=["x1"], group_col="g", id_col="id", time_col="year")
    med = mediation(med_panel, "y", "m", id_col="id", time_col="year", boot=5, seed=0)
    mod = moderation(mod_panel, "y", "m", by="x", id_col="id", time_col="year")
    pd.testing.assert_frame_equal(two_groups, frames["g"])
    pd.testing.assert_frame_equal(med_panel, frames["med"])
    pd.testing.assert_frame_equal(mod_panel, frames["mod"])
    assert isinstance(mod, ModerationResult)
    for res, n_rows in ((het, 5), (med, 7), (mod, 6)):
        frame = res.to_frame()
        assert len(frame) == n_rows and frame["term"].is_unique
        md = res.to_markdown().splitlines()
        assert len(md) == n_rows + 2 and md[1].startswith("|---")
        assert "\\begin{tabular}" in res.to_latex() and res.to_latex().count("\\\\") == n_rows + 1
    with pytest.raises(AttributeError):
        het.reference = "b"  # frozen


def test_baseline_groups_split_on_pre_policy_means():
    from spillmap.models import baseline_groups

    frame = pd.DataFrame({"u": np.repeat(list("abcdef"), 3), "t": np.tile([2013, 2014, 2015], 6),
                          "x": [1, 1, 99, 2, 2, 99, 3, 3, -99, 4, 4, -99, 5, 5, 0, 6, 6, 0]})
    # means before 2015: a=1, b=2, … f=6 (the 2015 values, after the policy, are ignored)
    halves = baseline_groups(frame, "x", id_col="u", time_col="t", before=2015)
    assert halves.name == "x_median"
    assert halves.groupby(frame["u"]).first().to_dict() == {"a": "below", "b": "below", "c": "below",
                                                           "d": "above", "e": "above", "f": "above"}
    thirds = baseline_groups(frame, "x", id_col="u", time_col="t", split="tercile", before=2015)
    assert thirds.groupby(frame["u"]).first().tolist() == ["low", "low", "middle", "middle", "high", "high"]
    with pytest.raises(Exception, match="split must be one of"):
        baseline_groups(frame, "x", id_col="u", time_col="t", split="decile")
