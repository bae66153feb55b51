"""Placebo tests and the spatial Durbin DID.

Cases: "random" placebo draws keep the number of units per first year (and
never treated); "timing" keeps the treated units; the same seed gives
identical placebo estimates in-process and on Dask with 1 or 2 workers;
progress reaches the number of draws; the empirical p-value is small for a
real effect and roughly uniform under the null (Kolmogorov–Smirnov over 60
simulated null panels); SDM-DID recovers a known W·DID spillover, its
direct/indirect/total effects match the truth, a spatial event study has
pre-period effects near zero; SDM-DID placebo runs through the same path.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from spillmap.models import assign_treatment, fit_sdm_did, placebo_test, spatial_event_study
from spillmap.models.did._placebo import placebo_assignments

from ..conftest import random_band_graph
from ..did_data import staggered_panel

KW = dict(id_col="unit", time_col="year")


@pytest.fixture(scope="module")
def effect_panel():
    frame, first = staggered_panel(n=150, seed=4)
    return assign_treatment(frame, first_year=first, **KW).data


def test_assignments_keep_structure():
    rng = np.random.default_rng(0)
    fy = np.array([2014, 2014, 2016, np.nan, np.nan, 2018, np.nan])
    periods = np.arange(2010, 2020)
    random = placebo_assignments(fy, periods, 50, "random", rng)
    for row in random:
        assert sorted(row[np.isfinite(row)].tolist()) == [2014, 2014, 2016, 2018]
    timing = placebo_assignments(fy, periods, 50, "timing", rng)
    assert np.array_equal(np.isfinite(timing), np.tile(np.isfinite(fy), (50, 1)))
    assert np.nanmin(timing) >= 2011 and np.nanmax(timing) <= 2019


def test_same_seed_same_result_any_workers(effect_panel):
    runs = []
    for workers in (0, 1, 2):
        seen = []
        res = placebo_test(effect_panel, "y", controls=["x1"], draws=120, seed=11, workers=workers,
                           chunk_size=25, progress=seen.append, **KW)
        assert seen[-1] == 120
        runs.append(res)
    for other in runs[1:]:
        np.testing.assert_array_equal(other.estimates, runs[0].estimates)
        np.testing.assert_array_equal(other.t_values, runs[0].t_values)
    assert runs[0].p_value == pytest.approx(1 / 121)
    assert abs(runs[0].real_estimate - 1.0) < 0.3
    assert len(runs[0].to_frame()) == 120


def test_placebo_p_value_uniform_under_null():
    """No effect: across 60 panels the placebo p-values should look uniform on (0, 1]."""
    pvals = []
    for seed in range(60):
        frame, first = staggered_panel(n=60, years=(2010, 2017), cohorts=(2013.0, 2015.0, np.nan), effect=0.0, seed=100 + seed)
        data = assign_treatment(frame, first_year=first, **KW).data
        pvals.append(placebo_test(data, "y", draws=99, seed=seed, workers=0, **KW).p_value)
    assert stats.kstest(pvals, "uniform").pvalue > 0.01
    assert 0.3 < np.mean(pvals) < 0.7


def test_timing_mode_runs(effect_panel):
    res = placebo_test(effect_panel, "y", draws=60, seed=2, mode="timing", workers=0, **KW)
    assert res.mode == "timing" and np.isfinite(res.estimates).all()
    assert res.to_dict()["draws"] == 60


# ------------------------------------------------------------------ SDM-DID

def _sdm_did_panel(graph, *, rho, beta, theta, seed, t=10):
    rng = np.random.default_rng(seed)
    w = graph.transform("r").sparse.toarray()
    n = w.shape[0]
    ids = list(graph.unique_ids)
    first = rng.choice([2014.0, 2016.0, np.nan, np.nan], n)
    years = np.arange(2010, 2010 + t)
    mu = rng.normal(size=n)
    a_inv = np.linalg.inv(np.eye(n) - rho * w)
    rows = []
    for s, yr in enumerate(years):
        d = (yr >= first).astype(float)
        x = rng.normal(size=n)
        y = a_inv @ (beta * d + theta * (w @ d) + 0.5 * x + mu + 0.2 * s + rng.normal(size=n))
        rows += [(ids[i], int(yr), y[i], x[i]) for i in range(n)]
    import pandas as pd

    frame = pd.DataFrame(rows, columns=["unit", "year", "y", "x1"])
    fy = pd.Series(first, index=ids).dropna()
    return assign_treatment(frame, first_year=fy, **KW).data


def _true_effects(graph, rho, beta, theta):
    w = graph.transform("r").sparse.toarray()
    n = w.shape[0]
    s = np.linalg.solve(np.eye(n) - rho * w, beta * np.eye(n) + theta * w)
    direct = np.trace(s) / n
    return direct, s.sum() / n - direct


@pytest.fixture(scope="module")
def sdm_setup():
    graph = random_band_graph(250, seed=21)
    data = _sdm_did_panel(graph, rho=0.3, beta=1.0, theta=0.8, seed=22)
    return graph, data


def test_sdm_did_recovers_spillover(sdm_setup):
    graph, data = sdm_setup
    res = fit_sdm_did(data, "y", weights=graph, controls=["x1"], seed=1, **KW)
    fit = res.fit
    for term, value in {"did": 1.0, "W·did": 0.8, "rho": 0.3}.items():
        assert abs(fit.params[term] - value) < 3 * fit.se()[term], term
    direct, indirect = _true_effects(graph, 0.3, 1.0, 0.8)
    assert abs(res.effect("direct") - direct) < 3 * res.effects.se("did", "direct")
    assert abs(res.effect("indirect") - indirect) < 3 * res.effects.se("did", "indirect")
    lo, hi = res.interval("indirect")
    assert lo > 0
    payload = res.to_dict()
    assert set(payload["did_effects"]) == {"direct", "indirect", "total"}


def test_spatial_event_study(sdm_setup):
    graph, data = sdm_setup
    res = spatial_event_study(data, "y", weights=graph, controls=["x1"], leads=3, lags=3, draws=300, seed=2, **KW)
    table = res.table
    assert list(table.index) == [-3, -2, -1, 0, 1, 2, 3]
    direct, indirect = _true_effects(graph, 0.3, 1.0, 0.8)
    for kind, truth in (("direct", direct), ("indirect", indirect)):
        se = (table[f"{kind}_ci_high"] - table[f"{kind}_ci_low"]) / 3.92
        expected = np.where(table.index >= 0, truth, 0.0)
        gap = (table[f"{kind}_estimate"] - expected).abs()
        assert (gap[table.index != -1] < 3 * se[table.index != -1]).all(), kind
    fig = res.plot()
    assert len(fig.axes) == 1


def test_sdm_placebo(sdm_setup):
    graph, data = sdm_setup
    res = placebo_test(data, "y", controls=["x1"], draws=40, seed=5, model="sdm", weights=graph, workers=2, **KW)
    assert res.model == "sdm" and np.isfinite(res.estimates).all()
    assert res.p_value == pytest.approx(1 / 41)
    again = placebo_test(data, "y", controls=["x1"], draws=40, seed=5, model="sdm", weights=graph, workers=0, **KW)
    np.testing.assert_allclose(again.estimates, res.estimates, rtol=1e-12)
