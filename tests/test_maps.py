"""PNG maps drawn from the QGIS styles (spillmap.maps) and the map year.

Cases: the drawn facecolours are the style's colours for each unit's class,
grey for units whose 95 % interval includes zero and white for missing
values (the same classification the QML rules give); the legend's title and
labels are the style's; a constant column draws one legend entry labelled
with its value; every title (and the legend) starts with "SYNTHETIC DATA — "
for synthetic runs and never otherwise, and stored style names and QML say
SYNTHETIC likewise; received-spillover maps say "treated by <year>"; band
styles take their breaks from the bands in the crossover search, not from a
sparse band, and stretch the outer classes to every band, and the band
figure marks sparse bands; the shipped China layer gets the South China Sea
inset (三沙市 only there, the inset below Taiwan) and hatched "no data"
outlines for Hong Kong, Macau and Taiwan, a user's layer a plain map;
``map_year`` defaults to the last treatment year (the next panel period
when that year is not one, the last period without treated units) and
checks a given year.
"""

from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from spillmap import gis
from spillmap.errors import SpillmapError
from spillmap.maps import (
    INSET_LABEL,
    NO_DATA_COLOR,
    SYNTHETIC_TAG,
    _draw,
    china_layout,
    choropleths,
    effect_style,
    facecolors,
    style_name,
)
from spillmap.policy import PolicyInputs, map_year
from spillmap.sweep import _band_styles, band_in_crossover


def _effects(frame, recv, lo, hi) -> pd.DataFrame:
    out = frame.assign(recv=recv, recv_lo=lo, recv_hi=hi, treated=[1, 0, 0, 1, 0, 0, 0, 0, 1])
    for col in ("own", "emit"):
        out = out.assign(**{col: 1.0, f"{col}_lo": 0.5, f"{col}_hi": 1.5})
    return out


@pytest.fixture
def effects(make_grid):
    """3×3 grid: received spillover -4..4; units 1, 4 and 7 have an interval including zero, unit 8 none."""
    values = np.arange(-4.0, 5.0)
    lo, hi = values - 0.5, values + 0.5
    lo[[1, 4, 7]], hi[[1, 4, 7]] = -1.0, 1.0
    lo[8] = hi[8] = np.nan
    return _effects(make_grid().to_crs("EPSG:32649"), values, lo, hi)


@pytest.fixture
def figures(monkeypatch):
    """Figures choropleths saves, by file stem (nothing is written)."""
    saved: dict[str, Figure] = {}

    def capture(fig, path, formats=("png",), *, synthetic=False):
        saved[path.name] = fig
        fig.synthetic_flag = synthetic
        return [path.with_suffix(".png")]

    monkeypatch.setattr("spillmap.models._plots.save_figure", capture)
    return saved


def _style(frame, synthetic=False, column="recv"):
    return effect_style(frame, column, year=2016, outcome="y", synthetic=synthetic, classes=5, name=f"{column} main")


def _drawn(ax) -> list[str]:
    return [to_hex(c) for collection in ax.collections for c in collection.get_facecolors()]


def test_drawn_colours_follow_the_style_and_significance(effects):
    style = _style(effects)
    codes = style.classify(effects)
    assert codes[[1, 4, 7]].tolist() == [gis.NOT_SIGNIFICANT] * 3 and codes[8] == gis.NO_DATA
    expected = facecolors(style, effects)
    assert expected[[1, 4, 7]].tolist() == [gis.NOT_SIGNIFICANT_COLOR] * 3 and expected[8] == NO_DATA_COLOR
    classes = [style.classes[i].color for i in codes[codes >= 0]]
    assert expected[codes >= 0].tolist() == classes
    ax = Figure().subplots()
    assert _draw(ax, effects, style, None)  # unit 8 has no data
    blank = expected == NO_DATA_COLOR
    assert _drawn(ax) == [*expected[~blank].tolist(), *expected[blank].tolist()]  # data first, then no data


