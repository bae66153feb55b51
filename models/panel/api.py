"""Public entry point: fit a fixed-effects spatial panel model from a long DataFrame."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from spillmap.errors import EstimationError, MissingColumnError, PanelShapeError
from spillmap.gis._ids import format_ids

from spillmap.models.panel._fe import FixedEffects
from spillmap.models.panel._ml import DURBIN_MODELS, Model, RawFit, fit_panel
from spillmap.models.panel._panel import PanelData, panel_arrays, panel_from_formula, parse_panel_formula
from spillmap.models.panel._results import SpatialPanelResult
from spillmap.models.panel._vce import VCE, VCE_NAMES
from spillmap.models._threads import blas_threads
from spillmap.models.panel._weights import LogdetMethod, PreparedWeights, prepare_weights

__all__ = ["fit_spatial_panel", "Engine"]

Engine = Literal["native", "spreg"]
_MODELS = ("sar", "sem", "sdm", "sdem", "slx")
_FES = ("unit", "time", "twoways")


def fit_spatial_panel(
    data: pd.DataFrame | PanelData,
    formula: str | None = None,
    *,
    id_col: str | None = None,
    time_col: str | None = None,
    weights: object,
    y: str | None = None,
    x: Sequence[str] | None = None,
    model: Model = "sdm",
    fe: FixedEffects | None = None,
    lee_yu: bool | None = None,
    bias_correction: bool = False,
    durbin: Literal["all"] | Sequence[str] = "all",
    engine: Engine = "native",
    row_standardize: bool = True,
    logdet: LogdetMethod = "auto",
    vce: VCE = "oim",
    cluster: str | None = None,
    dk_lags: int | None = None,
) -> SpatialPanelResult:
    """Fit a SAR, SEM, SDM, SDEM or SLX panel model with fixed effects by maximum likelihood.

    Parameters
    ----------
    data
        Long panel: one row per unit and period (balanced); or a
        :class:`PanelData` from :func:`panel_arrays` (reshape once, refit
        many times: sweeps, placebo draws, bootstraps), which carries its
        outcome and regressors, so ``formula``, ``y`` and ``x`` are not given.
    formula
        ``"np.log(y) ~ x1 + np.log(x2) + C(region) + x1:x3 + x1*x4 | id + year"``
        (formulaic syntax; see :func:`parse_panel_formula`), or give ``y`` and
        ``x``. After ``|``: ``id_col`` (unit), ``time_col`` (time) or both
        (two-way fixed effects). Coefficients are named like the design
        columns (``np.log(x2)``, ``C(region)[T.b]``, ``x1:x3``; lags ``W·x1:x3``);
        categoricals drop their reference level, the intercept is dropped.
    id_col, time_col
        Unit and period columns (required with a DataFrame). Unit ids must
        match the weights' ids. With a :class:`PanelData` they only name the
        result's labels (default ``"id"`` and ``"time"``).
    weights
        A :class:`libpysal.graph.Graph` (e.g. from :mod:`spillmap.weights`)
        or :class:`PreparedWeights` from :func:`prepare_weights` (reuse one
        across many fits: its eigenvalues are computed once).
    model
        ``"sar"`` (ρWy), ``"sem"`` (λWu), ``"sdm"`` (ρWy + WXθ),
        ``"sdem"`` (WXθ + λWu) or ``"slx"`` (WXθ).
    fe
        ``"unit"``, ``"time"`` or ``"twoways"`` fixed effects; None: the
        formula's ``|`` part, else ``"twoways"``.
    lee_yu
        Lee & Yu (2010) transformation approach: (N−1)(T−1) effective
        observations with two-way effects, σ²·T/(T−1) with unit effects.
        Default: on for two-way effects, off otherwise.
    bias_correction
        Instead of the transformation, apply Lee & Yu's first-order
        bias-correction formula to the direct estimates (Elhorst's
        ``bc=1``; SAR/SDM with two-way effects only). Refused, with a
        message, when it moves ρ out of its stable interval.
    durbin
        Regressors whose spatial lag enters SDM/SDEM/SLX: ``"all"`` or design
        column names (e.g. ``"np.log(x2)"``).
    engine
        ``"native"`` or ``"spreg"`` (unit fixed effects without Lee–Yu;
        spreg's ``Panel_FE_Lag``/``Panel_FE_Error``, a reference engine).
    row_standardize
        Row-standardise the weights (islands stay zero rows).
    logdet
        ``"auto"``, ``"eigen"`` or ``"lu"``: how log|I − ρW| is computed.
    vce
        Standard errors, with Stata ``xsmle``'s names: ``"oim"`` (inverse
        analytic information matrix), ``"robust"`` (sandwich, one score per
        observation), ``"cluster"`` (scores summed within clusters) or
        ``"dk"`` (Driscoll–Kraay). The sandwiches need N ≤ 5,000, the native
        engine and no bias correction; see
        :meth:`SpatialPanelResult.with_vce` for their factors.
    cluster
        For ``vce="cluster"``: the column whose values are the clusters
        (default: the unit column ``id_col``).
    dk_lags
        For ``vce="dk"``: Bartlett lags (default floor(4 (T/100)^(2/9))).

    Returns
    -------
    SpatialPanelResult

    Raises
    ------
    MissingColumnError, PanelShapeError, CollinearityError
        Bad panel input or formula (the message names the columns, terms,
        units or periods).
    EstimationError
        Invalid options (also ``fe`` disagreeing with the formula's ``|``
        part), or an estimate that cannot be returned.

    Warns
    -----
    SpillmapWarning
        A categorical term absorbed by the fixed effects was dropped.
    """
    if model not in _MODELS:
        raise EstimationError(f"model must be one of {', '.join(_MODELS)}, not {model!r}.")
    if fe is not None and fe not in _FES:
        raise EstimationError(f"fe must be one of {', '.join(_FES)}, not {fe!r}.")
    if engine not in ("native", "spreg"):
        raise EstimationError(f"engine must be 'native' or 'spreg', not {engine!r}.")
    if isinstance(data, PanelData):
        if formula is not None or y is not None or x is not None:
            raise EstimationError(
                "A PanelData carries its outcome and regressors: give formula=, y= and x= only with a DataFrame "
                "(or build the PanelData with panel_arrays(..., y=, x=))."
            )
        if cluster is not None:
            raise EstimationError("cluster= names a DataFrame column: pass the DataFrame, not a PanelData.")
        _check_vce(vce, cluster, dk_lags, engine, bias_correction, None)
        w = prepare_weights(weights, row_standardize=row_standardize, logdet=logdet)
        panel, fe = _in_weights_order(data, w), fe or "twoways"
        id_col, time_col = id_col or "id", time_col or "time"
        return _fit_arrays(panel, w, model, fe, lee_yu, bias_correction, durbin, engine, vce, None, None,
                           dk_lags, id_col, time_col)
    if id_col is None or time_col is None:
        raise EstimationError("Give id_col= and time_col=: the DataFrame's unit and period columns.")
    _check_vce(vce, cluster, dk_lags, engine, bias_correction, data)
    spec = _variables(formula, y, x, id_col, time_col)
    w = prepare_weights(weights, row_standardize=row_standardize, logdet=logdet)
    if isinstance(spec, tuple):
        fe = fe or "twoways"
        panel = panel_arrays(data, id_col=id_col, time_col=time_col, y=spec[0], x=spec[1], ids=w.ids)
    else:
        panel, fe = panel_from_formula(data, spec, id_col=id_col, time_col=time_col, ids=w.ids, fe=fe)
    return _fit_arrays(panel, w, model, fe, lee_yu, bias_correction, durbin, engine, vce, cluster,
                       data if cluster is not None else None, dk_lags, id_col, time_col)


def _fit_arrays(panel: PanelData, w: PreparedWeights, model: Model, fe: FixedEffects, lee_yu: bool | None,
                bias_correction: bool, durbin: Literal["all"] | Sequence[str], engine: str, vce: VCE,
                cluster: str | None, data: pd.DataFrame | None, dk_lags: int | None, id_col: str,
                time_col: str) -> SpatialPanelResult:
    use_lee_yu = (fe == "twoways") if lee_yu is None else bool(lee_yu)
    if bias_correction:
        use_lee_yu = False
    durbin_idx = _durbin(durbin, list(panel.x_names), model)
    with blas_threads(w.n):
        raw = _fit(panel, w, model, fe, use_lee_yu, durbin_idx, bias_correction, engine)
    result = _result(raw, panel, w, engine, id_col, time_col)
    if vce == "oim":
        return result
    return result.with_vce(vce, cluster=cluster, data=data, dk_lags=dk_lags)


def _in_weights_order(panel: PanelData, w: PreparedWeights) -> PanelData:
    """``panel`` with its units in the weights' order (itself when they already are)."""
    ids = np.asarray(panel.ids)
    if len(ids) == w.n and np.array_equal(ids.astype(str), np.asarray(w.ids).astype(str)):
        return panel
    position = {str(u): k for k, u in enumerate(ids)}
    missing = [u for u in np.asarray(w.ids).astype(str) if u not in position]
    extra = sorted(set(position) - set(np.asarray(w.ids).astype(str)))
    if missing or extra or len(ids) != w.n:
        raise PanelShapeError(
            f"The PanelData's units do not match the weights' ids (in the weights only: {format_ids(missing)}; "
            f"in the panel only: {format_ids(extra)}); build it with panel_arrays(..., ids=prepare_weights(W).ids)."
        )
    order = np.array([position[str(u)] for u in np.asarray(w.ids)])
    return dataclasses.replace(panel, y=panel.y[:, order], x=panel.x[:, order, :], ids=ids[order])


