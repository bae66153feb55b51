"""Goodman-Bacon decomposition: the identity, hand 2×2s, bias under dynamic effects, errors.

Cases: Σ weight·estimate equals the TWFE β of an independent dummy-variable
regression (numpy lstsq) and Σ weight = 1 on simulated staggered panels with
2–4 timing groups, with and without never-treated units, with always-treated
units, unequal group sizes, gapped and shuffled periods, string ids, a first
year that is not a panel period and one after the last period; one panel
against pyfixest feols; `twfe` itself against the dummy regression;
a one-timing-group-plus-never example (weight 1, DiD of means by hand); a
two-timing-group example whose two 2×2 DiDs are differences of means and
whose weights (1/2 each) are worked out by hand; homogeneous constant effects
make every 2×2 equal the effect; effects growing linearly make each
later-vs-earlier 2×2 equal its treated-vs-never 2×2 minus the earlier group's
effect growth (closed form; negative in the hand case); summary and to_frame;
inputs not modified; errors: missing columns, non-numeric and missing y,
repeated rows, unbalanced panel (units named), first year varying within a
unit (units named), no treatment variation (all never, common timing, a
single period).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spillmap.errors import MissingColumnError, PanelShapeError
from spillmap.models.did._bacon import bacon_decomposition

# The identity is exact algebra; only floating-point rounding separates the two sides.
ATOL_IDENTITY = 1e-10
# Hand 2×2s and closed forms on small integer data.
ATOL_CLOSED = 1e-12


def dummy_twfe(data: pd.DataFrame, y: str = "y", d: str = "d", unit: str = "id", time: str = "t") -> float:
    """TWFE β by OLS of y on D, unit dummies and period dummies (first period dropped)."""
    units = pd.get_dummies(data[unit], dtype=float).to_numpy()
    periods = pd.get_dummies(data[time], dtype=float).to_numpy()[:, 1:]
    x = np.column_stack([data[d].to_numpy(dtype=float), units, periods])
    coef, *_ = np.linalg.lstsq(x, data[y].to_numpy(dtype=float), rcond=None)
    return float(coef[0])


def staggered_panel(
    groups: dict[float, int],
    periods: list[float],
    *,
    seed: int,
    effect=lambda t, start: 1.0,
    noise: float = 1.0,
) -> pd.DataFrame:
    """Balanced panel; ``groups`` maps a first year (NaN = never) to a number of units.

    y = α_i + γ_t + effect(t, first year)·D_it + noise·ε_it with D_it = 1{t ≥ first year}.
    """
    rng = np.random.default_rng(seed)
    gamma = {t: g for t, g in zip(periods, rng.normal(size=len(periods)))}
    rows = []
    unit = 0
    for first, count in groups.items():
        for _ in range(count):
            alpha = rng.normal()
            for t in periods:
                d = float(not np.isnan(first) and t >= first)
                y = alpha + gamma[t] + (effect(t, first) * d if d else 0.0) + noise * rng.normal()
                rows.append({"id": f"unit{unit:03d}", "t": t, "first": first, "d": d, "y": y})
            unit += 1
    return pd.DataFrame(rows)


def decompose(data: pd.DataFrame):
    return bacon_decomposition(data, "y", id_col="id", time_col="t", first_year_col="first")


NAN = float("nan")
PANELS = {
    "two_groups_and_never": ({2003: 5, 2006: 7, NAN: 6}, list(range(2000, 2009))),
    "three_groups_no_never": ({2002: 4, 2004: 3, 2007: 5}, list(range(2000, 2010))),
    "four_groups_unequal": ({2001: 2, 2003: 9, 2005: 1, 2008: 4, NAN: 3}, list(range(2000, 2010))),
    "always_treated": ({1999: 4, 2003: 5, 2005: 3, NAN: 2}, list(range(2000, 2008))),
    "always_no_never": ({2000: 3, 2002: 5, 2005: 4}, list(range(2000, 2008))),
    "gapped_periods_offgrid_first": ({2003.5: 4, 2010: 3, 2030: 2, NAN: 3}, [2000, 2002, 2003, 2006, 2010, 2011]),
}


@pytest.mark.parametrize("name", list(PANELS))
def test_identity_against_dummy_regression(name):
    groups, periods = PANELS[name]
    data = staggered_panel(groups, periods, seed=len(name), effect=lambda t, s: 0.3 * (t - s) + 1.0)
    data = data.sample(frac=1.0, random_state=5)  # shuffled rows
    res = decompose(data)
    beta = dummy_twfe(data)
    assert res.twfe == pytest.approx(beta, abs=ATOL_IDENTITY)
    assert (res.table["weight"] * res.table["estimate"]).sum() == pytest.approx(beta, abs=ATOL_IDENTITY)
    assert res.table["weight"].sum() == pytest.approx(1.0, abs=ATOL_IDENTITY)
    assert (res.table["weight"] > 0).all()
    assert set(res.table["kind"]) <= {"treated_vs_never", "earlier_vs_later", "later_vs_earlier", "treated_vs_always"}
    assert res.n_units == sum(groups.values()) and res.n_periods == len(periods)


def test_kinds_present_match_design():
    res = decompose(staggered_panel(*PANELS["always_treated"], seed=1))
    counts = res.table["kind"].value_counts().to_dict()
    # timing groups 2003 and 2005: 2 vs never, 1 earlier-vs-later, 1 later-vs-earlier, 2 vs always
    assert counts == {"treated_vs_never": 2, "earlier_vs_later": 1, "later_vs_earlier": 1, "treated_vs_always": 2}
    assert set(res.table.loc[res.table["kind"] == "treated_vs_always", "control_group"]) == {"always"}
    # a first year after the last period and NaN both make never-treated units
    res = decompose(staggered_panel(*PANELS["gapped_periods_offgrid_first"], seed=2))
    groups = res.groups.set_index("group")
    assert groups.loc["never", "n_units"] == 5
    assert groups.loc[2006, "n_units"] == 4  # first year 2003.5 -> first treated period 2006
    assert groups.loc[2006, "treated"] == pytest.approx(3 / 6)


@pytest.mark.filterwarnings("ignore:The inplace keyword")  # pyfixest 0.60 under pandas 3; not ours
def test_twfe_against_pyfixest():
    pf = pytest.importorskip("pyfixest")
    data = staggered_panel({2002: 6, 2005: 4, NAN: 5}, list(range(2000, 2008)), seed=9)
    res = decompose(data)
    beta = float(pf.feols("y ~ d | id + t", data=data).coef()["d"])
    assert (res.table["weight"] * res.table["estimate"]).sum() == pytest.approx(beta, abs=1e-8)


def test_hand_one_group_and_never():
    # unit a treated from period 3; b, c never treated; T = 4
    y = {"a": [1.0, 2.0, 7.0, 9.0], "b": [0.0, 1.0, 1.0, 3.0], "c": [2.0, 2.0, 4.0, 3.0]}
    data = pd.DataFrame(
        [
            {"id": u, "t": t, "y": y[u][t - 1], "first": 3.0 if u == "a" else NAN, "d": float(u == "a" and t >= 3)}
            for u in y
            for t in (1, 2, 3, 4)
        ]
    )
    treated_change = (7 + 9) / 2 - (1 + 2) / 2  # 6.5
    control_change = (1 + 3 + 4 + 3) / 4 - (0 + 1 + 2 + 2) / 4  # 1.5
    res = decompose(data)
    assert len(res.table) == 1
    row = res.table.iloc[0]
    assert (row["treated_group"], row["control_group"], row["kind"]) == (3, "never", "treated_vs_never")
    assert row["estimate"] == pytest.approx(treated_change - control_change, abs=ATOL_CLOSED)
    assert row["weight"] == pytest.approx(1.0, abs=ATOL_CLOSED)
    assert res.twfe == pytest.approx(5.0, abs=ATOL_CLOSED)
    assert dummy_twfe(data) == pytest.approx(5.0, abs=1e-10)


def test_hand_two_timing_groups():
    # a, b first treated in period 2 (group k); c in period 4 (group l); no never-treated; T = 4.
    y = {"a": [1.0, 4.0, 6.0, 9.0], "b": [2.0, 3.0, 7.0, 8.0], "c": [0.0, 2.0, 1.0, 9.0]}
    first = {"a": 2.0, "b": 2.0, "c": 4.0}
    data = pd.DataFrame(
        [
            {"id": u, "t": t, "y": y[u][t - 1], "first": first[u], "d": float(t >= first[u])}
            for u in y
            for t in (1, 2, 3, 4)
        ]
    )
    k = [(1 + 2) / 2, (4 + 3) / 2, (6 + 7) / 2, (9 + 8) / 2]  # group k means by period: 1.5, 3.5, 6.5, 8.5
    c = y["c"]
    # earlier vs later: periods 1-3 (before l is treated); k switches on at 2.
    early = ((k[1] + k[2]) / 2 - k[0]) - ((c[1] + c[2]) / 2 - c[0])  # (5 - 1.5) - (1.5 - 0) = 2
    # later vs earlier: periods 2-4 (k already treated); l switches on at 4.
    late = (c[3] - (c[1] + c[2]) / 2) - (k[3] - (k[1] + k[2]) / 2)  # (9 - 1.5) - (8.5 - 5) = 4
    # Weights by hand: n_k = 2/3, n_l = 1/3, D_k = 3/4, D_l = 1/4, n_kl = 2/3.
    #   s_early ∝ ((1)(1 - 1/4))^2 (2/3)(1/3) ((3/4 - 1/4)/(3/4)) ((1/4)/(3/4)) = 9/16 · 2/9 · 2/3 · 1/3 = 1/36
    #   s_late  ∝ ((1)(3/4))^2 (2/3)(1/3) ((1/4)/(3/4)) ((3/4 - 1/4)/(3/4))     = 1/36
    #   V^D: two-way demeaned D is ±1/6 for a and b and ±1/3 for c: (8/36 + 4/9)/12 = 1/18
    s_early = s_late = (1 / 36) / (1 / 18)
    res = decompose(data)
    table = res.table.set_index("kind")
    assert table.loc["earlier_vs_later", "treated_group"] == 2 and table.loc["earlier_vs_later", "control_group"] == 4
    assert table.loc["later_vs_earlier", "treated_group"] == 4 and table.loc["later_vs_earlier", "control_group"] == 2
    assert table.loc["earlier_vs_later", "estimate"] == pytest.approx(early, abs=ATOL_CLOSED)
    assert table.loc["later_vs_earlier", "estimate"] == pytest.approx(late, abs=ATOL_CLOSED)
    assert table.loc["earlier_vs_later", "weight"] == pytest.approx(s_early, abs=ATOL_CLOSED)
    assert table.loc["later_vs_earlier", "weight"] == pytest.approx(s_late, abs=ATOL_CLOSED)
    assert res.twfe == pytest.approx(0.5 * 2 + 0.5 * 4, abs=ATOL_CLOSED)
    assert dummy_twfe(data) == pytest.approx(3.0, abs=1e-10)


def test_homogeneous_effect_every_comparison_equals_it():
    data = staggered_panel({1998: 3, 2002: 4, 2004: 2, 2006: 5, NAN: 3}, list(range(2000, 2009)), seed=4, noise=0.0,
                           effect=lambda t, s: 2.5)
    res = decompose(data)
    assert set(res.table["kind"]) == {"treated_vs_never", "earlier_vs_later", "later_vs_earlier", "treated_vs_always"}
    np.testing.assert_allclose(res.table["estimate"], 2.5, rtol=0, atol=1e-10)
    assert res.twfe == pytest.approx(2.5, abs=1e-10)
    np.testing.assert_allclose(res.summary()["estimate"], 2.5, rtol=0, atol=1e-10)


def test_growing_effects_hand_case_later_vs_earlier_negative():
    # periods 1..6; k from 2, l from 5, plus never; effect = periods since start + 1 (1, 2, 3, ...).
    data = staggered_panel({2: 3, 5: 3, NAN: 3}, [1, 2, 3, 4, 5, 6], seed=8, noise=0.0,
                           effect=lambda t, s: t - s + 1)
    # k's effects in periods 2..6: 1, 2, 3, 4, 5; l's effects in 5, 6: 1, 2.
    expected = {
        ("treated_vs_never", 2): (1 + 2 + 3 + 4 + 5) / 5 - 0,  # post 2..6 vs pre 1
        ("treated_vs_never", 5): (1 + 2) / 2 - 0,  # post 5..6 vs pre 1..4
        ("earlier_vs_later", 2): ((1 + 2 + 3) / 3 - 0) - 0,  # window 1..4; l untreated
        ("later_vs_earlier", 5): ((1 + 2) / 2 - 0) - ((4 + 5) / 2 - (1 + 2 + 3) / 3),  # window 2..6: 1.5 - 2.5
    }
    table = decompose(data).table.set_index(["kind", "treated_group"])
    for key, value in expected.items():
        assert table.loc[key, "estimate"] == pytest.approx(value, abs=ATOL_CLOSED), key
    assert table.loc[("later_vs_earlier", 5), "estimate"] == pytest.approx(-1.0, abs=ATOL_CLOSED)


def test_growing_effects_later_vs_earlier_closed_form():
    # Linear growth δ per period: the earlier group's effect rises by δ·(mean post period - mean mid period)
    # between the two windows of a later-vs-earlier comparison, and that rise is subtracted.
    delta = 0.7
    periods = list(range(2000, 2012))
    data = staggered_panel({2002: 3, 2005: 4, 2007: 2, 2010: 3, NAN: 4}, periods, seed=12, noise=0.0,
                           effect=lambda t, s: delta * (t - s) + 1.0)
    table = decompose(data).table
    vs_never = table[table["kind"] == "treated_vs_never"].set_index("treated_group")["estimate"]
    later = table[table["kind"] == "later_vs_earlier"]
    assert len(later) == 6
    for _, row in later.iterrows():
        l_start, k_start = row["treated_group"], row["control_group"]
        mid = [t for t in periods if k_start <= t < l_start]
        post = [t for t in periods if t >= l_start]
        rise = delta * (sum(post) / len(post) - sum(mid) / len(mid))
        assert row["estimate"] == pytest.approx(vs_never[l_start] - rise, abs=1e-10)
        assert row["estimate"] < vs_never[l_start]
    # the true effects are all ≥ 1, yet the forbidden comparisons drag the TWFE below the
    # weighted clean comparisons
    summary = decompose(data).summary().set_index("kind")
    assert summary.loc["later_vs_earlier", "estimate"] < summary.loc["treated_vs_never", "estimate"]


def test_summary_and_to_frame():
    res = decompose(staggered_panel(*PANELS["always_treated"], seed=3))
    summary = res.summary()
    assert list(summary.columns) == ["kind", "weight", "estimate", "n_pairs"]
    assert summary["weight"].sum() == pytest.approx(1.0, abs=ATOL_IDENTITY)
    assert (summary["weight"] * summary["estimate"]).sum() == pytest.approx(res.twfe, abs=ATOL_IDENTITY)
    frame = res.to_frame()
    assert list(frame.columns) == ["treated_group", "control_group", "kind", "estimate", "weight"]
    frame.loc[0, "weight"] = -1.0
    assert res.table.loc[0, "weight"] > 0  # to_frame returns a copy


def test_inputs_not_modified():
    data = staggered_panel({2003: 3, NAN: 3}, list(range(2000, 2006)), seed=6)
    data["first"] = data["first"].astype("Float64")  # nullable, <NA> for never treated
    data.loc[data["first"].isna(), "first"] = pd.NA
    before = data.copy()
    res = decompose(data)
    pd.testing.assert_frame_equal(data, before)
    assert res.twfe == pytest.approx(dummy_twfe(data), abs=ATOL_IDENTITY)


# --- errors ------------------------------------------------------------------


@pytest.fixture
def base() -> pd.DataFrame:
    return staggered_panel({2002: 2, 2004: 2, NAN: 2}, list(range(2000, 2006)), seed=0)


def test_missing_columns(base):
    with pytest.raises(MissingColumnError, match=r"no column 'year', 'start'; its columns are: id, t, first, d, y"):
        bacon_decomposition(base, "y", id_col="id", time_col="year", first_year_col="start")


def test_non_numeric_and_missing_y(base):
    with pytest.raises(PanelShapeError, match=r"outcome column 'id' is not numeric"):
        bacon_decomposition(base, "id", id_col="id", time_col="t", first_year_col="first")
    data = base.copy()
    data.loc[[3, 8], "y"] = np.nan
    with pytest.raises(PanelShapeError, match=r"Column 'y' has 2 missing or infinite value\(s\) at row\(s\) 3, 8"):
        decompose(data)


def test_repeated_rows(base):
    data = pd.concat([base, base[base["id"] == "unit001"].head(1)])
    with pytest.raises(PanelShapeError, match=r"1 unit\(s\) have more than one row for a period: 'unit001'"):
        decompose(data)


def test_unbalanced_panel_names_units(base):
    data = base.drop(index=base.index[(base["id"].isin(["unit002", "unit004"])) & (base["t"] == 2003)])
    with pytest.raises(PanelShapeError, match=r"unbalanced: 2 unit\(s\) lack some of the 6 periods: 'unit002', 'unit004'"):
        decompose(data)


def test_first_year_varying_within_unit(base):
    data = base.copy()
    data.loc[(data["id"] == "unit001") & (data["t"] == 2005), "first"] = 2003.0
    data.loc[(data["id"] == "unit005") & (data["t"] == 2000), "first"] = 2001.0  # NaN elsewhere
    with pytest.raises(PanelShapeError, match=r"'first' varies within 2 unit\(s\): 'unit001', 'unit005'"):
        decompose(data)


@pytest.mark.parametrize(
    "groups",
    [{NAN: 4}, {2003: 4}, {1990: 2, NAN: 2}],
    ids=["all_never", "common_timing", "always_vs_never"],
)
def test_no_treatment_variation(groups):
    data = staggered_panel(groups, list(range(2000, 2006)), seed=1)
    with pytest.raises(PanelShapeError, match=r"no treatment variation left after unit and period effects"):
        decompose(data)


def test_single_period():
    data = staggered_panel({2000: 2, NAN: 2}, [2000], seed=1)
    with pytest.raises(PanelShapeError, match=r"1 period\(s\) in 't'; a DiD needs at least 2"):
        decompose(data)
