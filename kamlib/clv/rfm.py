"""Order lines → one row per customer: frequency, recency, T and mean spend (the CLV input)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from kamlib.clv.base import show
from kamlib.errors import ConfigError, DataValidationError
from kamlib.frames import require_columns
from kamlib.periods import parse_date

#: Time units of ``recency`` and ``T``: days per unit.
TIME_UNITS: dict[str, float] = {"D": 1.0, "W": 7.0}
#: Days per month, to turn a horizon in months into time units.
DAYS_PER_MONTH = 365.25 / 12


def rfm_summary(
    orders: pd.DataFrame,
    *,
    observation_end: date | str,
    calibration_end: date | str | None = None,
    customer_col: str = "account_id",
    date_col: str = "order_date",
    amount_col: str | None = "amount",
    freq: str = "D",
) -> pd.DataFrame:
    """Summarise order lines into the frequency / recency / T / spend input of the CLV models.

    Purchases are counted per calendar day: all of a customer's lines on one day are merged
    into one purchase (their amounts summed).  Following Fader & Hardie, the first purchase
    day starts the customer's clock and is not a *repeat* purchase.

    Returns (net amounts) — a day's lines are summed, so a return booked on the same day
    as a purchase reduces that purchase.  A day whose net amount is **negative** is a
    return, not a purchase: it is left out of ``frequency``, ``recency`` and the means, so a
    return booked on a later day does not reduce the earlier purchase's value (the spend
    model needs positive purchase values).  A day netting to exactly 0 (free goods, a
    purchase fully returned the same day) still counts as a purchase of value 0.

    Parameters
    ----------
    orders
        Order lines with at least ``customer_col``, ``date_col`` and ``amount_col``
        (e.g. ``data.orders``).  Not modified.
    observation_end
        Last day of the observation window (``YYYY-MM-DD`` or a date); lines after it are
        ignored.  ``T`` is measured to it (or to ``calibration_end``).
    calibration_end
        If given, the summary describes the calibration period up to this day (customers
        whose first purchase is on or before it), and holdout columns describe what the
        same customers did after it, up to ``observation_end``.  Must be before
        ``observation_end``.
    customer_col, date_col, amount_col
        Column names in ``orders``.  ``amount_col=None``: no spend columns, every order day
        counts as a purchase.
    freq
        Time unit of ``recency``, ``T`` and ``duration_holdout``: ``"D"`` (days) or ``"W"``
        (weeks of 7 days, fractional).  Purchases are merged per day in both cases.

    Returns
    -------
    pd.DataFrame
        One row per customer (sorted by ``customer_col``, RangeIndex) with columns

        - ``customer_col`` — the customer;
        - ``frequency`` (int) — repeat purchase days in the (calibration) window;
        - ``recency`` (float) — time from the first to the last purchase day (0 if none);
        - ``T`` (float) — time from the first purchase day to the window's end;
        - ``monetary_value`` (float) — mean value of the repeat purchase days (the first
          purchase excluded, as in Fader–Hardie); NaN when ``frequency`` is 0;

        and with ``calibration_end`` also

        - ``frequency_holdout`` (int) — purchase days after ``calibration_end``;
        - ``monetary_value_holdout`` (float) — their mean value (NaN when none);
        - ``duration_holdout`` (float) — length of the holdout window, in ``freq`` units.

    Raises
    ------
    DataValidationError
        A required column is missing, or a customer, date or amount is empty or does not
        parse (the message names the column, row and value).
    ConfigError
        Bad ``freq``, unparseable dates, or ``calibration_end`` not before
        ``observation_end``.

    Examples
    --------
    >>> rfm_summary(data.orders, observation_end="2026-09-30", freq="W")  # doctest: +SKIP
      account_id  frequency  recency       T  monetary_value
    0      A0001         12    198.3   254.0         18250.0
    """
    unit_days = _unit_days(freq, "rfm_summary")
    if not isinstance(orders, pd.DataFrame):
        raise DataValidationError(
            f"rfm_summary needs the order lines as a pandas DataFrame. Got "
            f"{type(orders).__name__} instead."
        )
    needed = [customer_col, date_col] + ([amount_col] if amount_col is not None else [])
    for col in needed:
        require_columns(
            orders, [col], "the orders", found=True,
            fix=f"Pass the right name, e.g. rfm_summary(orders, {_keyword(col, customer_col, date_col)}=...).",
        )  # fmt: skip
    end = pd.Timestamp(parse_date(observation_end))
    cal_end = None if calibration_end is None else pd.Timestamp(parse_date(calibration_end))
    if cal_end is not None and cal_end >= end:
        raise ConfigError(
            f"calibration_end ({cal_end.date()}) must be before observation_end "
            f"({end.date()}): the holdout period lies between them."
        )

    customers = orders[customer_col]
    _no_blanks(customers, customer_col, "a customer id")
    day = _day_numbers(orders[date_col], date_col)
    amount = _amounts(orders[amount_col], amount_col) if amount_col is not None else None
    try:
        codes, ids = pd.factorize(customers, sort=True)
    except TypeError:  # ids of mixed types cannot be sorted: keep first-seen order
        codes, ids = pd.factorize(customers, sort=False)
    end_day = _day_number(end)
    window_end = end_day if cal_end is None else _day_number(cal_end)

    # One row per customer and purchase day, sorted by customer then day (numpy, so 10M
    # order lines take seconds): merge same-day lines, then drop net-negative days.
    keep = day <= end_day
    codes, day = codes[keep].astype(np.int64), day[keep]
    first_day = int(day.min()) if day.size else 0
    span = int(day.max()) - first_day + 1 if day.size else 1
    keys, position = np.unique(codes * span + (day - first_day), return_inverse=True)
    d_code, d_day = keys // span, keys % span + first_day
    if amount is not None:
        d_amount = np.bincount(position, weights=amount[keep], minlength=keys.size)
        purchase = d_amount >= 0
        d_code, d_day, d_amount = d_code[purchase], d_day[purchase], d_amount[purchase]

    in_window = d_day <= window_end
    c_code, c_day = d_code[in_window], d_day[in_window]
    is_first = np.ones(c_code.size, dtype=bool)
    is_first[1:] = c_code[1:] != c_code[:-1]
    is_last = np.ones(c_code.size, dtype=bool)
    is_last[:-1] = c_code[1:] != c_code[:-1]
    customer = c_code[is_first]  # sorted, one per customer in the window
    n_days = np.diff(np.append(np.flatnonzero(is_first), c_code.size))
    first, last = c_day[is_first], c_day[is_last]
    out = pd.DataFrame(
        {
            customer_col: ids.take(customer),
            "frequency": (n_days - 1).astype(np.int64),
            "recency": (last - first).astype(float) / unit_days,
            "T": (window_end - first).astype(float) / unit_days,
        }
    )
    slot = np.full(len(ids), -1, dtype=np.int64)
    slot[customer] = np.arange(customer.size)
    if amount is not None:
        repeat = ~is_first
        repeat_sum = np.bincount(
            slot[c_code[repeat]], weights=d_amount[in_window][repeat], minlength=customer.size
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            out["monetary_value"] = np.where(n_days > 1, repeat_sum / (n_days - 1), np.nan)
    if cal_end is not None:
        held = ~in_window & (slot[d_code] >= 0)
        held_slot = slot[d_code[held]]
        held_days = np.bincount(held_slot, minlength=customer.size)
        out["frequency_holdout"] = held_days.astype(np.int64)
        if amount is not None:
            held_sum = np.bincount(held_slot, weights=d_amount[held], minlength=customer.size)
            with np.errstate(invalid="ignore", divide="ignore"):
                out["monetary_value_holdout"] = np.where(
                    held_days > 0, held_sum / held_days, np.nan
                )
        out["duration_holdout"] = float(end_day - window_end) / unit_days
    return out


def _unit_days(freq: str, owner: str) -> float:
    if freq not in TIME_UNITS:
        raise ConfigError(
            f"The 'freq' parameter of {owner} must be one of 'D' (days) or 'W' (weeks). "
            f"Got {freq!r} instead."
        )
    return TIME_UNITS[freq]


def _keyword(col: str, customer_col: str, date_col: str) -> str:
    if col == customer_col:
        return "customer_col"
    if col == date_col:
        return "date_col"
    return "amount_col"


def _no_blanks(series: pd.Series, col: str, what: str) -> None:
    blank = series.isna()
    if blank.any():
        row = blank.idxmax()
        raise DataValidationError(
            f"Column {col!r} of the orders is empty at row {show(row)} ({int(blank.sum())} rows in "
            f"all): expected {what}. Fix or drop those lines."
        )


def _day_numbers(series: pd.Series, col: str) -> np.ndarray:
    """Dates (or timestamps: their calendar day) as whole days since 1970-01-01."""
    _no_blanks(series, col, "a date")
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_localize(None)  # the local calendar day
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        parsed = series
    else:  # text or date objects: ISO dates, with or without a time of day
        parsed = pd.to_datetime(series, errors="coerce", format="ISO8601")
        bad = parsed.isna()
        if bad.any():
            row = bad.idxmax()
            raise DataValidationError(
                f"Column {col!r} of the orders has {show(series[row])} at row {show(row)}: "
                "expected a date (YYYY-MM-DD). Fix the value or map the column."
            )
    return np.asarray(parsed.to_numpy()).astype("datetime64[D]").astype(np.int64)


def _day_number(day: pd.Timestamp) -> int:
    return int(np.datetime64(day.date(), "D").astype(np.int64))


def _amounts(series: pd.Series, col: str) -> np.ndarray:
    _no_blanks(series, col, "an amount")
    values = pd.to_numeric(series, errors="coerce")
    bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        row = series.index[int(np.argmax(bad.to_numpy()))]
        raise DataValidationError(
            f"Column {col!r} of the orders has {show(series[row])} at row {show(row)}: expected a "
            "finite number. Fix the value or map the column."
        )
    return values.to_numpy(dtype=float)
