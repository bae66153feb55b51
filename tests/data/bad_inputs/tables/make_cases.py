"""Rebuild the case files of this folder from base_panel.csv (run from the repository root).

base_panel.csv: 30 east-China prefectures (shipped layer codes) × 2012–2019 of the synthetic demo
process (spillmap.synthetic, seed 5), columns code, year, y, x1, x2, did (0/1), fy (first treated year).
base_weights.gal: inverse distance within 300 km between those 30 units (for `spillmap fit`).
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
base = pd.read_csv(HERE / "base_panel.csv", dtype={"code": str})


def csv(name, frame, **kw):
    frame.to_csv(HERE / name, index=False, **kw)


def edit(name, fn):
    result = fn(base.copy())
    csv(name, result)


def setcell(col, row, value):  # row: 1-based data row
    def fn(f):
        f[col] = f[col].astype(object)
        f.loc[row - 1, col] = value
        return f
    return fn


csv("one_period.csv", base[base.year == 2015])
csv("one_unit.csv", base[base.code == "110000"])
edit("inf_y.csv", setcell("y", 5, np.inf))
edit("inf_control.csv", setcell("x1", 7, -np.inf))
edit("nan_y.csv", setcell("y", 3, np.nan))
edit("nan_control.csv", setcell("x2", 10, np.nan))
edit("text_thousands.csv", setcell("y", 4, "1,234"))
edit("text_excel_error.csv", setcell("x1", 12, "#DIV/0!"))
edit("text_dash.csv", setcell("x2", 20, "—"))
semi = base.copy()
semi["y"] = semi["y"].map(lambda v: str(v).replace(".", ","))
csv("semicolon_decimal_comma.csv", semi, sep=";")
edit("fy_before_panel.csv", lambda f: f.assign(fy=f.fy.where(f.fy != 2014, 2005)))
edit("fy_after_panel.csv", lambda f: f.assign(fy=f.fy.where(f.fy.isna(), 2030)))
edit("fy_text.csv", setcell("fy", 9, "2015年"))
edit("all_treated_same_year.csv", lambda f: f.assign(did=(f.year >= 2015).astype(int), fy=2015))
edit("none_treated.csv", lambda f: f.assign(did=0, fy=np.nan))
csv("duplicate_rows.csv", pd.concat([base, base.iloc[[40]]]).sort_index(kind="stable"))
csv("unbalanced.csv", base.drop(index=base.index[(base.code == "130200") & base.year.isin([2013, 2017])]))
(HERE / "header_only.csv").write_text(",".join(base.columns) + "\n", encoding="utf-8")
(HERE / "empty.csv").write_bytes(b"")
edit("time_text.csv", setcell("year", 2, "2012年"))
edit("time_fraction.csv", setcell("year", 2, 2012.5))
edit("id_empty.csv", setcell("code", 6, np.nan))
edit("treated_not_01.csv", setcell("did", 15, 2))
edit("treated_switches_off.csv", lambda f: f.assign(did=np.where((f.code == "110000") & (f.year == 2018), 0, f.did)))
(HERE / "panel.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
latin = base.assign(name="Sao Jos\xe9")
(HERE / "latin1.csv").write_bytes(latin.to_csv(index=False).encode("latin-1"))
edit("outcome_renamed.csv", lambda f: f.rename(columns={"y": "Y_value"}))
names = {"110000": "北京市", "120000": "天津市"}
edit("ids_are_names.csv", lambda f: f.assign(code=f.code.map(lambda c: names.get(c, "市" + c))))
pd.DataFrame({"batch_year": [2014, 2015], "entry_zh": ["Atlantis", "Lemuria"], "entry_kind": ["city", "city"],
              "prefecture_units_zh": ["Atlantis", "Lemuria"], "evidence": ["made up", "made up"]}).to_csv(
    HERE / "pilots_match_nothing.csv", index=False)
pd.DataFrame({"batch_year": [2014, 2015], "code": ["110000", "120000"]}).to_csv(HERE / "pilots_by_code.csv", index=False)
pd.DataFrame({"batch_year": [2014, 2015, 2016], "city_code": ["110000", "120000", "130100"]}).to_csv(
    HERE / "pilots_by_city_code.csv", index=False)
dta = base.assign(y=base.y.astype(str))
dta.loc[6, "y"] = "1,234"
dta.assign(fy=dta.fy.astype(float)).to_stata(HERE / "text_y.dta", write_index=False)
base.iloc[:0].assign(fy=pd.Series(dtype=float)).to_stata(HERE / "header_only.dta", write_index=False)
labelled = base.assign(fy=base.fy.astype(float), did=base.did.astype("int8"))
labelled.to_stata(HERE / "value_labels.dta", write_index=False,
                  value_labels={"did": {0: "control", 1: "treated"}})
inf = base.copy()
inf.loc[8, "x2"] = np.inf
inf.to_parquet(HERE / "inf_control.parquet", index=False)
gbk = base.assign(name=base.code.map(lambda c: names.get(c, "其他")))
(HERE / "gbk.csv").write_bytes(gbk.to_csv(index=False).encode("gbk"))
edit("time_invariant_control.csv", lambda f: f.assign(area=f.code.astype(int) % 97))
zeros = base.assign(code="0" + base.code)
csv("leading_zeros.csv", zeros)
lines = (HERE / "base_weights.gal").read_text().splitlines()
out = [lines[0]]
for k, line in enumerate(lines[1:]):
    parts = line.split()
    out.append(" ".join(["0" + parts[0], *parts[1:]]) if k % 2 == 0 else " ".join("0" + t for t in parts))
(HERE / "leading_zeros.gal").write_text("\n".join(out) + "\n")
markup = base.copy()
markup["code"] = markup["code"].replace({"110000": "[/red]", "120000": "[bold]x[/bold]"})
markup = markup.drop(index=markup.index[markup.code.isin(["[/red]", "[bold]x[/bold]"]) & (markup.year == 2016)])
csv("markup_ids.csv", markup)
