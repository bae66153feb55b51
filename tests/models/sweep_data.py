"""A synthetic panel on the shipped China layer with a known siphon radius (150 km), for sweep tests.

Treatment: the Broadband China batch sizes (2014/2015/2016) re-assigned to
random units (seeded), so that which units are treated is not spatially
clustered; outcome from :data:`spillmap.synthetic.DEMO_DGP` (direct effect
1.0, +0.3 per 50 km ring to 150 km, −0.3 per ring from 150 to 300 km).
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pandas as pd

from spillmap import gis
from spillmap.models import assign_treatment
from spillmap.synthetic import DEMO_DGP, synthetic_panel


@functools.lru_cache(maxsize=1)
def china_setup(max_km: float = 600.0):
    """(distances up to ``max_km``, real first treated years) on the shipped layer; computed once."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer = gis.read_china_layer()
        years = gis.pilot_years(layer, id_col=gis.CHINA_ID, name_col=gis.CHINA_NAME).years
    dist = gis.pairwise_distances(layer, gis.CHINA_ID, name_col=gis.CHINA_NAME, max_km=max_km)
    return dist, years


def siphon_panel(seed: int, *, randomize: bool = True, **dgp: float) -> pd.DataFrame:
    """Treated panel (columns code, year, y, x1, x2, did, first_year, …) with the demo's known effects."""
    dist, years = china_setup()
    rng = np.random.default_rng(seed)
    fy = years.copy()
    if randomize:
        fy = pd.Series(rng.permutation(fy.to_numpy()), index=fy.index)
    frame = synthetic_panel(dist, fy, seed=rng, **{**DEMO_DGP, **dgp}).drop(columns="did")
    return assign_treatment(frame, id_col="code", time_col="year", first_year=fy).data


# --------------------------------------------------------------------------- validation families

#: Data-generating families for the siphon-radius validation: name → (rings (inner km, outer km, effect of a
#: fully treated ring), true crossover radius km or None, AR(1) coefficient of the errors within unit).
FAMILIES: dict[str, tuple[tuple[tuple[float, float, float], ...], float | None, float]] = {
    "edge 150 km": (tuple((a, a + 50, 0.3 if a < 150 else -0.3) for a in range(0, 300, 50)), 150.0, 0.0),
    "inside band, 175 km": (tuple((a, a + 25, 0.15 if a < 175 else -0.15) for a in range(0, 300, 25)), 175.0, 0.0),
    "gradual decay, 175 km": (tuple((a, a + 25, 0.25 * (1 - (a + 12.5) / 175)) for a in range(0, 350, 25)),
                              175.0, 0.0),
    "asymmetric, 150 km": (tuple((a, a + 50, 0.15 if a < 150 else -0.45) for a in range(0, 300, 50)), 150.0, 0.0),
    "AR(1) errors 0.5": (tuple((a, a + 50, 0.3 if a < 150 else -0.3) for a in range(0, 300, 50)), 150.0, 0.5),
    "spillover, no siphon": (tuple((a, a + 50, 0.3) for a in range(0, 150, 50)), None, 0.0),
    "no spillover": ((), None, 0.0),
    "spatially correlated errors": (tuple((a, a + 50, 0.3 if a < 150 else -0.3) for a in range(0, 300, 50)),
                                    150.0, 0.0),
}

#: Families whose errors are spatially correlated within each period: u_t = (I − λW)⁻¹e_t, W row-standardised
#: binary links within 100 km; name → λ.
SPATIAL_ERRORS: dict[str, float] = {"spatially correlated errors": 0.5}


