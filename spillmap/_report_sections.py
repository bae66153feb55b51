"""The report's content: sections in the study's order, each table and figure with generated sentences.

Everything is read from the files the run wrote into the staging folder
(``did/*.csv``, ``did/did_summary.json``, ``sdid/…``, ``sweep/…``, the
PNGs); a step the configuration turned off wrote nothing, so its section is
left out. Numbers follow the one rule of :mod:`spillmap._pubtable`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from spillmap._pubtable import (
    DID_LABEL,
    Coef,
    Row,
    Table,
    fmt_ci,
    fmt_count,
    fmt_num,
    fmt_share,
    p_phrase,
    regression_table,
)
from spillmap.config import RunConfig, default_config

__all__ = ["Exhibit", "Section", "build_sections", "config_table", "summary_sentences"]

_ESTIMATORS = {"twfe": "TWFE", "did2s": "did2s (Gardner)", "saturated": "Sun & Abraham",
               "sun_abraham": "Sun & Abraham", "callaway_santanna": "Callaway & Sant'Anna"}
_BACON = {"treated_vs_never": "Treated vs never treated", "earlier_vs_later": "Earlier vs later treated",
          "later_vs_earlier": "Later vs earlier treated"}
#: Map column → (title, what the map shows, main weights); the band maps add "when only neighbours in one band count".
_MAPS = {
    "own": ("Own effect of each city", "Each city's effect of its own treatment on itself (S_ii)"),
    "recv": ("Spillover received", "The spillover each city receives from the treated cities"),
    "emit": ("Spillover emitted", "The spillover each city sends to all other cities, summed"),
}
_MAP_KEY = ("Red: positive (spillover), blue: negative (siphon); grey: not significant (95 % interval includes "
            "zero); hatched: no data.")
_MARGIN = re.compile(r"^d\((?P<focal>.+)\)@(?P<mod>.+)=(?P<at>mean-1sd|mean|mean\+1sd)$")
_AT = {"mean-1sd": "the mean − 1 sd", "mean": "the mean", "mean+1sd": "the mean + 1 sd"}


@dataclass(frozen=True)
class Exhibit:
    """A numbered table or figure: title, generated sentences, and the table or the image path."""

    kind: Literal["table", "figure"]
    title: str
    sentences: tuple[str, ...]
    table: Table | None = None
    src: str | None = None
    number: int = 0
    wide: bool = False

    @property
    def label(self) -> str:
        return f"{self.kind.capitalize()} {self.number}"


@dataclass(frozen=True)
class Section:
    """A report section: anchor id, heading, lead sentences and exhibits."""

    id: str
    title: str
    sentences: tuple[str, ...]
    exhibits: tuple[Exhibit, ...] = ()

    @property
    def intro(self) -> tuple[str, ...]:
        """The lead sentences that no exhibit's caption repeats (shown above the exhibits)."""
        shown = {t for e in self.exhibits for t in e.sentences}
        return tuple(t for t in self.sentences if t not in shown)


@dataclass(frozen=True)
class _Outputs:
    """The run's files in the staging folder, read on request."""

    stage: Path
    files: frozenset[str]

    def json(self, name: str) -> dict[str, Any]:
        return json.loads((self.stage / name).read_text(encoding="utf-8")) if name in self.files else {}

    def csv(self, name: str) -> pd.DataFrame | None:
        return pd.read_csv(self.stage / name) if name in self.files else None

    def figure(self, name: str, title: str, *sentences: str, wide: bool = False) -> list[Exhibit]:
        """The figure ``name`` with its title and caption sentences, or nothing when the run did not write it."""
        if name not in self.files:
            return []
        return [Exhibit("figure", title, tuple(s for s in sentences if s), src=name, wide=wide)]


@dataclass(frozen=True)
class _Study:
    """What every section needs to phrase its sentences."""

    outcome: str
    controls: tuple[str, ...]
    period: str
    synthetic: Mapping[str, Any] | None

    def fixed_effects(self, without: Sequence[str] = ()) -> list[tuple[str, str]]:
        """Footer rows: city and period fixed effects, controls (less ``without``) used or not."""
        used = [c for c in self.controls if c not in without]
        return [("City FE", "Yes"), (f"{self.period} FE", "Yes"), ("Controls", "Yes" if used else "No")]

    def notes(self, without: Sequence[str] = ()) -> tuple[str, ...]:
        """The note naming the controls (less ``without``)."""
        used = [c for c in self.controls if c not in without]
        return (f"Controls: {', '.join(used)}.",) if used else ()


