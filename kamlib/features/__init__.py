"""Point-in-time account features: the indicators every later analysis scores, tags and plots.

One row per account (or per top-level group with ``rollup=True``) as of a date, computed only
from data dated on or before that date.  The computation is defined once, as Ibis
expressions, and runs on whatever engine holds the tables: the embedded DuckDB store,
in-memory frames (executed by an in-memory DuckDB), or another Ibis backend such as Spark
(the seam of the "beyond one machine" issue).  Results come back as pandas.

Public API
----------
- :func:`account_features` — features as of one date.
- :func:`account_features_history` — features as of many dates; month ends share one pass
  over the order lines (24 monthly snapshots cost a small multiple of one snapshot, not
  24×), any other date is computed on its own.
- :func:`feature_catalogue` — name, kind (static / dynamic), unit, description (en / zh),
  direction (``higher_is_better``) and when the value is missing, per feature.
- :func:`missing_reasons` — for every missing value of a features frame, why it is missing.
- :class:`FeatureWindows` — the window lengths (12 / 24 months, 8 quarters by default).

Point in time (mirrors :meth:`kamlib.data.KamData.as_of`)
---------------------------------------------------------
- the account universe is point in time: an account is in from its ``created_date``; an
  account without one is in from its first order line, opportunity, activity or service
  ticket, so one that first bought after the date is left out (not scored as a customer
  without orders) — and one with no dated record at all is never in;
- order lines by ``order_date``, activities by ``date``, tickets by ``opened_at`` (the whole
  as-of day counts: a timestamp at 23:59 on the date is in);
- opportunities created on or before the date; one closed after the date is open again, with
  the amount of its last stage-history row entered by the end of the date (its current amount
  when that row has none, or when there is no stage history); won / lost only when
  ``closed_date`` is on or before the date;
- a ticket's first response / resolution after the date is unknown;
- contacts are the table's current state (it has no "known since" date), as in ``as_of``.

Windows
-------
"The last 12 months" as of date D is the date range (D − 12 months, D], counted in calendar
months; when D is the last day of its month the range starts at a month end too, so as of
2025-02-28 it is March 2024 … February 2025 (and as of 2024-02-29 March 2023 … February
2024).  Months 13–24 are (D − 24 months, D − 12 months].  The 8 quarters of
``active_quarter_share`` are the 3-month ranges (D − 3q months, D − 3(q−1) months], q = 1…8.
All window bounds are computed in Python from the as-of date and reach the engine as date
literals (or a small table of dates), so no engine does month arithmetic; day counts
(recency, tenure) are day differences of dates.

Purchases
---------
An order line with a positive amount is a *purchase*.  Revenue and margin include every line
(returns and credit notes are negative lines and reduce them); order counts, order days,
product lines, active quarters, first / last order date, recency and tenure count purchases
only, so a credit note neither makes a customer look recent nor frequent.

Missing values
--------------
A feature is ``NaN`` (``NaT`` for dates) when it cannot be known, never silently 0:
an account with no order line on or before the date has every order feature missing;
no ``service_tickets`` table at all leaves every service feature missing; a rate with an
empty denominator is missing.  Counts are 0 when their table exists and nothing happened.
``feature_catalogue()["missing_when"]`` states the rule per feature and
:func:`missing_reasons` lists the reason per account.

Money
-----
Amounts are float64 on the way in and out, but are *summed in whole cents* (each line rounded
half away from zero to an int64 number of cents): integer sums are exact in any order, so
every engine gets bit-identical totals, a full return nets to exactly 0, and "revenue of the
previous 12 months ≤ 0" means what it says.  Sub-cent amounts are rounded per line.

Portability rules (checked to make DuckDB and PySpark agree)
------------------------------------------------------------
Dates are cast to DATE before any comparison; every division has its denominator behind
``NULLIF`` *and* a guard (Spark's ANSI mode raises on division by zero); ranks break ties
deterministically; no month differences (window bounds are Python-computed date literals;
the history's month numbers are ``year * 12 + month``), no ``median(where=...)``, no ASOF
joins (Spark SQL has none), no bitwise aggregates (Ibis compiles none for Spark); elapsed SLA
time is a difference of timestamps truncated to whole seconds.  The tests compile both query
shapes to Spark SQL, so an operation Ibis cannot translate fails here, not on a cluster.

Engines (the seam of issue 7)
-----------------------------
The source decides the engine: a KamData or frames run on an in-memory DuckDB, a store path
on the store's DuckDB, an Ibis backend on itself, a ``pyspark.sql.SparkSession`` (or a
mapping holding Spark DataFrames) on Spark through Ibis's pyspark backend
(``pip install 'kamlib[spark]'``; tested with pyspark 4.0.5 on Java 17, the range Ibis 12
supports is pyspark 3.5–4.0).  ``tables=`` says where each canonical table is on the
engine: a table name, a Parquet location or a DataFrame::

    account_features(spark, as_of="2026-09-30",
                     tables={"orders": "lake.sales.order_lines", "accounts": accounts_df})

Everything after the features (scoring, tiers, segmentation, reports) gets the same pandas
frame whatever the engine.  Where engines differ, kamlib decides once, here, and
``tests/test_conformance.py`` runs each case on pandas, DuckDB and Spark:

- *month arithmetic*: none in any engine; window bounds are Python dates (month ends map
  to month ends: after 2024-02-29 as of 2025-02-28) and month numbers ``year * 12 + month``;
- *dates vs timestamps, time zones*: frames are fixed in Python before an engine sees them
  (aware timestamps become the naive wall-clock time of their zone, the date columns become
  dates); engine tables are cast to DATE in the engine.  Ibis sets a Spark session's time
  zone to UTC when it connects; given a SparkSession, kamlib sets the user's zone back for
  its queries and leaves the session's settings as they were, so a Spark ``TIMESTAMP``
  reads as the wall-clock time the user sees (``TIMESTAMP_NTZ`` and ``DATE`` do not depend
  on it).  kamlib's own small tables carry dates only; "midnight after the as-of date" is
  made in the engine from a date;
- *money*: whole cents per line, rounded half away from zero (DuckDB's ``round`` and
  Spark's ``ROUND`` agree on doubles; decimals are cast to float64 first), summed as
  integers, so totals and ties are exact on every engine;
- *division by zero* (Spark's ANSI mode raises): every ratio is guarded (``_ratio``);
- *NaN*: missing, as in pandas (``_prepare``); Spark keeps NaN apart from NULL and refuses
  to cast it to whole cents under ANSI mode;
- *ties in ranks*: the one ranking (last stage-history amount per opportunity) orders by
  time, then amount; the scoring ranks in pandas, ties by ``account_id``;
- *quantiles and deciles*: no feature uses one (engines interpolate differently); the
  scoring's bands and the segmentation's cut points run in pandas on these features;
- *results*: fetched as Arrow (on Spark straight from ``DataFrame.toArrow``, bypassing
  ``toPandas``) and typed in one place (``_to_pandas``).

Query shapes
------------
One date: three aggregations of the order lines (all lines; purchases of the last 12 months
with the distinct counts; purchases of the last 8 quarters), the other tables joined to a
one-row table of the date's bounds.  Month-end history: the lines reduced once to
(account, month), laid out on a dense account × month grid, windows read as differences of
running sums (see ``_orders_monthly``).  Both give identical results; the tests check it.

Example
-------
>>> from kamlib.features import account_features
>>> features = account_features("data/demo.duckdb", as_of="2026-09-30")  # doctest: +SKIP
>>> features[["revenue_12m", "growth_12m", "share_of_wallet"]].describe()  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
from ibis.backends import BaseBackend
from ibis.common.exceptions import TableNotFound

from kamlib.data.kamdata import FIRST_SEEN, KamData
from kamlib.data.store import describe_io_error
from kamlib.errors import ConfigError, DataValidationError, MissingTableError
from kamlib.periods import as_day

__all__ = [
    "FeatureWindows",
    "account_features",
    "account_features_history",
    "engine_options",
    "feature_catalogue",
    "missing_reasons",
    "months_before",
]

#: Canonical tables the features read (``accounts`` and ``orders`` are required).
SOURCE_TABLES = (
    "accounts", "products", "orders", "opportunities", "stage_history", "contacts",
    "activities", "service_tickets",
)  # fmt: skip

STATIC_TEXT = ("industry", "region", "ownership")
STATIC_NUMBERS = ("employees", "annual_revenue", "registered_capital", "strategic_fit")
DATE_FEATURES = ("first_order_date", "last_order_date")

#: The key ``missing_reasons`` reads from ``DataFrame.attrs``.
ATTRS_KEY = "kamlib.features"


# -- windows ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class FeatureWindows:
    """Window lengths of the dynamic features.

    Parameters
    ----------
    trailing_months
        The short window (revenue, margin, orders, product lines, service): 12 by default.
        Growth compares it with the same number of months before it.
    long_months
        The long window (``revenue_24m``, ``win_rate_24m``): 24 by default.
    quarters
        How many 3-month periods ``active_quarter_share`` looks back: 8 by default (at
        most 60).

    Column names carry the window (``revenue_12m``, ``win_rate_24m``); with other lengths
    they change accordingly (``FeatureWindows(trailing_months=6)`` gives ``revenue_6m``).
    """

    trailing_months: int = 12
    long_months: int = 24
    quarters: int = 8

    def __post_init__(self) -> None:
        for name, top in (("trailing_months", 240), ("long_months", 240), ("quarters", 60)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
                raise ConfigError(
                    f"The '{name}' parameter of FeatureWindows must be a whole number from 1 "
                    f"to {top}. Got {value!r} instead."
                )

    @property
    def short(self) -> str:
        return f"{self.trailing_months}m"

    @property
    def long(self) -> str:
        return f"{self.long_months}m"

    def columns(self) -> list[str]:
        """The output columns of :func:`account_features`, in order (``account_id`` is the index)."""
        s, lo = self.short, self.long
        return [
            "industry", "region", "employees", "annual_revenue", "registered_capital",
            "strategic_fit", "ownership", "category_spend",
            f"revenue_{s}", f"revenue_{lo}", f"revenue_prev_{s}", f"growth_{s}",
            f"gross_margin_{s}", f"orders_{s}", f"order_days_{s}", "recency_days",
            "tenure_days", "active_quarter_share", f"product_lines_{s}", "share_of_wallet",
            "open_pipeline", "open_opportunities", f"win_rate_{lo}",
            f"sla_breach_rate_{s}", f"escalations_{s}", f"tickets_{s}", "contacts_known",
            "decision_maker_support", "economic_buyer_known", "days_since_last_activity",
            "first_order_date", "last_order_date",
        ]  # fmt: skip


def months_before(day: dt.date, months: int) -> dt.date:
    """``day`` minus ``months`` calendar months; a month end maps to a month end.

    2024-03-31 − 1 → 2024-02-29; 2025-02-28 − 12 → 2024-02-29; 2024-02-29 − 12 → 2023-02-28;
    2024-05-15 − 3 → 2024-02-15.
    """
    ts = pd.Timestamp(day)
    out = ts - pd.DateOffset(months=months)
    if ts.is_month_end:
        out = out + pd.offsets.MonthEnd(0)
    return out.date()


@dataclass(frozen=True)
class _Cut:
    """One as-of date and the bounds of its windows (each window is (start, as_of])."""

    as_of: dt.date
    start_short: dt.date
    start_prev: dt.date
    start_long: dt.date
    quarter_starts: tuple[dt.date, ...]  # start of quarter q = 1..Q (quarter 1 is the latest)

    @classmethod
    def build(cls, as_of: dt.date, windows: FeatureWindows) -> _Cut:
        m = windows.trailing_months
        return cls(
            as_of=as_of,
            start_short=months_before(as_of, m),
            start_prev=months_before(as_of, 2 * m),
            start_long=months_before(as_of, windows.long_months),
            quarter_starts=tuple(
                months_before(as_of, 3 * q) for q in range(1, windows.quarters + 1)
            ),
        )


def _as_date(value: object, name: str = "as_of") -> dt.date:
    return as_day(value, parameter=name).date()


# -- the plan: as-of dates and the small table describing them --------------------------------
def month_number(day: dt.date) -> int:
    """Months since year 0 (``year * 12 + month - 1``): consecutive months differ by 1."""
    return day.year * 12 + day.month - 1


def _month_number(day: ir.DateValue) -> ir.IntegerValue:
    return day.year().cast("int64") * 12 + day.month().cast("int64") - 1


def _is_month_end(day: dt.date) -> bool:
    return (day + dt.timedelta(days=1)).day == 1


@dataclass(frozen=True)
class _Plan:
    """The as-of dates of one computation (all month ends when there is more than one)."""

    cuts: tuple[_Cut, ...]
    windows: FeatureWindows

    @property
    def last(self) -> dt.date:
        return max(c.as_of for c in self.cuts)

    def snapshots(self) -> ir.Table:
        """One row per as-of date: ``k`` (its position), its dates and its month number."""
        cols: dict[str, pa.Array] = {
            "k": pa.array(range(len(self.cuts)), pa.int64()),
            "as_of": pa.array([c.as_of for c in self.cuts], pa.date32()),
            "end_date": pa.array([c.as_of + dt.timedelta(days=1) for c in self.cuts], pa.date32()),
            "start_short": pa.array([c.start_short for c in self.cuts], pa.date32()),
            "start_prev": pa.array([c.start_prev for c in self.cuts], pa.date32()),
            "start_long": pa.array([c.start_long for c in self.cuts], pa.date32()),
            "month": pa.array([month_number(c.as_of) for c in self.cuts], pa.int64()),
        }
        return ibis.memtable(pa.table(cols))


# -- sources ---------------------------------------------------------------------------------
Source = KamData | str | Path | BaseBackend | Mapping[str, Any]
"""What :func:`account_features` reads: a KamData, a store path, an Ibis backend, a Spark
session (``pyspark.sql.SparkSession``, classic or Spark Connect; typed ``Any`` so pyspark
stays optional) or a mapping of canonical table name → frame / Ibis table / Spark DataFrame."""

TableLocation = str | Path | Any
"""Where one canonical table lives on an engine (the ``tables`` parameter): a table name, a
Parquet location, or a table object (Spark DataFrame, Ibis table, pandas DataFrame)."""


@dataclass
class _Tables:
    """The canonical tables of a source as Ibis tables, and the backend that runs them."""

    tables: dict[str, ir.Table]
    backend: BaseBackend
    cut: pd.Timestamp | None = None

    def has(self, name: str) -> bool:
        return name in self.tables


def _is_spark_session(value: object) -> bool:
    """A pyspark ``SparkSession`` (classic or Connect), recognised without importing pyspark."""
    kind = type(value)
    return kind.__name__ == "SparkSession" and kind.__module__.startswith("pyspark.sql")


def _is_spark_frame(value: object) -> bool:
    kind = type(value)
    return kind.__name__ == "DataFrame" and kind.__module__.startswith("pyspark.sql")


@contextmanager
def _open(
    source: Source, locations: Mapping[str, TableLocation] | None = None
) -> Iterator[_Tables]:
    """Resolve ``source`` to Ibis tables; close (and unregister) what was opened here afterwards."""
    if locations is not None and isinstance(source, KamData | Mapping):
        raise ConfigError(
            "The 'tables' parameter of account_features names tables on an engine; it needs "
            "an engine as the source (a SparkSession, an Ibis backend or a store path), not "
            f"a {type(source).__name__}. Put the frames in the mapping itself instead."
        )
    _check_names(locations or {})
    if isinstance(source, KamData):
        with _local_duckdb() as backend:
            tables = {
                n: _frame_table(_without_empty_lines(source[n], n), n)
                for n in SOURCE_TABLES
                if source.has(n)
            }
            yield _Tables(tables, backend, source.as_of_date)
    elif isinstance(source, str | Path):
        path = Path(source)
        if not path.exists():
            raise DataValidationError(
                f"Store {path} does not exist. Build it with `kam demo --store {path}` or "
                f"`kam import FILES --store {path}`."
            )
        try:
            backend = ibis.duckdb.connect(str(path), read_only=True)
        except Exception as exc:  # a third-party error (locked, not DuckDB, unreadable), re-raised
            raise DataValidationError(describe_io_error(path, exc)) from exc
        try:
            backend.raw_sql("SET enable_progress_bar = false")
            with _engine_tables(backend, locations, None) as tables:
                yield _Tables(tables, backend)
        finally:
            backend.disconnect()
    elif _is_spark_session(source):
        with (
            _spark_backend(source) as (backend, session),
            _engine_tables(backend, locations, session) as tables,
        ):
            yield _Tables(tables, backend)
    elif isinstance(source, BaseBackend):
        session = getattr(source, "_session", None) if source.name == "pyspark" else None
        with _engine_tables(source, locations, session) as tables:
            yield _Tables(tables, source)
    elif isinstance(source, Mapping):
        yield from _open_mapping(source)
    else:
        raise ConfigError(
            "The 'source' parameter of account_features must be a KamData, a store path, an "
            "Ibis backend, a SparkSession or a mapping of table name → frame. Got "
            f"{type(source).__name__} instead."
        )


def _check_names(names: Iterable[str]) -> None:
    unknown = sorted(set(names) - set(SOURCE_TABLES) - _OTHER_TABLES)
    if unknown:
        raise DataValidationError(
            f"{', '.join(map(repr, unknown))} {'is not a' if len(unknown) == 1 else 'are not'} "
            f"canonical table name{'s' if len(unknown) > 1 else ''}. Valid tables: "
            f"{', '.join(SOURCE_TABLES)}."
        )


def _open_mapping(source: Mapping[str, Any]) -> Iterator[_Tables]:
    """A mapping of table name → pandas frame, Ibis table or Spark DataFrame.

    The engine is the one the Ibis tables are bound to, or the Spark session of the Spark
    DataFrames; pandas frames join it (registered by Ibis).  Without either: an in-memory
    DuckDB.
    """
    _check_names(source)
    spark = [v.sparkSession for v in source.values() if _is_spark_frame(v)]
    if spark:
        with (
            _spark_backend(spark[0]) as (backend, session),
            _engine_tables(
                backend, {n: v for n, v in source.items() if n in SOURCE_TABLES}, session, only=True
            ) as tables,
        ):
            yield _Tables(tables, backend)
        return
    tables: dict[str, ir.Table] = {}
    backend = None
    for name in SOURCE_TABLES:
        if name not in source:
            continue
        value = source[name]
        if isinstance(value, ir.Table):
            tables[name] = value
            backend = backend or _bound_backend(value)
        elif isinstance(value, pd.DataFrame):
            tables[name] = _frame_table(_without_empty_lines(value, name), name)
        else:
            raise DataValidationError(
                f"Table '{name}' must be a pandas DataFrame, an Ibis table or a Spark "
                f"DataFrame. Got {type(value).__name__} instead."
            )
    if backend is not None:
        yield _Tables(tables, backend)
        return
    with _local_duckdb() as local:
        yield _Tables(tables, local)


@contextmanager
def _engine_tables(
    backend: BaseBackend,
    locations: Mapping[str, TableLocation] | None,
    session: Any,
    *,
    only: bool = False,
) -> Iterator[dict[str, ir.Table]]:
    """The canonical tables on ``backend``: each from ``locations`` when named there, else
    the engine's table of the canonical name (unless ``only``).  Spark DataFrames and
    Parquet locations are registered as temporary views named ``kamlib_<table>_<random>``
    and dropped afterwards."""
    locations = dict(locations or {})
    views: list[str] = []
    tables: dict[str, ir.Table] = {}
    try:
        for name in SOURCE_TABLES:
            if name not in locations:
                if not only:
                    with suppress(TableNotFound):
                        tables[name] = backend.table(name)
                continue
            tables[name] = _locate(backend, session, name, locations[name], views)
        yield tables
    finally:
        for view in views:
            if session is not None:
                session.catalog.dropTempView(view)
            else:  # a temporary view: gone with the connection anyway
                with suppress(Exception):
                    backend.raw_sql(f'DROP VIEW IF EXISTS "{view}"')


def _locate(
    backend: BaseBackend, session: Any, name: str, where: TableLocation, views: list[str]
) -> ir.Table:
    """One canonical table from its location (see :data:`TableLocation`)."""
    view = f"kamlib_{name}_{uuid.uuid4().hex[:12]}"
    if isinstance(where, ir.Table):
        return where
    if isinstance(where, pd.DataFrame):
        frame = _without_empty_lines(where, name)
        if session is not None:  # through Arrow, under the session's own time zone
            session.createDataFrame(_arrow(frame, name)).createOrReplaceTempView(view)
            views.append(view)
            return backend.table(view)
        return _frame_table(frame, name)
    if _is_spark_frame(where):
        if session is None:
            raise ConfigError(
                f"Table '{name}' is a Spark DataFrame but the engine is {backend.name}; pass "
                "the SparkSession (or ibis.pyspark.connect(session)) as the source."
            )
        where.createOrReplaceTempView(view)
        views.append(view)
        return backend.table(view)
    if isinstance(where, str | Path):
        text = str(where)
        if isinstance(where, Path) or "/" in text or text.lower().endswith(".parquet"):
            try:
                table = backend.read_parquet(text, table_name=view)
            except Exception as exc:
                raise DataValidationError(
                    f"Table '{name}': cannot read Parquet at {text!r} on {backend.name}: "
                    f"{str(exc).splitlines()[0]}. Check the path (a file or a folder of "
                    "Parquet files the engine can reach)."
                ) from exc
            views.append(view)
            return table
        *database, table_name = text.split(".")
        try:
            return backend.table(table_name, database=".".join(database) or None)
        except TableNotFound as exc:
            raise DataValidationError(
                f"Table '{name}': the engine ({backend.name}) has no table {text!r}. Give "
                "its name as the engine knows it ('db.table'), a Parquet path or a DataFrame."
            ) from exc
    raise DataValidationError(
        f"Table '{name}' must be a table name, a Parquet path, a Spark DataFrame, an Ibis "
        f"table or a pandas DataFrame. Got {type(where).__name__} instead."
    )


#: Spark settings Ibis changes on connect, restored afterwards (kamlib leaves a user's
#: session as it found it).
_SPARK_SETTINGS = ("spark.sql.session.timeZone", "spark.sql.mapKeyDedupPolicy")


@contextmanager
def _spark_backend(session: Any) -> Iterator[tuple[BaseBackend, Any]]:
    """An Ibis backend on a user's Spark session, keeping the session's time zone.

    Ibis sets ``spark.sql.session.timeZone`` to UTC on connect.  kamlib sets it back for
    its queries: a ``TIMESTAMP`` column (Spark's timestamp with local time zone) then reads
    as the wall-clock time the user sees in that session, and ``TIMESTAMP_NTZ`` / ``DATE``
    columns do not depend on it.  kamlib's own small tables carry dates, never timestamps.
    Afterwards the session's settings are as they were.
    """
    try:
        import ibis.backends.pyspark
    except ImportError as exc:
        raise ConfigError(
            "Running the features on Spark needs Ibis's pyspark backend: "
            "pip install 'kamlib[spark]' (or ibis-framework[pyspark])."
        ) from exc
    saved = {key: session.conf.get(key, None) for key in _SPARK_SETTINGS}
    backend = ibis.pyspark.connect(session)
    try:
        if saved["spark.sql.session.timeZone"]:
            session.conf.set("spark.sql.session.timeZone", saved["spark.sql.session.timeZone"])
        yield backend, session
    finally:
        for key, value in saved.items():
            if value is None:
                session.conf.unset(key)
            else:
                session.conf.set(key, value)


#: The engines a report can name (``engine`` parameter of the portfolio review).
ENGINES = ("duckdb", "spark")


def engine_options(
    engine: str = "duckdb", *, orders: str = "", data: KamData | None = None
) -> dict[str, Any]:
    """Where a report computes its features: keyword arguments ``features_source`` and
    ``tables`` for a report function (``portfolio_review``).

    Parameters
    ----------
    engine
        ``"duckdb"``: from the report's own data set (the store), nothing to add.
        ``"spark"``: on the active Spark session (or a new one from the environment's Spark
        settings, e.g. ``spark-defaults.conf``); needs ``kamlib[spark]`` and Java.
    orders
        With ``"spark"``: the order lines as the engine knows them, a table name
        (``"lake.sales.order_lines"``) or a Parquet path; empty: a table named ``orders``.
    data
        With ``"spark"``: the report's data set; its other tables (accounts, opportunities,
        contacts …: the modest ones) go to the engine with the orders, so only the order
        lines need to live on Spark.  Without it, the other canonical tables are looked up
        by their names on the engine.

    Examples
    --------
    >>> engine_options("duckdb")
    {'features_source': None, 'tables': None}
    """
    if engine not in ENGINES:
        raise ConfigError(
            f"The 'engine' parameter must be one of {', '.join(map(repr, ENGINES))}. Got "
            f"{engine!r} instead."
        )
    if engine == "duckdb":
        if orders:
            raise ConfigError(
                "The 'orders' parameter names a table on Spark; with engine 'duckdb' the "
                f"orders come from the store. Got {orders!r}; leave it empty or use 'spark'."
            )
        return {"features_source": None, "tables": None}
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ConfigError(
            "engine 'spark' needs pyspark: pip install 'kamlib[spark]' (and Java 17)."
        ) from exc
    # a session created here (none active) keeps Spark's progress bars out of report logs
    session = (
        SparkSession.getActiveSession()
        or SparkSession.builder.config("spark.ui.showConsoleProgress", "false").getOrCreate()
    )
    tables: dict[str, Any] = {}
    if data is not None:
        tables = {t: data.require(t) for t in data.tables if t != "orders"}
    if orders:
        tables["orders"] = orders
    elif data is not None:
        tables["orders"] = "orders"
    return {"features_source": session, "tables": tables or None}


_OTHER_TABLES = {"opportunity_contacts", "targets", "plan_items"}

#: Columns the features read as dates (a time of day in them is dropped in Python).
_DATE_COLUMNS = {
    "accounts": ("created_date",),
    "orders": ("order_date",),
    "opportunities": ("created_date", "closed_date"),
    "activities": ("date",),
}


def _without_empty_lines(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Orders whose ``product_line`` is empty throughout: the column dropped (no product
    line is known, which :func:`_finish` tells from the column's absence)."""
    if name == "orders" and "product_line" in frame and frame["product_line"].isna().all():
        return frame.drop(columns="product_line")
    return frame


