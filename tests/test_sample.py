"""Alternative samples (issue 13): --exclude-units, --exclude-if, --years, --drop-batch and ``[sample]``.

Cases: each option on a small panel through ``spillmap did`` (sample.csv and the one summary line), the
same through ``spillmap run`` with a ``[sample]`` section, the helpers leave the caller's frame alone,
and unknown ids, columns, batches and malformed conditions are one clear error each.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from spillmap import gis
from spillmap._sample import SampleSpec, apply_sample, parse_condition, parse_years
from spillmap.cli import app
from spillmap.config import ConfigError, load_config
from spillmap.errors import SpillmapError

from .bad_inputs import run_bad


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


@pytest.fixture(scope="module")
def panel_file(tmp_path_factory):
    """40 shipped-layer units × 2010–2020, batches 2014 and 2016, a 'capital' flag, effect 1 after treatment."""
    folder = tmp_path_factory.mktemp("sample")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        codes = list(gis.read_china_layer()[gis.CHINA_ID].astype(str)[:40])
    rng = np.random.default_rng(5)
    rows = []
    for i, code in enumerate(codes):
        fy = 2014 if i % 4 == 0 else 2016 if i % 4 == 1 else None
        for year in range(2010, 2021):
            d = int(fy is not None and year >= fy)
            rows.append({"code": code, "year": year, "capital": int(i < 3), "province": f"p{i % 5}",
                         "x1": rng.normal(), "d": d, "y": d + 0.1 * i + 0.05 * year + rng.normal(scale=0.3)})
    pd.DataFrame(rows).to_csv(folder / "panel.csv", index=False)
    (folder / "drop.txt").write_text("# units to drop\n" + "\n".join(codes[3:5]) + "\n", encoding="utf-8")
    return folder, codes


ARGS = ["--y", "y", "--id", "code", "--time", "year", "--controls", "x1", "--treated-col", "d", "--placebo", "0",
        "--workers", "0", "--no-robust"]


@pytest.mark.parametrize(("option", "units", "years", "reason"), [
    (["--exclude-units", "{c0},{c1}"], 38, 11, "--exclude-units"),
    (["--exclude-units", "@{folder}/drop.txt"], 38, 11, "--exclude-units"),
    (["--exclude-if", "capital == 1"], 37, 11, "--exclude-if capital == 1"),
    (["--exclude-if", "province in p0|p1"], 24, 11, "--exclude-if province in p0|p1"),
    (["--years", "2012-2019"], 40, 8, "--years 2012-2019"),
    (["--drop-batch", "2016"], 30, 11, "--drop-batch 2016"),
])
def test_did_alternative_sample(runner, panel_file, tmp_path, option, units, years, reason):
    folder, codes = panel_file
    option = [o.format(c0=codes[0], c1=codes[1], folder=folder) for o in option]
    out = tmp_path / "did"
    result = runner.invoke(app, ["did", str(folder / "panel.csv"), *ARGS, *option, "--out", str(out)])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("Sample:"))
    assert f"removed {40 - units} unit(s) and {11 - years} year(s)" in line
    report = pd.read_csv(out / "sample.csv", dtype=str)
    assert list(report.columns) == ["unit", "year", "reason"] and (report["reason"] == reason).all()
    did = json.loads((out / "did_summary.json").read_text())
    assert did["baseline"]["nobs"] == units * years if "nobs" in did["baseline"] else True


def test_helpers_leave_frame_alone():
    frame = pd.DataFrame({"u": ["a", "a", "b", "b"], "t": [1, 2, 1, 2], "c": [1, 1, 0, 0]})
    before = frame.copy()
    kept, report = apply_sample(frame, SampleSpec(exclude_if=(parse_condition("c >= 1"),), years=(2, 2)),
                                id_col="u", time_col="t")
    pd.testing.assert_frame_equal(frame, before)
    assert kept.to_dict("list") == {"u": ["b"], "t": [2], "c": [0]} and len(report) == 2
    assert parse_years("2011-2019") == (2011, 2019) and parse_years([2011, 2019], "[sample] years") == (2011, 2019)
    for bad in ("capital", "capital = 1", "== 1", "x in "):
        with pytest.raises(SpillmapError):
            parse_condition(bad)


CONFIG = """
[panel]
path = "panel.csv"
id = "code"
time = "year"
outcome = "y"
controls = ["x1"]
treated = "d"

[sample]
{sample}

[models]
sdid = false
placebo = 0
robust = false
event_study = false

[sweep]
enabled = false

