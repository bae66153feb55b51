"""Treatment assignment, TWFE DID, event studies and robust estimators.

Cases: assign_treatment from first years (ids by value or text) and from an
absorbing 0/1 column (a column that switches off is refused, naming units);
reports of treated units without rows and panel units missing from the
layer; units treated from the panel's first period dropped with one warning
(count, first five ids) and listed in the report; non-integer periods refused. TWFE recovers a homogeneous ATT within
3 standard errors; the placebo kernel equals pyfixest's coefficient and
clustered standard error to 1e-10 with and without controls; the event study
has leads near zero and a pre-trend test that does not reject under parallel
trends but rejects under a built-in pre-trend, binned end points, the
reference period at 0; with effects that grow over time and differ by
cohort, TWFE is biased while did2s recovers the ATT; the comparison table
and plots are produced.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest

from spillmap.errors import MissingColumnError, PanelShapeError
from spillmap.models import assign_treatment, compare_estimators, event_study, fit_did
from spillmap.models.did._treatment import AlwaysTreatedWarning, TreatmentWarning
from spillmap.models.did._twfe_kernel import TwfeKernel

from ..did_data import staggered_panel

KW = dict(id_col="unit", time_col="year")


@pytest.fixture(scope="module")
def homogeneous():
    frame, first = staggered_panel(seed=1)
    return assign_treatment(frame, first_year=first, **KW).data, first


def test_assign_from_first_years(homogeneous):
    data, first = homogeneous
    unit = first.index[0]
    rows = data[data["unit"] == unit]
    expected = (rows["year"] >= first[unit]).astype(int)
    np.testing.assert_array_equal(rows["did"], expected)
    np.testing.assert_array_equal(rows["event_time"].astype(int), rows["year"] - int(first[unit]))
    never = data[~data["unit"].isin(first.index)]
    assert never["did"].sum() == 0 and never["event_time"].isna().all() and (never["treated"] == 0).all()


def test_assign_from_dummy_matches(homogeneous):
    data, first = homogeneous
    again = assign_treatment(data[["unit", "year", "y", "did"]].rename(columns={"did": "d"}), treated_col="d", **KW)
    np.testing.assert_array_equal(again.data["did"], data["did"])
    assert again.report.treated_by_year == {2014: 60, 2016: 60, 2018: 60}
    assert again.report.never_treated == 60


def test_non_absorbing_dummy_refused():
    frame = pd.DataFrame({"unit": ["a"] * 3 + ["b"] * 3, "year": [1, 2, 3] * 2, "d": [0, 1, 0, 0, 0, 1]})
    with pytest.raises(PanelShapeError, match="switches from 1 back to 0 for 'a'"):
        assign_treatment(frame, treated_col="d", **KW)


def test_reports_and_errors():
    frame = pd.DataFrame({"unit": [110000, 110000, 120000, 120000], "year": [2014, 2015] * 2, "y": 1.0})
    with pytest.warns(TreatmentWarning) as record:
        tp = assign_treatment(frame, first_year={"110000": 2015, "999999": 2014}, layer_ids=["110000"], **KW)
    assert tp.report.treated_without_rows == ("999999",)
    assert tp.report.not_in_layer == (120000,)
    assert tp.data.loc[tp.data["unit"] == 110000, "did"].tolist() == [0, 1]
    assert any("999999" in str(w.message) for w in record) and any("120000" in str(w.message) for w in record)
    with pytest.raises(PanelShapeError, match="exactly one treatment source"):
        assign_treatment(frame, **KW)
    with pytest.raises(MissingColumnError, match="no column 'yr'"):
        assign_treatment(frame, first_year={}, id_col="unit", time_col="yr")
    with pytest.raises(PanelShapeError, match="must hold integer periods"):
        assign_treatment(frame.assign(year=frame["year"] + 0.5), first_year={}, **KW)


def test_twfe_recovers_homogeneous_att(homogeneous):
    data, _ = homogeneous
    res = fit_did(data, "y", controls=["x1", "x2"], **KW)
    assert abs(res.estimate - 1.0) < 3 * res.se
    assert abs(res.table.loc["x1", "estimate"] - 0.5) < 3 * res.table.loc["x1", "se"]
    assert res.n_units == 240 and res.n_periods == 12 and res.n_obs == 240 * 12
    assert "| did |" in res.to_markdown() and "tabular" in res.to_latex()


@pytest.mark.parametrize("unbalanced", [False, True])
@pytest.mark.parametrize("controls", [(), ("x1",), ("x1", "x2")])
def test_kernel_equals_pyfixest(homogeneous, controls, unbalanced):
    """The placebo kernel is pyfixest's TWFE DID, on a balanced panel and on one missing 7 % of its rows."""
    data, first = homogeneous
    if unbalanced:
        data = data[np.random.default_rng(3).random(len(data)) > 0.07]
    kernel = TwfeKernel.from_frame(data, "y", controls=controls, **KW)
    fy = np.array([first.get(u, np.nan) for u in kernel.ids], dtype=float)
    rng = np.random.default_rng(0)
    draws = np.stack([fy, rng.permutation(fy), rng.permutation(fy)])
    beta, se, t = kernel.fit(kernel.dummies(draws))
    for k in range(3):
        frame = data.assign(d=kernel.dummies(draws[k:k + 1])[0].T.ravel()[
            pd.Index(kernel.ids).get_indexer(data["unit"]) * len(kernel.periods)
            + np.searchsorted(kernel.periods, data["year"])])
        rhs = " + ".join(["d", *controls])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # pyfixest demeans an unbalanced panel by alternating projections to fixef_tol (default 1e-8,
            # ~2e-10 off here); at 1e-14 it converges to the exact projection the kernel computes
            fit = pf.feols(f"y ~ {rhs} | unit + year", data=frame, vcov={"CRV1": "unit"}, fixef_tol=1e-14)
        assert beta[k] == pytest.approx(fit.coef()["d"], rel=1e-10)
        assert se[k] == pytest.approx(fit.se()["d"], rel=1e-10)
        assert t[k] == pytest.approx(fit.tstat()["d"], rel=1e-10)


