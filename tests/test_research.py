"""kamlib.research.account_overview, against hand counts from tests/report_fixtures.py."""

from __future__ import annotations

import pytest
from report_fixtures import AS_OF, make_data

from kamlib.errors import ConfigError, DataValidationError
from kamlib.research import account_overview


@pytest.fixture(scope="module")
def data():
    return make_data()


def _a1_lines(as_of_line: int = 36) -> list[int]:
    # account A1 gets lines i with i % 5 in (0, 3); lines after 36 lie after the as-of date
    return [i for i in range(as_of_line + 1) if i % 5 in (0, 3)]


def test_revenue_by_quarter_is_zero_filled_and_adds_up(data):
    ov = account_overview(data, "A1", as_of=AS_OF, quarters=8)
    quarters = ov.revenue_by_quarter
    assert list(quarters["quarter"]) == [
        "2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3",
    ]  # fmt: skip
    assert quarters.loc[0, "revenue"] == 0.0 and quarters.loc[0, "orders"] == 0
    expected_total = sum(1000.0 * (i + 1) * (-1 if i == 7 else 1) for i in _a1_lines())
    assert quarters["revenue"].sum() == pytest.approx(expected_total)
    # 2025-Q1: lines 0 (15 Jan) and 3 (7 Mar) → 1000 + 4000
    assert quarters.loc[1, "revenue"] == pytest.approx(5000.0)


def test_product_lines_fall_back_to_the_product_table(data):
    ov = account_overview(data, "A1", as_of=AS_OF)
    lines = ov.revenue_by_product_line.set_index("product_line")
    assert set(lines.index) <= {"Flow", "Sensing", "unknown"}
    assert lines["share"].sum() == pytest.approx(1.0)
    assert list(ov.revenue_by_product_line["revenue"]) == sorted(lines["revenue"], reverse=True)


def test_profile_and_recent_orders(data):
    ov = account_overview(data, "A1", as_of=AS_OF, recent=3)
    profile = ov.profile()
    assert profile["name"] == "华东精密制造有限公司"
    assert profile["contacts_count"] == 2
    assert profile["open_opportunities"] == 1
    assert profile["open_pipeline"] == 250000.0
    assert len(ov.recent_orders) == 3
    assert ov.recent_orders["order_date"].is_monotonic_decreasing
    assert ov.recent_orders["order_date"].max() <= ov.as_of


def test_the_summary_revenue_is_the_trailing_twelve_months(data):
    """The profile's revenue says its period: the 12 months to the date (as the dossier's),
    not the chart's quarters.  Lines 16 (2025-10-01) … 36 (2026-09-19) lie in
    (2025-09-30, 2026-09-30]; A1 has those with i % 5 in (0, 3): 18 20 23 25 28 30 33 35."""
    ov = account_overview(data, "A1", as_of=AS_OF, quarters=8)
    profile = ov.profile()
    assert "revenue" not in profile
    assert profile["revenue_12m"] == pytest.approx(1000.0 * (19 + 21 + 24 + 26 + 29 + 31 + 34 + 36))
    assert profile["revenue_12m"] != pytest.approx(ov.revenue_by_quarter["revenue"].sum())


def test_parent_name_is_resolved(data):
    ov = account_overview(data, "A3", as_of=AS_OF)
    assert (ov.parent_id, ov.parent_name) == ("A4", "Contoso Group")
    assert ov.owner is None


def test_fiscal_quarters(data):
    ov = account_overview(data, "A1", as_of=AS_OF, quarters=2, fiscal_year_start_month=4)
    # fiscal year starting in April: Sep 2026 is in FY2027 Q2
    assert list(ov.revenue_by_quarter["quarter"]) == ["FY2027-Q1", "FY2027-Q2"]


def test_unknown_account_says_what_to_pass(data):
    with pytest.raises(
        DataValidationError, match=r"Account 'NOPE' is not in the accounts table.*A1"
    ):
        account_overview(data, "NOPE", as_of=AS_OF)


def test_bad_options(data):
    with pytest.raises(ConfigError, match="'quarters' parameter .* at least 1"):
        account_overview(data, "A1", as_of=AS_OF, quarters=0)
    with pytest.raises(ConfigError, match="fiscal_year_start_month"):
        account_overview(data, "A1", as_of=AS_OF, fiscal_year_start_month=13)
