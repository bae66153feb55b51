"""The spatial Durbin DID: SDM with two-way effects, the DID dummy, W·DID and the controls' W·X."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from spillmap.errors import EstimationError

from spillmap.models.did._did import event_dummies
from spillmap.models.panel._effects import EffectsResult
from spillmap.models.panel._fe import FixedEffects
from spillmap.models.panel._ml import fit_panel
from spillmap.models.panel._panel import PanelData, panel_arrays
from spillmap.models.panel._results import SpatialPanelResult
from spillmap.models._format import TableExport
from spillmap.models.did._treatment import DID
from spillmap.models.panel._weights import PreparedWeights, prepare_weights

__all__ = ["SDMDiDResult", "fit_sdm_did", "SpatialEventStudyResult", "spatial_event_study"]


@dataclass(frozen=True)
class SDMDiDResult(TableExport):
    """A spatial Durbin DID fit with the DID effects.

    Attributes
    ----------
    fit
        The full SDM (coefficients of DID, W·DID, controls, their W·X, ρ).
    effects
        Direct, indirect (spillover) and total effects of every regressor.
    treatment
        Name of the DID column.
    """

    fit: SpatialPanelResult
    effects: EffectsResult = field(repr=False)
    treatment: str = DID

    def effect(self, kind: str) -> float:
        """``"direct"``, ``"indirect"`` or ``"total"`` effect of the DID dummy."""
        return self.effects.estimate(self.treatment, kind)

    def interval(self, kind: str, level: float = 0.95) -> tuple[float, float]:
        return self.effects.interval(self.treatment, kind, level)

    @property
    def did_effects(self) -> pd.DataFrame:
        """The three effects of DID with their inference (one row each)."""
        return self.effects.table.loc[self.treatment]

    def to_frame(self) -> pd.DataFrame:
        return self.did_effects.reset_index()

    def to_dict(self) -> dict[str, object]:
        out = self.fit.to_dict()
        out["did_effects"] = {
            kind: {k: float(v) for k, v in row.items()} for kind, row in self.did_effects.iterrows()
        }
        out["effects_draws"] = self.effects.draws
        return out


#: The spatial DID models :func:`fit_sdm_did` fits (each has a spillover of DID).
SDID_MODELS = ("sdm", "sar", "sdem", "slx")


def fit_sdm_did(
    data: pd.DataFrame,
    y: str,
    *,
    id_col: str,
    time_col: str,
    weights: object,
    treatment: str = DID,
    controls: Sequence[str] = (),
    durbin: str | Sequence[str] = "all",
    fe: FixedEffects = "twoways",
    lee_yu: bool | None = None,
    draws: int = 1000,
    seed: int | np.random.Generator | None = None,
    vce: str = "oim",
    cluster: str | None = None,
    model: str = "sdm",
) -> SDMDiDResult:
    """Spatial Durbin DID: y = ρWy + β·DID + θ·W·DID + Xγ + WXδ + unit + period effects + ε.

    ``model`` ``"sar"`` (spillover through ρ only), ``"sdem"`` or ``"slx"`` fits that spatial DID instead.

    Returns the SDM fit and the direct, indirect (spillover) and total
    effects of DID with simulated 95 % intervals (``draws``, ``seed``), from the
    covariance ``vce`` (``"oim"``, ``"robust"``, ``"cluster"`` by unit or ``cluster``, ``"dk"``).
    """
    from spillmap.models.panel.api import fit_spatial_panel

    if model not in SDID_MODELS:
        raise EstimationError(f"model must be one of {', '.join(SDID_MODELS)}, not {model!r}.")
    fit = fit_spatial_panel(
        data, id_col=id_col, time_col=time_col, weights=weights, y=y, x=[treatment, *controls],
        model=model, fe=fe, lee_yu=lee_yu, durbin=durbin, vce=vce, cluster=cluster,
    )
    if model != "sar" and treatment not in fit.durbin:
        raise EstimationError(f"durbin must include '{treatment}' so that W·{treatment} (the spillover) enters.")
    return SDMDiDResult(fit=fit, effects=fit.effects(draws, seed=seed), treatment=treatment)


# ---------------------------------------------------------------- placebo


@dataclass(frozen=True, eq=False)
class SdmDidTask:
    """Everything an SDM-DID placebo draw needs; only the DID dummy changes per draw."""

    y: np.ndarray
    controls: np.ndarray
    names: tuple[str, ...]
    weights: PreparedWeights
    fe: str
    lee_yu: bool
    ids: np.ndarray
    periods: np.ndarray
    real_first_year: np.ndarray

    @classmethod
    def build(
        cls, data, y, *, id_col, time_col, controls, weights, fe, lee_yu,
        first_year: Callable[[np.ndarray], np.ndarray],
    ) -> SdmDidTask:  # noqa: ANN001
        w = prepare_weights(weights)
        panel = panel_arrays(data, id_col=id_col, time_col=time_col, y=y, x=list(controls), ids=w.ids)
        _ = w.eigenvalues, w.rho_bounds  # decompose once, before the task is shipped to workers
        return cls(
            y=panel.y, controls=panel.x, names=("did", *controls), weights=w, fe=fe,
            lee_yu=(fe == "twoways") if lee_yu is None else lee_yu, ids=np.asarray(w.ids),
            periods=np.asarray(panel.periods), real_first_year=first_year(np.asarray(w.ids)),
        )

    def __call__(self, first_years: np.ndarray):  # noqa: ANN204
        from spillmap.models._threads import blas_threads

        fy = np.asarray(first_years, dtype=float)
        k = self.controls.shape[2] + 1
        out = np.full((3, len(fy)), np.nan)
        with blas_threads(self.weights.n):
            for j, row in enumerate(fy):
                did = (self.periods[:, None] >= row[None, :]).astype(float)
                x = np.concatenate([did[:, :, None], self.controls], axis=2)
                panel = PanelData(y=self.y, x=x, y_name="y", x_names=self.names, ids=self.ids, periods=self.periods)
                try:
                    fit = fit_panel(panel, self.weights, model="sdm", fe=self.fe, lee_yu=self.lee_yu,
                                    durbin_idx=tuple(range(k)))
                except EstimationError:
                    continue
                se = float(np.sqrt(fit.vcov[0, 0]))
                out[:, j] = (fit.params[0], se, fit.params[0] / se)
        return out[0], out[1], out[2]


# ---------------------------------------------------- spatial event study


@dataclass(frozen=True)
class SpatialEventStudyResult(TableExport):
    """Event-time dummies and their spatial lags in an SDM with two-way effects.

    ``table`` is indexed by event time (reference period as zeros) with the
    direct and indirect effects of each event-time dummy and their 95 %
    intervals.
    """

    table: pd.DataFrame
    fit: SpatialPanelResult = field(repr=False)
    ref: int = -1
    y: str = "y"
    estimator: str = "sdm"

    def to_frame(self) -> pd.DataFrame:
        return self.table.reset_index()

    def plot(self, ax=None):  # noqa: ANN001, ANN201
        """Direct and indirect effects by event time (matplotlib Figure)."""
        from spillmap.models._plots import plot_event_study

        views = [
            _View(self.table[[f"{kind}_{c}" for c in ("estimate", "ci_low", "ci_high")]]
                  .set_axis(["estimate", "ci_low", "ci_high"], axis=1), kind, self.ref, self.y)
            for kind in ("direct", "indirect")
        ]
        return plot_event_study(views, ax=ax, title="Spatial event study: direct and indirect effects")


@dataclass(frozen=True)
class _View:
    table: pd.DataFrame
    estimator: str
    ref: int
    y: str


def spatial_event_study(
    data: pd.DataFrame,
    y: str,
    *,
    id_col: str,
    time_col: str,
    weights: object,
    controls: Sequence[str] = (),
    leads: int = 4,
    lags: int = 4,
    ref: int = -1,
    fe: FixedEffects = "twoways",
    lee_yu: bool | None = None,
    draws: int = 1000,
    seed: int | np.random.Generator | None = None,
    model: str = "sdm",
) -> SpatialEventStudyResult:
    """SDM with event-time dummies and their spatial lags; direct and indirect effects per event time.

    ``model`` (``"sdm"``, ``"sar"``, ``"sdem"``, ``"slx"``) and ``fe`` choose the spatial panel model as in
    :func:`fit_sdm_did`; with ``"sar"`` the indirect effects come through ρ alone.
    """
    from spillmap.models.panel.api import fit_spatial_panel

    if model not in SDID_MODELS:
        raise EstimationError(f"model must be one of {', '.join(SDID_MODELS)}, not {model!r}.")
    frame, names, times = event_dummies(data, leads=leads, lags=lags, ref=ref)
    fit = fit_spatial_panel(
        frame, id_col=id_col, time_col=time_col, weights=weights, y=y, x=[*names, *controls],
        model=model, fe=fe, lee_yu=lee_yu, durbin="all",
    )
    eff = fit.effects(draws, seed=seed).table
    rows = {}
    for name in names:
        rows[times[name]] = {
            "direct_estimate": eff.loc[(name, "direct"), "estimate"],
            "direct_ci_low": eff.loc[(name, "direct"), "ci_low"],
            "direct_ci_high": eff.loc[(name, "direct"), "ci_high"],
            "indirect_estimate": eff.loc[(name, "indirect"), "estimate"],
            "indirect_ci_low": eff.loc[(name, "indirect"), "ci_low"],
            "indirect_ci_high": eff.loc[(name, "indirect"), "ci_high"],
        }
    rows[ref] = dict.fromkeys(next(iter(rows.values())), 0.0)
    table = pd.DataFrame.from_dict(rows, orient="index").sort_index()
    table.index.name = "event_time"
    return SpatialEventStudyResult(table=table, fit=fit, ref=ref, y=y, estimator=model)
