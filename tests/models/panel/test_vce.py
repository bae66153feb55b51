"""Robust variances of spatial panel fits: vce="oim" | "robust" | "cluster" | "dk".

Cases:
- scores: for SAR, SDM, SEM, SDEM and SLX (two-way Lee–Yu and unit-effects
  direct fits) the per-observation scores sum to the total score, which is
  zero at the optimum (tolerances from the optimiser's resolution); away
  from the optimum the total equals a finite-difference gradient of the
  log-likelihood and the bread a finite-difference Hessian;
- the same with an island in W, with kNN weights (asymmetric, complex
  eigenvalues, G by LU), and with the weights' units permuted (same SEs);
- i.i.d. Gaussian errors, N = 400, T = 10: robust and cluster SEs within
  10 % of oim for SDM, SAR and SDEM; a plain outer product of
  per-observation scores (no cross-cluster pairs) understates se(ρ);
- identities: cluster with one observation per cluster = robust up to
  [NT/(NT−1)]/[NT/n_eff]; dk with 0 lags = cluster by period; the cluster
  meat equals a brute-force sum over clusters and pairs (time-invariant
  clusters and clusters that change over time);
- SLX: robust, cluster and dk equal pyfixest's HC0, CRV1 and DK on the same
  two-way design (up to the stated factors);
- results: with_vce returns a new result (the old one unchanged),
  summary()/to_dict() name the vce, with_vce("oim") restores the
  information-matrix covariance, effects() (delta and simulation) use the
  chosen covariance; fit_spatial_panel(vce=..., cluster=column) on shuffled
  rows with string ids equals with_vce on the ordered panel;
- errors: unknown vce, options that do not apply, spreg and bias-corrected
  fits, lags out of range, one cluster, a missing or empty cluster column,
  a DataFrame that is not the fitted panel, too many units.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from libpysal.graph import Graph

from spillmap.errors import EstimationError, MissingColumnError, PanelShapeError, WeightsAssumptionWarning
from spillmap.models import fit_spatial_panel, prepare_weights
from spillmap.models.panel import _vce
from spillmap.models.panel._vce import _meat_clusters, _meat_singletons, robust_vcov

from ..conftest import random_band_graph, ring_lattice, simulate_sdm

#: Identities that hold in exact arithmetic (only rounding separates the two sides).
RTOL_CLOSED = 1e-10
#: β and σ² solve their score equations in closed form given ρ: their score sums are rounding
#: relative to the sum of the absolute per-observation terms.
RTOL_SCORE_SUM = 1e-10
#: Brent's bounded search resolves λ (error models) only to about sqrt(machine eps) relative on
#: the flat top of the likelihood (see _ml._polish_lag; lag models are Newton-polished to
#: rounding): the score is then at most the curvature times that step, with a 10x margin.
SPATIAL_RESOLUTION = 10 * math.sqrt(np.finfo(float).eps)
#: Central differences with step 1e-5 (relative): truncation ~1e-10, rounding ~1e-16·|ℓ|/1e-5.
RTOL_NUMERIC = 1e-6
FD_STEP = 1e-5
#: "robust ≈ oim asymptotically": at N = 400, T = 10 the sampling noise of the meat is a few
#: per cent of each standard error; 10 % is the brief's margin.
SE_RATIO_TOL = 0.10
#: pyfixest (0.60) on a balanced two-way panel: its alternating projections are exact after one
#: sweep, so only rounding separates it from our demeaning.
RTOL_PYFIXEST = 1e-9
#: Monte Carlo: the SD of 4,000 normal draws is within 5 % of its target (its relative SE is 1.1 %).
RTOL_DRAWS = 0.05

FORMULA = "y ~ x1 + x2"
TRUTH = {"rho": 0.35, "beta": (1.0, -0.6), "theta": (0.8, 0.4)}
MODELS = ("sar", "sdm", "sem", "sdem", "slx")


def _data(graph, t, seed, model="sdm"):
    theta = TRUTH["theta"] if model in ("sdm", "sdem", "slx") else (0.0, 0.0)
    rho = 0.0 if model == "slx" else TRUTH["rho"]
    return simulate_sdm(graph, t, rho=rho, beta=TRUTH["beta"], theta=theta, seed=seed,
                        model="sem" if model in ("sem", "sdem") else "sdm")


def _fit(data, graph, model="sdm", **kw):
    return fit_spatial_panel(data, FORMULA, id_col="unit", time_col="year", weights=graph, model=model, **kw)


@pytest.fixture(scope="module")
def ring():
    return ring_lattice(60)


@pytest.fixture(scope="module")
def fits(ring):
    out = {}
    for model in MODELS:
        data = _data(ring, 6, seed=11, model=model)
        for fe, lee_yu in (("twoways", True), ("unit", False)):
            out[model, fe] = _fit(data, ring, model, fe=fe, lee_yu=lee_yu)
    return out


# ----------------------------------------------------------------------- scores

def _loglik(inputs: _vce.ScoreInputs, params: np.ndarray) -> float:
    """Full log-likelihood of the demeaned panel, written out independently (dense log-determinant)."""
    t, n, k = inputs.z.shape
    d = inputs.design
    beta, sigma2 = params[:k], params[-1]
    zb = (inputs.z.reshape(t * n, k) @ beta).reshape(t, n)
    jac = 0.0
    if inputs.model == "slx":
        e = inputs.y - zb
    else:
        rho = params[k]
        if inputs.model in ("sar", "sdm"):
            e = inputs.y - rho * inputs.wy - zb
        else:
            wu = inputs.wy - (inputs.wz.reshape(t * n, k) @ beta).reshape(t, n)
            e = inputs.y - zb - rho * wu
        _, logdet = np.linalg.slogdet(np.eye(n) - rho * inputs.w.matrix.toarray())
        jac = d.t_weight * (logdet - (d.time_removed * math.log(1.0 - rho) if d.time_removed else 0.0))
    return -0.5 * d.n_obs * math.log(2 * math.pi * sigma2) - float(np.sum(e * e)) / (2 * sigma2) + jac


def _check_zero_at_optimum(res):
    parts = res.score_inputs.parts
    total = parts.total()
    obs = parts.observation_scores()
    np.testing.assert_allclose(obs.sum(axis=(0, 1)), total, rtol=RTOL_CLOSED, atol=RTOL_CLOSED * np.abs(obs).sum())
    scale = np.abs(obs).sum(axis=(0, 1))
    for j, name in enumerate(res.params.index):
        if name in ("rho", "lambda"):
            bound = parts.bread[j, j] * SPATIAL_RESOLUTION * max(1.0, abs(res.rho))
        else:
            bound = RTOL_SCORE_SUM * scale[j]
        assert abs(total[j]) <= bound, (name, total[j], bound)


@pytest.mark.parametrize("fe", ["twoways", "unit"])
@pytest.mark.parametrize("model", MODELS)
def test_scores_sum_to_zero_at_the_optimum(fits, model, fe):
    _check_zero_at_optimum(fits[model, fe])


@pytest.mark.parametrize("fe", ["twoways", "unit"])
@pytest.mark.parametrize("model", MODELS)
def test_scores_and_bread_are_derivatives_of_the_loglik(fits, model, fe):
    inputs = fits[model, fe].score_inputs
    rng = np.random.default_rng(7)
    # away from the optimum, so the score is not zero
    moved = inputs.params * (1 + 0.05 * rng.standard_normal(len(inputs.params)))
    shifted = dataclasses.replace(inputs, params=moved)
    parts = _vce.score_parts(shifted)
    p = len(moved)
    steps = FD_STEP * np.maximum(1.0, np.abs(moved))
    grad = np.empty(p)
    hess = np.empty((p, p))
    for j in range(p):
        up, down = moved.copy(), moved.copy()
        up[j] += steps[j]
        down[j] -= steps[j]
        grad[j] = (_loglik(inputs, up) - _loglik(inputs, down)) / (2 * steps[j])
        s_up = _vce.score_parts(dataclasses.replace(inputs, params=up)).total()
        s_down = _vce.score_parts(dataclasses.replace(inputs, params=down)).total()
        hess[:, j] = (s_up - s_down) / (2 * steps[j])
    total = parts.total()
    np.testing.assert_allclose(total, grad, rtol=RTOL_NUMERIC, atol=RTOL_NUMERIC * np.abs(grad).max())
    np.testing.assert_allclose(-hess, parts.bread, rtol=RTOL_NUMERIC, atol=RTOL_NUMERIC * np.abs(parts.bread).max())


def test_scores_with_an_island_and_knn_weights():
    ring = ring_lattice(40)
    matrix = ring.sparse.tolil()
    matrix[0, :] = 0
    matrix[:, 0] = 0
    island = Graph.from_sparse(sp.csr_array(matrix), ids=ring.unique_ids)
    data = _data(ring, 5, seed=3)
    with pytest.warns(WeightsAssumptionWarning):  # Lee–Yu with time effects and a zero row
        res = _fit(data, island, fe="twoways")
    _check_zero_at_optimum(res)
    assert np.isfinite(res.with_vce("cluster").se()).all()
    knn = random_band_graph(80, seed=2, knn=4)
    assert np.iscomplexobj(prepare_weights(knn).eigenvalues)
    res = _fit(_data(knn, 5, seed=4), knn)
    _check_zero_at_optimum(res)
    assert np.isfinite(res.with_vce("robust").se()).all()


def test_unit_order_does_not_change_robust_variances(ring):
    data = _data(ring, 6, seed=21)
    order = np.random.default_rng(1).permutation(ring.n)
    ids = np.asarray(ring.unique_ids)[order]
    permuted = Graph.from_sparse(ring.sparse[order][:, order], ids=ids)
    for vce in ("robust", "cluster", "dk"):
        a = _fit(data, ring, vce=vce).se()
        b = _fit(data, permuted, vce=vce).se()
        np.testing.assert_allclose(a, b[a.index], rtol=1e-8)


# ------------------------------------------------------- i.i.d.: robust ≈ oim

@pytest.fixture(scope="module")
def large_ring():
    return ring_lattice(400)


@pytest.mark.parametrize("model", ["sdm", "sar", "sdem"])
def test_robust_and_cluster_match_oim_with_iid_errors(large_ring, model):
    res = _fit(_data(large_ring, 10, seed=5, model=model), large_ring, model)
    oim = res.se()
    for vce in ("robust", "cluster"):
        ratio = res.with_vce(vce).se() / oim
        assert (abs(ratio - 1) < SE_RATIO_TOL).all(), (vce, ratio.round(3).to_dict())


def test_plain_outer_product_understates_the_spatial_parameter(large_ring):
    """Without the cross-observation pairs of e'Ge, se(ρ) comes out well below oim (0.73 measured)."""
    res = _fit(_data(large_ring, 10, seed=5), large_ring)
    parts = res.score_inputs.parts
    t, n, p = parts.shape
    obs = parts.observation_scores().reshape(t * n, p)
    meat = obs.T @ obs * (t * n / parts.n_eff)
    inv = np.linalg.inv(parts.bread)
    plain = np.sqrt(np.diag(inv @ meat @ inv))
    ratio = pd.Series(plain, index=res.params.index) / res.se()
    assert ratio["rho"] < 1 - 2 * SE_RATIO_TOL
    assert abs(res.with_vce("robust").se()["rho"] / res.se()["rho"] - 1) < SE_RATIO_TOL


