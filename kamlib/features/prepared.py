"""Prepared feature queries: the one-date feature SQL built and compiled once per source shape,
the dates as parameters.

Why
---
On the large demo, DuckDB runs the one-date feature query about as fast as a hand-written
one, but building the Ibis expression (≈ 0.3 s) and compiling it to SQL (≈ 0.6 s) cost
about 0.9 s more on every call, and a report batch, a back-test or a history of other dates
calls it again for every date.  Only the dates change between those calls.

How
---
- The *shape* of a call: the engine (DuckDB; another engine compiles per call), the
  windows, ``rollup``, and each canonical table: a database table by its name, namespace
  and schema, a frame (an in-memory table) by its schema.  Anything else (an Ibis
  expression as a table) is not cached.
- The first call of a shape builds the expression for *placeholder* bounds — one date per
  window bound, in the years 1100–1165 that no real bound uses — and compiles it once.  The
  SQL is kept with the in-memory tables it reads, by role: a canonical table given as a
  frame, the plan's dates (:meth:`~kamlib.features.windows._Plan.snapshots`), the groups
  of ``rollup``.
- Every call (the first too) writes its own bounds in place of the placeholders (one pass
  over the SQL text, each placeholder date literal → the call's date literal), registers
  its frames, dates and groups under fresh names the SQL then reads, runs the SQL on the
  call's DuckDB connection, unregisters them, and types the result to the expression's
  schema as Ibis does.  The SQL is the one Ibis compiles for the call's dates (the tests
  compare the text, and the values on pandas references and DuckDB).

The month-end history (:mod:`~kamlib.features.history`: the order lines reduced to (account,
month) by the engine and rolled by numpy; :mod:`~kamlib.features.history_events`: the
opportunities, tickets and activities read off per date by numpy; the rest one query over
all dates) is prepared the same way: its dates and those per-date primitives are in-memory
tables (role ``history``, by table name), it has no date literal; a shape is cached per kind
(one date / history).  So are the engine's queries those primitives come from
(:func:`~kamlib.features.history_events.history_queries`: the order reduction, the deals,
tickets and activities): compiled together once per shape, the mask count and whether the
engine has ``BIT_OR`` — for placeholder :class:`~kamlib.features.history.ReductionBounds`
(four dates in the years 1100–1103, written over per call as the one date's bounds are);
≈ 0.1 s a call on the large demo.

Public API
----------
- :func:`cache_info` — hits, compilations and cached shapes so far.
- :func:`clear_cache` — forget the compiled shapes.
- :func:`fresh_compilation` — a context in which every call builds and compiles afresh
  (the reference path; benchmarks and tests compare against it).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import duckdb
import ibis.expr.operations as ops
import ibis.expr.schema as sch
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
from ibis.backends.duckdb.converter import DuckDBPyArrowData

from kamlib.features.definitions import _feature_table, sorted_history
from kamlib.features.engines import _fetch, _frame_table, _Tables
from kamlib.features.history import ReductionBounds, reduction_bounds
from kamlib.features.history_events import (
    RunPart,
    empty_history_parts,
    has_bit_or,
    history_parts,
    history_queries,
)
from kamlib.features.windows import FeatureWindows, _Cut, _Plan

__all__ = ["PreparedCacheInfo", "cache_info", "clear_cache", "fresh_compilation"]

#: How many shapes are kept (least recently used dropped first).
MAX_SHAPES = 32

#: The first placeholder year; bound j of a cut gets 1 January of year ``_PLACEHOLDER_YEAR + j``.
_PLACEHOLDER_YEAR = 1100


@dataclass(frozen=True)
class PreparedCacheInfo:
    """What the prepared-query cache did so far (see :func:`cache_info`).

    Attributes
    ----------
    hits
        Calls that reused a compiled query.
    compilations
        Feature expressions built and compiled to SQL by this module (one per new shape).
    shapes
        Compiled shapes held now.
    """

    hits: int
    compilations: int
    shapes: int


@dataclass(frozen=True)
class _Template:
    """One compiled shape: the SQL with placeholders and what they stand for."""

    sql: str
    pattern: re.Pattern[str]  # matches every placeholder (dates and in-memory table names)
    dates: dict[str, int]  # placeholder date literal → index of the bound in _bounds(...)
    reads: dict[str, tuple[str, ...]]  # in-memory table name in the SQL → its role
    schema: sch.Schema
    single: bool  # one date (else the month-end history)


_lock = threading.Lock()
#: compiled shapes: the features' query, or a history's engine rows (by part and query name)
_templates: OrderedDict[tuple[object, ...], _Template | dict[str, dict[str, _Template]]] = (
    OrderedDict()
)
_stats = {"hits": 0, "compilations": 0}
_fresh: ContextVar[bool] = ContextVar("kamlib_features_fresh_compilation", default=False)


def cache_info() -> PreparedCacheInfo:
    """Hits, compilations and shapes held by the prepared feature queries of this process."""
    with _lock:
        return PreparedCacheInfo(_stats["hits"], _stats["compilations"], len(_templates))


def clear_cache() -> None:
    """Forget every compiled shape and reset the counts."""
    with _lock:
        _templates.clear()
        _stats.update(hits=0, compilations=0)


@contextmanager
def fresh_compilation() -> Iterator[None]:
    """Within the block, every feature call builds and compiles its expression afresh.

    Examples
    --------
    >>> with fresh_compilation():
    ...     f = account_features("data/demo.duckdb", as_of="2026-09-30")  # doctest: +SKIP
    """
    token = _fresh.set(True)
    try:
        yield
    finally:
        _fresh.reset(token)


# -- running one plan ----------------------------------------------------------------------------
def feature_result(
    src: _Tables,
    plan: _Plan,
    *,
    rollup: bool,
    groups: pd.DataFrame | None,
    single: bool,
) -> pa.Table:
    """The features of ``plan`` as Arrow, by date and account: from the shape's compiled SQL
    when it can be prepared (DuckDB, tables by name or frames), else built and run afresh."""
    result = _result(src, plan, rollup=rollup, groups=groups, single=single)
    return result if single else sorted_history(result)


def _result(
    src: _Tables, plan: _Plan, *, rollup: bool, groups: pd.DataFrame | None, single: bool
) -> pa.Table:
    key = None if _fresh.get() else _shape(src, plan.windows, rollup)
    if single:
        parts = {}
    else:
        run = None if key is None else _rows_runner(src, plan, groups, key)
        parts = history_parts(src, plan, groups, run)
    if key is None:
        expr = _feature_table(
            src, plan, rollup=rollup, groups=groups, single=single, history=parts
        )
        return _fetch(src.backend, expr)
    template = _cached(
        (*key, single),
        lambda: _compile(
            src, plan.windows, rollup=rollup, grouped=groups is not None, single=single
        ),
    )
    if template is None:  # an in-memory table of unknown role: not prepared
        expr = _feature_table(src, plan, rollup=rollup, groups=groups, single=single, history=parts)
        return _fetch(src.backend, expr)
    return _execute(template, src, plan, groups, parts)


def _cached(key: tuple[object, ...], compile_: Callable[[], object | None]) -> Any:
    """The compiled templates of ``key``: from the cache (a hit), or compiled now and kept
    (the least recently used shapes dropped beyond :data:`MAX_SHAPES`); None when
    ``compile_`` cannot prepare them (nothing kept)."""
    with _lock:
        found = _templates.get(key)
        if found is not None:
            _templates.move_to_end(key)
            _stats["hits"] += 1
            return found
    made = compile_()
    if made is not None:
        with _lock:
            _templates[key] = made
            while len(_templates) > MAX_SHAPES:
                _templates.popitem(last=False)
    return made


def _shape(src: _Tables, windows: FeatureWindows, rollup: bool) -> tuple[object, ...] | None:
    """What the compiled SQL depends on, or None when the call cannot be prepared."""
    if src.backend.name != "duckdb":
        return None
    parts: list[tuple[object, ...]] = []
    for name in sorted(src.tables):
        op = src.tables[name].op()
        if isinstance(op, ops.InMemoryTable):
            parts.append((name, "frame", op.schema))
        elif isinstance(op, ops.DatabaseTable):
            parts.append((name, "table", op.name, op.namespace, op.schema))
        else:
            return None
    return (src.backend.name, windows, rollup, tuple(parts))


def _bounds(plan: _Plan, single: bool) -> list[dt.date]:
    """The date literals of a plan's SQL, in a fixed order (the placeholders follow it): a
    cut's bounds for one date; none for the history (its dates are in-memory tables)."""
    if not single:
        return []
    cut = plan.cuts[0]
    return [cut.as_of, cut.start_short, cut.start_prev, cut.start_long, *cut.quarter_starts]


