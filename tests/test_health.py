"""kamlib.data.health: expected values are counted by hand from tests/report_fixtures.py."""

from __future__ import annotations

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from report_fixtures import AS_OF, XSS, canonical, make_data

from kamlib.data import KamData, Snapshot, health


@pytest.fixture(scope="module")
def data() -> KamData:
    return make_data()


def test_fixture_matches_the_canonical_schema(data):
    data.validate()


def test_table_overview_counts_rows_as_of_and_distinct_quarantined_rows(data):
    tables = health.table_overview(data, as_of=AS_OF).set_index("table")
    assert list(tables.index) == list(health.TABLES)
    # order lines 0..36 are dated on or before 2026-09-30 (line 36: 2026-09-19)
    assert tables.loc["orders", "rows"] == 37
    assert tables.loc["orders", "last_date"] == pd.Timestamp("2026-09-19")
    assert tables.loc["accounts", "rows"] == 5
    assert not tables.loc["stage_history", "present"]
    # orders.csv row 17 fails twice but is one row
    assert tables.loc["orders", "rows_quarantined"] == 4
    assert tables.loc["accounts", "rows_quarantined"] == 1
    assert tables.loc["contacts", "rows_quarantined"] == 0


def test_table_overview_without_as_of_shows_everything(data):
    tables = health.table_overview(data).set_index("table")
    assert tables.loc["orders", "rows"] == 40


def test_import_history_is_newest_first_with_totals(data):
    batches = health.import_history(data)
    assert list(batches["batch_id"]) == [2, 1]
    assert list(batches["tables"]) == [1, 4]
    assert list(batches["rows_loaded"]) == [40, 15]
    assert list(batches["rows_quarantined"]) == [4, 1]


def test_batch_rows_in_batch_then_canonical_table_order(data):
    rows = health.batch_rows(data)
    assert list(zip(rows["batch_id"], rows["table"], strict=True)) == [
        (1, "accounts"),
        (1, "products"),
        (1, "opportunities"),
        (1, "contacts"),
        (2, "orders"),
    ]


def test_quarantine_summary_counts_rows_and_failures(data):
    summary = health.quarantine_summary(data, examples=2)
    assert list(summary.columns) == [
        "table", "reason", "rows", "failures", "columns", "examples",
    ]  # fmt: skip
    by_reason = summary.set_index("reason")
    assert by_reason.loc["amount is not a number", "rows"] == 2
    assert by_reason.loc["unknown account", "rows"] == 2
    assert by_reason.loc["order_date lies in the future", "failures"] == 1
    assert by_reason.loc["amount is not a number", "examples"] == (
        "orders.csv row 17: amount = 'abc'; orders.csv row 18: amount = 'n/a'"
    )
    # the value is kept as text (escaping is the report's job)
    assert XSS in by_reason.loc["name is empty", "examples"]
    # most rows first, then table, then reason
    assert list(summary["rows"]) == sorted(summary["rows"], reverse=True)


def test_coverage_gaps(data):
    gaps = health.coverage_gaps(data, as_of=AS_OF).set_index("check")
    expected = {
        # check: (rows, of_rows, examples)
        "accounts_without_orders": (2, 5, "A4, A5"),
        "accounts_without_contacts": (3, 5, "A3, A4, A5"),
        "accounts_without_opportunities": (2, 5, "A4, A5"),
        "accounts_without_owner": (1, 5, "A3"),
        "accounts_unknown_parent": (1, 5, "A5"),
        "orders_unknown_account": (0, 37, ""),
        # product PX on lines 3, 7, …, 35 (i % 4 == 3, i <= 36): nine lines
        "orders_unknown_product": (9, 37, "O001/2, O003/2, O005/2"),
        "contacts_unknown_account": (0, 3, ""),
        "open_opportunities_without_account": (1, 3, "OP3"),
        "open_opportunities_without_close_date": (1, 3, "OP2"),
    }
    assert set(gaps.index) == set(expected)
    for check, (rows, of_rows, examples) in expected.items():
        assert (gaps.loc[check, "rows"], gaps.loc[check, "of_rows"]) == (rows, of_rows), check
        assert gaps.loc[check, "examples"] == examples, check
        assert gaps.loc[check, "share"] == pytest.approx(rows / of_rows), check


def test_coverage_skips_checks_whose_tables_are_missing(data):
    only = KamData(
        {"accounts": data.accounts, "orders": data.orders},
        snapshot=data.snapshot,
    )
    checks = set(health.coverage_gaps(only)["check"])
    assert "accounts_without_contacts" not in checks
    assert "open_opportunities_without_account" not in checks
    # without a products table a line is unknown only when it names no product at all
    orders = data.orders.assign(product_id=lambda f: f["product_id"].where(f["line_no"] == 1))
    only = KamData({"accounts": data.accounts, "orders": orders}, snapshot=data.snapshot)
    gaps = health.coverage_gaps(only).set_index("check")
    assert gaps.loc["orders_unknown_product", "rows"] == 20


def test_data_health_key_figures(data):
    result = health.data_health(data, as_of=AS_OF)
    assert result.key_figures() == {
        "tables_present": 5,
        "total_rows": 5 + 3 + 37 + 4 + 3,
        "batches": 2,
        "quarantined_rows": 5,
        "notice_count": 1,
        "coverage_gaps": 8,
    }
    assert list(result.summary().columns) == ["measure", "value"]
    assert result.as_of == pd.Timestamp(AS_OF)


def test_empty_bookkeeping_gives_empty_frames_with_columns():
    accounts = canonical("accounts", pd.DataFrame({"account_id": ["A1"], "name": ["X"]}))
    orders = canonical("orders", pd.DataFrame(columns=["order_id"]))
    data = KamData(
        {"accounts": accounts, "orders": orders}, snapshot=Snapshot(None, "empty", None, "t")
    )
    result = health.data_health(data)
    assert result.batches.empty and "rows_loaded" in result.batches
    assert result.quarantine.empty and "reason" in result.quarantine
    assert result.notices.empty and "message" in result.notices
    assert result.key_figures()["quarantined_rows"] == 0
    gaps = result.coverage.set_index("check")
    assert gaps.loc["orders_unknown_product", "share"] == 0.0  # nothing checked: 0, not NaN


def test_inputs_are_not_mutated(data):
    before = {name: data[name] for name in data.tables}
    quarantine = data.quarantine.copy()
    health.data_health(data, as_of=AS_OF)
    for name, frame in before.items():
        assert_frame_equal(data[name], frame)
    assert_frame_equal(data.quarantine, quarantine)