def _check_vce(
    vce: str, cluster: str | None, dk_lags: int | None, engine: str, bias_correction: bool, data: pd.DataFrame | None
) -> None:
    if vce not in VCE_NAMES:
        raise EstimationError(f"vce must be one of {', '.join(VCE_NAMES)}, not {vce!r}.")
    if cluster is not None and vce != "cluster":
        raise EstimationError(f"cluster= applies to vce='cluster', not vce={vce!r}.")
    if dk_lags is not None and (vce != "dk" or isinstance(dk_lags, bool) or int(dk_lags) != dk_lags or dk_lags < 0):
        raise EstimationError(f"dk_lags= takes a whole number ≥ 0 with vce='dk' (got dk_lags={dk_lags!r}, vce={vce!r}).")
    if vce != "oim" and (engine == "spreg" or bias_correction):
        raise EstimationError(
            f"vce={vce!r} needs the scores at the estimates: use engine='native' without bias_correction "
            "(the Lee–Yu transformation is the default), or vce='oim'."
        )
    if cluster is not None and data is not None and cluster not in data.columns:
        raise MissingColumnError(
            f"The cluster column '{cluster}' is not in the panel; its columns are: {', '.join(map(str, data.columns))}."
        )


def _fit(panel, w, model, fe, use_lee_yu, durbin_idx, bias_correction, engine) -> RawFit:
    if engine == "spreg":
        from spillmap.models.panel._spreg import fit_with_spreg

        if fe != "unit" or use_lee_yu or bias_correction or model == "slx":
            raise EstimationError(
                "engine='spreg' supports unit fixed effects without Lee–Yu for SAR, SEM, SDM and SDEM "
                "(spreg demeans by unit only); use engine='native' for other settings."
            )
        return fit_with_spreg(panel, w, model=model, durbin_idx=durbin_idx)
    return fit_panel(
        panel, w, model=model, fe=fe, lee_yu=use_lee_yu, durbin_idx=durbin_idx,
        bias_correction=bias_correction,
    )


