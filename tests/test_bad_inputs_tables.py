"""Bad tables, panels and run configs: one message each, through every command that takes them.

Cases live in ``tests/data/bad_inputs/tables/`` (README.md there says what is wrong with each file;
``make_cases.py`` rebuilds them from ``base_panel.csv``). Each case runs through the commands that read
that input (``fit``, ``did``, ``sdid``, ``sweep``, ``index``, ``run``) via :func:`bad_inputs.run_bad`:
exit 1, one ``error:`` line naming the file/column/row/unit or config key and the fix, no traceback,
``--out`` untouched, the input bytes unchanged. Files that should now *work* (ids with leading zeros,
GB18030 CSV, Stata value labels) and warnings (a time-invariant control) are checked at the end.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spillmap.cli import app

from .bad_inputs import BAD_INPUTS, run_bad

TABLES = BAD_INPUTS / "tables"
BASE = TABLES / "base_panel.csv"
WEIGHTS = TABLES / "base_weights.gal"
COLS = ["--y", "y", "--id", "code", "--time", "year", "--controls", "x1,x2"]
ALL = ("fit", "did", "sdid", "sweep", "run")
DID_ONLY = ("did", "sdid", "sweep", "run")  # the commands that assign treatment


def _args(command: str, panel: Path, out: Path, treatment: tuple[str, ...], extra: tuple[str, ...] = ()) -> list:
    if command == "fit":
        return ["fit", panel, "--weights", WEIGHTS, "--formula", "y ~ x1 + x2 + did", "--id", "code", "--time", "year",
                "--effects", "0", "--out", out, *extra]
    if command == "index":
        return ["index", panel, "--positive", "x1", "--negative", "x2", "--id", "code", "--out", out / "p.csv", *extra]
    common = [panel, *COLS, *treatment, "--out", out, *extra]
    if command == "did":
        return ["did", *common, "--placebo", "0", "--workers", "0", "--no-robust"]
    if command == "sdid":
        return ["sdid", *common, "--effects", "20", "--no-event-study"]
    if command == "sweep":
        return ["sweep", *common, "--band", "100", "--max", "300", "--effects", "20", "--workers", "0", "--no-cache"]
    raise AssertionError(command)


_KEYS = {"--treated-col": "treated", "--first-year-col": "first_year", "--pilots": "pilots"}


def _config(tmp_path: Path, panel: Path, treatment: tuple[str, ...], extra: str = "") -> Path:
    lines = ["[panel]", f'path = "{panel}"', 'id = "code"', 'time = "year"', 'outcome = "y"',
             'controls = ["x1", "x2"]']
    for flag, value in zip(treatment[::2], treatment[1::2]):
        lines.append(f'{_KEYS[flag]} = "{value}"')
    text = "\n".join(lines) + "\n[models]\nplacebo = 0\neffects_draws = 20\nrobust = false\n" \
        "[sweep]\nband_km = 100.0\nmax_km = 300.0\n[output]\nworkers = 0\n" + extra
    path = tmp_path / "run.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _flag_to_key(fragment: str) -> str:
    return {"--treated-col": "[panel] treated", "--first-year-col": "[panel] first_year", "--y": "[panel] outcome",
            "--controls": "[panel] controls", "--time": "[panel] time", "--id": "[panel] id",
            "--pilots": "[panel] pilots"}.get(fragment, fragment)


TREATED = ("--treated-col", "did")
FIRST = ("--first-year-col", "fy")

#: (case file, treatment options, expected fragments, commands)
PANEL_CASES = [
    ("one_period.csv", TREATED, ["one_period.csv", "one period (2015)", "several units"], ALL),
    ("one_unit.csv", TREATED, ["one_unit.csv", "one unit ('110000')"], ALL),
    ("inf_y.csv", TREATED, ["inf_y.csv", "column 'y'", "infinite", "row 5 (unit '130300', 2012)"], ALL),
    ("inf_control.csv", TREATED, ["column 'x1'", "infinite", "row 7"], ALL),
    ("nan_y.csv", TREATED, ["nan_y.csv", "column 'y'", "empty on 1 row", "row 3"], ALL),
    ("nan_control.csv", TREATED, ["column 'x2'", "row 10", "fill those cells"], ALL),
    ("text_thousands.csv", TREATED, ["column 'y'", "row 4 ('1,234')", "thousands separators"], ALL),
    ("text_excel_error.csv", TREATED, ["column 'x1'", "row 12 ('#DIV/0!')", "replace those cells"], ALL),
    ("text_dash.csv", TREATED, ["column 'x2'", "row 20 ('—')"], ALL),
    ("semicolon_decimal_comma.csv", TREATED, ["column 'y'", "row 1", "decimals with a point"], ALL),
    ("fy_after_panel.csv", FIRST, ["no unit", "treated within its periods 2012–2019", "(e.g. 2030)"], DID_ONLY),
    ("fy_text.csv", FIRST, ["column 'fy'", "row 9 ('2015年')"], DID_ONLY),
    ("all_treated_same_year.csv", TREATED, ["every unit", "first treated in 2015", "no unit is left untreated"],
     DID_ONLY),
    ("all_treated_same_year.csv", FIRST, ["every unit", "column 'fy'"], DID_ONLY),
    ("none_treated.csv", TREATED, ["no unit of", "none_treated.csv", "column 'did'"], DID_ONLY),
    ("none_treated.csv", FIRST, ["no unit of", "column 'fy'"], DID_ONLY),
    ("duplicate_rows.csv", TREATED, ["1 duplicate (unit, period) row", "row 41", "row 42", "drop or aggregate"], ALL),
    ("unbalanced.csv", TREATED, ["unbalanced", "29 of 30 units", "'130200' (6 of 8)"], ("fit", "sdid", "sweep")),
    ("header_only.csv", TREATED, ["header_only.csv", "header", "no data rows"], (*ALL, "index")),
    ("empty.csv", TREATED, ["empty.csv", "empty"], (*ALL, "index")),
    ("time_text.csv", TREATED, ["column 'year'", "row 2 ('2012年')"], ALL),
    ("time_fraction.csv", TREATED, ["column 'year'", "whole", "2012.5"], ALL),
    ("id_empty.csv", TREATED, ["column 'code'", "row 6", "fill in the unit ids"], ALL),
    ("treated_not_01.csv", TREATED, ["'did'", "0/1", "15"], DID_ONLY),
    ("treated_switches_off.csv", TREATED, ["'did'", "switches from 1 back to 0", "110000"], DID_ONLY),
    ("panel.xlsx", TREATED, ["panel.xlsx", "spreadsheet", "CSV UTF-8"], (*ALL, "index")),
    ("latin1.csv", TREATED, ["latin1.csv", "not UTF-8", "line 2", "CSV UTF-8"], (*ALL, "index")),
    ("outcome_renamed.csv", TREATED, ["has no column 'y'", "Y_value"], ALL),
    ("ids_are_names.csv", (), ["none of the 30 units", "'北京市'", "--treated-col"], DID_ONLY),
    ("markup_ids.csv", TREATED, ["unbalanced", "'[/red]' (7 of 8)", "'[bold]x[/bold]' (7 of 8)"],
     ("fit", "sdid", "sweep", "run")),
    ("text_y.dta", TREATED, ["text_y.dta", "column 'y'", "row 7 ('1,234')"], ALL),
    ("header_only.dta", TREATED, ["header_only.dta", "no data rows"], (*ALL, "index")),
    ("inf_control.parquet", TREATED, ["inf_control.parquet", "column 'x2'", "infinite", "row 9"], ALL),
]

PILOT_CASES = [
    ("pilots_match_nothing.csv", ["no entry of", "pilots_match_nothing.csv", "prefecture_units_zh"]),
    # keyed by a code column not named like the panel's id (a table with a 'code' column is joined by id)
    ("pilots_by_city_code.csv", ["pilots_by_city_code.csv", "prefecture_units_zh", "column 'city_code'",
                                 "pilots", "merge its years"]),
]

INDEX_CASES = [
    ("text_excel_error.csv", ["column 'x1'", "row 12 ('#DIV/0!')"]),
    ("text_dash.csv", ["column 'x2'", "row 20"]),
    ("inf_control.csv", ["column 'x1'", "infinite", "row 7"]),
    ("outcome_renamed.csv", None),  # index does not read y: not a bad input for it
]


def _expand(cases):
    for file, treatment, expect, commands in cases:
        for command in commands:
            yield pytest.param(file, treatment, expect, command, id=f"{file}-{'-'.join(treatment) or 'pilots'}-{command}")


@pytest.fixture
def out(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


@pytest.mark.parametrize(("file", "treatment", "expect", "command"), list(_expand(PANEL_CASES)))
def test_bad_panel(tmp_path, out, file, treatment, expect, command):
    panel = TABLES / file
    if command == "run":
        config = _config(tmp_path, panel, treatment)
        expect = [_flag_to_key(e) if e.startswith("--") else e for e in expect]
        run_bad(["run", config, "--out", out], expect=expect, out=out, inputs=[panel, config])
    else:
        run_bad(_args(command, panel, out, treatment), expect=expect, out=out, inputs=[panel])


@pytest.mark.parametrize(("file", "expect"), PILOT_CASES)
@pytest.mark.parametrize("command", DID_ONLY)
def test_bad_pilot_table(tmp_path, out, file, expect, command):
    pilots = TABLES / file
    if command == "run":
        config = _config(tmp_path, BASE, ("--pilots", str(pilots)))
        run_bad(["run", config, "--out", out], expect=expect, out=out, inputs=[BASE, pilots, config])
    else:
        run_bad(_args(command, BASE, out, ("--pilots", pilots)), expect=expect, out=out, inputs=[BASE, pilots])


@pytest.mark.parametrize(("file", "expect"), [c for c in INDEX_CASES if c[1]])
def test_bad_index_panel(out, file, expect):
    run_bad(_args("index", TABLES / file, out, ()), expect=expect, out=out, inputs=[TABLES / file])


CONFIG_CASES = [
    ("[models]\nplacebo = -5\n", ["[models] placebo = -5", "0 (no placebo) or more"]),
    ("[sweep]\nband_km = -50.0\n", ["[sweep] band_km = -50.0", "above 0 km"]),
    ("[sweep]\nmin_km = 400.0\n", ["[sweep] max_km", "beyond min_km"]),
    ("[sweep]\nband_km = 1000.0\n", ["[sweep] band_km = 1000.0", "wider than the swept distance"]),
    ("[models]\nleads = -1\n", ["[models] leads = -1"]),
    ("[models]\neffects_draws = 0\n", ["[models] effects_draws = 0", "1 or more"]),
    ("[weights]\ncutoff_km = -10.0\n", ["[weights] cutoff_km = -10.0"]),
    ("[weights]\nkind = 'knn'\nk = 0\n", ["[weights] k = 0"]),
    ("[weights]\nalpha = -1.0\n", ["[weights] alpha = -1.0"]),
    ("[weights]\nkind = 'ring'\ncutoff_km = 100.0\ninner_km = 200.0\n", ["[weights] inner_km", "below cutoff_km"]),
    ("[sweep]\nmin_linked_share = 1.5\n", ["[sweep] min_linked_share = 1.5", "between 0 and 1"]),
    ("[output]\nworkers = -2\n", ["[output] workers = -2"]),
    ("[output]\nclasses = 1\n", ["[output] classes = 1"]),
    ("[output]\ngeotiff_resolution_m = 0.0\n", ["[output] geotiff_resolution_m = 0.0"]),
    ("[output]\nmap_year = 1990\n", ["[output] map_year = 1990", "2012–2019"]),
    ("[models]\ngroups = [1, 2]\n", ["[models] groups", "names in quotes"]),
    ("[sweep]\nmax_km = inf\n", ["[sweep] max_km = inf"]),
]


def _merge(base: str, extra: str) -> str:
    """Put ``extra``'s keys into ``base``'s sections (TOML forbids a section twice)."""
    import re

    sections: dict[str, list[str]] = {}
    order: list[str] = []
    for text in (base, extra):
        current = ""
        for line in text.splitlines():
            m = re.fullmatch(r"\[(\w+)\]", line.strip())
            if m:
                current = m.group(1)
                if current not in sections:
                    sections[current], _ = [], order.append(current)
                continue
            if line.strip():
                key = line.split("=")[0].strip()
                sections.setdefault(current, [])
                sections[current] = [ln for ln in sections[current] if ln.split("=")[0].strip() != key] + [line]
    return "\n".join(f"[{s}]\n" + "\n".join(sections[s]) for s in order) + "\n"


@pytest.mark.parametrize(("extra", "expect"), CONFIG_CASES, ids=[c[1][0] for c in CONFIG_CASES])
def test_bad_config(tmp_path, out, extra, expect):
    config = _config(tmp_path, BASE, TREATED)
    config.write_text(_merge(config.read_text(encoding="utf-8"), extra), encoding="utf-8")
    message = run_bad(["run", config, "--out", out], expect=expect, out=out, inputs=[BASE, config])
    assert "--" not in message.split("error:", 1)[1], f"a config error names a CLI flag: {message}"


@pytest.mark.parametrize(("treatment", "extra", "expect"), [
    (TREATED, 'controls = ["x1", "x9"]', ["[panel] controls", "'x9'", "its columns are"]),
    (TREATED, 'outcome = "Y"', ["[panel] outcome", "did you mean 'y'"]),
    (("--treated-col", "did", "--first-year-col", "fy"), "", ["[panel] sets both treated and first_year"]),
    (TREATED, "", ["unbalanced", "[models] sdid = false"]),
])
def test_bad_config_panel_keys(tmp_path, out, treatment, extra, expect):
    panel = TABLES / ("unbalanced.csv" if "unbalanced" in expect else "base_panel.csv")
    config = _config(tmp_path, panel, treatment)
    if extra:
        config.write_text(_merge(config.read_text(encoding="utf-8"), "[panel]\n" + extra + "\n"), encoding="utf-8")
    message = run_bad(["run", config, "--out", out], expect=expect, out=out, inputs=[panel, config])
    assert "--" not in message.split("error:", 1)[1]


@pytest.mark.parametrize("command", ["did", "sdid", "sweep"])
def test_flags_named_on_the_command_line(out, command):
    run_bad(_args(command, BASE, out, ("--treated-col", "did", "--first-year-col", "fy")),
            expect=["one treatment source", "--treated-col", "--first-year-col"], out=out, inputs=[BASE])


def test_sweep_map_year_checked_before_models(out):
    run_bad(_args("sweep", BASE, out, TREATED, ("--map-year", "1990")),
            expect=["--map-year = 1990", "2012–2019"], out=out, inputs=[BASE])


# ---- inputs that used to fail and now work

def _ok(args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


def test_leading_zero_ids_kept(tmp_path):
    """Ids like '0110000' stay text: the weights file with the same ids matches."""
    result = _ok(["fit", TABLES / "leading_zeros.csv", "--weights", TABLES / "leading_zeros.gal", "--formula",
                  "y ~ x1 + x2 + did", "--id", "code", "--time", "year", "--effects", "0", "--json"])
    assert json.loads(result.stdout)["n_units"] == 30


def test_gbk_csv_read_with_a_warning(tmp_path):
    result = _ok(_args("did", TABLES / "gbk.csv", tmp_path / "o", TREATED, ("--json",)))
    assert "GB18030" in result.output
    assert json.loads(result.stdout)["treatment"]["never_treated"] == 19


def test_stata_value_labels_read_as_stored_numbers(tmp_path):
    _ok(_args("did", TABLES / "value_labels.dta", tmp_path / "o", TREATED, ("--json",)))


def test_time_invariant_control_warned(tmp_path):
    result = _ok(["did", TABLES / "time_invariant_control.csv", "--y", "y", "--id", "code", "--time", "year",
                  "--controls", "x1,area", "--treated-col", "did", "--placebo", "0", "--workers", "0", "--no-robust",
                  "--out", tmp_path / "o"])
    warning = [line for line in result.output.splitlines() if line.startswith("warning:") and "'area'" in line]
    assert warning and "do not vary over time" in warning[0]


def test_units_treated_before_the_panel_dropped_with_a_warning(tmp_path):
    """fy 2005 for 7 units of a 2012–2019 panel: no pre-treatment period, so they are dropped (as csdid/R did)
    with one warning naming how many and the first five; the rest of the DID runs (was a refusal)."""
    result = _ok(_args("did", TABLES / "fy_before_panel.csv", tmp_path / "o", FIRST, ("--json",)))
    warning = [line for line in result.output.splitlines() if "treated from the first year" in line]
    assert len(warning) == 1 and "7 unit(s)" in warning[0] and "'110000'" in warning[0]
    assert "and 2 more" in warning[0] and "dropped, as csdid/R did do" in warning[0]
    treatment = json.loads(result.stdout)["treatment"]
    assert len(treatment["treated_from_first_year"]) == 7 and "110000" in treatment["treated_from_first_year"]