def _placeholder_cut(windows: FeatureWindows) -> _Cut:
    days = [dt.date(_PLACEHOLDER_YEAR + j, 1, 1) for j in range(4 + windows.quarters)]
    return _Cut(days[0], days[1], days[2], days[3], tuple(days[4:]))


def _date_sql(day: dt.date) -> str:
    """A date literal as Ibis writes it for DuckDB."""
    return f"MAKE_DATE({day.year}, {day.month}, {day.day})"


def _compile(
    src: _Tables, windows: FeatureWindows, *, rollup: bool, grouped: bool, single: bool = True
) -> _Template | None:
    """Build and compile the expression of this shape for the placeholder dates (one date,
    or the month-end history: no date literal, its dates and primitives in-memory tables)."""
    plan = _Plan((_placeholder_cut(windows),), windows)
    snaps = plan.snapshots()
    group_table = (
        _frame_table(pd.DataFrame({"account_id": ["a"], "group_id": ["a"]})) if grouped else None
    )
    parts = {} if single else empty_history_parts(src)
    expr = _feature_table(
        src,
        plan,
        rollup=rollup,
        groups=None,
        single=single,
        snaps=snaps,
        group_table=group_table,
        history=parts,
    )
    roles = _roles(src, group_table)
    roles[snaps.op().name] = ("dates",)
    roles |= {table.op().name: ("history", name) for name, table in parts.items()}
    reads = _reads(expr, roles)
    if reads is None:
        return None
    sql = src.backend.compile(expr)
    with _lock:
        _stats["compilations"] += 1
    dates = {_date_sql(d): j for j, d in enumerate(_bounds(plan, single))}
    # Ibis writes dates another way: not prepared
    if single and _date_sql(plan.last) not in sql:
        return None
    # a date of the plan written into the history's SQL would not be replaced: not prepared
    if not single and any(_date_sql(d) in sql for d in _bounds(plan, True)):
        return None
    keys = sorted([*dates, *reads], key=len, reverse=True)
    pattern = re.compile("|".join(map(re.escape, keys)))
    return _Template(sql, pattern, dates, reads, expr.schema(), single)