def build_sections(stage: Path, files: Sequence[str], headline: Mapping[str, Any]) -> tuple[Section, ...]:
    """The report's sections in the study's order, exhibits numbered; steps that did not run are left out.

    Parameters
    ----------
    stage
        The run's staging folder.
    files
        Paths written, relative to ``stage`` (POSIX).
    headline
        The run's headline dict (``treatment``, ``panel``, ``weights``, ``synthetic``, ``map_year``).
    """
    out = _Outputs(stage, frozenset(files))
    did = out.json("did/did_summary.json")
    sdid = out.json("sdid/sdid_summary.json").get("sdm_did", {})
    panel = headline.get("panel") or {}
    baseline = did.get("baseline", {})
    base_csv = out.csv("did/did_baseline.csv")
    controls = tuple(panel.get("controls") or ([] if base_csv is None else
                                               [t for t in base_csv["term"] if t != baseline.get("treatment")]))
    time = str(panel.get("time") or "year")
    study = _Study(panel.get("outcome") or baseline.get("y") or sdid.get("y") or "the outcome", controls,
                   "Year" if "year" in time.lower() else "Period", headline.get("synthetic"))
    sections = [
        _data_section(headline, baseline, study),
        _baseline_section(baseline, study),
        _event_section(did, out),
        _robust_section(did, baseline, out, study),
        _per_result(did, "heterogeneity", "Heterogeneity", study, _heterogeneity),
        _per_result(did, "mediation", "Mechanism (mediation)", study, _mediation),
        _moderation_section(did, study),
        _sdid_section(sdid, headline, out, study),
        _sweep_section(out),
        _maps_section(out, headline),
    ]
    sections = [s for s in sections if s is not None]
    shown = {e.src for s in sections for e in s.exhibits if e.src}
    other = [f for f in files if f.endswith(".png") and f not in shown]
    if other:
        sections.append(Section("other-figures", "Other figures", (), tuple(
            Exhibit("figure", Path(f).stem.replace("_", " ").capitalize(), (f"Written to {f}.",), src=f)
            for f in other)))
    return _numbered(sections)


def summary_sentences(sections: Sequence[Section]) -> tuple[str, ...]:
    """The key findings: the lead sentence of the baseline, SDM-DID and siphon-radius sections."""
    lead = {s.id: s.sentences for s in sections}
    keep = (("baseline", 1), ("sdid", 2), ("sweep", 1))
    return tuple(sentence for key, n in keep for sentence in lead.get(key, ())[:n])


def config_table(config: RunConfig) -> tuple[tuple[str, tuple[tuple[str, str, bool], ...]], ...]:
    """Per section, ``(key, value as text, set by this run)``; a value is "set" when it differs from the default."""
    defaults = default_config().to_dict()
    return tuple(
        (section, tuple((key, _config_value(value), value != defaults[section].get(key))
                        for key, value in values.items()))
        for section, values in config.to_dict().items()
    )


# ------------------------------------------------------------------ sections


def _data_section(headline: Mapping[str, Any], baseline: Mapping[str, Any], study: _Study) -> Section:
    treatment = headline.get("treatment") or {}
    panel = headline.get("panel") or {}
    by_year = {str(k): int(v) for k, v in (treatment.get("treated_by_year") or {}).items()}
    never = treatment.get("never_treated")
    units = panel.get("units", baseline.get("n_units"))
    periods = panel.get("periods", baseline.get("n_periods"))
    sentences = []
    if units is not None:
        word = study.period.lower()
        span = f" ({panel['first']}–{panel['last']})" if "first" in panel else ""
        rows = f", {fmt_count(panel['rows'])} city-{word}s" if "rows" in panel else ""
        text = f"The panel has {fmt_count(units)} cities observed over {fmt_count(periods)} {word}s{span}{rows}"
        if panel.get("outcome"):
            ctrl = panel.get("controls") or []
            text += f"; the outcome is {panel['outcome']}" + (f", with controls {', '.join(ctrl)}" if ctrl else "")
        sentences.append(text + ".")
    if by_year:
        batches = [f"{fmt_count(n)} in {year}" for year, n in by_year.items()]
        listed = batches[0] if len(batches) == 1 else ", ".join(batches[:-1]) + " and " + batches[-1]
        text = (f"{fmt_count(sum(by_year.values()))} cities are treated, in {len(by_year)} "
                f"batch{'es' if len(by_year) > 1 else ''}: {listed}")
        sentences.append(text + (f"; {fmt_count(never)} cities are never treated and serve as controls."
                                 if never is not None else "."))
    for key, what in (("treated_without_rows", "treated cities have no rows in the panel"),
                      ("not_in_layer", "panel units are not in the layer")):
        if treatment.get(key):
            sentences.append(f"{len(treatment[key])} {what} and are left out.")
    weights = headline.get("weights") or {}
    if weights:
        sentences.append(
            f"Main spatial weights: {weights.get('description', 'as configured')}; mean "
            f"{fmt_num(weights.get('mean_neighbours'), 1)} neighbours per city, {fmt_count(weights.get('n_islands', 0))} "
            "cities without a neighbour.")
    exhibits = []
    if by_year:
        rows = [Row(year, (fmt_count(n),)) for year, n in by_year.items()]
        rows += [Row("Never treated", (fmt_count(never),))] if never is not None else []
        rows += [Row("All cities", (fmt_count(sum(by_year.values()) + (never or 0)),), "stat")]
        exhibits.append(Exhibit("table", "Treatment timing: cities by first treated year",
                                (("Cities enter treatment in batches; the DID dummy is 1 from a city's first "
                                  "treated year on."),), Table(("Cities",), tuple(rows), stub="First treated year")))
    return Section("data", "Data and treatment", tuple(sentences), tuple(exhibits))


