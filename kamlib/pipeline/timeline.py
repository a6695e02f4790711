"""The open pipeline at many dates in one pass (training snapshots, back-tests).

:func:`pipeline_as_of_many` gives, for every date, exactly the rows of
:func:`~kamlib.pipeline.pipeline_as_of` at that date.  Instead of filtering and grouping the
event log once per date, it lays the log out once as sorted integer columns — the
opportunity's position in the opportunities table (a factorised key kept beside the text id)
and the event's day — and finds each deal's last event by a date with one
``numpy.searchsorted`` per date over the packed ``(deal, day)`` keys.  The frame is then
assembled once for all dates from positions, without per-row Python or text joins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kamlib.data import KamData
from kamlib.methodology import Methodology
from kamlib.periods import as_day
from kamlib.pipeline.events import (
    PIPELINE_COLUMNS,
    StageEvents,
    _events,
    pipeline_as_of,
)

_US_PER_DAY = 86_400_000_000


@dataclass(frozen=True)
class _Timeline:
    """The event log as integer columns, events sorted by (deal, time).

    ``key`` packs (deal, day): ``deal × width + day − first_day + 1``; an event without a
    time sorts after every day of its deal.  ``starts`` / ``counts`` are each deal's run of
    events; ``start_day`` is the deal's ``start_date`` in days since 1970 (``big`` when
    missing, so it never counts as started).
    """

    order: np.ndarray  # event rows of se.events in (deal, time) order
    key: np.ndarray
    starts: np.ndarray
    counts: np.ndarray
    start_day: np.ndarray
    is_open: np.ndarray  # per event (in ``order``): status open
    first_day: int
    span: int
    width: int


def _days(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Days since 1970 (floor) of a datetime column, and where it is missing."""
    raw = values.to_numpy("datetime64[us]")
    missing = np.isnat(raw)
    days = np.floor_divide(raw.astype(np.int64), _US_PER_DAY)
    return np.where(missing, 0, days), missing


def _timeline(se: StageEvents) -> _Timeline | None:
    """The integer layout of ``se``, or None when the opportunity ids are not unique (then
    positions do not identify a deal and the caller takes the per-date path)."""
    ids = pd.Index(se.opportunities["opportunity_id"])
    if not ids.is_unique:
        return None
    ev = se.events
    code = ids.get_indexer(ev["opportunity_id"])
    if (code < 0).any():
        return None
    day, no_day = _days(ev["day"])
    seen_days = day[~no_day]
    first_day = int(seen_days.min()) if len(seen_days) else 0
    span = int(seen_days.max()) - first_day if len(seen_days) else 0
    width = span + 3
    within = np.where(no_day, span + 2, day - first_day + 1)
    key = code.astype(np.int64) * width + within
    # the log is sorted by (opportunity_id, entered_at) already, so this is usually the identity;
    # a stable sort keeps the time order of equal keys (and NaT last within a deal)
    order = np.argsort(key, kind="stable")
    key = key[order]
    n = len(ids)
    deal = code[order]
    starts = np.searchsorted(deal, np.arange(n), side="left")
    counts = np.searchsorted(deal, np.arange(n), side="right") - starts
    start_day, no_start = _days(se.opportunities["start_date"])
    big = np.iinfo(np.int64).max
    status = ev["status"].to_numpy(dtype=object)[order]
    return _Timeline(
        order=order,
        key=key,
        starts=starts,
        counts=counts,
        start_day=np.where(no_start, big, start_day),
        is_open=status == "open",
        first_day=first_day,
        span=span,
        width=width,
    )


def _open_at(tl: _Timeline, day: int) -> tuple[np.ndarray, np.ndarray]:
    """Deals open at the end of ``day`` (days since 1970) and their state event (row of
    ``tl.order``), deals in table order.  The rules of ``pipeline_as_of``: the last event
    entered by the end of the day; a deal started by then whose first event is later takes
    that first event; only deals started by the day, only open states."""
    n = len(tl.starts)
    within = min(max(day - tl.first_day, -1), tl.span)
    deals = np.arange(n, dtype=np.int64)
    pos = np.searchsorted(tl.key, deals * tl.width + within + 2, side="left")
    seen = pos - tl.starts
    row = np.where(seen > 0, pos - 1, tl.starts)
    ok = (tl.start_day <= day) & (tl.counts > 0)
    sel = np.flatnonzero(ok)
    sel = sel[tl.is_open[row[sel]]]
    return sel, row[sel]


