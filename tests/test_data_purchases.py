"""Won deals stand in for purchases when the data has no order lines (kamlib.data.purchases)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from kamlib.data import KamData, Snapshot
from kamlib.data.purchases import (
    ORDER_LINES,
    REVENUE_NEED,
    WON_DEALS,
    WON_DEALS_STATEMENT,
    purchases_from_won_deals,
    revenue_source,
    unmet_needs,
)
from kamlib.data.schemas import TABLES, conform

SNAP = Snapshot(None, "test", None, "test")


def _opportunities() -> pd.DataFrame:
    rows = [
        # id, account, amount, status, created, closed, product line
        ("D1", "A1", 100.0, "won", "2025-01-05", "2025-03-01", "pumps"),
        ("D2", "A1", 50.0, "won", "2025-02-01", "2025-06-15", "valves"),
        ("D3", "A2", 70.0, "lost", "2025-01-10", "2025-04-01", "pumps"),
        ("D4", "A2", 30.0, "open", "2025-05-01", None, "pumps"),
        ("D5", None, 999.0, "won", "2025-01-01", "2025-02-01", "pumps"),  # no account
        ("D6", "A2", None, "won", "2025-01-01", "2025-02-01", "pumps"),  # no amount
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "opportunity_id", "account_id", "amount", "status", "created_date", "closed_date",
            "product_line",
        ],
    )  # fmt: skip
    frame["stage"] = frame["status"].map({"won": "won", "lost": "lost", "open": "proposal"})
    return conform(frame, TABLES["opportunities"])


def _accounts() -> pd.DataFrame:
    return conform(
        pd.DataFrame({"account_id": ["A1", "A2"], "name": ["Acme", "Beta"]}), TABLES["accounts"]
    )


def test_won_deals_with_account_and_amount_become_one_order_line_each_at_their_close():
    made = purchases_from_won_deals(_opportunities())
    orders = made.orders.set_index("order_id")
    assert list(orders.index) == ["won:D1", "won:D2"]
    assert orders.loc["won:D1", "account_id"] == "A1"
    assert orders.loc["won:D1", "order_date"] == pd.Timestamp("2025-03-01")
    assert orders.loc["won:D2", "amount"] == 50.0
    assert orders.loc["won:D2", "product_line"] == "valves"
    assert (made.won, made.left_out) == (4, 2)
    assert "2 of 4 won deals" in made.statement()
    TABLES["orders"].model.validate(made.orders)  # the canonical orders schema


def test_kamdata_without_order_lines_takes_its_revenue_from_won_deals():
    data = KamData({"accounts": _accounts(), "opportunities": _opportunities()}, snapshot=SNAP)
    assert data.revenue_source == WON_DEALS
    assert data.revenue_statement.startswith(WON_DEALS_STATEMENT)
    assert data.has("orders")
    # A1 bought 100 + 50, A2 nothing (its won deal has no amount)
    revenue = data.orders.groupby("account_id")["amount"].sum()
    assert revenue.to_dict() == {"A1": 150.0}


def test_point_in_time_a_deal_won_after_the_cut_is_no_purchase_yet():
    data = KamData({"accounts": _accounts(), "opportunities": _opportunities()}, snapshot=SNAP)
    before = data.as_of("2025-05-31")
    assert list(before.orders["order_id"]) == ["won:D1"]
    assert before.revenue_source == WON_DEALS
    assert before.revenue_statement == data.revenue_statement


def test_order_lines_win_and_nothing_is_counted_twice():
    lines = conform(
        pd.DataFrame(
            {
                "order_id": ["O1"],
                "line_no": [1],
                "account_id": ["A1"],
                "order_date": ["2025-03-02"],
                "amount": [100.0],
            }
        ),
        TABLES["orders"],
    )
    data = KamData(
        {"accounts": _accounts(), "orders": lines, "opportunities": _opportunities()},
        snapshot=SNAP,
    )
    assert data.revenue_source == ORDER_LINES
    assert data.revenue_statement == ""
    assert list(data.orders["order_id"]) == ["O1"]


def test_an_empty_orders_table_still_means_order_lines():
    empty = conform(pd.DataFrame(columns=list(TABLES["orders"].columns)), TABLES["orders"])
    data = KamData({"orders": empty, "opportunities": _opportunities()}, snapshot=SNAP)
    assert data.revenue_source == ORDER_LINES
    assert len(data.orders) == 0


@pytest.mark.parametrize(
    ("tables", "source", "missing"),
    [
        ({"accounts", "orders"}, ORDER_LINES, []),
        ({"accounts", "opportunities"}, WON_DEALS, []),
        ({"accounts"}, None, [REVENUE_NEED, "targets"]),
    ],
)
def test_revenue_need_is_met_by_order_lines_or_won_deals(tables, source, missing):
    assert revenue_source(tables) == source
    assert (
        unmet_needs([REVENUE_NEED, "targets"], tables | ({"targets"} if not missing else set()))
        == missing
    )


# -- a store without order lines: stated in the snapshot, the page header and the views ------
@pytest.fixture(scope="module")
def crm_store(tmp_path_factory, small_company) -> Path:
    """The small demo company without its order lines (a CRM export: deals, no ERP)."""
    from kamlib.data import import_frames

    frames = {n: f for n, f in small_company.tables.items() if n != "orders"}
    path = tmp_path_factory.mktemp("crm") / "crm.duckdb"
    import_frames(frames, store=path, now="2026-11-01")
    return path


def test_a_crm_store_says_its_revenue_is_won_deals_in_snapshot_header_and_notices(
    crm_store, small_company
):
    from kamlib.data import load, snapshot_info
    from kamlib.reports.provenance import read_snapshot, revenue_basis
    from kamlib.views.account_summary import account_summary

    assert "orders" not in snapshot_info(crm_store).tables
    snapshot = read_snapshot(crm_store)
    assert snapshot["revenue_source"] == WON_DEALS
    assert revenue_basis(snapshot, "en") == "won deals — the data has no order lines"
    assert revenue_basis(snapshot, "zh") == "赢单金额（数据中没有订单行）"
    assert revenue_basis({"revenue_source": ORDER_LINES}, "en") == ""

    data = load(crm_store)
    opps = small_company.tables["opportunities"]
    won = opps[(opps["status"] == "won") & opps["account_id"].notna() & opps["amount"].notna()]
    account = str(won.groupby("account_id")["amount"].sum().idxmax())
    # the account's revenue is the sum of its won deals, counted by hand
    assert data.orders.loc[data.orders["account_id"] == account, "amount"].sum() == pytest.approx(
        won.loc[won["account_id"] == account, "amount"].sum()
    )
    summary = account_summary(data, account_id=account, as_of="2026-09-30")
    assert WON_DEALS_STATEMENT in " ".join(summary.notices.astype(str).stack())


def test_the_page_header_shows_the_revenue_basis_only_when_given():
    from report_fixtures import rendered_notebook

    from kamlib.reports.html import ReportHeader, export_html
    from kamlib.views.format import heading

    nb = rendered_notebook([heading("tables_overview")])
    common = dict(
        title="T", period="2026-Q3", as_of="2026-09-30", snapshot="batch 1", generated_at=
        "2026-10-01T00:00:00", reproduce_command="kam report x", methodology_fingerprint="f",
    )  # fmt: skip
    with_basis = export_html(nb, header=ReportHeader(**common, revenue_basis="won deals — x"))
    plain = export_html(nb, header=ReportHeader(**common))
    assert "won deals — x" in with_basis and "report-revenue-basis" in with_basis
    assert "report-revenue-basis" not in plain


def test_data_health_lists_the_won_deals_as_orders_and_knows_their_products():
    from kamlib.data.health import coverage_gaps, notice_summary

    products = conform(
        pd.DataFrame({"product_id": ["P1"], "name": ["Pump"], "product_line": ["pumps"]}),
        TABLES["products"],
    )
    data = KamData(
        {"accounts": _accounts(), "products": products, "opportunities": _opportunities()},
        snapshot=SNAP,
    )
    first = notice_summary(data).iloc[0]
    assert (first["table"], first["kind"], first["rows"]) == ("orders", "won_deals", 2)
    assert first["message"] == data.revenue_statement
    gaps = coverage_gaps(data).set_index("check")
    # D1 sells pumps (a known product line), D2 valves (unknown): one line, by hand
    assert gaps.loc["orders_unknown_product", "rows"] == 1
