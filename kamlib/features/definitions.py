"""The features as Ibis expressions: order lines, opportunities, tickets, contacts, activities,
the account universe, and the finish that turns primitives into features.

Purchases
---------
An order line with a positive amount is a *purchase*.  Revenue and margin include every line
(returns and credit notes are negative lines and reduce them); order counts, order days,
product lines, active quarters, first / last order date, recency and tenure count purchases
only, so a credit note neither makes a customer look recent nor frequent.

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

Query shapes
------------
One date: three aggregations of the order lines (all lines; purchases of the last 12 months
with the distinct counts; purchases of the last 8 quarters), the other tables joined to a
one-row table of the date's bounds.  Month-end history: the lines reduced once to
(account, month) by the engine, rolled over a dense account × month grid by numpy
(:mod:`~kamlib.features.history`); the opportunities, service tickets and activities read
off per date by numpy from one row per record (:mod:`~kamlib.features.history_events`);
those results joined back like the one-date primitives.  Both give identical results; the
tests check it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kamlib.data.kamdata import FIRST_SEEN
from kamlib.errors import DataValidationError
from kamlib.features.catalogue import STATIC_NUMBERS, STATIC_TEXT
from kamlib.features.engines import _frame_table, _Tables
from kamlib.features.registry import REGISTRY_FEATURES, registry_features
from kamlib.features.windows import FeatureWindows, _Cut, _Plan
from kamlib.frames import require_columns

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
    "firmographics": {
        "account_id": "string", "source": "string", "retrieved_at": "timestamp",
        "established": "date", "reg_capital": "float64", "reg_capital_currency": "string",
        "headcount_band": "string", "insured_headcount": "float64", "listed": "boolean",
        "company_type": "string", "match_confidence": "float64",
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
    "firmographics": ("account_id", "source", "retrieved_at"),
}


def _prepare(table: ir.Table, name: str) -> ir.Table:
    """Select the columns the features use, with portable types (absent optional → NULL)."""
    present = set(table.columns)
    require_columns(
        table, _REQUIRED[name], f"table '{name}'",
        fix="Map the column on import or add it to the frame.",
    )  # fmt: skip
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
def group_map(links: pd.DataFrame) -> pd.DataFrame:
    """``account_id`` → ``group_id`` (its top parent, any depth) from the parent links.

    ``links`` has ``account_id`` and ``parent_account_id`` (missing, or a parent not among the
    accounts: the account is a top account).  The groups of ``account_features(...,
    rollup=True)``; a cycle of parent links is refused with a ``DataValidationError``.
    """
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


@ibis.udf.scalar.builtin(name="round")
def _round_half_away(value: float) -> float:  # type: ignore[empty-body]
    """The engine's one-argument ``ROUND`` (half away from zero on DuckDB and Spark): Ibis
    writes ``ROUND(x, 0)``, which DuckDB computes about 3× slower on the same values."""


def _cents(value: ir.FloatingValue) -> ir.IntegerValue:
    """Money in whole cents (int64, half away from zero): sums of cents are exact, so every
    engine, in any summation order, gets the same totals — and a full return nets to 0."""
    return _round_half_away(value * 100.0).cast("int64")


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


def _activities(activities: ir.Table, plan: _Plan) -> ir.Table:
    """Per account (``k`` 0): the last activity date on or before the plan's date."""
    a = activities.filter(activities.date <= _lit(plan.last))
    out = a.group_by("account_id").aggregate(last_activity=a.date.max())
    return out.mutate(k=ibis.literal(0, "int64"))


# -- accounts and groups ---------------------------------------------------------------------
#: Dated records that show an account existed (table → its date column), for accounts
#: without a ``created_date``.
_FIRST_SEEN = FIRST_SEEN  # the same rule as KamData.as_of


