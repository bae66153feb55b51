"""Where a spillover curve turns into a siphon: the crossover radius and its interval.

The curve is the indirect (spillover) effect of the policy against distance,
one value per distance band (or per kernel knot). The crossover is the first
place where it goes from positive to non-positive.

* **Band edges** (``edges_km`` given; distance rings): bands only say that the
  sign changed between band k (positive) and band k + 1 (not positive). The
  radius is the edge between them, and no statement is narrower than those
  two bands: the boundary may lie anywhere in either (a band's estimate
  averages over its width). Each interval runs from the inner edge of the
  last positive band to the outer edge of the first non-positive band, over
  the draws' crossings at that level — sampling uncertainty and resolution
  together.
  A crossover is *shown* only with evidence of a siphon: a run of up to
  :data:`SCAN_BANDS` adjacent bands whose mean effect is significantly
  negative under a one-sided simultaneous (sup-t) 95 % bound over *all* such
  runs — so that among bands of zero effect a false siphon appears in at most
  5 % of samples, however many bands there are — with a positive estimate in
  some band before the run. Runs add power where single bands are noisy
  (a siphon spread over two or three bands). The edge is the one after the
  last positive band before the run's lowest band (so a noisy negative band
  ahead of the siphon does not move the radius inwards). Otherwise the kind is
  ``"not_shown"`` and the statement says so.
* **Interpolated** (no ``edges_km``; kernel knots, or discs): the crossing is
  linearly interpolated between the two positions, as for a curve that is
  piecewise linear in distance.

A draw that never turns negative crosses *beyond* the last band (+∞), one
that is never positive has no spillover zone (−∞); percentiles are taken
without interpolation so such bounds stay open.

Without a shown siphon the interval is still a confidence statement, open to
the right: [X, +∞), "a siphon, if there is one, begins beyond X km". X is the
inner edge (kernel: the knot) of the farthest band whose effect is
significantly *positive* under a one-sided simultaneous (sup-t) bound over
all bands at that level, −∞ when none is. With one crossing (positive up to
the radius, not positive beyond), a band with a positive mean has part of its
width inside the radius, so X ≤ radius unless a non-positive band is flagged,
which the simultaneous bound keeps to 1 − level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Crossover", "crossover", "first_crossing", "crossing_index"]


def crossing_index(values: np.ndarray) -> np.ndarray:
    """Index k of the first positive band followed by a non-positive one, per row of ``values``.

    Rows are draws (a 1-D input is one row); NaN bands are skipped. Returns a float array: k,
    +inf for a row positive with no later non-positive band, −inf for a row never positive,
    NaN for a row with no finite value.
    """
    v = np.atleast_2d(np.asarray(values, dtype=float))
    out = np.full(v.shape[0], np.nan)
    for r, row in enumerate(v):
        finite = np.flatnonzero(np.isfinite(row))
        if not len(finite):
            continue
        pos = row[finite] > 0
        change = np.flatnonzero(pos[:-1] & ~pos[1:])
        out[r] = finite[change[0]] if len(change) else (np.inf if pos.any() else -np.inf)
    return out


def first_crossing(x: np.ndarray, values: np.ndarray) -> np.ndarray:
    """First positive → non-positive crossing of each row of ``values`` over positions ``x`` (km).

    ``values`` is (bands,) or (draws, bands); NaN bands are skipped row by row.
    Returns one value per row (a 1-D input is one row): +inf for a row that has a positive value but no later
    non-positive one, −inf for a row that is never positive, NaN for a row
    with fewer than one finite value.
    """
    x = np.asarray(x, dtype=float)
    v = np.atleast_2d(np.asarray(values, dtype=float))
    out = np.full(v.shape[0], np.nan)
    for r, row in enumerate(v):
        ok = np.isfinite(row)
        if not ok.any():
            continue
        xs, vs = x[ok], row[ok]
        pos = vs > 0
        change = np.flatnonzero(pos[:-1] & ~pos[1:])
        if len(change):
            k = change[0]
            out[r] = xs[k] + (xs[k + 1] - xs[k]) * vs[k] / (vs[k] - vs[k + 1])
        else:
            out[r] = np.inf if pos.any() else -np.inf
    return out


@dataclass(frozen=True)
class Crossover:
    """The radius (km) where the spillover of the policy turns into a siphon.

    Attributes
    ----------
    radius_km
        Interpolated crossover of the estimated curve; +inf when the curve
        stays positive, −inf when it is never positive (see ``kind``).
    kind
        ``"crossing"``, ``"positive_throughout"``, ``"never_positive"`` or (band edges)
        ``"not_shown"``: the signs change, but no significantly positive band is followed by a
        significantly negative one under a simultaneous one-sided 95 % bound.
    intervals
        Level → (low, high) in km, percentiles of the draws' crossovers;
        ±inf bounds are open (the crossing may lie beyond the last band or
        before the first). Without a shown crossing: (X, +inf), where a siphon
        may begin (module docstring).
    share_crossing
        Share of draws whose curve crosses inside the swept range.
    first_negative_band
        Level → label of the first band whose interval lies wholly below zero
        (a significantly negative, siphon band), or ``None``.
    range_km
        (first, last) band positions swept (band edges: first inner and last outer edge).
    method
        ``"band edges"``, ``"interpolated"`` or ``"kernel"`` (interpolated between kernel knots, shown
        only with evidence of a siphon; see the module docstring).
    bracket_km
        Band edges only: (inner edge of the last positive band, outer edge of the first
        non-positive band) of the estimated curve — what the bands resolve.
    resolution_km
        Band edges only: the band width (km).
    """

    radius_km: float
    kind: str
    intervals: dict[float, tuple[float, float]]
    share_crossing: float
    first_negative_band: dict[float, str | None]
    range_km: tuple[float, float]
    draws: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0))
    method: str = "interpolated"
    bracket_km: tuple[float, float] | None = None
    resolution_km: float | None = None

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        return self.intervals[level]

    @property
    def statement(self) -> str:
        """One sentence for people: the radius and its interval, or why there is none."""
        lo, hi = self.range_km
        if self.kind == "not_shown":
            text = (f"No crossover shown between {lo:g} and {hi:g} km: no band after a positive one has a "
                    "significantly negative effect (simultaneous one-sided 95 % bound over the searched bands).")
        elif self.kind == "positive_throughout":
            text = (f"No crossover between {lo:g} and {hi:g} km: the indirect (spillover) effect stays "
                    f"positive in every band.")
        elif self.kind == "never_positive":
            text = (f"No crossover between {lo:g} and {hi:g} km: the indirect effect is not positive in any "
                    f"band, so there is no spillover zone to turn into a siphon.")
        if self.kind != "crossing":
            text += self._open_sentence()
        elif self.method == "band edges" and self.bracket_km is not None:
            parts = [f"{level:.0%} interval {_fmt_interval(self.intervals[level], self.range_km)}"
                     for level in sorted(self.intervals, reverse=True)]
            a, b = self.bracket_km
            text = (f"The indirect (spillover) effect turns negative (siphon) at the band edge of {self.radius_km:g} km: "
                    f"between {a:g} and {b:g} km, as far as {self.resolution_km:g} km bands resolve it ("
                    + "; ".join(parts) + f"; {self.share_crossing:.0%} of draws cross within {lo:g}–{hi:g} km). "
                    "Finer bands are needed to say more.")
        else:
            parts = [f"{level:.0%} interval {_fmt_interval(self.intervals[level], self.range_km)}"
                     for level in sorted(self.intervals, reverse=True)]
            text = (f"The indirect (spillover) effect turns negative (siphon) at about {self.radius_km:.0f} km ("
                    + "; ".join(parts) + f"; {self.share_crossing:.0%} of draws cross within {lo:g}–{hi:g} km).")
            if self.method == "kernel":
                text += (" Located by a kernel of distance (piecewise linear between knots at the band midpoints); "
                         "its interval does not include the error of that shape.")
        level = max(self.first_negative_band) if self.first_negative_band else None
        if level is not None:
            band = self.first_negative_band[level]
            text += (f" First band with a significantly negative effect ({level:.0%}): {band} km."
                     if band else f" No band has a significantly negative effect at {level:.0%}.")
        return text

    def _open_sentence(self) -> str:
        """Where a siphon could begin when none is shown (band edges and kernel only)."""
        if self.method == "interpolated" or not self.intervals:
            return ""
        level = max(self.intervals)
        start = self.intervals[level][0]
        if np.isfinite(start):
            return (f" A siphon, if there is one, begins beyond {start:g} km ({level:.0%} interval "
                    f"{start:g} km – open; the spillover is significantly positive up to there).")
        return (f" No band is significantly positive ({level:.0%}, simultaneous), so the bands do not bound "
                "where a siphon could begin.")

    def to_dict(self) -> dict[str, object]:
        return {
            "radius_km": _json_km(self.radius_km),
            "kind": self.kind,
            "intervals": {f"{level:g}": [_json_km(a), _json_km(b)] for level, (a, b) in self.intervals.items()},
            "share_crossing": self.share_crossing,
            "first_negative_band": {f"{level:g}": band for level, band in self.first_negative_band.items()},
            "range_km": list(self.range_km),
            "method": self.method,
            "bracket_km": None if self.bracket_km is None else [_json_km(v) for v in self.bracket_km],
            "resolution_km": self.resolution_km,
            "statement": self.statement,
        }


def crossover(
    x_km: Sequence[float],
    estimates: Sequence[float],
    draws: np.ndarray,
    *,
    labels: Sequence[str] | None = None,
    intervals: dict[float, tuple[np.ndarray, np.ndarray]] | None = None,
    levels: Sequence[float] = (0.90, 0.95),
    edges_km: Sequence[tuple[float, float]] | None = None,
    evidence: bool = False,
) -> Crossover:
    """Crossover radius of a curve of estimates over band positions ``x_km``, with intervals.

    Parameters
    ----------
    x_km
        Position of each band in kilometres (ring midpoints, or outer edges
        for cumulative bands), increasing.
    estimates
        Indirect effect per band (NaN for a band that could not be fitted).
    draws
        (draws, bands) simulated values of the curve.
    labels
        Band labels for the "first significantly negative band".
    intervals
        Level → (low, high) per band; percentiles of ``draws`` when omitted.
    levels
        Interval levels, e.g. 0.90 and 0.95.
    edges_km
        (inner, outer) km of each band, adjacent rings: the crossover is then located
        by band edges with intervals that include the bands' resolution (module docstring).
    evidence
        Interpolated curves (kernel knots): show a crossover only with evidence of a siphon, as for band
        edges, and interpolate between the last positive knot before it and the next.
    """
    x = np.asarray(x_km, dtype=float)
    est = np.asarray(estimates, dtype=float)
    d = np.asarray(draws, dtype=float)
    if d.ndim != 2 or d.shape[1] != len(x) or len(est) != len(x):
        raise ValueError("draws must be (draws, bands) and estimates one value per band.")
    if np.any(np.diff(x) <= 0):
        raise ValueError("Band positions must increase.")
    labels = list(labels) if labels is not None else [f"{v:g}" for v in x]
    if edges_km is not None:
        return _by_edges(np.asarray(edges_km, dtype=float), est, d, labels, intervals, levels)
    if evidence:
        return _interpolated_with_evidence(x, est, d, labels, intervals, levels)
    radius = float(first_crossing(x, est[None, :])[0])
    kind = "crossing" if np.isfinite(radius) else ("positive_throughout" if radius > 0 else "never_positive")
    per_draw = first_crossing(x, d)
    per_draw = per_draw[~np.isnan(per_draw)]
    share = float(np.mean(np.isfinite(per_draw))) if len(per_draw) else 0.0
    return Crossover(
        radius_km=radius, kind=kind, intervals=_quantile_bounds(per_draw, levels), share_crossing=share,
        first_negative_band={lev: _first_negative(d, labels, intervals, lev, len(x)) for lev in levels},
        range_km=(float(x[0]), float(x[-1])), draws=per_draw,
    )


def _tail(level: float) -> float:
    return round((1 - level) / 2, 12)  # 0.025, not 0.025000000000000022: inverted_cdf is exact


def _quantile_bounds(values: np.ndarray, levels: Sequence[float]) -> dict[float, tuple[float, float]]:
    """Level → (low, high) percentiles of ``values`` without interpolation (NaN without values)."""
    bounds = {}
    for level in levels:
        lo, hi = (np.quantile(values, [_tail(level), 1 - _tail(level)], method="inverted_cdf") if len(values)
                  else (np.nan, np.nan))
        bounds[level] = (float(lo), float(hi))
    return bounds


def _no_crossing(est: np.ndarray) -> tuple[str, float]:
    """Kind of a curve without a shown siphon, and its open bound: +inf, −inf, or NaN (not shown)."""
    k = float(crossing_index(est)[0])
    kind = "not_shown" if np.isfinite(k) else ("positive_throughout" if k > 0 else "never_positive")
    return kind, {"positive_throughout": np.inf, "never_positive": -np.inf}.get(kind, np.nan)


def _first_negative(d: np.ndarray, labels: list[str], intervals, level: float, n_bands: int) -> str | None:  # noqa: ANN001
    """Label of the first band whose upper ``level`` bound lies below zero, or None."""
    tail = _tail(level)
    if intervals is not None and level in intervals:
        upper = np.asarray(intervals[level][1], dtype=float)
    else:
        with np.errstate(all="ignore"):
            upper = np.nanquantile(d, 1 - tail, axis=0) if len(d) else np.full(n_bands, np.nan)
    below = np.flatnonzero(upper < 0)
    return labels[below[0]] if len(below) else None


#: Level of the simultaneous one-sided bound that shows a siphon.
SHOWN_LEVEL = 0.95
#: Longest run of adjacent bands whose mean may show the siphon.
SCAN_BANDS = 4


def _first_shown_siphon(est: np.ndarray, d: np.ndarray) -> int | None:
    """The lowest band of the first run (≤ SCAN_BANDS adjacent bands) whose mean is significantly negative
    under a one-sided sup-t bound over all runs, with a positive estimate before that band; None without."""
    ok = np.isfinite(est)
    if len(d) < 2 or not ok.any():
        return None
    idx = np.flatnonzero(ok)
    runs = [(a, b) for a in range(len(idx)) for b in range(a + 1, min(a + SCAN_BANDS, len(idx)) + 1)]
    start = np.array([idx[a] for a, _ in runs])
    stop = np.array([idx[b - 1] for _, b in runs])
    mix = np.zeros((len(idx), len(runs)))
    for r, (a, b) in enumerate(runs):
        mix[a:b, r] = 1.0 / (b - a)
    point = est[idx] @ mix
    draws = d[:, idx] @ mix
    with np.errstate(all="ignore"):
        se = np.std(draws, axis=0, ddof=1)
        usable = se > 0
        if not usable.any():
            return None
        crit = float(np.quantile(np.max((point[usable] - draws[:, usable]) / se[usable], axis=1), SHOWN_LEVEL))
    shown = usable & (point + crit * np.where(usable, se, np.inf) < 0)
    for r in sorted(np.flatnonzero(shown), key=lambda r: (start[r], stop[r])):
        inside = [k for k in range(start[r], stop[r] + 1) if np.isfinite(est[k]) and est[k] < 0]
        if not inside:
            continue
        lowest = min(inside, key=lambda k: est[k])
        if np.any(est[:lowest] > 0):
            return int(lowest)
    return None


def _positive_reach(est: np.ndarray, d: np.ndarray, level: float) -> int | None:
    """Index of the farthest band significantly positive under a one-sided sup-t ``level`` bound over all
    bands (a band whose draws do not vary counts when its estimate is positive); None when no band is."""
    ok = np.flatnonzero(np.isfinite(est))
    if not len(ok) or len(d) < 2:
        return None
    point, draws = est[ok], d[:, ok]
    with np.errstate(all="ignore"):
        se = np.std(draws, axis=0, ddof=1)
        varies = se > 0
        crit = (float(np.quantile(np.max((draws[:, varies] - point[varies]) / se[varies], axis=1), level))
                if varies.any() else 0.0)
    positive = np.where(varies, point - crit * np.where(varies, se, 1.0) > 0, point > 0)
    return int(ok[np.flatnonzero(positive)[-1]]) if positive.any() else None


def _open_bounds(est: np.ndarray, d: np.ndarray, starts: np.ndarray,
                 levels: Sequence[float]) -> dict[float, tuple[float, float]]:
    """Level → (X, +inf) without a shown siphon: X = ``starts`` of the farthest significantly positive band."""
    bounds = {}
    for level in levels:
        k = _positive_reach(est, d, level)
        bounds[level] = (float(starts[k]) if k is not None else -np.inf, np.inf)
    return bounds


def _last_positive_before(d: np.ndarray, stop: int) -> np.ndarray:
    """Per draw: index of the last positive band before ``stop`` (−inf when none)."""
    out = np.full(len(d), -np.inf)
    for r, row in enumerate(d):
        positive = np.flatnonzero(row[:stop] > 0)
        if len(positive):
            out[r] = positive[-1]
    return out


def _by_edges(edges: np.ndarray, est: np.ndarray, d: np.ndarray, labels: list[str], intervals,  # noqa: ANN001
              levels: Sequence[float]) -> Crossover:
    """Crossover located by band edges, intervals widened to what the bands resolve."""
    if edges.shape != (len(est), 2) or np.any(edges[1:, 0] < edges[:-1, 1] - 1e-9):
        raise ValueError("edges_km must be one (inner, outer) pair per band, bands in order without overlap.")
    inner, outer = edges[:, 0], edges[:, 1]
    n = len(est)
    first = {lev: _first_negative(d, labels, intervals, lev, n) for lev in levels}
    common = dict(first_negative_band=first, range_km=(float(inner[0]), float(outer[-1])), method="band edges",
                  resolution_km=float(np.max(outer - inner)))
    siphon = _first_shown_siphon(est, d)  # needs >= 2 draws, so every draw below has a crossing index
    if siphon is None:
        kind, bound = _no_crossing(est)
        sign_changes = crossing_index(d)
        sign_changes = sign_changes[~np.isnan(sign_changes)]
        return Crossover(radius_km=bound, kind=kind, intervals=_open_bounds(est, d, inner, levels),
                         share_crossing=float(np.mean(np.isfinite(sign_changes))) if len(sign_changes) else 0.0,
                         **common)

    def low(k: float) -> float:  # inner edge of the last positive band (−inf: no positive band)
        return float(inner[int(k)]) if np.isfinite(k) else float(k)

    def high(k: float) -> float:  # outer edge of the first non-positive band
        return float(outer[min(int(k) + 1, n - 1)]) if np.isfinite(k) else float(k)

    k_hat = float(np.flatnonzero(est[:siphon] > 0)[-1])  # the last positive band before the siphon
    per_draw = _last_positive_before(d, siphon)
    bounds = {}
    for level in levels:  # never narrower than the estimate's own bracket
        k_lo, k_hi = np.quantile(per_draw, [_tail(level), 1 - _tail(level)], method="inverted_cdf")
        bounds[level] = (min(low(k_lo), low(k_hat)), max(high(k_hi), high(k_hat)))
    crossing = np.isfinite(per_draw)
    edge_of_draw = np.full(len(per_draw), -np.inf)
    edge_of_draw[crossing] = outer[per_draw[crossing].astype(int)]
    return Crossover(radius_km=float(outer[int(k_hat)]), kind="crossing", intervals=bounds,
                     share_crossing=float(np.mean(crossing)), draws=edge_of_draw,
                     bracket_km=(low(k_hat), high(k_hat)), **common)


def _interpolated_with_evidence(x: np.ndarray, est: np.ndarray, d: np.ndarray, labels: list[str], intervals,  # noqa: ANN001
                                levels: Sequence[float]) -> Crossover:
    """Kernel curves: crossing interpolated between knots, shown only with evidence of a siphon."""
    first = {lev: _first_negative(d, labels, intervals, lev, len(x)) for lev in levels}
    common = dict(first_negative_band=first, range_km=(float(x[0]), float(x[-1])), method="kernel")
    siphon = _first_shown_siphon(est, d)
    if siphon is None:
        kind, bound = _no_crossing(est)
        return Crossover(radius_km=bound, kind=kind, intervals=_open_bounds(est, d, x, levels),
                         share_crossing=0.0, **common)

    def cross(values: np.ndarray) -> np.ndarray:
        """Interpolated zero between each row's last positive knot before the siphon and the next knot."""
        k = _last_positive_before(values, siphon)
        out = np.full(len(values), -np.inf)
        for r in np.flatnonzero(np.isfinite(k)):
            j = int(k[r])
            a, b = values[r, j], values[r, j + 1]
            out[r] = x[j] + (x[j + 1] - x[j]) * a / (a - b)
        return out

    per_draw = cross(d)
    return Crossover(radius_km=float(cross(est[None, :])[0]), kind="crossing",
                     intervals=_quantile_bounds(per_draw, levels),
                     share_crossing=float(np.mean(np.isfinite(per_draw))), draws=per_draw, **common)


def _json_km(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _fmt_interval(bounds: tuple[float, float], range_km: tuple[float, float]) -> str:
    lo, hi = bounds
    left = f"{lo:.0f}" if np.isfinite(lo) else f"before {range_km[0]:g}"
    right = f"{hi:.0f} km" if np.isfinite(hi) else f"beyond {range_km[1]:g} km"
    return f"{left}–{right}"
