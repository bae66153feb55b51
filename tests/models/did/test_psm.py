"""PSM-DID: bias removal under covariate-driven trends, balance, inputs kept, errors.

A simulated staggered panel where the chance of treatment rises with a
covariate x1 that also steepens the outcome trend: naive TWFE is biased far
beyond its SE, PSM-DID (nearest with caliper or kernel, pooled or by
treatment year) recovers the true effect within 3 of its own SEs; the
standardised difference of x1 shrinks after matching; the input frame is
unchanged; a caliper inside which no treated unit finds a control is one
EstimationError naming the closest distance; missing columns and bad
arguments are clear errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spillmap.errors import EstimationError, MissingColumnError, PanelShapeError
from spillmap.models.did import fit_did, psm_did

TAU = 1.0
# PSM-DID must land within this many of its own (clustered) SEs of the truth.
Z_TOL = 3.0


def panel(seed: int = 0, n: int = 300, trend: float = 0.3) -> pd.DataFrame:
    """y = α_i + 0.1·t + trend·x_i·t + τ·D_it + ε; P(treated) = logistic(1.5·x_i − 0.5); waves 2004/2006."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    treated = rng.random(n) < 1 / (1 + np.exp(-(1.5 * x - 0.5)))
    first = np.where(treated, rng.choice([2004, 2006], size=n), np.nan)
    alpha = rng.normal(size=n)
    rows = []
    for i in range(n):
        for t in range(2000, 2010):
            d = int(treated[i] and t >= first[i])
            rows.append({"id": f"u{i:03d}", "year": t, "first_year": first[i], "did": d,
                         "x1": x[i] + 0.2 * rng.normal(), "x2": rng.normal(),
                         "y": alpha[i] + 0.1 * (t - 2000) + trend * x[i] * (t - 2000) + TAU * d + rng.normal()})
    frame = pd.DataFrame(rows)
    frame["first_year"] = frame["first_year"].astype("Int64")
    return frame


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return panel()


def run(data: pd.DataFrame, **kw):
    return psm_did(data, "y", id_col="id", time_col="year", covariates=kw.pop("covariates", ["x1", "x2"]), **kw)


def test_naive_twfe_is_biased(data):
    naive = fit_did(data, "y", id_col="id", time_col="year")
    assert abs(naive.estimate - TAU) > 5 * naive.se


@pytest.mark.parametrize("method", ["nearest", "kernel"])
@pytest.mark.parametrize("pooled", [True, False])
def test_psm_did_recovers_effect(data, method, pooled):
    res = run(data, method=method, pooled=pooled)
    assert abs(res.att - TAU) < Z_TOL * res.se
    assert 0 < res.n_matched <= res.n_treated
    assert res.n_controls > 0
    assert res.method == method and res.pooled is pooled


@pytest.mark.parametrize("method", ["nearest", "kernel"])
def test_balance_improves(data, method):
    bal = run(data, method=method).balance.set_index("covariate")
    assert list(bal.columns) == ["mean_treated_before", "mean_control_before", "smd_before",
                                 "mean_treated_after", "mean_control_after", "smd_after"]
    assert abs(bal.loc["x1", "smd_after"]) < abs(bal.loc["x1", "smd_before"])
    assert abs(bal.loc["x1", "smd_before"]) > 0.5  # the confounder is badly imbalanced before
    assert abs(bal.loc["x1", "smd_after"]) < 0.1


def test_nearest_weights_count_reuse(data):
    res = run(data)
    scores = res.scores
    treated_w = scores.loc[scores["treated"] == 1, "weight"]
    assert set(treated_w.unique()) <= {0.0, 1.0}
    # with replacement: control weights sum to the matched treated count
    assert scores.loc[scores["treated"] == 0, "weight"].sum() == pytest.approx(res.n_matched)


def test_tidy_and_dict(data):
    res = run(data)
    tidy = res.tidy()
    assert len(tidy) == 1 and tidy.loc[0, "term"] == "did"
    assert tidy.loc[0, "estimate"] == pytest.approx(res.att)
    d = res.to_dict()
    assert d["att"] == pytest.approx(res.att) and d["max_abs_smd_after"] < d["max_abs_smd_before"]
    assert "did" in res.to_markdown()


def test_input_unchanged(data):
    before = data.copy(deep=True)
    run(data, method="kernel", pooled=False)
    pd.testing.assert_frame_equal(data, before)


def test_caliper_matching_nothing_is_one_error(data):
    with pytest.raises(EstimationError, match=r"(?s)no treated unit.*caliper.*closest pair differs by"):
        run(data, caliper=1e-12)


def test_errors(data):
    with pytest.raises(MissingColumnError, match="nope"):
        run(data, covariates=["nope"])
    with pytest.raises(PanelShapeError, match="method"):
        run(data, method="radius")
    with pytest.raises(PanelShapeError, match="caliper"):
        run(data, caliper=0)
    never = data.assign(first_year=pd.array([pd.NA] * len(data), dtype="Int64"))
    with pytest.raises(EstimationError, match="treated and never-treated"):
        run(never)
