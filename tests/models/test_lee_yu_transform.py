"""The Lee–Yu transformation approach against an explicit, dense construction.

Cases: for two-way, unit and time effects, SAR/SDM and SEM/SDEM fits
through spillmap (demeaned data, (N−1)(T−1) observations, log|I−ρW| −
log(1−ρ), trace corrections in the information matrix) equal a plain
no-effects model fitted by brute force to the explicitly transformed panel
y* = F_T' Y F_N with W* = F_N' W F_N (orthonormal F from null spaces):
ρ/λ, β, θ, σ², log-likelihood and every standard error from the dense
information matrix of the transformed model.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import null_space
from scipy.optimize import minimize_scalar

from spillmap.models import fit_spatial_panel, panel_arrays, prepare_weights

from .conftest import ring_lattice, simulate_sdm

RTOL = 1e-7  # optimiser tolerance 1e-12 in ρ; dense and sparse algebra agree to ~1e-10


def _orthonormal_complement(size: int) -> np.ndarray:
    return null_space(np.ones((1, size)))  # size × (size−1), orthonormal, orthogonal to 1


def _dense_reference(y, z, w, fe, model):
    """Transform explicitly, then fit a no-effects SAR/SEM by brute force with dense algebra."""
    t, n = y.shape
    ft = _orthonormal_complement(t) if fe in ("unit", "twoways") else np.eye(t)
    fn = _orthonormal_complement(n) if fe in ("time", "twoways") else np.eye(n)
    ys = ft.T @ y @ fn  # (T*, N*)
    zs = np.einsum("ts,tnk,nm->smk", ft, z, fn)  # (T*, N*, K)
    ws = fn.T @ w @ fn
    ts, ns = ys.shape
    nobs = ts * ns
    eye = np.eye(ns)
    zf = zs.reshape(nobs, -1)

    if model in ("sar", "sdm"):
        wys = (ws @ ys.T).T

        def profile(r):
            target = (ys - r * wys).ravel()
            beta = np.linalg.lstsq(zf, target, rcond=None)[0]
            e = target - zf @ beta
            return beta, float(e @ e) / nobs
    else:
        def profile(r):
            a = eye - r * ws
            target = (a @ ys.T).T.ravel()
            xs = np.einsum("mn,tnk->tmk", a, zs).reshape(nobs, -1)
            beta = np.linalg.lstsq(xs, target, rcond=None)[0]
            e = target - xs @ beta
            return beta, float(e @ e) / nobs

    def negll(r):
        _, s2 = profile(r)
        return 0.5 * nobs * (np.log(2 * np.pi * s2) + 1) - ts * np.linalg.slogdet(eye - r * ws)[1]

    res = minimize_scalar(negll, bounds=(-0.99, 0.99), method="bounded", options={"xatol": 1e-12})
    r = res.x
    beta, s2 = profile(r)
    g = ws @ np.linalg.inv(eye - r * ws)
    k = zf.shape[1]
    info = np.zeros((k + 2, k + 2))
    if model in ("sar", "sdm"):
        gzb = np.einsum("mn,tn->tm", g, (zf @ beta).reshape(ts, ns)).ravel()
        info[:k, :k] = zf.T @ zf / s2
        info[:k, k] = info[k, :k] = zf.T @ gzb / s2
        info[k, k] = ts * np.trace(g @ g + g.T @ g) + gzb @ gzb / s2
    else:
        xs = np.einsum("mn,tnk->tmk", eye - r * ws, zs).reshape(nobs, -1)
        info[:k, :k] = xs.T @ xs / s2
        info[k, k] = ts * np.trace(g @ g + g.T @ g)
    info[k, k + 1] = info[k + 1, k] = ts * np.trace(g) / s2
    info[k + 1, k + 1] = nobs / (2 * s2**2)
    se = np.sqrt(np.diag(np.linalg.inv(info)))
    return np.concatenate([beta, [r, s2]]), se, -res.fun


@pytest.fixture(scope="module")
def small():
    graph = ring_lattice(14, k=2)
    data = simulate_sdm(graph, 6, rho=0.4, beta=(1.0, -0.5), theta=(0.5, 0.3), seed=42)
    return graph, data


@pytest.mark.parametrize("fe", ["twoways", "unit", "time"])
@pytest.mark.parametrize("model", ["sar", "sdm", "sem", "sdem"])
def test_transformation_matches_dense_construction(small, fe, model):
    graph, data = small
    res = fit_spatial_panel(
        data, "y ~ x1 + x2", id_col="unit", time_col="year", weights=graph, model=model, fe=fe, lee_yu=True
    )
    w = prepare_weights(graph)
    panel = panel_arrays(data, id_col="unit", time_col="year", y="y", x=["x1", "x2"], ids=w.ids)
    z = panel.x
    if model in ("sdm", "sdem"):
        z = np.concatenate([z, w.lag(panel.x)], axis=2)
    params, se, loglik = _dense_reference(panel.y, z, w.matrix.toarray(), fe, model)
    np.testing.assert_allclose(res.params.to_numpy(), params, rtol=RTOL, atol=1e-9)
    np.testing.assert_allclose(res.se().to_numpy(), se, rtol=1e-6)
    assert res.loglik == pytest.approx(loglik, rel=1e-10)