def _first_seen(prepared: Mapping[str, ir.Table]) -> ir.Table:
    """Per account without a ``created_date``: the date of its first order line,
    opportunity, activity or ticket.

    Only those accounts need it (an account with a ``created_date`` exists from then), so
    each table's rows are first narrowed to them: when every account has a date, the engine
    has nothing to scan (DuckDB skips the probe side of a join whose build side is empty),
    instead of one more aggregation over all order lines.
    """
    accounts = prepared["accounts"]
    undated = accounts.filter(accounts.created_date.isnull()).select("account_id")
    parts = [
        prepared[name]
        .semi_join(undated, "account_id")
        .select(account_id=prepared[name].account_id, day=prepared[name][column].cast("date"))
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
#: The dated tables whose history primitives numpy reads off per date (besides the orders).
HISTORY_TABLES = ("opportunities", "service_tickets", "activities")


def _prepared_tables(src: _Tables) -> dict[str, ir.Table]:
    """The canonical tables of the source, prepared (:func:`_prepare`)."""
    return {n: _prepare(t, n) for n, t in src.tables.items() if n in _COLUMNS}


def _regrouped(prepared: dict[str, ir.Table], group_table: ir.Table | None) -> dict[str, ir.Table]:
    """Each account id replaced by its group when rolling up — except in the tables of
    account attributes (a group has its top account's registry features)."""
    keep = ("accounts", "products", "stage_history", "firmographics")
    return {n: t if n in keep else _regroup(t, group_table) for n, t in prepared.items()}


def _feature_table(
    src: _Tables,
    plan: _Plan,
    *,
    rollup: bool,
    groups: pd.DataFrame | None,
    single: bool,
    snaps: ir.Table | None = None,
    group_table: ir.Table | None = None,
    history: Mapping[str, ir.Table] | None = None,
) -> ir.Table:
    """The Ibis expression of the features: one row per (k, account) — ordered for one date;
    a history's rows are sorted after the engine (:func:`sorted_history`: its ORDER BY over
    every (date, account) cost DuckDB more than a sort of the fetched rows).

    ``single``: one date, the single-date shape of the order lines and of the dated tables;
    otherwise month ends, whose per-date primitives of the orders and of each table of
    :data:`HISTORY_TABLES` the source has are the in-memory tables of ``history`` (by table
    name: :func:`~kamlib.features.history_events.history_parts`, or
    :func:`~kamlib.features.history_events.empty_history_parts` to only build the
    expression).  ``snaps``
    (the plan's dates) and ``group_table`` (the groups as a table) are made here unless
    given (:mod:`~kamlib.features.prepared` gives them, to know which in-memory tables carry
    the dates and the groups).
    """
    wnd = plan.windows
    if snaps is None:
        snaps = plan.snapshots()
    if group_table is None and groups is not None:
        group_table = _frame_table(groups)
    prepared = _prepared_tables(src)
    tables = _regrouped(prepared, group_table)
    table = tables.get

    if single:
        order_p = _orders_single(tables["orders"], table("products"), plan.cuts[0])
        parts = {}
        if (opps := table("opportunities")) is not None:
            parts["opportunities"] = _opportunities(opps, table("stage_history"), snaps)
        if (tickets := table("service_tickets")) is not None:
            parts["service_tickets"] = _tickets(tickets, snaps)
        if (acts := table("activities")) is not None:
            parts["activities"] = _activities(acts, plan)
    else:
        given = history or {}
        needed = [n for n in ("orders", *HISTORY_TABLES) if n in tables and n not in given]
        if needed:
            raise ValueError(f"the month-end history needs its parts {needed} (history_parts)")
        order_p = given["orders"]
        parts = {n: given[n] for n in HISTORY_TABLES if n in tables}

    base = _accounts_base(tables["accounts"], snaps, group_table, _first_seen(prepared))
    t = base.left_join(order_p, ["k", "account_id"])
    for part in parts.values():
        t = t.left_join(part, ["k", "account_id"])
    if (contacts := table("contacts")) is not None:
        t = t.left_join(_contacts(contacts), "account_id")
    if (firms := table("firmographics")) is not None:
        t = t.left_join(registry_features(firms, snaps), ["k", "account_id"])

    finished = _finish(t, wnd, present=set(prepared), rollup=rollup, lines_known=_lines_known(src))
    return finished.order_by("k", "account_id") if single else finished


def sorted_history(result: pa.Table) -> pa.Table:
    """A history's rows (:func:`_feature_table`, not ``single``) by date, then account id
    (bytewise, NULL last: as the engine's ORDER BY)."""
    if result.num_rows == 0 or result["account_id"].null_count:
        keys = [("k", "ascending"), ("account_id", "ascending")]
        return result.take(pc.sort_indices(result, sort_keys=keys, null_placement="at_end"))
    # the distinct ids ranked once, the rows by one int64 key: (date, rank of the account)
    encoded = pc.dictionary_encode(result["account_id"]).combine_chunks()
    rank = np.empty(len(encoded.dictionary), dtype=np.int64)
    rank[pc.sort_indices(encoded.dictionary).to_numpy()] = np.arange(len(rank))
    k = result["k"].to_numpy().astype(np.int64)
    key = k * len(rank) + rank[encoded.indices.to_numpy()]
    return result.take(np.argsort(key, kind="stable"))


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
        **(
            {name: t[name] for name in REGISTRY_FEATURES}
            if "firmographics" in present
            else dict.fromkeys(REGISTRY_FEATURES, _NULL)
        ),
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