# ------------------------------------------------------------------- identities

@pytest.fixture(scope="module")
def small_fit(ring):
    data = _data(ring, 6, seed=31)
    data["cell"] = np.arange(len(data))
    data["region"] = data["unit"].str[1:].astype(int) // 10
    data["zone"] = (data["unit"].str[1:].astype(int) + data["year"]) % 7  # changes over time
    return data, _fit(data, ring)


def test_cluster_with_singletons_is_robust_up_to_the_factors(small_fit):
    data, res = small_fit
    t, n = res.n_periods, res.n_units
    n_eff = (n - 1) * (t - 1)
    singles = res.with_vce("cluster", cluster="cell", data=data)
    assert singles.n_clusters == n * t
    expected = res.with_vce("robust").vcov * (n * t / (n * t - 1)) / (n * t / n_eff)
    np.testing.assert_allclose(singles.vcov, expected, rtol=RTOL_CLOSED)
    # the general cluster code (pairs accumulated per period) agrees with the singleton shortcut
    parts = res.score_inputs.parts
    codes = np.arange(n * t).reshape(t, n)
    np.testing.assert_allclose(_meat_clusters(parts, codes, n * t), _meat_singletons(parts), rtol=RTOL_CLOSED)


def test_dk_with_no_lags_is_clustering_by_period(small_fit):
    _, res = small_fit
    dk = res.with_vce("dk", dk_lags=0, fixed_b=False)
    by_period = res.with_vce("cluster", cluster="year")
    assert by_period.n_clusters == res.n_periods and dk.dk_lags == 0 and dk.fixed_b is False
    np.testing.assert_allclose(dk.vcov, by_period.vcov, rtol=RTOL_CLOSED)


