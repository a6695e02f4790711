"""Shared plumbing of the demo generator: the simulated calendar and frame assembly.

Inside the generator every date is an ``int64`` day number (days since 1970-01-01) and
every timestamp an ``int64`` second number, so whole tables are built with numpy
arithmetic; ``NAT`` marks a missing value.  Only :func:`canonical_frame` turns them into
the canonical dtypes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kamlib.data.schemas import TABLES

NAT = np.iinfo(np.int64).min
DAY_SECONDS = 86_400
YEAR_DAYS = 365.25

# order intensity by calendar month: Chinese New Year trough, year-end push
SEASON = np.array([0.92, 0.62, 1.06, 1.0, 1.0, 1.06, 0.96, 0.94, 1.06, 1.0, 1.1, 1.28])
SEASON = SEASON / SEASON.mean()


@dataclass(frozen=True)
class ScaleSpec:
    """How big the demo company is."""

    accounts: int
    order_rate: float  # run-rate orders per year of a median customer


SCALES: dict[str, ScaleSpec] = {
    "small": ScaleSpec(accounts=300, order_rate=3.0),
    "default": ScaleSpec(accounts=2_000, order_rate=4.5),
    "large": ScaleSpec(accounts=20_000, order_rate=22.0),
}


@dataclass(frozen=True)
class Calendar:
    """The simulated time line: five years of history and one hidden future year.

    ``start`` … ``end`` is what the tables show; the generator simulates on to
    ``horizon`` (``end`` + 365 days) so the truth can say what happened next.
    Segments are calendar months clipped to [start, end] and (end, horizon].
    """

    start: int
    end: int
    horizon: int
    seg_start: np.ndarray  # first day of each segment
    seg_days: np.ndarray  # days in each segment
    seg_month: np.ndarray  # calendar month 1..12
    seg_future: np.ndarray  # segment lies after end

    @classmethod
    def build(cls, end: pd.Timestamp) -> Calendar:
        start_ts = end - pd.DateOffset(years=5) + pd.Timedelta(days=1)
        start, last = day_number(start_ts), day_number(end)
        horizon = last + 365
        months = pd.date_range(start_ts.to_period("M").to_timestamp(), periods=75, freq="MS")
        bounds = sorted(
            {start, last + 1, horizon + 1}
            | {day_number(m) for m in months if start < day_number(m) <= horizon}
        )
        seg_start = np.array(bounds[:-1], dtype=np.int64)
        seg_days = np.diff(np.array(bounds, dtype=np.int64))
        seg_month = pd.DatetimeIndex(seg_start.astype("datetime64[D]")).month.to_numpy().astype(int)
        return cls(
            start=start,
            end=last,
            horizon=horizon,
            seg_start=seg_start,
            seg_days=seg_days,
            seg_month=seg_month,
            seg_future=seg_start > last,
        )

    def years_to_end(self, days: np.ndarray | float) -> np.ndarray:
        """Years from ``end`` to ``days`` (negative in the past)."""
        return (np.asarray(days, dtype=float) - self.end) / YEAR_DAYS


def day_number(ts: pd.Timestamp) -> int:
    return int((ts.normalize() - pd.Timestamp("1970-01-01")) // pd.Timedelta(days=1))


def weekday(days: np.ndarray) -> np.ndarray:
    """0 = Monday … 6 = Sunday (1970-01-01 was a Thursday)."""
    return (days + 3) % 7


def to_workday(days: np.ndarray, last: int) -> np.ndarray:
    """Move Saturdays to Friday and Sundays to Monday (to Friday when Monday is past ``last``)."""
    wd = weekday(days)
    out = days - (wd == 5)
    monday = days + 1
    return np.where(wd == 6, np.where(monday <= last, monday, days - 2), out)


def office_seconds(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds after midnight during office hours (08:30-19:00), a little noon-heavy."""
    hours = rng.normal(13.2, 2.6, n)
    outside = (hours < 8.5) | (hours >= 19.0)
    hours = np.where(outside, rng.uniform(8.5, 19.0, n), hours)
    return (hours * 3600).astype(np.int64)


