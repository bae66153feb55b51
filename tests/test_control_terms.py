"""Controls written as formula terms in the DID chain (spillmap._terms through load_policy_inputs).

Cases: ``np.log(pop)``, ``x1:x2`` and a time-varying ``C(size)`` give the same TWFE estimates as the
same columns built by hand (to 1e-10); the publication table prints the terms' formulaic names; a log of
zero, an unknown column and an unknown function are one message each naming the term, the option and
(for the log) the row; the caller's frame is not modified; the CLI takes terms in ``--controls``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from spillmap.cli import app
from spillmap.errors import MissingColumnError, PanelShapeError
from spillmap.models import fit_did
from spillmap.policy import load_policy_inputs, run_did

from .models.did_data import staggered_panel


@pytest.fixture(scope="module")
def frame():
    d, g = staggered_panel(n=120, seed=3)
    rng = np.random.default_rng(1)
    d["fy"] = d["unit"].map(g)
    d["pop"] = np.exp(d["x1"])
    d["size"] = rng.choice(["small", "medium", "large"], len(d))  # varies within units: not absorbed
    return d


def _inputs(frame, controls):
    return load_policy_inputs(frame, y="y", id_col="unit", time_col="year", controls=controls, first_year_col="fy")


def test_terms_equal_hand_built_columns(frame):
    before = frame.copy()
    inp = _inputs(frame, ["np.log(pop)", "x1:x2", "C(size)"])
    pd.testing.assert_frame_equal(frame, before)  # the caller's frame is not modified
    hand = frame.assign(lp=np.log(frame["pop"]), x12=frame["x1"] * frame["x2"],
                        s_m=(frame["size"] == "medium").astype(float), s_s=(frame["size"] == "small").astype(float))
    ref = fit_did(_inputs(hand, ["lp", "x12", "s_m", "s_s"]).data, "y", id_col="unit", time_col="year",
                  controls=["lp", "x12", "s_m", "s_s"])
    got = fit_did(inp.data, "y", id_col="unit", time_col="year", controls=list(inp.controls))
    np.testing.assert_allclose(got.table["estimate"].to_numpy(), ref.table["estimate"].to_numpy(), rtol=1e-10)
    assert inp.labels == {"np_log_pop": "np.log(pop)", "x1_x2": "x1:x2", "C_size_T_medium": "C(size)[T.medium]",
                          "C_size_T_small": "C(size)[T.small]"}


def test_table_prints_term_names(frame, tmp_path):
    run_did(_inputs(frame, ["np.log(pop)", "C(size)"]), tmp_path / "o", placebo_draws=0, robust=False,
            paper_formats=("md",))
    md = (tmp_path / "o" / "tables" / "baseline.md").read_text()
    assert "| np.log(pop) |" in md and "| C(size)[T.small] |" in md


@pytest.mark.parametrize(("controls", "error", "needles"), [
    (["np.log(zero)"], PanelShapeError, ["'np.log(zero)'", "--controls", "row 1 (u", "np.log1p"]),
    (["np.log(nope)"], MissingColumnError, ["'nope'", "--controls"]),
    (["np.lg(pop)"], PanelShapeError, ["'np.lg(pop)'", "--controls", "np.log(x)"]),
])
def test_bad_terms_one_message(frame, controls, error, needles):
    with pytest.raises(error) as caught:
        _inputs(frame.assign(zero=0.0), controls)
    text = str(caught.value)
    assert "\n" not in text
    for needle in needles:
        assert needle in text


def test_cli_takes_terms(frame, tmp_path):
    path = tmp_path / "panel.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "o"
    result = CliRunner().invoke(app, ["did", str(path), "--y", "y", "--id", "unit", "--time", "year",
                                      "--first-year-col", "fy", "--controls", "np.log(pop),x2", "--placebo", "0",
                                      "--no-robust", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "| np.log(pop) |" in (out / "tables" / "baseline.md").read_text()
