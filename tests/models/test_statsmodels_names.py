"""Result objects answer to statsmodels' names (bse, tvalues, pvalues, conf_int(), nobs, llf, cov_params())
with the same numbers as their own tables: a spatial panel fit (Cigar, SDM) and a TWFE DID."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from spillmap.models import fit_did, fit_spatial_panel

#: Intervals are recomputed from the same estimate and se: only rounding separates them.
RTOL = 1e-10


def test_spatial_panel_result(cigar, cigar_graph):
    res = fit_spatial_panel(cigar, "logc ~ logp + logy", id_col="state", time_col="year", weights=cigar_graph,
                            model="sdm")
    tidy = res.tidy()
    np.testing.assert_allclose(res.bse, tidy["se"], rtol=RTOL)
    np.testing.assert_allclose(res.tvalues, tidy["z"], rtol=RTOL)
    np.testing.assert_allclose(res.pvalues, tidy["p_value"], rtol=RTOL)
    ci = res.conf_int()
    np.testing.assert_allclose(ci[0], tidy["ci_low"], rtol=RTOL)
    np.testing.assert_allclose(ci[1], tidy["ci_high"], rtol=RTOL)
    assert (res.conf_int(0.10)[1] < ci[1]).all()
    assert res.nobs == res.n_obs and res.llf == res.loglik
    assert res.cov_params().equals(res.vcov) and res.cov_params() is not res.vcov


def test_did_result():
    rng = np.random.default_rng(0)
    n, t = 40, 8
    frame = pd.DataFrame({"unit": np.repeat(np.arange(n), t), "year": np.tile(np.arange(2010, 2010 + t), n)})
    first = np.where(np.arange(n) < 20, 2014, np.inf)
    frame["did"] = (frame["year"] >= first[frame["unit"]]).astype(float)
    frame["x"] = rng.normal(size=len(frame))
    frame["y"] = frame["did"] + 0.5 * frame["x"] + rng.normal(size=len(frame)) + frame["unit"] * 0.1
    res = fit_did(frame, "y", id_col="unit", time_col="year", controls=["x"])
    assert res.params["did"] == pytest.approx(res.estimate) and res.bse["did"] == pytest.approx(res.se)
    assert res.pvalues["did"] == pytest.approx(res.p_value) and res.nobs == res.n_obs
    ci = res.conf_int()
    np.testing.assert_allclose(ci[0], res.table["ci_low"], rtol=1e-8)
    np.testing.assert_allclose(ci[1], res.table["ci_high"], rtol=1e-8)


def test_spatial_fit_is_a_maketables_column(cigar, cigar_graph):
    """maketables (behind pyfixest's etable) takes a spatial fit by its statsmodels names: head, estimates, N, ll."""
    import maketables

    from spillmap.models import fit_spatial_panel

    res = fit_spatial_panel(cigar, "logc ~ logp + logy", id_col="state", time_col="year", weights=cigar_graph)
    frame = maketables.ETable([res], model_stats=["N", "ll"]).df
    text = frame.to_string()
    assert frame.columns[0][0] == "logc"
    assert f"{res.params['rho']:.3f}" in text and f"({res.bse['W·logy']:.3f})" in text
    assert f"{res.n_obs:,}" in text and f"{res.loglik:,.3f}"[:6] in text