[output]
workers = 0
formats = ["gpkg"]
"""


def test_run_config_sample(runner, panel_file, tmp_path):
    folder, codes = panel_file
    config = folder / "sample.toml"
    config.write_text(CONFIG.format(sample=f'exclude_units = ["{codes[5]}"]\nexclude_if = ["capital == 1"]\n'
                                           'years = [2011, 2019]\ndrop_batch = [2014]'), encoding="utf-8")
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", str(config), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Sample: removed 13 unit(s) and 2 year(s)" in " ".join(result.output.split())
    report = pd.read_csv(out / "sample.csv", dtype=str)
    assert {"[sample] exclude_units", "[sample] exclude_if capital == 1", "[sample] years 2011-2019",
            "[sample] drop_batch 2014"} == set(report["reason"])


@pytest.mark.parametrize(("text", "message"), [
    ("years = [2019, 2011]", "[sample] years = [2019, 2011]"),
    ("years = [2011]", "[sample] years"),
    ('drop_batch = ["2016"]', "[sample] drop_batch must list whole years"),
    ('exclude_if = ["capital = 1"]', "[sample] exclude_if"),
    ("exclude = []", "unknown key 'exclude' in [sample]"),
    ('exclude_units = "a"', "[sample] exclude_units must be a list"),
])
def test_config_sample_errors(tmp_path, text, message):
    path = tmp_path / "c.toml"
    path.write_text(CONFIG.format(sample=text).replace('path = "panel.csv"', f'path = "{tmp_path / "p.csv"}"'),
                    encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert message in str(err.value)


@pytest.mark.parametrize(("option", "expect"), [
    (["--exclude-units", "nope1,{c0},nope2"], ["--exclude-units", "'nope1'", "'nope2'", "column 'code'"]),
    (["--exclude-if", "capitol == 1"], ["--exclude-if", "'capitol'"]),
    (["--exclude-if", "capital = 1"], ["--exclude-if", "COLUMN OP VALUE"]),
    (["--years", "2019-2011"], ["--years", "after the last"]),
    (["--years", "2030-2031"], ["--years", "keeps no row"]),
    (["--drop-batch", "2015"], ["--drop-batch 2015", "2014, 2016"]),
])
def test_sample_errors(panel_file, tmp_path, option, expect):
    folder, codes = panel_file
    option = [o.format(c0=codes[0]) for o in option]
    run_bad(["did", folder / "panel.csv", *ARGS, *option, "--out", tmp_path / "o"], expect=expect,
            out=tmp_path / "o", inputs=[folder / "panel.csv"])


# ---------------------------------------------------------------- pilot tables keyed by unit id (issue 13, point 4)

BASE = ["--y", "y", "--id", "code", "--time", "year", "--controls", "x1", "--placebo", "0", "--workers", "0",
        "--no-robust", "--json"]


def _pilot_table(codes, id_name="code", year_name="first_year"):
    rows = [(c, 2014 if i % 4 == 0 else 2016) for i, c in enumerate(codes) if i % 4 in (0, 1)]
    return pd.DataFrame(rows + [("999999", 2015)], columns=[id_name, year_name])


def test_did_pilots_keyed_by_id(runner, panel_file, tmp_path):
    folder, codes = panel_file
    _pilot_table(codes).to_csv(tmp_path / "pilots.csv", index=False)
    _pilot_table(codes, "city", "batch").to_csv(tmp_path / "named.csv", index=False)
    by_col = runner.invoke(app, ["did", str(folder / "panel.csv"), *BASE, "--treated-col", "d", "--out",
                                 str(tmp_path / "a")])
    detected = runner.invoke(app, ["did", str(folder / "panel.csv"), *BASE, "--pilots", str(tmp_path / "pilots.csv"),
                                   "--out", str(tmp_path / "b")])
    named = runner.invoke(app, ["did", str(folder / "panel.csv"), *BASE, "--pilots", str(tmp_path / "named.csv"),
                                "--pilots-id", "city", "--pilots-year", "batch", "--out", str(tmp_path / "c")])
    for result in (by_col, detected, named):
        assert result.exit_code == 0, result.output
    a, b, c = (json.loads(r.stdout[r.stdout.index("{"):]) for r in (by_col, detected, named))
    assert a["baseline"]["estimate"] == pytest.approx(b["baseline"]["estimate"], rel=1e-10)
    assert b["baseline"]["estimate"] == pytest.approx(c["baseline"]["estimate"], rel=1e-10)
    unmatched = pd.read_csv(tmp_path / "b" / "pilots_unmatched.csv", dtype=str)
    assert list(unmatched["unmatched_unit"]) == ["999999"]


def test_pilots_keyed_by_id_errors(panel_file, tmp_path):
    folder, codes = panel_file
    pd.DataFrame({"code": ["999998", "999999"], "first_year": [2014, 2016]}).to_csv(tmp_path / "none.csv", index=False)
    _pilot_table(codes).to_csv(tmp_path / "pilots.csv", index=False)
    args = ["did", folder / "panel.csv", *BASE[:-1], "--out", tmp_path / "o"]
    run_bad([*args, "--pilots", tmp_path / "none.csv"], expect=["none.csv", "column 'code'", "'999998'",
                                                                 "no unit is treated"], out=tmp_path / "o")
    run_bad([*args, "--pilots", tmp_path / "pilots.csv", "--pilots-id", "city"],
            expect=["'city' (--pilots-id)", "'code'", "'first_year'"], out=tmp_path / "o")


def test_run_config_pilots_keyed_by_id(runner, panel_file, tmp_path):
    folder, codes = panel_file
    _pilot_table(codes, "city", "batch").to_csv(folder / "ids.csv", index=False)
    text = CONFIG.format(sample="years = [2011, 2020]").replace(
        'treated = "d"', 'pilots = "ids.csv"\npilots_id = "city"\npilots_year = "batch"')
    config = folder / "pilots.toml"
    config.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["run", str(config), "--out", str(tmp_path / "run"), "--json"])
    assert result.exit_code == 0, result.output
    headline = json.loads(result.stdout[result.stdout.index("{"):])
    assert headline["treatment"]["pilots_match"] == {"matched": 20, "table_rows": 21, "not_in_panel": 1,
                                                     "panel_not_in_table": 20}
    assert (tmp_path / "run" / "pilots_unmatched.csv").exists()
    with pytest.raises(ConfigError, match=r"\[panel\] pilots_id / pilots_year"):
        bad = folder / "bad.toml"
        bad.write_text(CONFIG.format(sample="").replace('treated = "d"', 'pilots_id = "city"'), encoding="utf-8")
        load_config(bad)
