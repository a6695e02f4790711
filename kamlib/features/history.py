"""The month-end history's order features: the engine reduces the order lines to sparse
(account, month) rows, numpy rolls them over the months.

Why
---
When every as-of date is a month end, every window is a run of whole calendar months ending
on the date's month, so one reduction of the lines to (account, month) serves every date.
Rolling that reduction over a dense account × month grid (running sums, their lags at each
window's start) is what cost the time in the engine: on the large demo (20,000 accounts,
9.9 M lines) DuckDB spent most of the history's order part in window functions over the
grid, not in reading the lines.  The same rolling in numpy — a cumulative sum along the
months of an (accounts × months) int64 array, read at the dates' months — takes a fraction
of that, exactly (money is whole cents).

How
---
1. :func:`monthly_reduction` (an Ibis expression, run by the source's engine: DuckDB, Spark,
   the local DuckDB of frames): one row per (account, month ``i``) that holds something —
   sums of cents, line counts, days with a purchase, whether a purchase happened, the first
   and last purchase date, and the +1 / -1 deltas whose running sums count the distinct
   orders and product lines of the short window; what came before the first month any
   window needs is carried into that month (line count, first / last purchase).  Only
   sums, counts, MIN / MAX, ``LEAD`` and a UNION: nothing an engine lacks.
2. :func:`roll_months` (numpy, the same for every engine): the rows laid out on the dense
   grid, cumulative sums and running MIN / MAX along the months, each date's windows read
   as differences of running sums.  Accounts are rolled in blocks (:data:`GRID_CELLS` cells
   per array), so a huge book costs bounded memory.
3. :func:`history_orders`: 1 then 2, the result an in-memory table joined by the engine to
   the rest of the history (opportunities, tickets, activities, contacts, registry —
   those stay in the engine) — Ibis sends it to whichever engine runs the source.

Purchases and money follow :mod:`~kamlib.features.definitions`; the result has the columns
and values of the one-date order primitives (``_orders_single``) for each date ``k``.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kamlib.features.definitions import _cents, _lit, _order_lines, _prepared_tables, _regrouped
from kamlib.features.engines import _fetch, _frame_table, _Tables
from kamlib.features.windows import _month_number, _Plan, month_number

#: Cells (accounts × months) of one block of the numpy grid: about 8 MB per int64 array.
GRID_CELLS = 1 << 20

#: The columns of the reduction that add up along the months.
_COUNTED = ("amount", "cost", "costed", "days", "orders", "lines", "n_lines", "bought")

#: The rolled order primitives, per (k, account): what ``_orders_single`` gives for one date.
ROLLED_SCHEMA = pa.schema(
    [
        ("k", pa.int64()),
        ("account_id", pa.string()),
        ("has_lines", pa.bool_()),
        ("rev_short", pa.int64()),
        ("rev_long", pa.int64()),
        ("rev_prev", pa.int64()),
        ("cost_short", pa.int64()),
        ("costed_short", pa.int64()),
        ("orders_short", pa.int64()),
        ("days_short", pa.int64()),
        ("lines_short", pa.int64()),
        ("quarters", pa.int64()),
        ("first_purchase", pa.date32()),
        ("last_purchase", pa.date32()),
    ]
)


def first_month(plan: _Plan) -> int:
    """The first month (``month_number``) any window of the plan's dates reaches back to."""
    wnd = plan.windows
    lookback = max(wnd.long_months, 2 * wnd.trailing_months, 3 * wnd.quarters)
    return min(month_number(c.as_of) for c in plan.cuts) - lookback + 1


