"""Mediation (mechanism) test of a staggered DID effect.

:func:`mediation` runs the three-step mechanism test (total effect c,
treatment → mediator a, outcome on treatment and mediator: direct c' and b)
and infers the indirect effect a·b by the Sobel test and by a cluster
bootstrap. The bootstrap re-estimates the two mediation regressions in each draw by
exact least squares (within-unit demeaning, then the period dummies partialled
out), not by pyfixest; :func:`_twoway_ols` is that path, tested against
pyfixest on the original sample.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from spillmap.errors import EstimationError, PanelShapeError, SpillmapWarning
from spillmap.models.did._regress import _TIDY, LEVEL, _check_controls, _fit, _normal_row, _prepare, _TableExport

__all__ = ["mediation", "MediationResult"]


@dataclass(frozen=True, eq=False)
class MediationResult(_TableExport):
    """Three-step mediation (Baron–Kenny) with Sobel and cluster-bootstrap inference.

    Attributes
    ----------
    table
        Rows ``total`` (c), ``a`` (treatment → mediator), ``b`` (mediator →
        outcome given treatment), ``direct`` (c'), ``indirect`` (a·b, Sobel
        se and normal interval), ``indirect_bt`` (a·b, bootstrap se and
        percentile interval; absent when ``boot=0``) and ``proportion``
        (a·b / c, bootstrap percentile interval). Inference is large-sample
        normal (column ``z``); the steps' own t(G − 1) tables are in ``steps``.
    steps
        pyfixest-style tidy tables of the three regressions, keyed
        ``"total"``, ``"mediator"`` and ``"outcome"``.
    indirect_draws
        The a·b of each bootstrap draw (NaN where a draw could not be
        estimated), shape (boot,).
    """

    treatment: str
    mediator: str
    outcome: str
    table: pd.DataFrame
    steps: dict[str, pd.DataFrame]
    sobel_se: float
    sobel_z: float
    sobel_p: float
    boot: int
    boot_failed: int
    boot_ci: tuple[float, float]
    n_obs: int
    n_clusters: int
    indirect_draws: np.ndarray = field(repr=False)

    def _value(self, term: str) -> float:
        return float(self.table.loc[self.table["term"] == term, "estimate"].iloc[0])

    @property
    def a(self) -> float:
        """Effect of the treatment on the mediator."""
        return self._value("a")

    @property
    def b(self) -> float:
        """Effect of the mediator on the outcome, holding the treatment fixed."""
        return self._value("b")

    @property
    def total(self) -> float:
        """Total effect c (outcome on treatment)."""
        return self._value("total")

    @property
    def direct(self) -> float:
        """Direct effect c' (outcome on treatment and mediator)."""
        return self._value("direct")

    @property
    def indirect(self) -> float:
        """Indirect effect a·b (equals c − c' exactly in OLS on one sample)."""
        return self._value("indirect")

    @property
    def proportion(self) -> float:
        """Share of the total effect that is mediated, a·b / c."""
        return self._value("proportion")

    def to_frame(self) -> pd.DataFrame:
        """The mediation table (a copy)."""
        return self.table.copy()