def _arrow(frame: pd.DataFrame, name: str | None = None) -> pa.Table:
    """A pandas frame as Arrow with the dates fixed before any engine sees them.

    Time-zone-aware timestamps become the naive wall-clock time of their zone (kamlib's
    timestamps are local time); the date columns of ``name`` become ``date32`` (the
    wall-clock date: 23:50 on the 29th is the 29th, on every engine and in every session
    time zone).
    """
    frame = frame.copy(deep=False)
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.DatetimeTZDtype):
            frame[col] = frame[col].dt.tz_localize(None)
    dates = [c for c in _DATE_COLUMNS.get(name or "", ()) if c in frame.columns]
    for col in dates:
        if frame[col].dtype.kind == "M":
            frame[col] = frame[col].dt.normalize()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for col in dates:
        i = table.schema.get_field_index(col)
        if pa.types.is_timestamp(table.schema.field(i).type):
            table = table.set_column(i, col, table.column(col).cast(pa.date32()))
    return table


def _frame_table(frame: pd.DataFrame, name: str | None = None) -> ir.Table:
    """A pandas frame as an Ibis memtable, through Arrow (Ibis's own pandas inference reads a
    pandas option that warns under pandas 3); dates fixed as in :func:`_arrow`."""
    return ibis.memtable(_arrow(frame, name))


