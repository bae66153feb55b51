"""Large-N routes of PreparedWeights: symmetric-similar detection, cached eigenvectors, Barry–Pace.

- A W handed in pre-row-standardised is recognised as similar to a symmetric
  matrix (same estimates as the binary form to 1e-10, symmetric eigen route);
  a k-NN W is not.
- Refits (up to 5,000 units, the old limit was 2,000) take tr(G'G), G·zb and
  ‖G'1‖² from cached eigenvectors; they equal the Cholesky route's to 1e-10.
- The Barry–Pace log-determinant is within its stated error (truncation bound
  plus 4 Monte Carlo standard errors) of the exact LU at N = 6,000, and an
  N = 8,000 two-way SDM fit puts ρ within 0.1 standard errors of the exact-LU fit.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from libpysal.graph import Graph
from scipy.spatial import cKDTree
from spillmap.models import fit_spatial_panel, prepare_weights
from spillmap.models.panel import _weights

from ..conftest import random_band_graph, simulate_sdm
from ..large_data import simulate_panel

KW = {"id_col": "unit", "time_col": "year", "model": "sdm", "fe": "twoways"}


def knn_graph(n: int, seed: int, k: int = 6, symmetric: bool = True) -> Graph:
    """k nearest neighbours of n random points (made symmetric unless ``symmetric=False``)."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 1000, (n, 2))
    _, idx = cKDTree(xy).query(xy, k + 1)
    rows, cols = np.repeat(np.arange(n), k), idx[:, 1:].ravel()
    m = sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    if symmetric:
        m = sp.csr_array(((m + m.T) > 0).astype(float))
    return Graph.from_sparse(m, ids=[f"u{i:05d}" for i in range(n)])


# ------------------------------------------------------------ symmetric similar


