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
  rate and drop-off (the history's rows are mapped and joined in DuckDB through Ibis; the
  cohorts come from one integer sort by deal, stage and time in numpy — see
  ``benchmarks/README.md``).
- :func:`stage_velocity`, :func:`stage_durations`, :func:`cycle_times` — days in stage and
  created → closed.
- :func:`stale_deals` — open deals sitting far beyond their stage's norm, or slipped.
- :func:`pipeline_changes` (history) and :func:`snapshot_changes` (two ``KamData``) — what
  moved between two dates, with :func:`changes_reconciliation` (the bridge).
- :func:`cycle_time_summary` — created → closed by outcome.

Charts: :func:`kamlib.charts.pipeline_funnel`, :func:`kamlib.charts.stage_velocity_distribution`,
:func:`kamlib.charts.pipeline_changes_waterfall`.

Bad input and how it is handled (each counted in ``stage_events(...).notices`` and announced
with one :class:`~kamlib.errors.DataQualityWarning` per call that meets it)
------------------------------------------------------------------------------------------
- *Unknown stage* (not a key or alias of the methodology file; the importer already
  quarantines these, so only hand-built data meets it): a history row is ignored (the deal
  stays in the stage before it); an opportunity's current stage becomes ``"unknown"``.
- *History rows out of time order*: sorted by ``entered_at`` (ties keep file order).
- *Skipped stages* (solution → negotiation): kept; the deal counts as having passed the
  skipped stage for earlier cohorts but never enters the skipped stage's cohort (a notice
  only: many processes allow it, so it raises no warning).
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

from kamlib.data import KamData
from kamlib.errors import ConfigError, DataQualityWarning, DataValidationError
from kamlib.methodology import Methodology, load_methodology, normalise_label
from kamlib.periods import as_day

