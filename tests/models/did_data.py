"""Simulated staggered-adoption panels with known effects, shared by the DID tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def staggered_panel(
    n: int = 240,
    years: tuple[int, int] = (2010, 2021),
    cohorts: tuple[float, ...] = (2014.0, 2016.0, 2018.0, np.nan),
    *,
    effect: float = 1.0,
    growth: float = 0.0,
    cohort_slope: float = 0.0,
    pretrend: float = 0.0,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.Series]:
    """y = μ_i + γ_t + τ_it·D_it + 0.5·x1 − 0.3·x2 + ε; τ_it = effect + growth·(t − g_i) + cohort_slope·(g_i − 2014).

    Returns the panel (columns unit, year, y, x1, x2) and first treated year per unit.
    """
    rng = np.random.default_rng(seed)
    units = [f"u{i:03d}" for i in range(n)]
    g = np.asarray(cohorts, dtype=float)[np.arange(n) % len(cohorts)]
    rng.shuffle(g)
    mu = rng.normal(0, 1, n)
    yrs = np.arange(years[0], years[1] + 1)
    gamma = np.cumsum(rng.normal(0.1, 0.3, len(yrs)))
    rows = []
    for i, u in enumerate(units):
        for s, yr in enumerate(yrs):
            treated = np.isfinite(g[i]) and yr >= g[i]
            tau = effect + growth * (yr - g[i]) + cohort_slope * (g[i] - 2014.0) if treated else 0.0
            lead = pretrend * (yr - g[i]) if np.isfinite(g[i]) and yr < g[i] else 0.0
            x1, x2 = rng.normal(), rng.normal()
            y = mu[i] + gamma[s] + tau + lead + 0.5 * x1 - 0.3 * x2 + rng.normal(0, 1)
            rows.append((u, int(yr), y, x1, x2))
    frame = pd.DataFrame(rows, columns=["unit", "year", "y", "x1", "x2"])
    first = pd.Series(g, index=units).dropna()
    return frame, first
