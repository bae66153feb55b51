"""Per-unit (per-city) effects of one regressor from the spatial multiplier, for maps.

For a regressor x with coefficient β and spatial-lag coefficient θ (``W·x``)
the N×N multiplier is

    S = (I − ρW)⁻¹(βI + θW) = βI + κG,   κ = ρβ + θ,   G = W(I − ρW)⁻¹,

with θ = 0 when x has no lag (SAR) and ρ = 0 in S for SEM, SDEM and SLX
(the error process does not propagate x, so G = W). Per unit i:

- own effect S_ii: i's outcome after i's own treatment;
- spillover received Σ_{j≠i} S_ij D_j from the treated units D;
- spillover emitted Σ_{k≠i} S_ki: what i's treatment does to all other units.

Averaged over units, own is the LeSage–Pace direct effect and emitted the
indirect effect; so is received when every unit is treated (the default).

Only ρ enters non-linearly, so every route computes the three N-vectors
h(ρ) = [diag G, off-diagonal G·D, off-diagonal column sums of G] and forms
own = β + κh₀, received = κh₁, emitted = κh₂. Point values use one dense LU
solve G = (I − ρ̂W)⁻¹W. For the simulated draws (those of
:meth:`SpatialPanelResult.effects`, same seed → same draws):

- ``"eigh"``: W similar to a symmetric matrix (W = D^-1/2 (D^-1/2 C D^-1/2) D^1/2).
  With D^-1/2 C D^-1/2 = QΛQ', V = D^-1/2 Q, V⁻¹ = Q'D^1/2 and f = λ/(1 − ρλ):
  diag G = (Q∘Q)f, G·D = V(f∘V⁻¹D), 1'G = ((V'1)∘f)'V⁻¹; O(N²) per draw.
- ``"eig"``: the same with a complex eigendecomposition W = VΛV⁻¹, used only
  when it reproduces the LU values within :data:`EIG_RTOL` (kNN weights
  usually have ill-conditioned eigenvectors and fail this check).
- ``"lu"``: G from dense LU solves at Chebyshev points in ρ over the range of
  the draws, interpolated (barycentric) and checked against solves between
  the points; the points double until the check passes. The cost is a few
  dozen N³ solves whatever the number of draws.

No step forms an NT×NT matrix; memory is O(N²) plus the draws (3 × draws × N).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.linalg as sla
from scipy.interpolate import BarycentricInterpolator

from spillmap.errors import EstimationError, MissingColumnError, MissingIdError, PanelShapeError
from spillmap.gis._ids import format_ids

from spillmap.models.panel._effects import _draw
from spillmap.models.panel._results import SpatialPanelResult, Summary
from spillmap.models._format import frame_to_markdown
from spillmap.models.panel._weights import EIGEN_MAX_N, PreparedWeights

__all__ = ["UnitEffectsResult", "UnitEffectsSummary", "UnitEffectsMethod", "unit_effects", "UNIT_QUANTITIES"]

logger = logging.getLogger(__name__)

UnitEffectsMethod = Literal["auto", "eig", "lu"]
UNIT_QUANTITIES = ("own", "received", "emitted")
#: Column prefixes in :meth:`UnitEffectsResult.to_frame` (written names stay ≤ 10 characters).
_PREFIX = {"own": "own", "received": "recv", "emitted": "emit"}

#: Up to this many units a W similar to a symmetric matrix uses its real eigendecomposition.
SYMMETRIC_EIGEN_MAX_N = EIGEN_MAX_N
#: Up to this many units other W try a complex eigendecomposition (``method="auto"``).
GENERAL_EIGEN_MAX_N = 3000
#: Largest error of the complex eigen route, relative to max |h|, accepted against LU solves
#: at ρ̂ and at the extreme draw of ρ; beyond it the draws use the LU route.
EIG_RTOL = 1e-9
#: Largest interpolation error in ρ, relative to max |h| of each quantity, of the LU route.
RHO_INTERP_RTOL = 1e-10
#: Chebyshev intervals in ρ the LU route starts with, and the most it tries before
#: solving at every distinct draw of ρ.
RHO_START_INTERVALS = 16
RHO_MAX_INTERVALS = 256
#: Bytes of working arrays per chunk of draws.
CHUNK_BYTES = 64 * 2**20
_LAG_MODELS = ("sar", "sdm")


@dataclass(frozen=True)
class UnitEffectsSummary(Summary):
    """Means over units of the per-unit effects; ``str()`` gives text, notebooks HTML.

    ``table`` has one row per quantity (own, received, emitted): ``mean``
    (point value), ``se``, ``ci_low`` and ``ci_high`` of the mean over units
    (from the draws), then ``min``, ``median`` and ``max`` across units and
    ``n_signif``, the number of units whose interval excludes zero.
    """

    def as_text(self) -> str:
        width = 78
        lines = [self.title, "=" * width]
        lines += [f"{k:<24}{v:>20}" for k, v in self.header]
        lines.append("-" * width)
        lines.append(
            f"{'':<10}{'mean':>9}{'se':>9}{'ci_low':>9}{'ci_high':>9}{'min':>9}{'median':>9}{'max':>9}"
            f"{'n_signif':>9}"
        )
        for name, row in self.table.iterrows():
            cells = "".join(f"{row[c]:>9.4f}" for c in ("mean", "se", "ci_low", "ci_high", "min", "median", "max"))
            lines.append(f"{name:<10}{cells}{int(row['n_signif']):>9d}")
        lines.append("=" * width)
        return "\n".join(lines)



@dataclass(frozen=True, eq=False)
class UnitEffectsResult:
    """Per-unit own, received and emitted effects of one regressor, with simulated inference.

    Attributes
    ----------
    ids
        Unit ids in the fit's (and the weights') order.
    variable, model
        The regressor and the fitted model (``"sdm"``, ``"sar"``, ...).
    treated
        The 0/1 treatment vector D that ``received`` is computed against.
    own, received, emitted
        Point values per unit at the estimates: S_ii, Σ_{j≠i} S_ij D_j and Σ_{k≠i} S_ki.
    draws, seed, rejected_draws
        Simulated parameter vectors (those of ``fit.effects(draws, seed=seed)``)
        and how many were redrawn for ρ outside its stable interval.
    level
        Coverage of the percentile intervals.
    method
        How the draws applied the multiplier: ``"eigh"``, ``"eig"``, ``"lu"``, or
        ``"linear"`` (SEM, SDEM, SLX: S = βI + θW).
    samples
        Shape (3, draws, N): own, received and emitted per draw and unit.
    fit
        The spatial panel fit the effects come from.
    """

    ids: np.ndarray
    variable: str
    model: str
    treated: np.ndarray
    own: np.ndarray
    received: np.ndarray
    emitted: np.ndarray
    draws: int
    seed: int | None
    rejected_draws: int
    level: float
    method: Literal["eigh", "eig", "lu", "linear"]
    samples: np.ndarray = field(repr=False)
    fit: SpatialPanelResult = field(repr=False)

    @property
    def n(self) -> int:
        """Number of units."""
        return len(self.ids)

    def point(self, quantity: str) -> np.ndarray:
        """Point values of ``"own"``, ``"received"`` or ``"emitted"`` (a copy)."""
        return np.array(getattr(self, _check_quantity(quantity)))

    @cached_property
    def _inference(self) -> dict[str, np.ndarray]:
        tail = (1.0 - self.level) / 2.0 * 100.0
        low, high = np.percentile(self.samples, [tail, 100.0 - tail], axis=1)
        points = np.stack([self.own, self.received, self.emitted])
        with np.errstate(invalid="ignore"):
            same = (np.sign(self.samples) == np.sign(points)[:, None, :]).mean(axis=1)
        return {
            "se": self.samples.std(axis=1, ddof=1),
            "low": low,
            "high": high,
            "psign": np.where(points == 0.0, np.nan, same),
        }

    def to_frame(self, id_col: str = "id") -> pd.DataFrame:
        """One row per unit, keyed by ``id_col``, for joining onto the layer.

        Columns: ``treated``; then for own, received (``recv``) and emitted
        (``emit``): the point value, ``_se``, ``_lo`` and ``_hi`` (percentile
        interval at ``level``) and ``_psign``, the share of draws with the
        sign of the point value (NaN where the point value is exactly zero,
        e.g. for units without neighbours). Names stay within the 10
        characters a Shapefile keeps.
        """
        inf = self._inference
        columns: dict[str, object] = {id_col: self.ids, "treated": self.treated.astype(int)}
        for k, quantity in enumerate(UNIT_QUANTITIES):
            p = _PREFIX[quantity]
            columns[p] = getattr(self, quantity)
            columns[f"{p}_se"] = inf["se"][k]
            columns[f"{p}_lo"] = inf["low"][k]
            columns[f"{p}_hi"] = inf["high"][k]
            columns[f"{p}_psign"] = inf["psign"][k]
        return pd.DataFrame(columns)

    def to_markdown(self, digits: int = 4) -> str:
        return frame_to_markdown(self.to_frame(), digits)

    def summary(self) -> UnitEffectsSummary:
        """Means over units (the mean own is the direct effect, the mean emitted the indirect one)."""
        tail = (1.0 - self.level) / 2.0 * 100.0
        inf = self._inference
        rows = {}
        for k, quantity in enumerate(UNIT_QUANTITIES):
            values = getattr(self, quantity)
            means = self.samples[k].mean(axis=1)
            low, high = np.percentile(means, [tail, 100.0 - tail])
            rows[quantity] = {
                "mean": float(values.mean()),
                "se": float(means.std(ddof=1)),
                "ci_low": float(low),
                "ci_high": float(high),
                "min": float(values.min()),
                "median": float(np.median(values)),
                "max": float(values.max()),
                "n_signif": int(np.sum((inf["low"][k] > 0) | (inf["high"][k] < 0))),
            }
        table = pd.DataFrame.from_dict(rows, orient="index")
        table.index.name = "quantity"
        header = [
            ("Model:", self.model.upper()),
            ("Variable:", self.variable),
            ("Units (N):", str(self.n)),
            ("Treated units:", str(int(self.treated.sum()))),
            ("Draws:", str(self.draws)),
            ("Redrawn (ρ unstable):", str(self.rejected_draws)),
            ("Interval level:", f"{self.level:.0%}"),
            ("Multiplier route:", self.method),
        ]
        return UnitEffectsSummary(header=header, table=table, title=f"Per-unit effects of {self.variable}")

    def full_multiplier(self) -> pd.DataFrame:
        """Dense S (N×N) at the estimates: row i, column j = effect on i of a unit change at j.

        Column j is unit j's map of what its treatment does; row i is what
        reaches unit i. Same as ``fit.multipliers(variable)``.
        """
        return self.fit.multipliers(self.variable)


def unit_effects(
    result: SpatialPanelResult,
    variable: str = "did",
    *,
    treated: npt.ArrayLike | Mapping[Hashable, float] | pd.Series | None = None,
    draws: int = 1000,
    seed: int | np.random.Generator | None = None,
    level: float = 0.95,
    method: UnitEffectsMethod = "auto",
) -> UnitEffectsResult:
    """Per-unit own, received and emitted effects of ``variable`` with simulated intervals.

    Parameters
    ----------
    result
        A fitted spatial panel (e.g. ``fit_sdm_did(...).fit`` or
        :func:`fit_spatial_panel`).
    variable
        A regressor of the fit (not its ``W·`` lag).
    treated
        The units whose treatment ``received`` sums over: a 0/1 array in
        ``result.ids`` order, or a mapping / :class:`pandas.Series` from id
        to 0/1 (ids left out count as 0). ``None`` treats every unit, so
        ``received`` is the total spillover a unit receives from all others.
    draws
        Simulated parameter vectors; the same ``seed`` gives the draws of
        ``result.effects(draws, seed=seed)``.
    seed
        Seed or generator for the draws.
    level
        Coverage of the percentile intervals, in (0, 1).
    method
        ``"auto"`` (real eigen route for W similar to a symmetric matrix,
        else a checked complex eigen route up to 3,000 units, else LU),
        ``"eig"`` (eigen route, raise if inaccurate) or ``"lu"``.

    Returns
    -------
    UnitEffectsResult

    Raises
    ------
    MissingColumnError
        ``variable`` is not a regressor of the fit.
    PanelShapeError
        ``treated`` has the wrong length or values other than 0 and 1.
    MissingIdError
        ``treated`` maps ids that are not units of the fit.
    EstimationError
        ``draws`` < 2, ``level`` outside (0, 1), an unknown ``method``, or
        ``method="eig"`` on weights whose eigenvectors are too ill-conditioned.

    Examples
    --------
    >>> res = fit_sdm_did(panel, "y", id_col="city", time_col="year", weights=graph)
    >>> cities = unit_effects(res.fit, "did", treated=panel.query("year == 2016").set_index("city")["did"])
    >>> layer.merge(cities.to_frame("city"), on="city")
    """
    from spillmap.models._threads import blas_threads

    if method not in ("auto", "eig", "lu"):
        raise EstimationError(f"method must be 'auto', 'eig' or 'lu', not {method!r}.")
    if int(draws) < 2:
        raise EstimationError(f"draws must be at least 2 for simulated intervals, not {draws}.")
    if not 0.0 < float(level) < 1.0:
        raise EstimationError(f"level must lie strictly between 0 and 1 (e.g. 0.95), not {level}.")
    ids = np.asarray(result.ids)
    w = result.weights
    ib, it, ir = _positions(result, variable)
    d = _treated_vector(treated, ids)

    keep = [t for t in result.params.index if t != "sigma2"]
    params = result.params[keep].to_numpy()
    vcov = result.vcov.loc[keep, keep].to_numpy()
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    spatial = result.model in ("sar", "sdm", "sem", "sdem")
    sample, rejected = _draw(params, vcov, int(draws), rng, w if spatial else None)

    lag = result.model in _LAG_MODELS
    beta = sample[:, ib]
    theta = sample[:, it] if it is not None else np.zeros(len(sample))
    rho = sample[:, ir] if lag else np.zeros(len(sample))
    b0 = float(params[ib])
    t0 = float(params[it]) if it is not None else 0.0
    r0 = float(params[ir]) if lag else 0.0

    with blas_threads(w.n):
        if lag:
            dense = w.matrix.toarray()
            h0 = _exact_h(dense, r0, d)
            h_of, route = _lag_route(w, dense, d, h0, r0, rho, method)
        else:
            h0 = _linear_h(w, d)
            route = "linear"

            def h_of(r: np.ndarray) -> np.ndarray:
                return np.broadcast_to(h0[:, None, :], (3, len(r), w.n))

        own, received, emitted = _combine(h0[:, None, :], np.array([b0]), np.array([r0 * b0 + t0]))[:, 0, :]
        samples = np.empty((3, len(sample), w.n))
        kappa = rho * beta + theta
        chunk = _chunk_size(w.n)
        for start in range(0, len(sample), chunk):
            part = slice(start, start + chunk)
            samples[:, part, :] = _combine(h_of(rho[part]), beta[part], kappa[part])
        # a spillover that is structurally zero at the estimate (no path to a treated unit, an island) is zero
        # in every draw: the interpolated routes would leave ~1e-16 noise there, a standard error of rounding
        for k in (1, 2):
            samples[k][:, h0[k] == 0.0] = 0.0
    logger.debug("unit_effects(%s): %d draws by the %s route", variable, len(sample), route)
    return UnitEffectsResult(
        ids=ids, variable=variable, model=result.model, treated=d, own=own, received=received,
        emitted=emitted, draws=int(draws), seed=seed if isinstance(seed, (int, np.integer)) else None,
        rejected_draws=rejected, level=float(level), method=route, samples=samples, fit=result,
    )


# ------------------------------------------------------------------ inputs


def _check_quantity(quantity: str) -> str:
    if quantity not in UNIT_QUANTITIES:
        raise MissingColumnError(f"quantity must be one of {', '.join(UNIT_QUANTITIES)}, not {quantity!r}.")
    return quantity


def _positions(result: SpatialPanelResult, variable: str) -> tuple[int, int | None, int | None]:
    """Positions of β, θ (``W·variable``, None if absent) and ρ/λ among the non-σ² parameters."""
    if variable not in result.x_names:
        hint = ""
        if variable.startswith("W·") and variable[2:] in result.x_names:
            hint = f" Name the regressor ('{variable[2:]}'); its lag W·x enters the multiplier as θ."
        raise MissingColumnError(
            f"'{variable}' is not a regressor of this {result.model.upper()} fit; choose one of "
            f"{format_ids(list(result.x_names))}.{hint}"
        )
    keep = [t for t in result.params.index if t != "sigma2"]
    lag_name = f"W·{variable}"
    theta = keep.index(lag_name) if lag_name in keep else None
    spatial = next((keep.index(n) for n in ("rho", "lambda") if n in keep), None)
    return keep.index(variable), theta, spatial


def _treated_vector(treated: object, ids: np.ndarray) -> np.ndarray:
    """The 0/1 vector D aligned to ``ids``."""
    n = len(ids)
    if treated is None:
        return np.ones(n)
    fix = "pass one 0/1 value per unit in result.ids order, or a mapping {id: 0/1}"
    if isinstance(treated, (Mapping, pd.Series)):
        if isinstance(treated, pd.Series) and treated.index.has_duplicates:
            dup = treated.index[treated.index.duplicated()].unique()
            raise PanelShapeError(f"treated repeats id(s) {format_ids(list(dup))}; give each unit one 0/1 value.")
        position = {key: k for k, key in enumerate(ids.tolist())}
        unknown = [key for key in treated.keys() if key not in position]
        if unknown:
            raise MissingIdError(
                f"treated names {len(unknown)} id(s) that are not units of the fit: {format_ids(unknown)}; "
                f"the fit's {n} ids are {format_ids(ids)}. Key treated by the fit's id column."
            )
        values = np.zeros(n)
        try:
            for key, value in treated.items():
                values[position[key]] = float(value)
        except (TypeError, ValueError) as err:
            raise PanelShapeError(f"treated must map ids to 0 or 1; {err}.") from err
    else:
        arr = np.asarray(treated)
        if arr.ndim != 1 or arr.shape[0] != n:
            raise PanelShapeError(
                f"treated has shape {arr.shape} but the fit has {n} units ({format_ids(ids)}); {fix}."
            )
        try:
            values = arr.astype(float)
        except (TypeError, ValueError) as err:
            raise PanelShapeError(f"treated must hold numbers 0 or 1; {fix}.") from err
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        raise PanelShapeError(
            f"treated must be 0 or 1 per unit; got {format_ids(sorted(set(values[bad].tolist()), key=str))} "
            f"for unit(s) {format_ids(ids[bad])}."
        )
    return values


# ----------------------------------------------------------------- numerics


def _combine(h: np.ndarray, beta: np.ndarray, kappa: np.ndarray) -> np.ndarray:
    """(3, m, N) own = β + κh₀, received = κh₁, emitted = κh₂ from h of shape (3, m, N)."""
    out = kappa[None, :, None] * h
    out[0] += beta[:, None]
    return out


def _chunk_size(n: int) -> int:
    return max(1, CHUNK_BYTES // (16 * 6 * n))


def _exact_h(dense: np.ndarray, rho: float, d: np.ndarray) -> np.ndarray:
    """h(ρ) from one dense LU solve G = (I − ρW)⁻¹W; shape (3, N)."""
    n = dense.shape[0]
    g = sla.solve(np.eye(n) - rho * dense, dense, check_finite=False)
    diag = np.diag(g).copy()
    return np.stack([diag, g @ d - diag * d, g.sum(axis=0) - diag])


def _linear_h(w: PreparedWeights, d: np.ndarray) -> np.ndarray:
    """h with G = W (SEM, SDEM, SLX); shape (3, N), sparse."""
    m = w.matrix
    diag = np.asarray(m.diagonal(), dtype=float)
    return np.stack([diag, np.asarray(m @ d) - diag * d, np.asarray(m.sum(axis=0)).ravel() - diag])


def _lag_route(
    w: PreparedWeights,
    dense: np.ndarray,
    d: np.ndarray,
    h0: np.ndarray,
    r0: float,
    rho: np.ndarray,
    method: UnitEffectsMethod,
) -> tuple[Callable[[np.ndarray], np.ndarray], Literal["eigh", "eig", "lu"]]:
    """A function ρ-array → h (3, m, N) and the route's name."""
    symmetric = w.symmetric_base is not None
    if method == "eig" or (method == "auto" and symmetric and w.n <= SYMMETRIC_EIGEN_MAX_N):
        if symmetric:
            return _Eigenbasis.symmetric(w, d).h, "eigh"
    if method == "eig" or (method == "auto" and w.n <= GENERAL_EIGEN_MAX_N):
        basis = _Eigenbasis.general(dense, d)
        far = float(rho[np.argmax(np.abs(rho - r0))])
        err, scale = 0.0, 0.0
        for r, exact in ((r0, h0), (far, _exact_h(dense, far, d))):
            err = max(err, float(np.abs(basis.h(np.array([r]))[:, 0, :] - exact).max()))
            scale = max(scale, float(np.abs(exact).max()))
        if err <= EIG_RTOL * scale:
            return basis.h, "eig"
        if method == "eig":
            raise EstimationError(
                f"The eigenvectors of W are too ill-conditioned for the eigen route: it misses the LU "
                f"values by {err:.2e} (scale {scale:.2e}, tolerance {EIG_RTOL:g} relative). "
                "Use method='lu' (or 'auto')."
            )
        logger.debug("eigen route off by %.2e (scale %.2e); using LU solves in ρ", err, scale)
    return _rho_interpolant(lambda r: _exact_h(dense, r, d), rho), "lu"


