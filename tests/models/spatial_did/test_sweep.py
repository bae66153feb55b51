"""Distance-band sweep of the SDM-DID.

Cases: band construction (ring/cumulative, bad arguments); each band's row
equals a direct SDM-DID fit on that band's weights built independently with
spillmap.weights (plumbing check); on a panel with a known siphon radius
(150 km) the sign pattern is recovered (+ within 150 km, − in 150–300 km)
and the crossover interval contains 150 km; results are identical in
process and on Dask; the cache makes a rerun read every band, a deleted
band file is refitted alone (resume), and other options miss the cache; a
band with no pairs is reported, not fitted; sparse bands stay out of the
crossover search.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_info

from spillmap.errors import SpillmapError
from spillmap.models import Band, distance_bands, distance_sweep, fit_sdm_did
from spillmap.weights import build_ring

from ..sweep_data import china_setup, siphon_panel

KW = dict(id_col="code", time_col="year", controls=["x1", "x2"])
#: Same sweep in another context (threads, cache): equal but for rounding in the last bits.
RTOL_CONTEXT = 1e-12


@pytest.fixture(scope="module")
def panel():
    return siphon_panel(seed=11)


@pytest.fixture(scope="module")
def swept(panel):
    dist, _ = china_setup()
    return distance_sweep(panel, "y", dist, max_km=450, draws=400, seed=5, workers=0, method="separate", **KW)


def test_bands():
    ring = distance_bands(50, 200)
    assert [b.label for b in ring] == ["0-50", "50-100", "100-150", "150-200"]
    assert [b.position_km for b in ring] == [25, 75, 125, 175]
    disc = distance_bands(100, 300, mode="cumulative")
    assert [(b.inner_km, b.outer_km, b.position_km) for b in disc] == [(0, 100, 100), (0, 200, 200), (0, 300, 300)]
    assert distance_bands(50, 200, min_km=100)[0] == Band(100, 150, "ring")
    with pytest.raises(SpillmapError, match="step_km > 0"):
        distance_bands(0, 100)
    with pytest.raises(SpillmapError, match="mode must be"):
        distance_bands(50, 100, mode="disc")


def test_band_rows_equal_direct_fits(panel, swept):
    dist, _ = china_setup()
    for label in ("50-100", "200-250"):
        lo, hi = map(float, label.split("-"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            w = build_ring(dist, lo, hi, weight="inverse", islands="keep")
            direct = fit_sdm_did(panel, "y", weights=w, draws=10, seed=0, **KW)
        row = swept.table.set_index("band").loc[label]
        assert row["rho"] == pytest.approx(direct.fit.rho, abs=1e-9)
        assert row["theta_did"] == pytest.approx(direct.fit.params["W·did"], rel=1e-8)
        assert row["indirect_estimate"] == pytest.approx(direct.effect("indirect"), rel=1e-8)
        assert row["islands"] == len(w.isolates)


def test_recovers_sign_pattern_and_radius(swept):
    t = swept.table.set_index("band")
    assert (t.loc[["50-100", "100-150"], "indirect_estimate"] > 0).all()
    assert (t.loc[["150-200", "200-250", "250-300"], "indirect_estimate"] < 0).all()
    lo, hi = swept.crossover.intervals[0.95]
    assert lo < 150 < hi and 100 < swept.crossover.radius_km < 200
    assert swept.crossover.first_negative_band[0.95] in ("150-200", "200-250")
    assert not t.loc["0-50", "in_crossover"]  # prefecture seats are rarely within 50 km: too sparse
    assert t.loc["0-50", "linked_share"] < 0.5 <= t.loc["50-100", "linked_share"]
    d = swept.to_dict()
    assert len(d["bands"]) == 9 and d["crossover"]["intervals"]["0.95"][0] == pytest.approx(lo)


def test_dask_equals_in_process_and_cache_resume(panel, tmp_path):
    dist, _ = china_setup()
    args = dict(bands=distance_bands(100, 400), draws=200, seed=2, method="separate", **KW)
    local = distance_sweep(panel, "y", dist, workers=0, **args)
    blas = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    on_dask = distance_sweep(panel, "y", dist, workers=2, cache_dir=tmp_path, **args)
    assert [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"] == blas  # restored
    # one BLAS thread everywhere and ρ pinned by the analytic score: threads change the last bits at most
    pd.testing.assert_frame_equal(local.table, on_dask.table, rtol=RTOL_CONTEXT)
    assert on_dask.cached_bands == 0 and len(list(tmp_path.glob("band_*.npz"))) == 4
    again = distance_sweep(panel, "y", dist, workers=0, cache_dir=tmp_path, **args)
    assert again.cached_bands == 4
    pd.testing.assert_frame_equal(again.table, on_dask.table, check_exact=True)  # read back bit for bit
    np.testing.assert_array_equal(again.crossover.draws, on_dask.crossover.draws)
    next(tmp_path.glob("band_ring_200-300_*.npz")).unlink()  # an interrupted sweep: one band missing
    resumed = distance_sweep(panel, "y", dist, workers=0, cache_dir=tmp_path, **args)
    assert resumed.cached_bands == 3 and "200-300" in resumed.fits and "0-100" not in resumed.fits
    pd.testing.assert_frame_equal(resumed.table, local.table, rtol=1e-10)
    from spillmap.models.panel._weights import _PREPARED

    _PREPARED.clear()  # a new process: the eigenvalues can only come from the cache folder
    other = distance_sweep(panel, "y", dist, workers=0, cache_dir=tmp_path, **{**args, "seed": 3})
    assert other.cached_bands == 0  # another seed is another sweep ...
    assert len(list(tmp_path.glob("eig_*.npz"))) == 4  # ... but the bands' eigenvalues were reused
    fresh = distance_sweep(panel, "y", dist, workers=0, **{**args, "seed": 3})
    pd.testing.assert_frame_equal(other.table, fresh.table, rtol=1e-10)


def test_empty_band_is_reported(panel):
    dist, _ = china_setup()
    bands = [Band(0, 5, "ring"), *distance_bands(100, 300)]
    res = distance_sweep(panel, "y", dist, bands=bands, draws=50, seed=0, workers=0, **KW)
    row = res.table.iloc[0]
    assert row["band"] == "0-5" and "no two units lie 0–5 km apart" in row["error"] and not row["in_crossover"]
    assert np.isnan(row["indirect_estimate"]) and res.table["error"].iloc[1:].isna().all()


def test_bad_inputs(panel):
    dist, _ = china_setup()
    with pytest.raises(SpillmapError, match="no column"):
        distance_sweep(panel.drop(columns="x1"), "y", dist, max_km=100, draws=10, workers=0, **KW)
    with pytest.raises(SpillmapError, match="kept only up to 600 km"):
        distance_sweep(panel, "y", dist, max_km=700, draws=10, workers=0, **KW)
    with pytest.raises(SpillmapError, match="No band could enter"):
        distance_sweep(panel, "y", dist, bands=[Band(0, 5, "ring")], draws=10, workers=0, method="separate", **KW)
    with pytest.raises(SpillmapError, match="No two units lie within any band"):
        distance_sweep(panel, "y", dist, bands=[Band(0, 5, "ring")], draws=10, workers=0, **KW)
