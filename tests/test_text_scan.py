"""The byte scan that lets the import skip ``trim`` and the invisible-character clean-up
(``kamlib.data.text_scan``): it may say "clean it" too often, never too rarely — checked
against DuckDB's own ``trim`` on generated CSV files — and its answer does not depend on
how the file is cut into blocks and threads."""

from __future__ import annotations

import csv
import gzip
import io

import duckdb
import pandas as pd
import pytest
from conftest import NOW, write_csv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kamlib.data import import_batch, import_files, load
from kamlib.data.import_sql import INVISIBLE_CHARS, sql_literal
from kamlib.data.text_scan import INVISIBLE, WIDE_SPACES, needs_no_cleaning

CLEAN = 'order_id,line_no,account_id,amount\nO1,1,A1,10\nO2,1,东北 客户,"Acme, Inc"\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (CLEAN, False),  # ", " inside a quoted value: conservative, cleaned
        ("a,b\nO1,x y\nO2,东北\n", True),
        ("a,b\nO1,x y\nO2,东北", True),  # no newline at the end
        ("\ufeffa,b\nO1,x\n", True),  # the file's own byte-order mark: DuckDB skips it
        ("a,b\n\ufeffO1,x\n", False),  # one glued to a row
        ("a,b\nO1,x \n", False),
        ("a,b\nO1, x\n", False),
        ("a,b\n O1,x\n", False),
        ("a,b\nO1,x ", False),  # a space at the very end
        (" a,b\nO1,x\n", False),  # and at the very start
        ('a,b\nO1,"x "\n', False),
        ("a;b\nO1;x ;y\n", False),
        ("a,b\nO1,x\u00a0y\n", False),  # a wide space anywhere (conservative)
        ("a,b\nO1,x\u3000\n", False),
        ("a,b\nO1,x\u200by\n", False),  # zero-width space
        ("a,b\nO1,x\u2060\n", False),
        ("a,b\nO1,x\ty\n", True),  # DuckDB's trim keeps tabs
        ("a,b\nO1,x\u2013y\n", True),  # an en dash starts like a wide space, is not one
        # many of them in a block: numpy looks at the block instead of bytes.find
        ("a,b\n" + "O1,x\u2013y\n" * 40, True),
        ("a,b\n" + "O1,x\u2013y\n" * 40 + "O2,a\u2009b\n", False),
    ],
)
def test_examples(tmp_path, text, expected):
    path = write_csv(tmp_path / "orders.csv", text)
    assert needs_no_cleaning(path) is expected
    assert needs_no_cleaning(path, block=3, parts=2) is expected


def test_compressed_file_is_never_called_clean(tmp_path):
    path = tmp_path / "orders.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\nO1,x\n"))
    assert needs_no_cleaning(path) is False


HOSTILE = ["a", "东", " ", ",", '"', ";", "\t", "\n", "\r", "\u2013"]
HOSTILE += list(WIDE_SPACES[:3] + WIDE_SPACES[-3:] + INVISIBLE[:3])
ORDINARY = [
    "",
    "a",
    "x y",
    "东北 客户",
    "é",
    "1.5",
    "a-b",
    "x\u2013y",
    "Acme Co",
    'say "hi"',
    "a;b",
]
# mostly ordinary values (clean files are common), now and then a hostile one
values = st.one_of(*[st.sampled_from(ORDINARY)] * 6, st.text(st.sampled_from(HOSTILE), max_size=3))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.lists(values, min_size=3, max_size=3), min_size=1, max_size=8),
    bom=st.booleans(),
    block=st.integers(min_value=1, max_value=40),
    parts=st.integers(min_value=1, max_value=4),
)
def test_clean_files_need_no_trim(tmp_path, rows, bom, block, parts):
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([["a", "b", "c"], *rows])
    path = tmp_path / "t.csv"
    path.write_bytes((("\ufeff" if bom else "") + out.getvalue()).encode())
    clean = needs_no_cleaning(path)
    # the same answer however the file is cut into blocks and threads
    assert needs_no_cleaning(path, block=block, parts=parts) is clean
    if not clean:
        return
    try:
        changed = duckdb.execute(
            "SELECT count(*) FROM (SELECT unnest([a, b, c]) AS v FROM read_csv(?, header=true, "
            "all_varchar=true, strict_mode=false, null_padding=true, quote='\"', escape='\"')) "
            f"WHERE v <> trim(v) OR v <> translate(v, {sql_literal(INVISIBLE_CHARS)}, '')",
            [str(path)],
        ).fetchone()[0]
    except duckdb.Error:
        return  # not a CSV DuckDB reads (the import refuses it; nothing to clean)
    assert changed == 0


ACCOUNTS = "account_id,name\nA1,Alpha\nA2,Beta Co\nA3,东北 机械\n"


def _orders(lines: int, dirty: str = "") -> str:
    """Order lines, some quarantined (an amount that is not a number, an unknown account)."""
    rows = [
        f"SO{i:06d},{i % 3 + 1},A{i % 4 + 1},2025-0{i % 9 + 1}-1{i % 10},"
        f"{'东北' if i % 2 else 'Industrial Drives'},{'abc' if i % 97 == 0 else i * 1.5},"
        f"{'x-y' if i % 7 else 'direct sales'}"
        for i in range(lines)
    ]
    header = "order_id,line_no,account_id,order_date,product_line,amount,channel\n"
    return header + "\n".join(rows) + "\n" + dirty


def test_clean_and_cleaned_imports_are_identical(tmp_path, monkeypatch):
    """A clean file imported through the fast form and through the full clean-up gives the
    same tables, quarantine, problems and notices."""
    write_csv(tmp_path / "accounts.csv", ACCOUNTS)
    orders = write_csv(tmp_path / "orders.csv", _orders(3000))
    assert needs_no_cleaning(orders)
    results = []
    for fast in (True, False):
        if not fast:
            monkeypatch.setattr(import_batch, "needs_no_cleaning", lambda path: False)
        store = tmp_path / f"{fast}.duckdb"
        report = import_files([tmp_path / "accounts.csv", orders], store=store, now=NOW)
        assert (
            report.reconciles and report.tables["orders"].quarantined > 0
        )  # 'abc' amounts, account A4
        data = load(store)
        results.append(
            (data.orders, data.accounts, data.quarantine, report.problems, report.notices)
        )
    for fast, full in zip(*results, strict=True):
        pd.testing.assert_frame_equal(fast, full, check_exact=True)


def test_one_dirty_value_at_the_end_is_cleaned(tmp_path):
    write_csv(tmp_path / "accounts.csv", ACCOUNTS)
    orders = write_csv(
        tmp_path / "orders.csv", _orders(3000, "SO999999,1,\ufeffA2 ,2025-01-01, x ,5,y\n")
    )
    assert not needs_no_cleaning(orders)
    report = import_files([tmp_path / "accounts.csv", orders], store=tmp_path / "s.duckdb", now=NOW)
    assert (
        report.tables["orders"].loaded
        == report.tables["orders"].read - report.tables["orders"].quarantined
    )
    row = load(tmp_path / "s.duckdb").orders.set_index("order_id").loc["SO999999"]
    assert (row["account_id"], row["product_line"]) == ("A2", "x")
    assert "invisible_chars" in set(report.notices["kind"])
