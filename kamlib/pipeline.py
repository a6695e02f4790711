"""The opportunity pipeline: as of any date, funnel conversion, velocity, stale deals, changes.

Everything here is rebuilt from ``stage_history`` (one row per stage entry and per amount /
close-date change) without look-ahead: what a function says "as of" a date uses only rows
entered by the end of that date.  Where the data has no ``stage_history`` table (the Maven
CRM export, for one) the opportunities table stands in — ``created_date`` opens a deal in
its current stage (``"unknown"`` for closed deals, whose earlier stage is not recorded),
``closed_date`` closes it — and every result says so (``attrs["source"]`` is
``"opportunities"`` instead of ``"stage_history"``).

Public API
----------
- :func:`stage_events` — the cleaned, canonical event log every other function reads, with
  its data-quality notices.
- :func:`pipeline_as_of` — the open pipeline at the end of a day.
- :func:`close_date_slippage` → :class:`SlippageModel` — actual minus expected close date by
  stage, with a vectorised ``draw`` for the Monte Carlo forecast.
- :func:`stage_conversion`, :func:`win_rates`, :func:`funnel` — cohort conversion, win
  rate and drop-off (aggregated in DuckDB through Ibis).
- :func:`stage_velocity`, :func:`stage_durations`, :func:`cycle_times` — days in stage and
  created → closed.
- :func:`stale_deals` — open deals sitting far beyond their stage's norm, or slipped.
- :func:`pipeline_changes` (history) and :func:`snapshot_changes` (two ``KamData``) — what
  moved between two dates, with :func:`changes_reconciliation`.

Bad input and how it is handled (each counted in ``stage_events(...).notices`` and announced
with one :class:`~kamlib.errors.DataQualityWarning` per call that meets it)
------------------------------------------------------------------------------------------
- *Unknown stage* (not a key or alias of the methodology file; the importer already
  quarantines these, so only hand-built data meets it): a history row is ignored (the deal
  stays in the stage before it); an opportunity's current stage becomes ``"unknown"``.
- *History rows out of time order*: sorted by ``entered_at`` (ties keep file order).
- *Skipped stages* (solution → negotiation): kept; the deal counts as having passed the
  skipped stage for earlier cohorts but never enters the skipped stage's cohort.
- *A deal moved back* (quote → solution): kept; it re-enters the earlier stage.
- *Re-opened after lost / won*: open again from the re-opening row; its outcome is its last
  close.  A deal with a closing row and no later row stays closed.
- *No history rows for an opportunity* (while others have them): its events come from the
  opportunities table, as above.
- *Closed in the opportunities table, no closing history row*: closed on ``closed_date``.
- *Won without an amount*: counted in deal counts, left out of amount totals (NaN stays NaN).
- *Close date before creation*: history rows before ``created_date`` move the deal's start to
  the first row; a ``closed_date`` before ``created_date`` closes the deal on its creation day
  (it is never in a pipeline, its cycle time is not counted); an expected close date before
  creation is kept (it is a slip).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from kamlib.config import Methodology, load_methodology, normalise_label
from kamlib.data import KamData
from kamlib.errors import ConfigError, DataQualityWarning, DataValidationError

__all__ = [
    "PIPELINE_COLUMNS",
    "SlippageModel",
    "StageEvents",
    "close_date_slippage",
    "pipeline_as_of",
    "stage_events",
]

UNKNOWN_STAGE = "unknown"
_DAY = pd.Timedelta(days=1)

#: Columns of :func:`pipeline_as_of`, in order.
PIPELINE_COLUMNS: tuple[str, ...] = (
    "opportunity_id", "account_id", "name", "product_line", "owner", "team", "source",
    "created_date", "stage", "stage_order", "stage_entered_date", "amount",
    "expected_close_date", "age_days", "days_in_stage", "is_past_due",
)  # fmt: skip

_NOTICE_COLUMNS = ["check", "table", "rows", "example", "handling"]


# -- the event log -------------------------------------------------------------------------
@dataclass(frozen=True)
class StageEvents:
    """The cleaned event log of every opportunity, and what was done to get it.

    ``events`` has one row per event, sorted by ``opportunity_id`` then ``entered_at``:
    ``opportunity_id``, ``stage`` (canonical key, ``"unknown"`` where the data does not say),
    ``stage_order`` (position among the open stages, 0 first; won = number of open stages,
    lost = that + 1; ``-1`` for unknown), ``status`` (open / won / lost), ``entered_at``
    (timestamp), ``day`` (its date), ``amount`` and ``expected_close_date`` (as recorded on
    the row, carried forward from earlier rows of the deal where the row has none),
    ``is_entry`` (the row enters a new stage rather than revising amount / date),
    ``stage_entered_at`` (when the current stint in the stage began) and ``origin``
    (``"stage_history"`` or ``"opportunities"``: rows made up from the opportunities table).

    ``opportunities`` is the opportunities table with ``start_date`` (``created_date``, or the
    first event's day when history starts earlier) and ``stage`` canonical.  ``source`` is
    ``"stage_history"`` when the data has a stage_history table, else ``"opportunities"``.
    ``notices`` lists each data-quality finding: ``check``, ``table``, ``rows``, ``example``,
    ``handling``.
    """

    events: pd.DataFrame = field(repr=False)
    opportunities: pd.DataFrame = field(repr=False)
    source: str
    notices: pd.DataFrame = field(repr=False)
    open_stages: tuple[str, ...]

    @property
    def n_open(self) -> int:
        return len(self.open_stages)


class _Notices:
    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []
        self.problems = 0
        self.problem_checks: list[str] = []

    def add(
        self,
        check: str,
        table: str,
        rows: int,
        example: object,
        handling: str,
        *,
        problem: bool = True,
    ) -> None:
        if rows:
            self.rows.append(
                {"check": check, "table": table, "rows": int(rows),
                 "example": "" if example is None else str(example), "handling": handling}
            )  # fmt: skip
            self.problems += int(problem)
            if problem:
                self.problem_checks.append(check)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=_NOTICE_COLUMNS)


def _first(ids: pd.Series, mask: pd.Series | np.ndarray) -> object:
    hit = ids[np.asarray(mask)]
    return hit.iloc[0] if len(hit) else None


def _canonical(values: pd.Series, meth: Methodology) -> pd.Series:
    """Stage labels → canonical keys (NA where unknown)."""
    lookup = meth.stage_lookup()
    uniq = values.dropna().unique()
    mapping = {}
    for u in uniq:
        stage = lookup.get(normalise_label(u))
        mapping[u] = stage.key if stage is not None else None
    return values.map(mapping)


def stage_events(data: KamData, *, methodology: Methodology | None = None) -> StageEvents:
    """The cleaned event log of the opportunities (see :class:`StageEvents`).

    Parameters
    ----------
    data
        Needs ``opportunities``; ``stage_history`` where present.
    methodology
        Stages and their aliases (default: kamlib's methodology file).

    Returns
    -------
    StageEvents
        Events, opportunities, the source used and the data-quality notices.
    """
    meth = methodology or load_methodology()
    opps = data.require("opportunities", "The pipeline analysis")
    notes = _Notices()
    open_keys = tuple(s.key for s in meth.open_stages)
    order = {s.key: s.order for s in meth.stages}
    status_of = {s.key: s.status for s in meth.stages}
    n_open = len(open_keys)

    opps = opps.sort_values("opportunity_id", kind="mergesort").reset_index(drop=True)
    raw_stage = opps["stage"]
    stage = _canonical(raw_stage, meth)
    bad = stage.isna() & raw_stage.notna()
    notes.add("unknown stage", "opportunities", bad.sum(), _first(raw_stage, bad),
              "current stage shown as 'unknown'; add the label to the stage aliases of the "
              "methodology file")  # fmt: skip
    opps["stage"] = stage.fillna(UNKNOWN_STAGE)
    for col in ("created_date", "closed_date", "expected_close_date"):
        opps[col] = pd.to_datetime(opps[col]).dt.normalize().astype("datetime64[us]")
    opps["amount"] = opps["amount"].astype("float64")
    ids = opps["opportunity_id"]

    has_history = data.has("stage_history")
    source = "stage_history" if has_history else "opportunities"
    if has_history:
        hist = data.stage_history
        known = hist["opportunity_id"].isin(ids)
        notes.add("history of an unknown opportunity", "stage_history", (~known).sum(),
                  _first(hist["opportunity_id"], ~known), "rows ignored")  # fmt: skip
        hist = hist[known]
        hstage = _canonical(hist["stage"], meth)
        unknown = hstage.isna()
        notes.add("unknown stage", "stage_history", unknown.sum(),
                  _first(hist["stage"], unknown),
                  "row ignored: the deal stays in the stage before it; add the label to the "
                  "stage aliases of the methodology file")  # fmt: skip
        hist = hist.assign(stage=hstage)[~unknown.to_numpy()]
        hist = pd.DataFrame(
            {
                "opportunity_id": hist["opportunity_id"].astype("str"),
                "stage": hist["stage"].astype("str"),
                "entered_at": pd.to_datetime(hist["entered_at"]).astype("datetime64[us]"),
                "amount": hist["amount"].astype("float64"),
                "expected_close_date": pd.to_datetime(hist["expected_close_date"])
                .dt.normalize()
                .astype("datetime64[us]"),
                "origin": "stage_history",
            }
        )
        if len(hist):
            same = hist["opportunity_id"].to_numpy()[1:] == hist["opportunity_id"].to_numpy()[:-1]
            back = same & (hist["entered_at"].to_numpy()[1:] < hist["entered_at"].to_numpy()[:-1])
            grouped = hist["opportunity_id"].is_monotonic_increasing
            n_out = int(back.sum()) if grouped else int(
                (hist.groupby("opportunity_id", sort=False)["entered_at"]
                 .apply(lambda s: (s.diff() < pd.Timedelta(0)).sum())).sum()
            )  # fmt: skip
            notes.add("history out of time order", "stage_history", n_out,
                      _first(hist["opportunity_id"].iloc[1:].reset_index(drop=True),
                             back) if grouped else None,
                      "rows sorted by entered_at")  # fmt: skip
    else:
        hist = pd.DataFrame(
            {"opportunity_id": pd.Series(dtype="str"), "stage": pd.Series(dtype="str"),
             "entered_at": pd.Series(dtype="datetime64[us]"),
             "amount": pd.Series(dtype="float64"),
             "expected_close_date": pd.Series(dtype="datetime64[us]"),
             "origin": pd.Series(dtype="str")}
        )  # fmt: skip
        notes.add("no stage history", "stage_history", len(opps), None,
                  "events taken from the opportunities table: a deal is open in its current "
                  "stage from created_date ('unknown' stage for closed deals) until "
                  "closed_date; amounts and expected close dates are today's", problem=False)  # fmt: skip

    # closed_date before created_date
    before = opps["closed_date"].notna() & (opps["closed_date"] < opps["created_date"])
    notes.add("closed before created", "opportunities", before.sum(), _first(ids, before),
              "closed on its creation day: never in a pipeline, no cycle time")  # fmt: skip
    ecd_before = opps["expected_close_date"].notna() & (
        opps["expected_close_date"] < opps["created_date"]
    )
    notes.add("expected close before created", "opportunities", ecd_before.sum(),
              _first(ids, ecd_before), "kept (counted as slip)")  # fmt: skip
    closed_at = opps["closed_date"].where(~before, opps["created_date"])
    is_closed = opps["status"].isin(["won", "lost"])
    undated = is_closed & closed_at.isna()
    notes.add("closed without closed_date", "opportunities", undated.sum(), _first(ids, undated),
              "closed from its creation day when the history does not say otherwise")  # fmt: skip
    closed_at = closed_at.where(~undated, opps["created_date"])
    won_no_amount = (opps["status"] == "won") & opps["amount"].isna()
    notes.add("won without amount", "opportunities", won_no_amount.sum(),
              _first(ids, won_no_amount),
              "counted in deal counts, left out of amount totals")  # fmt: skip

    # rows made up from the opportunities table for deals without history
    with_hist = ids.isin(hist["opportunity_id"].unique())
    if has_history:
        notes.add("no history rows", "stage_history", (~with_hist).sum(), _first(ids, ~with_hist),
                  "events taken from the opportunities table")  # fmt: skip
    bare = opps[~with_hist.to_numpy()]
    open_stage = bare["stage"].where(bare["status"] == "open", UNKNOWN_STAGE)
    open_stage = open_stage.where(~bare["stage"].isin(["won", "lost"]) | (bare["status"] != "open"),
                                  UNKNOWN_STAGE)  # fmt: skip
    made = [
        pd.DataFrame(
            {
                "opportunity_id": bare["opportunity_id"],
                "stage": open_stage,
                "entered_at": bare["created_date"],
                "amount": bare["amount"],
                "expected_close_date": bare["expected_close_date"],
                "origin": "opportunities",
            }
        )  # fmt: skip
    ]
    closing = is_closed & closed_at.notna()
    # deals with history but no closing row after the last open row: close them
    if len(hist):
        last = (
            hist.sort_values(["opportunity_id", "entered_at"], kind="mergesort")
            .groupby("opportunity_id", sort=False)
            .tail(1)
            .set_index("opportunity_id")
        )
        last_stage = ids.map(last["stage"])
        last_time = ids.map(last["entered_at"])
        needs_close = with_hist & closing & ~last_stage.isin(["won", "lost"])
        notes.add("closed without a closing history row", "stage_history", needs_close.sum(),
                  _first(ids, needs_close), "closed on the opportunity's closed_date")  # fmt: skip
        late = needs_close & (closed_at < last_time.dt.normalize())
        closed_at = closed_at.where(~late, last_time)
        close_rows = ~with_hist & closing | needs_close
    else:
        close_rows = closing
    c = opps[close_rows.to_numpy()]
    made.append(
        pd.DataFrame(
            {
                "opportunity_id": c["opportunity_id"],
                "stage": c["status"],
                "entered_at": closed_at[close_rows.to_numpy()],
                "amount": c["amount"],
                "expected_close_date": pd.Series(pd.NaT, index=c.index, dtype="datetime64[us]"),
                "origin": "opportunities",
            }
        )  # fmt: skip
    )
    ev = pd.concat([hist, *made], ignore_index=True)
    ev["entered_at"] = ev["entered_at"].astype("datetime64[us]")
    ev["expected_close_date"] = ev["expected_close_date"].astype("datetime64[us]")
    ev = ev.sort_values(["opportunity_id", "entered_at"], kind="mergesort").reset_index(drop=True)
    ev["stage_order"] = ev["stage"].map(order).fillna(-1).astype("int64")
    ev["status"] = ev["stage"].map(status_of).fillna("open").astype("str")
    ev["day"] = ev["entered_at"].dt.normalize()
    opp_arr = ev["opportunity_id"].to_numpy()
    new_opp = np.r_[True, opp_arr[1:] != opp_arr[:-1]]
    st = ev["stage"].to_numpy()
    changed = new_opp | np.r_[True, st[1:] != st[:-1]]
    ev["is_entry"] = changed
    run = np.cumsum(changed)
    ev["stage_entered_at"] = ev.groupby(run)["entered_at"].transform("first")
    g = ev.groupby("opportunity_id", sort=False)
    ev["amount"] = g["amount"].ffill()
    ev["expected_close_date"] = g["expected_close_date"].ffill()

    # quality of the history itself
    if has_history and len(ev):
        prev_status = np.concatenate([[""], ev["status"].to_numpy(dtype=object)[:-1]])
        prev_order = np.r_[-1, ev["stage_order"].to_numpy()[:-1]]
        status = ev["status"].to_numpy(dtype=object)
        so = ev["stage_order"].to_numpy()
        cont = ~new_opp & changed
        reopened = cont & np.isin(prev_status, ["won", "lost"]) & (status == "open")
        notes.add("re-opened after closing", "stage_history", reopened.sum(),
                  _first(ev["opportunity_id"], reopened),
                  "open again from the re-opening row; the outcome is the last close")  # fmt: skip
        both_open = (
            cont & (prev_status == "open") & (status == "open") & (prev_order >= 0) & (so >= 0)
        )
        back = both_open & (so < prev_order)
        notes.add("moved back a stage", "stage_history", back.sum(),
                  _first(ev["opportunity_id"], back), "kept: the deal re-enters the earlier stage")  # fmt: skip
        skip = (both_open & (so > prev_order + 1)) | (
            cont & (prev_status == "open") & (status == "won") & (prev_order >= 0)
            & (prev_order < n_open - 1)
        )  # fmt: skip
        notes.add("skipped stages", "stage_history", skip.sum(), _first(ev["opportunity_id"], skip),
                  "kept: counts as passing the skipped stages, never enters their cohorts",
                  problem=False)  # fmt: skip
    first_day = g["day"].transform("min")
    start = opps["created_date"]
    first_of = ids.map(ev.groupby("opportunity_id", sort=False)["day"].min())
    early = first_of.notna() & (first_of < start)
    notes.add("history before created_date", "stage_history", early.sum(), _first(ids, early),
              "the deal starts at its first history row")  # fmt: skip
    opps["start_date"] = start.where(~early, first_of).astype("datetime64[us]")
    del first_day
    won_hist = (ev["status"] == "won") & ev["amount"].isna() & (ev["origin"] == "stage_history")
    won_hist_ids = set(ev.loc[won_hist, "opportunity_id"]) - set(ids[won_no_amount])
    notes.add("won without amount", "stage_history", len(won_hist_ids),
              next(iter(sorted(won_hist_ids)), None),
              "counted in deal counts, left out of amount totals")  # fmt: skip

    frame = notes.frame()
    if notes.problems:
        shown = frame[frame["check"].isin(notes.problem_checks)]
        text = "; ".join(
            f"{r.check} ({r.table}): {r.rows:,} rows, {r.handling}" for r in shown.itertuples()
        )
        warnings.warn(f"Pipeline data quality: {text}.", DataQualityWarning, stacklevel=3)
    return StageEvents(
        events=ev, opportunities=opps, source=source, notices=frame, open_stages=open_keys
    )


def _as_day(value: object, name: str = "as_of") -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(
            f"The '{name}' parameter must be a date like '2026-09-30'. Got {value!r} instead."
        ) from exc
    if pd.isna(ts):
        raise DataValidationError(
            f"The '{name}' parameter must be a date like '2026-09-30'. Got {value!r} instead."
        )
    return ts.normalize()


def _events(data: KamData | StageEvents, methodology: Methodology | None) -> StageEvents:
    if isinstance(data, StageEvents):
        return data
    if not isinstance(data, KamData):
        raise DataValidationError(
            f"Expected a KamData (kamlib.data.load) or StageEvents. Got {type(data).__name__} "
            "instead."
        )
    return stage_events(data, methodology=methodology)


# -- the pipeline as of a date --------------------------------------------------------------------
def _state_at(se: StageEvents, as_of: pd.Timestamp) -> pd.DataFrame:
    """The last event of every deal started by ``as_of`` (its state at the end of the day)."""
    ev = se.events
    seen = ev[ev["entered_at"] < as_of + _DAY]
    state = seen.groupby("opportunity_id", sort=False).tail(1)
    started = se.opportunities.loc[se.opportunities["start_date"] <= as_of, "opportunity_id"]
    # created by as_of but its first event comes later: the first event's stage
    missing = started[~started.isin(state["opportunity_id"])]
    if len(missing):
        first = ev[ev["opportunity_id"].isin(missing)].groupby("opportunity_id", sort=False).head(1)
        first = first[first["status"] == "open"]
        state = pd.concat([state, first], ignore_index=True)
    state = state[state["opportunity_id"].isin(started)]
    return state.sort_values("opportunity_id", kind="mergesort").reset_index(drop=True)


def pipeline_as_of(
    data: KamData | StageEvents, as_of: object, *, methodology: Methodology | None = None
) -> pd.DataFrame:
    """The open pipeline at the end of day ``as_of``, without look-ahead.

    A deal is open when it was created on or before ``as_of`` and its last event by the end of
    that day is an open stage: a deal closed later is open again, in the stage, with the amount
    and expected close date it had then.

    Parameters
    ----------
    data
        The data (needs ``opportunities``; ``stage_history`` where present), or the
        :class:`StageEvents` of :func:`stage_events` to save rebuilding them.
    as_of
        The date (end of day).
    methodology
        Stages (default: kamlib's methodology file).

    Returns
    -------
    pandas.DataFrame
        One row per open opportunity, sorted by ``opportunity_id``: ``opportunity_id``,
        ``account_id``, ``name``, ``product_line``, ``owner``, ``team``, ``source`` (the lead
        source), ``created_date``, ``stage`` (canonical key; ``"unknown"`` where the data does
        not say), ``stage_order`` (position among the open stages, 0 first; -1 unknown),
        ``stage_entered_date``, ``amount`` (as recorded by ``as_of``, else the opportunity's
        amount; NaN when unknown), ``expected_close_date`` (as recorded by ``as_of``),
        ``age_days``, ``days_in_stage``, ``is_past_due`` (expected close before ``as_of``).
        ``attrs["source"]`` is ``"stage_history"`` or ``"opportunities"`` (no history: stages,
        amounts and dates are today's); ``attrs["notices"]`` lists the data-quality notices,
        including the count of open deals without an amount or expected close date.

    Examples
    --------
    >>> pipe = pipeline_as_of(load("data/demo.duckdb"), "2026-06-30")  # doctest: +SKIP
    >>> pipe.groupby("stage")["amount"].sum()  # doctest: +SKIP
    """
    se = _events(data, methodology)
    day = _as_day(as_of)
    state = _state_at(se, day)
    state = state[state["status"] == "open"]
    opps = se.opportunities.set_index("opportunity_id")
    ids = state["opportunity_id"]
    o = opps.loc[ids.to_numpy()]
    amount = state["amount"].to_numpy()
    amount = np.where(np.isnan(amount), o["amount"].to_numpy(dtype=float), amount)
    ecd = state["expected_close_date"].to_numpy()
    ecd_now = o["expected_close_date"].to_numpy()
    ecd = np.where(pd.isna(ecd), ecd_now, ecd)
    stage_entered = state["stage_entered_at"].dt.normalize().to_numpy()
    start = o["start_date"].to_numpy()
    out = pd.DataFrame(
        {
            "opportunity_id": ids.to_numpy(),
            "account_id": o["account_id"].to_numpy(),
            "name": o["name"].to_numpy(),
            "product_line": o["product_line"].to_numpy(),
            "owner": o["owner"].to_numpy(),
            "team": o["team"].to_numpy(),
            "source": o["source"].to_numpy(),
            "created_date": o["created_date"].to_numpy(),
            "stage": state["stage"].to_numpy(),
            "stage_order": state["stage_order"].to_numpy(dtype="int64"),
            "stage_entered_date": stage_entered,
            "amount": amount.astype("float64"),
            "expected_close_date": ecd,
        }
    )
    for col in (
        "account_id",
        "name",
        "product_line",
        "owner",
        "team",
        "source",
        "opportunity_id",
        "stage",
    ):
        out[col] = out[col].astype("str").where(out[col].notna(), None)
    for col in ("created_date", "stage_entered_date", "expected_close_date"):
        out[col] = pd.to_datetime(out[col]).astype("datetime64[us]")
    out["age_days"] = (
        ((day - pd.to_datetime(start)).days).astype("int64")
        if len(out)
        else pd.Series(dtype="int64")
    )
    out["days_in_stage"] = (day - out["stage_entered_date"]).dt.days.astype("int64")
    out["is_past_due"] = (out["expected_close_date"] < day).fillna(False).astype(bool)
    notes = _Notices()
    notes.rows = list(se.notices.to_dict("records"))
    notes.add("open deal without amount", "opportunities", int(out["amount"].isna().sum()),
              _first(out["opportunity_id"], out["amount"].isna()),
              "amount left missing (NaN): not in amount totals", problem=False)  # fmt: skip
    no_ecd = out["expected_close_date"].isna()
    notes.add("open deal without expected close date", "opportunities", int(no_ecd.sum()),
              _first(out["opportunity_id"], no_ecd), "is_past_due False", problem=False)  # fmt: skip
    unknown = out["stage"] == UNKNOWN_STAGE
    notes.add("open deal in an unknown stage", "opportunities", int(unknown.sum()),
              _first(out["opportunity_id"], unknown),
              "stage 'unknown', stage_order -1 (no history for that date)", problem=False)  # fmt: skip
    out.attrs["source"] = se.source
    out.attrs["as_of"] = day
    out.attrs["notices"] = notes.frame()
    return out


# -- close-date slippage ----------------------------------------------------------------------
_FREQ_MONTHS = {"monthly": 1, "quarterly": 3, "half-yearly": 6, "yearly": 12}


def _period_index(days: pd.Series | np.ndarray, months: int, fy_start: int) -> np.ndarray:
    d = pd.DatetimeIndex(days)
    return ((d.year * 12 + d.month - fy_start) // months).to_numpy()


@dataclass(frozen=True)
class _Sample:
    values: np.ndarray  # slip days, sorted within each block, blocks concatenated
    cum: np.ndarray  # block index + normalised cumulative weight (ends at block + 1)


@dataclass(frozen=True)
class SlippageModel:
    """Empirical slippage (actual − expected close date, days) by open stage.

    ``samples`` has one row per (deal, stage, expected close date in force while the deal was
    in the stage): ``opportunity_id``, ``stage``, ``outcome`` (won / lost), ``slip_days``,
    ``weight`` (days that expected close date was in force), ``next_period`` (closed in a later
    period than expected).  A deal observed at a random moment while in stage S is in force
    with that date with probability proportional to ``weight``: that is how the forecast sees
    open deals, so the statistics and :meth:`draw` are weighted that way (each deal counts in
    ``n`` once per stage).

    Stages with fewer than ``min_deals`` closed deals use the pooled distribution of all
    stages (``basis`` says which).  ``available`` is False when no closed deal had an expected
    close date (``note`` says why); :meth:`draw` then raises.

    ``past_due_win_rate`` is the share won among closed deals that were at some time still open
    after their expected close date (``past_due_closed`` of them), against ``win_rate`` of all
    closed deals; ``overdue`` breaks it down by how many days the deal was at most overdue
    (``days_overdue`` band, ``closed``, ``won``, ``win_rate``): the chance that a deal long
    past its date (a "zombie") still comes in.
    """

    as_of: pd.Timestamp
    stages: tuple[str, ...]
    min_deals: int
    freq: str
    samples: pd.DataFrame = field(repr=False)
    available: bool = True
    note: str = ""
    past_due_win_rate: float = float("nan")
    past_due_closed: int = 0
    win_rate: float = float("nan")
    overdue: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    _draw_won: _Sample | None = field(default=None, repr=False)
    _draw_closed: _Sample | None = field(default=None, repr=False)
    _basis: dict = field(default_factory=dict, repr=False)

    def summary(self, outcome: str = "won") -> pd.DataFrame:
        """Per open stage (and ``"pooled"``): ``stage``, ``n`` (deals), ``basis`` (``"stage"``
        or ``"pooled"``: what :meth:`draw` uses), ``median_days``, ``p10_days``, ``p90_days``,
        ``share_on_time`` (closed on or before the expected date), ``share_next_period``
        (closed in a later period than expected), for ``outcome`` ``"won"`` or ``"closed"``
        (won and lost)."""
        sub = self._subset(outcome)
        rows = []
        for stage in (*self.stages, "pooled"):
            own = sub if stage == "pooled" else sub[sub["stage"] == stage]
            basis = "pooled" if stage == "pooled" else self._basis[outcome][stage]
            used = sub if basis == "pooled" else own
            n = int(own["opportunity_id"].nunique())
            if len(used) == 0:
                stats = [np.nan] * 5
            else:
                v, w = used["slip_days"].to_numpy(float), used["weight"].to_numpy(float)
                q = _weighted_quantiles(v, w, [0.5, 0.1, 0.9])
                stats = [*q, np.average(v <= 0, weights=w),
                         np.average(used["next_period"].to_numpy(float), weights=w)]  # fmt: skip
            rows.append({"stage": stage, "n": n, "basis": basis, "median_days": stats[0],
                         "p10_days": stats[1], "p90_days": stats[2], "share_on_time": stats[3],
                         "share_next_period": stats[4]})  # fmt: skip
        return pd.DataFrame(rows)

    def _subset(self, outcome: str) -> pd.DataFrame:
        if outcome not in ("won", "closed"):
            raise ConfigError(
                f"The 'outcome' parameter must be 'won' or 'closed'. Got {outcome!r} instead."
            )
        s = self.samples
        return s[s["outcome"] == "won"] if outcome == "won" else s

    def draw(
        self, stages: np.ndarray, rng: np.random.Generator, *, outcome: str = "won"
    ) -> np.ndarray:
        """Slip days (int64, may be negative) for deals in ``stages``, one draw each.

        ``stages`` holds stage keys (str) or stage orders (int, 0 = first open stage); a
        stage not among the open stages (e.g. ``"unknown"``) draws from the pooled
        distribution.  Vectorised: one uniform number per deal and a ``searchsorted`` into
        per-stage sorted samples.
        """
        if not self.available:
            raise DataValidationError(f"No close-date slippage can be drawn: {self.note}")
        sample = self._draw_won if outcome == "won" else self._draw_closed
        if outcome not in ("won", "closed"):
            self._subset(outcome)
        assert sample is not None
        stages = np.asarray(stages)
        n_blocks = len(self.stages) + 1
        if stages.dtype.kind in "iu":
            block = np.where((stages >= 0) & (stages < len(self.stages)), stages, len(self.stages))
        else:
            block = pd.Index(self.stages).get_indexer(stages.astype(object))
            block = np.where(block < 0, len(self.stages), block)
        block = self._block_map(outcome)[block]
        del n_blocks
        target = block + rng.random(len(block))
        idx = np.searchsorted(sample.cum, target, side="right")
        idx = np.minimum(idx, len(sample.values) - 1)
        return sample.values[idx]

    def _block_map(self, outcome: str) -> np.ndarray:
        basis = self._basis[outcome]
        k = len(self.stages)
        return np.array([i if basis[s] == "stage" else k for i, s in enumerate(self.stages)] + [k])


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs: list[float]) -> list[float]:
    """Inverse of the weighted empirical CDF (the value where the cumulative weight first
    reaches q), the same rule :meth:`SlippageModel.draw` samples by."""
    order = np.argsort(values, kind="mergesort")
    v, w = values[order], weights[order]
    cum = np.cumsum(w) / w.sum()
    return [float(v[min(np.searchsorted(cum, q, side="left"), len(v) - 1)]) for q in qs]


def _build_sample(sub: pd.DataFrame, stages: tuple[str, ...]) -> _Sample:
    blocks_v, blocks_c = [], []
    for b, stage in enumerate((*stages, None)):
        part = sub if stage is None else sub[sub["stage"] == stage]
        if len(part) == 0:
            part = sub
        order = np.argsort(part["slip_days"].to_numpy(), kind="mergesort")
        v = part["slip_days"].to_numpy()[order]
        w = part["weight"].to_numpy(float)[order]
        c = np.cumsum(w) / w.sum()
        c[-1] = 1.0
        blocks_v.append(v.astype("int64"))
        blocks_c.append(b + c)
    return _Sample(np.concatenate(blocks_v), np.concatenate(blocks_c))


def close_date_slippage(
    data: KamData | StageEvents,
    as_of: object,
    *,
    methodology: Methodology | None = None,
    min_deals: int = 30,
    freq: str = "quarterly",
    anchor: str = "in_force",
) -> SlippageModel:
    """Fit the empirical close-date slippage of deals closed on or before ``as_of``.

    For every deal closed by ``as_of`` and every open stage it passed, each expected close date
    recorded while the deal was in that stage gives one sample: slip = actual close − that
    expected date, in days (negative: pulled in), weighted by the days that date was in force
    (so a deal observed at a random moment in the stage — as the forecast sees open deals —
    is represented fairly).  Nothing entered after ``as_of`` is used.

    Parameters
    ----------
    data
        The data, or its :func:`stage_events`.
    as_of
        Only deals closed on or before this date count.
    methodology
        Stages and fiscal year (default: kamlib's methodology file).
    min_deals
        Fewest closed deals a stage needs to use its own distribution; fewer → pooled.
    freq
        The period of ``share_next_period``: ``"monthly"``, ``"quarterly"``, ``"half-yearly"``
        or ``"yearly"`` (fiscal year start from the methodology file).
    anchor
        ``"in_force"`` (default): every expected close date the deal had in the stage, weighted
        by the days it was in force; ``"entry"``: the date recorded on entering the stage, one
        sample per stint, unweighted (on a deal's first stage: its first expected close date).

    Returns
    -------
    SlippageModel
        ``summary()`` per stage, ``draw()`` for simulations, ``past_due_win_rate``.
    """
    meth = methodology or load_methodology()
    if freq not in _FREQ_MONTHS:
        raise ConfigError(
            f"The 'freq' parameter of close_date_slippage must be one of "
            f"{', '.join(_FREQ_MONTHS)}. Got {freq!r} instead."
        )
    if not isinstance(min_deals, int | np.integer) or min_deals < 1:
        raise ConfigError(
            f"The 'min_deals' parameter of close_date_slippage must be a positive integer. "
            f"Got {min_deals!r} instead."
        )
    if anchor not in ("in_force", "entry"):
        raise ConfigError(
            f"The 'anchor' parameter of close_date_slippage must be 'in_force' or 'entry'. "
            f"Got {anchor!r} instead."
        )
    se = _events(data, meth)
    day = _as_day(as_of)
    ev = se.events[se.events["entered_at"] < day + _DAY]
    last = ev.groupby("opportunity_id", sort=False).tail(1)
    closed = last[last["status"].isin(["won", "lost"])][["opportunity_id", "status", "day"]]
    closed = closed.rename(columns={"status": "outcome", "day": "close_day"})
    rows = ev.merge(closed, on="opportunity_id", how="inner")
    nxt = rows.groupby("opportunity_id", sort=False)["day"].shift(-1)
    before_close = rows["entered_at"] < rows["close_day"] + _DAY
    # the rows of the final open stretch and earlier stints; a re-opened deal's earlier
    # close rows are not samples (their status is not open)
    s = rows[(rows["status"] == "open") & before_close & nxt.notna()].copy()
    s["until"] = nxt[s.index]
    if anchor == "in_force":
        s["weight"] = (s["until"] - s["day"]).dt.days.astype(float)
    else:  # the date recorded on entering the stage, one sample per stint
        s = s[s["is_entry"]]
        s["weight"] = 1.0
    s = s[(s["weight"] > 0) & s["expected_close_date"].notna() & (s["stage_order"] >= 0)]
    s["slip_days"] = (s["close_day"] - s["expected_close_date"]).dt.days.astype("int64")
    months = _FREQ_MONTHS[freq]
    fy = meth.fiscal_year_start_month if months > 1 else 1
    s["next_period"] = _period_index(s["close_day"], months, fy) > _period_index(
        s["expected_close_date"], months, fy
    )
    samples = s[["opportunity_id", "stage", "outcome", "slip_days", "weight", "next_period"]]
    samples = samples.reset_index(drop=True)
    # overdue deals: still open some days after their expected close date
    od = rows[(rows["status"] == "open") & rows["expected_close_date"].notna() & nxt.notna()]
    late = (nxt[od.index] - od["expected_close_date"]).dt.days
    most_late = late.groupby(od["opportunity_id"]).max().clip(lower=0)
    closed_ids = closed.set_index("opportunity_id")["outcome"]
    outcome_of = closed_ids.reindex(most_late.index)
    bands = pd.cut(most_late, [-1, 0, 30, 90, 180, np.inf],
                   labels=["on time", "1-30", "31-90", "91-180", ">180"])  # fmt: skip
    overdue = (
        pd.DataFrame({"days_overdue": bands, "won": (outcome_of == "won").to_numpy()})
        .groupby("days_overdue", observed=False)["won"]
        .agg(closed="size", won="sum")
        .reset_index()
    )
    overdue["win_rate"] = overdue["won"] / overdue["closed"].where(overdue["closed"] > 0)
    od_outcome = outcome_of[most_late > 0]
    past_due_rate = float((od_outcome == "won").mean()) if len(od_outcome) else float("nan")
    win_rate = float((closed_ids == "won").mean()) if len(closed_ids) else float("nan")

    stages = se.open_stages
    basis: dict[str, dict[str, str]] = {}
    for outcome in ("won", "closed"):
        sub = samples if outcome == "closed" else samples[samples["outcome"] == "won"]
        counts = sub.groupby("stage")["opportunity_id"].nunique()
        basis[outcome] = {
            st: "stage" if counts.get(st, 0) >= min_deals else "pooled" for st in stages
        }
    won = samples[samples["outcome"] == "won"]
    available = len(won) > 0
    if se.source == "opportunities" and not available:
        note = ("the data has no stage history and the opportunities carry no expected close "
                "date, so slippage cannot be measured")  # fmt: skip
    elif not available:
        note = (f"no deal won on or before {day.date()} had an expected close date recorded "
                "while it was open")  # fmt: skip
    else:
        note = f"{won['opportunity_id'].nunique():,} won deals, {samples['opportunity_id'].nunique():,} closed"
    return SlippageModel(
        as_of=day,
        stages=stages,
        min_deals=int(min_deals),
        freq=freq,
        samples=samples,
        available=available,
        note=note,
        past_due_win_rate=past_due_rate,
        past_due_closed=len(od_outcome),
        win_rate=win_rate,
        overdue=overdue,
        _draw_won=_build_sample(won, stages) if available else None,
        _draw_closed=_build_sample(samples, stages) if available else None,
        _basis=basis,
    )