def test_figure_titles_legend_and_synthetic(effects, figures, tmp_path):
    style = _style(effects, synthetic=True)
    assert style.name == "SYNTHETIC recv main" and style.title.startswith(SYNTHETIC_TAG)
    assert style.title == SYNTHETIC_TAG + "spillover received from cities treated by 2016, change in y"
    assert SYNTHETIC_TAG in style.to_qml() and SYNTHETIC_TAG in style.to_sld("effects")
    styles = {"effects": (style, _style(effects, True, "own"))}
    written = choropleths({"effects": effects}, styles, tmp_path, synthetic=True, year=2016)
    assert [p.name for p in written] == ["effects_recv.png", "effects_own.png"]
    recv = figures["effects_recv"]
    (ax,) = recv.axes
    assert ax.get_title().startswith(SYNTHETIC_TAG) and "3 of 9 cities treated by 2016" in ax.get_title()
    (legend,) = recv.legends
    assert legend.get_title().get_text().replace("\n", " ") == style.legend_title
    assert [t.get_text() for t in legend.get_texts()] == [label for label, _ in style.legend()] + ["no data"]
    own = figures["effects_own"].axes[0].get_title()
    assert own.startswith(SYNTHETIC_TAG) and "treated by" not in own  # own effects do not depend on treatment
    assert all(fig.synthetic_flag for fig in figures.values())  # the label goes into the PNG's metadata too


def test_real_data_never_says_synthetic(effects, figures, tmp_path):
    style = _style(effects)
    assert "SYNTHETIC" not in style.name + style.title + style.description + style.to_qml()
    assert style_name("recv", False) == "recv"
    choropleths({"effects": effects}, {"effects": style}, tmp_path, synthetic=False, year=2016)
    fig = figures["effects_recv"]
    texts = [fig.axes[0].get_title(), fig.legends[0].get_title().get_text()]
    assert not any("SYNTHETIC" in t for t in texts) and not fig.synthetic_flag


def test_constant_column_draws_one_legend_entry(effects, figures, tmp_path):
    frame = effects.assign(nbrs=366.0)
    style = gis.graduated_style("nbrs", frame["nbrs"], scheme="sequential", title="neighbours, number of cities")
    ax = Figure().subplots()
    _draw(ax, frame, style, None)
    assert set(_drawn(ax)) == {style.classes[0].color}
    assert style.legend() == [("366", style.classes[0].color)]


def _band_result(labels_used: dict[str, bool]):
    from spillmap.models import Band

    bands = [Band(*map(float, label.split("-"))) for label in labels_used]
    table = pd.DataFrame({"band": list(labels_used), "in_crossover": list(labels_used.values())})
    return types.SimpleNamespace(bands=bands, table=table)


def test_band_classes_come_from_the_crossover_bands(effects, figures, tmp_path):
    result = _band_result({"0-50": False, "50-100": True, "100-150": True})
    used = band_in_crossover(result)
    assert used == {"sweep_0000_0050": False, "sweep_0050_0100": True, "sweep_0100_0150": True}
    def scaled(factor: float):
        return effects.assign(**{c: effects[c] * factor for c in ("recv", "recv_lo", "recv_hi")})

    layers = {"sweep_0000_0050": scaled(10.0), "sweep_0050_0100": effects, "sweep_0100_0150": scaled(0.5)}
    inputs = types.SimpleNamespace(y="y", synthetic=None)
    styles = _band_styles(layers, used, inputs, column="recv", classes=5, year=2016)
    searched = pd.concat([layers["sweep_0050_0100"], layers["sweep_0100_0150"]])
    alone = _style(searched)
    for key, style in styles.items():
        assert style.name == f"recv {key[6:]}" and "classes shared by all bands" in style.description
        inner = [c.upper for c in style.classes[:-1]]
        assert inner == [c.upper for c in alone.classes[:-1]], key  # breaks: the searched bands only
        assert (style.classes[0].lower, style.classes[-1].upper) == (-40.0, 20.0)  # stretched to the sparse band's significant values
    choropleths(layers, styles, tmp_path, synthetic=False, year=2016, in_crossover=used)
    fig = figures["sweep_bands_recv"]
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["0–50 km (sparse: not in crossover search)", "50–100 km", "100–150 km"]
    assert "set by the 2 bands in the crossover search" in fig.get_suptitle()