def test_dk_default_carries_the_fixed_b_factor(small_fit):
    """Default dk = plain Driscoll–Kraay × (c/1.96)², c the fixed-b critical value for (T, L)."""
    _, res = small_fit
    plain, fixed = res.with_vce("dk", fixed_b=False), res.with_vce("dk")
    assert fixed.fixed_b is True and "fixed-b" in fixed.summary().as_text()
    factor = _vce.fixed_b_factor(res.n_periods, fixed.dk_lags)
    np.testing.assert_allclose(fixed.vcov, plain.vcov * factor, rtol=RTOL_CLOSED)
    with pytest.raises(EstimationError, match="fixed_b"):
        res.with_vce("cluster", fixed_b=False)


@pytest.mark.parametrize("t", [8, 40])
def test_fixed_b_factor_without_lags_is_students_t(t):
    """L = 0: |Σe|/√(T/(T−1)·Σ(e−ē)²) is |t| with T − 1 df exactly; the simulated 97.5 % quantile agrees to
    0.02 (FIXED_B_DRAWS = 100,000: its Monte Carlo standard error is below 0.007 for T ≥ 8)."""
    from scipy import stats

    c = 1.959963984540054 * np.sqrt(_vce.fixed_b_factor(t, 0))
    assert c == pytest.approx(stats.t.ppf(0.975, t - 1), abs=0.02)
    # lags widen it, long panels bring it back towards the normal
    assert _vce.fixed_b_factor(40, 3) > _vce.fixed_b_factor(40, 0) > _vce.fixed_b_factor(400, 0) > 1.0


