"""Pilot tables: ``read_pilots``, ``pilot_years`` and ``PilotJoin``.

Cases covered
- shipped table: 117 rows (39 a year), all columns kept incl. ``evidence``,
  29 provisional 2015 ``secondary_list`` rows, ``batch_year`` as int64;
- CSV input: UTF-8 with and without BOM, str and Path arguments; errors for a
  missing file, a non-UTF-8 (GBK) file, a spreadsheet, an empty file;
- missing column: MissingColumnError naming the file and the column;
- bad years (non-integer, missing) in a CSV and in a DataFrame:
  PilotTableError naming the 1-based data rows and the column; integral
  floats (2014.0) accepted;
- shipped table on the shipped layer: earliest batch wins (苏州市 via itself
  and 昆山 2014; 商丘市 2016 vs 永城 2015 → 2015; 重庆市 2015/2016 → 2015),
  长株潭 treats three units, treated counts per first year 39/38/36,
  阿拉尔市 unmatched with a reason and a PilotMatchWarning, ``years`` indexed
  by layer codes in layer order, Int64, name ``first_year``; ``sources``
  shows which entries treated a unit; ``to_frame``;
- ``match="id"``: a user table of ids, ``;``-separated, integer ids, an
  unknown id reported as unmatched;
- name matching on a small synthetic layer: normalised suffix matches
  (苏州, 延边, 锡林郭勒, full-width spaces), ambiguous normalised names put in
  unmatched with "ambiguous: <ids>", exact names win over normalised ones,
  a name not in the layer, a multi-unit entry with one bad unit;
- layer problems: duplicate ids (DuplicateIdError listing them), missing ids,
  missing id or name column; an unknown ``match`` value;
- no warning when every entry matches; an empty pilot table; custom
  ``unit_col`` / ``year_col`` names.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from spillmap.errors import (
    DuplicateIdError,
    MissingColumnError,
    MissingIdError,
    PilotTableError,
    SpillmapWarning,
)
from spillmap.errors import PilotMatchWarning
from spillmap.gis import PilotJoin, pilot_years, read_pilots

SHAPEFILES = Path(__file__).resolve().parents[2] / "shapefiles"
HEADER = "batch_year,entry_zh,entry_kind,prefecture_units_zh,evidence\n"


@pytest.fixture(scope="module")
def china() -> gpd.GeoDataFrame:
    return gpd.read_file(SHAPEFILES / "china_prefectures.gpkg", layer="prefectures")


@pytest.fixture(scope="module")
def shipped_join(china: gpd.GeoDataFrame) -> PilotJoin:
    with pytest.warns(PilotMatchWarning, match="阿拉尔市"):
        return pilot_years(china)


@pytest.fixture
def small() -> pd.DataFrame:
    """A synthetic layer with suffix look-alikes."""
    return pd.DataFrame(
        {
            "code": ["320500", "222400", "152500", "211300", "211321", "110000", "999"],
            "name": ["苏州市", "延边朝鲜族自治州", "锡林郭勒盟", "朝阳市", "朝阳县", "北京市", None],
        }
    )


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def quiet(*args, **kwargs) -> PilotJoin:
    """Call pilot_years with warnings turned into errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return pilot_years(*args, **kwargs)


# --------------------------------------------------------------------------
# read_pilots


def test_shipped_table() -> None:
    table = read_pilots()
    assert len(table) == 117
    assert list(table.columns) == [
        "batch_year",
        "entry_zh",
        "entry_kind",
        "prefecture_units_zh",
        "evidence",
    ]
    assert table["batch_year"].dtype == "int64"
    assert table["batch_year"].value_counts().to_dict() == {2014: 39, 2015: 39, 2016: 39}
    in_2015 = table.loc[table["batch_year"] == 2015, "evidence"].value_counts().to_dict()
    assert in_2015 == {"secondary_list": 29, "confirmed_in_news": 10}
    assert table.loc[table["entry_zh"] == "阿拉尔市", "prefecture_units_zh"].tolist() == [""]


