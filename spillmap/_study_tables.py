"""The study's tables in publication form, built from its results (see :mod:`spillmap._paper`).

One builder per table the study prints: baseline DID, event study, robustness (TWFE, did2s,
Sun–Abraham, Callaway–Sant'Anna, PSM-DID), heterogeneity, mechanism (mediation), moderation,
SDM-DID by weights matrix and distance bands. Each takes result objects and returns a
:class:`~spillmap._paper.PaperTable`; ``write_paper_tables`` writes a list of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from spillmap._paper import PAPER_FORMATS, Column, PaperTable, column
from spillmap._pubtable import DID_LABEL

__all__ = [
    "baseline_table", "event_study_table", "robustness_table", "heterogeneity_table", "mediation_table",
    "moderation_table", "sdid_column", "effects_table", "bands_table", "write_paper_tables", "DID_LABEL",
]

_CLUSTER_NOTE = "Standard errors clustered by {unit}."


def _indexed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("term") if "term" in frame.columns else frame


def _did_stats(result) -> dict:  # noqa: ANN001 - DIDResult
    return {"N": result.n_obs, "n_clusters": result.n_units, "r2_within": result.r2_within}


def baseline_table(fits: Sequence, *, unit: str, treatment: str = "did") -> PaperTable:
    """Baseline TWFE DID: one column per specification (e.g. without and with controls)."""
    cols = tuple(column(_indexed(f.table), f.y, stats=_did_stats(f)) for f in fits)
    return PaperTable("baseline", "Baseline DID: effect of the policy", cols, labels={treatment: DID_LABEL},
                      notes=_CLUSTER_NOTE.format(unit=unit), stats=("N", "n_clusters", "r2_within"))


def _event_label(k: int) -> str:
    return f"t{k:+d}" if k else "t0"


def event_study_table(studies: Sequence, *, unit: str, heads: Sequence[str] | None = None,
                      n_obs: int | None = None) -> PaperTable:
    """Event-study coefficients (rows t−4 … t+4, the reference period left out) by estimator."""
    cols = []
    for s in studies:
        table = s.table.drop(index=s.ref)
        rename = {k: _event_label(int(k)) for k in table.index}
        cols.append(column(table, s.y, rename=rename, stats={"N": n_obs} if n_obs else None))
    ref = studies[0].ref
    names = {"twfe": "TWFE", "did2s": "did2s (Gardner)", "saturated": "Sun–Abraham"}
    return PaperTable(
        "event_study", "Event study: effect by years since treatment", tuple(cols),
        heads=tuple(heads or [names.get(s.estimator, s.estimator) for s in studies]),
        notes=f"Reference period {_event_label(ref)} (omitted); end points bin earlier and later years. "
              + _CLUSTER_NOTE.format(unit=unit),
    )


def robustness_table(base, comparison=None, *, psm=None, cs=None, unit: str,  # noqa: ANN001
                     extra: Mapping[str, Column] | None = None) -> PaperTable:
    """The ATT by estimator: TWFE, did2s, Sun–Abraham, Callaway–Sant'Anna, PSM-DID (those given)."""
    y = base.y
    heads, cols = ["TWFE"], [column(_indexed(base.table), y, terms=[base.treatment], stats=_did_stats(base))]
    if comparison is not None:
        att = comparison.att
        for key, head in (("did2s", "did2s (Gardner)"), ("sun_abraham", "Sun–Abraham")):
            if key in att.index:
                row = att.loc[[key]].rename(index={key: base.treatment})
                cols.append(column(row, y, stats={"N": base.n_obs}))
                heads.append(head)
    if cs is not None:
        row = cs.aggregate("simple").iloc[[0]].set_index(pd.Index([base.treatment]))
        # the 2×2 comparisons difference out unit and period effects
        cols.append(column(row, y, stats={"N": cs.n_obs}))
        heads.append("Callaway–Sant'Anna")
    if psm is not None:
        tidy = _indexed(psm.tidy())
        cols.append(column(tidy, y, terms=[base.treatment], stats={"N": psm.n_obs, "n_matched": psm.n_matched}))
        heads.append("PSM-DID")
    for head, col in (extra or {}).items():
        cols.append(col)
        heads.append(head)
    explain = {"did2s (Gardner)": "did2s: Gardner's two-stage DID",
               "Sun–Abraham": "Sun–Abraham: interaction-weighted event study, average of event times 0 and after",
               "Callaway–Sant'Anna": "Callaway–Sant'Anna: group-time ATTs, simple aggregation",
               "PSM-DID": "PSM-DID: TWFE on the propensity-score matched sample"}
    notes = "; ".join(["Each column estimates the average effect on the treated", *(explain[h] for h in heads
                                                                                     if h in explain)])
    notes += ". " + _CLUSTER_NOTE.format(unit=unit)
    return PaperTable("robustness", "Robustness: the effect by estimator", tuple(cols), heads=tuple(heads),
                      labels={base.treatment: DID_LABEL}, notes=notes, stats=("N", "n_matched"))