__all__ = [
    "BRIDGE_STEPS",
    "CONVERSION_COLUMNS",
    "PIPELINE_COLUMNS",
    "SlippageModel",
    "StageEvents",
    "changes_reconciliation",
    "close_date_slippage",
    "cycle_time_summary",
    "cycle_times",
    "funnel",
    "pipeline_as_of",
    "pipeline_changes",
    "snapshot_changes",
    "stage_conversion",
    "stage_durations",
    "stage_events",
    "stage_velocity",
    "stale_deals",
    "win_rates",
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


def _isin(values: pd.Series | pd.Index | np.ndarray, candidates: object) -> np.ndarray:
    """``values.isin(candidates)`` for text ids, hashed by Arrow (pandas 3 checks an Arrow
    string column against a long candidate list element by element in Python)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def arrow(x: object) -> pa.Array:
        arr = x.array if isinstance(x, pd.Series | pd.Index) else np.asarray(x, dtype=object)
        out = pa.array(arr, from_pandas=True)
        if isinstance(out, pa.ChunkedArray):
            out = out.combine_chunks()
        return out.cast(pa.string()) if out.type != pa.string() else out

    if len(values) == 0:
        return np.zeros(0, dtype=bool)
    hit = pc.is_in(arrow(values), value_set=arrow(candidates))
    return hit.to_numpy(zero_copy_only=False).astype(bool)


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
    bad = (
        stage.isna() & raw_stage.notna() & (raw_stage != UNKNOWN_STAGE).to_numpy()
    )  # as_of()'s own
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
        known = pd.Series(_isin(hist["opportunity_id"], ids), index=hist.index)
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
    with_hist = pd.Series(_isin(ids, hist["opportunity_id"]), index=ids.index)
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
    start = opps["created_date"]
    first_of = ids.map(ev.groupby("opportunity_id", sort=False)["day"].min())
    early = first_of.notna() & (first_of < start)
    notes.add("history before created_date", "stage_history", early.sum(), _first(ids, early),
              "the deal starts at its first history row")  # fmt: skip
    opps["start_date"] = start.where(~early, first_of).astype("datetime64[us]")
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
    missing = started[~_isin(started, state["opportunity_id"])]
    if len(missing):
        first = (
            ev[_isin(ev["opportunity_id"], missing)].groupby("opportunity_id", sort=False).head(1)
        )
        first = first[first["status"] == "open"]
        state = pd.concat([state, first], ignore_index=True)
    state = state[_isin(state["opportunity_id"], started)]
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
    day = as_day(as_of)
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
        self._subset(outcome)  # checks the name
        sample = self._draw_won if outcome == "won" else self._draw_closed
        stages = np.asarray(stages)
        k = len(self.stages)
        if stages.dtype.kind in "iu":
            block = np.where((stages >= 0) & (stages < k), stages, k)
        else:  # map the distinct labels only
            codes, uniq = pd.factorize(stages)
            table = pd.Index(self.stages).get_indexer(pd.Index(uniq, dtype=object))
            table = np.append(np.where(table < 0, k, table), k)  # code -1 (missing) → pooled
            block = table[codes]
        block = self._block_map(outcome)[block]
        target = block + rng.random(len(block))
        idx = np.searchsorted(sample.cum, target, side="right")
        return sample.values[np.minimum(idx, len(sample.values) - 1)]

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
    day = as_day(as_of)
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


# -- funnel: cohort conversion, win rate, drop-off -------------------------------------------------
_OPP_GROUPS = ("product_line", "owner", "team", "source", "account_id")
NONE_GROUP = "(none)"

#: Columns of :func:`stage_conversion` after ``stage``, ``period`` and the ``by`` columns.
CONVERSION_COLUMNS: tuple[str, ...] = (
    "entered", "converted", "dropped", "still_open", "won", "lost", "conversion_rate",
    "drop_rate", "win_rate", "entered_amount", "won_amount",
)  # fmt: skip


def _by_list(
    by: str | list[str] | tuple[str, ...] | None, groups: pd.DataFrame | None
) -> list[str]:
    if by is None:
        return []
    cols = [by] if isinstance(by, str) else list(by)
    extra = [] if groups is None else [c for c in groups.columns if c != "account_id"]
    valid = [*_OPP_GROUPS, *extra]
    for c in cols:
        if c not in valid:
            raise ConfigError(
                f"The 'by' parameter names {c!r}, which is neither an opportunity column nor a "
                f"column of 'groups'. Valid: {', '.join(valid)} (pass tier or segment as a frame "
                "account_id → value in 'groups')."
            )
    if groups is not None and "account_id" not in groups.columns:
        raise DataValidationError(
            "The 'groups' frame needs an 'account_id' column (account_id → tier, segment …). "
            f"Got columns {', '.join(map(str, groups.columns))}."
        )
    if groups is not None and groups["account_id"].duplicated().any():
        dup = groups.loc[groups["account_id"].duplicated(), "account_id"].iloc[0]
        raise DataValidationError(
            f"The 'groups' frame has account_id {dup!r} more than once; give one row per account."
        )
    return cols


def _check_freq(freq: str | None, fn: str) -> None:
    if freq is not None and freq not in _FREQ_MONTHS:
        raise ConfigError(
            f"The 'freq' parameter of {fn} must be one of {', '.join(_FREQ_MONTHS)} or None. "
            f"Got {freq!r} instead."
        )


@dataclass(frozen=True)
class _Cohorts:
    """Per opportunity its final state by the as-of day; per first entry into an open stage
    the opportunity (row of ``opps``), stage, time and whether it converted."""

    opps: pd.DataFrame  # the opportunities (rows with a created_date), in table order
    started: np.ndarray  # bool per row: created (or first history row) by the as-of day
    final: np.ndarray  # per row: 0 open, 1 won, 2 lost
    closed_at: np.ndarray  # per row, datetime64[s] (NaT while open)
    deal: np.ndarray  # entry → row of opps
    k: np.ndarray  # stage order of the entry
    first: np.ndarray  # datetime64[s] of the first entry
    converted: np.ndarray  # bool
    source: str


_K_BITS = 6  # stage order packed into the low bits of the event key (up to 62 stages)


def _stage_orders(values: pd.Series, meth: Methodology) -> np.ndarray:
    """Stage order per label (-1 unknown), through the distinct labels only."""
    codes, uniq = pd.factorize(values)
    order = {s.key: s.order for s in meth.stages}
    lookup = meth.stage_lookup()
    table = np.array(
        [
            order[lookup[normalise_label(u)].key] if normalise_label(u) in lookup else -1
            for u in uniq
        ]
        + [-1],
        dtype=np.int64,
    )
    return table[codes]  # code -1 (missing) → the trailing -1


def _history_keys(
    hist: pd.DataFrame, ids: pd.Series, meth: Methodology
) -> tuple[np.ndarray, np.ndarray]:
    """Every history row in a known stage of an opportunity in ``ids``, as (row of ``ids``,
    event key = epoch seconds × 64 + stage order), in one DuckDB pass (Ibis)."""
    import ibis
    import pyarrow as pa

    order = {s.key: s.order for s in meth.stages}
    lookup = meth.stage_lookup()
    labels = [str(x) for x in pd.unique(hist["stage"].dropna())]
    mapping = {
        x: order[lookup[normalise_label(x)].key] for x in labels if normalise_label(x) in lookup
    }
    h = ibis.memtable(
        pa.Table.from_pandas(hist[["opportunity_id", "stage", "entered_at"]], preserve_index=False)
    )
    o = ibis.memtable(
        pa.table({"opportunity_id": pa.array(ids.array).cast(pa.string()),
                  "pos": pa.array(np.arange(len(ids), dtype=np.int64))})
    )  # fmt: skip
    k = h.stage.substitute(mapping, else_=-1) if mapping else ibis.literal(-1)
    h = h.mutate(k=k)
    h = h.filter(h.k >= 0).join(o, "opportunity_id")
    expr = h.select(
        pos=h.pos,
        key=h.entered_at.epoch_seconds().cast("int64") * (1 << _K_BITS) + h.k.cast("int64"),
    )
    con = ibis.duckdb.connect()
    try:
        con.raw_sql("SET enable_progress_bar = false")
        table = con.to_pyarrow(expr)
    finally:
        con.disconnect()
    return (
        table.column("pos").to_numpy().astype(np.int64),
        table.column("key").to_numpy().astype(np.int64),
    )


def _cohorts(data: KamData, day: pd.Timestamp, meth: Methodology) -> _Cohorts:
    """Cohort entries and final states, without look-ahead (see :func:`stage_conversion`)."""
    opps = data.require("opportunities", "The funnel analysis")
    opps = opps[opps["created_date"].notna()].reset_index(drop=True)
    n_open = len(meth.open_stages)
    won_k, lost_k = n_open, n_open + 1
    n = len(opps)
    created = opps["created_date"].to_numpy("datetime64[s]")
    created = created.astype("datetime64[D]").astype("datetime64[s]")
    closed_date = opps["closed_date"].to_numpy("datetime64[s]").astype("datetime64[D]")
    closed_date = closed_date.astype("datetime64[s]")
    day_s = np.datetime64(day, "s")
    source = "stage_history" if data.has("stage_history") else "opportunities"
    final_k = np.full(n, -1)
    final_at = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    has_h = np.zeros(n, bool)
    any_h = np.zeros(n, bool)
    e_deal = [np.zeros(0, np.int64)]
    e_k = [np.zeros(0, np.int64)]
    e_first = [np.zeros(0, "datetime64[s]")]
    e_conv = [np.zeros(0, bool)]
    if source == "stage_history":
        seg, keys = _history_keys(data.stage_history, opps["opportunity_id"], meth)
        any_h[seg] = True  # has history rows at all (maybe only after the day)
        cut = keys < (int((day + _DAY).timestamp()) << _K_BITS)
        seg, keys = seg[cut], keys[cut]
        if len(keys):
            e, k = keys >> _K_BITS, keys & ((1 << _K_BITS) - 1)
            nk = n_open + 2
            kb, tmin = max(nk - 1, 1).bit_length(), int(e.min())
            tb = max(int(e.max()) - tmin, 1).bit_length()
            if max(n, 1).bit_length() + kb + tb > 62:
                raise DataValidationError(
                    "stage_history spans too many opportunities and years for the funnel's "
                    f"integer packing ({n:,} deals, {tb}-bit time range); split the data by period."
                )
            # one integer sort by (deal, stage, time): each (deal, stage) is one run
            packed = (seg << (kb + tb)) | (k << tb) | (e - tmin)
            packed.sort()
            run = packed >> tb
            change = run[1:] != run[:-1]
            starts = np.flatnonzero(np.concatenate(([True], change)))
            ends = np.flatnonzero(np.concatenate((change, [True])))
            r_seg, r_k = run[starts] >> kb, run[starts] & ((1 << kb) - 1)
            tmask = (1 << tb) - 1
            first_t, last_t = packed[starts] & tmask, packed[ends] & tmask
            # per deal and stage the last entry time; suffix max over later stages up to won
            last = np.full((n, nk), -1, dtype=np.int64)
            last[r_seg, r_k] = last_t
            reach = np.maximum.accumulate(last[:, won_k::-1], axis=1)[:, ::-1]
            entry = r_k < n_open
            conv = reach[r_seg[entry], r_k[entry] + 1] >= first_t[entry]
            e_deal.append(r_seg[entry])
            e_k.append(r_k[entry])
            e_first.append((first_t[entry] + tmin).astype("datetime64[s]"))
            e_conv.append(conv)
            has_h = (last >= 0).any(axis=1)
            # final state: the latest event (a tie in time: the later stage)
            fk = np.argmax(np.where(last >= 0, last * nk + np.arange(nk), -1), axis=1)
            final_k = np.where(has_h, fk, -1)
            final_at = np.where(
                has_h, (last[np.arange(n), fk] + tmin).astype("datetime64[s]"), final_at
            )
    # deals without history rows: open in their current stage from created_date
    stage_k = _stage_orders(opps["stage"], meth)
    is_won = (opps["status"] == "won").to_numpy(dtype=bool, na_value=False)
    is_lost = (opps["status"] == "lost").to_numpy(dtype=bool, na_value=False)
    is_open = (opps["status"] == "open").to_numpy(dtype=bool, na_value=False)
    bare_open = ~any_h & (created <= day_s) & is_open & (stage_k >= 0) & (stage_k < n_open)
    idx = np.flatnonzero(bare_open)
    e_deal.append(idx)
    e_k.append(stage_k[idx])
    e_first.append(created[idx])
    e_conv.append(np.zeros(len(idx), bool))
    # final state: the history's last event; the opportunities table closes deals whose history
    # has no closing row (on closed_date, not before creation)
    closes = (is_won | is_lost) & ~np.isnat(closed_date) & (closed_date <= day_s)
    add = closes & ~np.isin(final_k, [won_k, lost_k])
    final_k = np.where(add, np.where(is_won, won_k, lost_k), final_k)
    final_at = np.where(add, np.maximum(closed_date, created), final_at)
    final = np.select([final_k == won_k, final_k == lost_k], [1, 2], 0)
    return _Cohorts(
        opps=opps,
        started=has_h | (created <= day_s),
        final=final,
        closed_at=np.where(final == 0, np.datetime64("NaT"), final_at),
        deal=np.concatenate(e_deal),
        k=np.concatenate(e_k),
        first=np.concatenate(e_first),
        converted=np.concatenate(e_conv),
        source=source,
    )


def _group_codes(
    opps: pd.DataFrame, col: str, groups: pd.DataFrame | None
) -> tuple[np.ndarray, np.ndarray]:
    """Codes (per opportunity row) and labels of a ``by`` column; missing → ``"(none)"``."""
    if col in _OPP_GROUPS and (groups is None or col not in groups.columns):
        values = opps[col]
    else:
        values = opps["account_id"].map(groups.set_index("account_id")[col])
    codes, uniq = pd.factorize(values, sort=True)
    labels = np.asarray([str(u) for u in uniq] + [NONE_GROUP], dtype=object)
    return np.where(codes < 0, len(uniq), codes), labels


def stage_conversion(
    data: KamData,
    *,
    as_of: object,
    freq: str | None = "quarterly",
    by: str | list[str] | None = None,
    groups: pd.DataFrame | None = None,
    since: object = None,
    methodology: Methodology | None = None,
) -> pd.DataFrame:
    """Cohort-based stage-to-stage conversion, drop-off and win rate.

    The cohort of stage S in a period is the deals that first entered S in that period (by the
    end of ``as_of``).  A cohort deal has *converted* when it entered a later open stage or was
    won at or after that first entry (a skipped stage counts as passed); *dropped* when it did
    not and is lost; *still_open* otherwise.  ``won`` / ``lost`` are the cohort deals' final
    outcomes by ``as_of`` (so ``win_rate`` = won ÷ (won + lost) is the cohort's win rate).
    Rates are guarded: a cohort with no deal has no row.

    Parameters
    ----------
    data
        Needs ``opportunities``; ``stage_history`` for stage cohorts.  Without stage history
        (the Maven export) the only cohort is ``"created"`` — deals created in the period,
        converted = won — and ``attrs["note"]`` says so.
    as_of
        Nothing entered after the end of this day counts.
    freq
        Cohort period: ``"monthly"``, ``"quarterly"`` (fiscal, from the methodology file),
        ``"half-yearly"``, ``"yearly"``, or ``None`` for one cohort over all time.
    by
        Group columns: any of ``product_line``, ``owner``, ``team``, ``source``,
        ``account_id``, or a column of ``groups``.
    groups
        Optional frame ``account_id`` → tier / segment / … (one row per account), so the
        funnel can be split by what the caller's scoring or segmentation says.  Deals whose
        account is not in it (or has no account) are grouped as ``"(none)"``.
    since
        Only cohorts entered on or after this date.
    methodology
        Stages and fiscal year (default: kamlib's methodology file).

    Returns
    -------
    pandas.DataFrame
        ``stage`` (open stages in funnel order, or ``"created"``), ``period``, the ``by``
        columns, then :data:`CONVERSION_COLUMNS`: ``entered``, ``converted``, ``dropped``,
        ``still_open``, ``won``, ``lost`` (deal counts), ``conversion_rate`` (converted ÷
        entered), ``drop_rate`` (dropped ÷ entered), ``win_rate`` (won ÷ (won + lost); NaN when
        no cohort deal is closed yet — ``won + lost`` is 0, shown), ``entered_amount`` and
        ``won_amount`` (opportunity amounts; deals without an amount left out).
        ``attrs["source"]`` says what it was rebuilt from.

    Examples
    --------
    >>> stage_conversion(data, as_of="2026-09-30", freq=None)  # doctest: +SKIP
    """
    meth = methodology or load_methodology()
    _check_freq(freq, "stage_conversion")
    day = as_day(as_of)
    cols = _by_list(by, groups)
    co = _cohorts(data, day, meth)
    final = np.array(["open", "won", "lost"], dtype=object)[co.final]
    amount = co.opps["amount"].to_numpy("float64")
    if co.source == "stage_history":
        deal, k, first, conv = co.deal, co.k, co.first, co.converted
        names = [s.key for s in meth.open_stages]
        note = "cohorts of first entry into each stage, from stage_history"
    else:
        deal = np.flatnonzero(co.started)
        k = np.zeros(len(deal), np.int64)
        first = co.opps["created_date"].to_numpy("datetime64[s]")[deal]
        conv = co.final[deal] == 1
        names = ["created"]
        note = ("no stage history: the stages a deal passed are not recorded, so the only cohort "
                "is 'created' (deals created in the period; converted = won)")  # fmt: skip
    if since is not None:
        sel = first >= np.datetime64(as_day(since, parameter="since"), "s")
        deal, k, first, conv = deal[sel], k[sel], first[sel], conv[sel]
    pcode, plabels = _period_codes(first, freq, meth.fiscal_year_start_month)
    gcodes, glabels = [], []
    for c in cols:
        codes, labels = _group_codes(co.opps, c, groups)
        gcodes.append(codes[deal])
        glabels.append(labels)
    code = k.astype(np.int64)
    for codes, size in (
        (pcode, len(plabels)),
        *((g, len(lab)) for g, lab in zip(gcodes, glabels, strict=True)),
    ):
        code = code * max(size, 1) + codes
    uniq, inv = _dense_unique(code)
    fin = final[deal]
    amt = amount[deal]
    known = ~np.isnan(amt)

    def total(weights: np.ndarray | None) -> np.ndarray:
        return np.bincount(inv, weights=weights, minlength=len(uniq))

    out = {}
    rest = uniq
    parts = []
    for size in reversed([len(plabels), *map(len, glabels)]):
        parts.append(rest % max(size, 1))
        rest = rest // max(size, 1)
    parts = parts[::-1]
    out["stage"] = np.asarray(names, dtype=object)[rest] if len(uniq) else np.zeros(0, object)
    out["period"] = plabels[parts[0]] if len(uniq) else np.zeros(0, object)
    for c, lab, part in zip(cols, glabels, parts[1:], strict=True):
        out[c] = lab[part]
    out["entered"] = total(None)
    out["converted"] = total(conv.astype(float))
    out["dropped"] = total((~conv & (fin == "lost")).astype(float))
    out["still_open"] = total((~conv & (fin == "open")).astype(float))
    out["won"] = total((fin == "won").astype(float))
    out["lost"] = total((fin == "lost").astype(float))
    out["entered_amount"] = total(np.where(known, amt, 0.0))
    out["won_amount"] = total(np.where(known & (fin == "won"), amt, 0.0))
    res = pd.DataFrame(out)
    for c in ("entered", "converted", "dropped", "still_open", "won", "lost"):
        res[c] = res[c].round().astype("int64")
    ent = res["entered"].astype(float)
    closed = (res["won"] + res["lost"]).astype(float)
    res["conversion_rate"] = res["converted"] / ent
    res["drop_rate"] = res["dropped"] / ent
    res["win_rate"] = res["won"] / closed.where(closed > 0)
    res = res[["stage", "period", *cols, *CONVERSION_COLUMNS]]
    for c in ("stage", "period", *cols):
        res[c] = res[c].astype("str")
    res.attrs["source"] = co.source
    res.attrs["note"] = note
    res.attrs["as_of"] = day
    res.attrs["deals_without_amount"] = int((~known).sum())
    return res


def _dense_unique(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` for integers, without sorting when their
    range is modest (a presence table instead)."""
    if len(values) == 0:
        return values[:0], np.zeros(0, np.int64)
    lo, hi = int(values.min()), int(values.max())
    if hi - lo > 4 * len(values) + 1_000_000:
        uniq, inv = np.unique(values, return_inverse=True)
        return uniq, inv.astype(np.int64)
    offset = values - lo
    present = np.zeros(hi - lo + 1, dtype=bool)
    present[offset] = True
    rank = np.cumsum(present) - 1
    return np.flatnonzero(present) + lo, rank[offset]


def _period_codes(
    first: np.ndarray, freq: str | None, fy_start: int
) -> tuple[np.ndarray, np.ndarray]:
    """Period index (0, 1, … in time order) and label of each date."""
    if freq is None:
        return np.zeros(len(first), np.int64), np.array(["all"], dtype=object)
    from kamlib.periods import period_of

    months = _FREQ_MONTHS[freq]
    fy = fy_start if months > 1 else 1
    m = first.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    raw = (m - (fy - 1)) // months
    uniq, inv = _dense_unique(raw)
    labels = []
    for u in uniq:
        start = np.datetime64(int(u * months + fy - 1), "M").astype("datetime64[D]").item()
        labels.append(period_of(start, freq, fiscal_year_start_month=fy_start).label)
    return inv.astype(np.int64), np.asarray(labels, dtype=object)


def funnel(
    data: KamData,
    *,
    as_of: object,
    since: object = None,
    by: str | list[str] | None = None,
    groups: pd.DataFrame | None = None,
    methodology: Methodology | None = None,
) -> pd.DataFrame:
    """The funnel with drop-off: :func:`stage_conversion` over all cohorts since ``since``.

    Returns the columns of :func:`stage_conversion` without ``period``, one row per open stage
    (and ``by`` group), plus ``reach_rate``: the share of the first stage's deals that entered
    this stage (deals created in a later stage count from that stage on, so it can exceed 1
    when many start late; it is the funnel's width, not a probability).
    """
    out = stage_conversion(data, as_of=as_of, freq=None, by=by, groups=groups, since=since,
                           methodology=methodology).drop(columns="period")  # fmt: skip
    cols = _by_list(by, groups)
    if len(out):
        top = (
            out.groupby(cols, sort=False)["entered"].transform("first")
            if cols
            else out["entered"].iloc[0]
        )
        out["reach_rate"] = out["entered"] / pd.Series(top, index=out.index).astype(float)
    else:
        out["reach_rate"] = pd.Series(dtype="float64")
    return out


def win_rates(
    data: KamData,
    *,
    as_of: object,
    freq: str | None = "quarterly",
    by: str | list[str] | None = None,
    groups: pd.DataFrame | None = None,
    methodology: Methodology | None = None,
) -> pd.DataFrame:
    """Win rate (won ÷ closed) of the deals closed in each period by ``as_of``.

    Returns ``period`` (of the close), the ``by`` columns, ``closed``, ``won``, ``lost``,
    ``win_rate``, ``won_amount``, ``lost_amount`` (amounts where known), ``win_rate_amount``
    (won ÷ closed amount; NaN when no closed deal has an amount).
    """
    meth = methodology or load_methodology()
    _check_freq(freq, "win_rates")
    day = as_day(as_of)
    cols = _by_list(by, groups)
    co = _cohorts(data, day, meth)
    rows = np.flatnonzero(co.final > 0)
    at = co.closed_at[rows]
    won = co.final[rows] == 1
    amt = co.opps["amount"].to_numpy("float64")[rows]
    pcode, plabels = _period_codes(at, freq, meth.fiscal_year_start_month)
    by_cols = {}
    for c in cols:
        codes, labels = _group_codes(co.opps, c, groups)
        by_cols[c] = labels[codes[rows]]
    f = pd.DataFrame(
        {"period": plabels[pcode], **by_cols, "closed": 1, "won": won.astype(int),
         "lost": (~won).astype(int), "won_amount": np.where(won, amt, np.nan),
         "lost_amount": np.where(~won, amt, np.nan)}
    )  # fmt: skip
    out = f.groupby(["period", *cols], sort=True).agg(
        closed=("closed", "sum"), won=("won", "sum"), lost=("lost", "sum"),
        won_amount=("won_amount", "sum"), lost_amount=("lost_amount", "sum"),
    ).reset_index()  # fmt: skip
    out["win_rate"] = out["won"] / out["closed"].astype(float)
    tot = out["won_amount"] + out["lost_amount"]
    out["win_rate_amount"] = out["won_amount"] / tot.where(tot > 0)
    out = out[["period", *cols, "closed", "won", "lost", "win_rate", "won_amount", "lost_amount",
               "win_rate_amount"]]  # fmt: skip
    out.attrs["source"] = co.source
    return out


# -- velocity: days in stage, cycle time ------------------------------------------------------------
def stage_durations(
    data: KamData | StageEvents, *, as_of: object, methodology: Methodology | None = None
) -> pd.DataFrame:
    """Every stint of a deal in an open stage by ``as_of`` (the distribution behind velocity).

    Returns
    -------
    pandas.DataFrame
        ``opportunity_id``, ``stage``, ``stage_order``, ``entered_date``, ``left_date`` (NaT
        while the deal is still in the stage at ``as_of``), ``next_stage`` (the stage, won or
        lost it moved to; missing while open), ``days`` (left − entered; for open stints
        ``as_of`` − entered), ``completed`` (the stint ended by ``as_of``).  A deal that
        re-enters a stage has one row per stint.
    """
    se = _events(data, methodology)
    day = as_day(as_of)
    ev = se.events[se.events["entered_at"] < day + _DAY]
    entries = ev[ev["is_entry"].to_numpy()]
    opp = entries["opportunity_id"].to_numpy()
    same_next = np.r_[opp[1:] == opp[:-1], False]
    nxt_day = np.r_[entries["day"].to_numpy()[1:], np.datetime64("NaT")]
    nxt_stage = np.r_[entries["stage"].to_numpy(dtype=object)[1:], None]
    # open stages only: an 'unknown' stage (no history for that time) has no duration
    stints = (entries["status"].to_numpy(dtype=object) == "open") & (
        entries["stage_order"].to_numpy() >= 0
    )
    left = np.where(same_next, nxt_day, np.datetime64("NaT"))
    out = pd.DataFrame(
        {
            "opportunity_id": opp,
            "stage": entries["stage"].to_numpy(dtype=object),
            "stage_order": entries["stage_order"].to_numpy(),
            "entered_date": entries["day"].to_numpy(),
            "left_date": left,
            "next_stage": np.where(same_next, nxt_stage, None),
        }
    )[stints].reset_index(drop=True)
    out["left_date"] = pd.to_datetime(out["left_date"]).astype("datetime64[us]")
    out["entered_date"] = out["entered_date"].astype("datetime64[us]")
    out["completed"] = out["left_date"].notna()
    end = out["left_date"].fillna(day)
    out["days"] = (end - out["entered_date"]).dt.days.astype("int64")
    for c in ("opportunity_id", "stage", "next_stage"):
        out[c] = out[c].astype("str").where(out[c].notna(), None)
    out.attrs["source"] = se.source
    return out


def stage_velocity(
    data: KamData | StageEvents,
    *,
    as_of: object,
    since: object = None,
    methodology: Methodology | None = None,
) -> pd.DataFrame:
    """Days in stage per open stage: completed stints' median, quartiles, p90 and mean.

    Parameters
    ----------
    data
        The data or its :func:`stage_events`.
    as_of
        Stints are cut at the end of this day.
    since
        Only stints entered on or after this date.
    methodology
        Stages (default: kamlib's methodology file).

    Returns
    -------
    pandas.DataFrame
        One row per open stage in funnel order: ``stage``, ``completed`` (stints that ended
        by ``as_of``), ``median_days``, ``p25_days``, ``p75_days``, ``p90_days``,
        ``mean_days`` (of completed stints; NaN when there are none — ``completed`` is 0),
        ``open_now`` (deals in the stage at ``as_of``), ``open_median_days`` (how long they
        have been in it so far).  Without stage history every duration is unknown and the
        frame says so in ``attrs["note"]`` (counts 0, statistics NaN).
    """
    meth = methodology or load_methodology()
    se = _events(data, meth)
    dur = stage_durations(se, as_of=as_of, methodology=meth)
    if since is not None:
        dur = dur[dur["entered_date"] >= as_day(since, parameter="since")]
    if se.source != "stage_history":
        dur = dur.iloc[0:0]
    rows = []
    for s in meth.open_stages:
        d = dur[dur["stage"] == s.key]
        done = d.loc[d["completed"], "days"].to_numpy(float)
        now = d.loc[~d["completed"], "days"].to_numpy(float)
        q = np.percentile(done, [50, 25, 75, 90]) if len(done) else [np.nan] * 4
        rows.append(
            {"stage": s.key, "completed": len(done), "median_days": q[0], "p25_days": q[1],
             "p75_days": q[2], "p90_days": q[3],
             "mean_days": float(done.mean()) if len(done) else np.nan,
             "open_now": len(now), "open_median_days": float(np.median(now)) if len(now) else np.nan}
        )  # fmt: skip
    out = pd.DataFrame(rows)
    out.attrs["source"] = se.source
    out.attrs["note"] = (
        "days in stage of completed stints (entered → next stage, won or lost)"
        if se.source == "stage_history"
        else "no stage history: days in stage cannot be measured; see cycle_times for "
        "created → closed"
    )
    return out


def cycle_times(
    data: KamData | StageEvents, *, as_of: object, methodology: Methodology | None = None
) -> pd.DataFrame:
    """Created → closed, in days, of every deal closed by ``as_of``.

    Returns ``opportunity_id``, ``outcome`` (won / lost), ``created_date`` (the deal's start:
    ``created_date`` or its first history row if earlier), ``closed_date`` (its last close by
    ``as_of``), ``days``.  Deals whose ``closed_date`` lies before their creation are left out
    (``attrs["excluded"]`` counts them; :func:`stage_events` lists them).  Summarise with
    :func:`cycle_time_summary`.
    """
    se = _events(data, methodology)
    day = as_day(as_of)
    state = _state_at(se, day)
    closed = state[state["status"].isin(["won", "lost"])]
    opps = se.opportunities.set_index("opportunity_id")
    o = opps.loc[closed["opportunity_id"].to_numpy()]
    bad = (o["closed_date"].notna() & (o["closed_date"] < o["created_date"])).to_numpy()
    out = pd.DataFrame(
        {
            "opportunity_id": closed["opportunity_id"].to_numpy(),
            "outcome": closed["status"].to_numpy(),
            "created_date": o["start_date"].to_numpy(),
            "closed_date": closed["day"].to_numpy(),
        }
    )[~bad].reset_index(drop=True)
    out["days"] = (out["closed_date"] - out["created_date"]).dt.days.astype("int64")
    for c in ("opportunity_id", "outcome"):
        out[c] = out[c].astype("str")
    out.attrs["excluded"] = int(bad.sum())
    out.attrs["source"] = se.source
    return out


def cycle_time_summary(cycles: pd.DataFrame) -> pd.DataFrame:
    """Per outcome (won, lost, all) of :func:`cycle_times`: ``deals``, ``median_days``,
    ``p25_days``, ``p75_days``, ``p90_days``, ``mean_days`` (NaN when ``deals`` is 0)."""
    rows = []
    for outcome in ("won", "lost", "all"):
        d = cycles["days"] if outcome == "all" else cycles.loc[cycles["outcome"] == outcome, "days"]
        v = d.to_numpy(float)
        q = np.percentile(v, [50, 25, 75, 90]) if len(v) else [np.nan] * 4
        rows.append({"outcome": outcome, "deals": len(v), "median_days": q[0], "p25_days": q[1],
                     "p75_days": q[2], "p90_days": q[3],
                     "mean_days": float(v.mean()) if len(v) else np.nan})  # fmt: skip
    return pd.DataFrame(rows)


# -- stale deals ---------------------------------------------------------------------------------
def stale_deals(
    data: KamData | StageEvents,
    *,
    as_of: object,
    quantile: float = 0.9,
    min_stints: int = 20,
    methodology: Methodology | None = None,
) -> pd.DataFrame:
    """Open deals at ``as_of`` that are *stuck* or have *slipped*.

    Rules
    -----
    - *stuck*: days in the current stage above the ``quantile`` (default p90) of that stage's
      completed stints by ``as_of`` (no look-ahead).  A stage with fewer than ``min_stints``
      completed stints uses the quantile of all stages' stints (``threshold_basis`` says
      which); with no completed stint at all nobody is flagged stuck.  Without stage history
      the deal's age is compared with the ``quantile`` of closed deals' cycle times instead
      (``threshold_basis`` ``"cycle_time"``; ``attrs["rule"]`` states the rule used).
    - *slipped*: the expected close date (as recorded by ``as_of``) is before ``as_of``.

    Returns
    -------
    pandas.DataFrame
        The :func:`pipeline_as_of` columns of the flagged deals, plus ``stuck_threshold_days``,
        ``threshold_basis`` (``"stage"`` / ``"pooled"`` / ``"cycle_time"`` / ``"none"``), ``days_past_due`` (0
        when not past due), ``is_stuck``, ``is_slipped`` and ``reason`` (readable, English:
        reports translate the flags), sorted by amount (largest first), then id.
    """
    if not 0 < quantile < 1:
        raise ConfigError(
            f"The 'quantile' parameter of stale_deals must lie between 0 and 1. Got {quantile!r} instead."
        )
    meth = methodology or load_methodology()
    se = _events(data, meth)
    day = as_day(as_of)
    pipe = pipeline_as_of(se, day, methodology=meth)
    out = pipe.copy()
    pct = f"p{round(quantile * 100)}"
    if se.source == "stage_history":
        dur = stage_durations(se, as_of=day, methodology=meth)
        done = dur[dur["completed"]]
        pooled = float(np.quantile(done["days"], quantile)) if len(done) else np.nan
        thr, basis = {}, {}
        for s in meth.open_stages:
            d = done.loc[done["stage"] == s.key, "days"]
            if len(d) >= min_stints:
                thr[s.key], basis[s.key] = float(np.quantile(d, quantile)), "stage"
            else:
                thr[s.key], basis[s.key] = pooled, "pooled" if len(done) else "none"
        out["stuck_threshold_days"] = out["stage"].map(thr).astype("float64")
        if not len(done):
            out["stuck_threshold_days"] = np.nan
        out["threshold_basis"] = out["stage"].map(basis).fillna("pooled" if len(done) else "none")
        stuck_days = out["days_in_stage"]
        rule = (f"stuck: days in stage > {pct} of the stage's completed stints by {day.date()} "
                f"(pooled over stages below {min_stints} stints)")  # fmt: skip
    else:  # no stage history: the deal's age against closed deals' cycle times
        cyc = cycle_times(se, as_of=day, methodology=meth)
        enough = len(cyc) >= min_stints
        out["stuck_threshold_days"] = (
            float(np.quantile(cyc["days"], quantile)) if enough else np.nan
        )
        out["threshold_basis"] = "cycle_time" if enough else "none"
        stuck_days = out["age_days"]
        rule = (f"no stage history, so days in stage are unknown: stuck = age above {pct} of the "
                f"cycle times (created → closed) of deals closed by {day.date()}")  # fmt: skip
    out["days_past_due"] = (
        (day - out["expected_close_date"]).dt.days.clip(lower=0).fillna(0).astype("int64")
    )
    out["is_stuck"] = (stuck_days > out["stuck_threshold_days"]).fillna(False).astype(bool)
    out["is_slipped"] = out["is_past_due"]
    reasons = []
    for r in out.itertuples():
        parts = []
        if r.is_stuck and r.threshold_basis == "cycle_time":
            parts.append(f"open for {r.age_days} days ({pct} of closed deals' cycle time: "
                         f"{r.stuck_threshold_days:.0f})")  # fmt: skip
        elif r.is_stuck:
            parts.append(f"in {r.stage} for {r.days_in_stage} days ({pct} of the stage: "
                         f"{r.stuck_threshold_days:.0f})")  # fmt: skip
        if r.is_slipped:
            parts.append(f"expected close {r.expected_close_date.date()} passed "
                         f"{r.days_past_due} days ago")  # fmt: skip
        reasons.append("; ".join(parts))
    out["reason"] = pd.Series(reasons, index=out.index, dtype="str")
    out = out[out["is_stuck"] | out["is_slipped"]]
    out = out.sort_values(["amount", "opportunity_id"], ascending=[False, True], na_position="last")
    out = out.reset_index(drop=True)
    out.attrs.update(pipe.attrs)
    out.attrs["rule"] = f"{rule}; slipped: expected close date before {day.date()}"
    return out


# -- pipeline changes between two dates ------------------------------------------------------------
#: Steps of :func:`changes_reconciliation`, in order.
BRIDGE_STEPS: tuple[str, ...] = (
    "open_start", "new", "reopened", "won", "lost", "amount_up", "amount_down", "open_end",
)  # fmt: skip


def _compare(
    sp: pd.DataFrame,
    ep: pd.DataFrame,
    end_status: pd.Series,
    known_at_start: pd.Index,
    extra_closed: pd.DataFrame,
) -> pd.DataFrame:
    """Per deal what changed between two pipelines (see :func:`pipeline_changes`)."""
    keep = ["opportunity_id", "account_id", "name", "product_line", "owner", "team", "stage",
            "stage_order", "amount", "expected_close_date"]  # fmt: skip
    a = sp[keep].set_index("opportunity_id")
    b = ep[keep].set_index("opportunity_id")
    ids = a.index.union(b.index)
    m = pd.DataFrame(index=ids)
    info = pd.concat([b[keep[1:6]], a.loc[a.index.difference(b.index), keep[1:6]]])
    m = m.join(info)
    m["stage_start"] = a["stage"]
    m["stage_end"] = b["stage"]
    m["amount_start"] = a["amount"]
    m["amount_end"] = b["amount"]
    m["expected_close_start"] = a["expected_close_date"]
    m["expected_close_end"] = b["expected_close_date"]
    in_a = _isin(m.index, a.index)
    in_b = _isin(m.index, b.index)
    status = end_status.reindex(m.index)
    change = np.select(
        [in_a & in_b, in_a & ~in_b & (status == "won").to_numpy(), in_a & ~in_b,
         ~in_a & in_b & ~_isin(m.index, known_at_start)],
        ["open", "won", "lost", "new"], "reopened",
    )  # fmt: skip
    m["change"] = change
    both = in_a & in_b
    oa = a["stage_order"].reindex(m.index).to_numpy(float)
    ob = b["stage_order"].reindex(m.index).to_numpy(float)
    m["stage_move"] = np.where(
        both & (oa >= 0) & (ob >= 0),
        np.select([ob > oa, ob < oa], ["advanced", "regressed"], "unchanged"),
        None,
    )
    ea, eb = m["expected_close_start"], m["expected_close_end"]
    m["close_date_move"] = np.where(
        both & ea.notna().to_numpy() & eb.notna().to_numpy(),
        np.select([(eb > ea).to_numpy(), (eb < ea).to_numpy()], ["pushed_out", "pulled_in"],
                  "unchanged"),
        None,
    )  # fmt: skip
    m["close_date_move_days"] = np.where(both, (eb - ea).dt.days.to_numpy(float), np.nan)
    m["amount_change"] = np.where(
        both, (m["amount_end"] - m["amount_start"]).to_numpy(float), np.nan
    )
    out = m.reset_index(names="opportunity_id")
    if len(extra_closed):
        out = pd.concat([out, extra_closed], ignore_index=True)
    cols = ["opportunity_id", "change", "account_id", "name", "product_line", "owner", "team",
            "stage_start", "stage_end", "stage_move", "amount_start", "amount_end",
            "amount_change", "expected_close_start", "expected_close_end", "close_date_move",
            "close_date_move_days"]  # fmt: skip
    out = out.reindex(columns=cols)
    for c in ("opportunity_id", "change", "account_id", "name", "product_line", "owner", "team",
              "stage_start", "stage_end", "stage_move", "close_date_move"):  # fmt: skip
        out[c] = out[c].astype("str").where(out[c].notna(), None)
    for c in ("amount_start", "amount_end", "amount_change", "close_date_move_days"):
        out[c] = out[c].astype("float64")
    for c in ("expected_close_start", "expected_close_end"):
        out[c] = pd.to_datetime(out[c]).astype("datetime64[us]")
    return out.sort_values("opportunity_id", kind="mergesort").reset_index(drop=True)


def pipeline_changes(
    data: KamData | StageEvents,
    start: object,
    end: object,
    *,
    methodology: Methodology | None = None,
) -> pd.DataFrame:
    """What moved in the pipeline between the end of ``start`` and the end of ``end``.

    Rebuilt from the stage history (:func:`pipeline_as_of` at both dates).  Without stage
    history use :func:`snapshot_changes` on two imports instead (this function then compares
    the opportunities table's dates, with today's stages and amounts: ``attrs["source"]``).

    Returns
    -------
    pandas.DataFrame
        One row per deal open at either date, or created and closed in between:
        ``opportunity_id``, ``change`` — ``open`` (open at both), ``new`` (created in between,
        open at the end), ``reopened`` (closed at the start, open at the end), ``won`` / ``lost``
        (open at the start, closed by the end), ``created_won`` / ``created_lost`` (created and
        closed in between: not in either pipeline) — then ``account_id``, ``name``,
        ``product_line``, ``owner``, ``team``, ``stage_start``, ``stage_end``, ``stage_move``
        (advanced / regressed / unchanged, for ``open``), ``amount_start``, ``amount_end``,
        ``amount_change``, ``expected_close_start``, ``expected_close_end``,
        ``close_date_move`` (pushed_out / pulled_in / unchanged) and
        ``close_date_move_days``.  :func:`changes_reconciliation` turns it into the bridge
        open at start + new + reopened − won − lost ± amount changes = open at end.
    """
    se = _events(data, methodology)
    d0, d1 = as_day(start, parameter="start"), as_day(end, parameter="end")
    if d1 < d0:
        raise DataValidationError(
            f"The 'end' date {d1.date()} lies before the 'start' date {d0.date()}; swap them."
        )
    sp = pipeline_as_of(se, d0, methodology=methodology)
    ep = pipeline_as_of(se, d1, methodology=methodology)
    state = _state_at(se, d1).set_index("opportunity_id")
    opps = se.opportunities.set_index("opportunity_id")
    known = opps.index[opps["start_date"] <= d0]
    created_in = opps.index[(opps["start_date"] > d0) & (opps["start_date"] <= d1)]
    closed_in = state.index[state["status"].isin(["won", "lost"])]
    cc = created_in.intersection(closed_in)
    o = opps.loc[cc]
    ev = se.events
    closing = ev[_isin(ev["opportunity_id"], cc) & (ev["entered_at"] < d1 + _DAY).to_numpy()]
    amount_then = closing.groupby("opportunity_id")["amount"].last().reindex(cc)
    extra = pd.DataFrame(
        {"opportunity_id": cc, "change": "created_" + state.loc[cc, "status"].astype(str).to_numpy(),
         "account_id": o["account_id"].to_numpy(), "name": o["name"].to_numpy(),
         "product_line": o["product_line"].to_numpy(), "owner": o["owner"].to_numpy(),
         "team": o["team"].to_numpy(), "stage_end": state.loc[cc, "status"].to_numpy(),
         "amount_end": amount_then.fillna(o["amount"]).to_numpy(float)}
    )  # fmt: skip
    out = _compare(sp, ep, state["status"], known, extra)
    out.attrs.update({"start": d0, "end": d1, "source": se.source})
    return out


def snapshot_changes(
    before: KamData, after: KamData, *, methodology: Methodology | None = None
) -> pd.DataFrame:
    """:func:`pipeline_changes` between two imports of the opportunities table.

    For exports without stage history: keep the import of each month (the store keeps every
    batch: ``load(store, snapshot=batch_id)``) and compare two.  The open deals of ``before``
    and of ``after`` (status open) are the two pipelines; a deal open in ``before`` and closed
    in ``after`` is won / lost, one unknown to ``before`` and open in ``after`` is new.
    Deals created and closed between the imports appear as ``created_won`` /
    ``created_lost``.  Same columns as :func:`pipeline_changes`.
    """
    meth = methodology or load_methodology()
    order = {s.key: s.order for s in meth.open_stages}

    def pipe(data: KamData) -> pd.DataFrame:
        o = data.require("opportunities", "Comparing pipeline snapshots")
        o = o[o["status"] == "open"].copy()
        o["stage"] = _canonical(o["stage"], meth).fillna(UNKNOWN_STAGE)
        o["stage_order"] = o["stage"].map(order).fillna(-1).astype("int64")
        return o

    b_all = before.require("opportunities", "Comparing pipeline snapshots")
    a_all = after.require("opportunities", "Comparing pipeline snapshots")
    status = a_all.set_index("opportunity_id")["status"]
    fresh = a_all[
        ~_isin(a_all["opportunity_id"], b_all["opportunity_id"])
        & a_all["status"].isin(["won", "lost"])
    ]
    extra = pd.DataFrame(
        {"opportunity_id": fresh["opportunity_id"].to_numpy(),
         "change": ("created_" + fresh["status"].astype(str)).to_numpy(),
         "account_id": fresh["account_id"].to_numpy(), "name": fresh["name"].to_numpy(),
         "product_line": fresh["product_line"].to_numpy(), "owner": fresh["owner"].to_numpy(),
         "team": fresh["team"].to_numpy(), "stage_end": fresh["status"].to_numpy(),
         "amount_end": fresh["amount"].to_numpy(float)}
    )  # fmt: skip
    out = _compare(pipe(before), pipe(after), status, pd.Index(b_all["opportunity_id"]), extra)
    out.attrs.update({"source": "snapshots"})
    return out


def changes_reconciliation(changes: pd.DataFrame) -> pd.DataFrame:
    """The bridge from the open pipeline at the start to the one at the end.

    Returns ``step`` (:data:`BRIDGE_STEPS`: open_start, new, reopened, won, lost, amount_up,
    amount_down, open_end), ``deals`` and ``amount`` (signed: won, lost and amount_down are
    negative), and ``check``: the running total, whose last value equals ``open_end`` — the
    reconciliation open at start + new + reopened − won − lost ± amount changes = open at end.
    Deals without an amount count as 0 in the amounts (``attrs["deals_without_amount"]``).
    """
    c = changes
    a0 = c["amount_start"].fillna(0.0)
    a1 = c["amount_end"].fillna(0.0)
    at_start = c["change"].isin(["open", "won", "lost"])
    at_end = c["change"].isin(["open", "new", "reopened"])
    delta = (a1 - a0).where(c["change"] == "open", 0.0)
    rows = [
        ("open_start", int(at_start.sum()), float(a0[at_start].sum())),
        ("new", int((c["change"] == "new").sum()), float(a1[c["change"] == "new"].sum())),
        (
            "reopened",
            int((c["change"] == "reopened").sum()),
            float(a1[c["change"] == "reopened"].sum()),
        ),
        ("won", int((c["change"] == "won").sum()), -float(a0[c["change"] == "won"].sum())),
        ("lost", int((c["change"] == "lost").sum()), -float(a0[c["change"] == "lost"].sum())),
        ("amount_up", int((delta > 0).sum()), float(delta[delta > 0].sum())),
        ("amount_down", int((delta < 0).sum()), float(delta[delta < 0].sum())),
        ("open_end", int(at_end.sum()), float(a1[at_end].sum())),
    ]
    out = pd.DataFrame(rows, columns=["step", "deals", "amount"])
    out["check"] = (
        out["amount"].iloc[:-1].cumsum().reindex(out.index).fillna(out["amount"].iloc[:-1].sum())
    )
    missing = (at_start & c["amount_start"].isna()) | (at_end & c["amount_end"].isna())
    out.attrs["deals_without_amount"] = int(missing.sum())
    return out