def pipeline_as_of_many(
    data: KamData | StageEvents,
    dates: Iterable[object],
    *,
    methodology: Methodology | str | Path | None = None,
) -> pd.DataFrame:
    """The open pipeline at the end of each of ``dates``, in one pass over the event log.

    For every date the rows are those of :func:`~kamlib.pipeline.pipeline_as_of` at that
    date (same values, same types): use it where the pipeline is needed at many dates
    (training snapshots, back-tests) rather than calling ``pipeline_as_of`` in a loop.

    Parameters
    ----------
    data
        The data (needs ``opportunities``; ``stage_history`` where present), or its
        :func:`~kamlib.pipeline.stage_events`.
    dates
        The dates (end of day), any form ``as_of`` takes; repeated dates give repeated
        blocks.
    methodology
        Stages (default: kamlib's methodology file).

    Returns
    -------
    pandas.DataFrame
        ``as_of`` (the date, midnight), then the columns of
        :data:`~kamlib.pipeline.PIPELINE_COLUMNS`; one row per date and open deal, in the
        order of ``dates``, then by ``opportunity_id``.  ``attrs``: ``source``, ``as_of``
        (the list of dates) and ``notices`` (the data-quality notices of the event log;
        the per-date counts of open deals without an amount are in ``pipeline_as_of``).

    Examples
    --------
    >>> many = pipeline_as_of_many(data, ["2026-03-31", "2026-06-30"])  # doctest: +SKIP
    >>> many.groupby("as_of")["amount"].sum()  # doctest: +SKIP
    """
    se = _events(data, methodology, owner="pipeline_as_of_many")
    days = [as_day(d, parameter="dates", owner="pipeline_as_of_many") for d in dates]
    tl = _timeline(se)
    if tl is None:  # duplicate opportunity ids: the per-date path is the definition
        return _per_date(se, days, methodology)
    day_numbers = [int(d.value // (_US_PER_DAY * 1000)) for d in days]
    deal_parts, row_parts, date_parts = [], [], []
    for i, dn in enumerate(day_numbers):
        deal, row = _open_at(tl, dn)
        deal_parts.append(deal)
        row_parts.append(row)
        date_parts.append(np.full(len(deal), i, dtype=np.int64))
    deal = np.concatenate(deal_parts) if deal_parts else np.zeros(0, np.int64)
    row = tl.order[np.concatenate(row_parts)] if row_parts else np.zeros(0, np.int64)
    which = np.concatenate(date_parts) if date_parts else np.zeros(0, np.int64)
    out = _frame(se, deal, row, which, days)
    out.attrs["source"] = se.source
    out.attrs["as_of"] = days
    out.attrs["notices"] = se.notices.copy()
    return out


def _frame(
    se: StageEvents,
    deal: np.ndarray,
    row: np.ndarray,
    which: np.ndarray,
    days: list[pd.Timestamp],
) -> pd.DataFrame:
    """The pipeline rows of (deal, event row, date index) triples, typed as
    ``pipeline_as_of`` types them."""
    ev = se.events
    opps = se.opportunities

    def opp(col: str) -> np.ndarray:
        return opps[col].to_numpy()[deal]

    def event(col: str) -> np.ndarray:
        return ev[col].to_numpy()[row]

    def text(frame: pd.DataFrame, col: str, at: np.ndarray) -> pd.api.extensions.ExtensionArray:
        # taken by position from the column as it is (Arrow strings stay Arrow strings;
        # no round trip through Python objects), typed below as pipeline_as_of types it
        values = frame[col]
        if not isinstance(values.dtype, pd.StringDtype):
            values = values.astype("str").where(values.notna(), None)
        return values.array.take(at)

    day_us = np.array([d.to_datetime64() for d in days], dtype="datetime64[us]")
    day = day_us[which] if len(days) else np.zeros(0, "datetime64[us]")
    amount = event("amount").astype("float64")
    amount = np.where(np.isnan(amount), opp("amount").astype("float64"), amount)
    ecd = event("expected_close_date")
    ecd = np.where(np.isnat(ecd), opp("expected_close_date"), ecd)
    stage_entered = (
        pd.DatetimeIndex(event("stage_entered_at")).normalize().to_numpy("datetime64[us]")
    )
    out = pd.DataFrame(
        {
            "as_of": day,
            "opportunity_id": text(opps, "opportunity_id", deal),
            "account_id": text(opps, "account_id", deal),
            "name": text(opps, "name", deal),
            "product_line": text(opps, "product_line", deal),
            "owner": text(opps, "owner", deal),
            "team": text(opps, "team", deal),
            "source": text(opps, "source", deal),
            "created_date": opp("created_date"),
            "stage": text(ev, "stage", row),
            "stage_order": event("stage_order").astype("int64"),
            "stage_entered_date": stage_entered,
            "amount": amount,
            "expected_close_date": ecd,
        }
    )
    for col in ("account_id", "name", "product_line", "owner", "team", "source",
                "opportunity_id", "stage"):  # fmt: skip
        out[col] = out[col].astype("str").where(out[col].notna(), None)
    for col in ("as_of", "created_date", "stage_entered_date", "expected_close_date"):
        out[col] = pd.to_datetime(out[col]).astype("datetime64[us]")
    start = opp("start_date").astype("datetime64[us]")
    age = (day - start).astype("timedelta64[us]").astype(np.int64)
    out["age_days"] = np.floor_divide(age, _US_PER_DAY).astype("int64")
    out["days_in_stage"] = (out["as_of"] - out["stage_entered_date"]).dt.days.astype("int64")
    out["is_past_due"] = (out["expected_close_date"] < out["as_of"]).fillna(False).astype(bool)
    return out[["as_of", *PIPELINE_COLUMNS]]


def _per_date(
    se: StageEvents, days: list[pd.Timestamp], methodology: Methodology | str | Path | None
) -> pd.DataFrame:
    """``pipeline_as_of`` at each date, stacked (the definition the fast path matches)."""
    if not days:
        none = np.zeros(0, np.int64)
        out = _frame(se, none, none, none, days)
    else:
        frames = []
        for d in days:
            f = pipeline_as_of(se, d, methodology=methodology)
            f.attrs = {}  # per-date notices: frames in attrs cannot be compared by concat
            f["as_of"] = np.full(len(f), d.to_datetime64()).astype("datetime64[us]")
            frames.append(f)
        out = pd.concat(frames, ignore_index=True)
    out = out[["as_of", *PIPELINE_COLUMNS]]
    out.attrs = {"source": se.source, "as_of": days, "notices": se.notices.copy()}
    return out