def _brute_force_meat(parts, codes):
    """Σ_c S_c S_c' + e_ρe_ρ' Σ_{c≠d} 2R_cd², written as loops over observations and pairs."""
    t, n, p = parts.shape
    e, pairs = parts.resid, parts.pairs
    g = int(codes.max()) + 1
    s = np.zeros((g, p))
    r = np.zeros((g, g))
    for tt in range(t):
        for i in range(n):
            s[codes[tt, i]] += parts.own[tt, i]
            for j in range(n):
                if i != j:
                    r[codes[tt, i], codes[tt, j]] += e[tt, i] * pairs[i, j] * e[tt, j]
    s[:, parts.spatial] += np.diag(r)
    meat = s.T @ s
    meat[parts.spatial, parts.spatial] += 2 * sum(r[c, d] ** 2 for c in range(g) for d in range(g) if c != d)
    return meat


@pytest.mark.parametrize("column", ["unit", "region", "zone"])
def test_cluster_meat_equals_brute_force(column):
    ring = ring_lattice(18, 2)
    data = _data(ring, 4, seed=8)
    data["region"] = data["unit"].str[1:].astype(int) // 4
    data["zone"] = (data["unit"].str[1:].astype(int) + data["year"]) % 5
    res = _fit(data, ring)
    codes, _, n_clusters = res._clusters(column, data)
    parts = res.score_inputs.parts
    np.testing.assert_allclose(
        _meat_clusters(parts, codes, n_clusters), _brute_force_meat(parts, codes), rtol=RTOL_CLOSED, atol=1e-12
    )


