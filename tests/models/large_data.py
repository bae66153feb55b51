"""A two-way SDM panel simulated with sparse solves, fast at large N (tests/models/panel/test_large_n.py and
benchmarks/bench_large.py): y = (I − ρW)⁻¹(Xβ + WXθ + μ_i + α_t + ε), two regressors, β = (1, −0.5),
θ = (0.5, 0.2)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from spillmap.models import prepare_weights


def simulate_panel(graph: object, t: int, *, rho: float, seed: int) -> pd.DataFrame:
    """Long panel (unit, year, y, x1, x2) on ``graph`` (row-standardised by spillmap)."""
    w = prepare_weights(graph, logdet="lu")
    rng = np.random.default_rng(seed)
    n = w.n
    mu, alpha = rng.normal(size=n), rng.normal(size=t)
    x = rng.normal(size=(t, n, 2)) + 0.3 * mu[None, :, None]
    core = x @ np.array([1.0, -0.5]) + w.lag(x) @ np.array([0.5, 0.2]) + mu + alpha[:, None] + rng.normal(size=(t, n))
    y = w.solve(rho, core.T).T
    return pd.DataFrame({
        "unit": np.tile(np.asarray(w.ids), t), "year": np.repeat(np.arange(t), n),
        "y": y.ravel(), "x1": x[:, :, 0].ravel(), "x2": x[:, :, 1].ravel(),
    })