def _baseline_section(baseline: Mapping[str, Any], study: _Study) -> Section | None:
    if not baseline:
        return None
    lead = (_effect_sentence("The policy", study.outcome, baseline, "in treated cities")
            + " (two-way fixed-effects DID, standard errors clustered by city).")
    sentences = (lead, *_truth(study))
    table = regression_table(
        {"TWFE": {"did": _coef(baseline)}}, labels={"did": DID_LABEL},
        stats=[("N", fmt_count(baseline.get("n_obs"))), ("Cities", fmt_count(baseline.get("n_units"))),
               ("R² (within)", fmt_num(baseline.get("r2_within"))), *study.fixed_effects()],
        notes=study.notes(), se_label="Standard errors clustered by city",
    )
    exhibit = Exhibit("table", f"Baseline difference-in-differences: effect of the policy on {study.outcome}",
                      sentences, table)
    return Section("baseline", "Baseline DID", sentences, (exhibit,))


def _reference_phrase(ref: int) -> str:
    if ref == -1:
        return "Points are coefficients relative to the year before treatment (−1)"
    return f"Points are coefficients relative to the reference period, {-ref} years before treatment (−{-ref})"


def _event_section(did: Mapping[str, Any], out: _Outputs) -> Section | None:
    es = did.get("event_study")
    if not es:
        return None
    sentences = [_pretrend_sentence(es.get("pretrend") or {})]
    frame = out.csv("did/event_study.csv")
    if frame is not None:
        post = frame[frame["event_time"] >= 0]
        if len(post):
            hi, lo = post.loc[post["estimate"].idxmax()], post.loc[post["estimate"].idxmin()]
            excl = int(((post["ci_low"] > 0) | (post["ci_high"] < 0)).sum())
            sentences.append(
                f"After treatment the effect ranges from {fmt_num(lo['estimate'])} (year {int(lo['event_time'])}) "
                f"to {fmt_num(hi['estimate'])} (year {int(hi['event_time'])}); {excl} of {len(post)} post-treatment "
                "intervals exclude zero.")
    exhibits = out.figure(
        "did/event_study.png", "Event study: effect by year relative to treatment (TWFE)", *sentences,
        _reference_phrase(int(es.get("ref_period", -1))) + ", bars 95 % confidence intervals; "
        "the end points bin all earlier and later years.")
    return Section("event-study", "Event study", tuple(sentences), tuple(exhibits))


