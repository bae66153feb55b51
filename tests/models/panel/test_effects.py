"""Effects: exact estimates, inference, multipliers.

Cases: direct/indirect/total from eigenvalues equal the averages of dense
multiplier matrices S = (I − ρW)⁻¹(βI + θW) for row-standardised W, for W
with islands (zero rows and columns), for W left unstandardised, and for an
asymmetric W whose island still receives links; SEM, SDEM and SLX effects
are β and θ with their own standard errors; simulation and delta-method
standard errors agree; the same seed gives identical draws; multipliers()
returns the N×N matrix labelled by ids.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from libpysal.graph import Graph

from spillmap.errors import WeightsAssumptionWarning
from spillmap.models import fit_spatial_panel, prepare_weights

from ..conftest import random_band_graph, ring_lattice, simulate_sdm

RTOL_CLOSED = 1e-9


def _dense_effects(res):
    w = res.weights.matrix.toarray()
    n = w.shape[0]
    out = {}
    for var in res.x_names:
        beta = res.params[var]
        theta = res.params.get(f"W·{var}", 0.0)
        s = np.linalg.solve(np.eye(n) - res.rho * w, beta * np.eye(n) + theta * w)
        direct, total = np.trace(s) / n, s.sum() / n
        out[var] = (direct, total - direct, total)
    return out


def _check(res):
    eff = res.effects(draws=50, seed=0)
    for var, values in _dense_effects(res).items():
        for kind, value in zip(("direct", "indirect", "total"), values):
            assert eff.estimate(var, kind) == pytest.approx(value, rel=RTOL_CLOSED, abs=1e-12), (var, kind)


def _graph_with_islands() -> Graph:
    base = ring_lattice(30, k=2).sparse.toarray()
    base[[5, 17], :] = 0.0
    base[:, [5, 17]] = 0.0
    return Graph.from_sparse(sp.csr_array(base), ids=[f"u{i:03d}" for i in range(30)])


def _fit(graph, **kwargs):
    data = simulate_sdm(graph, 8, rho=0.4, beta=(1.0, -0.5), theta=(0.6, 0.2), seed=5)
    return fit_spatial_panel(data, "y ~ x1 + x2", id_col="unit", time_col="year", weights=graph, **kwargs)


def test_row_standardised(cigar, cigar_graph):
    _check(fit_spatial_panel(cigar, "logc ~ logp + logy", id_col="state", time_col="year", weights=cigar_graph, model="sdm"))


def test_islands_closed_form():
    res = _fit(_graph_with_islands(), model="sdm", fe="unit")
    assert not res.weights.row_stochastic
    _check(res)


def test_unstandardised_weights_general_path():
    graph = ring_lattice(30, k=2)
    scaled = Graph.from_sparse(graph.sparse * 0.2, ids=list(graph.unique_ids))
    res = _fit(scaled, model="sdm", fe="unit", row_standardize=False)
    _check(res)


def test_asymmetric_island_receiving_links():
    base = ring_lattice(30, k=2).sparse.toarray()
    base[5, :] = 0.0  # unit 5 has no neighbours but is others' neighbour
    graph = Graph.from_sparse(sp.csr_array(base), ids=[f"u{i:03d}" for i in range(30)])
    res = _fit(graph, model="sdm", fe="unit")
    _check(res)


def test_lee_yu_time_effects_warn_on_islands():
    with pytest.warns(WeightsAssumptionWarning, match=r"2 unit\(s\) have no neighbours .*'u005', 'u017'"):
        _fit(_graph_with_islands(), model="sdm", fe="twoways")


@pytest.mark.parametrize("model", ["sem", "sdem", "slx"])
def test_error_and_slx_effects(model):
    res = _fit(ring_lattice(40, k=2), model=model, fe="twoways")
    eff = res.effects(draws=4000, seed=1)
    se = res.se()
    for var in res.x_names:
        assert eff.estimate(var, "direct") == pytest.approx(res.params[var], rel=RTOL_CLOSED)
        theta = res.params.get(f"W·{var}", 0.0)
        assert eff.estimate(var, "indirect") == pytest.approx(theta, rel=RTOL_CLOSED, abs=1e-15)
        assert eff.se(var, "direct") == pytest.approx(se[var], rel=0.05)
        delta = res.effects(method="delta")
        assert delta.se(var, "direct") == pytest.approx(se[var], rel=1e-6)
        if model != "sem":
            assert delta.se(var, "indirect") == pytest.approx(se[f"W·{var}"], rel=1e-6)


def test_simulation_and_delta_agree():
    graph = random_band_graph(200, seed=4)
    data = simulate_sdm(graph, 10, rho=0.35, beta=(1.0, -0.6), theta=(0.8, 0.4), seed=9)
    res = fit_spatial_panel(data, "y ~ x1 + x2", id_col="unit", time_col="year", weights=graph, model="sdm")
    sim = res.effects(draws=4000, seed=11).table
    delta = res.effects(method="delta").table
    np.testing.assert_allclose(sim["estimate"], delta["estimate"], rtol=RTOL_CLOSED)
    np.testing.assert_allclose(sim["se"], delta["se"], rtol=0.08)


def test_seed_reproducible():
    res = _fit(ring_lattice(30, k=2), model="sdm", fe="twoways")
    a = res.effects(draws=300, seed=123).table
    b = res.effects(draws=300, seed=123).table
    c = res.effects(draws=300, seed=124).table
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["se"], c["se"])
    gen = res.effects(draws=300, seed=np.random.default_rng(123)).table
    pd.testing.assert_frame_equal(a, gen)


def test_multipliers_matrix():
    res = _fit(ring_lattice(30, k=2), model="sdm", fe="twoways")
    m = res.multipliers("x1")
    assert m.shape == (30, 30) and list(m.index) == list(res.ids)
    eff = res.effects(draws=10, seed=0)
    assert np.trace(m.to_numpy()) / 30 == pytest.approx(eff.estimate("x1", "direct"), rel=RTOL_CLOSED)
    assert m.to_numpy().sum() / 30 == pytest.approx(eff.estimate("x1", "total"), rel=RTOL_CLOSED)


def test_prepared_weights_are_reused(cigar_graph):
    a = prepare_weights(cigar_graph)
    b = prepare_weights(cigar_graph)
    assert a is b
    values = a.eigenvalues
    assert a.eigenvalues is values  # computed once
    assert not np.iscomplexobj(values) and values.max() == pytest.approx(1.0)
    assert a.rho_bounds[1] == pytest.approx(1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert prepare_weights(a) is a


@pytest.mark.parametrize(
    "graph_factory",
    [lambda: ring_lattice(30, k=2), _graph_with_islands, lambda: random_band_graph(120, seed=6),
     lambda: random_band_graph(80, seed=6, knn=4)],
)
def test_information_terms_paths_agree(graph_factory):
    """tr(G'G), G·zb and ‖G'1‖²: Cholesky (first use), cached eigenvectors (later uses) and
    dense LU (asymmetric W) all equal a brute-force dense computation."""
    from spillmap.models.panel._weights import _build

    graph = graph_factory()
    w = _build(np.asarray(graph.unique_ids), sp.csr_array(graph.sparse), "O", True, "eigen")
    dense = w.matrix.toarray()
    zb = np.random.default_rng(0).normal(size=(4, w.n))
    for rho in (-0.5, 0.005, 0.3, 0.9):
        g = np.linalg.solve(np.eye(w.n) - rho * dense, dense)
        for _ in range(2):  # first and repeated use take different paths
            tr_gtg, gzb, colsum_sq = w.information_terms(rho, zb)
            assert tr_gtg == pytest.approx(np.sum(g * g), rel=1e-10)
            np.testing.assert_allclose(gzb, zb @ g.T, rtol=1e-9, atol=1e-12)
            assert colsum_sq == pytest.approx(np.sum(g.sum(axis=0) ** 2), rel=1e-10)


def test_lu_logdet_equals_eigen(cigar, cigar_graph):
    kwargs = dict(id_col="state", time_col="year", weights=cigar_graph, model="sdm", fe="twoways")
    eigen = fit_spatial_panel(cigar, "logc ~ logp + logy", **kwargs)
    lu = fit_spatial_panel(cigar, "logc ~ logp + logy", logdet="lu", **kwargs)
    assert lu.weights.logdet_method == "lu"
    # the LU log-determinant differs from Σ log(1 − ρω) by rounding (~1e-13), which moves the
    # optimum of this flat likelihood by ~1e-8: compare at the ML tolerance
    np.testing.assert_allclose(lu.params.to_numpy(), eigen.params.to_numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(lu.se().to_numpy(), eigen.se().to_numpy(), rtol=1e-6)
    assert lu.loglik == pytest.approx(eigen.loglik, rel=1e-10)


def test_power_series_traces_for_large_weights():
    """Beyond EIGEN_MAX_N units traces come from a power series with Hutchinson moments."""
    from dataclasses import replace

    from spillmap.models.panel import _weights

    graph = random_band_graph(400, seed=12)
    exact = prepare_weights(graph)
    approx = replace(exact, logdet_method="lu")
    assert approx.exact_traces  # small N: still exact
    original = _weights.EIGEN_MAX_N
    try:
        _weights.EIGEN_MAX_N = 100
        assert not approx.exact_traces
        np.testing.assert_allclose(approx.power_traces[:3], [400, 0.0, np.sum(exact.eigenvalues**2)], rtol=1e-10, atol=1e-10)
        for rho in (-0.4, 0.3, 0.7):
            np.testing.assert_allclose(approx.trace_sums(rho), exact.trace_sums(rho), rtol=5e-3)
            np.testing.assert_allclose(approx.traces(rho), exact.traces(rho), rtol=5e-2)
    finally:
        _weights.EIGEN_MAX_N = original
