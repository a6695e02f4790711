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
   cents, line counts, first and last purchase date; distinct purchase days per (account,
   month) of the months the short windows reach; and per account the orders and the product
   lines bought there, counted per *set of months* (int64 masks, one bit per month).  An
   engine with ``BIT_OR`` (DuckDB) ORs the bits of the lines — the days too, one bit per
   day of the month in the months' own GROUP BY: three queries, no DISTINCT; one without
   (Spark) sums the bits of the distinct (account, key, month) rows (a sum of distinct
   powers of two is their OR) and counts the days in a fourth query.  Only filters,
   GROUP BY, DISTINCT and integer arithmetic; no order id or product line leaves the engine.
2. :func:`roll_months` (numpy, the same for every engine): the rows laid out on the dense
   grid (what came before the first month any window needs carried into it), cumulative
   sums and running MIN / MAX along the months, each date's windows read as differences of
   running sums; the distinct orders and product lines of a date's short window are the
   masks with a bit in its months.  Accounts are rolled in blocks (:data:`GRID_CELLS`
   cells per array), so a huge book costs bounded memory.
3. :func:`~kamlib.features.history_events.history_parts`: 1 then 2, the result an in-memory
   table joined by the engine to the rest of the history (with the opportunities, tickets
   and activities of :mod:`~kamlib.features.history_events`; contacts and the registry stay
   in the engine) — Ibis sends it to whichever engine runs the source.

Purchases and money follow :mod:`~kamlib.features.definitions`; the result has the columns
and values of the one-date order primitives (``_orders_single``) for each date ``k``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kamlib.features.definitions import _cents, _lit, _order_lines
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
#: Months per key mask (bits 0 … 61 of an int64: no sign bit, no shift overflow on any engine).
MASK_BITS = 62


def recent_base(plan: _Plan) -> int:
    """The first month (``month_number``) a short window of the plan's dates reaches."""
    return min(month_number(c.as_of) for c in plan.cuts) - plan.windows.trailing_months + 1


