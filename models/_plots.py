"""Figures for papers: event studies, placebo distributions (matplotlib, no pyplot state)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["plot_event_study", "plot_placebo", "plot_sweep", "save_figure", "label_synthetic", "SYNTHETIC_TITLE"]

_COLORS = ("#1f4e79", "#c0504d", "#4f8f3a", "#7f6084")
_LABELS = {"twfe": "TWFE", "did2s": "did2s (Gardner)", "saturated": "Sun & Abraham (saturated)", "sdm": "SDM-DID"}


def _figure(ax, size=(6.4, 4.0)):  # noqa: ANN001, ANN202
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.subplots()


def plot_event_study(results: Sequence, ax=None, title: str | None = None):  # noqa: ANN001, ANN201
    """Coefficients and 95 % intervals against event time; several estimators are offset side by side."""
    fig, ax = _figure(ax)
    width = 0.12 * (len(results) - 1)
    for k, res in enumerate(results):
        table = res.table
        x = np.asarray(table.index, dtype=float) + (k * 0.12 - width / 2 if len(results) > 1 else 0.0)
        color = _COLORS[k % len(_COLORS)]
        ax.errorbar(
            x, table["estimate"], yerr=[table["estimate"] - table["ci_low"], table["ci_high"] - table["estimate"]],
            fmt="o", color=color, capsize=3, markersize=4, label=_LABELS.get(res.estimator, res.estimator),
        )
    ax.axhline(0.0, color="0.4", linewidth=0.8)
    ref = results[0].ref
    ax.axvline(-0.5, color="0.6", linewidth=0.8, linestyle="--")  # treatment starts at event time 0
    # the reference period: 0 by construction, drawn as an open square and named in the legend and title
    ax.plot([ref], [0.0], marker="s", markersize=9, markerfacecolor="none", markeredgecolor="0.2", linestyle="none",
            label=f"reference period ({_minus(ref)}, 0 by construction)")
    ax.set_xlabel("years relative to treatment")
    ax.set_ylabel(f"effect on {results[0].y}")
    ax.legend(frameon=False)
    ax.set_title(title or f"Event study (95 % intervals, reference period = {_minus(ref)})")
    return fig


def _minus(k: int) -> str:
    """An event time with a typographic minus (−1)."""
    return f"−{-k}" if k < 0 else str(k)


def plot_placebo(result, ax=None):  # noqa: ANN001, ANN201
    """Histogram and kernel density of placebo coefficients and t-values against the real estimate."""
    from matplotlib.figure import Figure
    from scipy.stats import gaussian_kde

    if ax is None:
        fig = Figure(figsize=(9.6, 3.8), layout="constrained")
        axes = fig.subplots(1, 2)
    else:
        fig, axes = ax.figure, [ax]
    for axis, values, real, label in zip(
        axes,
        (result.estimates, result.t_values),
        (result.real_estimate, result.real_t),
        ("placebo coefficient", "placebo t-value"),
    ):
        finite = values[np.isfinite(values)]
        axis.hist(finite, bins=30, density=True, color="#9db7d5", edgecolor="white")
        if finite.std() > 0:
            grid = np.linspace(min(finite.min(), real), max(finite.max(), real), 200)
            axis.plot(grid, gaussian_kde(finite)(grid), color="#1f4e79")
        axis.axvline(real, color="#c0504d", linewidth=1.5, label="real estimate")
        axis.set_xlabel(label)
        axis.set_ylabel("density")
        axis.legend(frameon=False)
    axes[0].set_title(f"Placebo ({len(result.estimates)} draws, {result.mode}): p = {result.p_value:.3f}")
    return fig


def plot_sweep(result, ax=None, *, level: float = 0.95, title: str | None = None):  # noqa: ANN001, ANN201
    """Indirect effect of DID against distance: estimate, 90 %/95 % bands, zero line, crossover and its interval."""
    fig, ax = _figure(ax, size=(7.2, 4.2))
    table = result.table
    x = table["position_km"].to_numpy(float)
    est = table["indirect_estimate"].to_numpy(float)
    for lev, alpha in ((0.95, 0.18), (0.90, 0.30)):
        lo_col, hi_col = f"indirect_ci{round(lev * 100)}_low", f"indirect_ci{round(lev * 100)}_high"
        if lo_col in table:
            ax.fill_between(x, table[lo_col].to_numpy(float), table[hi_col].to_numpy(float), color="#1f4e79",
                            alpha=alpha, linewidth=0, label=f"{lev:.0%} interval")
    ax.plot(x, est, "-", color="#1f4e79")
    used = table["in_crossover"].to_numpy(bool) if "in_crossover" in table else np.ones(len(x), bool)
    ax.plot(x[used], est[used], "o", color="#1f4e79", markersize=4, label="indirect effect (spillover)")
    if (~used).any():
        ax.plot(x[~used], est[~used], "o", markerfacecolor="white", markeredgecolor="#1f4e79", markersize=5,
                label="band too sparse for the crossover")
    ax.axhline(0.0, color="0.3", linewidth=0.9)
    cross = result.crossover
    if np.isfinite(cross.radius_km):
        lo, hi = cross.intervals.get(level, (np.nan, np.nan))
        left = lo if np.isfinite(lo) else x.min()
        right = hi if np.isfinite(hi) else x.max()
        if np.isfinite(left) and np.isfinite(right):
            ax.axvspan(left, right, color="#c0504d", alpha=0.12, linewidth=0,
                       label=f"crossover {level:.0%} interval")
        ax.axvline(cross.radius_km, color="#c0504d", linewidth=1.5, linestyle="--",
                   label=f"crossover ≈ {cross.radius_km:.0f} km")
    elif cross.method != "interpolated" and np.isfinite(cross.intervals.get(level, (np.nan,))[0]):
        start = cross.intervals[level][0]  # no siphon shown: where one could begin (an open interval)
        ax.axvline(start, color="#c0504d", linewidth=1.2, linestyle=":",
                   label=f"no siphon shown; one could begin beyond {start:.0f} km ({level:.0%})")
    where = "ring midpoint" if result.mode == "ring" else "band radius"
    ax.set_xlabel(f"distance, km ({where})")
    ax.set_ylabel("indirect effect of DID")
    ax.legend(frameon=False, fontsize="small")
    ax.set_title(title or f"Spillover and siphon by distance\n({result.mode} bands, {result.weight} weights)",
                 fontsize="medium")
    return fig


#: Banner of every figure drawn from synthetic data.
SYNTHETIC_TITLE = "SYNTHETIC DATA — simulated outcome with known effects, not observed"


def label_synthetic(fig) -> None:  # noqa: ANN001 - matplotlib Figure
    """Put the SYNTHETIC banner on ``fig`` (as its suptitle) unless a title already says SYNTHETIC."""
    suptitle = fig._suptitle.get_text() if fig._suptitle is not None else ""
    if any("SYNTHETIC" in text for text in [suptitle, *(ax.get_title() for ax in fig.axes)]):
        return
    fig.suptitle(SYNTHETIC_TITLE, color="#9c2a00", fontweight="bold", fontsize="medium")


def save_figure(fig, path: str | os.PathLike[str], formats: Sequence[str] = ("png", "svg"), *,  # noqa: ANN001
                synthetic: bool = False) -> list[Path]:
    """Save ``fig`` as each format beside ``path`` (suffix replaced), atomically.

    ``synthetic=True`` puts the SYNTHETIC banner on the figure first (see :func:`label_synthetic`)
    and the same words into the file's metadata (PNG ``Description``, SVG/PDF ``Title``).

    The same figure gives the same bytes in every run: SVG ids come from a fixed
    salt instead of a random one and no creation date is stored (PNG and PDF
    carry none either).
    """
    import matplotlib

    from spillmap._files import atomic_path

    if synthetic:
        label_synthetic(fig)
    written = []
    for fmt in formats:
        target = Path(path).with_suffix(f".{fmt}")
        metadata = {"Date": None} if fmt in ("svg", "pdf") else {}
        if synthetic and fmt in ("png", "svg", "pdf"):  # also in the file's metadata (PNG: a tEXt chunk)
            metadata["Description" if fmt == "png" else "Title"] = SYNTHETIC_TITLE
        with atomic_path(target) as tmp, matplotlib.rc_context({"svg.hashsalt": "spillmap"}):
            fig.savefig(tmp, format=fmt, dpi=150, metadata=metadata)
        written.append(target)
    return written