def rank01(values: np.ndarray) -> np.ndarray:
    """Rank of each value scaled to (0, 1]; ties broken by position (deterministic)."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), dtype=float)
    ranks[order] = np.arange(1, len(values) + 1)
    return ranks / max(len(values), 1)


def sample_rows(rng: np.random.Generator, cum: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Draw one column index per element of ``rows`` from per-row cumulative weights.

    ``cum`` is (R, K) with every row rising to 1; a draw for row ``r`` picks column ``k``
    with probability ``cum[r, k] - cum[r, k-1]``.  All rows are searched at once by
    shifting row ``r`` into the interval (r, r + 1].
    """
    n_rows, k = cum.shape
    flat = (cum + np.arange(n_rows)[:, None]).ravel()
    u = rng.random(len(rows)) + rows
    idx = np.searchsorted(flat, u, side="right")
    return np.minimum(idx - rows * k, k - 1)


def cumulative(weights: np.ndarray) -> np.ndarray:
    """Row-normalised cumulative weights (rows of zeros become uniform)."""
    w = np.asarray(weights, dtype=float)
    total = w.sum(axis=1, keepdims=True)
    w = np.where(total > 0, w / np.where(total > 0, total, 1.0), 1.0 / w.shape[1])
    cum = np.cumsum(w, axis=1)
    cum[:, -1] = 1.0
    return cum


def choice_index(rng: np.random.Generator, probs: np.ndarray | list[float], n: int) -> np.ndarray:
    p = np.asarray(probs, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def text_array(values: object) -> pd.api.extensions.ExtensionArray:
    return pd.array(np.asarray(values, dtype=object), dtype="str")


def take_text(categories: list[str] | np.ndarray, codes: np.ndarray) -> pd.Series:
    """``categories[codes]`` as a ``str`` column; code -1 is missing."""
    cats = pd.array(np.asarray(categories, dtype=object), dtype="str")
    return pd.Series(cats.take(np.asarray(codes, dtype=np.int64), allow_fill=True))


def make_ids(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    digits = pd.Series(np.asarray(numbers, dtype=np.int64)).astype("str").str.zfill(width)
    return prefix + digits


def dates(days: np.ndarray) -> np.ndarray:
    """Day numbers (``NAT`` = missing) as ``datetime64[us]`` at midnight."""
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[us]")


def timestamps(seconds: np.ndarray) -> np.ndarray:
    """Second numbers (``NAT`` = missing) as ``datetime64[us]``."""
    return np.asarray(seconds, dtype=np.int64).astype("datetime64[s]").astype("datetime64[us]")


_DTYPES = {
    "text": "str",
    "integer": "Int64",
    "number": "float64",
    "date": "datetime64[us]",
    "timestamp": "datetime64[us]",
    "flag": "boolean",
}


def canonical_frame(table: str, columns: dict[str, object]) -> pd.DataFrame:
    """Assemble ``table`` with exactly its schema's columns, in order, in canonical dtypes.

    Columns not given are all-null.  Integer and flag columns accept float arrays with
    NaN for missing values.
    """
    kinds = TABLES[table].columns
    unknown = set(columns) - set(kinds)
    if unknown:  # a generator bug, not a user error
        raise KeyError(f"columns {sorted(unknown)} are not in the '{table}' schema")
    n = len(next(iter(columns.values())))
    data: dict[str, pd.Series] = {}
    for name, kind in kinds.items():
        dtype = _DTYPES[kind]
        values = columns.get(name)
        if values is None:
            series = pd.Series([None] * n, dtype=object).astype(dtype)
        elif kind in ("integer", "flag"):
            arr = np.asarray(values, dtype=float)
            if kind == "integer":
                arr = np.round(arr)
            series = pd.Series(pd.array(arr, dtype="Float64")).astype(dtype)
        else:
            series = pd.Series(values)
            if str(series.dtype) != dtype:
                series = series.astype(dtype)
        data[name] = series.reset_index(drop=True)
    return pd.DataFrame(data)