@contextmanager
def _local_duckdb() -> Iterator[BaseBackend]:
    backend = ibis.duckdb.connect()
    backend.raw_sql("SET enable_progress_bar = false")
    try:
        yield backend
    finally:
        backend.disconnect()


def _bound_backend(table: ir.Table) -> BaseBackend | None:
    try:
        return table._find_backend()
    except Exception:  # an unbound table (memtable): any backend runs it
        return None


# -- preparing the tables: canonical columns, portable types, dates cast early ---------------
_COLUMNS: dict[str, dict[str, str]] = {
    "accounts": {
        "account_id": "string", "parent_account_id": "string", "industry": "string",
        "region": "string", "ownership": "string", "employees": "float64",
        "annual_revenue": "float64", "registered_capital": "float64",
        "strategic_fit": "float64", "category_spend": "float64", "created_date": "date",
    },
    "orders": {
        "account_id": "string", "order_id": "string", "order_date": "date",
        "amount": "float64", "cost": "float64", "product_id": "string",
        "product_line": "string",
    },
    "products": {"product_id": "string", "product_line": "string"},
    "opportunities": {
        "opportunity_id": "string", "account_id": "string", "amount": "float64",
        "created_date": "date", "closed_date": "date", "status": "string",
    },
    "stage_history": {"opportunity_id": "string", "entered_at": "timestamp", "amount": "float64"},
    "contacts": {
        "account_id": "string", "buying_role": "string", "influence": "float64",
        "support": "float64",
    },
    "activities": {"account_id": "string", "date": "date"},
    "service_tickets": {
        "account_id": "string", "opened_at": "timestamp", "first_response_at": "timestamp",
        "resolved_at": "timestamp", "escalated": "boolean", "sla_response_hours": "float64",
        "sla_resolution_hours": "float64",
    },
}  # fmt: skip

_REQUIRED: dict[str, tuple[str, ...]] = {
    "accounts": ("account_id",),
    "orders": ("account_id", "order_id", "order_date", "amount"),
    "products": ("product_id", "product_line"),
    "opportunities": ("opportunity_id", "account_id", "created_date", "status"),
    "stage_history": ("opportunity_id", "entered_at"),
    "contacts": ("account_id",),
    "activities": ("account_id", "date"),
    "service_tickets": ("account_id", "opened_at"),
}


def _prepare(table: ir.Table, name: str) -> ir.Table:
    """Select the columns the features use, with portable types (absent optional → NULL)."""
    present = set(table.columns)
    missing = [c for c in _REQUIRED[name] if c not in present]
    if missing:
        raise DataValidationError(
            f"Required column {', '.join(map(repr, missing))} missing from table '{name}'. "
            f"Map the column on import or add it to the frame."
        )
    cols = {}
    for col, kind in _COLUMNS[name].items():
        if col not in present:
            cols[col] = ibis.null(kind)
            continue
        value = table[col]
        if value.type().is_date() and kind == "date":
            cols[col] = value
        elif value.type().is_timestamp() and kind == "timestamp":
            # kamlib timestamps are naive local time; an aware one is converted by the engine
            cols[col] = value if value.type().timezone is None else value.cast("timestamp")
        else:
            cols[col] = value.cast(kind)
        if kind == "float64":
            # NaN is missing, as in pandas; Spark keeps NaN apart from NULL (a frame sent
            # without Arrow), and cannot cast it to whole cents under ANSI mode
            cols[col] = ibis.ifelse(cols[col].isnan().coalesce(False), _NULL, cols[col])
    return table.select(**cols)


