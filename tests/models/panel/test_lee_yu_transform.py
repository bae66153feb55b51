"""The Lee–Yu transformation approach against an explicit, dense construction.

Cases: for two-way, unit and time effects, SAR/SDM and SEM/SDEM fits
through spillmap (demeaned data, (N−1)(T−1) observations, log|I−ρW| −
log(1−ρ), trace corrections in the information matrix) equal a plain
no-effects model fitted by brute force to the explicitly transformed panel
y* = F_T' Y F_N with W* = F_N' W F_N (orthonormal F from null spaces):
ρ/λ, β, θ, σ², log-likelihood and every standard error from the dense
information matrix of the transformed model.

What is compared is what the data identify, not two optimisers' stopping
points: at spillmap's ρ the dense construction's closed forms (β, σ²,
log-likelihood, information matrix) must agree to rounding, spillmap's ρ
must be a maximiser of the dense likelihood (its Newton step is below what
a bounded Brent search resolves on a flat top) and no ρ the dense search
finds may beat it.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import null_space
from scipy.optimize import minimize_scalar

from spillmap.models import fit_spatial_panel, panel_arrays, prepare_weights

from ..conftest import ring_lattice, simulate_sdm

#: Closed forms at a given ρ: dense (np.linalg) and sparse/eigen algebra agree to ~1e-12; 1e-9 leaves room.
RTOL_CLOSED = 1e-9
#: Newton step |score/curvature| at spillmap's ρ. scipy's bounded Brent search (xatol = 1e-12) stops once its
#: bracket is within 2·(sqrt(eps)·|ρ| + xatol/3) ≈ 3e-8·|ρ|: on a flat top function values resolve ρ no better.
#: Observed steps are ≤ 4e-8; 1e-6 allows for other BLAS/libm rounding and is ~1/50,000 of a standard error of ρ.
NEWTON_STEP_TOL = 1e-6
#: Central-difference step for the score and curvature of the dense likelihood in ρ.
H = 1e-4


def _orthonormal_complement(size: int) -> np.ndarray:
    return null_space(np.ones((1, size)))  # size × (size−1), orthonormal, orthogonal to 1


def _dense_model(y, z, w, fe, model):
    """Transform explicitly; return the dense no-effects model's profile, −log-likelihood and information."""
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

    def se_at(r):
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
        return np.sqrt(np.diag(np.linalg.inv(info)))

    return profile, negll, se_at


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
    profile, negll, se_at = _dense_model(panel.y, z, w.matrix.toarray(), fe, model)
    r = float(res.params.iloc[-2])  # ρ or λ, then σ²
    # closed forms at spillmap's ρ
    beta, s2 = profile(r)
    np.testing.assert_allclose(res.params.to_numpy(), np.concatenate([beta, [r, s2]]), rtol=RTOL_CLOSED,
                               atol=RTOL_CLOSED)
    np.testing.assert_allclose(res.se().to_numpy(), se_at(r), rtol=RTOL_CLOSED)
    assert res.loglik == pytest.approx(-negll(r), rel=RTOL_CLOSED)
    # spillmap's ρ maximises the dense likelihood: zero score (Newton step) and nothing better elsewhere
    f0, fp, fm = negll(r), negll(r + H), negll(r - H)
    score, curvature = (fp - fm) / (2 * H), (fp - 2 * f0 + fm) / H**2
    assert curvature > 0
    assert abs(score / curvature) < NEWTON_STEP_TOL
    other = minimize_scalar(negll, bounds=(-0.99, 0.99), method="bounded", options={"xatol": 1e-12})
    assert -res.loglik <= other.fun + RTOL_CLOSED * abs(other.fun)
