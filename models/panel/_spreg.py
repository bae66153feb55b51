"""spreg as a reference engine: unit fixed effects, SAR/SDM via Panel_FE_Lag, SEM/SDEM via Panel_FE_Error.

spreg demeans by unit only and searches ρ in (−1, 1); Durbin terms are
passed as extra regressors W·x. Its variance matrix is used as reported.
"""

from __future__ import annotations

import warnings

import numpy as np

from spillmap.models.panel._fe import design_for
from spillmap.models.panel._ml import RawFit, _concentrated, _regressors
from spillmap.models.panel._panel import PanelData
from spillmap.models.panel._weights import PreparedWeights

__all__ = ["fit_with_spreg"]

#: spreg's tolerance on ρ (its default 1e-7 is too loose for 1e-6 agreement).
SPREG_EPSILON = 1e-12


def fit_with_spreg(panel: PanelData, w: PreparedWeights, *, model: str, durbin_idx: tuple[int, ...]) -> RawFit:
    """Fit with spreg (unit FE, no Lee–Yu); returns the same RawFit as the native engine."""
    import spreg
    from libpysal.graph import Graph

    z, names = _regressors(panel, w, model, durbin_idx)
    t, n = panel.t, panel.n
    y_stack = panel.y.reshape(t * n, 1)  # spreg stacks periods: all units of period 1, then 2, ...
    x_stack = z.reshape(t * n, -1)
    legacy = Graph.from_sparse(w.matrix, ids=np.arange(n)).to_W()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if model in ("sar", "sdm"):
            reg = spreg.Panel_FE_Lag(y_stack, x_stack, legacy, epsilon=SPREG_EPSILON, vm=True)
            spatial = "rho"
        else:
            reg = spreg.Panel_FE_Error(y_stack, x_stack, legacy, epsilon=SPREG_EPSILON, vm=True)
            spatial = "lambda"
    k = x_stack.shape[1]
    betas = np.asarray(reg.betas).ravel()
    sigma2 = float(np.asarray(reg.sig2).ravel()[0])
    if model in ("sar", "sdm"):
        spatial_value = float(betas[k])
        vcov = np.asarray(reg.vm1)
    else:
        spatial_value = float(np.asarray(reg.lam).ravel()[0])
        vcov = np.zeros((k + 2, k + 2))
        vcov[:k, :k] = np.asarray(reg.vm)[:k, :k]
        vcov[k:, k:] = np.asarray(reg.vm1)
    params = np.concatenate([betas[:k], [spatial_value, sigma2]])
    design = design_for("unit", False, n, t)
    # spreg's logll takes log(e'e) for log(σ²); report the log-likelihood at its estimates instead
    loglik = _concentrated(design, w)(spatial_value, sigma2 * design.n_obs)
    resid = np.asarray(reg.u).reshape(t, n)
    y_within = np.asarray(reg.y).reshape(t, n)
    return RawFit(
        model=model, design=design, names=(*names, spatial, "sigma2"),
        params=params, vcov=vcov, loglik=loglik,
        residuals=resid, fitted=y_within - resid, y_within=y_within, n_x=len(panel.x_names),
        durbin_idx=durbin_idx,
    )
