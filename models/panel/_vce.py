"""Robust variances of spatial panel fits: sandwich, cluster-robust and Driscoll–Kraay.

Every estimator is V = A⁻¹ B A⁻¹ with A = −H, the analytic observed Hessian
of the log-likelihood at the estimates, and B built from scores of the
within-transformed (demeaned) panel the fit uses. Parameters are ordered
[β (X, W·X), ρ or λ, σ²] (SLX: [β, σ²]).

Scores
------
With residuals e (T×N), G = W(I − ρW)⁻¹ (at λ for SEM/SDEM), A = (G + G')/2,
t_w the periods weighting log|I − ρW| and r = 1 when Lee–Yu removes time
effects, the score of the whole panel is

- β:  Σ z_it e_it / σ² (SEM/SDEM: z − λ·Wz instead of z);
- ρ:  Σ [(Wỹ)_it − (G e_t)_i] e_it / σ² + Σ_t e_t'A e_t / σ² − t_w (tr G − r/(1 − ρ))
  (SEM/SDEM: Wũ = W(ỹ − z̃β) instead of Wỹ);
- σ²: Σ (e_it² − σ² n/(NT)) / (2σ⁴), n the effective sample.

Observation (i, t) owns the linear terms, the diagonal G_ii e_it² of the
quadratic form and the share c_i = (t_w/T)(G_ii − r/((1 − ρ)N)) of the
Jacobian's derivative (the expectation of G_ii e_it² under the model, so
each observation's score has mean zero), which :func:`score_parts` returns
as ``own`` (T, N, p). The off-diagonal pairs e_it A_ij e_jt (i ≠ j, same
period) belong to two observations. A pair inside one cluster enters that
cluster's score; a pair across clusters c ≠ d is a term of its own, with
mean zero and uncorrelated with every cluster score and every other pair
when clusters are independent, so

    B = Σ_c S_c S_c' + e_ρ e_ρ' Σ_{c≠d} 2 R_cd²,   R_cd = Σ_t Σ_{i∈c, j∈d} e_it A_ij e_jt / σ²,

where S_c sums ``own`` over the cluster and adds R_cc to its ρ entry. The
pairs' term is what a plain outer product of per-observation scores
misses: Cov(e_i(Ge)_i, e_j(Ge)_j) = σ⁴ G_ij G_ji ≠ 0, so that product
understates Var(ρ̂) even with i.i.d. errors (se(ρ) 27 % below oim on a
400-unit ring, ``tests/models/panel/test_vce.py``). The estimate does not
depend on the order of the units.
Splitting each pair evenly, the per-observation scores
(:meth:`ScoreParts.observation_scores`) sum to the exact total score,
which is zero at the optimum.

Estimators and small-sample factors
-----------------------------------
- ``"robust"``: one observation per cluster; times NT/n_eff, n_eff the
  Lee–Yu effective sample ((N−1)(T−1) with two-way effects), the degrees of
  freedom the within transformation leaves (as Stata's ``areg`` counts the
  absorbed effects): it makes B unbiased under homoskedasticity. Under
  heteroskedasticity with fixed T it stays inconsistent (Stock & Watson
  2008); prefer ``"cluster"``.
- ``"cluster"``: by unit (default) or by the labels of a column; times
  G/(G − 1).
- ``"dk"`` (Driscoll & Kraay 1998): period sums h_t of the scores,
  B = Γ_0 + Σ_{l=1..L} (1 − l/(L+1)) (Γ_l + Γ_l'), Γ_l = Σ_t h_t h_{t−l}',
  default L = floor(4 (T/100)^(2/9)) (Newey–West's rule, as ``xtscc``), times
  T/(T − 1), so that L = 0 equals clustering by period. With few periods the
  normal critical values under-cover (fixed-b theory, Kiefer & Vogelsang
  2005: the estimator's own variance and its downward bias, about (L+1)/T).
  By default (``fixed_b=True``) the covariance is therefore also multiplied by
  (c/z)², z = 1.96 and c the 97.5 % quantile of |t| for a mean of T
  independent normal scores under the same estimator (T, L and T/(T − 1);
  :func:`fixed_b_factor`), so that 95 % intervals and 5 % tests from the
  normal use the fixed-b critical value. With L = 0 this is Student's t with
  T − 1 degrees of freedom (the usual few-clusters correction). ``fixed_b=False``
  gives the plain estimate (``xtscc``'s, pyfixest's ``DK`` times T/(T − 1)).

Cost: one dense G (N³ flops, N² memory; N ≤ DENSE_MAX_N), then O(N²T).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from spillmap.errors import EstimationError

from spillmap.models.panel._fe import Design
from spillmap.models.panel._weights import PreparedWeights

__all__ = ["VCE", "VCE_NAMES", "ScoreInputs", "ScoreParts", "score_parts", "robust_vcov", "default_dk_lags",
           "fixed_b_factor"]

VCE = Literal["oim", "robust", "cluster", "dk"]
VCE_NAMES: tuple[str, ...] = ("oim", "robust", "cluster", "dk")

#: Largest N for which scores are computed: G = W(I − ρW)⁻¹ is formed densely (N² memory).
DENSE_MAX_N = 5000
#: Largest number of clusters whose cross-cluster pairs are accumulated in a dense G×G matrix
#: (one observation per cluster, i.e. ``"robust"``, needs none).
CLUSTER_PAIRS_MAX = 5000


@dataclass(frozen=True, eq=False)
class ScoreInputs:
    """The demeaned arrays a fit already holds, kept to compute scores after the fit.

    Attributes
    ----------
    model
        ``"sar"``, ``"sdm"``, ``"sem"``, ``"sdem"`` or ``"slx"``.
    design
        Sample bookkeeping (effective observations, Jacobian weight, Lee–Yu).
    w
        The prepared weights of the fit.
    params
        Estimates [β, ρ/λ, σ²] (SLX: [β, σ²]).
    z, y
        Demeaned regressors (T, N, K) and outcome (T, N).
    wy, wz
        Demeaned W·y (lag and error models) and W·Z (error models), else None.
    """

    model: str
    design: Design
    w: PreparedWeights
    params: np.ndarray
    z: np.ndarray
    y: np.ndarray
    wy: np.ndarray | None = None
    wz: np.ndarray | None = None

    @cached_property
    def parts(self) -> ScoreParts:
        """Scores and Hessian at the estimates (computed once, shared by every variance)."""
        return score_parts(self)


@dataclass(frozen=True, eq=False)
class ScoreParts:
    """Scores of one fit at its estimates.

    Attributes
    ----------
    own
        (T, N, p): what each observation owns of the score (see the module docstring).
    pairs
        (N, N) A/σ² with a zero diagonal, the off-diagonal quadratic form of the
        spatial parameter; None for SLX.
    resid
        (T, N) residuals e.
    spatial
        Position of ρ/λ in the parameters, or None (SLX).
    bread
        (p, p) minus the observed Hessian.
    n_eff
        Lee–Yu effective sample, for the ``"robust"`` degrees-of-freedom factor.
    """

    own: np.ndarray
    pairs: np.ndarray | None
    resid: np.ndarray
    spatial: int | None
    bread: np.ndarray
    n_eff: int

    @property
    def shape(self) -> tuple[int, int, int]:
        """(T, N, p)."""
        return self.own.shape  # type: ignore[return-value]

    def pair_sums(self) -> np.ndarray:
        """Per-period off-diagonal quadratic forms e_t'(A/σ²)e_t with A's diagonal removed, shape (T,)."""
        if self.pairs is None:
            return np.zeros(self.resid.shape[0])
        return np.einsum("tn,tn->t", self.resid @ self.pairs, self.resid)

    def observation_scores(self) -> np.ndarray:
        """(T, N, p) scores with each pair split evenly; they sum to the total score."""
        out = self.own.copy()
        if self.pairs is not None:
            out[:, :, self.spatial] += self.resid * (self.resid @ self.pairs)
        return out

    def total(self) -> np.ndarray:
        """The score of the whole panel, (p,)."""
        out = self.own.sum(axis=(0, 1))
        if self.spatial is not None:
            out[self.spatial] += self.pair_sums().sum()
        return out


def default_dk_lags(t: int) -> int:
    """floor(4 (T/100)^(2/9)): the Newey–West lag rule ``xtscc`` uses by default."""
    return math.floor(4.0 * (t / 100.0) ** (2.0 / 9.0))


#: Monte Carlo size of :func:`fixed_b_factor`: the 97.5 % quantile of |t| to about ±0.006 (its standard
#: error sqrt(0.05·0.95/B)/(2 f(c)) with B = 100,000), i.e. the factor to about ±0.6 %.
FIXED_B_DRAWS = 100_000


@functools.lru_cache(maxsize=64)
def fixed_b_factor(t: int, lags: int) -> float:
    """(c/1.96)²: c the 97.5 % quantile of |Σe_t| / √B̂ for T i.i.d. N(0,1) scores e_t, B̂ the Driscoll–Kraay
    estimate of their period sums (Bartlett, ``lags``, demeaned as scores at an estimate are, times T/(T − 1)).

    Deterministic (fixed seed); L = 0 gives Student's t with T − 1 degrees of freedom.
    """
    if not 0 <= lags < t:
        raise EstimationError(f"dk_lags must be between 0 and T − 1 = {t - 1}, not {lags}.")
    rng = np.random.default_rng([t, lags, 20051])
    stats_ = []
    for chunk in np.array_split(np.arange(FIXED_B_DRAWS), max(1, FIXED_B_DRAWS * t // 2_000_000)):
        e = rng.standard_normal((len(chunk), t))
        h = e - e.mean(axis=1, keepdims=True)
        meat = np.einsum("bt,bt->b", h, h)
        for lag in range(1, lags + 1):
            meat += 2.0 * (1.0 - lag / (lags + 1.0)) * np.einsum("bt,bt->b", h[:, lag:], h[:, :-lag])
        stats_.append(np.abs(e.sum(axis=1)) / np.sqrt(meat * (t / (t - 1.0))))
    c = float(np.quantile(np.concatenate(stats_), 0.95))
    return (c / 1.959963984540054) ** 2


def score_parts(inputs: ScoreInputs) -> ScoreParts:
    """Scores and bread of a fit at its estimates (see the module docstring).

    Raises
    ------
    EstimationError
        More than DENSE_MAX_N units (G would not fit densely).
    """
    model, design, w = inputs.model, inputs.design, inputs.w
    p = inputs.params
    z, y = inputs.z, inputs.y
    t, n, k = z.shape
    zf = z.reshape(t * n, k)
    beta, sigma2 = p[:k], float(p[-1])
    n_total = t * n
    share_sigma = design.n_obs / n_total
    if model == "slx":
        e = y - (zf @ beta).reshape(t, n)
        own = np.empty((t, n, k + 1))
        own[:, :, :k] = z * e[:, :, None] / sigma2
        own[:, :, k] = (e * e - sigma2 * share_sigma) / (2.0 * sigma2**2)
        ef = e.ravel()
        bread = np.zeros((k + 1, k + 1))
        bread[:k, :k] = zf.T @ zf / sigma2
        bread[:k, k] = bread[k, :k] = zf.T @ ef / sigma2**2
        bread[k, k] = -design.n_obs / (2.0 * sigma2**2) + float(ef @ ef) / sigma2**3
        return ScoreParts(own=own, pairs=None, resid=e, spatial=None, bread=bread, n_eff=_n_eff(design, n, t))

    if w.n > DENSE_MAX_N:
        raise EstimationError(
            f"Robust variances form G = W(I − ρW)⁻¹ densely and support at most {DENSE_MAX_N} units; "
            f"this panel has {w.n}. Use vce='oim', or fit on a subset of units."
        )
    rho = float(p[k])
    if model in ("sar", "sdm"):
        lin = inputs.wy  # W·ỹ
        e = y - rho * lin - (zf @ beta).reshape(t, n)
        x_eff = z
    else:
        wz = inputs.wz
        lin = inputs.wy - (wz.reshape(t * n, k) @ beta).reshape(t, n)  # W·ũ
        e = (y - (zf @ beta).reshape(t, n)) - rho * lin
        x_eff = z - rho * wz
    g = w.g_matrix(rho)
    ge = e @ g.T  # row t: G e_t
    g_diag = np.diag(g).copy()
    pairs = g + g.T
    del g
    np.fill_diagonal(pairs, 0.0)
    pairs *= 0.5 / sigma2
    tr_g, tr_g2 = w.traces(rho)
    removed = design.time_removed
    if removed:
        tr_g -= 1.0 / (1.0 - rho)
        tr_g2 -= 1.0 / (1.0 - rho) ** 2
    jac_share = design.t_weight / t * (g_diag - removed / ((1.0 - rho) * n))

    own = np.empty((t, n, k + 2))
    own[:, :, :k] = x_eff * e[:, :, None] / sigma2
    own[:, :, k] = ((lin - ge) * e + g_diag * e * e) / sigma2 - jac_share
    own[:, :, k + 1] = (e * e - sigma2 * share_sigma) / (2.0 * sigma2**2)

    xf = x_eff.reshape(t * n, k)
    ef, lf = e.ravel(), lin.ravel()
    bread = np.zeros((k + 2, k + 2))
    bread[:k, :k] = xf.T @ xf / sigma2
    if model in ("sar", "sdm"):
        bread[:k, k] = zf.T @ lf / sigma2
    else:
        bread[:k, k] = (inputs.wz.reshape(t * n, k).T @ ef + xf.T @ lf) / sigma2
    bread[k, :k] = bread[:k, k]
    bread[:k, k + 1] = bread[k + 1, :k] = xf.T @ ef / sigma2**2
    bread[k, k] = design.t_weight * tr_g2 + float(lf @ lf) / sigma2
    bread[k, k + 1] = bread[k + 1, k] = float(lf @ ef) / sigma2**2
    bread[k + 1, k + 1] = -design.n_obs / (2.0 * sigma2**2) + float(ef @ ef) / sigma2**3
    return ScoreParts(own=own, pairs=pairs, resid=e, spatial=k, bread=bread, n_eff=_n_eff(design, n, t))


def _n_eff(design: Design, n: int, t: int) -> int:
    unit = design.fe in ("unit", "twoways")
    time = design.fe in ("time", "twoways")
    return (n - int(time)) * (t - int(unit))


def robust_vcov(
    parts: ScoreParts,
    vce: Literal["robust", "cluster", "dk"],
    *,
    clusters: np.ndarray | None = None,
    dk_lags: int | None = None,
    fixed_b: bool = True,
) -> np.ndarray:
    """A⁻¹ B A⁻¹ for ``vce`` (factors as in the module docstring).

    Parameters
    ----------
    parts
        Scores of the fit.
    vce
        ``"robust"``, ``"cluster"`` or ``"dk"``.
    clusters
        (T, N) integer codes 0..G−1 for ``"cluster"`` (default: one cluster per unit).
    dk_lags
        Bartlett lags for ``"dk"`` (default :func:`default_dk_lags`).
    fixed_b
        ``"dk"``: times :func:`fixed_b_factor` (module docstring).

    Raises
    ------
    EstimationError
        Fewer than two clusters or periods, lags out of range, too many
        clusters, or a singular Hessian.
    """
    t, n, _ = parts.shape
    if vce == "robust":
        meat = _meat_singletons(parts) * (t * n / parts.n_eff)
    elif vce == "cluster":
        codes = np.broadcast_to(np.arange(n), (t, n)) if clusters is None else np.asarray(clusters)
        n_clusters = int(codes.max()) + 1
        if n_clusters < 2:
            raise EstimationError("vce='cluster' needs at least two clusters; the cluster column has one value.")
        if n_clusters == t * n:
            meat = _meat_singletons(parts)
        else:
            meat = _meat_clusters(parts, codes, n_clusters)
        meat *= n_clusters / (n_clusters - 1.0)
    elif vce == "dk":
        lags = default_dk_lags(t) if dk_lags is None else int(dk_lags)
        if not 0 <= lags < t:
            raise EstimationError(f"dk_lags must be between 0 and T − 1 = {t - 1}, not {dk_lags}.")
        meat = _meat_dk(parts, lags) * (t / (t - 1.0))
        if fixed_b:
            meat *= fixed_b_factor(t, lags)
    else:  # pragma: no cover - checked by the callers
        raise EstimationError(f"vce must be one of {', '.join(VCE_NAMES)}, not {vce!r}.")
    try:
        half = sla.solve(parts.bread, meat, assume_a="sym")
        vcov = sla.solve(parts.bread, half.T, assume_a="sym")
    except (sla.LinAlgError, ValueError) as err:
        raise EstimationError(f"The Hessian is singular; robust standard errors are undefined ({err}).") from None
    return (vcov + vcov.T) / 2.0


def _meat_singletons(parts: ScoreParts) -> np.ndarray:
    t, n, p = parts.shape
    flat = parts.own.reshape(t * n, p)
    meat = flat.T @ flat
    if parts.pairs is not None:
        sq = parts.resid * parts.resid
        cross = 2.0 * float(np.einsum("tn,tn->", sq @ (parts.pairs * parts.pairs), sq))
        meat[parts.spatial, parts.spatial] += cross
    return meat


def _meat_clusters(parts: ScoreParts, codes: np.ndarray, n_clusters: int) -> np.ndarray:
    t, n, p = parts.shape
    e = parts.resid
    flat_codes = codes.reshape(t * n)
    sums = np.zeros((n_clusters, p))
    np.add.at(sums, flat_codes, parts.own.reshape(t * n, p))
    if parts.pairs is None:
        return sums.T @ sums
    if n_clusters > CLUSTER_PAIRS_MAX:
        raise EstimationError(
            f"vce='cluster' with {n_clusters} clusters: the pairs across clusters need a "
            f"{n_clusters}×{n_clusters} matrix (at most {CLUSTER_PAIRS_MAX} clusters). "
            "Cluster on a coarser column, or use vce='robust' or 'dk'."
        )
    if (codes == codes[:1]).all():  # the same clusters in every period (units, regions)
        within = e.T @ e
        within *= parts.pairs  # Σ_t e_it A_ij e_jt / σ², in place (N² memory)
        if n_clusters == n and (codes[0] == np.arange(n)).all():  # one cluster per unit, in unit order
            r = within
        else:
            member = sp.csr_array((np.ones(n), (np.arange(n), codes[0])), shape=(n, n_clusters))
            r = member.T @ (member.T @ within).T
    else:
        r = np.zeros((n_clusters, n_clusters))
        for s in range(t):
            member = sp.csr_array((np.ones(n), (np.arange(n), codes[s])), shape=(n, n_clusters))
            k_s = parts.pairs * np.outer(e[s], e[s])
            r += member.T @ (member.T @ k_s).T
    inside = np.diag(r).copy()
    sums[:, parts.spatial] += inside
    cross = 2.0 * (float(np.vdot(r, r)) - float(inside @ inside))
    meat = sums.T @ sums
    meat[parts.spatial, parts.spatial] += cross
    return meat


def _meat_dk(parts: ScoreParts, lags: int) -> np.ndarray:
    h = parts.own.sum(axis=1)  # (T, p)
    if parts.spatial is not None:
        h[:, parts.spatial] += parts.pair_sums()
    meat = h.T @ h
    for lag in range(1, lags + 1):
        gamma = h[lag:].T @ h[:-lag]
        meat += (1.0 - lag / (lags + 1.0)) * (gamma + gamma.T)
    return meat