def test_event_study_parallel_trends(homogeneous):
    data, _ = homogeneous
    es = event_study(data, "y", controls=["x1", "x2"], leads=4, lags=4, **KW)
    table = es.table
    assert list(table.index) == [-4, -3, -2, -1, 0, 1, 2, 3, 4]
    assert table.loc[-1, ["estimate", "se", "ci_low", "ci_high"]].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert np.isnan(table.loc[-1, "p_value"])  # no test at the reference period
    leads = table.loc[[-4, -3, -2]]
    assert (leads["ci_low"] < 0).all() and (leads["ci_high"] > 0).all()
    assert es.pretrend["df"] == 3 and es.pretrend["p_value"] > 0.01
    post = table.loc[[0, 1, 2, 3, 4]]
    assert ((post["estimate"] - 1.0).abs() < 3 * post["se"]).all()


def test_event_study_detects_pretrend():
    frame, first = staggered_panel(pretrend=0.25, seed=2)
    data = assign_treatment(frame, first_year=first, **KW).data
    es = event_study(data, "y", **KW)
    assert es.pretrend["p_value"] < 1e-4


def test_binned_end_points(homogeneous):
    data, _ = homogeneous
    from spillmap.models.did._did import event_dummies

    frame, names, times = event_dummies(data, leads=3, lags=2)
    et = data["event_time"]
    np.testing.assert_array_equal(frame["et_m3"], (et <= -3).fillna(False).astype(int))
    np.testing.assert_array_equal(frame["et_p2"], (et >= 2).fillna(False).astype(int))
    assert "et_m1" not in names and times["et_p0"] == 0


