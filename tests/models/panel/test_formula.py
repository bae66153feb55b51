"""Formulas with transforms, categoricals, interactions and a fixed-effects part.

Cases: np.log / C() / a:b / a*b / I() give the same estimates as the same
model on a hand-built frame with those columns (shuffled rows, string ids);
design and W· lag names read as written; ``| unit + year`` equals
fe="twoways" and ``| unit`` equals fe="unit"; ``- 1`` changes nothing; a
time-invariant C() under unit effects is dropped with a warning naming it;
the LM tests read the same formulas; bad terms, unknown columns and
functions, a bad ``|`` term, ``|`` disagreeing with fe=, and the log of zero
each give one message naming the term; the caller's frame is unchanged;
old bare-name formulas still parse.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from spillmap.models.panel import (
    fit_spatial_panel,
    panel_lm_tests,
    parse_formula,
    parse_panel_formula,
)

from spillmap.errors import (
    EstimationError,
    MissingColumnError,
    PanelShapeError,
    SpillmapWarning,
)

from ..conftest import ring_lattice, simulate_sdm

RTOL_CLOSED = 1e-10  # same design columns, same deterministic optimiser path: equal to rounding


@pytest.fixture(scope="module")
def setup():
    graph = ring_lattice(20, k=2)
    data = simulate_sdm(graph, 5, rho=0.3, beta=(1.0, -0.5), theta=(0.5, 0.2), seed=3)
    rng = np.random.default_rng(7)
    data["x3"] = rng.normal(size=len(data))
    data["x4"] = rng.normal(size=len(data))
    data["pop"] = np.exp(data["x2"])
    data["grp"] = rng.choice(["p", "q", "r"], len(data))
    data["region"] = data["unit"].map(lambda u: "abc"[int(u[1:]) % 3])
    data["out"] = np.exp(data["y"] / 10)
    return graph, data.sample(frac=1.0, random_state=1).reset_index(drop=True)


def _fit(setup, formula, data=None, **kwargs):
    graph, base = setup
    return fit_spatial_panel(base if data is None else data, formula, id_col="unit", time_col="year", weights=graph, **kwargs)


def _hand_built(data):
    return pd.DataFrame({
        "unit": data["unit"], "year": data["year"], "ly": np.log(data["out"]), "x1": data["x1"],
        "lpop": np.log(data["pop"]), "gq": (data["grp"] == "q").astype(float), "gr": (data["grp"] == "r").astype(float),
        "x1x3": data["x1"] * data["x3"], "x4": data["x4"], "x1x4": data["x1"] * data["x4"], "x1sq": data["x1"] ** 2,
    })


@pytest.mark.parametrize("model", ["sdm", "sem"])
def test_formula_equals_hand_built_columns(setup, model):
    formula = "np.log(out) ~ x1 + np.log(pop) + C(grp) + x1:x3 + x1*x4 + I(x1**2) | unit + year"
    fit = _fit(setup, formula, model=model)
    hand = _fit(setup, "ly ~ x1 + lpop + gq + gr + x4 + x1sq + x1x3 + x1x4", data=_hand_built(setup[1]), model=model)
    names = ["x1", "np.log(pop)", "C(grp)[T.q]", "C(grp)[T.r]", "x4", "I(x1 ** 2)", "x1:x3", "x1:x4"]
    assert list(fit.x_names) == names
    assert fit.y_name == "np.log(out)"
    np.testing.assert_allclose(fit.params.to_numpy(), hand.params.to_numpy(), rtol=RTOL_CLOSED, atol=1e-12)
    np.testing.assert_allclose(fit.vcov.to_numpy(), hand.vcov.to_numpy(), rtol=1e-8, atol=1e-12)
    if model == "sdm":
        assert "W·np.log(pop)" in fit.params.index and "W·C(grp)[T.q]" in fit.params.index
        assert "W·x1:x3" in fit.params.index


def test_fe_part_equals_fe_option(setup):
    base = "np.log(out) ~ x1 + np.log(pop)"
    for part, fe in (("unit + year", "twoways"), ("year + unit", "twoways"), ("unit", "unit"), ("year", "time")):
        a, b = _fit(setup, f"{base} | {part}"), _fit(setup, base, fe=fe)
        assert a.fe == fe
        np.testing.assert_allclose(a.params.to_numpy(), b.params.to_numpy(), rtol=RTOL_CLOSED)
    assert _fit(setup, base).fe == "twoways"


def test_intercept_removal_changes_nothing(setup):
    a = _fit(setup, "y ~ x1 + C(grp) - 1", model="sar")
    b = _fit(setup, "y ~ 0 + x1 + C(grp)", model="sar")
    c = _fit(setup, "y ~ x1 + C(grp)", model="sar")
    assert list(a.x_names) == list(b.x_names) == ["x1", "C(grp)[T.q]", "C(grp)[T.r]"]
    np.testing.assert_allclose(a.params.to_numpy(), c.params.to_numpy(), rtol=RTOL_CLOSED)
    np.testing.assert_allclose(b.params.to_numpy(), c.params.to_numpy(), rtol=RTOL_CLOSED)


def test_time_invariant_categorical_dropped_with_warning(setup):
    with pytest.warns(SpillmapWarning, match=r"term 'C\(region\)' \(2 dummy column\(s\)\) is constant within each unit"):
        fit = _fit(setup, "y ~ x1 + C(region) + x1:C(region) | unit")
    assert "C(region)[T.b]" not in fit.x_names
    assert "x1:C(region)[T.b]" in fit.x_names


def test_lm_tests_read_formulas(setup):
    graph, data = setup
    a = panel_lm_tests(data, "np.log(out) ~ x1 + np.log(pop) | unit", id_col="unit", time_col="year", weights=graph)
    b = panel_lm_tests(_hand_built(data), "ly ~ x1 + lpop", id_col="unit", time_col="year", weights=graph, fe="unit")
    assert a["lm_lag"].statistic == pytest.approx(b["lm_lag"].statistic, rel=RTOL_CLOSED)


def test_caller_frame_unchanged(setup):
    data = setup[1].copy()
    data.index = data.index * 3 + 5  # not a RangeIndex
    before = data.copy()
    _fit(setup, "np.log(out) ~ scale(x4) + C(grp) + x1*x3 | unit + year", data=data, model="sar")
    pd.testing.assert_frame_equal(data, before)


@pytest.mark.parametrize(
    ("formula", "error", "pattern"),
    [
        ("y ~ x1 + zz", MissingColumnError, r"has no column 'zz'; its columns are: unit, year"),
        ("y ~ x1 + np.lg(x2)", PanelShapeError, r"cannot be evaluated: Unable to evaluate factor `np.lg\(x2\)`"),
        ("y ~ x1 + sqrt(x2)", MissingColumnError, r"no column 'sqrt' \('sqrt' used as a function: write np.sqrt"),
        ("y ~ (x1 + x2", PanelShapeError, r"Cannot read the formula .*write it as 'y ~ x1 \+ x2'"),
        ("y ~ x1 + + x2", PanelShapeError, r"write it as 'y ~ x1 \+ x2'"),
        ("y + x1 ~ x2 + x3", PanelShapeError, r"the left of '~' must be one outcome"),
        ("y ~ x1 | region", PanelShapeError, r"after '\|' .* name 'region'; allowed are '\| unit' \(unit\), '\| year'"),
        ("y ~ x1 | unit^year", PanelShapeError, r"name 'unit\^year'; allowed are"),
        ("y ~ x1 | unit | year", PanelShapeError, r"has 2 '\|' parts"),
        ("y ~ x1 + np.log(x2) | unit", PanelShapeError, r"term 'np.log\(x2\)' of the formula is missing or infinite on \d+ row"),
    ],
)
def test_bad_formulas_give_one_message(setup, formula, error, pattern):
    with pytest.raises(error, match=pattern):
        _fit(setup, formula)


def test_fe_conflict(setup):
    with pytest.raises(EstimationError, match=r"formula asks for unit fixed effects \('\| unit'\) but fe='twoways'"):
        _fit(setup, "y ~ x1 + np.log(pop) | unit", fe="twoways")
    assert _fit(setup, "y ~ x1 | unit", fe="unit", model="sar").fe == "unit"  # agreeing is fine


def test_missing_input_named_as_column(setup):
    data = setup[1].copy()
    data.loc[4, "pop"] = np.nan
    with pytest.raises(PanelShapeError, match=r"missing or infinite values: 'pop' 1 row\(s\)"):
        _fit(setup, "y ~ x1 + np.log(pop)", data=data)


def test_parse_without_data_and_old_parser():
    spec = parse_panel_formula("np.log(out) ~ x1 + C(grp) + x1:x3 | unit + year", id_col="unit", time_col="year")
    assert spec.fe == "twoways" and spec.y_columns == ("out",) and spec.x_columns == ("x1", "grp", "x3")
    dotted = parse_panel_formula("y ~ gdp.pc + x1", id_col="unit", time_col="year")
    assert dotted.columns_in(["y", "gdp.pc", "x1"]) == ("y", "gdp.pc", "x1")
    assert parse_formula("y ~ x1 + x2") == ("y", ["x1", "x2"])
