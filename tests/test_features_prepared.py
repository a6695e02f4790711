"""Prepared feature queries (kamlib.features.prepared): compiled once per source shape, the dates
as parameters, and the same features as building and compiling afresh at every date.

Equality is checked three ways: against the plain-pandas reference (``feature_reference``),
against the fresh path (``fresh_compilation``: the expression built and compiled for the
call's dates) exactly, and on the SQL text itself (the prepared SQL with the call's dates
written in is the SQL Ibis compiles for those dates).  Compilations are counted by the
module and, independently, by wrapping Ibis's DuckDB ``compile``.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest
from feature_reference import assert_same, edge_frames, make_kamdata, reference_features

from kamlib.data import load
from kamlib.features import FeatureWindows, account_features, account_features_history
from kamlib.features.prepared import cache_info, clear_cache, compiled_sql, fresh_compilation

# a leap day, a quarter end, a mid-month date, a month end, a date before most orders
EDGE_DATES = ["2024-02-29", "2024-03-31", "2024-01-17", "2023-11-30", "2023-06-01"]
DEMO_DATES = ["2026-09-30", "2025-02-28", "2024-06-15", "2025-12-31"]


@pytest.fixture(scope="module")
def edge() -> dict[str, pd.DataFrame]:
    return edge_frames()


@pytest.fixture(scope="module")
def edge_data(edge):
    frames = dict(edge)
    frames["orders"] = edge["orders"].assign(order_date=edge["orders"]["order_date"].dt.normalize())
    return make_kamdata(frames)


@pytest.fixture
def compiles(monkeypatch) -> list[int]:
    """Every call of Ibis's DuckDB ``compile`` (the fresh path and the first of a shape)."""
    from ibis.backends.duckdb import Backend

    calls: list[int] = []
    original = Backend.compile

    def counted(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Backend, "compile", counted)
    clear_cache()
    return calls


def fresh(source, as_of: str, **kwargs) -> pd.DataFrame:
    with fresh_compilation():
        return account_features(source, as_of=as_of, **kwargs)


# -- same values -------------------------------------------------------------------------------
@pytest.mark.parametrize("rollup", [False, True])
def test_edge_frames_at_several_dates_equal_the_reference_and_the_fresh_path(
    edge, edge_data, rollup
):
    clear_cache()
    for as_of in EDGE_DATES:
        got = account_features(edge, as_of=as_of, rollup=rollup)
        pd.testing.assert_frame_equal(got, fresh(edge, as_of, rollup=rollup))
        assert_same(got, reference_features(edge_data, as_of, rollup=rollup))
    info = cache_info()
    assert info.compilations == 1 and info.hits == len(EDGE_DATES) - 1


def test_demo_store_at_several_dates_equals_the_fresh_path(demo_store):
    clear_cache()
    for as_of in DEMO_DATES:
        pd.testing.assert_frame_equal(
            account_features(demo_store, as_of=as_of), fresh(demo_store, as_of)
        )
    assert cache_info().compilations == 1


def test_demo_store_equals_the_reference_at_a_mid_month_date(demo_store):
    assert_same(
        account_features(demo_store, as_of="2025-05-15"),
        reference_features(load(demo_store), "2025-05-15"),
    )


def test_other_windows_and_rollup_on_the_store_equal_the_fresh_path(demo_store):
    windows = FeatureWindows(trailing_months=6, long_months=18, quarters=5)
    for as_of in ("2025-08-31", "2025-08-17"):
        for rollup in (False, True):
            got = account_features(demo_store, as_of=as_of, windows=windows, rollup=rollup)
            pd.testing.assert_frame_equal(
                got, fresh(demo_store, as_of, windows=windows, rollup=rollup)
            )


def test_the_prepared_sql_is_the_sql_ibis_compiles_for_the_dates(demo_store):
    from kamlib.features.engines import _open
    from kamlib.features.windows import DEFAULT_WINDOWS, _Cut, _Plan

    with _open(demo_store) as src:
        for as_of in (dt.date(2024, 2, 29), dt.date(2025, 7, 14)):
            for rollup in (False, True):
                plan = _Plan((_Cut.build(as_of, DEFAULT_WINDOWS),), DEFAULT_WINDOWS)
                both = compiled_sql(src, plan, rollup=rollup)
                assert both is not None
                prepared, compiled = both
                assert prepared == compiled


