"""Help text that agrees across commands.

Cases: an option that several commands take has one name and one help text
everywhere (options whose meaning differs by command — seed, draws, json,
placebo, layer — are listed and each names what it drives); the demo and
the sweep call the band width and outer edge ``--band``/``--max``; every
``--seed`` says what it seeds; queen/rook weights are not described by a
distance method; every command's help has a summary line.
"""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from spillmap.cli import app

#: Options whose help says what that command does with them (--seed is checked below instead).
PER_COMMAND = {"--seed", "--effects", "--json", "--placebo", "--weights", "--cutoff"}
#: Commands whose help for an otherwise shared option says more (a required layer, its own file kinds).
OWN_TEXT = {"--layer": {"zonal"}, "--id": {"fit", "zonal"}, "--time": {"zonal"},
            "--out": {"weights", "fit", "index", "zonal"},
            "--vce": {"sweep"},  # the sweep's exposure DID has its own variance choices (cluster, conley)
            "--model": {"sdid"},  # a spatial DID needs a spillover of DID: no sem
            "--fe": {"fit"}}  # fit's formula may name its fixed effects after '|'



def _options() -> dict[str, dict[str, str]]:
    group = typer.main.get_command(app)
    table: dict[str, dict[str, str]] = {}
    for name, command in group.commands.items():
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--"):
                    table.setdefault(opt, {})[name] = param.help or ""
    return table


def test_shared_options_have_one_help_text():
    for opt, helps in _options().items():
        shared = {cmd: text for cmd, text in helps.items() if cmd not in OWN_TEXT.get(opt, ())}
        if opt in PER_COMMAND or len(shared) < 2:
            continue
        assert len(set(shared.values())) == 1, (opt, helps)


def test_band_options_named_alike():
    options = _options()
    assert {"demo", "sweep"} <= set(options["--band"]) and {"demo", "sweep"} <= set(options["--max"])
    assert not any(opt in options for opt in ("--band-km", "--max-km"))
    assert all("km" in text for text in options["--band"].values())


def test_every_seed_says_what_it_seeds():
    for command, text in _options()["--seed"].items():
        assert text.startswith("Seed of"), (command, text)
    assert "placebo" not in _options()["--seed"]["sweep"]


def test_every_command_has_a_summary():
    group = typer.main.get_command(app)
    for name, command in group.commands.items():
        assert (command.help or "").strip(), name


def test_contiguity_is_not_called_a_distance():
    result = CliRunner().invoke(app, ["weights", "--kind", "queen", "--json"])
    assert result.exit_code == 0, result.output
    description = json.loads(result.stdout)["description"]
    assert description == "queen contiguity"