def mediation(
    data: pd.DataFrame,
    y: str,
    mediator: str,
    *,
    treatment: str = "did",
    controls: Sequence[str] = (),
    id_col: str,
    time_col: str,
    cluster: str | None = None,
    boot: int = 500,
    seed: int | np.random.Generator | None = None,
    progress: Callable[[int], None] | None = None,
) -> MediationResult:
    """Three-step mechanism (mediation) test with Sobel and cluster-bootstrap inference.

    Fits (i) ``y ~ treatment + controls`` (total effect c), (ii) ``mediator ~
    treatment + controls`` (a) and (iii) ``y ~ treatment + mediator +
    controls`` (direct effect c' and b), each with unit and period fixed
    effects. The indirect effect a·b gets the Sobel standard error
    sqrt(b²·se_a² + a²·se_b²) from the clustered SEs, and a cluster bootstrap:
    ``boot`` times, clusters (units unless ``cluster`` is given) are drawn
    with replacement, each drawn copy of a unit counts as a distinct unit,
    and (ii) and (iii) are re-estimated; the interval is the percentile
    interval of the draws. The proportion mediated is a·b / c.

    Parameters
    ----------
    data
        Long panel, one row per unit and period (need not be balanced).
    y
        Outcome column.
    mediator
        Mediator (mechanism) column.
    treatment
        0/1 column: treated unit × post period.
    controls
        Time-varying control columns.
    id_col, time_col
        Unit and period columns (the two fixed effects).
    cluster
        Column to cluster standard errors and resample by; ``None`` uses ``id_col``.
    boot
        Number of bootstrap draws; 0 skips the bootstrap.
    seed
        Seed or generator of the bootstrap draws.
    progress
        Called after each finished draw with the number of draws done so far.

    Returns
    -------
    MediationResult

    Raises
    ------
    MissingColumnError
        A named column is absent.
    PanelShapeError
        Bad values (non-numeric, missing, non-0/1 treatment), repeated
        (unit, period) rows, a negative ``boot``, or no treated unit.
    CollinearityError
        The treatment, mediator or a control is absorbed by the fixed effects.
    EstimationError
        pyfixest cannot fit a step, or every bootstrap draw failed.

    Warns
    -----
    SpillmapWarning
        Some bootstrap draws could not be estimated (e.g. no treated unit was
        drawn); they are left out of the interval.
    """
    if isinstance(boot, bool) or not isinstance(boot, (int, np.integer)) or boot < 0:
        raise PanelShapeError(f"boot must be a non-negative integer number of draws, not {boot!r}; 0 skips the bootstrap.")
    boot = int(boot)
    controls = _check_controls(controls)
    work = _prepare(
        data, id_col=id_col, time_col=time_col, cluster=cluster,
        numeric=[y, mediator, treatment, *controls], binary=[treatment],
    )
    frame, nm = work.frame, work.names
    if not (frame[nm[treatment]].to_numpy() > 0).any():
        raise PanelShapeError(
            f"Treatment column '{treatment}' is 0 on every row; there is no treated unit, so no effect to mediate."
        )
    yc, mc, dc, cc = nm[y], nm[mediator], nm[treatment], [nm[c] for c in controls]
    # Step 3 first: a mediator absorbed by the fixed effects fails there as a regressor,
    # before step 2 would regress a constant on the treatment.
    fit_b = _fit(work, frame, yc, [dc, mc, *cc], "Step 3 (outcome on treatment and mediator)")
    fit_c = _fit(work, frame, yc, [dc, *cc], "Step 1 (total effect)")
    fit_a = _fit(work, frame, mc, [dc, *cc], "Step 2 (treatment on mediator)")
    c, se_c = fit_c.beta[0], math.sqrt(fit_c.vcov[0, 0])
    a, se_a = fit_a.beta[0], math.sqrt(fit_a.vcov[0, 0])
    cp, se_cp = fit_b.beta[0], math.sqrt(fit_b.vcov[0, 0])
    b, se_b = fit_b.beta[1], math.sqrt(fit_b.vcov[1, 1])
    ab = a * b
    sobel_se = math.sqrt(b * b * se_a * se_a + a * a * se_b * se_b)
    indirect_row = _normal_row("indirect", ab, sobel_se)

    draws = np.full((boot, 2), np.nan)  # a·b and c' per draw
    if boot:
        rng = np.random.default_rng(seed)
        draws = _bootstrap(frame, yc, mc, dc, cc, boot, rng, progress)
    ok = np.isfinite(draws).all(axis=1)
    failed = int(boot - ok.sum())
    if boot and failed == boot:
        raise EstimationError(
            f"All {boot} bootstrap draws failed (the treatment or mediator was constant after removing the "
            "fixed effects in every resample); check that enough units are treated."
        )
    if failed:
        warnings.warn(
            f"{failed} of {boot} bootstrap draws could not be estimated (no variation in '{treatment}' or "
            f"'{mediator}' among the drawn units) and were left out of the interval.",
            SpillmapWarning, stacklevel=2,
        )
    tail = (1 - LEVEL) / 2 * 100
    rows = [
        _normal_row("total", c, se_c),
        _normal_row("a", a, se_a),
        _normal_row("b", b, se_b),
        _normal_row("direct", cp, se_cp),
        indirect_row,
    ]
    boot_ci = (math.nan, math.nan)
    prop_ci = (math.nan, math.nan)
    if boot:
        good = draws[ok]
        boot_ci = tuple(float(v) for v in np.percentile(good[:, 0], [tail, 100 - tail]))
        with np.errstate(divide="ignore", invalid="ignore"):
            props = good[:, 0] / (good[:, 0] + good[:, 1])  # c = c' + a·b exactly in OLS
        props = props[np.isfinite(props)]
        if props.size:
            prop_ci = tuple(float(v) for v in np.percentile(props, [tail, 100 - tail]))
        sd = float(np.std(good[:, 0], ddof=1)) if len(good) > 1 else math.nan
        row = _normal_row("indirect_bt", ab, sd)
        row["ci_low"], row["ci_high"] = boot_ci
        rows.append(row)
    prop = ab / c if c != 0 else math.nan
    rows.append({
        "term": "proportion", "estimate": prop, "se": math.nan, "stat": math.nan,
        "p_value": math.nan, "ci_low": prop_ci[0], "ci_high": prop_ci[1],
    })
    table = pd.DataFrame(rows, columns=_TIDY).rename(columns={"stat": "z"})
    steps = {
        "total": fit_c.tidy.rename(columns={"stat": "t"}),
        "mediator": fit_a.tidy.rename(columns={"stat": "t"}),
        "outcome": fit_b.tidy.rename(columns={"stat": "t"}),
    }
    return MediationResult(
        treatment=treatment, mediator=mediator, outcome=y, table=table, steps=steps,
        sobel_se=sobel_se, sobel_z=float(indirect_row["stat"]), sobel_p=float(indirect_row["p_value"]),
        boot=boot, boot_failed=failed, boot_ci=boot_ci, n_obs=fit_b.n_obs, n_clusters=fit_b.n_clusters,
        indirect_draws=draws[:, 0].copy(),
    )


