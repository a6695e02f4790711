"""Order lines: run-rate business, project deliveries of won deals, returns and credit notes.

Run-rate orders follow a Poisson process per account whose rate moves with the account's
trend and the season; every order has a few lines whose products follow the account's
product-line mix.  The expected yearly revenue of an account is exactly its hidden
``value`` (the quantity model is chosen so), which is what makes the truth's
``true_value_next_12m`` an exact expectation rather than an estimate.  Everything is
vectorised: no Python loop runs per order or order line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kamlib.demo import vocabulary as voc
from kamlib.demo._common import (
    SEASON,
    YEAR_DAYS,
    Calendar,
    ScaleSpec,
    canonical_frame,
    cumulative,
    dates,
    make_ids,
    sample_rows,
    take_text,
    to_workday,
)
from kamlib.demo.company import LINES, MEDIAN_VALUE, Customers
from kamlib.demo.pipeline import Pipeline

RETURN_RATE = 0.012  # share of lines returned or credited later
FULL_RETURN = 0.55  # of those, share returned in full (else a partial credit note)
CREDIT_MEAN = 0.175  # mean credited share of a partial credit note
RETURN_FACTOR = 1.0 - RETURN_RATE * (FULL_RETURN + (1 - FULL_RETURN) * CREDIT_MEAN)
MARGIN = np.array([v[1] for v in voc.PRODUCT_LINES.values()])
UNITS = list(dict.fromkeys(v[0] for v in voc.PRODUCT_LINES.values()))
UNIT_OF_LINE = np.array([UNITS.index(v[0]) for v in voc.PRODUCT_LINES.values()])


@dataclass
class OrderBook:
    orders: pd.DataFrame
    project_orders: pd.DataFrame  # truth: order_id → opportunity_id
    rate: np.ndarray  # run-rate orders per year at the end date (before churn)
    runrate_next_12m: np.ndarray  # expected run-rate revenue after the end date, per account
    project_next_12m: np.ndarray  # expected project revenue after the end date, per account
    realised_next_12m: np.ndarray  # what the hidden year actually brought, per account
    monthly: pd.DataFrame  # visible revenue by account and month (for targets)
    trailing: np.ndarray  # revenue per account in the 366 days up to the end date


@dataclass
class _Part:
    """Order headers and their lines (line ``header`` indexes the header arrays)."""

    acct: np.ndarray
    day: np.ndarray
    channel: np.ndarray
    opp: np.ndarray  # the won deal a delivery belongs to (-1: none)
    kind: np.ndarray  # 0 run-rate, 1 project delivery, 2 return, 3 credit note
    header: np.ndarray
    product: np.ndarray
    quantity: np.ndarray
    amount: np.ndarray
    cost: np.ndarray


def draw_orders(
    rng: np.random.Generator,
    cal: Calendar,
    cust: Customers,
    pipe: Pipeline,
    scale: ScaleSpec,
    products: tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray],
) -> OrderBook:
    prod_frame, prod_line, list_price, popularity = products
    n = cust.n
    value = cust.value
    buying = value > 0

    # -- the quantity model: expected revenue per order line, per account ---------------------
    rate0 = np.where(
        buying, np.clip(scale.order_rate * (value / MEDIAN_VALUE) ** 0.55, 0.3, 3000.0), 0.0
    )
    lines = cust.lines_per_order
    tau = np.where(buying, value / np.maximum(rate0 * lines, 1e-9), 1.0)
    unit = list_price[None, :] * (1.0 - cust.discount[:, None])
    fit = popularity[None, :] / (1.0 + unit / (2.0 * tau[:, None]))
    onehot = np.eye(len(LINES))[prod_line]
    line_sum = fit @ onehot
    weight = cust.line_mix[:, prod_line] * fit / line_sum[:, prod_line]
    line_value = (weight * np.maximum(unit, tau[:, None])).sum(axis=1)
    rate = np.where(buying, value / (lines * line_value), 0.0)  # so E[revenue/yr] == value

    # -- expected orders per unit of rate, per account and month --------------------------------
    seg_end = cal.seg_start + cal.seg_days
    t_mid = cal.years_to_end(cal.seg_start + cal.seg_days / 2.0)
    trend = np.exp(cust.growth[:, None] * np.maximum(t_mid[None, :], cust.change_t[:, None]))
    lo = np.maximum(cal.seg_start[None, :], cust.acquired_day[:, None])
    hi = np.minimum(seg_end[None, :], cust.churn_day[:, None])
    active = np.maximum(hi - lo, 0)
    shape = trend * SEASON[cal.seg_month - 1][None, :] * active / YEAR_DAYS
    runrate_next = value * (shape * cal.seg_future[None, :]).sum(axis=1) * RETURN_FACTOR

    run = _run_rate(rng, cal, cust, rate[:, None] * shape, lo, active, weight, unit, tau, products)
    proj, project_next = _projects(rng, cal, cust, pipe, products)
    book = _concat(run, proj)
    del run, proj
    book = _concat(book, _returns(rng, cal, book))

    line_day = book.day[book.header]
    future = (line_day > cal.end) & (line_day <= cal.horizon)
    realised = np.bincount(book.acct[book.header[future]], book.amount[future], minlength=n)
    recent = (line_day > cal.end - 366) & (line_day <= cal.end)
    trailing = np.bincount(book.acct[book.header[recent]], book.amount[recent], minlength=n)
    del line_day, future, recent
    orders, project_orders, monthly = _visible_book(cal, cust, pipe, book, prod_frame, prod_line)
    return OrderBook(
        orders=orders,
        project_orders=project_orders,
        rate=rate,
        runrate_next_12m=runrate_next,
        project_next_12m=project_next,
        realised_next_12m=realised,
        monthly=monthly,
        trailing=trailing,
    )


def _run_rate(
    rng: np.random.Generator,
    cal: Calendar,
    cust: Customers,
    expected: np.ndarray,
    lo: np.ndarray,
    active: np.ndarray,
    weight: np.ndarray,
    unit: np.ndarray,
    tau: np.ndarray,
    products: tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray],
) -> _Part:
    """Run-rate orders, month by month, and their lines."""
    _, prod_line, list_price, _ = products
    count = rng.poisson(expected).ravel()
    cell = np.repeat(np.arange(count.size, dtype=np.int64), count)
    acct = (cell // expected.shape[1]).astype(np.int32)
    first, span = lo.ravel()[cell], active.ravel()[cell]
    day = first + np.floor(rng.random(len(cell)) * span).astype(np.int64)
    # weekends move to a workday, within the customer's active days of the month
    day = np.clip(to_workday(day, cal.horizon), first, first + span - 1).astype(np.int32)
    del cell, first, span
    n_orders = len(acct)
    n_lines = 1 + rng.poisson(cust.lines_per_order[acct] - 1.0)
    header = np.repeat(np.arange(n_orders, dtype=np.int32), n_lines)
    del n_lines
    l_acct = acct[header]
    product = sample_rows(rng, cumulative(weight), l_acct).astype(np.int16)
    l_unit = unit[l_acct, product]
    quantity = 1.0 + rng.poisson(np.maximum(tau[l_acct] / l_unit - 1.0, 0.0))
    del l_acct
    amount = np.round(quantity * l_unit * (1.0 + rng.normal(0.0, 0.02, len(quantity))), 2)
    del l_unit
    cost = quantity * list_price[product] * (1.0 - MARGIN[prod_line[product]])
    cost = np.round(cost * np.exp(rng.normal(0.0, 0.05, len(quantity))), 2)
    channel = np.where(
        rng.random(n_orders) < 0.85, cust.channel[acct], rng.integers(4, size=n_orders)
    ).astype(np.int8)
    return _Part(
        acct=acct, day=day, channel=channel, opp=np.full(n_orders, -1, dtype=np.int32),
        kind=np.zeros(n_orders, dtype=np.int8), header=header, product=product,
        quantity=quantity, amount=amount, cost=cost,
    )  # fmt: skip


def _projects(
    rng: np.random.Generator,
    cal: Calendar,
    cust: Customers,
    pipe: Pipeline,
    products: tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray],
) -> tuple[_Part, np.ndarray]:
    """Every deal gets a delivery plan; won deals deliver it.

    Also returns the expected project revenue per account in the hidden year: certain for
    deals won by the end date, weighted by the true win probability for the others.
    """
    _, prod_line, list_price, popularity = products
    m = len(pipe.account)
    k = 1 + np.minimum(rng.poisson(0.7, m), 2)
    d_opp = np.repeat(np.arange(m), k)
    gaps = rng.integers(7, 61, len(d_opp))
    first = np.r_[0, np.cumsum(k)[:-1]]
    cum_gap = np.cumsum(gaps)
    cum_gap -= np.repeat(cum_gap[first] - gaps[first], k)
    d_day = to_workday(pipe.close[d_opp] + cum_gap, cal.horizon + 400)
    share = rng.gamma(2.0, 1.0, len(d_opp))
    share /= np.bincount(d_opp, share, minlength=m)[d_opp]
    d_amount = pipe.amount[d_opp] * share
    in_year = (d_day > cal.end) & (d_day <= cal.horizon)
    settled = pipe.close <= cal.end
    weight_next = np.where(settled, pipe.won.astype(float), pipe.p_true)[d_opp]
    project_next = np.bincount(
        pipe.account[d_opp], in_year * weight_next * d_amount * RETURN_FACTOR, minlength=cust.n
    )
    real = pipe.won[d_opp] & (d_day <= cal.horizon)
    d_opp, d_day, d_amount = d_opp[real], d_day[real], d_amount[real]
    n_proj = len(d_opp)
    p_lines = 1 + rng.poisson(1.2, n_proj)
    header = np.repeat(np.arange(n_proj, dtype=np.int32), p_lines)
    line_share = rng.gamma(1.5, 1.0, len(header))
    line_share /= np.bincount(header, line_share, minlength=n_proj)[header]
    amount = np.round(d_amount[header] * line_share, 2)
    line_pop = np.where(prod_line[None, :] == np.arange(len(LINES))[:, None], popularity, 0.0)
    product = sample_rows(rng, cumulative(line_pop), pipe.line[d_opp][header]).astype(np.int16)
    acct = pipe.account[d_opp].astype(np.int32)
    l_unit = list_price[product] * (1.0 - cust.discount[acct][header])
    quantity = np.maximum(1.0, np.round(amount / l_unit))
    cost = amount * (1.0 - MARGIN[prod_line[product]]) * np.exp(rng.normal(0.0, 0.06, len(header)))
    part = _Part(
        acct=acct, day=d_day.astype(np.int32),
        channel=np.where(rng.random(n_proj) < 0.7, 0, 2).astype(np.int8),
        opp=d_opp.astype(np.int32), kind=np.ones(n_proj, dtype=np.int8), header=header,
        product=product, quantity=quantity, amount=amount, cost=np.round(cost, 2),
    )  # fmt: skip
    return part, project_next


def _returns(rng: np.random.Generator, cal: Calendar, book: _Part) -> _Part:
    """Returns and credit notes: a later, negative, one-line order of the same customer."""
    picked = np.flatnonzero(rng.random(len(book.header)) < RETURN_RATE)
    full = rng.random(len(picked)) < FULL_RETURN
    credit = rng.uniform(0.05, 0.30, len(picked))
    source = book.header[picked]
    day = to_workday(book.day[source] + rng.integers(7, 76, len(picked)), cal.horizon + 400)
    amount = book.amount[picked]
    return _Part(
        acct=book.acct[source], day=day.astype(np.int32), channel=book.channel[source],
        opp=np.full(len(picked), -1, dtype=np.int32),
        kind=np.where(full, 2, 3).astype(np.int8),
        header=np.arange(len(picked), dtype=np.int32), product=book.product[picked],
        quantity=np.where(full, -book.quantity[picked], np.nan),
        amount=np.where(full, -amount, -np.round(amount * credit, 2)),
        cost=np.where(full, -book.cost[picked], 0.0),
    )  # fmt: skip


def _concat(a: _Part, b: _Part) -> _Part:
    return _Part(
        acct=np.concatenate([a.acct, b.acct]),
        day=np.concatenate([a.day, b.day]),
        channel=np.concatenate([a.channel, b.channel]),
        opp=np.concatenate([a.opp, b.opp]),
        kind=np.concatenate([a.kind, b.kind]),
        header=np.concatenate([a.header, b.header + np.int32(len(a.acct))]),
        product=np.concatenate([a.product, b.product]),
        quantity=np.concatenate([a.quantity, b.quantity]),
        amount=np.concatenate([a.amount, b.amount]),
        cost=np.concatenate([a.cost, b.cost]),
    )


def _visible_book(
    cal: Calendar,
    cust: Customers,
    pipe: Pipeline,
    book: _Part,
    prod_frame: pd.DataFrame,
    prod_line: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Cut at the end date, number the orders by date, build the ``orders`` frame."""
    shown = book.day <= cal.end
    head_order = np.lexsort((book.kind, book.acct, book.day))
    head_order = head_order[shown[head_order]].astype(np.int32)
    rank = np.full(len(book.day), -1, dtype=np.int32)
    rank[head_order] = np.arange(len(head_order), dtype=np.int32)
    prefix = np.array(["SO", "SO", "RT", "CN"])[book.kind[head_order]]
    ids = make_ids("", np.arange(1, len(head_order) + 1) + 10_000_000, 8)
    order_id = pd.array(pd.Series(prefix) + ids, dtype="str")
    del prefix, ids
    line_rank = rank[book.header]
    keep = np.flatnonzero(line_rank >= 0)
    keep = keep[np.argsort(line_rank[keep], kind="stable")]
    lr = line_rank[keep]
    del line_rank
    starts = np.r_[True, lr[1:] != lr[:-1]]
    pos = np.arange(len(lr))
    line_no = pos - np.maximum.accumulate(np.where(starts, pos, 0)) + 1
    del starts, pos
    head = head_order[lr]
    acct = book.acct[head]
    day = book.day[head]
    product = book.product[keep]
    line_of = prod_line[product]
    amount = book.amount[keep]
    region_names = np.unique(cust.region)
    region_code = np.searchsorted(region_names, cust.region)
    orders = canonical_frame(
        "orders",
        {
            "order_id": pd.Series(order_id.take(lr)),
            "line_no": line_no.astype(float),
            "account_id": take_text(cust.account_id, acct),
            "order_date": dates(day),
            "product_id": take_text(prod_frame["product_id"].to_numpy(dtype=object), product),
            "product_line": take_text(LINES, line_of),
            "quantity": book.quantity[keep],
            "amount": amount,
            "cost": book.cost[keep],
            "business_unit": take_text(UNITS, UNIT_OF_LINE[line_of]),
            "region": take_text(region_names, region_code[acct]),
            "channel": take_text(voc.CHANNELS, book.channel[head]),
        },
    )
    proj_heads = head_order[book.kind[head_order] == 1]
    project_orders = pd.DataFrame(
        {
            "order_id": pd.Series(order_id.take(rank[proj_heads])),
            "opportunity_id": pd.array(pipe.opportunity_id[book.opp[proj_heads]], dtype="str"),
        }
    )
    month = (dates(day).astype("datetime64[M]") - np.datetime64("1970-01", "M")).astype(np.int64)
    monthly = (
        pd.DataFrame({"account": acct, "month": month, "amount": amount})
        .groupby(["account", "month"], sort=True)["amount"]
        .sum()
        .reset_index()
    )
    return orders, project_orders, monthly
