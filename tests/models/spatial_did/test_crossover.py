"""Crossover radius: closed-form interpolation, open bounds, intervals from draws.

Cases: a straight line crossing zero at a known radius; NaN bands skipped;
curves that never turn negative (+inf) or are never positive (−inf) give
statements instead of a radius; the interval is the percentile of the
draws' own crossings (checked against a direct computation); the first
significantly negative band comes from the per-band upper bounds.
"""

from __future__ import annotations

import numpy as np
import pytest

from spillmap.models import crossover
from spillmap.models.spatial_did._crossover import first_crossing

X = np.array([25.0, 75.0, 125.0, 175.0, 225.0])


def test_linear_interpolation_between_band_positions():
    # +0.3 at 125 km, -0.1 at 175 km: zero at 125 + 50 * 0.3 / 0.4 = 162.5 km
    assert first_crossing(X, np.array([0.5, 0.4, 0.3, -0.1, -0.2]))[0] == pytest.approx(162.5)
    # the first positive -> non-positive change counts, not a later one
    assert first_crossing(X, np.array([0.2, -0.2, 0.3, 0.1, -0.1]))[0] == pytest.approx(25 + 50 * 0.5)


def test_nan_bands_are_skipped():
    v = np.array([0.4, np.nan, 0.2, -0.2, -0.3])
    assert first_crossing(X, v)[0] == pytest.approx(150.0)


def test_open_cases():
    assert first_crossing(X, np.full(5, 0.1))[0] == np.inf
    assert first_crossing(X, np.full(5, -0.1))[0] == -np.inf
    assert np.isnan(first_crossing(X, np.full(5, np.nan))[0])
    flat = crossover(X, np.full(5, 0.1), np.full((50, 5), 0.1))
    assert flat.kind == "positive_throughout" and "No crossover between 25 and 225 km" in flat.statement
    assert flat.to_dict()["radius_km"] is None
    never = crossover(X, np.full(5, -0.1), np.full((50, 5), -0.1))
    assert never.kind == "never_positive" and "no spillover zone" in never.statement


def test_interval_is_percentile_of_draw_crossings():
    rng = np.random.default_rng(3)
    truth = np.array([0.5, 0.3, 0.1, -0.1, -0.3])  # crosses at 150 km
    draws = truth + rng.normal(0, 0.08, (4000, 5))
    res = crossover(X, truth, draws, levels=(0.9, 0.95))
    assert res.radius_km == pytest.approx(150.0)
    per_draw = np.array([first_crossing(X, row)[0] for row in draws])
    per_draw = per_draw[~np.isnan(per_draw)]
    lo, hi = np.quantile(per_draw, [0.025, 0.975], method="inverted_cdf")
    assert res.intervals[0.95] == (pytest.approx(lo), pytest.approx(hi))
    assert res.intervals[0.95][0] < 150 < res.intervals[0.95][1]
    assert res.intervals[0.95][0] <= res.intervals[0.9][0] <= res.intervals[0.9][1] <= res.intervals[0.95][1]
    assert 0.9 < res.share_crossing <= 1.0
    assert "turns negative (siphon) at about 150 km" in res.statement


def test_first_significantly_negative_band():
    truth = np.array([0.5, 0.3, 0.1, -0.1, -0.3])
    draws = np.tile(truth, (10, 1))
    upper = np.array([0.6, 0.4, 0.2, 0.05, -0.1])
    res = crossover(X, truth, draws, labels=["0-50", "50-100", "100-150", "150-200", "200-250"],
                    intervals={0.95: (upper - 1, upper)}, levels=(0.95,))
    assert res.first_negative_band[0.95] == "200-250"
    assert "First band with a significantly negative effect (95%): 200-250 km" in res.statement


def test_bad_shapes():
    with pytest.raises(ValueError, match="draws must be"):
        crossover(X, np.zeros(5), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="increase"):
        crossover(X[::-1], np.zeros(5), np.zeros((3, 5)))