# -------------------------------------------------------------- SLX vs pyfixest

@pytest.mark.filterwarnings("ignore:The inplace keyword")  # pyfixest on pandas 3 (not ours)
def test_slx_matches_pyfixest(ring):
    pf = pytest.importorskip("pyfixest")
    data = _data(ring, 9, seed=3, model="slx")
    res = _fit(data, ring, "slx")
    w = ring.transform("r").sparse
    for col in ("x1", "x2"):
        wide = data.pivot(index="year", columns="unit", values=col)[list(ring.unique_ids)]
        lagged = pd.DataFrame((w @ wide.to_numpy().T).T, index=wide.index, columns=wide.columns)
        data = data.merge(lagged.stack().rename(f"W{col}").reset_index(), on=["year", "unit"])
    data["tid"] = data["year"] - data["year"].min()
    data["pid"] = data["unit"].str[1:].astype(int)
    t, n = res.n_periods, res.n_units
    names = ["x1", "x2", "W·x1", "W·x2"]
    fml = "y ~ x1 + x2 + Wx1 + Wx2 | unit + year"
    cases = [  # (our vce and options, pyfixest vcov and options, our factor over pyfixest's)
        ("robust", {}, "hetero", {}, n * t / ((n - 1) * (t - 1))),  # HC0 × NT/n_eff
        ("cluster", {}, {"CRV1": "unit"}, {}, 1.0),  # CRV1 with G/(G−1) only
        ("dk", {"dk_lags": 2}, "DK", {"vcov_kwargs": {"time_id": "tid", "panel_id": "pid", "lag": 2}}, t / (t - 1)),
    ]
    for vce, opts, pf_vcov, pf_opts, factor in cases:
        fit = pf.feols(fml, data=data, vcov=pf_vcov, ssc=pf.ssc(k_adj=False, G_adj=vce == "cluster"), **pf_opts)
        np.testing.assert_allclose(fit.coef().to_numpy(), res.params[names].to_numpy(), rtol=RTOL_PYFIXEST)
        ours = res.with_vce(vce, **opts, **({"fixed_b": False} if vce == "dk" else {})).vcov.loc[names, names].to_numpy()
        np.testing.assert_allclose(ours, np.asarray(fit._vcov) * factor, rtol=RTOL_PYFIXEST)


# ---------------------------------------------------------------------- results

def test_with_vce_returns_a_labelled_new_result(small_fit):
    data, res = small_fit
    clustered = res.with_vce("cluster", cluster="region", data=data)
    assert res.vce == "oim" and clustered.vce == "cluster" and clustered is not res
    assert clustered.cluster == "region" and clustered.n_clusters == 6
    assert not np.allclose(clustered.vcov, res.vcov)
    np.testing.assert_array_equal(clustered.params, res.params)
    assert "cluster region, G=6" in str(clustered.summary())
    assert "oim" in str(res.summary())
    payload = clustered.to_dict()
    assert (payload["vce"], payload["vce_cluster"], payload["n_clusters"], payload["dk_lags"]) == ("cluster", "region", 6, None)
    assert clustered.se()["rho"] == pytest.approx(math.sqrt(clustered.vcov.loc["rho", "rho"]))
    back = clustered.with_vce("oim")
    np.testing.assert_array_equal(back.vcov, res.vcov)
    assert back.vce == "oim" and back.cluster is None
    dk = res.with_vce("dk")
    assert dk.dk_lags == _vce.default_dk_lags(6) == 2  # floor(4·0.06^(2/9)) = floor(2.14)
    assert res.with_vce("cluster").cluster == "unit" and res.with_vce("cluster").n_clusters == res.n_units


