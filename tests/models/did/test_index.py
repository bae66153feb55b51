"""Entropy-weight composite index: hand computations, invariances and error paths.

Cases: a 4-unit, 3-indicator example (one negative indicator) whose
normalised values, entropies, weights and scores are worked out by hand in the
test (two shifts); two rows give equal weights (closed form); weights sum to 1
and scores stay in [shift, 1 + shift] (hypothesis); invariance to positive
affine rescaling of an indicator and to flipping its sign while moving it to
the other list; shuffled rows and string ids; per-year weights equal separate
pooled fits on each year and differ from the pooled fit; to_frame columns;
inputs not modified; errors: no indicators, an indicator in both lists or
repeated, a bare string instead of a list, missing columns, non-numeric,
NaN and inf (column and rows named, by index, id or (id, year)), a constant
indicator (pooled and within one year), a group with fewer than 2 rows, an
empty group value, a negative shift and shift=0 (which meets the zero that
min–max scaling always produces).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from spillmap.errors import MissingColumnError, PanelShapeError
from spillmap.models.did._index import entropy_index

# Closed forms evaluated in a different order than the implementation: only rounding differs.
ATOL_CLOSED = 1e-12


@pytest.fixture
def small() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "city": ["A", "B", "C", "D"],
            "gdp": [2.0, 4.0, 6.0, 10.0],  # positive
            "edu": [1.0, 1.0, 3.0, 5.0],  # positive
            "unemp": [5.0, 3.0, 4.0, 2.0],  # negative
        }
    )


def _hand_entropy_weights(columns: list[list[float]], shift: float) -> tuple[list[float], list[float], list[float]]:
    """Entropy, weights and scores with plain loops, from already-normalised columns."""
    n = len(columns[0])
    shifted = [[v + shift for v in col] for col in columns]
    entropies = []
    for col in shifted:
        total = sum(col)
        h = 0.0
        for v in col:
            p = v / total
            h += p * math.log(p)
        entropies.append(-h / math.log(n))
    divergences = [1 - e for e in entropies]
    weights = [d / sum(divergences) for d in divergences]
    scores = [sum(weights[j] * shifted[j][i] for j in range(len(columns))) for i in range(n)]
    return entropies, weights, scores


@pytest.mark.parametrize("shift", [1e-4, 0.01])
def test_hand_computed_example(small, shift):
    # gdp: min 2, max 10, range 8  -> (x - 2)/8
    gdp = [0 / 8, 2 / 8, 4 / 8, 8 / 8]
    # edu: min 1, max 5, range 4   -> (x - 1)/4
    edu = [0 / 4, 0 / 4, 2 / 4, 4 / 4]
    # unemp (negative): max 5, min 2, range 3 -> (5 - x)/3
    unemp = [0 / 3, 2 / 3, 1 / 3, 3 / 3]
    entropies, weights, scores = _hand_entropy_weights([gdp, edu, unemp], shift)

    res = entropy_index(small, positive=["gdp", "edu"], negative=["unemp"], id_col="city", shift=shift)

    w = res.weights
    assert list(w.columns) == ["indicator", "direction", "entropy", "divergence", "weight"]
    assert list(w["indicator"]) == ["gdp", "edu", "unemp"]
    assert list(w["direction"]) == ["positive", "positive", "negative"]
    np.testing.assert_allclose(w["entropy"], entropies, rtol=0, atol=ATOL_CLOSED)
    np.testing.assert_allclose(w["divergence"], [1 - e for e in entropies], rtol=0, atol=ATOL_CLOSED)
    np.testing.assert_allclose(w["weight"], weights, rtol=0, atol=ATOL_CLOSED)
    np.testing.assert_allclose(res.scores, scores, rtol=0, atol=ATOL_CLOSED)
    np.testing.assert_allclose(res.normalised["unemp"], [v + shift for v in unemp], rtol=0, atol=ATOL_CLOSED)
    assert res.scores.name == "index"
    assert res.scores.index.equals(small.index)
    # D is best on every indicator and gets the top score; A is worst on every one.
    assert res.scores.idxmax() == 3 and res.scores.idxmin() == 0


def test_two_rows_give_equal_weights():
    # With n = 2 every normalised column is (shift, 1 + shift) up to order: equal entropies.
    df = pd.DataFrame({"a": [1.0, 3.0], "b": [10.0, -4.0], "c": [0.5, 0.7]})
    res = entropy_index(df, positive=["a", "c"], negative=["b"], shift=0.1)
    p, q = 0.1 / 1.2, 1.1 / 1.2
    e = -(p * math.log(p) + q * math.log(q)) / math.log(2)
    np.testing.assert_allclose(res.weights["entropy"], [e] * 3, rtol=0, atol=ATOL_CLOSED)
    np.testing.assert_allclose(res.weights["weight"], [1 / 3] * 3, rtol=0, atol=ATOL_CLOSED)
    np.testing.assert_allclose(res.scores, [0.1, 1.1], rtol=0, atol=ATOL_CLOSED)


@settings(max_examples=40, deadline=None)
@given(
    values=arrays(
        np.float64,
        st.tuples(st.integers(2, 12), st.integers(1, 4)),
        elements=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=32),
    ),
    n_negative=st.integers(0, 4),
)
def test_weights_sum_to_one_and_scores_bounded(values, n_negative):
    columns = [f"x{j}" for j in range(values.shape[1])]
    df = pd.DataFrame(values, columns=columns)
    if (df.max() == df.min()).any():
        return  # constant indicators are rejected (tested below)
    negative = columns[: min(n_negative, len(columns))]
    positive = columns[len(negative) :]
    shift = 1e-4
    res = entropy_index(df, positive=positive, negative=negative, shift=shift)
    assert res.weights["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert (res.weights["weight"] >= 0).all()
    assert ((res.weights["entropy"] >= 0) & (res.weights["entropy"] <= 1 + 1e-12)).all()
    assert (res.scores >= shift - 1e-12).all() and (res.scores <= 1 + shift + 1e-12).all()


def test_affine_rescaling_and_sign_flip_invariance(small):
    base = entropy_index(small, positive=["gdp", "edu"], negative=["unemp"])
    rescaled = small.assign(gdp=small["gdp"] * 1e4 + 7.0, unemp=small["unemp"] * 0.01 - 3.0)
    res = entropy_index(rescaled, positive=["gdp", "edu"], negative=["unemp"])
    np.testing.assert_allclose(res.weights["weight"], base.weights["weight"], rtol=0, atol=ATOL_CLOSED)
    np.testing.assert_allclose(res.scores, base.scores, rtol=0, atol=ATOL_CLOSED)
    # A negative indicator times -1 is a positive indicator with the same information.
    flipped = small.assign(unemp=-small["unemp"])
    res = entropy_index(flipped, positive=["gdp", "edu", "unemp"])
    np.testing.assert_allclose(res.weights["weight"], base.weights["weight"], rtol=0, atol=ATOL_CLOSED)
    np.testing.assert_allclose(res.scores, base.scores, rtol=0, atol=ATOL_CLOSED)


def test_shuffled_rows_and_string_ids(small):
    base = entropy_index(small, positive=["gdp", "edu"], negative=["unemp"], id_col="city")
    shuffled = small.sample(frac=1.0, random_state=3).set_index(pd.Index(["r4", "r1", "r3", "r2"]))
    res = entropy_index(shuffled, positive=["gdp", "edu"], negative=["unemp"], id_col="city")
    np.testing.assert_allclose(res.weights["weight"], base.weights["weight"], rtol=0, atol=ATOL_CLOSED)
    assert res.scores.index.equals(shuffled.index)
    by_city = res.to_frame().set_index("city")["index"]
    expected = base.to_frame().set_index("city")["index"]
    np.testing.assert_allclose(by_city.loc[expected.index], expected, rtol=0, atol=ATOL_CLOSED)


@pytest.fixture
def panel() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    years = [2018, 2019, 2020]
    frame = pd.DataFrame(
        {
            "city": [f"c{i}" for i in range(6)] * 3,
            "year": np.repeat(years, 6),
            "inc": rng.lognormal(size=18),
            "green": rng.uniform(size=18),
            "gini": rng.uniform(0.2, 0.5, size=18),
        }
    )
    return frame.sample(frac=1.0, random_state=1)  # rows not sorted by year


def test_per_year_equals_separate_fits_and_differs_from_pooled(panel):
    kwargs = dict(positive=["inc", "green"], negative=["gini"], id_col="city")
    per_year = entropy_index(panel, by="year", **kwargs)
    assert list(per_year.weights.columns) == ["year", "indicator", "direction", "entropy", "divergence", "weight"]
    assert list(per_year.weights["year"].unique()) == [2018, 2019, 2020]
    for year, part in panel.groupby("year"):
        alone = entropy_index(part, **kwargs)
        w = per_year.weights[per_year.weights["year"] == year]
        np.testing.assert_allclose(w["weight"], alone.weights["weight"], rtol=0, atol=ATOL_CLOSED)
        np.testing.assert_allclose(per_year.scores.loc[part.index], alone.scores, rtol=0, atol=ATOL_CLOSED)
        assert per_year.weights[per_year.weights["year"] == year]["weight"].sum() == pytest.approx(1, abs=1e-12)
    pooled = entropy_index(panel, **kwargs)
    assert len(pooled.weights) == 3
    assert not np.allclose(pooled.scores, per_year.scores)
    frame = per_year.to_frame()
    assert list(frame.columns) == ["city", "year", "index"]
    assert frame.index.equals(panel.index)


def test_inputs_not_modified(panel):
    before = panel.copy()
    positive = ["inc", "green"]
    negative = ("gini",)
    entropy_index(panel, positive=positive, negative=negative, by="year", id_col="city")
    pd.testing.assert_frame_equal(panel, before)
    assert positive == ["inc", "green"] and negative == ("gini",)


# --- errors ------------------------------------------------------------------


def test_no_indicators(small):
    with pytest.raises(PanelShapeError, match=r"no indicators; name the columns with positive=\[\.\.\.\]"):
        entropy_index(small)


def test_indicator_in_both_lists(small):
    with pytest.raises(PanelShapeError, match=r"'gdp' are listed in both positive and negative"):
        entropy_index(small, positive=["gdp", "edu"], negative=["gdp"])


def test_indicator_repeated(small):
    with pytest.raises(PanelShapeError, match=r"'edu' are listed more than once"):
        entropy_index(small, positive=["edu", "gdp", "edu"])


def test_string_instead_of_list(small):
    with pytest.raises(PanelShapeError, match=r"write positive=\['gdp'\]"):
        entropy_index(small, positive="gdp")


def test_missing_columns(small):
    with pytest.raises(MissingColumnError, match=r"no column 'wage', 'year'; its columns are: city, gdp, edu, unemp"):
        entropy_index(small, positive=["gdp", "wage"], by="year")
    with pytest.raises(KeyError):  # MissingColumnError is also a KeyError
        entropy_index(small, positive=["gdp"], id_col="town")


def test_non_numeric(small):
    with pytest.raises(PanelShapeError, match=r"Indicator 'city' is not numeric .*pd\.to_numeric"):
        entropy_index(small, positive=["gdp", "city"])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_name_column_and_rows(small, bad):
    df = small.copy()
    df.loc[[1, 3], "edu"] = bad
    with pytest.raises(PanelShapeError, match=r"Indicator 'edu' has 2 missing or infinite value\(s\) at row\(s\) 1, 3"):
        entropy_index(df, positive=["gdp", "edu"])
    with pytest.raises(PanelShapeError, match=r"at row\(s\) 'B', 'D'; fill or drop"):
        entropy_index(df, positive=["gdp", "edu"], id_col="city")


def test_nan_named_by_id_and_year(panel):
    df = panel.copy()
    row = df.index[df["city"].eq("c2") & df["year"].eq(2019)]
    df.loc[row, "gini"] = np.nan
    with pytest.raises(PanelShapeError, match=r"'gini' has 1 missing .* row\(s\) \('c2', 2019\)"):
        entropy_index(df, positive=["inc"], negative=["gini"], by="year", id_col="city")


def test_nullable_missing_value(small):
    df = small.assign(edu=pd.array([1, None, 3, 5], dtype="Int64"))
    with pytest.raises(PanelShapeError, match=r"'edu' has 1 missing"):
        entropy_index(df, positive=["edu"])


def test_constant_indicator(small, panel):
    df = small.assign(const=3.0)
    with pytest.raises(PanelShapeError, match=r"'const' are constant in the data .*carry no information.*drop them"):
        entropy_index(df, positive=["gdp", "const"])
    df = panel.copy()
    df.loc[df["year"] == 2019, "green"] = 0.5
    with pytest.raises(PanelShapeError, match=r"'green' are constant in group year=2019"):
        entropy_index(df, positive=["inc", "green"], by="year")
    entropy_index(df, positive=["inc", "green"])  # pooled, 'green' still varies


def test_group_with_fewer_than_two_rows(panel):
    df = pd.concat([panel, panel.iloc[[0]].assign(year=2021)])
    with pytest.raises(PanelShapeError, match=r"group year=2021 has 1 row\(s\); .*at least 2 rows"):
        entropy_index(df, positive=["inc", "green"], by="year")
    with pytest.raises(PanelShapeError, match=r"the data has 1 row\(s\)"):
        entropy_index(panel.iloc[[0]], positive=["inc"])


def test_empty_group_value(panel):
    df = panel.assign(year=panel["year"].astype("Int64"))
    df.loc[df.index[0], "year"] = pd.NA
    with pytest.raises(PanelShapeError, match=r"group column 'year' is empty on 1 row"):
        entropy_index(df, positive=["inc"], by="year")


def test_shift_checks(small):
    with pytest.raises(PanelShapeError, match=r"shift must be a finite number ≥ 0.*got -0.1"):
        entropy_index(small, positive=["gdp"], shift=-0.1)
    with pytest.raises(PanelShapeError, match=r"got nan"):
        entropy_index(small, positive=["gdp"], shift=float("nan"))
    # min–max scaling sends A's gdp (the minimum) and A's unemp (the maximum, negative) to 0.
    with pytest.raises(PanelShapeError, match=r"shift=0, .* \('gdp' at row\(s\) 'A'; 'unemp' at row\(s\) 'A'\).*positive shift"):
        entropy_index(small, positive=["gdp"], negative=["unemp"], id_col="city", shift=0)