@dataclass(frozen=True)
class _Eigenbasis:
    """W = VΛV⁻¹ stored as what h needs: Λ, V∘V⁻ᵀ, V, V⁻ᵀ, V⁻¹D and V'1 (linked units only)."""

    values: np.ndarray
    mix: np.ndarray
    right: np.ndarray
    left_t: np.ndarray
    d_coords: np.ndarray
    one_coords: np.ndarray
    d: np.ndarray
    linked: np.ndarray

    @classmethod
    def symmetric(cls, w: PreparedWeights, d: np.ndarray) -> _Eigenbasis:
        """From D^-1/2 C D^-1/2 = QΛQ': V = D^-1/2 Q, V⁻¹ = Q'D^1/2 (units without links drop out)."""
        sym, linked = w._symmetric_dense()
        values, q = sla.eigh(sym, driver="evr", overwrite_a=True, check_finite=False)
        root = np.sqrt(w.symmetric_base[1][linked])  # type: ignore[index]
        right = q / root[:, None]
        left_t = q * root[:, None]
        q *= q  # now Q∘Q = V∘V⁻ᵀ, without another N×N array
        dl = d[linked]
        return cls(values, q, right, left_t, left_t.T @ dl, right.T @ np.ones(len(dl)), dl, linked)

    @classmethod
    def general(cls, dense: np.ndarray, d: np.ndarray) -> _Eigenbasis:
        """From a complex eigendecomposition; V⁻¹ by LU."""
        values, right = sla.eig(dense, check_finite=False)
        inv = sla.lu_solve(sla.lu_factor(right, check_finite=False), np.eye(len(values)), check_finite=False)
        left_t = inv.T
        linked = np.ones(len(values), dtype=bool)
        return cls(values, right * left_t, right, left_t, inv @ d, right.T @ np.ones(len(d)), d, linked)

    def h(self, rho: np.ndarray) -> np.ndarray:
        """h for each ρ: shape (3, m, N); units without links get zeros (G has no row or column there)."""
        f = self.values[:, None] / (1.0 - self.values[:, None] * np.asarray(rho)[None, :])  # (k, m)
        own = self.mix @ f
        received = self.right @ (f * self.d_coords[:, None]) - own * self.d[:, None]
        emitted = self.left_t @ (f * self.one_coords[:, None]) - own
        out = np.zeros((3, f.shape[1], len(self.linked)))
        for k, part in enumerate((own, received, emitted)):
            out[k][:, self.linked] = part.real.T
        return out