def test_shipped_copy_matches_read_from_path() -> None:
    via_path = read_pilots(SHAPEFILES / "broadband_china_pilots.csv")
    pd.testing.assert_frame_equal(via_path, read_pilots())


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_read_utf8_with_and_without_bom(tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / "p.csv", HEADER + "2014,苏州市,prefecture,苏州市,x\n", encoding)
    table = read_pilots(str(path))
    assert list(table.columns)[0] == "batch_year"  # no BOM left in the name
    assert table.at[0, "prefecture_units_zh"] == "苏州市"
    assert table.at[0, "batch_year"] == 2014


def test_read_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PilotTableError, match="nope.csv"):
        read_pilots(tmp_path / "nope.csv")


def test_read_not_utf8(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "gbk.csv", HEADER + "2014,苏州市,prefecture,苏州市,x\n", "gbk")
    with pytest.raises(PilotTableError, match=r"gbk\.csv.*not UTF-8"):
        read_pilots(path)


def test_read_spreadsheet_and_empty(tmp_path: Path) -> None:
    with pytest.raises(PilotTableError, match="CSV"):
        read_pilots(tmp_path / "pilots.xlsx")
    with pytest.raises(PilotTableError, match="empty"):
        read_pilots(write_csv(tmp_path / "empty.csv", ""))


def test_read_missing_column_names_file_and_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "nounits.csv", "batch_year,entry_zh\n2014,苏州市\n")
    with pytest.raises(MissingColumnError) as info:
        read_pilots(path)
    message = str(info.value)
    assert "nounits.csv" in message and "'prefecture_units_zh'" in message
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)


def test_read_bad_year_names_rows_and_column(tmp_path: Path) -> None:
    text = (
        HEADER
        + "2014,苏州市,prefecture,苏州市,x\n"
        + "2015.5,南京市,prefecture,南京市,x\n"
        + "2016,无锡市,prefecture,无锡市,x\n"
        + ",杭州市,prefecture,杭州市,x\n"
        + "二〇一六,南通市,prefecture,南通市,x\n"
    )
    path = write_csv(tmp_path / "years.csv", text)
    with pytest.raises(PilotTableError) as info:
        read_pilots(path)
    message = str(info.value)
    assert "years.csv" in message and "'batch_year'" in message
    assert "rows 2, 4, 5" in message
    assert "row 4: missing" in message and "'2015.5'" in message
    assert isinstance(info.value, ValueError)


def test_dataframe_bad_year_names_rows_and_column(small: pd.DataFrame) -> None:
    table = pd.DataFrame({"units": ["苏州市", "北京市", "朝阳市"], "yr": [2014, None, 2014.5]})
    with pytest.raises(PilotTableError, match=r"column 'yr'.*rows 2, 3"):
        pilot_years(small, pilots=table, unit_col="units", year_col="yr")


def test_integral_float_years_accepted(small: pd.DataFrame) -> None:
    table = pd.DataFrame({"prefecture_units_zh": ["苏州市"], "batch_year": [2014.0]})
    join = quiet(small, pilots=table)
    assert join.years["320500"] == 2014


# --------------------------------------------------------------------------
# the shipped table on the shipped layer


def test_shipped_years_shape(shipped_join: PilotJoin, china: gpd.GeoDataFrame) -> None:
    years = shipped_join.years
    assert years.name == "first_year"
    assert str(years.dtype) == "Int64"
    assert years.index.name == "code"
    assert years.index.tolist() == china["code"].tolist()


def test_shipped_earliest_batch_wins(shipped_join: PilotJoin) -> None:
    years = shipped_join.years
    # 苏州市 itself and 昆山市 (a county-level city of 苏州) are both 2014.
    assert years["320500"] == 2014
    # 商丘市: 2016 itself, 永城市 2015 -> 2015.
    assert years["411400"] == 2015
    # 重庆市: 江津区, 荣昌区 2015; 九龙坡区, 北碚区 2016 -> 2015.
    assert years["500000"] == 2015
    # 长株潭城市群 treats three units in 2014.
    assert (years[["430100", "430200", "430300"]] == 2014).all()
    assert pd.isna(years["320400"])  # 常州市, never a pilot


