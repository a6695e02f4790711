"""The month-end history's opportunities, service tickets and activities: the engine hands
over one row per record (per account and month for the activities), numpy reads every date
off them.

Why
---
For one date each of these tables is a join with the date and a GROUP BY
(:mod:`~kamlib.features.definitions`).  Over a history the same join pairs every record with
every date after it (2.5 M pairs for the 128,004 opportunities and 24 dates of the large
demo), most of which the filter then drops; the deals that close after a date looked their
amount up in the stage history per (date, deal) with a window function, the activities took
a running maximum and a range join over the months.  In numpy the same is a handful of
comparisons over one array per column and date.

How
---
1. The engine's part, Ibis on the source's engine (:func:`opportunity_rows`,
   :func:`ticket_rows`, :func:`activity_rows`): the records up to the last date, with what
   does not depend on the date worked out there — amounts in cents; the stage history
   reduced to one amount per (opportunity, day); a ticket's SLA lateness when met, from its
   timestamps' whole seconds; the last activity per (account, month).  No timestamp leaves
   the engine.
2. numpy, per date, the rule of ``_opportunities`` / ``_tickets`` / ``_activities`` exactly
   (:func:`roll_opportunities`, :func:`roll_tickets`, :func:`roll_activities`): an
   opportunity exists from its ``created_date``, one that closes after the date is open then
   with the amount of its last stage-history entry by then; a ticket's SLA not met by the
   end of the date is still running; the last activity on or before the date by a binary
   search — counted per account.
3. :func:`history_parts`: these and the order primitives (:mod:`~kamlib.features.history`)
   as in-memory tables, by table name, which the history query joins in place of the
   one-date joins — on every engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends import BaseBackend

from kamlib.features.definitions import (
    HISTORY_TABLES,
    _cents,
    _lit,
    _prepared_tables,
    _regrouped,
)
from kamlib.features.engines import _fetch, _frame_table, _Tables
from kamlib.features.history import (
    ReductionBounds,
    account_codes,
    empty_history_orders,
    monthly_reduction,
    reduction_bounds,
    roll_months,
)
from kamlib.features.history import _days as _day_numbers
from kamlib.features.windows import _month_number, _Plan

#: The rolled opportunity primitives, per (k, account): what ``_opportunities`` gives.
DEALS_SCHEMA = pa.schema(
    [
        ("k", pa.int64()),
        ("account_id", pa.string()),
        ("open_pipeline", pa.int64()),
        ("open_opportunities", pa.int64()),
        ("won", pa.int64()),
        ("lost", pa.int64()),
    ]
)

_NEVER = np.iinfo(np.int32).max  # a date32 after every date (a NULL date never compares true)


def opportunity_rows(
    opps: ir.Table, history: ir.Table | None, bounds: ReductionBounds
) -> dict[str, ir.Table]:
    """The engine's part: ``deals`` (one row per opportunity created by the last date) and
    ``stages`` (per (opportunity, day) of the deals closing after the first date: the cents
    of the day's last stage-history entry), from the prepared tables."""
    first = _lit(bounds.first)
    made = opps.filter(opps.created_date <= _lit(bounds.last))
    deals = made.select(
        "account_id", "opportunity_id", "status", "created_date", "closed_date",
        cents=_cents(made.amount),
    )  # fmt: skip
    out = {"deals": deals}
    if history is not None:
        later = made.filter(made.closed_date > first).select("opportunity_id").distinct()
        h = history.semi_join(later, "opportunity_id")
        h = h.filter(h.entered_at.notnull()).mutate(day=h.entered_at.cast("date"))
        latest = h.group_by("opportunity_id", "day").aggregate(last_at=h.entered_at.max())
        at_last = h.join(
            latest,
            [
                h.opportunity_id == latest.opportunity_id,
                h.day == latest.day,
                h.entered_at == latest.last_at,
            ],
        )
        out["stages"] = at_last.group_by(h.opportunity_id, h.day).aggregate(
            cents=_cents(at_last.amount).max()
        )
    return out


def roll_opportunities(rows: Mapping[str, pa.Table], plan: _Plan) -> pa.Table:
    """The opportunity primitives of every date of ``plan`` from :func:`opportunity_rows`,
    as :data:`DEALS_SCHEMA` (see the module docstring for the rule)."""
    deals = rows["deals"].filter(pc.is_valid(rows["deals"]["account_id"]))
    if deals.num_rows == 0:
        return DEALS_SCHEMA.empty_table()
    names, acc = account_codes(deals["account_id"])
    status = deals["status"]
    is_open, is_won, is_lost = (
        pc.fill_null(pc.equal(status, s), False).to_numpy(zero_copy_only=False)
        for s in ("open", "won", "lost")
    )
    created = _days(deals["created_date"])
    closed_known = pc.is_valid(deals["closed_date"]).to_numpy(zero_copy_only=False)
    closed = _days(deals["closed_date"])
    cents_known = pc.is_valid(deals["cents"]).to_numpy(zero_copy_only=False)
    cents = pc.fill_null(deals["cents"], 0).to_numpy()
    lookup = _StageLookup(rows.get("stages"), deals["opportunity_id"])
    n = len(names)
    per_date = []
    for cut in plan.cuts:
        day, start_long = _day(cut.as_of), _day(cut.start_long)
        exists = created <= day  # a NULL created_date is _NEVER
        reopened = closed_known & (closed > day)
        open_then = exists & (reopened | is_open)
        decided = exists & closed_known & (closed > start_long) & (closed <= day)
        won, lost = decided & is_won, decided & is_lost
        amount, known = cents, cents_known
        if reopened.any():
            amount, known = lookup.amounts(open_then & reopened, day, cents, cents_known)
        counted = open_then & known
        values = {
            "open_pipeline": _sum(acc[counted], amount[counted], n),
            "open_opportunities": _count(acc, open_then, n),
            "won": _count(acc, won, n),
            "lost": _count(acc, lost, n),
        }
        per_date.append(_kept(_count(acc, open_then | won | lost, n) > 0, values))
    return _dated_rows(names, per_date, DEALS_SCHEMA)


class _StageLookup:
    """The cents of an opportunity's last stage-history day on or before a date."""

    def __init__(self, stages: pa.Table | None, deal_ids: pa.ChunkedArray) -> None:
        self.deal_code = _codes(deal_ids, deal_ids)
        if stages is None or stages.num_rows == 0:
            self.keys = np.empty(0, dtype=np.int64)
            return
        code = _codes(stages["opportunity_id"], deal_ids)
        found = code >= 0
        day = _days(stages["day"])[found]
        keys = (code[found] << 32) | (day.astype(np.int64) + 2**31)
        order = np.argsort(keys, kind="stable")  # (opportunity, day) pairs are unique
        self.keys = keys[order]
        self.known = pc.is_valid(stages["cents"]).to_numpy(zero_copy_only=False)[found][order]
        self.cents = pc.fill_null(stages["cents"], 0).to_numpy()[found][order]

    def amounts(
        self, rows: np.ndarray, day: int, cents: np.ndarray, known: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``cents`` / ``known`` with the ``rows`` (deals closing after ``day``) given their
        last stage-history amount by then, where there is one with an amount."""
        if len(self.keys) == 0:
            return cents, known
        idx = np.flatnonzero(rows)
        code = self.deal_code[idx]
        query = (code << 32) | (day + 2**31)
        pos = np.searchsorted(self.keys, query, side="right") - 1
        safe = np.maximum(pos, 0)
        hit = (pos >= 0) & ((self.keys[safe] >> 32) == code) & self.known[safe]
        cents, known = cents.copy(), known.copy()
        cents[idx[hit]] = self.cents[safe[hit]]
        known[idx[hit]] = True
        return cents, known


def _codes(ids: pa.ChunkedArray, universe: pa.ChunkedArray) -> np.ndarray:
    """The position of each id among the distinct ``universe`` ids (-1: not there)."""
    distinct = pc.unique(universe)
    return pc.fill_null(pc.index_in(ids, value_set=distinct), -1).to_numpy().astype(np.int64)


def _sum(acc: np.ndarray, cents: np.ndarray, accounts: int) -> np.ndarray:
    """Exact int64 sums of cents per account (``np.add.at``: no float64 rounding)."""
    out = np.zeros(accounts, dtype=np.int64)
    np.add.at(out, acc, cents)
    return out


def _count(acc: np.ndarray, rows: np.ndarray, accounts: int) -> np.ndarray:
    """How many of the ``rows`` (a mask) each account has."""
    return np.bincount(acc, weights=rows, minlength=accounts).astype(np.int64)


def _kept(keep: np.ndarray, values: dict[str, np.ndarray]) -> tuple[np.ndarray, dict]:
    """One date's accounts with a row (``keep``: a mask over the account codes), and their
    values."""
    return np.flatnonzero(keep), {c: v[keep] for c, v in values.items()}


def _dated_rows(
    names: pa.Array, per_date: list[tuple[np.ndarray, dict[str, np.ndarray]]], schema: pa.Schema
) -> pa.Table:
    """The rows of every date (``per_date[k]``: its account codes and values by column) as
    ``schema``: ``k``, ``account_id``, then the value columns."""
    accounts = [a for a, _ in per_date]
    columns = {
        "k": pa.array(np.repeat(np.arange(len(per_date), dtype=np.int64), [len(a) for a in accounts])),
        "account_id": names.take(pa.array(np.concatenate(accounts))),
    }
    for field in schema:
        if field.name not in columns:
            values = np.concatenate([v[field.name] for _, v in per_date])
            columns[field.name] = pa.array(values).cast(field.type)
    return pa.table(columns, schema=schema)


def _days(column: pa.ChunkedArray) -> np.ndarray:
    """A date column as int64 days since 1970, NULL as :data:`_NEVER`."""
    return _day_numbers(column, _NEVER).astype(np.int64)


def _day(day: object) -> int:
    return int(np.datetime64(day, "D").astype(np.int64))


# -- activities ------------------------------------------------------------------------------------
#: The rolled activity primitive, per (k, account): what ``_activities`` gives.
ACTIVITIES_SCHEMA = pa.schema(
    [("k", pa.int64()), ("account_id", pa.string()), ("last_activity", pa.date32())]
)


def activity_rows(activities: ir.Table, bounds: ReductionBounds) -> ir.Table:
    """The engine's part: per (account, month) up to the last date, the last activity day."""
    a = activities.filter(activities.date <= _lit(bounds.last))
    a = a.mutate(i=_month_number(a.date))
    return a.group_by("account_id", "i").aggregate(last=a.date.max())


def roll_activities(rows: pa.Table, plan: _Plan) -> pa.Table:
    """Per (k, account with an activity on or before date k): the last activity day, from
    :func:`activity_rows` (a search in each account's sorted days)."""
    rows = rows.filter(pc.and_(pc.is_valid(rows["account_id"]), pc.is_valid(rows["last"])))
    if rows.num_rows == 0:
        return ACTIVITIES_SCHEMA.empty_table()
    names, acc = account_codes(rows["account_id"])
    keys = np.sort((acc << 32) | (_days(rows["last"]) + 2**31))
    every = np.arange(len(names), dtype=np.int64)
    per_date = []
    for cut in plan.cuts:
        pos = np.searchsorted(keys, (every << 32) | (_day(cut.as_of) + 2**31), side="right") - 1
        safe = np.maximum(pos, 0)
        hit = (pos >= 0) & ((keys[safe] >> 32) == every)
        day = ((keys[safe] & 0xFFFFFFFF) - 2**31).astype(np.int32)
        per_date.append(_kept(hit, {"last_activity": day}))
    return _dated_rows(names, per_date, ACTIVITIES_SCHEMA)


# -- service tickets -------------------------------------------------------------------------------
#: The rolled ticket primitives, per (k, account): what ``_tickets`` gives.
TICKETS_SCHEMA = pa.schema(
    [
        ("k", pa.int64()),
        ("account_id", pa.string()),
        ("tickets", pa.int64()),
        ("escalations", pa.int64()),
        ("breached", pa.int64()),
        ("with_sla", pa.int64()),
    ]
)

_SLAS = (("response", "first_response_at", "sla_response_hours"),
         ("resolution", "resolved_at", "sla_resolution_hours"))  # fmt: skip


def ticket_rows(tickets: ir.Table, bounds: ReductionBounds) -> ir.Table:
    """The engine's part: one row per ticket opened in a short window of the plan's dates —
    its day, escalation, and per SLA (response, resolution): the day it was met (NULL: not
    yet), whether it was late when met (the timestamps' whole seconds, as ``_tickets``),
    its hours; and the opening's second of its day.  No timestamp leaves the engine."""
    t = tickets.mutate(opened_date=tickets.opened_at.cast("date"))
    first_short = _lit(bounds.first_short)
    t = t.filter((t.opened_date > first_short) & (t.opened_date <= _lit(bounds.last)))
    opened = t.opened_at.truncate("s")
    cols = {
        "account_id": t.account_id,
        "opened_date": t.opened_date,
        "opened_second": opened.delta(t.opened_date.cast("timestamp"), unit="second"),
        "escalated": t.escalated.coalesce(False),
    }
    for name, at, hours in _SLAS:
        elapsed = t[at].truncate("s").delta(opened, unit="second").cast("float64")
        cols[f"{name}_day"] = t[at].cast("date")
        cols[f"{name}_late"] = (t[hours].notnull() & (elapsed > t[hours] * 3600.0)).coalesce(False)
        cols[f"{name}_hours"] = t[hours]
    return t.select(**cols)


def roll_tickets(rows: pa.Table, plan: _Plan) -> pa.Table:
    """Per (k, account with a ticket opened in date k's short window): tickets, escalations,
    SLA breaches and tickets with an SLA, by ``_tickets``' rule — an SLA not met by the end of
    the date is still running then (late once the time since opening passes its hours)."""
    rows = rows.filter(pc.is_valid(rows["account_id"]))
    if rows.num_rows == 0:
        return TICKETS_SCHEMA.empty_table()
    names, acc = account_codes(rows["account_id"])
    n = len(names)
    opened = _days(rows["opened_date"])
    second = pc.fill_null(rows["opened_second"], 0).to_numpy().astype(np.int64)
    escalated = rows["escalated"].to_numpy(zero_copy_only=False).astype(bool)
    slas = []
    for name, _at, _hours in _SLAS:
        hours = rows[f"{name}_hours"]
        known_hours = pc.is_valid(hours).to_numpy(zero_copy_only=False)
        limit = pc.fill_null(hours, 0.0).to_numpy().astype(np.float64) * 3600.0
        late = rows[f"{name}_late"].to_numpy(zero_copy_only=False).astype(bool)
        slas.append((_days(rows[f"{name}_day"]), late, known_hours, limit))
    with_sla = slas[0][2] | slas[1][2]
    per_date = []
    for cut in plan.cuts:
        day, start = _day(cut.as_of), _day(cut.start_short)
        inside = (opened > start) & (opened <= day)
        # seconds from the opening to midnight after the date, as an integer
        running = ((day + 1 - opened) * 86_400 - second).astype(np.float64)
        breached = np.zeros(len(acc), dtype=bool)
        for met_day, late_when_met, has_hours, limit in slas:
            met = met_day <= day  # a NULL day is _NEVER
            breached |= np.where(met, late_when_met, has_hours & (running > limit))
        values = {
            "tickets": _count(acc, inside, n),
            "escalations": _count(acc, inside & escalated, n),
            "breached": _count(acc, inside & breached, n),
            "with_sla": _count(acc, inside & with_sla, n),
        }
        per_date.append(_kept(values["tickets"] > 0, values))
    return _dated_rows(names, per_date, TICKETS_SCHEMA)


# -- all parts ---------------------------------------------------------------------------------
#: The engine's rows of one part of the history, fetched as Arrow by query name
#: (``history_parts``' ``run``: the part's name → its tables).
RunPart = Callable[[str], dict[str, pa.Table]]


def history_queries(
    src: _Tables, bounds: ReductionBounds, group_table: ir.Table | None, *, bit_or: bool
) -> dict[str, dict[str, ir.Table]]:
    """The engine's queries of a month-end history, by part (``orders`` and each table of
    ``HISTORY_TABLES`` the source has), by query name; ``group_table``: the groups of a
    rollup; ``bit_or``: the engine has ``BIT_OR`` (:func:`has_bit_or`)."""
    tables = _regrouped(_prepared_tables(src), group_table)
    out = {
        "orders": monthly_reduction(
            tables["orders"], tables.get("products"), bounds, bit_or=bit_or
        )
    }
    if "opportunities" in tables:
        out["opportunities"] = opportunity_rows(
            tables["opportunities"], tables.get("stage_history"), bounds
        )
    if "service_tickets" in tables:
        out["service_tickets"] = {"tickets": ticket_rows(tables["service_tickets"], bounds)}
    if "activities" in tables:
        out["activities"] = {"days": activity_rows(tables["activities"], bounds)}
    return out


def history_parts(
    src: _Tables, plan: _Plan, groups: pd.DataFrame | None, run: RunPart | None = None
) -> dict[str, ir.Table]:
    """The history's in-memory tables by table name (``_feature_table``'s ``history``): the
    order primitives (:mod:`~kamlib.features.history`) and those of each table of
    ``HISTORY_TABLES`` the source has.

    ``run``: the engine's rows of a part (:func:`history_queries`, e.g. compiled once per
    source shape by :mod:`~kamlib.features.prepared`); by default built and run here.  The
    engine's queries run one after another; the order lines' numpy roll, the longest step
    outside the engine, runs in a thread beside the other tables' queries (numpy and Arrow
    release the GIL; only this thread talks to the engine).
    """
    if run is None:
        group_table = _frame_table(groups) if groups is not None else None
        bounds = reduction_bounds(plan)
        queries = history_queries(src, bounds, group_table, bit_or=has_bit_or(src.backend))

        def run(part: str) -> dict[str, pa.Table]:
            return {name: _fetch(src.backend, expr) for name, expr in queries[part].items()}

    reduced = run("orders")
    parts: dict[str, ir.Table] = {}
    with ThreadPoolExecutor(max_workers=1) as pool:
        rolling = pool.submit(roll_months, reduced, plan)
        if "opportunities" in src.tables:
            parts["opportunities"] = ibis.memtable(roll_opportunities(run("opportunities"), plan))
        if "service_tickets" in src.tables:
            tickets = run("service_tickets")["tickets"]
            parts["service_tickets"] = ibis.memtable(roll_tickets(tickets, plan))
        if "activities" in src.tables:
            days = run("activities")["days"]
            parts["activities"] = ibis.memtable(roll_activities(days, plan))
        parts["orders"] = ibis.memtable(rolling.result())
    return parts


def has_bit_or(backend: BaseBackend) -> bool:
    """Whether the engine's Ibis compiler writes ``BIT_OR`` (DuckDB: yes; PySpark: no)."""
    try:
        return bool(backend.has_operation(ops.BitOr))
    except NotImplementedError:
        return False


def empty_history_parts(src: _Tables) -> dict[str, ir.Table]:
    """Empty tables of :func:`history_parts`' shapes (to build the expression only)."""
    schemas = {
        "opportunities": DEALS_SCHEMA,
        "service_tickets": TICKETS_SCHEMA,
        "activities": ACTIVITIES_SCHEMA,
    }
    parts = {"orders": empty_history_orders()}
    for name in HISTORY_TABLES:
        if name in src.tables:
            parts[name] = ibis.memtable(schemas[name].empty_table())
    return parts