def _rows_runner(
    src: _Tables, plan: _Plan, groups: pd.DataFrame | None, key: tuple[object, ...]
) -> RunPart | None:
    """The engine's rows of a month-end history (:func:`history_queries`), each query
    compiled once per shape like the features' (its dates placeholders: the
    :class:`ReductionBounds`'s); None when they cannot be prepared."""
    bounds = reduction_bounds(plan)
    bit_or = has_bit_or(src.backend)
    templates = _cached(
        (*key, "rows", bounds.masks, bit_or, groups is not None),
        lambda: _compile_rows(src, bounds.masks, bit_or=bit_or, grouped=groups is not None),
    )
    if templates is None:
        return None
    def run(part: str) -> dict[str, pa.Table]:
        return {
            name: _execute(template, src, plan, groups, days=list(bounds.dates))
            for name, template in templates[part].items()
        }

    return run


def _roles(src: _Tables, group_table: ir.Table | None) -> dict[str, tuple[str, ...]]:
    """The role of each in-memory table a compiled query may read: the groups of
    ``rollup`` and the canonical tables given as frames (by name)."""
    roles: dict[str, tuple[str, ...]] = {}
    if group_table is not None:
        roles[group_table.op().name] = ("groups",)
    for name, table in src.tables.items():
        if isinstance(op := table.op(), ops.InMemoryTable):
            roles[op.name] = ("table", name)
    return roles


def _reads(expr: ir.Expr, roles: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]] | None:
    """The in-memory tables ``expr`` reads, with their roles; None when one has no role (the
    query cannot be prepared)."""
    reads = {}
    for op in expr.op().find(ops.InMemoryTable):
        if op.name not in roles:
            return None
        reads[op.name] = roles[op.name]
    return reads


