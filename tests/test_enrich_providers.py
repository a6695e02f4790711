"""The file provider: presets for 天眼查 / 企查查 / D&B exports and events files."""

from __future__ import annotations

import pandas as pd
import pytest

from kamlib.enrich import FileProvider
from kamlib.enrich.providers import event_id, event_type
from kamlib.errors import DataValidationError

CODE = "91350100M000100Y43"


def test_qichacha_export_in_gbk_maps_and_parses(tmp_path):
    path = tmp_path / "企查查.csv"
    pd.DataFrame({
        "公司名称": ["华兴机械（苏州）有限公司"], "统一社会信用代码": [CODE.lower()], "经营状态": ["存续"],
        "注册资本": ["77800.32万人民币"], "实缴资本": ["-"], "成立日期": ["2001年5月3日"],
        "所属省份": ["江苏省"], "所属城市": ["苏州市"], "公司类型": ["有限责任公司"],
        "参保人数": ["1,234"], "人员规模": ["1000-4999人"], "曾用名": ["苏州华兴；华兴精工"],
        "国标行业代码": ["C34"], "上市状态": ["未上市"],
    }).to_csv(path, index=False, encoding="gbk")  # fmt: skip
    data = FileProvider([path], retrieved_at="2026-10-01").fetch()
    rec = data.records.iloc[0]
    assert rec["source"] == "qichacha" and rec["id_scheme"] == "uscc" and rec["company_id"] == CODE
    assert rec["reg_capital"] == 778003200.0 and rec["reg_capital_currency"] == "CNY"
    assert pd.isna(rec["paid_in_capital"])
    assert rec["established"] == pd.Timestamp("2001-05-03")
    assert rec["insured_headcount"] == 1234 and rec["headcount_band"] == "1000-4999人"
    assert rec["industry_code"] == "C34" and rec["industry_scheme"] == "GB/T 4754"
    assert rec["listed"] is False or not rec["listed"]
    assert rec["company_type"] == "有限责任公司" and rec["reg_status"] == "存续"
    assert rec["_row"] == 2  # the row a person sees in the file


def test_dnb_export_and_an_xlsx_with_a_title_row(tmp_path):
    path = tmp_path / "dnb.xlsx"
    frame = pd.DataFrame({
        "D-U-N-S Number": ["12-345-6789"], "Primary Name": ["Huaxing Machinery Co., Ltd."],
        "Trade Style": ["Huaxing"], "Country": ["China"], "State/Province": ["Jiangsu"],
        "City": ["Suzhou"], "Employee Count": ["1200"], "NAICS Code": ["333249"],
        "Confidence Code": ["9"],
    })  # fmt: skip
    with pd.ExcelWriter(path) as writer:
        frame.to_excel(writer, index=False, startrow=1)
        writer.sheets["Sheet1"].cell(row=1, column=1, value="D&B batch export")
    rec = FileProvider([path], retrieved_at="2026-10-01").fetch().records.iloc[0]
    assert (
        rec["source"] == "dnb" and rec["id_scheme"] == "duns" and rec["company_id"] == "123456789"
    )
    assert rec["legal_name"] == "Huaxing Machinery Co., Ltd." and rec["former_names"] == "Huaxing"
    assert rec["industry_code"] == "333249" and rec["industry_scheme"] == "NAICS"
    assert rec["headcount_band"] == "1200" and rec["city"] == "Suzhou"


def test_events_file_types_and_stable_ids(tmp_path):
    path = tmp_path / "events.csv"
    pd.DataFrame({
        "企业名称": ["甲公司"] * 4, "统一社会信用代码": [CODE] * 4,
        "变更日期": ["2025-01-02", "2025/2/3", "2025年3月4日", "2025-04-05"],
        "变更事项": ["经营异常名录", "失信被执行人", "注册资本变更（减资）", "法定代表人变更"],
        "变更前": [None, None, "1000万人民币", "张三"], "变更后": ["列入", "-", "500万人民币", "李四"],
    }).to_csv(path, index=False)  # fmt: skip
    events = FileProvider([path], retrieved_at="2026-10-01").fetch().events
    assert events["type"].tolist() == [
        "abnormal_operation", "dishonest_debtor", "capital_change", "legal_representative_change"
    ]  # fmt: skip
    assert events["date"].dt.month.tolist() == [1, 2, 3, 4]
    again = FileProvider([path], retrieved_at="2027-01-01").fetch().events
    assert events["event_id"].tolist() == again["event_id"].tolist()  # stable across retrievals
    assert events["event_id"].is_unique
    assert event_id(CODE, "2025-01-02", "penalty", None, "x") != event_id(
        CODE, "2025-01-02", "penalty", None, "y"
    )
    assert event_type("被执行人") == "enforcement" and event_type("行政处罚") == "penalty"
    assert event_type("企业名称变更") == "name_change" and event_type("其他") == "other"
    # alone, an events file names no registry; beside one kind of company export, it is its
    assert set(events["source"]) == {"events"}
    qcc = tmp_path / "企查查.csv"
    pd.DataFrame({"公司名称": ["甲公司"], "统一社会信用代码": [CODE], "注册资本": ["100万人民币"],
                  "成立日期": ["2001-05-03"]}).to_csv(qcc, index=False)  # fmt: skip
    both = FileProvider([qcc, path], retrieved_at="2026-10-01").fetch()
    assert set(both.records["source"]) == {"qichacha"} and set(both.events["source"]) == {
        "qichacha"
    }
    preset = FileProvider([path], retrieved_at="2026-10-01", preset="tianyancha").fetch()
    assert set(preset.events["source"]) == {"tianyancha"}


def test_refusals_name_file_column_and_fix(tmp_path):
    with pytest.raises(DataValidationError, match="nope.csv: file not found"):
        FileProvider([tmp_path / "nope.csv"], retrieved_at="2026-10-01").fetch()
    dnb = tmp_path / "dnb.csv"
    dnb.write_text("Primary Name,City\nAcme,Suzhou\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match="dnb.csv: no d-u-n-s number"):
        FileProvider([dnb], retrieved_at="2026-10-01", preset="dnb").fetch()
    with pytest.raises(DataValidationError, match="'preset' parameter"):
        FileProvider([dnb], retrieved_at="2026-10-01", preset="tyc")
