"""Fixtures for model tests: the Cigar panel (tests/data/cigar) and simulated SDM panels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from libpysal.graph import Graph

DATA = Path(__file__).resolve().parents[1] / "data" / "cigar"
REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "cigar.json"


@pytest.fixture(scope="session")
def cigar() -> pd.DataFrame:
    return pd.read_csv(DATA / "cigar_panel.csv")


@pytest.fixture(scope="session")
def cigar_graph(cigar) -> Graph:
    matrix = pd.read_csv(DATA / "usa46_binary.csv").to_numpy(dtype=float)
    return Graph.from_sparse(sp.csr_array(matrix), ids=np.sort(cigar["state"].unique()))


@pytest.fixture(scope="session")
def cigar_reference() -> dict:
    return json.loads(REFERENCE.read_text(encoding="utf-8"))


def ring_lattice(n: int, k: int = 3) -> Graph:
    """Each unit neighbours the k units on either side on a ring (symmetric, connected)."""
    rows, cols = [], []
    for i in range(n):
        for d in range(1, k + 1):
            rows += [i, i]
            cols += [(i + d) % n, (i - d) % n]
    matrix = sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    return Graph.from_sparse(matrix, ids=[f"u{i:03d}" for i in range(n)])


def simulate_sdm(
    graph: Graph,
    t: int,
    *,
    rho: float,
    beta: tuple[float, ...],
    theta: tuple[float, ...],
    sigma: float = 1.0,
    seed: int,
    model: str = "sdm",
) -> pd.DataFrame:
    """Long panel from y = (I − ρW)⁻¹(Xβ + WXθ + μ_i + α_t + ε) (or λ errors for model='sem'/'sdem')."""
    rng = np.random.default_rng(seed)
    w = graph.transform("r").sparse.toarray()
    n = w.shape[0]
    k = len(beta)
    mu = rng.normal(0, 1, n)
    alpha = rng.normal(0, 1, t)
    rows = []
    a_inv = np.linalg.inv(np.eye(n) - rho * w)
    for s in range(t):
        x = rng.normal(0, 1, (n, k)) + 0.3 * mu[:, None]
        eps = rng.normal(0, sigma, n)
        core = x @ np.asarray(beta) + (w @ x) @ np.asarray(theta) + mu + alpha[s]
        if model in ("sem", "sdem"):
            y = core + a_inv @ eps
        else:
            y = a_inv @ (core + eps)
        for i in range(n):
            rows.append({"unit": graph.unique_ids[i], "year": 2000 + s, "y": y[i], **{f"x{j + 1}": x[i, j] for j in range(k)}})
    return pd.DataFrame(rows)


def random_band_graph(n: int, seed: int, *, knn: int | None = None) -> Graph:
    """Units at random points on a 1000 km square: a 0–150 km inverse-distance band (symmetric),
    or ``knn`` nearest neighbours (asymmetric, complex eigenvalues)."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 1000, (n, 2))
    d = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    if knn is None:
        weights = np.where(d <= 150, 1.0 / d, 0.0)
        lonely = weights.sum(axis=1) == 0
        nearest = d.argmin(axis=1)
        weights[lonely, nearest[lonely]] = 1.0 / d[lonely, nearest[lonely]]
        weights = np.maximum(weights, weights.T)
    else:
        weights = np.zeros((n, n))
        order = np.argsort(d, axis=1)[:, :knn]
        np.put_along_axis(weights, order, 1.0, axis=1)
    return Graph.from_sparse(sp.csr_array(weights), ids=[f"c{i:04d}" for i in range(n)])