def _rho_interpolant(exact: Callable[[float], np.ndarray], rho: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """h(ρ) over the draws: barycentric interpolation on Chebyshev points, checked between them.

    Chebyshev points of the second kind nest when the number of intervals
    doubles, and the checks (midpoints between points) are points of the next
    level, so every solve is reused. Falls back to one solve per distinct ρ
    when that is as cheap, or when RHO_MAX_INTERVALS do not reach RHO_INTERP_RTOL.
    """
    cache: dict[float, np.ndarray] = {}

    def at(r: float) -> np.ndarray:
        r = float(r)
        if r not in cache:
            cache[r] = exact(r)
        return cache[r]

    distinct = np.unique(rho)
    lo, hi = float(distinct[0]), float(distinct[-1])
    mid, half = (lo + hi) / 2.0, (hi - lo) / 2.0
    intervals = RHO_START_INTERVALS
    while half > 0 and intervals <= RHO_MAX_INTERVALS and intervals + 4 < len(distinct):
        nodes = mid + half * np.cos(np.pi * np.arange(intervals + 1) / intervals)
        if np.unique(nodes).size < nodes.size:  # a range of ρ at rounding level: solve per draw
            break
        values = np.stack([at(r) for r in nodes])  # (K, 3, N)
        interp = BarycentricInterpolator(nodes, values.reshape(len(nodes), -1))
        checks = mid + half * np.cos(np.pi * (np.array([0, intervals // 2, intervals - 1]) + 0.5) / intervals)
        exact_checks = np.stack([at(r) for r in checks])
        approx = interp(checks).reshape(exact_checks.shape)
        err = np.abs(approx - exact_checks).max(axis=(0, 2))
        scale = np.abs(exact_checks).max(axis=(0, 2))
        if np.all(err <= RHO_INTERP_RTOL * scale):
            logger.debug("ρ interpolation: %d points, error %s", len(nodes), err)
            shape = values.shape[1:]

            def h(r: np.ndarray) -> np.ndarray:
                return np.moveaxis(interp(np.asarray(r, dtype=float)).reshape(len(r), *shape), 0, 1)

            return h
        intervals *= 2
    table = np.stack([at(r) for r in distinct])  # (U, 3, N)

    def h_exact(r: np.ndarray) -> np.ndarray:
        return np.moveaxis(table[np.searchsorted(distinct, r)], 0, 1)

    return h_exact
