"""Moderation of an effect by a moderator variable.

:func:`moderation` fits y ~ focal + moderator + focal × moderator (two-way
fixed effects) and reports the interaction and the focal variable's marginal
effects at the moderator's mean − 1 sd, mean and mean + 1 sd (delta method).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from spillmap.errors import PanelShapeError
from spillmap.models.did._regress import LEVEL, _check_controls, _fit, _prepare, _TableExport

__all__ = ["moderation", "ModerationResult"]


MarginAt = Literal["mean-1sd", "mean", "mean+1sd"]
_AT: tuple[MarginAt, ...] = ("mean-1sd", "mean", "mean+1sd")


@dataclass(frozen=True, eq=False)
class ModerationResult(_TableExport):
    """Interaction (moderation) model with marginal effects of the focal variable.

    Attributes
    ----------
    coefficients
        Tidy table (t with G − 1 df, as pyfixest) of the focal variable, the
        moderator, their product (term ``"<moderator>:<by>"`` or
        ``"<treatment>:<moderator>"``) and the controls. With ``centered``, the
        main effects are effects at the other variable's sample mean.
    marginal
        One row per point ``at`` (``mean-1sd``, ``mean``, ``mean+1sd``) with
        the moderator ``value`` (original units) and the focal variable's
        marginal effect, delta-method clustered ``se``, ``t``, ``p_value``,
        ``ci_low``, ``ci_high``.
    """

    outcome: str
    focal: str
    moderator: str
    focal_is_treatment: bool
    centered: bool
    moderator_mean: float
    moderator_sd: float
    coefficients: pd.DataFrame
    marginal: pd.DataFrame
    vcov: pd.DataFrame
    n_obs: int
    n_clusters: int

    @property
    def interaction_term(self) -> str:
        """Label of the product term in ``coefficients``."""
        if self.focal_is_treatment:
            return f"{self.focal}:{self.moderator}"
        return f"{self.moderator}:{self.focal}"

    @property
    def interaction(self) -> float:
        """Coefficient of the product term."""
        row = self.coefficients["term"] == self.interaction_term
        return float(self.coefficients.loc[row, "estimate"].iloc[0])

    def to_frame(self) -> pd.DataFrame:
        """Coefficients, then marginal effects as terms ``d(<focal>)@<moderator>=<at>``."""
        me = self.marginal.assign(term=[f"d({self.focal})@{self.moderator}={a}" for a in self.marginal["at"]])
        cols = ["term", "estimate", "se", "t", "p_value", "ci_low", "ci_high"]
        return pd.concat([self.coefficients[cols], me[cols]], ignore_index=True)


def moderation(
    data: pd.DataFrame,
    y: str,
    moderator: str,
    *,
    by: str | None = None,
    treatment: str | None = None,
    controls: Sequence[str] = (),
    id_col: str,
    time_col: str,
    cluster: str | None = None,
    center: bool = True,
) -> ModerationResult:
    """Moderation (interaction) model with marginal effects of the focal variable.

    Fits ``y ~ by + moderator + moderator:by + controls | unit + period``
    (e.g. virtual agglomeration ``by`` moderated by factor misallocation), or,
    when ``treatment`` is given instead of ``by``, ``y ~ treatment + moderator
    + treatment:moderator + controls``. Reports the interaction and the focal
    variable's marginal effect ∂y/∂focal = β_focal + β_int·(m − shift) at the
    moderator's mean − 1 sd, mean and mean + 1 sd (sample mean and sd, ddof=1,
    over the estimation rows), with delta-method clustered SEs.

    With ``center=True`` the moderator and a continuous ``by`` are
    mean-centred before forming the product (a 0/1 treatment is never
    centred), so the main effects are effects at the other variable's mean;
    the interaction and the marginal effects are the same either way.

    Parameters
    ----------
    data
        Long panel, one row per unit and period (need not be balanced).
    y
        Outcome column.
    moderator
        Moderating variable column.
    by
        Continuous focal variable; give exactly one of ``by`` and ``treatment``.
    treatment
        0/1 treatment column as the focal variable.
    controls
        Time-varying control columns.
    id_col, time_col
        Unit and period columns (the two fixed effects).
    cluster
        Column to cluster standard errors by; ``None`` clusters by ``id_col``.
    center
        Mean-centre the interacted variables before forming the product.

    Returns
    -------
    ModerationResult

    Raises
    ------
    MissingColumnError
        A named column is absent.
    PanelShapeError
        Neither or both of ``by`` and ``treatment``; bad values, repeated
        (unit, period) rows, or a constant moderator.
    CollinearityError
        A regressor is absorbed by the fixed effects.
    EstimationError
        pyfixest cannot fit the model.
    """
    if (by is None) == (treatment is None):
        raise PanelShapeError(
            "Give exactly one focal variable: by='<continuous column>' or treatment='<0/1 column>' "
            f"(got by={by!r}, treatment={treatment!r})."
        )
    if not isinstance(center, (bool, np.bool_)):
        raise PanelShapeError(f"center must be True or False, not {center!r}.")
    focal = by if by is not None else treatment
    assert focal is not None
    controls = _check_controls(controls)
    work = _prepare(
        data, id_col=id_col, time_col=time_col, cluster=cluster,
        numeric=[y, focal, moderator, *controls], binary=[treatment] if treatment is not None else [],
    )
    frame, nm = work.frame.copy(), work.names
    m = frame[nm[moderator]].to_numpy()
    f = frame[nm[focal]].to_numpy()
    m_mean, m_sd = float(m.mean()), float(m.std(ddof=1))
    if not m_sd > 0:
        raise PanelShapeError(f"Moderator '{moderator}' is constant ({m_mean:g}); it cannot moderate anything.")
    m_shift = m_mean if center else 0.0
    f_shift = float(f.mean()) if (center and treatment is None) else 0.0
    frame[nm[moderator]] = m - m_shift
    frame[nm[focal]] = f - f_shift
    frame["mf"] = (m - m_shift) * (f - f_shift)
    rhs = [nm[focal], nm[moderator], "mf", *(nm[c] for c in controls)]
    fit = _fit(work, frame, nm[y], rhs, "The moderation model")
    inter = f"{treatment}:{moderator}" if treatment is not None else f"{moderator}:{by}"
    labels = [focal, moderator, inter, *controls]
    coefficients = fit.tidy.assign(term=labels).rename(columns={"stat": "t"})
    q = stats.t.ppf(0.5 + LEVEL / 2, fit.df_t)
    rows = []
    for at, value in zip(_AT, (m_mean - m_sd, m_mean, m_mean + m_sd)):
        grad = np.zeros(len(rhs))
        grad[0], grad[2] = 1.0, value - m_shift
        est = float(grad @ fit.beta)
        se = float(math.sqrt(grad @ fit.vcov @ grad))
        t = est / se
        rows.append({
            "at": at, "value": value, "estimate": est, "se": se, "t": t,
            "p_value": float(2 * stats.t.sf(abs(t), fit.df_t)),
            "ci_low": est - q * se, "ci_high": est + q * se,
        })
    return ModerationResult(
        outcome=y, focal=focal, moderator=moderator, focal_is_treatment=treatment is not None,
        centered=bool(center), moderator_mean=m_mean, moderator_sd=m_sd,
        coefficients=coefficients, marginal=pd.DataFrame(rows),
        vcov=pd.DataFrame(fit.vcov, index=labels, columns=labels),
        n_obs=fit.n_obs, n_clusters=fit.n_clusters,
    )