# -- the group hierarchy ---------------------------------------------------------------------
def _group_map(links: pd.DataFrame) -> pd.DataFrame:
    """``account_id`` → ``group_id`` (its top parent) from the parent links; cycles refused."""
    links = links.sort_values("account_id", kind="stable")  # deterministic cycle messages
    ids = links["account_id"].astype(object).tolist()
    parents = dict(zip(ids, links["parent_account_id"].astype(object).tolist(), strict=True))
    known = set(ids)
    top: dict[str, str] = {}
    for start in ids:
        path, node = [], start
        while node not in top:
            path.append(node)
            parent = parents.get(node)
            if parent is None or parent is pd.NA or parent != parent or parent not in known:
                top[node] = node
                break
            if parent in path:
                cycle = " → ".join([*path[path.index(parent) :], parent])
                raise DataValidationError(
                    f"The parent_account_id links of accounts form a cycle: {cycle}. Fix the "
                    "accounts table so every group has one top account."
                )
            node = parent
        root = top[node]
        for member in path:
            top[member] = root
    return pd.DataFrame({"account_id": ids, "group_id": [top[i] for i in ids]})


def _regroup(table: ir.Table, groups: ir.Table | None) -> ir.Table:
    """Replace ``account_id`` by the account's group (its top parent) when rolling up."""
    if groups is None:
        return table
    joined = table.left_join(groups, table.account_id == groups.account_id)
    return joined.mutate(account_id=joined.group_id.coalesce(joined.account_id)).drop(
        "group_id", "account_id_right"
    )


# -- building blocks ---------------------------------------------------------------------------
def _lit(day: dt.date) -> ir.DateScalar:
    return ibis.literal(day, type="date")


def _cents(value: ir.FloatingValue) -> ir.IntegerValue:
    """Money in whole cents (int64, half away from zero): sums of cents are exact, so every
    engine, in any summation order, gets the same totals — and a full return nets to 0."""
    return (value * 100.0).round().cast("int64")


def _money(cents: ir.IntegerValue) -> ir.FloatingValue:
    return cents.cast("float64") / 100.0


def _ratio(num: ir.NumericValue, den: ir.NumericValue, ok: ir.BooleanValue) -> ir.FloatingValue:
    """``num / den`` where ``ok``; NULL otherwise, and never a division by zero."""
    return ibis.ifelse(ok, num.cast("float64") / den.cast("float64").nullif(0.0), _NULL)


_NULL = ibis.null("float64")


def _order_lines(orders: ir.Table, products: ir.Table | None) -> ir.Table:
    """Order lines with the product line filled from ``products`` where the line lacks it."""
    if products is None:
        return orders
    catalogue = products.group_by("product_id").aggregate(pl=products.product_line.min())
    joined = orders.left_join(catalogue, orders.product_id == catalogue.product_id)
    return joined.mutate(product_line=joined.product_line.coalesce(joined.pl)).drop(
        "pl", "product_id_right"
    )


def _orders_single(orders: ir.Table, products: ir.Table | None, cut: _Cut) -> ir.Table:
    """Order primitives for one as-of date: three aggregations over the lines, joined.

    The distinct counts run on lines pre-filtered to their window (DuckDB counts distinct
    values far faster on a filtered input than with ``FILTER`` clauses on the full scan).
    """
    lines = orders.filter(orders.order_date <= _lit(cut.as_of))
    d, cost = lines.order_date, lines.cost
    purchase = lines.amount > 0
    amount, cost_cents = _cents(lines.amount), _cents(cost)
    short = d > _lit(cut.start_short)
    costed = short & cost.notnull()
    totals = lines.group_by("account_id").aggregate(
        n_lines=lines.count(),
        rev_short=amount.sum(where=short),
        rev_long=amount.sum(where=d > _lit(cut.start_long)),
        rev_prev=amount.sum(where=(d > _lit(cut.start_prev)) & ~short),
        cost_short=cost_cents.sum(where=costed),
        costed_short=amount.sum(where=costed),
        first_purchase=d.min(where=purchase),
        last_purchase=d.max(where=purchase),
    )
    recent = _order_lines(lines.filter(purchase & short), products)
    counts = recent.group_by("account_id").aggregate(
        orders_short=recent.order_id.nunique(),
        days_short=recent.order_date.nunique(),
        lines_short=recent.product_line.nunique(),
    )
    starts = cut.quarter_starts
    steady = lines.filter(purchase & (d > _lit(starts[-1])))
    quarter = ibis.cases(
        *((steady.order_date > _lit(start), q) for q, start in enumerate(starts, 1))
    )
    quarters = steady.group_by("account_id").aggregate(quarters=quarter.nunique())
    out = totals.left_join(counts, "account_id").left_join(quarters, "account_id")
    return out.select(
        k=ibis.literal(0, "int64"),
        account_id=out.account_id,
        has_lines=out.n_lines > 0,
        **{c: out[c] for c in _ORDER_SUMS},
        orders_short=out.orders_short,
        days_short=out.days_short,
        lines_short=out.lines_short,
        quarters=out.quarters,
        first_purchase=out.first_purchase,
        last_purchase=out.last_purchase,
    )


_ORDER_SUMS = ("rev_short", "rev_long", "rev_prev", "cost_short", "costed_short")


def _orders_monthly(
    orders: ir.Table,
    products: ir.Table | None,
    plan: _Plan,
    snaps: ir.Table,
) -> ir.Table:
    """Order primitives for many month-end dates from one reduction of the order lines.

    When every as-of date is a month end, every window is a run of whole calendar months
    ending on the date's month.  The lines are reduced once to (account, month) and laid
    out on a dense account × month grid; a window's total is a difference of running totals
    (money is whole cents, so exactly), read at each date's month.  Only sums, counts,
    MIN / MAX, LAG / LEAD and running SUM: nothing an engine lacks (Ibis compiles no bitwise
    aggregate for Spark, for instance).

    - sums and day counts add up (a day lies in one month);
    - distinct orders and product lines: +1 / -1 deltas (below), whose running sum is the
      count;
    - active quarters: months with a purchase counted per 3-month block.
    """
    wnd = plan.windows
    s_m, l_m = wnd.trailing_months, wnd.long_months
    months = [month_number(c.as_of) for c in plan.cuts]
    first_month = min(months) - max(l_m, 2 * s_m, 3 * wnd.quarters) + 1
    last = _lit(plan.last)

    lines = orders.filter(orders.order_date <= last)
    lines = lines.mutate(i=_month_number(lines.order_date))
    purchase = lines.amount > 0
    costed = lines.cost.notnull()
    amount = _cents(lines.amount)
    per_month = lines.group_by("account_id", "i").aggregate(
        amount=amount.sum(),
        cost=_cents(lines.cost).sum(where=costed),
        costed=amount.sum(where=costed),
        first_purchase=lines.order_date.min(where=purchase),
        last_purchase=lines.order_date.max(where=purchase),
        n_lines=lines.count(),
    )

    # distinct orders and product lines of a window, as running sums of +1 / -1 deltas: a
    # key bought in month i counts in the windows of the months i … e, where e is the month
    # before the key's next purchase month or the window's last month (i + S - 1), whichever
    # comes first; +1 at i and -1 at e + 1 add up to the count at every month
    first_short = _lit(min(c.start_short for c in plan.cuts))
    recent = orders.filter(
        (orders.order_date <= last) & (orders.order_date > first_short) & (orders.amount > 0)
    )
    recent = recent.mutate(i=_month_number(recent.order_date))
    placed = recent.select("account_id", "order_id", "i", "order_date").distinct()
    days_i = placed.group_by("account_id", "i").aggregate(days=placed.order_date.nunique())
    span = placed.group_by("account_id", "order_id").aggregate(
        first_i=placed.i.min(), last_i=placed.i.max()
    )
    one_month = span.filter(span.first_i == span.last_i)  # nearly all orders: no LAG needed
    one_month = one_month.select("account_id", i=one_month.first_i, next_i=ibis.null("int64"))
    several = (
        placed.semi_join(span.filter(span.first_i < span.last_i), ["account_id", "order_id"])
        .select("account_id", "order_id", "i")
        .distinct()
    )
    end_month = max(months)
    order_deltas = _window_deltas(
        ibis.union(one_month, _next_month(several, "order_id")), s_m, "orders", end_month
    )
    # the product lines come from their own scan (a subexpression shared with the orders
    # would be materialised by DuckDB); the products join sits before the same filter
    coded = _order_lines(orders, products)
    coded = coded.filter(
        (coded.order_date <= last) & (coded.order_date > first_short) & (coded.amount > 0)
    )
    coded = coded.filter(coded.product_line.notnull())
    coded = coded.select("account_id", "product_line", i=_month_number(coded.order_date))
    line_deltas = _window_deltas(
        _next_month(coded.distinct(), "product_line"), s_m, "lines", end_month
    )

    # one dense row per (account, month) from the first month any window needs, for every
    # account with a line; what came before that month is carried into it (line count, last
    # purchase).  Merged as UNION + GROUP BY rather than joins, which DuckDB may reorder
    # after the grid is built.
    grid_months = _frame_table(pd.DataFrame({"i": range(first_month, end_month + 1)}))
    early = per_month.filter(per_month.i < first_month)
    carried = early.group_by("account_id").aggregate(
        i=ibis.literal(first_month, "int64"),
        n_lines=early.n_lines.sum(),
        last_purchase=early.last_purchase.max(),
    )
    parts = [
        per_month.select("account_id").distinct().cross_join(grid_months),
        per_month.filter(per_month.i >= first_month).drop("first_purchase"),
        carried,
        days_i,
        order_deltas,
        line_deltas,
    ]
    typed = {c: t for part in parts for c, t in part.schema().items()}
    both = ibis.union(
        *(p.select(**{c: p[c] if c in p.columns else ibis.null(typed[c]) for c in typed})
          for p in parts)
    )  # fmt: skip
    counted = ("amount", "cost", "costed", "days", "orders", "lines", "n_lines")
    dense = both.group_by("account_id", "i").aggregate(
        bought=(both.last_purchase.notnull() & both.amount.notnull()).any().cast("int64"),
        last_purchase=both.last_purchase.max(),
        **{c: both[c].sum() for c in counted},
    )
    running = ibis.window(group_by=dense.account_id, order_by=dense.i, rows=(None, 0))
    cum = dense.select(
        "account_id",
        "i",
        last_purchase=dense.last_purchase.max().over(running),
        **{c: dense[c].coalesce(0).sum().over(running) for c in ("bought", *counted)},
    )
    order = ibis.window(group_by=cum.account_id, order_by=cum.i)

    lags: dict[tuple[str, int], ir.IntegerValue] = {}

    def back(col: str, months: int) -> ir.IntegerValue:
        """The running sum ``months`` rows (= months: the grid is dense) back; each once."""
        if months == 0:
            return cum[col]
        if (col, months) not in lags:
            lags[col, months] = cum[col].lag(months).over(order).coalesce(0)
        return lags[col, months]

    def window_sum(col: str, start: int, end: int = 0) -> ir.IntegerValue:
        """Sum over the months ``end`` … ``start - 1`` before this one (0: this month)."""
        return back(col, end) - back(col, start)

    def count_positive(values: list[ir.IntegerValue]) -> ir.IntegerValue:
        ones = [ibis.ifelse(v > 0, 1, 0) for v in values]
        return sum(ones[1:], ones[0])

    rolled = cum.select(
        "account_id",
        "i",
        "last_purchase",
        has_lines=cum.n_lines > 0,
        rev_short=window_sum("amount", s_m),
        rev_long=window_sum("amount", l_m),
        rev_prev=window_sum("amount", 2 * s_m, s_m),
        cost_short=window_sum("cost", s_m),
        costed_short=window_sum("costed", s_m),
        days_short=window_sum("days", s_m),
        orders_short=cum.orders,
        lines_short=cum.lines,
        quarters=count_positive(
            [window_sum("bought", 3 * q + 3, 3 * q) for q in range(wnd.quarters)]
        ),
    )
    at = rolled.join(snaps.select("k", "as_of", "month"), rolled.i == snaps.month)
    firsts = per_month.group_by("account_id").aggregate(
        first_purchase=per_month.first_purchase.min()
    )
    out = at.filter(at.has_lines).left_join(firsts, "account_id")
    return out.select(
        "k",
        "account_id",
        "has_lines",
        *_ORDER_SUMS,
        "orders_short",
        "days_short",
        "lines_short",
        "quarters",
        first_purchase=ibis.ifelse(out.first_purchase <= out.as_of, out.first_purchase, None),
        last_purchase=out.last_purchase,
    )


