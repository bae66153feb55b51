"""All bands at once (the exposure DID) and the crossover located by band edges.

Cases: the exposure DID equals pyfixest's two-way FE regression on the same
exposures (coefficients to rounding, CRV1 standard errors to rounding);
Conley variance with a cutoff below every distance equals clustering by
unit; on the demo's data-generating process (±0.3 per 50 km ring) the bands
come out with the right signs and each band's interval holds its true value;
panel problems are reported once, before any band is fitted; cumulative bands
warn and refuse the exposure method; the band-edge crossover reports an edge,
brackets it by the two bands around it, never gives an interval narrower
than those two bands, and keeps open bounds when draws never cross; per-city
effects of a band scale the band's coefficient by each unit's exposure.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest

from spillmap.errors import SpillmapError, SpillmapWarning
from spillmap.models import distance_bands, distance_sweep
from spillmap.models.spatial_did._crossover import crossover
from spillmap.models.spatial_did._joint import band_matrix, exposure_unit_effects, fit_exposure_did

from ..sweep_data import china_setup, siphon_panel

KW = dict(id_col="code", time_col="year", controls=["x1", "x2"])
#: Same least squares through QR here and pyfixest's demeaning (fixef_tol 1e-12): rounding only.
RTOL_SAME = 1e-8


@pytest.fixture(scope="module")
def panel():
    return siphon_panel(seed=11).assign(code=lambda f: f["code"].astype(str))


@pytest.fixture(scope="module")
def bands_and_matrices():
    dist, _ = china_setup()
    bands = distance_bands(50, 400)
    return dist, bands, [band_matrix(dist, b.inner_km, b.outer_km, weight="binary")[0] for b in bands]


def test_equals_pyfixest(panel, bands_and_matrices):
    dist, bands, mats = bands_and_matrices
    fit = fit_exposure_did(panel, "y", dist, mats, **KW)
    ids = list(dist.ids)
    d = panel.pivot(index="year", columns="code", values="did")[ids].to_numpy()
    frame = panel.set_index(["year", "code"]).copy()
    years = sorted(panel["year"].unique())
    for k, m in enumerate(mats):
        exposure = pd.DataFrame((m @ d.T).T, index=years, columns=ids).stack()
        frame[f"E{k}"] = exposure.reindex(frame.index).to_numpy()
    formula = "y ~ did + " + " + ".join(f"E{k}" for k in range(len(mats))) + " + x1 + x2 | code + year"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.feols(formula, data=frame.reset_index(), vcov={"CRV1": "code"}, fixef_tol=1e-12)
    np.testing.assert_allclose(fit.params.to_numpy(), ref.coef().to_numpy(), rtol=RTOL_SAME, atol=1e-10)
    np.testing.assert_allclose(fit.se().to_numpy(), ref.se().to_numpy(), rtol=RTOL_SAME)


def test_conley_below_every_distance_is_clustering(panel, bands_and_matrices):
    dist, _, mats = bands_and_matrices
    cluster = fit_exposure_did(panel, "y", dist, mats, **KW)
    tiny = float(dist.km.min()) * 0.5
    conley = fit_exposure_did(panel, "y", dist, mats, vce="conley", cutoff_km=tiny, **KW)
    np.testing.assert_allclose(conley.vcov.to_numpy(), cluster.vcov.to_numpy(), rtol=1e-12)
    wide = fit_exposure_did(panel, "y", dist, mats, vce="conley", cutoff_km=300, **KW)
    assert not np.allclose(wide.se(), cluster.se())
    with pytest.raises(SpillmapError, match="cutoff_km"):
        fit_exposure_did(panel, "y", dist, mats, vce="conley", **KW)


def test_bands_recover_the_demo_process(panel):
    dist, _ = china_setup()
    res = distance_sweep(panel, "y", dist, max_km=400, draws=500, seed=1, weight="binary", **KW)
    assert res.method == "exposure" and res.joint is not None and res.cached_bands == 0
    t = res.table.set_index("band")
    truth = {"50-100": 0.3, "100-150": 0.3, "150-200": -0.3, "200-250": -0.3, "250-300": -0.3,
             "300-350": 0.0, "350-400": 0.0}
    for band, value in truth.items():
        assert t.loc[band, "indirect_ci95_low"] < value < t.loc[band, "indirect_ci95_high"], band
    assert (t.loc[["50-100", "100-150"], "indirect_estimate"] > 0).all()
    assert (t.loc[["150-200", "200-250", "250-300"], "indirect_estimate"] < 0).all()
    cross = res.crossover
    assert cross.method == "band edges" and cross.radius_km == 150 and cross.bracket_km == (100, 200)
    lo, hi = cross.intervals[0.95]
    assert lo <= 100 and hi >= 200 and "Finer bands are needed" in cross.statement


def test_panel_checked_before_any_band(panel):
    dist, _ = china_setup()
    never = panel.assign(did=0)
    with pytest.raises(SpillmapError, match="No unit is ever treated"):
        distance_sweep(never, "y", dist, max_km=200, draws=10, method="separate", workers=0, **KW)
    holes = panel.iloc[5:]
    with pytest.raises(SpillmapError, match="unbalanced|missing|rows"):
        distance_sweep(holes, "y", dist, max_km=200, draws=10, **KW)


def test_cumulative_warns_and_refuses_exposure(panel):
    dist, _ = china_setup()
    discs = distance_bands(100, 300, mode="cumulative")
    with pytest.raises(SpillmapError, match="ring bands"):
        distance_sweep(panel, "y", dist, bands=discs, draws=10, method="exposure", **KW)
    with pytest.warns(SpillmapWarning, match="disc's effect adds"):
        distance_sweep(panel, "y", dist, bands=discs, draws=20, workers=0, **KW)


def test_edge_crossover_is_never_narrower_than_two_bands():
    edges = [(a, a + 50.0) for a in range(0, 600, 50)]
    x = [a + 25.0 for a in range(0, 600, 50)]
    truth = np.array([0.3] * 3 + [-0.3] * 3 + [0.0] * 6)
    rng = np.random.default_rng(0)
    sharp = crossover(x, truth, truth + rng.normal(0, 1e-3, (500, 12)), edges_km=edges)
    assert sharp.radius_km == 150 and sharp.bracket_km == (100, 200)
    assert sharp.intervals[0.95] == (100, 200)  # no sampling noise: still the two bands' width
    noisy = crossover(x, truth, truth + rng.normal(0, 0.12, (2000, 12)), edges_km=edges)
    lo, hi = noisy.intervals[0.95]
    assert noisy.kind == "crossing" and lo <= 100 and hi >= 200
    zero = np.zeros(12)
    zero[[1, 7]] = 0.1, -0.2  # signs change, but nothing is significantly negative
    null = crossover(x, zero, zero + rng.normal(0, 0.15, (2000, 12)), edges_km=edges)
    assert null.kind == "not_shown" and "No crossover shown" in null.statement and np.isnan(null.radius_km)
    never = crossover(x, np.full(12, 0.2), np.full((100, 12), 0.2), edges_km=edges)
    assert never.kind == "positive_throughout" and never.intervals[0.95] == (550, np.inf)  # certain to 600 km
    assert "No crossover" in never.statement and "begins beyond 550 km" in never.statement


def test_without_a_shown_siphon_the_interval_is_open_beyond_the_positive_reach():
    """No shown siphon: (X, +inf), X the inner edge of the farthest band significantly positive under a
    simultaneous one-sided bound; -inf (no bound) when no band is."""
    edges = [(a, a + 50.0) for a in range(0, 600, 50)]
    x = [a + 25.0 for a in range(0, 600, 50)]
    rng = np.random.default_rng(1)
    weak = np.array([0.6, 0.6, 0.05, 0.0, -0.1] + [0.0] * 7)
    res = crossover(x, weak, weak + rng.normal(0, 0.1, (4000, 12)), edges_km=edges)
    assert res.kind == "not_shown" and res.intervals[0.95] == (50, np.inf) and res.intervals[0.9] == (50, np.inf)
    assert "begins beyond 50 km" in res.statement
    assert res.to_dict()["intervals"]["0.95"] == [50, None]
    flat = np.zeros(12)
    none = crossover(x, flat, flat + rng.normal(0, 0.1, (4000, 12)), edges_km=edges)
    assert none.intervals[0.95] == (-np.inf, np.inf) and "do not bound" in none.statement


def test_a_noisy_negative_band_ahead_of_the_siphon_does_not_move_the_radius():
    """The radius is the edge after the last positive band before the shown run's lowest band."""
    edges = [(a, a + 50.0) for a in range(0, 600, 50)]
    x = [a + 25.0 for a in range(0, 600, 50)]
    est = np.array([0.3, 0.3, -0.02, 0.05, -0.3, -0.3] + [0.0] * 6)
    rng = np.random.default_rng(2)
    res = crossover(x, est, est + rng.normal(0, 0.05, (4000, 12)), edges_km=edges)
    assert res.kind == "crossing" and res.radius_km == 200 and res.bracket_km == (150, 250)


