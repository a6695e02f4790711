"""The importer's cheap paths give the answers of the plain ones: ids are cleaned with
``translate`` only when they are not ASCII, the snapshot stores a file's number (the view
names it), and files read straight from disk number their rows by insertion order."""

from __future__ import annotations

import duckdb
import pytest
from conftest import NOW, write_csv

from kamlib.data import import_files, load
from kamlib.data.import_sql import INVISIBLE_CHARS, invisible_mask, sql_literal, strip_invisible
from kamlib.data.schemas import TABLES

VALUES = [
    None, "", "  ", "A1", " A1 ", "\ufeffA1", "A1\u200b", "A\u200c1\u200d", "\u2060",
    "客户1", "客户\u200b1", "é", "\u3000A1\u3000", "a\u0301", "\ufeff",
]  # fmt: skip


@pytest.mark.parametrize("value", VALUES)
def test_strip_invisible_equals_translate(value):
    con = duckdb.connect()
    plain, cheap = con.execute(
        f"SELECT translate(x, {sql_literal(INVISIBLE_CHARS)}, ''), {strip_invisible('x')} "
        "FROM (SELECT CAST(? AS VARCHAR) AS x)",
        [value],
    ).fetchone()
    assert cheap == plain


def test_invisible_mask_flags_exactly_the_changed_ids():
    con = duckdb.connect()
    spec = TABLES["orders"]  # id columns: order_id, account_id, product_id (bits 0, 1, 2)
    mask = invisible_mask(spec, {"order_id": "a", "account_id": "b", "product_id": "c"})
    for value in VALUES:
        for other in ("A1", "\ufeffA1"):
            got = con.execute(
                f"SELECT {mask} FROM (SELECT CAST(? AS VARCHAR) a, CAST(? AS VARCHAR) b, "
                "CAST(? AS VARCHAR) c)",
                [value, other, value],
            ).fetchone()[0]
            changed = value is not None and any(ch in value for ch in INVISIBLE_CHARS)
            expected = (1 if changed else 0) + (2 if other != "A1" else 0) + (4 if changed else 0)
            assert got == expected, (value, other)


ACCOUNTS = "account_id,name\nA1,Alpha\nA2,Beta\n"
HEADER = "order_id,line_no,account_id,order_date,amount\n"


def test_two_files_with_the_same_name_keep_their_own_row_numbers(tmp_path):
    accounts = write_csv(tmp_path / "accounts.csv", ACCOUNTS)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write_csv(
        tmp_path / "a" / "orders.csv",
        HEADER + "O1,1,A1,2025-01-01,10\nO2,1,A1,2025-01-02,abc\n",  # row 3: not a number
    )
    second = write_csv(
        tmp_path / "b" / "orders.csv",
        HEADER
        + "O3,1,A2,2025-01-01,10\nO4,1,A2,2025-01-02,20\nO5,1,ZZ,2025-01-03,30\n"  # row 4: unknown
        + "O1,1,A2,2025-01-04,40\n",  # row 5: duplicate of a/orders.csv row 2
    )
    report = import_files([accounts, first, second], store=tmp_path / "s.duckdb", now=NOW)
    counts = report.tables["orders"]
    assert (counts.read, counts.loaded, counts.quarantined) == (6, 3, 3)
    problems = report.problems.sort_values("row")
    # the same name twice: each file is named by its path
    assert problems["file"].tolist() == [str(first), str(second), str(second)]
    assert problems["row"].tolist() == [3, 4, 5]
    assert problems["column"].tolist() == ["amount", "account_id", "order_id+line_no"]
    assert f"first seen in {first} row 2" in problems["reason"].iloc[2]
    data = load(tmp_path / "s.duckdb")
    assert sorted(data.orders["order_id"]) == ["O1", "O3", "O4"]
    assert sorted(data.quarantine["row"]) == [3, 4, 5]


def test_spreadsheet_and_csv_in_one_table_number_rows_each_their_way(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Orders export"])  # a title row: the header is row 2
    ws.append(["order_id", "line_no", "account_id", "order_date", "amount"])
    ws.append(["O1", 1, "A1", "2025-01-01", 10])
    ws.append(["O2", 1, "A1", "2025-01-02", "abc"])  # row 4
    (tmp_path / "x").mkdir()
    wb.save(tmp_path / "x" / "orders.xlsx")
    accounts = write_csv(tmp_path / "accounts.csv", ACCOUNTS)
    csv = write_csv(
        tmp_path / "orders.csv", HEADER + "O3,1,A2,2025-01-01,10\nO4,1,ZZ,2025-01-02,5\n"
    )
    report = import_files(
        [accounts, tmp_path / "x" / "orders.xlsx", csv], store=tmp_path / "s.duckdb", now=NOW
    )
    counts = report.tables["orders"]
    assert (counts.read, counts.loaded, counts.quarantined) == (4, 2, 2)
    got = sorted(zip(report.problems["file"], report.problems["row"], strict=True))
    assert got == [("orders.csv", 3), ("orders.xlsx", 4)]
