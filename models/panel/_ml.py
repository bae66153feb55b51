"""Concentrated maximum likelihood for fixed-effects spatial panels.

Lag models (SAR, SDM): y = ρWy + Zβ + effects + ε with Z = [X, WX_durbin].
After the within transformation the likelihood is concentrated in ρ:
β(ρ) = b0 − ρ b1 and e(ρ) = e0 − ρ e1 from two least-squares fits, so one
evaluation costs O(N) (the log-determinant over cached eigenvalues) plus
O(1) for σ²(ρ) = (e0'e0 − 2ρ e0'e1 + ρ² e1'e1)/n.

Error models (SEM, SDEM): y = Zβ + u, u = λWu + ε, concentrated in λ with
K×K cross-products prepared once, so an evaluation costs O(N + K³).

SLX: least squares on [X, WX_durbin].

Standard errors come from the analytic information matrix (Elhorst 2014;
Lee & Yu 2010 for the transformation approach), with the traces tr(G),
tr(G²) from the eigenvalues and tr(G'G) from one dense solve (N ≤ 5,000).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.linalg as sla
from scipy.optimize import minimize_scalar
from spillmap.gis._ids import format_ids

from spillmap.errors import (
    CollinearityError,
    ConvergenceError,
    EstimationError,
    WeightsAssumptionWarning,
)

from spillmap.models.panel._fe import Design, FixedEffects, demean, design_for
from spillmap.models.panel._panel import COLLINEAR_TOL, PanelData
from spillmap.models.panel._vce import ScoreInputs
from spillmap.models.panel._weights import PreparedWeights

__all__ = ["Model", "RawFit", "fit_panel", "LAG_MODELS", "ERROR_MODELS"]

Model = Literal["sar", "sem", "sdm", "sdem", "slx"]
LAG_MODELS = ("sar", "sdm")
ERROR_MODELS = ("sem", "sdem")
DURBIN_MODELS = ("sdm", "sdem", "slx")

#: Tolerance on ρ (or λ) of the bounded Brent search.
XTOL = 1e-12
#: Distance kept from the ends of the stable interval of ρ.
BOUND_MARGIN = 1e-8
_LN2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True, eq=False)
class RawFit:
    """Numbers of one fit, before they are labelled into a result object.

    ``params`` is ordered [β (X), θ (W·X), ρ or λ, σ²]; ``vcov`` matches it.
    ``score_inputs`` keeps the demeaned arrays for robust variances (None
    for the spreg engine and bias-corrected fits, whose estimates are not a
    root of the score).
    """

    model: Model
    design: Design
    names: tuple[str, ...]
    params: np.ndarray
    vcov: np.ndarray
    loglik: float
    residuals: np.ndarray
    fitted: np.ndarray
    y_within: np.ndarray
    n_x: int
    durbin_idx: tuple[int, ...]
    bias_corrected: bool = False
    score_inputs: ScoreInputs | None = None

    @property
    def spatial(self) -> float:
        """ρ (lag models) or λ (error models); NaN for SLX."""
        return float(self.params[-2]) if self.model != "slx" else float("nan")

    @property
    def sigma2(self) -> float:
        return float(self.params[-1])


def fit_panel(
    panel: PanelData,
    w: PreparedWeights,
    *,
    model: Model,
    fe: FixedEffects,
    lee_yu: bool,
    durbin_idx: tuple[int, ...],
    bias_correction: bool = False,
) -> RawFit:
    """Fit ``model`` to ``panel`` with weights ``w``; see the module docstring."""
    if (lee_yu or bias_correction) and fe in ("time", "twoways") and not w.row_stochastic:
        warnings.warn(
            "Lee–Yu with time effects assumes a row-normalised W, but "
            f"{len(w.islands)} unit(s) have no neighbours (zero rows: {format_ids(w.islands.tolist())}); "
            "the estimates may be off. Drop the islands or use weights without them.",
            WeightsAssumptionWarning,
            stacklevel=3,
        )
    z_raw, names = _regressors(panel, w, model, durbin_idx)
    z = demean(z_raw, fe)
    _check_collinear(z, names, fe)
    y = demean(panel.y, fe)
    t, n = panel.t, panel.n
    if bias_correction:
        if model not in LAG_MODELS or fe != "twoways":
            raise EstimationError(
                "The Lee–Yu bias-correction formula applies to SAR/SDM with two-way fixed effects; "
                "use the transformation approach (lee_yu=True) for other models."
            )
        design = design_for(fe, False, n, t)
    else:
        design = design_for(fe, lee_yu, n, t)
    if model in LAG_MODELS:
        wy = demean(w.lag(panel.y), fe)
        fit = _fit_lag(y, wy, z, names, w, design, model, panel, durbin_idx)
        if bias_correction:
            fit = _bias_correct(fit, z, w, t, n)
        return fit
    if model in ERROR_MODELS:
        return _fit_error(y, z, names, w, design, model, panel, durbin_idx)
    return _fit_slx(y, z, names, w, design, panel, durbin_idx)


def _regressors(panel: PanelData, w: PreparedWeights, model: Model, durbin_idx: tuple[int, ...]):
    names = list(panel.x_names)
    z = panel.x
    if model in DURBIN_MODELS:
        if not durbin_idx:
            raise EstimationError(f"model='{model}' needs at least one Durbin variable (durbin=).")
        wx = w.lag(panel.x[:, :, list(durbin_idx)])
        z = np.concatenate([panel.x, wx], axis=2)
        names += [f"W·{panel.x_names[k]}" for k in durbin_idx]
    return z, tuple(names)


def _flat(values: np.ndarray) -> np.ndarray:
    return values.reshape(values.shape[0] * values.shape[1], -1) if values.ndim == 3 else values.ravel()


def _check_collinear(z: np.ndarray, names: tuple[str, ...], fe: FixedEffects) -> None:
    flat = _flat(z)
    scale = np.sqrt(np.sum(flat * flat, axis=0))
    ref = max(float(np.max(np.abs(z), initial=0.0)), 1.0)
    constant = [names[k] for k in np.flatnonzero(scale <= COLLINEAR_TOL * ref * math.sqrt(len(flat)))]
    if constant:
        removed = {"unit": "unit", "time": "period", "twoways": "unit and period"}[fe]
        raise CollinearityError(
            f"Column(s) {format_ids(constant)} are constant within each {removed} and are absorbed "
            f"by the {fe} fixed effects (e.g. time-invariant X under unit effects, or W·X of a "
            "variable constant across units in each period under time effects). Drop them."
        )
    normed = flat / scale
    r, perm = sla.qr(normed, mode="r", pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int(np.sum(diag > COLLINEAR_TOL * diag[0] * 1e2)) if len(diag) else 0
    if rank < len(names):
        dependent = [names[k] for k in perm[rank:]]
        basis = [names[k] for k in perm[:rank]]
        raise CollinearityError(
            f"Column(s) {format_ids(dependent)} are perfect linear combinations of "
            f"{format_ids(basis)} after removing the {fe} fixed effects; drop them."
        )


def _ols(z: np.ndarray, *targets: np.ndarray) -> tuple[np.ndarray, ...]:
    flat = _flat(z)
    cho = sla.cho_factor(flat.T @ flat)
    return tuple(sla.cho_solve(cho, flat.T @ _flat(v)) for v in targets)


def _maximize(negloglik, bounds: tuple[float, float], what: str) -> float:
    lo, hi = bounds
    lo, hi = lo + BOUND_MARGIN * abs(lo), hi - BOUND_MARGIN * abs(hi)
    res = minimize_scalar(negloglik, bounds=(lo, hi), method="bounded", options={"xatol": XTOL, "maxiter": 500})
    if not res.success or not np.isfinite(res.fun):
        raise ConvergenceError(f"The likelihood could not be maximised in {what}: {res.message}")
    span = hi - lo
    if min(res.x - lo, hi - res.x) < 1e-6 * span:
        warnings.warn(
            f"{what} = {res.x:.6f} lies at the edge of its stable interval ({lo:.4f}, {hi:.4f}); "
            "the model may be misspecified or the weights too sparse.",
            WeightsAssumptionWarning,
            stacklevel=4,
        )
    return float(res.x)


def _concentrated(design: Design, w: PreparedWeights):
    """log-likelihood as a function of ρ (or λ) and the residual sum of squares."""
    def loglik(rho: float, ssr: float) -> float:
        sigma2 = ssr / design.n_obs
        jac = w.logdet(rho) - (design.time_removed * math.log(1.0 - rho) if design.time_removed else 0.0)
        return -0.5 * design.n_obs * (_LN2PI + math.log(sigma2) + 1.0) + design.t_weight * jac

    return loglik


# ----------------------------------------------------------------- lag models

def _fit_lag(y, wy, z, names, w, design, model, panel, durbin_idx) -> RawFit:
    _check_identified(y, wy, design.fe)
    b0, b1 = _ols(z, y, wy)
    zf = _flat(z)
    e0 = y.ravel() - zf @ b0
    e1 = wy.ravel() - zf @ b1
    e00, e01, e11 = e0 @ e0, e0 @ e1, e1 @ e1
    loglik = _concentrated(design, w)
    rho = _maximize(lambda r: -loglik(r, e00 - 2 * r * e01 + r * r * e11), w.rho_bounds, "ρ")
    if w.logdet_method == "eigen":
        rho = _polish_lag(rho, e00, e01, e11, w, design, loglik)
    beta = b0 - rho * b1
    resid = e0 - rho * e1
    sigma2 = float(resid @ resid) / design.n_obs
    vcov = _lag_vcov(z, beta, rho, sigma2, w, design, panel.t)
    params = np.concatenate([beta, [rho, sigma2]])
    return RawFit(
        model=model, design=design, names=(*names, "rho", "sigma2"),
        params=params, vcov=vcov,
        loglik=loglik(rho, float(resid @ resid)),
        residuals=resid.reshape(y.shape), fitted=(y.ravel() - resid).reshape(y.shape),
        y_within=y, n_x=len(panel.x_names), durbin_idx=durbin_idx,
        score_inputs=ScoreInputs(model=model, design=design, w=w, params=params, z=z, y=y, wy=wy),
    )


#: Newton steps that pin ρ to the root of the analytic score after the Brent search.
POLISH_STEPS = 4


def _polish_lag(rho: float, e00: float, e01: float, e11: float, w: PreparedWeights, design: Design,
                loglik) -> float:  # noqa: ANN001
    """ρ at the root of the analytic score, from Brent's ρ (exact-eigenvalue route only).

    A bounded Brent search resolves a maximum only to about sqrt(machine eps)
    (~1e-8 relative): on the flat top, function values that differ in the last
    bit (summation order, memory alignment, BLAS threads) move its answer by
    that much, which shows in the 9th digit of ρ. The score
    dℓ/dρ = −(n/2)·S'(ρ)/S(ρ) − t·tr(G) (+ t/(1 − ρ) under Lee–Yu) has a simple
    root there that Newton's method finds to rounding, so the same data give
    the same ρ to ~1e-15 whatever the context. A step that leaves the stable
    interval or lowers the likelihood is not taken.
    """
    lo, hi = w.rho_bounds
    n, t_w, removed = design.n_obs, design.t_weight, design.time_removed

    def ssr(r: float) -> float:
        return e00 - 2 * r * e01 + r * r * e11

    best = rho
    for _ in range(POLISH_STEPS):
        s, ds = ssr(rho), 2.0 * (rho * e11 - e01)
        tr_g, tr_g2 = w.traces(rho)
        score = -0.5 * n * ds / s - t_w * tr_g
        curvature = -0.5 * n * (2.0 * e11 / s - (ds / s) ** 2) - t_w * tr_g2
        if removed:
            score += t_w * removed / (1.0 - rho)
            curvature += t_w * removed / (1.0 - rho) ** 2
        if not (curvature < 0 and np.isfinite(score)):
            break
        step = score / curvature
        new = rho - step
        if not lo < new < hi:
            break
        rho = new
        if abs(step) <= 4 * np.finfo(float).eps * max(1.0, abs(rho)):
            break
    start = loglik(best, ssr(best))
    return best if loglik(rho, ssr(rho)) < start - 1e-9 * abs(start) else rho


def _check_identified(y: np.ndarray, wy: np.ndarray, fe: str) -> None:
    norm = float(np.linalg.norm(y) * np.linalg.norm(wy))
    if norm == 0.0 or 1.0 - abs(float(y.ravel() @ wy.ravel())) / norm < COLLINEAR_TOL:
        raise EstimationError(
            f"ρ is not identified: after removing the {fe} fixed effects W·y is proportional to y "
            "(e.g. every unit neighbours every other with equal weight, and time effects absorb "
            "the common part). Use weights with local structure (distance bands, contiguity)."
        )


def _lag_terms(w: PreparedWeights, rho: float, design: Design, zb: np.ndarray | None = None):
    """tr(G), tr(G²), tr(G'G) (each reduced by the removed time dimension under Lee–Yu) and G·zb."""
    tr_g, tr_g2 = w.traces(rho)
    tr_gtg, gzb, colsum_sq = w.information_terms(rho, zb)
    if design.time_removed:
        tr_g -= 1.0 / (1.0 - rho)
        tr_g2 -= 1.0 / (1.0 - rho) ** 2
        tr_gtg -= colsum_sq / w.n
        if gzb is not None:
            gzb = gzb - gzb.mean(axis=1, keepdims=True)
    return tr_g, tr_g2, tr_gtg, gzb


def _lag_information(z, beta, rho, sigma2, w, design) -> np.ndarray:
    """Information matrix of (β, ρ, σ²) for the lag model (Elhorst 2014; Lee & Yu 2010)."""
    zf = _flat(z)
    zb = (zf @ beta).reshape(z.shape[:2])  # (T, N)
    tr_g, tr_g2, tr_gtg, gzb = _lag_terms(w, rho, design, zb)
    k = zf.shape[1]
    info = np.zeros((k + 2, k + 2))
    info[:k, :k] = zf.T @ zf / sigma2
    info[:k, k] = info[k, :k] = zf.T @ gzb.ravel() / sigma2
    info[k, k] = design.t_weight * (tr_g2 + tr_gtg) + float(gzb.ravel() @ gzb.ravel()) / sigma2
    info[k, k + 1] = info[k + 1, k] = design.t_weight * tr_g / sigma2
    info[k + 1, k + 1] = design.n_obs / (2.0 * sigma2**2)
    return info


def _lag_vcov(z, beta, rho, sigma2, w, design, t) -> np.ndarray:
    return _inverse(_lag_information(z, beta, rho, sigma2, w, design))


def _bias_correct(fit: RawFit, z: np.ndarray, w: PreparedWeights, t: int, n: int) -> RawFit:
    """Lee & Yu's first-order bias correction (Elhorst's bc=1), refused outside the stable interval."""
    k = len(fit.params) - 2
    rho, sigma2 = fit.spatial, fit.sigma2
    info = _lag_information(z, fit.params[:k], rho, sigma2, w, fit.design)
    shift = np.zeros(k + 2)
    shift[k] = 1.0 / (1.0 - rho)
    shift[k + 1] = 1.0 / (2.0 * sigma2)
    corrected = fit.params + t * np.linalg.solve(info, shift)
    corrected[k + 1] *= t / (t - 1.0)
    lo, hi = w.rho_bounds
    if not lo < corrected[k] < hi:
        raise EstimationError(
            f"The bias-corrected ρ = {corrected[k]:.4f} lies outside the stable interval "
            f"({lo:.4f}, {hi:.4f}) (uncorrected ρ = {rho:.4f}): ρ is weakly identified in this "
            "panel and the correction is not valid. Use the Lee–Yu transformation (the default) instead."
        )
    vcov = _inverse(_lag_information(z, corrected[:k], corrected[k], corrected[k + 1], w, fit.design))
    return RawFit(
        model=fit.model, design=fit.design, names=fit.names, params=corrected, vcov=vcov,
        loglik=fit.loglik, residuals=fit.residuals, fitted=fit.fitted, y_within=fit.y_within,
        n_x=fit.n_x, durbin_idx=fit.durbin_idx, bias_corrected=True,
    )


# --------------------------------------------------------------- error models

def _fit_error(y, z, names, w, design, model, panel, durbin_idx) -> RawFit:
    fe = design.fe
    ly = demean(w.lag(y), fe)
    lz = demean(w.lag(z), fe)
    zf, lzf, yf, lyf = _flat(z), _flat(lz), y.ravel(), ly.ravel()
    a, b, c = zf.T @ zf, zf.T @ lzf, lzf.T @ lzf
    zy, zly, lzy, lzly = zf.T @ yf, zf.T @ lyf, lzf.T @ yf, lzf.T @ lyf
    yy, yly, lyly = yf @ yf, yf @ lyf, lyf @ lyf

    def beta_ssr(lam: float) -> tuple[np.ndarray, float]:
        xtx = a - lam * (b + b.T) + lam * lam * c
        xty = zy - lam * (zly + lzy) + lam * lam * lzly
        beta = np.linalg.solve(xtx, xty)
        return beta, float(yy - 2 * lam * yly + lam * lam * lyly - beta @ xty)

    loglik = _concentrated(design, w)
    lam = _maximize(lambda v: -loglik(v, beta_ssr(v)[1]), w.rho_bounds, "λ")
    beta, ssr = beta_ssr(lam)
    sigma2 = ssr / design.n_obs
    xs = zf - lam * lzf
    resid = (yf - lam * lyf) - xs @ beta
    tr_g, tr_g2, tr_gtg, _ = _lag_terms(w, lam, design)
    k = zf.shape[1]
    info = np.zeros((k + 2, k + 2))
    info[:k, :k] = xs.T @ xs / sigma2
    info[k, k] = design.t_weight * (tr_g2 + tr_gtg)
    info[k, k + 1] = info[k + 1, k] = design.t_weight * tr_g / sigma2
    info[k + 1, k + 1] = design.n_obs / (2.0 * sigma2**2)
    u = yf - zf @ beta
    params = np.concatenate([beta, [lam, sigma2]])
    return RawFit(
        model=model, design=design, names=(*names, "lambda", "sigma2"),
        params=params, vcov=_inverse(info), loglik=loglik(lam, ssr),
        residuals=resid.reshape(y.shape), fitted=(yf - u).reshape(y.shape),
        y_within=y, n_x=len(panel.x_names), durbin_idx=durbin_idx,
        score_inputs=ScoreInputs(model=model, design=design, w=w, params=params, z=z, y=y, wy=ly, wz=lz),
    )


# ------------------------------------------------------------------------ SLX

def _fit_slx(y, z, names, w, design, panel, durbin_idx) -> RawFit:
    zf = _flat(z)
    (beta,) = _ols(z, y)
    resid = y.ravel() - zf @ beta
    sigma2 = float(resid @ resid) / design.n_obs
    k = zf.shape[1]
    info = np.zeros((k + 1, k + 1))
    info[:k, :k] = zf.T @ zf / sigma2
    info[k, k] = design.n_obs / (2.0 * sigma2**2)
    loglik = -0.5 * design.n_obs * (_LN2PI + math.log(sigma2) + 1.0)
    params = np.concatenate([beta, [sigma2]])
    return RawFit(
        model="slx", design=design, names=(*names, "sigma2"), params=params,
        vcov=_inverse(info), loglik=loglik, residuals=resid.reshape(y.shape),
        fitted=(y.ravel() - resid).reshape(y.shape), y_within=y, n_x=len(panel.x_names), durbin_idx=durbin_idx,
        score_inputs=ScoreInputs(model="slx", design=design, w=w, params=params, z=z, y=y),
    )


def _inverse(info: np.ndarray) -> np.ndarray:
    try:
        return sla.inv(info, check_finite=True)
    except (sla.LinAlgError, ValueError) as err:
        raise EstimationError(f"The information matrix is singular; standard errors are undefined ({err}).") from None