def _next_month(keyed: ir.Table, key: str) -> ir.Table:
    """Distinct (account, key, month ``i``) rows with the key's next month (NULL: none)."""
    order = ibis.window(group_by=[keyed.account_id, keyed[key]], order_by=keyed.i)
    return keyed.select("account_id", "i", next_i=keyed.i.lead().over(order))


def _window_deltas(keyed: ir.Table, months: int, name: str, end_month: int) -> ir.Table:
    """+1 / -1 per (account, month ≤ ``end_month``) whose running sum counts the keys in the
    window of ``months`` months ending at each month (see :func:`_orders_monthly`)."""
    stop = keyed.i + months  # the month after the window's last month
    stop = ibis.ifelse(keyed.next_i.notnull() & (keyed.next_i < stop), keyed.next_i, stop)
    deltas = ibis.union(
        keyed.select("account_id", "i", delta=ibis.literal(1, "int64")),
        keyed.select("account_id", i=stop, delta=ibis.literal(-1, "int64")),
        distinct=False,
    )
    deltas = deltas.filter(deltas.i <= end_month)
    return deltas.group_by("account_id", "i").aggregate(**{name: deltas.delta.sum()})


def _latest_upto(reduced: ir.Table, column: str, snaps: ir.Table) -> ir.Table:
    """Per (k, account): the latest ``column`` value in months up to date k's month.

    ``reduced`` has one row per (account_id, month ``i``).  A running maximum over the
    months and the next month holding a row give each row the range of dates it answers
    for; a range join with the dates picks it (no ASOF join: Spark SQL has none).
    """
    order = ibis.window(group_by=reduced.account_id, order_by=reduced.i)
    running = ibis.window(group_by=reduced.account_id, order_by=reduced.i, rows=(None, 0))
    ranged = reduced.select(
        "account_id",
        "i",
        upto=reduced[column].max().over(running),
        next_i=reduced.i.lead().over(order),
    )
    sentinel = ibis.literal(2**40, "int64")
    j = ranged.join(
        snaps, [ranged.i <= snaps.month, ranged.next_i.coalesce(sentinel) > snaps.month]
    )
    return j.select(k=j.k, account_id=j.account_id, **{column: j.upto})


def _opportunities(opps: ir.Table, history: ir.Table | None, snaps: ir.Table) -> ir.Table:
    """Per (k, account): open pipeline, open deals, won and lost in the long window."""
    j = opps.join(snaps, opps.created_date <= snaps.as_of)
    reopened = (j.closed_date > j.as_of).coalesce(False)
    status = ibis.ifelse(reopened, "open", j.status)
    j = j.mutate(reopened=reopened, status_then=status)
    in_window = (j.closed_date > j.start_long) & (j.closed_date <= j.as_of)
    j = j.filter((j.status_then == "open") | (in_window & j.status_then.isin(["won", "lost"])))
    if history is not None:
        later = j.filter(j.reopened).select("k", "opportunity_id", "as_of")
        h = history.join(
            later,
            [
                history.opportunity_id == later.opportunity_id,
                history.entered_at.cast("date") <= later.as_of,
            ],
        )
        rank = ibis.row_number().over(
            group_by=[h.k, h.opportunity_id],
            order_by=[h.entered_at.desc(), h.amount.desc(nulls_first=False)],
        )
        h = h.mutate(rank=rank)
        h = h.filter(h.rank == 0).select("k", "opportunity_id", amount_then=h.amount)
        j = j.left_join(h, ["k", "opportunity_id"])
        amount = ibis.ifelse(j.reopened, j.amount_then.coalesce(j.amount), j.amount)
    else:
        amount = j.amount
    j = j.mutate(amount_then=amount)
    is_open = j.status_then == "open"
    decided = (j.closed_date > j.start_long) & (j.closed_date <= j.as_of)
    return j.group_by("k", "account_id").aggregate(
        open_pipeline=_cents(j.amount_then).sum(where=is_open),
        open_opportunities=j.count(where=is_open),
        won=j.count(where=decided & (j.status_then == "won")),
        lost=j.count(where=decided & (j.status_then == "lost")),
    )


def _tickets(tickets: ir.Table, snaps: ir.Table) -> ir.Table:
    """Per (k, account): tickets opened in the short window, escalations, SLA breaches.

    A ticket breaches when its first response or its resolution took longer than its SLA
    hours; a response / resolution not known by the end of the as-of date counts as still
    running at that moment (so an open ticket already past its SLA is breached).
    """
    t = tickets.mutate(opened_date=tickets.opened_at.cast("date"))
    j = t.join(snaps, [t.opened_date > snaps.start_short, t.opened_date <= snaps.as_of])
    opened = j.opened_at.truncate("s")

    def elapsed(at: ir.TimestampValue) -> ir.IntegerValue:
        known = (at.cast("date") <= j.as_of).coalesce(False)
        # midnight after the date, made in the engine from a date: the same wall-clock
        # moment as the table's own timestamps whatever the session's time zone
        until = ibis.ifelse(known, at, j.end_date.cast("timestamp")).truncate("s")
        return until.delta(opened, unit="second")

    def late(at: ir.TimestampValue, hours: ir.FloatingValue) -> ir.BooleanValue:
        return (hours.notnull() & (elapsed(at).cast("float64") > hours * 3600.0)).coalesce(False)

    breached = late(j.first_response_at, j.sla_response_hours) | late(
        j.resolved_at, j.sla_resolution_hours
    )
    with_sla = j.sla_response_hours.notnull() | j.sla_resolution_hours.notnull()
    return j.group_by("k", "account_id").aggregate(
        tickets=j.count(),
        escalations=j.count(where=j.escalated.coalesce(False)),
        breached=j.count(where=breached),
        with_sla=j.count(where=with_sla),
    )


def _contacts(contacts: ir.Table) -> ir.Table:
    """Per account (contacts carry no as-of date): known contacts, weighted support."""
    both = contacts.influence.notnull() & contacts.support.notnull()
    return contacts.group_by("account_id").aggregate(
        contacts=contacts.count(),
        support_weighted=(contacts.influence * contacts.support).sum(where=both),
        influence=contacts.influence.sum(where=both),
        economic=contacts.count(where=contacts.buying_role == "economic"),
    )


def _activities(activities: ir.Table, plan: _Plan, snaps: ir.Table, *, single: bool) -> ir.Table:
    """Per (k, account): the last activity date on or before date k."""
    a = activities.filter(activities.date <= _lit(plan.last))
    if single:
        out = a.group_by("account_id").aggregate(last_activity=a.date.max())
        return out.mutate(k=ibis.literal(0, "int64"))
    a = a.mutate(i=_month_number(a.date))
    reduced = a.group_by("account_id", "i").aggregate(last_activity=a.date.max())
    return _latest_upto(reduced, "last_activity", snaps)


# -- accounts and groups ---------------------------------------------------------------------
#: Dated records that show an account existed (table → its date column), for accounts
#: without a ``created_date``.
_FIRST_SEEN = FIRST_SEEN  # the same rule as KamData.as_of


def _first_seen(prepared: Mapping[str, ir.Table]) -> ir.Table:
    """Per account: the date of its first order line, opportunity, activity or ticket."""
    parts = [
        prepared[name].select(
            account_id=prepared[name].account_id, day=prepared[name][column].cast("date")
        )
        for name, column in _FIRST_SEEN.items()
        if name in prepared
    ]
    union = parts[0]
    for part in parts[1:]:
        union = union.union(part)
    union = union.filter(union.day.notnull())
    return union.group_by("account_id").aggregate(first_seen=union.day.min())