def _robust_section(did: Mapping[str, Any], baseline: Mapping[str, Any], out: _Outputs,
                    study: _Study) -> Section | None:
    sentences: list[str] = []
    exhibits: list[Exhibit] = []
    robust = out.csv("did/robust_att.csv")
    if robust is not None:
        rows = robust.set_index("estimator")
        columns = {_ESTIMATORS.get(k, k): {"did": _coef(r)} for k, r in rows.iterrows()}
        twfe = rows.loc["twfe"] if "twfe" in rows.index else None
        lines = []
        for name, r in rows.drop(index="twfe", errors="ignore").iterrows():
            text = (f"The heterogeneity-robust {_ESTIMATORS.get(name, name)} estimator gives "
                    f"{fmt_num(r['estimate'])} (95 % CI {fmt_ci(r['ci_low'], r['ci_high'])}, {p_phrase(r['p_value'])})")
            if twfe is not None:
                se = max(float(twfe["se"]), float(r["se"]))  # the less precise of the two bounds what is seen
                close = abs(r["estimate"] - twfe["estimate"]) <= se
                text += (f", within one standard error (the larger of the two) of the TWFE estimate "
                         f"{fmt_num(twfe['estimate'])}: staggered timing does not distort the baseline." if close else
                         f", more than one standard error (the larger of the two) from the TWFE estimate "
                         f"{fmt_num(twfe['estimate'])}: read the baseline with care.")
            lines.append(text if text.endswith(".") else text + ".")
        sentences += lines
        stats = [("N", fmt_count(baseline.get("n_obs")))] if baseline else []
        exhibits.append(Exhibit("table", "Robustness: TWFE against heterogeneity-robust estimators", tuple(lines),
                                regression_table(columns, labels={"did": DID_LABEL},
                                                 stats=[*stats, *study.fixed_effects()], notes=study.notes(),
                                                 se_label="Standard errors clustered by city")))
    exhibits += out.figure(
        "did/event_study_robust.png", "Event studies by TWFE, did2s (Gardner) and Sun & Abraham (saturated)",
        "Where the three estimators agree, the TWFE event study is not distorted by effects that differ across "
        "treatment batches; bars are 95 % confidence intervals.")
    exhibits += out.figure(
        "did/cs_dynamic.png", "Callaway & Sant'Anna: average effect by years since treatment",
        "Group-time ATTs aggregated by event time (each batch compared with never-treated units, or with units "
        "not yet treated when none is never treated); before 0 they are placebo effects; bars are 95 % "
        "pointwise intervals.")
    bacon = did.get("bacon")
    if bacon:
        kinds = {r["kind"]: r for r in bacon.get("by_kind", [])}
        text = f"Goodman-Bacon decomposition of the TWFE estimate without controls ({fmt_num(bacon.get('twfe'))})"
        if "treated_vs_never" in kinds:
            k = kinds["treated_vs_never"]
            text += (f": treated-vs-never-treated comparisons carry {fmt_share(k['weight'])} of the weight "
                     f"(average {fmt_num(k['estimate'])})")
        if "later_vs_earlier" in kinds:
            k = kinds["later_vs_earlier"]
            text += (f"; later- against earlier-treated comparisons, which can bias TWFE when effects grow over "
                     f"time, carry {fmt_share(k['weight'])} (average {fmt_num(k['estimate'])})")
        sentences.append(text + ".")
        rows = tuple(Row(_BACON.get(r["kind"], r["kind"]), (fmt_share(r["weight"]), fmt_num(r["estimate"]),
                                                            fmt_count(r["n_pairs"])))
                     for r in bacon.get("by_kind", []))
        exhibits.append(Exhibit("table", "Goodman-Bacon decomposition of the TWFE estimate", (text + ".",),
                                Table(("Weight", "Average estimate", "Pairs"), rows,
                                      (("TWFE without controls on the balanced panel (Goodman-Bacon 2021); the "
                                        "weighted averages sum to the TWFE estimate."),), stub="Comparison")))
    placebo = did.get("placebo")
    if placebo:
        text = _placebo_sentence(placebo)
        sentences.append(text)
        exhibits += out.figure("did/placebo.png", "Placebo test: placebo estimates against the real one", text,
                               "Histogram and density of the placebo coefficients (left) and t-values (right); "
                               "the red line is the real estimate.", wide=True)
    if not exhibits:
        return None
    return Section("robustness", "Robustness and placebo", tuple(sentences), tuple(exhibits))


def _per_result(did: Mapping[str, Any], key: str, title: str, study: _Study,
                one: Callable[[str, Mapping[str, Any], str, _Study], tuple[str, Exhibit]]) -> Section | None:
    """A section of one table per result in ``did[key]`` (per group, per mediator); None when none ran."""
    results = did.get(key)
    if not results:
        return None
    treatment = (did.get("baseline") or {}).get("treatment", "did")
    pairs = [one(name, result, treatment, study) for name, result in results.items()]
    return Section(key, title, tuple(text for text, _ in pairs), tuple(exhibit for _, exhibit in pairs))