def test_shipped_sources(shipped_join: PilotJoin) -> None:
    src = shipped_join.sources
    suzhou = src[src["code"] == "320500"]
    assert sorted(suzhou["entry"]) == ["昆山市", "苏州市"]
    shangqiu = src[src["code"] == "411400"].set_index("entry")["year"].to_dict()
    assert shangqiu == {"永城市": 2015, "商丘市": 2016}
    chongqing = src[src["code"] == "500000"]
    assert sorted(chongqing["year"]) == [2015, 2015, 2016, 2016]
    assert set(src["matched_by"]) == {"exact"}


def test_shipped_counts_per_year(shipped_join: PilotJoin) -> None:
    counts = shipped_join.years.value_counts().to_dict()
    assert counts == {2014: 39, 2015: 38, 2016: 36}
    assert shipped_join.years.isna().sum() == 370 - 113


def test_shipped_unmatched_alar(shipped_join: PilotJoin) -> None:
    unmatched = shipped_join.unmatched
    assert unmatched["entry_zh"].tolist() == ["阿拉尔市"]
    assert unmatched["pilot_row"].tolist() == [39]
    assert "no unit listed" in unmatched["reason"].iloc[0]
    assert "evidence" in unmatched.columns


def test_to_frame(shipped_join: PilotJoin) -> None:
    frame = shipped_join.to_frame().set_index("code")
    assert list(shipped_join.to_frame().columns) == ["code", "first_year", "n_entries"]
    assert frame.at["320500", "n_entries"] == 2
    assert frame.at["500000", "n_entries"] == 4
    assert frame.at["320400", "n_entries"] == 0
    assert str(frame["first_year"].dtype) == "Int64"
    # 116 entries match (阿拉尔市 none); 长株潭 counts once for each of its 3 units.
    assert frame["n_entries"].sum() == len(shipped_join.sources) == 118


def test_warning_class_and_stacklevel(china: gpd.GeoDataFrame) -> None:
    with pytest.warns(PilotMatchWarning) as record:
        pilot_years(china)
    assert issubclass(PilotMatchWarning, SpillmapWarning)
    assert record[0].filename == __file__


# --------------------------------------------------------------------------
# match="id"


def test_match_by_id(small: pd.DataFrame) -> None:
    table = pd.DataFrame(
        {
            "ids": ["320500; 222400", "320500", "123456", "110000"],
            "year": ["2016", "2015", "2014", "2014"],
        }
    )
    with pytest.warns(PilotMatchWarning, match="123456"):
        join = pilot_years(small, pilots=table, unit_col="ids", year_col="year", match="id")
    assert join.years["320500"] == 2015
    assert join.years["222400"] == 2016
    assert join.years["110000"] == 2014
    assert join.unmatched["reason"].tolist() == ["id not in layer: 123456"]
    assert join.unmatched["pilot_row"].tolist() == [3]
    assert set(join.sources["matched_by"]) == {"id"}
    assert join.sources.set_index("code").at["110000", "name"] == "北京市"


def test_match_by_integer_id(tmp_path: Path) -> None:
    layer = pd.DataFrame({"gid": [1, 2, 3], "name": ["a", "b", "c"]})
    table = pd.DataFrame({"unit": [2, 3], "t": [2010, 2012]})
    join = quiet(layer, id_col="gid", pilots=table, unit_col="unit", year_col="t", match="id")
    assert join.years.tolist()[0] is pd.NA
    assert join.years.tolist()[1:] == [2010, 2012]
    csv = write_csv(tmp_path / "ids.csv", "unit,t\n1;3,2008\n")
    join = quiet(layer, id_col="gid", pilots=csv, unit_col="unit", year_col="t", match="id")
    assert join.years.tolist() == [2008, pd.NA, 2008]


# --------------------------------------------------------------------------
# name matching on a synthetic layer