def _codes(values: pd.Series | np.ndarray) -> tuple[np.ndarray, int]:
    codes, uniques = pd.factorize(np.asarray(values), sort=False)
    return codes.astype(np.intp), len(uniques)


def _twoway_ols(
    lhs: np.ndarray, rhs: np.ndarray, unit: np.ndarray, time: np.ndarray, n_units: int, n_times: int
) -> np.ndarray | None:
    """Exact OLS slopes of ``lhs`` on ``rhs`` with unit and period fixed effects.

    Demeans every column within units, then partials the (unit-demeaned)
    period dummies out by least squares (Frisch–Waugh–Lovell), so it is exact
    for unbalanced panels too. ``rhs`` is (n, k); returns the k slopes, or
    ``None`` when they are not identified (rank-deficient regressors).
    """
    block = np.column_stack([lhs, rhs])
    dummies = np.zeros((len(lhs), n_times))
    dummies[np.arange(len(lhs)), time] = 1.0
    full = np.column_stack([block, dummies[:, 1:]])
    counts = np.bincount(unit, minlength=n_units).astype(float)
    means = np.empty((n_units, full.shape[1]))
    for j in range(full.shape[1]):
        means[:, j] = np.bincount(unit, weights=full[:, j], minlength=n_units)
    means /= np.maximum(counts, 1.0)[:, None]
    full = full - means[unit]
    inner, dum = full[:, : block.shape[1]], full[:, block.shape[1]:]
    if dum.shape[1]:
        coef = np.linalg.lstsq(dum, inner, rcond=None)[0]
        inner = inner - dum @ coef
    slopes, _, rank, _ = np.linalg.lstsq(inner[:, 1:], inner[:, 0], rcond=None)
    if rank < rhs.shape[1]:
        return None
    return slopes


def _bootstrap(
    frame: pd.DataFrame,
    yc: str,
    mc: str,
    dc: str,
    cc: Sequence[str],
    boot: int,
    rng: np.random.Generator,
    progress: Callable[[int], None] | None,
) -> np.ndarray:
    """(boot, 2) array of a·b and c' from cluster resamples (NaN rows for failed draws)."""
    cl, n_cl = _codes(frame["cl"])
    unit, n_units = _codes(frame["fe_unit"])
    time, n_times = _codes(frame["fe_time"])
    y = frame[yc].to_numpy(dtype=float)
    m = frame[mc].to_numpy(dtype=float)
    x_a = frame[[dc, *cc]].to_numpy(dtype=float)
    x_b = frame[[dc, mc, *cc]].to_numpy(dtype=float)
    order = np.argsort(cl, kind="stable")
    sizes = np.bincount(cl, minlength=n_cl)
    starts = np.cumsum(sizes) - sizes
    out = np.full((boot, 2), np.nan)
    for r in range(boot):
        picks = rng.integers(0, n_cl, size=n_cl)
        lengths = sizes[picks]
        offsets = np.cumsum(lengths) - lengths
        pos = np.arange(lengths.sum()) - np.repeat(offsets, lengths) + np.repeat(starts[picks], lengths)
        rows = order[pos]
        copy = np.repeat(np.arange(n_cl), lengths)
        new_unit, n_new = _codes(copy.astype(np.int64) * n_units + unit[rows])
        fit_a = _twoway_ols(m[rows], x_a[rows], new_unit, time[rows], n_new, n_times)
        fit_b = _twoway_ols(y[rows], x_b[rows], new_unit, time[rows], n_new, n_times)
        if fit_a is not None and fit_b is not None:
            out[r] = (fit_a[0] * fit_b[1], fit_b[0])
        if progress is not None:
            progress(r + 1)
    return out