def _heterogeneity(group: str, result: Mapping[str, Any], treatment: str, study: _Study) -> tuple[str, Exhibit]:
    """Split-sample columns per group and the pooled interaction model, with the difference test."""
    records = result.get("table", [])
    split = [r for r in records if r.get("model") == "split"]
    columns: dict[str, dict[str, Coef]] = {_between(r["term"], "=", "]"): {treatment: _coef(r)} for r in split}
    pooled = {r["term"]: _coef(r) for r in records
              if r.get("model") == "interact" and r["term"].split(":")[0] == treatment}
    columns["Pooled"] = pooled
    labels = {treatment: DID_LABEL, **{t: f"DID × {group} = {_between(t, '[', ']')}" for t in pooled if ":" in t}}
    effects = ", ".join(f"{fmt_num(r['estimate'])} in {_between(r['term'], '=', ']')}" for r in split)
    test = result.get("difference_test") or {}
    stat = (f"z = {fmt_num(test.get('statistic'))}" if test.get("df") == 1 else
            f"Wald χ²({test.get('df')}) = {fmt_num(test.get('statistic'))}")
    differs = _float(test.get("p_value")) < 0.05
    text = (f"By {group}, the effect is {effects}; the test that it is the same in every group gives "
            f"{p_phrase(test.get('p_value'))} ({stat}), so the effect "
            f"{'differs' if differs else 'does not differ significantly'} across {group} groups.")
    n_split = len(columns) - 1
    table = regression_table(
        columns, labels=labels, stats=study.fixed_effects(), se_label="Standard errors clustered by city",
        notes=((f"Columns (1)–({n_split}): DID estimated in each {group} group separately; column "
                f"({n_split + 1}): pooled model with treatment × group interactions (differences from the first "
                "group)."), *study.notes()))
    return text, Exhibit("table", f"Heterogeneity: effect of the policy by {group}", (text,), table)


def _mediation(m: str, result: Mapping[str, Any], treatment: str, study: _Study) -> tuple[str, Exhibit]:
    """The three-step mediation table (total c, a, direct c′ and b) with the indirect effect and its share."""
    rows = {r["term"]: r for r in result.get("table", [])}
    columns = [(study.outcome, {treatment: _coef(rows["total"])}), (m, {treatment: _coef(rows["a"])}),
               (study.outcome, {treatment: _coef(rows["direct"]), m: _coef(rows["b"])})]
    indirect = rows.get("indirect_bt") or rows["indirect"]
    how = "bootstrap" if "indirect_bt" in rows else "Sobel"
    share = rows.get("proportion", {}).get("estimate")
    carries = _float(indirect.get("ci_low")) > 0 or _float(indirect.get("ci_high")) < 0
    ab = (f"the indirect effect a·b is {fmt_num(indirect['estimate'])} ({how} 95 % CI "
          f"{fmt_ci(indirect['ci_low'], indirect['ci_high'])}), {fmt_share(share)} of the total effect "
          f"{fmt_num(rows['total']['estimate'])}")
    text = (f"Part of the effect runs through {m}: the policy changes {m} by {fmt_num(rows['a']['estimate'])} "
            f"and {m} changes {study.outcome} by {fmt_num(rows['b']['estimate'])}; {ab}." if carries else
            f"No evidence that {m} carries the effect: {ab}.")
    sobel = rows["indirect"]
    stats = [("Indirect effect a·b", f"{fmt_num(sobel['estimate'])} (Sobel {p_phrase(sobel['p_value'])})")]
    if "indirect_bt" in rows:
        stats.append(("Bootstrap 95 % CI", fmt_ci(rows["indirect_bt"]["ci_low"], rows["indirect_bt"]["ci_high"])))
    stats.append(("Share mediated", fmt_share(share)))
    table = regression_table(
        columns, labels={treatment: DID_LABEL}, stats=[*stats, *study.fixed_effects(without=(m,))],
        se_label="Standard errors clustered by city",
        notes=((f"Column (1): total effect c; (2): effect of the policy on {m} (a); (3): direct effect c′ and "
                f"the effect of {m} (b), three-step mediation test."), *study.notes(without=(m,))))
    return text, Exhibit("table", f"Mechanism: does {m} carry the effect?", (text,), table)


