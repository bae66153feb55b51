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
from spillmap.models.panel._fe import demean
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

    def unit_effects(self, term: str, matrix: sp.csr_array, treated: np.ndarray, ids: Sequence[object], *,
                     draws: int = 0, rng: np.random.Generator | None = None, level: float = 0.95) -> pd.DataFrame:
        """Per-unit effects of band ``term`` (:func:`exposure_unit_effects`; closed form, so no draws)."""
        return exposure_unit_effects(self, matrix, term, treated, ids, level=level)


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
    exposures = _exposures(panel.x[:, :, 0], matrices)
    names = [f"E{k}" for k in range(len(matrices))]
    z = np.concatenate([panel.x[:, :, :1], np.stack(exposures, axis=2), panel.x[:, :, 1:]], axis=2)
    terms = [treatment, *names, *controls]
    zt, yt = demean(z, "twoways"), demean(panel.y, "twoways")
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


def _exposures(d: np.ndarray, matrices: Sequence[sp.csr_array]) -> list[np.ndarray]:
    """E_k = W_k·D per period: (T, N) exposure of each unit to the treated units of each matrix."""
    return [(m @ d.T).T for m in matrices]


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


@dataclass(frozen=True)
class SpatialExposureFit:
    """The spatial Durbin counterpart: y = ρWy + β·D + Σ_k θ_k·W_k·D + Xγ + unit and period effects + ε.

    ``fit`` is the SAR fit with the exposures as regressors (``E0``, ``E1``, … in band order);
    ``effects(k)`` gives band k's direct/indirect/total effects through the multiplier (I − ρW)⁻¹.
    """

    fit: object  # SpatialPanelResult
    treatment: str
    exposures: tuple[str, ...]
    eigenvalues: np.ndarray = field(repr=False)  # of the linked units' symmetric S = D^-1/2 C D^-1/2
    left: np.ndarray = field(repr=False)  # Q' D^-1/2 1 / N over the linked units
    right: dict[str, np.ndarray] = field(repr=False)  # exposure → Q' D^1/2 r_k
    island_rows: dict[str, float] = field(repr=False, default_factory=dict)  # exposure → Σ_islands r_k / N
    vectors: np.ndarray | None = field(repr=False, default=None)  # Q (linked × linked)
    root: np.ndarray | None = field(repr=False, default=None)  # D^1/2 of the linked units
    linked: np.ndarray | None = field(repr=False, default=None)  # per unit, in the distances' (= W's) order

    @property
    def n_units(self) -> int:
        return len(self.linked)

    @property
    def vce(self) -> str:
        """The covariance of the fit (as :class:`ExposureFit` names it)."""
        return self.fit.vce

    cutoff_km = None  # no Conley variance for the spatial model

    def _solve(self, rho: float, v: np.ndarray, transpose: bool = False) -> np.ndarray:
        """(I − ρW)⁻¹ v (or its transpose) for v in distances order, through the eigenvectors."""
        out = np.asarray(v, dtype=float).copy()
        q, root, lk = self.vectors, self.root, self.linked
        scale = 1.0 / (1.0 - rho * self.eigenvalues)
        if transpose:
            out[lk] = root * (q @ (scale * (q.T @ (v[lk] / root))))
        else:
            out[lk] = (q @ (scale * (q.T @ (root * v[lk])))) / root
        return out

    def unit_effects(self, term: str, matrix: sp.csr_array, treated: np.ndarray, ids: Sequence[object], *,
                     draws: int, rng: np.random.Generator, level: float = 0.95) -> pd.DataFrame:
        """Per-unit own/received/emitted effects of band ``term`` (columns as :func:`exposure_unit_effects`).

        own_i = β·[(I − ρW)⁻¹]_ii, recv = θ_k·(I − ρW)⁻¹ W_k d, emit = θ_k·W_k'(I − ρW)⁻ᵀ 1; intervals are
        percentiles of ``draws`` draws of (β, θ_k, ρ).
        """
        names = [self.treatment, term, "rho"]
        fit = self.fit
        point = fit.params[names].to_numpy()
        sample = rng.multivariate_normal(point, fit.vcov.loc[names, names].to_numpy(), size=draws, method="eigh")
        d = np.asarray(treated, dtype=float)
        wd = np.asarray(matrix @ d).ravel()
        ones = np.ones(len(d))

        def values(beta: float, theta: float, rho: float) -> np.ndarray:
            diag = np.ones(len(d))
            diag[self.linked] = (self.vectors**2) @ (1.0 / (1.0 - rho * self.eigenvalues))
            emit = np.asarray(matrix.T @ self._solve(rho, ones, transpose=True)).ravel()
            return np.stack([beta * diag, theta * self._solve(rho, wd), theta * emit])

        est = values(*point)
        sims = np.stack([values(b, t, min(max(r, -0.999), 0.999)) for b, t, r in sample])  # (draws, 3, N)
        tail = (1 - level) / 2 * 100
        low, high = np.percentile(sims, [tail, 100 - tail], axis=0)
        columns: dict[str, object] = {"id": list(ids)}
        for k, name in enumerate(("own", "recv", "emit")):
            with np.errstate(invalid="ignore"):
                psign = np.where(est[k] == 0, np.nan, (np.sign(sims[:, k]) == np.sign(est[k])).mean(axis=0))
            columns.update({name: est[k], f"{name}_se": sims[:, k].std(axis=0, ddof=1), f"{name}_lo": low[k],
                            f"{name}_hi": high[k], f"{name}_psign": psign})
        return pd.DataFrame(columns)

    def _multiplier(self, rho: np.ndarray, term: str) -> np.ndarray:
        """mean((I − ρW)⁻¹ r_k) per ρ (islands of W are rows of the identity)."""
        return ((self.left * self.right[term]) @ (1.0 / (1.0 - np.outer(self.eigenvalues, rho)))
                + self.island_rows[term])

    def _own(self, rho: np.ndarray) -> np.ndarray:
        """mean(diag((I − ρW)⁻¹)) per ρ: Σ 1/(1 − ρλ) over the linked units, 1 for each island."""
        islands = self.n_units - len(self.eigenvalues)
        return (np.sum(1.0 / (1.0 - np.outer(self.eigenvalues, rho)), axis=0) + islands) / self.n_units

    def effect_draws(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Exposure → (n, 3) draws of its direct, indirect and total effect; the point values as ``"point"``."""
        fit = self.fit
        names = [self.treatment, *self.exposures, "rho"]
        mean = fit.params[names].to_numpy()
        cov = fit.vcov.loc[names, names].to_numpy()
        sample = rng.multivariate_normal(mean, cov, size=n, method="eigh")
        rho = np.clip(sample[:, -1], -0.999, 0.999)
        direct = sample[:, 0] * self._own(rho)
        out = {}
        for k, term in enumerate(self.exposures, start=1):
            indirect = sample[:, k] * self._multiplier(rho, term)
            out[term] = np.column_stack([direct, indirect, direct + indirect])
        return out

    def point(self, term: str) -> tuple[float, float, float]:
        rho = np.array([float(self.fit.params["rho"])])
        direct = float(self.fit.params[self.treatment] * self._own(rho)[0])
        indirect = float(self.fit.params[term] * self._multiplier(rho, term)[0])
        return direct, indirect, direct + indirect


def fit_spatial_exposure_did(
    data: pd.DataFrame,
    y: str,
    distances,  # noqa: ANN001
    matrices: Sequence[sp.csr_array],
    *,
    id_col: str,
    time_col: str,
    treatment: str = DID,
    controls: Sequence[str] = (),
    main_km: float | None = None,
    vce: str = "cluster",
) -> SpatialExposureFit:
    """All bands in one spatial model: ρWy with W inverse distance (row-standardised, pairs up to ``main_km``,
    default every pair kept in ``distances``) plus one exposure W_k·D per band (``matrices``), two-way effects,
    Lee–Yu; ``vce`` as :func:`spillmap.models.fit_spatial_panel` (default clustered by unit)."""
    import scipy.linalg as sla

    from spillmap.models.panel._weights import prepare_weights
    from spillmap.models.panel.api import fit_spatial_panel
    from spillmap.weights import build_inverse_distance

    ids = [str(i) for i in distances.ids]
    panel = panel_arrays(data, id_col=id_col, time_col=time_col, y=y, x=[treatment], ids=list(distances.ids))
    names = tuple(f"E{k}" for k in range(len(matrices)))
    frame = data[[id_col, time_col, y, treatment, *controls]].copy()
    frame[id_col] = frame[id_col].astype(str)
    index = pd.MultiIndex.from_arrays([frame[time_col].to_numpy(), frame[id_col].to_numpy()])
    for name, e in zip(names, _exposures(panel.x[:, :, 0], matrices)):
        frame[name] = pd.DataFrame(e, index=list(panel.periods), columns=ids).stack().reindex(index).to_numpy()
    graph = build_inverse_distance(distances, cutoff_km=main_km or distances.max_km, islands="keep")
    w = prepare_weights(graph)
    if w.symmetric_base is None:
        raise EstimationError("The main weights must come from symmetric inverse distances.")
    fit = fit_spatial_panel(frame, id_col=id_col, time_col=time_col, weights=w, y=y,
                            x=[treatment, *names, *controls], model="sar", fe="twoways", vce=vce)
    c, deg = w.symmetric_base
    linked = deg > 0
    n = len(ids)
    root = np.sqrt(deg[linked])
    sub = sp.csr_array(c)[linked][:, linked]
    sym = (sp.diags_array(1.0 / root) @ sub @ sp.diags_array(1.0 / root)).toarray()
    values, vectors = sla.eigh(sym, driver="evr")
    if [str(i) for i in w.ids] != ids:  # the eigenvectors' rows must follow the distances' order
        raise EstimationError("The main weights list the units in another order than the distances.")
    left = vectors.T @ (1.0 / root) / n
    right, island_rows = {}, {}
    for name, m in zip(names, matrices):
        r = np.asarray(m.sum(axis=1)).ravel()
        right[name] = vectors.T @ (root * r[linked])
        island_rows[name] = float(r[~linked].sum()) / n
    return SpatialExposureFit(fit=fit, treatment=treatment, exposures=names, eigenvalues=values, left=left,
                              right=right, island_rows=island_rows, vectors=vectors, root=root, linked=linked)
