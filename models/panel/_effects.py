"""Direct, indirect and total effects (LeSage & Pace 2009) with inference.

For a lag model the N×N multiplier of regressor k is
S_k = (I − ρW)⁻¹(β_k I + θ_k W). Its average diagonal is the direct effect,
its average row sum the total effect, and their difference the indirect
(spillover) effect:

- direct = [β_k Σ 1/(1 − ρω) + θ_k Σ ω/(1 − ρω)] / N over the eigenvalues ω;
- total = (β_k + θ_k)/(1 − ρ) when every row of W sums to one; with zero
  rows (islands) that also have zero columns, islands contribute β_k each;
  otherwise 1'S_k1/N by sparse solves.

Inference draws the parameters from their asymptotic normal distribution
(default) or uses the delta method; no draw forms an N×N inverse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special  # not scipy.stats: its import costs ~0.3 s on the fit path

from spillmap.errors import EstimationError

from spillmap.models.panel._weights import PreparedWeights

__all__ = ["EffectsResult", "EffectsMethod", "compute_effects", "EFFECT_KINDS"]

EffectsMethod = Literal["simulation", "delta"]
EFFECT_KINDS = ("direct", "indirect", "total")
#: Step (relative to max(1, |ρ|)) of central differences where no closed form exists.
_DIFF_STEP = 1e-6


@dataclass(frozen=True)
class EffectsResult:
    """Average direct, indirect and total effects of each regressor.

    ``table`` has one row per (variable, effect) with ``estimate`` (exact at
    the parameter estimates), ``se``, ``z``, ``p_value``, ``ci_low`` and
    ``ci_high`` (95 %: percentiles of the draws for ``method="simulation"``,
    normal for ``"delta"``).
    """

    table: pd.DataFrame
    method: EffectsMethod
    draws: int | None = None
    seed: int | None = None
    rejected_draws: int = 0
    samples: np.ndarray | None = field(default=None, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The effects table (a copy)."""
        return self.table.copy()

    def estimate(self, variable: str, effect: str) -> float:
        """Point estimate of one effect, e.g. ``estimate("did", "indirect")``."""
        return float(self.table.loc[(variable, effect), "estimate"])

    def se(self, variable: str, effect: str) -> float:
        return float(self.table.loc[(variable, effect), "se"])

    def interval(self, variable: str, effect: str, level: float = 0.95) -> tuple[float, float]:
        """Interval of one effect at ``level`` (from the draws when available)."""
        if self.samples is not None:
            k = list(self.table.index).index((variable, effect))
            tail = (1 - level) / 2 * 100
            lo, hi = np.percentile(self.samples[:, k], [tail, 100 - tail])
            return float(lo), float(hi)
        z = special.ndtri(0.5 + level / 2)
        est, se = self.estimate(variable, effect), self.se(variable, effect)
        return est - z * se, est + z * se

    def to_markdown(self, digits: int = 4) -> str:
        from spillmap.models._format import frame_to_markdown

        return frame_to_markdown(self.table.reset_index(), digits)

    def to_latex(self, digits: int = 4) -> str:
        return self.table.reset_index().to_latex(index=False, float_format=f"%.{digits}f")