def _moderation_section(did: Mapping[str, Any], study: _Study) -> Section | None:
    mod = did.get("moderation")
    if not mod:
        return None
    records = mod.get("table", [])
    margins = [(m, r) for r in records if (m := _MARGIN.match(r["term"]))]
    if not margins:
        return None
    focal, moderator = margins[0][0]["focal"], margins[0][0]["mod"]
    term = mod.get("term", f"{focal}:{moderator}")
    label = {"did": "DID"}.get(focal, focal)
    coefs = {r["term"]: _coef(r) for r in records if r["term"] in (focal, moderator, term)}
    coefs.update({r["term"]: _coef(r) for _, r in margins})
    labels = {focal: DID_LABEL if focal == "did" else focal, term: " × ".join(
        {"did": "DID"}.get(p, p) for p in term.split(":"))}
    labels.update({r["term"]: f"Effect of {label} at {moderator} = {_AT[m['at']]}" for m, r in margins})
    row = next(r for r in records if r["term"] == term)
    clear = _float(row.get("ci_low")) > 0 or _float(row.get("ci_high")) < 0
    direction = "rises" if _float(row.get("estimate")) > 0 else "falls"
    lead = (f"The effect of {label} {direction} with {moderator}" if clear else
            f"No clear evidence that {moderator} moderates the effect of {label}")
    at = ", ".join(f"{fmt_num(r['estimate'])} at {_AT[m['at']]}" for m, r in margins)
    text = (f"{lead}: the interaction {labels[term]} is {fmt_num(row['estimate'])} (95 % CI "
            f"{fmt_ci(row['ci_low'], row['ci_high'])}, {p_phrase(row['p_value'])}); the marginal effect of {label} "
            f"is {at} of {moderator}.")
    table = regression_table(
        {study.outcome: coefs}, labels=labels, stats=study.fixed_effects(without=(focal, moderator)),
        se_label="Standard errors clustered by city",
        notes=("Marginal effects by the delta method at the moderator's mean and ± 1 sd.",
               *study.notes(without=(focal, moderator))))
    return Section("moderation", "Moderation", (text,),
                   (Exhibit("table", f"Moderation: the effect of {label} by {moderator}", (text,), table),))


def _sdid_section(sdid: Mapping[str, Any], headline: Mapping[str, Any], out: _Outputs,
                  study: _Study) -> Section | None:
    effects = sdid.get("did_effects")
    if not effects:
        return None
    sentences = []
    if "direct" in effects:
        sentences.append(_effect_sentence("Direct effect: the policy", study.outcome, effects["direct"],
                                          "in treated cities, feedback through their neighbours included") + ".")
    if "indirect" in effects:
        sentences.append(_spillover_sentence(effects["indirect"], bands="sweep/sweep.csv" in out.files))
    if "total" in effects:
        t = effects["total"]
        sentences.append(f"Total effect: {fmt_num(t['estimate'])} (95 % CI {fmt_ci(t['ci_low'], t['ci_high'])}, "
                         f"{p_phrase(t['p_value'])}).")
    sentences += _truth(study)
    coef = {term: Coef(_float(sdid["coefficients"][term]), _float(sdid["std_errors"].get(term)),
                       _float(sdid["p_values"].get(term)))
            for term in ("did", "W·did", "rho") if term in sdid.get("coefficients", {})}
    columns = {"SDM": coef, **{kind.capitalize(): {"did": _coef(v)} for kind, v in effects.items()}}
    weights = (headline.get("weights") or {}).get("description")
    draws = sdid.get("effects_draws")
    table = regression_table(
        columns, labels={"did": DID_LABEL, "W·did": "W·DID (neighbours' treatment)", "rho": "ρ (spatial lag of the outcome)"},
        stats=[("N", fmt_count(sdid.get("n_obs"))), ("R² (within)", fmt_num(sdid.get("r2_within"))),
               ("Log-likelihood", fmt_num(sdid.get("loglik"))), *study.fixed_effects(),
               *([("Weights", weights)] if weights else [])],
        notes=("Column (1): spatial Durbin DID coefficients (ML, two-way fixed effects); (2)–(4): direct, indirect "
               "(spillover) and total effects of DID" + (f", inference from {fmt_count(draws)} simulation draws."
                                                          if draws else "."), *study.notes()))
    exhibits = [Exhibit("table", "Spatial Durbin DID: direct, indirect (spillover) and total effects",
                        tuple(sentences[:3]), table)]
    exhibits += out.figure("sdid/spatial_event_study.png", "Spatial event study: direct and indirect effects by year",
                           _spatial_pretrend(out.json("sdid/sdid_summary.json").get("spatial_event_study") or {}),
                           "Direct and indirect effects of DID by year relative to treatment, with 95 % intervals.")
    exhibits += out.figure("sdid/sdm_placebo.png", "Placebo test of the spatial Durbin DID",
                           "Placebo estimates of the SDM-DID against the real one (red line).")
    return Section("sdid", "SDM-DID effects (direct, indirect, total)", tuple(sentences), tuple(exhibits))