def _accounts_base(
    accounts: ir.Table, snaps: ir.Table, groups: ir.Table | None, first_seen: ir.Table
) -> ir.Table:
    """Per (k, account or group): the static features of the accounts existing at date k.

    An account exists at k from its ``created_date``; without one, from its first order
    line, opportunity, activity or ticket (:func:`_first_seen`) — an account with neither
    does not exist yet, so it is not scored as "no orders" before its first purchase.
    """
    seen = first_seen.rename(seen_id="account_id")
    accounts = accounts.left_join(seen, accounts.account_id == seen.seen_id).drop("seen_id")
    j = accounts.join(
        snaps,
        (accounts.created_date.notnull() & (accounts.created_date <= snaps.as_of))
        | (
            accounts.created_date.isnull()
            & accounts.first_seen.notnull()
            & (accounts.first_seen <= snaps.as_of)
        ),
    )
    if groups is None:
        return j.select("k", "as_of", "account_id", *STATIC_TEXT, *STATIC_NUMBERS, "category_spend")
    j = j.join(groups, j.account_id == groups.account_id)
    g = j.group_by("k", "as_of", "group_id").aggregate(
        employees=j.employees.sum(),
        annual_revenue=j.annual_revenue.sum(),
        category_spend=j.category_spend.sum(),
        group_accounts=j.count(),
    )
    top = accounts.select("account_id", *STATIC_TEXT, "registered_capital", "strategic_fit")
    out = g.join(top, g.group_id == top.account_id)
    return out.select(
        "k", "as_of", "account_id", *STATIC_TEXT, "employees", "annual_revenue",
        "registered_capital", "strategic_fit", "category_spend", "group_accounts",
    )  # fmt: skip


# -- the whole computation -------------------------------------------------------------------
def _feature_table(
    src: _Tables,
    plan: _Plan,
    *,
    rollup: bool,
    groups: pd.DataFrame | None,
    single: bool,
) -> ir.Table:
    """The Ibis expression of the features: one row per (k, account), ordered.

    ``single``: one date, the single-date shape; otherwise month ends, the month-grid shape
    of :func:`_orders_monthly`.
    """
    wnd = plan.windows
    snaps = plan.snapshots()
    prepared = {n: _prepare(t, n) for n, t in src.tables.items() if n in _COLUMNS}
    group_table = _frame_table(groups) if groups is not None else None

    def table(name: str) -> ir.Table | None:
        t = prepared.get(name)
        if t is None or name in ("accounts", "products", "stage_history"):
            return t
        return _regroup(t, group_table)

    orders, products = table("orders"), table("products")
    assert orders is not None
    if single:
        order_p = _orders_single(orders, products, plan.cuts[0])
    else:
        order_p = _orders_monthly(orders, products, plan, snaps)

    base = _accounts_base(prepared["accounts"], snaps, group_table, _first_seen(prepared))
    t = base.left_join(order_p, ["k", "account_id"])
    parts: dict[str, ir.Table] = {}
    if (opps := table("opportunities")) is not None:
        parts["opportunities"] = _opportunities(opps, table("stage_history"), snaps)
    if (tickets := table("service_tickets")) is not None:
        parts["service_tickets"] = _tickets(tickets, snaps)
    if (acts := table("activities")) is not None:
        parts["activities"] = _activities(acts, plan, snaps, single=single)
    for part in parts.values():
        t = t.left_join(part, ["k", "account_id"])
    if (contacts := table("contacts")) is not None:
        t = t.left_join(_contacts(contacts), "account_id")

    finished = _finish(t, wnd, present=set(prepared), rollup=rollup, lines_known=_lines_known(src))
    return finished.order_by("k", "account_id")


def _lines_known(src: _Tables) -> bool:
    """Whether the source tells product lines at all: a products table, or a
    ``product_line`` column on the order lines (one empty throughout is dropped on the
    way in for frames)."""
    return src.has("products") or "product_line" in src.tables["orders"].columns


def _finish(
    t: ir.Table, wnd: FeatureWindows, *, present: set[str], rollup: bool, lines_known: bool
) -> ir.Table:
    """Turn the primitives into the features (guards, NULL rules, float64).

    ``product_lines``: missing for every account when the source has no product lines at
    all (``lines_known`` false), and for an account whose purchases of the window all lack
    a product line (0 would claim it bought none); 0 for an account without purchases in
    the window.
    """
    s, lo, q = wnd.short, wnd.long, float(wnd.quarters)
    has = t.has_lines.coalesce(False)

    def ordered(value: ir.NumericValue) -> ir.FloatingValue:
        """An order feature: 0 when nothing fell in its window, NULL without any order line."""
        return ibis.ifelse(has, value.coalesce(0).cast("float64"), _NULL)

    rev_s, rev_prev = ordered(_money(t.rev_short)), ordered(_money(t.rev_prev))
    costed_cents = t.costed_short.coalesce(0)
    spend = t.category_spend
    out: dict[str, ir.Value] = {
        "k": t.k,
        "account_id": t.account_id,
        "industry": t.industry,
        "region": t.region,
        "employees": t.employees,
        "annual_revenue": t.annual_revenue,
        "registered_capital": t.registered_capital,
        "strategic_fit": t.strategic_fit,
        "ownership": t.ownership,
        "category_spend": spend,
        f"revenue_{s}": rev_s,
        f"revenue_{lo}": ordered(_money(t.rev_long)),
        f"revenue_prev_{s}": rev_prev,
        f"growth_{s}": _ratio(rev_s, rev_prev, has & (t.rev_prev.coalesce(0) > 0)) - 1.0,
        f"gross_margin_{s}": 1.0
        - _ratio(t.cost_short.coalesce(0), costed_cents, has & (costed_cents > 0)),
        f"orders_{s}": ordered(t.orders_short),
        f"order_days_{s}": ordered(t.days_short),
        "recency_days": t.as_of.delta(t.last_purchase, unit="day").cast("float64"),
        "tenure_days": t.as_of.delta(t.first_purchase, unit="day").cast("float64"),
        "active_quarter_share": ordered(t.quarters) / q,
        f"product_lines_{s}": (
            ibis.ifelse(
                (t.orders_short.coalesce(0) > 0) & (t.lines_short.coalesce(0) == 0),
                _NULL,
                ordered(t.lines_short),
            )
            if lines_known
            else _NULL
        ),
        "share_of_wallet": _ratio(rev_s, spend, has & (_cents(spend) > 0)),
    }
    if "opportunities" in present:
        decided = t.won.coalesce(0) + t.lost.coalesce(0)
        out["open_pipeline"] = _money(t.open_pipeline.coalesce(0))
        out["open_opportunities"] = t.open_opportunities.coalesce(0).cast("float64")
        out[f"win_rate_{lo}"] = _ratio(t.won.coalesce(0), decided, decided > 0)
    else:
        out |= {"open_pipeline": _NULL, "open_opportunities": _NULL, f"win_rate_{lo}": _NULL}
    if "service_tickets" in present:
        n = t.tickets.coalesce(0)
        out[f"sla_breach_rate_{s}"] = _ratio(
            t.breached.coalesce(0), t.with_sla, t.with_sla.coalesce(0) > 0
        )
        out[f"escalations_{s}"] = ibis.ifelse(n > 0, t.escalations.cast("float64"), _NULL)
        out[f"tickets_{s}"] = n.cast("float64")
    else:
        out |= {f"sla_breach_rate_{s}": _NULL, f"escalations_{s}": _NULL, f"tickets_{s}": _NULL}
    if "contacts" in present:
        out["contacts_known"] = t.contacts.coalesce(0).cast("float64")
        out["decision_maker_support"] = _ratio(
            t.support_weighted, t.influence, t.influence.coalesce(0) > 0
        )
        out["economic_buyer_known"] = ibis.ifelse(t.economic.coalesce(0) > 0, 1.0, 0.0)
    else:
        out |= {"contacts_known": _NULL, "decision_maker_support": _NULL,
                "economic_buyer_known": _NULL}  # fmt: skip
    if "activities" in present:
        out["days_since_last_activity"] = t.as_of.delta(t.last_activity, unit="day").cast("float64")
    else:
        out["days_since_last_activity"] = _NULL
    out["first_order_date"] = t.first_purchase
    out["last_order_date"] = t.last_purchase
    if rollup:
        out["group_accounts"] = t.group_accounts.cast("float64")
    return t.select(**out)


