"""Where the features run: opening a source (KamData, store, Ibis backend, Spark) as Ibis tables,
the Spark backend, the report's engine options, and fetching results as Arrow.

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
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
from ibis.backends import BaseBackend
from ibis.common.exceptions import IbisError, TableNotFound

from kamlib.data.kamdata import KamData
from kamlib.data.purchases import WON_DEALS, revenue_source
from kamlib.data.schemas import TABLES
from kamlib.data.store import describe_io_error, effective_batches, load
from kamlib.errors import ConfigError, DataValidationError, StoreError
from kamlib.features.catalogue import SOURCE_TABLES

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
        except (duckdb.Error, OSError) as exc:  # locked, not DuckDB, unreadable: re-raised
            raise StoreError(describe_io_error(path, exc)) from exc
        try:
            # the store's bookkeeping read on the same connection (one open per call)
            stored = effective_batches(backend.con)
            won_deals = not locations and (
                revenue_source([t for t in TABLES if t in stored]) == WON_DEALS
            )
            if not won_deals:
                backend.raw_sql("SET enable_progress_bar = false")
                with _engine_tables(backend, locations, None) as tables:
                    yield _Tables(tables, backend)
        finally:
            backend.disconnect()
        if won_deals:  # no order lines: won deals stand in for purchases, as in KamData
            with _open(load(path)) as tables:
                yield tables
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
                with suppress(duckdb.Error, IbisError):
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
            except _engine_errors() as exc:
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


def _engine_errors() -> tuple[type[BaseException], ...]:
    """What an engine raises on a location it cannot read (re-raised as a DataValidationError):
    DuckDB's and Ibis's errors, the file system's, and Spark's when pyspark is installed."""
    errors: list[type[BaseException]] = [duckdb.Error, IbisError, OSError]
    try:
        from pyspark.errors import PySparkException
    except ImportError:  # pyspark is optional: no Spark engine, no Spark errors
        pass
    else:
        errors.append(PySparkException)
    return tuple(errors)


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


#: canonical tables the features do not read (accepted in a mapping, left alone)
_OTHER_TABLES = frozenset(TABLES) - frozenset(SOURCE_TABLES)

#: Columns the features read as dates (a time of day in them is dropped in Python).
_DATE_COLUMNS = {
    "accounts": ("created_date",),
    "orders": ("order_date",),
    "opportunities": ("created_date", "closed_date"),
    "activities": ("date",),
    "firmographics": ("established",),
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
    except IbisError:  # an unbound table (memtable): any backend runs it
        return None


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