def heterogeneity_table(het, *, y: str, unit: str) -> PaperTable:  # noqa: ANN001 - HeterogeneityResult
    """Split-sample DID by group (one column each) and the pooled interaction model."""
    cols, heads = [], []
    for _, row in het.split.iterrows():
        one = pd.DataFrame([row[["estimate", "se", "t", "p_value"]].astype(float)], index=[het.treatment])
        cols.append(column(one, y, stats={"N": int(row["n_obs"]), "n_units": int(row["n_units"])}))
        heads.append(f"{het.group_col} = {row['group']}")
    cols.append(column(_indexed(het.interaction), y, stats={"N": het.n_obs, "n_clusters": het.n_clusters}))
    heads.append("Pooled, interacted")
    test = het.test
    notes = (f"Difference across groups: {test.kind} statistic {test.statistic:.3f}, df {test.df}, "
             f"p = {test.p_value:.3f}. " + _CLUSTER_NOTE.format(unit=unit))
    return PaperTable(f"heterogeneity_{_slug(het.group_col)}", f"Heterogeneity by {het.group_col}", tuple(cols),
                      heads=tuple(heads), labels={het.treatment: DID_LABEL}, notes=notes,
                      stats=("N", "n_units", "n_clusters"))


def mediation_table(med, *, unit: str) -> PaperTable:  # noqa: ANN001 - MediationResult
    """Mechanism: total effect, treatment → mediator, outcome on treatment and mediator (three columns)."""
    cols = tuple(
        column(_indexed(med.steps[k]), dep, stats={"N": med.n_obs, "n_clusters": med.n_clusters})
        for k, dep in (("total", med.outcome), ("mediator", med.mediator), ("outcome", med.outcome))
    )
    lo, hi = med.boot_ci
    notes = (f"Indirect effect a·b = {med.indirect:.3f} (Sobel p = {med.sobel_p:.3f}"
             + (f"; bootstrap 95 % interval [{lo:.3f}, {hi:.3f}], {med.boot} draws" if med.boot else "")
             + f"); share mediated {med.proportion:.3f}. " + _CLUSTER_NOTE.format(unit=unit))
    return PaperTable(f"mechanism_{_slug(med.mediator)}", f"Mechanism: {med.mediator}", cols,
                      heads=("Total effect", "Treatment → mediator", "Outcome"),
                      labels={med.treatment: DID_LABEL}, notes=notes, stats=("N", "n_clusters"))


def moderation_table(mod, *, unit: str, n_obs: int | None = None) -> PaperTable:  # noqa: ANN001
    """Moderation: the focal effect, the moderator and their interaction."""
    stats = {"N": n_obs} if n_obs else {}
    col = column(_indexed(mod.coefficients), mod.outcome, stats=stats)
    note = "The moderator is centred at its mean. " if getattr(mod, "centered", False) else ""
    return PaperTable(f"moderation_{_slug(mod.moderator)}", f"Moderation by {mod.moderator}", (col,),
                      labels={"did": DID_LABEL}, notes=note + _CLUSTER_NOTE.format(unit=unit))


