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
1. :func:`monthly_reduction` (Ibis expressions, run by the source's engine: DuckDB, Spark,
   the local DuckDB of frames): one row per (account, month ``i``) with a line — sums of
   cents, line counts, first and last purchase date — and the distinct (account, order,
   day) and (account, product line, month) of the purchases the short windows reach.  Only
   filters, GROUP BY and DISTINCT: nothing an engine lacks.
2. :func:`roll_months` (numpy, the same for every engine): the rows laid out on the dense
   grid (what came before the first month any window needs carried into it), days per
   month and +1 / -1 deltas counting distinct orders and product lines, cumulative sums
   and running MIN / MAX along the months, each date's windows read as differences of
   running sums.  Accounts are rolled in blocks (:data:`GRID_CELLS` cells
   per array), so a huge book costs bounded memory.
3. :func:`history_orders`: 1 then 2, the result an in-memory table joined by the engine to
   the rest of the history (opportunities, tickets, activities, contacts, registry —
   those stay in the engine) — Ibis sends it to whichever engine runs the source.

Purchases and money follow :mod:`~kamlib.features.definitions`; the result has the columns
and values of the one-date order primitives (``_orders_single``) for each date ``k``.
"""

from __future__ import annotations

from collections.abc import Mapping

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


# -- 1. the engine: sparse rows ---------------------------------------------------------------
def monthly_reduction(
    orders: ir.Table, products: ir.Table | None, plan: _Plan
) -> dict[str, ir.Table]:
    """The order lines up to the plan's last date, reduced by the engine to sparse rows.

    - ``months``: one row per (account, month ``i``) with a line: ``amount, cost, costed``
      (cents; ``cost`` and ``costed`` over lines with a cost), ``n_lines``,
      ``first_purchase``, ``last_purchase`` — every month, also those before
      :func:`first_month` (carried into it by :func:`roll_months`);
    - ``purchases``: the distinct (account, ``order_id``, ``order_date``) of the purchases
      in the months a short window of the dates reaches;
    - ``lines``: the distinct (account, ``product_line``, month ``i``) of those purchases
      with a product line (from ``products`` where the line lacks it).

    Only filters, GROUP BY and DISTINCT: nothing an engine lacks.
    """
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
    placed = recent.select("account_id", "order_id", "order_date").distinct()
    # the product lines come from their own scan (a subexpression shared with the orders
    # would be materialised by DuckDB); the products join sits before the same filter
    coded = _order_lines(orders, products)
    coded = coded.filter(
        (coded.order_date <= last)
        & (coded.order_date > first_short)
        & (coded.amount > 0)
        & coded.product_line.notnull()
    )
    coded = coded.select("account_id", "product_line", i=_month_number(coded.order_date))
    return {"months": per_month, "purchases": placed, "lines": coded.distinct()}


# -- 2. numpy: the dense grid, rolled ------------------------------------------------------------
_NO_FIRST = np.iinfo(np.int32).max  # date32 sentinels: no purchase yet
_NO_LAST = np.iinfo(np.int32).min
_EPOCH_MONTH = 1970 * 12  # month_number of January 1970 (day 0 of date32)


class _Sparse:
    """(account code, grid column, value) triples of one quantity."""

    def __init__(self, acc: np.ndarray, col: np.ndarray, value: np.ndarray) -> None:
        self.acc, self.col, self.value = acc, col, value
        self._sorted = False

    def block(self, lo: int, hi: int, width: int, fill: int, ufunc: np.ufunc) -> np.ndarray:
        """The accounts ``lo … hi - 1`` of ``accounts`` as an (accounts × months) array,
        ``ufunc`` combining the triples of one cell."""
        acc, col, value = self.acc, self.col, self.value
        if lo > 0 or hi <= (acc.max(initial=-1)):  # one block of several: sort once, slice
            if not self._sorted:
                order = np.argsort(acc, kind="stable")
                self.acc, self.col, self.value = acc[order], col[order], value[order]
                self._sorted = True
            a, b = np.searchsorted(self.acc, [lo, hi])
            acc, col, value = self.acc[a:b], self.col[a:b], self.value[a:b]
        g = np.full((hi - lo, width), fill, dtype=value.dtype)
        ufunc.at(g, (acc - lo, col), value)
        return g


def roll_months(
    reduced: Mapping[str, pa.Table], plan: _Plan, *, cells: int | None = None
) -> pa.Table:
    """The order primitives of every date of ``plan`` from :func:`monthly_reduction`'s rows.

    Per block of accounts: one (accounts × months) int64 array per quantity, column 0 the
    (empty) month before :func:`first_month`, cumulative sums along the months; the sum over
    the months ``a … b - 1`` before date k's month m is ``cum[m - a] - cum[m - b]``.
    Distinct orders and product lines of the short window are running sums of +1 / -1
    deltas: a key bought in month i counts in the windows of the months i … e, where e is
    the month before the key's next purchase month or the window's last month (i + S - 1),
    whichever comes first; +1 at i and -1 at e + 1 add up to the count at every month.
    One row per (k, account with a line on or before date k), as :data:`ROLLED_SCHEMA`;
    ``cells``: the block size (default :data:`GRID_CELLS`).
    """
    wnd = plan.windows
    s_m, l_m = wnd.trailing_months, wnd.long_months
    start = first_month(plan)
    width = max(month_number(c.as_of) for c in plan.cuts) - start + 2
    months = reduced["months"].filter(pc.is_valid(reduced["months"]["account_id"]))
    if months.num_rows == 0:
        return ROLLED_SCHEMA.empty_table()
    encoded = pc.dictionary_encode(months["account_id"]).combine_chunks()
    names = encoded.dictionary.cast(pa.string())
    acc = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    col = months["i"].to_numpy().astype(np.int64) - start + 1
    early = col < 1
    col = np.maximum(col, 1)  # lines before the first month: carried into it
    amount = _ints(months["amount"])
    bought = pc.and_(pc.is_valid(months["last_purchase"]), pc.is_valid(months["amount"]))
    sparse = {
        "amount": _Sparse(acc, col, np.where(early, 0, amount)),
        "cost": _Sparse(acc, col, np.where(early, 0, _ints(months["cost"]))),
        "costed": _Sparse(acc, col, np.where(early, 0, _ints(months["costed"]))),
        "n_lines": _Sparse(acc, col, _ints(months["n_lines"])),
        "bought": _Sparse(acc, col, (bought.to_numpy() & ~early).astype(np.int64)),
    }
    first = _Sparse(acc, col, _days(months["first_purchase"], _NO_FIRST))
    last = _Sparse(acc, col, _days(months["last_purchase"], _NO_LAST))

    def codes(table: pa.Table) -> np.ndarray:
        return pc.index_in(table["account_id"], value_set=names).to_numpy().astype(np.int64)

    placed = _with_account(reduced["purchases"])
    p_acc, p_day = codes(placed), _days(placed["order_date"], 0).astype(np.int64)
    p_col = p_day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    p_col += _EPOCH_MONTH - start + 1
    # distinct purchase days per account (a day lies in one month): account << 32 | day
    day_keys = _distinct((p_acc << 32) | (p_day + 2**31))
    d_day = (day_keys & 0xFFFFFFFF) - 2**31
    d_col = d_day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    d_col += _EPOCH_MONTH - start + 1
    sparse["days"] = _Sparse(day_keys >> 32, d_col, np.ones(len(day_keys), dtype=np.int64))
    known = pc.is_valid(placed["order_id"]).to_numpy(zero_copy_only=False)  # as COUNT(DISTINCT)
    order_codes = _key_codes(placed["order_id"].filter(known))
    sparse["orders"] = _deltas(p_acc[known], order_codes, p_col[known], s_m, width)
    coded = _with_account(reduced["lines"])
    l_col = coded["i"].to_numpy().astype(np.int64) - start + 1
    sparse["lines"] = _deltas(codes(coded), _key_codes(coded["product_line"]), l_col, s_m, width)

    per_block = max(1, (GRID_CELLS if cells is None else cells) // width)
    dates = [(k, month_number(c.as_of) - start + 1) for k, c in enumerate(plan.cuts)]
    pieces: list[dict[str, np.ndarray]] = []
    for lo in range(0, len(names), per_block):
        hi = min(lo + per_block, len(names))
        cum = {c: np.cumsum(v.block(lo, hi, width, 0, np.add), axis=1) for c, v in sparse.items()}
        firsts = np.minimum.accumulate(first.block(lo, hi, width, _NO_FIRST, np.minimum), axis=1)
        lasts = np.maximum.accumulate(last.block(lo, hi, width, _NO_LAST, np.maximum), axis=1)
        ids = np.arange(lo, hi)
        for k, m in dates:
            piece = _at_month(cum, m, s_m, l_m, wnd.quarters)
            piece |= {"first_purchase": firsts[:, m], "last_purchase": lasts[:, m]}
            piece |= {"k": np.full(hi - lo, k, dtype=np.int64), "account": ids}
            keep = cum["n_lines"][:, m] > 0
            pieces.append({c: v[keep] for c, v in piece.items()})
    out = {c: np.concatenate([p[c] for p in pieces]) for c in pieces[0]}
    columns: dict[str, pa.Array] = {
        "k": pa.array(out.pop("k")),
        "account_id": names.take(pa.array(out.pop("account"))),
        "has_lines": pa.array(np.ones(len(out["quarters"]), dtype=bool)),
    }
    for name, sentinel in (("first_purchase", _NO_FIRST), ("last_purchase", _NO_LAST)):
        days_since = out.pop(name)
        columns[name] = pa.array(
            days_since.astype(np.int32), pa.int32(), mask=days_since == sentinel
        ).cast(pa.date32())
    columns |= {c: pa.array(v.astype(np.int64)) for c, v in out.items()}
    return pa.table({f.name: columns[f.name] for f in ROLLED_SCHEMA}, schema=ROLLED_SCHEMA)


def _with_account(table: pa.Table) -> pa.Table:
    """The rows with an account (a line without one belongs to no account's features)."""
    return table.filter(pc.is_valid(table["account_id"]))


def _key_codes(column: pa.ChunkedArray) -> np.ndarray:
    """Integer codes of a key column (order ids, product lines): equal keys, equal codes."""
    encoded = pc.dictionary_encode(column).combine_chunks()
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)