def test_robust_estimator_fixes_twfe_bias():
    """Effects grow with time since treatment: TWFE (forbidden comparisons) is biased, did2s is not."""
    frame, first = staggered_panel(n=300, growth=0.4, seed=3)
    data = assign_treatment(frame, first_year=first, **KW).data
    treated = data[data["did"] == 1]
    true_att = float((1.0 + 0.4 * treated["event_time"].astype(float)).mean())
    comparison = compare_estimators(data, "y", controls=["x1", "x2"], **KW)
    att = comparison.att
    assert abs(att.loc["did2s", "estimate"] - true_att) < 3 * att.loc["did2s", "se"]
    assert abs(att.loc["twfe", "estimate"] - true_att) > 5 * att.loc["twfe", "se"]
    assert [s.estimator for s in comparison.event_studies] == ["twfe", "did2s", "saturated"]
    robust = comparison.event_studies[1].table
    for k in (0, 1, 2):
        assert abs(robust.loc[k, "estimate"] - (1.0 + 0.4 * k)) < 3 * robust.loc[k, "se"]


def test_plots(homogeneous, tmp_path):
    from spillmap.models._plots import save_figure

    data, _ = homogeneous
    es = event_study(data, "y", **KW)
    written = save_figure(es.plot(), tmp_path / "event_study")
    assert [p.name for p in written] == ["event_study.png", "event_study.svg"]
    assert all(p.stat().st_size > 1000 for p in written)


#: Gardner's two-stage estimate in closed form (dense least squares) against spillmap's did2s: both exact.
RTOL_DID2S = 1e-10


def test_did2s_equals_exact_two_stage_and_pyfixest(homogeneous):
    """did2s ATT equals the dense two-stage solution; standard error equals pyfixest's ``| id + time`` form.

    spillmap absorbs only the unit effect (period effects as dummies) so that the estimate does not
    depend on PYTHONHASHSEED; pyfixest's two-effect form recovers the effects by lsqr (atol 1e-6),
    so its estimate is compared at that tolerance only.
    """
    data, _ = homogeneous
    att = compare_estimators(data, "y", controls=["x1", "x2"], **KW).att.loc["did2s"]
    units = pd.factorize(data["unit"])[0]
    years = pd.factorize(data["year"])[0]
    design = np.column_stack([data[["x1", "x2"]].to_numpy(float), np.eye(units.max() + 1)[units],
                              np.eye(years.max() + 1)[years][:, 1:]])
    untreated = data["did"].to_numpy() == 0
    y = data["y"].to_numpy(float)
    beta = np.linalg.lstsq(design[untreated], y[untreated], rcond=None)[0]
    d = data["did"].to_numpy(float)
    assert att["estimate"] == pytest.approx(d @ (y - design @ beta) / (d @ d), rel=RTOL_DID2S)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.did2s(data.copy(), yname="y", first_stage="~ x1 + x2 | unit + year", second_stage="~ did",
                       treatment="did", cluster="unit")
    assert att["estimate"] == pytest.approx(ref.coef()["did"], rel=1e-5)  # lsqr atol 1e-6 in pyfixest's form
    assert att["se"] == pytest.approx(ref.se()["did"], rel=1e-5)


def test_units_treated_from_first_period_dropped():
    frame, first = staggered_panel(n=40, seed=2)
    first = first.copy()
    early = list(first.index[:7])
    first[early[:4]] = 2010  # the panel's first year
    first[early[4:]] = 2005  # before the panel
    before = frame.copy()
    with pytest.warns(AlwaysTreatedWarning) as record:
        treated = assign_treatment(frame, first_year=first, **KW)
    assert len(record) == 1
    message = str(record[0].message)
    assert message.startswith("7 unit(s) treated from the first year 2010: no pre-treatment period; dropped, as csdid/R did do")
    assert "and 2 more" in message
    assert sorted(treated.report.treated_from_first_year) == sorted(early)
    assert treated.report.to_dict()["treated_from_first_year"] == [str(u) for u in treated.report.treated_from_first_year]
    assert not treated.data["unit"].isin(early).any()
    assert 2005 not in treated.report.treated_by_year and 2010 not in treated.report.treated_by_year
    pd.testing.assert_frame_equal(frame, before)
