"""Bad panels and options give one clear error naming what is wrong.

Cases: unknown columns (listed with the available ones), a bad formula,
non-numeric columns, missing values (columns and (unit, period) pairs
named), repeated (unit, period) rows, an unbalanced panel (units named),
panel units missing from the weights and the reverse, a single period,
time-invariant X under unit effects, W·X constant across units under time
effects, perfectly collinear columns, unknown durbin names, bad model/fe/
engine options, spreg engine outside its scope, and the bias-corrected ρ
refused outside the stable interval.
"""

from __future__ import annotations

import numpy as np
import pytest

from spillmap.errors import CollinearityError, EstimationError, MissingColumnError, PanelShapeError
from spillmap.models import fit_spatial_panel

from ..conftest import ring_lattice, simulate_sdm


@pytest.fixture(scope="module")
def setup():
    graph = ring_lattice(20, k=2)
    data = simulate_sdm(graph, 5, rho=0.3, beta=(1.0, -0.5), theta=(0.5, 0.2), seed=1)
    return graph, data


def _fit(setup, data=None, formula="y ~ x1 + x2", **kwargs):
    graph, base = setup
    kwargs.setdefault("weights", graph)
    return fit_spatial_panel(base if data is None else data, formula, id_col="unit", time_col="year", **kwargs)


def test_unknown_column(setup):
    with pytest.raises(MissingColumnError, match=r"has no column 'x9'; its columns are: unit, year, y, x1, x2"):
        _fit(setup, formula="y ~ x1 + x9")


@pytest.mark.parametrize("formula", ["y x1", "y ~", "~ x1", "y ~ x1 + + x2"])
def test_bad_formula(setup, formula):
    with pytest.raises(PanelShapeError, match="write it as 'y ~ x1 \\+ x2'"):
        _fit(setup, formula=formula)


def test_repeated_regressor(setup):
    with pytest.raises(PanelShapeError, match="names 'x1' more than once"):
        _fit(setup, formula="y ~ x1 + x1")


def test_non_numeric(setup):
    data = setup[1].assign(x2=setup[1]["x2"].astype(str))
    with pytest.raises(PanelShapeError, match=r"column\(s\) 'x2' are not numeric"):
        _fit(setup, data)


def test_missing_values_named(setup):
    data = setup[1].copy()
    data.loc[3, "x1"] = np.nan
    data.loc[7, "y"] = np.inf
    with pytest.raises(PanelShapeError, match=r"missing or infinite values: 'y' 1 row\(s\), 'x1' 1 row\(s\); e.g. at \(unit, period\) \(u003, 2000\), \(u007, 2000\)"):
        _fit(setup, data)


def test_repeated_rows(setup):
    data = setup[1]
    doubled = data._append(data.iloc[[4]]) if hasattr(data, "_append") else None
    import pandas as pd

    doubled = pd.concat([data, data.iloc[[4]]], ignore_index=True)
    with pytest.raises(PanelShapeError, match=r"1 \(unit, period\) pair\(s\) on more than one row, e.g. \(u004, 2000\)"):
        _fit(setup, doubled)


def test_unbalanced(setup):
    data = setup[1].drop(index=[0, 45])
    with pytest.raises(PanelShapeError, match=r"unbalanced: 2 unit\(s\) lack some of the 5 periods \(e.g. 'u000', 'u005'\)"):
        _fit(setup, data)


def test_units_must_match_weights(setup):
    data = setup[1].copy()
    data.loc[data["unit"] == "u019", "unit"] = "zz99"
    with pytest.raises(PanelShapeError, match=r"1 unit\(s\) of the panel have no row in the weights: 'zz99'; 1 unit\(s\) of the weights have no rows in the panel: 'u019'"):
        _fit(setup, data)


def test_single_period(setup):
    data = setup[1][setup[1]["year"] == 2000]
    with pytest.raises(PanelShapeError, match="single period"):
        _fit(setup, data)


def test_time_invariant_regressor_under_unit_effects(setup):
    data = setup[1].assign(area=setup[1]["unit"].str[1:].astype(float))
    with pytest.raises(CollinearityError, match=r"'area', 'W·area' are constant within each unit .* unit fixed effects"):
        _fit(setup, data, formula="y ~ x1 + area", fe="unit")


def test_wx_of_period_constant_variable_under_time_effects(setup):
    data = setup[1].assign(trend=setup[1]["year"] - 2000.0)
    with pytest.raises(CollinearityError, match=r"'trend', 'W·trend' are constant within each period"):
        _fit(setup, data, formula="y ~ x1 + trend", fe="time")


def test_collinear_columns(setup):
    data = setup[1].assign(x3=2 * setup[1]["x1"] - setup[1]["x2"])
    with pytest.raises(CollinearityError, match=r"perfect linear combinations"):
        _fit(setup, data, formula="y ~ x1 + x2 + x3", model="sar")


def test_rho_not_identified_with_equal_weights_and_time_effects(setup):
    import scipy.sparse as sp
    from libpysal.graph import Graph

    data = setup[1]
    n = data["unit"].nunique()
    everyone = Graph.from_sparse(sp.csr_array(np.ones((n, n)) - np.eye(n)), ids=sorted(data["unit"].unique()))
    with pytest.raises(EstimationError, match="ρ is not identified: after removing the twoways fixed effects W·y is proportional to y"):
        _fit(setup, weights=everyone, model="sar")


def test_options(setup):
    with pytest.raises(PanelShapeError, match=r"durbin names 'x7', which are not regressors \(x1, x2\)"):
        _fit(setup, durbin=["x7"])
    with pytest.raises(EstimationError, match="model must be one of sar, sem, sdm, sdem, slx"):
        _fit(setup, model="sac")
    with pytest.raises(EstimationError, match="fe must be one of unit, time, twoways"):
        _fit(setup, fe="none")
    with pytest.raises(EstimationError, match="engine='spreg' supports unit fixed effects without Lee–Yu"):
        _fit(setup, engine="spreg", fe="twoways")
    with pytest.raises(EstimationError, match="applies to SAR/SDM with two-way fixed effects"):
        _fit(setup, model="sem", bias_correction=True)


def test_bias_correction_refused_outside_stable_interval(setup, monkeypatch):
    """The guard on the bias-correction formula.

    The formula adds T·I⁻¹[0; 1/(1−ρ); 1/(2σ²)] to the direct estimates; when
    the likelihood is flat in ρ (weak identification: a peer reports ρ = 1.52
    on a real panel) the shift is large. No small simulated panel tried here
    is that flat, so the information matrix is flattened in ρ (its ρ row and
    column divided by 40) to stand for one, and the fit must be refused.
    """
    from spillmap.models.panel import _ml

    real = _ml._lag_information

    def flat_in_rho(z, beta, rho, sigma2, w, design):
        info = real(z, beta, rho, sigma2, w, design).copy()
        k = len(beta)
        info[k, :] /= 40.0
        info[:, k] /= 40.0
        return info

    kwargs = dict(model="sdm", fe="twoways")
    assert _fit(setup, bias_correction=True, **kwargs).rho < 1.0  # the real fit passes the guard
    monkeypatch.setattr(_ml, "_lag_information", flat_in_rho)
    with pytest.raises(EstimationError, match=r"bias-corrected ρ = \d+\.\d+ lies outside the stable interval \(-?\d\.\d+, 1\.0000\) \(uncorrected ρ = 0\.\d+\).*Use the Lee–Yu transformation"):
        _fit(setup, bias_correction=True, **kwargs)