def test_non_month_end_history_dates_use_the_prepared_query(edge):
    clear_cache()
    days = ["2024-01-17", "2024-02-12", "2024-03-05"]
    history = account_features_history(edge, as_of_dates=days)
    assert cache_info().compilations == 1 and cache_info().hits == 2
    for as_of in days:
        assert_same(history.loc[pd.Timestamp(as_of)], fresh(edge, as_of))


# -- compiled once per shape ---------------------------------------------------------------------
def test_a_second_date_does_not_recompile(demo_store, compiles):
    account_features(demo_store, as_of="2026-09-30")
    assert cache_info().compilations == 1
    first = len(compiles)
    assert first == 1  # the features' own compile (the store has order lines)
    account_features(demo_store, as_of="2025-03-15")
    account_features(demo_store, as_of="2024-12-31")
    assert len(compiles) == first
    assert cache_info() == type(cache_info())(hits=2, compilations=1, shapes=1)


def test_fresh_compilation_compiles_every_call_and_leaves_the_cache_alone(demo_store, compiles):
    account_features(demo_store, as_of="2026-09-30")
    before = len(compiles)
    fresh(demo_store, "2026-08-31")
    fresh(demo_store, "2026-07-31")
    assert len(compiles) == before + 2
    assert cache_info().hits == 0 and cache_info().compilations == 1


def test_a_different_shape_recompiles(edge, demo_store, compiles):
    account_features(edge, as_of="2024-02-29")
    assert cache_info().compilations == 1
    # the same frames again (new in-memory tables, same schemas): the same shape
    account_features(dict(edge), as_of="2024-03-31")
    assert cache_info().compilations == 1
    # without the tickets table
    no_tickets = {k: v for k, v in edge.items() if k != "service_tickets"}
    account_features(no_tickets, as_of="2024-02-29")
    assert cache_info().compilations == 2
    # a column more: another schema
    orders = edge["orders"].assign(note="x")
    account_features({**edge, "orders": orders}, as_of="2024-02-29")
    assert cache_info().compilations == 3
    # other windows, rollup, another engine's tables
    account_features(edge, as_of="2024-02-29", windows=FeatureWindows(trailing_months=6))
    account_features(edge, as_of="2024-02-29", rollup=True)
    account_features(demo_store, as_of="2024-02-29")
    assert cache_info().compilations == 6
    # and back to the first shape: no compile
    before = len(compiles)
    account_features(edge, as_of="2024-01-31")
    assert len(compiles) == before and cache_info().compilations == 6


def test_an_ibis_backend_reused_across_calls_is_left_clean(demo_store):
    clear_cache()
    backend = ibis.duckdb.connect(str(demo_store), read_only=True)

    def views() -> set[str]:
        rows = backend.con.sql("SELECT view_name FROM duckdb_views() WHERE temporary").fetchall()
        return {name for (name,) in rows}

    try:
        before = views()
        a = account_features(backend, as_of="2025-12-31")
        b = account_features(backend, as_of="2025-11-30")
        assert views() == before  # the dates' tables were unregistered
        pd.testing.assert_frame_equal(a, fresh(backend, "2025-12-31"))
        pd.testing.assert_frame_equal(b, fresh(backend, "2025-11-30"))
    finally:
        backend.disconnect()
    assert cache_info().compilations == 1


def test_a_store_without_order_lines_takes_the_won_deals_and_prepares_too(tmp_path, small_company):
    # the store path reads its bookkeeping on the features' own connection: a CRM store
    # (no order lines) still gets won deals as purchases, as through load()
    from kamlib.data import import_frames

    frames = {n: f for n, f in small_company.tables.items() if n != "orders"}
    path = tmp_path / "crm.duckdb"
    import_frames(frames, store=path, now="2026-11-01")
    clear_cache()
    for as_of in ("2026-06-30", "2025-11-15"):
        got = account_features(path, as_of=as_of)
        pd.testing.assert_frame_equal(got, account_features(load(path), as_of=as_of))
        pd.testing.assert_frame_equal(got, fresh(path, as_of))
        assert got["revenue_12m"].sum() > 0
    assert cache_info().compilations == 1