#: How each sweep method estimated the bands, for the figure's caption.
_SWEEP_METHOD = {
    "exposure": "Every distance band estimated at once (one DID with the treated share of each band's neighbours, "
                "so each band is net of the others)",
    "separate": "The SDM-DID re-estimated with neighbours in one distance band at a time (the study's method)",
}


def _sweep_section(out: _Outputs) -> Section | None:
    summary = out.json("sweep/sweep_summary.json")
    frame = out.csv("sweep/sweep.csv")
    if not summary and frame is None:
        return None
    statement = (summary.get("crossover") or {}).get("statement")
    sentences = [statement] if statement else []
    how = _SWEEP_METHOD.get(summary.get("method"), _SWEEP_METHOD["separate"])
    exhibits = out.figure(
        "sweep/sweep.png", "Spillover and siphon by distance", *sentences,
        f"{how}: the indirect effect of DID against distance with 90 % and 95 % intervals; above zero "
        "spillover, below zero siphon.")
    if frame is not None:
        bands = _significant_bands(frame)
        if bands:
            sentences.append(bands)
        rows = []
        for _, r in frame.iterrows():
            failed = isinstance(r.get("error"), str)
            rows.append(Row(f"{r['band']} km", (
                fmt_num(r["mean_neighbours"], 1), fmt_count(r["islands"]), fmt_num(r["rho"]),
                "failed" if failed else fmt_num(r["indirect_estimate"]),
                "" if failed else fmt_ci(r["indirect_ci95_low"], r["indirect_ci95_high"]),
                "yes" if str(r.get("in_crossover")) == "True" else "no")))
        exhibits.append(Exhibit(
            "table", "Indirect (spillover) effect by distance band", tuple(s for s in (bands,) if s),
            Table(("Neighbours (mean)", "Islands", "ρ", "Indirect effect", "95 % CI", "In crossover"), tuple(rows),
                  (("Islands: cities without a neighbour in the band. In crossover: the band has enough linked "
                    "cities to enter the crossover estimate."),), stub="Band")))
    return Section("sweep", "Distance bands and siphon radius", tuple(sentences), tuple(exhibits))


def _maps_section(out: _Outputs, headline: Mapping[str, Any]) -> Section | None:
    year = headline.get("map_year")
    treated = f" (cities treated by {year})" if year is not None else ""
    exhibits = []
    for column, (title, text) in _MAPS.items():
        exhibits += out.figure(f"maps/effects_{column}.png", title, f"{text}, main weights{treated}.", _MAP_KEY)
    for column, (title, text) in _MAPS.items():
        exhibits += out.figure(
            f"maps/sweep_bands_{column}.png", f"{title}, band by band",
            f"{text} when only neighbours in one distance band count{treated}; one set of classes for all bands.",
            _MAP_KEY, wide=True)
    if not exhibits:
        return None
    sentences = [f"The maps show per-city effects with the cities treated by {year}."] if year is not None else []
    if "spillmap.gpkg" in out.files:
        sentences.append("Open spillmap.gpkg in QGIS: each layer opens with its stored style, the same classes as "
                         "these maps (red: spillover, blue: siphon, grey: not significant).")
    return Section("maps", "Maps", tuple(sentences), tuple(exhibits))


# ------------------------------------------------------------------ sentences


def _effect_sentence(subject: str, outcome: str, row: Mapping[str, Any], where: str) -> str:
    """``The policy raised y by 1.088 (95 % CI 0.956 to 1.220, p < 0.001) in treated cities`` (no full stop)."""
    est, lo, hi = _float(row.get("estimate")), _float(row.get("ci_low")), _float(row.get("ci_high"))
    verb = "raised" if est >= 0 else "lowered"
    signed = "" if est >= 0 else f"estimate {fmt_num(est)}, "
    text = (f"{subject} {verb} {outcome} by {fmt_num(abs(est))} ({signed}95 % CI "
            f"{fmt_ci(lo, hi)}, {p_phrase(row.get('p_value'))}) {where}")
    if lo <= 0 <= hi:
        text += ", not statistically different from zero at the 5 % level"
    return text