def test_unit_effects_scale_the_band_coefficient(panel, bands_and_matrices):
    dist, _, mats = bands_and_matrices
    fit = fit_exposure_did(panel, "y", dist, mats, **KW)
    treated = np.zeros(len(dist.ids))
    treated[::3] = 1.0
    frame = exposure_unit_effects(fit, mats[2], "E2", treated, dist.ids)
    share = np.asarray(mats[2] @ treated).ravel()
    np.testing.assert_allclose(frame["recv"], fit.params["E2"] * share)
    np.testing.assert_allclose(frame["own"], fit.params["did"])
    assert (frame["recv_lo"] <= frame["recv"]).all() and (frame["recv"] <= frame["recv_hi"]).all()


def test_kernel_method_interpolates_inside_bands(panel):
    """method='kernel': triangular kernels at the band midpoints; the crossing is interpolated and says so."""
    dist, _ = china_setup()
    res = distance_sweep(panel, "y", dist, max_km=400, draws=400, seed=2, method="kernel", **KW)
    cross = res.crossover
    assert res.method == "kernel" and cross.method == "kernel"
    assert cross.kind == "crossing" and 100 < cross.radius_km < 225 and cross.radius_km % 50 != 0
    assert "kernel of distance" in cross.statement


@pytest.mark.filterwarnings("ignore::spillmap.errors.IslandWarning")  # 三沙市 has no neighbour within 600 km
@pytest.mark.filterwarnings("ignore::spillmap.errors.WeightsAssumptionWarning")  # … which Lee–Yu then warns about
def test_sdm_method_fits_every_band_with_one_spatial_lag(panel):
    """method='sdm': one ρWy plus every band's W_k·D; per-band indirect = θ_k·mean((I − ρW)⁻¹ r_k)."""
    dist, _ = china_setup()
    res = distance_sweep(panel, "y", dist, max_km=400, draws=300, seed=3, method="sdm", weight="binary", **KW)
    t = res.table.set_index("band")
    assert res.method == "sdm" and t["rho"].nunique() == 1 and np.isfinite(t["rho"]).all()
    assert (t.loc[["150-200", "200-250", "250-300"], "indirect_estimate"] < 0).all()
    assert (t.loc[["50-100", "100-150"], "indirect_estimate"] > 0).all()
    joint = res.joint
    rho = float(joint.fit.params["rho"])
    for band in ("100-150", "200-250"):
        term = f"E{list(res.matrices).index(band)}"
        r = np.asarray(res.matrices[band].sum(axis=1)).ravel()
        from spillmap.models.panel._weights import prepare_weights
        from spillmap.weights import build_inverse_distance

        w = prepare_weights(build_inverse_distance(dist, cutoff_km=dist.max_km, islands="keep"))
        dense = np.linalg.solve(np.eye(w.n) - rho * w.matrix.toarray(), r).mean()
        assert t.loc[band, "indirect_estimate"] == pytest.approx(joint.fit.params[term] * dense, rel=1e-10)
    treated = (np.arange(w.n) % 3 == 0).astype(float)
    frame = joint.unit_effects("E3", res.matrices["150-200"], treated, dist.ids, draws=20,
                               rng=np.random.default_rng(0))
    inverse = np.linalg.inv(np.eye(w.n) - rho * w.matrix.toarray())
    beta, theta = joint.fit.params["did"], joint.fit.params["E3"]
    band = res.matrices["150-200"]
    # eigenvector route vs a dense inverse: rounding relative to each vector's largest entry
    for column, dense in (("own", beta * np.diag(inverse)), ("recv", theta * inverse @ (band @ treated)),
                          ("emit", theta * (inverse @ band.toarray()).sum(axis=0))):
        np.testing.assert_allclose(frame[column], dense, rtol=0, atol=1e-10 * np.abs(dense).max())
    assert res.crossover.method == "band edges"