@pytest.fixture(scope="module")
def china_effects():
    china = gis.to_projected(gis.read_china_layer())
    n = len(china)
    values = np.linspace(-1.0, 1.0, n)
    frame = china[["code", "geometry"]].assign(recv=values, recv_lo=values - 0.3, recv_hi=values + 0.3,
                                               treated=0)
    return frame


def test_china_layout_has_inset_and_no_data_outlines(china_effects):
    layout = china_layout(china_effects)
    assert sorted(layout.no_data["code"]) == ["710000", "810000", "820000"]
    sansha = china_effects[china_effects["code"] == "460300"].total_bounds
    hainan = china_effects[china_effects["code"] == "460200"].total_bounds  # 三亚市, south of Hainan
    x, y, w, h = layout.inset_box
    assert layout.inset[0] <= sansha[0] and layout.inset[1] <= sansha[1] and layout.inset[3] >= hainan[3]
    assert (x + w, y) == (layout.main[2], layout.main[1])  # lower-right corner of the main map
    taiwan = layout.no_data[layout.no_data["code"] == "710000"].total_bounds
    assert y + h < taiwan[1] or x > taiwan[2]  # the inset hides no land
    assert layout.main[1] < hainan[1] and layout.main[1] > sansha[1]


def test_china_map_draws_inset_and_user_layer_plain(china_effects, effects, figures, tmp_path):
    style = _style(china_effects)
    choropleths({"effects": china_effects}, {"effects": style}, tmp_path, synthetic=False, year=2016, china=True)
    ax = figures["effects_recv"].axes[0]
    (inset,) = ax.child_axes
    assert inset.texts[0].get_text() == INSET_LABEL
    main_patches = sum(len(c.get_paths()) for c in ax.collections)
    inset_patches = sum(len(c.get_paths()) for c in inset.collections)
    # main map: every unit but 三沙市, plus Taiwan, Hong Kong and Macau as outlines
    assert main_patches == len(china_effects) - 1 + 3
    assert 0 < inset_patches < main_patches
    assert "no data" in [t.get_text() for t in figures["effects_recv"].legends[0].get_texts()]
    choropleths({"effects": effects}, {"effects": _style(effects)}, tmp_path, synthetic=False, year=2016)
    assert figures["effects_recv"].axes[0].child_axes == []


def _inputs(periods, first_years) -> PolicyInputs:
    ids = [f"u{i}" for i in range(len(first_years))]
    data = pd.DataFrame([(u, t, fy) for u, fy in zip(ids, first_years) for t in periods],
                        columns=["id", "year", "first_year"]).astype({"first_year": "Float64"})
    return PolicyInputs(data, "y", "id", "year", (), None, {})


@pytest.mark.parametrize(
    ("periods", "first_years", "expected"),
    [
        (range(2010, 2022), [2014, 2015, 2016, None], 2016),  # the pilots' last batch, not the last period
        (range(2010, 2022), [None, None], 2021),  # nobody treated: the last period
        (range(2010, 2022), [2014, 2030], 2014),  # treated after the panel ends: not counted
        (range(2010, 2022, 2), [2013, 2015], 2016),  # not a period: the next one
    ],
)
def test_map_year_defaults_to_last_treatment_year(periods, first_years, expected):
    assert map_year(_inputs(list(periods), first_years)) == expected


def test_map_year_checks_given_year():
    inputs = _inputs(list(range(2010, 2022)), [2014])
    assert map_year(inputs, 2012) == 2012
    with pytest.raises(SpillmapError, match="map-year = 2030 is not a period"):
        map_year(inputs, 2030)
