"""kamlib.features against an independent plain-pandas reference, hand calculations and the demo truth.

``reference_features`` (in ``feature_reference.py``, shared with the conformance suite)
recomputes every feature from ``KamData`` frames with pandas only (the cut by
``KamData.as_of``, the windows by pandas offsets, the hierarchy by a loop), so the Ibis
definitions are checked against code that shares nothing with them.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from feature_reference import assert_same, edge_frames, make_kamdata, reference_features, ts

from kamlib.data import KamData, load, load_truth
from kamlib.errors import ConfigError, DataValidationError, MissingTableError
from kamlib.features import (
    FeatureWindows,
    account_features,
    account_features_history,
    feature_catalogue,
    missing_reasons,
)


@pytest.fixture(scope="module")
def edge() -> dict[str, pd.DataFrame]:
    return edge_frames()


@pytest.fixture(scope="module")
def edge_data(edge) -> KamData:
    # the store keeps order dates as DATE: normalise them as an import would
    frames = dict(edge)
    frames["orders"] = edge["orders"].assign(order_date=edge["orders"]["order_date"].dt.normalize())
    return make_kamdata(frames)


@pytest.fixture(scope="module")
def edge_leap(edge) -> pd.DataFrame:
    """The edge cases as of the leap day (shared by the tests that only read it)."""
    return account_features(edge, as_of="2024-02-29")


@pytest.fixture(scope="module")
def edge_quarter_end(edge) -> pd.DataFrame:
    return account_features(edge, as_of="2024-03-31")


@pytest.fixture(scope="module")
def demo(demo_store) -> KamData:
    return load(demo_store)


# -- against the reference -------------------------------------------------------------------------
def test_edge_cases_equal_the_reference(edge_data, edge_leap, edge_quarter_end):
    # frames with time-of-day in order_date go straight in: kamlib casts to dates itself
    assert_same(edge_leap, reference_features(edge_data, "2024-02-29"))
    assert_same(edge_quarter_end, reference_features(edge_data, "2024-03-31"))


def test_edge_rollup_of_a_three_level_group_equals_the_reference(edge, edge_data):
    got = account_features(edge, as_of="2024-03-31", rollup=True)
    assert_same(got, reference_features(edge_data, "2024-03-31", rollup=True))
    group = got.loc["G1"]
    assert group["group_accounts"] == 3.0
    assert "G2" not in got.index and "G3" not in got.index
    # summed over the group: 10000 + 3000 + 1000 + 4000 + 600 + 200 + 100 in 12 months
    assert group["revenue_12m"] == pytest.approx(18900.0)
    assert group["employees"] == 23900.0 and group["annual_revenue"] == pytest.approx(4.8e9)
    assert group["registered_capital"] == 1e9 and group["industry"] == "electronics"
    assert group["product_lines_12m"] == 3.0  # PLC, HMI, Drives across the three plants


def test_demo_store_equals_the_reference_and_the_history_the_single_dates(demo_store, demo):
    # the end date, a leap day month end, a mid-month date (quarter ends: the edge cases)
    dates = ["2024-02-29", "2025-05-15", "2026-09-30"]
    history = account_features_history(demo_store, as_of_dates=[dates[1], *dates, dates[0]])
    assert list(history.index.get_level_values("as_of").unique()) == [ts(d) for d in dates]
    for as_of in dates:
        single = account_features(demo_store, as_of=as_of)
        assert_same(single, reference_features(demo, as_of))
        assert_same(history.loc[ts(as_of)], single)


def test_demo_rollup_equals_the_reference(demo_store, demo):
    got = account_features(demo_store, as_of="2026-09-30", rollup=True)
    assert_same(got, reference_features(demo, "2026-09-30", rollup=True))
    assert got["group_accounts"].sum() == len(demo.accounts)
    assert (got["group_accounts"] > 2).any()


def test_other_windows_equal_the_reference(demo_store, demo):
    windows = FeatureWindows(trailing_months=6, long_months=18, quarters=4)
    got = account_features(demo_store, as_of="2025-08-31", windows=windows)
    assert "revenue_6m" in got and "win_rate_18m" in got
    assert_same(got, reference_features(demo, "2025-08-31", windows=windows))
    history = account_features_history(
        demo_store, as_of_dates=["2025-07-31", "2025-08-31"], windows=windows
    )
    assert_same(history.loc[ts("2025-08-31")], got)


@pytest.mark.parametrize("rollup", [False, True])
def test_edge_history_equals_single_dates(edge, rollup):
    # month ends, in one shared pass (the windows reach back before the first order); S1
    # spans December / January, S2 the start of the 12 months as of 2024-02-29
    month_ends = list(pd.date_range("2023-09-30", "2024-05-31", freq="ME").date)
    history = account_features_history(edge, as_of_dates=month_ends, rollup=rollup)
    assert len(history.index.get_level_values("as_of").unique()) == len(month_ends)
    for as_of in ("2023-12-31", "2024-02-29"):
        single = account_features(edge, as_of=as_of, rollup=rollup)
        assert_same(history.loc[ts(as_of)], single)


def test_sources_agree(demo_store, demo):
    from_store = account_features(demo_store, as_of="2025-12-31")
    assert_same(account_features(demo, as_of="2025-12-31"), from_store)
    import ibis

    backend = ibis.duckdb.connect(str(demo_store), read_only=True)
    try:
        assert_same(account_features(backend, as_of="2025-12-31"), from_store)
        tables = {"accounts": backend.table("accounts"), "orders": backend.table("orders")}
        only_orders = account_features(tables, as_of="2025-12-31")
    finally:
        backend.disconnect()
    assert_same(
        only_orders[["revenue_12m", "orders_12m"]], from_store[["revenue_12m", "orders_12m"]]
    )
    assert only_orders["tickets_12m"].isna().all() and only_orders["open_pipeline"].isna().all()


# -- hand calculations -----------------------------------------------------------------------------
def test_hand_calculated_account(edge_leap):
    f = edge_leap.loc["ONE"]
    # one order O1 on 2023-11-10: 1200 (cost 700) + 300 (cost unknown)
    assert f["revenue_12m"] == 1500.0 and f["revenue_24m"] == 1500.0
    assert f["revenue_prev_12m"] == 0.0 and np.isnan(f["growth_12m"])
    assert f["gross_margin_12m"] == pytest.approx(1 - 700 / 1200)
    assert f["orders_12m"] == 1.0 and f["order_days_12m"] == 1.0
    assert f["recency_days"] == 111.0  # 2023-11-10 → 2024-02-29: 20 + 31 + 31 + 29
    assert f["tenure_days"] == 111.0
    assert f["active_quarter_share"] == 1 / 8  # (2023-11-30, 2024-02-29] holds no order
    assert f["product_lines_12m"] == 2.0  # PLC (from the product) and Drives
    assert f["share_of_wallet"] == pytest.approx(1500 / 1e6)
    # Q1 open 50000; Q2 won 2022-09-01 and Q3 lost 2023-08-15, both after 2022-02-28
    assert f["open_pipeline"] == 50000.0 and f["open_opportunities"] == 1.0
    assert f["win_rate_24m"] == 0.5
    # T1: answered after 4h00m00.7s, i.e. 4h in whole seconds (08:00:00 → 12:00:00): not
    # more than the 4h SLA; resolved in 23h (SLA 24h): on time.  T2: opened 22:00 on the
    # as-of day, no response by midnight: 2h > 1h: breached.  T5: no SLA hours: not rated.
    assert f["tickets_12m"] == 3.0 and f["escalations_12m"] == 1.0
    assert f["sla_breach_rate_12m"] == 0.5
    # contacts: C1 (5, −1), C2 (3, +2), C3 no influence: (−5 + 6) / 8
    assert f["contacts_known"] == 3.0 and f["economic_buyer_known"] == 1.0
    assert f["decision_maker_support"] == pytest.approx(1 / 8)
    assert f["days_since_last_activity"] == 45.0  # A2 (2024-03-05) is after the date
    assert f["first_order_date"] == f["last_order_date"] == ts("2023-11-10")


def test_zero_returns_late_orders_and_no_orders(edge_leap, edge_quarter_end):
    f = edge_leap
    zero = f.loc["ZERO"]
    assert zero["revenue_12m"] == 0.0 and zero["revenue_prev_12m"] == 0.0
    assert zero["revenue_24m"] == 0.0  # 0.1 + 0.2 − 0.3: exactly 0 when summed in cents
    assert np.isnan(zero["gross_margin_12m"]) and np.isnan(zero["share_of_wallet"])
    assert zero["recency_days"] == 273.0  # the return (2023-07-01) is not a purchase
    ret = f.loc["RET"]
    # R3 1500, CN1 -400, R4 100 and S2's second line 30 (its first, 2023-02-15, is earlier)
    assert ret["revenue_12m"] == pytest.approx(1230.0)
    assert ret["orders_12m"] == 3.0  # R3, R4, S2; the credit note CN1 is not an order
    # R2 on 2023-02-28 (the bound itself) and S2's first line are in months 13–24
    assert ret["revenue_prev_12m"] == 2070.0
    assert ret["growth_12m"] == pytest.approx(1230.0 / 2070.0 - 1)
    assert ret["gross_margin_12m"] == pytest.approx(1 - (600 + 250 + 0 + 20) / (1500 - 400 + 30))
    late = f.loc["LATE"]
    assert late["revenue_12m"] == 800.0 and late["recency_days"] == 0.0
    none = f.loc["NONE"]
    order_features = [c for c in f.columns if c.startswith(("revenue", "orders", "order_"))]
    assert none[order_features].isna().all() and pd.isna(none["first_order_date"])
    assert none["contacts_known"] == 0.0 and none["economic_buyer_known"] == 0.0
    assert none["tickets_12m"] == 0.0 and np.isnan(none["sla_breach_rate_12m"])
    assert "FUTURE" not in f.index
    assert "FUTURE" in edge_quarter_end.index


def test_reopened_opportunity_takes_its_amount_as_of_the_date(edge_leap, edge_quarter_end):
    before, after = edge_leap.loc["G2"], edge_quarter_end.loc["G2"]
    # Q4 won on 2024-03-10: open on 2024-02-29 with the amount entered that day (18:30)
    assert before["open_pipeline"] == 28000.0 and np.isnan(before["win_rate_24m"])
    assert after["open_pipeline"] == 0.0 and after["win_rate_24m"] == 1.0


def test_open_ticket_past_its_sla_counts_as_breached(edge_leap):
    g3 = edge_leap.loc["G3"]
    # T3: answered in 1h (SLA 2h) but resolved after the date: open for 55 days > 48h
    assert g3["sla_breach_rate_12m"] == 1.0
    assert g3["escalations_12m"] == 0.0  # escalated unknown counts as not escalated


def test_without_a_tickets_table_service_features_are_missing(edge):
    frames = {k: v for k, v in edge.items() if k != "service_tickets"}
    f = account_features(frames, as_of="2024-02-29")
    service = ["sla_breach_rate_12m", "escalations_12m", "tickets_12m"]
    assert f[service].isna().all().all()
    assert f["revenue_12m"].notna().any()
    reasons = missing_reasons(f)
    tickets = reasons[reasons["feature"] == "tickets_12m"]
    assert set(tickets["reason"]) == {"no service_tickets table"}
    assert len(tickets) == len(f)


def as_stored(frames: dict[str, pd.DataFrame]) -> KamData:
    """Frames as the store keeps them (order dates as dates) in a KamData, for the reference."""
    orders = frames["orders"]
    return make_kamdata(
        frames | {"orders": orders.assign(order_date=orders["order_date"].dt.normalize())}
    )


def test_product_lines_are_missing_when_no_product_line_is_known(edge):
    # no products table and order lines without product_line: missing, not 0 (for the
    # Ibis features, the reference, and both query shapes)
    orders = edge["orders"].assign(product_line=None)
    frames = {k: v for k, v in edge.items() if k != "products"} | {"orders": orders}
    f = account_features(frames, as_of="2024-02-29")
    assert f["product_lines_12m"].isna().all()
    assert f["orders_12m"].notna().any()
    assert_same(f, reference_features(as_stored(frames), "2024-02-29"))
    history = account_features_history(frames, as_of_dates=["2024-01-31", "2024-02-29"])
    assert_same(history.loc[ts("2024-02-29")], f)
    reasons = missing_reasons(f).set_index(["account_id", "feature"])["reason"]
    assert reasons[("ONE", "product_lines_12m")].startswith("no product line known")
    assert reasons[("NONE", "product_lines_12m")] == "no order line on or before the as-of date"
    # one account's purchases all lack a product line, the others' do not: only it is missing
    orders = edge["orders"].assign(
        product_line=edge["orders"]["product_line"].where(edge["orders"]["account_id"] != "G3")
    )
    frames = {k: v for k, v in edge.items() if k != "products"} | {"orders": orders}
    f = account_features(frames, as_of="2024-02-29")
    assert np.isnan(f.loc["G3", "product_lines_12m"]) and f.loc["ONE", "product_lines_12m"] == 1.0
    later = account_features(frames, as_of="2025-06-30")
    assert later.loc["G3", "product_lines_12m"] == 0.0  # no purchase in the window: none bought
    reasons = missing_reasons(f).set_index(["account_id", "feature"])["reason"]
    assert reasons[("G3", "product_lines_12m")].startswith("no purchase of the last 12 months")
    assert_same(f, reference_features(as_stored(frames), "2024-02-29"))


def test_point_in_time_later_rows_change_nothing(demo):
    as_of = "2025-06-30"
    base = account_features(demo, as_of=as_of)
    frames = {name: demo[name] for name in demo.tables}
    rng = np.random.default_rng(11)
    extra = (
        frames["orders"]
        .sample(200, random_state=1)
        .assign(
            order_id=lambda f: "X" + f["order_id"],
            order_date=ts("2025-07-01") + pd.to_timedelta(rng.integers(0, 400, 200), unit="D"),
            amount=1e7,
        )
    )
    frames["orders"] = pd.concat([frames["orders"], extra], ignore_index=True)
    tickets = frames["service_tickets"]
    frames["service_tickets"] = pd.concat(
        [tickets, tickets.head(50).assign(ticket_id=lambda f: "X" + f["ticket_id"],
                                          opened_at=ts("2025-07-01 00:00:01"))],
        ignore_index=True,
    )  # fmt: skip
    assert_same(account_features(frames, as_of=as_of), base)
    # and cutting the data first (KamData.as_of) changes nothing either
    assert_same(account_features(demo.as_of(as_of), as_of=as_of), base)


def test_revenue_tracks_the_hidden_truth(demo_store):
    f = account_features(demo_store, as_of="2026-09-30")
    truth = load_truth(demo_store)["accounts"].set_index("account_id")
    both = f[["revenue_12m"]].join(truth["true_value_next_12m"]).dropna()
    rho = both["revenue_12m"].corr(both["true_value_next_12m"], method="spearman")
    assert rho > 0.8, rho


# -- catalogue, reasons, output shape ----------------------------------------------------------------
def test_catalogue_describes_every_column():
    cat = feature_catalogue()
    assert list(cat["name"]) == FeatureWindows().columns()
    assert set(cat["kind"]) == {"static", "dynamic"}
    assert cat[["description_en", "description_zh", "missing_when"]].notna().all().all()
    better = cat.set_index("name")["higher_is_better"]
    assert better["revenue_12m"] is True and better["recency_days"] is False
    assert better["industry"] is None
    assert "revenue_6m" in set(feature_catalogue(FeatureWindows(trailing_months=6))["name"])


def test_every_feature_has_one_canonical_source_table():
    from kamlib.features import FEATURE_SOURCE_TABLES, SOURCE_TABLES, feature_source_tables

    for windows in (FeatureWindows(), FeatureWindows(trailing_months=6, long_months=18)):
        cat = feature_catalogue(windows)
        assert cat["source_table"].isin(SOURCE_TABLES).all()
        assert dict(zip(cat["name"], cat["source_table"], strict=True)) == feature_source_tables(
            windows
        )
        # a feature of an optional table is missing first of all without that table
        optional = cat[~cat["source_table"].isin(["accounts", "orders"])]
        for row in optional.itertuples():
            assert row.missing_when.startswith(f"no {row.source_table} table"), row.name
    assert FEATURE_SOURCE_TABLES["win_rate_24m"] == "opportunities"
    assert FEATURE_SOURCE_TABLES["revenue_12m"] == "orders"
    assert FEATURE_SOURCE_TABLES["industry"] == "accounts"


def test_output_types(edge_leap):
    f = edge_leap
    assert f.index.name == "account_id" and f.index.is_unique and f.index.is_monotonic_increasing
    for col in f.columns:
        expected = (
            "str" if col in ("industry", "region", "ownership")
            else "datetime64[ns]" if col.endswith("_date") else "float64"
        )  # fmt: skip
        assert str(f[col].dtype) == expected, col


def test_missing_reasons_explain_every_gap(edge, edge_leap):
    f = edge_leap
    reasons = missing_reasons(f)
    assert len(reasons) == int(f.isna().sum().sum())
    by = reasons.set_index(["account_id", "feature"])["reason"]
    assert by[("NONE", "revenue_12m")] == "no order line on or before the as-of date"
    assert by[("ONE", "growth_12m")] == "no positive revenue in months 13–24"
    assert by[("ZERO", "share_of_wallet")] == "category_spend unknown or 0"
    assert by[("RET", "strategic_fit")] == "not recorded in accounts"
    assert by[("G2", "decision_maker_support")].startswith("no contact with influence")
    history = account_features_history(edge, as_of_dates=["2024-02-29"])
    assert list(missing_reasons(history).columns) == ["as_of", "account_id", "feature", "reason"]


# -- bad input -----------------------------------------------------------------------------------
def test_bad_input_is_refused_clearly(edge, edge_data):
    with pytest.raises(ConfigError, match="'as_of' parameter must be a date"):
        account_features(edge, as_of="end of June")
    with pytest.raises(ConfigError, match="must be a KamData, a store path"):
        account_features(42, as_of="2024-02-29")
    with pytest.raises(DataValidationError, match="does not exist"):
        account_features("/nonexistent/store.duckdb", as_of="2024-02-29")
    with pytest.raises(MissingTableError, match="'orders'"):
        account_features({"accounts": edge["accounts"]}, as_of="2024-02-29")
    with pytest.raises(DataValidationError, match="'order_date' missing from table 'orders'"):
        account_features(
            {**edge, "orders": edge["orders"].drop(columns="order_date")}, as_of="2024-02-29"
        )
    with pytest.raises(DataValidationError, match="already cut at 2024-01-31"):
        account_features(edge_data.as_of("2024-01-31"), as_of="2024-02-29")
    with pytest.raises(ConfigError, match="'trailing_months' parameter of FeatureWindows"):
        FeatureWindows(trailing_months=0)
    with pytest.raises(ConfigError, match="single date"):
        account_features_history(edge, as_of_dates="2024-02-29")
    with pytest.raises(ConfigError, match="is empty"):
        account_features_history(edge, as_of_dates=[])
    with pytest.raises(DataValidationError, match="'invoices' is not a canonical table"):
        account_features({**edge, "invoices": edge["orders"]}, as_of="2024-02-29")


def test_a_cycle_in_the_hierarchy_is_refused(edge):
    accounts = edge["accounts"].copy()
    accounts.loc[accounts["account_id"] == "G1", "parent_account_id"] = "G3"
    with pytest.raises(DataValidationError, match="form a cycle: G1 → G3 → G2 → G1"):
        account_features({**edge, "accounts": accounts}, as_of="2024-03-31", rollup=True)
    # without rollup the hierarchy is not needed
    assert len(account_features({**edge, "accounts": accounts}, as_of="2024-03-31")) == 9


def test_as_of_accepts_dates_and_timestamps(edge, edge_leap):
    assert_same(account_features(edge, as_of=ts("2024-02-29 15:00")), edge_leap)


# -- portability -----------------------------------------------------------------------------------
def test_both_query_shapes_compile_to_spark_sql(monkeypatch, edge):
    """Every operation has a Spark SQL translation (no Spark needed to find one that has not:
    Ibis compiles no bitwise aggregate for Spark, for instance)."""
    import ibis
    import ibis.config

    from kamlib.features import definitions, engines, history, history_events
    from kamlib.features import windows as feature_windows

    class PySparkOptions(ibis.config.Config):  # what the pyspark backend registers on import
        treat_nan_as_null: bool = False

    monkeypatch.setattr(ibis.options, "pyspark", PySparkOptions())
    windows = FeatureWindows()
    month_ends = (dt.date(2024, 1, 31), dt.date(2024, 2, 29))
    with engines._open(edge) as src:
        links = src.backend.to_pyarrow(src.tables["accounts"]).to_pandas()
        groups = definitions.group_map(links[["account_id", "parent_account_id"]])
        for dates, single in (((dt.date(2024, 2, 29),), True), (month_ends, False)):
            plan = feature_windows._Plan(
                tuple(feature_windows._Cut.build(d, windows) for d in dates), windows
            )
            # a rollup uses every operation of the plain features, and the group mapping
            parts = None if single else history_events.empty_history_parts(src)
            expr = definitions._feature_table(
                src, plan, rollup=True, groups=groups, single=single, history=parts
            )
            exprs = [expr]
            if not single:  # the history's order lines: reduced by the engine
                tables = definitions._regrouped(
                    definitions._prepared_tables(src), engines._frame_table(groups)
                )
                bounds = history.reduction_bounds(plan)
                reduced = history.monthly_reduction(tables["orders"], tables["products"], bounds)
                exprs += list(reduced.values())
                # and the other dated tables' rows (history_events)
                exprs += list(
                    history_events.opportunity_rows(
                        tables["opportunities"], tables["stage_history"], bounds
                    ).values()
                )
                exprs += [
                    history_events.ticket_rows(tables["service_tickets"], bounds),
                    history_events.activity_rows(tables["activities"], bounds),
                ]
            for e in exprs:
                sql = str(ibis.to_sql(e, dialect="pyspark")).upper()
                assert "BIT_OR" not in sql and "MEDIAN" not in sql and "ASOF" not in sql


# -- issue #17: the point-in-time account universe ---------------------------------------------------
def universe_frames() -> dict[str, pd.DataFrame]:
    """Accounts as an invoice-only export gives them (no created_date), plus two with one.

    - EARLY: first order 2011-01-10.            - LATER: first order 2011-09-01.
    - DEAL: no order, an opportunity created 2011-03-01.
    - RETURN: only a credit note, 2011-02-01 (a relationship existed: it is in).
    - GHOST: no dated record at all.
    - NEW: created 2011-08-01 (after the date), no orders.
    - OLD: created 2010-01-01, no orders (exists; its order features stay missing).
    """
    accounts = pd.DataFrame(
        {
            "account_id": ["EARLY", "LATER", "DEAL", "RETURN", "GHOST", "NEW", "OLD"],
            "created_date": [None, None, None, None, None, ts("2011-08-01"), ts("2010-01-01")],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["O1", "O2", "O3", "C1"],
            "account_id": ["EARLY", "EARLY", "LATER", "RETURN"],
            "order_date": [ts("2011-01-10"), ts("2011-05-20"), ts("2011-09-01"), ts("2011-02-01")],
            "amount": [100.0, 50.0, 999.0, -20.0],
        }
    )
    opportunities = pd.DataFrame(
        {"opportunity_id": ["X1"], "account_id": ["DEAL"], "created_date": [ts("2011-03-01")],
         "status": ["open"], "amount": [5000.0]}
    )  # fmt: skip
    return {"accounts": accounts, "orders": orders, "opportunities": opportunities}


def test_accounts_enter_the_universe_when_they_exist():
    frames = universe_frames()
    f = account_features(frames, as_of="2011-06-30")
    assert sorted(f.index) == ["DEAL", "EARLY", "OLD", "RETURN"]
    # missing measures stay missing, never 0 ("bought today")
    for account in ("DEAL", "OLD", "RETURN"):
        assert np.isnan(f.loc[account, "recency_days"]) and np.isnan(f.loc[account, "tenure_days"])
    assert np.isnan(f.loc["DEAL", "revenue_12m"]) and f.loc["RETURN", "revenue_12m"] == -20.0
    assert f.loc["EARLY", "recency_days"] == 41.0
    later = account_features(frames, as_of="2011-09-30")
    assert sorted(later.index) == ["DEAL", "EARLY", "LATER", "NEW", "OLD", "RETURN"]
    # the pandas reference agrees
    assert_same(f, reference_features(make_kamdata(frames), "2011-06-30"))
    assert_same(later, reference_features(make_kamdata(frames), "2011-09-30"))


def test_history_adds_accounts_from_the_date_they_exist():
    frames = universe_frames()
    history = account_features_history(
        frames, as_of_dates=["2010-12-31", "2011-03-31", "2011-06-30", "2011-09-30"]
    )
    members = history.reset_index().groupby("as_of")["account_id"].apply(sorted)
    assert members.tolist() == [
        ["OLD"],
        ["DEAL", "EARLY", "OLD", "RETURN"],
        ["DEAL", "EARLY", "OLD", "RETURN"],
        ["DEAL", "EARLY", "LATER", "NEW", "OLD", "RETURN"],
    ]


def test_scores_as_of_a_date_leave_out_accounts_that_did_not_exist():
    from kamlib.methodology import load_methodology
    from kamlib.scoring import score_accounts

    frames = universe_frames()
    meth = load_methodology("data/methodology-online-retail.yml")
    scores = score_accounts(account_features(frames, as_of="2011-06-30"), meth).scores
    assert sorted(scores["account_id"]) == ["DEAL", "EARLY", "OLD", "RETURN"]


def test_features_from_a_file_that_is_not_a_store_says_what_it_is(tmp_path):
    """Not "another process may be writing": the file is not a DuckDB database at all."""
    bogus = tmp_path / "random.duckdb"
    bogus.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(DataValidationError, match="is not a DuckDB database") as info:
        account_features(bogus, as_of="2026-01-01")
    assert "Another process" not in str(info.value)