@pytest.mark.parametrize("seed", [3, 4])
def test_prestandardised_weights_use_symmetric_route(seed):
    graph = random_band_graph(150, seed=seed)
    data = simulate_sdm(graph, 5, rho=0.4, beta=(1.0, -0.5), theta=(0.5, 0.2), seed=seed + 10)
    row = Graph.from_sparse(sp.csr_array(graph.transform("r").sparse), ids=list(graph.unique_ids))
    assert not _weights._is_symmetric(sp.csr_array(row.sparse))
    w_row = prepare_weights(row)
    assert w_row.symmetric_base is not None
    assert not np.iscomplexobj(w_row.eigenvalues)
    binary = fit_spatial_panel(data, "y ~ x1 + x2", weights=graph, **KW)
    given = fit_spatial_panel(data, "y ~ x1 + x2", weights=row, **KW)
    np.testing.assert_allclose(given.params.to_numpy(), binary.params.to_numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(given.se().to_numpy(), binary.se().to_numpy(), rtol=1e-10)
    # also without spillmap's row-standardisation
    raw = prepare_weights(row, row_standardize=False)
    assert raw.symmetric_base is not None
    c, d = raw.symmetric_base
    np.testing.assert_allclose((sp.diags(1.0 / d) @ c).toarray(), raw.matrix.toarray(), atol=1e-14)


def test_prestandardised_with_islands_and_components():
    graph = random_band_graph(80, seed=5).sparse.toarray()
    dense = np.zeros((84, 84))
    dense[:80, :80] = graph
    dense[80, 81] = dense[81, 80] = 2.0  # a second component
    row = dense / np.maximum(dense.sum(axis=1, keepdims=True), 1e-300)  # 82, 83 are islands
    w = prepare_weights(Graph.from_sparse(sp.csr_array(row), ids=[f"v{i}" for i in range(84)]))
    assert w.symmetric_base is not None
    exact = np.sort(np.linalg.eigvals(w.matrix.toarray()).real)
    np.testing.assert_allclose(w.eigenvalues, exact, atol=1e-10)


@pytest.mark.parametrize("knn", [4, 6])
def test_knn_is_not_misdetected(knn):
    graph = random_band_graph(120, seed=7, knn=knn)
    assert prepare_weights(graph).symmetric_base is None
    row = Graph.from_sparse(sp.csr_array(graph.transform("r").sparse), ids=list(graph.unique_ids))
    assert prepare_weights(row).symmetric_base is None
    # a symmetric pattern with non-similar values is not misdetected either
    sym = knn_graph(120, seed=8)
    m = sp.csr_array(sym.sparse)
    m.data = np.random.default_rng(9).uniform(0.5, 2.0, m.nnz)
    row = m / m.sum(axis=1)[:, None]
    assert prepare_weights(Graph.from_sparse(sp.csr_array(row), ids=list(sym.unique_ids))).symmetric_base is None


# ---------------------------------------------------------------- refit traces


def test_eigenvector_refit_terms_equal_cholesky():
    """Refits take the information terms from cached eigenvectors; they equal the Cholesky route's."""
    assert _weights.EIGENVECTOR_MAX_N >= 2875  # county-sized W: O(N²) refits (66 MB of eigenvectors)
    w = prepare_weights(knn_graph(700, seed=11))
    zb = np.random.default_rng(12).normal(size=(3, w.n))
    first = w.information_terms(0.45, zb)
    assert "_frobenius_mix" not in w.__dict__  # a single fit pays no eigenvectors
    second = w.information_terms(0.45, zb)
    assert "_frobenius_mix" in w.__dict__
    assert second[0] == pytest.approx(first[0], rel=1e-10)
    for rho in (-0.3, 0.004, 0.8):
        chol = w._symmetric_dense_terms(rho, zb)
        eig = w._eigenvector_terms(rho, zb)
        assert eig[0] == pytest.approx(chol[0], rel=1e-10)
        np.testing.assert_allclose(eig[1], chol[1], rtol=0, atol=1e-10 * np.abs(chol[1]).max())
        assert eig[2] == pytest.approx(chol[2], rel=1e-10)


def test_eigenvectors_wait_for_repeated_fits_above_2000(monkeypatch):
    """Above the size limit in EIGENVECTOR_AFTER_USES, three fits use Cholesky before eigenvectors."""
    monkeypatch.setattr(_weights, "EIGENVECTOR_AFTER_USES", (1, 300, 3))
    w = prepare_weights(knn_graph(400, seed=13))
    for _ in range(3):
        w.information_terms(0.3)
        assert "_frobenius_mix" not in w.__dict__
    w.information_terms(0.3)
    assert "_frobenius_mix" in w.__dict__


# ------------------------------------------------------------------ Barry–Pace


@pytest.fixture(scope="module")
def big_w():
    return prepare_weights(knn_graph(6000, seed=21), logdet="barry-pace")


@pytest.mark.parametrize("rho", [-0.5, -0.2, 0.2, 0.5, 0.7, 0.9])
def test_barry_pace_logdet_within_stated_error(big_w, rho):
    exact = big_w.logdet_lu(rho)
    approx = big_w.logdet(rho)
    tail, se = big_w.logdet_error(rho)
    assert tail <= _weights.LOGDET_TAIL_TOL
    assert abs(approx - exact) <= tail + 4 * se, (approx, exact, tail, se)
    assert se < 1e-2 * abs(exact)


def test_barry_pace_terms_follow_rho(big_w):
    terms = [big_w.series_terms(r) for r in (0.1, 0.5, 0.9, -0.9)]
    assert terms[0] < terms[1] < terms[2] == terms[3]
    assert big_w.series_terms(1.2) is None  # beyond the series: exact LU
    assert big_w.logdet(-1.2) == pytest.approx(big_w.logdet_lu(-1.2), rel=1e-12)


def test_auto_uses_barry_pace_beyond_eigen_limit(monkeypatch):
    monkeypatch.setattr(_weights, "EIGEN_MAX_N", 100)
    graph = knn_graph(300, seed=31)
    assert prepare_weights(graph, logdet="auto").logdet_method == "barry-pace"
    assert prepare_weights(graph, logdet="auto", row_standardize=False).logdet_method == "lu"  # rows sum to 3–10


def test_barry_pace_fit_close_to_exact_lu():
    graph = knn_graph(8000, seed=41)
    data = simulate_panel(graph, 5, rho=0.5, seed=42)
    exact = fit_spatial_panel(data, "y ~ x1 + x2", weights=prepare_weights(graph, logdet="lu"), **KW)
    approx = fit_spatial_panel(data, "y ~ x1 + x2", weights=prepare_weights(graph, logdet="barry-pace"), **KW)
    se = exact.se()["rho"]
    assert abs(approx.params["rho"] - exact.params["rho"]) < 0.1 * se
    np.testing.assert_allclose(approx.se().to_numpy(), exact.se().to_numpy(), rtol=0.05)