def _distinct(keys: np.ndarray) -> np.ndarray:
    """The distinct values of an int64 array, sorted (a sort and a comparison of neighbours:
    faster than ``np.unique``'s hashing on millions of keys)."""
    keys = np.sort(keys)
    new = np.ones(len(keys), dtype=bool)
    new[1:] = keys[1:] != keys[:-1]
    return keys[new]


def _deltas(acc: np.ndarray, key: np.ndarray, col: np.ndarray, months: int, width: int) -> _Sparse:
    """+1 / -1 per (account, grid column) whose running sum counts the distinct keys bought
    in the ``months`` months ending at each column (see :func:`roll_months`).

    The (account, key, month) triples as one int64, ``(account × keys + key) × width +
    month``, sorted: a key's months are neighbours, in order.
    """
    n_keys = int(key.max(initial=0)) + 1
    if (int(acc.max(initial=0)) + 1) * n_keys * width < 2**62:
        packed = _distinct((acc * n_keys + key) * width + col)
        pair, col = packed // width, packed % width
        acc, same = pair // n_keys, pair[1:] == pair[:-1]
    else:  # too many to pack: sort the triples
        order = np.lexsort((col, key, acc))
        acc, key, col = acc[order], key[order], col[order]
        new = np.ones(len(acc), dtype=bool)
        new[1:] = (acc[1:] != acc[:-1]) | (key[1:] != key[:-1]) | (col[1:] != col[:-1])
        acc, key, col = acc[new], key[new], col[new]
        same = (acc[1:] == acc[:-1]) & (key[1:] == key[:-1])
    stop = col + months  # the month after the window's last month …
    stop[:-1] = np.where(same, np.minimum(col[1:], stop[:-1]), stop[:-1])  # … or the next one
    ends = stop < width
    return _Sparse(
        np.concatenate([acc, acc[ends]]),
        np.concatenate([col, stop[ends]]),
        np.concatenate([np.ones(len(acc), np.int64), np.full(int(ends.sum()), -1, np.int64)]),
    )


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
    parts = monthly_reduction(tables["orders"], tables.get("products"), plan)
    reduced = {name: _fetch(src.backend, expr) for name, expr in parts.items()}
    return ibis.memtable(roll_months(reduced, plan))


def empty_history_orders() -> ir.Table:
    """An empty table of the rolled order primitives (to build the history's expression
    without running the reduction, e.g. to compile it for another engine)."""
    return ibis.memtable(ROLLED_SCHEMA.empty_table())