# -- 1. the engine: sparse (account, month) rows -----------------------------------------------
def monthly_reduction(orders: ir.Table, products: ir.Table | None, plan: _Plan) -> ir.Table:
    """One row per (account, month ``i``) with something in it, up to the plan's last date.

    Columns: ``amount, cost, costed`` (cents; ``cost`` and ``costed`` over lines with a
    cost), ``n_lines``, ``days`` (distinct purchase days), ``bought`` (1 when a purchase
    fell in the month), ``orders`` / ``lines`` (the deltas below), ``first_purchase``,
    ``last_purchase``.  Months before :func:`first_month` are carried into it (line count,
    first and last purchase; no window reaches their sums).

    Distinct orders and product lines of the short window are running sums of +1 / -1
    deltas: a key bought in month i counts in the windows of the months i … e, where e is
    the month before the key's next purchase month or the window's last month
    (i + S - 1), whichever comes first; +1 at i and -1 at e + 1 add up to the count at
    every month.
    """
    s_m = plan.windows.trailing_months
    start = first_month(plan)
    end_month = max(month_number(c.as_of) for c in plan.cuts)
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
    one_month = span.filter(span.first_i == span.last_i)  # nearly all orders: no LEAD needed
    one_month = one_month.select("account_id", i=one_month.first_i, next_i=ibis.null("int64"))
    several = (
        placed.semi_join(span.filter(span.first_i < span.last_i), ["account_id", "order_id"])
        .select("account_id", "order_id", "i")
        .distinct()
    )
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

    early = per_month.filter(per_month.i < start)
    carried = early.group_by("account_id").aggregate(
        i=ibis.literal(start, "int64"),
        n_lines=early.n_lines.sum(),
        first_purchase=early.first_purchase.min(),
        last_purchase=early.last_purchase.max(),
    )
    parts = [per_month.filter(per_month.i >= start), carried, days_i, order_deltas, line_deltas]
    typed = {c: t for part in parts for c, t in part.schema().items()}
    both = ibis.union(
        *(p.select(**{c: p[c] if c in p.columns else ibis.null(typed[c]) for c in typed})
          for p in parts)
    )  # fmt: skip
    return both.group_by("account_id", "i").aggregate(
        # a purchase in the month itself (the carried row has no amount)
        bought=(both.last_purchase.notnull() & both.amount.notnull()).any().cast("int64"),
        first_purchase=both.first_purchase.min(),
        last_purchase=both.last_purchase.max(),
        **{c: both[c].sum() for c in _COUNTED if c != "bought"},
    )


def _next_month(keyed: ir.Table, key: str) -> ir.Table:
    """Distinct (account, key, month ``i``) rows with the key's next month (NULL: none)."""
    order = ibis.window(group_by=[keyed.account_id, keyed[key]], order_by=keyed.i)
    return keyed.select("account_id", "i", next_i=keyed.i.lead().over(order))


def _window_deltas(keyed: ir.Table, months: int, name: str, end_month: int) -> ir.Table:
    """+1 / -1 per (account, month ≤ ``end_month``) whose running sum counts the keys in the
    window of ``months`` months ending at each month (see :func:`monthly_reduction`)."""
    stop = keyed.i + months  # the month after the window's last month
    stop = ibis.ifelse(keyed.next_i.notnull() & (keyed.next_i < stop), keyed.next_i, stop)
    deltas = ibis.union(
        keyed.select("account_id", "i", delta=ibis.literal(1, "int64")),
        keyed.select("account_id", i=stop, delta=ibis.literal(-1, "int64")),
        distinct=False,
    )
    deltas = deltas.filter(deltas.i <= end_month)
    return deltas.group_by("account_id", "i").aggregate(**{name: deltas.delta.sum()})


# -- 2. numpy: the dense grid, rolled ------------------------------------------------------------
_NO_FIRST = np.iinfo(np.int32).max  # date32 sentinels: no purchase yet
_NO_LAST = np.iinfo(np.int32).min