def mask_columns(plan: _Plan) -> int:
    """How many int64 masks hold one bit per month from :func:`recent_base` to the last date."""
    span = max(month_number(c.as_of) for c in plan.cuts) - recent_base(plan) + 1
    return -(-span // MASK_BITS)


@dataclass(frozen=True)
class ReductionBounds:
    """What the engine's queries of a month-end history depend on besides the tables (the
    order reduction here, the other tables' rows in
    :mod:`~kamlib.features.history_events`): the dates written into their SQL — so a
    compiled query serves other dates with these replaced (:mod:`~kamlib.features.prepared`)
    — and how many masks (:func:`mask_columns`) it has."""

    last: dt.date  # the last date
    first: dt.date  # the first date
    first_short: dt.date  # the earliest short window starts after this day
    recent: dt.date  # 1st of the month of recent_base: bit 0 of the masks
    masks: int

    @property
    def dates(self) -> tuple[dt.date, dt.date, dt.date, dt.date]:
        """The four dates, in the order of the fields (a compiled query's placeholders)."""
        return (self.last, self.first, self.first_short, self.recent)

    @classmethod
    def placeholders(cls, masks: int, year: int) -> ReductionBounds:
        """Bounds of 1 January of ``year``, ``year`` + 1 … (one per date), for compiling."""
        return cls(*(dt.date(year + j, 1, 1) for j in range(4)), masks=masks)


def reduction_bounds(plan: _Plan) -> ReductionBounds:
    """The :class:`ReductionBounds` of a plan of month ends."""
    base = recent_base(plan)
    return ReductionBounds(
        last=plan.last,
        first=min(c.as_of for c in plan.cuts),
        first_short=min(c.start_short for c in plan.cuts),
        recent=dt.date(base // 12, base % 12 + 1, 1),
        masks=mask_columns(plan),
    )


def _key_masks(keyed: ir.Table, key: str, bounds: ReductionBounds, *, bit_or: bool) -> ir.Table:
    """Per account: how many keys (orders, product lines) were bought in each set of months.

    ``keyed`` holds (account_id, ``key``, month ``i``) of the recent purchases.  Each key's
    distinct months become bits of int64 masks (bit ``(i - base) % 62`` of mask
    ``(i - base) // 62``), then the keys are counted per (account, masks): a count of keys
    bought in a window is a count of masks with a bit in it, whatever the key.  ``bit_or``:
    the engine ORs the bits of the lines (DuckDB's ``BIT_OR``: no DISTINCT needed, a bit
    ORed twice is set once); otherwise the distinct (account, key, month) rows are summed
    (a sum of distinct powers of two is their OR, and an engine without ``BIT_OR`` sums).
    """
    months = keyed if bit_or else keyed.select("account_id", key, "i").distinct()
    offset = months.i - _month_number(_lit(bounds.recent))  # a constant for the engine
    one = ibis.literal(1, "int64")
    shifted = {
        f"m{p}": ibis.ifelse(
            (offset >= p * MASK_BITS) & (offset < (p + 1) * MASK_BITS),
            one << (offset - p * MASK_BITS),
            ibis.literal(0, "int64"),
        )
        for p in range(bounds.masks)
    }
    bits = {m: v.bit_or() if bit_or else v.sum() for m, v in shifted.items()}
    per_key = months.group_by("account_id", key).aggregate(**bits)
    return per_key.group_by("account_id", *bits).aggregate(n=per_key.count())


def monthly_reduction(
    orders: ir.Table, products: ir.Table | None, bounds: ReductionBounds, *, bit_or: bool = False
) -> dict[str, ir.Table]:
    """The order lines up to the last date, reduced by the engine to sparse rows.

    - ``months``: one row per (account, month ``i``) with a line: ``amount, cost, costed``
      (cents; ``cost`` and ``costed`` over lines with a cost), ``n_lines``,
      ``first_purchase``, ``last_purchase`` — every month, also those before
      :func:`first_month` (carried into it by :func:`roll_months`);
    - the distinct purchase days per (account, month ``i``) a short window of the dates
      reaches: with ``bit_or`` (an engine with ``BIT_OR``) a column ``day_bits`` of
      ``months``, bit ``d - 1`` set for a purchase on day ``d`` of the month (counted by
      numpy), no query of their own; otherwise ``days``, ``n`` per (account, month);
    - ``orders`` and ``lines``: per account and set of months (``m0``, ``m1`` …:
      :func:`_key_masks`), ``n`` orders / product lines bought in exactly those of the
      recent months (lines: from ``products`` where the line lacks it).

    Only filters, GROUP BY, DISTINCT, integer arithmetic (and ``BIT_OR`` where the engine
    has it): nothing an engine lacks, and nothing but numbers and account ids leaves the
    engine.
    """
    last, first_short = _lit(bounds.last), _lit(bounds.first_short)
    lines = orders.filter(orders.order_date <= last)
    lines = lines.mutate(i=_month_number(lines.order_date))
    purchase = lines.amount > 0
    costed = lines.cost.notnull()
    amount = _cents(lines.amount)
    days = {}
    if bit_or:  # the purchase days of the recent months, one bit per day of the month
        day_bit = ibis.literal(1, "int64") << (lines.order_date.day().cast("int64") - 1)
        days["day_bits"] = day_bit.bit_or(where=purchase & (lines.order_date > first_short))
    per_month = lines.group_by("account_id", "i").aggregate(
        amount=amount.sum(),
        cost=_cents(lines.cost).sum(where=costed),
        costed=amount.sum(where=costed),
        first_purchase=lines.order_date.min(where=purchase),
        last_purchase=lines.order_date.max(where=purchase),
        n_lines=lines.count(),
        **days,
    )
    recent = orders.filter(
        (orders.order_date <= last) & (orders.order_date > first_short) & (orders.amount > 0)
    )
    recent = recent.mutate(i=_month_number(recent.order_date))
    placed_orders = recent.filter(recent.order_id.notnull())  # as COUNT(DISTINCT order_id)
    # the product lines come from their own scan (a subexpression shared with the orders
    # would be materialised by DuckDB); the products join sits before the same filter
    coded = _order_lines(orders, products)
    coded = coded.filter(
        (coded.order_date <= last)
        & (coded.order_date > first_short)
        & (coded.amount > 0)
        & coded.product_line.notnull()
    )
    coded = coded.mutate(i=_month_number(coded.order_date))
    out = {
        "months": per_month,
        "orders": _key_masks(placed_orders, "order_id", bounds, bit_or=bit_or),
        "lines": _key_masks(coded, "product_line", bounds, bit_or=bit_or),
    }
    if not bit_or:
        placed = recent.select("account_id", "order_date", "i").distinct()
        out["days"] = placed.group_by("account_id", "i").aggregate(n=placed.count())
    return out


# -- 2. numpy: the dense grid, rolled ------------------------------------------------------------
_NO_FIRST = np.iinfo(np.int32).max  # date32 sentinels: no purchase yet
_NO_LAST = np.iinfo(np.int32).min


class _Sparse:
    """(account code, grid column, value) triples of one quantity; ``shared`` marks the rows
    that may share a cell (the months carried into the first one), every other row has a
    cell of its own."""

    def __init__(
        self, acc: np.ndarray, col: np.ndarray, value: np.ndarray, shared: np.ndarray | None
    ) -> None:
        self.acc, self.col, self.value, self.shared = acc, col, value, shared
        self._sorted = False

    def block(self, lo: int, hi: int, width: int, fill: int, ufunc: np.ufunc) -> np.ndarray:
        """The accounts ``lo … hi - 1`` as an (accounts × months) array, ``ufunc`` combining
        the values of a shared cell."""
        acc, col, value, shared = self.acc, self.col, self.value, self.shared
        if lo > 0 or hi <= (acc.max(initial=-1)):  # one block of several: sort once, slice
            if not self._sorted:
                order = np.argsort(acc, kind="stable")
                self.acc, self.col, self.value = acc[order], col[order], value[order]
                if shared is not None:
                    self.shared = shared[order]
                self._sorted = True
            a, b = np.searchsorted(self.acc, [lo, hi])
            acc, col, value = self.acc[a:b], self.col[a:b], self.value[a:b]
            shared = None if self.shared is None else self.shared[a:b]
        g = np.full((hi - lo, width), fill, dtype=value.dtype)
        if shared is None:
            g[acc - lo, col] = value
        else:  # a cell of its own: set; the shared ones combined (ufunc.at is slow: few rows)
            own = ~shared
            g[acc[own] - lo, col[own]] = value[own]
            ufunc.at(g, (acc[shared] - lo, col[shared]), value[shared])
        return g


def roll_months(
    reduced: Mapping[str, pa.Table], plan: _Plan, *, cells: int | None = None
) -> pa.Table:
    """The order primitives of every date of ``plan`` from :func:`monthly_reduction`'s rows.

    Per block of accounts: one (accounts × months) int64 array per quantity, column 0 the
    (empty) month before :func:`first_month`, cumulative sums along the months; the sum over
    the months ``a … b - 1`` before date k's month m is ``cum[m - a] - cum[m - b]``.
    Distinct orders and product lines of date k's short window: the keys whose month masks
    have a bit in the window's months (:func:`_window_counts`).
    One row per (k, account with a line on or before date k), as :data:`ROLLED_SCHEMA`;
    ``cells``: the block size (default :data:`GRID_CELLS`).
    """
    wnd = plan.windows
    s_m, l_m = wnd.trailing_months, wnd.long_months
    start = first_month(plan)
    width = max(month_number(c.as_of) for c in plan.cuts) - start + 2
    months = _with_account(reduced["months"])
    if months.num_rows == 0:
        return ROLLED_SCHEMA.empty_table()
    names, acc = account_codes(months["account_id"])
    col = months["i"].to_numpy().astype(np.int64) - start + 1
    early = col < 1
    col = np.maximum(col, 1)  # lines before the first month: carried into it
    shared = early | (col == 1)
    bought = pc.and_(pc.is_valid(months["last_purchase"]), pc.is_valid(months["amount"]))
    sparse = {
        "amount": _Sparse(acc, col, np.where(early, 0, _ints(months["amount"])), shared),
        "cost": _Sparse(acc, col, np.where(early, 0, _ints(months["cost"])), shared),
        "costed": _Sparse(acc, col, np.where(early, 0, _ints(months["costed"])), shared),
        "n_lines": _Sparse(acc, col, _ints(months["n_lines"]), shared),
        "bought": _Sparse(acc, col, (bought.to_numpy() & ~early).astype(np.int64), shared),
    }
    first = _Sparse(acc, col, _days(months["first_purchase"], _NO_FIRST), shared)
    last = _Sparse(acc, col, _days(months["last_purchase"], _NO_LAST), shared)

    def codes(table: pa.Table) -> np.ndarray:
        return pc.index_in(table["account_id"], value_set=names).to_numpy().astype(np.int64)

    if "days" in reduced:
        days = _with_account(reduced["days"])
        d_col = days["i"].to_numpy().astype(np.int64) - start + 1
        sparse["days"] = _Sparse(codes(days), d_col, _ints(days["n"]), None)
    else:  # one bit per purchase day of the month (none before the recent months)
        n_days = np.bitwise_count(_ints(months["day_bits"])).astype(np.int64)
        sparse["days"] = _Sparse(acc, col, np.where(early, 0, n_days), shared)
    keys = {}
    for name in ("orders", "lines"):
        table = _with_account(reduced[name])
        keys[name] = _window_counts(table, codes(table), plan, len(names))

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
            piece |= {"orders_short": keys["orders"][k, lo:hi], "lines_short": keys["lines"][k, lo:hi]}
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


def account_codes(column: pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """The distinct account ids of a column (no NULLs) and each row's position among them
    (int64): the rows of the per-date arrays numpy fills."""
    encoded = pc.dictionary_encode(column).combine_chunks()
    names = encoded.dictionary.cast(pa.string())
    return names, encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)


def _with_account(table: pa.Table) -> pa.Table:
    """The rows with an account (a line without one belongs to no account's features)."""
    return table.filter(pc.is_valid(table["account_id"]))


def _window_counts(table: pa.Table, acc: np.ndarray, plan: _Plan, accounts: int) -> np.ndarray:
    """(dates × accounts): the keys of :func:`_key_masks`' rows bought in each date's short
    window — the rows whose masks have a bit in the window's months, ``n`` keys each."""
    base, s_m = recent_base(plan), plan.windows.trailing_months
    masks = [_ints(table[f"m{p}"]) for p in range(mask_columns(plan))]
    n = _ints(table["n"]).astype(np.float64)  # counts of keys: exact as float64
    out = np.zeros((len(plan.cuts), accounts), dtype=np.int64)
    for k, cut in enumerate(plan.cuts):
        top = month_number(cut.as_of) - base  # the bit of the date's month
        bottom = top - s_m + 1
        hit = np.zeros(len(n), dtype=bool)
        for p, mask in enumerate(masks):
            a, b = max(bottom, p * MASK_BITS), min(top, p * MASK_BITS + MASK_BITS - 1)
            if a <= b:
                window = ((1 << (b - a + 1)) - 1) << (a - p * MASK_BITS)
                hit |= (mask & np.int64(window)) != 0
        out[k] = np.bincount(acc, weights=np.where(hit, n, 0.0), minlength=accounts).astype(np.int64)
    return out


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
        "days_short": window("days", s_m),
        "quarters": np.sum(active, axis=0, dtype=np.int64),
    }


def _ints(column: pa.ChunkedArray) -> np.ndarray:
    """An integer column as int64, NULL as 0 (a sum over nothing adds nothing)."""
    return pc.fill_null(column.cast(pa.int64()), 0).to_numpy()


def _days(column: pa.ChunkedArray, sentinel: int) -> np.ndarray:
    """A date column as int32 days since 1970, NULL as ``sentinel``."""
    return pc.fill_null(column.cast(pa.date32()).cast(pa.int32()), sentinel).to_numpy()


# -- 3. as a table the engine joins ------------------------------------------------------
def empty_history_orders() -> ir.Table:
    """An empty table of the rolled order primitives (to build the history's expression
    without running the reduction, e.g. to compile it for another engine)."""
    return ibis.memtable(ROLLED_SCHEMA.empty_table())