def test_effects_use_the_chosen_covariance(ring):
    res = _fit(_data(ring, 9, seed=3, model="slx"), ring, "slx").with_vce("cluster")
    # SLX with a row-standardised W: indirect effect of x1 = θ1, so its SE is se(W·x1) of this covariance
    delta = res.effects(method="delta")
    assert delta.se("x1", "indirect") == pytest.approx(res.se()["W·x1"], rel=RTOL_NUMERIC)
    draws = res.effects(4000, seed=2)
    assert draws.se("x1", "indirect") == pytest.approx(res.se()["W·x1"], rel=RTOL_DRAWS)
    sdm = _fit(_data(ring, 6, seed=31), ring)
    oim, robust = sdm.effects(method="delta"), sdm.with_vce("dk").effects(method="delta")
    assert oim.se("x1", "indirect") != pytest.approx(robust.se("x1", "indirect"), rel=1e-3)


def test_fit_with_cluster_column_on_shuffled_rows(small_fit, ring):
    data, res = small_fit
    shuffled = data.sample(frac=1.0, random_state=4).reset_index(drop=True)
    direct = fit_spatial_panel(shuffled, FORMULA, id_col="unit", time_col="year", weights=ring, model="sdm",
                               vce="cluster", cluster="region")
    assert direct.vce == "cluster" and direct.cluster == "region"
    np.testing.assert_allclose(direct.vcov, res.with_vce("cluster", cluster="region", data=data).vcov, rtol=1e-9)
    np.testing.assert_allclose(
        _fit(shuffled, ring, vce="dk", dk_lags=1).vcov, res.with_vce("dk", dk_lags=1).vcov, rtol=1e-9
    )


# ----------------------------------------------------------------------- errors

def test_bad_options_raise(small_fit, ring):
    data, res = small_fit
    with pytest.raises(EstimationError, match="vce must be one of"):
        res.with_vce("hc1")
    with pytest.raises(EstimationError, match="vce must be one of"):
        _fit(data, ring, vce="HC0")
    with pytest.raises(EstimationError, match="cluster= applies to vce='cluster'"):
        _fit(data, ring, vce="robust", cluster="region")
    with pytest.raises(EstimationError, match="dk_lags"):
        _fit(data, ring, vce="cluster", dk_lags=2)
    with pytest.raises(EstimationError, match="dk_lags"):
        _fit(data, ring, vce="dk", dk_lags=-1)
    with pytest.raises(EstimationError, match="between 0 and T − 1 = 5"):
        res.with_vce("dk", dk_lags=6)
    with pytest.raises(MissingColumnError, match="'province'"):
        _fit(data, ring, vce="cluster", cluster="province")
    with pytest.raises(EstimationError, match="pass the fitted panel as data="):
        res.with_vce("cluster", cluster="region")
    one = data.assign(region=1)
    with pytest.raises(EstimationError, match="at least two clusters"):
        res.with_vce("cluster", cluster="region", data=one)
    empty = data.assign(region=data["region"].where(data.index != 3))
    with pytest.raises(PanelShapeError, match="empty on rows 4"):
        res.with_vce("cluster", cluster="region", data=empty)
    with pytest.raises(PanelShapeError, match="not the fitted panel"):
        res.with_vce("cluster", cluster="region", data=data.iloc[:-5])


def test_fits_without_scores_refuse_robust_variances(small_fit, ring):
    data, _ = small_fit
    with pytest.raises(EstimationError, match="engine='native' without bias_correction"):
        _fit(data, ring, fe="twoways", bias_correction=True, vce="robust")
    corrected = _fit(data, ring, fe="twoways", bias_correction=True)
    with pytest.raises(EstimationError, match="not a root of the score"):
        corrected.with_vce("cluster")
    pytest.importorskip("spreg")
    spreg_fit = _fit(data, ring, fe="unit", lee_yu=False, engine="spreg")
    with pytest.raises(EstimationError, match="spreg reports its own variance"):
        spreg_fit.with_vce("dk")


def test_too_many_units_raise(small_fit, monkeypatch):
    _, res = small_fit
    monkeypatch.setattr(_vce, "DENSE_MAX_N", 10)
    fresh = dataclasses.replace(res, score_inputs=dataclasses.replace(res.score_inputs))
    with pytest.raises(EstimationError, match="at most 10 units; this panel has 60"):
        fresh.with_vce("robust")
    with pytest.raises(EstimationError, match="vce='oim'"):
        robust_vcov(_vce.score_parts(res.score_inputs), "robust")
