"""Synthetic panels with known effects on a real layer (labelled synthetic wherever they appear).

The data-generating process used by the demo, the tests and the siphon-radius
validation: for unit i in year t,

    y_it = μ_i + γ_t + β·DID_it + Σ_j s(d_ij)·DID_jt + x_it'δ + ε_it,

where s(d) spreads a positive spillover ``near`` over the treated units within
``near_km`` kilometres and a negative one ``far`` (the "siphon") over those
between ``near_km`` and ``far_km``; beyond ``far_km`` nothing spills over.
Each ring's weights are row-standardised, so a unit surrounded by treated
units receives ``near`` (or ``far``) in full. With ``ring_km`` each zone is
cut into rings of that width, each carrying the zone's value.

:data:`DEMO_DGP` is the process behind ``spillmap demo``, ``did``, ``sdid``
and ``sweep`` without a panel: direct effect 1.0, +0.3 per 50 km ring out to
150 km, −0.3 per ring from 150 to 300 km, zero beyond, so the true
spillover turns into a siphon at 150 km.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["synthetic_panel", "SYNTHETIC_NOTE", "DEMO_DGP"]

SYNTHETIC_NOTE = "SYNTHETIC DATA: outcome simulated with known effects (spillmap.synthetic), not observed."

#: Parameters of the demo's data-generating process (true crossover: 150 km).
DEMO_DGP: dict[str, float] = {"effect": 1.0, "near": 0.3, "far": -0.3, "near_km": 150.0, "far_km": 300.0,
                              "ring_km": 50.0, "noise": 1.0}


def synthetic_panel(
    distances,  # noqa: ANN001 - spillmap.gis.PairwiseDistances
    first_year: pd.Series,
    *,
    years: Sequence[int] = tuple(range(2010, 2022)),
    effect: float = 1.0,
    near: float = 0.6,
    far: float = -0.4,
    near_km: float = 150.0,
    far_km: float = 300.0,
    ring_km: float | None = None,
    controls: int = 2,
    noise: float = 1.0,
    seed: int | np.random.Generator | None = 0,
    id_col: str = "code",
    time_col: str = "year",
) -> pd.DataFrame:
    """A balanced panel on the units of ``distances`` with known direct and spillover effects.

    Parameters
    ----------
    distances
        :class:`spillmap.gis.PairwiseDistances` of the layer (kilometres).
    first_year
        Unit id → first treated year (<NA>: never treated), e.g.
        ``spillmap.gis.pilot_years(layer).years``.
    effect
        Direct effect β of DID on the unit itself.
    near, far
        Spillover received when all ring neighbours are treated, within
        (0, near_km] and (near_km, far_km] kilometres.
    ring_km
        ``None``: one row-standardised ring per zone, (0, near_km] and
        (near_km, far_km]. A width in km: each zone is cut into rings of
        that width, each row-standardised on its own and carrying ``near``
        or ``far`` (so a unit with every neighbour treated in all three
        50 km rings of the near zone receives 3·near); this is the
        structure a distance-band sweep of that width estimates ring by ring.

    Returns
    -------
    pandas.DataFrame
        Columns ``id_col``, ``time_col``, ``y``, ``x1`` … and ``did``, with
        ``attrs["synthetic"]`` holding the note and the true parameters.
    """
    from spillmap.weights import build_ring

    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    ids = np.asarray(distances.ids)
    n, t = len(ids), len(years)
    rings = []
    zones = [(0.0, near_km, near), (near_km, far_km, far)]
    if ring_km is not None:
        zones = [(float(a), float(min(a + ring_km, hi)), size) for lo, hi, size in zones
                 for a in np.arange(lo, hi, ring_km)]
    for lo, hi, size in zones:
        import warnings

        from spillmap.errors import IslandWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IslandWarning)
            graph = build_ring(distances, lo, hi, weight="binary", islands="keep").transform("r")
        rings.append((graph.sparse, size))
    fy = pd.Series(first_year)
    fy.index = fy.index.map(str)
    start = fy.reindex([str(i) for i in ids]).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    year_arr = np.asarray(years, dtype=float)
    did = (year_arr[:, None] >= start[None, :]).astype(float)  # (T, N)
    spill = sum(size * (matrix @ did.T).T for matrix, size in rings)
    mu = rng.normal(0.0, 1.0, n)
    gamma = np.cumsum(rng.normal(0.1, 0.2, t))
    x = rng.normal(0.0, 1.0, (t, n, controls)) + 0.3 * mu[None, :, None]
    delta = np.linspace(0.5, -0.5, controls) if controls else np.zeros(0)
    y = mu[None, :] + gamma[:, None] + effect * did + spill + x @ delta + rng.normal(0.0, noise, (t, n))
    frame = pd.DataFrame({
        id_col: np.tile(ids, t),
        time_col: np.repeat(np.asarray(years, dtype=int), n),
        "y": y.ravel(),
        "did": did.ravel().astype(int),
    })
    for k in range(controls):
        frame[f"x{k + 1}"] = x[:, :, k].ravel()
    frame.attrs["synthetic"] = {
        "note": SYNTHETIC_NOTE, "effect": effect, "near": near, "far": far,
        "near_km": near_km, "far_km": far_km, "ring_km": ring_km, "noise": noise,
    }
    return frame