def test_normalised_names(small: pd.DataFrame) -> None:
    table = pd.DataFrame(
        {
            "prefecture_units_zh": ["苏州", "延边", "锡林郭勒", "北京　市 "],
            "batch_year": [2014, 2015, 2016, 2016],
        }
    )
    join = quiet(small, pilots=table)
    assert join.years.loc[["320500", "222400", "152500", "110000"]].tolist() == [
        2014,
        2015,
        2016,
        2016,
    ]
    by = join.sources.set_index("code")["matched_by"]
    assert by["320500"] == "normalised"
    assert by["110000"] == "exact"  # whitespace/full-width only: still exact


def test_ambiguous_normalised_name(small: pd.DataFrame) -> None:
    table = pd.DataFrame(
        {"prefecture_units_zh": ["朝阳", "朝阳县"], "batch_year": [2014, 2015]}
    )
    with pytest.warns(PilotMatchWarning, match="ambiguous"):
        join = pilot_years(small, pilots=table)
    assert join.unmatched["reason"].tolist() == ["ambiguous: 211300, 211321"]
    assert join.unmatched["unmatched_unit"].tolist() == ["朝阳"]
    # The exact name 朝阳县 still matches its unit.
    assert join.years["211321"] == 2015
    assert pd.isna(join.years["211300"])


def test_name_not_in_layer_and_partial_entry(small: pd.DataFrame) -> None:
    table = pd.DataFrame(
        {
            "entry_zh": ["长株潭城市群", "某某市"],
            "prefecture_units_zh": ["苏州市;株洲市;北京市", "某某市"],
            "batch_year": [2014, 2016],
        }
    )
    with pytest.warns(PilotMatchWarning, match="株洲市"):
        join = pilot_years(small, pilots=table)
    assert join.years["320500"] == 2014 and join.years["110000"] == 2014
    assert join.unmatched["unmatched_unit"].tolist() == ["株洲市", "某某市"]
    assert join.unmatched["reason"].tolist() == [
        "name not in layer: 株洲市",
        "name not in layer: 某某市",
    ]
    assert join.unmatched["pilot_row"].tolist() == [1, 2]
    assert set(join.sources["entry"]) == {"长株潭城市群"}


def test_no_warning_when_all_match_and_empty_table(small: pd.DataFrame) -> None:
    table = pd.DataFrame({"prefecture_units_zh": ["苏州市"], "batch_year": [2014]})
    join = quiet(small, pilots=table)
    assert join.unmatched.empty
    assert join.years.notna().sum() == 1
    empty = quiet(small, pilots=table.iloc[0:0])
    assert empty.years.isna().all() and empty.sources.empty
    assert empty.to_frame()["n_entries"].eq(0).all()


# --------------------------------------------------------------------------
# layer and argument problems


def test_duplicate_ids(small: pd.DataFrame) -> None:
    layer = pd.concat([small, small.iloc[[0, 3]]], ignore_index=True)
    with pytest.raises(DuplicateIdError, match=r"'320500' on rows 1, 8; '211300' on rows 4, 9"):
        pilot_years(layer)


def test_missing_ids(small: pd.DataFrame) -> None:
    layer = small.copy()
    layer.loc[2, "code"] = None
    with pytest.raises(MissingIdError, match="rows 3"):
        pilot_years(layer)


def test_missing_layer_columns(small: pd.DataFrame) -> None:
    with pytest.raises(MissingColumnError, match="'adcode'"):
        pilot_years(small, id_col="adcode")
    with pytest.raises(MissingColumnError, match="'name_zh'"):
        pilot_years(small, name_col="name_zh")


def test_dataframe_missing_column(small: pd.DataFrame) -> None:
    table = pd.DataFrame({"units": ["苏州市"], "batch_year": [2014]})
    with pytest.raises(MissingColumnError, match=r"DataFrame.*'prefecture_units_zh'"):
        pilot_years(small, pilots=table)


def test_unknown_match(small: pd.DataFrame) -> None:
    with pytest.raises(PilotTableError, match="match"):
        pilot_years(small, match="fuzzy")  # type: ignore[arg-type]
