"""Simulation from known data-generating processes (fixed seeds).

Cases: SDM with two-way effects on N=300, T=12 (symmetric inverse-distance
band; Lee–Yu and direct approach) recovers ρ, β, θ within 3 standard errors
and the indirect effects within 3 of their simulated standard errors; SAR,
SEM and SDEM likewise; kNN weights (asymmetric, complex eigenvalues); the
slow-marked coverage study (200 replications) gives 95 % intervals that
cover ρ, θ and the indirect effect 92–98 % of the time.
"""

from __future__ import annotations

import numpy as np
import pytest

from spillmap.models import fit_spatial_panel, prepare_weights

from ..conftest import random_band_graph, simulate_sdm

TRUTH = {"rho": 0.35, "beta": (1.0, -0.6), "theta": (0.8, 0.4)}


def _true_indirect(graph, rho, beta, theta):
    w = graph.transform("r").sparse.toarray()
    n = w.shape[0]
    out = []
    for b, t in zip(beta, theta):
        s = np.linalg.solve(np.eye(n) - rho * w, b * np.eye(n) + t * w)
        out.append(s.sum() / n - np.trace(s) / n)
    return out


@pytest.fixture(scope="module")
def band():
    return random_band_graph(300, seed=3)


@pytest.mark.parametrize("lee_yu", [True, False])
def test_sdm_twoways_recovers_truth(band, lee_yu):
    data = simulate_sdm(band, 12, rho=TRUTH["rho"], beta=TRUTH["beta"], theta=TRUTH["theta"], seed=101)
    res = fit_spatial_panel(data, "y ~ x1 + x2", id_col="unit", time_col="year", weights=band, model="sdm", lee_yu=lee_yu)
    truth = {"x1": 1.0, "x2": -0.6, "W·x1": 0.8, "W·x2": 0.4, "rho": 0.35}
    for term, value in truth.items():
        assert abs(res.params[term] - value) < 3 * res.se()[term], term
    # the direct approach keeps the incidental-parameter bias σ²·(N−1)(T−1)/(NT) that Lee–Yu removes
    expected = 1.0 if lee_yu else (300 - 1) * (12 - 1) / (300 * 12)
    assert abs(res.sigma2 - expected) < 3 * res.se()["sigma2"]
    effects = res.effects(draws=500, seed=7)
    for var, value in zip(("x1", "x2"), _true_indirect(band, 0.35, TRUTH["beta"], TRUTH["theta"])):
        assert abs(effects.estimate(var, "indirect") - value) < 3 * effects.se(var, "indirect")


@pytest.mark.parametrize("model", ["sar", "sem", "sdem"])
def test_other_models_recover_truth(band, model):
    theta = (0.0, 0.0) if model in ("sar", "sem") else TRUTH["theta"]
    data = simulate_sdm(band, 12, rho=0.35, beta=TRUTH["beta"], theta=theta, seed=202, model=model)
    res = fit_spatial_panel(data, "y ~ x1 + x2", id_col="unit", time_col="year", weights=band, model=model)
    truth = {"x1": 1.0, "x2": -0.6, "rho" if model == "sar" else "lambda": 0.35}
    if model == "sdem":
        truth.update({"W·x1": 0.8, "W·x2": 0.4})
    for term, value in truth.items():
        assert abs(res.params[term] - value) < 3 * res.se()[term], term


def test_knn_weights_complex_eigenvalues():
    graph = random_band_graph(250, seed=9, knn=5)
    w = prepare_weights(graph)
    assert np.iscomplexobj(w.eigenvalues)
    data = simulate_sdm(graph, 10, rho=0.3, beta=TRUTH["beta"], theta=TRUTH["theta"], seed=303)
    res = fit_spatial_panel(data, "y ~ x1 + x2", id_col="unit", time_col="year", weights=w, model="sdm")
    for term, value in {"x1": 1.0, "W·x1": 0.8, "rho": 0.3}.items():
        assert abs(res.params[term] - value) < 3 * res.se()[term], term


def test_misspecified_sar_on_sdm_data_is_rejected(band):
    data = simulate_sdm(band, 12, rho=TRUTH["rho"], beta=TRUTH["beta"], theta=TRUTH["theta"], seed=404)
    kwargs = dict(id_col="unit", time_col="year", weights=band)
    sdm = fit_spatial_panel(data, "y ~ x1 + x2", model="sdm", **kwargs)
    sar = fit_spatial_panel(data, "y ~ x1 + x2", model="sar", **kwargs)
    assert sdm.lr_test(sar).p_value < 1e-6
    assert sdm.wald_test().p_value < 1e-6


@pytest.mark.slow
def test_coverage_of_95_percent_intervals(band):
    """200 replications: rho, theta and the indirect effect of x1 covered 92–98 % of the time."""
    from rich.progress import track

    w = prepare_weights(band)
    truth_indirect = _true_indirect(band, TRUTH["rho"], TRUTH["beta"], TRUTH["theta"])[0]
    hits = {"rho": 0, "W·x1": 0, "indirect": 0}
    reps = 200
    for rep in track(range(reps), description="coverage replications"):
        data = simulate_sdm(band, 12, rho=TRUTH["rho"], beta=TRUTH["beta"], theta=TRUTH["theta"], seed=10_000 + rep)
        res = fit_spatial_panel(data, "y ~ x1 + x2", id_col="unit", time_col="year", weights=w, model="sdm")
        tidy = res.tidy()
        hits["rho"] += tidy.loc["rho", "ci_low"] <= TRUTH["rho"] <= tidy.loc["rho", "ci_high"]
        hits["W·x1"] += tidy.loc["W·x1", "ci_low"] <= TRUTH["theta"][0] <= tidy.loc["W·x1", "ci_high"]
        lo, hi = res.effects(draws=1000, seed=rep).interval("x1", "indirect")
        hits["indirect"] += lo <= truth_indirect <= hi
    for name, count in hits.items():
        assert 0.92 <= count / reps <= 0.98, f"{name}: {count}/{reps}"
