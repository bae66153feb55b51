"""Result objects of spatial panel fits: tidy tables, summaries, exports, tests."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import special  # not scipy.stats: its import costs ~0.3 s on the fit path

from spillmap.errors import EstimationError

from spillmap.models._format import frame_to_markdown
from spillmap.models.panel._effects import EffectsMethod, EffectsResult, compute_effects
from spillmap.models.panel._panel import panel_labels
from spillmap.models.panel._vce import VCE, VCE_NAMES, ScoreInputs, default_dk_lags, robust_vcov
from spillmap.models.panel._weights import PreparedWeights

__all__ = ["SpatialPanelResult", "Summary", "TestResult", "frame_to_markdown"]

_MODEL_NAMES = {
    "sar": "Spatial autoregressive (SAR) model",
    "sem": "Spatial error (SEM) model",
    "sdm": "Spatial Durbin (SDM) model",
    "sdem": "Spatial Durbin error (SDEM) model",
    "slx": "Spatially lagged X (SLX) model",
}
_FE_NAMES = {"unit": "unit (individual)", "time": "time", "twoways": "unit and time (two-way)"}


@dataclass(frozen=True)
class TestResult:
    """A test statistic with its degrees of freedom and p-value."""

    name: str
    statistic: float
    df: int
    p_value: float

    def __str__(self) -> str:
        return f"{self.name}: chi2({self.df}) = {self.statistic:.4f}, p = {self.p_value:.4g}"


@dataclass(frozen=True)
class Summary:
    """Printable summary; ``str()`` gives text, notebooks render ``_repr_html_``."""

    header: list[tuple[str, str]]
    table: pd.DataFrame
    title: str

    def as_text(self) -> str:
        width = 78
        lines = [self.title, "=" * width]
        half = (len(self.header) + 1) // 2
        left, right = self.header[:half], self.header[half:]
        for k in range(half):
            a = f"{left[k][0]:<22}{left[k][1]:>15}"
            b = f"{right[k][0]:<22}{right[k][1]:>15}" if k < len(right) else ""
            lines.append(f"{a}    {b}".rstrip())
        lines.append("-" * width)
        lines.append(f"{'':<18}{'coef':>11}{'std.err':>11}{'z':>9}{'P>|z|':>8}{'[95% conf.':>11}{'int.]':>10}")
        group = None
        for (grp, name), row in self.table.iterrows():
            if grp != group:
                lines.append(f"{grp}")
                group = grp
            lines.append(
                f"  {name[:16]:<16}{row['coef']:>11.6f}{row['se']:>11.6f}{row['z']:>9.2f}"
                f"{row['p_value']:>8.3f}{row['ci_low']:>11.6f}{row['ci_high']:>10.6f}"
            )
        lines.append("=" * width)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.as_text()

    def _repr_html_(self) -> str:
        head = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in self.header)
        return f"<h4>{self.title}</h4><table>{head}</table>" + self.table.to_html(float_format=lambda v: f"{v:.6f}")


@dataclass(frozen=True, eq=False)
class SpatialPanelResult:
    """A fitted fixed-effects spatial panel model.

    Attributes
    ----------
    model, fe, lee_yu, bias_corrected, engine
        What was fitted and how.
    y_name, x_names, durbin
        Outcome, regressors, and the regressors whose spatial lag W·x enters.
    params, vcov
        Estimates [β, θ (``W·x``), ``rho``/``lambda``, ``sigma2``] and their
        covariance of kind ``vce``.
    loglik
        Maximised log-likelihood, constants included.
    n_units, n_periods, n_obs
        N, T and the effective sample size (NT, or (N−1)(T−1) under Lee–Yu
        with two-way effects).
    r2_within
        1 − e'e / y~'y~ on the within-transformed outcome.
    vce
        What ``vcov`` is (Stata ``xsmle``'s names): ``"oim"``, the inverse
        analytic information matrix; ``"robust"``, ``"cluster"`` or ``"dk"``
        (Driscoll–Kraay), sandwiches from the scores (see :meth:`with_vce`).
    cluster, n_clusters
        For ``vce="cluster"``: the clustering column (the unit column by
        default) and the number of clusters G; else None.
    dk_lags
        For ``vce="dk"``: the Bartlett lags; else None.
    fixed_b
        For ``vce="dk"``: whether ``vcov`` carries the fixed-b factor (see :meth:`with_vce`); else None.
    id_col, time_col
        The panel's unit and period columns.
    """

    model: str
    fe: str
    lee_yu: bool
    bias_corrected: bool
    engine: str
    y_name: str
    x_names: tuple[str, ...]
    durbin: tuple[str, ...]
    params: pd.Series
    vcov: pd.DataFrame
    loglik: float
    n_units: int
    n_periods: int
    n_obs: int
    r2_within: float
    ids: np.ndarray = field(repr=False)
    periods: np.ndarray = field(repr=False)
    residual_array: np.ndarray = field(repr=False)
    weights: PreparedWeights = field(repr=False)
    vce: str = "oim"
    cluster: str | None = None
    n_clusters: int | None = None
    dk_lags: int | None = None
    fixed_b: bool | None = None
    id_col: str | None = None
    time_col: str | None = None
    score_inputs: ScoreInputs | None = field(default=None, repr=False)
    oim_vcov: pd.DataFrame | None = field(default=None, repr=False)

    # ----------------------------------------------------------- accessors
    @cached_property
    def residuals(self) -> pd.DataFrame:
        """Within-transformed residuals, periods × units."""
        return pd.DataFrame(
            self.residual_array,
            index=pd.Index(self.periods, name="period"),
            columns=pd.Index(self.ids, name="unit"),
        )

    @property
    def rho(self) -> float:
        """Spatial autoregressive parameter ρ (lag models) or λ (error models)."""
        for name in ("rho", "lambda"):
            if name in self.params.index:
                return float(self.params[name])
        return float("nan")

    @property
    def sigma2(self) -> float:
        return float(self.params["sigma2"])

    @property
    def n_params(self) -> int:
        return len(self.params)

    @property
    def aic(self) -> float:
        return -2.0 * self.loglik + 2.0 * self.n_params

    @property
    def bic(self) -> float:
        return -2.0 * self.loglik + self.n_params * math.log(self.n_obs)

    @cached_property
    def _tidy(self) -> pd.DataFrame:
        se = np.sqrt(np.clip(np.diag(self.vcov.to_numpy()), 0.0, None))
        coef = self.params.to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(se > 0, coef / se, np.nan)
        crit = special.ndtri(0.975)
        return pd.DataFrame(
            {
                "coef": coef,
                "se": se,
                "z": z,
                "p_value": 2 * special.ndtr(-np.abs(z)),
                "ci_low": coef - crit * se,
                "ci_high": coef + crit * se,
            },
            index=pd.Index(self.params.index, name="term"),
        )

    def tidy(self) -> pd.DataFrame:
        """One row per parameter: coef, se, z, p_value, ci_low, ci_high (95 %)."""
        return self._tidy.copy()

    def coef(self) -> pd.Series:
        return self._tidy["coef"].copy()

    def se(self) -> pd.Series:
        return self._tidy["se"].copy()

    def pvalue(self) -> pd.Series:
        return self._tidy["p_value"].copy()

    # statsmodels' names, for users who reach for them
    @property
    def bse(self) -> pd.Series:
        """Standard errors (statsmodels' name)."""
        return self.se()

    @property
    def tvalues(self) -> pd.Series:
        """z statistics (statsmodels' name; ML inference is normal)."""
        return self._tidy["z"].copy()

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided normal p-values (statsmodels' name)."""
        return self.pvalue()

    @property
    def nobs(self) -> int:
        """Observations the likelihood uses (statsmodels' name for ``n_obs``)."""
        return self.n_obs

    @property
    def llf(self) -> float:
        """Maximised log-likelihood (statsmodels' name for ``loglik``)."""
        return self.loglik

    def cov_params(self) -> pd.DataFrame:
        """The covariance of ``params`` under the result's ``vce`` (statsmodels' name)."""
        return self.vcov.copy()

    @property
    def endog_names(self) -> str:
        """The outcome's name (statsmodels' name; maketables / pyfixest's ``etable`` print it as the column head)."""
        return self.y_name

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """(1 − alpha) normal intervals, columns 0 and 1 as in statsmodels."""
        crit = special.ndtri(1 - alpha / 2)
        coef, se = self._tidy["coef"], self._tidy["se"]
        return pd.DataFrame({0: coef - crit * se, 1: coef + crit * se})

    # --------------------------------------------------------------- output
    def _grouped(self) -> pd.DataFrame:
        def group(term: str) -> str:
            if term in ("rho", "lambda"):
                return "Spatial"
            if term == "sigma2":
                return "Variance"
            return "Wx" if term.startswith("W·") else "Main"

        tidy = self.tidy()
        tidy.index = pd.MultiIndex.from_tuples([(group(t), t) for t in tidy.index], names=["group", "term"])
        return tidy

    def summary(self) -> Summary:
        """Coefficient table grouped as Stata ``xsmle`` prints it (Main, Wx, Spatial, Variance)."""
        approach = "Lee–Yu b.c." if self.bias_corrected else "Lee–Yu" if self.lee_yu else "direct"
        header = [
            ("Model:", self.model.upper()),
            ("Fixed effects:", self.fe),
            ("Approach:", approach),
            ("Engine:", self.engine),
            ("Units (N):", str(self.n_units)),
            ("Periods (T):", str(self.n_periods)),
            ("Observations:", str(self.n_units * self.n_periods)),
            ("Effective obs.:", str(self.n_obs)),
            ("Log-likelihood:", f"{self.loglik:.4f}"),
            ("AIC:", f"{self.aic:.4f}"),
            ("BIC:", f"{self.bic:.4f}"),
            ("R² within:", f"{self.r2_within:.4f}"),
            ("Std. errors (vce):", self._vce_label()),
        ]
        title = f"{_MODEL_NAMES[self.model]}, {_FE_NAMES[self.fe]} fixed effects — {self.y_name}"
        return Summary(header=header, table=self._grouped(), title=title)

    def to_frame(self) -> pd.DataFrame:
        """The tidy table (alias of :meth:`tidy`)."""
        return self.tidy()

    def to_markdown(self, digits: int = 4) -> str:
        return frame_to_markdown(self.tidy().reset_index(), digits)

    def to_latex(self, digits: int = 4) -> str:
        return self.tidy().reset_index().to_latex(index=False, float_format=f"%.{digits}f")

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict of the fit (coefficients, standard errors, fit statistics)."""
        tidy = self.tidy()
        return {
            "model": self.model,
            "fe": self.fe,
            "lee_yu": self.lee_yu,
            "bias_corrected": self.bias_corrected,
            "engine": self.engine,
            "y": self.y_name,
            "n_units": self.n_units,
            "n_periods": self.n_periods,
            "n_obs": self.n_obs,
            "coefficients": {t: _finite(v) for t, v in tidy["coef"].items()},
            "std_errors": {t: _finite(v) for t, v in tidy["se"].items()},
            "p_values": {t: _finite(v) for t, v in tidy["p_value"].items()},
            "rho": _finite(self.rho),
            "sigma2": self.sigma2,
            "loglik": self.loglik,
            "aic": self.aic,
            "bic": self.bic,
            "r2_within": self.r2_within,
            "vce": self.vce,
            "vce_cluster": self.cluster,
            "n_clusters": self.n_clusters,
            "dk_lags": self.dk_lags,
            "dk_fixed_b": self.fixed_b,
        }

    def _vce_label(self) -> str:
        if self.vce == "cluster":
            return f"cluster {self.cluster}, G={self.n_clusters}"
        if self.vce == "dk":
            return f"dk, {self.dk_lags} lags" + (", fixed-b" if self.fixed_b else "")
        return self.vce

    # ------------------------------------------------------------ variance
    def with_vce(
        self,
        vce: VCE,
        *,
        cluster: str | None = None,
        data: pd.DataFrame | None = None,
        dk_lags: int | None = None,
        fixed_b: bool = True,
    ) -> SpatialPanelResult:
        """The same fit with another covariance (a new result; no refit).

        Sandwiches A⁻¹BA⁻¹ with A the observed Hessian and B from the scores
        of the demeaned panel (pairs of the spatial quadratic form included;
        see :mod:`spillmap.models.panel._vce`). ``tidy()``, ``summary()``,
        ``effects()`` (draws and delta method) and the Wald tests use it.

        Parameters
        ----------
        vce
            ``"oim"``: inverse analytic information matrix (the fit's own; the
            expected information of Elhorst 2014 / Lee & Yu 2010 under xsmle's name).
            ``"robust"``: one score per observation, times NT/n_eff (the
            degrees of freedom left by the fixed effects, n_eff = (N−1)(T−1)
            with two-way effects). ``"cluster"``: scores summed within
            clusters, times G/(G−1). ``"dk"``: Driscoll–Kraay, period sums with
            Bartlett-weighted autocovariances, times T/(T−1) (so ``dk_lags=0``
            equals clustering by period), and by default times the fixed-b
            factor (c/1.96)², so that normal 95 % intervals use the fixed-b
            critical value c for T periods and L lags (Kiefer & Vogelsang 2005;
            with L = 0, Student's t with T − 1 df); ``fixed_b=False`` gives
            ``xtscc``'s plain estimate.
        cluster
            For ``"cluster"``: a column of the panel whose values label the
            clusters (may vary over time); the unit column (default) or the
            period column need no ``data``.
        data
            The long panel that was fitted, when ``cluster`` names another column.
        dk_lags
            Bartlett lags L ≥ 0 for ``"dk"``; default floor(4 (T/100)^(2/9)).
        fixed_b
            ``"dk"`` only: apply the fixed-b factor (default True).

        Returns
        -------
        SpatialPanelResult

        Raises
        ------
        EstimationError
            Unknown ``vce``, options that do not apply to it, a spreg or
            bias-corrected fit (no score at its estimates), more than 5,000
            units, fewer than two clusters, lags out of range.
        MissingColumnError, PanelShapeError
            The cluster column is absent, has missing values, or ``data`` is not the fitted panel.
        """
        if vce not in VCE_NAMES:
            raise EstimationError(f"vce must be one of {', '.join(VCE_NAMES)}, not {vce!r}.")
        if cluster is not None and vce != "cluster":
            raise EstimationError(f"cluster= applies to vce='cluster', not vce={vce!r}.")
        if dk_lags is not None and vce != "dk":
            raise EstimationError(f"dk_lags= applies to vce='dk', not vce={vce!r}.")
        if not fixed_b and vce != "dk":
            raise EstimationError(f"fixed_b=False applies to vce='dk', not vce={vce!r}.")
        oim = self.oim_vcov if self.oim_vcov is not None else self.vcov
        if vce == "oim":
            return dataclasses.replace(self, vcov=oim, vce="oim", cluster=None, n_clusters=None, dk_lags=None,
                                       fixed_b=None, oim_vcov=None)
        if self.score_inputs is None:
            why = ("spreg reports its own variance" if self.engine == "spreg"
                   else "the bias-corrected estimates are not a root of the score")
            raise EstimationError(
                f"vce={vce!r} needs the scores at the estimates, and {why}. "
                "Refit with engine='native' and without bias_correction (Lee–Yu is the default)."
            )
        codes, label, n_clusters, lags = None, None, None, None
        if vce == "cluster":
            codes, label, n_clusters = self._clusters(cluster, data)
        if vce == "dk":
            lags = default_dk_lags(self.n_periods) if dk_lags is None else int(dk_lags)
        from spillmap.models._threads import blas_threads

        with blas_threads(self.weights.n):
            vcov = robust_vcov(self.score_inputs.parts, vce, clusters=codes, dk_lags=lags, fixed_b=fixed_b)
        names = self.params.index
        return dataclasses.replace(
            self, vcov=pd.DataFrame(vcov, index=names, columns=names), vce=vce, cluster=label,
            n_clusters=n_clusters, dk_lags=lags, fixed_b=bool(fixed_b) if vce == "dk" else None, oim_vcov=oim,
        )

    def _clusters(self, cluster: str | None, data: pd.DataFrame | None) -> tuple[np.ndarray, str, int]:
        t, n = self.n_periods, self.n_units
        if cluster is None or cluster == self.id_col:
            return np.broadcast_to(np.arange(n), (t, n)), self.id_col or "unit", n
        if cluster == self.time_col:
            return np.broadcast_to(np.arange(t)[:, None], (t, n)), cluster, t
        if data is None or self.id_col is None or self.time_col is None:
            raise EstimationError(
                f"cluster={cluster!r} names a column of the panel: pass the fitted panel as data= "
                "(fit_spatial_panel(..., vce='cluster', cluster=...) does this for you)."
            )
        codes, n_clusters = panel_labels(
            data, id_col=self.id_col, time_col=self.time_col, column=cluster, ids=self.ids, periods=self.periods
        )
        return codes, cluster, n_clusters

    # -------------------------------------------------------------- effects
    def effects(
        self,
        draws: int = 1000,
        *,
        seed: int | np.random.Generator | None = None,
        method: EffectsMethod = "simulation",
    ) -> EffectsResult:
        """Average direct, indirect and total effects of every regressor.

        Estimates are exact at the parameter estimates; their standard errors
        and 95 % intervals come from ``draws`` simulated parameter vectors
        (``method="simulation"``, seedable) or the delta method.
        """
        from spillmap.models._threads import blas_threads

        keep = [t for t in self.params.index if t != "sigma2"]
        with blas_threads(self.weights.n):
            return self._effects(keep, draws, seed, method)

    def _effects(self, keep, draws, seed, method) -> EffectsResult:  # noqa: ANN001
        return compute_effects(
            model=self.model,
            names=list(self.x_names),
            params=self.params[keep].to_numpy(),
            vcov=self.vcov.loc[keep, keep].to_numpy(),
            durbin_idx=tuple(self.x_names.index(d) for d in self.durbin),
            w=self.weights,
            method=method,
            draws=draws,
            seed=seed,
        )

    def multipliers(self, variable: str) -> pd.DataFrame:
        """N×N effects of ``variable``: row i, column j = ∂y_i/∂x_j (ids label both axes)."""
        if variable not in self.x_names:
            raise EstimationError(f"'{variable}' is not a regressor; choose one of {', '.join(self.x_names)}.")
        beta = float(self.params[variable])
        theta = float(self.params.get(f"W·{variable}", 0.0))
        if self.model in ("sar", "sdm"):
            matrix = self.weights.multiplier(self.rho, beta, theta)
        else:
            matrix = beta * np.eye(self.weights.n) + theta * self.weights.matrix.toarray()
        return pd.DataFrame(matrix, index=pd.Index(self.ids, name="unit"), columns=pd.Index(self.ids, name="source"))

    # ---------------------------------------------------------------- tests
    def wald_test(self, terms: list[str] | None = None) -> TestResult:
        """Wald test that ``terms`` are jointly zero (default: all W·x, i.e. SDM → SAR)."""
        terms = terms or [t for t in self.params.index if t.startswith("W·")]
        if not terms:
            raise EstimationError("This model has no W·x terms to test.")
        b = self.params[terms].to_numpy()
        v = self.vcov.loc[terms, terms].to_numpy()
        stat = float(b @ np.linalg.solve(v, b))
        return TestResult(f"Wald {' = '.join(terms)} = 0", stat, len(terms), float(special.chdtrc(len(terms), stat)))

    def wald_common_factor(self) -> TestResult:
        """Wald test of θ = −ρβ (SDM → SEM), delta method on the non-linear restriction."""
        if self.model != "sdm":
            raise EstimationError("The common-factor test needs an SDM fit.")
        names = [n for n in self.x_names if f"W·{n}" in self.params.index]
        rho = self.rho
        g = np.array([self.params[f"W·{n}"] + rho * self.params[n] for n in names])
        cols = list(self.params.index)
        jac = np.zeros((len(names), len(cols)))
        for r, n in enumerate(names):
            jac[r, cols.index(f"W·{n}")] = 1.0
            jac[r, cols.index(n)] = rho
            jac[r, cols.index("rho")] = self.params[n]
        v = jac @ self.vcov.to_numpy() @ jac.T
        stat = float(g @ np.linalg.solve(v, g))
        return TestResult("Wald θ = −ρβ (SDM → SEM)", stat, len(names), float(special.chdtrc(len(names), stat)))

    def lr_test(self, restricted: "SpatialPanelResult") -> TestResult:
        """Likelihood-ratio test of a nested ``restricted`` fit (e.g. SAR or SEM inside this SDM)."""
        if (restricted.n_obs, restricted.fe, restricted.lee_yu) != (self.n_obs, self.fe, self.lee_yu):
            raise EstimationError("LR tests need fits on the same panel with the same fixed effects and approach.")
        df = self.n_params - restricted.n_params
        if df <= 0:
            raise EstimationError("The restricted model must have fewer parameters than this one.")
        stat = 2.0 * (self.loglik - restricted.loglik)
        return TestResult(
            f"LR {self.model.upper()} vs {restricted.model.upper()}", stat, df, float(special.chdtrc(df, stat))
        )


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None
