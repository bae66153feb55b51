"""Callaway & Sant'Anna ATT(g,t) and aggregations (spillmap.models.did.callaway_santanna, via csdid).

Cases: the R ``did`` vignette on mpdta (tests/data/mpdta.md): 12 ATT(g,t), the simple / group /
dynamic / calendar overall ATTs to the printed 4 decimals and their analytic SEs within 10 %, the
doubly robust simple ATT with ``lpop``; a simulated staggered panel whose effects grow with
exposure, where TWFE is biased and CS recovers the true simple ATT within 3 SE; a no-effect panel
with overall ATTs within 3 SE of 0; not-yet-treated controls and a universal base period run; an
unbalanced panel uses its balanced sub-panel with one warning naming the dropped units; units
treated from the first period are dropped with a warning; string ids and shuffled rows give the
same numbers; the input is not modified; the same data give the same bytes; a TreatmentPanel is
accepted; error messages (no never-treated units, absent column, bad options, first year varying
within a unit); the tidy frames, to_dict (JSON), statsmodels names and the plot.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spillmap.errors import EstimationError, MissingColumnError, PanelShapeError
from spillmap.models import assign_treatment, fit_did
from spillmap.models.did import AlwaysTreatedWarning, CSResult, UnbalancedPanelWarning, callaway_santanna

from ..did_data import staggered_panel

MPDTA = Path(__file__).resolve().parents[2] / "data" / "mpdta.csv"
MP = dict(id_col="countyreal", time_col="year", first_year_col="fy")

#: The vignette prints 4 decimals: a point estimate matches when within half a unit of the 4th.
ATOL_PRINTED = 5e-5
#: Analytic (influence-function) SEs against the vignette's: csdid reproduces them to < 1 %; 10 %
#: leaves room for the vignette's rounding to 2-3 significant digits.
RTOL_SE = 0.10
#: Monte Carlo checks: the truth within this many standard errors.
N_SE = 3.0

# R did, att_gt(yname="lemp", tname="year", idname="countyreal", gname="first.treat", xformla=~1,
# data=mpdta), never-treated controls, varying base period, no anticipation (tests/data/mpdta.md)
ATT_GT = {
    (2004, 2004): (-0.0105, 0.023), (2004, 2005): (-0.0704, 0.031), (2004, 2006): (-0.1373, 0.036),
    (2004, 2007): (-0.1008, 0.034), (2006, 2004): (0.0065, 0.023), (2006, 2005): (-0.0028, 0.020),
    (2006, 2006): (-0.0046, 0.018), (2006, 2007): (-0.0412, 0.020), (2007, 2004): (0.0305, 0.015),
    (2007, 2005): (-0.0027, 0.016), (2007, 2006): (-0.0311, 0.018), (2007, 2007): (-0.0261, 0.017),
}
OVERALL = {"simple": (-0.0400, 0.012), "group": (-0.0310, 0.012), "dynamic": (-0.0772, 0.020),
           "calendar": (-0.0417, 0.017)}
#: aggte(att_gt(..., xformla=~lpop), type="simple"), doubly robust
SIMPLE_DR_LPOP = -0.0418


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    data = pd.read_csv(MPDTA)
    data["fy"] = data["first.treat"].where(data["first.treat"] > 0)  # R codes never-treated as 0
    return data


@pytest.fixture(scope="module")
def mp_fit(mpdta) -> CSResult:
    return callaway_santanna(mpdta, "lemp", **MP)


def test_mpdta_att_gt_matches_vignette(mp_fit):
    table = mp_fit.att_gt.set_index(["group", "time"])
    assert len(table) == len(ATT_GT)
    for key, (est, se) in ATT_GT.items():
        assert table.loc[key, "estimate"] == pytest.approx(est, abs=ATOL_PRINTED), key
        assert table.loc[key, "se"] == pytest.approx(se, rel=RTOL_SE), key
    assert (table["event_time"] == [t - g for g, t in table.index]).all()


@pytest.mark.parametrize("kind", list(OVERALL))
def test_mpdta_aggregations_match_vignette(mp_fit, kind):
    est, se = OVERALL[kind]
    frame = mp_fit.aggregate(kind)
    assert frame.loc[0, "term"] == "overall"
    assert frame.loc[0, "estimate"] == pytest.approx(est, abs=ATOL_PRINTED)
    assert frame.loc[0, "se"] == pytest.approx(se, rel=RTOL_SE)
    assert mp_fit.overall[kind] == frame.loc[0, "estimate"]
    rows = {"simple": [], "group": ["2004", "2006", "2007"], "dynamic": ["-3", "-2", "-1", "0", "1", "2", "3"],
            "calendar": ["2004", "2005", "2006", "2007"]}[kind]
    assert frame["term"].tolist()[1:] == rows


def test_mpdta_doubly_robust_with_lpop(mpdta):
    res = callaway_santanna(mpdta, "lemp", controls=["lpop"], **MP)
    assert res.overall["simple"] == pytest.approx(SIMPLE_DR_LPOP, abs=ATOL_PRINTED)


def test_mpdta_options_and_exports(mpdta, mp_fit):
    notyet = callaway_santanna(mpdta, "lemp", control_group="notyet", base_period="universal", **MP)
    assert np.isfinite(list(notyet.overall.values())).all()
    dyn = notyet.aggregate("dynamic").set_index("term")
    assert dyn.loc["-1", "estimate"] == 0.0  # universal base: event time −1 is the base
    payload = json.loads(json.dumps(mp_fit.to_dict()))
    assert payload["estimator"] == "callaway_santanna" and payload["n_units"] == 500 and payload["n_groups"] == 3
    assert payload["estimate"] == pytest.approx(OVERALL["simple"][0], abs=ATOL_PRINTED)
    assert list(mp_fit.params.index) == ["simple", "group", "dynamic", "calendar"]
    ci = mp_fit.conf_int()
    assert (ci[0] < mp_fit.params).all() and (mp_fit.params < ci[1]).all()
    assert list(mp_fit.to_frame().columns) == ["group", "time", "estimate", "se", "ci_low", "ci_high", "p_value",
                                              "event_time"]
    assert "| group |" in mp_fit.to_markdown()
    fig = mp_fit.plot()
    assert fig.axes and "dynamic" in fig.axes[0].get_title()


def test_same_bytes_and_input_untouched(mpdta):
    before = mpdta.copy()
    shuffled = mpdta.sample(frac=1.0, random_state=3).assign(countyreal=lambda f: "c" + f["countyreal"].astype(str))
    kept = shuffled.copy()
    a = callaway_santanna(mpdta, "lemp", **MP)
    b = callaway_santanna(shuffled, "lemp", **MP)
    pd.testing.assert_frame_equal(mpdta, before)
    pd.testing.assert_frame_equal(shuffled, kept)
    assert a.to_frame().to_csv() == callaway_santanna(mpdta, "lemp", **MP).to_frame().to_csv()
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame(), rtol=1e-10)


# ---------------------------------------------------------------- simulations

def _true_simple(frame: pd.DataFrame, first: pd.Series, growth: float) -> float:
    """Average of τ_it = 1 + growth·(t − g) over treated unit-periods: CS's simple aggregation target."""
    g = frame["unit"].map(first)
    post = frame[g.notna() & (frame["year"] >= g)]
    return float((1.0 + growth * (post["year"] - g[post.index])).mean())