def _variables(formula: str | None, y: str | None, x: Sequence[str] | None, id_col: str, time_col: str):  # noqa: ANN202
    """The parsed formula (checked before any work), or ``(y, x)``."""
    if formula is not None:
        if y is not None or x is not None:
            raise EstimationError("Give either formula= or y= and x=, not both.")
        return parse_panel_formula(formula, id_col=id_col, time_col=time_col)
    if y is None or not x:
        raise EstimationError("Give formula='y ~ x1 + x2', or y= and x=.")
    return y, list(x)


def _durbin(durbin: str | Sequence[str], x_names: list[str], model: str) -> tuple[int, ...]:
    if model not in DURBIN_MODELS:
        return ()
    if isinstance(durbin, str):
        if durbin != "all":
            durbin = [durbin]
        else:
            return tuple(range(len(x_names)))
    unknown = [d for d in durbin if d not in x_names]
    if unknown:
        raise PanelShapeError(
            f"durbin names {format_ids(unknown)}, which are not regressors ({', '.join(x_names)})."
        )
    return tuple(x_names.index(d) for d in durbin)


def _result(raw: RawFit, panel: PanelData, w: PreparedWeights, engine: str, id_col: str, time_col: str) -> SpatialPanelResult:
    names = list(raw.names)
    y_within = raw.y_within.ravel()
    resid = raw.residuals.ravel()
    return SpatialPanelResult(
        model=raw.model,
        fe=raw.design.fe,
        lee_yu=raw.design.lee_yu,
        bias_corrected=raw.bias_corrected,
        engine=engine,
        y_name=panel.y_name,
        x_names=panel.x_names,
        durbin=tuple(panel.x_names[k] for k in raw.durbin_idx),
        params=pd.Series(raw.params, index=names, name="coef"),
        vcov=pd.DataFrame(raw.vcov, index=names, columns=names),
        loglik=float(raw.loglik),
        n_units=panel.n,
        n_periods=panel.t,
        n_obs=raw.design.n_obs,
        r2_within=float(1.0 - resid @ resid / (y_within @ y_within)),
        ids=panel.ids,
        periods=panel.periods,
        residual_array=raw.residuals,
        weights=w,
        id_col=id_col,
        time_col=time_col,
        score_inputs=raw.score_inputs,
    )