def _total_sums(w: PreparedWeights, rho: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """a(ρ) = 1'(I − ρW)⁻¹1/N and b(ρ) = 1'(I − ρW)⁻¹W1/N for each ρ."""
    rho = np.atleast_1d(rho).astype(float)
    if w.row_stochastic:
        a = 1.0 / (1.0 - rho)
        return a, a
    sums = w.row_sums
    connected = sums > 0
    isolated_cols = np.asarray(abs(w.matrix[:, ~connected]).sum(axis=0)).ravel() if (~connected).any() else np.zeros(0)
    if np.allclose(sums[connected], 1.0, atol=1e-9) and not isolated_cols.any():
        n_c = connected.sum()
        b = n_c / (1.0 - rho) / w.n
        return (w.n - n_c) / w.n + b, b
    ones = np.ones(w.n)
    w1 = np.asarray(w.matrix @ ones)
    a = np.array([w.solve(r, ones).sum() / w.n for r in rho])
    b = np.array([w.solve(r, w1).sum() / w.n for r in rho])
    return a, b


def _trace_sums(w: PreparedWeights, rho: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """s0(ρ) = Σ 1/(1 − ρω) and s1(ρ) = Σ ω/(1 − ρω), each divided by N."""
    rho = np.atleast_1d(rho).astype(float)
    if w.logdet_method == "eigen":
        values = w.eigenvalues
        s0 = np.empty(len(rho))
        s1 = np.empty(len(rho))
        for start in range(0, len(rho), 256):  # bounded memory for many draws
            block = 1.0 / (1.0 - np.outer(rho[start:start + 256], values))
            s0[start:start + 256] = block.sum(axis=1).real
            s1[start:start + 256] = (block * values).sum(axis=1).real
        return s0 / w.n, s1 / w.n
    pairs = np.array([w.trace_sums(r) for r in rho])
    return pairs[:, 0] / w.n, pairs[:, 1] / w.n


def lag_effects(w: PreparedWeights, rho: np.ndarray, beta: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Effects for arrays of draws: shape (draws, variables, 3) = direct, indirect, total."""
    s0, s1 = _trace_sums(w, rho)
    a, b = _total_sums(w, rho)
    direct = beta * s0[:, None] + theta * s1[:, None]
    total = beta * a[:, None] + theta * b[:, None]
    return np.stack([direct, total - direct, total], axis=2)


def compute_effects(
    *,
    model: str,
    names: list[str],
    params: np.ndarray,
    vcov: np.ndarray,
    durbin_idx: tuple[int, ...],
    w: PreparedWeights,
    method: EffectsMethod = "simulation",
    draws: int = 1000,
    seed: int | np.random.Generator | None = None,
) -> EffectsResult:
    """Effects of each regressor named in ``names`` (the X columns).

    ``params``/``vcov`` are ordered [β (X), θ (durbin), ρ or λ] (σ² removed).
    """
    k = len(names)
    nd = len(durbin_idx)
    theta_map = np.zeros((k, nd))
    for pos, j in enumerate(durbin_idx):
        theta_map[j, pos] = 1.0

    if model in ("sar", "sdm"):
        def effects_of(p: np.ndarray) -> np.ndarray:
            beta = p[:, :k]
            theta = p[:, k:k + nd] @ theta_map.T
            return lag_effects(w, p[:, -1], beta, theta)
    else:
        share = float(np.mean(w.row_sums))  # 1'W1/N: 1 unless there are islands

        def effects_of(p: np.ndarray) -> np.ndarray:
            beta = p[:, :k]
            theta = p[:, k:k + nd] @ theta_map.T if model in ("sdem", "slx") else np.zeros_like(beta)
            indirect = theta * share
            return np.stack([beta, indirect, beta + indirect], axis=2)

    point = effects_of(params[None, :])[0]  # (k, 3)
    index = pd.MultiIndex.from_product([names, list(EFFECT_KINDS)], names=["variable", "effect"])
    estimate = point.ravel()
    rejected = 0
    samples = None
    if method == "simulation":
        if draws < 2:
            raise EstimationError("draws must be at least 2 for simulated effects.")
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        sample, rejected = _draw(params, vcov, draws, rng, w if model in ("sar", "sdm", "sem", "sdem") else None)
        samples = effects_of(sample).reshape(draws, -1)
        se = samples.std(axis=0, ddof=1)
        ci_low, ci_high = np.percentile(samples, [2.5, 97.5], axis=0)
    elif method == "delta":
        jac = _jacobian(effects_of, params)
        cov = jac @ vcov @ jac.T
        se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        ci_low, ci_high = estimate - 1.959963984540054 * se, estimate + 1.959963984540054 * se
    else:
        raise EstimationError(f"method must be 'simulation' or 'delta', not {method!r}.")
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, estimate / se, np.nan)
    table = pd.DataFrame(
        {
            "estimate": estimate,
            "se": se,
            "z": z,
            "p_value": 2 * special.ndtr(-np.abs(z)),
            "ci_low": ci_low,
            "ci_high": ci_high,
        },
        index=index,
    )
    seed_value = seed if isinstance(seed, (int, np.integer)) else None
    return EffectsResult(
        table=table, method=method, draws=draws if method == "simulation" else None,
        seed=seed_value, rejected_draws=rejected, samples=samples,
    )


def _draw(params, vcov, draws, rng, w) -> tuple[np.ndarray, int]:
    """Multivariate normal draws; spatial parameters outside the stable interval are redrawn."""
    chol = _cholesky(vcov)
    out = params + rng.standard_normal((draws, len(params))) @ chol.T
    if w is None:
        return out, 0
    lo, hi = w.rho_bounds
    rejected = 0
    for _ in range(100):
        bad = (out[:, -1] <= lo) | (out[:, -1] >= hi)
        if not bad.any():
            return out, rejected
        rejected += int(bad.sum())
        out[bad] = params + rng.standard_normal((int(bad.sum()), len(params))) @ chol.T
    raise EstimationError(
        "Most simulated draws of ρ fall outside its stable interval; the estimate is too imprecise "
        "for simulated effects. Use method='delta'."
    )


def _cholesky(vcov: np.ndarray) -> np.ndarray:
    sym = (vcov + vcov.T) / 2
    try:
        return np.linalg.cholesky(sym)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(sym)
        return vectors * np.sqrt(np.clip(values, 0.0, None))


def _jacobian(func, params: np.ndarray) -> np.ndarray:
    """Central-difference Jacobian of the stacked effects; effects are linear in β, θ."""
    base = func(params[None, :]).ravel()
    jac = np.empty((len(base), len(params)))
    for j in range(len(params)):
        step = _DIFF_STEP * max(1.0, abs(params[j]))
        up, down = params.copy(), params.copy()
        up[j] += step
        down[j] -= step
        jac[:, j] = (func(up[None, :]).ravel() - func(down[None, :]).ravel()) / (2 * step)
    return jac