def test_heterogeneous_effects_twfe_biased_cs_recovers():
    frame, first = staggered_panel(n=200, growth=0.4, seed=5)
    data = assign_treatment(frame, first_year=first, id_col="unit", time_col="year").data
    truth = _true_simple(frame, first, growth=0.4)
    cs = callaway_santanna(data, "y", id_col="unit", time_col="year", controls=["x1", "x2"])
    twfe = fit_did(data, "y", id_col="unit", time_col="year", controls=["x1", "x2"])
    simple = cs.aggregate("simple").iloc[0]
    assert abs(simple["estimate"] - truth) < N_SE * simple["se"]
    assert abs(twfe.estimate - truth) > N_SE * twfe.se  # the forbidden comparisons bias TWFE
    dyn = cs.aggregate("dynamic").set_index("value")
    for e in (0, 2, 4):
        assert abs(dyn.loc[e, "estimate"] - (1.0 + 0.4 * e)) < N_SE * dyn.loc[e, "se"]


def test_no_effect_overall_near_zero():
    frame, first = staggered_panel(n=160, effect=0.0, seed=11)
    data = assign_treatment(frame, first_year=first, id_col="unit", time_col="year")
    cs = callaway_santanna(data, "y", id_col="unit", time_col="year")  # a TreatmentPanel is accepted
    for kind, row in cs._overall_table().iterrows():
        assert abs(row["estimate"]) < N_SE * row["se"], kind