def family_panel(name: str, seed: int, *, randomize: bool = True) -> pd.DataFrame:
    """A treated panel of family ``name`` on the shipped layer (Broadband China batch sizes).

    y = μ_i + γ_t + 1.0·D_it + Σ_rings v_r·(share of the unit's ring-r neighbours treated) + 0.5·x1 − 0.5·x2 + u,
    u AR(1) within unit with the family's coefficient and unit innovation variance; ``randomize`` re-assigns
    the batches to random units (else the real, spatially clustered pilot cities).
    """
    from spillmap.models.spatial_did._joint import band_matrix

    rings, _, rho_e = FAMILIES[name]
    dist, years = china_setup()
    rng = np.random.default_rng([seed, 97])
    fy = years.copy()
    if randomize:
        fy = pd.Series(rng.permutation(fy.to_numpy()), index=fy.index)
    ids = [str(i) for i in dist.ids]
    start = fy.reindex(ids).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    periods = np.arange(2010, 2022)
    d = (periods[:, None] >= start[None, :]).astype(float)  # (T, N)
    spill = np.zeros_like(d)
    for inner, outer, value in rings:
        m, _ = band_matrix(dist, inner, outer, weight="binary")
        spill += value * (m @ d.T).T
    t, n = d.shape
    mu = rng.normal(0, 1, n)
    gamma = np.cumsum(rng.normal(0.1, 0.2, t))
    x = rng.normal(0, 1, (t, n, 2)) + 0.3 * mu[None, :, None]
    e = rng.normal(0, 1, (t, n))
    if name in SPATIAL_ERRORS:
        import scipy.sparse as sp
        import scipy.sparse.linalg as spla

        near, _ = band_matrix(dist, 0, 100, weight="binary")
        lu = spla.splu((sp.identity(n, format="csc") - SPATIAL_ERRORS[name] * near).tocsc())
        e = lu.solve(np.ascontiguousarray(e.T)).T
    u = np.empty_like(e)
    u[0] = e[0] / np.sqrt(1 - rho_e**2) if rho_e else e[0]
    for s in range(1, t):
        u[s] = rho_e * u[s - 1] + e[s]
    y = mu + gamma[:, None] + d + spill + x @ np.array([0.5, -0.5]) + u
    frame = pd.DataFrame({"code": np.tile(ids, t), "year": np.repeat(periods, n), "y": y.ravel(),
                          "x1": x[:, :, 0].ravel(), "x2": x[:, :, 1].ravel()})
    return assign_treatment(frame, id_col="code", time_col="year", first_year=fy).data


def band_truth(name: str, inner: float, outer: float) -> float | None:
    """True effect of a fully treated estimation band (inner, outer] km, or None when the band mixes
    data-generating rings of different values (its binary-weighted average depends on the layout)."""
    rings = FAMILIES[name][0]
    inside = [v for a, b, v in rings if a >= inner and b <= outer]
    if not rings or outer <= rings[0][0] or inner >= rings[-1][1]:
        return 0.0
    if not inside:
        return None
    if len(set(np.round(inside, 12))) == 1 and len(inside) * (rings[0][1] - rings[0][0]) == outer - inner:
        return float(inside[0]) * len(inside)  # each DGP ring row-standardised on its own
    return None


def validate(name: str, reps: int, *, method: str | None = None, weight: str = "binary", randomize: bool = True,
             first_seed: int = 0, draws: int = 400, **options) -> dict[str, float]:
    """Run the sweep on ``reps`` samples of family ``name``; rates the siphon-radius targets are judged on.

    Returns ``holds`` (share whose 95 % crossover interval holds the true radius; families with one — the
    interval of a shown crossing, else the open interval (X, +inf) where a siphon may begin), ``shown`` (share
    showing a crossing: the power where a siphon exists, the false-siphon rate where none does),
    ``says_none`` (share stating no crossover; families without), ``band_coverage`` (95 % coverage of the
    bands whose true effect is defined, see :func:`band_truth`), ``zero_flagged`` (share of zero-effect bands
    flagged at 95 %) and ``seconds``.
    """
    import time

    from spillmap.models import distance_sweep

    dist, _ = china_setup()
    radius = FAMILIES[name][1]
    start = time.perf_counter()
    hits, shown, cover, flagged = [], [], [], []
    for seed in range(first_seed, first_seed + reps):
        data = family_panel(name, seed, randomize=randomize)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = distance_sweep(data, "y", dist, id_col="code", time_col="year", controls=["x1", "x2"],
                                 max_km=600, draws=draws, seed=seed, method=method, weight=weight, workers=0,
                                 cache_dir=None, **options)
        c = res.crossover
        shown.append(c.kind == "crossing")
        if radius is None:
            hits.append(c.kind != "crossing")
        else:  # a crossing's interval, or without one the open interval (X, +inf) where a siphon may begin
            lo, hi = c.intervals[0.95]
            hits.append(bool(lo <= radius <= hi))
        for r in res.table.itertuples():
            truth = band_truth(name, r.inner_km, r.outer_km) if r.in_crossover else None
            if truth is None:
                continue
            cover.append(r.indirect_ci95_low <= truth <= r.indirect_ci95_high)
            if truth == 0:
                flagged.append(r.indirect_ci95_high < 0 or r.indirect_ci95_low > 0)
    out = {"band_coverage": float(np.mean(cover)), "zero_flagged": float(np.mean(flagged)) if flagged else np.nan,
           "shown": float(np.mean(shown)), "seconds": time.perf_counter() - start}
    out["holds" if radius is not None else "says_none"] = float(np.mean(hits))
    return out
