"""Lagrange multiplier tests for spatial lag and error dependence in fixed-effects panels.

Computed on the residuals of the within (least-squares) regression of y on X,
following Anselin, Le Gallo & Jayet (2008) and Elhorst (2014, §3.3): the
classic LM-lag and LM-error statistics and their robust versions, each
χ²(1). No NT×NT matrix is formed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special  # not scipy.stats: its import costs ~0.3 s on the fit path
from spillmap.models.panel._fe import FixedEffects, demean
from spillmap.models.panel._panel import panel_from_formula
from spillmap.models.panel._results import TestResult
from spillmap.models.panel._weights import prepare_weights

__all__ = ["panel_lm_tests"]


def panel_lm_tests(
    data: pd.DataFrame,
    formula: str,
    *,
    id_col: str,
    time_col: str,
    weights: object,
    fe: FixedEffects | None = None,
    row_standardize: bool = True,
) -> dict[str, TestResult]:
    """LM lag, LM error, robust LM lag and robust LM error tests (χ²(1) each).

    ``formula`` reads as in :func:`fit_spatial_panel` (transforms, ``C()``,
    interactions, ``| id + year``); ``fe`` None means the formula's ``|`` part,
    else ``"twoways"``. Returns a dict keyed ``"lm_lag"``, ``"lm_error"``,
    ``"robust_lm_lag"``, ``"robust_lm_error"``.
    """
    w = prepare_weights(weights, row_standardize=row_standardize)
    panel, fe = panel_from_formula(data, formula, id_col=id_col, time_col=time_col, ids=w.ids, fe=fe)
    return lm_statistics(panel.y, panel.x, w, fe)


def lm_statistics(y_raw: np.ndarray, x_raw: np.ndarray, w, fe: FixedEffects) -> dict[str, TestResult]:
    """The four statistics from raw (T, N) and (T, N, K) arrays."""
    t, n = y_raw.shape
    y = demean(y_raw, fe)
    x = demean(x_raw, fe).reshape(t * n, -1)
    xtx = x.T @ x
    beta = np.linalg.solve(xtx, x.T @ y.ravel())
    e = y.ravel() - x @ beta
    sigma2 = float(e @ e) / (n * t)
    wy = demean(w.lag(y), fe).ravel()
    we = demean(w.lag(e.reshape(t, n)), fe).ravel()
    wxb = demean(w.lag((x @ beta).reshape(t, n)), fe).ravel()
    m_wxb = wxb - x @ np.linalg.solve(xtx, x.T @ wxb)
    mat = w.matrix
    t_w = float((mat.multiply(mat)).sum() + (mat.multiply(mat.T)).sum())  # tr(W'W + WW)
    j = float(wxb @ m_wxb) / sigma2 + t * t_w
    lag = float(e @ wy) / sigma2
    err = float(e @ we) / sigma2
    values = {
        "lm_lag": lag**2 / j,
        "lm_error": err**2 / (t * t_w),
        "robust_lm_lag": (lag - err) ** 2 / (j - t * t_w),
        "robust_lm_error": (err - t * t_w / j * lag) ** 2 / (t * t_w * (1.0 - t * t_w / j)),
    }
    labels = {
        "lm_lag": "LM lag",
        "lm_error": "LM error",
        "robust_lm_lag": "Robust LM lag",
        "robust_lm_error": "Robust LM error",
    }
    return {k: TestResult(labels[k], v, 1, float(special.chdtrc(1, v))) for k, v in values.items()}
