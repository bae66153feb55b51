"""Balancing an unbalanced panel for the spatial models: ``balance_panel``, ``--balance`` and ``[models] balance``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from spillmap._balance import balance_panel
from spillmap.cli import app
from spillmap.errors import PanelShapeError

TABLES = Path(__file__).parent / "data" / "bad_inputs" / "tables"
UNBALANCED = TABLES / "unbalanced.csv"  # 30 units, 2012–2019; '130200' lacks 2013 and 2017
COLS = ["--y", "y", "--id", "code", "--time", "year", "--controls", "x1,x2", "--treated-col", "did"]


@pytest.fixture
def small() -> pd.DataFrame:
    """a: complete; b: inner gap at 3; c: misses 1 (an edge); d: complete."""
    return pd.DataFrame({
        "id": ["a"] * 4 + ["b"] * 3 + ["c"] * 3 + ["d"] * 4,
        "t": [1, 2, 3, 4, 1, 2, 4, 2, 3, 4, 1, 2, 3, 4],
        "y": [1.0, 2, 3, 4, 10, 20, 40, 5, 6, 7, 0, 0, 0, 0],
        "x": [0.0, 0, 0, 0, 1, 3, 9, 1, 1, 1, 2, 2, 2, 2],
        "region": ["n"] * 7 + ["s"] * 7,
    })


def _rows(frame: pd.DataFrame) -> list[tuple]:
    return list(frame[["id", "t"]].itertuples(index=False, name=None))


def test_drop_units(small):
    before = small.copy()
    out, report = balance_panel(small, "id", "t", "drop-units", ["y", "x"])
    pd.testing.assert_frame_equal(small, before)
    assert _rows(out) == [("a", t) for t in range(1, 5)] + [("d", t) for t in range(1, 5)]
    assert list(report.columns) == ["unit", "year", "action", "column"]
    assert list(report.itertuples(index=False, name=None)) == [
        ("b", 1, "dropped", ""), ("b", 2, "dropped", ""), ("b", 4, "dropped", ""),
        ("c", 2, "dropped", ""), ("c", 3, "dropped", ""), ("c", 4, "dropped", "")]


def test_drop_periods(small):
    before = small.copy()
    out, report = balance_panel(small, "id", "t", "drop-periods", ["y", "x"])
    pd.testing.assert_frame_equal(small, before)
    assert _rows(out) == [(u, t) for u in "abcd" for t in (2, 4)]
    assert out.loc[out["id"] == "b", "y"].tolist() == [20.0, 40.0]
    assert set(report["year"]) == {1, 3} and set(report["action"]) == {"dropped"}
    assert len(report) == len(small) - len(out) == 6


def test_drop_periods_refuses_fewer_than_two(small):
    frame = small[~((small["id"] == "d") & (small["t"] == 4))]
    with pytest.raises(PanelShapeError, match="1 period"):
        balance_panel(frame, "id", "t", "drop-periods", ["y"])


def test_interpolate(small):
    before = small.copy()
    out, report = balance_panel(small, "id", "t", "interpolate", ["y", "x"])
    pd.testing.assert_frame_equal(small, before)
    assert _rows(out) == [(u, t) for u in "abd" for t in range(1, 5)]  # c misses an edge year: dropped
    b3 = out[(out["id"] == "b") & (out["t"] == 3)].iloc[0]
    assert b3["y"] == pytest.approx(30.0)  # halfway between 20 (t=2) and 40 (t=4)
    assert b3["x"] == pytest.approx(6.0)  # halfway between 3 and 9
    assert b3["region"] == "n"  # constant within the unit: carried
    assert out["t"].dtype == small["t"].dtype
    assert list(report.itertuples(index=False, name=None)) == [
        ("b", 3, "filled", "x"), ("b", 3, "filled", "y"),
        ("c", 2, "dropped", ""), ("c", 3, "dropped", ""), ("c", 4, "dropped", "")]


def test_interpolate_uneven_gap():
    frame = pd.DataFrame({"id": ["a"] * 5 + ["b"] * 2, "t": [1, 2, 3, 4, 5, 1, 5], "y": [0.0] * 5 + [1.0, 9.0]})
    out, report = balance_panel(frame, "id", "t", "interpolate", ["y"])
    assert out.loc[out["id"] == "b", "y"].tolist() == pytest.approx([1.0, 3.0, 5.0, 7.0, 9.0])
    assert (report["action"] == "filled").sum() == 3


def test_unknown_mode(small):
    with pytest.raises(Exception, match="drop-units"):
        balance_panel(small, "id", "t", "fill", ["y"])


def test_balance_inputs_recomputes_treatment():
    from spillmap.policy import balance_inputs, load_policy_inputs

    inputs = load_policy_inputs(UNBALANCED, y="y", id_col="code", time_col="year", controls=("x1", "x2"),
                                treated_col="did")
    data = inputs.data.copy()
    out = balance_inputs(inputs, "interpolate")
    pd.testing.assert_frame_equal(inputs.data, data)
    assert len(out.data) == 30 * 8
    unit = out.data[out.data["code"].astype(str) == "130200"].set_index("year")
    fy = unit["first_year"].iloc[0]
    assert (unit["did"] == (unit.index >= fy).astype(int)).all()
    assert set(out.balance_report.loc[out.balance_report["action"] == "filled", "year"]) == {2013, 2017}


# ---------------------------------------------------------------- the commands


def _invoke(args: list) -> object:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("how", ["drop-units", "drop-periods", "interpolate"])
def test_sdid_balance(tmp_path, how):
    out = tmp_path / "sdid"
    result = _invoke(["sdid", UNBALANCED, *COLS, "--effects", "20", "--no-event-study", "--balance", how,
                      "--out", out])
    assert f"(--balance {how})" in result.output and "balance.csv" in result.output
    report = pd.read_csv(out / "balance.csv")
    assert list(report.columns) == ["unit", "year", "action", "column"]
    summary = json.loads((out / "sdid_summary.json").read_text(encoding="utf-8"))
    assert summary["balance"]["how"] == how
    expect = {"drop-units": (6, 0), "drop-periods": (58, 0), "interpolate": (0, 2)}[how]
    assert (summary["balance"]["dropped_rows"], summary["balance"]["filled_rows"]) == expect


@pytest.mark.parametrize("how", ["drop-units", "drop-periods", "interpolate"])
def test_sweep_balance(tmp_path, how):
    out = tmp_path / "sweep"
    result = _invoke(["sweep", UNBALANCED, *COLS, "--band", "100", "--max", "200", "--effects", "20",
                      "--workers", "0", "--no-cache", "--balance", how, "--out", out])
    assert f"(--balance {how})" in result.output
    report = pd.read_csv(out / "balance.csv", dtype={"unit": str})
    assert set(report["action"]) == ({"filled"} if how == "interpolate" else {"dropped"})
    if how != "drop-periods":
        assert set(report["unit"]) == {"130200"}


def test_refusal_names_the_option(tmp_path):
    result = CliRunner().invoke(app, [str(a) for a in ["sdid", UNBALANCED, *COLS, "--effects", "20",
                                                         "--no-event-study", "--out", tmp_path / "o"]])
    assert result.exit_code != 0
    text = " ".join(result.output.split())
    for part in ("unbalanced", "29 of 30 units", "'130200' (6 of 8) lacks 2013, 2017", "Years missing most: 2013",
                 "--balance drop-units, drop-periods or interpolate"):
        assert part in text, text
    assert not (tmp_path / "o").exists()


def _config(tmp_path: Path, balance: str | None) -> Path:
    text = (f'[panel]\npath = "{UNBALANCED}"\nid = "code"\ntime = "year"\noutcome = "y"\ncontrols = ["x1", "x2"]\n'
            'treated = "did"\n[models]\nplacebo = 0\neffects_draws = 20\nrobust = false\nevent_study = false\n'
            + (f'balance = "{balance}"\n' if balance is not None else "")
            + '[sweep]\nenabled = false\n[output]\nworkers = 0\nformats = []\n')
    path = tmp_path / "run.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_config_key_checked(tmp_path):
    from spillmap.config import ConfigError, load_config

    assert load_config(_config(tmp_path, "drop-units"))["models"]["balance"] == "drop-units"
    with pytest.raises(ConfigError, match=r"\[models\] balance = 'fill'; choose one of"):
        load_config(_config(tmp_path, "fill"))


def test_config_refusal_names_the_key(tmp_path):
    result = CliRunner().invoke(app, ["run", str(_config(tmp_path, None)), "--out", str(tmp_path / "o")])
    assert result.exit_code != 0
    text = " ".join(result.output.split())
    assert "[models] balance" in text and "--" not in text.split("rror:", 1)[-1], text


def test_run_config_balance(tmp_path):
    from spillmap.config import load_config
    from spillmap.run import run_analysis

    config = load_config(_config(tmp_path, "drop-units"))
    config["models"]["did"] = True
    out = tmp_path / "run"
    steps: list[str] = []
    _, headline = run_analysis(config, out, step=steps.append)
    assert any("([models] balance drop-units)" in s for s in steps)
    assert headline["balance"]["dropped_units"] == 1
    report = pd.read_csv(out / "balance.csv", dtype={"unit": str})
    assert set(report["unit"]) == {"130200"}
    assert headline["panel"]["rows"] == 30 * 8 - 2  # the DID chain keeps the unbalanced panel