def _spillover_sentence(row: Mapping[str, Any], *, bands: bool) -> str:
    est, lo, hi = _float(row.get("estimate")), _float(row.get("ci_low")), _float(row.get("ci_high"))
    head = (f"Spillover (indirect effect) on other cities: {fmt_num(est)} (95 % CI {fmt_ci(lo, hi)}, "
            f"{p_phrase(row.get('p_value'))})")
    if lo > 0:
        return head + ": treated cities raise the outcome of the cities around them."
    if hi < 0:
        return head + ": a siphon, treated cities draw the outcome away from the cities around them."
    return head + ", not distinguishable from zero with the main weights" + (
        " (the distance bands below separate spillover from siphon)." if bands else ".")


def _pretrend_sentence(pretrend: Mapping[str, Any]) -> str:
    df, p = pretrend.get("df") or 0, pretrend.get("p_value")
    if not df or p is None or not math.isfinite(p):
        return "No leads were estimated, so there is no pre-trend test."
    test = f"joint test of the {df} leads, {p_phrase(p)} (Wald χ²({df}) = {fmt_num(pretrend.get('chi2'))})"
    if p >= 0.1:
        return f"No pre-trend: {test}."
    if p >= 0.05:
        return f"Weak sign of a pre-trend: {test}."
    return f"Pre-trend: {test}; the parallel-trends assumption is in doubt."


def _placebo_sentence(placebo: Mapping[str, Any]) -> str:
    draws, p = int(placebo["draws"]), float(placebo["p_value"])
    how = ("random reassignments of the treated cities (batch sizes kept)" if placebo.get("mode") == "random"
           else "random reassignments of the treatment years")
    larger = round(p * (draws + 1)) - 1
    tail = (f"none is as large as the real estimate (empirical {p_phrase(p)}, the smallest possible with {draws} draws)"
            if larger == 0 else f"{larger} of {draws} are as large in magnitude (empirical {p_phrase(p)})")
    return (f"Placebo test: across {fmt_count(draws)} {how}, placebo estimates average "
            f"{fmt_num(placebo.get('placebo_mean'))} (sd {fmt_num(placebo.get('placebo_sd'))}) against the real "
            f"{fmt_num(placebo.get('real_estimate'))}; {tail}.")


def _spatial_pretrend(table: Mapping[str, Mapping[str, float]]) -> str:
    leads = [r for k, r in table.items() if int(k) < -1]
    post = [r for k, r in table.items() if int(k) >= 0]
    if not leads and not post:
        return ""

    def zero(r: Mapping[str, float]) -> bool:
        return _float(r.get("direct_ci_low")) <= 0 <= _float(r.get("direct_ci_high"))

    return (f"Direct effect: {sum(map(zero, leads))} of {len(leads)} pre-treatment intervals include zero, "
            f"{len(post) - sum(map(zero, post))} of {len(post)} post-treatment intervals exclude it.")


def _significant_bands(frame: pd.DataFrame) -> str:
    ok = frame[frame["indirect_ci95_low"].notna()]
    pos = [f"{b} km" for b in ok.loc[ok["indirect_ci95_low"] > 0, "band"]]
    neg = [f"{b} km" for b in ok.loc[ok["indirect_ci95_high"] < 0, "band"]]
    parts = []
    if pos:
        parts.append(f"significantly positive (spillover) in {', '.join(pos)}")
    if neg:
        parts.append(f"significantly negative (siphon) in {', '.join(neg)}")
    return ("At the 95 % level the indirect effect is " + " and ".join(parts) + ".") if parts else (
        "No band's indirect effect differs from zero at the 95 % level.")


def _truth(study: _Study) -> list[str]:
    if not study.synthetic or "effect" not in study.synthetic:
        return []
    return [f"On this synthetic panel the true direct effect is {study.synthetic['effect']}."]


# ------------------------------------------------------------------ helpers


def _float(value: Any) -> float:  # noqa: ANN401
    """A number read from a summary (JSON writes NaN as null): NaN when missing."""
    return math.nan if value is None else float(value)


def _coef(row: Mapping[str, Any]) -> Coef:
    return Coef(_float(row.get("estimate")), _float(row.get("se")), _float(row.get("p_value")))


def _between(text: str, left: str, right: str) -> str:
    return text.split(left, 1)[1].rsplit(right, 1)[0] if left in text else text


def _config_value(value: Any) -> str:  # noqa: ANN401
    if value is None or value == [] or value == "":
        return "–"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _numbered(sections: list[Section]) -> tuple[Section, ...]:
    counts = {"table": 0, "figure": 0}
    result = []
    for section in sections:
        exhibits = []
        for e in section.exhibits:
            counts[e.kind] += 1
            exhibits.append(replace(e, number=counts[e.kind]))
        result.append(replace(section, exhibits=tuple(exhibits)))
    return tuple(result)
