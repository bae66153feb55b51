"""Event-study reference period and the Sun–Abraham ATT of the robust table.

Cases: with reference period −2 every estimator (TWFE, did2s, saturated) has a zero coefficient at −2
and an estimated one at −1, the table marks the reference row; the saturated study's per-period
estimates at reference −1 are pyfixest's own ``aggregate()`` (estimate and SE), at −2 each is the −1
study's minus its −2 coefficient (a re-parametrisation); the ``sun_abraham`` row of the robust table
is the mean of the post-period interaction-weighted coefficients with the SE of that linear
combination, computed here by hand from the cohort × period coefficients and their covariance.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from spillmap.models import assign_treatment, compare_estimators, event_study

from ..did_data import staggered_panel

KW = {"id_col": "unit", "time_col": "year"}


@pytest.fixture(scope="module")
def panel():
    frame, first = staggered_panel(n=90, growth=0.3, seed=3)
    return assign_treatment(frame, first_year=first, **KW).data


def _saturated_fit(data):
    import pyfixest as pf

    frame = data.assign(_cohort=data["first_year"].fillna(0).astype(int))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.event_study(frame, yname="y", idname="unit", tname="year", gname="_cohort", estimator="saturated")


@pytest.mark.parametrize("estimator", ["twfe", "did2s", "saturated"])
def test_reference_minus_two(panel, estimator):
    es = event_study(panel, "y", controls=["x1", "x2"] if estimator != "saturated" else [], ref=-2,
                     estimator=estimator, **KW)
    table = es.table
    assert es.ref == -2
    assert (table.loc[-2].drop("p_value") == 0).all() and np.isnan(table.loc[-2, "p_value"])
    assert table.loc[-1, "estimate"] != 0 and table.loc[-1, "se"] > 0
    frame = es.to_frame()
    assert frame.loc[frame["reference"] == 1, "event_time"].tolist() == [-2]
    assert frame["reference"].sum() == 1


def test_reference_out_of_window_refused(panel):
    from spillmap.errors import EstimationError

    for ref in (0, 1, -4, -5):
        with pytest.raises(EstimationError, match="ref"):
            event_study(panel, "y", leads=4, ref=ref, **KW)


def test_saturated_matches_pyfixest_aggregate(panel):
    agg = _saturated_fit(panel).aggregate()
    es = event_study(panel, "y", estimator="saturated", **KW)
    for e, row in es.table.drop(index=-1).iterrows():
        assert row["estimate"] == pytest.approx(float(agg.loc[float(e), "Estimate"]), rel=1e-10, abs=1e-12)
        assert row["se"] == pytest.approx(float(agg.loc[float(e), "Std. Error"]), rel=1e-10)
    shifted = event_study(panel, "y", estimator="saturated", ref=-2, **KW).table
    # re-based on −2, the −1 coefficient is minus the −2 one of the −1-based study (same cohort weights)
    assert shifted.loc[-1, "estimate"] == pytest.approx(-es.table.loc[-2, "estimate"], rel=1e-10)
    assert shifted.loc[-1, "se"] == pytest.approx(es.table.loc[-2, "se"], rel=1e-10)


def test_sun_abraham_row_by_hand(panel):
    from pyfixest.did.saturated_twfe import compute_period_weights

    comparison = compare_estimators(panel, "y", lags=4, **KW)
    assert list(comparison.att.index) == ["twfe", "did2s", "sun_abraham"]
    row = comparison.att.loc["sun_abraham"]

    fit = _saturated_fit(panel)
    beta, vcov = np.asarray(fit._beta_hat), np.asarray(fit._vcov)
    shares = compute_period_weights(fit._data, cohort="_cohort", period="rel_time", treatment="is_treated")
    shares = shares[np.isfinite(shares["rel_time"])].set_index(["_cohort", "rel_time"])["weight"]
    r = np.zeros(len(beta))
    for i, name in enumerate(map(str, fit._coefnames)):
        e, g = re.match(r"^.+::(-?[0-9.]+):.+::([0-9]+)$", name).groups()
        e, g = float(e), int(g)
        if 0 <= e <= 4:
            r[i] = shares.loc[(g, e)] / 5  # mean over event times 0 … 4 of the cohort-share-weighted cells
    assert row["estimate"] == pytest.approx(r @ beta, rel=1e-10)
    assert row["se"] == pytest.approx(np.sqrt(r @ vcov @ r), rel=1e-10)
    # and the post-period mean of pyfixest's own aggregated coefficients
    agg = fit.aggregate()
    post = agg.loc[[float(e) for e in range(5)], "Estimate"].astype(float)
    assert row["estimate"] == pytest.approx(post.mean(), rel=1e-10)
    assert row["ci_low"] < row["estimate"] < row["ci_high"] and 0 < row["p_value"] < 1
    # effects grow by 0.3 a year from 1.0: the average over event times 0 … 4 is 1.6
    assert abs(row["estimate"] - 1.6) < 4 * row["se"]
    assert comparison.event_studies[2].att == pytest.approx(dict(row))
    assert isinstance(comparison.to_frame(), pd.DataFrame) and "sun_abraham" in comparison.to_frame()["estimator"].tolist()
