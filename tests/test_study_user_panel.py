"""The whole study from one config on an unbalanced panel of a user's own (issue: the study on a user's data).

The config is the README's ("The whole study on your own panel, from one config"), with fewer draws.
The user's files: a prefecture panel (CSV) with gaps — 4 % of (city, year) rows missing, as city
yearbooks miss years — its ids as text codes, indicators for an entropy-weight outcome index, a
population column entering as ``np.log(pop)``, a region column, a mediator and a moderator; and a pilot
table keyed by city code (code, first_year). One ``spillmap run`` config drives every step of the study:
index → baseline → event study → placebo → robustness (did2s, Sun–Abraham, Callaway–Sant'Anna, PSM-DID)
→ heterogeneity → mechanism → moderation → SDM-DID under geographic, economic and nested weights →
distance bands. The DID chain runs on the unbalanced panel as given; the spatial steps on the panel
balanced by ``[models] balance = "drop-units"`` (balance.csv says what was dropped).

Checks: exit 0; every table of the study in publication form (Markdown, LaTeX, Word, HTML) under
``did/tables``, ``sdid/tables`` and ``sweep/tables``; the baseline's DID cell equals the headline's
estimate with its stars; the DID chain used every row of the unbalanced panel; the SDM-DID table has one
column per weights matrix; no file says SYNTHETIC (the data are the user's).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from spillmap._paper import PAPER_FORMATS
from spillmap.cli import app

from .models.sweep_data import siphon_panel

def _readme_config() -> str:
    """The README's config for this study (the ```toml block naming pilots_id), with fewer draws for the suite."""
    import tomllib
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = next(b[:b.index("```")] for b in text.split("```toml")[1:] if "pilots_id" in b)
    config = tomllib.loads(block)
    config["models"].update(placebo=20, bootstrap=20, effects_draws=100, event_study=False)
    config["sweep"] = {"band_km": 100.0, "max_km": 400.0}
    config["output"] = {"workers": 0, "formats": ["gpkg"]}
    return _toml(config)


def _toml(config: dict) -> str:
    def value(v):  # noqa: ANN001, ANN202
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace('"', '\\"') + '"'
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + "}"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return repr(v)

    return "\n".join(f"[{section}]\n" + "\n".join(f"{k} = {value(v)}" for k, v in keys.items()) + "\n"
                     for section, keys in config.items())


TABLES = {
    "did": ["baseline", "event_study", "robustness", "heterogeneity_region", "mechanism_x2", "moderation_x1"],
    "sdid": ["sdid", "sdid_by_weights"],
    "sweep": ["distance_bands"],
}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("study")
    panel = siphon_panel(seed=11)
    rng = np.random.default_rng(11)
    n = len(panel)
    panel = panel.assign(
        income=panel["y"] + rng.normal(0, 0.5, n), edu=0.5 * panel["y"] + rng.normal(0, 1, n),
        gini=-0.3 * panel["y"] + rng.normal(0, 1, n), pop=np.exp(rng.normal(5, 0.3, n)),
        region=panel["code"].str[:1].map(lambda c: "north" if c in "1256" else "south"),
    )
    pilots = panel.groupby("code")["first_year"].first().dropna().astype(int).rename("first_year").reset_index()
    pilots.to_csv(folder / "pilots.csv", index=False)
    keep = rng.random(n) > 0.04  # yearbooks miss years: 4 % of the rows are gone
    columns = ["code", "year", "income", "edu", "gini", "x1", "x2", "pop", "region"]
    panel.loc[keep, columns].to_csv(folder / "panel.csv", index=False)
    (folder / "config.toml").write_text(_readme_config(), encoding="utf-8")
    out = folder / "out"
    result = CliRunner().invoke(app, ["run", str(folder / "config.toml"), "--out", str(out), "--json"])
    return folder, out, result, int(keep.sum())


def test_runs_whole(study):
    _, _, result, _ = study
    assert result.exit_code == 0, result.output


def test_every_study_table_in_publication_form(study):
    _, out, _, _ = study
    for step, names in TABLES.items():
        written = {p.name for p in (out / step / "tables").iterdir()}
        assert written == {f"{n}.{f}" for n in names for f in PAPER_FORMATS}, step


def test_baseline_cell_is_the_headline_estimate(study):
    _, out, _, rows = study
    summary = json.loads((out / "did" / "did_summary.json").read_text())
    base = summary["baseline"]
    assert base["n_obs"] == rows  # the DID chain used the unbalanced panel as given
    p = base["p_value"]
    stars = "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.1 else ""
    md = (out / "did" / "tables" / "baseline.md").read_text()
    assert f"| DID (treated × post) | " in md and f"{base['estimate']:.3f}{stars} |" in md
    assert "| np.log(pop) |" in md  # a control given as a formula term, printed by its name


def test_sdid_by_weights_has_one_column_per_matrix(study):
    _, out, _, _ = study
    md = (out / "sdid" / "tables" / "sdid_by_weights.md").read_text()
    assert "| | geo | econ | nested |" in md
    assert (out / "balance.csv").exists() or any(out.rglob("balance.csv"))


def test_robustness_has_every_estimator(study):
    _, out, _, _ = study
    md = (out / "did" / "tables" / "robustness.md").read_text()
    assert "| | TWFE | did2s (Gardner) | Sun–Abraham | Callaway–Sant'Anna | PSM-DID |" in md


def test_real_data_carries_no_synthetic_label(study):
    _, out, _, _ = study
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in (".md", ".tex", ".html"):
            assert "SYNTHETIC" not in path.read_text(encoding="utf-8"), path
