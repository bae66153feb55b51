"""Fixed effects: within transformations and the Lee–Yu (2010) effective sample.

Lee & Yu's transformation approach multiplies the panel by orthonormal
matrices that remove the unit effects (T periods → T−1) and, for a
row-normalised W, the time effects (N units → N−1). Because the
transformations are orthonormal, sums of squares of transformed data equal
those of the demeaned data, so estimation works on demeaned arrays and only
the sample size, the weight of the log-determinant and (with time effects)
a −log(1−ρ) term change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["FixedEffects", "Design", "demean", "design_for"]

FixedEffects = Literal["unit", "time", "twoways"]


@dataclass(frozen=True)
class Design:
    """Sample-size bookkeeping of one fixed-effects setting.

    Attributes
    ----------
    fe
        ``"unit"``, ``"time"`` or ``"twoways"``.
    lee_yu
        Whether the Lee–Yu transformation approach is used.
    n_obs
        Effective observations: NT, or N(T−1), (N−1)T, (N−1)(T−1) under Lee–Yu.
    t_weight
        Periods weighting log|I − ρW| in the likelihood (T, or T−1 under
        Lee–Yu with unit effects).
    time_removed
        1 when Lee–Yu removes time effects (log|I − ρW| − log(1 − ρ)), else 0.
    """

    fe: FixedEffects
    lee_yu: bool
    n_obs: int
    t_weight: int
    time_removed: int


def design_for(fe: FixedEffects, lee_yu: bool, n: int, t: int) -> Design:
    """The :class:`Design` of ``fe`` (with or without Lee–Yu) for an N×T panel."""
    unit = fe in ("unit", "twoways")
    time = fe in ("time", "twoways")
    if not lee_yu:
        return Design(fe, False, n * t, t, 0)
    t_eff = t - 1 if unit else t
    n_eff = n - 1 if time else n
    return Design(fe, True, n_eff * t_eff, t_eff, int(time))


def demean(values: np.ndarray, fe: FixedEffects) -> np.ndarray:
    """Remove unit and/or period means from a (T, N) or (T, N, K) array."""
    out = np.asarray(values, dtype=float)
    if fe in ("unit", "twoways"):
        out = out - out.mean(axis=0, keepdims=True)
    if fe in ("time", "twoways"):
        out = out - out.mean(axis=1, keepdims=True)
    return out