# ---------------------------------------------------------------- panel shape

def test_unbalanced_panel_uses_balanced_subpanel(mpdta, mp_fit):
    gone = mpdta[~((mpdta["countyreal"] == 8001) & (mpdta["year"] == 2005))
                 & ~((mpdta["countyreal"] == 8019) & (mpdta["year"] == 2003))]
    with pytest.warns(UnbalancedPanelWarning, match=r"2 of 500 unit\(s\).*8001, 8019") as record:
        res = callaway_santanna(gone, "lemp", **MP)
    assert len([w for w in record if issubclass(w.category, UnbalancedPanelWarning)]) == 1
    assert res.n_units == 498 and res.dropped_unbalanced == (8001, 8019)
    assert res.n_obs == 498 * 5
    assert res.overall["simple"] != mp_fit.overall["simple"]


def test_units_treated_from_first_period_dropped(mpdta):
    early = mpdta.assign(fy=mpdta["fy"].mask(mpdta["countyreal"].isin([8001, 8019]), 2003))
    with pytest.warns(AlwaysTreatedWarning, match=r"2 unit\(s\) treated from the first year 2003.*dropped"):
        res = callaway_santanna(early, "lemp", **MP)
    assert res.dropped_always_treated == (8001, 8019) and res.n_units == 498


# ---------------------------------------------------------------- errors

def test_no_never_treated_suggests_notyet(mpdta):
    treated = mpdta[mpdta["fy"].notna()]
    with pytest.raises(EstimationError, match="No never-treated unit.*control_group='notyet'"):
        callaway_santanna(treated, "lemp", **MP)
    res = callaway_santanna(treated, "lemp", control_group="notyet", **MP)
    assert res.n_groups == 3 and np.isfinite(res.overall["simple"])


def test_bad_inputs_one_message(mpdta):
    with pytest.raises(MissingColumnError, match="'first_year'.*assign_treatment"):
        callaway_santanna(mpdta, "lemp", id_col="countyreal", time_col="year")
    with pytest.raises(EstimationError, match="control_group must be 'never' or 'notyet'"):
        callaway_santanna(mpdta, "lemp", control_group="nevertreated", **MP)
    with pytest.raises(EstimationError, match="base_period"):
        callaway_santanna(mpdta, "lemp", base_period="first", **MP)
    with pytest.raises(EstimationError, match="kind must be one of"):
        callaway_santanna(mpdta, "lemp", **MP).aggregate("event")
    varying = mpdta.assign(fy=np.where((mpdta["countyreal"] == 8001) & (mpdta["year"] == 2003), 2005, mpdta["fy"]))
    with pytest.raises(PanelShapeError, match="varies within units 8001"):
        callaway_santanna(varying, "lemp", **MP)
    with pytest.raises(PanelShapeError, match="missing values"):
        callaway_santanna(mpdta.assign(lemp=mpdta["lemp"].where(mpdta.index != 4)), "lemp", **MP)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean fit warns nothing
        callaway_santanna(mpdta, "lemp", **MP)
