"""All distance bands at once: the ring-exposure DID (Butts 2021; Clarke 2017).

    y_it = α_i + γ_t + β·D_it + Σ_k δ_k·E_kit + x_it'γ + ε_it,   E_kit = Σ_j w^k_ij D_jt

with w^k the row-standardised weights of distance band k (binary or
inverse-distance inside the band; a unit without neighbours in the band has
E = 0). δ_k is the spillover a unit receives when every unit in its band k is
treated, *net of every other band*: refitting one band at a time (the study's
method, ``method="separate"`` in :func:`distance_sweep`) leaves the other
bands' spillovers in the error, where they persist over time and bend each
band's estimate towards its neighbours'.

The regression is ordinary least squares after the exact two-way within
transformation of a balanced panel (no iterative demeaning, so the same data
give the same bytes in every process). Variance:

* ``"cluster"`` (default): clustered by unit, CRV1 with the factor
  G/(G − 1)·(n − 1)/(n − k), k = regressors + T period effects (the unit
  effects are nested in the clusters), equal to pyfixest's ``CRV1`` to
  rounding (tested);
* ``"conley"``: spatial HAC (Conley 1999) — within each period, residual
  products of units closer than ``cutoff_km`` weighted by the Bartlett kernel
  1 − d/cutoff, plus every product within a unit across periods (serial
  correlation, as clustering by unit allows), with the same small-sample factor.

A smooth alternative to bands is :func:`kernel_exposures`: triangular
(linear B-spline) kernels of distance centred on knots, whose coefficients
trace the spillover as a piecewise-linear function of distance and can place
a sign change inside a band.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from spillmap.errors import EstimationError
from spillmap.models.did._treatment import DID
from spillmap.models.panel._panel import panel_arrays

__all__ = ["ExposureFit", "JointVce", "band_matrix", "kernel_matrix", "fit_exposure_did", "exposure_unit_effects"]

JointVce = Literal["cluster", "conley"]


def band_matrix(distances, inner_km: float, outer_km: float, *, weight: str = "inverse",  # noqa: ANN001
                alpha: float = 1.0) -> tuple[sp.csr_array, np.ndarray]:
    """Row-standardised weights of pairs ``inner_km < d <= outer_km`` (km) and each unit's neighbour count.

    ``weight="inverse"``: d^−alpha inside the band; ``"binary"``: 1. Units without a neighbour
    in the band keep a zero row.
    """
    keep = (distances.km > inner_km) & (distances.km <= outer_km)
    values = distances.km[keep] ** -alpha if weight == "inverse" else np.ones(int(keep.sum()))
    return _symmetric_rows(distances, keep, values)


def kernel_matrix(distances, centre_km: float, half_width_km: float) -> tuple[sp.csr_array, np.ndarray]:  # noqa: ANN001
    """Row-standardised triangular kernel of distance, 1 − |d − centre|/half_width (km), and neighbour counts."""
    w = 1.0 - np.abs(distances.km - centre_km) / half_width_km
    keep = (w > 0) & (distances.km > 0)
    return _symmetric_rows(distances, keep, w[keep])


def _symmetric_rows(distances, keep: np.ndarray, values: np.ndarray) -> tuple[sp.csr_array, np.ndarray]:  # noqa: ANN001
    n = len(distances.ids)
    i, j = distances.i[keep], distances.j[keep]
    m = sp.csr_array((np.concatenate([values, values]), (np.concatenate([i, j]), np.concatenate([j, i]))),
                     shape=(n, n))
    sums = np.asarray(m.sum(axis=1)).ravel()
    scale = np.divide(1.0, sums, out=np.zeros(n), where=sums > 0)
    counts = np.bincount(i, minlength=n) + np.bincount(j, minlength=n)
    return sp.csr_array(sp.diags_array(scale) @ m), counts


@dataclass(frozen=True)
class ExposureFit:
    """The exposure DID: coefficients, their covariance and the fit's size.

    ``params``/``vcov`` are labelled by term: the treatment, then one
    exposure per band (``E0``, ``E1``, …, in band order), then the controls.
    """

    params: pd.Series
    vcov: pd.DataFrame = field(repr=False)
    treatment: str
    exposures: tuple[str, ...]
    vce: str
    n_obs: int
    n_units: int
    n_periods: int
    cutoff_km: float | None = None
    r2_within: float = float("nan")

    def se(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.vcov.to_numpy())), index=self.params.index)

    def draws(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        """``n`` draws of the coefficients from their normal approximation N(params, vcov)."""
        values = rng.multivariate_normal(self.params.to_numpy(), self.vcov.to_numpy(), size=n, method="eigh")
        return pd.DataFrame(values, columns=self.params.index)


def fit_exposure_did(
    data: pd.DataFrame,
    y: str,
    distances,  # noqa: ANN001 - spillmap.gis.PairwiseDistances of the panel's units
    matrices: Sequence[sp.csr_array],
    *,
    id_col: str,
    time_col: str,
    treatment: str = DID,
    controls: Sequence[str] = (),
    vce: JointVce = "cluster",
    cutoff_km: float | None = None,
) -> ExposureFit:
    """Two-way fixed-effects DID with one exposure term per weights matrix (band or kernel).

    Parameters
    ----------
    matrices
        Row-standardised N×N weights in the order of ``distances.ids``, one per band.
    vce, cutoff_km
        ``"cluster"`` by unit, or ``"conley"`` with a Bartlett cutoff in km (at most the
        distances' ``max_km``).
    """
    if vce not in ("cluster", "conley"):
        raise EstimationError(f"vce must be 'cluster' or 'conley' for the exposure DID, not {vce!r}.")
    if vce == "conley":
        if not (cutoff_km and cutoff_km > 0):
            raise EstimationError("vce='conley' needs cutoff_km, a positive distance in km.")
        if distances.max_km is not None and cutoff_km > distances.max_km:
            raise EstimationError(f"cutoff_km = {cutoff_km:g} km exceeds the distances kept ({distances.max_km:g} km).")
    panel = panel_arrays(data, id_col=id_col, time_col=time_col, y=y, x=[treatment, *controls],
                         ids=list(distances.ids))
    d = panel.x[:, :, 0]  # (T, N)
    exposures = [(m @ d.T).T for m in matrices]
    names = [f"E{k}" for k in range(len(matrices))]
    z = np.concatenate([d[:, :, None], np.stack(exposures, axis=2), panel.x[:, :, 1:]], axis=2)
    terms = [treatment, *names, *controls]
    zt, yt = _within(z), _within(panel.y[:, :, None])[:, :, 0]
    t, n, k = zt.shape
    zf, yf = zt.reshape(t * n, k), yt.ravel()
    scale = np.sqrt(np.sum(zf * zf, axis=0))
    if np.any(scale == 0):
        empty = [terms[i] for i in np.flatnonzero(scale == 0)]
        raise EstimationError(f"No variation left in {', '.join(empty)} after the unit and period effects "
                              "(e.g. a band where no unit has a treated neighbour); drop those bands.")
    q, r = np.linalg.qr(zf / scale)
    if np.min(np.abs(np.diag(r))) < 1e-10 * np.max(np.abs(np.diag(r))):
        raise EstimationError("The exposure terms are collinear after the unit and period effects; "
                              "use wider or fewer bands.")
    beta = np.linalg.solve(r, q.T @ yf) / scale
    resid = yf - zf @ beta
    bread = np.linalg.inv(zf.T @ zf)
    scores = zt * resid.reshape(t, n)[:, :, None]  # (T, N, K)
    by_unit = scores.sum(axis=0)  # (N, K)
    meat = by_unit.T @ by_unit
    if vce == "conley":
        meat += _conley_spatial(scores, distances, cutoff_km)
    nobs = t * n
    k_all = k + t  # the period effects count, the unit effects are nested in the clusters (pyfixest's rule)
    factor = n / (n - 1) * (nobs - 1) / (nobs - k_all)
    vcov = factor * bread @ meat @ bread
    ss_tot = float(yf @ yf)
    return ExposureFit(
        params=pd.Series(beta, index=terms), vcov=pd.DataFrame(vcov, index=terms, columns=terms),
        treatment=treatment, exposures=tuple(names), vce=vce, n_obs=nobs, n_units=n, n_periods=t,
        cutoff_km=cutoff_km if vce == "conley" else None,
        r2_within=1.0 - float(resid @ resid) / ss_tot if ss_tot > 0 else float("nan"),
    )


def _within(values: np.ndarray) -> np.ndarray:
    """Exact two-way within transformation of a balanced (T, N, K) array."""
    return (values - values.mean(axis=0, keepdims=True) - values.mean(axis=1, keepdims=True)
            + values.mean(axis=(0, 1), keepdims=True))


def _conley_spatial(scores: np.ndarray, distances, cutoff_km: float) -> np.ndarray:  # noqa: ANN001
    """Σ_t Σ_{i≠j, d_ij < cutoff} (1 − d_ij/cutoff) s_it s_jt' (the within-unit terms are in the cluster part)."""
    near = distances.km < cutoff_km
    i, j = distances.i[near], distances.j[near]
    kernel = 1.0 - distances.km[near] / cutoff_km
    meat = np.zeros((scores.shape[2], scores.shape[2]))
    for s in scores:  # one period: (N, K)
        cross = (s[i] * kernel[:, None]).T @ s[j]
        meat += cross + cross.T
    return meat


def exposure_unit_effects(fit: ExposureFit, matrix: sp.csr_array, term: str, treated: np.ndarray,
                          ids: Sequence[object], *, level: float = 0.95) -> pd.DataFrame:
    """Per-unit effects of one band of an exposure DID, in the columns of :meth:`UnitEffectsResult.to_frame`.

    ``own`` = β (the effect of a unit's own treatment); ``recv`` = δ·Σ_j w_ij D_j (spillover received from
    the units of the band treated in ``treated``, 0/1 in the order of ``ids``); ``emit`` = δ·Σ_j w_ji (what a
    unit's treatment sends to the others in the band). Standard errors scale δ's (β's for ``own``);
    intervals are normal; ``_psign`` is the normal probability of the estimate's sign (NaN at exactly 0).
    """
    from scipy import stats

    se = fit.se()
    z = float(stats.norm.ppf(0.5 + level / 2))
    d = np.asarray(treated, dtype=float)
    weight = {"own": np.ones(len(d)), "recv": np.asarray(matrix @ d).ravel(),
              "emit": np.asarray(matrix.sum(axis=0)).ravel()}
    columns: dict[str, object] = {"id": list(ids)}
    for name, scale in weight.items():
        coef = fit.params[fit.treatment if name == "own" else term]
        sd = se[fit.treatment if name == "own" else term]
        value, spread = coef * scale, np.abs(scale) * sd
        with np.errstate(divide="ignore", invalid="ignore"):
            psign = np.where(value == 0, np.nan, stats.norm.cdf(np.abs(value) / spread))
        columns.update({name: value, f"{name}_se": spread, f"{name}_lo": value - z * spread,
                        f"{name}_hi": value + z * spread, f"{name}_psign": psign})
    return pd.DataFrame(columns)
