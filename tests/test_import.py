"""Import: reading, mapping, validation, quarantine, reconciliation, snapshots."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import NOW, store_state, write_csv

from kamlib.cli import main
from kamlib.data import import_files, load, snapshot_info
from kamlib.errors import ConfigError, DataValidationError

ACCOUNTS = """account_id,name,industry,employees,category_spend
A1,Alpha Machinery,machinery,1200,5000000
A2,Beta Electronics,electronics,300,800000
A3,Gamma Foods,food,50,
"""
ORDERS = """order_id,line_no,account_id,order_date,product_line,amount
O1,1,A1,2025-01-15,plc,1000.50
O1,2,A1,2025-01-15,drives,"2,500"
O2,1,A2,2025-03-01,plc,300
O3,1,A3,2025-06-30,sensors,-50
"""


def _import(tmp_path: Path, files: dict[str, str], **kw):
    folder = tmp_path / "export"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        write_csv(folder / name, text)
    return import_files([folder], store=tmp_path / "store.duckdb", now=NOW, **kw)




def _reasons(report, column: str) -> list[str]:
    return report.problems.loc[report.problems["column"] == column, "reason"].tolist()


def test_clean_import_loads_and_reconciles(tmp_path):
    report = _import(tmp_path, {"accounts.csv": ACCOUNTS, "orders.csv": ORDERS})
    assert report.status == "loaded"
    assert report.reconciles
    assert report.tables["orders"].read == 4 and report.tables["orders"].loaded == 4
    data = load(tmp_path / "store.duckdb")
    data.validate()
    orders = data.orders
    assert orders["amount"].tolist() == [1000.5, 2500.0, 300.0, -50.0]  # "2,500" read as 2500
    assert orders["order_date"].dtype.kind == "M"
    assert data.accounts.set_index("account_id").loc["A3", "category_spend"] != data.accounts.set_index("account_id").loc["A3", "category_spend"]  # NaN, not 0
    assert any("negative amount" in m for m in report.notices["message"])


def test_row_problems_go_to_quarantine_with_file_row_column_value_reason(tmp_path):
    orders = ORDERS + "\n".join(
        [
            "O4,1,A1,not a date,plc,100",  # row 6: bad date
            "O5,1,A1,2025-02-01,plc,abc",  # row 7: not a number
            "O1,1,A1,2025-01-15,plc,1",  # row 8: duplicate key of row 2
            "O6,1,ZZZ,2025-02-01,plc,10",  # row 9: unknown account
            "O7,1,A1,2099-01-01,plc,10",  # row 10: future date
            "O8,1,,2025-02-01,plc,10",  # row 11: required value missing
        ]
    ) + "\n"
    report = _import(tmp_path, {"accounts.csv": ACCOUNTS, "orders.csv": orders})
    counts = report.tables["orders"]
    assert (counts.read, counts.loaded, counts.quarantined) == (10, 4, 6)
    p = report.problems.set_index("row")
    assert p.loc[6, "column"] == "order_date" and "not a date" in p.loc[6, "reason"]
    assert p.loc[6, "value"] == "not a date" and p.loc[6, "file"] == "orders.csv"
    assert p.loc[7, "column"] == "amount" and "not a number" in p.loc[7, "reason"]
    assert "duplicate key" in p.loc[8, "reason"] and "row 2" in p.loc[8, "reason"]
    assert p.loc[9, "column"] == "account_id" and "unknown account: ZZZ" in p.loc[9, "reason"]
    assert "future" in p.loc[10, "reason"]
    assert "required value missing" in p.loc[11, "reason"]
    # the store's quarantine table holds the same entries
    data = load(tmp_path / "store.duckdb")
    assert len(data.quarantine) == len(report.problems)
    assert set(data.quarantine["row"]) == {6, 7, 8, 9, 10, 11}


def test_negative_amount_where_not_allowed_and_unknown_stage(tmp_path):
    opps = (
        "opportunity_id,account_id,created_date,stage,amount\n"
        "P1,A1,2025-01-01,Prospecting,100\n"
        "P2,A1,2025-01-01,Closed Won,-5\n"
        "P3,A2,2025-01-01,Dreaming,100\n"
        "P4,A2,2025-01-01,商务谈判,100\n"
    )
    report = _import(tmp_path, {"accounts.csv": ACCOUNTS, "opportunities.csv": opps})
    p = report.problems.set_index("row")
    assert "below the minimum 0" in p.loc[3, "reason"]
    assert p.loc[4, "column"] == "stage" and "unknown stage: Dreaming" in p.loc[4, "reason"]
    data = load(tmp_path / "store.duckdb")
    loaded = data.opportunities.set_index("opportunity_id")
    assert loaded.loc["P1", "stage"] == "lead" and loaded.loc["P1", "status"] == "open"
    assert loaded.loc["P4", "stage"] == "negotiation"  # Chinese alias from the methodology


def test_missing_required_column_refuses_and_writes_nothing(tmp_path):
    _import(tmp_path, {"accounts.csv": ACCOUNTS, "orders.csv": ORDERS})
    store = tmp_path / "store.duckdb"
    before = store_state(store)
    bad = tmp_path / "bad"
    bad.mkdir()
    write_csv(bad / "orders.csv", "order_id,line_no,account_id,amount\nO9,1,A1,5\n")
    write_csv(bad / "accounts.csv", "account_id,name\nA9,New\n")
    with pytest.raises(DataValidationError, match=r"orders.csv: required column 'order_date'"):
        import_files([bad], store=store, now=NOW)
    assert store_state(store) == before


def test_refused_import_into_new_store_leaves_no_file(tmp_path):
    write_csv(tmp_path / "orders.csv", "order_id\nO1\n")
    with pytest.raises(DataValidationError):
        import_files([tmp_path / "orders.csv"], store=tmp_path / "new.duckdb", now=NOW)
    assert not (tmp_path / "new.duckdb").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "file not found"),
        ("", "the file is empty"),
        ("account_id,name\n", "header but no data rows"),
    ],
)
def test_missing_empty_and_header_only_files(tmp_path, content, message):
    path = tmp_path / "accounts.csv"
    if content is not None:
        write_csv(path, content)
    with pytest.raises(DataValidationError, match=message):
        import_files([path], store=tmp_path / "s.duckdb", now=NOW)


def test_unplaceable_file_named_explicitly_is_refused(tmp_path):
    path = write_csv(tmp_path / "export_2025.csv", ACCOUNTS)
    with pytest.raises(DataValidationError, match="cannot tell which table"):
        import_files([path], store=tmp_path / "s.duckdb", now=NOW)


def test_orders_without_any_accounts_table_are_refused(tmp_path):
    path = write_csv(tmp_path / "orders.csv", ORDERS)
    with pytest.raises(DataValidationError, match="neither this import nor the store has an accounts"):
        import_files([path], store=tmp_path / "s.duckdb", now=NOW)


GBK_ACCOUNTS = "客户编号,客户名称,行业,地区\nC1,苏州恒力精密机械有限公司,机械,华东\nC2,深圳华芯电子有限公司,电子,华南\n"
GBK_ORDERS = "订单号,行号,客户编号,订单日期,订单金额,产品线\nS1,1,C1,2025/03/05,\"12,000.00\",伺服\nS2,1,C2,2025年4月1日,800,PLC\n"


def test_gbk_export_with_chinese_headers_is_detected_and_mapped(tmp_path):
    write_csv(tmp_path / "accounts.csv", GBK_ACCOUNTS, encoding="gbk")
    write_csv(tmp_path / "orders.csv", GBK_ORDERS, encoding="gbk")
    report = import_files([tmp_path], store=tmp_path / "s.duckdb", now=NOW)
    assert report.tables["orders"].loaded == 2 and report.reconciles
    data = load(tmp_path / "s.duckdb")
    assert data.accounts["name"].tolist() == ["苏州恒力精密机械有限公司", "深圳华芯电子有限公司"]
    assert data.orders["amount"].tolist() == [12000.0, 800.0]
    assert data.orders["order_date"].tolist() == [pd.Timestamp("2025-03-05"), pd.Timestamp("2025-04-01")]
    assert any("gb18030" in m for m in report.notices["message"])


def test_gbk_file_forced_as_utf8_gives_clear_error(tmp_path):
    write_csv(tmp_path / "accounts.csv", GBK_ACCOUNTS, encoding="gbk")
    with pytest.raises(DataValidationError, match=r"accounts.csv.*not valid UTF-8.*--encoding gbk"):
        import_files([tmp_path / "accounts.csv"], store=tmp_path / "s.duckdb", encoding="utf-8", now=NOW)


def test_utf8_with_bom(tmp_path):
    (tmp_path / "accounts.csv").write_bytes(b"\xef\xbb\xbf" + ACCOUNTS.encode())
    report = import_files([tmp_path / "accounts.csv"], store=tmp_path / "s.duckdb", now=NOW)
    assert report.tables["accounts"].loaded == 3


def test_excel_with_title_rows_above_the_header(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["2025年客户清单 (导出自CRM)"])
    ws.append([])
    ws.append(["客户编号", "客户名称", "员工人数"])
    ws.append(["K1", "placeholder", 100])
    ws["B4"].value = '=HYPERLINK("http://x")'
    ws["B4"].data_type = "s"  # text that looks like a formula, as CRMs export it
    ws.append(["K2", "+86 21 5555", "many"])
    wb.save(tmp_path / "accounts.xlsx")
    report = import_files([tmp_path / "accounts.xlsx"], store=tmp_path / "s.duckdb", now=NOW)
    counts = report.tables["accounts"]
    assert (counts.read, counts.loaded, counts.quarantined) == (2, 1, 1)
    # row numbers are the spreadsheet's: header in row 3, K2 in row 5
    assert report.problems["row"].tolist() == [5]
    assert "not a whole number" in report.problems["reason"].iloc[0]
    assert load(tmp_path / "s.duckdb").accounts["name"].tolist() == ['=HYPERLINK("http://x")']
    assert any("title row" in m for m in report.notices["message"])


@pytest.mark.parametrize("cell", ["=1+2", "+SUM(A1:A9)", "-2+3", "@cmd", "=HYPERLINK(\"http://evil\",\"x\")"])
def test_formula_like_cells_stay_text(tmp_path, cell):
    text = f'account_id,name\nA1,"{cell.replace(chr(34), chr(34) * 2)}"\n'
    import_files([write_csv(tmp_path / "accounts.csv", text)], store=tmp_path / "s.duckdb", now=NOW)
    assert load(tmp_path / "s.duckdb").accounts["name"].tolist() == [cell]


def test_one_megabyte_text_cell_is_quarantined_not_dropped(tmp_path):
    big = "x" * (1 << 20)
    text = f"account_id,name\nA1,ok\nA2,{big}\n"
    report = import_files([write_csv(tmp_path / "accounts.csv", text)], store=tmp_path / "s.duckdb", now=NOW)
    assert report.tables["accounts"].loaded == 1 and report.tables["accounts"].quarantined == 1
    assert "text too long: 1048576 characters (limit 100,000)" in report.problems["reason"].iloc[0]


def test_parquet_source(tmp_path):
    frame = pd.DataFrame({"account_id": ["A1", "A2"], "name": ["x", "y"], "employees": [10, None]})
    frame.to_parquet(tmp_path / "accounts.parquet")
    report = import_files([tmp_path / "accounts.parquet"], store=tmp_path / "s.duckdb", now=NOW)
    assert report.tables["accounts"].loaded == 2
    assert load(tmp_path / "s.duckdb").accounts["employees"].tolist()[0] == 10


def test_group_hierarchy_cycle_is_quarantined(tmp_path):
    text = "account_id,name,parent_account_id\nG,Group,\nS1,Sub1,G\nX,X,Y\nY,Y,X\n"
    report = import_files([write_csv(tmp_path / "accounts.csv", text)], store=tmp_path / "s.duckdb", now=NOW)
    assert sorted(report.problems["row"]) == [4, 5]
    assert all("cycle" in r for r in report.problems["reason"])


def test_reimport_is_idempotent_and_new_export_adds_snapshot(tmp_path):
    files = {"accounts.csv": ACCOUNTS, "orders.csv": ORDERS}
    first = _import(tmp_path, files)
    store = tmp_path / "store.duckdb"
    state = store_state(store)
    again = _import(tmp_path, files)
    assert again.status == "unchanged" and again.batch_id == first.batch_id
    assert store_state(store) == state
    newer = ORDERS + "O9,1,A2,2025-09-01,plc,700\n"
    second = _import(tmp_path, {"accounts.csv": ACCOUNTS, "orders.csv": newer})
    assert second.batch_id == first.batch_id + 1
    assert second.tables["accounts"].status == "unchanged"
    assert len(load(store).orders) == 5
    assert len(load(store, snapshot=first.batch_id).orders) == 4  # history kept
    assert load(store, snapshot=first.batch_id).snapshot.fingerprint != snapshot_info(store).fingerprint
    with pytest.raises(DataValidationError, match="no import batch 99"):
        load(store, snapshot=99)


def test_as_of_view_hides_the_future(tmp_path):
    opps = (
        "opportunity_id,account_id,created_date,stage,status,closed_date,amount\n"
        "P1,A1,2025-01-01,won,won,2025-05-01,100\n"
        "P2,A1,2025-04-01,lost,lost,2025-04-20,50\n"
        "P3,A2,2025-07-01,quote,open,,70\n"
    )
    history = (
        "opportunity_id,stage,entered_at,amount\n"
        "P1,lead,2025-01-01 09:00,80\nP1,quote,2025-03-01 17:30,90\nP1,won,2025-05-01 10:00,100\n"
        "P2,lead,2025-04-01,50\nP2,lost,2025-04-20,50\nP3,quote,2025-07-01,70\n"
    )
    _import(tmp_path, {"accounts.csv": ACCOUNTS, "orders.csv": ORDERS, "opportunities.csv": opps, "stage_history.csv": history})
    data = load(tmp_path / "store.duckdb")
    past = data.as_of("2025-03-01")
    assert past.orders["order_date"].max() <= pd.Timestamp("2025-03-01")
    assert len(past.orders) == 3  # O3 (2025-06-30) hidden
    opp = past.opportunities.set_index("opportunity_id")
    assert list(opp.index) == ["P1"]  # P2, P3 created later
    assert opp.loc["P1", "status"] == "open" and opp.loc["P1", "stage"] == "quote"  # entered at 17:30 that day
    assert pd.isna(opp.loc["P1", "closed_date"]) and opp.loc["P1", "amount"] == 90
    assert past.stage_history["entered_at"].max() < pd.Timestamp("2025-03-02")
    # the full data is untouched by the view
    assert data.opportunities.set_index("opportunity_id").loc["P1", "status"] == "won"
    with pytest.raises(ConfigError, match="does not parse"):  # the one date parser's error
        data.as_of("30/02/2025x")


def test_missing_optional_table_says_so(tmp_path):
    from kamlib.errors import MissingTableError

    _import(tmp_path, {"accounts.csv": ACCOUNTS, "orders.csv": ORDERS})
    data = load(tmp_path / "store.duckdb")
    assert not data.has("contacts")
    with pytest.raises(MissingTableError, match="no 'contacts' table. The power map needs it"):
        data.require("contacts", "The power map")
    with pytest.raises(DataValidationError, match="not a canonical table"):
        data.has("customers")


def test_kamdata_is_read_only(tmp_path):
    """What a caller does to a frame it got from KamData never reaches the data.

    Under pandas 3 copy-on-write a *value* written into any new frame object can never
    reach the container, so checking that alone proves nothing.  What kamlib must get right:
    hand out a new object on every access (in-place changes to the object itself — a new
    column, renamed columns, attrs — would otherwise show in every later access and, through
    ``load``'s per-process cache, in every later report of a warm kernel), and give no
    writable view of its arrays.
    """
    _import(tmp_path, {"accounts.csv": ACCOUNTS, "orders.csv": ORDERS})
    store = tmp_path / "store.duckdb"
    data = load(store)
    expected = {t: data[t].copy(deep=True) for t in data.tables}
    for table in data.tables:
        frame = data[table]
        assert frame is not data[table] and frame is not getattr(data, table)
        frame.loc[frame.index[0], frame.columns[0]] = None
        frame["extra"] = 1
        frame.attrs["note"] = "changed by a caller"
        frame.columns = [f"{c}_renamed" for c in frame.columns]
        for column in data[table].columns:  # a column's array: read-only, or a copy
            if isinstance(data[table][column].dtype, MASKED):
                continue  # a hole of its own: see the next test
            values = data[table][column].to_numpy()
            if values.flags.writeable:
                values[:] = values[::-1].copy()
        whole = data[table].to_numpy()  # the whole-frame array is a copy
        whole[:] = whole[::-1].copy()
    with pytest.raises(ValueError, match="read-only"):
        data.orders["amount"].to_numpy()[0] = -1e9  # a view of the data: refused
    again = load(store)
    assert again is data  # the cached object other reports in this process get
    for table, frame in expected.items():
        pd.testing.assert_frame_equal(again[table], frame)
        assert again[table].attrs == {}
    with pytest.raises(AttributeError):
        data.snapshot = None


MASKED = (pd.Int64Dtype, pd.BooleanDtype)


def test_kamdata_nullable_columns_cannot_be_written_through_numpy(tmp_path):
    _import(tmp_path, {"accounts.csv": ACCOUNTS, "orders.csv": ORDERS})
    store = tmp_path / "store.duckdb"
    data = load(store)
    expected = data.orders.copy(deep=True)
    assert isinstance(expected["line_no"].dtype, pd.Int64Dtype)
    values = data.orders["line_no"].to_numpy()
    if values.flags.writeable:
        values[:] = 99
    pd.testing.assert_frame_equal(load(store).orders, expected)


def test_kamdata_bookkeeping_frames_are_read_only(tmp_path):
    _import(tmp_path, {"accounts.csv": ACCOUNTS, "orders.csv": ORDERS})
    data = load(tmp_path / "store.duckdb")
    for name in ("import_batches", "import_tables", "quarantine", "notices"):
        before = getattr(data, name).copy(deep=True)
        frame = getattr(data, name)
        frame["extra"] = 1
        pd.testing.assert_frame_equal(getattr(load(tmp_path / "store.duckdb"), name), before)


def test_mapping_file_with_rules_and_value_fixes(tmp_path):
    mapping = tmp_path / "erp.yml"
    mapping.write_text(
        """
name: erp
files:
  - table: accounts
    file: kunden*.csv
    columns:
      account_id: Kundennr
      name: Firma
      annual_revenue: {column: Umsatz_Mio, scale: 1000000}
    values:
      name: {"ACME GmbH ": "ACME GmbH"}
  - table: orders
    file: belege*.csv
    columns:
      order_id: Beleg
      line_no: {row_number_within: Beleg}
      account_id: Kundennr
      order_date: {column: Datum, format: "%d.%m.%Y"}
      amount: {multiply: [Menge, Preis]}
""",
        encoding="utf-8",
    )
    write_csv(tmp_path / "kunden_2025.csv", "Kundennr,Firma,Umsatz_Mio\nK1,ACME GmbH,2.5\n")
    write_csv(tmp_path / "belege_2025.csv", "Beleg,Kundennr,Datum,Menge,Preis\nB1,K1,31.01.2025,2,10.5\nB1,K1,31.01.2025,1,x\n")
    report = import_files([tmp_path], store=tmp_path / "s.duckdb", mapping=mapping, now=NOW)
    data = load(tmp_path / "s.duckdb")
    assert data.accounts["annual_revenue"].tolist() == [2_500_000.0]
    assert data.orders[["line_no", "amount"]].values.tolist() == [[1, 21.0]]
    assert report.problems["value"].tolist() == ["1 × x"]
    assert data.orders["order_date"].iloc[0] == pd.Timestamp("2025-01-31")


def test_bad_mapping_file_is_a_config_error(tmp_path):
    mapping = tmp_path / "m.yml"
    mapping.write_text("files:\n  - table: orders\n    columns: {amount: {evaluate: 'x*2'}}\n")
    with pytest.raises(ConfigError, match="must be a source column name or one of"):
        import_files([tmp_path], store=tmp_path / "s.duckdb", mapping=mapping, now=NOW)
    mapping.write_text("files:\n  - table: customers\n")
    with pytest.raises(ConfigError, match="'table' must be one of accounts"):
        import_files([tmp_path], store=tmp_path / "s.duckdb", mapping=mapping, now=NOW)
    with pytest.raises(ConfigError, match="Unknown preset 'sap'. Valid presets: maven-crm, online-retail"):
        import_files([tmp_path], store=tmp_path / "s.duckdb", preset="sap", now=NOW)


# -- command line ---------------------------------------------------------------------------
def test_cli_import_json_and_exit_codes(tmp_path):
    for name, text in {"accounts.csv": ACCOUNTS, "orders.csv": ORDERS + "O9,1,NOPE,2025-01-01,plc,1\n"}.items():
        write_csv(tmp_path / name, text)
    runner = CliRunner()
    store = str(tmp_path / "s.duckdb")
    result = runner.invoke(main, ["import", str(tmp_path), "--store", store, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["tables"]["orders"] == {"read": 5, "loaded": 4, "quarantined": 1, "files": ["orders.csv"], "status": "loaded"}
    assert out["problems"][0] | {} == {
        "table": "orders", "file": "orders.csv", "row": 6, "column": "account_id",
        "value": "NOPE", "reason": "unknown account: NOPE (not in accounts)", "check": "unknown account",
    }
    result = runner.invoke(main, ["import", str(tmp_path / "missing.csv"), "--store", store])
    assert result.exit_code == 2
    assert "file not found" in result.stderr and "Traceback" not in result.output


def test_cli_help_on_every_command():
    runner = CliRunner()
    for cmd in (["--help"], ["import", "--help"], ["demo", "--help"], ["status", "--help"]):
        result = runner.invoke(main, cmd)
        assert result.exit_code == 0 and "Usage" in result.output


# -- the real exports -------------------------------------------------------------------------
def test_maven_crm_preset_surfaces_the_known_quirks(tmp_path, shared_data):
    report = import_files([shared_data / "maven-crm"], store=tmp_path / "s.duckdb", preset="maven-crm", now=NOW)
    assert report.reconciles
    opp = report.tables["opportunities"]
    assert opp.read == 8800
    assert report.tables["accounts"].loaded == 85 and report.tables["products"].loaded == 7
    messages = " | ".join(report.notices["message"])
    assert "1,425 opportunities have no account" in messages
    assert "'GTXPro' read as 'GTX Pro'" in messages and "'technolgy' read as 'technology'" in messages
    assert "sales_teams.csv not imported" in messages
    # Prospecting deals have no engage_date: quarantined with that reason, not dropped
    assert opp.quarantined == 500 and set(_reasons(report, "created_date")) == {
        "required value missing: created_date is empty"
    }
    data = load(tmp_path / "s.duckdb")
    assert data.opportunities["status"].value_counts().to_dict() == {"won": 4238, "lost": 2473, "open": 1589}
    assert set(data.opportunities["product_line"].dropna()) <= set(data.products["product_line"])
    assert data.accounts["parent_account_id"].notna().sum() > 0


@pytest.mark.slow
def test_online_retail_reconciles_exactly_against_the_raw_file(tmp_path, shared_data):
    path = shared_data / "online-retail" / "online_retail.csv.gz"
    report = import_files([path], store=tmp_path / "s.duckdb", preset="online-retail", now=NOW)
    orders = report.tables["orders"]
    assert orders.read == 541_909
    assert orders.read == orders.loaded + orders.quarantined
    # independent reference: the raw file read by pandas, and the published total
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        raw = pd.read_csv(fh, dtype={"CustomerID": str, "InvoiceNo": str, "StockCode": str})
    no_customer = raw["CustomerID"].isna()
    assert orders.quarantined == int(no_customer.sum()) == 135_080
    data = load(tmp_path / "s.duckdb")
    loaded_total = data.orders["amount"].sum()
    missing_total = (raw.loc[no_customer, "Quantity"] * raw.loc[no_customer, "UnitPrice"]).sum()
    assert loaded_total + missing_total == pytest.approx(9_747_747.93, abs=0.01)
    assert len(data.accounts) == raw["CustomerID"].nunique() == 4372
    assert data.orders["amount"].lt(0).sum() == int((raw.loc[~no_customer, "Quantity"] * raw.loc[~no_customer, "UnitPrice"] < 0).sum())
    assert any("negative amount" in m for m in report.notices["message"])


def test_store_that_is_not_duckdb(tmp_path):
    bad = tmp_path / "x.duckdb"
    bad.write_text("hello")
    with pytest.raises(DataValidationError, match="not a DuckDB database|not a kamlib store"):
        load(bad)


def test_store_files_are_not_touched_by_failed_import_mid_validation(tmp_path, monkeypatch):
    _import(tmp_path, {"accounts.csv": ACCOUNTS, "orders.csv": ORDERS})
    store = tmp_path / "store.duckdb"
    before = store_state(store)
    from kamlib.data import import_batch

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(import_batch.ImportBatch, "notices_for_rows", boom)
    with pytest.raises(RuntimeError):
        _import(tmp_path, {"accounts.csv": ACCOUNTS, "orders.csv": ORDERS + "O9,1,A1,2025-01-01,plc,1\n"})
    assert store_state(store) == before
    shutil.rmtree(tmp_path / "export")


def test_as_of_tables_are_the_same_whichever_is_read_first(small_data):
    """``as_of`` cuts each table on first use; tables cut from others (competitors from the
    deals known then, deals reopened from the stage history) do not depend on the order."""
    names = small_data.tables
    forward, backward = small_data.as_of("2025-12-31"), small_data.as_of("2025-12-31")
    first = {t: forward[t] for t in names}
    second = {t: backward[t] for t in reversed(names)}
    for t in names:
        pd.testing.assert_frame_equal(first[t], second[t])
    assert len(first["orders"]) < len(small_data.orders)
    assert forward.counts() == {t: len(f) for t, f in first.items()}


def test_as_of_accounts_without_created_date_exist_from_their_first_record(tmp_path):
    """The point-in-time universe of KamData.as_of is the account features' one: A3 first
    ordered on 2025-06-30, so on 2025-03-31 it did not exist yet (no created_date here)."""
    _import(tmp_path, {"accounts.csv": ACCOUNTS, "orders.csv": ORDERS})
    data = load(tmp_path / "store.duckdb")
    assert data.accounts["created_date"].isna().all()
    assert sorted(data.as_of("2025-03-31").accounts["account_id"]) == ["A1", "A2"]
    assert sorted(data.as_of("2025-06-30").accounts["account_id"]) == ["A1", "A2", "A3"]
    assert list(data.as_of("2024-12-31").accounts["account_id"]) == []


def test_a_store_from_an_older_kamlib_reads_columns_added_since_as_missing(tmp_path, demo_store):
    """Opportunities gained sales_process and lost_to (#13): a snapshot imported before has no
    such columns; loading it gives missing values, never a database error."""
    import duckdb

    from kamlib.data.store import effective_batches, snapshot_table

    store = tmp_path / "old.duckdb"
    shutil.copy(demo_store, store)
    with duckdb.connect(str(store)) as con:
        batch, _ = effective_batches(con, None)["opportunities"]
        table = snapshot_table("opportunities", batch)
        con.execute(f"ALTER TABLE {table} DROP COLUMN sales_process")
        con.execute(f"ALTER TABLE {table} DROP COLUMN lost_to")
    opps = load(store).opportunities
    assert opps["sales_process"].isna().all() and opps["lost_to"].isna().all()
    assert len(opps) == len(load(demo_store).opportunities)