def roll_months(reduced: pa.Table, plan: _Plan, *, cells: int | None = None) -> pa.Table:
    """The order primitives of every date of ``plan`` from :func:`monthly_reduction`'s rows.

    Per block of accounts: one (accounts × months) int64 array per column, column 0 the
    (empty) month before :func:`first_month`, cumulative sums along the months; the sum over
    the months ``a … b - 1`` before date k's month m is ``cum[m - a] - cum[m - b]``.
    ``cells``: the block size (default :data:`GRID_CELLS`).  One row
    per (k, account with a line on or before date k), as :data:`ROLLED_SCHEMA`.
    """
    wnd = plan.windows
    s_m, l_m = wnd.trailing_months, wnd.long_months
    start = first_month(plan)
    end = max(month_number(c.as_of) for c in plan.cuts)
    width = end - start + 2
    if reduced.num_rows == 0:
        return ROLLED_SCHEMA.empty_table()
    encoded = pc.dictionary_encode(reduced["account_id"]).combine_chunks()
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    names = encoded.dictionary.cast(pa.string())
    col = (reduced["i"].to_numpy() - start + 1).astype(np.int64)
    if col.min() < 1 or col.max() >= width:  # the reduction's months are in the grid
        raise AssertionError("monthly_reduction returned a month outside the grid")
    values = {c: _ints(reduced[c]) for c in _COUNTED}
    firsts = _days(reduced["first_purchase"], _NO_FIRST)
    lasts = _days(reduced["last_purchase"], _NO_LAST)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    per_block = max(1, (GRID_CELLS if cells is None else cells) // width)
    dates = [(k, month_number(c.as_of) - start + 1) for k, c in enumerate(plan.cuts)]
    pieces: list[dict[str, np.ndarray]] = []
    for lo in range(0, len(names), per_block):
        hi = min(lo + per_block, len(names))
        a, b = np.searchsorted(sorted_codes, [lo, hi])
        rows = order[a:b]
        acc, j = codes[rows] - lo, col[rows]
        n = hi - lo

        def grid(v: np.ndarray, fill: int) -> np.ndarray:
            g = np.full((n, width), fill, dtype=v.dtype)  # noqa: B023 (used in this pass)
            g[acc, j] = v[rows]  # noqa: B023 ((account, month) rows are unique)
            return g

        cum = {c: np.cumsum(grid(v, 0), axis=1) for c, v in values.items()}
        first = np.minimum.accumulate(grid(firsts, _NO_FIRST), axis=1)
        last = np.maximum.accumulate(grid(lasts, _NO_LAST), axis=1)
        ids = np.arange(lo, hi)
        for k, m in dates:
            piece = _at_month(cum, m, s_m, l_m, wnd.quarters)
            piece |= {"first_purchase": first[:, m], "last_purchase": last[:, m]}
            keep = cum["n_lines"][:, m] > 0
            piece |= {"k": np.full(n, k, dtype=np.int64), "account": ids}
            pieces.append({c: v[keep] for c, v in piece.items()})
    out = {c: np.concatenate([p[c] for p in pieces]) for c in pieces[0]}
    columns: dict[str, pa.Array] = {
        "k": pa.array(out.pop("k")),
        "account_id": names.take(pa.array(out.pop("account"))),
        "has_lines": pa.array(np.ones(len(out["quarters"]), dtype=bool)),
    }
    for name, sentinel in (("first_purchase", _NO_FIRST), ("last_purchase", _NO_LAST)):
        days = out.pop(name)
        columns[name] = pa.array(days.astype(np.int32), pa.int32(), mask=days == sentinel).cast(
            pa.date32()
        )
    columns |= {c: pa.array(v.astype(np.int64)) for c, v in out.items()}
    return pa.table({f.name: columns[f.name] for f in ROLLED_SCHEMA}, schema=ROLLED_SCHEMA)


def _at_month(
    cum: dict[str, np.ndarray], m: int, s_m: int, l_m: int, quarters: int
) -> dict[str, np.ndarray]:
    """The window values at grid column ``m`` (a date's month) from the running sums."""

    def window(c: str, back_to: int, back_from: int = 0) -> np.ndarray:
        """Sum over the months ``back_from`` … ``back_to - 1`` before month m (0: m)."""
        return cum[c][:, m - back_from] - cum[c][:, m - back_to]

    active = [(window("bought", 3 * q + 3, 3 * q) > 0).astype(np.int64) for q in range(quarters)]
    return {
        "rev_short": window("amount", s_m),
        "rev_long": window("amount", l_m),
        "rev_prev": window("amount", 2 * s_m, s_m),
        "cost_short": window("cost", s_m),
        "costed_short": window("costed", s_m),
        "orders_short": cum["orders"][:, m],
        "days_short": window("days", s_m),
        "lines_short": cum["lines"][:, m],
        "quarters": np.sum(active, axis=0, dtype=np.int64),
    }


def _ints(column: pa.ChunkedArray) -> np.ndarray:
    """An integer column as int64, NULL as 0 (a sum over nothing adds nothing)."""
    return pc.fill_null(column.cast(pa.int64()), 0).to_numpy()


def _days(column: pa.ChunkedArray, sentinel: int) -> np.ndarray:
    """A date column as int32 days since 1970, NULL as ``sentinel``."""
    return pc.fill_null(column.cast(pa.date32()).cast(pa.int32()), sentinel).to_numpy()


# -- 3. both, as a table the engine joins ------------------------------------------------------
def history_orders(src: _Tables, plan: _Plan, groups: pd.DataFrame | None) -> ir.Table:
    """The order primitives of every date of ``plan`` (month ends), as an in-memory table.

    The reduction runs on the source's engine; the rolling in numpy; the result goes back
    into the history query as a table (Ibis sends it to the engine), so every engine's
    history gets its order features from the same numpy step.
    """
    group_table = _frame_table(groups) if groups is not None else None
    tables = _regrouped(_prepared_tables(src), group_table)
    reduced = _fetch(src.backend, monthly_reduction(tables["orders"], tables.get("products"), plan))
    return ibis.memtable(roll_months(reduced, plan))


def empty_history_orders() -> ir.Table:
    """An empty table of the rolled order primitives (to build the history's expression
    without running the reduction, e.g. to compile it for another engine)."""
    return ibis.memtable(ROLLED_SCHEMA.empty_table())
