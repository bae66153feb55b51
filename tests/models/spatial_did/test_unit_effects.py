"""Per-unit effects from the spatial multiplier (unit_effects).

Cases: point values equal the dense S = (I − ρW)⁻¹(βI + θW) of
PreparedWeights.multiplier (own = diagonal, received = off-diagonal row sums
against D, emitted = off-diagonal column sums) for a W similar to a symmetric
matrix (inverse-distance band, "eigh" route), a kNN W (ill-conditioned
eigenvectors, "lu" route) and a column-scaled W with well-conditioned complex
eigenvectors ("eig" route); the means over units equal result.effects()
direct and indirect, and per draw equal the effects draws of the same seed;
every route gives the same draws; draws are reproducible with a seed;
intervals contain the point values; SAR (θ = 0) and SDEM (ρ = 0 in S) fits;
an island (own = β, nothing received or emitted, sign probability NaN);
string ids; treated as an array, a shuffled Series and a partial mapping;
errors for a variable not in the model, a misaligned treated vector, unknown
ids and non-binary values; to_frame column names fit a Shapefile;
summary() renders; full_multiplier() is the dense S labelled by ids.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from libpysal.graph import Graph

from spillmap.errors import EstimationError, MissingColumnError, MissingIdError, PanelShapeError
from spillmap.models import UnitEffectsResult, assign_treatment, fit_sdm_did, fit_spatial_panel, unit_effects

from ..conftest import random_band_graph, ring_lattice, simulate_sdm

#: Closed forms against one dense solve: only rounding differs.
RTOL_CLOSED = 1e-10
#: Draws through the "lu" route interpolate in ρ to RHO_INTERP_RTOL = 1e-10 of max |h|;
#: per-unit values carry a few times that, relative to their scale.
RTOL_INTERP = 1e-8
KW = dict(id_col="unit", time_col="year")
DRAWS = 200


def _did_panel(graph: Graph, *, rho: float, beta: float, theta: float, seed: int, t: int = 8) -> pd.DataFrame:
    """SDM-DID panel y = (I − ρW)⁻¹(β·DID + θ·W·DID + 0.5·x1 + μ_i + trend + ε), staggered adoption."""
    rng = np.random.default_rng(seed)
    w = graph.transform("r").sparse.toarray()
    n = w.shape[0]
    ids = list(graph.unique_ids)
    first = rng.choice([2013.0, 2015.0, np.nan], n)
    mu = rng.normal(size=n)
    rows = []
    for s, yr in enumerate(range(2010, 2010 + t)):
        d = (yr >= first).astype(float)
        x = rng.normal(size=n)
        y = np.linalg.solve(np.eye(n) - rho * w, beta * d + theta * (w @ d) + 0.5 * x + mu + 0.2 * s + rng.normal(size=n))
        rows += [(ids[i], yr, y[i], x[i]) for i in range(n)]
    frame = pd.DataFrame(rows, columns=["unit", "year", "y", "x1"])
    return assign_treatment(frame, first_year=pd.Series(first, index=ids).dropna(), **KW).data


def _dense_parts(res, variable: str, treated: np.ndarray):
    """own, received, emitted from the dense multiplier of PreparedWeights."""
    beta = float(res.params[variable])
    theta = float(res.params.get(f"W·{variable}", 0.0))
    rho = res.rho if res.model in ("sar", "sdm") else 0.0
    s = res.weights.multiplier(rho, beta, theta)
    off = s - np.diag(np.diag(s))
    return np.diag(s), off @ treated, off.sum(axis=0)


def _assert_matches_dense(ue: UnitEffectsResult, res, treated: np.ndarray) -> None:
    own, received, emitted = _dense_parts(res, ue.variable, treated)
    for got, want in ((ue.own, own), (ue.received, received), (ue.emitted, emitted)):
        np.testing.assert_allclose(got, want, rtol=RTOL_CLOSED, atol=RTOL_CLOSED * np.abs(want).max())


def _assert_averages(ue: UnitEffectsResult, res, rtol: float) -> None:
    """Means over units = effects() estimates, and per draw = effects() draws (same seed)."""
    eff = res.effects(draws=ue.draws, seed=ue.seed)
    var = ue.variable
    assert ue.own.mean() == pytest.approx(eff.estimate(var, "direct"), rel=RTOL_CLOSED)
    assert ue.emitted.mean() == pytest.approx(eff.estimate(var, "indirect"), rel=RTOL_CLOSED)
    if ue.treated.all():
        assert ue.received.mean() == pytest.approx(eff.estimate(var, "indirect"), rel=RTOL_CLOSED)
    cols = list(eff.table.index)
    direct = eff.samples[:, cols.index((var, "direct"))]
    indirect = eff.samples[:, cols.index((var, "indirect"))]
    np.testing.assert_allclose(ue.samples[0].mean(axis=1), direct, rtol=rtol, atol=rtol * np.abs(direct).max())
    np.testing.assert_allclose(ue.samples[2].mean(axis=1), indirect, rtol=rtol, atol=rtol * np.abs(indirect).max())


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def band_fit():
    """SDM-DID on an inverse-distance band (symmetric, so W is similar to a symmetric matrix)."""
    graph = random_band_graph(80, seed=31)
    data = _did_panel(graph, rho=0.35, beta=1.0, theta=0.8, seed=32)
    return fit_sdm_did(data, "y", weights=graph, controls=["x1"], draws=DRAWS, seed=0, **KW), data


@pytest.fixture(scope="module")
def knn_fit():
    """SDM-DID on a 5-nearest-neighbour W (asymmetric, ill-conditioned eigenvectors)."""
    graph = random_band_graph(60, seed=33, knn=5)
    data = _did_panel(graph, rho=0.4, beta=1.0, theta=0.6, seed=34)
    return fit_sdm_did(data, "y", weights=graph, controls=["x1"], draws=DRAWS, seed=0, **KW), data


@pytest.fixture(scope="module")
def scaled_fit():
    """SDM on a band W with columns rescaled: asymmetric, but with well-conditioned eigenvectors."""
    graph = random_band_graph(70, seed=35)
    scale = np.random.default_rng(36).uniform(0.5, 2.0, 70)
    graph = Graph.from_sparse(sp.csr_array(graph.sparse.toarray() * scale[None, :]), ids=list(graph.unique_ids))
    data = simulate_sdm(graph, 6, rho=0.4, beta=(1.0, -0.5), theta=(0.6, 0.2), seed=37)
    return fit_spatial_panel(data, "y ~ x1 + x2", weights=graph, model="sdm", **KW)


# --------------------------------------------------------------- point values


def test_symmetric_similar_matches_dense(band_fit):
    res = band_fit[0].fit
    assert res.weights.symmetric_base is not None
    ue = unit_effects(res, draws=DRAWS, seed=1)
    assert ue.method == "eigh" and ue.variable == "did"
    _assert_matches_dense(ue, res, np.ones(res.weights.n))
    _assert_averages(ue, res, RTOL_CLOSED)


def test_knn_matches_dense(knn_fit):
    res = knn_fit[0].fit
    assert res.weights.symmetric_base is None
    ue = unit_effects(res, draws=DRAWS, seed=1)
    assert ue.method == "lu"
    _assert_matches_dense(ue, res, np.ones(res.weights.n))
    _assert_averages(ue, res, RTOL_INTERP)


def test_complex_eigen_route(scaled_fit):
    res = scaled_fit
    assert res.weights.symmetric_base is None
    ue = unit_effects(res, "x1", draws=DRAWS, seed=2)
    assert ue.method == "eig"
    _assert_matches_dense(ue, res, np.ones(res.weights.n))
    _assert_averages(ue, res, RTOL_CLOSED)


@pytest.mark.parametrize("which", ["band", "knn"])
def test_treated_subset_matches_dense(which, band_fit, knn_fit):
    res, data = (band_fit if which == "band" else knn_fit)
    res = res.fit
    year = data[data["year"] == 2014].set_index("unit")["did"]
    ue = unit_effects(res, treated=year, draws=DRAWS, seed=1)
    d = year.reindex(res.ids).to_numpy(dtype=float)
    assert 0 < d.sum() < len(d)
    np.testing.assert_array_equal(ue.treated, d)
    _assert_matches_dense(ue, res, d)
    assert ue.emitted.mean() == pytest.approx(res.effects(draws=DRAWS, seed=0).estimate("did", "indirect"), rel=RTOL_CLOSED)


def test_routes_agree(band_fit, knn_fit):
    for fit, routes in ((band_fit[0].fit, ("eig", "lu")), (knn_fit[0].fit, ("lu",))):
        base = unit_effects(fit, draws=DRAWS, seed=3)
        for route in routes:
            other = unit_effects(fit, draws=DRAWS, seed=3, method=route)
            scale = np.abs(base.samples).max()
            np.testing.assert_allclose(other.samples, base.samples, rtol=0, atol=RTOL_INTERP * scale)


def test_eig_refuses_ill_conditioned(knn_fit):
    with pytest.raises(EstimationError, match="ill-conditioned"):
        unit_effects(knn_fit[0].fit, draws=DRAWS, seed=0, method="eig")


# ------------------------------------------------------------------ models


def test_sar_has_no_theta():
    graph = random_band_graph(60, seed=38)
    data = simulate_sdm(graph, 6, rho=0.4, beta=(1.0, -0.5), theta=(0.0, 0.0), seed=39)
    res = fit_spatial_panel(data, "y ~ x1 + x2", weights=graph, model="sar", **KW)
    assert "W·x1" not in res.params.index
    ue = unit_effects(res, "x1", draws=DRAWS, seed=4)
    _assert_matches_dense(ue, res, np.ones(res.weights.n))
    _assert_averages(ue, res, RTOL_CLOSED)
    s = res.weights.multiplier(res.rho, float(res.params["x1"]), 0.0)
    np.testing.assert_allclose(ue.full_multiplier().to_numpy(), s, rtol=RTOL_CLOSED, atol=1e-14)


def test_sdem_uses_no_rho():
    graph = random_band_graph(60, seed=40)
    data = simulate_sdm(graph, 6, rho=0.3, beta=(1.0, -0.5), theta=(0.6, 0.2), seed=41, model="sdem")
    res = fit_spatial_panel(data, "y ~ x1 + x2", weights=graph, model="sdem", **KW)
    ue = unit_effects(res, "x1", draws=DRAWS, seed=5)
    assert ue.method == "linear"
    w = res.weights.matrix.toarray()
    theta = float(res.params["W·x1"])
    np.testing.assert_allclose(ue.own, np.full(60, res.params["x1"]), rtol=RTOL_CLOSED)
    np.testing.assert_allclose(ue.emitted, theta * w.sum(axis=0), rtol=RTOL_CLOSED)
    _assert_averages(ue, res, RTOL_CLOSED)


def test_island_receives_and_emits_nothing():
    base = ring_lattice(30, k=2).sparse.toarray()
    base[[5, 17], :] = 0.0
    base[:, [5, 17]] = 0.0
    graph = Graph.from_sparse(sp.csr_array(base), ids=[f"u{i:03d}" for i in range(30)])
    data = simulate_sdm(graph, 8, rho=0.4, beta=(1.0, -0.5), theta=(0.6, 0.2), seed=5)
    res = fit_spatial_panel(data, "y ~ x1 + x2", weights=graph, model="sdm", fe="unit", **KW)
    ue = unit_effects(res, "x1", draws=DRAWS, seed=6)
    assert ue.method == "eigh"
    _assert_matches_dense(ue, res, np.ones(30))
    _assert_averages(ue, res, RTOL_CLOSED)
    frame = ue.to_frame("unit").set_index("unit")
    assert frame.loc["u005", "own"] == pytest.approx(res.params["x1"], rel=RTOL_CLOSED)
    assert frame.loc["u005", ["recv", "emit", "recv_se", "emit_se"]].eq(0.0).all()
    assert frame.loc["u005", ["recv_psign", "emit_psign"]].isna().all()


# --------------------------------------------------------------- inference


def test_draws_reproducible(band_fit):
    res = band_fit[0].fit
    a = unit_effects(res, draws=DRAWS, seed=7)
    b = unit_effects(res, draws=DRAWS, seed=7)
    c = unit_effects(res, draws=DRAWS, seed=np.random.default_rng(7))
    d = unit_effects(res, draws=DRAWS, seed=8)
    np.testing.assert_array_equal(a.samples, b.samples)
    np.testing.assert_array_equal(a.samples, c.samples)
    assert not np.array_equal(a.samples, d.samples)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    assert a.samples.shape == (3, DRAWS, res.weights.n) and a.seed == 7 and c.seed is None


@pytest.mark.parametrize("level", [0.9, 0.95])
def test_intervals_contain_point(band_fit, knn_fit, level):
    for fit in (band_fit[0].fit, knn_fit[0].fit):
        frame = unit_effects(fit, draws=400, seed=9, level=level).to_frame()
        for p in ("own", "recv", "emit"):
            assert (frame[f"{p}_lo"] <= frame[p]).all() and (frame[p] <= frame[f"{p}_hi"]).all(), p
            assert (frame[f"{p}_se"] > 0).all()
            psign = frame[f"{p}_psign"]
            assert ((psign >= 0.5) & (psign <= 1.0)).all(), p


def test_wider_level_gives_wider_intervals(band_fit):
    res = band_fit[0].fit
    narrow = unit_effects(res, draws=DRAWS, seed=10, level=0.8).to_frame()
    wide = unit_effects(res, draws=DRAWS, seed=10, level=0.99).to_frame()
    assert (wide["own_hi"] - wide["own_lo"] > narrow["own_hi"] - narrow["own_lo"]).all()


# ------------------------------------------------------------------ outputs


def test_frame_summary_and_multiplier(band_fit):
    res = band_fit[0].fit
    ue = unit_effects(res, draws=DRAWS, seed=11)
    frame = ue.to_frame("unit")
    assert list(frame["unit"]) == list(res.ids)
    assert all(len(c) <= 10 for c in frame.columns)
    assert {"own", "own_se", "own_lo", "own_hi", "own_psign", "recv", "emit_hi", "treated"} <= set(frame.columns)
    table = ue.summary().table
    assert table.loc["own", "mean"] == pytest.approx(ue.own.mean())
    assert table.loc["emitted", "mean"] == pytest.approx(ue.emitted.mean())
    text = str(ue.summary())
    assert "own" in text and "did" in text and "<table>" in ue.summary()._repr_html_()
    s = ue.full_multiplier()
    assert list(s.index) == list(res.ids) and list(s.columns) == list(res.ids)
    np.testing.assert_allclose(np.diag(s.to_numpy()), ue.own, rtol=RTOL_CLOSED)
    np.testing.assert_allclose(ue.point("emitted"), ue.emitted)


# ------------------------------------------------------------------- errors


def test_treated_forms_agree(band_fit):
    res = band_fit[0].fit
    rng = np.random.default_rng(12)
    d = (rng.uniform(size=res.weights.n) < 0.3).astype(int)
    as_array = unit_effects(res, treated=d, draws=DRAWS, seed=0)
    shuffled = pd.Series(d, index=res.ids).sample(frac=1.0, random_state=1)
    as_series = unit_effects(res, treated=shuffled, draws=DRAWS, seed=0)
    as_mapping = unit_effects(res, treated={i: 1 for i, v in zip(res.ids, d) if v}, draws=DRAWS, seed=0)
    as_bool = unit_effects(res, treated=d.astype(bool), draws=DRAWS, seed=0)
    for other in (as_series, as_mapping, as_bool):
        np.testing.assert_array_equal(other.received, as_array.received)


def test_variable_not_in_model(band_fit):
    res = band_fit[0].fit
    with pytest.raises(MissingColumnError, match="'x9' is not a regressor.*'did', 'x1'"):
        unit_effects(res, "x9", draws=DRAWS)
    with pytest.raises(KeyError, match="Name the regressor \\('did'\\)"):
        unit_effects(res, "W·did", draws=DRAWS)


def test_misaligned_treated(band_fit):
    res = band_fit[0].fit
    n = res.weights.n
    with pytest.raises(PanelShapeError, match=f"shape \\({n - 1},\\) but the fit has {n} units \\('c0000'"):
        unit_effects(res, treated=np.ones(n - 1), draws=DRAWS)
    with pytest.raises(ValueError, match="result.ids order"):
        unit_effects(res, treated=np.ones((n, 2)), draws=DRAWS)
    with pytest.raises(MissingIdError, match="'nowhere'.*80 ids are 'c0000'"):
        unit_effects(res, treated={"nowhere": 1, "c0001": 1}, draws=DRAWS)
    values = np.zeros(n)
    values[3] = 2.0
    with pytest.raises(PanelShapeError, match="0 or 1 per unit; got 2.0 for unit\\(s\\) 'c0003'"):
        unit_effects(res, treated=values, draws=DRAWS)


def test_bad_arguments(band_fit):
    res = band_fit[0].fit
    for kwargs, text in (({"draws": 1}, "draws"), ({"level": 1.0}, "level"), ({"method": "qr"}, "method")):
        with pytest.raises(EstimationError, match=text):
            unit_effects(res, **kwargs)