def _compile_rows(
    src: _Tables, masks: int, *, bit_or: bool, grouped: bool
) -> dict[str, dict[str, _Template]] | None:
    """Compile :func:`history_queries` for placeholder bounds (4 dates in the years
    1100–1103, ``masks`` masks), by part and query name; None if one cannot be prepared
    (an in-memory table of unknown role, or a date Ibis writes another way)."""
    bounds = ReductionBounds.placeholders(masks, _PLACEHOLDER_YEAR)
    group_table = (
        _frame_table(pd.DataFrame({"account_id": ["a"], "group_id": ["a"]})) if grouped else None
    )
    roles = _roles(src, group_table)
    dates = {_date_sql(d): j for j, d in enumerate(bounds.dates)}
    out: dict[str, dict[str, _Template]] = {}
    queries = history_queries(src, bounds, group_table, bit_or=bit_or)
    for part, exprs in queries.items():
        out[part] = {}
        for name, expr in exprs.items():
            reads = _reads(expr, roles)
            if reads is None:
                return None
            sql = src.backend.compile(expr)
            keys = sorted([*dates, *reads], key=len, reverse=True)
            pattern = re.compile("|".join(map(re.escape, keys)))
            # a placeholder written another way would be left in the SQL: not prepared
            if any(str(d.year) in pattern.sub("", sql) for d in bounds.dates):
                return None
            out[part][name] = _Template(sql, pattern, dates, reads, expr.schema(), single=False)
    with _lock:
        _stats["compilations"] += 1
    return out


def _execute(
    template: _Template,
    src: _Tables,
    plan: _Plan,
    groups: pd.DataFrame | None,
    parts: dict[str, ir.Table] | None = None,
    days: list[dt.date] | None = None,
) -> pa.Table:
    """Run a compiled shape for ``plan``'s dates on the call's own tables (``parts``: the
    history's per-date primitives, by table name; ``days``: the dates of the placeholders,
    by default the plan's :func:`_bounds`)."""
    bounds = [_date_sql(d) for d in (_bounds(plan, template.single) if days is None else days)]
    tag = uuid.uuid4().hex[:12]
    names = {old: f"kamlib_prepared_{tag}_{i}" for i, old in enumerate(template.reads)}
    data: dict[str, pa.Table] = {}
    for old, role in template.reads.items():
        if role[0] == "dates":
            table = plan.snapshots()
        elif role[0] == "groups":
            assert groups is not None
            table = _frame_table(groups)
        elif role[0] == "history":
            assert parts is not None
            table = parts[role[1]]
        else:
            table = src.tables[role[1]]
        op = table.op()
        data[names[old]] = op.data.to_pyarrow(op.schema)

    def swap(match: re.Match[str]) -> str:
        text = match.group(0)
        if text in names:
            return names[text]
        return bounds[template.dates[text]]

    sql = template.pattern.sub(swap, template.sql)
    con = src.backend.con
    registered = []
    try:
        for name, table in data.items():
            con.register(name, table)
            registered.append(name)
        result = con.sql(sql).to_arrow_table()
    finally:
        for name in registered:
            with suppress(duckdb.Error):
                con.unregister(name)
    return DuckDBPyArrowData.convert_table(result, template.schema)


def compiled_sql(src: _Tables, plan: _Plan, *, rollup: bool) -> tuple[str, str] | None:
    """The SQL a prepared call runs for ``plan`` and the SQL Ibis compiles for it afresh,
    with the in-memory table names made neutral (for the tests: the two must be equal)."""
    key = _shape(src, plan.windows, rollup)
    template = _compile(src, plan.windows, rollup=rollup, grouped=rollup) if key else None
    if template is None:
        return None
    bounds = [_date_sql(d) for d in _bounds(plan, True)]
    prepared = template.pattern.sub(
        lambda m: "T" if m.group(0) in template.reads else bounds[template.dates[m.group(0)]],
        template.sql,
    )
    snaps = plan.snapshots()
    groups = pd.DataFrame({"account_id": ["a"], "group_id": ["a"]}) if rollup else None
    group_table = _frame_table(groups) if groups is not None else None
    expr = _feature_table(
        src, plan, rollup=rollup, groups=None, single=True, snaps=snaps, group_table=group_table
    )
    fresh = src.backend.compile(expr)
    names = {op.name for op in expr.op().find(ops.InMemoryTable)}
    if names:
        fresh = re.sub("|".join(map(re.escape, names)), "T", fresh)
    return prepared, fresh