_FIXEF = {"twoways": "unit+period", "unit": "unit", "time": "period"}
_EFFECT_LABELS = {"direct": "Direct effect", "indirect": "Indirect effect (spillover)", "total": "Total effect"}


def sdid_column(res, *, treatment: str = "did") -> Column:  # noqa: ANN001 - SDMDiDResult
    """One spatial DID as a column: the DID and W·DID coefficients and ρ, then its direct, indirect and total
    effects (simulated standard errors), N, units and log-likelihood."""
    fit = res.fit
    terms = [t for t in (treatment, f"W·{treatment}", "rho", "lambda") if t in fit.params.index]
    coefs = pd.DataFrame({"estimate": fit.params[terms], "se": fit.bse[terms], "t": fit.tvalues[terms],
                          "p_value": fit.pvalues[terms]})
    eff = res.did_effects.rename(index=_EFFECT_LABELS)
    eff = eff.assign(t=eff["estimate"] / eff["se"])[["estimate", "se", "t", "p_value"]]
    info = fit.to_dict()
    stats = {"N": info["n_obs"], "n_units": info["n_units"], "ll": info["loglik"]}
    return column(pd.concat([coefs, eff]), info["y"], fixef=_FIXEF.get(info["fe"], ""), stats=stats)


def effects_table(name: str, title: str, columns: Mapping[str, Column], *, notes: str = "",
                  treatment: str = "did") -> PaperTable:
    """Spatial DID columns side by side (one per weights matrix or model), heads = the mapping's keys."""
    labels = {treatment: DID_LABEL, f"W·{treatment}": f"W · {DID_LABEL}", "rho": "ρ (spatial lag of y)",
              "lambda": "λ (spatial error)"}
    notes = ("Effects: average direct, indirect (spillover) and total effects of the DID term (LeSage–Pace), "
             "standard errors from simulation draws. " + notes).strip()
    return PaperTable(name, title, tuple(columns.values()), heads=tuple(columns), labels=labels, notes=notes,
                      stats=("N", "n_units", "ll"))


def bands_table(result, *, notes: str = "") -> PaperTable:  # noqa: ANN001 - SweepResult
    """Distance bands: one row per band, columns direct / indirect (spillover) / total effect of the policy,
    the crossover statement under the table. p-values are normal (the sweep's simulated standard errors)."""
    from scipy import stats

    table = result.to_frame()
    if "error" in table.columns:
        table = table[~table["error"].apply(lambda e: isinstance(e, str))]
    y = getattr(result, "y", None) or "y"
    cols = {}
    for eff, head in (("direct", "Direct"), ("indirect", "Indirect (spillover)"), ("total", "Total")):
        est, se = table[f"{eff}_estimate"].astype(float), table[f"{eff}_se"].astype(float)
        frame = pd.DataFrame({"estimate": est.to_numpy(), "se": se.to_numpy(),
                              "p_value": 2 * stats.norm.sf((est / se).abs().to_numpy())},
                             index=[f"{b} km" for b in table["band"]])
        cols[head] = column(frame, y)
    crossover = result.crossover.statement
    notes = " ".join(p for p in (f"Each row: the policy's effect through neighbours in that distance band "
                                 f"({result.mode} bands, {result.weight} weights).", crossover, notes) if p)
    return PaperTable("distance_bands", "Spillover and siphon by distance band", tuple(cols.values()),
                      heads=tuple(cols), notes=notes)


def write_paper_tables(tables: Sequence[PaperTable], folder: Path, *, note: str | None = None,
                       formats: Sequence[str] = PAPER_FORMATS) -> list[Path]:
    """Write every table into ``folder`` (created), each in every format."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for t in tables:
        written += t.write(Path(folder), note=note, formats=formats)
    return written


def _slug(name: str) -> str:
    """A column name as a file-name part (the DID chain's CSV tables use the same rule)."""
    import re

    return re.sub(r"[^0-9A-Za-z_.-]+", "_", str(name)).strip("_") or "column"
