"""LM tests, the spreg reference engine, and result output.

Cases: LM lag/error and robust versions equal a dense brute-force
computation with explicit Kronecker matrices (two-way and unit effects);
on data from an SDM the lag tests reject and on pure noise none does at
1 %; engine="spreg" equals the native engine to 1e-6 in every coefficient
(SAR, SDM, SEM, SDEM, unit effects) on the Cigar panel and a simulated
panel, and its standard errors to 1e-6 relative; the summary prints the
xsmle-style groups; tidy/markdown/LaTeX/dict outputs carry the same numbers.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from spillmap.models import fit_spatial_panel, panel_arrays, panel_lm_tests, prepare_weights

from ..conftest import random_band_graph, simulate_sdm


def _dense_lm(y, x, w, fe):
    t, n = y.shape
    it, inn = np.eye(t), np.eye(n)
    qt = it - np.ones((t, t)) / t if fe in ("unit", "twoways") else it
    qn = inn - np.ones((n, n)) / n if fe in ("time", "twoways") else inn
    q = np.kron(qt, qn)
    big_w = np.kron(it, w)
    yv = q @ y.ravel()
    xv = q @ x.reshape(t * n, -1)
    beta = np.linalg.lstsq(xv, yv, rcond=None)[0]
    e = yv - xv @ beta
    s2 = e @ e / (n * t)
    m = np.eye(n * t) - xv @ np.linalg.solve(xv.T @ xv, xv.T)
    wxb = q @ big_w @ xv @ beta
    tw = np.trace(w.T @ w + w @ w)
    j = wxb @ m @ wxb / s2 + t * tw
    lag = e @ (q @ big_w @ yv) / s2
    err = e @ (q @ big_w @ e) / s2
    return {
        "lm_lag": lag**2 / j,
        "lm_error": err**2 / (t * tw),
        "robust_lm_lag": (lag - err) ** 2 / (j - t * tw),
        "robust_lm_error": (err - t * tw / j * lag) ** 2 / (t * tw * (1 - t * tw / j)),
    }


@pytest.mark.parametrize("fe", ["twoways", "unit"])
def test_lm_against_dense(fe):
    graph = random_band_graph(40, seed=2)
    data = simulate_sdm(graph, 5, rho=0.3, beta=(1.0, -0.5), theta=(0.0, 0.0), seed=3)
    tests = panel_lm_tests(data, "y ~ x1 + x2", id_col="unit", time_col="year", weights=graph, fe=fe)
    w = prepare_weights(graph)
    panel = panel_arrays(data, id_col="unit", time_col="year", y="y", x=["x1", "x2"], ids=w.ids)
    dense = _dense_lm(panel.y, panel.x, w.matrix.toarray(), fe)
    for key, value in dense.items():
        assert tests[key].statistic == pytest.approx(value, rel=1e-9), key
        assert tests[key].p_value == pytest.approx(stats.chi2.sf(value, 1), rel=1e-9)


def test_lm_power_and_size():
    graph = random_band_graph(150, seed=5)
    lagged = simulate_sdm(graph, 8, rho=0.4, beta=(1.0, -0.5), theta=(0.0, 0.0), seed=6)
    tests = panel_lm_tests(lagged, "y ~ x1 + x2", id_col="unit", time_col="year", weights=graph)
    assert tests["lm_lag"].p_value < 1e-6 and tests["robust_lm_lag"].p_value < 0.01
    noise = simulate_sdm(graph, 8, rho=0.0, beta=(1.0, -0.5), theta=(0.0, 0.0), seed=7)
    tests = panel_lm_tests(noise, "y ~ x1 + x2", id_col="unit", time_col="year", weights=graph)
    assert all(t.p_value > 0.01 for t in tests.values())


@pytest.mark.parametrize("model", ["sar", "sdm", "sem", "sdem"])
def test_spreg_engine_agrees(cigar, cigar_graph, model):
    kwargs = dict(id_col="state", time_col="year", weights=cigar_graph, model=model, fe="unit")
    native = fit_spatial_panel(cigar, "logc ~ logp + logy", **kwargs)
    ref = fit_spatial_panel(cigar, "logc ~ logp + logy", engine="spreg", **kwargs)
    assert ref.engine == "spreg"
    np.testing.assert_allclose(native.params.to_numpy(), ref.params.to_numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(native.se().to_numpy(), ref.se().to_numpy(), rtol=1e-6)
    assert native.loglik == pytest.approx(ref.loglik, abs=1e-6)


def test_spreg_engine_agrees_on_simulated_panel():
    graph = random_band_graph(120, seed=8)
    data = simulate_sdm(graph, 6, rho=0.4, beta=(1.0, -0.5), theta=(0.6, 0.2), seed=9)
    kwargs = dict(id_col="unit", time_col="year", weights=graph, model="sdm", fe="unit")
    native = fit_spatial_panel(data, "y ~ x1 + x2", **kwargs)
    ref = fit_spatial_panel(data, "y ~ x1 + x2", engine="spreg", **kwargs)
    np.testing.assert_allclose(native.params.to_numpy(), ref.params.to_numpy(), rtol=0, atol=1e-6)


def test_outputs(cigar, cigar_graph):
    res = fit_spatial_panel(cigar, "logc ~ logp + logy", id_col="state", time_col="year", weights=cigar_graph, model="sdm")
    text = str(res.summary())
    for piece in ("Spatial Durbin (SDM) model", "Main", "Wx", "Spatial", "Variance", "W·logy", "Lee–Yu", "Effective obs.:"):
        assert piece in text, piece
    assert "<table>" in res.summary()._repr_html_()
    tidy = res.tidy()
    assert list(tidy.columns) == ["coef", "se", "z", "p_value", "ci_low", "ci_high"]
    assert tidy.loc["rho", "coef"] == res.rho
    assert f"{res.rho:.4f}" in res.to_markdown()
    assert "\\\\begin{tabular}" in res.to_latex() or "\\begin{tabular}" in res.to_latex()
    payload = json.loads(json.dumps(res.to_dict()))
    assert payload["coefficients"]["rho"] == pytest.approx(res.rho)
    assert payload["std_errors"]["W·logp"] == pytest.approx(res.se()["W·logp"])
    assert res.aic == pytest.approx(-2 * res.loglik + 2 * 6)
    effects = res.effects(draws=100, seed=1)
    assert "| logp | direct |" in effects.to_markdown()