def _run(
    source: Source,
    dates: list[dt.date],
    *,
    rollup: bool,
    windows: FeatureWindows,
    history: bool,
    tables: Mapping[str, TableLocation] | None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Compute the features for ``dates``: one query for all month ends of a history, one
    query per other date."""
    if not isinstance(windows, FeatureWindows):
        raise ConfigError(
            "The 'windows' parameter must be a kamlib.features.FeatureWindows. Got "
            f"{type(windows).__name__} instead."
        )
    monthly = [d for d in dates if history and _is_month_end(d)]
    if tables is not None and not isinstance(tables, Mapping):
        raise ConfigError(
            "The 'tables' parameter must be a mapping of canonical table name → table name, "
            f"Parquet path or DataFrame, e.g. {{'orders': 'sales.order_lines'}}. Got "
            f"{type(tables).__name__} instead."
        )
    with _open(source, tables) as src:
        if src.cut is not None and max(dates) > src.cut.date():
            raise DataValidationError(
                f"The data is already cut at {src.cut.date()} (KamData.as_of); features as of "
                f"{max(dates)} would miss what happened in between. Pass the uncut data, or an "
                f"as_of date on or before {src.cut.date()}."
            )
        for name in ("accounts", "orders"):
            if not src.has(name):
                raise MissingTableError(name, "Account features")
        groups = None
        if rollup:
            accounts = _prepare(src.tables["accounts"], "accounts")
            links = _fetch(src.backend, accounts.select("account_id", "parent_account_id"))
            links = links.to_pandas()
            groups = _group_map(links)
        plans = [_Plan(tuple(_Cut.build(d, windows) for d in monthly), windows)] if monthly else []
        plans += [_Plan((_Cut.build(d, windows),), windows) for d in dates if d not in monthly]
        frames = []
        for n, plan in enumerate(plans):
            single = not (monthly and n == 0)
            expr = _feature_table(src, plan, rollup=rollup, groups=groups, single=single)
            result = _fetch(src.backend, expr)
            frames.append(_to_pandas(result, plan, windows, rollup=rollup))
        present = {"tables": set(src.tables), "product_lines_known": _lines_known(src)}
    if len(frames) == 1:  # ordered by the engine
        return frames[0], present
    frame = pd.concat(frames, ignore_index=True)
    return frame.sort_values(["as_of", "account_id"], kind="stable", ignore_index=True), present


def _fetch(backend: BaseBackend, expr: ir.Table) -> pa.Table:
    """The result as Arrow.

    On Spark (pyspark ≥ 4.0) kamlib's small in-memory tables go in through Arrow and the
    result comes out through ``DataFrame.toArrow``: Ibis's own route sends them through
    pandas rows (Python worker processes, seconds each) and reads the result through
    ``toPandas`` (which warns under pandas 3 with Arrow on).  The result holds no
    timestamps, so no time zone conversion is skipped.
    """
    session = getattr(backend, "_session", None) if backend.name == "pyspark" else None
    if session is None or not hasattr(session, "createDataFrame"):
        return backend.to_pyarrow(expr)
    views = []
    try:
        for op in expr.op().find(ops.InMemoryTable):
            data = op.data.to_pyarrow(op.schema)
            session.createDataFrame(data).createOrReplaceTempView(op.name)
            views.append(op.name)
        return backend.raw_sql(backend.compile(expr)).toArrow()
    finally:
        for view in views:
            session.catalog.dropTempView(view)


def _to_pandas(
    result: pa.Table, plan: _Plan, windows: FeatureWindows, *, rollup: bool
) -> pd.DataFrame:
    frame = result.to_pandas(date_as_object=False)
    columns = windows.columns() + (["group_accounts"] if rollup else [])
    out = pd.DataFrame(index=frame.index)
    for col in columns:
        value = frame[col]
        if col in STATIC_TEXT:
            out[col] = value.astype("str")
        elif col in DATE_FEATURES:
            out[col] = pd.to_datetime(value).astype("datetime64[ns]")
        else:
            out[col] = pd.to_numeric(value).astype("float64")
    out.insert(0, "account_id", frame["account_id"].astype("str"))
    as_of = pd.to_datetime(pd.Series([c.as_of for c in plan.cuts])).astype("datetime64[ns]")
    out.insert(0, "as_of", as_of.to_numpy()[frame["k"].to_numpy()])
    return out


# -- public API ----------------------------------------------------------------------------------
def account_features(
    source: Source,
    *,
    as_of: str | dt.date | pd.Timestamp,
    tables: Mapping[str, TableLocation] | None = None,
    rollup: bool = False,
    windows: FeatureWindows = FeatureWindows(),
) -> pd.DataFrame:
    """Point-in-time features of every account (or group) as of a date.

    Parameters
    ----------
    source
        Where the canonical tables are: a :class:`~kamlib.data.KamData`; the path of a
        kamlib store (opened read-only; its views ``orders``, ``accounts`` … show the newest
        snapshot); a ``pyspark.sql.SparkSession`` (classic or Spark Connect; needs
        ``kamlib[spark]``); an Ibis backend connection (DuckDB, PySpark, …); or a mapping of
        table name → pandas DataFrame / Ibis table / Spark DataFrame.  With a session or a
        backend, the canonical tables are the engine's tables of those names unless
        ``tables`` says otherwise.  ``accounts`` and ``orders`` are required; every other
        table is optional and its features are missing (NaN) without it.
    tables
        Only with an engine as ``source`` (a SparkSession, an Ibis backend, a store path):
        where each canonical table is, e.g. ``{"orders": "lake.sales.order_lines",
        "accounts": accounts_df}``.  A value is a table name as the engine knows it
        (``"db.table"`` allowed); a Parquet file or folder (a ``Path``, or a string with a
        ``/`` or ending in ``.parquet``; read by the engine); or a Spark DataFrame, Ibis
        table or pandas DataFrame (sent to the engine).  Tables not named are looked up
        by their canonical name.  The columns must be the canonical ones (map them in the
        engine first, e.g. ``spark.table(...).withColumnRenamed(...)``).
    as_of
        The date: only data dated on or before it is used (see the module docstring).
    rollup
        Roll subsidiaries up into their top parent (``parent_account_id``, any depth): one
        row per group, named by its top account, behaviour recomputed over all the group's
        accounts (distinct counts are distinct over the group), ``employees``,
        ``annual_revenue`` and ``category_spend`` summed over the group's accounts existing at
        the date, the other static features the top account's own; an extra column
        ``group_accounts`` counts those accounts.  Accounts without parent or children form
        a group of one.
    windows
        Window lengths (:class:`FeatureWindows`); the defaults give the column names below.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``account_id`` (sorted), one row per account existing at the date (created
        on or before it, or undated) — also accounts without any order.  Columns:
        ``industry, region`` (str), ``employees, annual_revenue, registered_capital,
        strategic_fit`` (float64), ``ownership`` (str), ``category_spend``, ``revenue_12m,
        revenue_24m, revenue_prev_12m, growth_12m, gross_margin_12m, orders_12m,
        order_days_12m, recency_days, tenure_days, active_quarter_share, product_lines_12m,
        share_of_wallet, open_pipeline, open_opportunities, win_rate_24m,
        sla_breach_rate_12m, escalations_12m, tickets_12m, contacts_known,
        decision_maker_support, economic_buyer_known, days_since_last_activity`` (float64),
        ``first_order_date, last_order_date`` (datetime64).  Definitions and missing-value
        rules: :func:`feature_catalogue`; reasons per account: :func:`missing_reasons`.

    Examples
    --------
    >>> from kamlib.data import load
    >>> data = load("data/demo.duckdb")  # doctest: +SKIP
    >>> f = account_features(data, as_of="2026-09-30")  # doctest: +SKIP
    >>> f.loc[f["revenue_12m"].nlargest(5).index, ["revenue_12m", "share_of_wallet"]]  # doctest: +SKIP
    """
    day = _as_date(as_of)
    frame, present = _run(
        source, [day], rollup=rollup, windows=windows, history=False, tables=tables
    )
    out = frame.drop(columns="as_of").set_index("account_id")
    out.attrs[ATTRS_KEY] = _attrs(present, [day], windows, rollup)
    return out


def account_features_history(
    source: Source,
    *,
    as_of_dates: Iterable[str | dt.date | pd.Timestamp],
    tables: Mapping[str, TableLocation] | None = None,
    rollup: bool = False,
    windows: FeatureWindows = FeatureWindows(),
) -> pd.DataFrame:
    """Features as of many dates: score history, tier migration, back-tests.

    Same parameters and columns as :func:`account_features`; the result is indexed by
    ``(as_of, account_id)`` (sorted), and each date's rows equal ``account_features(source,
    as_of=date)`` exactly.  The month-end dates are computed together, in one pass over the
    order lines (on the large demo, 24 month ends cost a few times one date, not 24 times);
    a date that is not the last day of its month is computed on its own.

    Examples
    --------
    >>> import pandas as pd
    >>> month_ends = pd.date_range("2024-10-31", "2026-09-30", freq="ME")
    >>> history = account_features_history("data/demo.duckdb", as_of_dates=month_ends)  # doctest: +SKIP
    >>> history.loc["2026-09-30"].shape  # doctest: +SKIP
    """
    if isinstance(as_of_dates, str | dt.date | pd.Timestamp):
        raise ConfigError(
            "The 'as_of_dates' parameter of account_features_history must be a list of dates. "
            f"Got the single date {as_of_dates!r}; wrap it in a list or use account_features."
        )
    days = sorted({_as_date(d, "as_of_dates") for d in as_of_dates})
    if not days:
        raise ConfigError(
            "The 'as_of_dates' parameter of account_features_history is empty; give at least "
            "one date."
        )
    frame, present = _run(source, days, rollup=rollup, windows=windows, history=True, tables=tables)
    out = frame.set_index(["as_of", "account_id"])
    out.attrs[ATTRS_KEY] = _attrs(present, days, windows, rollup)
    return out


def _attrs(
    present: dict[str, Any], days: list[dt.date], windows: FeatureWindows, rollup: bool
) -> dict[str, Any]:
    return {
        "tables": sorted(present["tables"]),
        "product_lines_known": present["product_lines_known"],
        "as_of": [d.isoformat() for d in days],
        "windows": (windows.trailing_months, windows.long_months, windows.quarters),
        "rollup": rollup,
    }


# -- the catalogue -------------------------------------------------------------------------------
# name, kind, unit, higher_is_better, English, Chinese, missing when
_CATALOGUE: tuple[tuple[str, str, str | None, bool | None, str, str, str], ...] = (
    ("industry", "static", None, None, "Industry of the account.", "所属行业",
     "not recorded in accounts"),
    ("region", "static", None, None, "Sales region of the account.", "所属区域",
     "not recorded in accounts"),
    ("employees", "static", "people", True, "Number of employees.", "员工人数",
     "not recorded in accounts"),
    ("annual_revenue", "static", "currency", True,
     "The customer's own annual revenue (company size, not our sales).", "客户年营业额（企业规模）",
     "not recorded in accounts"),
    ("registered_capital", "static", "currency", True, "Registered capital.", "注册资本",
     "not recorded in accounts"),
    ("strategic_fit", "static", "1-5", True, "Strategic fit with our offer, 1 (low) to 5 (high).",
     "战略匹配度（1–5）", "not recorded in accounts"),
    ("ownership", "static", None, None, "Ownership (state / private / foreign / jv / listed …).",
     "企业性质", "not recorded in accounts"),
    ("category_spend", "static", "currency", True,
     "Estimated yearly spend of the customer on our product category (the wallet).",
     "客户品类年采购总额（钱包）", "not recorded in accounts"),
    ("revenue_{s}", "dynamic", "currency", True,
     "Net revenue (returns deducted) in the last {sm} months.", "近{sm}个月净销售额",
     "no order line on or before the as-of date"),
    ("revenue_{l}", "dynamic", "currency", True,
     "Net revenue in the last {lm} months.", "近{lm}个月净销售额",
     "no order line on or before the as-of date"),
    ("revenue_prev_{s}", "dynamic", "currency", True,
     "Net revenue in the {sm} months before the last {sm} (months {sm1}–{sm2}).",
     "上一个{sm}个月周期（第{sm1}–{sm2}个月）的净销售额",
     "no order line on or before the as-of date"),
    ("growth_{s}", "dynamic", "share", True,
     "Revenue growth: revenue_{s} / revenue_prev_{s} − 1.", "销售额同比增长率",
     "no order line, or revenue_prev_{s} ≤ 0 (at cent precision)"),
    ("gross_margin_{s}", "dynamic", "share", True,
     "Gross margin 1 − cost / revenue over the last {sm} months' lines with a known cost.",
     "近{sm}个月毛利率（有成本的订单行）",
     "no order line, or no line with a known cost, or their revenue ≤ 0"),
    ("orders_{s}", "dynamic", "count", True,
     "Distinct orders with a purchase (positive line) in the last {sm} months.",
     "近{sm}个月订单数", "no order line on or before the as-of date"),
    ("order_days_{s}", "dynamic", "days", True,
     "Distinct days with a purchase in the last {sm} months (order frequency).",
     "近{sm}个月下单天数（购买频次）", "no order line on or before the as-of date"),
    ("recency_days", "dynamic", "days", False,
     "Days from the last purchase to the as-of date.", "距最近一次购买的天数",
     "no purchase (positive order line) on or before the as-of date"),
    ("tenure_days", "dynamic", "days", True,
     "Days from the first purchase to the as-of date (purchase duration).",
     "首次购买至今天数（购买持续期）",
     "no purchase (positive order line) on or before the as-of date"),
    ("active_quarter_share", "dynamic", "share", True,
     "Share of the last {q} quarters (3-month periods ending on the as-of date) with a "
     "purchase: steadiness of buying.", "近{q}个季度中有购买的季度占比（购买稳定性）",
     "no order line on or before the as-of date"),
    ("product_lines_{s}", "dynamic", "count", True,
     "Distinct product lines purchased in the last {sm} months (breadth).",
     "近{sm}个月购买的产品线数（广度）", "no order line on or before the as-of date"),
    ("share_of_wallet", "dynamic", "share", True,
     "revenue_{s} / category_spend: our share of the customer's category purchases.",
     "钱包份额（我方销售额 ÷ 客户品类采购总额）",
     "no order line, or category_spend unknown or 0"),
    ("open_pipeline", "dynamic", "currency", True,
     "Sum of the amounts of opportunities open at the as-of date.", "在途商机金额",
     "no opportunities table"),
    ("open_opportunities", "dynamic", "count", True,
     "Opportunities open at the as-of date.", "在途商机数", "no opportunities table"),
    ("win_rate_{l}", "dynamic", "share", True,
     "Won / (won + lost) of opportunities closed in the last {lm} months.",
     "近{lm}个月赢单率", "no opportunities table, or none won or lost in the window"),
    ("sla_breach_rate_{s}", "dynamic", "share", False,
     "Share of tickets opened in the last {sm} months (with SLA hours) whose first response "
     "or resolution took longer than the SLA; still-open tickets past it count as breached.",
     "近{sm}个月服务工单超时率", "no service_tickets table, or no ticket with SLA hours in "
     "the window"),
    ("escalations_{s}", "dynamic", "count", False,
     "Escalated tickets opened in the last {sm} months.", "近{sm}个月升级工单数",
     "no service_tickets table, or no ticket in the window"),
    ("tickets_{s}", "dynamic", "count", None,
     "Service tickets opened in the last {sm} months.", "近{sm}个月服务工单数",
     "no service_tickets table"),
    ("contacts_known", "dynamic", "count", True, "Contacts on record for the account.",
     "已建档联系人数", "no contacts table"),
    ("decision_maker_support", "dynamic", "-2..2", True,
     "Influence-weighted mean support of the contacts (−2 opponent … +2 champion).",
     "按影响力加权的决策人平均支持度", "no contacts table, or no contact with influence and "
     "support recorded"),
    ("economic_buyer_known", "dynamic", "0/1", True,
     "1 when a contact with the economic buying role is on record, else 0.",
     "是否已掌握经济决策人（1/0）", "no contacts table"),
    ("days_since_last_activity", "dynamic", "days", False,
     "Days from the last activity (visit, call, meeting …) to the as-of date.",
     "距最近一次客户活动的天数", "no activities table, or no activity on or before the date"),
    ("first_order_date", "dynamic", "date", None, "Date of the first purchase.",
     "首次购买日期", "no purchase (positive order line) on or before the as-of date"),
    ("last_order_date", "dynamic", "date", None, "Date of the last purchase.",
     "最近一次购买日期", "no purchase (positive order line) on or before the as-of date"),
)  # fmt: skip


def feature_catalogue(windows: FeatureWindows = FeatureWindows()) -> pd.DataFrame:
    """What each feature means, for reports and the scoring module.

    Returns
    -------
    pandas.DataFrame
        One row per feature column of :func:`account_features`, in its column order:
        ``name``, ``kind`` (``static`` firmographics / ``dynamic`` behaviour), ``unit``
        (``currency``, ``count``, ``days``, ``share`` 0–1, …; None for text),
        ``description_en``, ``description_zh``, ``higher_is_better`` (True / False, None when
        the direction is not a matter of better or worse) and ``missing_when``.
    """
    s, lo = windows.trailing_months, windows.long_months
    fill = {
        "s": f"{s}m", "l": f"{lo}m", "sm": s, "lm": lo, "sm1": s + 1, "sm2": 2 * s,
        "q": windows.quarters,
    }  # fmt: skip
    rows = [
        {
            "name": name.format(**fill),
            "kind": kind,
            "unit": unit,
            "description_en": en.format(**fill),
            "description_zh": zh.format(**fill),
            "higher_is_better": better,
            "missing_when": missing.format(**fill),
        }
        for name, kind, unit, better, en, zh, missing in _CATALOGUE
    ]
    return pd.DataFrame(rows).astype({"higher_is_better": object})


# -- reasons -------------------------------------------------------------------------------------
def missing_reasons(features: pd.DataFrame) -> pd.DataFrame:
    """Why each missing value of a features frame is missing.

    Parameters
    ----------
    features
        A frame returned by :func:`account_features` or :func:`account_features_history`
        (its ``attrs`` tell which tables the source had and the windows; a frame that lost
        its ``attrs`` is read as from a source with every table and 8 quarters).

    Returns
    -------
    pandas.DataFrame
        One row per missing value: the index columns of ``features`` (``account_id``, and
        ``as_of`` for a history), ``feature`` and ``reason``.
    """
    meta = features.attrs.get(ATTRS_KEY, {})
    s_m, l_m, q = meta["windows"] if "windows" in meta else _windows_from_columns(features)
    windows = FeatureWindows(s_m, l_m, q)
    tables = set(meta.get("tables", SOURCE_TABLES))
    s, lo = windows.short, windows.long
    frame = features.reset_index()
    keys = [c for c in ("as_of", "account_id") if c in frame.columns]
    no_lines = frame[f"revenue_{lo}"].isna()
    no_orders = "no order line on or before the as-of date"

    def table_missing(name: str, otherwise: str) -> str | None:
        return f"no {name} table" if name not in tables else otherwise

    rules: dict[str, Callable[[], np.ndarray | str]] = {
        f"growth_{s}": lambda: np.where(
            no_lines, no_orders, f"no positive revenue in months {s_m + 1}–{2 * s_m}"
        ),
        f"gross_margin_{s}": lambda: np.where(
            no_lines, no_orders, f"no positive revenue with a known cost in the last {s_m} months"
        ),
        "share_of_wallet": lambda: np.where(no_lines, no_orders, "category_spend unknown or 0"),
        f"win_rate_{lo}": lambda: table_missing(
            "opportunities", f"no opportunity won or lost in the last {l_m} months"
        ),
        f"sla_breach_rate_{s}": lambda: table_missing(
            "service_tickets", f"no ticket with SLA hours opened in the last {s_m} months"
        ),
        f"escalations_{s}": lambda: table_missing(
            "service_tickets", f"no ticket opened in the last {s_m} months"
        ),
        "decision_maker_support": lambda: table_missing(
            "contacts", "no contact with influence and support recorded"
        ),
        "days_since_last_activity": lambda: table_missing(
            "activities", "no activity on or before the as-of date"
        ),
    }
    for name in ("open_pipeline", "open_opportunities"):
        rules[name] = lambda: "no opportunities table"
    rules[f"tickets_{s}"] = lambda: "no service_tickets table"
    for name in ("contacts_known", "economic_buyer_known"):
        rules[name] = lambda: "no contacts table"
    for name in ("recency_days", "tenure_days", *DATE_FEATURES):
        rules[name] = lambda: np.where(
            no_lines, no_orders, "no purchase (positive order line) on or before the as-of date"
        )
    for name in (f"revenue_{s}", f"revenue_{lo}", f"revenue_prev_{s}", f"orders_{s}",
                 f"order_days_{s}", "active_quarter_share"):  # fmt: skip
        rules[name] = lambda: no_orders
    rules[f"product_lines_{s}"] = lambda: np.where(
        no_lines,
        no_orders,
        f"no purchase of the last {s_m} months has a known product line"
        if meta.get("product_lines_known", True)
        else "no product line known: the order lines carry none and there is no products table",
    )

    pieces = []
    for name in windows.columns():
        if name not in frame.columns:
            continue
        missing = frame[name].isna().to_numpy()
        if not missing.any():
            continue
        rule = rules.get(name)
        reason = rule() if rule else "not recorded in accounts"
        reasons = np.broadcast_to(np.asarray(reason, dtype=object), missing.shape)[missing]
        piece = frame.loc[missing, keys].copy()
        piece["feature"] = name
        piece["reason"] = reasons
        pieces.append(piece)
    if not pieces:
        return pd.DataFrame(columns=[*keys, "feature", "reason"])
    out = pd.concat(pieces, ignore_index=True)
    return out.astype({"feature": "str", "reason": "str"})


def _windows_from_columns(features: pd.DataFrame) -> tuple[int, int, int]:
    rev = sorted(
        int(c.removeprefix("revenue_").removesuffix("m"))
        for c in features.columns
        if c.startswith("revenue_") and not c.startswith("revenue_prev_")
    )
    if len(rev) != 2:
        raise DataValidationError(
            "missing_reasons needs a frame from account_features: its revenue_<n>m columns "
            f"were not found (columns: {', '.join(map(str, features.columns[:8]))} …)."
        )
    return rev[0], rev[1], 8
